#!/usr/bin/env python3
"""An IP Messenger sender as iptux is one, for bench/files.py: offers one
file to a udpkit chat (SENDMSG with FILEATTACHOPT, an attachment list
without udpkit's SHA-256 attribute) and serves its GETFILEDATA with
os.sendfile, once, then exits. It lets the benchmark time udpkit's
receive path without the hash (the receiver hashes only what comes with
a SHA-256), on the same bytes and the same TCP as udpkit -> udpkit.

usage: ipmsg_offer.py FILE PEER_PORT   (loopback only)"""
import os
import socket
import sys

SENDMSG, FILEATTACHOPT, GETFILEDATA = 0x20, 0x200000, 0x60


def main():
    path, peer_port = sys.argv[1], int(sys.argv[2])
    size = os.path.getsize(path)
    mtime = int(os.path.getmtime(path))
    name = os.path.basename(path).encode().replace(b":", b"::")
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.bind(("127.0.0.1", 0))
    port = tcp.getsockname()[1]
    tcp.listen(1)
    tcp.settimeout(600)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", port))
    no = 4242
    attach = b"0:%s:%x:%x:1:\x07" % (name, size, mtime)
    msg = b"1:%d:bench:benchhost:%d:\0%s\0" % (no, SENDMSG | FILEATTACHOPT, attach)
    udp.sendto(msg, ("127.0.0.1", peer_port))
    conn, _ = tcp.accept()
    conn.settimeout(600)
    req = b""
    while b"\0" not in req and len(req) < 4096:
        chunk = conn.recv(4096)
        if not chunk:
            sys.exit("no request")
        req += chunk
    # 1:no:user:host:0x60:packet_no:file_id:offset (hex), as udpkit asks.
    f = req.split(b"\0")[0].split(b":")
    if int(f[4], 0) & 0xff != GETFILEDATA or int(f[5], 16) != no:
        sys.exit("unexpected request %r" % req[:200])
    offset = int(f[7], 16)
    conn.settimeout(None)  # os.sendfile wants a blocking socket
    with open(path, "rb") as src:
        while offset < size:
            n = os.sendfile(conn.fileno(), src.fileno(), offset, size - offset)
            if n <= 0:
                break
            offset += n
    conn.close()
    tcp.close()
    udp.close()


if __name__ == "__main__":
    main()
