"""udpkit chat in line mode on loopback: two chats with receipts both ways,
the tutorial's chat.py and a bare UDP socket (as nc -u) both ways, hostile
datagrams shown escaped, duplicate SENDMSG shown once but acked each time,
pending messages reported on quit, the history written. Every chat binds
127.0.0.1 (so it never broadcasts) and port 0."""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

from harness import BIN, SLOW, Proc, free_udp_port, python3, tutorial_program, udp_socket


def chat(*args, cwd=None, history=False):
    argv = [BIN, "chat", "-b", "127.0.0.1", "-p", "0", "--stay"]
    if not history:
        argv.append("--no-history")
    else:
        argv += ["--history", "chat.txt"]  # in cwd, the tutorial's place
    p = Proc(argv + [str(a) for a in args], stdin=subprocess.PIPE, cwd=cwd)
    addr, port = p.wait_bound()
    return p, port


def say(p, line):
    p.proc.stdin.write(line.encode() + b"\n")
    p.proc.stdin.flush()


def events(p, kind):
    """The tab-separated fields of every stdout line of that kind."""
    out = p.out().decode("utf-8", "replace")
    return [l.split("\t") for l in out.splitlines() if l.startswith(kind + "\t")]


def ipmsg(no, cmd, extra, user="tester", host="probehost"):
    return b"1:%d:%s:%s:%d:" % (no, user.encode(), host.encode(), cmd) + extra


