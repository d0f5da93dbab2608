#!/usr/bin/env python3
"""Runs tests/integration/test_*.py (unittest style) against the binary in
$UDPKIT_BIN. Every test gets a timeout (SIGALRM); skips print their reason.
Closing line: 'integration: N passed, N failed, N skipped'.
  -k TEXT      only tests whose id contains TEXT (a comma-separated list: any)
  --slowest N  then list the N slowest tests (default 20)
  --jobs N     run the test classes in N worker processes at once (default 1)

With --jobs, a class is the unit of work (its setUpClass and tearDownClass
stay with its tests), handed to the next idle worker, longest first as far
as the last run measured (build/integration-durations-VARIANT.json; else
by the number of tests). Classes that hold something shared are
"exclusive": two of the same kind never run at the same time, and each kind
(a chain of classes one after the other) is started first. The kinds: the
network labs (netlab: namespaces, the capture on the root namespace's
interfaces), the terminal tests under tmux, the chats bound to UDP port
2425 (iptux), the 5 GiB transfer (disk), and what a class names in its
`exclusive` attribute. The others use port 0 and temporary files of their
own, so they run beside anything. Each class's output is printed in one
block when it ends.

After each class, processes that the class started and left running are
reported as a failure and killed: every process started under the runner
carries UDPKIT_TEST_OWNER=<the runner's pid> in its environment (also those
that detached, such as a tmux server and the program in its pane)."""
import argparse
import json
import os
import re
import selectors
import signal
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, os.path.join(HERE, "integration"))

DEFAULT_TIMEOUT_S = 120
OWNER_VAR = "UDPKIT_TEST_OWNER"
DONE = "\x1eUNIT-DONE "
# Each test's duration in the last run, per variant (the sanitizer build's
# are several times the plain one's): the order of the next --jobs run.
DURATIONS = os.path.join(os.path.dirname(HERE), "build",
                         f"integration-durations-{os.environ.get('UDPKIT_VARIANT', 'plain')}.json")


class TestTimeout(Exception):
    pass


def on_alarm(signum, frame):
    raise TestTimeout("test timed out")


