#!/usr/bin/env python3
"""Sums the counts every runner of `make check` recorded in $UK_RESULTS and
prints the closing line 'check: N passed, N failed, N skipped'."""
import sys

passed = failed = skipped = 0
with open(sys.argv[1]) as f:
    for line in f:
        _, p, fl, s = line.split()
        passed, failed, skipped = passed + int(p), failed + int(fl), skipped + int(s)
print(f"check: {passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or not passed else 0)
