"""udpkit chat's progress bar for a download in the terminal UI (issue 8),
under tmux as the other UI tests: a sender played by Python sends part of
a file and holds the rest, and the status line shows the name, a bar, the
bytes, the rate and the time left; then the rest arrives and the file is
complete. Skipped without tmux or without the UI in this build."""
import os
import re
import subprocess
import tempfile
import threading
import time
import unittest

from harness import BIN, SLOW, Proc, require_cmd
from test_chat_files import FakePeer
from tmuxpane import chat_pane


class ChatFilesTui(unittest.TestCase):
    def setUp(self):
        require_cmd("tmux")
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.err = os.path.join(self.tmp.name, "err")
        self.dst = os.path.join(self.tmp.name, "dst")
        os.makedirs(self.dst)

    def test_progress_bar_shows_bytes_rate_time_left(self):
        cmd = (f"LANG=C.UTF-8 LC_ALL=C.UTF-8 {BIN} chat -b 127.0.0.1 -p 0 -n bob "
               f"--no-discovery --no-history 2>{self.err}")
        t, port = chat_pane(self, cmd, self.err, "bob", 100, 20)
        peer = FakePeer()
        self.addCleanup(peer.close)
        size = 4 << 20
        data = os.urandom(size)
        peer.offer(port, 70, [(0, b"slow.bin", size, 1)])
        t.wait_pane("/accept 1")
        t.tmux("send-keys", "-l", "/accept 1 " + self.dst)
        t.tmux("send-keys", "Enter")
        conn, _ = peer.request()
        self.addCleanup(conn.close)
        conn.sendall(data[:size // 4])  # a quarter, then a pause
        # The bar is redrawn at most once a second: wait for the one that
        # shows the whole quarter.
        want = re.compile(r"slow\.bin \[#{5}\.{15}\] 1\.0/4\.0 MiB  [\d.]+ MiB/s  \d+ s left")
        deadline = time.monotonic() + 30 * SLOW
        while not want.search(t.pane()):
            self.assertLess(time.monotonic(), deadline, t.pane())
            time.sleep(0.05)
        conn.sendall(data[size // 4:])
        conn.close()
        for _ in range(int(300 * SLOW)):
            if os.path.exists(os.path.join(self.dst, "slow.bin")):
                break
            threading.Event().wait(0.1)
        with open(os.path.join(self.dst, "slow.bin"), "rb") as f:
            self.assertEqual(f.read(), data)

    def test_file_to_all_says_preparing_once(self):
        # "/all /file" to two peers hashes the file once for both offers
        # (test_chat_files_all.py): the UI says so in one line, not one a
        # peer. A 1 GiB sparse file takes longer than one 20 ms slice.
        big = os.path.join(self.tmp.name, "big.img")
        with open(big, "wb") as f:
            f.truncate(1 << 30)
        peers = []
        for ip, nick in (("127.0.0.2", "bob"), ("127.0.0.3", "carol")):
            p = Proc([BIN, "chat", "--line", "-b", ip, "-p", "0", "--no-discovery",
                      "--no-history", "-n", nick, "--stay"], stdin=subprocess.PIPE)
            self.addCleanup(p.kill)
            peers.append(f"{ip}:{p.wait_bound()[1]}")
        cmd = (f"LANG=C.UTF-8 LC_ALL=C.UTF-8 {BIN} chat -b 127.0.0.1 -p 0 -n alice "
               f"--no-discovery --no-history -P {peers[0]} -P {peers[1]} 2>{self.err}")
        t, _ = chat_pane(self, cmd, self.err, "alice", 120, 30)
        t.wait_pane("bob", 30)
        t.wait_pane("carol", 30)
        t.tmux("send-keys", "-l", "/all /file " + big)
        t.tmux("send-keys", "Enter")
        t.wait_pane("offered to 2 of 2 IPMsg peers", 60)
        screen = t.pane()
        self.assertIn("preparing the offers to 2 peers: hashing 1024.0 MiB (SHA-256) first",
                      screen)
        self.assertNotIn("preparing the offer to", screen)


if __name__ == "__main__":
    unittest.main()
