"""The chat's configuration file (udpkit-chat(1) FILES, docs/chat.md): its
entries are the long options, read from --config PATH or the XDG default,
the command line overrides them, --no-config skips it, and every mistake
names the file and line, with exit status 2."""
import os
import subprocess
import tempfile
import unittest

from harness import BIN, Proc, free_udp_port, run, udp_socket


class ChatConfig(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.home = os.path.join(self.tmp.name, "home")
        os.makedirs(self.home)
        # No configuration of whoever runs the tests: HOME and XDG here.
        self.env = {k: v for k, v in os.environ.items() if k != "XDG_CONFIG_HOME"}
        self.env["HOME"] = self.home

    def conf(self, text, name="chat.conf"):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def chat(self, *args, env=None):
        """The chat in line mode on loopback, input at its end at once."""
        return run("chat", "--line", *args, input=b"", env=env or self.env)

    def info(self, r):
        out = r.stdout.decode()
        lines = [l for l in out.splitlines() if l.startswith("info\tline mode on")]
        self.assertTrue(lines, out + r.stderr.decode())
        return lines[0]

    BASE = "bind = 127.0.0.1\nport = 0\nno-discovery = yes\nno-history = true\n"

    def test_file_values_are_used(self):
        path = self.conf(self.BASE + "# a comment\n  nick = \"alice # not a comment\"\n"
                         "peer = 127.0.0.1:9\npeer = 127.0.0.2:9\nutc = off\n")
        r = self.chat("--config", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        line = self.info(r)
        self.assertIn("as alice # not a comment;", line)
        self.assertIn("2 peer addresses", line)

    def test_command_line_overrides_the_file(self):
        path = self.conf(self.BASE + "nick = alice\npeer = 127.0.0.1:9\npeer = 127.0.0.2:9\n"
                         "stay = no\n")
        r = self.chat("--config", path, "-n", "carol", "-P", "127.0.0.3:9")
        self.assertEqual(r.returncode, 0, r.stderr)
        line = self.info(r)
        self.assertIn("as carol;", line)
        # --peer on the command line replaces the file's two, not adds to them
        self.assertIn("1 peer addresses", line)

    def test_xdg_default_then_home_default(self):
        xdg = os.path.join(self.tmp.name, "xdg")
        os.makedirs(os.path.join(xdg, "udpkit"))
        with open(os.path.join(xdg, "udpkit", "chat.conf"), "w") as f:
            f.write(self.BASE + "nick = from-xdg\n")
        os.makedirs(os.path.join(self.home, ".config", "udpkit"))
        with open(os.path.join(self.home, ".config", "udpkit", "chat.conf"), "w") as f:
            f.write(self.BASE + "nick = from-home\n")
        r = self.chat(env=dict(self.env, XDG_CONFIG_HOME=xdg))
        self.assertIn("as from-xdg;", self.info(r))
        r = self.chat()
        self.assertIn("as from-home;", self.info(r))
        # --no-config: neither; the command line alone
        r = self.chat("--no-config", "-b", "127.0.0.1", "-p", "0", "--no-discovery",
                      "--no-history", "-n", "plain-cli")
        self.assertIn("as plain-cli;", self.info(r))

    def test_no_config_skips_a_broken_default(self):
        os.makedirs(os.path.join(self.home, ".config", "udpkit"))
        with open(os.path.join(self.home, ".config", "udpkit", "chat.conf"), "w") as f:
            f.write("this is not key = value\n")
        r = self.chat("-b", "127.0.0.1", "-p", "0", "--no-discovery", "--no-history")
        self.assertEqual(r.returncode, 2)
        r = self.chat("--no-config", "-b", "127.0.0.1", "-p", "0", "--no-discovery",
                      "--no-history")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_errors_name_file_and_line(self):
        cases = [
            ("nick = a\nprot = 3\n", ":2: unknown key 'prot'; did you mean 'port'?"),
            ("\n\nport = abc\n", ":3: invalid --port 'abc'"),
            ("nick\n", ":1: expected '=' after the key"),
            ("nick = \"unterminated\n", ":1: unterminated quote"),
            ("no-history = maybe\n", ":1: 'no-history' is true or false"),
            ("nick =\n", ":1: 'nick' needs a value"),
            ("help = yes\n", ":1: 'help' has no place in a configuration file"),
            ("config = /etc/passwd\n", ":1: 'config' has no place in a configuration file"),
            ("Nick = a\n", ":1: expected a key"),
            ("charset = klingon\n", ":1: invalid --charset 'klingon'"),
            ("nick = a\npeer-charset = 10.0.0.7\n",
             ":2: --peer-charset '10.0.0.7': not HOST[:PORT]=NAME"),
            ("peer-charset = 10.0.0.7:2425=klingon\n",
             ":1: --peer-charset '10.0.0.7:2425=klingon': unknown charset"),
            ("peer-charset = 10.0.0.7:99999=gbk\n",
             ":1: --peer-charset '10.0.0.7:99999=gbk': not HOST[:PORT]=NAME"),
            ("colour = sometimes\n", ":1: invalid --color 'sometimes'"),
        ]
        for text, want in cases:
            with self.subTest(text=text):
                path = self.conf(text, "bad.conf")
                r = self.chat("--config", path)
                err = r.stderr.decode()
                self.assertEqual(r.returncode, 2, err)
                self.assertIn(f"udpkit chat: {path}{want}", err)
                self.assertNotIn("--help", err)  # a file's mistake, not the command line's

    def test_plain_peer_port_and_history_from_the_file(self):
        """plain-peer, port and history in the file: the line goes to the
        plain-text peer as it is (no IPMsg), from the port the file names,
        and into the history file it names; exit 0 (sent to a declared
        plain peer)."""
        peer = udp_socket(timeout=30)
        self.addCleanup(peer.close)
        port = free_udp_port()
        os.makedirs(os.path.join(self.tmp.name, "hist"))
        hist = os.path.join(self.tmp.name, "hist", "chat.txt")
        path = self.conf(f"bind = 127.0.0.1\nport = {port}\nno-discovery = yes\n"
                         f"plain-peer = 127.0.0.1:{peer.getsockname()[1]}\nhistory = {hist}\n")
        r = run("chat", "--line", "--config", path, input="你好, plain peer\n".encode(),
                env=self.env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"bound on 127.0.0.1 {port}\n".encode(), r.stderr)
        data, src = peer.recvfrom(65536)
        self.assertEqual(data, "你好, plain peer\n".encode())
        self.assertEqual(src, ("127.0.0.1", port))
        with open(hist, encoding="utf-8") as f:
            self.assertIn("你好, plain peer", f.read())

    def test_colour_from_the_file(self):
        """colour (or color) = always|never|auto, as --color=WHEN; the
        command line's --color overrides it. Seen on a usage error found
        after the file is read (--plain without --peer)."""
        for key in ("colour", "color"):
            with self.subTest(key=key):
                path = self.conf(self.BASE + f"{key} = always\n")
                r = self.chat("--config", path, "--plain")
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(b"\x1b[", r.stderr)
                self.assertIn(b"--plain needs a --peer", r.stderr)
                r = self.chat("--config", path, "--plain", "--color=never")
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertNotIn(b"\x1b[", r.stderr)
        path = self.conf(self.BASE + "colour = never\n")
        r = self.chat("--config", path, "--plain", env=dict(self.env, TERM="xterm"))
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertNotIn(b"\x1b[", r.stderr)

    def test_download_dir_from_the_file(self):
        """download-dir in the file: /accept without a folder puts an
        offered file there (two udpkit on loopback, as in test_chat_files)."""
        src = os.path.join(self.tmp.name, "report.txt")
        with open(src, "w") as f:
            f.write("Q3 numbers\n")
        dst = os.path.join(self.tmp.name, "incoming")
        os.makedirs(dst)
        path = self.conf(self.BASE + f"nick = bob\ndownload-dir = {dst}\nstay = yes\n")
        bob = Proc([BIN, "chat", "--line", "--config", path], stdin=subprocess.PIPE,
                   env=self.env)
        self.addCleanup(bob.kill)
        _, port = bob.wait_bound()
        alice = Proc([BIN, "chat", "--line", "--no-config", "-b", "127.0.0.1", "-p", "0",
                      "--no-discovery", "--no-history", "-P", f"127.0.0.1:{port}",
                      "--send-file", src], env=self.env)
        self.addCleanup(alice.kill)
        bob.wait_for(b"offer-num\t", "out")
        bob.proc.stdin.write(b"/accept\n")
        bob.proc.stdin.flush()
        self.assertEqual(alice.wait(60), 0, alice.err())
        bob.wait_for(b"received\t", "out")
        with open(os.path.join(dst, "report.txt")) as f:
            self.assertEqual(f.read(), "Q3 numbers\n")
        self.assertFalse(os.path.exists(os.path.join(self.home, "Downloads")))

    def test_missing_given_file_is_an_error(self):
        path = os.path.join(self.tmp.name, "none.conf")
        r = self.chat("--config", path)
        self.assertEqual(r.returncode, 2)
        self.assertIn(f"udpkit chat: {path}: cannot be opened", r.stderr.decode())


if __name__ == "__main__":
    unittest.main()
