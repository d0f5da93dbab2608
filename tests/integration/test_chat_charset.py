"""udpkit chat against IPMsg peers written by others, emulated byte for
byte on a loopback socket (../shared/reference/ipmsg.md §4, §5): Python
IPMsg clients and IP Messenger for Windows without UTF-8 (CP932, no
UTF8OPT), FeiQ (GBK, its Ver string), iptux set to GBK (its encoding field)
and iptux's UTF-8 without the flag; in both directions. Also GETINFO,
away status, sealed messages, file offers, group messages, plain-text
peers (nc -u, socat) and the exit statuses."""
import os
import re
import socket
import subprocess
import tempfile
import time
import unittest

from harness import BIN, SLOW, Proc, free_udp_port, require_cmd, udp_socket

FEIQ_VER = b"1_lbt6_0#128#000C29DCD6D7#0#0#0#4001#9"
IPTUX_VER = b"1_iptux 0.8.3"


def pkt(no, cmd, extra, ver=b"1", user=b"tester", host=b"probehost"):
    return b"%s:%d:%s:%s:%d:" % (ver, no, user, host, cmd) + extra


def cp932(s):
    return s.encode("cp932")


def gbk(s):
    return s.encode("gbk")


class Peer:
    """A UDP socket playing another client: sends packets, reads what the
    chat sends it, parsed."""

    def __init__(self):
        self.s = udp_socket(timeout=5)
        self.port = self.s.getsockname()[1]
        self.addr = None
        self.backlog = []

    def send(self, data):
        self.s.sendto(data, self.addr)

    def recv(self, mode, timeout=10):
        """The next packet with that command mode (low byte); packets of
        other modes are kept for later calls, so the order of, say, a
        receipt and a READMSG does not matter."""
        deadline = time.monotonic() + timeout * SLOW
        while True:
            for i, f in enumerate(self.backlog):
                if int(f[4]) & 0xff == mode:
                    del self.backlog[i]
                    return int(f[1]), int(f[4]), f[5]
            if time.monotonic() >= deadline:
                raise AssertionError(f"no packet of mode {mode:#x}")
            try:
                data, _ = self.s.recvfrom(65536)
            except socket.timeout:
                continue
            f = data.split(b":", 5)
            if len(f) == 6 and f[4].isdigit():
                self.backlog.append(f)

    def close(self):
        self.s.close()


def events(p, kind):
    out = p.out().decode("utf-8", "replace")
    return [l.split("\t") for l in out.splitlines() if l.startswith(kind + "\t")]


