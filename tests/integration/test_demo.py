"""make demo's script runs on defaults and stops what it started."""
import os
import subprocess
import unittest

import harness


class TestDemo(unittest.TestCase):
    def test_demo_script(self):
        script = os.path.join(harness.ROOT, "tests", "demo.sh")
        p = subprocess.run(["sh", script, harness.BIN], capture_output=True, timeout=60 * harness.SLOW)
        out = p.stdout.decode()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("5 packets transmitted, 5 received, 0% packet loss", out)
        self.assertIn("nobody listens there", out)
        self.assertIn(r"\e[31mnot red\e[0m", out)
        self.assertNotIn("\x1b", out)
        self.assertIn("udpkit echo: 8 datagrams", out)


if __name__ == "__main__":
    unittest.main()
