"""iptux 0.8.3 (Debian package) on a desk of its own, for the integration
tests that talk to it: an Xvfb display, a D-Bus session bus, a fresh HOME
with iptux's config, iptux itself, and the ways a person drives it (its
GActions over D-Bus, typing and pasting into its windows with xdotool and
xclip). Everything runs inside one network namespace (Xvfb's and D-Bus's
abstract sockets are per namespace): `wrap` turns an argv into one that
runs there (`ip netns exec NS ...`), `spawn` starts a harness.Proc there
that the caller ends, `add_cleanup` registers what this module started
itself. Used by test_chat_iptux.py, test_chat_files_iptux.py and
test_chat_room_lab.py (iptux as an outsider on the room lab's LAN).

    desk = IptuxDesk(wrap, spawn, test.addCleanup, home)
    env = desk.start({"port": 2426})   # config + X + bus; returns the env
    desk.start_iptux()
    desk.wait_log("hello"); desk.types("udpbot", "hi", "127.0.0.1")"""
import json
import os
import subprocess
import time

from harness import SLOW, Proc, require_cmd

APP = "/io/github/iptux_src/iptux"
PROGRAMS = (("iptux", "iptux"), ("Xvfb", "xvfb"), ("xdotool", "xdotool"), ("xclip", "xclip"),
            ("gdbus", "libglib2.0-bin"), ("dbus-daemon", "dbus"), ("ip", "iproute2"))

# The config every test starts from: on loopback, port 2426 (udpkit takes
# 2425, where iptux 0.8 sends its answers), no broadcast.
LOOPBACK_CONFIG = {"debug_dont_broadcast": True, "bind_ip": "127.0.0.1", "port": 2426,
                   "nick_name": "iptuxbot", "belong_group": "botgroup",
                   "scan_net_segment": [{"startip": "127.0.0.1", "endip": "127.0.0.1"}]}


def require_programs():
    """SkipTest, with the package to install, without one of them."""
    for cmd, pkg in PROGRAMS:
        require_cmd(cmd, pkg)


