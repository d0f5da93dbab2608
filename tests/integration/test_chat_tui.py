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


    def test_sealed_group_and_offer_marked(self):
        """In the UI a sealed message is marked and READMSG goes once it is
        on the screen; a group message is marked; a file offer is shown
        with its file, never as an empty message."""
        port = self.start_chat(100, 20)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.settimeout(5 * SLOW)
        s.sendto(b"1:7:u:h:800:for your eyes\0", ("127.0.0.1", port))
        self.wait_pane("[sealed]: for your eyes")
        seen = set()
        while 0x30 not in seen:  # RECVMSG first, then READMSG
            data = s.recvfrom(65536)[0].split(b":", 5)
            seen.add(int(data[4]) & 0xff)
            if int(data[4]) & 0xff == 0x30:
                self.assertEqual(data[5], b"7\0")
        s.sendto(b"1:8:u:h:1056:hello all\0", ("127.0.0.1", port))
        self.wait_pane("[group]: hello all")
        s.sendto(b"1_iptux 0.8.3:9:root:vm:2097184:\x0010000:report.txt:12:6b0d8a30:1:\x07\x00",
                 ("127.0.0.1", port))
        screen = self.wait_pane("offered file report.txt (18 bytes)")
        self.assertIn("declined", screen)
        s.close()


if __name__ == "__main__":
    unittest.main()
