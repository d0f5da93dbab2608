"""udpkit chat: "/all /file PATH" (issue 8) with three udpkit chats on
loopback, each on its own address (127.0.0.1, .2, .3): one offer per IPMsg
peer, each served only to its own peer, and an outcome per peer (one
fetches, one declines). --no-discovery; the peers are given with -P."""
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from harness import BIN, SLOW, Proc
from test_chat import events, say


class ChatFilesAll(unittest.TestCase):
    def setUp(self):
        self.procs = []
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)

    def tearDown(self):
        for p in self.procs:
            p.kill()

    def start(self, ip, *args):
        argv = [BIN, "chat", "--line", "-b", ip, "-p", "0", "--no-discovery", "--no-history"]
        p = Proc(argv + [str(x) for x in args], stdin=subprocess.PIPE)
        self.procs.append(p)
        _, port = p.wait_bound()
        return p, port

    def test_file_to_all_one_offer_per_peer(self):
        f = os.path.join(self.tmp, "report.bin")
        with open(f, "wb") as fh:
            fh.write(os.urandom(300000))
        dst = os.path.join(self.tmp, "dst")
        os.makedirs(dst)
        b, pb = self.start("127.0.0.2", "-n", "bob", "--stay")
        c, pc = self.start("127.0.0.3", "-n", "carol", "--stay")
        a, pa = self.start("127.0.0.1", "-n", "alice", "--stay", "-P", f"127.0.0.2:{pb}",
                           "-P", f"127.0.0.3:{pc}")
        a.wait_for(b"\tbob", "out")
        a.wait_for(b"\tcarol", "out")
        say(a, "/all /file " + f + " -- for everyone")
        a.wait_for(b"offered to 2 of 2 IPMsg peers", "out")
        # That line counts offers made; each is sent (its "offered" line)
        # once its file is hashed, in slices between other work: on a busy
        # machine the second can come after it.
        deadline = time.monotonic() + 30 * SLOW
        while len(events(a, "offered")) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        offered = {e[1]: int(e[2]) for e in events(a, "offered")}
        self.assertEqual(set(offered), {f"127.0.0.2:{pb}", f"127.0.0.3:{pc}"})
        self.assertNotEqual(offered[f"127.0.0.2:{pb}"], offered[f"127.0.0.3:{pc}"])
        b.wait_for(b"offer-num\t", "out")
        c.wait_for(b"offer-num\t", "out")
        # Carol's address cannot fetch Bob's offer.
        s = socket.socket()
        s.settimeout(20 * SLOW)
        s.bind(("127.0.0.3", 0))
        s.connect(("127.0.0.1", pa))
        s.sendall(b"1:1:m:h:96:%x:0:0\0" % offered[f"127.0.0.2:{pb}"])
        self.assertEqual(s.recv(1), b"")
        s.close()
        a.wait_for(b"not the peer it was offered to", "out")
        # Bob fetches, Carol declines: each outcome is reported on its own.
        say(b, "/accept 1 " + dst)
        say(c, "/decline 1")
        a.wait_for(b"fetched\t127.0.0.2:%d\t%d\tfetched" % (pb, offered[f"127.0.0.2:{pb}"]), "out")
        a.wait_for(b"offer-end\t127.0.0.3:%d\t%d\t" % (pc, offered[f"127.0.0.3:{pc}"]), "out")
        b.wait_for(b"received\t127.0.0.1:%d\t" % pa, "out")
        with open(f, "rb") as x, open(os.path.join(dst, "report.bin"), "rb") as y:
            self.assertEqual(x.read(), y.read())
        self.assertIn(b"for everyone", b.out())
        self.assertIn(b"for everyone", c.out())

    def test_file_to_all_is_hashed_once(self):
        # Three peers, one file: one "hashing" line (one read of the file
        # for its SHA-256), three offers with that sum, three copies that
        # check it. 8 MiB: more than one 20 ms slice of hashing on a busy
        # machine, so the offers wait for the first one's hash.
        f = os.path.join(self.tmp, "shared.bin")
        with open(f, "wb") as fh:
            fh.write(os.urandom(8 << 20))
        peers, args = [], []
        for ip, nick in (("127.0.0.2", "bob"), ("127.0.0.3", "carol"), ("127.0.0.4", "dave")):
            dst = os.path.join(self.tmp, nick)
            os.makedirs(dst)
            p, port = self.start(ip, "-n", nick, "--stay", "--accept-files", dst,
                                 "--accept-from", "127.0.0.1")
            peers.append((p, port, dst))
            args += ["-P", f"{ip}:{port}"]
        a, pa = self.start("127.0.0.1", "-n", "alice", "--stay", *args)
        for nick in (b"bob", b"carol", b"dave"):
            a.wait_for(b"\t" + nick, "out")
        say(a, "/all /file " + f)
        a.wait_for(b"offered to 3 of 3 IPMsg peers", "out")
        for p, _, dst in peers:
            p.wait_for(b"received\t127.0.0.1:%d\t" % pa, "out", 60)
            self.assertEqual(events(p, "received")[0][-1], "sha256 ok")
            with open(f, "rb") as x, open(os.path.join(dst, "shared.bin"), "rb") as y:
                self.assertEqual(x.read(), y.read())
        self.assertEqual(len(events(a, "offered")), 3)
        self.assertEqual(events(a, "hashing"), [["hashing", "shared.bin", str(8 << 20)]])

    def test_file_to_all_without_peers(self):
        a, _ = self.start("127.0.0.1", "-n", "alice", "--stay")
        say(a, "/all /file /etc/hostname")
        a.wait_for(b"no IPMsg peer known yet", "out")


if __name__ == "__main__":
    unittest.main()
