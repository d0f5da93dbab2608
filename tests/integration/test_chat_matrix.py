"""Issue 7's "done means", for the peers that run on loopback: the
tutorial's chat.py, nc -u, socat and another udpkit chat (iptux has its
own namespace: test_chat_iptux.py, test_done_means_*). Each test sends
messages both ways, kills either side with SIGKILL, starts it again on
the same port and file, and sends both ways again; in the end every
message is in both histories exactly once: ours (udpkit history --json),
the tutorial's chat.txt, what nc and socat printed (they keep no other),
and the other udpkit's file. For the plain-text tools a message is
"acknowledged" once they have it (they send no receipt); for udpkit once
its receipt arrived. Every wait is for an event; nothing sleeps a fixed
time."""
import json
import os
import re
import signal
import subprocess
import tempfile
import time
import unittest

from harness import BIN, SLOW, Proc, free_udp_port, python3, require_cmd, tutorial_program, wait_udp_bound


def history(path, kind):
    """{text: count} of the events of that kind in a udpkit history."""
    r = subprocess.run([BIN, "history", "--json", path], capture_output=True, timeout=60 * SLOW)
    counts = {}
    for line in r.stdout.decode().splitlines():
        e = json.loads(line)
        if e["kind"] == kind:
            counts[e["text"]] = counts.get(e["text"], 0) + 1
    return counts


