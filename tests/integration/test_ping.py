"""udpkit ping against every kind of echo server, and against peers that
lose, duplicate, reorder and delay on purpose."""
import json
import os
import re
import signal
import subprocess
import socket
import time
import unittest

import harness
from harness import udpkit, SLOW
from peers import ScriptedEcho

# The summary line exactly as iputils ping prints it, then udpkit's own counts.
SUMMARY = re.compile(r"^(\d+) packets transmitted, (\d+) received(?:, \+(\d+) duplicates)?"
                     r"(?:, \+(\d+) errors)?, ([\d.]+)% packet loss, time \d+ms$", re.M)
EXTRA = re.compile(r"^(\d+) reordered, (\d+) late, (\d+) truncated$", re.M)


def summary(text):
    """(transmitted, received, loss %, duplicates, reordered, late) or None."""
    m, e = SUMMARY.search(text), EXTRA.search(text)
    if not m or not e:
        return None
    tx, rx, dups, _errors, loss = m.groups()
    return (int(tx), int(rx), int(float(loss)), int(dups or 0), int(e.group(1)), int(e.group(2)))


def ping(port, *args, count=5, interval="0.02", timeout=60):
    r = harness.run("ping", "-c", count, "-i", interval, *args, "127.0.0.1", port, timeout=timeout)
    return r, summary(r.stdout.decode())


def wait_answering(port, timeout=10):
    """Waits until something on 127.0.0.1:port answers a datagram: for
    servers that do not say when they are bound (python starts slowly on a
    busy machine)."""
    c = harness.udp_socket(timeout=0.2)
    deadline = time.monotonic() + timeout * harness.SLOW
    while True:
        c.sendto(b"are you there?", ("127.0.0.1", port))
        try:
            c.recvfrom(1000)
            return
        except (socket.timeout, ConnectionRefusedError):
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing answers on port {port}")


