"""udpkit ifaces, and the parts of broadcast and listen that need no LAN,
in the root namespace: only loopback traffic, and error paths that fail
before anything is sent. Each test checks that no interface but lo sent a
packet meanwhile. Broadcast and multicast themselves are tested in the lab
(test_broadcast_lab.py), never here."""
import json
import os
import signal
import socket
import unittest

import harness
import netlab

BIN = harness.BIN


class RootNsTest(unittest.TestCase):
    timeout_s = 30

    def setUp(self):
        self.tx_before = netlab.root_tx_packets()
        self.addCleanup(lambda: netlab.assert_root_tx_unchanged(self.tx_before))


class TestRootWatch(unittest.TestCase):
    """The root-namespace watch itself (tests/lib/netlab.py RootTxWatch):
    it sees a test's own packets and nothing else. Shown on lo, the only
    interface a test may send on in the root namespace."""

    def test_sees_our_packets_and_ignores_others(self):
        harness.require_root(self)
        mine, theirs = udp_pair(), udp_pair()
        # Loopback carries every other program's traffic too (benchmarks,
        # floods): the filter keeps only the test's ports in the kernel, so
        # the watch cannot drop ours on a busy machine.
        watch = netlab.RootTxWatch(ports=[mine[1].getsockname()[1]], skip=(), kernel_ports=True).start()
        mine[0].sendto(b"ours", mine[1].getsockname())
        theirs[0].sendto(b"not ours", theirs[1].getsockname())
        mine[1].recv(100)
        theirs[1].recv(100)  # both sent: the kernel has handed them to the watch
        found = watch.stop()
        self.assertEqual([(f[0], f[4]) for f in found], [("lo", mine[1].getsockname()[1])])
        self.assertEqual(watch.dropped, 0)

    def test_classifies_broadcast_multicast_and_lab_packets(self):
        import ipaddress
        watch = netlab.RootTxWatch(ports=[40000])
        watch._bcast = {ipaddress.ip_address("255.255.255.255"), ipaddress.ip_address("192.0.2.255")}
        ip = ipaddress.ip_address
        cases = [
            (("eth0", (ip("192.0.2.2"), ip("192.0.2.9"), 50000, 40000)), True),   # our port
            (("eth0", (ip("192.0.2.2"), ip("192.0.2.9"), 50000, 8086)), True),    # udpkit's
            (("eth0", (ip("192.0.2.2"), ip("192.0.2.255"), 50000, 9999)), True),  # broadcast
            (("eth0", (ip("192.0.2.2"), ip("239.1.2.3"), 50000, 9999)), True),    # multicast
            (("eth0", (ip("fe80::1"), ip("ff02::1"), 50000, 9999)), True),
            (("eth0", (ip("192.0.2.2"), ip("10.77.0.3"), 50000, 9999)), True),    # the lab
            (("eth0", (ip("192.0.2.2"), ip("192.0.2.9"), 50000, 443)), False),    # someone else
            (("eth0", (ip("192.0.2.2"), ip("255.255.255.255"), 68, 67)), False),  # DHCP
            (("eth0", (ip("fe80::1"), ip("ff02::fb"), 5353, 5353)), False),       # mDNS
            (("lo", (ip("127.0.0.1"), ip("127.0.0.1"), 50000, 40000)), False),    # loopback
        ]
        for (iface, pkt), want in cases:
            self.assertEqual(watch.ours(iface, pkt), want, (iface, pkt))


def udp_pair():
    a, b = harness.udp_socket(), harness.udp_socket()
    return a, b


class TestIfaces(RootNsTest):
    def test_lists_every_interface_with_reasons(self):
        r = harness.run("ifaces")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode()
        self.assertIn("lo (index 1): up", out)
        self.assertIn("inet 127.0.0.1/8", out)
        self.assertIn("broadcast: skipped: loopback", out)
        self.assertRegex(out, r"\nbroadcast (goes to:|: no usable interface)")

    def test_json_matches_the_kernel(self):
        r = harness.run("ifaces", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        objs = [json.loads(line) for line in r.stdout.decode().splitlines()]
        self.assertEqual({o["name"] for o in objs}, set(os.listdir("/sys/class/net")))
        for o in objs:
            with open(f"/sys/class/net/{o['name']}/mtu") as f:
                self.assertEqual(o["mtu"], int(f.read()))
            with open(f"/sys/class/net/{o['name']}/ifindex") as f:
                self.assertEqual(o["index"], int(f.read()))
            self.assertEqual(o["broadcast"], "broadcast_skipped" not in o)
        lo = next(o for o in objs if o["name"] == "lo")
        self.assertFalse(lo["broadcast"])
        self.assertEqual(lo["broadcast_skipped"], "loopback")

    def test_one_interface_and_errors(self):
        r = harness.run("ifaces", "-I", "lo")
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith(b"lo (index 1)"))
        self.assertEqual(r.stdout.count(b"(index"), 1)
        r = harness.run("ifaces", "-I", "nosuch0")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"nosuch0: no such interface", r.stderr)
        self.assertEqual(harness.run("ifaces", "extra").returncode, 2)


