"""udpkit chat file transfer on loopback (issue 8): two udpkit chats (files,
an empty file, a folder tree with a symlink pointing out, exit statuses of
--send-file, decline, expiry), and a hostile side played by Python: a
client from the wrong address, an unknown file ID, a silent client, a
sender whose folder stream tries path traversal, a sender that sends more
than it announced, and resume after the receiver is killed mid-transfer.
Every chat binds 127.0.0.1, port 0, --no-discovery."""
import hashlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import unittest

from harness import BIN, SLOW, Proc
from test_chat import events, say  # the chat tests' helpers (functions only)

MTIME = 1700000000


def chat(*args):
    argv = [BIN, "chat", "--line", "-b", "127.0.0.1", "-p", "0", "--no-discovery"]
    if "-H" not in args:
        argv.append("--no-history")
    p = Proc(argv + [str(a) for a in args], stdin=subprocess.PIPE)
    _, port = p.wait_bound()
    return p, port




def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def ipmsg(no, cmd, extra, ver=b"1"):
    return ver + b":%d:mallory:evilhost:%d:" % (no, cmd) + extra


class FakePeer:
    """An IPMsg sender on one UDP and one TCP socket at the same port, as
    IP Messenger clients serve files; serve() answers one TCP request."""

    def __init__(self):
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", 0))
        self.port = self.tcp.getsockname()[1]
        self.tcp.listen(4)
        self.tcp.settimeout(20 * SLOW)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.udp.settimeout(20 * SLOW)

    def offer(self, to_port, no, entries, ext=b""):
        """entries: (id, name bytes, size, attr); ext: extended attributes."""
        lst = b"".join(b"%d:%s:%x:%x:%x:%s\x07" % (i, n.replace(b":", b"::"), s, MTIME, a, ext)
                       for i, n, s, a in entries)
        self.udp.sendto(ipmsg(no, 0x200020, b"\0" + lst + b"\0"), ("127.0.0.1", to_port))

    def request(self):
        conn, _ = self.tcp.accept()
        conn.settimeout(20 * SLOW)
        req = b""
        while b"\0" not in req:
            chunk = conn.recv(1024)
            if not chunk:
                break
            req += chunk
        return conn, req.split(b"\0")[0]

    def close(self):
        self.tcp.close()
        self.udp.close()


def dirhdr(name, size, attr):
    body = b":%s:%.9x:%x:14=%x:16=%x:" % (name.replace(b":", b"::"), size, attr, MTIME, MTIME)
    return b"%04x" % (len(body) + 4) + body


