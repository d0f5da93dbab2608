"""udpkit chat --room on loopback: two members chat with receipts both ways
and history; a member with a wrong passphrase sees nobody and gets the
hint; chats outside the room (none, another room) drop room datagrams and
count them; captured datagrams replayed through a relay change nothing, also
after the receiver restarts, while the live sender gets through the restart
challenge; the passphrase file's permissions, the terminal prompt without
echo, and the exit statuses. Every chat binds 127.0.0.1 (never broadcasts),
port 0; Argon2id at its test cost (UDPKIT_ROOM_COST=test) except where the
real cost is the point."""
import os
import pty
import select
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from harness import BIN, SLOW, Proc, require_cmd, run, udp_socket
from tmuxpane import TmuxPane, wait_bound_file
from test_chat import events, say  # the chat tests' helpers (functions only)

ENV = dict(os.environ, UDPKIT_ROOM_COST="test")
CHALLENGE_LEN = 80 + 8  # overhead + the session challenged (docs/rooms.md)


def summary_counts(err):
    """The room line of the exit summary as {name: count}."""
    for line in err.decode().splitlines():
        if ": room " in line and "datagrams opened" in line:
            body = line.split(": ", 2)[2].replace(";", ",")
            out = {}
            for part in body.split(","):
                words = part.replace("dropped:", "").split()
                if words and words[0].isdigit():
                    out[" ".join(words[1:])] = int(words[0])
            return out
    raise AssertionError("no room summary in %r" % err)


class Relay:
    """A man in the middle on loopback: chat A talks to `front`, the relay
    forwards to B from `back` and B's answers back to A. Records what B
    received, can stop forwarding, and can replay what it recorded."""

    def __init__(self, tcp_back=False):
        self.front = udp_socket()
        self.back = udp_socket(bind=None)
        # tcp_back: a TCP listener on the back port's number too (where a
        # peer fetches files from, test_chat_room_files.py), bound first:
        # a free UDP port's TCP twin may be another program's.
        self.back_tcp = None
        while True:
            if tcp_back:
                self.back_tcp = socket.socket()
                self.back_tcp.bind(("127.0.0.1", 0))
            try:
                self.back.bind(("127.0.0.1", self.back_tcp.getsockname()[1] if tcp_back else 0))
                break
            except OSError:
                if not tcp_back:
                    raise
                self.back_tcp.close()
        self.a_addr = None
        self.b_addr = None
        self.to_b, self.from_b = [], []
        self.forward = True
        self.cond = threading.Condition()
        self.stopping = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def port(self):
        return self.front.getsockname()[1]

    def _run(self):
        while not self.stopping:
            r, _, _ = select.select([self.front, self.back], [], [], 0.1)
            for s in r:
                data, src = s.recvfrom(65536)
                with self.cond:
                    if s is self.front:
                        self.a_addr = src
                        self.to_b.append(data)
                        if self.forward and self.b_addr:
                            self.back.sendto(data, self.b_addr)
                    else:
                        self.from_b.append(data)
                        if self.forward and self.a_addr:
                            self.front.sendto(data, self.a_addr)
                    self.cond.notify_all()

    def wait(self, pred, timeout=10):
        deadline = time.monotonic() + timeout * SLOW
        with self.cond:
            while not pred():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("relay: condition not met")
                self.cond.wait(min(left, 0.1))

    def replay(self, datagrams):
        for d in datagrams:
            self.back.sendto(d, self.b_addr)

    def close(self):
        self.stopping = True
        self.t.join(5)
        self.front.close()
        self.back.close()
        if self.back_tcp:
            self.back_tcp.close()


