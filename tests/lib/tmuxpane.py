"""A program in a tmux pane of its own tmux server (-L, unique per test),
for tests of the chat's terminal UI: keys in with send-keys, the screen out
with capture-pane, waits that poll the screen (never a fixed sleep). The
server is killed at the test's cleanup."""
import os
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
        subprocess.run(["tmux", "-L", self.sock, "kill-server"], capture_output=True, timeout=10)

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
