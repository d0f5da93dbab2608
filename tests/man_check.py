#!/usr/bin/env python3
"""Renders every man page with both formatters users have, mandoc and
man-db's groff pipeline (preconv | nroff -mandoc), and fails on what a
reader would see as a defect:
  - a warning from groff (-ww) or from mandoc -Tlint;
  - text that differs between the two renderings (a word one of them drops,
    as groff once dropped the subcommand of `.Nm udpkit echo`);
  - quotes that do not pair up (a list once rendered as  "answered, "refused);
  - a subcommand page whose DESCRIPTION does not start with `udpkit CMD`;
  - a docs/ file named with .Pa that does not exist (make install installs
    docs/ under share/doc/udpkit);
  - a translated page (man/LANG/NAME.1) whose English original is missing,
    that documents other options than the original (.It Fl lines), other
    sections' worth of synopsis, or that is not in its language.
Closing line: 'man-render: N passed, N failed'."""
import difflib
import os
import re
import shutil
import subprocess
import sys

from help_sync import record_result  # the runners' one way to add to make check's total

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def plain(text):
    """Rendered text without overstrike, as a reader sees it."""
    return re.sub(r".\x08", "", text)


def render_mandoc(path):
    r = subprocess.run(["mandoc", "-Tutf8", "-Owidth=78", path], capture_output=True, timeout=30)
    lint = subprocess.run(["mandoc", "-Tlint", "-W", "warning", path], capture_output=True,
                          text=True, timeout=30)
    return plain(r.stdout.decode("utf-8", "replace")), (r.stderr.decode() + lint.stdout + lint.stderr).strip()


def render_groff(path):
    """As man-db renders a page: preconv for UTF-8 input, then nroff -mandoc."""
    with open(path, "rb") as f:
        pre = subprocess.run(["preconv", "-e", "UTF-8"], input=f.read(), capture_output=True, timeout=30)
    r = subprocess.run(["nroff", "-mandoc", "-Tutf8", "-ww", "-rLL=78n"], input=pre.stdout,
                       capture_output=True, timeout=30)
    return plain(r.stdout.decode("utf-8", "replace")), (pre.stderr + r.stderr).decode().strip()


def words(text):
    """The words of a rendering. groff hyphenates at line ends and mandoc
    does not, and each breaks compound words differently: hyphens (and the
    line breaks after them) are left out of the comparison."""
    lines = [l for l in text.splitlines() if l.strip()]
    body = "\n".join(lines[1:-1])  # the header and footer lines differ by design
    for a, b in (("‘", "'"), ("’", "'"), ("“", '"'), ("”", '"'), ("‐", "-"), ("−", "-"),
                 ("—", "-"), ("–", "-"), ("\u00a0", " ")):
        body = body.replace(a, b)
    body = re.sub(r"-\n\s*", "", body).replace("-", "")
    return body.split()


def quote_problems(text):
    problems = []
    for para in re.split(r"\n\s*\n", text):
        flat = " ".join(para.split())
        if flat.count("“") != flat.count("”"):
            problems.append(f"unpaired “ ” in: {flat[:120]}")
        for seg in re.findall(r'"([^"]*)"', flat):
            if seg == "" or seg[0] in " ,)" or seg[-1] in " ,(":
                problems.append(f"broken quotes in: {flat[:120]}")
                break
    return problems


def check(path):
    problems = []
    m_text, m_err = render_mandoc(path)
    g_text, g_err = render_groff(path)
    if m_err:
        problems.append(f"mandoc: {m_err}")
    if g_err:
        problems.append(f"groff: {g_err}")
    a, b = words(m_text), words(g_text)
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op != "equal":
            problems.append(f"mandoc says {' '.join(a[i1:i2])!r}, groff says {' '.join(b[j1:j2])!r}")
    for name, text in (("mandoc", m_text), ("groff", g_text)):
        problems += [f"{name}: {p}" for p in quote_problems(text)]
    cmd = re.match(r"udpkit-([a-z]+)\.1$", os.path.basename(path))
    if cmd:
        want = f"udpkit {cmd.group(1)}"
        for name, text in (("mandoc", m_text), ("groff", g_text)):
            desc = re.search(r"^(?:DESCRIPTION|描述)\n\s+(.*)$", text, re.M)
            if not desc or not desc.group(1).startswith(want):
                problems.append(f"{name}: DESCRIPTION does not start with '{want}'")
    src = open(path, encoding="utf-8").read()
    for doc in re.findall(r"^\.Pa (docs/[\w./-]+?)\.?(?: [.,;:)]*)?$", src, re.M):
        if not os.path.exists(os.path.join(ROOT, doc)):
            problems.append(f"names {doc}, which does not exist (and would not be installed)")
    problems += translation_problems(path, src)
    return problems


def original_of(path):
    """The English page a translation (man/LANG/NAME.1) translates."""
    name = os.path.basename(path)
    if name == "udpkit.1":
        return os.path.join(ROOT, "man", name)
    cmd = re.match(r"udpkit-([a-z]+)\.1$", name)
    return os.path.join(ROOT, "cmd", cmd.group(1), name) if cmd else None


def translation_problems(path, src):
    lang = os.path.basename(os.path.dirname(os.path.abspath(path)))
    if os.path.basename(os.path.dirname(os.path.dirname(os.path.abspath(path)))) != "man" or \
            lang == "man":
        return []
    orig = original_of(path)
    if not orig or not os.path.exists(orig):
        return [f"translates {orig}, which does not exist"]
    eng = open(orig, encoding="utf-8").read()
    problems = []
    opts = lambda t: sorted(re.findall(r"^\.It (Fl .*?)(?: Ar .*)?$", t, re.M))
    synopsis = lambda t: re.search(r"^\.Sh SYNOPSIS\n(.*?)^\.Sh", t, re.M | re.S)
    if opts(src) != opts(eng):
        problems.append(f"documents other options than {orig}: "
                        f"{sorted(set(opts(src)) ^ set(opts(eng)))}")
    a, b = synopsis(src), synopsis(eng)
    if not a or not b or a.group(1) != b.group(1):
        problems.append(f"its SYNOPSIS differs from {orig}'s")
    if lang.startswith("zh") and len(re.findall(r"[\u4e00-\u9fff]", src)) < 200:
        problems.append("hardly any Chinese in it")
    return problems


def main(pages):
    for tool in ("mandoc", "nroff", "preconv"):
        if not shutil.which(tool):
            print(f"man-render: {tool} missing (make deps installs mandoc and groff-base)")
            record_result("man-render", 0, 1)
            return 1
    passed = failed = 0
    for page in pages:
        problems = check(page)
        if problems:
            failed += 1
            print(f"  {page}:")
            for p in problems:
                print(f"    {p}")
        else:
            passed += 1
    record_result("man-render", passed, failed)
    print(f"man-render: {passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
