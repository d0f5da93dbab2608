"""Translations (docs/i18n.md): with LANG=zh_CN.UTF-8 every command speaks
Chinese where a person reads (help, errors, summaries, the chat's terminal
UI), with LANG=C or an unknown locale English, and what programs read never
changes: `bound on ADDR PORT`, line-mode event names, JSON, and numbers,
which stay in the C locale even where the decimal separator is a comma.
The locales come from `make locales` (localedef into build/locales, used
through LOCPATH), the catalogue from build/locale (UDPKIT_LOCALEDIR)."""
import json
import os
import re
import tempfile
import unicodedata
import unittest

import harness
from harness import BIN, run, udpkit, require_cmd

LOCPATH = os.environ.get("UDPKIT_LOCPATH", os.path.join(harness.ROOT, "build", "locales"))
LOCALEDIR = os.environ.get("UDPKIT_LOCALEDIR", os.path.join(harness.ROOT, "build", "locale"))
COMMANDS = ["bench", "broadcast", "chat", "echo", "history", "ifaces", "listen", "ping", "send"]
HAN = re.compile(r"[\u4e00-\u9fff]")


def env(lang):
    """The environment of a user whose locale is lang, and nothing else."""
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("LC_") and k not in ("LANG", "LANGUAGE")}
    e.update(LANG=lang, LOCPATH=LOCPATH, UDPKIT_LOCALEDIR=LOCALEDIR)
    return e


def have_locale(name):
    return os.path.exists(os.path.join(LOCPATH, name, "LC_CTYPE"))


