#!/usr/bin/env python3
"""Coverage of lib/ from the clang source-based coverage build (make
coverage): merges the raw profiles every instrumented process wrote
(llvm-profdata), reads llvm-cov's JSON summary over the instrumented
binaries, prints lines and branches per lib/ file, names every file below
the floor, and fails when lib/ as a whole is below it (the gate in make
check). Prints 'coverage: N passed, N failed' (1 check: the lib/ total).
Branches are those of the source: each condition of an if, loop, ?:, && or
|| taken both ways."""
import argparse
import glob
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fail(msg):
    print(msg)
    print("coverage: 0 passed, 1 failed")
    path = os.environ.get("UK_RESULTS")
    if path:
        with open(path, "a") as f:
            f.write("coverage 0 1 0\n")
    return 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--profiles", required=True, help="the directory of the *.profraw files")
    ap.add_argument("--profdata", default="llvm-profdata")
    ap.add_argument("--llvm-cov", default="llvm-cov")
    ap.add_argument("--lines", type=float, default=90.0)
    ap.add_argument("--branches", type=float, default=75.0)
    ap.add_argument("--out", help="also write the table here")
    ap.add_argument("binaries", nargs="+", help="the instrumented programs that wrote them")
    a = ap.parse_args()
    raws = sorted(glob.glob(os.path.join(a.profiles, "*.profraw")))
    if not raws:
        return fail(f"coverage: no profile in {a.profiles}")
    merged = os.path.join(a.profiles, "merged.profdata")
    # A list file: the suite writes thousands of profiles.
    listing = os.path.join(a.profiles, "profiles.txt")
    with open(listing, "w") as f:
        f.write("\n".join(raws) + "\n")
    p = subprocess.run(a.profdata.split() + ["merge", "-sparse", f"--input-files={listing}", "-o", merged],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return fail(p.stderr)
    for r in raws:  # merged: the raw profiles are some 60 KB each
        os.unlink(r)
    objects = [a.binaries[0]] + [x for b in a.binaries[1:] for x in ("-object", b)]
    p = subprocess.run(a.llvm_cov.split() + ["export", "-summary-only", "-instr-profile", merged] +
                       objects + [os.path.join(ROOT, "lib")], capture_output=True, text=True)
    if p.returncode != 0:
        return fail(p.stderr)
    data = json.loads(p.stdout)["data"][0]
    rows = [f"{'file':<22} {'lines':>15} {'branches':>15}"]
    below = []

    def pct(c, t):
        return 100.0 * c / t if t else 100.0

    def row(name, s):
        lc, lt = s["lines"]["covered"], s["lines"]["count"]
        bc, bt = s["branches"]["covered"], s["branches"]["count"]
        return (f"{name:<22} {pct(lc, lt):5.1f}% {lc:4}/{lt:<4} {pct(bc, bt):5.1f}% {bc:4}/{bt:<4}",
                pct(lc, lt), pct(bc, bt))

    for f in sorted(data["files"], key=lambda f: f["filename"]):
        name = os.path.relpath(f["filename"], ROOT)
        text, lp, bp = row(name, f["summary"])
        if lp < a.lines or bp < a.branches:
            text += "  <- BELOW FLOOR"
            below.append(name)
        rows.append(text)
    text, lp, bp = row("lib/ total", data["totals"])
    rows.append(text)
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
