#!/usr/bin/env python3
"""make bench: udpkit against its peers and against the limit probes, side
by side, on loopback, in one run; writes bench/README.md.

Method (written into bench/README.md with the tables):
- echo servers: each pinned to CPU 0, the load generator (`udpkit bench`,
  closed loop, 64 datagrams of 64 bytes in flight, one flow) to CPU 1;
  rounds: every server once per round, in the same order (A B C D A B ...),
  5 rounds by default (`--rounds`); echoes/s from the client, server CPU
  per echo from /proc/PID/stat (utime+stime over the measured interval /
  echoes); ratios are taken per round (to the recvmmsg probe and to
  `sockperf server` of the same round), then their median and range over
  the rounds are quoted; the bench sends with UDP GSO and reads with
  UDP_GRO, rows marked "plain client" load with --no-gso and are compared
  with the recvmmsg probe under that client; "no GRO" / "no GSO" rows set
  UDPKIT_ECHO_GRO=0 / UDPKIT_ECHO_GSO=0;
- ping-pong RTT p50/p99 with one datagram in flight (`udpkit bench
  --window 1`), client and server on the same core (CPU 0): across cores
  this VM's wake-up between cores (~50 us) would swamp what the servers do;
- the limit probes (bench/probes/): minimal echo loops with nothing but the
  I/O, one with recvmmsg/sendmmsg in batches of 32, one with io_uring
  (multishot recvmsg, provided buffers, a sendmsg per reply): the ceiling
  of each design without GSO;
- sockperf's own `ping-pong` client against `udpkit echo --mode sockperf`
  and against `sockperf server`;
- the load generators against one server (`udpkit echo --mode sockperf`,
  CPU 0; clients on CPU 1), interleaved over the rounds: datagrams sent
  per second and client CPU per datagram sent (getrusage of the client),
  open loop at the maximum rate (`udpkit bench --rate 100M`, with `--io
  uring` and `--io mmsg`, against `sockperf under-load --mps max
  --reply-every 1` and `sockperf throughput --mps max`) and closed loop
  (`udpkit bench --window 1` on both paths against `sockperf ping-pong`,
  both one datagram in flight; `udpkit bench --window 64` beside them, and
  `--io mmsg` with `--no-gso`, the client sending with sendmmsg and
  reading without UDP_GRO);
- workers: `udpkit echo -T 1` and `-T 2` loaded by `udpkit bench --flows 2`
  (two source ports, so SO_REUSEPORT spreads them), the server on CPU 0
  (the cost of a second worker) and unpinned (what two cores give);
- listen: a loopback unicast flood (`udpkit bench --rate 100M`, 64-byte
  datagrams, never broadcast) at `udpkit listen -b 127.0.0.1
  --rate-limit 0 --jitter 0 -J`; replies counted from its NDJSON lines;
- chat: two `udpkit chat` on loopback in line mode (no discovery, no
  history), one sends N lines to the other and exits when every one has
  its receipt; messages per second from exec to exit, CPU of both per
  message;
- memory: VmRSS of `udpkit echo` idle and VmHWM after a loaded round;
  of `udpkit chat` in its terminal UI (under tmux) after 1,000 peers
  joined and 10,000 lines of 100 bytes scrolled in;
- start-up: from exec to the `bound on` line of `udpkit echo -p 0 -q`
  (median of 20, measured by this script through a pipe), with `--io auto`
  and `--io mmsg`, beside `true` from exec to exit, interleaved.
"""
import argparse
import datetime
import json
import os
import platform
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
import harness  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(key + r":\s+(\d+)", f.read()).group(1))


def load():
    return os.getloadavg()[0]


def med(v):
    return statistics.median(v) if v else float("nan")


def rng(v):
    return f"{min(v):.2f}-{max(v):.2f}" if v else "-"


class Server:
    def __init__(self, name, argv, port_from_bound=True, port=None, stdout=None, env=None, cpu="0",
                 client=()):
        self.name = name
        self.client = list(client)  # extra `udpkit bench` arguments for its load
        self.argv = argv
        self.port_from_bound = port_from_bound
        self.port = port
        self.stdout = stdout
        self.env = env
        self.cpu = cpu

    def start(self):
        argv = (["taskset", "-c", self.cpu] if self.cpu else []) + self.argv
        env = dict(os.environ, **(self.env or {}))
        if self.port_from_bound:
            self.proc = subprocess.Popen(argv, stdout=self.stdout or subprocess.DEVNULL,
                                         stderr=subprocess.PIPE, env=env)
            line = b""
            deadline = time.monotonic() + 10
            while b"bound on" not in line and time.monotonic() < deadline:
                line = self.proc.stderr.readline()
            self.port = int(line.split()[3])
        else:
            self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                         env=env)
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
        if self.port_from_bound:
            self.proc.stderr.close()