class RoomLoopback(unittest.TestCase):
    def setUp(self):
        self.procs = []
        self.tmp = tempfile.TemporaryDirectory()
        self.passfiles = {}

    def tearDown(self):
        for p in self.procs:
            p.kill()
        self.tmp.cleanup()

    def passfile(self, text, mode=0o600, name=None):
        path = os.path.join(self.tmp.name, name or "pass-%d" % len(self.passfiles))
        with open(path, "w") as f:
            f.write(text + "\n")
        os.chmod(path, mode)
        self.passfiles[path] = text
        return path

    def start(self, nick, *args, room="team", passphrase="correct horse", port=0, history=None):
        argv = [BIN, "chat", "-b", "127.0.0.1", "-p", str(port), "--stay", "--line", "-n", nick]
        argv += ["--history", history] if history else ["--no-history"]
        if room:
            argv += ["--room", room, "--passphrase-file", self.passfile(passphrase)]
        p = Proc(argv + [str(a) for a in args], stdin=subprocess.PIPE, env=ENV)
        self.procs.append(p)
        _, bound = p.wait_bound()
        return p, bound

    def test_two_members_receipts_history_and_peers(self):
        hist = os.path.join(self.tmp.name, "alice.txt")
        a, pa = self.start("alice", history=hist)
        b, pb = self.start("bob", "-P", f"127.0.0.1:{pa}")
        a.wait_for(b"info\troom team: every datagram sealed", "out")
        a.wait_for(b"joined\t127.0.0.1:%d\tbob\t" % pb, "out")
        b.wait_for(b"joined\t127.0.0.1:%d\talice\t" % pa, "out")
        say(b, "hello alice \u4f60\u597d")
        a.wait_for(b"\thello alice \xe4\xbd\xa0\xe5\xa5\xbd\n", "out")
        b.wait_for(b"delivered\t127.0.0.1:%d\t" % pa, "out")
        say(a, "/to bob")
        say(a, "hi bob")
        b.wait_for(b"\thi bob\n", "out")
        a.wait_for(b"delivered\t127.0.0.1:%d\t" % pb, "out")
        say(a, "/peers")
        a.wait_for(b"info\troom team: 1 members known; every datagram sealed", "out")
        self.assertEqual(len(events(a, "recv")), 1)
        self.assertEqual(b.stop(), 0)
        a.wait_for(b"left\t127.0.0.1:%d\tbob\t" % pb, "out")
        self.assertEqual(a.stop(), 0)
        counts = summary_counts(a.err())
        self.assertEqual(counts["not authentic"], 0)
        self.assertGreaterEqual(counts["sessions verified"], 1)
        text = open(hist, encoding="utf-8").read()
        self.assertIn("hello alice \u4f60\u597d", text)
        self.assertIn("hi bob", text)

    def test_padding_buckets(self):
        relay = Relay()
        self.addCleanup(relay.close)
        a, pa = self.start("alice", "--pad", "256")
        relay.b_addr = ("127.0.0.1", pa)
        b, pb = self.start("bob", "--pad", "256", "-P", f"127.0.0.1:{relay.port()}")
        b.wait_for(b"joined\t", "out")
        say(b, "x")
        say(b, "a longer line of text, but under one bucket")
        b.wait_for(b"delivered\t", "out")
        a.wait_for(b"\ta longer line of text", "out")
        with relay.cond:
            sizes = {len(d) for d in relay.to_b + relay.from_b}
        for n in sizes:
            self.assertEqual((n - 36 - 16) % 256, 0, sizes)

    def test_wrong_passphrase_sees_nobody_and_gets_the_hint(self):
        a, pa = self.start("alice", passphrase="typo horse")
        b, pb = self.start("bob", "-P", f"127.0.0.1:{pa}")
        for i in range(3):
            say(b, f"message {i}")
        a.wait_for(b"error\t", "out")
        deadline = time.monotonic() + 20 * SLOW
        while len(events(b, "sent")) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        line = [l for l in a.out().decode().splitlines() if l.startswith("error\t")][0]
        self.assertIn("do not authenticate", line)
        self.assertIn("wrong passphrase", line)
        self.assertIn(f"127.0.0.1:{pb}", line)
        self.assertEqual(events(a, "joined"), [])
        self.assertEqual(events(a, "recv"), [])
        self.assertEqual(events(b, "joined"), [])
        # Bob's messages have no receipt: exit 1.
        self.assertEqual(b.stop(), 1)
        self.assertEqual(a.stop(), 0)
        self.assertGreaterEqual(summary_counts(a.err())["not authentic"], 3)

    def test_outsiders_drop_and_count(self):
        plain, pp = self.start("eve", room=None)
        other, po = self.start("mallory", room="other")
        a, pa = self.start("alice")
        b, pb = self.start("bob", "-P", f"127.0.0.1:{pa}", "-P", f"127.0.0.1:{pp}",
                           "-P", f"127.0.0.1:{po}")
        b.wait_for(b"joined\t127.0.0.1:%d\talice" % pa, "out")
        say(b, "for alice only")
        a.wait_for(b"\tfor alice only\n", "out")
        b.wait_for(b"delivered\t127.0.0.1:%d\t" % pa, "out")
        plain.wait_for(b"datagrams of a private room arrive", "out")
        # The outsiders announce themselves to bob (plain, other room): dropped.
        say(plain, f"/to 127.0.0.1 {pb}")
        say(plain, "plain text to the room")
        say(other, f"/to 127.0.0.1 {pb}")
        say(other, "from another room")
        plain.wait_for(b"sent\t", "out")
        other.wait_for(b"sent\t", "out")
        self.assertEqual(b.stop(), 0)  # alice acknowledged
        counts = summary_counts(b.err())
        self.assertGreaterEqual(counts["not sealed"], 1)
        self.assertGreaterEqual(counts["of other rooms"], 1)
        self.assertEqual(events(b, "recv"), [])
        for p in (plain, other):
            self.assertEqual(events(p, "recv"), [])
            self.assertEqual(events(p, "joined"), [])
            self.assertNotIn(b"for alice only", p.out())
        plain.stop()
        self.assertRegex(plain.err(), rb"udpkit chat: [1-9]\d* datagrams of private rooms dropped")
        other.stop()
        self.assertGreaterEqual(summary_counts(other.err())["of other rooms"], 1)

    def test_forged_receipt_marks_nothing_delivered(self):
        """An attacker who even knows the packet number (the test reads it
        from bob's output) cannot mark bob's message delivered: a receipt
        in clear is not sealed, one sealed under another key is not
        authentic, and neither is ever taken."""
        s = udp_socket()
        self.addCleanup(s.close)
        port = s.getsockname()[1]
        b, pb = self.start("bob", "-P", f"127.0.0.1:{port}")
        say(b, "please confirm")
        sent = b.wait_for(b"sent\t", "out").decode()
        no = [l for l in sent.splitlines() if l.startswith("sent\t")][0].split("\t")[2]
        data, _ = s.recvfrom(65536)
        self.assertTrue(data.startswith(b"UKR\x01"))
        self.assertNotIn(b"please confirm", data)
        self.assertNotIn(b"bob", data)
        recvmsg = b"1:%d:eve:evehost:33:%s\0" % (int(no) + 1, no.encode())
        for _ in range(3):
            s.sendto(recvmsg, ("127.0.0.1", pb))
        s.sendto(data[:12] + bytes(24) + recvmsg + bytes(16), ("127.0.0.1", pb))
        # Bob answers the one under another key with an (empty) notice:
        # then everything before it on this path was read.
        while True:
            reply, _ = s.recvfrom(65536)
            if len(reply) == 80:
                break
        self.assertEqual(events(b, "delivered"), [])
        self.assertEqual(b.stop(), 1)
        counts = summary_counts(b.err())
        self.assertGreaterEqual(counts["not sealed"], 3)
        self.assertGreaterEqual(counts["not authentic"], 1)
        self.assertIn(b"0 delivered, 1 NOT delivered", b.err())

    def test_replay_changes_nothing_even_after_restart(self):
        relay = Relay()
        self.addCleanup(relay.close)
        a, pa = self.start("alice")
        relay.b_addr = ("127.0.0.1", pa)
        b, pb = self.start("bob", "-P", f"127.0.0.1:{relay.port()}")
        b.wait_for(b"joined\t", "out")
        say(b, "secret one")
        a.wait_for(b"\tsecret one\n", "out")
        b.wait_for(b"delivered\t", "out")
        with relay.cond:
            captured = list(relay.to_b)
            answers = len(relay.from_b)
        # Replayed to the running receiver: dropped as seen before, no answer.
        relay.forward = False
        relay.replay(captured)
        relay.forward = True
        say(b, "marker")  # behind the replays on the same path
        a.wait_for(b"\tmarker\n", "out")
        self.assertEqual([e[4] for e in events(a, "recv")], ["secret one", "marker"])
        self.assertEqual(a.stop(), 0)
        self.assertGreaterEqual(summary_counts(a.err())["replayed"], len(captured) - 2)
        # Restarted on the same port: the replays come from sessions it does
        # not know; it only challenges them, shows and acknowledges nothing.
        a2, _ = self.start("alice", port=pa)
        relay.forward = False
        with relay.cond:
            before = len(relay.from_b)
        relay.replay(captured)
        relay.wait(lambda: len(relay.from_b) > before)
        with relay.cond:
            sent = relay.from_b[before:]
        self.assertTrue(all(len(d) == CHALLENGE_LEN for d in sent), [len(d) for d in sent])
        # The live sender passes the challenge: its next message arrives.
        relay.forward = True
        say(b, "after the restart")
        a2.wait_for(b"\tafter the restart\n", "out")
        self.assertEqual([e[4] for e in events(a2, "recv")], ["after the restart"])
        self.assertEqual(a2.stop(), 0)
        counts = summary_counts(a2.err())
        self.assertGreaterEqual(counts["from unverified sessions"], 1)
        self.assertGreaterEqual(counts["sessions verified"], 1)
        self.assertGreater(answers, 0)

    def test_passphrase_file_rules_and_exit_statuses(self):
        loose = self.passfile("pw", mode=0o640)
        base = ["chat", "-b", "127.0.0.1", "-p", "0", "--no-history", "--line"]
        r = run(*base, "--room", "team", "--passphrase-file", loose, env=ENV)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"refused, other users can read or change it (mode 0640)", r.stderr)
        self.assertIn(b"chmod 600", r.stderr)
        r = run(*base, "--passphrase-file", self.passfile("pw"), env=ENV)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"--passphrase-file and --pad need --room", r.stderr)
        r = run(*base, "--room", "team", "--passphrase-file", self.passfile(""), env=ENV)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"empty passphrase", r.stderr)
        r = run(*base, "--room", "team", "--passphrase-file", "/nonexistent/pw", env=ENV)
        self.assertEqual(r.returncode, 2)
        r = run(*base, "--room", "", "--passphrase-file", self.passfile("pw"), env=ENV)
        self.assertEqual(r.returncode, 2)
        r = run(*base, "--room", "team", "--pad", "3", "--passphrase-file", self.passfile("pw"),
                env=ENV)
        self.assertEqual(r.returncode, 2)
        # No terminal and no file: said, exit 2 (setsid: no controlling tty).
        r = subprocess.run(["setsid", BIN] + base + ["--room", "team"], capture_output=True,
                           stdin=subprocess.DEVNULL, timeout=30 * SLOW, env=ENV)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"no terminal to ask the passphrase on: use --passphrase-file", r.stderr)
        # Nothing to send, room joined: exit 0 at the end of input.
        r = run(*base, "--room", "team", "--passphrase-file", self.passfile("pw"), env=ENV,
                input=b"")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn(b"pw", r.stdout)

    def test_terminal_prompt_without_echo(self):
        secret = "tr0ub4dor-and-3"
        pid, fd = pty.fork()
        if pid == 0:
            os.execve(BIN, [BIN, "chat", "-b", "127.0.0.1", "-p", "0", "--no-history",
                            "--line", "--room", "team"], ENV)
        seen = bytearray()

        def read_until(needle):
            deadline = time.monotonic() + 20 * SLOW
            while needle not in seen:
                self.assertLess(time.monotonic(), deadline, bytes(seen))
                r, _, _ = select.select([fd], [], [], 0.2)
                if r:
                    try:
                        seen.extend(os.read(fd, 4096))
                    except OSError:
                        break
        try:
            read_until(b"passphrase for room team: ")
            os.write(fd, secret.encode() + b"\n")
            read_until(b"room team: every datagram sealed")
            self.assertNotIn(secret.encode(), bytes(seen))
            os.write(fd, b"\x04")  # end of input: line mode quits
        finally:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
            os.close(fd)

    def test_terminal_ui_prompt_status_line_and_peers(self):
        """In the terminal UI, as a person uses it: the prompt does not echo,
        the status line and /peers show the room, a member's message shows."""
        require_cmd("tmux")
        b, pb = self.start("bob")
        err = os.path.join(self.tmp.name, "tui-err")
        cmd = (f"UDPKIT_ROOM_COST=test LANG=C.UTF-8 LC_ALL=C.UTF-8 {BIN} chat -b 127.0.0.1 "
               f"-p 0 -n alice --no-history --room team -P 127.0.0.1:{pb} 2>{err}")
        t = TmuxPane(self, cmd, 100, 20)
        t.wait_pane("passphrase for room team:")
        t.tmux("send-keys", "-l", "correct horse")
        t.tmux("send-keys", "Enter")
        wait_bound_file(err)
        screen = t.wait_pane("room team")
        if "line mode on" in screen:
            raise unittest.SkipTest("this build has no terminal UI (cmd/chat/tui.c)")
        b.wait_for(b"joined\t", "out")
        say(b, "/to alice")
        say(b, "hello in the room")
        t.wait_pane("hello in the room")
        t.tmux("send-keys", "-l", "/peers")
        t.tmux("send-keys", "Enter")
        screen = t.wait_pane("1 members known")
        status = [l for l in screen.splitlines() if "peers:" in l]
        self.assertTrue(status and "room team" in status[0], screen)
        self.assertNotIn("correct horse", screen)
        t.tmux("send-keys", "-l", "/quit")
        t.tmux("send-keys", "Enter")

    def test_real_cost_join_time(self):
        """Argon2id at the cost users get (256 MiB): joining is slow on
        purpose; the figure is shown at start."""
        env = dict(os.environ)
        env.pop("UDPKIT_ROOM_COST", None)
        p = Proc([BIN, "chat", "-b", "127.0.0.1", "-p", "0", "--no-history", "--line", "--stay",
                  "--room", "team", "--passphrase-file", self.passfile("pw")],
                 stdin=subprocess.PIPE, env=env)
        self.procs.append(p)
        text = p.wait_for(b" s\n", "out", timeout=120).decode()
        line = [l for l in text.splitlines() if "key derived in" in l][0]
        secs = float(line.rsplit("in ", 1)[1].split()[0])
        self.assertGreater(secs, 0.05)  # not the test cost
        p.stop()


if __name__ == "__main__":
    unittest.main()
