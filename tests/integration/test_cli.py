"""The command line every command shares (docs/cli.md): one address
grammar, -p everywhere, errors that start with `udpkit CMD:` and suggest
the nearest option, `udpkit help CMD`, --version, resolution errors, the
exit-status table, iputils-compatible ping output, one JSON schema
(validated with python3-jsonschema), colour, completion and the
one-meaning-per-letter rule."""
import json
import os
import pty
import re
import select
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

import harness
from harness import udpkit, SLOW
from peers import ScriptedEcho

COMMANDS = ["bench", "broadcast", "chat", "echo", "history", "ifaces", "listen", "ping", "send"]
SCHEMA_DIR = os.path.join(harness.ROOT, "docs", "schema")

try:
    import jsonschema
except ImportError:  # Debian: python3-jsonschema (make deps)
    jsonschema = None


def out(r):
    return r.stdout.decode("utf-8", "replace")


def err(r):
    return r.stderr.decode("utf-8", "replace")


class Servers:
    """An echo server on 127.0.0.1 and one on ::1, both on free ports."""

    def __enter__(self):
        self.v4 = udpkit("echo", "-b", "127.0.0.1", "-p", "0", "-q", "-m", "pure")
        self.port4 = self.v4.wait_bound()[1]
        self.v6 = udpkit("echo", "-b", "[::1]", "-p", "0", "-q", "-m", "pure")
        self.port6 = self.v6.wait_bound()[1]
        return self

    def __exit__(self, *exc):
        self.v4.kill()
        self.v6.kill()


def ipv6_loopback():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


def resolver_answers():
    """True when the system's resolver answers for a .invalid name (with
    NXDOMAIN, as it must); False when no name service is reachable."""
    try:
        socket.getaddrinfo("udpkit-test.invalid", 7)
    except socket.gaierror as e:
        return e.errno != socket.EAI_AGAIN
    return True


class TestAddresses(unittest.TestCase):
    def setUp(self):
        if not ipv6_loopback():
            self.skipTest("no IPv6 on loopback")

    def forms(self, port4, port6):
        return [["127.0.0.1", str(port4)], [f"127.0.0.1:{port4}"], ["-p", str(port4), "127.0.0.1"],
                [f"[::1]:{port6}"], ["::1", str(port6)], ["-p", str(port6), "::1"]]

    def test_send_takes_every_form(self):
        with Servers() as s:
            for form in self.forms(s.port4, s.port6):
                r = harness.run("send", "-W", "2", *form, input=b"x\n")
                self.assertEqual(r.returncode, 0, (form, r.stderr))
                self.assertIn(b"reply from ", r.stdout)

    def test_ping_takes_every_form(self):
        with Servers() as s:
            for form in self.forms(s.port4, s.port6):
                r = harness.run("ping", "-c", "1", *form)
                self.assertEqual(r.returncode, 0, (form, r.stderr))
            r = harness.run("ping", "-c", "1", f"[::1]:{s.port6}")
            self.assertIn(f"from [::1]:{s.port6}".encode(), r.stdout)

    def test_bench_takes_every_form(self):
        with Servers() as s:
            for form in self.forms(s.port4, s.port6):
                r = harness.run("bench", "-J", "-d", "0.1", "--window", "1", *form)
                self.assertEqual(r.returncode, 0, (form, r.stderr))

    def test_servers_take_bracketed_and_port_forms(self):
        e = udpkit("echo", "-b", "[::1]", "-p", "0", "-q")
        self.assertEqual(e.wait_bound()[0], "::1")
        e.kill()
        e = udpkit("echo", "-b", "127.0.0.1:0", "-q")
        self.assertEqual(e.wait_bound()[0], "127.0.0.1")
        e.kill()
        l = udpkit("listen", "-b", "127.0.0.1:0", "-q")
        self.assertEqual(l.wait_bound()[0], "127.0.0.1")
        l.kill()
        c = udpkit("chat", "-b", "127.0.0.1:0", "--no-discovery", "--no-history", "--line", "--stay")
        self.assertEqual(c.wait_bound()[0], "127.0.0.1")
        c.kill()

    def test_broadcast_to_host_port(self):
        l = udpkit("listen", "-b", "127.0.0.1", "-p", "0", "--reply", "here")
        port = l.wait_bound()[1]
        r = harness.run("broadcast", "--to", f"127.0.0.1:{port}", "--wait", "2", "hi")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"1 responder", r.stdout)
        l.kill()

    def test_broadcast_prints_each_responder_as_it_answers(self):
        l = udpkit("listen", "-b", "127.0.0.1", "-p", "0", "--reply", "here")
        port = l.wait_bound()[1]
        b = udpkit("broadcast", "--to", f"127.0.0.1:{port}", "--wait", "30", "hi")
        b.wait_for(b"here", "out", timeout=20)
        self.assertIsNone(b.proc.poll(), "the reply was printed only at the end")
        self.assertNotIn(b"responder", b.out())  # the summary comes after the wait
        b.kill()
        l.kill()

    def test_ambiguous_v6_says_to_use_brackets(self):
        for cmd in (["send"], ["ping"], ["bench"], ["echo", "-b"], ["broadcast", "--to"]):
            r = harness.run(*cmd, "::1:8080", input=b"")
            self.assertEqual(r.returncode, 2, cmd)
            self.assertIn("ambiguous", err(r))
            self.assertIn("[::1:8080]", err(r))
            self.assertIn("[ADDR]:PORT", err(r))

    def test_port_twice_is_an_error(self):
        for cmd in ("send", "ping", "bench"):
            r = harness.run(cmd, "-p", "7", "127.0.0.1:8", input=b"")
            self.assertEqual(r.returncode, 2, cmd)
            self.assertIn("the port is given twice", err(r))
        r = harness.run("echo", "-b", "127.0.0.1:5", "-p", "6")
        self.assertIn("the port is given twice", err(r))
        # The same option twice: the last one counts, as with any option.
        with Servers() as s:
            r = harness.run("ping", "-c", "1", "-p", "1", "-p", s.port4, "127.0.0.1")
            self.assertEqual(r.returncode, 0, r.stderr)


