#!/usr/bin/env python3
"""Runs cmocka unit-test binaries, each with a timeout, and prints one
closing line: 'unit: N passed, N failed'."""
import os
import re
import subprocess
import sys

TIMEOUT_S = 120


def record_result(name, passed, failed, skipped=0):
    """Appends this runner's counts to $UK_RESULTS (make check's total)."""
    path = os.environ.get("UK_RESULTS")
    if path:
        with open(path, "a") as f:
            f.write(f"{name} {passed} {failed} {skipped}\n")


def main(binaries):
    passed = failed = 0
    env = dict(os.environ, CMOCKA_MESSAGE_OUTPUT="stdout")
    for binary in binaries:
        name = os.path.basename(binary)
        try:
            proc = subprocess.run([binary], capture_output=True, text=True,
                                  timeout=TIMEOUT_S, env=env, errors="replace")
            out = proc.stdout + proc.stderr
            rc = proc.returncode
        except subprocess.TimeoutExpired as e:
            out = f"{e.stdout or ''}\nTIMEOUT after {TIMEOUT_S}s"
            rc = -1
        p = sum(int(m) for m in re.findall(r"\[  PASSED  \] (\d+) test", out))
        f = sum(int(m) for m in re.findall(r"\[  FAILED  \] (\d+) test", out))
        if rc != 0 and f == 0:
            f = 1  # crashed, timed out or sanitizer error: count it
        passed += p
        failed += f
        status = "ok" if rc == 0 and f == 0 else "FAILED"
        print(f"  {name}: {p} passed, {f} failed ({status})")
        if status != "ok":
            print(out)
    record_result("unit", passed, failed)
    print(f"unit: {passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
