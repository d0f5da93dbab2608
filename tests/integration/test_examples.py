"""Every example in README.md and in every man page's EXAMPLES section,
run as printed (issue 9: "every example in the README and man pages works
as printed").

The examples are read from the files themselves, so a changed or new
example is either run here or fails test_every_example_is_run. Each runs
with `bash -c` exactly as printed, with `udpkit` on PATH, inside network
namespaces of a private lab (tests/lib/netlab.py): there 127.0.0.1:8080,
UDP 2425 and the LAN the examples broadcast on are ours alone, and nothing
reaches the machine's own network. What an example needs around it is
provided, never rewritten into it:
- a line ending in `&` (or `A &  B`) starts a server: it runs in the
  background until it prints `bound on`, then the rest runs, as a person
  typing the lines would see it;
- a peer (an echo server, a listener, a chat, netcat) is started where the
  example talks to one, on the address it names (192.0.2.7, 10.0.0.7 are
  given to a lab host); interfaces named in an example (eth0, eth1, wlan0)
  are the lab host's LAN interface renamed;
- interactive commands get their input on stdin; `~` is a fresh HOME.
Two examples are not run here, with the reason in NOT_RUN: `make check`
(the suite this test is part of) and `make demo` (test_demo.py).
Skipped without root (namespaces)."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import unittest

import harness
import netlab

ROOT = harness.ROOT
BIN = harness.BIN
SLOW = harness.SLOW

NOT_RUN = {
    "make check": "the whole suite, which runs this test",
    "make demo": "run by tests/integration/test_demo.py",
    "udpkit chat --room team": "asks its passphrase on the terminal and opens the terminal UI: "
                               "run with a terminal by test_chat_room (test_terminal_prompt_without_echo, "
                               "test_terminal_ui_prompt_status_line_and_peers)",
}


# ---- extraction ------------------------------------------------------------
COMMANDS = ("udpkit", "printf", "echo", "make", "source", "nft")


def _readme_examples():
    """(command lines, output lines) of README.md's ```sh blocks: a line is
    a command when it starts with one of COMMANDS, otherwise it is output
    shown with the command before it. Comments after two spaces go."""
    cmds, output = [], []
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    for block in re.findall(r"^```sh\n(.*?)^```", text, re.S | re.M):
        for line in block.splitlines():
            line = re.sub(r"\s{2,}# .*$", "", line).strip()
            if not line:
                continue
            (cmds if line.split()[0] in COMMANDS else output).append(line)
    return cmds, output


def _man_pages():
    pages = [os.path.join(ROOT, "man", "udpkit.1")]
    for d in sorted(os.listdir(os.path.join(ROOT, "cmd"))):
        p = os.path.join(ROOT, "cmd", d, f"udpkit-{d}.1")
        if os.path.exists(p):
            pages.append(p)
    return pages


def _roff_text(s):
    return s.replace("\\e", "\\").replace("\\-", "-").replace("\\&", "").strip()


def _man_examples(path):
    """The .Dl lines and the lines of .Bd -literal blocks in EXAMPLES."""
    out, section, literal = [], None, False
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith(".Sh "):
                section = line[4:].strip()
                continue
            if section != "EXAMPLES":
                continue
            if line.startswith(".Bd") and "-literal" in line:
                literal = True
            elif line.startswith(".Ed"):
                literal = False
            elif literal and not line.startswith("."):
                out.append(_roff_text(line))
            elif line.startswith(".Dl "):
                out.append(_roff_text(line[4:]))
    return out


def all_examples():
    """Every example command: {text: [where, ...]}."""
    found = {}
    for c in _readme_examples()[0]:
        found.setdefault(c, []).append("README.md")
    for p in _man_pages():
        for c in _man_examples(p):
            found.setdefault(c, []).append(os.path.relpath(p, ROOT))
    return found


RAN = set()


# ---- running ---------------------------------------------------------------
class ExampleLab(unittest.TestCase):
    """A lab per test; helpers that run example text in a host."""
    hosts = 1

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="uk-examples-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        bindir = os.path.join(self.tmp, "bin")
        os.mkdir(bindir)
        os.symlink(os.path.abspath(BIN), os.path.join(bindir, "udpkit"))
        self.home = os.path.join(self.tmp, "home")
        os.mkdir(self.home, 0o700)
        self.env = dict(os.environ, PATH=bindir + ":" + os.environ.get("PATH", "/usr/bin:/bin"),
                        HOME=self.home, NO_COLOR="1")
        self.env.pop("XDG_STATE_HOME", None)
        self.watch = netlab.root_tx_packets()
        self.lab = netlab.Lab(hosts=self.hosts)
        self.lab.__enter__()
        self.addCleanup(self._teardown)

    def _teardown(self):
        self.lab.close()
        netlab.assert_root_tx_unchanged(self.watch)

    def _argv(self, host, text):
        return self.lab.exec_argv(host, ["bash", "-c", text])

    def _example(self, text):
        self.assertIn(text, all_examples(), "not an example of the README or a man page")
        RAN.add(text)

    def run_example(self, host, text, input=None, timeout=30, rc=0):
        """Runs the example to its end; returns (stdout, stderr) as text."""
        self._example(text)
        r = subprocess.run(self._argv(host, text), input=input, capture_output=True,
                           timeout=timeout * SLOW, env=self.env)
        out, err = r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")
        if rc is not None:
            self.assertEqual(r.returncode, rc, f"{text!r} exited {r.returncode}:\n{out[-3000:]}\n{err[-3000:]}")
        return out, err

    def start_example(self, host, text, bound=True, stdin=subprocess.DEVNULL):
        """Starts a server example (the text may end in '&'); waits for its
        'bound on' line. The process is ended at teardown."""
        self._example(text)
        text = text.rstrip().rstrip("&").rstrip()
        return self.start(host, ["bash", "-c", "exec " + text], bound, stdin)

    def start(self, host, argv, bound=True, stdin=subprocess.DEVNULL):
        p = harness.Proc(self.lab.exec_argv(host, argv), stdin=stdin, env=self.env)
        self.lab.procs.append(p)
        if bound:
            p.wait_bound(timeout=15)
        return p

    def rename(self, host, name):
        """The host's LAN interface becomes `name` (eth0, eth1, wlan0, as
        the example says), with the lab's routes put back."""
        old = self.lab.ip(host, "-o", "link", "show").stdout
        cur = "lan0" if " lan0" in old else re.search(r"\d+: (eth\d|wlan\d)[@:]", old).group(1)
        self.lab.ip(host, "link", "set", cur, "down")
        self.lab.ip(host, "link", "set", cur, "name", name)
        self.lab.ip(host, "link", "set", name, "up")
        for net in ("255.255.255.255/32", "224.0.0.0/4"):
            self.lab.ip(host, "route", "replace", net, "dev", name)

    def add_addr(self, host, cidr):
        iface = "lan0"
        self.lab.ip(host, "addr", "add", cidr, "dev", iface)

    def run_example_free(self, host, argv, timeout=30):
        """Runs a command that is not an example (a check), in host."""
        r = subprocess.run(self.lab.exec_argv(host, argv), capture_output=True,
                           timeout=timeout * SLOW, env=self.env)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")

    def stop(self, p, port=None, host=1, addr="127.0.0.1"):
        """Stops a server; with port, also waits until that UDP port of the
        host can be bound again (the next example binds it: with the
        io_uring backend the socket outlives the process for a moment, and
        a server started at once found it in use)."""
        p.stop(signal.SIGINT)
        if port:
            probe = ("import socket,sys,time\nd=time.monotonic()+float(sys.argv[2])\n"
                     "while True:\n  s=socket.socket(socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET,"
                     "socket.SOCK_DGRAM)\n  try:\n    s.bind((sys.argv[1],int(sys.argv[3])));break\n"
                     "  except OSError:\n    assert time.monotonic()<d,'port still in use'\n    time.sleep(0.01)\n"
                     "  finally:\n    s.close()\n")
            r = subprocess.run(self.lab.exec_argv(host, [harness.python3(), "-c", probe, addr,
                                                      str(10 * SLOW), str(port)]),
                               capture_output=True, timeout=60 * SLOW)
            self.assertEqual(r.returncode, 0, r.stderr)
        return p.out().decode("utf-8", "replace"), p.err().decode("utf-8", "replace")