def cells(text):
    """Terminal cells text takes (wide CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


class I18n(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not have_locale("zh_CN.UTF-8"):
            raise unittest.SkipTest(f"no zh_CN.UTF-8 locale in {LOCPATH} (make locales)")
        if not os.path.exists(os.path.join(LOCALEDIR, "zh_CN", "LC_MESSAGES", "udpkit.mo")):
            raise unittest.SkipTest(f"no zh_CN catalogue in {LOCALEDIR} (make all)")

    def both(self, *args, **kw):
        c = run(*args, env=env("C"), **kw)
        zh = run(*args, env=env("zh_CN.UTF-8"), **kw)
        return c, zh

    def test_help_of_every_command_in_both(self):
        c, zh = self.both("--help")
        self.assertIn("usage: udpkit <command>", c.stdout.decode())
        self.assertIn("用法：udpkit <命令>", zh.stdout.decode())
        for cmd in COMMANDS:
            with self.subTest(cmd=cmd):
                c, zh = self.both(cmd, "--help")
                en, cn = c.stdout.decode(), zh.stdout.decode()
                self.assertEqual((c.returncode, zh.returncode), (0, 0))
                self.assertIsNone(HAN.search(en), en)
                self.assertTrue(en.startswith(f"usage: udpkit {cmd} [options]"), en)
                self.assertTrue(cn.startswith(f"用法：udpkit {cmd} [选项]"), cn)
                # every option is there under its own name, every help line
                # in Chinese (option names, not their descriptions, are code)
                opts = lambda t: re.findall(r"^ +(?:-\w, )?(--[\w-]+)", t, re.M)
                self.assertEqual(opts(en), opts(cn))
                lines = cn.splitlines()
                for i, line in enumerate(lines):
                    if re.match(r"^ +(-\w, )?--[\w-]+", line):
                        # a long label has its description on the next line
                        self.assertRegex(line + lines[i + 1], HAN, line)

    def test_unknown_locale_and_c_speak_english(self):
        for lang in ("C", "xx_YY.UTF-8", "POSIX"):
            r = run("ping", env=env(lang))
            self.assertEqual(r.returncode, 2)
            self.assertEqual(r.stderr.decode(),
                             "udpkit ping: a host is required\nTry 'udpkit ping --help'.\n")

    def test_errors_in_both(self):
        c, zh = self.both("ping")
        self.assertEqual((c.returncode, zh.returncode), (2, 2))
        self.assertEqual(zh.stderr.decode(),
                         "udpkit ping: 需要指定主机\n请尝试执行 'udpkit ping --help'。\n")
        c, zh = self.both("pnig")
        self.assertIn("unknown command 'pnig'; did you mean 'ping'?", c.stderr.decode())
        self.assertIn("未知命令 'pnig'；你是指 'ping' 吗？", zh.stderr.decode())
        c, zh = self.both("echo", "--port", "70000")
        self.assertIn("invalid --port '70000': out of range (0..65535)", c.stderr.decode())
        self.assertIn("无效的 --port '70000'：超出范围（0..65535）", zh.stderr.decode())
        # system error texts come from glibc's own catalogue (libc-l10n)
        c, zh = self.both("chat", "--config", "/nonexistent/chat.conf")
        self.assertEqual(c.stderr.decode(), "udpkit chat: /nonexistent/chat.conf: cannot be "
                         "opened: No such file or directory\n")
        if os.path.exists("/usr/share/locale/zh_CN/LC_MESSAGES/libc.mo"):
            self.assertEqual(zh.stderr.decode(), "udpkit chat: /nonexistent/chat.conf: 无法打开: "
                             "没有那个文件或目录\n")

    def test_echo_summary_translated_bound_line_not(self):
        for lang, summary in (("C", "udpkit echo: 1 datagram (5 bytes) received"),
                              ("zh_CN.UTF-8", "udpkit echo: 收到 1 个数据报（5 字节）")):
            with self.subTest(lang=lang):
                srv = udpkit("echo", "-b", "127.0.0.1", "-p", "0", "-m", "pure", env=env(lang))
                self.addCleanup(srv.kill)
                port = srv.wait_bound()[1]  # "bound on ADDR PORT", in any language
                s = harness.udp_socket()
                s.sendto(b"hello", ("127.0.0.1", port))
                self.assertEqual(s.recvfrom(100)[0], b"hello")
                s.close()
                srv.wait_for(b"hello", "out")
                srv.stop()
                self.assertIn(summary, srv.err().decode())

    def test_chat_line_mode_events_stay_english(self):
        r = run("chat", "--line", "--no-config", "-b", "127.0.0.1", "-p", "0", "--no-discovery",
                "--no-history", "-n", "小明", "--plain-peer", "127.0.0.1:9",
                input="你好\n".encode(), env=env("zh_CN.UTF-8"))
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode().splitlines()
        # the event names and fields are for programs; the info text for people
        self.assertTrue(any(l.startswith("info\tline mode：地址 127.0.0.1:") or
                            l.startswith("info\t行模式：地址 127.0.0.1:") for l in out), out)
        self.assertIn("sent\t127.0.0.1:9\t0\t\t你好", out)
        self.assertRegex(r.stderr.decode(), r"udpkit chat: 已发送 1，")

    def test_numbers_stay_c_in_a_comma_locale(self):
        if not have_locale("de_DE.UTF-8"):
            self.skipTest(f"no de_DE.UTF-8 locale in {LOCPATH} (make locales)")
        srv = udpkit("echo", "-b", "127.0.0.1", "-p", "0", "-q", "-m", "pure")
        self.addCleanup(srv.kill)
        port = srv.wait_bound()[1]
        e = env("de_DE.UTF-8")
        r = run("ping", "-c", "2", "-i", "0.05", "-J", "127.0.0.1", port, env=e)
        self.assertEqual(r.returncode, 0, r.stderr)
        for line in r.stdout.decode().splitlines():
            json.loads(line)  # 0,123 would not parse
        r = run("ping", "-c", "2", "-i", "0.05", "127.0.0.1", port, env=e)
        self.assertRegex(r.stdout.decode(), r"rtt min/avg/max/mdev = \d+\.\d{3}/")
        # and numbers are parsed in C too: 0.05 above, 1.5 here
        r = run("ping", "-c", "1", "-W", "1.5", "127.0.0.1", port, env=e)
        self.assertEqual(r.returncode, 0, r.stderr)


class ChatTuiChinese(unittest.TestCase):
    """The terminal UI in Chinese: the status line and the messages with
    wide characters keep the layout (no line wider than the terminal, the
    status line on one row above the prompt)."""

    COLS, ROWS = 60, 14

    def setUp(self):
        require_cmd("tmux")
        if not have_locale("zh_CN.UTF-8"):
            self.skipTest(f"no zh_CN.UTF-8 locale in {LOCPATH} (make locales)")
        from tmuxpane import TmuxPane, wait_bound_file
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        err = os.path.join(self.tmp.name, "err")
        peer = harness.udp_socket()
        self.addCleanup(peer.close)
        self.peer_port = peer.getsockname()[1]
        cmd = (f"exec env LANG=zh_CN.UTF-8 LOCPATH={LOCPATH} UDPKIT_LOCALEDIR={LOCALEDIR} "
               f"{BIN} chat --no-config -b 127.0.0.1 -p 0 -n 小明 --no-discovery --no-history "
               f"--plain-peer 127.0.0.1:{self.peer_port} 2>{err}")
        self.t = TmuxPane(self, cmd, self.COLS, self.ROWS)
        self.port = wait_bound_file(err)
        if "行模式" in self.t.wait_pane("小明"):
            self.skipTest("this build has no terminal UI")
        self.peer = peer

    def check_layout(self, screen):
        lines = screen.rstrip("\n").split("\n")
        for line in lines:
            self.assertLessEqual(cells(line), self.COLS, f"wider than the terminal: {line!r}")
        status = [i for i, l in enumerate(lines) if "对象：" in l]
        self.assertEqual(len(status), 1, screen)
        self.assertTrue(lines[status[0]].startswith(f" 127.0.0.1:{self.port}  小明  对象："),
                        lines[status[0]])
        self.assertTrue(lines[status[0] + 1].startswith(">"), screen)

    def test_status_line_and_messages_in_chinese(self):
        screen = self.t.wait_pane("用户：")
        self.assertIn("udpkit chat：地址 127.0.0.1:", screen)
        self.t.tmux("send-keys", "-l", "你好，世界")
        self.t.tmux("send-keys", "Enter")
        self.assertEqual(self.peer.recvfrom(100)[0], "你好，世界\n".encode())
        # The mark may wrap onto the next row (the time carries its UTC
        # offset): wait for it on the screen as a whole.
        screen = self.t.wait_pane("你好，世界  [纯文本，无回")
        self.assertIn("执]", screen.split("你好，世界  [纯文本，无回", 1)[1])
        self.check_layout(screen)
        # a long line of wide characters from the peer wraps, never overflows
        self.peer.sendto(("中文" * 40 + "\n").encode(), ("127.0.0.1", self.port))
        screen = self.t.wait_pane("中文中文中文")
        self.check_layout(screen)
        self.t.tmux("send-keys", "-l", "/help")
        self.t.tmux("send-keys", "Enter")
        screen = self.t.wait_pane("重绘屏幕")
        self.check_layout(screen)


if __name__ == "__main__":
    unittest.main()
