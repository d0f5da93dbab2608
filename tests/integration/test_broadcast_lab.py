"""udpkit broadcast and udpkit listen on a private virtual LAN (tests/lib/
netlab.py): three hosts on one bridge, built per test and removed after it.
Every test also checks that no root-namespace interface sent a packet.
Skipped, with the reason, where the lab cannot be built (not root)."""
import json
import os
import pty
import re
import signal
import subprocess
import time
import unittest

import harness
import netlab

BIN = harness.BIN
H1, H2, H3 = 1, 2, 3


class LabTest(unittest.TestCase):
    timeout_s = 60
    hosts = 3

    def setUp(self):
        self.tx_before = netlab.root_tx_packets()
        self.lab = netlab.Lab(hosts=self.hosts)
        self.lab.__enter__()
        self.addCleanup(self._teardown)

    def _teardown(self):
        self.lab.close()
        left = [n for n in netlab._ip("netns", "list", check=False).stdout.split()
                if n.startswith(self.lab.prefix + "-")]
        self.assertEqual(left, [], "namespaces left behind")
        netlab.assert_root_tx_unchanged(self.tx_before)

    # helpers ------------------------------------------------------------
    def listen(self, host, *args):
        p = self.lab.popen(host, [BIN, "listen", *args])
        p.wait_bound()
        return p

    def broadcast(self, host, *args, timeout=20, input=None):
        r = self.lab.run(host, [BIN, "broadcast", *args], timeout=timeout, input=input)
        return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")

    def stop(self, p):
        rc = p.stop(signal.SIGINT)
        self.assertEqual(rc, 0, p.err())
        return p.out().decode("utf-8", "replace"), p.err().decode("utf-8", "replace")


