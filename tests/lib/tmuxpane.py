"""A program in a tmux pane of its own tmux server (-L, unique per test),
for tests of the chat's terminal UI: keys in with send-keys, the screen out
with capture-pane, waits that poll the screen (never a fixed sleep). The
server is killed at the test's cleanup."""
import os
import signal
import subprocess
import time
import unittest
import uuid

from harness import SLOW


class TmuxPane:
    def __init__(self, test, cmd, cols=90, rows=20):
        self.sock = f"ukpane{os.getpid()}{uuid.uuid4().hex[:6]}"
        test.addCleanup(self.close)
        r = self.tmux("new-session", "-d", "-x", str(cols), "-y", str(rows), cmd)
        test.assertEqual(r.returncode, 0, r.stderr)

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.sock] + list(args), capture_output=True,
                              timeout=10, text=True)

    def close(self):
        """Ends the pane's program, then the tmux server. The program first,
        by SIGTERM, and its end awaited: killing the server first hangs up
        the terminal, and when the pane's shell exits the kernel sends the
        program's process group a SIGHUP and then a SIGCONT. An ASan build
        exiting on that SIGHUP runs LeakSanitizer, which stops the world by
        attaching with ptrace (a SIGSTOP); the SIGCONT arriving meanwhile
        discards that SIGSTOP, the attach never completes, and the program
        spun in sched_yield() for hours (PPid 1, 100% CPU) under every later
        test. Whatever is still there after a generous wait is killed."""
        try:
            # Each with its start time: a PID that ended may be reused.
            pids = [(p, _start_time(p)) for p in _with_descendants(self.pid())]
        except (ValueError, subprocess.SubprocessError):
            pids = []
        # The programs below the pane's shell; the pane itself when it is
        # the program (started with exec).
        for p in pids[1:] or pids:
            _signal(p, signal.SIGTERM)
        _wait_gone(pids, 10 * SLOW)
        try:
            subprocess.run(["tmux", "-L", self.sock, "kill-server"], capture_output=True,
                           timeout=10)
        except subprocess.TimeoutExpired:
            pass
        _wait_gone(pids, 2 * SLOW)
        for p in pids:
            _signal(p, signal.SIGKILL)

    def pane(self):
        return self.tmux("capture-pane", "-p").stdout

    def wait_pane(self, text, timeout=10):
        """The screen once it shows text; AssertionError after timeout."""
        deadline = time.monotonic() + timeout * SLOW
        while time.monotonic() < deadline:
            p = self.pane()
            if text in p:
                return p
            time.sleep(0.02)
        raise AssertionError(f"{text!r} not on screen:\n{self.pane()}")

    def pid(self):
        """The pane's process (the program itself when started with exec)."""
        return int(self.tmux("display-message", "-p", "#{pane_pid}").stdout.strip())


def _with_descendants(pid):
    """pid and every process below it (a pane's shell and its program)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def _start_time(pid):
    """The process's start time (field 22 of /proc/PID/stat), or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _signal(proc, sig):
    if _alive(proc):
        try:
            os.kill(proc[0], sig)
        except ProcessLookupError:
            pass


def _wait_gone(procs, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_alive(p) for p in procs):
        time.sleep(0.05)


def _alive(proc):
    """True while the process (pid, start time) exists and is not a zombie."""
    pid, start = proc
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return fields[0] != "Z" and fields[19] == start
    except (OSError, IndexError):
        return False


def wait_bound_file(path, timeout=10):
    """The port of the 'bound on ADDR PORT' line a program wrote to path."""
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        if os.path.exists(path):
            for line in open(path, errors="replace"):
                if line.startswith("bound on "):
                    return int(line.split()[3])
        time.sleep(0.02)
    raise AssertionError(f"no bound line in {path}")


def chat_pane(test, cmd, err, nick, cols=90, rows=20):
    """A udpkit chat in a pane of its own: cmd (a shell command) writes the
    chat's stderr to the file err. Waits for its 'bound on' line and for
    nick on the screen; skips the test when the build has no terminal UI
    (the chat said it fell back to line mode). Returns (pane, port)."""
    t = TmuxPane(test, cmd, cols, rows)
    port = wait_bound_file(err)
    if "line mode on" in t.wait_pane(nick):
        raise unittest.SkipTest("this build has no terminal UI (cmd/chat/tui.c)")
    return t, port
