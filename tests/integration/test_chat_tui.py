"""udpkit chat's terminal UI as a person uses it, under tmux: a message
arrives while a line is half typed and the typed text stays intact;
Chinese text and escape sequences from the network are shown safely; the
window is resized; /quit leaves. Skipped without tmux, or when the binary
was built without the UI (it then falls back to line mode)."""
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from harness import BIN, SLOW, require_cmd
import tmuxpane
from tmuxpane import TmuxPane, chat_pane, wait_bound_file


class ChatTui(unittest.TestCase):
    def setUp(self):
        require_cmd("tmux")
        self.tmp = tempfile.TemporaryDirectory()
        self.err = os.path.join(self.tmp.name, "err")
        self.addCleanup(self.tmp.cleanup)

    def start_chat(self, cols, rows):
        """The chat as alice in a tmux pane; returns its port."""
        cmd = (f"LANG=C.UTF-8 LC_ALL=C.UTF-8 {BIN} chat -b 127.0.0.1 -p 0 -n alice "
               f"--no-history 2>{self.err}")
        t = TmuxPane(self, cmd, cols, rows)
        self.tmux, self.wait_pane = t.tmux, t.wait_pane
        port = wait_bound_file(self.err)
        if "line mode on" in self.wait_pane("alice"):
            raise unittest.SkipTest("this build has no terminal UI (cmd/chat/tui.c)")
        return port

    def test_incoming_message_keeps_half_typed_line(self):
        port = self.start_chat(90, 20)
        self.tmux("send-keys", "-l", "half typed \u4f60")
        self.wait_pane("half typed \u4f60")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.sendto("\u4f60\u597d incoming \x1b[31mred\x1b[2J".encode(), ("127.0.0.1", port))
        screen = self.wait_pane("incoming")
        self.assertIn("\u4f60\u597d incoming \\e[31mred\\e[2J", screen)
        last = [l for l in screen.splitlines() if l.strip()][-1]
        self.assertIn("half typed \u4f60", last)  # the input line is intact
        self.assertNotIn("incoming", last)
        # Resize: everything is laid out again, nothing lost.
        self.tmux("resize-window", "-x", "60", "-y", "12")
        screen = self.wait_pane("half typed \u4f60")
        self.assertIn("incoming", screen)
        # Finish the line and send it to the plain-text peer.
        self.tmux("send-keys", "C-u")
        self.tmux("send-keys", "-l", f"/to 127.0.0.1 {s.getsockname()[1]}")
        self.tmux("send-keys", "Enter")
        self.tmux("send-keys", "-l", "reply \u4f60\u597d")
        self.tmux("send-keys", "Enter")
        s.settimeout(5 * SLOW)
        data, _ = s.recvfrom(65536)
        self.assertEqual(data, "reply \u4f60\u597d\n".encode())  # plain text: one line
        self.tmux("send-keys", "-l", "/quit")
        self.tmux("send-keys", "Enter")
        deadline = time.monotonic() + 10 * SLOW
        while time.monotonic() < deadline and "udpkit chat: " not in open(self.err).read():
            time.sleep(0.05)
        self.assertIn("1 sent, 0 delivered, 0 NOT delivered, 1 received", open(self.err).read())
        s.close()

    def test_past_and_live_messages_show_time_with_offset(self):
        """Past messages (at start and /history) look exactly like live
        ones, and every time says its UTC offset: in New York a message
        of July (EDT, -04:00) and one of today (EST in late November,
        -05:00; else EDT) each carry their own; --utc shows Z."""
        hist = os.path.join(self.tmp.name, "chat.txt")
        fd = os.open(hist, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, b"# udpkit chat history v1: written under another TZ\n"
                 b"2026-07-01T10:22:33.123Z\trecv\t10.0.0.2:2425\talice\t42\t6\tsummer\n"
                 b"2026-07-01T10:23:00.000Z\tsent\t10.0.0.2:2425\talice\t43\t5\tre: s\n")
        os.close(fd)
        tz = "EST5EDT,M3.2.0,M11.1.0"  # POSIX rule: no tzdata needed
        cmd = (f"TZ={tz} LANG=C.UTF-8 LC_ALL=C.UTF-8 {BIN} chat -b 127.0.0.1 -p 0 -n bob "
               f"--no-discovery -H {hist} 2>{self.err}")
        t, port = chat_pane(self, cmd, self.err, "bob", 100, 20)
        screen = t.wait_pane("summer")
        self.assertIn("2026-07-01 06:22:33-04:00 alice (10.0.0.2:2425): summer", screen)
        self.assertIn("2026-07-01 06:23:00-04:00 -> 10.0.0.2:2425: re: s  [#43]", screen)
        # Today's offset in New York, by the same rule.
        today = subprocess.run(["date", "+%:z"], env=dict(os.environ, TZ=tz), capture_output=True,
                               text=True, timeout=10).stdout.strip()
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.sendto(b"live one", ("127.0.0.1", port))
        screen = t.wait_pane("live one")
        live = [l.rstrip() for l in screen.splitlines() if "live one" in l]
        self.assertEqual(len(live), 1)
        self.assertRegex(live[0], r"^\d\d:\d\d:\d\d" + re.escape(today)
                         + r" \? \(127\.0\.0\.1:\d+\): live one$")
        # /history shows it again, the same line, and the July ones.
        t.tmux("send-keys", "-l", "/history")
        t.tmux("send-keys", "Enter")
        deadline = time.monotonic() + 10 * SLOW
        while time.monotonic() < deadline and t.pane().count("live one") < 2:
            time.sleep(0.05)
        again = [l.rstrip() for l in t.pane().splitlines() if "live one" in l]
        self.assertEqual(again, live * 2)
        s.close()
        # --utc: the same past message in UTC, marked Z.
        err2 = os.path.join(self.tmp.name, "err2")
        t2 = TmuxPane(self, f"TZ={tz} LANG=C.UTF-8 LC_ALL=C.UTF-8 {BIN} chat -b 127.0.0.1 -p 0 "
                      f"-n carol --no-discovery --utc -H {hist} 2>{err2}", 100, 20)
        wait_bound_file(err2)
        screen = t2.wait_pane("summer")
        self.assertIn("2026-07-01 10:22:33Z alice (10.0.0.2:2425): summer", screen)


    def error_line_escapes(self, env):
        """The screen line, with its colour escapes, of an error the chat shows."""
        err = os.path.join(self.tmp.name, f"err{len(env)}")
        cmd = (f"{env} TERM=xterm-256color LANG=C.UTF-8 LC_ALL=C.UTF-8 {BIN} chat -b 127.0.0.1 "
               f"-p 0 -n bob --no-history 2>{err}")
        t, _ = chat_pane(self, cmd, err, "bob", 90, 20)
        t.tmux("send-keys", "-l", "/bogus")
        t.tmux("send-keys", "Enter")
        t.wait_pane("unknown command")
        screen = t.tmux("capture-pane", "-p", "-e").stdout
        line = [l for l in screen.splitlines() if "unknown command" in l][0]
        t.close()
        return line

    def test_errors_are_red_unless_no_color(self):
        self.assertIn("\x1b[31m", self.error_line_escapes(""))
        self.assertNotIn("\x1b[31m", self.error_line_escapes("NO_COLOR=1"))

    def test_terminal_hung_up_without_sighup_ends_the_chat(self):
        """The terminal goes away (its tmux server killed) and no SIGHUP
        reaches the chat (setsid: it is outside the terminal's session): the
        end of its terminal's input ends it as Ctrl-D does, with its summary,
        not a loop polling a dead terminal for ever."""
        cmd = (f"LANG=C.UTF-8 LC_ALL=C.UTF-8 setsid -w {BIN} chat -b 127.0.0.1 -p 0 -n alice "
               f"--no-history 2>{self.err}")
        t, _ = chat_pane(self, cmd, self.err, "alice", 90, 20)
        pane = t.pid()
        chat = [p for p in tmuxpane._with_descendants(pane)
                if open(f"/proc/{p}/cmdline", "rb").read().startswith(BIN.encode())]
        self.assertEqual(len(chat), 1)
        self.addCleanup(kill_if_alive, chat[0], tmuxpane._start_time(chat[0]))
        t.tmux("kill-server")
        deadline = time.monotonic() + 20 * SLOW
        while time.monotonic() < deadline and "udpkit chat: " not in open(self.err).read():
            time.sleep(0.05)
        self.assertIn("0 sent, 0 delivered, 0 NOT delivered, 0 received", open(self.err).read())


def kill_if_alive(pid, start):
    """SIGKILL to pid if it is still that process (and no zombie)."""
    if tmuxpane._alive((pid, start)):
        os.kill(pid, signal.SIGKILL)


if __name__ == "__main__":
    unittest.main()
