/* sock.c: opening UDP sockets and moving single datagrams.
 * Errors come back as -errno, captured right after the failing call.
 * EINTR is retried here, so callers only see EAGAIN and real errors. */
#include <errno.h>
#include <time.h> /* before linux/errqueue.h, which uses struct timespec */
#include <linux/errqueue.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/udp.h>
#include <string.h>
#include <unistd.h>

#include "udpkit/sock.h"

static int set_int(int fd, int level, int name, int value)
{
	if (setsockopt(fd, level, name, &value, sizeof(value)) < 0)
		return -errno;
	return 0;
}

static int apply_opts(int fd, int family, const struct uk_sock_opts *o)
{
	int rc = 0;

	if (o->reuse_addr && (rc = set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1)) < 0)
		return rc;
	if (o->reuse_port && (rc = set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1)) < 0)
		return rc;
	if (o->broadcast && (rc = set_int(fd, SOL_SOCKET, SO_BROADCAST, 1)) < 0)
		return rc;
	if (o->rcvbuf_bytes > 0 && (rc = set_int(fd, SOL_SOCKET, SO_RCVBUF, o->rcvbuf_bytes)) < 0)
		return rc;
	if (o->sndbuf_bytes > 0 && (rc = set_int(fd, SOL_SOCKET, SO_SNDBUF, o->sndbuf_bytes)) < 0)
		return rc;
	if (o->ifname && o->ifname[0] &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, o->ifname, (socklen_t)strlen(o->ifname)) <
		0)
		return -errno;
	if (family == AF_INET6) {
		if (o->v6only >= 0 && (rc = set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, o->v6only)) < 0)
			return rc;
		if (o->pktinfo && (rc = set_int(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)) < 0)
			return rc;
		/* A dual-stack socket also receives IPv4; ask for its pktinfo too. */
		if (o->pktinfo)
			(void)set_int(fd, IPPROTO_IP, IP_PKTINFO, 1);
		if (o->ttl > 0) {
			if ((rc = set_int(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, o->ttl)) < 0)
				return rc;
			if ((rc = set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, o->ttl)) < 0)
				return rc;
		}
		if (o->recv_err && (rc = set_int(fd, IPPROTO_IPV6, IPV6_RECVERR, 1)) < 0)
			return rc;
	} else {
		if (o->pktinfo && (rc = set_int(fd, IPPROTO_IP, IP_PKTINFO, 1)) < 0)
			return rc;
		if (o->ttl > 0) {
			if ((rc = set_int(fd, IPPROTO_IP, IP_TTL, o->ttl)) < 0)
				return rc;
			if ((rc = set_int(fd, IPPROTO_IP, IP_MULTICAST_TTL, o->ttl)) < 0)
				return rc;
		}
		if (o->recv_err && (rc = set_int(fd, IPPROTO_IP, IP_RECVERR, 1)) < 0)
			return rc;
	}
	if (o->nonblock) {
		int fl = fcntl(fd, F_GETFL);
		if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
			return -errno;
	}
	return 0;
}

static int open_socket(int family, const struct uk_sock_opts *opts)
{
	static const struct uk_sock_opts defaults = {.v6only = -1};
	int fd, rc;

	fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0)
		return -errno;
	rc = apply_opts(fd, family, opts ? opts : &defaults);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

int uk_sock_open(const struct uk_addr *local, const struct uk_sock_opts *opts)
{
	int fd, rc;

	fd = open_socket(local ? uk_addr_family(local) : AF_INET, opts);
	if (fd < 0)
		return fd;
	if (local && bind(fd, &local->u.sa, local->len) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

int uk_sock_open_connected(const struct uk_addr *peer, const struct uk_sock_opts *opts)
{
	int fd, rc;

	fd = open_socket(uk_addr_family(peer), opts);
	if (fd < 0)
		return fd;
	if (connect(fd, &peer->u.sa, peer->len) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

int uk_sock_adopt(int fd, const struct uk_sock_opts *opts)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct uk_sock_opts o = *opts;

	memset(&ss, 0, sizeof(ss)); /* a family of 0 if the kernel wrote none */
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	/* Already bound by whoever created it: what only matters before bind()
	 * (address reuse, v6only) is theirs to choose and stays as they set it. */
	o.reuse_addr = o.reuse_port = false;
	o.v6only = -1;
	return apply_opts(fd, ss.ss_family, &o);
}

int uk_sock_local(int fd, struct uk_addr *out)
{
	memset(out, 0, sizeof(*out));
	out->len = sizeof(out->u);
	if (getsockname(fd, &out->u.sa, &out->len) < 0)
		return -errno;
	return 0;
}

bool uk_sock_is_wildcard(int fd)
{
	struct uk_addr a;
	return uk_sock_local(fd, &a) == 0 && uk_addr_is_unspecified(&a);
}

bool uk_sock_pktinfo_parse(const void *msghdr, struct uk_addr *dst, int *ifindex, uint16_t port)
{
	const struct msghdr *m = msghdr;
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR((struct msghdr *)m, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			memset(dst, 0, sizeof(*dst));
			dst->u.in.sin_family = AF_INET;
			dst->u.in.sin_addr = pi.ipi_addr;
			dst->u.in.sin_port = htons(port);
			dst->len = sizeof(dst->u.in);
			*ifindex = pi.ipi_ifindex;
			return true;
		}
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			memset(dst, 0, sizeof(*dst));
			dst->u.in6.sin6_family = AF_INET6;
			dst->u.in6.sin6_addr = pi.ipi6_addr;
			dst->u.in6.sin6_port = htons(port);
			dst->len = sizeof(dst->u.in6);
			*ifindex = (int)pi.ipi6_ifindex;
			return true;
		}
	}
	return false;
}

size_t uk_sock_gro_parse(const void *msghdr)
{
	const struct msghdr *m = msghdr;
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR((struct msghdr *)m, c)) {
		int seg;
		if (c->cmsg_level != SOL_UDP || c->cmsg_type != UDP_GRO ||
		    c->cmsg_len < CMSG_LEN(sizeof(seg)))
			continue;
		memcpy(&seg, CMSG_DATA(c), sizeof(seg));
		return seg > 0 ? (size_t)seg : 0;
	}
	return 0;
}