class ChatLoopback(unittest.TestCase):
    def setUp(self):
        self.procs = []
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        for p in self.procs:
            p.kill()
        self.tmp.cleanup()

    def start(self, *args, **kw):
        p, port = chat(*args, **kw)
        self.procs.append(p)
        return p, port

    def test_two_chats_both_directions_with_receipts(self):
        a, pa = self.start("-n", "alice")
        b, pb = self.start("-n", "bob", "-P", f"127.0.0.1:{pa}")
        # Bound to loopback: announcements go to --peer only, never broadcast.
        a.wait_for(b"0 broadcast and 0 peer addresses", "out")
        b.wait_for(b"0 broadcast and 1 peer addresses", "out")
        # B announced itself to A; A answered: both know each other as IPMsg.
        a.wait_for(b"joined\t127.0.0.1:%d\tbob\t" % pb, "out")
        b.wait_for(b"joined\t127.0.0.1:%d\talice\t" % pa, "out")
        say(b, "hello alice \u4f60\u597d")
        a.wait_for("recv\t127.0.0.1:{}\t".format(pb).encode(), "out")
        b.wait_for(b"delivered\t127.0.0.1:%d\t" % pa, "out")
        say(a, "/to bob")
        say(a, "hi bob")
        b.wait_for(b"recv\t127.0.0.1:%d\t" % pa, "out")
        a.wait_for(b"delivered\t127.0.0.1:%d\t" % pb, "out")
        recv_a = events(a, "recv")
        self.assertEqual(len(recv_a), 1)
        self.assertEqual(recv_a[0][3], "bob")
        self.assertEqual(recv_a[0][4], "hello alice \u4f60\u597d")
        sent_b = events(b, "sent")
        self.assertEqual(sent_b[0][2], recv_a[0][2])  # the same packet number
        self.assertNotEqual(sent_b[0][2], "0")        # IPMsg, with a receipt
        self.assertEqual(events(b, "delivered")[0][2], sent_b[0][2])
        self.assertEqual(events(b, "recv")[0][4], "hi bob")
        # Goodbye: A sees B leave; B exits 0 (everything delivered).
        self.assertEqual(b.stop(signal.SIGTERM), 0)
        a.wait_for(b"left\t127.0.0.1:%d\tbob\t" % pb, "out")
        self.assertIn(b"1 sent, 1 delivered, 0 NOT delivered, 1 received", b.err())

    def test_all_tracks_each_peer_and_history_command(self):
        a, pa = self.start("-n", "alice", cwd=self.tmp.name, history=True)
        b, pb = self.start("-n", "bob", "-P", f"127.0.0.1:{pa}")
        c, pc = self.start("-n", "carol", "-P", f"127.0.0.1:{pa}")
        a.wait_for(b"joined\t127.0.0.1:%d\tbob\t" % pb, "out")
        a.wait_for(b"joined\t127.0.0.1:%d\tcarol\t" % pc, "out")
        say(a, "/all to everyone")
        b.wait_for(b"\tto everyone\n", "out")
        c.wait_for(b"\tto everyone\n", "out")
        a.wait_for(b"delivered\t127.0.0.1:%d\t" % pb, "out")
        a.wait_for(b"delivered\t127.0.0.1:%d\t" % pc, "out")
        sent = events(a, "sent")
        self.assertEqual(sorted(s[1] for s in sent), sorted([f"127.0.0.1:{pb}", f"127.0.0.1:{pc}"]))
        self.assertNotEqual(sent[0][2], sent[1][2])  # one packet number each
        say(a, "/to bob")
        say(a, "needle one")
        a.wait_for(b"delivered\t127.0.0.1:%d\t" % pb, "out")
        # The history writer runs apart from the UI: wait for its lines.
        path = os.path.join(self.tmp.name, "chat.txt")
        deadline = time.monotonic() + 10 * SLOW
        while time.monotonic() < deadline and open(path, "rb").read().count(b"\tdelivered\t") < 3:
            time.sleep(0.05)
        say(a, "/history needle")
        a.wait_for(b"history\t", "out")
        say(a, "/history 2")
        say(a, "/help")
        a.wait_for(b"info\t/quit", "out")
        hist = [h for h in events(a, "history")]
        self.assertIn("needle one", hist[0][-1])
        self.assertEqual(len(hist), 3)  # 1 match, then the last 2 messages
        self.assertEqual(hist[2][-1], "needle one")

    def test_script_sends_and_waits_for_receipt(self):
        a, pa = self.start("-n", "alice")
        r = subprocess.run([BIN, "chat", "-b", "127.0.0.1", "-p", "0", "--no-history",
                            "-P", f"127.0.0.1:{pa}"], input=b"one\ntwo\n", capture_output=True,
                           timeout=20 * SLOW)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode()
        self.assertEqual(out.count("\ndelivered\t"), 2, out)
        a.wait_for(b"\ttwo\n", "out")
        self.assertEqual(len(events(a, "recv")), 2)

    def test_quit_reports_pending_as_undelivered(self):
        # A peer that answers entries but never acks messages.
        s = udp_socket()
        port = s.getsockname()[1]
        b = Proc([BIN, "chat", "-b", "127.0.0.1", "-p", "0", "--no-history", "-P",
                  f"127.0.0.1:{port}"], stdin=subprocess.PIPE)
        self.procs.append(b)
        _, pb = b.wait_bound()
        data, src = s.recvfrom(65536)
        self.assertIn(b":16777217:", data)  # BR_ENTRY|CAPUTF8OPT
        s.sendto(ipmsg(7, 3, b"silent\0grp\0"), src)
        b.wait_for(b"joined\t", "out")
        say(b, "are you there?")
        data, _ = s.recvfrom(65536)
        self.assertIn(b":8388896:are you there?\0", data)  # SENDMSG|SENDCHECKOPT|UTF8OPT
        data, _ = s.recvfrom(65536)  # a retransmission, not acked either
        self.assertIn(b"are you there?", data)
        say(b, "/quit")
        self.assertEqual(b.wait(20), 1)
        self.assertEqual(len(events(b, "undelivered")), 1)
        self.assertIn(b"quit before a receipt", b.out())
        s.close()

    def test_plain_text_socket_both_ways(self):
        """What nc -u does: plain datagrams in, plain text back."""
        a, pa = self.start("-n", "alice")
        s = udp_socket()
        sp = s.getsockname()[1]
        s.sendto("plain hello \u4f60\u597d".encode(), ("127.0.0.1", pa))
        a.wait_for(b"recv\t127.0.0.1:%d\t0\t\tplain hello " % sp, "out")
        a.wait_for(b"joined\t127.0.0.1:%d\t\t\t-\tplain" % sp, "out")
        say(a, f"/to 127.0.0.1 {sp}")
        say(a, "plain reply")
        data, _ = s.recvfrom(65536)
        self.assertEqual(data, b"plain reply\n")  # one line, as nc -u prints it
        a.wait_for(b"sent\t127.0.0.1:%d\t0\t" % sp, "out")
        s.close()

    def test_hostile_datagrams_escaped_and_survived(self):
        a, pa = self.start("-n", "alice")
        s = udp_socket()
        sp = s.getsockname()[1]
        nasty = [b"\x1b[2J\x1b]0;owned\x07", b"\xff\xfe\x00bin\x9b", "\u202eevil".encode(),
                 b"line1\nline2\rx", b"A" * 65000, b"", b"1:2:u:h:288:" + b"\x1b[31m" + b"\0",
                 b"9:1:u:h:32:bad version", b"1:99999999999999999999999:u:h:32:x"]
        for d in nasty:
            s.sendto(d, ("127.0.0.1", pa))
        s.sendto(b"done", ("127.0.0.1", pa))
        out = a.wait_for(b"\tdone\n", "out")
        self.assertNotIn(b"\x1b", out)
        self.assertNotIn(b"\x07", out)
        self.assertNotIn(b"\xe2\x80\xae", out)  # the RLO code point itself
        self.assertIn(b"\\e[2J\\e]0;owned\\x07", out)
        self.assertIn(b"\\xff\\xfe\\x00bin\\x9b", out)
        self.assertIn(b"\\u202eevil", out)
        self.assertIn(b"line1\\nline2\\rx", out)
        self.assertIn(b"cut: ", out)  # the 65000-byte one, cut for display
        for line in out.split(b"\n"):
            self.assertLess(len(line), 70000)
        self.assertEqual(a.proc.poll(), None)
        a.stop()
        self.assertRegex(a.err(), rb"2 malformed")

    def test_duplicate_sendmsg_shown_once_acked_each_time(self):
        a, pa = self.start("-n", "alice")
        s = udp_socket()
        pkt = ipmsg(1795682786, 0x800120, "hello \u4f60\u597d #2\0".encode())
        for _ in range(3):
            s.sendto(pkt, ("127.0.0.1", pa))
            data, _ = s.recvfrom(65536)
            self.assertRegex(data, rb"^1:\d+:[^:]*:[^:]*:33:1795682786\0$")  # RECVMSG
        s.sendto(b"marker", ("127.0.0.1", pa))
        a.wait_for(b"\tmarker\n", "out")
        recv = events(a, "recv")
        self.assertEqual([r[4] for r in recv], ["hello \u4f60\u597d #2", "marker"])
        # GBK without UTF8OPT is decoded (iptux/FeiQ style).
        s.sendto(ipmsg(1795682789, 288, b"\xd6\xd0\xce\xc4GBK\xcf\xfb\xcf\xa2 #5\0"), ("127.0.0.1", pa))
        a.wait_for("\t\u4e2d\u6587GBK\u6d88\u606f #5\n".encode(), "out")
        a.stop()
        self.assertIn(b"2 duplicates", a.err())
        s.close()

    def test_answers_entry_and_removes_on_exit(self):
        a, pa = self.start("-n", "\u63a2\u9488alice", "-g", "grp")
        s = udp_socket()
        sp = s.getsockname()[1]
        s.sendto(ipmsg(5, 0x1000001, b"probe\0pg\0\nUN:tester\nHN:probehost\nNN:probe\nGN:pg"),
                 ("127.0.0.1", pa))
        data, _ = s.recvfrom(65536)
        m = re.match(rb"^1:(\d+):([^:]*):([^:]*):(\d+):(.*)$", data, re.S)
        self.assertIsNotNone(m, data)
        self.assertEqual(int(m.group(4)) & 0xff, 3)               # ANSENTRY
        self.assertTrue(int(m.group(4)) & 0x1000000)              # CAPUTF8OPT
        self.assertTrue(m.group(5).startswith("\u63a2\u9488alice\0grp\0".encode()))
        a.wait_for(b"joined\t127.0.0.1:%d\tprobe\tpg\ttester@probehost\tipmsg" % sp, "out")
        say(a, "/peers")
        a.wait_for(b"peer\t127.0.0.1:%d\tprobe\t" % sp, "out")
        s.sendto(ipmsg(6, 2, b"\0"), ("127.0.0.1", pa))
        a.wait_for(b"left\t127.0.0.1:%d\tprobe\t" % sp, "out")
        # Our goodbye on exit, to the peers we know.
        s.sendto(ipmsg(7, 1, b"probe\0pg\0"), ("127.0.0.1", pa))
        s.recvfrom(65536)
        a.stop()
        data, _ = s.recvfrom(65536)
        self.assertRegex(data, rb"^1:\d+:[^:]*:[^:]*:2:")  # BR_EXIT
        s.close()

    def test_history_file(self):
        a, pa = self.start("-n", "alice", cwd=self.tmp.name, history=True)
        s = udp_socket()
        sp = s.getsockname()[1]
        s.sendto(b"evil\nforged line\tx", ("127.0.0.1", pa))
        a.wait_for(b"recv\t", "out")
        a.stop()
        path = os.path.join(self.tmp.name, "chat.txt")
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        lines = [l for l in open(path, "rb").read().split(b"\n") if l and not l.startswith(b"#")]
        self.assertEqual(len(lines), 1, lines)
        f = lines[0].split(b"\t")
        self.assertEqual(f[1], b"recv")
        self.assertEqual(f[2], b"127.0.0.1:%d" % sp)
        self.assertEqual(f[6], b"evil\\nforged line\\tx")
        live = [l for l in a.out().split(b"\n") if l.startswith(b"recv\t")]
        # A second start shows it again, exactly as it was shown live.
        b, _ = self.start("-n", "alice", cwd=self.tmp.name, history=True)
        b.wait_for(b"history\t", "out")
        past = [l for l in b.out().split(b"\n") if l.startswith(b"history\t")]
        self.assertEqual(past, [b"history\t" + l for l in live])


