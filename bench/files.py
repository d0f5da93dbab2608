#!/usr/bin/env python3
"""File transfer over TCP on loopback (issue 8): udpkit chat -> udpkit chat
against socat moving the same bytes, in the same run, interleaved rounds,
medians. Cases: one 1 GiB file (udpkit --send-file vs socat file ->
socat file); a folder of 10,000 small files (udpkit folder stream vs
tar | socat | tar); and the 1 GiB file again between two members of a
private room (--room: the TCP stream sealed in 64 KiB chunks, read +
seal + write instead of sendfile; Argon2id at its test cost, which
changes nothing after the join). Reports MiB/s, the ratio to socat, CPU seconds per GiB
of both ends together (user+sys of the children), and the receiving
chat's peak RSS. Prints a markdown table."""
import argparse
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def wait_line(proc, needle, timeout):
    deadline = time.monotonic() + timeout
    buf = b""
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        buf += line
        if needle in line:
            return line
    raise RuntimeError(f"no {needle!r} in {buf[-400:]!r}")


def start_receiver(udpkit, dst, room=(), env=None):
    """A chat on a free loopback port accepting files from 127.0.0.1 into
    dst, in line mode; returns (process, port) once it is ready."""
    port = free_port()
    recv = subprocess.Popen([udpkit, "chat", "--line", "-b", "127.0.0.1", "-p", str(port),
                             "--no-discovery", "--no-history", "--stay", "--accept-files", dst,
                             "--accept-from", "127.0.0.1"] + list(room), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    wait_line(recv, b"line mode on", 30)
    return recv, port


def stop_receiver(recv):
    """Ends the receiving chat; returns its peak RSS (VmHWM, KiB)."""
    with open(f"/proc/{recv.pid}/status") as f:
        hwm = [int(l.split()[1]) for l in f if l.startswith("VmHWM")][0]
    recv.terminate()
    recv.wait(30)
    return hwm


def run_ipmsg_offer(udpkit, src, dst):
    """The receiving chat as in run_udpkit, the file offered and served by
    bench/ipmsg_offer.py as iptux would (no SHA-256 attribute, so nothing
    is hashed; os.sendfile as udpkit's sender). Returns the receiver's
    transfer time, CPU of both ends and peak RSS."""
    recv, port = start_receiver(udpkit, dst)
    c0 = cpu()
    send = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__), "ipmsg_offer.py"),
                             src, str(port)])
    line = wait_line(recv, b"received\t", 600)
    send.wait(600)
    hwm = stop_receiver(recv)
    if send.returncode != 0 or b"sha256" in line:
        raise RuntimeError("ipmsg_offer exit %d, %r" % (send.returncode, line))
    return float(line.split(b"\t")[6]), cpu() - c0, hwm


def sha256_cpu(path):
    """CPU seconds of one SHA-256 pass over path (in the page cache, read
    through a mapping: no copy), with hashlib, which is OpenSSL's
    EVP_sha256 as in udpkit (lib/sha256.c)."""
    import hashlib
    import mmap
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as m:
        view = memoryview(m)
        h = hashlib.sha256()
        for i in range(0, len(m), 1 << 20):  # the whole file first: page cache
            h.update(view[i:i + (1 << 20)])
        t0 = time.process_time()
        h = hashlib.sha256()
        for i in range(0, len(m), 1 << 20):
            h.update(view[i:i + (1 << 20)])
        t = time.process_time() - t0
        view.release()
    return t