class Charsets(unittest.TestCase):
    def setUp(self):
        self.procs = []
        self.tmp = tempfile.TemporaryDirectory()
        self.peer = Peer()

    def tearDown(self):
        for p in self.procs:
            p.kill()
        self.peer.close()
        self.tmp.cleanup()

    def chat(self, *args, history=False):
        argv = [BIN, "chat", "-b", "127.0.0.1", "-p", "0", "--stay", "-P",
                f"127.0.0.1:{self.peer.port}"]
        argv += ["-H", os.path.join(self.tmp.name, "chat.txt")] if history else ["--no-history"]
        p = Proc(argv + list(args), stdin=subprocess.PIPE)
        self.procs.append(p)
        _, port = p.wait_bound()
        self.peer.addr = ("127.0.0.1", port)
        self.peer.recv(1)  # our BR_ENTRY
        return p

    def say(self, p, line):
        p.proc.stdin.write(line.encode() + b"\n")
        p.proc.stdin.flush()

    def exchange(self, p, ver, entry_cmd, entry_extra, text_bytes, text, reply, reply_bytes,
                 reply_cmd_has_utf8):
        """The peer announces itself and writes; we show it right; we answer
        and the peer gets the bytes its charset needs."""
        self.peer.send(pkt(100, entry_cmd, entry_extra, ver=ver))
        self.peer.recv(3)  # our ANSENTRY
        self.peer.send(pkt(101, 0x120, text_bytes + b"\0", ver=ver))
        self.assertEqual(self.peer.recv(0x21)[2], b"101\0")
        p.wait_for(("\t" + text + "\n").encode(), "out")
        self.say(p, reply)
        no, cmd, extra = self.peer.recv(0x20)
        self.assertEqual(extra, reply_bytes + b"\0")
        self.assertEqual(bool(cmd & 0x800000), reply_cmd_has_utf8)
        self.peer.send(pkt(102, 0x21, b"%d\0" % no, ver=ver))
        p.wait_for(b"delivered\t", "out")

    def test_cp932_like_ip_messenger_without_utf8(self):
        """A Python IPMsg client / IP Messenger for Windows talking to a
        peer it thinks reads no UTF-8: CP932 everywhere, no UTF8OPT."""
        p = self.chat()
        self.exchange(p, b"1", 1, cp932("山田") + b"\0" + cp932("開発") + b"\0",
                      cp932("日本語のテキスト"), "日本語のテキスト", "了解です。東京で会いましょう",
                      cp932("了解です。東京で会いましょう"), False)
        p.wait_for(b"joined\t127.0.0.1:%d\t\xe5\xb1\xb1\xe7\x94\xb0\t" % self.peer.port, "out")
        # A short word afterwards, from the proven peer.
        self.peer.send(pkt(103, 0x120, cp932("東京") + b"\0"))
        p.wait_for("\t東京\n".encode(), "out")

    def test_gbk_like_feiq(self):
        p = self.chat()
        self.exchange(p, FEIQ_VER, 0x600001, gbk("张三") + b"\0" + gbk("研发部") + b"\0",
                      gbk("今天天气很好，我们去公园散步吧。"), "今天天气很好，我们去公园散步吧。",
                      "好的，下午三点见", gbk("好的，下午三点见"), False)
        # 支 in GBK is also valid UTF-8; from this peer it is GBK.
        self.peer.send(pkt(104, 0x120, gbk("支") + b"\0", ver=FEIQ_VER))
        p.wait_for("\t支\n".encode(), "out")

    def test_gbk_like_iptux_set_to_gbk(self):
        p = self.chat()
        self.exchange(p, IPTUX_VER, 0x10101,
                      gbk("李四") + b"\0" + gbk("组") + b"\0icon-tux.png\0gbk\0",
                      gbk("中文GBK消息 #5"), "中文GBK消息 #5", "收到，谢谢", gbk("收到，谢谢"), False)
        # iptux sets ABSENCEOPT on every entry: not shown as away.
        self.say(p, "/peers")
        peer = p.wait_for(b"peer\t", "out")
        line = [l for l in peer.decode().splitlines() if l.startswith("peer\t")][0].split("\t")
        self.assertEqual(line[7:], ["gb18030", ""])

    def test_utf8_without_flag_like_iptux(self):
        p = self.chat()
        self.exchange(p, IPTUX_VER, 0x101,
                      b"iptuxbot\0botgroup\0icon-tux.png\0utf-8\0",
                      "hi 你好 ünï".encode(), "hi 你好 ünï", "你好 iptux", "你好 iptux".encode(),
                      True)

    def test_utf8_peer_gets_utf8_and_replacement_is_told(self):
        """CAPUTF8OPT: UTF-8 with UTF8OPT. A CP932 peer: what CP932 lacks is
        a visible '?', and the user is told."""
        p = self.chat("--charset", "cp932")
        self.peer.send(pkt(100, 1, b"nick\0\0"))  # no CAPUTF8OPT, ASCII: the default applies
        self.peer.recv(3)
        self.say(p, "你好😀!")
        no, cmd, extra = self.peer.recv(0x20)
        self.assertEqual(extra, b"?\x8d\x44?!\0")
        self.assertFalse(cmd & 0x800000)
        p.wait_for(b"2 characters that cp932 cannot hold were sent as '?'", "out")

    def configured_gbk(self, p):
        """A peer configured as GBK (--peer-charset) claims to read UTF-8
        (CAPUTF8OPT) and writes 支 in GBK, bytes that are also UTF-8 (what
        the guess would choose): the user's word wins both ways. Another
        peer's same bytes keep the default, UTF-8."""
        other = Peer()
        other.addr = self.peer.addr
        try:
            self.peer.send(pkt(100, 0x1000001, b"zhang\0\0"))
            self.peer.recv(3)
            self.peer.send(pkt(101, 0x120, gbk("支") + b"\0"))
            self.assertEqual(self.peer.recv(0x21)[2], b"101\0")
            p.wait_for("\t支\n".encode(), "out")
            self.say(p, "好的，收到")
            no, cmd, extra = self.peer.recv(0x20)
            self.assertEqual(extra, gbk("好的，收到") + b"\0")
            self.assertFalse(cmd & 0x800000)
            other.send(pkt(200, 0x120, gbk("支") + b"\0"))
            self.assertEqual(other.recv(0x21)[2], b"200\0")
            p.wait_for(b"\t\xd6\xa7\n", "out")
        finally:
            other.close()

    def test_peer_charset_on_the_command_line(self):
        self.configured_gbk(self.chat("--peer-charset", f"127.0.0.1:{self.peer.port}=gbk"))

    def test_peer_charset_in_the_config_file(self):
        path = os.path.join(self.tmp.name, "chat.conf")
        with open(path, "w") as f:
            f.write(f"# 张三 uses FeiQ\npeer-charset = 127.0.0.1:{self.peer.port}=gb18030\n")
        self.configured_gbk(self.chat("--config", path))

    def test_getinfo_absence_and_away(self):
        p = self.chat()
        self.peer.send(pkt(100, 0x40, b""))
        no, cmd, extra = self.peer.recv(0x41)
        self.assertTrue(extra.startswith(b"udpkit "), extra)
        self.peer.send(pkt(101, 0x50, b""))
        self.assertEqual(self.peer.recv(0x51)[2], b"Not absence mode\0")
        self.say(p, "/away out to lunch")
        no, cmd, extra = self.peer.recv(0x04)  # BR_ABSENCE
        self.assertTrue(cmd & 0x100)
        self.peer.send(pkt(102, 0x50, b""))
        self.assertEqual(self.peer.recv(0x51)[2], b"out to lunch\0")
        self.say(p, "/away")
        no, cmd, extra = self.peer.recv(0x04)
        self.assertFalse(cmd & 0x100)

    def test_peer_away_shown_in_peers(self):
        p = self.chat()
        self.peer.send(pkt(100, 0x01000101, b"bob\0\0"))  # away, CAPUTF8OPT
        self.peer.recv(3)
        self.peer.recv(0x50)  # we ask its away text
        self.peer.send(pkt(101, 0x800051, "开会中 meeting".encode() + b"\0"))
        p.wait_for(b"changed\t", "out")
        self.say(p, "/peers")
        out = p.wait_for("\tutf-8\t开会中 meeting\n".encode(), "out")
        self.assertIn(b"peer\t127.0.0.1:%d\tbob\t" % self.peer.port, out)

    def test_sealed_group_and_file_offer(self):
        p = self.chat(history=True)
        # Sealed: shown marked, then READMSG once.
        self.peer.send(pkt(200, 0x320, b"secret text\0"))
        self.assertEqual(self.peer.recv(0x21)[2], b"200\0")
        self.assertEqual(self.peer.recv(0x30)[2], b"200\0")
        p.wait_for(b"sealed\t127.0.0.1:%d\t200\t\tsecret text\n" % self.peer.port, "out")
        # Group: marked, never acknowledged (BROADCASTOPT).
        self.peer.send(pkt(201, 0x520, b"to everyone\0"))
        p.wait_for(b"group\t127.0.0.1:%d\t201\t\tto everyone\n" % self.peer.port, "out")
        # iptux's file offer, byte for byte (ipmsg.md §4.4): kept until
        # /accept or /decline; declined when the chat quits without either.
        self.peer.send(b"1_iptux 0.8.3:8:root:vm:2097184:\x0010000:report.txt:12:6b0d8a30:1:\x07\x00")
        p.wait_for(b"offer\t127.0.0.1:%d\t8\t\treport.txt\t18\n" % self.peer.port, "out")
        p.stop()
        self.assertEqual(self.peer.recv(0x61)[2], b"8\0")
        self.assertEqual(len(events(p, "recv")), 0)  # never an empty message
        hist = open(os.path.join(self.tmp.name, "chat.txt"), encoding="utf-8").read()
        self.assertRegex(hist, r"\tgroup\t127\.0\.0\.1:\d+\t\t201\t11\tto everyone\n")
        self.assertRegex(hist, r"\trecv\t127\.0\.0\.1:\d+\t\t8\t\d+\toffered file report\.txt \(18 bytes\)\n")
        self.assertEqual(len(re.findall(r"\t201\t", hist)), 1)


