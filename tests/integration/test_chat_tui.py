"""udpkit chat's terminal UI as a person uses it, under tmux: a message
arrives while a line is half typed and the typed text stays intact;
Chinese text and escape sequences from the network are shown safely; the
window is resized; /quit leaves. Skipped without tmux, or when the binary
was built without the UI (it then falls back to line mode)."""
import os
import socket
import tempfile
import time
import unittest

from harness import BIN, SLOW, require_cmd
from tmuxpane import TmuxPane, wait_bound_file


class ChatTui(unittest.TestCase):
    def setUp(self):
        require_cmd("tmux")
        self.tmp = tempfile.TemporaryDirectory()
        self.err = os.path.join(self.tmp.name, "err")
        self.addCleanup(self.tmp.cleanup)

    def start_chat(self, cols, rows):
        """The chat as alice in a tmux pane; returns its port."""
        cmd = (f"LANG=C.UTF-8 LC_ALL=C.UTF-8 {BIN} chat -b 127.0.0.1 -p 0 -n alice "
               f"--no-history 2>{self.err}")
        t = TmuxPane(self, cmd, cols, rows)
        self.tmux, self.wait_pane = t.tmux, t.wait_pane
        port = wait_bound_file(self.err)
        if "line mode on" in self.wait_pane("alice"):
            raise unittest.SkipTest("this build has no terminal UI (cmd/chat/tui.c)")
        return port

    def test_incoming_message_keeps_half_typed_line(self):
        port = self.start_chat(90, 20)
        self.tmux("send-keys", "-l", "half typed \u4f60")
        self.wait_pane("half typed \u4f60")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.sendto("\u4f60\u597d incoming \x1b[31mred\x1b[2J".encode(), ("127.0.0.1", port))
        screen = self.wait_pane("incoming")
        self.assertIn("\u4f60\u597d incoming \\e[31mred\\e[2J", screen)
        last = [l for l in screen.splitlines() if l.strip()][-1]
        self.assertIn("half typed \u4f60", last)  # the input line is intact
        self.assertNotIn("incoming", last)
        # Resize: everything is laid out again, nothing lost.
        self.tmux("resize-window", "-x", "60", "-y", "12")
        screen = self.wait_pane("half typed \u4f60")
        self.assertIn("incoming", screen)
        # Finish the line and send it to the plain-text peer.
        self.tmux("send-keys", "C-u")
        self.tmux("send-keys", "-l", f"/to 127.0.0.1 {s.getsockname()[1]}")
        self.tmux("send-keys", "Enter")
        self.tmux("send-keys", "-l", "reply \u4f60\u597d")
        self.tmux("send-keys", "Enter")
        s.settimeout(5 * SLOW)
        data, _ = s.recvfrom(65536)
        self.assertEqual(data, "reply \u4f60\u597d\n".encode())  # plain text: one line
        self.tmux("send-keys", "-l", "/quit")
        self.tmux("send-keys", "Enter")
        deadline = time.monotonic() + 10 * SLOW
        while time.monotonic() < deadline and "udpkit chat: " not in open(self.err).read():
            time.sleep(0.05)
        self.assertIn("1 sent, 0 delivered, 0 NOT delivered, 1 received", open(self.err).read())
        s.close()

    def error_line_escapes(self, env):
        """The screen line, with its colour escapes, of an error the chat shows."""
        err = os.path.join(self.tmp.name, f"err{len(env)}")
        cmd = (f"{env} TERM=xterm-256color LANG=C.UTF-8 LC_ALL=C.UTF-8 {BIN} chat -b 127.0.0.1 "
               f"-p 0 -n bob --no-history 2>{err}")
        t = TmuxPane(self, cmd, 90, 20)
        wait_bound_file(err)
        if "line mode on" in t.wait_pane("bob"):
            raise unittest.SkipTest("this build has no terminal UI (cmd/chat/tui.c)")
        t.tmux("send-keys", "-l", "/bogus")
        t.tmux("send-keys", "Enter")
        t.wait_pane("unknown command")
        screen = t.tmux("capture-pane", "-p", "-e").stdout
        line = [l for l in screen.splitlines() if "unknown command" in l][0]
        t.close()
        return line

    def test_errors_are_red_unless_no_color(self):
        self.assertIn("\x1b[31m", self.error_line_escapes(""))
        self.assertNotIn("\x1b[31m", self.error_line_escapes("NO_COLOR=1"))

if __name__ == "__main__":
    unittest.main()