class TestErrors(unittest.TestCase):
    def test_every_error_names_the_command(self):
        for cmd in COMMANDS:
            for args in (["--bogus"], ["-Z"], ["--json=x"] if cmd != "chat" else ["--line=x"]):
                r = harness.run(cmd, *args, input=b"")
                self.assertEqual(r.returncode, 2, (cmd, args))
                lines = err(r).splitlines()
                self.assertTrue(lines[0].startswith(f"udpkit {cmd}: "), (cmd, args, lines))
                self.assertEqual(lines[1], f"Try 'udpkit {cmd} --help'.", (cmd, lines))
                self.assertEqual(len(lines), 2, (cmd, lines))  # no second, wrong line

    def test_nearest_option_and_command(self):
        r = harness.run("ping", "--jsn", "x")
        self.assertIn("unknown option '--jsn'; did you mean '--json'?", err(r))
        r = harness.run("bench", "--windw", "4", "x")
        self.assertIn("did you mean '--window'?", err(r))
        r = harness.run("pnig")
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown command 'pnig'; did you mean 'ping'?", err(r))
        r = harness.run("zzzzzz")
        self.assertNotIn("did you mean", err(r))

    def test_missing_argument(self):
        r = harness.run("ping", "-c")
        self.assertIn("udpkit ping: option '--count' needs an argument (N)", err(r))

    def test_help_cmd_is_the_command_help(self):
        for cmd in COMMANDS:
            a, b = harness.run("help", cmd), harness.run(cmd, "--help")
            self.assertEqual(a.returncode, 0)
            self.assertEqual(a.stdout, b.stdout)
            self.assertTrue(a.stdout.startswith(f"usage: udpkit {cmd} ".encode()))
        self.assertEqual(harness.run("help", "pnig").returncode, 2)

    def test_version_everywhere(self):
        top = out(harness.run("--version"))
        self.assertRegex(top, r"^udpkit \d+\.\d+\.\d+\n$")
        for cmd in COMMANDS:
            for flag in ("--version", "-V"):
                r = harness.run(cmd, flag)
                self.assertEqual(r.returncode, 0, cmd)
                self.assertEqual(out(r), top, cmd)

    def test_durations_and_rates_take_units(self):
        with ScriptedEcho(lambda i, d: [(0, d)]) as peer:
            r = harness.run("ping", "-c", "1", "-w", "2h", "-i", "10ms", "-W", "1m", "127.0.0.1", peer.port)
            self.assertEqual(r.returncode, 0, r.stderr)
        r = harness.run("ping", "-w", "30600w", "127.0.0.1")
        self.assertEqual(r.returncode, 2)
        self.assertIn("invalid --deadline '30600w': out of range", err(r))
        r = harness.run("bench", "--rate", "1x", "127.0.0.1")
        self.assertIn("invalid --rate '1x'", err(r))