class TestCoverage(unittest.TestCase):
    def test_every_example_is_run(self):
        """Every example of the README and the man pages is one this file
        runs (or lists in NOT_RUN): an example added without a test here
        fails, and so does a test of an example that no longer exists."""
        here = open(os.path.abspath(__file__), encoding="utf-8").read()
        missing = [t for t in all_examples() if t not in NOT_RUN and repr(t) not in here
                   and json.dumps(t) not in here]
        self.assertEqual(missing, [], "examples this test does not run")
        self.assertGreaterEqual(len(all_examples()), 40)

    def test_readme_output_is_what_broadcast_prints(self):
        """The output shown under `udpkit broadcast hello` has the form the
        command prints (checked against a real run in TestLan)."""
        self.assertEqual(_readme_examples()[1], [
            "sent 35 bytes to 192.168.1.255:8086 on eth0",
            "192.168.1.7:8086          12.345 ms  ack from alpha",
            "192.168.1.9:8086          31.002 ms  ack from beta",
            "2 responders"])


# Regular expressions for what the README shows broadcast print.
SENT_RE = re.compile(r"^sent \d+ bytes to [\d.]+:8086 on \S+$", re.M)
RESPONDER_RE = re.compile(r"^[\d.]+:8086 +\d+\.\d{3} ms  ack from \S+$", re.M)