def iter_tests(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from iter_tests(t)
        else:
            yield t


def record_result(name, passed, failed, skipped=0):
    """Appends this runner's counts to $UK_RESULTS (make check's total)."""
    path = os.environ.get("UK_RESULTS")
    if path:
        with open(path, "a") as f:
            f.write(f"{name} {passed} {failed} {skipped}\n")


class ClassFixture:
    """setUpClass/tearDownClass around the tests of each class, in order."""

    def __init__(self):
        self.cls, self.state = None, None

    def enter(self, cls):
        """None when cls is set up, else the SkipTest or error of its setUpClass."""
        if cls is not self.cls:
            error = self.leave()
            if error:
                print(f"FAILED {self.cls_name}.tearDownClass: {error!r}")
            self.cls, self.cls_name = cls, f"{cls.__module__}.{cls.__qualname__}"
            try:
                cls.setUpClass()
                self.state = None
            except Exception as e:  # noqa: BLE001 - reported per test
                self.state = e
        return self.state

    def leave(self):
        cls, state, self.cls, self.state = self.cls, self.state, None, None
        if cls is None or state is not None:
            return None
        try:
            cls.tearDownClass()
        except Exception as e:  # noqa: BLE001
            return e
        return None


def load(files):
    loader = unittest.TestLoader()
    if files:
        suite = unittest.TestSuite(loader.loadTestsFromName(os.path.splitext(os.path.basename(f))[0])
                                   for f in files)
    else:
        suite = loader.discover(os.path.join(HERE, "integration"), pattern="test_*.py",
                                top_level_dir=os.path.join(HERE, "integration"))
    return list(iter_tests(suite))


def units_of(selected):
    """The indexes of selected, in runs of consecutive tests of one class."""
    units = []
    for n, t in enumerate(selected):
        if units and type(selected[units[-1][-1]]) is type(t):
            units[-1].append(n)
        else:
            units.append([n])
    return units


_sources = {}


def exclusive(test):
    """Why test's class must not run beside another exclusive class, or ''."""
    why = getattr(type(test), "exclusive", "")
    if why:
        return why
    if "5gib" in test.id().lower():
        return "5 GiB on disk"
    module = sys.modules.get(type(test).__module__)
    path = getattr(module, "__file__", None)
    if not path:
        return ""
    if path not in _sources:
        with open(path, encoding="utf-8", errors="replace") as f:
            _sources[path] = f.read()
    src = _sources[path]
    if re.search(r"^\s*(import netlab|from netlab import)", src, re.M):
        return "network lab"
    if re.search(r"^\s*(import tmuxpane|from tmuxpane import)", src, re.M) or \
            re.search(r"""["']tmux["']""", src):
        return "tmux"
    if re.search(r"""["']-p["'],\s*["']2425["']""", src):
        return "port 2425"
    return ""


def owned_processes(owner):
    """The live processes (not zombies) carrying OWNER_VAR=owner, but this one."""
    needle = f"{OWNER_VAR}={owner}".encode() + b"\0"
    me, found = os.getpid(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle not in f.read() + b"\0":
                    continue
            with open(f"/proc/{entry}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    continue
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except (OSError, IndexError):
            continue
        found.append((int(entry), cmd))
    return found


def reap_leftovers(owner, grace_s):
    """Processes still running after a class: waits grace_s for them to end
    on their own (a server told to stop may still be exiting), then kills
    them (SIGKILL, by PID) and returns them."""
    deadline = time.monotonic() + grace_s
    left = owned_processes(owner)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = owned_processes(owner)
    for pid, _ in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    # Our own children among them: reaped, not left as zombies.
    for pid, _ in left:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
    return left


class Runner:
    """Runs units (lists of indexes into selected) in this process."""

    def __init__(self, selected, owner):
        self.selected, self.owner = selected, owner
        self.profile = os.environ.get("LLVM_PROFILE_FILE", "")
        os.environ[OWNER_VAR] = owner
        signal.signal(signal.SIGALRM, on_alarm)

    def run_unit(self, unit):
        """Runs the tests of one unit, printing a line each; returns
        {"passed", "failed", "skipped", "durations": [[s, id], ...]}."""
        counts = {"passed": 0, "failed": 0, "skipped": 0, "durations": []}
        fixture = ClassFixture()
        for n in unit:
            self.run_test(n, fixture, counts)
        error = fixture.leave()
        if error:
            counts["failed"] += 1
            print(f"FAILED {fixture_name(self.selected[unit[0]])}.tearDownClass: {error!r}")
        from harness import SLOW
        left = reap_leftovers(self.owner, 5 * SLOW)
        if left:
            counts["failed"] += 1
            print(f"FAILED {fixture_name(self.selected[unit[-1]])}: processes left running "
                  f"after its tests (killed):")
            for pid, cmd in left:
                print(f"    {pid} {cmd[:200]}")
        sys.stdout.flush()
        return counts

    def run_test(self, n, fixture, counts):
        test = self.selected[n]
        tid = test.id()
        # The coverage build's processes each write LLVM_PROFILE_FILE, named
        # by their pid (%p); pids wrap at 32768 within a run on a busy
        # machine, so each test's processes get a prefix of their own
        # (servers a class starts in its first test keep that test's); n
        # is the test's place in the whole run, so workers never share one.
        if "%p" in self.profile:
            os.environ["LLVM_PROFILE_FILE"] = self.profile.replace("%p", f"t{n}-%p", 1)
        if isinstance(test, unittest.loader._FailedTest):
            print(f"FAILED {tid}: could not load: {test._exception}")
            counts["failed"] += 1
            return
        result = unittest.TestResult()
        timeout = getattr(test, "timeout_s", DEFAULT_TIMEOUT_S)
        start = time.monotonic()
        signal.alarm(timeout)
        try:
            why_not = fixture.enter(type(test))
            if why_not is None:
                test.run(result)
            elif isinstance(why_not, unittest.SkipTest):
                result.skipped.append((test, str(why_not)))
            else:
                result.errors.append((test, f"setUpClass failed: {why_not!r}"))
        except TestTimeout:
            result.errors.append((test, f"timed out after {timeout}s"))
        finally:
            signal.alarm(0)
        took = time.monotonic() - start
        counts["durations"].append([took, tid])
        if result.skipped:
            counts["skipped"] += 1
            print(f"skipped {tid}: {result.skipped[0][1]}")
        elif result.errors or result.failures:
            counts["failed"] += 1
            print(f"FAILED {tid} ({took:.1f}s)")
            for _, tb in result.errors + result.failures:
                print("    " + tb.replace("\n", "\n    "))
        else:
            counts["passed"] += 1
            print(f"ok {tid} ({took:.1f}s)")
        sys.stdout.flush()


def fixture_name(test):
    return f"{type(test).__module__}.{type(test).__qualname__}"


def worker(selected, owner, fd):
    """--worker K --commands FD: runs the units whose numbers come on FD,
    one a line; after each, a DONE line with its counts as JSON. (Not
    stdin: the tests' programs inherit that, and some read it.)"""
    units = units_of(selected)
    runner = Runner(selected, owner)
    os.set_inheritable(fd, False)
    commands = os.fdopen(fd, "r")
    while True:
        line = commands.readline()
        if not line:
            break
        u = int(line)
        counts = runner.run_unit(units[u])
        sys.stdout.write(f"\n{DONE}{u} {json.dumps(counts)}\n")
        sys.stdout.flush()
    return 0


class Worker:
    def __init__(self, argv, k):
        # stderr into stdout: a class's warnings stay in its block.
        r, self.commands = os.pipe()
        self.proc = subprocess.Popen(argv + ["--worker", f"{k}", "--commands", f"{r}"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, pass_fds=(r,))
        os.close(r)
        self.buf, self.unit, self.k = b"", None, k

    def give(self, u):
        self.unit = u
        os.write(self.commands, f"{u}\n".encode())

    def close(self):
        if self.commands >= 0:
            os.close(self.commands)
            self.commands = -1


def parallel(selected, jobs, argv):
    """Runs the classes in jobs workers; returns counts like run_unit."""
    units = units_of(selected)
    why = [exclusive(selected[u[0]]) for u in units]
    try:
        with open(DURATIONS) as f:
            known = json.load(f)
    except (OSError, ValueError):
        known = {}

    def cost(u):
        return sum(known.get(selected[n].id(), 1.0) for n in units[u])

    # Longest first (as measured before; else by the number of tests).
    todo = sorted(range(len(units)), key=lambda u: (-cost(u), u))
    total = {"passed": 0, "failed": 0, "skipped": 0, "durations": []}
    sel = selectors.DefaultSelector()
    workers = []
    for k in range(min(jobs, len(units))):
        w = Worker(argv, k)
        workers.append(w)
        sel.register(w.proc.stdout, selectors.EVENT_READ, w)

    def next_unit():
        # An exclusive class whose kind is not running comes first: each
        # kind is a chain of classes run one after the other, which had
        # better start early (the network labs' chain is the longest).
        busy = {why[w.unit] for w in workers if w.unit is not None}
        for i, u in enumerate(todo):
            if why[u] and why[u] not in busy:
                return todo.pop(i)
        for i, u in enumerate(todo):
            if not why[u]:
                return todo.pop(i)
        return None

    def feed():
        for w in workers:
            if w.unit is None and w.proc.poll() is None and todo:
                u = next_unit()
                if u is None:
                    return
                w.give(u)

    feed()
    while any(w.unit is not None for w in workers):
        for key, _ in sel.select():
            w = key.data
            chunk = os.read(w.proc.stdout.fileno(), 65536)
            if not chunk:
                # The worker died mid-class: its tests count as failed, and
                # another worker takes over.
                sel.unregister(w.proc.stdout)
                w.close()
                w.proc.wait()
                if w.unit is not None:
                    sys.stdout.write(w.buf.decode(errors="replace"))
                    names = [selected[n].id() for n in units[w.unit]]
                    print(f"FAILED worker {w.k} ended (status {w.proc.returncode}) while running: "
                          + ", ".join(names))
                    total["failed"] += 1
                    w.unit = None
                nw = Worker(argv, w.k)
                workers[workers.index(w)] = nw
                sel.register(nw.proc.stdout, selectors.EVENT_READ, nw)
                feed()
                continue
            w.buf += chunk
            while True:
                at = w.buf.find(DONE.encode())
                end = w.buf.find(b"\n", at) if at >= 0 else -1
                if end < 0:
                    break
                block = w.buf[:at].rstrip(b"\n")
                _, u, counts = w.buf[at:end].decode().split(" ", 2)
                w.buf = w.buf[end + 1:]
                counts = json.loads(counts)
                if block:
                    sys.stdout.write(block.decode(errors="replace") + "\n")
                sys.stdout.flush()
                for key2 in ("passed", "failed", "skipped", "durations"):
                    total[key2] += counts[key2]
                w.unit = None
        feed()
    for w in workers:
        w.close()
        w.proc.wait()
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", default="")
    ap.add_argument("--slowest", type=int, default=20)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--owner", help=argparse.SUPPRESS)
    ap.add_argument("--commands", type=int, help=argparse.SUPPRESS)
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    selected = [t for t in load(a.files) if not a.k or any(k in t.id() for k in a.k.split(","))]
    owner = a.owner or str(os.getpid())
    if a.worker is not None:
        return worker(selected, f"{owner}w{a.worker}", a.commands)
    start = time.monotonic()
    if a.jobs > 1:
        argv = [sys.executable, os.path.abspath(__file__), "-k", a.k, "--owner", owner] + a.files
        counts = parallel(selected, a.jobs, argv)
    else:
        runner = Runner(selected, owner)
        counts = {"passed": 0, "failed": 0, "skipped": 0, "durations": []}
        for unit in units_of(selected):
            c = runner.run_unit(unit)
            for key in counts:
                counts[key] += c[key]
    durations = counts["durations"]
    if durations:
        try:
            with open(DURATIONS) as f:
                known = json.load(f)
        except (OSError, ValueError):
            known = {}
        known.update({tid: round(took, 1) for took, tid in durations})
        try:
            with open(DURATIONS + ".tmp", "w") as f:
                json.dump(known, f, indent=0, sort_keys=True)
            os.replace(DURATIONS + ".tmp", DURATIONS)
        except OSError:
            pass
    if a.slowest and durations:
        print(f"slowest {min(a.slowest, len(durations))} of {len(durations)} tests "
              f"(all: {sum(d for d, _ in durations):.0f} s, in {time.monotonic() - start:.0f} s "
              f"with {a.jobs} job{'s' if a.jobs > 1 else ''}):")
        for took, tid in sorted(durations, reverse=True)[:a.slowest]:
            print(f"  {took:7.1f}s {tid}")
    record_result("integration", counts["passed"], counts["failed"], counts["skipped"])
    print(f"integration: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
    return 1 if counts["failed"] or not counts["passed"] else 0


if __name__ == "__main__":
    sys.exit(main())
