#!/usr/bin/env python3
"""Runs a command and appends one line to FILE: its wall time, its CPU time
(user + system, its descendants included) and the load average before and
after, so make check shows where its time goes.
  timed.py --begin FILE          starts FILE afresh, noting the time
  timed.py FILE -- COMMAND...    runs COMMAND (exit status: the command's)
  timed.py --table FILE          prints the steps, their sums and the time
                                 since --begin (steps may overlap)"""
import os
import subprocess
import sys
import time


def table(path):
    rows, wall, cpu, begin = [], 0.0, 0.0, None
    with open(path) as f:
        for line in f:
            if line.startswith("begin\t"):
                begin = float(line.split("\t")[1])
                continue
            w, c, load0, load1, what = line.rstrip("\n").split("\t")
            wall, cpu = wall + float(w), cpu + float(c)
            rows.append(f"{float(w):7.0f} s {float(c):7.0f} s  {load0:>5} {load1:>5}  {what}")
    print("make check, step by step:    wall     CPU  load before/after")
    for r in rows:
        print("  " + r)
    print(f"  {wall:7.0f} s {cpu:7.0f} s  the steps' sums")
    if begin is not None:
        print(f"  {time.time() - begin:7.0f} s            from start to end (load now "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())})")


def main(argv):
    if argv[0] == "--table":
        table(argv[1])
        return 0
    if argv[0] == "--begin":
        with open(argv[1], "w") as f:
            f.write(f"begin\t{time.time()}\n")
        return 0
    path, cmd = argv[0], argv[argv.index("--") + 1:]
    load0 = os.getloadavg()[0]
    t0 = time.monotonic()
    p = subprocess.Popen(cmd)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    rc = os.waitstatus_to_exitcode(status)
    what = " ".join(c for c in cmd if not c.startswith("--no-print"))
    with open(path, "a") as f:
        f.write(f"{wall:.1f}\t{ru.ru_utime + ru.ru_stime:.1f}\t{load0:.2f}\t{os.getloadavg()[0]:.2f}\t{what}\n")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