class TestEchoClients(ExampleLab):
    """The echo server's examples and the clients that talk to it."""

    def test_tutorial_server_ping_send_bench(self):
        for server in ("udpkit echo &", "udpkit echo"):
            e = self.start_example(1, server)
            out, _ = self.run_example(1, "udpkit ping -c 3 127.0.0.1:8080")
            self.assertIn("3 packets transmitted, 3 received, 0% packet loss", out)
            self.stop(e, 8080)
        e = self.start_example(1, "udpkit echo")
        out, _ = self.run_example(1, "udpkit ping -c 10 -i 10ms 127.0.0.1 8080")
        self.assertIn("10 packets transmitted, 10 received", out)
        out, err = self.run_example(1, "udpkit send", input=b"hello\n")
        self.assertRegex(out, r"reply from 127\.0\.0\.1:8080 .*】hello")
        out, err = self.run_example(1, "printf 'a\\nb\\n' | udpkit send -W 200ms 127.0.0.1 8080")
        self.assertIn("2 lines sent, 2 replied", err)
        for text in ("udpkit bench --window 1 -d 2 127.0.0.1 8080",
                     "udpkit bench -d 5 --window 64 127.0.0.1:8080",
                     "udpkit bench 127.0.0.1 8080",
                     "udpkit bench --rate 50000 --flows 4 127.0.0.1:8080"):
            out, err = self.run_example(1, text, timeout=40)
            self.assertRegex(out + err, r"echoes/s \d+")
            self.assertRegex(out + err, r"received [1-9]\d*")
        self.stop(e)

    def test_ipv6(self):
        e = self.start_example(1, "udpkit echo -b ::1 -p 8080 &")
        out, err = self.run_example(1, "udpkit send '[::1]:8080'", input=b"over six\n")
        self.assertRegex(out, r"reply from \[::1\]:8080 .*】over six")
        self.stop(e)

    def test_sockperf_targets(self):
        e = self.start_example(1, "udpkit echo -m sockperf -q -T 2")
        out, _ = self.run_example_free(1, ["udpkit", "ping", "-c", "5", "127.0.0.1", "8080"])
        self.assertIn("5 packets transmitted, 5 received", out)
        if shutil.which("sockperf"):  # and sockperf's own client
            r = subprocess.run(self.lab.exec_argv(1, ["sockperf", "ping-pong", "-i", "127.0.0.1",
                                                      "-p", "8080", "-t", "1"]),
                               capture_output=True, timeout=30 * SLOW)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(b"Summary: Latency", r.stdout + r.stderr)
        self.stop(e)
        e = self.start_example(1, "udpkit echo -m sockperf -p 11111 -q")
        out, _ = self.run_example(1, "udpkit ping -c 100 -i 1ms -q 127.0.0.1 11111")
        self.assertIn("100 packets transmitted, 100 received", out)
        self.stop(e, 11111)
        if shutil.which("sockperf"):  # the man page's own words: sockperf server
            s = self.start(1, ["sockperf", "server", "-i", "127.0.0.1"], bound=False)
            s.wait_for(b"Warmup stage", "out", 15)
            out, _ = self.run_example(1, "udpkit ping -c 100 -i 1ms -q 127.0.0.1 11111")
            self.assertIn("100 packets transmitted, 100 received", out)


class TestRemoteEcho(ExampleLab):
    """Examples naming another host: 192.0.2.7 is lab host 2."""
    hosts = 2

    def test_pure_servers_and_a_script(self):
        self.add_addr(1, "192.0.2.1/24")
        self.add_addr(2, "192.0.2.7/24")
        for server in ("udpkit echo -b :: -p 7007 -m pure -T 2 -q",
                       "udpkit echo -b :: -p 7007 -m pure"):
            e = self.start_example(2, server)
            out, err = self.run_example(1, "printf 'a\\nb\\nc\\n' | udpkit send -W 200ms 192.0.2.7 7007")
            self.assertIn("3 lines sent, 3 replied", err)
            self.assertRegex(out, r"reply from 192\.0\.2\.7:7007 \(1 bytes?, .*\): c")
            self.stop(e, 7007, host=2, addr="::")