class PlainPeers(unittest.TestCase):
    """Peers declared plain text, played by the real tools: nc -u
    (netcat-openbsd) and socat, both directions."""

    def run_with(self, argv_peer, listen_argv):
        port = free_udp_port()
        out = tempfile.TemporaryFile()
        peer = subprocess.Popen([a.replace("PORT", str(port)) for a in listen_argv],
                                stdin=subprocess.PIPE, stdout=out, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: (peer.kill(), peer.wait(10)))
        # Wait until the peer's socket is bound.
        deadline = time.monotonic() + 10 * SLOW
        while time.monotonic() < deadline:
            ss = subprocess.run(["ss", "-uln"], capture_output=True, text=True).stdout
            if f"127.0.0.1:{port} " in ss:
                break
            time.sleep(0.05)
        chat = Proc([BIN, "chat", "-b", "127.0.0.1", "-p", "0", "--no-history", "--stay"]
                    + [a.replace("PORT", str(port)) for a in argv_peer], stdin=subprocess.PIPE)
        self.addCleanup(chat.kill)
        chat.wait_bound()
        chat.proc.stdin.write("first line\nsecond 你好\n".encode())
        chat.proc.stdin.flush()
        chat.wait_for(b"sent\t127.0.0.1:%d\t0\t\tsecond " % port, "out")
        deadline = time.monotonic() + 10 * SLOW
        got = b""
        while time.monotonic() < deadline and b"second" not in got:
            out.seek(0)
            got = out.read()
            time.sleep(0.05)
        # Two lines, nothing else: no BR_ENTRY or other IPMsg ever reached it.
        self.assertEqual(got, "first line\nsecond 你好\n".encode())
        return chat, peer

    def answer(self, chat, peer, line, shown):
        """A line typed into the tool goes out as one datagram with its line
        end; the chat shows it without."""
        peer.stdin.write(line)
        peer.stdin.flush()
        chat.wait_for(b"\t" + shown.encode() + b"\n", "out")
        self.assertEqual(events(chat, "recv")[-1][4], shown)

    def test_nc_u(self):
        require_cmd("nc", "netcat-openbsd")
        chat, peer = self.run_with(["--plain-peer", "127.0.0.1:PORT"],
                                   ["nc", "-u", "-l", "127.0.0.1", "PORT"])
        self.answer(chat, peer, "from nc 你好\n".encode(), "from nc 你好")
        self.answer(chat, peer, b"two\n\n", "two\\n")  # only one line end is cut

    def test_socat(self):
        require_cmd("socat")
        chat, peer = self.run_with(["-P", "127.0.0.1:PORT", "--plain"],
                                   ["socat", "UDP-LISTEN:PORT,bind=127.0.0.1", "STDIO"])
        self.answer(chat, peer, b"from socat\n", "from socat")
        self.answer(chat, peer, b"crlf line\r\n", "crlf line")


