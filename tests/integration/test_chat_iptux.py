"""udpkit chat against a real IP Messenger client, iptux (Debian package),
following the recipe verified in ../shared/reference/ipmsg.md §5: every
process runs in a network namespace of our own whose only interface is lo
(iptux's start-up broadcasts cannot leave it, and broadcasting is also off
in its config), under Xvfb; iptux is driven with gdbus and xdotool (its
desk: tests/lib/iptuxdesk.py).
iptux 0.8.3 answers to port 2425 whatever the source port, so udpkit binds
127.0.0.1:2425 and iptux 127.0.0.1:2426. Skipped, with the reason, without
root or the programs."""
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

from harness import BIN, SLOW, require_root
import iptuxdesk

# Prints, as hex, the payload of every UDP datagram on lo (run inside the
# lab namespace as root), so a test can check the bytes on the wire.
SNIFFER = r"""
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
s.bind(("lo", 0))
print("ready", flush=True)
while True:
    f, a = s.recvfrom(65535)
    if a[2] == socket.PACKET_OUTGOING:
        continue  # lo shows each datagram twice
    ip = f[14:]
    if ip[9] != 17:
        continue
    udp = ip[(ip[0] & 15) * 4:]
    print(int.from_bytes(udp[2:4], "big"), udp[8:].hex(), flush=True)
"""

