"""Helpers for integration tests: start the real udpkit binary, wait for
its 'bound on ADDR PORT' line, talk to it over real sockets, stop it by PID.
Nothing here sleeps to wait for readiness: servers say where they bound."""
import os
import selectors
import shutil
import signal
import socket
import subprocess
import threading
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("UDPKIT_BIN", os.path.join(ROOT, "build", "udpkit"))
VARIANT = os.environ.get("UDPKIT_VARIANT", "plain")
SHARED = os.environ.get("UDPKIT_SHARED", os.path.join(os.path.dirname(ROOT), "shared"))
TUTORIAL_PY = os.path.join(SHARED, "tutorial", "py")
# Sanitizer builds are several times slower, the coverage build (-O0,
# counters) about twice; scale waits, not assertions.
SLOW = 4 if VARIANT in ("asan", "tsan") else 2 if VARIANT == "coverage" else 1


class Proc:
    """A child process whose stdout and stderr are collected in the
    background, so a chatty child never blocks on a full pipe."""

    def __init__(self, argv, stdin=subprocess.DEVNULL, env=None, cwd=None):
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env, cwd=cwd)
        self._out = bytearray()
        self._err = bytearray()
        self._cond = threading.Condition()
        self._readers = [threading.Thread(target=self._pump, args=(self.proc.stdout, self._out), daemon=True),
                         threading.Thread(target=self._pump, args=(self.proc.stderr, self._err), daemon=True)]
        for r in self._readers:
            r.start()

    def _pump(self, stream, buf):
        while True:
            chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
            if not chunk:
                break
            with self._cond:
                buf.extend(chunk)
                self._cond.notify_all()

    @property
    def pid(self):
        return self.proc.pid

    def out(self):
        with self._cond:
            return bytes(self._out)

    def err(self):
        with self._cond:
            return bytes(self._err)

    def wait_for(self, needle, stream="err", timeout=10):
        """Waits until needle (bytes) appears in stdout or stderr; returns the
        text so far, or raises AssertionError with what was seen."""
        buf = self._err if stream == "err" else self._out
        deadline = time.monotonic() + timeout * SLOW
        with self._cond:
            while needle not in buf:
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not any(r.is_alive() for r in self._readers)):
                    raise AssertionError(f"{needle!r} not seen in {stream} of {self.argv}; "
                                         f"stdout={bytes(self._out)[-2000:]!r} stderr={bytes(self._err)[-2000:]!r}")
                self._cond.wait(min(left, 0.1))
            return bytes(buf)

    def wait_bound(self, timeout=10):
        """Returns (addr, port) from the 'bound on ADDR PORT' line."""
        text = self.wait_for(b"bound on ", "err", timeout)
        for line in text.decode("utf-8", "replace").splitlines():
            if line.startswith("bound on "):
                _, _, addr, port = line.split()[:4]
                return addr, int(port)
        raise AssertionError("no bound line")

    def send_signal(self, sig):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Signals the process (by PID), waits, returns its exit code."""
        self.send_signal(sig)
        try:
            rc = self.proc.wait(timeout * SLOW)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait(10)
            raise AssertionError(f"{self.argv} did not exit on signal {sig}")
        for r in self._readers:
            r.join(5)
        return rc

    def wait(self, timeout=30):
        rc = self.proc.wait(timeout * SLOW)
        for r in self._readers:
            r.join(5)
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def udpkit(*args, **kw):
    return Proc([BIN] + [str(a) for a in args], **kw)


def run(*args, input=None, timeout=30, env=None):
    """Runs udpkit to completion; returns CompletedProcess (bytes)."""
    return subprocess.run([BIN] + [str(a) for a in args], input=input, capture_output=True,
                          timeout=timeout * SLOW, env=env)


def udp_socket(family=socket.AF_INET, bind=("127.0.0.1", 0), timeout=2.0):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(timeout * SLOW)
    if bind is not None:
        s.bind(bind)
    return s


def free_udp_port(host="127.0.0.1"):
    """A port that was free a moment ago (for peers that cannot bind 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def udp_bound(port):
    """True when some socket of this namespace is bound to UDP port (any
    address), as the kernel lists them in /proc/net/udp and udp6."""
    for path in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    local = line.split()[1]
                    if int(local.rsplit(":", 1)[1], 16) == port:
                        return True
        except OSError:
            continue
    return False


def wait_udp_bound(port, timeout=30):
    """Waits until a peer that does not say when it is ready (the tutorial's
    programs, nc, socat) has bound its UDP port: python alone can take
    seconds to start on a busy machine."""
    deadline = time.monotonic() + timeout * SLOW
    while not udp_bound(port):
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing bound UDP port {port} within {timeout * SLOW:.0f} s")
        time.sleep(0.02)


def require_root(test):
    if os.geteuid() != 0:
        raise unittest.SkipTest("needs root (network namespaces)")


def require_cmd(name, package=None):
    if not shutil.which(name):
        raise unittest.SkipTest(f"'{name}' not installed (Debian package {package or name}; 'make deps')")
    return shutil.which(name)


def tutorial_program(name):
    path = os.path.join(TUTORIAL_PY, name)
    if not os.path.exists(path):
        raise unittest.SkipTest(f"tutorial program {path} not found (../shared is absent)")
    return path


def python3():
    return shutil.which("python3") or "/usr/bin/python3"
