"""The chat's terminal UI (cmd/chat/tui.c) under tmux, driven as a person
would use it, through the test-only tests/tools/tui_driver: a message that
arrives while a line is half typed leaves the typed text intact; Chinese
text is laid out by display width; a resize re-lays everything out; a
bracketed paste with newlines is one message; escape sequences sent over
UDP are shown escaped, never obeyed. Each test runs its own tmux server on
a socket of its own (-L), killed at the end."""
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unicodedata
import unittest

from harness import ROOT, SLOW, require_cmd

TOOLS = os.environ.get("UDPKIT_TOOLS", os.path.join(ROOT, "build", "tools"))
DRIVER = os.path.join(TOOLS, "tui_driver")
LONG_ZH = "长" * 70


def width(s):
    """Display width as wcwidth() sees it: East Asian wide and full-width
    characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


class Tui:
    count = 0

    def __init__(self, test, cols=100, rows=30, locale="C.UTF-8"):
        Tui.count += 1
        self.test = test
        self.sock = f"ukt{os.getpid()}_{Tui.count}"
        self.dir = tempfile.mkdtemp(prefix="uktui")
        self.log = os.path.join(self.dir, "log")
        cmd = f"env LANG={locale} LC_ALL={locale} {DRIVER} {self.log}"
        self.udp = None
        # Cleaned up even when the rest of setUp fails: no tmux server left.
        test.addCleanup(self.close)
        self.tmux("new-session", "-d", "-x", str(cols), "-y", str(rows), "-s", "t", cmd)
        bound = self.wait_log("bound on ")
        self.port = int(bound.split("bound on 127.0.0.1 ", 1)[1].split("\n", 1)[0])
        self.wait_log("ready")
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp_port = self.udp.getsockname()[1]

    def tmux(self, *args, check=True):
        # -u and a UTF-8 locale: tmux draws wide characters whatever the
        # environment the tests run in.
        env = dict(os.environ, LANG="C.UTF-8", LC_ALL="C.UTF-8")
        p = subprocess.run(["tmux", "-u", "-L", self.sock, "-f", "/dev/null", *args],
                           capture_output=True, timeout=10 * SLOW, env=env)
        if check and p.returncode != 0:
            raise AssertionError(f"tmux {args}: {p.stderr!r}")
        return p.stdout.decode("utf-8", "replace")

    def close(self):
        self.tmux("kill-server", check=False)
        # tmux 3.3 leaves its socket file behind.
        tmpdir = os.environ.get("TMUX_TMPDIR", "/tmp")
        try:
            os.unlink(os.path.join(tmpdir, f"tmux-{os.getuid()}", self.sock))
        except OSError:
            pass
        if self.udp:
            self.udp.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_text(self):
        try:
            with open(self.log, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def until(self, what, fn, timeout=10):
        """Polls fn() until it returns something true; fails after timeout
        with the screen as it was. Polling, not sleeping: it returns as soon
        as the condition holds."""
        deadline = time.monotonic() + timeout * SLOW
        while True:
            v = fn()
            if v:
                return v
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; screen:\n" +
                                     "\n".join(self.screen()) + "\nlog:\n" + self.log_text())
            time.sleep(0.02)

    def wait_log(self, needle):
        return self.until(f"{needle!r} in the driver's log",
                          lambda: needle in self.log_text() and self.log_text())

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", "t").split("\n")[:-1]

    def wait_screen(self, what, pred):
        return self.until(what, lambda: pred(self.screen()) and self.screen())

    def cursor(self):
        x, y = self.tmux("display", "-p", "-t", "t", "#{cursor_x} #{cursor_y}").split()
        return int(x), int(y)

    def type(self, text):
        self.tmux("send-keys", "-t", "t", "-l", text)

    def keys(self, *keys):
        self.tmux("send-keys", "-t", "t", *keys)

    def send_udp(self, data):
        self.udp.sendto(data, ("127.0.0.1", self.port))

    def prefix(self):
        return f"127.0.0.1:{self.udp_port}: "


class TuiTest(unittest.TestCase):
    timeout_s = 60

    def setUp(self):
        require_cmd("tmux")
        if not os.access(DRIVER, os.X_OK):
            raise unittest.SkipTest(f"{DRIVER} not built (run 'make integration')")
        self.t = Tui(self)

    def input_line(self, screen):
        return screen[-1].rstrip()

    def test_incoming_message_leaves_half_typed_line_intact(self):
        t = self.t
        t.type("half typed 你好")
        t.wait_screen("the typed text", lambda s: self.input_line(s) == "> half typed 你好")
        for i in range(40):
            t.send_udp(f"incoming {i} ".encode() + "消息".encode() * (i % 7))
        t.wait_screen("the last message", lambda s: any(l.startswith(t.prefix() + "incoming 39") for l in s))
        screen = t.screen()
        self.assertEqual(self.input_line(screen), "> half typed 你好")
        self.assertEqual(t.cursor(), (width("> half typed 你好"), 29))
        # The status line sits above the input line, untouched.
        self.assertTrue(screen[-2].startswith(f"tui driver 127.0.0.1:{t.port} | 在线 0"))
        t.type("!")
        t.keys("Enter")
        t.wait_log("submitted half typed 你好!")
        t.wait_screen("the echo", lambda s: any(l.rstrip() == "you: half typed 你好!" for l in s))
        self.assertEqual(self.input_line(t.screen()), ">")

    def test_chinese_text_is_laid_out_by_display_width(self):
        t = self.t
        t.send_udp(LONG_ZH.encode())
        t.send_udp("ab你好cd".encode())
        screen = t.wait_screen("the short line", lambda s: any("ab你好cd" in l for l in s))
        i = next(n for n, l in enumerate(screen) if l.startswith(t.prefix() + "长"))
        first, second = screen[i].rstrip(), screen[i + 1].rstrip()
        # The first row holds as many wide characters as fit in 100 columns;
        # the one that would straddle the edge starts the next row.
        fit = (100 - len(t.prefix())) // 2
        self.assertEqual(first, t.prefix() + "长" * fit)
        self.assertEqual(second, "长" * (70 - fit))
        self.assertLessEqual(width(first), 100)
        self.assertEqual(screen[i + 2].rstrip(), t.prefix() + "ab你好cd")
        # The input line measures typed wide characters the same way.
        t.type("你好")
        t.wait_screen("typed Chinese", lambda s: self.input_line(s) == "> 你好")
        self.assertEqual(t.cursor(), (6, 29))
        t.keys("Left")
        t.until("the cursor to move back one wide character", lambda: t.cursor() == (4, 29))

    def test_resize_relays_out(self):
        t = self.t
        t.send_udp(LONG_ZH.encode())
        t.type("still here 好")
        t.wait_screen("the typed text", lambda s: self.input_line(s) == "> still here 好")
        t.tmux("resize-window", "-t", "t", "-x", "60", "-y", "20")
        t.wait_log("resized 60x20")
        screen = t.wait_screen("the new layout", lambda s: len(s) == 20 and
                               self.input_line(s) == "> still here 好")
        for line in screen:
            self.assertLessEqual(width(line.rstrip()), 60, line)
        i = next(n for n, l in enumerate(screen) if l.startswith(t.prefix()))
        fit = (60 - len(t.prefix())) // 2
        self.assertEqual(screen[i].rstrip(), t.prefix() + "长" * fit)
        rest = "".join(l.rstrip() for l in screen[i + 1:18])
        self.assertEqual(rest, "长" * (70 - fit))
        self.assertTrue(screen[18].startswith("tui driver"))
        self.assertEqual(t.cursor(), (width("> still here 好"), 19))
        # And back up: still one message, now on two rows.
        t.tmux("resize-window", "-t", "t", "-x", "120", "-y", "25")
        t.wait_log("resized 120x25")
        fit = (120 - len(t.prefix())) // 2
        t.wait_screen("the wider layout", lambda s: any(l.rstrip() == t.prefix() + "长" * fit for l in s))

    def test_bracketed_paste_is_one_message(self):
        t = self.t
        t.tmux("set-buffer", "-b", "p", "first line\nsecond line\nthird 第三")
        t.tmux("paste-buffer", "-p", "-b", "p", "-t", "t")
        t.wait_screen("the paste in the input line",
                      lambda s: self.input_line(s) == "> first line\\nsecond line\\nthird 第三")
        self.assertNotIn("submitted", t.log_text())  # a paste is never sent by itself
        t.keys("Enter")
        t.wait_log("submitted first line\\nsecond line\\nthird 第三")
        log = t.log_text()
        self.assertEqual(log.count("submitted"), 1, log)
        # Input history: Up brings the message back.
        t.keys("Up")
        t.wait_screen("the recalled message",
                      lambda s: self.input_line(s) == "> first line\\nsecond line\\nthird 第三")
        # Controls in a paste are shown escaped in the input line, not obeyed.
        t.keys("C-u")
        t.tmux("set-buffer", "-b", "q", "a\x01b\u2028c\x1b[31md")
        t.tmux("paste-buffer", "-p", "-b", "q", "-t", "t")
        t.wait_screen("the escaped paste",
                      lambda s: self.input_line(s) == "> a\\x01b\\u2028c\\e[31md")

    def test_escape_sequences_from_the_network_are_shown_escaped(self):
        t = self.t
        t.send_udp(b"before")
        t.send_udp(b"\x1b[2J\x1b[H\x1b[31mRED\x07\x9b6n\xe2\x80\xaeevil\r\nend")
        t.wait_screen("the escaped message", lambda s: any("end" in l for l in s))
        screen = t.screen()
        self.assertTrue(any(l.rstrip() == t.prefix() + "before" for l in screen))  # not cleared
        want = t.prefix() + "\\e[2J\\e[H\\e[31mRED\\x07\\x9b6n\\u202eevil\\r\\nend"
        self.assertIn(want, [l.rstrip() for l in screen])
        colours = t.tmux("capture-pane", "-p", "-e", "-t", "t")
        self.assertNotIn("\x1b[31m", colours)

    def test_page_up_scrolls_back(self):
        t = self.t
        for i in range(80):
            t.send_udp(b"line %02d" % i)
        t.wait_screen("the last line", lambda s: any(l.rstrip() == t.prefix() + "line 79" for l in s))
        t.type("draft")
        t.keys("PPage")
        screen = t.wait_screen("the scrolled view", lambda s: "[scrolled back: PgDn]" in s[-2])
        self.assertFalse(any("line 79" in l for l in screen))
        self.assertTrue(any(l.rstrip() == t.prefix() + "line 51" for l in screen))
        self.assertEqual(self.input_line(screen), "> draft")
        # New lines do not move a scrolled-back view.
        t.send_udp(b"line 80")
        t.until("the 81st datagram", lambda: t.log_text().count("received") == 81)
        self.assertTrue(any(l.rstrip() == t.prefix() + "line 51" for l in t.screen()))
        # The view moved up by one row with line 80: two pages down to the end.
        t.keys("NPage")
        t.wait_screen("one page down", lambda s: any(l.rstrip() == t.prefix() + "line 79" for l in s))
        t.keys("NPage")
        t.wait_screen("the bottom again", lambda s: any(l.rstrip() == t.prefix() + "line 80" for l in s)
                      and "scrolled" not in s[-2])

    def test_non_utf8_locale_falls_back_to_utf8(self):
        # The user's locale is POSIX: the UI still reads and lays out UTF-8.
        t = Tui(self, cols=60, rows=10, locale="POSIX")
        t.wait_screen("the status", lambda s: s[-2].startswith("tui driver") and "在线" in s[-2])
        t.type("你好")
        t.wait_screen("typed Chinese", lambda s: self.input_line(s) == "> 你好")
        self.assertEqual(t.cursor(), (6, 9))
        t.keys("Enter")
        t.wait_log("submitted 你好")

    def test_ctrl_d_on_an_empty_line_quits(self):
        t = self.t
        t.keys("C-d")
        t.wait_log("submitted /quit")
        t.wait_log("closed")


if __name__ == "__main__":
    unittest.main()
