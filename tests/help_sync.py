#!/usr/bin/env python3
"""Keeps `udpkit CMD --help` and the man page udpkit-CMD.1 in sync: the set
of long and short options must be the same in both. Closing line:
'help-sync: N passed, N failed'."""
import os
import re
import subprocess
import sys


def help_options(binary, cmd):
    out = subprocess.run([binary, cmd, "--help"], capture_output=True, text=True, timeout=10).stdout
    longs = set(re.findall(r"(?<![\w-])--([a-z][a-z0-9-]*)", out))
    shorts = set(re.findall(r"(?<![\w-])-([a-zA-Z0-9])\b", out))
    return longs, shorts


def man_options(path):
    text = open(path, encoding="utf-8").read()
    longs, shorts = set(), set()
    for line in text.splitlines():
        if not line.startswith(".It") and not line.startswith(".Op") and not line.startswith(".Oo") \
                and not line.startswith(".Nm") and not line.startswith(".Fl") and not line.startswith(".Ar"):
            continue
        longs.update(re.findall(r"Fl Fl ([a-z][a-z0-9-]*)", line))
        line2 = re.sub(r"Fl Fl [a-z][a-z0-9-]*", "", line)
        for group in re.findall(r"Fl ([a-zA-Z0-9]+)", line2):
            shorts.update(group)
    return longs, shorts


def commands(binary):
    out = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=10).stdout
    return set(re.findall(r"^  ([a-z]+)(?: |$)", out, re.M))


def record_result(name, passed, failed, skipped=0):
    """Appends this runner's counts to $UK_RESULTS (make check's total)."""
    path = os.environ.get("UK_RESULTS")
    if path:
        with open(path, "a") as f:
            f.write(f"{name} {passed} {failed} {skipped}\n")


def main(binary, mans):
    passed = failed = 0
    paged = {re.sub(r"^udpkit-([a-z]+)\.1$", r"\1", os.path.basename(m)) for m in mans}
    for cmd in sorted(commands(binary) - paged):
        print(f"  {cmd}: no man page cmd/{cmd}/udpkit-{cmd}.1")
        failed += 1
    for man in mans:
        base = os.path.basename(man)
        m = re.match(r"udpkit-([a-z]+)\.1$", base)
        if not m:
            continue
        cmd = m.group(1)
        hl, hs = help_options(binary, cmd)
        ml, ms = man_options(man)
        problems = []
        if hl != ml:
            problems.append(f"long options: only in --help {sorted(hl - ml)}, only in man {sorted(ml - hl)}")
        if hs != ms:
            problems.append(f"short options: only in --help {sorted(hs - ms)}, only in man {sorted(ms - hs)}")
        if problems:
            failed += 1
            print(f"  {cmd}: " + "; ".join(problems))
        else:
            passed += 1
    record_result("help-sync", passed, failed)
    print(f"help-sync: {passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