def wait_until(what, cond, timeout=15):
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Matrix(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.hist = os.path.join(self.tmp.name, "chat.txt")
        self.m = [None] + [f"m{i} \u4f60\u597d {self.id().rsplit('_', 1)[-1]}" for i in range(1, 7)]

    def chat(self, port, *args, hist=None):
        p = Proc([BIN, "chat", "-b", "127.0.0.1", "-p", str(port), "--stay", "--no-discovery",
                  "-H", hist or self.hist] + list(args), stdin=subprocess.PIPE)
        self.addCleanup(p.kill)
        p.wait_bound()
        return p

    @staticmethod
    def say(p, text):
        p.proc.stdin.write(text.encode() + b"\n")
        p.proc.stdin.flush()

    def check_ours(self, sent, received):
        self.assertEqual(history(self.hist, "sent"), {self.m[i]: 1 for i in sent})
        self.assertEqual(history(self.hist, "recv"), {self.m[i]: 1 for i in received})


class PlainTools(Matrix):
    """nc -u and socat: one line per datagram each way; they print what
    they receive, which is all the history they have."""

    def tool(self, argv, port):
        out = open(os.path.join(self.tmp.name, f"out{len(self.outs)}"), "w+b")
        self.outs.append(out)
        p = subprocess.Popen([a.replace("PORT", str(port)) for a in argv], stdin=subprocess.PIPE,
                             stdout=out, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: (p.kill(), p.wait(10)))
        wait_udp_bound(port)
        return p

    def printed(self):
        text = b""
        for o in self.outs:
            o.seek(0)
            text += o.read()
        return text.decode("utf-8", "replace")

    def run_matrix(self, argv):
        m, self.outs = self.m, []
        tport, uport = free_udp_port(), free_udp_port()
        t = self.tool(argv, tport)
        us = self.chat(uport, "--plain-peer", f"127.0.0.1:{tport}")
        # Both ways; the tool answers the first address that wrote to it.
        self.say(us, m[1])
        wait_until("m1 printed by the tool", lambda: m[1] + "\n" in self.printed())
        t.stdin.write((m[2] + "\n").encode())
        t.stdin.flush()
        us.wait_for(("\t" + m[2] + "\n").encode(), "out")
        us.send_signal(9)
        us.wait()
        self.check_ours([1], [2])
        # We come back on the same port and file.
        us = self.chat(uport, "--plain-peer", f"127.0.0.1:{tport}")
        self.say(us, m[3])
        wait_until("m3 printed by the tool", lambda: m[3] + "\n" in self.printed())
        t.stdin.write((m[4] + "\n").encode())
        t.stdin.flush()
        us.wait_for(("\t" + m[4] + "\n").encode(), "out")
        t.kill()
        t.wait(10)
        # The tool comes back; it learns its peer from our first datagram.
        t = self.tool(argv, tport)
        self.say(us, m[6])
        wait_until("m6 printed by the tool", lambda: m[6] + "\n" in self.printed())
        t.stdin.write((m[5] + "\n").encode())
        t.stdin.flush()
        us.wait_for(("\t" + m[5] + "\n").encode(), "out")
        us.send_signal(9)
        us.wait()
        self.check_ours([1, 3, 6], [2, 4, 5])
        printed = self.printed()
        for i in (1, 3, 6):
            self.assertEqual(printed.count(m[i] + "\n"), 1, printed)
        # Nothing but our lines reached it: no IPMsg packet, no other text.
        self.assertEqual(printed, "".join(m[i] + "\n" for i in (1, 3, 6)))

    def test_nc_u(self):
        require_cmd("nc", "netcat-openbsd")
        self.run_matrix(["nc", "-u", "-l", "127.0.0.1", "PORT"])

    def test_socat(self):
        require_cmd("socat")
        self.run_matrix(["socat", "UDP-LISTEN:PORT,bind=127.0.0.1", "STDIO"])


class Tutorial(Matrix):
    """The tutorial's chat.py, whose history is ./chat.txt (written by a
    thread of its own: a message counts once it is there)."""

    def tutorial(self, tport, uport):
        prog = tutorial_program("chat.py")
        env = dict(os.environ, TUTORIAL_HOST="127.0.0.1", TUTORIAL_PORT=str(tport),
                   PYTHONUNBUFFERED="1")
        t = Proc([python3(), prog], stdin=subprocess.PIPE, env=env, cwd=self.tdir)
        self.addCleanup(t.kill)
        wait_udp_bound(tport)
        t.proc.stdin.write(f"127.0.0.1\n{uport}\n".encode())  # its prompts: IP, PORT
        t.proc.stdin.flush()
        return t

    def its_history(self):
        path = os.path.join(self.tdir, "chat.txt")
        return open(path, encoding="utf-8").read() if os.path.exists(path) else ""

    def test_tutorial_chat_py(self):
        m = self.m
        self.tdir = os.path.join(self.tmp.name, "tutorial")
        os.mkdir(self.tdir)
        tport, uport = free_udp_port(), free_udp_port()
        t = self.tutorial(tport, uport)
        us = self.chat(uport, "--plain-peer", f"127.0.0.1:{tport}")
        self.say(us, m[1])
        wait_until("m1 in chat.txt", lambda: m[1] in self.its_history())
        self.say(t, m[2])
        us.wait_for(("\t" + m[2] + "\n").encode(), "out")
        us.send_signal(9)
        us.wait()
        self.check_ours([1], [2])
        us = self.chat(uport, "--plain-peer", f"127.0.0.1:{tport}")
        self.say(us, m[3])
        self.say(t, m[4])
        us.wait_for(("\t" + m[4] + "\n").encode(), "out")
        wait_until("m3, m4 in chat.txt", lambda: m[3] in self.its_history() and m[4] in self.its_history())
        t.send_signal(9)
        t.wait()
        t = self.tutorial(tport, uport)
        self.say(us, m[6])
        self.say(t, m[5])
        us.wait_for(("\t" + m[5] + "\n").encode(), "out")
        wait_until("m5, m6 in chat.txt", lambda: m[5] in self.its_history() and m[6] in self.its_history())
        us.send_signal(9)
        us.wait()
        self.check_ours([1, 3, 6], [2, 4, 5])
        theirs = self.its_history()
        for i in (1, 3, 6):  # what it received, as it logs it, once each
            self.assertEqual(len(re.findall("\u53d1\u9001\u7684\u6570\u636e:" + m[i] + "\n", theirs)), 1, theirs)
        for i in (2, 4, 5):  # what it sent
            self.assertEqual(len(re.findall("\u53d1\u9001\u6570\u636e:" + m[i] + "\n", theirs)), 1, theirs)
        # It never got an IPMsg packet (we declared it plain text).
        # (Anchored to its "received" prefix: unanchored, the pattern matched
        # the clock in its own timestamps, e.g. "21:15:01".)
        self.assertNotRegex(theirs, "\u53d1\u9001\u7684\u6570\u636e:" + r"\d+:\d+:[^:\n]*:[^:\n]*:\d+:")


class TwoChats(Matrix):
    """Two udpkit chats, a burst of 100 messages each way; each side is
    killed in the middle of the burst it receives and started again on
    its port and file while the sender retransmits: every message ends
    delivered, and in both files exactly once."""
    N = 100

    def burst(self, sender, receiver, texts):
        """receiver held (SIGSTOP) while sender sends texts; it goes on and
        is killed (SIGKILL) once it shows the first: mid-burst."""
        before = sender.out().count(b"\nsent\t")
        receiver.send_signal(signal.SIGSTOP)
        sender.proc.stdin.write("".join(t + "\n" for t in texts).encode())
        sender.proc.stdin.flush()
        wait_until("all sent once", lambda: sender.out().count(b"\nsent\t") >= before + len(texts))
        shown = receiver.out().count(b"\nrecv\t")
        receiver.send_signal(signal.SIGCONT)
        deadline = time.monotonic() + 15 * SLOW
        with receiver._cond:
            while receiver._out.count(b"\nrecv\t") == shown and time.monotonic() < deadline:
                receiver._cond.wait(0.01)
            receiver.send_signal(signal.SIGKILL)
        receiver.wait()

    def test_udpkit_both_ways_kill9_each_side(self):
        pa, pb = free_udp_port(), free_udp_port()
        ha, hb = self.hist, os.path.join(self.tmp.name, "b.txt")
        a_args = ("-n", "alice", "-P", f"127.0.0.1:{pb}")
        b_args = ("-n", "bob", "-P", f"127.0.0.1:{pa}")
        a = self.chat(pa, *a_args, hist=ha)
        b = self.chat(pb, *b_args, hist=hb)
        a.wait_for(b"joined\t127.0.0.1:%d\tbob\t" % pb, "out")
        b.wait_for(b"joined\t127.0.0.1:%d\talice\t" % pa, "out")
        from_b = [f"b{i} \u4f60\u597d" for i in range(self.N)]
        from_a = [f"a{i} \u4f60\u597d" for i in range(self.N)]

        def delivered(p):
            return p.out().count(b"\ndelivered\t") + p.out().startswith(b"delivered\t")

        # b -> a; a is killed as soon as it shows the first of them: it
        # is held stopped while b sends, so they wait in its socket.
        self.burst(b, a, from_b)
        a.wait()
        shown = {l.split("\t")[-1] for l in a.out().decode().splitlines() if l.startswith("recv\t")}
        acked = {l.split("\t")[2] for l in b.out().decode().splitlines() if l.startswith("delivered\t")}
        logged = history(ha, "recv")
        self.assertEqual(shown - set(logged), set(), "shown before the kill, not in the history")
        sent_ids = {l.split("\t")[2]: l.split("\t")[-1] for l in b.out().decode().splitlines()
                    if l.startswith("sent\t")}
        self.assertEqual({sent_ids[i] for i in acked} - set(logged), set(),
                         "acknowledged before the kill, not in the history")
        figures = (len(shown), len(acked), len(logged))
        a = self.chat(pa, *a_args, hist=ha)
        wait_until("b's messages all delivered", lambda: delivered(b) >= self.N, 60)

        # a -> b; b is killed in the middle, the same way.
        self.say(a, f"/to 127.0.0.1 {pb}")
        self.burst(a, b, from_a)
        b.wait()
        figures += (b.out().count(b"\nrecv\t"), len(history(hb, "recv")))
        b = self.chat(pb, *b_args, hist=hb)
        wait_until("a's messages all delivered", lambda: delivered(a) >= self.N, 60)
        a.send_signal(9)
        b.send_signal(9)
        a.wait()
        b.wait()
        once_b = {t: 1 for t in from_b}
        once_a = {t: 1 for t in from_a}
        self.assertEqual(history(ha, "recv"), once_b)
        self.assertEqual(history(hb, "sent"), once_b)
        self.assertEqual(history(ha, "sent"), once_a)
        self.assertEqual(history(hb, "recv"), once_a)
        print("\n    a killed with %d shown, %d acked, %d logged; b killed with %d shown, "
              "%d logged; then all %d each way once" % (figures + (self.N,)), end=" ")


if __name__ == "__main__":
    unittest.main()