def run_udpkit(udpkit, src, dst, passfile=None):
    room = ["--room", "bench", "--passphrase-file", passfile] if passfile else []
    env = dict(os.environ, UDPKIT_ROOM_COST="test")
    recv, port = start_receiver(udpkit, dst, room, env)
    c0, t0 = cpu(), time.monotonic()
    send = subprocess.Popen([udpkit, "chat", "--line", "-b", "127.0.0.1", "-p", "0",
                             "--no-discovery", "--no-history", "-P", f"127.0.0.1:{port}",
                             "--send-file", src] + room, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    # From the exec to the "offered" line: start-up, the peer's answer and
    # the SHA-256 of the file before the offer.
    wait_line(send, b"offered\t", 1800)
    offered = time.monotonic() - t0
    send.stdout.read()
    send.wait(1800)
    line = wait_line(recv, b"received\t", 600)
    # The sender exits 0 once the peer has every byte, and the receiver says
    # so once it has checked the hash: the script's view, with the chat's
    # start-up and the sender's hashing before the offer.
    wall = time.monotonic() - t0
    hwm = stop_receiver(recv)
    if send.returncode != 0:
        raise RuntimeError("udpkit sender exit %d" % send.returncode)
    # The transfer's own time, from the receiver's line (from its connect
    # to the last byte): the sender's wait for the peer before offering is
    # chat start-up, not transfer.
    return float(line.split(b"\t")[6]), cpu() - c0, hwm, wall, offered


def run_socat(src, dst, folder, block=0):
    port = free_port()
    # socat moves 8 KiB a read/write unless told (-b); with --socat-block a
    # tuned socat is the reference instead of the default one.
    b = f"-b {block} " if block else ""
    if folder:
        rx = f"socat {b}-u TCP-LISTEN:{port},reuseaddr,bind=127.0.0.1 - | tar -C {dst} -xf -"
        tx = (f"tar -C {os.path.dirname(src)} -cf - {os.path.basename(src)} | "
              f"socat {b}-u - TCP:127.0.0.1:{port},retry=50,interval=0.1")
    else:
        rx = f"socat {b}-u TCP-LISTEN:{port},reuseaddr,bind=127.0.0.1 OPEN:{dst}/out,creat,trunc"
        tx = f"socat {b}-u OPEN:{src} TCP:127.0.0.1:{port},retry=50,interval=0.1"
    c0, t0 = cpu(), time.monotonic()
    r = subprocess.Popen(["bash", "-c", rx])
    subprocess.run(["bash", "-c", tx], check=True, timeout=1800)
    r.wait(600)
    return time.monotonic() - t0, cpu() - c0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--udpkit", default="build/udpkit")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--files", type=int, default=10000)
    ap.add_argument("--socat-block", type=int, default=0,
                    help="socat's -b (bytes a read/write; default socat's own 8192)")
    ap.add_argument("--cases", default="file,nohash,room,folder",
                    help="which rows, comma-separated: file, nohash (the file sent by "
                         "bench/ipmsg_offer.py as iptux would: no SHA-256), room, folder")
    args = ap.parse_args()
    load0 = os.getloadavg()
    cases = args.cases.split(",")
    work = tempfile.mkdtemp(prefix="ukbench-files-")
    try:
        big = os.path.join(work, "big.bin")
        with open(big, "wb") as f:
            block = os.urandom(1 << 20)
            for _ in range(args.mib):
                f.write(block)
        tree = os.path.join(work, "tree")
        for i in range(args.files if "folder" in cases else 0):
            d = os.path.join(tree, "d%03d" % (i // 100))
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "f%05d.txt" % i), "wb") as f:
                f.write(os.urandom(1024))
        tree_bytes = args.files * 1024
        passfile = os.path.join(work, "pass")
        with open(passfile, "w") as f:
            f.write("bench passphrase\n")
        os.chmod(passfile, 0o600)
        rows = []
        todo = [c for c in (
                ("file", "%d MiB file" % args.mib, big, args.mib << 20, False, None),
                ("nohash", "%d MiB file from an IPMsg sender (no SHA-256)" % args.mib, big,
                 args.mib << 20, False, None),
                ("room", "%d MiB file, in a room" % args.mib, big, args.mib << 20, False, passfile),
                ("folder", "%d files of 1 KiB" % args.files, tree, tree_bytes, True, None))
                if c[0] in cases]
        res = {c[0]: {"udpkit": [], "socat": []} for c in todo}
        hwms = {c[0]: [] for c in todo}
        walls = {c[0]: [] for c in todo}
        offers = {c[0]: [] for c in todo}
        # Round-major: each round runs every case, so the plain and room
        # rows of a round see the same load on a shared machine.
        for _ in range(args.rounds):
            for case, name, src, nbytes, folder, room in todo:
                for tool in ("udpkit", "socat"):
                    dst = os.path.join(work, "dst")
                    shutil.rmtree(dst, ignore_errors=True)
                    os.makedirs(dst)
                    if tool == "udpkit" and case == "nohash":
                        t, c, hwm = run_ipmsg_offer(args.udpkit, src, dst)
                        hwms[case].append(hwm)
                        walls[case].append(t)
                        offers[case].append(0)
                    elif tool == "udpkit":
                        t, c, hwm, wall, offered = run_udpkit(args.udpkit, src, dst, room)
                        hwms[case].append(hwm)
                        walls[case].append(wall)
                        offers[case].append(offered)
                    else:
                        t, c = run_socat(src, dst, folder, args.socat_block)
                    res[case][tool].append((t, c))
                    shutil.rmtree(dst, ignore_errors=True)
                ut, st = res[case]["udpkit"][-1][0], res[case]["socat"][-1][0]
                # Each round's own ratio, with the load then: on a shared
                # machine the spread says as much as the median.
                print(f"round {len(res[case]['socat'])} {case}: udpkit {ut:.2f} s, "
                      f"socat {st:.2f} s, ratio {st / ut:.2f}, sender wall "
                      f"{walls[case][-1]:.2f} s (ratio {st / walls[case][-1]:.2f}; "
                      f"offered after {offers[case][-1]:.2f} s), "
                      f"load {os.getloadavg()[0]:.2f}", flush=True)
        for case, name, src, nbytes, folder, room in todo:
            gib = nbytes / (1 << 30)
            med = {k: (statistics.median(t for t, _ in v), statistics.median(c for _, c in v))
                   for k, v in res[case].items()}
            rows.append((name, med, gib, max(hwms[case]), statistics.median(walls[case]),
                         statistics.median(offers[case])))
        ref = "tar | socat | tar" if args.files else "socat"
        print("| case | udpkit s | socat s | udpkit MiB/s | socat MiB/s | ratio | udpkit sender wall s | of which before the offer s | ratio (wall) | udpkit CPU s/GiB | socat CPU s/GiB | receiver peak RSS |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for name, med, gib, hwm, wall, offered in rows:
            ut, uc = med["udpkit"]
            st, sc = med["socat"]
            print(f"| {name} | {ut:.2f} | {st:.2f} | {gib * 1024 / ut:.1f} | {gib * 1024 / st:.1f} | {st / ut:.2f} | "
                  f"{wall:.2f} | {offered:.2f} | {st / wall:.2f} | {uc / gib:.2f} | {sc / gib:.2f} | {hwm / 1024:.1f} MiB |")
        if any(c[0] in ("file", "nohash") for c in todo):
            gib = (args.mib << 20) / (1 << 30)
            print(f"\nSHA-256 (OpenSSL, as udpkit) of the {args.mib} MiB file: "
                  f"{sha256_cpu(big) / gib:.2f} CPU s/GiB")
        print(f"\nload average (1, 5, 15 min) at the start: {' '.join('%.2f' % x for x in load0)}, "
              f"at the end: {' '.join('%.2f' % x for x in os.getloadavg())}")
        print(f"\n({args.rounds} rounds, medians; the folder's reference is {ref})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
