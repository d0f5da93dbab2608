#!/usr/bin/env python3
"""Checks the Debian package that `make deb` built, the way an administrator
meets it: its file list, lintian, a real `dpkg -i` into a fresh root (an
empty dpkg database and a static busybox for the maintainer scripts), the
installed binary and man pages, the systemd units (`systemd-analyze verify`
and the hardening's exposure score), then `dpkg -r` leaving nothing behind.
Usage: deb_check.py PACKAGE.deb MANPAGE... ; closing line
'deb: N passed, N failed, N skipped'."""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

UNITS = ["udpkit-echo.socket", "udpkit-echo.service",
         "udpkit-listen.socket", "udpkit-listen.service"]
# systemd-analyze security's exposure, in tenths: below 2.0 is "OK".
EXPOSURE_THRESHOLD = 20
TIMEOUT_S = 300

results = {"passed": 0, "failed": 0, "skipped": 0}


def check(name, ok, detail=""):
    results["passed" if ok else "failed"] += 1
    print(f"{'ok  ' if ok else 'FAIL'} deb: {name}" + (f"\n{detail}" if detail and not ok else ""))


def skip(name, reason):
    results["skipped"] += 1
    print(f"skip deb: {name}: {reason}")


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S, **kw)


def man_path(m):
    """Where a page is installed: man1/, or LANG/man1/ for man/LANG/NAME.1."""
    lang = os.path.basename(os.path.dirname(os.path.abspath(m)))
    sub = f"{lang}/man1" if "_" in lang else "man1"
    return f"/usr/share/man/{sub}/{os.path.basename(m)}.gz"


MO = "/usr/share/locale/zh_CN/LC_MESSAGES/udpkit.mo"


def file_list(deb, mans):
    out = run(["dpkg-deb", "-c", deb]).stdout
    paths = {line.split()[-1].lstrip(".") for line in out.splitlines() if line.strip()}
    want = ["/usr/bin/udpkit", "/usr/share/doc/udpkit/copyright"]
    want += [man_path(m) for m in mans]
    want.append(MO)
    want += [f"/lib/systemd/system/{u}" for u in UNITS]
    missing = [w for w in want if w not in paths]
    check("the package holds the binary, every man page (English and translated), "
          "the catalogue and the units", not missing,
          "missing: " + " ".join(missing))


def lintian(deb):
    if not shutil.which("lintian"):
        skip("lintian", "lintian is not installed (make deps)")
        return
    r = run(["lintian", "--fail-on", "error,warning", deb])
    tags = [l for l in r.stdout.splitlines() if l[:2] in ("E:", "W:")]
    check("lintian: no errors, no warnings", r.returncode == 0 and not tags,
          r.stdout + r.stderr)


def fresh_root(tmp):
    """An empty root that dpkg can install into and run maintainer scripts in."""
    root = os.path.join(tmp, "root")
    for d in ("var/lib/dpkg/info", "var/lib/dpkg/updates", "bin", "tmp", "dev"):
        os.makedirs(os.path.join(root, d))
    for f in ("var/lib/dpkg/status", "var/lib/dpkg/available"):
        open(os.path.join(root, f), "w").close()
    shutil.copy("/bin/busybox", os.path.join(root, "bin/busybox"))
    for c in ("sh", "rm", "cat", "true"):
        os.symlink("busybox", os.path.join(root, "bin", c))
    os.mknod(os.path.join(root, "dev/null"), 0o20666, os.makedev(1, 3))
    return root


def installed(root, mans):
    binary = os.path.join(root, "usr/bin/udpkit")
    r = run([binary, "--version"])
    check("the installed udpkit --version runs", r.returncode == 0 and r.stdout.startswith("udpkit "),
          r.stdout + r.stderr)
    bad = []
    for m in mans:
        page = os.path.join(root, man_path(m).lstrip("/"))
        r = run(["man", "-P", "cat", "-l", page], env=dict(os.environ, MANWIDTH="80"))
        if r.returncode != 0 or r.stderr.strip() or "NAME" not in r.stdout:
            bad.append(f"{page}: rc {r.returncode}: {r.stderr.strip()}")
    check(f"man -l renders the {len(mans)} installed pages", not bad, "\n".join(bad))
    # The installed catalogue speaks Chinese. The binary looks for it where
    # the package puts it (/usr/share/locale), so point it into the root;
    # the locale itself comes from make locales (LOCPATH).
    locpath = os.environ.get("UDPKIT_LOCPATH", "")
    if not os.path.exists(os.path.join(locpath, "zh_CN.UTF-8", "LC_CTYPE")):
        skip("the installed udpkit in Chinese", "no zh_CN.UTF-8 locale (make locales)")
        return
    env = {"PATH": os.environ.get("PATH", ""), "LANG": "zh_CN.UTF-8", "LOCPATH": locpath,
           "UDPKIT_LOCALEDIR": os.path.join(root, "usr/share/locale")}
    r = run([binary, "--help"], env=env)
    check("the installed udpkit --help in zh_CN.UTF-8 is Chinese, from the installed catalogue",
          r.returncode == 0 and "用法：udpkit <命令>" in r.stdout, r.stdout + r.stderr)


