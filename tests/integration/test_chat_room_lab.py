"""udpkit chat --room on a private virtual LAN (tests/lib/netlab.py): three
members of room "team" on hosts 1-3 and, on the same LAN, outsiders: a chat
in no room (host 4), a member of "team" with a wrong passphrase (host 5), a
chat in room "other" (host 6). All bind 0.0.0.0:2425 and discover by
broadcast. A capture on the lab switch holds no nick, user, host, group or
text in clear; the outsiders show nothing and forge nothing; captured
datagrams replayed from another host (with the sender's source address)
change nothing; the wrong passphrase gets the hint; then 1,000 messages go
from host 1 to host 2 through 20% loss and 10% duplication each way,
delivered and logged exactly once, and the time is printed (the plain
figure: test_chat_lab.py). test_iptux_on_the_lan puts iptux on such a
LAN as the outsider (its docstring). Nothing leaves the lab (RootTxGuard).
Skipped, with the reason, without root or the lab (or, for iptux, its
programs)."""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from harness import BIN, SLOW
from test_chat_lab import history, lines  # the plain lab's helpers (functions only)
from test_chat_room import summary_counts as room_counts

try:
    import netlab
except ImportError:
    netlab = None
import iptuxdesk

COUNT = 1000
TAG = "q7zk"  # makes every identifying string unique enough to grep for

# Every IPv4 UDP packet seen on any interface of the switch namespace (its
# bridge ports: only an ETH_P_ALL tap sees bridged frames), as hex, one a
# line, each packet once.
CAPTURE = r"""
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))  # ETH_P_ALL: bridged too
# Room for a few seconds of the lab's traffic while this process waits for
# a core on a busy machine (each frame is seen once per bridge port).
s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE (root)
print("ready", flush=True)
seen = set()
while True:
    f, a = s.recvfrom(65535)
    if f[12:14] != b"\x08\x00":
        continue
    ip = f[14:]
    if len(ip) < 28 or ip[9] != 17 or ip in seen:
        continue
    seen.add(ip)
    print(ip.hex(), flush=True)
"""

# Sends IPv4 packets given as hex lines on stdin as they are (source
# address included), through a raw socket: the replaying attacker.
REPLAY = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
n = 0
for line in sys.stdin:
    ip = bytes.fromhex(line.strip())
    s.sendto(ip, (socket.inet_ntoa(ip[16:20]), 0))
    n += 1