class TestResolution(unittest.TestCase):
    def test_no_such_host(self):
        if not resolver_answers():
            self.skipTest("no name service reachable: .invalid cannot be told apart")
        for cmd in ("send", "ping", "bench"):
            r = harness.run(cmd, "nosuchhost.invalid", input=b"x\n")
            self.assertEqual(r.returncode, 2, cmd)
            self.assertEqual(err(r), f"udpkit {cmd}: nosuchhost.invalid: no such host\n")

    def test_family_mismatch(self):
        r = harness.run("ping", "-4", "::1")
        self.assertEqual(r.returncode, 2)
        self.assertIn("::1: address family does not match (-4 asks for IPv4)", err(r))
        r = harness.run("send", "-6", "127.0.0.1", input=b"x\n")
        self.assertIn("(-6 asks for IPv6)", err(r))


class TestExitStatus(unittest.TestCase):
    """The table in docs/cli.md: 0 success, 1 no answer, 2 errors."""

    def test_no_answer_is_1(self):
        with ScriptedEcho(lambda i, d: []) as hole:
            self.assertEqual(harness.run("ping", "-c", "1", "-W", "0.1", "127.0.0.1", hole.port).returncode, 1)
            self.assertEqual(harness.run("send", "-W", "0.1", "-r", "0", "127.0.0.1", hole.port,
                                         input=b"x\n").returncode, 1)
            self.assertEqual(harness.run("bench", "-d", "0.1", "-W", "0.1", "127.0.0.1", hole.port).returncode, 1)

    def test_errors_are_2(self):
        for cmd in COMMANDS:
            self.assertEqual(harness.run(cmd, "--bogus", input=b"").returncode, 2, cmd)
        e = udpkit("echo", "-p", "0", "-q")
        port = e.wait_bound()[1]
        self.assertEqual(harness.run("echo", "-p", port).returncode, 2)
        e.kill()
        self.assertEqual(harness.run("ifaces", "-I", "nosuch0").returncode, 2)
        self.assertEqual(harness.run("history", "/nonexistent/chat.txt").returncode, 2)


SUMMARY = re.compile(r"^(\d+) packets transmitted, (\d+) received(, \+\d+ duplicates)?(, \+\d+ errors)?, "
                     r"\d+(\.\d+)?% packet loss, time \d+ms$", re.M)


class TestPingOutput(unittest.TestCase):
    def test_summary_lines_as_iputils(self):
        with ScriptedEcho(lambda i, d: [(0, d), (0, d)] if i == 0 else [(0, d)]) as peer:
            r = harness.run("ping", "-c", "3", "-i", "0.05", "127.0.0.1", peer.port)
        lines = out(r).splitlines()
        i = lines.index(f"--- 127.0.0.1:{peer.port} udpkit ping statistics ---")
        self.assertRegex(lines[i + 1], r"^3 packets transmitted, 3 received, \+1 duplicates, 0% packet loss, "
                                       r"time \d+ms$")
        self.assertRegex(lines[i + 2], r"^rtt min/avg/max/mdev = \d+\.\d{3}/\d+\.\d{3}/\d+\.\d{3}/\d+\.\d{3} ms$")
        self.assertEqual(lines[i + 3], "0 reordered, 0 late, 0 truncated")

    def test_loss_percentage_as_iputils(self):
        with ScriptedEcho(lambda i, d: [(0, d)] if i % 3 else []) as peer:
            r = harness.run("ping", "-c", "3", "-i", "0.02", "-W", "0.2", "127.0.0.1", peer.port)
        self.assertIn("3 packets transmitted, 2 received, 33.3333% packet loss", out(r))

    def test_icmp_unreachable_ends_each_probe(self):
        port = harness.free_udp_port()
        t0 = time.monotonic()
        r = harness.run("ping", "-c", "3", "-i", "0.05", "-W", "5", "127.0.0.1", port)
        took = time.monotonic() - t0
        self.assertEqual(r.returncode, 1)
        for seq in (1, 2, 3):
            self.assertIn(f"From 127.0.0.1 seq={seq} Destination Port Unreachable", out(r))
        self.assertIn("3 packets transmitted, 0 received, +3 errors, 100% packet loss", out(r))
        self.assertNotIn("no reply from", out(r))
        self.assertLess(took, 4 * SLOW, "probes waited for their timeout despite the ICMP error")

    def test_truncated_replies_are_replies(self):
        # A server that keeps the first 100 bytes, as inetd's echo keeps 4096.
        with ScriptedEcho(lambda i, d: [(0, d[:100])]) as cutter:
            r = harness.run("ping", "-c", "3", "-i", "0.02", "-s", "200", "127.0.0.1", cutter.port)
        self.assertEqual(r.returncode, 0, out(r))
        self.assertEqual(out(r).count("(truncated: the probe had 200 bytes)"), 3)
        self.assertIn("3 packets transmitted, 3 received, 0% packet loss", out(r))
        self.assertIn("0 reordered, 0 late, 3 truncated", out(r))
        self.assertNotIn("no reply", out(r))

    def test_stamped_bytes_are_explained(self):
        e = udpkit("echo", "-p", "0", "-q")
        port = e.wait_bound()[1]
        r = harness.run("ping", "-c", "1", "127.0.0.1", port)
        e.kill()
        self.assertRegex(out(r), r"\d+ bytes \(64 \+ \d+ prefix\) from 127\.0\.0\.1:\d+: seq=1 ")

    def test_deadline_keeps_per_probe_lines(self):
        with ScriptedEcho(lambda i, d: [(0, d)]) as peer:
            # 2 s for 3 replies at 0.05 s: room for a busy machine.
            r = harness.run("ping", "-w", "2", "-i", "0.05", "127.0.0.1", peer.port, timeout=60)
        self.assertGreaterEqual(out(r).count(" seq="), 3)
        self.assertRegex(out(r), SUMMARY)


