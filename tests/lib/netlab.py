"""A private virtual LAN in network namespaces, for tests that broadcast or
multicast (see ../shared/reference/netlab.md for why each step is there).

    with Lab(hosts=3) as lab:                     # SkipTest if not root
        p = lab.popen(2, [BIN, "listen"])         # a harness.Proc inside host 2
        r = lab.run(1, [BIN, "broadcast", "hi"], timeout=10)
        lab.loss(2, 20); lab.dup(3, 10); lab.clear(2)   # % of frames, "to" host
        lab.cut(3); lab.heal(3)                   # bridge port off / on

Names: lab.ns(i) (0 is the switch), lab.addr(i) "10.77.0.i", lab.ll(i)
"fe80::77:ff:fe00:i", lab.mac(i), lab.broadcast "10.77.0.255"; lab.ip(i,
...) runs `ip -n`. The prefix P is ulab<pid>n<counter>, unique per lab.

Topology: a switch namespace <P>-sw holding bridge br0 (STP off, multicast
snooping off, IPv6 off) and one veth per host; host namespaces <P>-h1..hN
with lan0 = 10.77.0.N/24 brd +, MAC 02:77:00:00:00:0N, hence link-local
fe80::77:ff:fe00:N (DAD off), routes for 255.255.255.255/32 and 224.0.0.0/4,
and no default route, so nothing can leave the lab. The root namespace is
never given an interface, route or address.

Teardown (on exit, also when the test fails): the processes in each
namespace (by PID, from `ip netns pids`: TERM, then KILL), then the
namespace. gc() removes labs left by killed runs whose owner is dead.
root_tx_packets() and assert_root_tx_unchanged(before), or the RootTxGuard
context manager, check that no root-namespace interface but lo sent a
packet meanwhile."""
import itertools
import os
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

RUN_DIR = "/run/netlab"      # shared with the reference script's gc
PREFIX = "ulab"
_counter = itertools.count(1)


def _ip(*args, check=True, timeout=10):
    r = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {r.stderr.strip()}")
    return r


def _sh(argv, check=True, timeout=10):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {r.stderr.strip()}")
    return r


