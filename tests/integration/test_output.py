"""Output that cannot be written is a failure: the front-ends do not check
each fprintf, so cmd/udpkit.c checks standard output once at exit (see
.clang-tidy, cert-err33-c). Without that check these commands exit 0
having printed nothing."""
import os
import subprocess
import unittest

import harness

BIN = harness.BIN


def run_to(path, *args):
    with open(path, "wb") as out:
        return subprocess.run([BIN, *args], stdout=out, stderr=subprocess.PIPE, timeout=30)


@unittest.skipUnless(os.path.exists("/dev/full"), "no /dev/full")
class TestWriteErrors(unittest.TestCase):
    def test_version_to_a_full_disk_fails(self):
        r = run_to("/dev/full", "--version")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"error writing standard output", r.stderr)

    def test_a_command_to_a_full_disk_fails(self):
        r = run_to("/dev/full", "ifaces")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"error writing standard output", r.stderr)

    def test_the_same_command_succeeds_when_written(self):
        r = run_to(os.devnull, "ifaces")
        self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    unittest.main()