class TestBenchAndEcho(unittest.TestCase):
    def test_bench_against_a_closed_port(self):
        port = harness.free_udp_port()
        r = harness.run("bench", "-d", "0.2", "--window", "1", "-W", "0.1", "127.0.0.1", port)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"nobody listens on 127.0.0.1:{port}", out(r))
        self.assertNotIn("latency", out(r))
        self.assertNotIn("echoes/s", out(r))
        r = harness.run("bench", "-J", "-d", "0.2", "--rate", "100", "-W", "0.1", "127.0.0.1", port)
        res = json.loads(out(r))
        self.assertNotIn("latency_us", res)
        self.assertNotIn("window", res)  # rate mode: the window played no part
        self.assertEqual(res["rate_pps"], 100)

    def test_sockperf_mode_is_not_rate_limited_unless_asked(self):
        e = udpkit("echo", "-p", "0", "-q", "-m", "sockperf", "--limit-loopback")
        port = e.wait_bound()[1]
        r = harness.run("bench", "-J", "-d", "0.5", "--rate", "4k", "127.0.0.1", port)
        res = json.loads(out(r))
        e.kill()
        self.assertEqual(res["received"], res["sent"], res)
        e = udpkit("echo", "-p", "0", "-q", "-m", "sockperf", "--limit-loopback", "--rate-limit", "1k")
        port = e.wait_bound()[1]
        r = harness.run("bench", "-J", "-d", "0.5", "--rate", "4k", "-W", "0.2", "127.0.0.1", port)
        res = json.loads(out(r))
        e.kill()
        self.assertGreater(res["lost"], 0, res)


class TestNouns(unittest.TestCase):
    def test_numbers_agree_with_their_nouns(self):
        e = udpkit("echo", "-p", "0", "-q")
        port = e.wait_bound()[1]
        r = harness.run("send", "127.0.0.1", port, input=b"one\n")
        self.assertIn(b"udpkit send: 1 line sent, 1 replied", r.stderr)
        e.stop()
        self.assertRegex(e.err().decode(), r"udpkit echo: 1 datagram \(3 bytes\) received, 1 reply \(\d+ bytes\) sent")
        with ScriptedEcho(lambda i, d: []) as hole:
            r = harness.run("ping", "-c", "1", "-W", "0.1", "127.0.0.1", hole.port)
        self.assertIn("(1 probe)", out(r))


