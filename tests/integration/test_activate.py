"""udpkit echo and listen under a service manager, as the systemd units run
them: sockets handed over by socket activation (systemd-socket-activate
--datagram, the same LISTEN_FDS/LISTEN_PID protocol as systemd), readiness
and stopping told through NOTIFY_SOCKET, and the service's restrictions
(no network namespace of its own, an unprivileged user, no capabilities, no
new privileges) emulated with unshare and setpriv. Loopback only."""
import os
import shutil
import signal
import socket
import tempfile
import unittest

import harness

ACTIVATE = shutil.which("systemd-socket-activate")


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def activated(listens, *argv, prefix=(), env=None):
    """Starts `udpkit argv` behind systemd-socket-activate with datagram
    sockets on listens ("127.0.0.1:PORT", "[::1]:PORT")."""
    cmd = [ACTIVATE, "--datagram"]
    for l in listens:
        cmd += ["-l", l]
    return harness.Proc(cmd + list(prefix) + [harness.BIN] + [str(a) for a in argv], env=env)


def ask(addr, port, payload, family=socket.AF_INET):
    """Sends payload until a reply comes (the first datagram is what makes
    systemd-socket-activate exec the server, which takes a moment)."""
    host = addr.strip("[]")
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.settimeout(0.5 * harness.SLOW)
        for _ in range(60):
            s.sendto(payload, (host, port))
            try:
                return s.recvfrom(65536)[0]
            except socket.timeout:
                continue
    raise AssertionError(f"no reply from {addr}:{port}")


