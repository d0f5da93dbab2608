#!/usr/bin/env python3
"""The translations are complete and current (docs/i18n.md):
  - a fresh template is extracted from the sources (the xgettext command
    the Makefile gives) and every one of its messages must be in each
    po/LANG.po (msgcmp): a message added to the code without a translation
    fails here;
  - po/udpkit.pot, the template kept in the repository, is that template
    (make pot regenerates it);
  - msgfmt --check --statistics: formats that match their msgid, and no
    untranslated or fuzzy entry.
Usage: po_check.py --xgettext "xgettext FLAGS" SOURCES... -- PO...
Closing line: 'po-check: N passed, N failed'."""
import os
import re
import shlex
import subprocess
import sys
import tempfile

from help_sync import record_result

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def msgids(pot):
    """The msgids of a template (or catalogue), header and obsolete left out."""
    r = subprocess.run(["msgcat", "--no-wrap", "--no-location", "--sort-output", pot],
                       capture_output=True, text=True, timeout=60, check=True)
    ids, cur = set(), None
    for line in r.stdout.splitlines():
        if line.startswith("msgid "):
            cur = line[6:]
        elif cur is not None and line.startswith('"'):
            cur += line
        elif cur is not None:
            if cur != '""':
                ids.add(cur)
            cur = None
    return ids


def main():
    argv = sys.argv[1:]
    if argv[0] != "--xgettext" or "--" not in argv:
        sys.exit(__doc__)
    xgettext = shlex.split(argv[1])
    sep = argv.index("--")
    sources, pos = argv[2:sep], argv[sep + 1:]
    passed = failed = 0

    def result(ok, what, detail=""):
        nonlocal passed, failed
        if ok:
            passed += 1
            print(f"ok: {what}")
        else:
            failed += 1
            print(f"FAIL: {what}\n{detail}".rstrip())

    with tempfile.TemporaryDirectory() as tmp:
        pot = os.path.join(tmp, "udpkit.pot")
        subprocess.run(xgettext + ["-o", pot] + sources, check=True, timeout=120, cwd=ROOT)
        fresh = msgids(pot)
        kept = msgids(os.path.join(ROOT, "po/udpkit.pot"))
        result(fresh == kept, f"po/udpkit.pot is current ({len(fresh)} messages)",
               "run make pot; new: " + "\n  ".join(sorted(fresh - kept)[:20]) +
               "\ngone: " + "\n  ".join(sorted(kept - fresh)[:20]))
        for po in pos:
            r = subprocess.run(["msgcmp", po, pot], capture_output=True,
                               text=True, timeout=60)
            result(r.returncode == 0, f"{po}: every source message is in it", r.stderr)
            r = subprocess.run(["msgfmt", "--check", "--statistics", "-o", os.devnull, po],
                               capture_output=True, text=True, timeout=60, env=dict(os.environ, LC_ALL="C"))
            stats = r.stderr.strip()
            complete = r.returncode == 0 and re.search(r"^\d+ translated messages?\.?$", stats.splitlines()[-1] if stats else "")
            result(bool(complete), f"{po}: msgfmt --check --statistics: {stats.splitlines()[-1] if stats else '?'}",
                   stats)
    print(f"po-check: {passed} passed, {failed} failed")
    record_result("po-check", passed, failed, 0)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