class TestJsonSchema(unittest.TestCase):
    """Every --json output validates against docs/schema/CMD.schema.json."""

    def setUp(self):
        if jsonschema is None:
            self.skipTest("python3-jsonschema is not installed (make deps)")

    def validate(self, cmd, text, events=None):
        with open(os.path.join(SCHEMA_DIR, f"{cmd}.schema.json")) as f:
            schema = json.load(f)
        seen = []
        lines = [l for l in text.splitlines() if l.strip()]
        self.assertTrue(lines, f"{cmd}: no JSON")
        for line in lines:
            rec = json.loads(line)
            jsonschema.validate(rec, schema)
            seen.append(rec["event"])
        if events:
            self.assertTrue(set(events) <= set(seen), (cmd, events, seen))
        return seen

    def test_ping_send_bench(self):
        with ScriptedEcho(lambda i, d: [(0, d), (0, d)] if i == 0 else ([] if i == 2 else [(0, d)])) as peer:
            r = harness.run("ping", "-J", "-c", "4", "-i", "0.05", "-W", "0.1", "127.0.0.1", peer.port)
            self.validate("ping", out(r), ["reply", "duplicate", "lost", "summary"])
            r = harness.run("bench", "-J", "-d", "0.2", "--window", "2", "-W", "0.1", "127.0.0.1", peer.port)
            self.validate("bench", out(r), ["summary"])
            r = harness.run("bench", "-J", "-d", "0.2", "--rate", "200", "-W", "0.1", "127.0.0.1", peer.port)
            self.validate("bench", out(r), ["summary"])
        with ScriptedEcho(lambda i, d: [] if i == 1 else [(0, d)]) as peer:
            r = harness.run("send", "-J", "-W", "0.2", "-r", "0", "127.0.0.1", peer.port, input=b"a\nb\nc\n")
            self.validate("send", out(r), ["reply", "no_reply"])
        port = harness.free_udp_port()
        r = harness.run("ping", "-J", "-c", "2", "-i", "0.05", "127.0.0.1", port)
        self.validate("ping", out(r), ["unreachable", "summary"])
        r = harness.run("send", "-J", "-W", "0.2", "-r", "0", "127.0.0.1", port, input=b"a\n")
        self.validate("send", out(r), ["refused"])

    def test_servers_broadcast_ifaces(self):
        e = udpkit("echo", "-J", "-p", "0")
        port = e.wait_bound()[1]
        l = udpkit("listen", "-J", "-b", "127.0.0.1", "-p", "0", "--reply", "here")
        lport = l.wait_bound()[1]
        harness.run("send", "-W", "1", "127.0.0.1", port, input=b"hello\n")
        r = harness.run("broadcast", "-J", "--to", f"127.0.0.1:{lport}", "--wait", "1", "hi")
        self.validate("broadcast", out(r), ["reply", "responder", "summary"])
        e.stop()
        l.stop()
        self.validate("echo", e.out().decode(), ["datagram"])
        self.validate("listen", l.out().decode(), ["datagram"])
        self.validate("ifaces", out(harness.run("ifaces", "-J")), ["interface"])

    def test_history(self):
        from test_history import EVENTS, write_events
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "chat.txt")
            write_events(path, EVENTS)
            r = harness.run("history", "-J", path)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.validate("history", out(r))

    def test_schemas_are_valid_and_versioned(self):
        for name in os.listdir(SCHEMA_DIR):
            with open(os.path.join(SCHEMA_DIR, name)) as f:
                schema = json.load(f)
            jsonschema.Draft7Validator.check_schema(schema)
            for rec in schema["oneOf"]:
                self.assertIn("schema_version", rec["required"], name)
                self.assertIn("event", rec["required"], name)


def run_on_pty(args, env=None, timeout=30):
    """Runs udpkit with stdout and stderr on a terminal; returns the bytes."""
    master, slave = pty.openpty()
    p = subprocess.Popen([harness.BIN] + [str(a) for a in args], stdin=subprocess.DEVNULL, stdout=slave,
                         stderr=slave, env=env)
    os.close(slave)
    data = b""
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 0.5)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
        elif p.poll() is not None:
            break
    p.wait(10)
    os.close(master)
    return data