@unittest.skipUnless(ACTIVATE, "systemd-socket-activate is not installed (Debian package systemd)")
class TestSocketActivation(unittest.TestCase):
    def test_echo_serves_every_inherited_socket(self):
        p4, p6 = free_port(), free_port(socket.AF_INET6, "::1")
        srv = activated([f"127.0.0.1:{p4}", f"[::1]:{p6}"], "echo", "-m", "pure")
        try:
            self.assertEqual(ask("127.0.0.1", p4, b"over v4"), b"over v4")
            self.assertEqual(ask("::1", p6, b"over v6", socket.AF_INET6), b"over v6")
            err = srv.wait_for(f"bound on ::1 {p6}".encode())
            self.assertIn(f"bound on 127.0.0.1 {p4}".encode(), err)
            self.assertEqual(srv.stop(signal.SIGTERM), 0)
            self.assertIn(b"udpkit echo: 2 datagrams", srv.err())
        finally:
            srv.kill()

    def test_echo_stamp_mode_on_an_inherited_wildcard_socket_answers_from_the_address_asked(self):
        port = free_port()
        srv = activated([f"0.0.0.0:{port}"], "echo")
        try:
            reply = ask("127.0.0.2", port, b"hi")
            self.assertTrue(reply.endswith("】hi".encode()), reply)
            srv.wait_for(f"bound on 0.0.0.0 {port}".encode())
        finally:
            srv.kill()

    def test_listen_answers_on_its_inherited_socket(self):
        port = free_port()
        srv = activated([f"127.0.0.1:{port}"], "listen")
        try:
            self.assertTrue(ask("127.0.0.1", port, b"who is there?"))
            srv.wait_for(f"bound on 127.0.0.1 {port}".encode())
            self.assertEqual(srv.stop(signal.SIGTERM), 0)
        finally:
            srv.kill()

    def test_listen_serves_every_inherited_socket(self):
        # udpkit-listen.socket with several ListenDatagram= lines: each
        # socket is served, and a request is answered from the socket it
        # came to (its address and port), with one summary for all.
        p1, p2 = free_port(), free_port()
        p6 = free_port(socket.AF_INET6, "::1")
        srv = activated([f"127.0.0.1:{p1}", f"127.0.0.1:{p2}", f"[::1]:{p6}"], "listen")
        try:
            for host, port, family in (("127.0.0.1", p1, socket.AF_INET),
                                       ("127.0.0.1", p2, socket.AF_INET),
                                       ("::1", p6, socket.AF_INET6)):
                with socket.socket(family, socket.SOCK_DGRAM) as s:
                    s.settimeout(0.5 * harness.SLOW)
                    for _ in range(60):
                        s.sendto(b"who is there?", (host, port))
                        try:
                            data, addr = s.recvfrom(1024)
                            break
                        except socket.timeout:
                            continue
                    else:
                        raise AssertionError(f"no reply from {host} {port}")
                self.assertTrue(data.startswith(b"ack from "), data)
                self.assertEqual((addr[0], addr[1]), (host, port))
            err = srv.wait_for(f"bound on ::1 {p6}".encode())
            for port in (p1, p2):
                self.assertIn(f"bound on 127.0.0.1 {port}".encode(), err)
            self.assertEqual(srv.stop(signal.SIGTERM), 0)
            self.assertRegex(srv.err(), rb"udpkit listen: [3-9]\d* datagrams .* received")
        finally:
            srv.kill()
    def test_a_stream_socket_is_refused(self):
        port = free_port()
        srv = harness.Proc([ACTIVATE, "-l", f"127.0.0.1:{port}", harness.BIN, "echo"])
        try:
            srv.wait_for(b"Listening on")
            with socket.create_connection(("127.0.0.1", port), timeout=5 * harness.SLOW):
                srv.wait_for(b"udpkit echo: sockets from the service manager")
            self.assertEqual(srv.wait(), 2)
        finally:
            srv.kill()

    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("unshare") and shutil.which("setpriv"),
                         "needs root, unshare and setpriv (util-linux) to emulate the unit's sandbox")
    def test_echo_runs_under_the_units_restrictions(self):
        """As udpkit-echo.service runs it: PrivateNetwork (a network namespace
        of its own: the inherited socket still works), an unprivileged user,
        no capabilities at all, no new privileges."""
        port = free_port()
        sandbox = ["unshare", "--net", "--", "setpriv", "--reuid=65534", "--regid=65534",
                   "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
        srv = activated([f"127.0.0.1:{port}"], "echo", "--mode", "pure", "--quiet", prefix=sandbox)
        try:
            self.assertEqual(ask("127.0.0.1", port, b"sandboxed"), b"sandboxed")
            self.assertEqual(srv.stop(signal.SIGTERM), 0)
            self.assertIn(b"1 reply", srv.err())
        finally:
            srv.kill()


class TestReadiness(unittest.TestCase):
    """Type=notify: READY=1 once serving, STOPPING=1 when asked to stop."""

    def notified(self, *argv):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "notify")
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as n:
                n.bind(path)
                # As root the servers drop to nobody once bound: let nobody
                # reach the socket, as systemd's notify socket allows.
                os.chmod(tmp, 0o755)
                os.chmod(path, 0o777)
                n.settimeout(10 * harness.SLOW)
                srv = harness.udpkit(*argv, env=dict(os.environ, NOTIFY_SOCKET=path))
                try:
                    srv.wait_bound()
                    self.assertEqual(n.recv(4096), b"READY=1")
                    with open(f"/proc/{srv.pid}/maps") as f:
                        self.maps = f.read().splitlines()
                    self.assertEqual(srv.stop(signal.SIGTERM), 0)
                    self.assertEqual(n.recv(4096), b"STOPPING=1")
                finally:
                    srv.kill()

    def test_echo_notifies(self):
        self.notified("echo", "-p", "0", "-q")
        # Told through NOTIFY_SOCKET, it loaded libsystemd to do it.
        self.assertTrue(any("libsystemd" in m for m in self.maps), "libsystemd not loaded")

    def test_libsystemd_is_loaded_only_under_a_service_manager(self):
        # Without LISTEN_* or NOTIFY_SOCKET libsystemd (and the libraries
        # it pulls in: about 1 MB resident) stays out of the process.
        env = {k: v for k, v in os.environ.items()
               if k not in ("NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES")}
        srv = harness.udpkit("echo", "-p", "0", "-q", env=env)
        try:
            srv.wait_bound()
            with open(f"/proc/{srv.pid}/maps") as f:
                maps = f.read()
            self.assertNotIn("libsystemd", maps)
            # Nor libcrypto (lib/sha256.c loads it for the chat's file
            # transfers only), another 1.8 MB.
            self.assertNotIn("libcrypto", maps)
            self.assertEqual(srv.stop(signal.SIGTERM), 0)
        finally:
            srv.kill()

    def test_listen_notifies(self):
        self.notified("listen", "-b", "127.0.0.1", "-p", "0")


if __name__ == "__main__":
    unittest.main()