class ChatTutorial(unittest.TestCase):
    def test_tutorial_chat_py_both_ways(self):
        prog = tutorial_program("chat.py")
        tport = free_udp_port()
        with tempfile.TemporaryDirectory() as tmp:
            a = Proc([BIN, "chat", "-b", "127.0.0.1", "-p", "0", "--stay", "--no-history",
                      "-P", f"127.0.0.1:{tport}", "--plain"], stdin=subprocess.PIPE)
            env = dict(os.environ, TUTORIAL_HOST="127.0.0.1", TUTORIAL_PORT=str(tport),
                       PYTHONUNBUFFERED="1")
            t = None
            try:
                _, pa = a.wait_bound()
                t = Proc([python3(), prog], stdin=subprocess.PIPE, env=env, cwd=tmp)
                # Its prompts: peer IP, peer PORT, then messages.
                t.proc.stdin.write(f"127.0.0.1\n{pa}\n\u4f60\u597d from the tutorial\n".encode())
                t.proc.stdin.flush()
                a.wait_for("\t\u4f60\u597d from the tutorial\n".encode(), "out")
                rec = events(a, "recv")[-1]
                self.assertEqual(rec[1], f"127.0.0.1:{tport}")
                self.assertEqual(rec[2], "0")  # plain text
                # The other way: chat.py never spoke IPMsg, so plain UTF-8.
                say(a, "hello tutorial \u4f60\u597d")
                t.wait_for("\u53d1\u9001\u7684\u6570\u636e:hello tutorial \u4f60\u597d".encode(), "out")
                a.wait_for(b"sent\t127.0.0.1:%d\t0\t" % tport, "out")
                # Declared plain: it never got an IPMsg packet (no BR_ENTRY).
                self.assertNotRegex(t.out(), rb"1:\d+:[^:]*:[^:]*:\d+:")
            finally:
                a.kill()
                if t:
                    t.kill()


if __name__ == "__main__":
    unittest.main()
