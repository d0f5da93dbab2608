"""udpkit chat file transfer: where files land and the server's limits
(issue 8). The default download directory with a temporary HOME, the free
space check on a small tmpfs (root only), --transfer-idle-timeout in both
directions (a silent client is cut off, a stalled sender fails the
download with a reason), and the connection limit (the extra connections
are closed, the chat stays responsive, a fetch still works). Every chat
binds 127.0.0.1, port 0, --no-discovery."""
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from harness import BIN, SLOW, Proc
from test_chat import say
from test_chat_files import FakePeer, chat

CONNS = 8  # cmd/chat/files_int.h


class ChatFilesLimits(unittest.TestCase):
    def setUp(self):
        self.procs = []
        self.tmp = tempfile.mkdtemp()
        # Cleanups run after tearDown, the last added first: a tmpfs
        # mounted below tmp is unmounted before tmp goes.
        self.addCleanup(shutil.rmtree, self.tmp)

    def tearDown(self):
        for p in self.procs:
            p.kill()

    def start(self, *args, env=None):
        argv = [BIN, "chat", "--line", "-b", "127.0.0.1", "-p", "0", "--no-discovery",
                "--no-history"]
        p = Proc(argv + [str(a) for a in args], stdin=subprocess.PIPE, env=env)
        self.procs.append(p)
        _, port = p.wait_bound()
        return p, port

    def home_env(self, home):
        env = {k: v for k, v in os.environ.items() if k not in ("XDG_CONFIG_HOME",)}
        env["HOME"] = home
        return env

    def peer(self):
        p = FakePeer()
        self.addCleanup(p.close)
        return p

    def offer_and_accept(self, chat_proc, port, peer, no, name, data):
        peer.offer(port, no, [(0, name, len(data), 1)])
        chat_proc.wait_for(b"offer-num\t%d\t" % no, "out")
        say(chat_proc, "/accept")
        conn, req = peer.request()
        conn.sendall(data)
        conn.close()

    # ---- the download directory --------------------------------------------

    def test_default_download_dir_is_xdg_download_dir(self):
        home = os.path.join(self.tmp, "home")
        os.makedirs(os.path.join(home, ".config"))
        os.makedirs(os.path.join(home, "My Files"))
        with open(os.path.join(home, ".config", "user-dirs.dirs"), "w") as f:
            f.write('# written by xdg-user-dirs-update\nXDG_DESKTOP_DIR="$HOME/Desktop"\n'
                    'XDG_DOWNLOAD_DIR="$HOME/My Files"\n')
        b, pb = self.start("-n", "bob", "--stay", env=self.home_env(home))
        peer = self.peer()
        self.offer_and_accept(b, pb, peer, 60, b"x.txt", b"xdg")
        b.wait_for(b"received\t127.0.0.1:%d\t60\tx.txt\t%s/x.txt\t" % (
            peer.port, os.path.join(home, "My Files").encode()), "out")
        with open(os.path.join(home, "My Files", "x.txt"), "rb") as f:
            self.assertEqual(f.read(), b"xdg")
        self.assertFalse(os.path.exists(os.path.join(home, "Downloads")))

    def test_default_download_dir_is_downloads_created(self):
        home = os.path.join(self.tmp, "home")
        os.makedirs(home)
        b, pb = self.start("-n", "bob", "--stay", env=self.home_env(home))
        peer = self.peer()
        self.offer_and_accept(b, pb, peer, 61, b"y.txt", b"plain")
        b.wait_for(b"received\t127.0.0.1:%d\t61\ty.txt\t%s/y.txt\t" % (
            peer.port, os.path.join(home, "Downloads").encode()), "out")
        self.assertEqual(os.stat(os.path.join(home, "Downloads")).st_mode & 0o777, 0o700)
        with open(os.path.join(home, "Downloads", "y.txt"), "rb") as f:
            self.assertEqual(f.read(), b"plain")

    # ---- free space ----------------------------------------------------------

    def test_offer_bigger_than_free_space_is_declined(self):
        if os.geteuid() != 0:
            self.skipTest("mounting a small tmpfs needs root")
        small = os.path.join(self.tmp, "small")
        os.makedirs(small)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", small],
                           capture_output=True, timeout=30)
        if r.returncode != 0:
            self.skipTest(f"cannot mount a tmpfs: {r.stderr.decode().strip()}")
        self.addCleanup(subprocess.run, ["umount", "-l", small], timeout=30)
        b, pb = self.start("-n", "bob", "--stay", "--accept-files", small,
                           "--accept-from", "127.0.0.1")
        peer = self.peer()
        peer.offer(pb, 62, [(0, b"big.iso", 5 << 20, 1)])
        b.wait_for(b"offer 1 needs 5242880 bytes, %s has " % small.encode(), "out")
        self.assertIn(b"free: declined", b.out())
        # Nothing fetched, nothing written.
        self.assertNotIn(b"failed\t", b.out())
        self.assertEqual(os.listdir(small), [])

    # ---- idle time ------------------------------------------------------------

    def sender_to_fake(self, *extra):
        """A chat that offers a file to a FakePeer; returns (chat, its port,
        the peer, the offer's packet number)."""
        f = os.path.join(self.tmp, "f.bin")
        with open(f, "wb") as fh:
            fh.write(os.urandom(200000))
        self.file = f
        peer = self.peer()
        a, pa = self.start("-n", "alice", "-P", f"127.0.0.1:{peer.port}", "--stay", *extra)
        peer.udp.recvfrom(8192)  # BR_ENTRY
        say(a, "/file " + f)
        while True:
            data, _ = peer.udp.recvfrom(8192)
            if int(data.split(b":")[4]) & 0xff == 0x20:
                break
        return a, pa, peer, int(data.split(b":")[1])

    def fetch(self, port, no):
        s = socket.create_connection(("127.0.0.1", port), timeout=20 * SLOW)
        s.sendall(b"1:1:m:h:96:%x:0:0\0" % no)
        got = b""
        while True:
            c = s.recv(65536)
            if not c:
                break
            got += c
        s.close()
        return got

    def test_silent_client_cut_off_after_idle_timeout(self):
        a, pa, _, no = self.sender_to_fake("--transfer-idle-timeout", "1s")
        silent = socket.create_connection(("127.0.0.1", pa))
        self.addCleanup(silent.close)
        # Not before the timeout (with margin), and within a few seconds.
        silent.settimeout(0.5)
        with self.assertRaises(socket.timeout):
            silent.recv(1)
        silent.settimeout(20 * SLOW)
        self.assertEqual(silent.recv(1), b"")
        # The offer is still served.
        with open(self.file, "rb") as f:
            self.assertEqual(self.fetch(pa, no), f.read())

    def test_stalled_sender_fails_the_download(self):
        b, pb = self.start("-n", "bob", "--stay", "--accept-files", self.tmp,
                           "--accept-from", "127.0.0.1", "--transfer-idle-timeout", "1s")
        peer = self.peer()
        peer.offer(pb, 63, [(0, b"slow.bin", 1000, 1)])
        conn, _ = peer.request()
        self.addCleanup(conn.close)
        conn.sendall(b"x" * 10)  # then nothing
        b.wait_for(b"failed\t127.0.0.1:%d\t63\tslow.bin\tthe peer stopped sending" % peer.port,
                   "out", 30)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "slow.bin")))

    def test_paused_download_does_not_spin(self):
        """A sender that pauses mid-file: the chat waits in poll() (its
        progress wake-up once a second), it does not spin at 0 ms."""
        b, pb = self.start("-n", "bob", "--stay", "--accept-files", self.tmp,
                           "--accept-from", "127.0.0.1")
        peer = self.peer()
        peer.offer(pb, 64, [(0, b"paused.bin", 100000, 1)])
        conn, _ = peer.request()
        self.addCleanup(conn.close)
        conn.sendall(b"x" * 1000)
        b.wait_for(b"progress\t64\tpaused.bin\t1000\t100000", "out")

        def cpu_s():
            with open(f"/proc/{b.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        before = cpu_s()
        t0 = time.monotonic()
        # Three progress lines later (about 3 s of pause) ...
        for n in range(2, 5):
            b.wait_for(b"progress\t64\tpaused.bin\t1000\t100000\n" * 1, "out")
            while b.out().count(b"progress\t64\tpaused.bin\t1000\t100000") < n:
                threading.Event().wait(0.05)
        spent, wall = cpu_s() - before, time.monotonic() - t0
        # ... the chat used a small part of a core (it spun at 100% before).
        self.assertLess(spent, 0.3 * wall, (spent, wall))
        conn.sendall(b"x" * 99000)
        b.wait_for(b"received\t127.0.0.1:%d\t64\tpaused.bin\t" % peer.port, "out")

    def test_idle_timeout_option_bounds(self):
        r = subprocess.run([BIN, "chat", "--transfer-idle-timeout", "1ms", "--line"],
                           capture_output=True, timeout=30 * SLOW, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 2, r)
        self.assertIn(b"transfer-idle-timeout", r.stderr)

    # ---- connections ------------------------------------------------------------

    def test_connection_limit(self):
        a, pa, peer, no = self.sender_to_fake()
        held = [socket.create_connection(("127.0.0.1", pa)) for _ in range(CONNS)]
        extra = [socket.create_connection(("127.0.0.1", pa)) for _ in range(4)]
        for s in held + extra:
            self.addCleanup(s.close)
        # The extra ones are closed at once (the chat accepts and closes
        # what it cannot serve); the held ones stay open.
        for s in extra:
            s.settimeout(20 * SLOW)
            try:
                self.assertEqual(s.recv(1), b"")
            except ConnectionResetError:
                pass
        held[0].settimeout(0.2)
        with self.assertRaises(socket.timeout):
            held[0].recv(1)
        # The chat still talks: a message reaches the peer.
        say(a, "still here")
        while True:
            data, _ = peer.udp.recvfrom(8192)
            if b"still here" in data:
                break
        # Once a slot is free, a legitimate fetch is served in full.
        held.pop().close()
        with open(self.file, "rb") as f:
            want = f.read()
        # Until the chat saw the close, a new connection is still one too
        # many: closed (or reset, our request unread). Try again.
        for _ in range(int(50 * SLOW)):
            try:
                got = self.fetch(pa, no)
            except ConnectionResetError:
                got = b""
            if got:
                break
            threading.Event().wait(0.1)
        self.assertEqual(got, want)
        a.wait_for(b"fetched\t", "out")


if __name__ == "__main__":
    unittest.main()
