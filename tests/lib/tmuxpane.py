"""A program in a tmux pane of its own tmux server (-L, unique per test),
for tests of the chat's terminal UI: keys in with send-keys, the screen out
with capture-pane, waits that poll the screen (never a fixed sleep). The
server is killed at the test's cleanup."""
import os
import signal
import subprocess
import time
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
        """Kills the tmux server, which hangs up on the pane's program; a
        program still there after a generous wait is killed. (ASan builds of
        the chat were seen spinning at 100% CPU in LeakSanitizer's exit scan
        after the hangup, for hours, under every later test.)"""
        try:
            pids = _with_descendants(self.pid())
        except (ValueError, subprocess.SubprocessError):
            pids = []
        subprocess.run(["tmux", "-L", self.sock, "kill-server"], capture_output=True, timeout=10)
        deadline = time.monotonic() + 10 * SLOW
        while time.monotonic() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.05)
        for p in pids:
            if _alive(p):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass

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


def _alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
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