def run_rusage(argv, timeout=120, **kw):
    """Runs argv to completion; returns (stdout+stderr text, CPU seconds of
    the child, wall seconds)."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)
    out = b""
    try:
        out = p.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
        p.kill()
        out = p.communicate()[0]
    # communicate() reaped it: the children's rusage holds it now.
    return out.decode(errors="replace"), time.monotonic() - t0


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def client(udpkit, port, *args, cpu=1):
    """udpkit bench --json; returns its result and its CPU seconds."""
    c0 = child_cpu()
    out = subprocess.run(["taskset", "-c", str(cpu), udpkit, "bench", "--json", "-q", *args,
                          "127.0.0.1", str(port)], capture_output=True, timeout=120)
    res = json.loads(out.stdout)
    res["cpu_s"] = child_cpu() - c0
    return res


def sockperf_client(mode, port, seconds, *extra, cpu=1):
    c0 = child_cpu()
    text, _ = run_rusage(["taskset", "-c", str(cpu), "sockperf", mode, "-i", "127.0.0.1", "-p",
                          str(port), "-t", str(seconds), "-m", "64", *extra], timeout=120)
    res = {"cpu_s": child_cpu() - c0, "text": text}
    m = re.search(r"\[Valid Duration\] RunTime=([\d.]+) sec; SentMessages=(\d+); ReceivedMessages=(\d+)", text)
    if m:
        res["seconds"], res["sent"], res["received"] = float(m.group(1)), int(m.group(2)), int(m.group(3))
    m = re.search(r"Total of (\d+) messages sent in ([\d.]+) sec", text)  # throughput mode
    if m:
        res["sent"], res["seconds"], res["received"] = int(m.group(1)), float(m.group(2)), 0
        res["total_sent"] = res["sent"]
    m = re.search(r"\[Total Run\] RunTime=([\d.]+) sec; Warm up time=(\d+) msec; SentMessages=(\d+)", text)
    if m:
        res["total_seconds"], res["total_sent"] = float(m.group(1)), int(m.group(3))
    m = re.search(r"Summary: Latency is ([\d.]+) usec", text)
    res["avg_rtt_us"] = 2 * float(m.group(1)) if m else None  # sockperf reports half RTT
    for q in ("50.000", "99.000"):
        m = re.search(r"---> percentile %s = +([\d.]+)" % re.escape(q), text)
        res["p" + q.split(".")[0]] = 2 * float(m.group(1)) if m else None
    res["no_messages"] = "No messages were received" in text
    return res


# ---- the echo servers -------------------------------------------------------

URING_PURE = "udpkit echo --mode pure --io uring"
PROBE = "limit probe: recvmmsg"
PLAIN = ["--no-gso"]  # a client that sends datagram by datagram, reads without UDP_GRO


def echo_servers(udpkit, probes, devnull):
    sp_port = harness.free_udp_port()
    pure = [udpkit, "echo", "-p", "0", "-q", "-m", "pure", "--io", "uring"]
    servers = [
        Server("sockperf server", ["sockperf", "server", "-i", "127.0.0.1", "-p", str(sp_port)],
               port_from_bound=False, port=sp_port),
        Server(URING_PURE, pure),
        Server(URING_PURE + ", no GRO", pure, env={"UDPKIT_ECHO_GRO": "0"}),
        Server(URING_PURE + ", no GSO, no GRO", pure, env={"UDPKIT_ECHO_GSO": "0", "UDPKIT_ECHO_GRO": "0"}),
        Server(URING_PURE + ", plain client", pure, client=PLAIN),
        Server(URING_PURE + ", no GRO, plain client", pure, env={"UDPKIT_ECHO_GRO": "0"}, client=PLAIN),
        Server("udpkit echo --mode pure --io mmsg", [udpkit, "echo", "-p", "0", "-q", "-m", "pure", "--io", "mmsg"]),
        Server("udpkit echo --io uring (stamp, log to /dev/null)", [udpkit, "echo", "-p", "0", "--io", "uring"],
               stdout=devnull),
        Server("udpkit echo --mode sockperf --io uring",
               [udpkit, "echo", "-p", "0", "-q", "-m", "sockperf", "--io", "uring"]),
    ]
    for probe, name, client in (("probe_mmsg", PROBE, ()), ("probe_mmsg", PROBE + ", plain client", PLAIN),
                                ("probe_uring", "limit probe: io_uring", ())):
        path = os.path.join(probes or "", probe)
        if probes and os.access(path, os.X_OK):
            servers.append(Server(name, [path, "0"], client=client))
    return servers


def echo_round(udpkit, servers, seconds, results, rnd):
    for s in servers:
        s.start()
        try:
            c0 = cpu_seconds(s.proc.pid)
            r = client(udpkit, s.port, "-d", str(seconds), "--window", "64", *s.client)
            c1 = cpu_seconds(s.proc.pid)
            hwm = status_kb(s.proc.pid, "VmHWM")
            pp = client(udpkit, s.port, "-d", "1", "--window", "1", cpu=0)
        finally:
            s.stop()
        res = results[s.name]
        res["eps"].append(r["echoes_per_s"])
        res["cpu_us"].append((c1 - c0) * 1e6 / max(r["received"], 1))
        res["p50"].append(pp["latency_us"]["p50"])
        res["p99"].append(pp["latency_us"]["p99"])
        res["hwm_kb"].append(hwm)
        res["lost"] += r["lost"] + pp["lost"]
        print(f"round {rnd + 1} {s.name}: {r['echoes_per_s']:.0f} echoes/s, "
              f"{res['cpu_us'][-1]:.2f} us CPU/echo, ping-pong p50 {pp['latency_us']['p50']:.1f} us",
              flush=True)


# ---- the load generators ----------------------------------------------------

UB = "udpkit bench --io uring --rate 100M (open loop, max)"
UBM = "udpkit bench --io mmsg --rate 100M (open loop, max)"
SU = "sockperf under-load --mps max --reply-every 1"
ST = "sockperf throughput --mps max (no replies)"
UW = "udpkit bench --io uring --window 1 (closed loop)"
UWM = "udpkit bench --io mmsg --window 1 (closed loop)"
SP = "sockperf ping-pong (closed loop, 1 in flight)"
UW64 = "udpkit bench --io uring --window 64 (closed loop)"
UW64M = "udpkit bench --io mmsg --window 64 (closed loop)"


def generator_round(udpkit, seconds, gen):
    """One round of every load generator against one udpkit echo --mode
    sockperf (a fresh server per client, so none inherits a backlog)."""
    srv = Server("target", [udpkit, "echo", "-p", "0", "-q", "-m", "sockperf", "--io", "uring"])
    cases = [
        (UB, "udpkit", ["--io", "uring", "--rate", "100000000"]),
        (UBM, "udpkit", ["--io", "mmsg", "--rate", "100000000"]),
        (SU, "sockperf", ["under-load", "--mps", "max", "--reply-every", "1"]),
        (ST, "sockperf", ["throughput", "--mps", "max"]),
        (UW, "udpkit", ["--io", "uring", "--window", "1"]),
        (UWM, "udpkit", ["--io", "mmsg", "--window", "1"]),
        (SP, "sockperf", ["ping-pong"]),
        (UW64, "udpkit", ["--io", "uring", "--window", "64"]),
        (UW64M, "udpkit", ["--io", "mmsg", "--window", "64"]),
        ("udpkit bench --io mmsg --window 64 --no-gso (closed loop)", "udpkit", ["--io", "mmsg", "--window", "64", "--no-gso"]),
        ("udpkit bench --io mmsg --rate 100M --no-gso", "udpkit", ["--io", "mmsg", "--rate", "100000000", "--no-gso"]),
    ]
    for name, kind, args in cases:
        srv.start()
        try:
            if kind == "udpkit":
                r = client(udpkit, srv.port, "-d", str(seconds), *args)
                sent, received, secs = r["sent"], r["received"], r["seconds"]
                cpu = r["cpu_s"]
            else:
                r = sockperf_client(args[0], srv.port, seconds, *args[1:])
                if "sent" not in r:
                    print(f"generator {name}: no result", flush=True)
                    continue
                # Its CPU covers the whole run (warm-up included): per
                # datagram over everything it sent.
                sent, received, secs = r["sent"], r["received"], r["seconds"]
                cpu = r["cpu_s"] * sent / max(r.get("total_sent", sent), 1)
        finally:
            srv.stop()
        g = gen.setdefault(name, {"sent_ps": [], "recv_ps": [], "cpu_us": []})
        g["sent_ps"].append(sent / secs)
        g["recv_ps"].append(received / secs)
        g["cpu_us"].append(cpu * 1e6 / max(sent, 1))
        print(f"generator {name}: {sent / secs:.0f} sent/s, {received / secs:.0f} received/s, "
              f"{g['cpu_us'][-1]:.2f} us client CPU per datagram", flush=True)


# ---- workers -----------------------------------------------------------------

def workers_round(udpkit, seconds, wk):
    for threads in ("1", "2"):
        for pin in ("0", None):
            name = f"-T {threads}, server {'on CPU 0' if pin else 'unpinned'}"
            s = Server(name, [udpkit, "echo", "-p", "0", "-q", "-m", "pure", "--io", "uring", "-T", threads],
                       cpu=pin)
            s.start()
            try:
                c0 = cpu_seconds(s.proc.pid)
                r = client(udpkit, s.port, "-d", str(seconds), "--window", "64", "--flows", "2",
                           cpu=("1" if pin else "0,1"))
                c1 = cpu_seconds(s.proc.pid)
            finally:
                s.stop()
            w = wk.setdefault(name, {"eps": [], "cpu_us": [], "client_us": []})
            w["eps"].append(r["echoes_per_s"])
            w["cpu_us"].append((c1 - c0) * 1e6 / max(r["received"], 1))
            w["client_us"].append(r["cpu_s"] * 1e6 / max(r["received"], 1))
            print(f"workers {name}: {r['echoes_per_s']:.0f} echoes/s, {w['cpu_us'][-1]:.2f} us server CPU/echo",
                  flush=True)


# ---- the rest ----------------------------------------------------------------

def listen_flood(udpkit, seconds):
    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen(["taskset", "-c", "0", udpkit, "listen", "-b", "127.0.0.1", "-p", "0", "-J",
                              "--rate-limit", "0", "--jitter", "0"], stdout=out, stderr=subprocess.PIPE)
        line = b""
        while b"bound on" not in line:
            line = p.stderr.readline()
            if not line:
                return None
        port = int(line.split()[3])
        try:
            c0 = cpu_seconds(p.pid)
            r = client(udpkit, port, "-d", str(seconds), "--rate", "100000000", "-W", "0.1")
            c1 = cpu_seconds(p.pid)
        finally:
            p.terminate()
            p.wait(10)
            p.stderr.close()
        out.seek(0)
        lines = out.read().count(b"\n")
        out.seek(0)
        replied = out.read().count(b'"outcome":"replied"')
    return {"sent_ps": r["sent"] / r["seconds"], "received": lines, "replied": replied,
            "replies_ps": replied / r["seconds"], "cpu_us": (c1 - c0) * 1e6 / max(lines, 1),
            "sent": r["sent"]}


def chat_pair(udpkit, n):
    bob = subprocess.Popen([udpkit, "chat", "-b", "127.0.0.1", "-p", "0", "-n", "bob", "--no-discovery",
                            "--no-history", "--rate-limit", "0", "--line", "--stay"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    line = b""
    while b"bound on" not in line:
        line = bob.stderr.readline()
        if not line:
            return None
    port = int(line.split()[3])
    lines = "".join(f"message {i} " + "x" * 40 + "\n" for i in range(n)).encode()
    try:
        b0 = cpu_seconds(bob.pid)
        c0 = child_cpu()
        t0 = time.monotonic()
        a = subprocess.run([udpkit, "chat", "-b", "127.0.0.1", "-p", "0", "-n", "alice", "--no-discovery",
                            "--no-history", "--line", "-P", f"127.0.0.1:{port}"], input=lines,
                           capture_output=True, timeout=300)
        wall = time.monotonic() - t0
        a_cpu = child_cpu() - c0
        b_cpu = cpu_seconds(bob.pid) - b0
    finally:
        bob.terminate()
        bob.wait(10)
        bob.stderr.close()
    delivered = sum(1 for line in a.stdout.split(b"\n") if line.startswith(b"delivered\t"))
    return {"n": n, "delivered": delivered, "wall": wall, "per_s": delivered / wall,
            "a_us": a_cpu * 1e6 / max(delivered, 1), "b_us": b_cpu * 1e6 / max(delivered, 1),
            "rc": a.returncode}


def echo_idle_rss(udpkit):
    """VmRSS, and the process's own part of it (RssAnon: the rest is the
    shared libraries' pages, shared with every process that maps them)."""
    out = {}
    for io in ("uring", "mmsg"):
        s = Server(io, [udpkit, "echo", "-p", "0", "-q", "--io", io])
        s.start()
        try:
            out[io] = status_kb(s.proc.pid, "VmRSS")
            out[io + "_anon"] = status_kb(s.proc.pid, "RssAnon")
        finally:
            s.stop()
    return out


