#!/usr/bin/env python3
"""make bench: udpkit echo (pure, stamp, sockperf modes) against
`sockperf server`, side by side, on loopback, in one interleaved run.

Method (written into bench/README.md with the table):
- each server is pinned to CPU 0, the load generator (`udpkit bench`,
  closed loop, 64 datagrams of 64 bytes in flight) to CPU 1;
- rounds: every server once per round, in the same order (A B C D A B ...),
  5 rounds by default (`--rounds`); medians over rounds; ratios to sockperf server from the
  same run;
- echoes/s from the client, server CPU per echo from /proc/PID/stat
  (utime+stime delta over the measured interval / echoes);
- ping-pong RTT p50/p99 with one datagram in flight (`udpkit bench -w 1`),
  client and server on the same core (CPU 0): across cores this VM's
  wake-up between cores (~50 us) would swamp what the servers do;
- sockperf's own `ping-pong` client against `udpkit echo --mode sockperf`
  and against `sockperf server`;
- the limit probes (bench/probes/): minimal echo loops with nothing but the
  I/O, one with recvmmsg/sendmmsg in batches of 32, one with io_uring
  (multishot recvmsg, provided buffers): the ceiling of each design,
  measured in the same rounds; the last column is the server CPU per echo
  as a ratio to the recvmmsg probe.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
import harness  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class Server:
    def __init__(self, name, argv, port_from_bound=True, port=None, stdout=None):
        self.name = name
        self.argv = argv
        self.port_from_bound = port_from_bound
        self.port = port
        self.stdout = stdout

    def start(self):
        argv = ["taskset", "-c", "0"] + self.argv
        if self.port_from_bound:
            self.proc = subprocess.Popen(argv, stdout=self.stdout or subprocess.DEVNULL,
                                         stderr=subprocess.PIPE)
            line = b""
            deadline = time.monotonic() + 10
            while b"bound on" not in line and time.monotonic() < deadline:
                line = self.proc.stderr.readline()
            self.port = int(line.split()[3])
        else:
            self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if b"using" in self.proc.stdout.readline():
                    break
            self.proc.stdout.close()
        # Let the server settle (sockperf's warm-up stage) before measuring.
        time.sleep(0.3)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def client(udpkit, port, *args, cpu=1):
    out = subprocess.run(["taskset", "-c", str(cpu), udpkit, "bench", "--json", "-q", *args,
                          "127.0.0.1", str(port)], capture_output=True, timeout=120)
    return json.loads(out.stdout)


def sockperf_pingpong(port, seconds):
    out = subprocess.run(["taskset", "-c", "0", "sockperf", "ping-pong", "-i", "127.0.0.1", "-p",
                          str(port), "-t", str(seconds)], capture_output=True, timeout=120,
                         text=True, errors="replace")
    text = out.stdout + out.stderr
    res = {}
    m = re.search(r"Summary: Latency is ([\d.]+) usec", text)
    res["avg_rtt_us"] = 2 * float(m.group(1)) if m else None  # sockperf reports half RTT
    for q in ("50.000", "99.000"):
        m = re.search(r"---> percentile %s = +([\d.]+)" % re.escape(q), text)
        res["p" + q.split(".")[0]] = 2 * float(m.group(1)) if m else None
    res["no_messages"] = "No messages were received" in text
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--udpkit", required=True)
    ap.add_argument("--out", default=os.path.join(HERE, "README.md"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--probes", default=None, help="directory of the built limit probes")
    a = ap.parse_args()
    udpkit = os.path.abspath(a.udpkit)
    if not shutil.which("sockperf"):
        print("bench: sockperf is not installed (Debian package sockperf; run 'make deps')")
        return 1
    if os.cpu_count() < 2:
        print("bench: needs two cores (server and client pinned apart)")
        return 1
    devnull = open(os.devnull, "wb")
    sp_port = harness.free_udp_port()
    servers = [
        Server("sockperf server", ["sockperf", "server", "-i", "127.0.0.1", "-p", str(sp_port)],
               port_from_bound=False, port=sp_port),
        Server("udpkit echo --mode pure", [udpkit, "echo", "-p", "0", "-q", "-m", "pure"]),
        Server("udpkit echo (stamp, log to /dev/null)", [udpkit, "echo", "-p", "0"], stdout=devnull),
        Server("udpkit echo --mode sockperf", [udpkit, "echo", "-p", "0", "-q", "-m", "sockperf"]),
    ]
    for probe, name in (("probe_mmsg", "limit probe: recvmmsg"), ("probe_uring", "limit probe: io_uring")):
        path = os.path.join(a.probes or "", probe)
        if a.probes and os.access(path, os.X_OK):
            servers.append(Server(name, [path, "0"]))
    tutorial = os.path.join(harness.TUTORIAL_PY, "server.py")
    results = {s.name: {"eps": [], "cpu_us": [], "p50": [], "p99": [], "lost": 0} for s in servers}
    for rnd in range(a.rounds):
        for s in servers:
            s.start()
            try:
                c0 = cpu_seconds(s.proc.pid)
                r = client(udpkit, s.port, "-d", str(a.seconds), "-w", "64")
                c1 = cpu_seconds(s.proc.pid)
                pp = client(udpkit, s.port, "-d", "1", "-w", "1", cpu=0)
            finally:
                s.stop()
            res = results[s.name]
            res["eps"].append(r["echoes_per_s"])
            res["cpu_us"].append((c1 - c0) * 1e6 / max(r["received"], 1))
            res["p50"].append(pp["latency_us"]["p50"])
            res["p99"].append(pp["latency_us"]["p99"])
            res["lost"] += r["lost"] + pp["lost"]
            print(f"round {rnd + 1} {s.name}: {r['echoes_per_s']:.0f} echoes/s, "
                  f"{res['cpu_us'][-1]:.2f} us CPU/echo, ping-pong p50 {pp['latency_us']['p50']:.1f} us",
                  flush=True)
    # The tutorial's Python server, once, for scale (not part of the targets).
    tut = None
    if os.path.exists(tutorial):
        port = harness.free_udp_port()
        env = dict(os.environ, TUTORIAL_PORT=str(port))
        p = subprocess.Popen(["taskset", "-c", "0", harness.python3(), tutorial], env=env,
                             stdout=devnull, stderr=devnull)
        time.sleep(0.5)
        try:
            c0 = cpu_seconds(p.pid)
            r = client(udpkit, port, "-d", str(a.seconds), "-w", "64")
            c1 = cpu_seconds(p.pid)
            tut = (r["echoes_per_s"], (c1 - c0) * 1e6 / max(r["received"], 1))
        finally:
            p.terminate()
            p.wait(10)
    # sockperf's own client against both sockperf-speaking servers.
    sp_client = {}
    for s in (servers[0], servers[3]):
        s.start()
        try:
            sp_client[s.name] = sockperf_pingpong(s.port, 2)
        finally:
            s.stop()

    med = {n: {k: statistics.median(v) for k, v in r.items() if k != "lost"} for n, r in results.items()}
    base = med["sockperf server"]
    probe = med.get("limit probe: recvmmsg")
    rows = []
    for n in results:
        m = med[n]
        rows.append(f"| {n} | {m['eps']:,.0f} | {m['eps'] / base['eps']:.2f}x | {m['cpu_us']:.2f} | "
                    f"{m['cpu_us'] / base['cpu_us']:.2f}x | {m['p50']:.1f} | {m['p50'] / base['p50']:.2f}x | "
                    f"{m['p99']:.1f} | {m['p99'] / base['p99']:.2f}x | {results[n]['lost']} |"
                    + (f" {m['cpu_us'] / probe['cpu_us']:.2f}x |" if probe else ""))
    pure, stamp = med["udpkit echo --mode pure"], med["udpkit echo (stamp, log to /dev/null)"]
    targets = [
        ("pure: CPU per echo <= 0.95x sockperf server", pure["cpu_us"] / base["cpu_us"], pure["cpu_us"] / base["cpu_us"] <= 0.95),
        ("pure: echoes/s >= 1.0x sockperf server", pure["eps"] / base["eps"], pure["eps"] / base["eps"] >= 1.0),
        ("stamp: CPU per echo <= 1.15x pure", stamp["cpu_us"] / pure["cpu_us"], stamp["cpu_us"] / pure["cpu_us"] <= 1.15),
        ("pure: ping-pong p50 <= 1.0x sockperf server", pure["p50"] / base["p50"], pure["p50"] / base["p50"] <= 1.0),
    ]
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    table = ["| server | echoes/s | ratio | server CPU µs/echo | ratio | ping-pong p50 µs | ratio | p99 µs | ratio | lost |"
             + (" CPU vs recvmmsg probe |" if probe else ""),
             "|---|---|---|---|---|---|---|---|---|---|" + ("---|" if probe else "")] + rows
    lines = [f"Latest run: {now}, {platform.node() or 'host'}, kernel {platform.release()}, "
             f"{os.cpu_count()} cores; {a.rounds} interleaved rounds of {a.seconds:g} s; medians; "
             "ratios to `sockperf server` in the same run.", ""] + table + [""]
    lines.append("Targets:")
    lines += [f"- {t}: {v:.2f}x, {'met' if ok else 'NOT met'}" for t, v, ok in targets]
    if tut:
        lines.append(f"- for scale, the tutorial's Python server (output to /dev/null): {tut[0]:,.0f} echoes/s, "
                     f"{tut[1]:.2f} µs CPU per echo = {tut[1] / pure['cpu_us']:.2f}x pure mode")
    lines.append("")
    lines.append("sockperf's own `ping-pong` client (RTT = 2 x its reported one-way latency):")
    for n, r in sp_client.items():
        if r["no_messages"] or r["avg_rtt_us"] is None:
            lines.append(f"- {n}: no result (sockperf received no replies)")
        else:
            lines.append(f"- {n}: avg RTT {r['avg_rtt_us']:.1f} µs, p50 {r['p50']:.1f} µs, p99 {r['p99']:.1f} µs")
    report = "\n".join(lines)
    print()
    print(report)

    # Sections other benchmarks keep by hand (from "## Other benchmarks" on)
    # survive this rewrite.
    kept = ""
    if os.path.exists(a.out):
        old = open(a.out, encoding="utf-8").read()
        if "\n## Other benchmarks\n" in old:
            kept = "\n" + old[old.index("\n## Other benchmarks\n") + 1:]
    with open(a.out, "w") as f:
        f.write("# Benchmarks\n\n`make bench` measures `udpkit echo` against `sockperf server` on loopback.\n\n")
        f.write("## Method\n\n" + __doc__.split("\n", 4)[4].strip() + "\n\n")
        f.write("Server CPU per echo is what tells fast servers apart: near the ceiling the client "
                "needs a whole core, so echoes/s bunch together. The machine is shared and noisy; "
                "ratios drift by about ±15% between runs, which is why the servers are interleaved "
                "and medians are quoted.\n\n")
        f.write("## Findings behind the design\n\n"
                "- recvmmsg/sendmmsg cost about 1.2 µs more per ping-pong round trip than "
                "recvfrom/sendto (a minimal C server: 12.5 vs 11.3 µs p50), so the echo worker "
                "answers sparse traffic one datagram per call and switches to batches under load "
                "(docs/design.md).\n"
                "- In a ping-pong, user space is about 4% of the server's time (perf); the rest "
                "is the kernel's UDP path and the context switches. The remaining ping-pong gap "
                "to `sockperf server` (0.3-0.5 µs) is on the kernel side and was not found.\n"
                "- Across cores this VM's wake-up costs about 50 µs per round trip (sockperf's "
                "own client pinned across cores: 26 µs one way), so ping-pong is measured on one "
                "core.\n"
                "- glibc's ctime() re-reads /etc/localtime on every call; the stamp is formatted "
                "once per second. Escaping log lines byte by byte with snprintf cost 30% more CPU "
                "per echo in stamp mode; runs of plain ASCII are now copied at once.\n\n")
        f.write("## Latest results\n\n" + report + "\n" + kept)
    print(f"\nwritten to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
