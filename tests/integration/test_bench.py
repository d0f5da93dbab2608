"""udpkit bench: drives echo servers and reports honestly (functional
checks only: speed is measured by `make bench`, never asserted here)."""
import json
import unittest

import harness
from harness import udpkit


def bench(port, *args):
    r = harness.run("bench", "--json", "-d", "0.5", *args, "127.0.0.1", port, timeout=60)
    return r, json.loads(r.stdout.decode()) if r.stdout else None


class TestBench(unittest.TestCase):
    def test_closed_loop_against_udpkit_echo(self):
        s = udpkit("echo", "-p", "0", "-q", "-m", "pure")
        try:
            r, res = bench(s.wait_bound()[1], "--window", "16", "--flows", "2")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertGreater(res["received"], 100)
            self.assertEqual(res["lost"], 0)
            self.assertEqual(res["received"], res["sent"])
            self.assertGreater(res["echoes_per_s"], 0)
            self.assertLessEqual(res["latency_us"]["p50"], res["latency_us"]["p99"])
        finally:
            s.stop()
        self.assertIn(b"0 send failed", s.err())

    def test_fixed_rate(self):
        s = udpkit("echo", "-p", "0", "-q", "-m", "sockperf")
        try:
            r, res = bench(s.wait_bound()[1], "--rate", "2000")
            self.assertEqual(r.returncode, 0)
            self.assertTrue(900 <= res["sent"] <= 1100, res)
            self.assertEqual(res["received"], res["sent"])
        finally:
            s.kill()

    def test_against_sockperf_server(self):
        sockperf = harness.require_cmd("sockperf")
        port = harness.free_udp_port()
        srv = harness.Proc([sockperf, "server", "-i", "127.0.0.1", "-p", str(port)])
        try:
            srv.wait_for(b"using", "out", timeout=10)
            r, res = bench(port, "--window", "8")
            self.assertEqual(r.returncode, 0)
            self.assertGreater(res["received"], 100)
        finally:
            srv.kill()

    def test_loss_is_reported(self):
        from peers import ScriptedEcho
        with ScriptedEcho(lambda i, d: [] if i % 10 == 0 else [(0, d)]) as lossy:
            r, res = bench(lossy.port, "--window", "4", "-W", "0.1")
            self.assertGreater(res["lost"], 0)
            self.assertEqual(res["sent"], res["received"] + res["lost"])

    def test_nobody_listening(self):
        r, res = bench(harness.free_udp_port(), "--window", "1", "-W", "0.1")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(res["received"], 0)


if __name__ == "__main__":
    unittest.main()