class ChatIptux(unittest.TestCase):
    def setUp(self):
        require_root(self)
        iptuxdesk.require_programs()
        self.ns = f"ulab{os.getpid()}ipt"
        self.procs = []
        self.tmp = tempfile.TemporaryDirectory()
        r = subprocess.run(["ip", "netns", "add", self.ns], capture_output=True, timeout=10)
        if r.returncode != 0:
            self.tmp.cleanup()
            raise unittest.SkipTest(f"cannot create a network namespace: {r.stderr.decode().strip()}")
        self.addCleanup(self.cleanup)
        self.nsexec(["ip", "link", "set", "lo", "up"])
        links = self.nsexec(["ip", "-o", "link"]).stdout.decode()
        names = re.findall(r"^\d+: ([^:@]+)", links, re.M)
        self.assertEqual(names, ["lo"], "the lab namespace must hold only lo")
        wrap, self.spawn = iptuxdesk.in_namespace(self.ns, self.procs)
        self.desk = iptuxdesk.IptuxDesk(wrap, self.spawn, self.addCleanup, self.tmp.name)
        self.hist = os.path.join(self.tmp.name, "chat.txt")

    def cleanup(self):
        for p in reversed(self.procs):
            p.kill()
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True, timeout=10)
        self.tmp.cleanup()

    def nsexec(self, argv, **kw):
        return subprocess.run(["ip", "netns", "exec", self.ns] + argv, capture_output=True,
                              timeout=20, **kw)

    def start_us(self, env, nick, args=()):
        """Our chat on 127.0.0.1:2425 (iptux 0.8 answers only there)."""
        us = self.spawn([BIN, "chat", "-b", "127.0.0.1", "-p", "2425", "-n", nick,
                         "-P", "127.0.0.1:2426", "--stay", "-H", self.hist] + list(args),
                        env=env, stdin=subprocess.PIPE)
        us.wait_bound()
        return us

    def run_iptux(self, extra_config, ours, theirs, nick="udpbot", args=()):
        """iptux and us in the lab: ours goes to iptux (receipt, its log),
        theirs is typed into iptux and must arrive here; both exactly."""
        env = self.desk.start(extra_config)
        self.wire = self.spawn([sys.executable, "-c", SNIFFER])
        self.wire.wait_for(b"ready\n", "out", 10)
        us = self.start_us(env, nick, args)
        self.desk.start_iptux()
        # iptux's start-up entry reaches us (scan_net_segment), we answer.
        us.wait_for(b"joined\t127.0.0.1:2426\tiptuxbot\tbotgroup\t", "out", 30)

        # us -> iptux, with a receipt, and in iptux's log.
        us.proc.stdin.write(ours.encode() + b"\n")
        us.proc.stdin.flush()
        us.wait_for(b"delivered\t127.0.0.1:2426\t", "out", 15)
        text = self.desk.wait_log(ours)
        self.assertIn("Nickname:" + nick, text)

        # iptux -> us: open a chat window on us, type, Ctrl+Return.
        self.desk.types("udpbot", theirs)
        us.wait_for(("\t" + theirs + "\n").encode(), "out", 15)
        rec = [l for l in us.out().decode().splitlines() if l.startswith("recv\t")]
        self.assertEqual(len(rec), 1)
        self.assertEqual(rec[0].split("\t")[1:4:2], ["127.0.0.1:2426", "iptuxbot"])
        us.proc.stdin.write(b"/peers\n")
        us.proc.stdin.flush()
        peer = us.wait_for(b"peer\t127.0.0.1:2426\t", "out", 15)

        # Graceful quit: iptux says goodbye, we show it leaving.
        self.desk.gdbus("quit")
        us.wait_for(b"left\t127.0.0.1:2426\tiptuxbot\t", "out", 15)
        us.stop()
        err = us.err().decode()
        self.assertIn("1 sent, 1 delivered, 0 NOT delivered, 1 received", err)
        self.assertIn(" 0 duplicates", err)  # our receipt was accepted: no retry
        self.assertIn(theirs, open(self.hist, encoding="utf-8").read())
        return [l for l in peer.decode().splitlines() if l.startswith("peer\t")][0]

    def on_wire(self, port, data, wait=15):
        """True when a datagram to port held data. Waits up to wait seconds
        for it: the sniffer can lag behind on a busy machine."""
        deadline = time.monotonic() + wait * SLOW
        while True:
            for line in self.wire.out().decode().splitlines():
                dport, _, hexdata = line.partition(" ")
                if dport == str(port) and data.hex() in hexdata:
                    return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)

    def test_iptux_both_ways(self):
        peer = self.run_iptux({}, "hello iptux \u4f60\u597d from udpkit", "hi \u4f60\u597d from iptux")
        self.assertEqual(peer.split("\t")[7], "utf-8")
        self.assertTrue(self.on_wire(2426, "iptux \u4f60\u597d from".encode()))
        self.assertTrue(self.on_wire(2425, "hi \u4f60\u597d from".encode()))

    def test_iptux_set_to_gbk_both_ways(self):
        """iptux set to GBK (its users' common setting) writes GBK without
        UTF8OPT and reads what it receives as GBK: our text must go to it
        in GBK, and its text must read right here."""
        peer = self.run_iptux({"preference_encode": "gbk", "candidacy_encode": "gbk"},
                              "\u4f60\u597d iptux\uff0c\u8fd9\u662f GBK \u6d4b\u8bd5",
                              "\u4e2d\u6587\u6d88\u606f from iptux", nick="udpbot\u5f20\u4e09",
                              args=("--charset", "gb18030"))
        self.assertEqual(peer.split("\t")[7], "gb18030")
        # On the wire, GBK both ways, never UTF-8 Chinese.
        self.assertTrue(self.on_wire(2426, "\u8fd9\u662f GBK".encode("gbk")))
        self.assertTrue(self.on_wire(2426, "udpbot\u5f20\u4e09".encode("gbk")))
        self.assertTrue(self.on_wire(2425, "\u4e2d\u6587\u6d88\u606f".encode("gbk")))
        self.assertFalse(self.on_wire(2426, "\u8fd9\u662f".encode(), wait=0))

    def test_iptux_outside_a_room(self):
        """iptux as an outsider of a private room (issue 13): our sealed
        entry and message get no answer from it (it cannot even tell them
        for IPMsg), nothing of ours reaches its log, and its clear entry is
        dropped by the room member; then, as a control, a plain message to
        the same iptux is logged and acknowledged."""
        home = self.tmp.name
        env = self.desk.start(env={"UDPKIT_ROOM_COST": "test"})
        self.wire = self.spawn([sys.executable, "-c", SNIFFER])
        self.wire.wait_for(b"ready\n", "out", 10)
        passfile = os.path.join(home, "pass")
        with open(passfile, "w") as f:
            f.write("room passphrase\n")
        os.chmod(passfile, 0o600)
        us = self.spawn([BIN, "chat", "-b", "127.0.0.1", "-p", "2425", "-n", "roombot",
                         "-P", "127.0.0.1:2426", "--stay", "--line", "--no-history",
                         "--room", "team", "--passphrase-file", passfile], env=env,
                        stdin=subprocess.PIPE)
        us.wait_bound()
        self.desk.start_iptux()
        # iptux's start-up entry (in clear) reaches us and is dropped.
        deadline = time.monotonic() + 30 * SLOW
        while not self.on_wire(2425, b"iptuxbot", wait=0) and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertTrue(self.on_wire(2425, b"iptuxbot"), "iptux sent no entry")
        secret = "room secret for nobody else"
        us.proc.stdin.write(secret.encode() + b"\n")
        us.proc.stdin.flush()
        us.wait_for(b"sent\t127.0.0.1:2426\t", "out", 15)
        # Wait for 3 retransmissions of our sealed message to iptux.
        deadline = time.monotonic() + 30 * SLOW
        while time.monotonic() < deadline:
            sealed = [l for l in self.wire.out().decode().splitlines()
                      if l.startswith("2426 ") and l.split(" ")[1].startswith(b"UKR\x01".hex())]
            if len(sealed) >= 4:
                break
            time.sleep(0.2)
        self.assertGreaterEqual(len(sealed), 4)
        to_us = [l for l in self.wire.out().decode().splitlines() if l.startswith("2425 ")]
        # Only iptux's entries came back: no ANSENTRY, no receipt.
        for line in to_us:
            data = bytes.fromhex(line.split(" ")[1])
            cmd = int(data.split(b":")[4]) & 0xff
            self.assertIn(cmd, (0x01,), data[:80])  # BR_ENTRY only
        self.assertFalse(self.on_wire(2426, secret.encode(), wait=0))
        self.assertEqual([l for l in us.out().decode().splitlines()
                          if l.startswith(("joined\t", "recv\t"))], [])
        us.stop()
        self.assertRegex(us.err().decode(), r"room team: \d+ datagrams opened; dropped: [1-9]")
        # The control: iptux was listening and logs a plain message.
        r = subprocess.run(["ip", "netns", "exec", self.ns, sys.executable, "-c",
                         "import socket,sys;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);"
                         "s.bind(('127.0.0.1',2425));s.settimeout(20);"
                         "s.sendto(b'1:777:probe:probehost:288:plain control\\0',"
                         "('127.0.0.1',2426));"
                         "d=s.recv(2048);print(d.decode('latin-1'))"],
                           capture_output=True, timeout=60 * SLOW)
        self.assertIn(b":777", r.stdout, r.stderr)  # RECVMSG for packet 777
        text = self.desk.wait_log("plain control", timeout=10)
        self.assertNotIn(secret, text)
        self.assertNotIn("roombot", text)


    # ---- the "done means": both ways, both histories, kill -9 ----

    def say_delivered(self, us, text):
        """Types text into our chat; returns once iptux acknowledged it."""
        us.proc.stdin.write(text.encode() + b"\n")
        us.proc.stdin.flush()
        out = us.wait_for(("\t" + text + "\n").encode(), "out", 15).decode()
        no = re.search(r"^sent\t127\.0\.0\.1:2426\t(\d+)\t[^\n]*\t" + re.escape(text) + "$",
                       out, re.M).group(1)
        us.wait_for(f"delivered\t127.0.0.1:2426\t{no}\t".encode(), "out", 60)

    def in_history(self, kinds):
        """{text: count} of the history's events of those kinds."""
        r = subprocess.run([BIN, "history", "--json", self.hist], capture_output=True,
                           timeout=60 * SLOW)
        counts = {}
        for line in r.stdout.decode().splitlines():
            e = json.loads(line)
            if e["kind"] in kinds:
                counts[e["text"]] = counts.get(e["text"], 0) + 1
        return counts

    def matrix(self, extra_config, nick, args, tag):
        """Messages both ways; kill -9 of us, then of iptux, each started
        again: every message acknowledged before a kill is in both
        histories (ours, iptux's communicate.log) exactly once after it."""
        m = [None] + [f"m{i} \u4f60\u597d {tag}" for i in range(1, 7)]
        env = self.desk.start(extra_config)
        us = self.start_us(env, nick, args)
        self.desk.start_iptux()
        us.wait_for(b"joined\t127.0.0.1:2426\tiptuxbot\t", "out", 30)
        self.say_delivered(us, m[1])
        self.desk.types("udpbot", m[2])
        us.wait_for(("\t" + m[2] + "\n").encode(), "out", 15)
        us.kill()  # SIGKILL
        self.assertEqual(self.in_history({"sent"}), {m[1]: 1})
        self.assertEqual(self.in_history({"recv"}), {m[2]: 1})

        # We come back on the same port and file; both ways again. iptux
        # still has its chat window on us open, and its UDP thread rewrites
        # that window's peer info (DialogPeer::UpdatePalData from
        # UdpData::SomeoneEntry, a GTK call outside GTK's thread) when our
        # new BR_ENTRY arrives: driving the window meanwhile crashed iptux
        # in gtk_text_layout (seen under gdb, 2 in 88 restarts). It answers
        # with ANSENTRY only after that rewrite, so we wait for it ("joined"),
        # as a person sees us come online before typing.
        us = self.start_us(env, nick, args)
        us.wait_for(b"joined\t127.0.0.1:2426\tiptuxbot\t", "out", 30)
        self.say_delivered(us, m[3])
        self.desk.types("udpbot", m[4])
        us.wait_for(("\t" + m[4] + "\n").encode(), "out", 15)
        for i in (1, 3):
            self.desk.wait_log("[STRING]" + m[i])
        ipt = self.desk.iptuxes[-1]  # the one running
        ipt.kill()  # SIGKILL
        log = self.desk.read_log()
        for i in range(1, 5):
            self.assertEqual(log.count("[STRING]" + m[i]), 1, f"{m[i]!r} in iptux's log:\n{log}")

        # iptux comes back (its packet numbers start again at 1).
        self.desk.start_iptux()
        self.say_delivered(us, m[6])
        self.desk.wait_log("[STRING]" + m[6])
        self.desk.types("udpbot", m[5])
        us.wait_for(("\t" + m[5] + "\n").encode(), "out", 15)
        log = self.desk.wait_log("[STRING]" + m[5])
        us.kill()
        for i in range(1, 7):
            self.assertEqual(log.count("[STRING]" + m[i]), 1, f"{m[i]!r} in iptux's log:\n{log}")
        self.assertEqual(self.in_history({"sent"}), {m[1]: 1, m[3]: 1, m[6]: 1})
        self.assertEqual(self.in_history({"recv"}), {m[2]: 1, m[4]: 1, m[5]: 1})
        r = subprocess.run([BIN, "history", "--json", self.hist], capture_output=True,
                           timeout=60 * SLOW)
        kinds = [json.loads(l)["kind"] for l in r.stdout.decode().splitlines()]
        self.assertEqual(kinds.count("delivered"), 3)  # one receipt each, logged once
        return log

    def test_done_means_iptux_utf8_kill9(self):
        self.matrix({}, "udpbot", (), "utf8")

    def test_done_means_iptux_gbk_kill9(self):
        self.matrix({"preference_encode": "gbk", "candidacy_encode": "gbk"}, "udpbot\u5f20\u4e09",
                    ("--charset", "gb18030"), "gbk")


if __name__ == "__main__":
    unittest.main()