def startup(udpkit, n=20):
    """ms from exec to `bound on`, for --io auto and --io mmsg, and of
    /bin/true to exit (the cost of starting any program from here),
    interleaved."""
    times = {"auto": [], "mmsg": [], "true": []}
    for _ in range(n):
        for io in ("auto", "mmsg"):
            t0 = time.perf_counter()
            p = subprocess.Popen([udpkit, "echo", "-p", "0", "-q", "--io", io], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE)
            line = b""
            while b"bound on" not in line:
                line = p.stderr.readline()
                if not line:
                    break
            times[io].append((time.perf_counter() - t0) * 1e3)
            p.terminate()
            p.wait(10)
            p.stderr.close()
        t0 = time.perf_counter()
        subprocess.run(["true"])
        times["true"].append((time.perf_counter() - t0) * 1e3)
    return times


def ipmsg(no, cmd, extra=b""):
    return b"1:%d:peer:host:%d:%s" % (no, cmd, extra)


def chat_memory(udpkit, peers=1000, lines=10000):
    """udpkit chat's terminal UI under tmux: RSS after `peers` peers joined
    (IPMsg BR_ENTRY from as many sockets) and `lines` messages of 100 bytes
    (closed loop on the receipts, so none is dropped)."""
    tmux = shutil.which("tmux")
    if not tmux:
        return None
    tmp = tempfile.mkdtemp()
    sock = os.path.join(tmp, "tmux")
    err = os.path.join(tmp, "err")
    cmd = (f"exec env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm {udpkit} chat -b 127.0.0.1 -p 0 -n alice "
           f"--no-discovery --no-history --rate-limit 0 2>{err}")
    subprocess.run([tmux, "-S", sock, "new-session", "-d", "-x", "120", "-y", "40", cmd], check=True)
    try:
        port = None
        deadline = time.monotonic() + 20
        while port is None and time.monotonic() < deadline:
            if os.path.exists(err):
                m = re.search(r"bound on \S+ (\d+)", open(err, errors="replace").read())
                if m:
                    port = int(m.group(1))
            time.sleep(0.05)
        pid = int(subprocess.run([tmux, "-S", sock, "display-message", "-p", "#{pane_pid}"],
                                 capture_output=True, text=True).stdout.strip())
        before = status_kb(pid, "VmRSS")
        socks = []
        for i in range(peers):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            s.sendto(ipmsg(i + 1, 0x1, b"peer%d\0" % i), ("127.0.0.1", port))  # BR_ENTRY
            socks.append(s)
            if i % 100 == 99:
                time.sleep(0.05)  # let the chat read them; not a measurement
        time.sleep(1)
        after_peers = status_kb(pid, "VmRSS")
        for s in socks[1:]:
            s.close()
        f = socks[0]
        f.settimeout(10)
        sent = got = 0
        no = 100000
        text = b"y" * 100
        try:
            while got < lines:
                while sent < lines and sent - got < 32:
                    no += 1
                    f.sendto(ipmsg(no, 0x20 | 0x100, text + b"\0"), ("127.0.0.1", port))
                    sent += 1
                if b":%d:" % 0x21 in f.recv(65536):
                    got += 1
        except OSError:
            pass
        f.close()
        time.sleep(0.5)
        after = status_kb(pid, "VmRSS")
        hwm = status_kb(pid, "VmHWM")
        return {"before": before, "peers": after_peers, "after": after, "hwm": hwm, "lines": got}
    finally:
        subprocess.run([tmux, "-S", sock, "kill-server"], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


# ---- the report --------------------------------------------------------------

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
    load0 = load()
    started = time.monotonic()
    servers = echo_servers(udpkit, a.probes, devnull)
    results = {s.name: {"eps": [], "cpu_us": [], "p50": [], "p99": [], "hwm_kb": [], "lost": 0} for s in servers}
    gen, wk = {}, {}
    for rnd in range(a.rounds):
        echo_round(udpkit, servers, a.seconds, results, rnd)
        generator_round(udpkit, min(a.seconds, 2.0), gen)
        workers_round(udpkit, min(a.seconds, 2.0), wk)
    # sockperf's own client against both sockperf-speaking servers.
    sp_client = {}
    for s in (x for x in servers if x.name in ("sockperf server", "udpkit echo --mode sockperf --io uring")):
        s.start()
        try:
            sp_client[s.name] = sockperf_client("ping-pong", s.port, 2, cpu=0)
        finally:
            s.stop()
    lflood = listen_flood(udpkit, a.seconds)
    chat = chat_pair(udpkit, 20000)
    idle = echo_idle_rss(udpkit)
    boot = startup(udpkit)
    cmem = chat_memory(udpkit)
    load1 = load()
    minutes = (time.monotonic() - started) / 60

    uring_pure = URING_PURE
    base_name, probe_name = "sockperf server", PROBE
    has_probe = probe_name in results
    ratio = {}  # per-round ratios
    for n, r in results.items():
        b = results[base_name]
        ratio[n] = {"cpu_sp": [c / bc for c, bc in zip(r["cpu_us"], b["cpu_us"])],
                    "p50_sp": [c / bc for c, bc in zip(r["p50"], b["p50"])],
                    "eps_sp": [c / bc for c, bc in zip(r["eps"], b["eps"])]}
        if has_probe:
            # Against the probe loaded by the same client.
            pr = results[probe_name + (", plain client" if n.endswith(", plain client") else "")]
            ratio[n]["cpu_probe"] = [c / pc for c, pc in zip(r["cpu_us"], pr["cpu_us"])]
    md = {n: {k: med(v) for k, v in r.items() if k != "lost"} for n, r in results.items()}

    lines = [f"Latest run: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}, "
             f"{platform.node() or 'host'}, kernel {platform.release()}, {os.cpu_count()} cores; "
             f"{a.rounds} interleaved rounds; load average {load0:.1f} at the start, {load1:.1f} at the end "
             f"(the machine was shared); {minutes:.1f} minutes.", ""]
    lines += ["### Echo servers",
              "",
              f"Closed loop, 64 in flight, {a.seconds:g} s per server per round; medians over the rounds; "
              "ratios per round, median [range]. The client (`udpkit bench`) sends each batch of probes as "
              "one UDP GSO send and reads with UDP_GRO; rows marked *plain client* load with `--no-gso` "
              "(datagram by datagram, both ways), and their CPU is compared with the recvmmsg probe under "
              "the same plain client. *no GRO*: `UDPKIT_ECHO_GRO=0`; *no GSO*: `UDPKIT_ECHO_GSO=0`.", "",
              "| server | echoes/s | server CPU µs/echo | CPU vs recvmmsg probe | CPU vs sockperf server | "
              "ping-pong p50 µs | p50 vs sockperf server | p99 µs | peak RSS kB | lost |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for n in results:
        m, q = md[n], ratio[n]
        cp = f"{med(q['cpu_probe']):.2f}x [{rng(q['cpu_probe'])}]" if has_probe else "-"
        lines.append(f"| {n} | {m['eps']:,.0f} | {m['cpu_us']:.2f} | {cp} | {med(q['cpu_sp']):.2f}x [{rng(q['cpu_sp'])}] | "
                     f"{m['p50']:.1f} | {med(q['p50_sp']):.2f}x [{rng(q['p50_sp'])}] | {m['p99']:.1f} | "
                     f"{m['hwm_kb']:,.0f} | {results[n]['lost']} |")
    lines.append("")
    lines.append("Targets (issue 12):")
    up = ratio[uring_pure]
    if has_probe:
        v = med(up["cpu_probe"])
        lines.append(f"- `--io uring` pure: server CPU per echo <= 0.85x the recvmmsg probe: {v:.2f}x "
                     f"[{rng(up['cpu_probe'])}], {'met' if v <= 0.85 else 'NOT met'}")
        for what, n in (("plain client (issue 12's case as first measured)", ", plain client"),
                        ("without GRO", ", no GRO"), ("without GRO, plain client", ", no GRO, plain client"),
                        ("without GSO or GRO", ", no GSO, no GRO")):
            q = ratio[uring_pure + n]["cpu_probe"]
            v = med(q)
            lines.append(f"  - {what}: {v:.2f}x [{rng(q)}], {'met' if v <= 0.85 else 'NOT met'}")
        lines.append(f"  - the io_uring probe: "
                     f"{med(ratio.get('limit probe: io_uring', {}).get('cpu_probe', [float('nan')])):.2f}x")
        g = [a / b for a, b in zip(results[uring_pure]["cpu_us"], results[uring_pure + ", no GRO"]["cpu_us"])]
        gp = [a / b for a, b in zip(results[uring_pure + ", plain client"]["cpu_us"],
                                    results[uring_pure + ", no GRO, plain client"]["cpu_us"])]
        lines.append(f"- UDP_GRO on the worker's receive, server CPU per echo with/without: {med(g):.2f}x "
                     f"[{rng(g)}] under the GSO client, {med(gp):.2f}x [{rng(gp)}] under the plain client")
    v = med(up["p50_sp"])
    lines.append(f"- `--io uring` pure: ping-pong p50 <= 1.00x `sockperf server`: {v:.2f}x [{rng(up['p50_sp'])}], "
                 f"{'met' if v <= 1.0 else 'NOT met'}")
    mm = ratio["udpkit echo --mode pure --io mmsg"]["p50_sp"]
    lines.append(f"  (`--io mmsg` pure: {med(mm):.2f}x [{rng(mm)}])")
    lines.append("")
    lines.append("sockperf's own `ping-pong` client, same core (RTT = 2 x its reported one-way latency):")
    for n, r in sp_client.items():
        if r["no_messages"] or r["avg_rtt_us"] is None:
            lines.append(f"- {n}: no result (sockperf received no replies)")
        else:
            lines.append(f"- {n}: avg RTT {r['avg_rtt_us']:.1f} µs, p50 {r['p50']:.1f} µs, p99 {r['p99']:.1f} µs")

    lines += ["", "### Load generators", "",
              "Against `udpkit echo --mode sockperf --io uring` on CPU 0, the client on CPU 1; medians over the rounds.",
              "", "| client | sent/s | echoes received/s | client CPU µs per datagram sent |", "|---|---|---|---|"]
    for n, g in gen.items():
        lines.append(f"| {n} | {med(g['sent_ps']):,.0f} | {med(g['recv_ps']):,.0f} | {med(g['cpu_us']):.2f} |")

    def gratio(x, y, key):
        if x in gen and y in gen:
            v = [p / q for p, q in zip(gen[x][key], gen[y][key])]
            return f"{med(v):.2f}x [{rng(v)}]"
        return "n/a"
    lines += ["", "Ratios (udpkit bench / sockperf, per round):"]
    for io, ub, uw in (("uring", UB, UW), ("mmsg", UBM, UWM)):
        lines += [f"- `--io {io}`, open loop at max rate vs `under-load`: sent/s {gratio(ub, SU, 'sent_ps')}, "
                  f"client CPU per datagram {gratio(ub, SU, 'cpu_us')}",
                  f"- `--io {io}`, open loop at max rate vs `throughput`: sent/s {gratio(ub, ST, 'sent_ps')}, "
                  f"client CPU per datagram {gratio(ub, ST, 'cpu_us')}",
                  f"- `--io {io}`, closed loop, one in flight, vs `ping-pong`: datagrams/s {gratio(uw, SP, 'sent_ps')}, "
                  f"client CPU per datagram {gratio(uw, SP, 'cpu_us')}"]
    lines += [f"- io_uring against recvmmsg in the client: open loop at max rate sent/s {gratio(UB, UBM, 'sent_ps')}, "
              f"CPU per datagram {gratio(UB, UBM, 'cpu_us')}; closed loop 64 in flight CPU per datagram "
              f"{gratio(UW64, UW64M, 'cpu_us')}; one in flight datagrams/s {gratio(UW, UWM, 'sent_ps')}",
              f"- GSO sends in the client (`--io mmsg`), closed loop 64 in flight: client CPU per datagram "
              f"{gratio(UW64M, 'udpkit bench --io mmsg --window 64 --no-gso (closed loop)', 'cpu_us')}"
              f" of sendmmsg's; open loop at max rate: sent/s "
              f"{gratio(UBM, 'udpkit bench --io mmsg --rate 100M --no-gso', 'sent_ps')}"]

    lines += ["", "### Workers (`-T`, SO_REUSEPORT), 2 client flows", "",
              "| server | echoes/s | server CPU µs/echo | client CPU µs/echo |", "|---|---|---|---|"]
    for n, w in wk.items():
        lines.append(f"| {n} | {med(w['eps']):,.0f} | {med(w['cpu_us']):.2f} | {med(w['client_us']):.2f} |")

    lines += ["", "### The rest of udpkit", ""]
    if lflood:
        lines.append(f"- `udpkit listen` under a loopback unicast flood ({lflood['sent_ps']:,.0f} datagrams/s offered "
                     f"by `udpkit bench --rate 100M`): {lflood['received']:,} received, {lflood['replies_ps']:,.0f} "
                     f"replies/s, {lflood['cpu_us']:.2f} µs CPU per datagram (NDJSON line per datagram to a file); "
                     f"the rest of the flood was dropped by the kernel's full socket buffer")
    if chat:
        lines.append(f"- `udpkit chat` to `udpkit chat` on loopback, line mode, with receipts: {chat['delivered']:,} "
                     f"of {chat['n']:,} messages delivered in {chat['wall']:.2f} s from exec to exit = "
                     f"{chat['per_s']:,.0f} messages/s; CPU per message: sender {chat['a_us']:.1f} µs, "
                     f"receiver {chat['b_us']:.1f} µs")
    lines.append(f"- `udpkit echo` idle RSS: {idle['uring']:,} kB (--io uring; its own anonymous memory "
                 f"{idle['uring_anon']:,} kB, the rest shared libraries' pages), {idle['mmsg']:,} kB "
                 f"(--io mmsg; own {idle['mmsg_anon']:,} kB); "
                 f"peak RSS after a loaded round: {md[uring_pure]['hwm_kb']:,.0f} kB (uring, pure), "
                 f"{md['udpkit echo --mode pure --io mmsg']['hwm_kb']:,.0f} kB (mmsg); target < 4096 kB: "
                 f"{'met' if max(idle['uring'], md[uring_pure]['hwm_kb']) < 4096 else 'NOT met'}")
    if cmem:
        lines.append(f"- `udpkit chat` (terminal UI under tmux) RSS: {cmem['before']:,} kB at start, "
                     f"{cmem['peers']:,} kB with 1,000 peers, {cmem['after']:,} kB after {cmem['lines']:,} lines "
                     f"of scrollback (peak {cmem['hwm']:,} kB); target < 16384 kB: "
                     f"{'met' if cmem['hwm'] < 16384 else 'NOT met'}")
    b = boot["auto"]
    lines.append(f"- start-up, exec to `bound on` (`udpkit echo -p 0 -q`, auto picks io_uring): median "
                 f"{med(b):.2f} ms [{min(b):.2f}-{max(b):.2f}] over {len(b)}; with `--io mmsg` "
                 f"{med(boot['mmsg']):.2f} ms; `true` from exec to exit {med(boot['true']):.2f} ms "
                 f"(starting any program from here); target < 5 ms: {'met' if med(b) < 5 else 'NOT met'}")
    report = "\n".join(lines)
    print()
    print(report)
    if a.out:
        # The head (method, findings) is kept by hand, and so are the
        # sections other benchmarks keep (from "## Other benchmarks" on):
        # only "## Latest results" is rewritten.
        old = open(a.out, encoding="utf-8").read() if os.path.exists(a.out) else ""
        head = old.split("## Latest results")[0] if "## Latest results" in old else old
        kept = ""
        if "\n## Other benchmarks\n" in old:
            kept = "\n" + old[old.index("\n## Other benchmarks\n") + 1:]
        with open(a.out, "w", encoding="utf-8") as f:
            f.write(head + "## Latest results\n\n" + report + "\n" + kept)
        print(f"\nwritten to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
