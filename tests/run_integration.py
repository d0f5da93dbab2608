#!/usr/bin/env python3
"""Runs tests/integration/test_*.py (unittest style) against the binary in
$UDPKIT_BIN. Every test gets a timeout (SIGALRM); skips print their reason.
Closing line: 'integration: N passed, N failed, N skipped'.
  -k TEXT   only tests whose id contains TEXT (a comma-separated list: any)
  --slowest N   then list the N slowest tests (default 20)"""
import argparse
import os
import signal
import sys
import time
import traceback
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, os.path.join(HERE, "integration"))

DEFAULT_TIMEOUT_S = 120


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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", default="")
    ap.add_argument("--slowest", type=int, default=20)
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    loader = unittest.TestLoader()
    if a.files:
        suite = unittest.TestSuite(loader.loadTestsFromName(os.path.splitext(os.path.basename(f))[0]) for f in a.files)
    else:
        suite = loader.discover(os.path.join(HERE, "integration"), pattern="test_*.py", top_level_dir=os.path.join(HERE, "integration"))
    signal.signal(signal.SIGALRM, on_alarm)
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    selected = [t for t in iter_tests(suite) if not a.k or any(k in t.id() for k in a.k.split(","))]
    # Tests run one by one (each with its alarm), so the class fixtures that
    # a TestSuite would run are run here: setUpClass before a class's first
    # test (a SkipTest there skips the class), tearDownClass after its last.
    fixture = ClassFixture()
    # The coverage build's processes each write LLVM_PROFILE_FILE, named by
    # their pid (%p); pids wrap at 32768 within a run on a busy machine, so
    # each test's processes get a prefix of their own (servers a class starts
    # in its first test keep that test's).
    profile = os.environ.get("LLVM_PROFILE_FILE", "")
    durations = []
    for n, test in enumerate(selected):
        tid = test.id()
        if "%p" in profile:
            os.environ["LLVM_PROFILE_FILE"] = profile.replace("%p", f"t{n}-%p", 1)
        if isinstance(test, unittest.loader._FailedTest):
            print(f"FAILED {tid}: could not load: {test._exception}")
            counts["failed"] += 1
            continue
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
        durations.append((took, tid))
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
    error = fixture.leave()
    if error:
        counts["failed"] += 1
        print(f"FAILED tearDownClass: {error!r}")
    if a.slowest and durations:
        print(f"slowest {min(a.slowest, len(durations))} of {len(durations)} tests "
              f"(all: {sum(d for d, _ in durations):.0f} s):")
        for took, tid in sorted(durations, reverse=True)[:a.slowest]:
            print(f"  {took:7.1f}s {tid}")
    record_result("integration", counts["passed"], counts["failed"], counts["skipped"])
    print(f"integration: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
    return 1 if counts["failed"] or not counts["passed"] else 0


if __name__ == "__main__":
    sys.exit(main())
