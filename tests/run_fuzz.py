#!/usr/bin/env python3
"""Replays each fuzz target's seed corpus (tests/fuzz/corpus/<target>/),
then fuzzes it for a few seconds with new inputs kept out of the tree.
Prints 'fuzz: N passed, N failed'."""
import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd, timeout):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, errors="replace")
        return p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired:
        return -1, "TIMEOUT"


def record_result(name, passed, failed, skipped=0):
    """Appends this runner's counts to $UK_RESULTS (make check's total)."""
    path = os.environ.get("UK_RESULTS")
    if path:
        with open(path, "a") as f:
            f.write(f"{name} {passed} {failed} {skipped}\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("targets", nargs="+")
    a = ap.parse_args()
    passed = failed = 0
    for target in a.targets:
        name = os.path.basename(target)
        corpus = os.path.join(HERE, "fuzz", "corpus", name.replace("fuzz_", "", 1))
        seeds = sorted(os.path.join(corpus, f) for f in os.listdir(corpus)) if os.path.isdir(corpus) else []
        if not seeds:
            print(f"  {name}: no seed corpus in {corpus}")
            failed += 1
            continue
        rc, out = run([target] + seeds, 300)
        ok = rc == 0
        if ok and a.seconds > 0:
            with tempfile.TemporaryDirectory() as scratch:
                rc, out = run([target, f"-max_total_time={a.seconds}", "-timeout=10",
                               "-rss_limit_mb=2048", "-print_final_stats=1",
                               f"-artifact_prefix={scratch}/", scratch, corpus], a.seconds + 120)
                ok = rc == 0
        print(f"  {name}: {len(seeds)} seeds replayed, {'ok' if ok else 'FAILED'}")
        if not ok:
            print(out[-4000:])
            failed += 1
        else:
            passed += 1
    record_result("fuzz", passed, failed)
    print(f"fuzz: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
