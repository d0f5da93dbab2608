"""Scripted UDP peers for integration tests: echo servers that drop,
duplicate, delay or reorder on purpose, run in a thread on loopback."""
import socket
import threading
import time


class ScriptedEcho:
    """A pure echo server on 127.0.0.1:0 whose behaviour per datagram is
    decided by policy(index, data) -> list of (delay_s, payload) replies."""

    def __init__(self, policy, family=socket.AF_INET, host="127.0.0.1"):
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.policy = policy
        self.received = []
        self.sent = []  # payloads sent, in order (delayed ones when they go)
        self._sent_cond = threading.Condition()
        self._stop = threading.Event()
        self._timers = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        index = 0
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(70000)
            except socket.timeout:
                continue
            except OSError:
                break
            self.received.append((data, addr))
            for delay, payload in self.policy(index, data):
                if delay <= 0:
                    self._send(payload, addr)
                else:
                    t = threading.Timer(delay, self._send_later, (payload, addr))
                    t.daemon = True
                    self._timers.append(t)
                    t.start()
            index += 1

    def _send(self, payload, addr):
        self.sock.sendto(payload, addr)
        with self._sent_cond:
            self.sent.append(payload)
            self._sent_cond.notify_all()

    def _send_later(self, payload, addr):
        if not self._stop.is_set():
            try:
                self._send(payload, addr)
            except OSError:
                pass

    def wait_sent(self, payload, timeout=10):
        """Waits until payload was sent (on loopback it is then in the
        receiver's queue); raises AssertionError after timeout seconds."""
        with self._sent_cond:
            if not self._sent_cond.wait_for(lambda: payload in self.sent, timeout):
                raise AssertionError(f"{payload!r} never sent; sent {self.sent!r}")

    def close(self):
        self._stop.set()
        for t in self._timers:
            t.cancel()
        self._thread.join(2)
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
