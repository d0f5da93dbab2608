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

    def test_incoming_message_keeps_half_typed_line(self):
        cmd = (f"LANG=C.UTF-8 LC_ALL=C.UTF-8 {BIN} chat -b 127.0.0.1 -p 0 -n alice "
               f"--no-history 2>{self.err}")
        t = TmuxPane(self, cmd, 90, 20)
        self.tmux, self.wait_pane = t.tmux, t.wait_pane
        port = wait_bound_file(self.err)
        screen = self.wait_pane("alice")
        if "line mode on" in screen:
            raise unittest.SkipTest("this build has no terminal UI (cmd/chat/tui.c)")
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
        self.assertEqual(data, "reply \u4f60\u597d".encode())
        self.tmux("send-keys", "-l", "/quit")
        self.tmux("send-keys", "Enter")
        deadline = time.monotonic() + 10 * SLOW
        while time.monotonic() < deadline and "udpkit chat: " not in open(self.err).read():
            time.sleep(0.05)
        self.assertIn("1 sent, 0 delivered, 0 NOT delivered, 1 received", open(self.err).read())
        s.close()


if __name__ == "__main__":
    unittest.main()