int uk_sock_set_gro(int fd, bool on)
{
	int v = on;

	return setsockopt(fd, SOL_UDP, UDP_GRO, &v, sizeof(v)) < 0 ? -errno : 0;
}

size_t uk_sock_segment_cmsg(void *control, size_t off, uint16_t seg)
{
	struct cmsghdr *c = (struct cmsghdr *)((unsigned char *)control + off);

	c->cmsg_level = SOL_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof(seg));
	memcpy(CMSG_DATA(c), &seg, sizeof(seg));
	return off + CMSG_SPACE(sizeof(seg));
}

size_t uk_sock_pktinfo_cmsg(void *control, size_t cap, const struct uk_addr *src, int ifindex)
{
	struct msghdr m = {.msg_control = control, .msg_controllen = cap};
	struct cmsghdr *c;

	if (!src || uk_addr_is_unspecified(src) || cap < UK_PKTINFO_SPACE)
		return 0;
	memset(control, 0, cap);
	c = CMSG_FIRSTHDR(&m);
	if (uk_addr_family(src) == AF_INET6 && !IN6_IS_ADDR_V4MAPPED(&src->u.in6.sin6_addr)) {
		struct in6_pktinfo pi = {.ipi6_addr = src->u.in6.sin6_addr,
					 .ipi6_ifindex = (unsigned)ifindex};
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		return CMSG_SPACE(sizeof(pi));
	}
	struct in_pktinfo pi;
	memset(&pi, 0, sizeof(pi));
	if (uk_addr_family(src) == AF_INET6)
		memcpy(&pi.ipi_spec_dst, &src->u.in6.sin6_addr.s6_addr[12], 4);
	else
		pi.ipi_spec_dst = src->u.in.sin_addr;
	/* ifindex 0 lets routing pick the interface; the source is what matters. */
	c->cmsg_level = IPPROTO_IP;
	c->cmsg_type = IP_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(pi));
	memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	return CMSG_SPACE(sizeof(pi));
}

ssize_t uk_sock_recv(int fd, struct uk_dgram *d)
{
	unsigned char control[UK_PKTINFO_SPACE * 2];
	struct iovec iov = {.iov_base = d->buf, .iov_len = d->cap};
	struct msghdr m;
	ssize_t n;

	for (;;) {
		memset(&m, 0, sizeof(m));
		memset(&d->peer, 0, sizeof(d->peer));
		m.msg_name = &d->peer.u;
		m.msg_namelen = sizeof(d->peer.u);
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		m.msg_control = control;
		m.msg_controllen = sizeof(control);
		/* MSG_TRUNC makes UDP return the real length of a cut datagram. */
		n = recvmsg(fd, &m, MSG_TRUNC);
		if (n >= 0)
			break;
		if (errno != EINTR)
			return -errno;
	}
	d->peer.len = m.msg_namelen;
	d->wire_len = (size_t)n;
	d->truncated = (m.msg_flags & MSG_TRUNC) || (size_t)n > d->cap;
	d->len = d->truncated ? d->cap : (size_t)n;
	d->ifindex = 0;
	d->has_dst = uk_sock_pktinfo_parse(&m, &d->dst, &d->ifindex, 0);
	return (ssize_t)d->len;
}

ssize_t uk_sock_send(int fd, const void *buf, size_t len, const struct uk_addr *peer,
		     const struct uk_addr *src, int ifindex)
{
	unsigned char control[UK_PKTINFO_SPACE];
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr m;
	ssize_t n;

	memset(&m, 0, sizeof(m));
	if (peer) {
		m.msg_name = (void *)&peer->u;
		m.msg_namelen = peer->len;
	}
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_controllen = uk_sock_pktinfo_cmsg(control, sizeof(control), src, ifindex);
	if (m.msg_controllen)
		m.msg_control = control;
	do {
		n = sendmsg(fd, &m, 0);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

ssize_t uk_sock_recv_error(int fd, void *buf, size_t cap, struct uk_sock_error *e)
{
	union {
		char buf[512];
		struct cmsghdr align;
	} control;
	struct iovec iov = {buf, cap};
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = control.buf,
			   .msg_controllen = sizeof(control.buf)};
	ssize_t n;

	memset(e, 0, sizeof(*e));
	do
		n = recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		const struct sock_extended_err *ee;
		const struct sockaddr *off;
		if (!((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
		      (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)))
			continue;
		ee = (const struct sock_extended_err *)(const void *)CMSG_DATA(c);
		e->err = -(int)ee->ee_errno;
		e->origin = ee->ee_origin;
		e->type = ee->ee_type;
		e->code = ee->ee_code;
		off = SO_EE_OFFENDER(ee);
		if (off->sa_family == AF_INET || off->sa_family == AF_INET6) {
			size_t len = off->sa_family == AF_INET ? sizeof(struct sockaddr_in)
							       : sizeof(struct sockaddr_in6);
			memcpy(&e->from.u, off, len);
			e->from.len = (socklen_t)len;
			e->has_from = true;
		}
	}
	return n;
}