class TestColour(unittest.TestCase):
    def env(self, **kw):
        e = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
        e["TERM"] = "xterm"
        e.update(kw)
        return e

    def test_on_a_terminal_errors_and_loss_are_coloured(self):
        data = run_on_pty(["ping", "--bogus"], env=self.env())
        self.assertIn(b"\x1b[1;31mudpkit ping:\x1b[0m", data)
        with ScriptedEcho(lambda i, d: [(0, d)]) as peer:
            data = run_on_pty(["ping", "-c", "1", "127.0.0.1", peer.port], env=self.env())
        self.assertIn(b"\x1b[32m0% packet loss\x1b[0m", data)

    def test_no_color_and_never(self):
        self.assertNotIn(b"\x1b[", run_on_pty(["ping", "--bogus"], env=self.env(NO_COLOR="1")))
        self.assertNotIn(b"\x1b[", run_on_pty(["ping", "--color=never", "--bogus"], env=self.env()))
        self.assertNotIn(b"\x1b[", run_on_pty(["ping", "--bogus"], env=self.env(TERM="dumb")))

    def test_piped_is_plain_unless_always(self):
        r = harness.run("ping", "--bogus")
        self.assertNotIn(b"\x1b[", r.stderr)
        r = harness.run("ping", "--color=always", "--bogus")
        self.assertIn(b"\x1b[1;31m", r.stderr)
        r = harness.run("ping", "--color", "--bogus")  # --color alone means always
        self.assertIn(b"\x1b[1;31m", r.stderr)

    def test_json_never_coloured(self):
        with ScriptedEcho(lambda i, d: [(0, d)]) as peer:
            r = harness.run("ping", "--color=always", "-J", "-c", "1", "127.0.0.1", peer.port)
        self.assertNotIn(b"\x1b[", r.stdout)


class TestCompletion(unittest.TestCase):
    def setUp(self):
        self.script = os.path.join(os.path.dirname(harness.BIN), "completion", "udpkit.bash")
        if not os.path.exists(self.script):
            self.script = os.path.join(tempfile.mkdtemp(), "udpkit.bash")
            with open(self.script, "wb") as f:
                f.write(harness.run("--completion", "bash").stdout)

    def complete(self, *words):
        """COMPREPLY for the command line `udpkit WORDS...`, the last word
        being completed, through the generated function and compgen."""
        arr = " ".join("'" + w.replace("'", "'\\''") + "'" for w in ("udpkit",) + words)
        prog = f"source '{self.script}'; COMP_WORDS=({arr}); COMP_CWORD={len(words)}; _udpkit; " \
               "printf '%s\\n' \"${COMPREPLY[@]}\""
        r = subprocess.run(["bash", "--norc", "-c", prog], capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        return set(r.stdout.decode().split())

    def test_commands_options_and_values(self):
        self.assertEqual(self.complete("pi"), {"ping"})
        self.assertEqual(self.complete("help", "br"), {"broadcast"})
        self.assertEqual(self.complete("ping", "--js"), {"--json"})
        self.assertEqual(self.complete("echo", "-m", ""), {"stamp", "pure", "sockperf"})
        self.assertEqual(self.complete("echo", "--mode", "s"), {"stamp", "sockperf"})
        self.assertEqual(self.complete("ping", "--color", "=", "a"), {"auto", "always"})
        self.assertIn("lo", self.complete("ifaces", "-I", ""))
        self.assertEqual(self.complete("ping", "-c", ""), set())

    def test_every_option_of_help_completes(self):
        for cmd in COMMANDS:
            helped = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z0-9])(?=[ ,=\[\n])",
                                    out(harness.run(cmd, "--help")).split("options:", 1)[1]))
            completed = {w.rstrip("=") for w in self.complete(cmd, "-")}
            self.assertEqual(helped, completed, cmd)

    def test_zsh_script_parses(self):
        zsh = shutil.which("zsh")
        if not zsh:
            self.skipTest("zsh is not installed (make deps)")
        with tempfile.NamedTemporaryFile(suffix="_udpkit") as f:
            f.write(harness.run("--completion", "zsh").stdout)
            f.flush()
            r = subprocess.run([zsh, "-n", f.name], capture_output=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
        text = out(harness.run("--completion", "zsh"))
        self.assertTrue(text.startswith("#compdef udpkit"))
        self.assertIn("(stamp pure sockperf)", text)


class TestZshCompletion(unittest.TestCase):
    """The zsh completion in a real interactive zsh: tests/lib/zcomplete.zsh
    types the line and TAB in a pseudo-terminal (zsh/zpty) and prints what
    the completion system offers."""

    def setUp(self):
        self.zsh = shutil.which("zsh")
        if not self.zsh:
            self.skipTest("zsh is not installed (Debian package zsh; make deps)")
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir, True)
        with open(os.path.join(self.dir, "_udpkit"), "wb") as f:
            f.write(harness.run("--completion", "zsh").stdout)
        self.script = os.path.join(harness.ROOT, "tests", "lib", "zcomplete.zsh")

    def complete(self, line):
        env = dict(os.environ, HOME=self.dir)
        r = subprocess.run([self.zsh, "-f", self.script, self.dir, line], capture_output=True,
                           timeout=60 * harness.SLOW, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        return set(r.stdout.decode().split())

    def test_commands_options_and_values(self):
        self.assertEqual(self.complete("udpkit pi"), {"ping"})
        self.assertEqual(self.complete("udpkit help br"), {"broadcast"})
        self.assertEqual(self.complete("udpkit ping --js"), {"--json"})
        self.assertEqual(self.complete("udpkit echo -m "), {"stamp", "pure", "sockperf"})
        self.assertEqual(self.complete("udpkit echo --mode s"), {"stamp", "sockperf"})
        self.assertEqual(self.complete("udpkit ping --color=a"), {"auto", "always"})
        self.assertIn("lo", self.complete("udpkit ifaces -I "))
        self.assertEqual(self.complete("udpkit ping -c "), set())
        # Every option of --help, as for bash.
        helped = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z0-9])(?=[ ,=\[\n])",
                                out(harness.run("bench", "--help")).split("options:", 1)[1]))
        self.assertEqual(self.complete("udpkit bench -"), helped)


