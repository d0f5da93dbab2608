"""Issue 10, attacks 1 and 4 on a private virtual LAN (tests/lib/netlab.py):
1,000 forged sources, each its own address on host 2, announce themselves
to the chat on host 1 with BR_ENTRY. A real IPMsg peer on host 3 arriving
afterwards must still be recorded and get messages with receipts, and the
1,000 sources together must get back at most 3x the bytes they sent.
Nothing leaves the lab (RootTxGuard). Skipped without root or the lab."""
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

from harness import BIN, SLOW, python3

try:
    import netlab
except ImportError:
    netlab = None

SOURCES = 1000
FIGURES = os.environ.get("UDPKIT_FIGURES") == "1"

# Runs inside host 2: one socket per forged address, one BR_ENTRY each,
# and after every 100 a plain "batch K", waiting for a line on stdin (the
# test saw the chat show it: no socket buffer overflows, however slow the
# build); then "flood sent", and when stdin closes, how many answers came
# back and their bytes.
ATTACKER = r'''
import socket, sys, selectors
target, n = sys.argv[1], int(sys.argv[2])
socks, sent = [], 0
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("10.77.%d.%d" % (100 + i // 250, 1 + i % 250), 2425))
    s.setblocking(False)
    d = b"1:%d:mallory:evil:1:forged%d\0\0" % (i + 1, i)
    sent += s.sendto(d, (target, 2425))
    socks.append(s)
    if (i + 1) % 100 == 0:
        s.sendto(b"batch %d" % (i // 100), (target, 2425))
        sys.stdin.readline()
socks[0].sendto(b"flood sent", (target, 2425))
print("sent %d" % sent, flush=True)
sys.stdin.read()
got = back = 0
for s in socks:
    while True:
        try:
            d = s.recv(65536)
        except BlockingIOError:
            break
        got += 1
        back += len(d)
print("answers %d %d" % (got, back), flush=True)
'''


def wait_line(p, prefix, timeout=60):
    """The fields of p's first stdout line starting with prefix, once the
    whole line has arrived (a pipe may deliver it in pieces)."""
    pattern = re.compile(rb"(?m)^" + re.escape(prefix) + rb"([^\n]*)\n")
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        m = pattern.search(p.out())
        if m:
            return m.group(1).split()
        if p.proc.poll() is not None:
            break
        time.sleep(0.02)
    raise AssertionError(f"no {prefix!r} line: {p.out()!r} {p.err()!r}")


class ChatAttacksLab(unittest.TestCase):
    def setUp(self):
        if netlab is None:
            raise unittest.SkipTest("tests/lib/netlab.py is not there")
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root (network namespaces)")

    def test_1000_forged_sources_then_a_real_peer(self):
        with tempfile.TemporaryDirectory() as tmp, netlab.RootTxGuard(), \
                netlab.Lab(hosts=3) as lab:
            # 1,000 addresses for host 2, on-link for host 1 (so answers to
            # them reach host 2, where they are counted).
            batch = os.path.join(tmp, "addrs")
            with open(batch, "w") as f:
                for i in range(SOURCES):
                    f.write(f"address add 10.77.{100 + i // 250}.{1 + i % 250}/32 dev lan0\n")
            lab.ip(2, "-batch", batch)
            lab.ip(1, "route", "add", "10.77.100.0/22", "dev", "lan0")
            lab.sysctl(2, "net.ipv4.conf.all.arp_ignore=0")
            a = lab.popen(1, [BIN, "chat", "-b", lab.addr(1), "-p", "2425", "-n", "alice",
                              "--stay", "--no-discovery", "--no-history"],
                          stdin=subprocess.PIPE)
            a.wait_bound()
            script = os.path.join(tmp, "attacker.py")
            with open(script, "w") as f:
                f.write(ATTACKER)
            m = lab.popen(2, [python3(), script, lab.addr(1), str(SOURCES)],
                          stdin=subprocess.PIPE)
            for k in range(SOURCES // 100):
                a.wait_for(b"\tbatch %d\n" % k, "out", 60)
                m.proc.stdin.write(b"go\n")
                m.proc.stdin.flush()
            sent = int(wait_line(m, b"sent ")[0])
            a.wait_for(b"\tflood sent\n", "out", 60)
            # The real peer arrives after the flood.
            b = lab.popen(3, [BIN, "chat", "-b", lab.addr(3), "-p", "2425", "-n", "bob",
                              "--stay", "--no-discovery", "--no-history", "-P", lab.addr(1)],
                          stdin=subprocess.PIPE)
            b.wait_bound()
            a.wait_for(f"joined\t{lab.addr(3)}:2425\tbob\t".encode(), "out", 30)
            a.proc.stdin.write(f"/to {lab.addr(3)}\nhello bob\n".encode())
            a.proc.stdin.flush()
            a.wait_for(f"delivered\t{lab.addr(3)}:2425\t".encode(), "out", 30)
            sent_lines = [l for l in a.out().decode().splitlines()
                          if l.startswith(f"sent\t{lab.addr(3)}:2425\t")]
            self.assertNotEqual(sent_lines[0].split("\t")[2], "0")  # IPMsg, a receipt
            m.proc.stdin.close()
            got, back = (int(x) for x in wait_line(m, b"answers "))
            if FIGURES:
                print(f"\nfigure: lab, {SOURCES} forged sources: real peer recorded and "
                      f"delivered to; {got} answers, {back} bytes back for {sent} sent "
                      f"({back / sent:.2f}x)", file=sys.stderr)
            self.assertLessEqual(back, 3 * sent)
            self.assertLessEqual(got, 400 + 200 * 60 * SLOW)


if __name__ == "__main__":
    unittest.main()
