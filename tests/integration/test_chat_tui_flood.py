"""udpkit chat's terminal UI under a flood, under tmux (issue 10, attack 6).
Scrolled back over a full scrollback of long lines, every new line used to
re-lay out the whole scrollback: 200 messages kept the UI busy for 11 s,
keys unread. Here a peer floods the chat with IPMsg messages, closed loop
on the chat's receipts (so every message is handled, none dropped by a
full socket buffer), while the view is scrolled back; a line typed during
the flood must show up, and the flood must go through, within the usual
generous timeout. And 2,500 messages of 16 KiB must not grow the memory
past a bound (the RSS went from 5 to 56 MB). Events, not sleeps: the
receipts count what the chat handled, capture-pane shows what it drew."""
import os
import re
import socket
import sys
import tempfile
import threading
import time
import unittest

from harness import BIN, SLOW, VARIANT, require_cmd
from tmuxpane import TmuxPane, wait_bound_file

FIGURES = os.environ.get("UDPKIT_FIGURES") == "1"
SENDMSG_CHECK = 0x20 | 0x100
RECVMSG = 0x21


def figure(text):
    if FIGURES:
        print(f"\nfigure: {text}", file=sys.stderr)


class Flooder:
    """Sends IPMsg SENDMSG with SENDCHECKOPT, `window` in flight, each
    freed by the chat's receipt, until stop() and then `tail` more, or
    until `limit` in all."""

    def __init__(self, port, text_bytes, window=64):
        self.port = port
        self.text = b"x" * text_bytes
        self.window = window
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(30 * SLOW)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        self.receipts = 0
        self.sent = 0
        self.no = 1000
        self.error = None

    def send_one(self):
        self.no += 1
        head = b"1:%d:flood:host:%d:%d " % (self.no, SENDMSG_CHECK, self.no)
        self.sock.sendto(head + self.text + b"\0", ("127.0.0.1", self.port))
        self.sent += 1

    def run(self, limit):
        """Keeps `window` messages in flight until `limit` were acked;
        self.limit may be lowered meanwhile (from another thread)."""
        self.limit = limit
        try:
            while self.receipts < self.limit:
                while self.sent < self.limit and self.sent - self.receipts < self.window:
                    self.send_one()
                data = self.sock.recv(65536)
                if b":%d:" % RECVMSG in data:
                    self.receipts += 1
        except OSError as e:  # a timeout: the chat stopped answering
            self.error = e

    def close(self):
        self.sock.close()


class ChatTuiFlood(unittest.TestCase):
    def setUp(self):
        require_cmd("tmux")
        self.tmp = tempfile.TemporaryDirectory()
        self.err = os.path.join(self.tmp.name, "err")
        self.addCleanup(self.tmp.cleanup)

    def start_chat(self):
        # --rate-limit 0: the per-source flood bound would drop (and not
        # acknowledge) most of one source's flood; here the UI's cost is
        # what is measured, so every message must reach it.
        cmd = (f"exec env LANG=C.UTF-8 LC_ALL=C.UTF-8 {BIN} chat -b 127.0.0.1 -p 0 -n alice "
               f"--no-history --rate-limit 0 2>{self.err}")
        t = TmuxPane(self, cmd, 120, 40)
        self.tmux, self.pane, self.wait_pane = t.tmux, t.pane, t.wait_pane
        port = wait_bound_file(self.err)
        screen = self.wait_pane("alice")
        if "line mode on" in screen:
            raise unittest.SkipTest("this build has no terminal UI (cmd/chat/tui.c)")
        return port, t.pid()

    def rss_kb(self, pid):
        with open(f"/proc/{pid}/status") as f:
            return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))

    def test_keys_answered_while_flooded_scrolled_back(self):
        port, _ = self.start_chat()
        fl = Flooder(port, 4000)
        self.addCleanup(fl.close)
        # A full scrollback of long lines (4,000 characters, the longest
        # kept), then scroll back a page.
        fl.run(2000)
        self.assertIsNone(fl.error)
        self.wait_pane("%d xxx" % fl.no)
        self.tmux("send-keys", "PPage")
        self.wait_pane("[scrolled back")
        # The flood: a line typed once it is under way must show up while
        # it goes on, and 2,000 more messages must get through after that.
        start = time.monotonic()
        t = threading.Thread(target=fl.run, args=(fl.receipts + 20000,), daemon=True)
        t.start()
        while fl.receipts < 2100 and t.is_alive():
            time.sleep(0.01)
        at_key = fl.receipts
        self.tmux("send-keys", "-l", "typed while flooding")
        deadline = time.monotonic() + 60 * SLOW
        shown_at = None
        while time.monotonic() < deadline and t.is_alive():
            last = [l for l in self.pane().splitlines() if l.strip()][-1]
            if "typed while flooding" in last:
                shown_at = fl.receipts
                break
            time.sleep(0.02)
        self.assertIsNotNone(shown_at, f"the typed line never showed ({fl.receipts} handled)")
        limit = fl.limit = shown_at + 2000
        while time.monotonic() < deadline and fl.receipts < limit and fl.error is None:
            time.sleep(0.02)
        fl.limit = 0  # stop the flood now, whatever happened
        handled = fl.receipts - 2000
        figure(f"TUI flood while scrolled back: key typed after {at_key - 2000} messages shown "
               f"after {shown_at - 2000}; {handled} handled in {time.monotonic() - start:.1f} s")
        self.assertIsNone(fl.error)
        self.assertGreaterEqual(fl.receipts, limit,
                                f"only {handled} messages handled in {60 * SLOW} s")
        self.assertIn("[scrolled back", self.pane())  # the view stayed where it was

    def test_scrollback_memory_bounded_in_bytes(self):
        if VARIANT != "plain":
            raise unittest.SkipTest(f"RSS is not the program's own under {VARIANT}")
        port, pid = self.start_chat()
        before = self.rss_kb(pid)
        fl = Flooder(port, 16000)
        self.addCleanup(fl.close)
        fl.run(2500)
        self.assertIsNone(fl.error)
        self.wait_pane("%d xxx" % fl.no)
        after = self.rss_kb(pid)
        figure(f"TUI memory: RSS {before} kB before, {after} kB after 2,500 messages of 16 kB")
        # 4 MiB of scrollback text, plus allocator slack.
        self.assertLess(after - before, 16 * 1024)


if __name__ == "__main__":
    unittest.main()
