#!/usr/bin/env python3
"""Coverage of lib/ from a --coverage build (make coverage): reads gcovr's
JSON summary, prints lines and branches per file, names every file below
the floor, and fails when lib/ as a whole is below it (the gate in make
check). Prints 'coverage: N passed, N failed' (1 check: the lib/ total)."""
import argparse
import json
import os
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True, help="the coverage build directory")
    ap.add_argument("--lines", type=float, default=90.0)
    ap.add_argument("--branches", type=float, default=75.0)
    ap.add_argument("--out", help="also write the table here")
    a = ap.parse_args()
    p = subprocess.run(["gcovr", "-r", ".", "--filter", "lib/", "--json-summary", "-", a.build],
                       capture_output=True, text=True)
    if p.returncode != 0:
        print(p.stderr)
        print("coverage: 0 passed, 1 failed")
        return 1
    s = json.loads(p.stdout)
    rows = [f"{'file':<22} {'lines':>15} {'branches':>15}"]
    below = []

    def pct(c, t):
        return 100.0 * c / t if t else 100.0

    for f in sorted(s["files"], key=lambda f: f["filename"]):
        lp = pct(f["line_covered"], f["line_total"])
        bp = pct(f["branch_covered"], f["branch_total"])
        mark = ""
        if lp < a.lines or bp < a.branches:
            mark = "  <- BELOW FLOOR"
            below.append(f["filename"])
        rows.append(f"{f['filename']:<22} {lp:5.1f}% {f['line_covered']:4}/{f['line_total']:<4} "
                    f"{bp:5.1f}% {f['branch_covered']:4}/{f['branch_total']:<4}{mark}")
    lp = pct(s["line_covered"], s["line_total"])
    bp = pct(s["branch_covered"], s["branch_total"])
    rows.append(f"{'lib/ total':<22} {lp:5.1f}% {s['line_covered']:4}/{s['line_total']:<4} "
                f"{bp:5.1f}% {s['branch_covered']:4}/{s['branch_total']:<4}")
    ok = lp >= a.lines and bp >= a.branches
    rows.append(f"floor: {a.lines:.0f}% of lines and {a.branches:.0f}% of branches in lib/: "
                f"{'met' if ok else 'NOT MET'}")
    if below:
        rows.append("files below the floor on their own: " + " ".join(below))
    text = "\n".join(rows)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    path = os.environ.get("UK_RESULTS")
    if path:
        with open(path, "a") as f:
            f.write(f"coverage {1 if ok else 0} {0 if ok else 1} 0\n")
    print(f"coverage: {1 if ok else 0} passed, {0 if ok else 1} failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