def units(installed_root, tmp):
    if not shutil.which("systemd-analyze"):
        skip("systemd-analyze verify", "systemd-analyze is not installed")
        return
    # verify resolves dependencies (sysinit.target, ...) inside --root: a
    # copy of the installed tree gets the host's units beside ours, and our
    # man pages answer Documentation=.
    root = os.path.join(tmp, "verify")
    shutil.copytree(installed_root, root, symlinks=True)
    unitdir = os.path.join(root, "lib/systemd/system")
    for src in glob.glob("/lib/systemd/system/*"):
        dst = os.path.join(unitdir, os.path.basename(src))
        if not os.path.lexists(dst):
            if os.path.islink(src):
                os.symlink(os.readlink(src), dst)
            elif os.path.isfile(src):
                shutil.copy(src, dst)
    env = dict(os.environ, MANPATH=os.path.join(root, "usr/share/man"), SYSTEMD_LOG_COLOR="0")
    r = run(["systemd-analyze", "verify", f"--root={root}"] +
            [f"/lib/systemd/system/{u}" for u in UNITS], env=env)
    check("systemd-analyze verify: the four units, silently", r.returncode == 0 and not r.stderr.strip()
          and not r.stdout.strip(), r.stdout + r.stderr)
    for u in UNITS:
        if not u.endswith(".service"):
            continue
        r = run(["systemd-analyze", "security", "--offline=yes", f"--threshold={EXPOSURE_THRESHOLD}",
                 os.path.join(unitdir, u)], env=env)
        level = [l for l in r.stdout.splitlines() if "Overall exposure level" in l]
        print(f"     {level[0].strip() if level else '(no exposure line)'}")
        check(f"{u}: exposure below {EXPOSURE_THRESHOLD / 10:.1f}", r.returncode == 0 and bool(level),
              r.stdout[-2000:] + r.stderr)


def install_remove(deb, mans, tmp):
    if os.geteuid() != 0 or not os.path.exists("/bin/busybox"):
        skip("dpkg -i into a fresh root", "needs root and busybox-static (make deps)")
        return
    root = fresh_root(tmp)
    before = set(walk(root))
    r = run(["dpkg", f"--root={root}", "--force-depends", "-i", deb])
    check("dpkg -i into a fresh root", r.returncode == 0, r.stdout + r.stderr)
    if r.returncode != 0:
        return
    installed(root, mans)
    units(root, tmp)
    r = run(["dpkg", f"--root={root}", "-r", "udpkit"])
    check("dpkg -r", r.returncode == 0, r.stdout + r.stderr)
    # dpkg keeps its own database; everything the package brought is gone.
    left = sorted(p for p in set(walk(root)) - before if not p.startswith("var/lib/dpkg/"))
    check("dpkg -r leaves nothing of the package behind", not left, "left: " + " ".join(left))


def walk(root):
    for d, dirs, files in os.walk(root):
        for f in files:
            yield os.path.relpath(os.path.join(d, f), root)


def main():
    deb, mans = sys.argv[1], sys.argv[2:]
    file_list(deb, mans)
    lintian(deb)
    with tempfile.TemporaryDirectory(prefix="udpkit-deb-") as tmp:
        install_remove(deb, mans, tmp)
    print(f"deb: {results['passed']} passed, {results['failed']} failed, {results['skipped']} skipped")
    path = os.environ.get("UK_RESULTS")
    if path:
        with open(path, "a") as f:
            f.write(f"deb {results['passed']} {results['failed']} {results['skipped']}\n")
    sys.exit(1 if results["failed"] else 0)


if __name__ == "__main__":
    main()