def _start_time(pid):
    """The process's start time in clock ticks (field 22 of /proc/PID/stat),
    so a recycled PID is not mistaken for a live owner."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _kill_ns_procs(ns, grace=1.0):
    """Ends every process inside namespace ns, by PID: TERM, then KILL."""
    r = _ip("netns", "pids", ns, check=False)
    pids = [int(p) for p in r.stdout.split() if p.isdigit()]
    me = os.getpid()
    pids = [p for p in pids if p != me]
    for p in pids:
        try:
            os.kill(p, 15)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while pids and time.monotonic() < deadline:
        pids = [p for p in pids if os.path.exists(f"/proc/{p}")]
        if pids:
            time.sleep(0.02)
    for p in pids:
        try:
            os.kill(p, 9)
        except ProcessLookupError:
            pass


def _remove_lab(prefix):
    names = [n for n in _ip("netns", "list", check=False).stdout.split()
             if n.startswith(prefix + "-")]
    for ns in names:
        _kill_ns_procs(ns)
    for ns in names:
        _ip("netns", "del", ns, check=False)
    shutil.rmtree(os.path.join(RUN_DIR, prefix), ignore_errors=True)


def gc():
    """Removes ulab* labs whose recorded owner is dead (or absent and the
    lab is unrecorded). Never touches a lab whose owner still runs."""
    if not os.path.isdir(RUN_DIR):
        return []
    removed = []
    for prefix in os.listdir(RUN_DIR):
        if not prefix.startswith(PREFIX):
            continue
        try:
            with open(os.path.join(RUN_DIR, prefix, "owner")) as f:
                fields = f.read().split()
        except OSError:
            continue
        pid = int(fields[0]) if fields and fields[0].isdigit() else 0
        start = fields[1] if len(fields) > 1 else None
        alive = pid > 0 and _start_time(pid) is not None and (start is None or _start_time(pid) == start)
        if not alive:
            _remove_lab(prefix)
            removed.append(prefix)
    return removed


def root_tx_packets():
    """tx_packets of every non-loopback interface in the root namespace."""
    out = {}
    base = "/sys/class/net"
    for name in os.listdir(base):
        if name == "lo":
            continue
        try:
            with open(os.path.join(base, name, "statistics", "tx_packets")) as f:
                out[name] = int(f.read())
        except (OSError, ValueError):
            pass
    return out


class RootTxGuard:
    """Context manager asserting that no root-namespace interface other than
    lo sent a packet meanwhile: the lab must be sealed."""

    def __enter__(self):
        self.before = root_tx_packets()
        return self

    def __exit__(self, exc_type, exc, tb):
        after = root_tx_packets()
        moved = {k: (self.before.get(k), v) for k, v in after.items() if self.before.get(k, v) != v}
        if moved and exc_type is None:
            raise AssertionError(f"root-namespace interfaces sent packets during the test: {moved}")
        return False


def assert_root_tx_unchanged(before):
    after = root_tx_packets()
    moved = {k: (before.get(k), v) for k, v in after.items() if before.get(k, v) != v}
    if moved:
        raise AssertionError(f"root-namespace interfaces sent packets during the test: {moved}")


class Lab:
    SUBNET = "10.77.0"

    def __init__(self, hosts=3, owner=None):
        self.hosts = hosts
        # "n" keeps pid 12 lab 34 apart from pid 123 lab 4.
        self.prefix = f"{PREFIX}{os.getpid()}n{next(_counter)}"
        self.owner = owner or os.getpid()
        self.procs = []
        self._up = False

    # ---- names and addresses ------------------------------------------
    def ns(self, i):
        return f"{self.prefix}-sw" if i == 0 else f"{self.prefix}-h{i}"

    def addr(self, i):
        return f"{self.SUBNET}.{i}"

    def mac(self, i):
        return f"02:77:00:00:00:{i:02x}"

    def ll(self, i):
        return f"fe80::77:ff:fe00:{i:x}"

    broadcast = f"{SUBNET}.255"

    # ---- life cycle ---------------------------------------------------
    def __enter__(self):
        if os.geteuid() != 0:
            raise unittest.SkipTest("the lab needs root (network namespaces)")
        if not shutil.which("ip") or not shutil.which("tc") or not shutil.which("bridge"):
            raise unittest.SkipTest("the lab needs iproute2 (ip, tc, bridge)")
        gc()
        try:
            self._record_owner()
            self._build()
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
            self.close()
            raise unittest.SkipTest(f"cannot build the network lab: {e}")
        except BaseException:
            self.close()
            raise
        self._up = True
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        return False

    def _record_owner(self):
        d = os.path.join(RUN_DIR, self.prefix)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "owner"), "w") as f:
            f.write(f"{self.owner} {_start_time(self.owner) or ''}\n")

    def _build(self):
        sw = self.ns(0)
        _ip("netns", "add", sw)
        _ip("-n", sw, "link", "set", "lo", "up")
        self.sysctl(0, "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
        _ip("-n", sw, "link", "add", "br0", "type", "bridge", "stp_state", "0", "mcast_snooping", "0")
        _ip("-n", sw, "link", "set", "br0", "up")
        for i in range(1, self.hosts + 1):
            h = self.ns(i)
            _ip("netns", "add", h)
            _ip("-n", h, "link", "set", "lo", "up")
            # Before lan0 exists, so its link-local address is never tentative.
            self.sysctl(i, "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
                        "net.ipv6.conf.default.router_solicitations=0")
            _ip("-n", sw, "link", "add", f"p{i}", "type", "veth", "peer", "name", "lan0",
                "netns", h, "address", self.mac(i))
            _ip("-n", sw, "link", "set", f"p{i}", "master", "br0", "up")
            _ip("-n", h, "addr", "add", f"{self.addr(i)}/24", "brd", "+", "dev", "lan0")
            _ip("-n", h, "link", "set", "lan0", "up")
            _ip("-n", h, "route", "add", "255.255.255.255/32", "dev", "lan0")
            _ip("-n", h, "route", "add", "224.0.0.0/4", "dev", "lan0")

    def close(self):
        for p in self.procs:
            try:
                p.kill()
            except Exception:
                pass
        _remove_lab(self.prefix)
        self._up = False

    # ---- running things -----------------------------------------------
    def exec_argv(self, i, argv):
        return ["ip", "netns", "exec", self.ns(i)] + [str(a) for a in argv]

    def popen(self, i, argv, **kw):
        """Starts argv inside host i; returns a harness.Proc, ended at close."""
        p = harness.Proc(self.exec_argv(i, argv), **kw)
        self.procs.append(p)
        return p

    def run(self, i, argv, timeout=30, input=None, check=False):
        """Runs argv inside host i to completion; CompletedProcess (bytes)."""
        r = subprocess.run(self.exec_argv(i, argv), input=input, capture_output=True,
                           timeout=timeout * harness.SLOW)
        if check and r.returncode != 0:
            raise AssertionError(f"{argv} in {self.ns(i)} failed ({r.returncode}): {r.stderr!r}")
        return r

    def ip(self, i, *args, check=True):
        return _ip("-n", self.ns(i), *args, check=check)

    def sysctl(self, i, *settings):
        _ip("netns", "exec", self.ns(i), "sysctl", "-qw", *settings)

    # ---- faults ---------------------------------------------------------
    def _where(self, i, direction):
        if direction == "to":
            return [(self.ns(0), f"p{i}")]
        if direction == "from":
            return [(self.ns(i), "lan0")]
        if direction == "both":
            return [(self.ns(0), f"p{i}"), (self.ns(i), "lan0")]
        raise ValueError("direction is 'to', 'from' or 'both'")

    @staticmethod
    def _bytecode(fraction):
        """Classic BPF: match (return -1) with probability fraction, from
        the kernel's random number (ld rand); otherwise no match."""
        t = min(int(fraction * 4294967296), 4294967295)
        return f"4,32 0 0 4294963256,53 1 0 {t},6 0 0 4294967295,6 0 0 0"

    def _tc(self, ns, *args, check=True):
        return _sh(["tc", "-n", ns, *args], check=check)

    def loss(self, i, pct, direction="to"):
        """Drops pct % of IPv4 and IPv6 frames to (or from) host i, at random
        in the kernel (htb + cBPF + a pfifo of 0). ARP is spared."""
        bc = self._bytecode(pct / 100.0)
        for ns, dev in self._where(i, direction):
            self._tc(ns, "qdisc", "del", "dev", dev, "root", check=False)
            self._tc(ns, "qdisc", "add", "dev", dev, "root", "handle", "1:", "htb", "default", "1",
                     "r2q", "100000")
            self._tc(ns, "class", "add", "dev", dev, "parent", "1:", "classid", "1:1", "htb", "rate", "10gbit")
            self._tc(ns, "class", "add", "dev", dev, "parent", "1:", "classid", "1:2", "htb", "rate", "10gbit")
            self._tc(ns, "qdisc", "add", "dev", dev, "parent", "1:2", "handle", "12:", "pfifo", "limit", "0")
            for prio, proto in ((1, "ip"), (2, "ipv6")):
                self._tc(ns, "filter", "add", "dev", dev, "parent", "1:", "protocol", proto, "prio",
                         str(prio), "bpf", "bytecode", bc, "flowid", "1:2")

    def dup(self, i, pct, direction="to"):
        """Duplicates pct % of IPv4 and IPv6 frames to (or from) host i. A
        mirrored copy passes the filter again, so p is corrected to
        d / (1 + d) to give pct extra copies per 100 frames."""
        d = pct / 100.0
        bc = self._bytecode(d / (1 + d))
        for ns, dev in self._where(i, direction):
            self._tc(ns, "qdisc", "del", "dev", dev, "clsact", check=False)
            self._tc(ns, "qdisc", "add", "dev", dev, "clsact")
            for prio, proto in ((1, "ip"), (2, "ipv6")):
                self._tc(ns, "filter", "add", "dev", dev, "egress", "protocol", proto, "prio", str(prio),
                         "bpf", "bytecode", bc, "action", "mirred", "egress", "mirror", "dev", dev)

    def clear(self, i, direction="both"):
        """Removes loss and duplication to and from host i."""
        for ns, dev in self._where(i, direction):
            self._tc(ns, "qdisc", "del", "dev", dev, "root", check=False)
            self._tc(ns, "qdisc", "del", "dev", dev, "clsact", check=False)

    def cut(self, i):
        """Silently partitions host i: its bridge port stops forwarding (the
        link stays up, so the host's routes stay; see netlab.md pitfall 8)."""
        _sh(["bridge", "-n", self.ns(0), "link", "set", "dev", f"p{i}", "state", "0"])

    def heal(self, i):
        _sh(["bridge", "-n", self.ns(0), "link", "set", "dev", f"p{i}", "state", "3"])