print("replayed", n, flush=True)
"""


class RoomLab(unittest.TestCase):
    def setUp(self):
        if netlab is None:
            raise unittest.SkipTest("tests/lib/netlab.py is not there")
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def passfile(self, name, text):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w") as f:
            f.write(text + "\n")
        os.chmod(path, 0o600)
        return path

    def chat(self, lab, i, *args, room="team", passphrase="correct horse battery"):
        """A chat on host i, with its own user and host name."""
        env = dict(os.environ, UDPKIT_ROOM_COST="test", USER=f"user{i}{TAG}")
        argv = ["unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', f"host{i}{TAG}",
                BIN, "chat", "-b", "0.0.0.0", "-p", "2425", "--stay", "--line",
                "-n", f"nick{i}{TAG}", "-g", f"group{i}{TAG}",
                "-H", os.path.join(self.tmp.name, f"h{i}.txt")]
        if room:
            argv += ["--room", room, "--passphrase-file", self.passfile(f"p{i}", passphrase)]
        p = lab.popen(i, argv + list(args), stdin=subprocess.PIPE, env=env)
        p.wait_bound(30)
        return p

    @staticmethod
    def say(p, *text):
        p.proc.stdin.write(("\n".join(text) + "\n").encode())
        p.proc.stdin.flush()

    def test_room_on_a_lan(self):
        if subprocess.run(["unshare", "--uts", "true"], capture_output=True).returncode != 0:
            raise unittest.SkipTest("unshare --uts does not work here")
        with netlab.RootTxGuard(), netlab.Lab(hosts=6) as lab:
            cap = lab.popen(0, [sys.executable, "-c", CAPTURE])
            cap.wait_for(b"ready", "out")
            m = {i: self.chat(lab, i) for i in (1, 2, 3)}
            plain = self.chat(lab, 4, room=None)
            wrong = self.chat(lab, 5, passphrase="correct horse batery")
            other = self.chat(lab, 6, room="other")
            # The members find each other by (sealed) broadcast.
            for i in (1, 2, 3):
                for k in (1, 2, 3):
                    if k != i:
                        m[i].wait_for(f"joined\t{lab.addr(k)}:2425\tnick{k}{TAG}\t".encode(),
                                      "out", 20)
            # The wrong passphrase is told, and sees nobody.
            wrong.wait_for(b"do not authenticate", "out", 20)
            plain.wait_for(b"datagrams of a private room arrive", "out", 20)
            # Messages and receipts inside the room.
            self.say(m[1], f"/all meeting at three {TAG}")
            for i in (2, 3):
                m[i].wait_for(f"\tmeeting at three {TAG}\n".encode(), "out", 20)
            self.say(m[3], f"/to {lab.addr(1)}", f"see you there {TAG}")
            m[1].wait_for(f"\tsee you there {TAG}\n".encode(), "out", 20)
            m[3].wait_for(b"delivered\t", "out", 20)
            for _ in range(2):
                m[1].wait_for(b"delivered\t", "out", 20)
            # Outsiders try to talk to member 2: shown nowhere.
            self.say(plain, f"/to {lab.addr(2)}", f"forged by plain {TAG}")
            self.say(other, f"/to {lab.addr(2)}", f"forged by other {TAG}")
            self.say(wrong, f"/to {lab.addr(2)}", f"forged by typo {TAG}")
            for p in (plain, other, wrong):
                p.wait_for(b"sent\t", "out", 20)
            self.say(m[1], f"/to {lab.addr(2)}", f"after the outsiders {TAG}")
            m[2].wait_for(f"\tafter the outsiders {TAG}\n".encode(), "out", 20)
            m[1].wait_for(f"delivered\t{lab.addr(2)}".encode(), "out", 20)

            # The capture: nothing that names a person or says something.
            # It reads its socket in order, so once it has printed a last
            # datagram (in clear, from the plain chat), it has printed
            # everything before it; on a busy machine it can lag seconds.
            end = f"end of capture {TAG}"
            self.say(plain, f"/to {lab.addr(2)}", end)
            cap.wait_for(end.encode().hex().encode(), "out", 60)
            cap.stop()
            packets = [bytes.fromhex(l) for l in cap.out().decode().split()
                       if l != "ready"]
            wire = b"".join(packets)
            self.assertGreater(len(packets), 10)
            for i in (1, 2, 3):
                for secret in (f"nick{i}{TAG}", f"user{i}{TAG}", f"host{i}{TAG}",
                               f"group{i}{TAG}"):
                    self.assertFalse(secret.encode() in wire, f"{secret} in clear")
            for text in ("meeting at three", "see you there", "after the outsiders"):
                self.assertFalse(text.encode() in wire, f"{text!r} in clear")
            # ...while the plain outsider's own traffic is in clear (the
            # capture works).
            self.assertTrue(f"nick4{TAG}".encode() in wire, "the capture misses the plain chat")

            # Replay every captured packet from member 1 to member 2 (or to
            # everyone), from host 4 with member 1's source address.
            before_recv = [r[4] for r in lines(m[2], "recv")]
            before_joined = len(lines(m[2], "joined"))
            before_delivered = len(lines(m[1], "delivered"))
            src, dst2, bcast = (bytes(map(int, lab.addr(k).split("."))) for k in (1, 2, 255))
            replays = [p for p in packets if p[12:16] == src and p[16:20] in (dst2, bcast)]
            self.assertGreater(len(replays), 3)
            r = lab.run(4, [sys.executable, "-c", REPLAY],
                        input="\n".join(p.hex() for p in replays).encode(), timeout=30)
            self.assertIn(b"replayed %d" % len(replays), r.stdout, r.stderr)
            self.say(m[1], f"marker {TAG}")
            m[2].wait_for(f"\tmarker {TAG}\n".encode(), "out", 20)
            self.assertEqual([r[4] for r in lines(m[2], "recv")],
                             before_recv + [f"marker {TAG}"])
            self.assertEqual(len(lines(m[2], "joined")), before_joined)
            # Receipts: /all (2), "after the outsiders", the marker; no more.
            deadline = time.monotonic() + 20 * SLOW
            while len(lines(m[1], "delivered")) < 4 and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertEqual(len(lines(m[1], "delivered")), 4)

            # Nobody outside the room showed or joined anything of it.
            for p in (plain, wrong, other):
                self.assertEqual(lines(p, "recv"), [])
                for k in (1, 2, 3):
                    self.assertNotIn(f"nick{k}{TAG}".encode(), p.out())
            for i in (1, 2, 3):
                for k in (4, 5, 6):
                    self.assertNotIn(f"nick{k}{TAG}".encode(), m[i].out())
                self.assertNotIn(b"forged by", m[i].out())
            for p in (plain, wrong, other):
                p.stop()
            self.assertEqual(room_counts(wrong.err())["datagrams opened"], 0)
            self.assertGreater(room_counts(other.err())["of other rooms"], 0)
            self.assertRegex(plain.err(), rb"[1-9]\d* datagrams of private rooms dropped")

            # 1,000 messages through 20% loss and 10% duplication each way.
            for i in (1, 2):
                lab.loss(i, 20)
                lab.dup(i, 10)
            a, b = m[1], m[2]
            base_delivered = len(lines(a, "delivered"))
            t0 = time.monotonic()
            self.say(a, f"/to {lab.addr(2)}", *[f"m{k:04d}" for k in range(COUNT)])
            deadline = t0 + 300 * SLOW
            while time.monotonic() < deadline:
                out = a.out()
                if out.count(b"\ndelivered\t") + out.count(b"\nundelivered\t") >= \
                        base_delivered + COUNT:
                    break
                time.sleep(0.2)
            elapsed = time.monotonic() - t0
            self.assertEqual(len(lines(a, "undelivered")), 0)
            delivered = lines(a, "delivered")[base_delivered:]
            self.assertEqual(len(delivered), COUNT)
            tries = [int(d[4]) for d in delivered]
            b.wait_for(b"\tm%04d\n" % (COUNT - 1), "out", 20)
            recv = [r[4] for r in lines(b, "recv") if r[4].startswith("m0")]
            self.assertEqual(sorted(recv), [f"m{k:04d}" for k in range(COUNT)])
            for i in (1, 2):
                lab.clear(i)
            self.assertEqual(a.stop(), 0)
            b.stop()
            m[3].stop()
            logged = sorted(f[6].decode() for f in history(os.path.join(self.tmp.name, "h2.txt"),
                                                          b"recv")
                            if f[6].startswith(b"m0"))
            self.assertEqual(logged, [f"m{k:04d}" for k in range(COUNT)])
            h1 = history(os.path.join(self.tmp.name, "h1.txt"), b"delivered")
            self.assertEqual(len([f for f in h1]), base_delivered + COUNT)
            counts = room_counts(b.err())
            self.assertGreater(counts["replayed"], 0)
            print(f"\n  room lab: {COUNT} messages through 20% loss + 10% dup each way in "
                  f"{elapsed:.1f} s (in a room); tries max {max(tries)}, mean "
                  f"{sum(tries) / len(tries):.2f}; host 2: {b.err().decode().strip().splitlines()[-1]}")

    # ---- iptux as the outsider on the room's LAN ---------------------------

    def test_iptux_on_the_lan(self):
        """iptux 0.8.3 (under Xvfb, with its own D-Bus session and HOME, on
        host 4) on the LAN of three members of room "team" (hosts 1-3), all
        on 0.0.0.0:2425, iptux broadcasting as it does by default. The
        members find each other and chat with receipts; iptux hears their
        sealed datagrams (its debug log names each one's source and logs it
        as "unknown command mode: 0x0") and lists none of them: opening a
        chat on a member's address opens nothing. Then iptux writes to
        member 2's address: a decoy on host 2 (not the member, another
        port) announces itself to iptux in clear, as any IPMsg client can,
        so that iptux's window can address 10.77.0.2 at all; iptux's
        message goes to 10.77.0.2:2425, where member 2 shows nothing of it
        and counts it as not sealed, while member 1's marker sent after it
        is shown. Nothing leaves the lab (RootTxGuard)."""
        if subprocess.run(["unshare", "--uts", "true"], capture_output=True).returncode != 0:
            raise unittest.SkipTest("unshare --uts does not work here")
        iptuxdesk.require_programs()
        with netlab.RootTxGuard(), netlab.Lab(hosts=4) as lab:
            cap = lab.popen(0, [sys.executable, "-c", CAPTURE])
            cap.wait_for(b"ready", "out", 30)
            home = os.path.join(self.tmp.name, "iptux")
            os.makedirs(home)
            desk = iptuxdesk.IptuxDesk(
                lambda argv: lab.exec_argv(4, argv),
                lambda argv, env=None, stdin=subprocess.DEVNULL: lab.popen(4, argv, env=env,
                                                                           stdin=stdin),
                self.addCleanup, home)
            inick, decoy = f"iptux{TAG}", f"decoy{TAG}"
            desk.start({"debug_dont_broadcast": False, "bind_ip": "0.0.0.0", "port": 2425,
                        "nick_name": inick, "belong_group": f"igroup{TAG}",
                        "scan_net_segment": [{"startip": lab.addr(1), "endip": lab.addr(3)}]})
            ipt = desk.start_iptux(["-l", "DEBUG"])
            # iptux is listening once it hears its own start-up broadcast.
            ipt.wait_for(f"received udp message from {lab.addr(4)}:2425".encode(), "err", 60)

            # 1. The members find each other and chat with receipts.
            m = {i: self.chat(lab, i) for i in (1, 2, 3)}
            for i in (1, 2, 3):
                for k in (1, 2, 3):
                    if k != i:
                        m[i].wait_for(f"joined\t{lab.addr(k)}:2425\tnick{k}{TAG}\t".encode(),
                                      "out", 60)
            self.say(m[1], f"/all meeting at three {TAG}")
            for i in (2, 3):
                m[i].wait_for(f"\tmeeting at three {TAG}\n".encode(), "out", 60)
            self.say(m[3], f"/to {lab.addr(1)}", f"see you there {TAG}")
            m[1].wait_for(f"\tsee you there {TAG}\n".encode(), "out", 60)
            m[3].wait_for(f"delivered\t{lab.addr(1)}:2425\t".encode(), "out", 60)
            self.wait_until("member 1's two receipts", lambda: len(lines(m[1], "delivered")) >= 2)

            # 2. iptux heard every member (their sealed start-up entries)...
            for k in (1, 2, 3):
                ipt.wait_for(f"received udp message from {lab.addr(k)}:2425".encode(), "err", 60)
            # ...and announces itself again, now that they are up (its
            # main window's Refresh: broadcast, then its scan range); it
            # hears its own broadcast again once that has gone out.
            own = f"received udp message from {lab.addr(4)}:2425".encode()
            before = ipt.err().count(own)
            self.assertEqual(desk.gdbus("refresh", path=desk.window_with("refresh")).returncode, 0)
            self.wait_until("iptux's second broadcast", lambda: ipt.err().count(own) > before)
            # ...and lists none: open-chat on an unknown address opens no
            # window. The decoy's entry (in clear, from host 2, port 2426)
            # makes 10.77.0.2 known to it; its window, opened after those
            # two, shows that iptux has handled the two before.
            desk.gdbus("open-chat", f"[<'{lab.addr(1)}'>]")
            desk.gdbus("open-chat", f"[<'{lab.addr(3)}'>]")
            entry = f"1:1:{decoy}:decoyhost:1:{decoy}\0dgroup\0"
            for attempt in range(4):  # a datagram, not a handshake: again if unheard
                self.send_once(lab, 2, 2426, (lab.addr(4), 2425), entry)
                try:
                    self.wait_until("iptux to hear the decoy", lambda: decoy.encode() in ipt.err(),
                                    15)
                    break
                except AssertionError:
                    if attempt == 3:
                        raise

            # 3. iptux writes to 10.77.0.2 (its window on the decoy); the
            # capture on the switch shows the message leave for member 2.
            forged = f"forged by iptux {TAG}"
            def forged_on_wire():
                return [p for p in self.captured(cap) if p[12:16] == self.packed(lab.addr(4))
                        and p[16:20] == self.packed(lab.addr(2)) and forged.encode() in p]
            for attempt in range(3):  # keys can be lost on a loaded machine
                desk.types(decoy, forged, lab.addr(2))
                try:
                    self.wait_until("iptux's message on the wire", forged_on_wire, 20)
                    break
                except AssertionError:
                    if attempt == 2:
                        raise
            self.assertEqual(desk.run(["xdotool", "search", "--name", "Talk with"]).stdout.decode().split(),
                             [desk.xwin(decoy)], "iptux opened a window on a member")
            for k in (1, 2, 3):
                self.assertEqual(desk.run(["xdotool", "search", "--name", f"nick{k}{TAG}"]).stdout,
                                 b"")
            # Member 1's marker, sent after it, is shown and acknowledged.
            self.say(m[1], f"/to {lab.addr(2)}", f"marker after iptux {TAG}")
            m[2].wait_for(f"\tmarker after iptux {TAG}\n".encode(), "out", 60)
            m[1].wait_for(f"delivered\t{lab.addr(2)}:2425\t".encode(), "out", 60)
            self.assertEqual([r[4] for r in lines(m[2], "recv")],
                             [f"meeting at three {TAG}", f"marker after iptux {TAG}"])
            n_forged = len(forged_on_wire())
            for i in (1, 2, 3):
                out = m[i].out()
                for name in (inick, decoy, forged):
                    self.assertNotIn(name.encode(), out, f"member {i} shows {name}")
                # Each member lists the two others, no one else.
                self.assertEqual(sorted((j[1], j[2]) for j in lines(m[i], "joined")),
                                 [(f"{lab.addr(k)}:2425", f"nick{k}{TAG}") for k in (1, 2, 3)
                                  if k != i])
            counts = {}
            for i in (3, 2, 1):
                self.assertEqual(m[i].stop(), 0)
                counts[i] = room_counts(m[i].err())
            # Each member dropped iptux's entries (in clear), member 2 also
            # iptux's message and its answers to the decoy.
            for i in (1, 3):
                self.assertGreater(counts[i]["not sealed"], 0, counts[i])
            self.assertGreater(n_forged, 0)
            self.assertGreater(counts[2]["not sealed"], n_forged, counts[2])

            # What iptux heard from each member: only datagrams it cannot
            # read (command 0), never an entry, a message or a receipt;
            # nothing of a member in its logs.
            heard = self.iptux_heard(ipt.err().decode(errors="replace"))
            for k in (1, 2, 3):
                cmds = {c for src, c in heard if src == f"{lab.addr(k)}:2425"}
                self.assertEqual(cmds, {"0x0"}, f"iptux heard from member {k}: {cmds}")
            self.assertIn(b"unknown command mode: 0x0", ipt.err())
            self.assertIn((f"{lab.addr(2)}:2426", "0x1"), heard)  # the decoy's entry: it parses
            text = ipt.err().decode(errors="replace") + desk.read_log()
            for k in (1, 2, 3):
                for secret in (f"nick{k}{TAG}", f"user{k}{TAG}", f"host{k}{TAG}",
                               f"group{k}{TAG}", "meeting at three", "see you there",
                               "marker after iptux"):
                    self.assertNotIn(secret, text, desk.state())
            desk.gdbus("quit")

    def wait_until(self, what, fn, timeout=60):
        deadline = time.monotonic() + timeout * SLOW
        while not fn():
            if time.monotonic() >= deadline:
                raise AssertionError("timed out waiting for " + what)
            time.sleep(0.2)

    @staticmethod
    def send_once(lab, i, port, to, text):
        """Sends text from host i, UDP port port, to (addr, port)."""
        r = lab.run(i, [sys.executable, "-c",
                        "import socket,sys;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);"
                        f"s.bind(('0.0.0.0',{port}));"
                        "s.sendto(sys.stdin.buffer.read(),(sys.argv[1],int(sys.argv[2])))",
                        to[0], str(to[1])], input=text.encode(), timeout=60)
        if r.returncode != 0:
            raise AssertionError(r.stderr.decode(errors="replace"))

    @staticmethod
    def packed(addr):
        return bytes(map(int, addr.split(".")))

    @staticmethod
    def captured(cap):
        return [bytes.fromhex(l) for l in cap.out().decode().split() if l != "ready"]

    @staticmethod
    def iptux_heard(err):
        """(source, command) of each datagram iptux's debug log says it
        received: "received udp message from A:P" then, in the same
        thread, "command NO.: [0xC] ..."."""
        last, heard = {}, []
        for line in err.splitlines():
            r = re.search(r"\[iptux-(\d+)\].*:process:received udp message from ([\d.]+:\d+),", line)
            if r:
                last[r.group(1)] = r.group(2)
                continue
            c = re.search(r"\[iptux-(\d+)\].*:process:command NO\.: \[(0x[0-9a-f]+)\]", line)
            if c and c.group(1) in last:
                heard.append((last.pop(c.group(1)), hex(int(c.group(2), 16) & 0xff)))
        return heard


if __name__ == "__main__":
    unittest.main()