class TestPing(unittest.TestCase):
    def check_server(self, port, **kw):
        r, s = ping(port, **kw)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(s[:2], (5, 5))
        self.assertRegex(r.stdout.decode(), r"rtt min/avg/max/mdev = [\d.]+/[\d.]+/[\d.]+/[\d.]+ ms")

    def test_against_udpkit_echo_in_every_mode(self):
        for mode in ("stamp", "pure", "sockperf"):
            s = udpkit("echo", "-p", "0", "-q", "-m", mode)
            try:
                self.check_server(s.wait_bound()[1])
            finally:
                s.kill()

    def test_against_sockperf_server(self):
        sockperf = harness.require_cmd("sockperf")
        port = harness.free_udp_port()
        srv = harness.Proc([sockperf, "server", "-i", "127.0.0.1", "-p", str(port)])
        try:
            srv.wait_for(b"using", "out", timeout=10)
            self.check_server(port)
        finally:
            srv.kill()

    def test_against_socat(self):
        socat = harness.require_cmd("socat")
        port = harness.free_udp_port()
        srv = harness.Proc([socat, f"UDP4-RECVFROM:{port},bind=127.0.0.1,fork", "PIPE"])
        try:
            wait_answering(port)  # socat says nothing when bound
            # A fork per datagram: generous timeout on a busy machine.
            r, s = ping(port, "-W", "5", count=20, interval="0.05")
            self.assertEqual(r.returncode, 0)
            self.assertGreaterEqual(s[1], 15)
        finally:
            srv.kill()

    def test_against_tutorial_server(self):
        server = harness.tutorial_program("server.py")
        port = harness.free_udp_port()
        env = dict(os.environ, TUTORIAL_HOST="127.0.0.1", TUTORIAL_PORT=str(port))
        srv = harness.Proc([harness.python3(), server], env=env)
        try:
            wait_answering(port)  # the tutorial's server says nothing when bound
            # A Python server on a busy machine: a reply late by more than
            # -W counts as lost.
            r, s = ping(port, "-W", "5", count=20, interval="0.05")
            self.assertEqual(r.returncode, 0)
            self.assertGreaterEqual(s[1], 15)
            self.assertEqual(srv.proc.poll(), None, "the tutorial server crashed on our probes")
        finally:
            srv.kill()

    def test_loss_is_counted(self):
        with ScriptedEcho(lambda i, d: [(0, d)] if i % 2 else []) as half:
            r, s = ping(half.port, "-W", "0.2", count=10)
            self.assertEqual(r.returncode, 0)
            self.assertEqual(s[:3], (10, 5, 50))
            # Each line counts the probes whose wait ended together: on a
            # loaded machine two expire by the time ping looks.
            lost = re.findall(rb"^no reply from .* \((\d+) probes?\)$", r.stdout, re.M)
            self.assertEqual(sum(int(n) for n in lost), 5, r.stdout)

    def test_no_reply_at_all_exits_1(self):
        with ScriptedEcho(lambda i, d: []) as hole:
            r, s = ping(hole.port, "-W", "0.1", count=3)
            self.assertEqual(r.returncode, 1)
            self.assertEqual(s[:3], (3, 0, 100))

    def test_duplicates_are_counted_once(self):
        with ScriptedEcho(lambda i, d: [(0, d), (0, d)]) as dup:
            r, s = ping(dup.port, count=4)
            self.assertEqual(s[:3], (4, 4, 0))
            # ping ends when the last probe is answered, maybe before its copy.
            self.assertIn(s[3], (3, 4))
            self.assertIn(b"(DUP!)", r.stdout)

    def test_reordering_is_detected(self):
        # Probe 1's reply is held back until after probe 2's.
        with ScriptedEcho(lambda i, d: [(0.15, d)] if i == 0 else [(0, d)]) as peer:
            r, s = ping(peer.port, "-W", "1", count=3, interval="0.05")
            self.assertEqual(s[:2], (3, 3))
            self.assertEqual(s[4], 1)

    def test_late_reply_is_late_not_received(self):
        # Probe 1 is lost at 0.15 s, its reply comes at 0.3 s, ping runs to 0.6 s.
        with ScriptedEcho(lambda i, d: [(0.3, d)] if i == 0 else [(0, d)]) as peer:
            r, s = ping(peer.port, "-W", "0.15", count=4, interval="0.2")
            self.assertEqual(s[:2], (4, 3))
            self.assertEqual(s[5], 1)
            self.assertIn(b"(late", r.stdout)

    def test_replies_of_another_run_are_ignored(self):
        # A server answering with garbage or someone else's probe.
        with ScriptedEcho(lambda i, d: [(0, b"junk"), (0, d[:-1] + b"?")]) as peer:
            r, s = ping(peer.port, "-W", "0.2", count=2)
            self.assertEqual(s[:2], (2, 0))

    def test_sigint_prints_summary(self):
        s = udpkit("echo", "-p", "0", "-q")
        try:
            port = s.wait_bound()[1]
            p = udpkit("ping", "-i", "0.05", "127.0.0.1", port)
            p.wait_for(b"seq=3", "out")
            self.assertEqual(p.stop(signal.SIGINT), 0)
            self.assertIn(b"udpkit ping statistics", p.out())
        finally:
            s.kill()

    def test_deadline_stops(self):
        with ScriptedEcho(lambda i, d: [(0, d)]) as peer:
            # Without -w (and -c) ping would go on until the timeout. The
            # deadline allows at most 7 sends (0, 0.05 ... 0.3 s); a busy
            # machine may delay sends, never add any, so only the upper
            # bound is exact (a lower one of 4 failed a make check at load 16).
            r = harness.run("ping", "-w", "0.3", "-i", "0.05", "127.0.0.1", peer.port, timeout=60)
            m = SUMMARY.search(r.stdout.decode())
            self.assertTrue(1 <= int(m.group(1)) <= 8, r.stdout)

    def test_json(self):
        with ScriptedEcho(lambda i, d: [(0, d)]) as peer:
            r, _ = ping(peer.port, "--json", count=2)
            events = [json.loads(l) for l in r.stdout.decode().splitlines()]
            self.assertEqual([e["event"] for e in events], ["reply", "reply", "summary"])
            self.assertEqual(events[-1]["received"], 2)
            self.assertIn("rtt_avg_ms", events[-1])

    def test_ipv6(self):
        s = udpkit("echo", "-b", "::1", "-p", "0", "-q", "-m", "pure")
        try:
            port = s.wait_bound()[1]
            r = harness.run("ping", "-6", "-c", "2", "-i", "0.02", "::1", port)
            self.assertEqual(r.returncode, 0)
            self.assertIn(b"from [::1]:", r.stdout)
        finally:
            s.kill()

    def test_usage_errors_exit_2(self):
        for args in ([], ["-c", "0", "x"], ["-s", "5", "127.0.0.1"], ["-i", "abc", "127.0.0.1"]):
            self.assertEqual(harness.run("ping", *args).returncode, 2, args)


if __name__ == "__main__":
    unittest.main()