class ChatFiles(unittest.TestCase):
    # The runner's alarm per test (default 120 s): the 5 GiB transfer takes
    # about 85 s on an idle machine and over 120 s with both cores busy; its
    # own waits are event-based (600 s at most).
    timeout_s = 900

    def setUp(self):
        self.procs = []
        self.tmp = tempfile.mkdtemp()
        self.src = os.path.join(self.tmp, "src")
        self.dst = os.path.join(self.tmp, "dst")
        os.makedirs(self.src)
        os.makedirs(self.dst)

    def tearDown(self):
        for p in self.procs:
            p.kill()
        shutil.rmtree(self.tmp)

    def start(self, *args):
        p, port = chat(*args)
        self.procs.append(p)
        return p, port

    def receiver(self, *extra):
        return self.start("-n", "bob", "--stay", "--accept-files", self.dst,
                          "--accept-from", "127.0.0.1", *extra)

    def sender(self, port, *args):
        p, _ = self.start("-n", "alice", "-P", f"127.0.0.1:{port}", *args)
        p.proc.stdin.close()
        return p

    def make_tree(self):
        tree = os.path.join(self.src, "tree")
        os.makedirs(os.path.join(tree, "sub", "deeper"))
        with open(os.path.join(tree, "a:b \u62a5\u544a.txt"), "wb") as f:
            f.write(b"x" * 70000)
        with open(os.path.join(tree, "sub", "deeper", "d.bin"), "wb") as f:
            f.write(os.urandom(12345))
        open(os.path.join(tree, "sub", "empty"), "wb").close()
        os.symlink("/etc/passwd", os.path.join(tree, "outside-link"))
        os.symlink("/etc", os.path.join(tree, "sub", "outside-dir"))
        os.utime(os.path.join(tree, "sub", "deeper", "d.bin"), (MTIME, MTIME))
        return tree

    def test_files_empty_file_and_folder_tree_exit_0(self):
        big = os.path.join(self.src, "big.bin")
        with open(big, "wb") as f:
            f.write(os.urandom(3 * 1024 * 1024 + 7))
        os.utime(big, (MTIME, MTIME))
        empty = os.path.join(self.src, "empty")
        open(empty, "wb").close()
        tree = self.make_tree()
        # A file of that name is there already: a numbered name instead.
        with open(os.path.join(self.dst, "big.bin"), "wb") as f:
            f.write(b"keep me")
        b, pb = self.receiver()
        a = self.sender(pb, "--send-file", big, "--send-file", empty, "--send-file", tree,
                        "--message", "three things")
        self.assertEqual(a.wait(60), 0, a.out())
        b.wait_for(b"received\t127.0.0.1:", "out")
        for name in ("big.bin", "empty", "tree"):
            b.wait_for(b"\t%s\t%s/" % (name.encode(), self.dst.encode()), "out")
        got = {e[3]: e for e in events(b, "received")}
        self.assertEqual(set(got), {"big.bin", "empty", "tree"})
        with open(os.path.join(self.dst, "big.bin"), "rb") as f:
            self.assertEqual(f.read(), b"keep me")
        self.assertEqual(got["big.bin"][4], os.path.join(self.dst, "big (1).bin"))
        self.assertEqual(sha(os.path.join(self.dst, "big (1).bin")), sha(big))
        self.assertEqual(int(os.stat(os.path.join(self.dst, "big (1).bin")).st_mtime), MTIME)
        self.assertEqual(os.path.getsize(os.path.join(self.dst, "empty")), 0)
        out = os.path.join(self.dst, "tree")
        self.assertEqual(sha(os.path.join(out, "a:b \u62a5\u544a.txt")),
                         sha(os.path.join(tree, "a:b \u62a5\u544a.txt")))
        self.assertEqual(sha(os.path.join(out, "sub", "deeper", "d.bin")),
                         sha(os.path.join(tree, "sub", "deeper", "d.bin")))
        self.assertEqual(int(os.stat(os.path.join(out, "sub", "deeper", "d.bin")).st_mtime), MTIME)
        self.assertTrue(os.path.isfile(os.path.join(out, "sub", "empty")))
        # Symlinks are never followed out of the folder, nor created.
        self.assertFalse(os.path.lexists(os.path.join(out, "outside-link")))
        self.assertFalse(os.path.lexists(os.path.join(out, "sub", "outside-dir")))
        # No partial names left.
        self.assertEqual([n for n in os.listdir(self.dst) if n.startswith(".udpkit-")], [])
        self.assertTrue(events(a, "fetched"))
        # Between two udpkit the offer carries SHA-256, checked on receipt.
        self.assertEqual(got["big.bin"][-1], "sha256 ok")
        self.assertIn("three things", a.out().decode())

    def test_sparse_5gib_file_memory_bounded(self):
        """A 5 GiB sparse file: both ends stream it (sendfile out, 256 KiB
        reads in), so neither grows with the size: peak RSS under 16 MiB."""
        if SLOW != 1:
            self.skipTest("5 GiB through a sanitizer or coverage build takes minutes; "
                          "the -O2 build runs it")
        size = 5 << 30
        st = os.statvfs(self.dst)
        if st.f_bavail * st.f_frsize < size + (2 << 30):
            self.skipTest("needs 7 GiB free for a 5 GiB file")
        big = os.path.join(self.src, "sparse.img")
        with open(big, "wb") as f:
            f.truncate(size)
            f.seek(size - 6)
            f.write(b"theend")
        b, pb = self.receiver()
        a = self.sender(pb, "--send-file", big)
        self.assertEqual(a.wait(600 * SLOW), 0, a.out())
        b.wait_for(b"received\t127.0.0.1:", "out", 60)
        hwm = [int(l.split()[1]) for l in open(f"/proc/{b.proc.pid}/status") if l.startswith("VmHWM")]
        got = os.path.join(self.dst, "sparse.img")
        self.assertEqual(os.path.getsize(got), size)
        with open(got, "rb") as f:
            f.seek(size - 6)
            self.assertEqual(f.read(), b"theend")
        os.unlink(got)
        line = events(b, "received")[0]
        print(f"\n    5 GiB: {line[6]} s, {line[7]} MiB/s; receiver peak RSS {hwm[0]} KiB", end=" ")
        self.assertLess(hwm[0], 16 * 1024)

    def test_decline_exits_1(self):
        f = os.path.join(self.src, "f.txt")
        with open(f, "w") as fh:
            fh.write("hello")
        b, pb = self.start("-n", "bob", "--stay")
        a = self.sender(pb, "--send-file", f)
        b.wait_for(b"offer-num\t", "out")
        say(b, "/decline")
        self.assertEqual(a.wait(30), 1)
        self.assertIn("released", a.out().decode())
        b.wait_for(b"declined\t1\t", "out")

    def test_expiry_exits_1(self):
        f = os.path.join(self.src, "f.txt")
        with open(f, "w") as fh:
            fh.write("hello")
        b, pb = self.start("-n", "bob", "--stay")
        a = self.sender(pb, "--send-file", f, "--offer-timeout", "1s")
        b.wait_for(b"offer-num\t", "out")
        self.assertEqual(a.wait(30), 1)
        self.assertIn("offer-end\t127.0.0.1:%d\t" % pb, a.out().decode())
        self.assertIn("expired", a.out().decode())
        # The expired offer is no longer served.
        say(b, "/accept")
        b.wait_for(b"failed\t", "out")
        self.assertEqual(os.listdir(self.dst), [])

    def test_manual_accept_into_dir_and_missing_file(self):
        f = os.path.join(self.src, "f.txt")
        with open(f, "w") as fh:
            fh.write("hello")
        b, pb = self.start("-n", "bob", "--stay")
        a = self.sender(pb, "--send-file", f)
        b.wait_for(b"offer-num\t", "out")
        say(b, "/accept 1 " + self.dst)
        self.assertEqual(a.wait(30), 0)
        b.wait_for(b"received\t", "out")
        with open(os.path.join(self.dst, "f.txt")) as fh:
            self.assertEqual(fh.read(), "hello")
        # A path that does not exist: not offered, exit 1.
        c = self.sender(pb, "--send-file", os.path.join(self.src, "nope"))
        self.assertEqual(c.wait(30), 1)

    def test_hostile_clients_wrong_peer_unknown_id_silent(self):
        f = os.path.join(self.src, "f.bin")
        with open(f, "wb") as fh:
            fh.write(os.urandom(100000))
        # The receiver is a Python UDP socket that never fetches.
        peer = FakePeer()
        self.addCleanup(peer.close)
        a, pa = self.start("-n", "alice", "-P", f"127.0.0.1:{peer.port}", "--stay")
        peer.udp.recvfrom(8192)  # BR_ENTRY
        say(a, "/file " + f)
        while True:
            data, _ = peer.udp.recvfrom(8192)
            if int(data.split(b":")[4]) & 0xff == 0x20:
                break
        no = int(data.split(b":")[1])

        def fetch(req, src="127.0.0.1", want=None):
            s = socket.socket()
            s.settimeout(20 * SLOW)
            s.bind((src, 0))
            s.connect(("127.0.0.1", pa))
            s.sendall(req)
            got = b""
            while True:
                c = s.recv(65536)
                if not c:
                    break
                got += c
            s.close()
            return got

        # A silent client holds a connection; others are still served.
        silent = socket.create_connection(("127.0.0.1", pa))
        self.addCleanup(silent.close)
        # From another address of this host: refused, nothing sent.
        self.assertEqual(fetch(b"1:1:m:h:96:%x:0:0\0" % no, src="127.0.0.2"), b"")
        a.wait_for(b"not the peer it was offered to", "out")
        # Unknown ID, unknown offer, malformed: refused.
        self.assertEqual(fetch(b"1:1:m:h:96:%x:5:0\0" % no), b"")
        self.assertEqual(fetch(b"1:1:m:h:96:%x:0:0\0" % (no + 1)), b"")
        self.assertEqual(fetch(b"GET / HTTP/1.0\r\n\r\n\0"), b"")
        a.wait_for(b"malformed file request", "out")
        # A folder request for a file: refused.
        self.assertEqual(fetch(b"1:1:m:h:98:%x:0:0\0" % no), b"")
        # The right peer, in two pieces, with an offset: served from it.
        with open(f, "rb") as fh:
            data = fh.read()
        self.assertEqual(fetch(b"1_iptux 0.8.3:1:m:h:2097248:%x:0:10\0" % no), data[16:])
        a.wait_for(b"fetched\t", "out")
        # Fetched to the end: the offer is closed.
        self.assertEqual(fetch(b"1:1:m:h:96:%x:0:0\0" % no), b"")

    def test_crafted_folder_stream_cannot_escape(self):
        b, pb = self.receiver()
        peer = FakePeer()
        self.addCleanup(peer.close)
        peer.offer(pb, 77, [(0, b"pics", 0, 2)])
        conn, req = peer.request()
        self.assertIn(b":4d:0", req)  # GETDIRFILES of offer 77 (hex), ID 0
        stream = (dirhdr(b"pics", 0, 2) + dirhdr(b"ok.txt", 2, 1) + b"ok"
                  + dirhdr(b"../evil.txt", 4, 1) + b"evil"
                  + dirhdr(b"/tmp/evil2", 4, 1) + b"evil"
                  + dirhdr(b"a\\b", 1, 1) + b"x"
                  + dirhdr(b"\x1b[2J", 1, 1) + b"y"
                  + dirhdr(b".", 0, 3) + dirhdr(b".", 0, 3)
                  # past the end: climbing above the target
                  + dirhdr(b".", 0, 3) + dirhdr(b"up.txt", 2, 1) + b"up")
        conn.sendall(stream)
        b.wait_for(b"received\t127.0.0.1:%d\t77\tpics\t" % peer.port, "out")
        conn.close()
        out = b.out().decode()
        self.assertIn("'..' (parent directory) in name", out)
        self.assertIn("absolute path", out)
        self.assertIn("contains '\\'", out)
        self.assertIn("control character", out)
        self.assertEqual(sorted(os.listdir(self.dst)), ["pics"])
        self.assertEqual(os.listdir(os.path.join(self.dst, "pics")), ["ok.txt"])
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "evil.txt")))
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "up.txt")))

    def test_folder_stream_over_its_announced_size_is_cut_off(self):
        b, pb = self.receiver()
        peer = FakePeer()
        self.addCleanup(peer.close)
        peer.offer(pb, 92, [(0, b"pics", 3, 2)])  # 3 bytes in all
        conn, _ = peer.request()
        conn.sendall(dirhdr(b"pics", 0, 2) + dirhdr(b"a.txt", 2, 1) + b"ok"
                     + dirhdr(b"b.txt", 2, 1) + b"no" + dirhdr(b".", 0, 3))
        b.wait_for(b"folder over the limits", "out")
        conn.close()
        self.assertFalse(os.path.exists(os.path.join(self.dst, "pics")))

    def test_folder_name_traversal_refused(self):
        b, pb = self.receiver()
        peer = FakePeer()
        self.addCleanup(peer.close)
        # The offer itself names "..": refused before any connection.
        peer.offer(pb, 78, [(0, b"..", 0, 2)])
        b.wait_for(b"'..' (parent directory) in name", "out")
        self.assertEqual(os.listdir(self.dst), [])

    def test_peer_sending_more_than_announced_is_cut_off(self):
        b, pb = self.receiver()
        peer = FakePeer()
        self.addCleanup(peer.close)
        peer.offer(pb, 79, [(0, b"small.txt", 4, 1)])
        conn, req = peer.request()
        self.assertTrue(req.endswith(b":4f:0:0"), req)
        try:
            conn.sendall(b"1234" + b"x" * 100000)
        except OSError:
            pass
        b.wait_for(b"the peer sent more than it announced", "out")
        conn.close()
        self.assertFalse(os.path.exists(os.path.join(self.dst, "small.txt")))

    def test_peer_sending_more_than_announced_with_sha256_is_cut_off(self):
        # With a SHA-256 the receiver splices the bytes into the file and
        # its hash worker reads them there (file mode of lib/hashpipe.c):
        # the byte too many is caught whether the file ends inside the
        # first read, at a 256 KiB boundary, past it, or exactly at the
        # end of a full 1 MiB read (CHUNK).
        b, pb = self.receiver()
        peer = FakePeer()
        self.addCleanup(peer.close)
        for no, size in ((80, 4), (81, 262144), (82, 300000), (83, 1 << 20)):
            data = b"y" * size
            ext = b"75d256=" + hashlib.sha256(data).hexdigest().encode() + b":"
            name = b"over%d.bin" % no
            peer.offer(pb, no, [(0, name, size, 1)], ext)
            conn, _ = peer.request()
            try:
                conn.sendall(data + b"x" * 100000)
            except OSError:
                pass
            b.wait_for(b"failed\t127.0.0.1:%d\t%d\t%s\tthe peer sent more than it announced"
                       % (peer.port, no, name), "out")
            conn.close()
            self.assertFalse(os.path.exists(os.path.join(self.dst, name.decode())))

    def test_resume_after_receiver_killed(self):
        self.resume_after_receiver_killed(False)

    def test_resume_with_sha256(self):
        # The SHA-256 covers the whole file: what the first fetch left is
        # read back from the partial file (opened write-only, it could not
        # be, and every such resume ended in a SHA-256 mismatch).
        self.resume_after_receiver_killed(True)

    def resume_after_receiver_killed(self, with_sha):
        data = os.urandom(400000)
        ext = b"75d256=" + hashlib.sha256(data).hexdigest().encode() + b":" if with_sha else b""
        peer = FakePeer()
        self.addCleanup(peer.close)
        b, pb = self.receiver()
        peer.offer(pb, 80, [(0, b"r.bin", len(data), 1)], ext)
        conn, req = peer.request()
        self.assertTrue(req.endswith(b":50:0:0"), req)
        conn.sendall(data[:150000])
        b.wait_for(b"progress\t80\tr.bin\t", "out")
        # Wait until the receiver wrote what came, then kill -9 it.
        part = None
        for _ in range(int(200 * SLOW)):
            names = [n for n in os.listdir(self.dst) if n.startswith(".udpkit-")]
            if names and os.path.getsize(os.path.join(self.dst, names[0])) == 150000:
                part = names[0]
                break
            threading.Event().wait(0.05)
        self.assertIsNotNone(part)
        b.kill()
        conn.close()
        b2, pb2 = self.receiver()
        peer.offer(pb2, 81, [(0, b"r.bin", len(data), 1)], ext)
        conn, req = peer.request()
        # GETFILEDATA of offer 81 (0x51), ID 0, offset 150000 (0x249f0).
        self.assertTrue(req.endswith(b":51:0:249f0"), req)
        conn.sendall(data[150000:])
        b2.wait_for(b"received\t127.0.0.1:%d\t81\tr.bin\t" % peer.port, "out")
        conn.close()
        self.assertEqual(sha(os.path.join(self.dst, "r.bin")), hashlib.sha256(data).hexdigest())
        self.assertIn(b"resuming", b2.out())
        self.assertEqual(b"sha256 ok" in b2.out(), with_sha)

    def test_sha256_mismatch_is_not_kept(self):
        b, pb = self.receiver()
        peer = FakePeer()
        self.addCleanup(peer.close)
        good = hashlib.sha256(b"hello").hexdigest().encode()
        peer.offer(pb, 90, [(0, b"h.txt", 5, 1)], b"75d256=" + good + b":")
        conn, _ = peer.request()
        conn.sendall(b"jello")
        b.wait_for(b"SHA-256 mismatch", "out")
        conn.close()
        self.assertEqual(os.listdir(self.dst), [])
        # The same file, right this time: kept, verified.
        peer.offer(pb, 91, [(0, b"h.txt", 5, 1)], b"75d256=" + good + b":")
        conn, req = peer.request()
        self.assertTrue(req.endswith(b":5b:0:0"), req)  # the bad partial was removed
        conn.sendall(b"hello")
        b.wait_for(b"sha256 ok", "out")
        conn.close()
        self.assertEqual(open(os.path.join(self.dst, "h.txt")).read(), "hello")

    def test_outcomes_in_history(self):
        f = os.path.join(self.src, "f.txt")
        with open(f, "w") as fh:
            fh.write("hello")
        hb, ha = os.path.join(self.tmp, "b.txt"), os.path.join(self.tmp, "a.txt")
        b, pb = self.start("-n", "bob", "--stay", "-H", hb, "--accept-files", self.dst,
                           "--accept-from", "alice")
        a = self.sender(pb, "-H", ha, "--send-file", f, "--send-file", os.path.join(self.src, "x"))
        self.assertEqual(a.wait(30), 1)  # one of the two paths does not exist
        a2 = self.sender(pb, "-H", ha, "--send-file", f)
        self.assertEqual(a2.wait(30), 0)
        b.wait_for(b"received\t", "out")
        b.stop()
        bh = open(hb, encoding="utf-8").read()
        ah = open(ha, encoding="utf-8").read()
        self.assertRegex(bh, r"\tfile\t127\.0\.0\.1:\d+\talice\t\d+\t\d+\treceived f\.txt at "
                         + re.escape(self.dst) + r"/f\.txt \(5 bytes, sha256 ok\)\n")
        self.assertRegex(ah, r"\tfile\t127\.0\.0\.1:\d+\tbob\t\d+\t\d+\toffered file f\.txt \(5 bytes\)\n")
        self.assertRegex(ah, r"\tfile\t127\.0\.0\.1:\d+\tbob\t\d+\t\d+\toffer fetched\n")
        out = subprocess.run([BIN, "history", hb], capture_output=True, timeout=30).stdout
        self.assertIn(b"received f.txt at", out)

    def test_max_file_size_and_accept_from(self):
        peer = FakePeer()
        self.addCleanup(peer.close)
        b, pb = self.receiver("--max-file-size", "1000")
        peer.offer(pb, 82, [(0, b"big.iso", 5000, 1)])
        b.wait_for(b"larger than --max-file-size", "out")
        # Not from an --accept-from peer: only shown.
        c, pc = self.start("-n", "carol", "--stay", "--accept-files", self.dst,
                           "--accept-from", "127.0.0.9")
        peer.offer(pc, 83, [(0, b"x.txt", 5, 1)])
        c.wait_for(b"offer-num\t83\t", "out")
        self.assertEqual(os.listdir(self.dst), [])


if __name__ == "__main__":
    unittest.main()
