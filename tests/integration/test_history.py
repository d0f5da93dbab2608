"""udpkit history against files written by the real history writer
(lib/history_writer.c, through the test-only tests/tools/hist_writer): every
message round-trips exactly, whatever it holds; the filters, local time and
the JSON export; a writer killed with kill -9 in mid-burst leaves no torn or
merged line except possibly a torn last one, which the reader skips and the
next writer ends; the default location; rotation read back in order."""
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import unittest

from harness import BIN, ROOT, SLOW, Proc, run

TOOLS = os.environ.get("UDPKIT_TOOLS", os.path.join(ROOT, "build", "tools"))
WRITER = os.path.join(TOOLS, "hist_writer")
KINDS = ["recv", "sent", "delivered", "undelivered", "late"]


def unescape(s):
    """The reverse of uk_text_escape (include/udpkit/text.h)."""
    out = bytearray()
    i = 0
    simple = {"\\": b"\\", "n": b"\n", "r": b"\r", "t": b"\t", "e": b"\x1b"}
    while i < len(s):
        c = s[i]
        if c != "\\":
            out += c.encode("utf-8")
            i += 1
            continue
        k = s[i + 1]
        if k in simple:
            out += simple[k]
            i += 2
        elif k == "x":
            out.append(int(s[i + 2:i + 4], 16))
            i += 4
        elif k == "u":
            out += chr(int(s[i + 2:i + 6], 16)).encode("utf-8")
            i += 6
        else:
            raise ValueError(f"bad escape in {s!r}")
    return bytes(out)


def hexf(b):
    return b.hex() if b else "-"


# (time_ns, kind, id, peer, nick, text): the messages that break naive logs.
def make_events(now_ns):
    """The events, dated relative to now_ns."""
    return [
        (now_ns - 3 * 3600 * 10**9, 0, 1, b"10.0.0.2:2425", b"alice", b"hello"),
        (now_ns - 3 * 3600 * 10**9 + 1, 1, 2, b"10.0.0.2:2425", b"alice", b"two\nlines\r\nand CRLF"),
        (now_ns - 2 * 3600 * 10**9, 2, 2, b"10.0.0.2:2425", b"alice", b""),
        (now_ns - 90 * 60 * 10**9, 0, 3, b"10.0.0.3:2425", "张三".encode(), "你好，世界 — ok".encode()),
        (now_ns - 60 * 60 * 10**9, 0, 4, b"[fe80::1]:2425", b"bob\tthe\\x41", b"\x1b[2J\x1b[31mred\x07\x00NUL"),
        (now_ns - 30 * 60 * 10**9, 0, 5, b"10.0.0.3:2425", b"", b"\xff\xfe invalid \xe4\xbd cut \xc0\xaf overlong"),
        (now_ns - 20 * 60 * 10**9, 1, 6, b"10.0.0.4:9", b"eve", "\u202ebidi\u202c \u0085 C1 \\n literal".encode()),
        (now_ns - 10 * 60 * 10**9, 3, 7, b"10.0.0.4:9", b"eve", b"x" * 100000),
        (now_ns - 5 * 60 * 10**9, 0, 0, b"127.0.0.1:8080", b"", bytes(range(256))),
        (now_ns - 60 * 10**9, 1, 18446744073709551615, b"127.0.0.1:8080", b"", b"tab\there # not a comment"),
    ]


# Dated when a test starts, not when the suite imports this module: on a
# busy machine the suite reaches these tests many minutes later, and the
# event 10 minutes old would no longer be within "--since 15m".
EVENTS = make_events(time.time_ns())


def write_events(path, events):
    lines = "".join(f"{t} {k} {i} {hexf(p)} {hexf(n)} {hexf(x)}\n" for t, k, i, p, n, x in events)
    subprocess.run([WRITER, path], input=lines.encode(), check=True, timeout=30 * SLOW)


class HistoryBase(unittest.TestCase):
    timeout_s = 90

    def setUp(self):
        if not os.access(WRITER, os.X_OK):
            raise unittest.SkipTest(f"{WRITER} not built (run 'make integration')")
        EVENTS[:] = make_events(time.time_ns())
        self.dir = tempfile.mkdtemp(prefix="ukhist")
        self.path = os.path.join(self.dir, "chat.txt")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def history(self, *args, expect=0, env=None):
        # Generous: on a machine whose cores are busy, reading a file of a
        # few MB took more than 30 s (niced under stress-ng --cpu 2).
        p = run("history", *args, timeout=120, env=env)
        self.assertEqual(p.returncode, expect, p.stderr)
        return p

    def json_events(self, *args, env=None):
        p = self.history("--json", *args, self.path, env=env)
        return [json.loads(line) for line in p.stdout.decode("utf-8").splitlines()]


