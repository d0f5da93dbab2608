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
root_tx_packets() and assert_root_tx_unchanged(watch), or the RootTxGuard
context manager, check that none of the test's packets (its ports, the lab's
subnet, broadcast and multicast) left a root-namespace interface but lo
meanwhile: a filtered capture (RootTxWatch), not the interfaces' counters,
which other programs move."""
import ctypes
import ipaddress
import itertools
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
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


# What the root-namespace watch counts as ours (see RootTxWatch).
UDPKIT_PORTS = {8080, 8086, 2425}           # echo, listen/broadcast, chat (IPMsg)
SYSTEM_PORTS = {53, 67, 68, 123, 137, 138, 546, 547, 1900, 5353, 5355}
LAB_NETS = (ipaddress.ip_network("10.77.0.0/24"), ipaddress.ip_network("fe80::77:ff:fe00:0/112"))

# Classic BPF for SO_ATTACH_FILTER on a SOCK_DGRAM packet socket (offsets
# from the network header): outgoing packets (pkttype PACKET_OUTGOING) that
# are UDP over IPv4 or IPv6. Everything else never reaches Python.
# Skipped interfaces are rejected in the kernel too: loopback carries
# every local benchmark's traffic, which must not fill the watch's queue.
_AD_PROTOCOL, _AD_PKTTYPE, _AD_IFINDEX = 0xFFFFF000, 0xFFFFF004, 0xFFFFF008


def _assemble(prog):
    """Classic BPF from (code, true_label, false_label, k) rows and
    ("label", name) markers: jump offsets are counted here, not by hand."""
    where, n = {}, 0
    for row in prog:
        if row[0] == "label":
            where[row[1]] = n
        else:
            n += 1
    out = []
    for row in prog:
        if row[0] == "label":
            continue
        code, jt, jf, k = row
        here = len(out) + 1
        out.append((code, where[jt] - here if jt else 0, where[jf] - here if jf else 0, k))
    return out


def _udp_out_filter(skip_ifindexes, ports=()):
    """The filter program, as (code, jt, jf, k) tuples. With ports, only
    packets from or to one of them pass (in the kernel: a watch that must
    see loopback is not flooded by every other program's loopback traffic)."""
    LD_W_ABS, LD_H_ABS, LD_B_ABS, LD_H_IND, LDX_MSH, JEQ, RET = (
        0x20, 0x28, 0x30, 0x48, 0xB1, 0x15, 0x06)
    prog = [(LD_W_ABS, None, None, _AD_IFINDEX)]            # A = ifindex
    for ifindex in skip_ifindexes:                          # skipped? reject
        prog.append((JEQ, "reject", None, ifindex))
    prog += [
        (LD_W_ABS, None, None, _AD_PKTTYPE),   # A = pkttype
        (JEQ, None, "reject", 4),              # outgoing? else reject
        (LD_W_ABS, None, None, _AD_PROTOCOL),  # A = ethertype
        (JEQ, None, "v6", 0x0800),             # IPv4? else the IPv6 test
        (LD_B_ABS, None, None, 9),             # A = IPv4 protocol
        (JEQ, "v4udp", "reject", 17),
        ("label", "v6"),
        (JEQ, None, "reject", 0x86DD),         # IPv6? else reject
        (LD_B_ABS, None, None, 6),             # A = IPv6 next header
        (JEQ, "v6udp", "reject", 17),
    ]

    def match_ports(load_sport, load_dport):
        rows = []
        for load in (load_sport, load_dport):
            rows.append(load)
            rows += [(JEQ, "accept", None, port) for port in sorted(ports)]
        return rows + [(JEQ, "reject", "reject", 0)]  # no match: reject

    if ports:
        prog += [("label", "v4udp"), (LDX_MSH, None, None, 0)]  # X = IPv4 header length
        prog += match_ports((LD_H_IND, None, None, 0), (LD_H_IND, None, None, 2))
        prog += [("label", "v6udp")]
        prog += match_ports((LD_H_ABS, None, None, 40), (LD_H_ABS, None, None, 42))
    else:
        prog += [("label", "v4udp"), ("label", "v6udp")]
    prog += [("label", "accept"), (RET, None, None, 0xFFFF),
             ("label", "reject"), (RET, None, None, 0)]
    return _assemble(prog)


def _udp_packet(data, ethertype):
    """(src, dst, sport, dport) of an IPv4/IPv6 UDP packet, or None."""
    if ethertype == 0x0800 and len(data) >= 20:
        ihl = (data[0] & 15) * 4
        if len(data) < ihl + 4:
            return None
        src, dst = ipaddress.ip_address(data[12:16]), ipaddress.ip_address(data[16:20])
        sport, dport = struct.unpack_from("!HH", data, ihl)
    elif ethertype == 0x86DD and len(data) >= 44:
        src, dst = ipaddress.ip_address(data[8:24]), ipaddress.ip_address(data[24:40])
        sport, dport = struct.unpack_from("!HH", data, 40)
    else:
        return None
    return src, dst, sport, dport


def _broadcasts():
    """The directed broadcast addresses of the root namespace's interfaces."""
    out = set()
    r = _ip("-j", "-4", "addr", "show", check=False)
    try:
        for link in json.loads(r.stdout or "[]"):
            for a in link.get("addr_info", []):
                if a.get("broadcast"):
                    out.add(ipaddress.ip_address(a["broadcast"]))
    except ValueError:
        pass
    return out


class RootTxWatch:
    """Watches, in the root namespace, for the UDP packets a test could
    wrongly send out of an interface other than lo: to or from its ports
    (and udpkit's default ones), to the lab's subnet, or to a broadcast or
    multicast address (except the system services' ports: DHCP, DNS, NTP,
    NetBIOS, SSDP, mDNS, LLMNR). Other programs' traffic on eth0 is not
    ours and does not count (it did when the check compared eth0's total
    packet counter: a CI run failed on 27 packets that were not ours).

    A packet socket with a BPF filter (outgoing UDP only) is read by a
    thread from start() to stop(); packets are classified in Python."""

    def __init__(self, ports=(), skip=("lo",), kernel_ports=False):
        self.ports = set(ports) | UDPKIT_PORTS
        # kernel_ports: the BPF filter itself keeps only packets of these
        # ports (for a watch that must see lo, see _udp_out_filter).
        self.kernel_ports = kernel_ports
        self.skip = set(skip)  # interfaces whose packets never count
        self.found = []
        self.dropped = 0
        self._stop = threading.Event()
        self._sock = None
        self._thread = None

    def start(self):
        self._bcast = _broadcasts() | {ipaddress.ip_address("255.255.255.255")}
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0003))
        skip = []
        for name in self.skip:
            try:
                skip.append(socket.if_nametoindex(name))
            except OSError:
                pass
        insns = _udp_out_filter(skip, self.ports if self.kernel_ports else ())
        self._buf = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *i) for i in insns))
        fprog = struct.pack("HL", len(insns), ctypes.addressof(self._buf))
        sock.setsockopt(socket.SOL_SOCKET, 26, fprog)  # SO_ATTACH_FILTER
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        # The socket saw every packet between socket() and the filter
        # (loopback floods included): throw those away and reset the
        # counters (PACKET_STATISTICS resets on read) before watching.
        try:
            while True:
                sock.recv(65536, socket.MSG_DONTWAIT)
        except BlockingIOError:
            pass
        sock.getsockopt(263, 6, 8)
        sock.settimeout(0.05)
        self._sock = sock
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        return self

    def ours(self, ifname, pkt):
        src, dst, sport, dport = pkt
        if ifname in self.skip:
            return False
        if sport in self.ports or dport in self.ports:
            return True
        if any(dst in n or src in n for n in LAB_NETS if n.version == dst.version):
            return True
        return (dst.is_multicast or dst in self._bcast) and dport not in SYSTEM_PORTS

    def _read(self):
        while not self._stop.is_set():
            try:
                data, addr = self._sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            pkt = _udp_packet(data, addr[1])
            if pkt and self.ours(addr[0], pkt):
                self.found.append((addr[0],) + pkt)

    def stop(self):
        """Stops the capture; returns our packets as (iface, src, dst, sport,
        dport) tuples. A packet sent before stop() was called is seen: the
        kernel hands it to packet sockets as it is transmitted."""
        self._stop.set()
        self._thread.join(5)
        try:
            while True:  # what is still queued
                data, addr = self._sock.recvfrom(65536, socket.MSG_DONTWAIT)
                pkt = _udp_packet(data, addr[1])
                if pkt and self.ours(addr[0], pkt):
                    self.found.append((addr[0],) + pkt)
        except (BlockingIOError, OSError):
            pass
        # PACKET_STATISTICS (level SOL_PACKET 263, option 6): drops mean the
        # watch may have missed packets.
        self.dropped = struct.unpack("II", self._sock.getsockopt(263, 6, 8))[1]
        self._sock.close()
        return self.found

    def assert_clean(self):
        found = self.stop()
        if found:
            raise AssertionError(f"packets left the root namespace during the test: {found[:10]}")
        if self.dropped:
            raise AssertionError(f"the root-namespace watch dropped {self.dropped} packets")


def root_tx_packets(ports=()):
    """Starts watching the root namespace (see RootTxWatch); pass the result
    to assert_root_tx_unchanged()."""
    if os.geteuid() != 0:
        raise unittest.SkipTest("watching the root namespace's interfaces needs root")
    return RootTxWatch(ports).start()


def assert_root_tx_unchanged(watch):
    watch.assert_clean()


class RootTxGuard:
    """Context manager asserting that none of the test's packets left a
    root-namespace interface other than lo: the lab must be sealed."""

    def __init__(self, ports=()):
        self.ports = ports

    def __enter__(self):
        self.watch = root_tx_packets(self.ports)
        return self

    def __exit__(self, exc_type, exc, tb):
        found = self.watch.stop()
        if exc_type is None and (found or self.watch.dropped):
            raise AssertionError(f"packets left the root namespace during the test: {found[:10]} "
                                 f"({self.watch.dropped} dropped by the watch)")
        return False


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
