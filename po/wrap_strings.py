#!/usr/bin/env python3
"""wrap_strings.py: wraps the human message of the calls that print to a
person in _() (gettext), mechanically, so the wrapping can be redone after a
merge: uk_cli_error/uk_cli_warn/uk_cli_usage_error (the format),
uk_cli_fail (the what), fprintf(stderr, ...) (the format) and the chat's
chat_info(a, KIND, FORMAT) (the format, for the kinds info, error and warning;
other kinds are line-mode events, never). A literal
already wrapped is left alone; "bound on" (read by scripts) is never
wrapped. A command's spec (summary, about, epilog) gets N_(). Usage: po/wrap_strings.py FILE.c..."""
import re
import sys

CALLS = {"uk_cli_error": 1, "uk_cli_warn": 1, "uk_cli_usage_error": 1, "uk_cli_fail": 1,
         "fprintf": 1, "chat_info": 2}
NEVER = ("bound on", "%sudpkit ")  # the second: the error prefix (cmd/cli.c)


def skip_string(s, i):
    """i at a '"'; returns the index after the closing quote."""
    i += 1
    while s[i] != '"':
        i += 2 if s[i] == "\\" else 1
    return i + 1


def args_of(s, i):
    """i just after '('; returns [(start, end)] of each argument, and the end."""
    depth, start, out = 0, i, []
    while True:
        c = s[i]
        if c == '"':
            i = skip_string(s, i)
            continue
        if c == "'":
            i += 2 if s[i + 1] != "\\" else 3
            while s[i] != "'":
                i += 1
            i += 1
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                out.append((start, i))
                return out, i
            depth -= 1
        elif c == "," and depth == 0:
            out.append((start, i))
            start = i + 1
        i += 1


def literal_span(s, a, b):
    """(start, end) of the argument when it is only adjacent string literals."""
    text = s[a:b]
    stripped = text.strip()
    if not stripped.startswith('"'):
        return None
    j = a + (len(text) - len(text.lstrip()))
    k = j
    while True:
        k = skip_string(s, k)
        m = re.match(r'\s*"', s[k:b])
        if not m:
            break
        k += m.end() - 1
    if s[k:b].strip():
        return None
    return j, k


def wrap(src):
    edits = []
    for m in re.finditer(r"\b(" + "|".join(CALLS) + r")\s*\(", src):
        # skip matches inside comments/strings: crude but good enough for
        # this code base (calls start lines or follow '=' / 'return')
        line_start = src.rfind("\n", 0, m.start()) + 1
        prefix = src[line_start:m.start()]
        if "//" in prefix or prefix.lstrip().startswith("*") or prefix.count('"') % 2:
            continue
        args, _ = args_of(src, m.end())
        idx = CALLS[m.group(1)]
        if m.group(1) == "fprintf" and src[args[0][0]:args[0][1]].strip() != "stderr":
            continue
        # chat_info's KIND: only "info", "error" and "warning" lines are
        # for a person; every other kind is a line-mode event whose fields
        # (tab-separated) scripts read, never translated.
        if m.group(1) == "chat_info" and len(args) > 1 and \
                src[args[1][0]:args[1][1]].strip() not in ('"info"', '"error"', '"warning"'):
            continue
        if len(args) <= idx:
            continue
        span = literal_span(src, *args[idx])
        if not span:
            continue
        lit = src[span[0]:span[1]]
        if any(lit.startswith('"' + n) for n in NEVER):
            continue
        if not re.search(r"[A-Za-z]{2}", lit):
            continue  # "%s: %s" and the like: nothing to translate
        edits.append(span)
    marks = [(a, b, "_(") for a, b in edits]
    # a command's spec: its summary, about and epilog are table texts, N_()
    for m in re.finditer(r"struct uk_cmd_spec uk_spec_\w+ = \{", src):
        args, _ = args_of(src, m.end())
        for idx in (1, 3, 5):
            span = literal_span(src, *args[idx]) if len(args) > idx else None
            if span:
                marks.append((span[0], span[1], "N_("))
    for a, b, mark in sorted(marks, reverse=True):
        src = src[:a] + mark + src[a:b] + ")" + src[b:]
    return src, len(marks)


def main():
    for path in sys.argv[1:]:
        with open(path, encoding="utf-8") as f:
            src = f.read()
        out, n = wrap(src)
        if n:
            if '"udpkit/i18n.h"' not in out:
                # after the last #include "..." line
                # after the last #include "..." of the leading block
                at = 0
                for line in re.finditer(r"^.*\n", out, re.M):
                    text = line.group(0).strip()
                    if text.startswith('#include "'):
                        at = line.end()
                    elif text and not text.startswith(("#include", "/*", "*", "//")):
                        break
                out = out[:at] + '#include "udpkit/i18n.h"\n' + out[at:]
            with open(path, "w", encoding="utf-8") as f:
                f.write(out)
        print(f"{path}: {n}")


if __name__ == "__main__":
    main()