class TestHistoryRoundTrip(HistoryBase):
    def test_every_message_round_trips_through_json(self):
        write_events(self.path, EVENTS)
        got = self.json_events()
        self.assertEqual(len(got), len(EVENTS))
        for (t, k, i, peer, nick, text), j in zip(EVENTS, got):
            # The real strings: jq -r .text prints the message as sent.
            try:
                self.assertEqual(j["text"], text.decode("utf-8"))
                self.assertNotIn("text_hex", j)  # only for invalid UTF-8
            except UnicodeDecodeError:
                self.assertEqual(bytes.fromhex(j["text_hex"]), text)
                self.assertIn("\ufffd", j["text"])
                want = text.decode("utf-8", "replace").replace("\ufffd", "")
                self.assertEqual(j["text"].replace("\ufffd", ""), want)
            self.assertEqual(j["bytes"], len(text))
            self.assertEqual(j["peer"], peer.decode())
            self.assertEqual(j["nick"], nick.decode())
            self.assertEqual(j["id"], i)
            self.assertEqual(j["kind"], KINDS[k])
            self.assertEqual(j["time_ns"], t // 10**6 * 10**6)  # milliseconds kept
            self.assertRegex(j["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")

    def test_local_time_with_offset_and_utc(self):
        write_events(self.path, EVENTS[:1])
        t = EVENTS[0][0] // 10**6 * 10**6
        env = dict(os.environ, TZ="XYZ-8")  # POSIX: 8 hours east of UTC
        local = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t // 10**9 + 8 * 3600))
        ms = ".%03d" % (t // 10**6 % 1000)
        j = self.json_events(env=env)[0]
        self.assertEqual(j["time"], local + ms + "+08:00")
        plain = self.history(self.path, env=env).stdout.decode()
        self.assertTrue(plain.startswith(local + ms + "+08:00 recv "), plain)
        utc = self.history("--utc", self.path, env=env).stdout.decode()
        self.assertTrue(utc.startswith(time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t // 10**9))
                                       + ms + "Z recv "), utc)
        # --since without a zone is local time: one second after the event
        # in local time excludes it, one second before includes it.
        after = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t // 10**9 + 8 * 3600 + 1))
        before = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t // 10**9 + 8 * 3600 - 1))
        self.assertEqual(len(self.json_events("--since", after, env=env)), 0)
        self.assertEqual(len(self.json_events("--since", before, env=env)), 1)
        # With --utc the same text is read as UTC: 8 hours later, nothing.
        self.assertEqual(len(self.json_events("--utc", "--since", before, env=env)), 0)

    def test_json_text_is_the_message_for_jq(self):
        write_events(self.path, EVENTS)
        if not shutil.which("jq"):
            raise unittest.SkipTest("jq not installed")
        p = subprocess.run(f"{BIN} history --json {self.path} | "
                           "jq -r 'select(.id == 2 and .kind == \"sent\") | .text'",
                           shell=True, capture_output=True, timeout=30 * SLOW)
        self.assertEqual(p.stdout, b"two\nlines\r\nand CRLF\n")

    def test_file_is_private_and_one_line_per_event(self):
        old = os.umask(0)
        try:
            write_events(self.path, EVENTS)
        finally:
            os.umask(old)
        self.assertEqual(stat.S_IMODE(os.stat(self.path).st_mode), 0o600)
        data = open(self.path, "rb").read()
        lines = data.split(b"\n")
        self.assertEqual(lines[-1], b"")
        self.assertTrue(lines[0].startswith(b"# udpkit chat history v1"))
        self.assertEqual(len(lines) - 2, len(EVENTS))
        for line in lines[1:-1]:
            self.assertEqual(line.count(b"\t"), 6)
            self.assertFalse(re.search(rb"[\x00-\x08\x0a-\x1f\x7f]", line), line[:80])

    def test_plain_listing_is_escaped(self):
        write_events(self.path, EVENTS)
        out = self.history(self.path).stdout
        lines = out.split(b"\n")[:-1]
        self.assertEqual(len(lines), len(EVENTS))
        self.assertFalse(re.search(rb"[\x00-\x09\x0b-\x1f\x7f]", out))
        self.assertNotIn("\u202e".encode(), out)
        self.assertNotIn(b"\xc2\x85", out)
        self.assertRegex(lines[0].decode(), r"^\S+[+-]\d\d:\d\d recv 10\.0\.0\.2:2425 alice #1: hello$")
        self.assertTrue(lines[1].endswith(b" sent 10.0.0.2:2425 alice #2: two\\nlines\\r\\nand CRLF"))
        self.assertTrue(lines[2].endswith(b" delivered 10.0.0.2:2425 alice #2: "))
        self.assertIn("张三 #3: 你好，世界 — ok".encode(), lines[3])
        self.assertIn(b"bob\\tthe\\\\x41 #4: \\e[2J\\e[31mred\\x07\\x00NUL", lines[4])
        self.assertIn(b" - #5: \\xff\\xfe invalid \\xe4\\xbd cut \\xc0\\xaf overlong", lines[5])
        self.assertIn(b"#6: \\u202ebidi\\u202c \\u0085 C1 \\\\n literal", lines[6])
        # The escaped text turns back into the bytes that were sent.
        self.assertEqual(unescape(lines[8].split(b"#0: ", 1)[1].decode()), bytes(range(256)))

    def test_default_path_is_in_the_state_directory(self):
        state = os.path.join(self.dir, ".local", "state")
        os.makedirs(os.path.join(state, "udpkit"), mode=0o700)
        write_events(os.path.join(state, "udpkit", "chat.txt"), EVENTS[:1])
        base = {k: v for k, v in os.environ.items() if k != "XDG_STATE_HOME"}
        for env in (dict(base, HOME=self.dir), dict(base, HOME="/nonexistent", XDG_STATE_HOME=state)):
            p = subprocess.run([BIN, "history"], cwd="/", env=env, capture_output=True,
                               timeout=30 * SLOW)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn(b"alice #1: hello", p.stdout)

    def test_rotated_part_is_read_first(self):
        write_events(self.path + ".1", EVENTS[:2])
        write_events(self.path, EVENTS[2:4])
        self.assertEqual([j["id"] for j in self.json_events()], [1, 2, 2, 3])


class TestHistoryFilters(HistoryBase):
    def setUp(self):
        super().setUp()
        write_events(self.path, EVENTS)

    def ids(self, *args):
        return [j["id"] for j in self.json_events(*args)]

    def test_peer_by_address_host_and_nick(self):
        self.assertEqual(self.ids("--peer", "10.0.0.2:2425"), [1, 2, 2])
        self.assertEqual(self.ids("-P", "10.0.0.3"), [3, 5])
        self.assertEqual(self.ids("--peer", "fe80::1"), [4])
        self.assertEqual(self.ids("--peer", "[fe80::1]:2425"), [4])
        self.assertEqual(self.ids("--peer", "张三"), [3])
        self.assertEqual(self.ids("--peer", "eve"), [6, 7])
        self.assertEqual(self.ids("--peer", "10.0.0.9"), [])

    def test_grep(self):
        self.assertEqual(self.ids("--grep", "lines"), [2])
        self.assertEqual(self.ids("-e", "你好"), [3])
        self.assertEqual(self.ids("--grep", "HELLO"), [])  # case-sensitive
        self.assertEqual(self.ids("--grep", "\x1b[31m"), [4])  # raw bytes, as sent

    def test_since_relative_and_absolute(self):
        self.assertEqual(self.ids("--since", "45m"), [5, 6, 7, 0, 18446744073709551615])
        self.assertEqual(self.ids("-S", "2h"), [3, 4, 5, 6, 7, 0, 18446744073709551615])
        t = EVENTS[4][0] // 10**9
        iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))
        self.assertEqual(self.ids("--since", iso)[0], 4)
        local = time.strftime("%Y-%m-%dT%H:%M:%S+08:00", time.gmtime(t + 8 * 3600))
        self.assertEqual(self.ids("--since", local), self.ids("--since", iso))
        self.assertEqual(self.ids("--since", "2000-01-01"), [j[2] for j in EVENTS])
        self.assertEqual(self.ids("--since", "2500-01-01"), [])

    def test_last_and_combined(self):
        self.assertEqual(self.ids("--last", "2"), [0, 18446744073709551615])
        self.assertEqual(self.ids("-l", "100"), [j[2] for j in EVENTS])
        self.assertEqual(self.ids("--peer", "10.0.0.2", "--last", "1"), [2])
        self.assertEqual(self.ids("--peer", "eve", "--since", "15m"), [7])
        plain = self.history("-l", "1", self.path).stdout
        self.assertEqual(plain.count(b"\n"), 1)
        self.assertIn(b"#18446744073709551615: tab\\there # not a comment", plain)

    def test_usage_errors(self):
        for args in (["--last", "0"], ["--since", "yesterday"], ["--since", "2026-02-30"],
                     ["--grep", ""], ["a", "b"], ["--bogus"]):
            p = self.history(*args, expect=2)
            self.assertIn(b"udpkit history", p.stderr)
        p = self.history(os.path.join(self.dir, "missing.txt"), expect=2)
        self.assertIn(b"missing.txt", p.stderr)

    def test_help_lists_every_option(self):
        out = self.history("--help").stdout.decode()
        for opt in ("--peer", "--grep", "--since", "--last", "--json"):
            self.assertIn(opt, out)


class TestHistoryDamage(HistoryBase):
    def test_torn_last_line_is_skipped_then_ended_by_the_next_writer(self):
        write_events(self.path, EVENTS[:3])
        with open(self.path, "ab") as f:
            f.write(b"2026-11-26T10:22:33.123Z\trecv\t10.0.0.2:2425\talice\t9\t11\thello w")
        p = self.history("--json", self.path)
        self.assertEqual(len(p.stdout.splitlines()), 3)
        self.assertIn(b"last line is incomplete", p.stderr)
        write_events(self.path, EVENTS[3:4])
        p = self.history("--json", self.path)
        got = [json.loads(x) for x in p.stdout.splitlines()]
        self.assertEqual([j["id"] for j in got], [1, 2, 2, 3])
        self.assertIn(b"1 line not in the history format", p.stderr)
        self.assertNotIn(b"incomplete", p.stderr)

    def test_forged_and_garbage_lines_are_counted_not_shown(self):
        write_events(self.path, [])
        with open(self.path, "ab") as f:
            f.write(b"garbage \x1b[2J line\n\x00\x01\x02\n")
            f.write(b"2026-11-26T10:22:33.123Z\trecv\tp\tn\t1\t5\thi\n")  # byte count lies
        write_events(self.path, EVENTS[:1])
        p = self.history(self.path)
        self.assertEqual(p.stdout.count(b"\n"), 1)
        self.assertIn(b"3 lines not in the history format", p.stderr)
        self.assertNotIn(b"\x1b", p.stdout + p.stderr)


class TestHistoryKill9(HistoryBase):
    """kill -9 in the middle of a burst: every line but possibly the last is
    whole, none is merged, none is missing before the last one written."""
    timeout_s = 300  # bursts, kill -9, then reading: slow on a busy machine

    def burst_and_kill(self, text_bytes):
        w = Proc([WRITER, self.path, "--burst", str(text_bytes)])
        try:
            # Big lines: fewer, so the burst stays short on a slow disk.
            w.wait_for(b"appended 20\n" if text_bytes > 100000 else b"appended 200", timeout=30)
            # And the writer is busy on the disk: two lines are out.
            deadline = time.monotonic() + 30 * SLOW
            while os.stat(self.path).st_size < 2 * text_bytes + 300:
                self.assertLess(time.monotonic(), deadline, "the writer wrote nothing")
                time.sleep(0.001)
        finally:
            w.send_signal(signal.SIGKILL)
            w.wait()
        self.assertEqual(w.proc.returncode, -signal.SIGKILL)

    def check_file(self, text_bytes, first_id):
        """Returns (whole lines, torn) after checking each line."""
        data = open(self.path, "rb").read()
        body = data.split(b"\n")
        tail = body.pop()  # after the last '\n': empty, or a torn line
        p = self.history("--json", self.path)
        got = [json.loads(x) for x in p.stdout.splitlines()]
        self.assertNotIn(b"not in the history format", p.stderr)
        self.assertEqual(len(got), len([b for b in body if b and not b.startswith(b"#")]))
        ids = [j["id"] for j in got if j["nick"] == "burst\tnick"]
        self.assertEqual(ids, list(range(first_id, first_id + len(ids))))
        for j in got[-len(ids):]:
            want = "burst %d\n" % j["id"] + chr(ord("a") + j["id"] % 26) * text_bytes
            self.assertEqual(j["text"], want)
        if tail:
            self.assertIn(b"last line is incomplete", p.stderr)
        return len(ids), bool(tail)

    def test_kill9_mid_burst(self):
        first = 1
        torn_seen = 0
        for text_bytes in (100, 1000000, 1000000, 5000):
            if os.path.exists(self.path):
                os.unlink(self.path)
            self.burst_and_kill(text_bytes)
            n, torn = self.check_file(text_bytes, first)
            self.assertGreaterEqual(n, 2)
            torn_seen += torn
            # The next writer ends a torn line; the reader then counts it
            # bad, never merges it with the new one.
            write_events(self.path, [EVENTS[0]])
            p = self.history("--json", self.path)
            got = [json.loads(x) for x in p.stdout.splitlines()]
            self.assertEqual(got[-1]["text"], "hello")
            self.assertEqual(len(got), n + 1)
            if torn:
                self.assertIn(b"1 line not in the history format", p.stderr)
            else:
                self.assertEqual(p.stderr, b"")
        print(f"\n    kill -9 during bursts: {torn_seen} of 4 runs left a torn last line", end=" ")


if __name__ == "__main__":
    unittest.main()
