"""Files inside a private room (issue 13), on loopback: two members move a
file, an empty file and a folder tree byte for byte while a relay (UDP)
and a proxy (TCP) in the middle record everything: the recording contains
none of the contents or names in clear. A non-member's plain GETFILEDATA
gets nothing, is cut off and counts for nothing; a replayed sealed request
gets a stream nobody can read and counts for nothing; a fetch cut off
mid-file resumes. Every chat binds 127.0.0.1, port 0 or a port it just
had, --no-discovery is implied by -P; Argon2id at its test cost."""
import hashlib
import os
import socket
import subprocess
import threading
import unittest

from harness import BIN, SLOW, Proc
from test_chat import events, say
import test_chat_room as room_tests  # its helpers; a module, so its tests do not run twice
from test_chat_room import Relay

MTIME = 1700000000


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class TcpProxy:
    """Listens on the UDP relay's back port number (where the
    receiving chat fetches from), forwards each connection to the sending
    chat's TCP port and records both directions. limit: server-to-client
    bytes forwarded per connection before it stalls (the receiver then
    waits with a partial file). flip: a server-to-client offset whose byte
    is altered on its way."""

    def __init__(self, ls, target):
        self.ls = ls  # bound by the relay (Relay(tcp_back=True))
        self.ls.listen(8)
        self.target = target
        self.conns = []  # [c2s bytearray, s2c bytearray]
        self.limit = None
        self.flip = None
        self.cond = threading.Condition()
        self.socks = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            s = socket.create_connection(("127.0.0.1", self.target))
            rec = [bytearray(), bytearray()]
            with self.cond:
                self.conns.append(rec)
                self.socks += [c, s]
            threading.Thread(target=self._pump, args=(c, s, rec[0], None), daemon=True).start()
            threading.Thread(target=self._pump, args=(s, c, rec[1], self.limit, self.flip),
                             daemon=True).start()

    def _pump(self, src, dst, rec, limit, flip=None):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    dst.shutdown(socket.SHUT_WR)
                    return
                if limit is not None and len(rec) + len(data) > limit:
                    data = data[:max(0, limit - len(rec))]
                if flip is not None and len(rec) <= flip < len(rec) + len(data):
                    data = bytearray(data)
                    data[flip - len(rec)] ^= 0x01
                    data = bytes(data)
                with self.cond:
                    rec += data
                    self.cond.notify_all()
                if data:
                    dst.sendall(data)
                if limit is not None and len(rec) >= limit:
                    return  # stalled: the rest stays in the socket
        except OSError:
            return

    def wait(self, pred, timeout):
        with self.cond:
            if not self.cond.wait_for(pred, timeout):
                raise AssertionError("proxy: condition not met")

    def close(self):
        for s in [self.ls] + self.socks:
            try:
                s.close()
            except OSError:
                pass