class TestBroadcast(LabTest):
    def test_reaches_two_hosts_and_lists_both_replies(self):
        l2, l3 = self.listen(H2), self.listen(H3)
        # --count ends the wait once both have answered: were it ignored,
        # the hour's wait would time the run out.
        rc, out, err = self.broadcast(H1, "--wait", "3600", "--count", "2", "hello lab", timeout=60)
        self.assertEqual(rc, 0, err)
        self.assertIn("10.77.0.2:8086", out)
        self.assertIn("10.77.0.3:8086", out)
        self.assertIn("2 responders", out)
        self.assertIn("ack from", out)
        self.assertIn("sent 39 bytes to 10.77.0.255:8086 on lan0", err)
        for p in (l2, l3):
            o, e = self.stop(p)
            self.assertIn("10.77.0.1:", o)
            self.assertIn("(broadcast to 10.77.0.255)", o)
            self.assertIn("】hello lab", o)
            self.assertIn("1 reply sent", e)

    def test_two_listeners_on_one_host_both_receive(self):
        a = self.listen(H2, "--reply", "first")
        b = self.listen(H2, "--reply", "second")
        rc, out, err = self.broadcast(H1, "--raw", "both of you")
        self.assertEqual(rc, 0, err)
        # One responder address (both listen on 10.77.0.2:8086), two replies.
        self.assertIn("10.77.0.2:8086", out)
        self.assertIn("answered 2 times", out)
        self.assertIn("1 responder, 1 duplicate reply", out)
        for p in (a, b):
            o, _ = self.stop(p)
            self.assertIn("bytes: both of you", o)

    def test_directed_broadcast(self):
        l2, l3 = self.listen(H2), self.listen(H3)
        rc, out, err = self.broadcast(H1, "--to", "10.77.0.255", "directed")
        self.assertEqual(rc, 0, err)
        self.assertIn("2 responders", out)
        for p in (l2, l3):
            self.assertIn("(broadcast to 10.77.0.255)", self.stop(p)[0])

    def test_limited_broadcast(self):
        l2, l3 = self.listen(H2), self.listen(H3)
        rc, out, err = self.broadcast(H1, "--to", "255.255.255.255", "limited")
        self.assertEqual(rc, 0, err)
        self.assertIn("10.77.0.2:8086", out)
        self.assertIn("10.77.0.3:8086", out)
        for p in (l2, l3):
            self.assertIn("(broadcast to 255.255.255.255)", self.stop(p)[0])

    def test_limited_broadcast_without_route(self):
        l2 = self.listen(H2)
        self.lab.ip(H1, "route", "del", "255.255.255.255/32", "dev", "lan0")
        rc, out, err = self.broadcast(H1, "--to", "255.255.255.255", "x")
        self.assertEqual(rc, 2)  # an error, not silence (docs/cli.md)
        self.assertIn("Network is unreachable", err)
        self.assertIn("-I", err)
        self.assertNotIn("Traceback", err)
        # Naming the interface sends from its address: no route needed.
        rc, out, err = self.broadcast(H1, "-I", "lan0", "--to", "255.255.255.255", "y")
        self.assertEqual(rc, 0, err)
        self.assertIn("10.77.0.2:8086", out)
        o, _ = self.stop(l2)
        self.assertNotIn("】x", o)
        self.assertIn("】y", o)

    def test_permission_denied_without_so_broadcast(self):
        # An address without 'brd +': the kernel still treats 10.78.0.255 as
        # broadcast, but no interface lists it, so SO_BROADCAST is not set.
        self.lab.ip(H1, "addr", "add", "10.78.0.1/24", "dev", "lan0")
        rc, out, err = self.broadcast(H1, "--to", "10.78.0.255", "x")
        self.assertEqual(rc, 2)  # an error, not silence (docs/cli.md)
        self.assertIn("Permission denied", err)
        self.assertIn("SO_BROADCAST", err)
        self.assertIn("brd +", err)
        # And that address gives no broadcast target by default.
        r = self.lab.run(H1, [BIN, "ifaces", "-I", "lan0"], timeout=10)
        self.assertIn(b"inet 10.78.0.1/24 (no broadcast address)", r.stdout)

    def test_network_unreachable(self):
        rc, out, err = self.broadcast(H1, "--to", "192.0.2.1", "x")
        self.assertEqual(rc, 2)  # an error, not silence (docs/cli.md)
        self.assertIn("Network is unreachable", err)
        self.assertEqual(out, "")

    def test_no_broadcast_capable_interface(self):
        rc, out, err = self.broadcast(H1, "-I", "lo", "x")
        self.assertEqual(rc, 2)  # an error, not silence (docs/cli.md)
        self.assertIn("no broadcast-capable interface named lo", err)
        self.assertIn("lo: loopback", err)
        self.lab.ip(H1, "link", "set", "lan0", "down")
        rc, out, err = self.broadcast(H1, "x")
        self.assertEqual(rc, 2)  # an error, not silence (docs/cli.md)
        self.assertIn("no broadcast-capable interface", err)
        self.assertIn("lan0: down", err)
        rc, out, err = self.broadcast(H1, "-I", "eth9", "x")
        self.assertEqual(rc, 2)  # an error, not silence (docs/cli.md)
        self.assertIn("eth9: no such interface", err)

    def test_own_datagram_is_not_a_reply(self):
        # Bound to the port it broadcasts to, the sender hears its own
        # broadcast; it must not list itself. Listeners refuse a source on
        # their own port (it could be another listener: a loop).
        l1 = self.listen(H1)
        l2 = self.listen(H2)
        rc, out, err = self.broadcast(H1, "--source-port", "8086", "--wait", "2", "--raw", "me")
        self.assertEqual(rc, 1, err)
        self.assertIn("warning: --source-port equals --port", err)
        self.assertIn("0 responders, own datagram looped back 1 time (ignored)", out)
        self.assertNotIn("10.77.0.1:8086", out)
        for p in (l1, l2):
            o, e = self.stop(p)
            self.assertIn("10.77.0.1:8086 (broadcast to 10.77.0.255) 2 bytes: [not answered: loop] me", o)
            self.assertIn("0 replies sent", e)
        # From another port, the same listeners answer, the local one included.
        l1, l2 = self.listen(H1, "--reply", "local"), self.listen(H2, "--reply", "remote")
        rc, out, err = self.broadcast(H1, "--source-port", "8087", "--wait", "30", "--count", "2",
                                      "--raw", "me", timeout=60)
        self.assertEqual(rc, 0, err)
        self.assertIn("2 responders", out)
        self.assertIn("local", out)
        self.assertIn("remote", out)
        self.stop(l1)
        self.stop(l2)

    def test_two_listeners_never_answer_each_other(self):
        # One forged datagram from h2's listener port to h3's listener: with
        # no same-port rule they would ping-pong at the rate limit forever.
        l2, l3 = self.listen(H2, "--jitter", "0"), self.listen(H3, "--jitter", "0")
        forge = r"""
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8086))
s.sendto(b"start", ("10.77.0.3", 8086))
"""
        # Sent from h2's own port 8086 (sharing it with h2's listener).
        self.lab.run(H2, [harness.python3(), "-c", forge], timeout=10, check=True)
        # The event: l3 refuses to answer (same port as its own), so
        # nothing is in flight any more and no loop can start.
        l3.wait_for(b"[not answered: loop] start", "out", 10)
        o3, e3 = self.stop(l3)
        o2, e2 = self.stop(l2)
        self.assertIn("[not answered: loop] start", o3)
        self.assertIn("0 replies sent", e3)
        self.assertEqual(o2, "")

    def test_retries_recover_a_host_cut_for_the_first_try(self):
        l2, l3 = self.listen(H2), self.listen(H3)
        # Without retries, a host cut off is simply missing.
        self.lab.cut(H3)
        rc, out, err = self.broadcast(H1, "--wait", "30", "--count", "1", "once", timeout=60)
        self.assertIn("1 responder", out)
        self.assertNotIn("10.77.0.3", out)
        # With retries: heal as soon as h2 has the first try.
        b = self.lab.popen(H1, [BIN, "broadcast", "--wait", "3", "--retries", "2", "--raw", "again"])
        l2.wait_for(b"bytes: again", "out", 10)
        self.lab.heal(H3)
        self.assertEqual(b.wait(20), 0, b.err())
        out = b.out().decode()
        self.assertIn("10.77.0.3:8086", out)
        self.assertIn("2 responders", out)
        o3, _ = self.stop(l3)
        self.assertNotIn("once", o3)
        self.assertIn("bytes: again", o3)

    def test_duplicated_replies_are_listed_once(self):
        l2 = self.listen(H2)
        self.lab.dup(H2, 50)   # frames to h2 are duplicated at random
        rc, out, err = self.broadcast(H1, "--json", "--wait", "5", "--retries", "2", "dup")
        self.assertEqual(rc, 0, err)
        objs = [json.loads(line) for line in out.splitlines()]
        # Each responder once as its first reply arrives, then its count.
        replies = [o for o in objs if o["event"] == "reply"]
        self.assertEqual([o["from"] for o in replies], ["10.77.0.2:8086"])
        self.assertGreater(replies[0]["rtt_ms"], 0)
        responders = [o for o in objs if o["event"] == "responder"]
        self.assertEqual([o["from"] for o in responders], ["10.77.0.2:8086"])
        self.assertGreaterEqual(responders[0]["replies"], 3)
        summary = objs[-1]
        self.assertEqual(summary["event"], "summary")
        self.assertEqual(summary["responders"], 1)
        self.assertGreaterEqual(summary["duplicates"], 2)
        self.assertTrue(summary["message"].endswith("】dup"))
        self.stop(l2)

    def test_stdin_lines_are_messages(self):
        l2 = self.listen(H2)
        rc, out, err = self.broadcast(H1, "--wait", "30", "--count", "1", "--raw",
                                      input=b"one\ntwo\n", timeout=90)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.count("1 responder"), 2)
        o, _ = self.stop(l2)
        self.assertIn("bytes: one", o)
        self.assertIn("bytes: two", o)
        self.assertNotIn("message: ", err)  # no prompt when stdin is not a terminal


    def test_prompts_on_a_terminal(self):
        l2 = self.listen(H2)
        master, slave = pty.openpty()
        try:
            p = self.lab.popen(H1, [BIN, "broadcast", "--wait", "30", "--count", "1", "--raw"],
                               stdin=slave)
            os.close(slave)
            slave = -1
            p.wait_for(b"message: ", "err", 10)
            os.write(master, b"typed\n")
            p.wait_for(b"1 responder", "out", 10)
            p.wait_for(b"\nmessage: ", "err", 10)   # the next prompt
            os.write(master, b"\x04")                      # ^D: end of input
            self.assertEqual(p.wait(10), 0, p.err())
        finally:
            os.close(master)
            if slave >= 0:
                os.close(slave)
        o, _ = self.stop(l2)
        self.assertIn("bytes: typed", o)