class IptuxDesk:
    def __init__(self, wrap, spawn, add_cleanup, home):
        self.wrap = wrap
        self.spawn = spawn
        self.add_cleanup = add_cleanup
        self.home = home
        self.env = None
        self.iptuxes = []
        self.logdir = os.path.join(home, ".config", "iptux", "log")
        self.log = os.path.join(self.logdir, "communicate.log")

    # ---- the desk ------------------------------------------------------
    def start(self, config=None, base=LOOPBACK_CONFIG, env=None):
        """Writes iptux's config (base updated with config) into a fresh
        HOME, starts Xvfb and a session bus; returns the environment every
        program of the desk runs in (env adds to it)."""
        os.makedirs(os.path.join(self.home, ".iptux"), exist_ok=True)
        os.makedirs(self.logdir, exist_ok=True)  # iptux first-run bug
        conf = dict(base)
        conf.update(config or {})
        with open(os.path.join(self.home, ".iptux", "config.json"), "w") as f:
            json.dump(conf, f)
        self.env = dict(os.environ, HOME=self.home, XDG_CONFIG_HOME=os.path.join(self.home, ".config"),
                        NO_AT_BRIDGE="1", **(env or {}))
        self.env.pop("XDG_RUNTIME_DIR", None)
        self._start_x()
        bus = self.spawn(["dbus-daemon", "--session", "--nofork", "--print-address=1"], env=self.env)
        out = bus.wait_for(b"\n", "out", 20)
        self.env["DBUS_SESSION_BUS_ADDRESS"] = out.decode().splitlines()[0].strip()
        return self.env

    def _start_x(self):
        # Xvfb picks a free display and tells us on a pipe (-displayfd).
        r, w = os.pipe()
        x = subprocess.Popen(self.wrap(["Xvfb", "-displayfd", str(w), "-nolisten", "tcp",
                                        "-screen", "0", "1024x768x24"]),
                             pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(w)
        self.add_cleanup(lambda: (x.kill(), x.wait(10)))
        digits = b""
        while not digits.endswith(b"\n"):
            chunk = os.read(r, 16)
            if not chunk:
                os.close(r)
                raise AssertionError("Xvfb did not start")
            digits += chunk
        os.close(r)
        self.env["DISPLAY"] = ":" + digits.decode().strip()

    def start_iptux(self, args=()):
        p = self.spawn(["iptux"] + list(args), env=self.env)
        self.iptuxes.append(p)
        return p

    def run(self, argv, timeout=20):
        """Runs argv on the desk to completion (CompletedProcess, bytes)."""
        return subprocess.run(self.wrap(argv), capture_output=True, timeout=timeout * SLOW,
                              env=self.env)

    @staticmethod
    def gdbus_argv(action, param="[]", path=APP):
        """gdbus activating GAction action of iptux's object path (the
        application, or one of its windows: APP/window/N)."""
        return ["gdbus", "call", "--session", "--dest", "io.github.iptux_src.iptux",
                "--object-path", path, "--method", "org.gtk.Actions.Activate", action, param, "{}"]

    def gdbus(self, action, param="[]", path=APP):
        return self.run(self.gdbus_argv(action, param, path))

    def window_with(self, action, timeout=20):
        """The object path of the first iptux window that has action (its
        main window: "refresh"; a chat window: "attach_file")."""
        def find():
            for n in range(1, 10):
                r = self.run(["gdbus", "call", "--session", "--dest", "io.github.iptux_src.iptux",
                              "--object-path", f"{APP}/window/{n}", "--method",
                              "org.gtk.Actions.List"])
                if r.returncode == 0 and f"'{action}'".encode() in r.stdout:
                    return f"{APP}/window/{n}"
            return None
        return self.wait(f"an iptux window with {action}", find, timeout)

    # ---- what iptux shows ----------------------------------------------
    def read_log(self):
        if not os.path.exists(self.log):
            return ""
        with open(self.log, encoding="utf-8", errors="replace") as f:
            return f.read()

    def state(self):
        """For a failure message: each iptux's exit status and the end of
        its stderr and of its logs."""
        text = ""
        for p in self.iptuxes:
            text += (f"\niptux pid {p.pid} exit status {p.proc.poll()}, stderr:\n"
                     + p.err().decode(errors="replace")[-3000:])
        for name in sorted(os.listdir(self.logdir)) if os.path.isdir(self.logdir) else ():
            with open(os.path.join(self.logdir, name), encoding="utf-8", errors="replace") as f:
                text += f"\n{name}:\n" + f.read()[-2000:]
        return text

    def wait_log(self, text, count=1, timeout=15):
        """iptux's communicate.log once it holds text count times."""
        deadline = time.monotonic() + timeout * SLOW
        log = ""
        while time.monotonic() < deadline:
            log = self.read_log()
            if log.count(text) >= count:
                break
            time.sleep(0.2)
        if log.count(text) != count:
            raise AssertionError(f"{text!r} {log.count(text)} times, not {count}, in iptux's log:\n"
                                 f"{log[-3000:]}")
        return log

    def wait(self, what, fn, timeout=20):
        """fn()'s first true value, polled until timeout x SLOW."""
        deadline = time.monotonic() + timeout * SLOW
        while True:
            v = fn()
            if v:
                return v
            if time.monotonic() >= deadline:
                raise AssertionError("timed out waiting for " + what + self.state())
            time.sleep(0.2)

    def xwin(self, name, timeout=15):
        """The X id of the first window whose name matches name."""
        def find():
            out = self.run(["xdotool", "search", "--name", name]).stdout.split()
            return out[0].decode() if out else None
        return self.wait("window " + name, find, timeout)

    # ---- driving it ----------------------------------------------------
    def types(self, window, text, peer="127.0.0.1"):
        """Opens iptux's chat window on peer (its title holds window),
        pastes text into it, Ctrl+Return."""
        r = self.gdbus("open-chat", f"[<'{peer}'>]")
        if r.returncode != 0:
            raise AssertionError(r.stderr.decode(errors="replace") + self.state())
        wid = self.xwin(window, 30)
        self.run(["xdotool", "windowfocus", "--sync", wid])
        # On a busy machine the first key after the focus change was lost
        # ("中文消息" arrived as "文消息"): a key that is then erased goes
        # first, so a lost one costs nothing (BackSpace in an empty box
        # does nothing either).
        self.run(["xdotool", "type", "--delay", "80", "x"])
        self.run(["xdotool", "key", "--delay", "80", "BackSpace"])
        # The text itself is pasted, not typed: xdotool types a character
        # that has no key through a scratch keycode remapped per character,
        # and on a loaded machine iptux read some after the mapping had
        # moved on ("hi 你好" arrived as "hi 你"). A paste is one event.
        # xclip serves the clipboard in the foreground (-quiet) until the
        # test ends; its copy is read back before Ctrl+V.
        clip = self.spawn(["xclip", "-quiet", "-selection", "clipboard", "-i"], env=self.env,
                          stdin=subprocess.PIPE)
        clip.proc.stdin.write(text.encode())
        clip.proc.stdin.close()
        self.wait("xclip to serve the text",
                  lambda: self.run(["xclip", "-o", "-selection", "clipboard"]).stdout == text.encode(),
                  15)
        self.run(["xdotool", "key", "--delay", "80", "ctrl+v"])
        self.run(["xdotool", "key", "ctrl+Return"])


def in_namespace(ns, procs):
    """wrap and spawn for a desk in network namespace ns; the Procs that
    spawn starts go to procs (the caller ends them)."""
    def wrap(argv):
        return ["ip", "netns", "exec", ns] + [str(a) for a in argv]

    def spawn(argv, env=None, stdin=subprocess.DEVNULL):
        p = Proc(wrap(argv), env=env, stdin=stdin)
        procs.append(p)
        return p
    return wrap, spawn