class RoomFiles(unittest.TestCase):
    timeout_s = 300
    setUp = room_tests.RoomLoopback.setUp
    tearDown = room_tests.RoomLoopback.tearDown
    passfile = room_tests.RoomLoopback.passfile
    start = room_tests.RoomLoopback.start

    def pair(self, receiver_port=0, **kw):
        """Receiver a (accepting files into dst) at receiver_port; the relay
        and proxy in front of it; returns (a, pa, relay, proxy, dst)."""
        dst = os.path.join(self.tmp.name, "dst")
        os.makedirs(dst, exist_ok=True)
        a, pa = self.start("alice", "--accept-files", dst, "--accept-from", "127.0.0.1",
                           port=receiver_port, **kw)
        relay = Relay(tcp_back=True)
        self.addCleanup(relay.close)
        relay.b_addr = ("127.0.0.1", pa)
        return a, pa, relay, dst

    def script(self, *args):
        """A --send-file chat as a script runs it: no --stay, stdin closed."""
        argv = [BIN, "chat", "-b", "127.0.0.1", "-p", "0", "--line", "-n", "bob",
                "--no-history", "--room", "team", "--passphrase-file",
                self.passfile("correct horse")]
        p = Proc(argv + [str(a) for a in args], stdin=subprocess.PIPE, env=room_tests.ENV)
        self.procs.append(p)
        _, bound = p.wait_bound()
        p.proc.stdin.close()
        return p, bound

    def test_file_empty_and_folder_sealed_on_the_wire(self):
        src = os.path.join(self.tmp.name, "src")
        tree = os.path.join(src, "treesecret")
        os.makedirs(os.path.join(tree, "subsecret"))
        big = os.path.join(src, "bigsecret.bin")
        data = os.urandom(300000)
        with open(big, "wb") as f:
            f.write(data)
        os.utime(big, (MTIME, MTIME))
        empty = os.path.join(src, "emptysecret")
        open(empty, "wb").close()
        leaf = "plansecret \u62a5\u544a.txt"
        with open(os.path.join(tree, "subsecret", leaf), "wb") as f:
            f.write(b"the quarterly numbers are confidential " * 2000)
        a, pa, relay, dst = self.pair()
        # b fetches from the relay's back port: the proxy listens there.
        proxy = TcpProxy(relay.back_tcp, 0)
        self.addCleanup(proxy.close)
        b, pb = self.script("-P", f"127.0.0.1:{relay.port()}", "--send-file", big,
                            "--send-file", empty, "--send-file", tree)
        proxy.target = pb
        self.assertEqual(b.wait(120), 0, b.out() + b.err())
        for name in (b"bigsecret.bin", b"emptysecret", b"treesecret"):
            a.wait_for(b"\t%s\t%s/" % (name, dst.encode()), "out", timeout=60)
        self.assertEqual(sha(os.path.join(dst, "bigsecret.bin")), sha(big))
        self.assertEqual(int(os.stat(os.path.join(dst, "bigsecret.bin")).st_mtime), MTIME)
        self.assertEqual(os.path.getsize(os.path.join(dst, "emptysecret")), 0)
        self.assertEqual(sha(os.path.join(dst, "treesecret", "subsecret", leaf)),
                         sha(os.path.join(tree, "subsecret", leaf)))
        got = {e[3]: e for e in events(a, "received")}
        self.assertEqual(got["bigsecret.bin"][-1], "sha256 ok")
        # The folder's file came with its SHA-256 inside the sealed stream.
        self.assertEqual(got["treesecret"][-1], "sha256 ok")
        self.assertTrue(events(b, "fetched"))
        # Three TCP connections, each sealed: no contents, names or plain
        # requests in what went over the wire, either way, nor in the UDP.
        self.assertEqual(len(proxy.conns), 3)
        with relay.cond:
            wire = b"".join(relay.to_b + relay.from_b)
        for c2s, s2c in proxy.conns:
            self.assertTrue(bytes(c2s).startswith(b"UKF\x01"), c2s[:16])
            wire += bytes(c2s) + bytes(s2c)
        # Needles of 8 bytes or more: the wire is about a megabyte of
        # ciphertext, where a given 3-byte string turns up 6% of the time.
        host = socket.gethostname().encode()
        for needle in (data[:32], data[150000:150032], data[-32:], b"quarterly",
                       b"bigsecret", b"emptysecret", b"treesecret", b"subsecret",
                       leaf.encode(), b"plansecret", b":%s:96:" % host, b":%s:98:" % host):
            self.assertNotIn(needle, wire)

    def test_non_member_and_replayed_request_get_nothing_and_resume(self):
        src = os.path.join(self.tmp.name, "src")
        os.makedirs(src)
        big = os.path.join(src, "r.bin")
        data = os.urandom(3 * 1024 * 1024)
        with open(big, "wb") as f:
            f.write(data)
        a, pa, relay, dst = self.pair()
        proxy = TcpProxy(relay.back_tcp, 0)
        self.addCleanup(proxy.close)
        proxy.limit = 1000000  # the receiver gets about 1 MB, then waits
        b, pb = self.start("bob", "-P", f"127.0.0.1:{relay.port()}")
        proxy.target = pb
        a.wait_for(b"joined\t", "out")
        say(b, "/file " + big)
        line = a.wait_for(b"offer-num\t", "out", timeout=30)
        no = int(line.split(b"offer-num\t")[1].split(b"\t")[0])
        proxy.wait(lambda: proxy.conns and len(proxy.conns[0][1]) >= proxy.limit, 60 * SLOW)
        part = None
        for _ in range(int(400 * SLOW)):
            names = [n for n in os.listdir(dst) if n.startswith(".udpkit-")]
            if names and os.path.getsize(os.path.join(dst, names[0])) > 0:
                part = names[0]
                break
            threading.Event().wait(0.05)
        self.assertIsNotNone(part)
        a.kill()
        have = os.path.getsize(os.path.join(dst, part))
        self.assertTrue(0 < have < len(data), have)
        with open(os.path.join(dst, part), "rb") as f:
            self.assertEqual(f.read(), data[:have])  # what opened was written

        def fetch(req):
            s = socket.create_connection(("127.0.0.1", pb), timeout=30)
            s.sendall(req)
            got = b""
            while True:
                try:
                    c = s.recv(65536)
                except socket.timeout:
                    break
                if not c:
                    break
                got += c
                # The whole sealed stream: start, chunks (length, tag, MAC).
                chunks = (len(data) + 65535) // 65536
                if len(got) >= 56 + len(data) + 21 * chunks:
                    break
            s.close()
            return got

        # A non-member's plain GETFILEDATA for the right offer and ID:
        # nothing back, cut off.
        self.assertEqual(fetch(b"1:1:m:h:96:%x:0:0\0" % no), b"")
        b.wait_for(b"file request not sealed for this room", "out")
        # The captured sealed request, replayed: the sender answers with a
        # stream under a key the replayer cannot derive (fresh rs).
        replayed = fetch(bytes(proxy.conns[0][0]))
        self.assertGreater(len(replayed), len(data))
        for off in (0, 100000, len(data) - 64):
            self.assertNotIn(data[off:off + 32], replayed)
        self.assertNotEqual(replayed[:56], bytes(proxy.conns[0][1][:56]))
        # Not fetched: neither the replay nor the stalled fetch proved it.
        self.assertFalse(events(b, "fetched"))
        # The receiver comes back at the same port; the offer again; the
        # fetch resumes from what the partial file holds.
        proxy.limit = None
        a2, _ = self.start("alice", "--accept-files", dst, "--accept-from", "127.0.0.1",
                           port=pa)
        # b has not heard of a2: its sealed offer reaches a2 by the
        # outbox's retransmission after a2's restart challenge.
        say(b, "/file " + big)
        a2.wait_for(b"\tr.bin\t%s/r.bin" % dst.encode(), "out", timeout=60)
        self.assertIn(b"resuming", a2.out())
        self.assertEqual(sha(os.path.join(dst, "r.bin")), hashlib.sha256(data).hexdigest())
        # The SHA-256 covers the part the first fetch left (read back).
        self.assertEqual(events(a2, "received")[-1][-1], "sha256 ok")
        b.wait_for(b"fetched\t", "out", timeout=30)
        self.assertEqual(len(events(b, "fetched")), 1)

    def test_altered_byte_on_the_wire_is_refused(self):
        """One bit flipped in a sealed chunk (a file and a folder): the chunk
        does not open, the fetch fails, nothing is kept under the file's
        name, and the sender does not count it as fetched."""
        src = os.path.join(self.tmp.name, "src")
        tree = os.path.join(src, "tree")
        os.makedirs(tree)
        big = os.path.join(src, "f.bin")
        data = os.urandom(400000)
        with open(big, "wb") as f:
            f.write(data)
        with open(os.path.join(tree, "inner.bin"), "wb") as f:
            f.write(data)
        a, pa, relay, dst = self.pair()
        proxy = TcpProxy(relay.back_tcp, 0)
        self.addCleanup(proxy.close)
        proxy.flip = 200000  # inside the fourth chunk of either stream
        b, pb = self.start("bob", "-P", f"127.0.0.1:{relay.port()}")
        proxy.target = pb
        a.wait_for(b"joined\t", "out")
        say(b, "/file %s %s" % (big, tree))
        a.wait_for(b"\tf.bin\tProtocol error", "out", timeout=60)
        a.wait_for(b"\ttree\tProtocol error", "out", timeout=60)
        fails = events(a, "failed")
        self.assertEqual(sorted(e[3] for e in fails), ["f.bin", "tree"], fails)
        for e in fails:
            self.assertIn("Protocol error", e[4])
        self.assertFalse(os.path.exists(os.path.join(dst, "f.bin")))
        self.assertFalse(os.path.exists(os.path.join(dst, "tree")))
        self.assertFalse(events(a, "received"))
        self.assertFalse(events(b, "fetched"))


if __name__ == "__main__":
    unittest.main()