class TestMulticast(LabTest):
    def test_ipv4_multicast_reaches_only_joined_hosts(self):
        member = self.listen(H2, "-g", "239.77.0.1")
        # A non-member on the member's own host and port: Linux would hand it
        # group datagrams if both sockets had SO_REUSEPORT (docs/broadcast.md).
        bystander = self.listen(H2, "--reply", "bystander")
        other = self.listen(H3)
        # 40 datagrams from 40 source ports: the kernel's reuseport choice is
        # per flow, so a member that shares the port badly misses about half.
        many = r'''
import socket
for i in range(40):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(b"f%02d" % i, ("239.77.0.1", 8086))
'''
        self.lab.run(H1, [harness.python3(), "-c", many], timeout=10, check=True)
        rc, out, err = self.broadcast(H1, "--to", "239.77.0.1", "--wait", "30", "--count", "1",
                                      "--raw", "last", timeout=60)
        self.assertEqual(rc, 0, err)
        self.assertIn("10.77.0.2:8086", out)
        self.assertIn("1 responder", out)
        self.assertNotIn("10.77.0.3", out)
        self.assertNotIn("bystander", out)
        o, e = self.stop(member)
        for i in range(40):
            self.assertIn(f"(multicast to 239.77.0.1) 3 bytes: f{i:02d}", o)
        self.assertIn("(multicast to 239.77.0.1) 4 bytes: last", o)
        for p in (bystander, other):
            o, e = self.stop(p)
            self.assertEqual(o, "")
            self.assertIn("0 datagrams (0 bytes) received", e)
            # IP_MULTICAST_ALL off: the kernel did not even hand them over.
            self.assertIn("0 datagrams to groups not joined ignored", e)

    def test_ipv6_multicast_across_hosts(self):
        l2 = self.listen(H2, "-g", "ff02::77:1", "-I", "lan0")
        l3 = self.listen(H3, "-g", "ff02::77:1")
        l3b = self.listen(H3, "-p", "8087", "-g", "ff02::77:2")
        rc, out, err = self.broadcast(H1, "--to", "ff02::77:1", "-I", "lan0", "six")
        self.assertEqual(rc, 0, err)
        self.assertIn("[fe80::77:ff:fe00:2%lan0]:8086", out)
        self.assertIn("[fe80::77:ff:fe00:3%lan0]:8086", out)
        self.assertIn("2 responders", out)
        # All nodes: an IPv6 listener joins ff02::1 by itself.
        rc, out, err = self.broadcast(H1, "--to", "ff02::1", "-I", "lan0", "all")
        self.assertEqual(rc, 0, err)
        self.assertIn("2 responders", out)
        for p in (l2, l3):
            o, _ = self.stop(p)
            self.assertIn("(multicast to ff02::77:1)", o)
            self.assertIn("(multicast to ff02::1)", o)
            self.assertIn("[fe80::77:ff:fe00:1%lan0]:", o)
        o, _ = self.stop(l3b)
        self.assertNotIn("six", o)


    def test_dual_stack_listener_hears_ipv4_broadcast_and_ff02_1(self):
        l2 = self.listen(H2, "-b", "::")
        rc, out, err = self.broadcast(H1, "v4")
        self.assertEqual(rc, 0, err)
        self.assertIn("10.77.0.2:8086", out)
        rc, out, err = self.broadcast(H1, "--to", "ff02::1", "-I", "lan0", "v6")
        self.assertEqual(rc, 0, err)
        self.assertIn("[fe80::77:ff:fe00:2%lan0]:8086", out)
        o, e = self.stop(l2)
        self.assertIn("joined ff02::1 on lan0", e)
        self.assertIn("(broadcast to 10.77.0.255)", o)
        self.assertIn("(multicast to ff02::1)", o)