class ExitStatus(unittest.TestCase):
    def run_chat(self, args, text, timeout=60):
        return subprocess.run([BIN, "chat", "-b", "127.0.0.1", "-p", "0", "--no-history",
                               "--no-discovery"] + args, input=text, capture_output=True,
                              timeout=timeout * SLOW)

    def test_delivered_is_0(self):
        other = Proc([BIN, "chat", "-b", "127.0.0.1", "-p", "0", "--no-history", "--stay"],
                     stdin=subprocess.PIPE)
        self.addCleanup(other.kill)
        _, port = other.wait_bound()
        r = self.run_chat(["-P", f"127.0.0.1:{port}"], b"one\ntwo\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.count(b"delivered\t"), 2)

    def test_declared_plain_is_0_and_undeclared_plain_is_1(self):
        s = udp_socket()
        port = s.getsockname()[1]
        r = self.run_chat(["-P", f"127.0.0.1:{port}", "--plain"], b"hello\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(s.recvfrom(100)[0], b"hello\n")
        # Plain text to an address nobody declared plain: no receipt possible.
        r = self.run_chat([], f"/to 127.0.0.1 {port}\nhello\n".encode())
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(b"1 sent as plain text to peers not declared plain", r.stderr)
        s.close()

    def test_no_target_is_1_and_usage_is_2(self):
        r = self.run_chat([], b"nobody to send to\n")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(b"NOT sent: no target", r.stdout)
        r = self.run_chat(["--plain"], b"x\n")
        self.assertEqual(r.returncode, 2)
        r = self.run_chat(["--charset", "latin1", "-P", "127.0.0.1:9"], b"x\n")
        self.assertEqual(r.returncode, 2)

    def test_silent_peer_retried_for_the_whole_budget_is_1(self):
        s = udp_socket()  # bound, never answers
        port = s.getsockname()[1]
        start = time.monotonic()
        r = self.run_chat(["-P", f"127.0.0.1:{port}"], b"anyone?\n", timeout=90)
        took = time.monotonic() - start
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(b"undelivered\t127.0.0.1:%d\t" % port, r.stdout)
        self.assertIn(b"no receipt", r.stdout)
        self.assertGreater(took, 27)  # 16 tries over 27.75 s
        n = 0
        s.settimeout(0.1)
        try:
            while True:
                data = s.recvfrom(65536)[0]
                n += b":288:" in data or b":8388896:" in data
        except socket.timeout:
            pass
        self.assertEqual(n, 16)
        s.close()


if __name__ == "__main__":
    unittest.main()