class TestLan(ExampleLab):
    """broadcast, listen and ifaces on a three-host LAN."""
    hosts = 3

    def test_broadcast_and_listen(self):
        l2 = self.start_example(2, "udpkit listen")
        l3 = self.start_example(3, "udpkit listen")
        out, err = self.run_example(1, "udpkit broadcast hello")
        # The form the README shows (the "sent" line is on stderr).
        self.assertRegex(err, SENT_RE)
        self.assertEqual(len(RESPONDER_RE.findall(out)), 2, out)
        self.assertIn("2 responders", out)
        self.rename(1, "eth1")
        out, err = self.run_example(1, "udpkit broadcast -I eth1 -w 2 -r 2 --source-port 40000 hello")
        self.assertIn("2 responders", out)
        self.rename(1, "eth0")
        out, err = self.run_example(1, "udpkit broadcast -I eth0 --to 255.255.255.255 hello")
        self.assertIn("2 responders", out)
        self.stop(l2)
        self.stop(l3)
        # Print only: the datagram shown, no answer.
        q = self.start_example(3, "udpkit listen --no-reply")
        out, err = self.run_example(1, "udpkit broadcast hello", rc=None)
        q.wait_for(b"hello", "out", 10)
        self.assertNotIn("10.77.0.3:8086", out)
        self.stop(q)

    def test_multicast(self):
        g = self.start_example(2, "udpkit listen -g 239.77.0.1")
        out, err = self.run_example(1, "udpkit broadcast --to 239.77.0.1 hello")
        self.assertIn("10.77.0.2:8086", out)
        self.stop(g)
        # The README's one-liner, on one host: a listener in the group,
        # then the broadcast to it.
        text = "udpkit listen --group 239.77.0.1 &  udpkit broadcast --to 239.77.0.1 hi"
        server, client = [s.strip() for s in text.split("&", 1)]
        self._example(text)
        RAN.discard(text)
        g = self.start(1, ["bash", "-c", "exec " + server])
        r = subprocess.run(self._argv(1, client), capture_output=True, timeout=30 * SLOW, env=self.env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"10.77.0.1:8086", r.stdout)
        RAN.add(text)
        self.stop(g)

    def test_ipv6_groups(self):
        self.rename(1, "eth0")
        self.rename(2, "eth0")
        g = self.start_example(2, "udpkit listen -g ff02::77:1 -I eth0")
        for text in ("udpkit broadcast -I eth0 --to ff02::1 hello",
                     "udpkit broadcast -I eth0 --to ff02::1 hi"):
            out, err = self.run_example(1, text)
            self.assertIn(f"[{self.lab.ll(2)}%eth0]:8086", out)
        self.stop(g)

    def test_ifaces(self):
        out, _ = self.run_example(1, "udpkit ifaces")
        self.assertIn("lan0", out)
        out, _ = self.run_example(1, "udpkit ifaces --json")
        rows = [json.loads(line) for line in out.splitlines() if line.strip()]
        self.assertTrue(any("lan0" in json.dumps(r) for r in rows), out)
        self.rename(1, "wlan0")
        out, _ = self.run_example(1, "udpkit ifaces -I wlan0 --json")
        rows = [json.loads(line) for line in out.splitlines() if line.strip()]
        self.assertTrue(rows and all("wlan0" in json.dumps(r) for r in rows), out)