class TestListenSafety(LabTest):
    def test_replies_to_broadcasts_are_jittered_unicast_not(self):
        l2 = self.listen(H2, "--jitter", "1000")
        l3 = self.listen(H3, "--jitter", "1000")
        rc, out, err = self.broadcast(H1, "--json", "--wait", "30", "--count", "2", "spread",
                                      timeout=60)
        self.assertEqual(rc, 0, err)
        rtts = [o["rtt_ms"] for o in map(json.loads, out.splitlines()) if o["event"] == "reply"]
        self.assertEqual(len(rtts), 2, out)
        # Uniform in [0, 1000) ms: both under 20 ms has probability 0.0004.
        self.assertGreater(max(rtts), 20, rtts)
        rc, out, err = self.broadcast(H1, "--json", "--to", self.lab.addr(H2), "--wait", "30",
                                      "--count", "1", "direct", timeout=60)
        self.assertEqual(rc, 0, err)
        self.assertLess(json.loads(out.splitlines()[0])["rtt_ms"], 500)
        self.stop(l2)
        self.stop(l3)

    def test_flood_gets_rate_limited_replies(self):
        l2 = self.listen(H2, "--rate-limit", "5", "--jitter", "0", "-q")
        flood = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.bind(("0.0.0.0", 0))
for i in range(300):
    s.sendto(b"flood", ("10.77.0.255", 8086))
