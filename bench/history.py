#!/usr/bin/env python3
"""Benchmark: how fast `udpkit chat` logs messages, with and without
--sync (fdatasync before showing or acknowledging, one sync per burst),
and the latency --sync adds to one message. A receipt is only sent once
the message is in the history, so messages acknowledged per second is
messages logged per second. Run by `make bench`; the results go to
docs/history.md by hand (they depend on the disk).

  bench/history.py --udpkit build/udpkit [--count 20000] [--dir DIR]
"""
import argparse
import os
import re
import socket
import statistics
import subprocess
import tempfile
import time

SENDMSG = 0x20 | 0x100 | 0x800000


def pkt(no):
    return b"1:%d:bench:host:%d:message %d\0" % (no, SENDMSG, no)


def start(udpkit, path, sync):
    argv = [udpkit, "chat", "-b", "127.0.0.1", "-p", "0", "--stay", "--no-discovery",
            "--rate-limit", "0", "--history", path] + (["--sync"] if sync else [])
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    line = p.stderr.readline().decode()
    m = re.match(r"bound on \S+ (\d+)", line)
    return p, int(m.group(1))


def burst(port, count, sources=8, window=256):
    """count messages from `sources` sockets, window outstanding each;
    returns the seconds until every one was acknowledged."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(sources)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
        s.setblocking(False)
    per = count // sources
    nxt = [k * per + 1 for k in range(sources)]
    end = [(k + 1) * per + 1 for k in range(sources)]
    out = [dict() for _ in range(sources)]
    acked = 0
    t0 = time.monotonic()
    while acked < per * sources:
        now = time.monotonic()
        for k, s in enumerate(socks):
            while nxt[k] < end[k] and len(out[k]) < window:
                s.sendto(pkt(nxt[k]), ("127.0.0.1", port))
                out[k][nxt[k]] = now
                nxt[k] += 1
            for no, t in list(out[k].items()):
                if now - t > 0.5:
                    s.sendto(pkt(no), ("127.0.0.1", port))
                    out[k][no] = now
            try:
                while True:
                    data = s.recv(2048)
                    m = re.match(rb"^1:\d+:[^:]*:[^:]*:33:(\d+)", data)
                    if m and out[k].pop(int(m.group(1)), None) is not None:
                        acked += 1
            except BlockingIOError:
                pass
    for s in socks:
        s.close()
    return time.monotonic() - t0


def latency(port, count=300):
    """Median and 99th percentile of send -> receipt for one message at a time."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(2)
    rtts = []
    for no in range(10**6, 10**6 + count):
        t = time.perf_counter()
        s.sendto(pkt(no), ("127.0.0.1", port))
        while True:
            data = s.recv(2048)
            if re.match(rb"^1:\d+:[^:]*:[^:]*:33:%d" % no, data):
                break
        rtts.append(time.perf_counter() - t)
    s.close()
    rtts.sort()
    return statistics.median(rtts) * 1e6, rtts[int(len(rtts) * 0.99)] * 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--udpkit", required=True)
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", default=None, help="where the history goes (default: a temp dir "
                    "under the current directory, so on this disk, not tmpfs)")
    a = ap.parse_args()
    base = a.dir or tempfile.mkdtemp(prefix=".bench-history-", dir=os.getcwd())
    dev = subprocess.run(["df", "-T", base], capture_output=True, text=True).stdout.splitlines()[-1]
    print(f"history benchmark: {a.count} messages from 8 sources, {a.rounds} rounds; "
          f"file system: {' '.join(dev.split()[:2])}")
    for sync in (False, True):
        rates, lat = [], []
        for r in range(a.rounds):
            path = os.path.join(base, f"chat-{int(sync)}-{r}.txt")
            p, port = start(a.udpkit, path, sync)
            try:
                rates.append(a.count / burst(port, a.count))
                lat.append(latency(port))
            finally:
                p.terminate()
                p.wait()
            os.unlink(path)
        med = statistics.median(rates)
        print(f"  {'--sync' if sync else 'no sync'}: {med:,.0f} messages/s logged and "
              f"acknowledged (rounds: {', '.join(f'{x:,.0f}' for x in rates)}); one message: "
              f"median {statistics.median(l[0] for l in lat):.0f} us, "
              f"p99 {statistics.median(l[1] for l in lat):.0f} us send to receipt")
    if not a.dir:
        os.rmdir(base)


if __name__ == "__main__":
    main()
