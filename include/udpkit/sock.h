/* sock.h: UDP sockets with the options udpkit needs, and single-datagram
 * receive/send that report truncation and the destination address
 * (IP_PKTINFO / IPV6_RECVPKTINFO) so replies can leave from it. */
#ifndef UDPKIT_SOCK_H
#define UDPKIT_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "udpkit/addr.h"

struct uk_sock_opts {
	bool reuse_addr;    /* SO_REUSEADDR */
	bool reuse_port;    /* SO_REUSEPORT: several sockets, one port */
	bool broadcast;	    /* SO_BROADCAST */
	bool pktinfo;	    /* learn each datagram's destination address */
	bool nonblock;	    /* O_NONBLOCK */
	bool recv_err;	    /* IP_RECVERR: ICMP errors reported on a connected socket */
	int v6only;	    /* -1 leaves the kernel default, else IPV6_V6ONLY */
	int rcvbuf_bytes;   /* 0 keeps the default */
	int sndbuf_bytes;   /* 0 keeps the default */
	int ttl;	    /* 0 keeps the default; unicast and multicast hops */
	const char *ifname; /* SO_BINDTODEVICE when set */
};

/* Opens a UDP socket of local's family with opts and binds it to local
 * (a NULL local binds nothing). Returns the fd or -errno. */
int uk_sock_open(const struct uk_addr *local, const struct uk_sock_opts *opts);

/* Opens an unbound UDP socket for family and connects it to peer, so only
 * peer's datagrams are received and ICMP errors surface as ECONNREFUSED.
 * Returns the fd or -errno. */
int uk_sock_open_connected(const struct uk_addr *peer, const struct uk_sock_opts *opts);

/* An ICMP error queued on a socket opened with recv_err. */
struct uk_sock_error {
	int err;	     /* -errno: -ECONNREFUSED for port unreachable, ... */
	struct uk_addr from; /* who reported it (a router or the peer), when has_from */
	bool has_from;
	unsigned char origin, type, code; /* SO_EE_ORIGIN_ICMP/ICMP6, ICMP type and code */
};

/* Reads one error from fd's error queue (IP_RECVERR): the datagram that
 * caused it goes to buf (as much as the kernel kept). Never blocks.
 * Returns its length, -EAGAIN when the queue is empty, or -errno. */
ssize_t uk_sock_recv_error(int fd, void *buf, size_t cap, struct uk_sock_error *e);

/* Applies opts to a socket bound by someone else (a service manager's
 * socket activation), except the options that only matter before bind():
 * reuse_addr, reuse_port and v6only stay as the socket's creator set them.
 * Returns 0 or -errno. */
int uk_sock_adopt(int fd, const struct uk_sock_opts *opts);

/* The address a socket is bound to (the real port after binding port 0). */
int uk_sock_local(int fd, struct uk_addr *out);

/* True when the socket's bound address is a wildcard (0.0.0.0 or ::). */
bool uk_sock_is_wildcard(int fd);

/* One received datagram. buf/cap are the caller's; the rest is filled in. */
struct uk_dgram {
	unsigned char *buf;
	size_t cap;
	size_t len;	 /* bytes in buf (at most cap) */
	size_t wire_len; /* the datagram's real size (> cap when truncated) */
	bool truncated;
	struct uk_addr peer; /* the sender */
	struct uk_addr dst;  /* where it was sent to; valid when has_dst */
	int ifindex;
	bool has_dst;
};

/* Receives one datagram, retrying EINTR. Returns its length (>= 0),
 * -EAGAIN when nothing is waiting on a non-blocking socket, or -errno.
 * A datagram larger than cap is cut, flagged truncated, wire_len holds
 * its real size. */
ssize_t uk_sock_recv(int fd, struct uk_dgram *d);

/* Sends len bytes to peer (NULL on a connected socket), from src when src
 * is non-NULL and has an address (pktinfo). Returns bytes sent or -errno. */
ssize_t uk_sock_send(int fd, const void *buf, size_t len, const struct uk_addr *peer,
		     const struct uk_addr *src, int ifindex);

/* Fills a cmsg buffer for sendmsg() so a datagram leaves from src.
 * Returns the control length used (0 when src has no address). */
size_t uk_sock_pktinfo_cmsg(void *control, size_t cap, const struct uk_addr *src, int ifindex);

/* Appends a UDP_SEGMENT cmsg at offset off of control (GSO: the kernel
 * cuts the send into datagrams of seg bytes, the last one shorter). The
 * caller leaves CMSG_SPACE(sizeof(uint16_t)) bytes free there. Returns the
 * control length with it. */
size_t uk_sock_segment_cmsg(void *control, size_t off, uint16_t seg);

/* Reads a destination address out of a received msghdr's control data. */
bool uk_sock_pktinfo_parse(const void *msghdr, struct uk_addr *dst, int *ifindex, uint16_t port);

/* The segment size of a coalesced receive on a socket with UDP_GRO on (the
 * UDP_GRO control message: several datagrams of that size, the last one
 * maybe shorter, in one buffer); 0 when the control data has none. */
size_t uk_sock_gro_parse(const void *msghdr);

/* Turns UDP_GRO on or off on a UDP socket. 0 or -errno. */
int uk_sock_set_gro(int fd, bool on);

/* Control-buffer size enough for one IPv4 or IPv6 pktinfo message. */
#define UK_PKTINFO_SPACE 64

#endif
