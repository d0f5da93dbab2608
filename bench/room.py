#!/usr/bin/env python3
"""Benchmark: what a private room costs a chat end to end. Two `udpkit chat`
processes on loopback; A sends COUNT messages to B from a script and ends
when every one has its receipt; the CPU time (user + system, both
processes, from wait4) per message and the wall time are compared between
a plain chat and a room (Argon2id at its test cost, so that the join is not
in the per-message figure; bench/room_cost measures the join). Plain and
room rounds are interleaved; medians. Run by `make bench`; the figures go
to bench/README.md and docs/rooms.md by hand.

  bench/room.py --udpkit build/udpkit [--count 5000] [--rounds 3]
"""
import argparse
import os
import re
import statistics
import subprocess
import tempfile
import time


def spawn(udpkit, args, env, stdin):
    argv = [udpkit, "chat", "-b", "127.0.0.1", "-p", "0", "--no-discovery", "--no-history",
            "--line", "--rate-limit", "0"] + args
    return subprocess.Popen(argv, stdin=stdin, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env)


def bound_port(p):
    line = p.stderr.readline().decode()
    m = re.match(r"bound on \S+ (\d+)", line)
    if not m:
        raise SystemExit(f"room bench: no 'bound on' line: {line!r}")
    return int(m.group(1))


def cpu_of(p):
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return ru.ru_utime + ru.ru_stime


def one(udpkit, count, room, passfile):
    env = dict(os.environ, UDPKIT_ROOM_COST="test")
    extra = ["--room", "bench", "--passphrase-file", passfile] if room else []
    b = spawn(udpkit, ["--stay"] + extra, env, subprocess.DEVNULL)
    port = bound_port(b)
    body = "".join(f"message {k} with some words in it, as people write\n"
                   for k in range(count)).encode()
    with tempfile.TemporaryFile() as f:
        f.write(body)
        f.seek(0)
        t0 = time.monotonic()
        a = spawn(udpkit, ["-P", f"127.0.0.1:{port}"] + extra, env, f)
        cpu_a = cpu_of(a)
        wall = time.monotonic() - t0
    err = a.stderr.read().decode()
    b.terminate()
    cpu_b = cpu_of(b)
    if f"{count} sent, {count} delivered" not in err:
        raise SystemExit(f"room bench: not every message delivered: {err}")
    return (cpu_a + cpu_b) / count * 1e6, wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--udpkit", required=True)
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    with tempfile.NamedTemporaryFile("w", delete=False) as f:
        f.write("bench passphrase\n")
        passfile = f.name
    os.chmod(passfile, 0o600)
    res = {False: [], True: []}
    try:
        for _ in range(a.rounds):
            for room in (False, True):
                res[room].append(one(a.udpkit, a.count, room, passfile))
    finally:
        os.unlink(passfile)
    print(f"room benchmark: {a.count} messages A -> B on loopback with receipts, "
          f"{a.rounds} interleaved rounds, medians; CPU = both chats, user + system")
    med = {}
    for room in (False, True):
        cpu = statistics.median(r[0] for r in res[room])
        wall = statistics.median(r[1] for r in res[room])
        med[room] = cpu
        print(f"  {'room ' if room else 'plain'}: {cpu:.1f} us CPU per message "
              f"(rounds: {', '.join(f'{r[0]:.1f}' for r in res[room])}); "
              f"{a.count / wall:,.0f} messages/s delivered")
    print(f"  room / plain CPU per message: {med[True] / med[False]:.2f}x "
          f"(+{med[True] - med[False]:.1f} us)")


if __name__ == "__main__":
    main()