s.settimeout(1.0)
n = 0
try:
    while True:
        s.recv(512); n += 1
except socket.timeout:
    pass
print(n)
"""
        r = self.lab.run(H1, [harness.python3(), "-c", flood], timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        replies = int(r.stdout)
        self.assertGreaterEqual(replies, 5)
        self.assertLessEqual(replies, 5 + 5 * 3)  # the burst, then 5 per second
        _, e = self.stop(l2)
        m = re.search(r"(\d+) datagrams \(\d+ bytes\) received.*?(\d+) replies sent", e)
        received, sent = int(m.group(1)), int(m.group(2))
        dropped = int(re.search(r"(\d+) rate,", e).group(1))
        self.assertGreaterEqual(received, 100)  # the rest overflowed the socket buffer
        self.assertEqual(sent, replies)
        self.assertEqual(dropped, received - sent)

    def test_low_port_and_bounded_reply(self):
        l2 = self.listen(H2, "--jitter", "0")
        probe = r"""
import socket
low = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
low.bind(("0.0.0.0", 999))
low.settimeout(0.5)
low.sendto(b"from a low port", ("10.77.0.2", 8086))
try:
    low.recv(512); print("low answered")
except socket.timeout:
    print("low silent")
hi = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
hi.settimeout(2)
hi.sendto(b"x" * 60000, ("10.77.0.2", 8086))
print(len(hi.recv(65535)))
"""
        r = self.lab.run(H1, [harness.python3(), "-c", probe], timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.decode().split()
        self.assertEqual(lines[0:2], ["low", "silent"])
        self.assertLessEqual(int(lines[2]), 256)
        o, e = self.stop(l2)
        self.assertIn("[not answered: lowport] from a low port", o)
        self.assertIn("60000 bytes", o)

    def test_listen_output_is_escaped_and_json(self):
        l2 = self.listen(H2, "--json", "--no-reply")
        send = r"""
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.sendto(b"\x1b[2J\xff\n", ("10.77.0.255", 8086))
"""
        self.lab.run(H1, [harness.python3(), "-c", send], timeout=10, check=True)
        l2.wait_for(b"\n", "out", 10)
        o, e = self.stop(l2)
        obj = json.loads(o.splitlines()[0])
        self.assertEqual(obj["text"], "\\e[2J\\xff\\n")
        self.assertEqual(obj["kind"], "broadcast")
        self.assertEqual(obj["outcome"], "silent")
        self.assertNotIn("\x1b", o)
        self.assertIn("0 replies sent", e)

    def test_tutorial_broadcast_py_reads_the_reply(self):
        prog = harness.tutorial_program("broadcast.py")
        l2 = self.listen(H2, "--reply", "ack for the tutorial")
        for host in ("0.0.0.0", self.lab.addr(H1)):
            r = self.lab.run(H1, ["env", f"TUTORIAL_HOST={host}", "TUTORIAL_PORT=8080",
                                  harness.python3(), prog], input="广播\n".encode(), timeout=20)
            out = r.stdout.decode("utf-8", "replace")
            self.assertIn("('10.77.0.2', 8086)", out, r.stderr)
            self.assertIn("ack for the tutorial", out)
        o, _ = self.stop(l2)
        self.assertEqual(o.count("(broadcast to 255.255.255.255)"), 2, o)
        self.assertIn("广播", o)


class TestLabHelper(LabTest):
    """The lab itself: faults work, teardown and gc leave nothing behind."""

    def test_loss_cut_and_heal(self):
        l2, l3 = self.listen(H2), self.listen(H3)
        self.lab.loss(H2, 100)
        rc, out, err = self.broadcast(H1, "--wait", "30", "--count", "1", "a", timeout=60)
        self.assertIn("10.77.0.3:8086", out)
        self.assertNotIn("10.77.0.2", out)
        self.lab.clear(H2)
        self.lab.cut(H3)
        rc, out, err = self.broadcast(H1, "--wait", "30", "--count", "1", "b", timeout=60)
        self.assertIn("10.77.0.2:8086", out)
        self.assertNotIn("10.77.0.3", out)
        self.lab.heal(H3)
        rc, out, err = self.broadcast(H1, "--wait", "30", "--count", "2", "c", timeout=60)
        self.assertIn("2 responders", out)
        self.stop(l2)
        self.stop(l3)

    def test_teardown_ends_processes_and_gc_removes_orphans(self):
        p = self.lab.popen(H2, ["sleep", "60"])
        pid = p.pid
        other = netlab.Lab(hosts=1)
        # The owner is alive while the lab is built (another suite's gc on a
        # shared machine may run at any time), then dies: an orphan.
        owner = subprocess.Popen(["sleep", "600"])
        other.owner = owner.pid
        other.__enter__()
        try:
            orphan = subprocess.Popen(other.exec_argv(1, ["sleep", "60"]))
            names = netlab._ip("netns", "list").stdout
            self.assertIn(other.ns(1), names)
            owner.kill()
            owner.wait()
            netlab.gc()  # ours, or a concurrent one, removes the orphan lab
            self.assertNotIn(other.ns(1), netlab._ip("netns", "list").stdout)
            self.assertEqual(orphan.wait(10), -signal.SIGTERM)
            self.assertNotIn(self.lab.prefix, netlab.gc())   # ours is alive
        finally:
            if owner.poll() is None:
                owner.kill()
                owner.wait()
            other.close()
        self.lab.close()
        self.assertFalse(os.path.exists(f"/proc/{pid}") and p.proc.poll() is None)
        self.assertNotIn(self.lab.prefix, netlab._ip("netns", "list").stdout)


class TestIfacesInLab(LabTest):
    hosts = 1

    def test_ifaces_shows_lan0(self):
        r = self.lab.run(H1, [BIN, "ifaces"], timeout=10)
        out = r.stdout.decode()
        self.assertEqual(r.returncode, 0)
        self.assertIn("lan0 (index", out)
        self.assertIn("inet 10.77.0.1/24 brd 10.77.0.255", out)
        self.assertIn("inet6 fe80::77:ff:fe00:1%lan0/64", out)
        self.assertIn("mtu 1500", out)
        self.assertIn("broadcast goes to: 10.77.0.255 (lan0)", out)
        r = self.lab.run(H1, [BIN, "ifaces", "--json"], timeout=10)
        objs = {o["name"]: o for o in map(json.loads, r.stdout.decode().splitlines())}
        self.assertTrue(objs["lan0"]["broadcast"])
        self.assertTrue(objs["lan0"]["multicast"])
        self.assertEqual(objs["lo"]["broadcast_skipped"], "loopback")
        # An interface taken down is skipped, and said so.
        self.lab.ip(H1, "link", "set", "lan0", "down")
        out = self.lab.run(H1, [BIN, "ifaces"], timeout=10).stdout.decode()
        self.assertIn("broadcast: skipped: down", out)
        self.assertIn("broadcast: no usable interface", out)


if __name__ == "__main__":
    unittest.main()
