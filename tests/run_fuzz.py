#!/usr/bin/env python3
"""Replays each fuzz target's seed corpus (tests/fuzz/corpus/<target>/),
then fuzzes it for a few seconds with new inputs kept out of the tree.
Prints 'fuzz: N passed, N failed'.

With --long (make fuzz-long): a campaign per target of --runs executions
(or --seconds, whichever comes first), then the corpus is minimised into
tests/fuzz/corpus/<target>/ (-merge=1) and one table row per target
(executions, exec/s, cov, ft, crashes) is printed and written to --table."""
import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd, timeout):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, errors="replace")
        return p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired:
        return -1, "TIMEOUT"


# Targets fed whole datagrams (or message texts, history lines, a file
# offer's text, a configuration file of up to 64 KiB) take inputs up to
# 64 KiB, as large as a UDP datagram; the rest (option text, event
# sequences) keep libFuzzer's default of 4096 bytes.
MAX_LEN = {name: 65536 for name in (
    "fuzz_attach", "fuzz_charset", "fuzz_conf", "fuzz_dirstream", "fuzz_echo", "fuzz_history",
    "fuzz_ipmsg", "fuzz_listen", "fuzz_probe", "fuzz_room", "fuzz_room_recv", "fuzz_show",
    "fuzz_text", "fuzz_tui")}
# A sealed file stream: more than one 64 KiB chunk, so inputs cross a boundary.
MAX_LEN["fuzz_sealstream"] = 70100


# libFuzzer's -timeout is wall-clock time: on a loaded machine a niced
# fuzzer can wait seconds for a core, and with -timeout=10 the campaign of
# 2026-12-01 (load 18: make check under stress-ng beside it) stopped
# fuzz_history and fuzz_tui on "timeouts" whose inputs run in under a
# second. A real hang (an endless loop) still trips 120 s.
UNIT_TIMEOUT = "-timeout=120"


def max_len_args(name):
    return [f"-max_len={MAX_LEN[name]}"] if name in MAX_LEN else []


def record_result(name, passed, failed, skipped=0):
    """Appends this runner's counts to $UK_RESULTS (make check's total)."""
    path = os.environ.get("UK_RESULTS")
    if path:
        with open(path, "a") as f:
            f.write(f"{name} {passed} {failed} {skipped}\n")


def campaign(target, runs, seconds, table):
    """One long run of target from its checked-in corpus, then -merge=1 of
    what it found back into that corpus. Returns a table row."""
    name = os.path.basename(target)
    corpus = os.path.join(HERE, "fuzz", "corpus", name.replace("fuzz_", "", 1))
    with tempfile.TemporaryDirectory() as scratch:
        work = os.path.join(scratch, "new")
        os.mkdir(work)
        crashes = os.path.join(scratch, "crash-")
        t0 = time.monotonic()
        rc, out = run([target, f"-runs={runs}", f"-max_total_time={seconds}", UNIT_TIMEOUT,
                       "-rss_limit_mb=2048", "-print_final_stats=1", "-print_pcs=0",
                       f"-artifact_prefix={crashes}"] + max_len_args(name) + [work, corpus],
                      seconds + 600)
        wall = time.monotonic() - t0
        execs = re.findall(r"stat::number_of_executed_units:\s+(\d+)", out)
        rate = re.findall(r"stat::average_exec_per_sec:\s+(\d+)", out)
        cov = re.findall(r"cov: (\d+) ft: (\d+)", out)
        # libFuzzer also writes "slow-unit-" files (an input that took over
        # 10 s of wall time: a loaded machine, not a bug); only crashes,
        # leaks, timeouts and out-of-memory inputs fail the campaign.
        found = [f for f in os.listdir(scratch)
                 if f.startswith("crash-") and not f.startswith("crash-slow-unit-")]
        if rc != 0 or found:
            log = os.path.join(os.path.dirname(table), f"{name}.crash.log")
            with open(log, "w") as f:
                f.write(out)
            for f in found:
                shutil.copy(os.path.join(scratch, f), os.path.dirname(table))
        # Minimise: merge the old corpus and the new finds into an empty
        # directory, which then replaces the checked-in corpus.
        merged = os.path.join(scratch, "merged")
        os.mkdir(merged)
        mrc, mout = run([target, "-merge=1", "-rss_limit_mb=2048"] + max_len_args(name) +
                        [merged, corpus, work], 3600)
        before = len(os.listdir(corpus))
        if mrc == 0 and os.listdir(merged):
            shutil.rmtree(corpus)
            shutil.copytree(merged, corpus)
        after = len(os.listdir(corpus))
    row = (f"| `{name}` | {int(execs[-1]) if execs else 0:,} | {int(rate[-1]) if rate else 0:,} | "
           f"{cov[-1][0] if cov else '?'} | {cov[-1][1] if cov else '?'} | "
           f"{'none' if rc == 0 and not found else 'CRASH rc=%d, see %s.crash.log' % (rc, name)} | "
           f"{before} -> {after} | {wall:.0f} s |")
    print(row, flush=True)
    with open(table, "a") as f:
        f.write(row + "\n")
    return rc == 0 and not found


def replay_and_fuzz(target, seconds):
    """Replays target's seed corpus, then fuzzes it for seconds.
    Returns (ok, what to print)."""
    name = os.path.basename(target)
    corpus = os.path.join(HERE, "fuzz", "corpus", name.replace("fuzz_", "", 1))
    seeds = sorted(os.path.join(corpus, f) for f in os.listdir(corpus)) if os.path.isdir(corpus) else []
    if not seeds:
        return False, f"  {name}: no seed corpus in {corpus}"
    rc, out = run([target] + seeds, 300)
    ok = rc == 0
    if ok and seconds > 0:
        with tempfile.TemporaryDirectory() as scratch:
            rc, out = run([target, f"-max_total_time={seconds}", UNIT_TIMEOUT,
                           "-rss_limit_mb=2048", "-print_final_stats=1",
                           f"-artifact_prefix={scratch}/"] + max_len_args(name) +
                          [scratch, corpus], seconds + 120)
            ok = rc == 0
    text = f"  {name}: {len(seeds)} seeds replayed, {'ok' if ok else 'FAILED'}"
    return ok, text if ok else text + "\n" + out[-4000:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--long", action="store_true")
    ap.add_argument("--jobs", type=int, default=1, help="targets replayed and fuzzed at a time")
    ap.add_argument("--runs", type=int, default=10_000_000)
    ap.add_argument("--table", default="build/fuzz-long.md")
    ap.add_argument("targets", nargs="+")
    a = ap.parse_args()
    if a.long:
        os.makedirs(os.path.dirname(os.path.abspath(a.table)), exist_ok=True)
        ok = [campaign(t, a.runs, a.seconds, os.path.abspath(a.table)) for t in a.targets]
        print(f"fuzz-long: {sum(ok)} passed, {len(ok) - sum(ok)} failed")
        return 0 if all(ok) else 1
    # Several targets at a time (--jobs, make check: 2, the machine's cores):
    # each is one process, busy for its --seconds.
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
        results = list(pool.map(lambda t: replay_and_fuzz(t, a.seconds), a.targets))
    passed = failed = 0
    for ok, text in results:
        print(text, flush=True)
        passed, failed = passed + ok, failed + (not ok)
    record_result("fuzz", passed, failed)
    print(f"fuzz: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