class TestChat(ExampleLab):
    """The chat's examples: alice on host 1, bob on host 2."""
    hosts = 2

    def bob(self, *args):
        return self.start(2, [BIN, "chat", "-n", "bob", "--stay", "--no-history", *args],
                          stdin=subprocess.PIPE)

    def test_lan_discovery(self):
        b = self.bob()
        for text in ("udpkit chat --nick alice", "udpkit chat -n alice",
                     "udpkit chat -n alice --charset gb18030", "udpkit chat --charset gb18030",
                     # runs as printed; what it does to 10.0.0.7 is tested on
                     # loopback (test_chat_charset, test_peer_charset_*)
                     "udpkit chat -n alice --peer-charset 10.0.0.7=gbk"):
            a = self.start_example(1, text, stdin=subprocess.PIPE)
            a.wait_for(b"joined\t10.77.0.2:2425\tbob\t", "out", 15)
            a.proc.stdin.close()
            self.assertEqual(a.wait(30), 0, a.err())
            b.wait_for(b"left\t10.77.0.1:2425", "out", 15)
        self.stop(b)

    def test_script_to_a_peer(self):
        self.add_addr(1, "10.0.0.1/24")
        self.add_addr(2, "10.0.0.7/24")
        b = self.bob("--no-discovery")
        out, err = self.run_example(1, "echo 'build done' | udpkit chat -p 0 --no-discovery -P 10.0.0.7",
                                    timeout=60)
        self.assertRegex(out, r"(?m)^delivered\t10\.0\.0\.7:2425\t")
        b.wait_for(b"\tbuild done\n", "out", 10)
        self.stop(b)

    def test_plain_peers(self):
        # The tutorial's chat.py on 127.0.0.1:8081 (a plain UDP socket).
        recv = ("import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                "s.bind(('127.0.0.1',int(sys.argv[1])))\n"
                "sys.stderr.write('bound on 127.0.0.1 %s\\n' % sys.argv[1])\nsys.stderr.flush()\n"
                "print(s.recv(65536),flush=True)\n")
        r = self.start(1, [harness.python3(), "-c", recv, "8081"])
        out, err = self.run_example(1, "udpkit chat -b 127.0.0.1 -p 8080 -P 127.0.0.1:8081 --plain",
                                    input=b"hi chat.py\n")
        r.wait_for(b"hi chat.py", "out", 10)
        # nc -u -l 9000, as the man page says.
        if shutil.which("nc"):
            n = self.start(1, ["nc", "-u", "-l", "127.0.0.1", "9000"], bound=False)
        else:
            n = self.start(1, [harness.python3(), "-c", recv, "9000"])
        self.run_example(1, "echo hello | udpkit chat -p 0 --no-discovery --plain-peer 127.0.0.1:9000")
        n.wait_for(b"hello", "out", 10)

    def test_room_with_a_passphrase_file(self):
        for home in (self.home, os.path.join(self.tmp, "bob")):
            os.makedirs(home, 0o700, exist_ok=True)
            with open(os.path.join(home, ".team-pass"), "w") as f:
                f.write("correct horse battery staple\n")
            os.chmod(os.path.join(home, ".team-pass"), 0o600)
        b = self.start(2, [BIN, "chat", "-n", "bob", "--stay", "--no-history", "--room", "team",
                           "--passphrase-file", os.path.join(self.tmp, "bob", ".team-pass")],
                       stdin=subprocess.PIPE)
        a = self.start_example(1, "udpkit chat -n alice --room team --passphrase-file ~/.team-pass",
                               stdin=subprocess.PIPE)
        a.wait_for(b"joined\t10.77.0.2:2425\tbob\t", "out", 60)
        a.proc.stdin.close()
        self.assertEqual(a.wait(60), 0, a.err())
        self.stop(b)

    def test_firewall_rule(self):
        """Debian's default ruleset (/etc/nftables.conf) in the lab host,
        then the man page's rule."""
        nft = shutil.which("nft")
        if not nft or not os.path.exists("/etc/nftables.conf"):
            self.skipTest("nft not installed (Debian package nftables; 'make deps')")
        r = subprocess.run(self.lab.exec_argv(1, [nft, "-f", "/etc/nftables.conf"]),
                           capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.run_example(1, "nft add rule inet filter input udp dport 2425 accept")
        r = subprocess.run(self.lab.exec_argv(1, [nft, "list", "ruleset"]), capture_output=True,
                           timeout=30)
        self.assertIn(b"udp dport 2425 accept", r.stdout)
        self.run_example(1, "nft add rule inet filter input tcp dport 2425 accept")
        r = subprocess.run(self.lab.exec_argv(1, [nft, "list", "ruleset"]), capture_output=True,
                           timeout=30)
        self.assertIn(b"tcp dport 2425 accept", r.stdout)

    def test_files_to_and_from_a_peer(self):
        """The file examples: alice (10.0.0.1) offers ./reports to bob
        (10.0.0.7), who takes it unattended; then the receiving example
        takes a file that 10.0.0.7 offers into /srv/in."""
        self.add_addr(1, "10.0.0.1/24")
        self.add_addr(2, "10.0.0.7/24")
        inbox = os.path.join(self.tmp, "bob-in")
        os.mkdir(inbox)
        b = self.start(2, [BIN, "chat", "-n", "bob", "--line", "--stay", "--no-history",
                           "--no-discovery", "--accept-files", inbox, "--accept-from", "10.0.0.1"],
                       stdin=subprocess.PIPE)
        os.makedirs(os.path.join(self.home, "reports"))
        with open(os.path.join(self.home, "reports", "q3.txt"), "w") as f:
            f.write("quarter three\n")
        text = "udpkit chat --no-discovery -P 10.0.0.7 --send-file reports --message 'Q3'"
        self._example(text)
        r = subprocess.run(self._argv(1, text), cwd=self.home, capture_output=True,
                           stdin=subprocess.DEVNULL, timeout=120 * SLOW, env=self.env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(os.path.join(inbox, "reports", "q3.txt")) as f:
            self.assertEqual(f.read(), "quarter three\n")
        self.stop(b)
        # /srv/in is the example's own directory: made if missing, and only
        # what this test put there is removed.
        made = not os.path.isdir("/srv/in")
        os.makedirs("/srv/in", exist_ok=True)
        name = f"udpkit-example-{os.getpid()}.txt"
        src = os.path.join(self.tmp, name)
        with open(src, "w") as f:
            f.write("from 10.0.0.7\n")
        try:
            recv = "udpkit chat --line --stay --accept-files /srv/in --accept-from 10.0.0.7"
            a = self.start_example(1, recv, stdin=subprocess.PIPE)
            r = subprocess.run(self.lab.exec_argv(2, [BIN, "chat", "--no-history", "--no-discovery",
                                                      "-P", "10.0.0.1", "--send-file", src]),
                               capture_output=True, stdin=subprocess.DEVNULL, timeout=120 * SLOW,
                               env=self.env)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            with open(os.path.join("/srv/in", name)) as f:
                self.assertEqual(f.read(), "from 10.0.0.7\n")
            self.stop(a)
        finally:
            if os.path.exists(os.path.join("/srv/in", name)):
                os.unlink(os.path.join("/srv/in", name))
            if made:
                os.rmdir("/srv/in")


class TestHistory(ExampleLab):
    """The history examples, on a history a real chat wrote: alice (host
    1) sends bob (host 2, this test's HOME) a message about deploying."""
    hosts = 2

    def test_history(self):
        b = self.start(2, [BIN, "chat", "-n", "bob", "--stay", "--no-discovery"],
                       stdin=subprocess.PIPE)
        a = self.start(1, [BIN, "chat", "-n", "alice", "--no-history", "--no-discovery",
                           "-P", self.lab.addr(2)], stdin=subprocess.PIPE)
        a.proc.stdin.write(b"deploy at noon\n")
        a.proc.stdin.close()
        self.assertEqual(a.wait(60), 0, a.err())
        b.wait_for(b"\tdeploy at noon\n", "out", 10)
        self.stop(b)
        hist = os.path.join(self.home, ".local", "state", "udpkit", "chat.txt")
        self.assertTrue(os.path.exists(hist))
        out, _ = self.run_example(1, "udpkit history")
        self.assertIn("deploy at noon", out)
        out, _ = self.run_example(1, "udpkit history -P alice -l 20")
        self.assertIn("deploy at noon", out)
        out, _ = self.run_example(1, "udpkit history -S 2h -e deploy")
        self.assertIn("deploy at noon", out)
        out, _ = self.run_example(1, "udpkit history --json | jq -r .text")
        self.assertIn("deploy at noon", out)
        out, _ = self.run_example(
            1, "udpkit history --json | jq -r 'select(.kind==\"undelivered\") | .text'")
        self.assertNotIn("deploy at noon", out)  # it was delivered
        os.mkdir(os.path.join(self.home, "chats"), 0o700)
        shutil.copy(hist, os.path.join(self.home, "chats", "team.txt"))
        os.chmod(os.path.join(self.home, "chats", "team.txt"), 0o600)
        out, _ = self.run_example(1, "udpkit history -S 2h -e deploy ~/chats/team.txt")
        self.assertIn("deploy at noon", out)


class TestHelp(ExampleLab):
    def test_help_and_completion(self):
        out, _ = self.run_example(1, "udpkit help ping")
        self.assertIn("usage: udpkit ping", out)
        self._example("source <(udpkit --completion bash)")
        r = subprocess.run(["bash", "-c", "source <(udpkit --completion bash)\ncomplete -p udpkit"],
                           capture_output=True, timeout=30, env=self.env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"complete -F", r.stdout)


if __name__ == "__main__":
    unittest.main()
