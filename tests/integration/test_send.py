"""udpkit send: the client against real servers, lossy peers and nobody."""
import os
import subprocess
import time
import unittest

import harness
from harness import udpkit, udp_socket, SLOW
from peers import ScriptedEcho


def send(port, lines, *args, timeout=30):
    return harness.run("send", *args, "127.0.0.1", port, input=lines, timeout=timeout)


class TestSend(unittest.TestCase):
    def test_each_line_is_a_datagram_and_each_reply_is_printed(self):
        s = udpkit("echo", "-p", "0", "-m", "pure", "-q")
        try:
            _, port = s.wait_bound()
            r = send(port, "one\ntwo\n\x1b[31mthree\n".encode())
            self.assertEqual(r.returncode, 0, r.stderr)
            lines = r.stdout.decode().splitlines()
            self.assertEqual(len(lines), 3)
            self.assertRegex(lines[0], r"^reply from 127\.0\.0\.1:%d \(3 bytes, [\d.]+ ms\): one$" % port)
            self.assertTrue(lines[2].endswith(r"\e[31mthree"))
            self.assertIn(b"3 lines sent, 3 replied", r.stderr)
        finally:
            s.kill()

    def test_nobody_listening_is_reported_quickly(self):
        port = harness.free_udp_port()
        start = time.monotonic()
        r = send(port, b"anyone?\n", "-W", "5")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"nobody listens there (ICMP port unreachable)", r.stdout)
        self.assertLess(time.monotonic() - start, 5 * SLOW)  # ICMP, not the timeout

    def test_lost_replies_are_retried_then_reported(self):
        with ScriptedEcho(lambda i, d: []) as black_hole:
            start = time.monotonic()
            r = send(black_hole.port, b"hello?\n", "-W", "0.2", "-r", "3")
            took = time.monotonic() - start
            self.assertEqual(r.returncode, 1)
            self.assertIn(b"no reply from 127.0.0.1:%d after 4 tries" % black_hole.port, r.stdout)
            self.assertEqual(len(black_hole.received), 4)
            self.assertLess(took, 3 * SLOW)

    def test_retry_recovers_a_lost_reply(self):
        # The first copy of each line is dropped, the retry is answered.
        with ScriptedEcho(lambda i, d: [] if i % 2 == 0 else [(0, d)]) as lossy:
            r = send(lossy.port, b"a\nb\n", "-W", "0.2")
            self.assertEqual(r.returncode, 0, r.stdout)
            self.assertEqual(r.stdout.count(b"reply from"), 2)

    def test_late_reply_is_not_taken_for_the_next_line(self):
        # The reply to the first line comes after the client gave up on it.
        def policy(i, d):
            return [(0.6, d)] if d == b"slow" else [(0, d)]
        with ScriptedEcho(policy) as peer:
            p = udpkit("send", "-W", "0.3", "-r", "0", "127.0.0.1", peer.port,
                       stdin=subprocess.PIPE)
            p.proc.stdin.write(b"slow\n")
            p.proc.stdin.flush()
            p.wait_for(b"no reply", "out")
            # The late reply is in the client's queue before the next line.
            peer.wait_sent(b"slow", timeout=10 * SLOW)
            p.proc.stdin.write(b"fast\n")
            p.proc.stdin.close()
            self.assertEqual(p.wait(), 1)
            out = p.out().decode()
            self.assertIn("late reply from 127.0.0.1:%d (4 bytes): slow" % peer.port, out)
            self.assertIn("(4 bytes, ", out)
            self.assertRegex(out, r"reply from 127\.0\.0\.1:\d+ \(4 bytes, [\d.]+ ms\): fast")

    def test_replies_from_other_addresses_are_ignored(self):
        # A forged "reply" from another socket must never be printed.
        def policy(i, d):
            return [(0.3, b"real " + d)]
        with ScriptedEcho(policy) as peer:
            p = udpkit("send", "-W", "2", "127.0.0.1", peer.port, stdin=subprocess.PIPE)
            p.proc.stdin.write(b"x\n")
            p.proc.stdin.flush()
            deadline = time.monotonic() + 5
            while not peer.received and time.monotonic() < deadline:
                time.sleep(0.01)
            client_addr = peer.received[0][1]
            udp_socket().sendto(b"forged", client_addr)
            p.proc.stdin.close()
            self.assertEqual(p.wait(), 0)
            self.assertNotIn(b"forged", p.out())
            self.assertIn(b"real x", p.out())

    def test_tutorial_server_as_peer(self):
        server = harness.tutorial_program("server.py")
        port = harness.free_udp_port()
        env = dict(os.environ, TUTORIAL_HOST="127.0.0.1", TUTORIAL_PORT=str(port))
        srv = harness.Proc([harness.python3(), server], env=env)
        try:
            harness.wait_udp_bound(port)  # the tutorial's server says nothing when bound
            r = send(port, "你好\n".encode())
            self.assertEqual(r.returncode, 0, r.stdout)
            self.assertRegex(r.stdout.decode(), r"reply from 127\.0\.0\.1:%d \(\d+ bytes, .*\): 【.{24}你好" % port)
        finally:
            srv.kill()

    def test_json_output(self):
        import json
        s = udpkit("echo", "-p", "0", "-m", "pure", "-q")
        try:
            _, port = s.wait_bound()
            r = send(port, b"j\n", "--json")
            ev = json.loads(r.stdout.decode().splitlines()[0])
            self.assertEqual((ev["event"], ev["reply"], ev["bytes"], ev["tries"]), ("reply", "j", 1, 1))
        finally:
            s.kill()

    def test_usage_errors_exit_2(self):
        for args in (["-W", "0"], ["-r", "x"], ["127.0.0.1", "99999"], ["a", "1", "extra"]):
            self.assertEqual(harness.run("send", *args, input=b"").returncode, 2, args)


if __name__ == "__main__":
    unittest.main()
