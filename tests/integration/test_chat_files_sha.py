"""udpkit chat file transfer: SHA-256 between two udpkit for every size
(issue 8). A file over the old 64 MiB bound is hashed in slices from the
poll loop before its offer goes ("preparing"), the chat answering
meanwhile, and verified on receipt; a file changed between offer and fetch
is reported and not kept. Every chat binds 127.0.0.1, port 0,
--no-discovery."""
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import BIN, SLOW, Proc
from test_chat import events, say
from test_chat_files import FakePeer, MTIME


class ChatFilesSha(unittest.TestCase):
    timeout_s = 300

    def setUp(self):
        self.procs = []
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)
        self.dst = os.path.join(self.tmp, "dst")
        os.makedirs(self.dst)

    def tearDown(self):
        for p in self.procs:
            p.kill()

    def start(self, *args):
        argv = [BIN, "chat", "--line", "-b", "127.0.0.1", "-p", "0", "--no-discovery",
                "--no-history"]
        p = Proc(argv + [str(x) for x in args], stdin=subprocess.PIPE)
        self.procs.append(p)
        _, port = p.wait_bound()
        return p, port

    def pair(self, *receiver_args):
        b, pb = self.start("-n", "bob", "--stay", *receiver_args)
        a, pa = self.start("-n", "alice", "--stay", "-P", f"127.0.0.1:{pb}")
        a.wait_for(b"joined\t127.0.0.1:%d\tbob" % pb, "out")
        return a, b

    def offer_and_receive(self, a, b, path, n):
        """a offers path to b, which accepts it by itself: its n-th
        "received" line, checked ("sha256 ok"); returns where it landed."""
        say(a, "/file " + path)
        deadline = time.monotonic() + 60 * SLOW
        while len(events(b, "received")) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        got = events(b, "received")
        self.assertEqual(len(got), n)
        self.assertEqual(got[-1][-1], "sha256 ok")
        return got[-1][4]

    def test_large_file_hashed_without_stopping_the_chat(self):
        size = 256 << 20
        st = os.statvfs(self.tmp)
        if st.f_bavail * st.f_frsize < 2 * size:
            self.skipTest("needs 512 MiB free for a 256 MiB file")
        big = os.path.join(self.tmp, "big.img")
        with open(big, "wb") as f:
            f.write(os.urandom(4096))
            f.truncate(size)
            f.seek(size - 6)
            f.write(b"theend")
        a, b = self.pair("--accept-files", self.dst, "--accept-from", "127.0.0.1")
        say(a, "/file " + big)
        a.wait_for(b"preparing\t127.0.0.1:", "out")
        # The chat still talks while it hashes: the message goes before
        # the offer.
        say(a, "while hashing")
        a.wait_for(b"offered\t", "out", 120)
        out = a.out().decode()
        self.assertIn("\twhile hashing", out)
        self.assertLess(out.index("\twhile hashing"), out.index("offered\t"))
        b.wait_for(b"received\t", "out", 300)
        got = events(b, "received")[0]
        self.assertEqual(got[-1], "sha256 ok")
        self.assertEqual(os.path.getsize(os.path.join(self.dst, "big.img")), size)

    def test_file_changed_between_offer_and_fetch_is_not_kept(self):
        f = os.path.join(self.tmp, "f.bin")
        data = bytearray(os.urandom(300000))
        with open(f, "wb") as fh:
            fh.write(data)
        a, b = self.pair()
        say(a, "/file " + f)
        b.wait_for(b"offer-num\t", "out")
        # One byte changes after the offer, the size stays.
        with open(f, "r+b") as fh:
            fh.seek(123456)
            fh.write(bytes([data[123456] ^ 0xff]))
        say(b, "/accept 1 " + self.dst)
        b.wait_for(b"SHA-256 mismatch: the file is corrupt, not kept", "out", 60)
        self.assertEqual(os.listdir(self.dst), [])
        self.assertFalse(events(b, "received"))

    def test_file_offered_again_is_hashed_again_only_when_changed(self):
        # The chat keeps the SHA-256 of what it hashed by (device, inode,
        # size, mtime, ctime): the same file offered again is not read for
        # its hash; changed (one byte, same size, same mtime put back) it
        # is hashed again, and the receiver checks the new sum.
        f = os.path.join(self.tmp, "again.bin")
        data = bytearray(os.urandom(3 << 20))
        with open(f, "wb") as fh:
            fh.write(data)
        os.utime(f, (1500000000, 1500000000))
        a, b = self.pair("--accept-files", self.dst, "--accept-from", "127.0.0.1")
        # A sum is kept only for a file whose last change (ctime) was more
        # than 2 s before its hashing (UK_HASHCACHE_RACY_NS): wait for the
        # clock to pass that point, not for an event.
        ready = os.stat(f).st_ctime + 2.2
        while time.time() < ready:
            time.sleep(0.05)

        path1 = self.offer_and_receive(a, b, f, 1)
        path2 = self.offer_and_receive(a, b, f, 2)
        self.assertEqual(len(events(a, "hashing")), 1)
        data[1000] ^= 0xff
        with open(f, "r+b") as fh:
            fh.seek(1000)
            fh.write(data[1000:1001])
        os.utime(f, (1500000000, 1500000000))
        path3 = self.offer_and_receive(a, b, f, 3)
        self.assertEqual(len(events(a, "hashing")), 2)
        for path, want_changed in ((path1, False), (path2, False), (path3, True)):
            with open(path, "rb") as y:
                self.assertEqual(y.read() == bytes(data), want_changed)

    def test_folder_files_carry_and_check_their_sha256(self):
        tree = os.path.join(self.tmp, "tree")
        os.makedirs(os.path.join(tree, "sub"))
        for rel, size in (("a.bin", 300000), ("sub/b.bin", 5000), ("sub/empty", 0)):
            with open(os.path.join(tree, rel), "wb") as f:
                f.write(os.urandom(size))
        a, b = self.pair("--accept-files", self.dst, "--accept-from", "127.0.0.1")
        say(a, "/file " + tree)
        b.wait_for(b"received\t", "out", 60)
        got = events(b, "received")[0]
        self.assertEqual(got[3], "tree")
        self.assertEqual(got[-1], "sha256 ok")
        for rel in ("a.bin", "sub/b.bin", "sub/empty"):
            with open(os.path.join(tree, rel), "rb") as x, \
                    open(os.path.join(self.dst, "tree", rel), "rb") as y:
                self.assertEqual(x.read(), y.read())

    def test_folder_sent_again_checks_out(self):
        # The second stream of the same folder takes its files' sums from
        # the hash cache (they were hashed more than 2 s after their last
        # change): the receiver still checks every one.
        tree = os.path.join(self.tmp, "tree")
        os.makedirs(os.path.join(tree, "sub"))
        for rel, size in (("a.bin", 300000), ("sub/b.bin", 5000)):
            with open(os.path.join(tree, rel), "wb") as f:
                f.write(os.urandom(size))
        ready = max(os.stat(os.path.join(tree, r)).st_ctime for r in ("a.bin", "sub/b.bin"))
        a, b = self.pair("--accept-files", self.dst, "--accept-from", "127.0.0.1")
        while time.time() < ready + 2.2:
            time.sleep(0.05)
        for n in (1, 2):
            path = self.offer_and_receive(a, b, tree, n)
            for rel in ("a.bin", "sub/b.bin"):
                with open(os.path.join(tree, rel), "rb") as x, \
                        open(os.path.join(path, rel), "rb") as y:
                    self.assertEqual(x.read(), y.read())

    def test_folder_file_with_wrong_sha256_is_not_kept(self):
        def hdr(name, size, attr, sha=None):
            body = b":%s:%.9x:%x:14=%x:16=%x:" % (name, size, attr, MTIME, MTIME)
            if sha:
                body += b"75d256=" + sha.encode() + b":"
            return b"%04x" % (len(body) + 4) + body

        b, pb = self.start("-n", "bob", "--stay", "--accept-files", self.dst,
                           "--accept-from", "127.0.0.1")
        peer = FakePeer()
        self.addCleanup(peer.close)
        peer.offer(pb, 95, [(0, b"pics", 10, 2)])
        conn, _ = peer.request()
        conn.sendall(hdr(b"pics", 0, 2)
                     + hdr(b"good.txt", 5, 1, hashlib.sha256(b"hello").hexdigest()) + b"hello"
                     + hdr(b"bad.txt", 5, 1, hashlib.sha256(b"hello").hexdigest()) + b"jello"
                     + hdr(b".", 0, 3))
        b.wait_for(b"received\t127.0.0.1:%d\t95\tpics\t" % peer.port, "out")
        conn.close()
        out = b.out().decode()
        self.assertIn("failed\t127.0.0.1:%d\t95\tbad.txt\tSHA-256 mismatch: the file is "
                      "corrupt, not kept" % peer.port, out)
        self.assertEqual(sorted(os.listdir(os.path.join(self.dst, "pics"))), ["good.txt"])
        self.assertNotEqual(events(b, "received")[0][-1], "sha256 ok")


if __name__ == "__main__":
    unittest.main()