class TestBroadcastErrors(RootNsTest):
    def test_usage_errors(self):
        for args in (["--wait", "0"], ["--wait", "x"], ["--retries", "101"], ["-p", "0"],
                     ["--ttl", "0"], ["--source-port", "70000"], ["--bogus"]):
            r = harness.run("broadcast", *args, "x")
            self.assertEqual(r.returncode, 2, args)
            self.assertIn(b"Try 'udpkit broadcast --help'", r.stderr)

    def test_unknown_interface_fails_before_sending(self):
        r = harness.run("broadcast", "-I", "nosuch0", "x")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"nosuch0: no such interface", r.stderr)
        self.assertEqual(r.stdout, b"")

    def test_unicast_to_a_loopback_listener(self):
        l = harness.udpkit("listen", "-b", "127.0.0.1", "-p", "0", "--reply", "here")
        _, port = l.wait_bound()
        r = harness.run("broadcast", "--to", "127.0.0.1", "-p", port, "--wait", "0.5", "hi")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"127.0.0.1:{port}".encode(), r.stdout)
        self.assertIn(b"here", r.stdout)
        self.assertIn(b"1 responder", r.stdout)
        self.assertEqual(l.stop(), 0)
        self.assertIn(b"(unicast to 127.0.0.1)", l.out())

    def test_nobody_answers_exit_1(self):
        s = harness.udp_socket()  # bound, silent
        port = s.getsockname()[1]
        r = harness.run("broadcast", "--to", "127.0.0.1", "-p", port, "--wait", "0.2", "x")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"0 responders", r.stdout)
        self.assertIn(b"x", s.recv(100))
        s.close()


class TestListenLoopback(RootNsTest):
    def test_replies_escapes_and_exits_with_counts(self):
        l = harness.udpkit("listen", "-b", "127.0.0.1", "-p", "0")
        _, port = l.wait_bound()
        s = harness.udp_socket()
        s.sendto(b"\x1b]0;pwned\x07hi", ("127.0.0.1", port))
        reply, addr = s.recvfrom(1000)
        self.assertTrue(reply.startswith(b"ack from "))
        self.assertLessEqual(len(reply), 256)
        self.assertEqual(addr, ("127.0.0.1", port))
        l.wait_for(b"\n", "out")
        self.assertEqual(l.stop(signal.SIGINT), 0)
        self.assertIn(b"\\e]0;pwned\\x07hi", l.out())
        self.assertNotIn(b"\x1b", l.out())
        self.assertIn(b"1 datagram (12 bytes) received: 1 unicast", l.err())
        self.assertIn(b"1 reply sent", l.err())
        s.close()

    def test_rate_limit_applies_to_loopback(self):
        l = harness.udpkit("listen", "-b", "127.0.0.1", "-p", "0", "--rate-limit", "3", "-q")
        _, port = l.wait_bound()
        s = harness.udp_socket(timeout=0.5)
        for _ in range(20):
            s.sendto(b"x", ("127.0.0.1", port))
        n = 0
        try:
            while True:
                s.recv(100)
                n += 1
        except socket.timeout:
            pass
        self.assertEqual(n, 3)
        self.assertEqual(l.stop(), 0)
        self.assertIn(b"17 rate", l.err())
        s.close()

    def test_usage_errors(self):
        for args in (["--reply", "x" * 257], ["--reply", "a", "--no-reply"], ["-q", "--json"],
                     ["--rate-limit", "-1"], ["--jitter", "10001"], ["-p", "x"]):
            r = harness.run("listen", *args)
            self.assertEqual(r.returncode, 2, args)
        r = harness.run("listen", "-b", "127.0.0.1", "-p", "0", "-g", "10.0.0.1")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"not a multicast group address", r.stderr)
        r = harness.run("listen", "-b", "127.0.0.1", "-p", "0", "-g", "ff02::1")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"needs an IPv6 socket", r.stderr)


if __name__ == "__main__":
    unittest.main()