class TestLetters(unittest.TestCase):
    """A short letter means one thing across all commands, unless
    docs/cli.md lists the exception with its reason; the table there is
    what the commands do."""

    def letters(self):
        meaning = {}
        for cmd in COMMANDS:
            for letter, name in re.findall(r"^  -([a-zA-Z0-9]), --([a-z0-9-]+)", out(harness.run(cmd, "--help")), re.M):
                meaning.setdefault(letter, {}).setdefault(name, set()).add(cmd)
        return meaning

    def doc_tables(self):
        text = open(os.path.join(harness.ROOT, "docs", "cli.md"), encoding="utf-8").read()
        short = text.split("## Short options", 1)[1]
        table, exceptions = short.split("### Exceptions", 1)
        documented = dict(re.findall(r"^\| `-(\w)` \| `--([a-z0-9-]+)` \|", table, re.M))
        excepted = {m.group(1): m.group(2) for m in re.finditer(r"^\| `-(\w)` \| (.+?) \| (.+?) \|$", exceptions, re.M)
                    if len(m.group(3).strip()) > 20}  # a reason, not a blank
        return documented, excepted

    def test_one_meaning_per_letter(self):
        documented, excepted = self.doc_tables()
        for letter, names in self.letters().items():
            if len(names) > 1:
                self.assertIn(letter, excepted, f"-{letter} means {sorted(names)}: not listed in docs/cli.md")
                for name in names:
                    self.assertIn(f"`--{name}`", excepted[letter], letter)

    def test_table_matches_the_commands(self):
        documented, excepted = self.doc_tables()
        actual = self.letters()
        self.assertEqual(set(documented), set(actual))
        for letter, name in documented.items():
            self.assertIn(name, actual[letter], letter)

    def test_iputils_letters(self):
        expect = {"c": "count", "i": "interval", "W": "timeout", "w": "deadline", "s": "size", "q": "quiet"}
        helped = dict(re.findall(r"^  -([a-zA-Z0-9]), --([a-z0-9-]+)", out(harness.run("ping", "--help")), re.M))
        for letter, name in expect.items():
            self.assertEqual(helped[letter], name)
        self.assertIn("--ttl", out(harness.run("broadcast", "--help")))
        self.assertIn("  -t, --ttl", out(harness.run("broadcast", "--help")))


class TestMakeDemo(unittest.TestCase):
    def test_demo_needs_only_the_build(self):
        make = shutil.which("make")
        if not make:
            self.skipTest("no make")
        r = subprocess.run([make, "-n", "-C", harness.ROOT, "demo", f"BUILD={tempfile.mkdtemp()}"],
                           capture_output=True, timeout=60)
        text = r.stdout.decode()
        self.assertIn("libreadline-dev", text)
        for peer in ("iptux", "xvfb", "sockperf", "tmux", "lintian", "clang"):
            self.assertNotIn(peer, text)


if __name__ == "__main__":
    unittest.main()
