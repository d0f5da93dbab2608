/* Unit tests for lib/sock.c and lib/batch.c over real loopback sockets
 * (127.0.0.0/8 and ::1 only, port 0, receive timeouts so nothing hangs):
 * truncation is reported with the real size, the destination address of a
 * datagram is learnt on a wildcard socket and a reply can leave from it,
 * and recvmmsg/sendmmsg batches move several datagrams each way. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <cmocka.h>

#include "udpkit/addr.h"
#include "udpkit/batch.h"
#include "udpkit/err.h"
#include "udpkit/mcast.h"
#include "udpkit/sock.h"

static bool dual_stack; /* open_bound() binds v6 sockets with v6only=0 */

static struct uk_addr addr(const char *text)
{
	struct uk_addr a;
	if (uk_addr_parse_hostport_flags(&a, text, 0, AF_UNSPEC, UK_ADDR_NUMERIC) != 0)
		fail_msg("cannot parse %s", text);
	return a;
}

/* Every socket a test receives on gets a 2 s timeout: a lost datagram
 * fails the test instead of hanging it. */
static void timeout(int fd)
{
	struct timeval tv = {.tv_sec = 2};
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
}

/* Opens a socket bound to text (port 0) and returns it; *bound gets the
 * real address. Skips the test when the address family is unavailable. */
static int open_bound(const char *text, bool pktinfo, struct uk_addr *bound)
{
	struct uk_sock_opts o = {.v6only = dual_stack ? 0 : 1, .pktinfo = pktinfo};
	struct uk_addr a = addr(text);
	int fd = uk_sock_open(&a, &o);
	if (fd == -EAFNOSUPPORT || fd == -EADDRNOTAVAIL)
		skip();
	assert_true(fd >= 0);
	timeout(fd);
	assert_int_equal(uk_sock_local(fd, bound), 0);
	assert_int_not_equal(uk_addr_port(bound), 0);
	return fd;
}

/* The address to send to for a socket bound to a wildcard: host:port. */
static struct uk_addr target(const char *host, const struct uk_addr *bound)
{
	struct uk_addr a = addr(host);
	uk_addr_set_port(&a, uk_addr_port(bound));
	return a;
}

static void test_open_local_wildcard(void **state)
{
	struct uk_addr b;
	int fd;
	(void)state;
	fd = open_bound("127.0.0.1:0", false, &b);
	assert_true(uk_addr_is_loopback(&b));
	assert_false(uk_sock_is_wildcard(fd));
	close(fd);
	fd = open_bound("0.0.0.0:0", false, &b);
	assert_true(uk_sock_is_wildcard(fd));
	close(fd);
	fd = open_bound("[::]:0", false, &b);
	assert_true(uk_sock_is_wildcard(fd));
	assert_int_equal(uk_addr_family(&b), AF_INET6);
	close(fd);
	/* Errors come back as -errno. */
	assert_int_equal(uk_sock_local(-1, &b), -EBADF);
	{
		struct uk_addr a = addr("192.0.2.1:1");
		assert_int_equal(uk_sock_open(&a, NULL), -EADDRNOTAVAIL);
	}
}

static void test_recv_reports_truncation(void **state)
{
	unsigned char big[3000], buf[100], buf2[4000];
	struct uk_addr rb, sb;
	struct uk_dgram d = {.buf = buf, .cap = sizeof(buf)};
	int r, s;
	(void)state;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(i * 7);
	r = open_bound("127.0.0.1:0", false, &rb);
	s = open_bound("127.0.0.1:0", false, &sb);
	assert_int_equal(uk_sock_send(s, big, sizeof(big), &rb, NULL, 0), (ssize_t)sizeof(big));
	assert_int_equal(uk_sock_recv(r, &d), 100);
	assert_true(d.truncated);
	assert_int_equal(d.len, 100);
	assert_int_equal(d.wire_len, 3000);
	assert_memory_equal(buf, big, 100);
	assert_true(uk_addr_equal(&d.peer, &sb));
	assert_false(d.has_dst); /* pktinfo was not asked for */

	/* An exact fit is not truncated. */
	d.buf = buf2;
	d.cap = sizeof(big);
	assert_int_equal(uk_sock_send(s, big, sizeof(big), &rb, NULL, 0), (ssize_t)sizeof(big));
	assert_int_equal(uk_sock_recv(r, &d), 3000);
	assert_false(d.truncated);
	assert_int_equal(d.wire_len, 3000);
	assert_memory_equal(buf2, big, sizeof(big));

	/* An empty datagram is a datagram. */
	assert_int_equal(uk_sock_send(s, "", 0, &rb, NULL, 0), 0);
	assert_int_equal(uk_sock_recv(r, &d), 0);
	assert_false(d.truncated);
	assert_int_equal(d.wire_len, 0);
	close(r);
	close(s);
}

static void test_recv_nonblocking_empty(void **state)
{
	struct uk_sock_opts o = {.v6only = -1, .nonblock = true};
	struct uk_addr a = addr("127.0.0.1:0");
	unsigned char buf[16];
	struct uk_dgram d = {.buf = buf, .cap = sizeof(buf)};
	int fd = uk_sock_open(&a, &o);
	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(uk_sock_recv(fd, &d), -EAGAIN);
	close(fd);
}

/* A wildcard socket learns which address each datagram was sent to, and a
 * reply sent with that as its source leaves from it. 127.0.0.2 is on lo
 * but is not the address the kernel would pick for a reply to 127.0.0.1. */
static void check_pktinfo_reply(const char *wildcard, const char *client_bind, const char *to,
				const char *want_dst)
{
	unsigned char buf[64];
	struct uk_addr sb, cb, dst_to, want = addr(want_dst);
	struct uk_dgram d = {.buf = buf, .cap = sizeof(buf)};
	int srv, cli;

	srv = open_bound(wildcard, true, &sb);
	cli = open_bound(client_bind, false, &cb);
	assert_true(uk_sock_is_wildcard(srv));
	dst_to = target(to, &sb);
	assert_int_equal(uk_sock_send(cli, "question", 8, &dst_to, NULL, 0), 8);
	assert_int_equal(uk_sock_recv(srv, &d), 8);
	assert_true(d.has_dst);
	assert_true(uk_addr_same_host(&d.dst, &want));
	assert_int_equal(uk_addr_port(&d.dst), 0);
	assert_true(d.ifindex > 0);
	assert_true(uk_addr_equal(&d.peer, &cb));

	/* The reply goes out from d.dst: the client sees it come from there. */
	assert_int_equal(uk_sock_send(srv, "answer", 6, &d.peer, &d.dst, d.ifindex), 6);
	d.has_dst = false;
	assert_int_equal(uk_sock_recv(cli, &d), 6);
	assert_memory_equal(buf, "answer", 6);
	assert_true(uk_addr_same_host(&d.peer, &want));
	assert_int_equal(uk_addr_port(&d.peer), uk_addr_port(&sb));
	close(srv);
	close(cli);
}

static void test_pktinfo_v4(void **state)
{
	(void)state;
	check_pktinfo_reply("0.0.0.0:0", "127.0.0.1:0", "127.0.0.2", "127.0.0.2");
	check_pktinfo_reply("0.0.0.0:0", "127.0.0.1:0", "127.0.0.1", "127.0.0.1");
}

static void test_pktinfo_v6(void **state)
{
	(void)state;
	check_pktinfo_reply("[::]:0", "[::1]:0", "::1", "::1");
}

static void test_pktinfo_dual_stack(void **state)
{
	/* An IPv4 datagram on a dual-stack [::] socket: its destination is
	 * learnt (v4-mapped or v4) and the reply still leaves from it. */
	(void)state;
	dual_stack = true;
	check_pktinfo_reply("[::]:0", "127.0.0.1:0", "127.0.0.2", "127.0.0.2");
	dual_stack = false;
}

static void test_send_without_src_uses_route(void **state)
{
	/* The control case for test_pktinfo_v4: without a source the reply to
	 * 127.0.0.1 leaves from 127.0.0.1, not from 127.0.0.2. */
	unsigned char buf[64];
	struct uk_addr sb, cb, to, lo2 = addr("127.0.0.2:0");
	struct uk_dgram d = {.buf = buf, .cap = sizeof(buf)};
	int srv, cli;
	(void)state;
	srv = open_bound("0.0.0.0:0", true, &sb);
	cli = open_bound("127.0.0.1:0", false, &cb);
	to = target("127.0.0.2", &sb);
	assert_int_equal(uk_sock_send(cli, "q", 1, &to, NULL, 0), 1);
	assert_int_equal(uk_sock_recv(srv, &d), 1);
	assert_true(uk_addr_same_host(&d.dst, &lo2));
	assert_int_equal(uk_sock_send(srv, "a", 1, &d.peer, NULL, 0), 1);
	assert_int_equal(uk_sock_recv(cli, &d), 1);
	assert_false(uk_addr_same_host(&d.peer, &lo2));
	close(srv);
	close(cli);
}

static void test_pktinfo_cmsg_edges(void **state)
{
	unsigned char control[UK_PKTINFO_SPACE];
	struct uk_addr any, lo = addr("127.0.0.1:0");
	(void)state;
	uk_addr_any(&any, AF_INET, 0);
	assert_int_equal(uk_sock_pktinfo_cmsg(control, sizeof(control), NULL, 0), 0);
	assert_int_equal(uk_sock_pktinfo_cmsg(control, sizeof(control), &any, 0), 0);
	assert_int_equal(uk_sock_pktinfo_cmsg(control, UK_PKTINFO_SPACE - 1, &lo, 0), 0);
	assert_true(uk_sock_pktinfo_cmsg(control, sizeof(control), &lo, 1) > 0);
}

static void test_connected_refused(void **state)
{
	/* A connected socket hears the ICMP port unreachable from loopback. */
	struct uk_sock_opts o = {.v6only = -1, .recv_err = true};
	struct uk_addr b;
	unsigned char buf[16];
	struct uk_dgram d = {.buf = buf, .cap = sizeof(buf)};
	int closed = open_bound("127.0.0.1:0", false, &b), fd;
	ssize_t rc;
	(void)state;
	close(closed); /* nobody listens on b now */
	fd = uk_sock_open_connected(&b, &o);
	assert_true(fd >= 0);
	timeout(fd);
	assert_int_equal(uk_sock_send(fd, "x", 1, NULL, NULL, 0), 1);
	rc = uk_sock_recv(fd, &d);
	assert_int_equal(rc, -ECONNREFUSED);
	close(fd);
}

static void test_batch_round_trip(void **state)
{
	static const size_t sizes[] = {1, 0, 100, 2048, 3000, 17};
	enum { N = sizeof(sizes) / sizeof(sizes[0]) };
	static unsigned char msg[N][3000], buf[4096];
	struct uk_batch b;
	struct uk_addr sb, cb, to, lo2 = addr("127.0.0.2:0");
	struct uk_dgram d = {.buf = buf, .cap = sizeof(buf)};
	int srv, cli, got = 0, sent;
	(void)state;
	assert_int_equal(uk_batch_init(&b, 0, 100), -EINVAL);
	assert_int_equal(uk_batch_init(&b, UK_BATCH_MAX + 1, 100), -EINVAL);
	assert_int_equal(uk_batch_init(&b, 8, 2048), 0);
	srv = open_bound("0.0.0.0:0", true, &sb);
	cli = open_bound("127.0.0.1:0", false, &cb);
	to = target("127.0.0.2", &sb);
	for (int i = 0; i < N; i++) {
		for (size_t k = 0; k < sizes[i]; k++)
			msg[i][k] = (unsigned char)(i * 31 + (int)k);
		assert_int_equal(uk_sock_send(cli, msg[i], sizes[i], &to, NULL, 0),
				 (ssize_t)sizes[i]);
	}
	/* Loopback delivers synchronously, so one call usually gets all of
	 * them; loop anyway, the receive timeout bounds it. */
	while (got < N) {
		int n = uk_batch_recv(srv, &b);
		assert_true(n >= 1);
		for (int i = 0; i < n; i++) {
			struct uk_batch_slot *s = &b.slots[i];
			size_t want = sizes[got + i];
			assert_int_equal(s->wire_len, want);
			assert_int_equal(s->truncated, want > 2048);
			assert_int_equal(s->len, want > 2048 ? 2048 : want);
			assert_memory_equal(s->data, msg[got + i], s->len);
			assert_true(uk_addr_equal(&s->peer, &cb));
			assert_true(s->has_dst);
			assert_true(uk_addr_same_host(&s->dst, &lo2));
			/* Answer all but the truncated one, reversed. */
			s->send = !s->truncated;
			for (size_t k = 0; k < s->len / 2; k++) {
				unsigned char t = s->data[k];
				s->data[k] = s->data[s->len - 1 - k];
				s->data[s->len - 1 - k] = t;
			}
			s->out = s->data;
			s->out_len = s->len;
		}
		sent = uk_batch_send(srv, &b, n, true, NULL);
		{
			int wanted = 0;
			for (int i = 0; i < n; i++)
				wanted += b.slots[i].send;
			assert_int_equal(sent, wanted);
		}
		got += n;
	}
	for (int i = 0; i < N; i++) {
		if (sizes[i] > 2048)
			continue;
		assert_int_equal(uk_sock_recv(cli, &d), (ssize_t)sizes[i]);
		for (size_t k = 0; k < sizes[i]; k++)
			assert_int_equal(buf[k], msg[i][sizes[i] - 1 - k]);
		/* pktinfo: the replies come from the address they were sent to. */
		assert_true(uk_addr_same_host(&d.peer, &lo2));
		assert_int_equal(uk_addr_port(&d.peer), uk_addr_port(&sb));
	}
	/* Nothing else arrives (the truncated one was not answered). */
	{
		struct timeval tv = {.tv_usec = 100000};
		assert_int_equal(setsockopt(cli, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
		assert_int_equal(uk_sock_recv(cli, &d), -EAGAIN);
	}
	/* Sending nothing sends nothing. */
	for (int i = 0; i < 8; i++)
		b.slots[i].send = false;
	assert_int_equal(uk_batch_send(srv, &b, 8, true, NULL), 0);
	close(srv);
	close(cli);
	uk_batch_free(&b);
	assert_null(b.memory);
}

/* The single-datagram path the echo worker uses under sparse traffic. */
static void test_batch_recv_one(void **state)
{
	static unsigned char big[3000];
	struct uk_batch b;
	struct uk_addr sb, cb, to, lo2 = addr("127.0.0.2:0");
	int srv, cli;
	(void)state;
	assert_int_equal(uk_batch_init(&b, 4, 1000), 0);
	srv = open_bound("0.0.0.0:0", true, &sb);
	cli = open_bound("127.0.0.1:0", false, &cb);
	to = target("127.0.0.2", &sb);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(i ^ 0x5a);

	for (int with_pktinfo = 0; with_pktinfo < 2; with_pktinfo++) {
		struct uk_batch_slot *s = &b.slots[0];
		/* Cut: the real size is reported. */
		assert_int_equal(uk_sock_send(cli, big, sizeof(big), &to, NULL, 0), 3000);
		assert_int_equal(uk_batch_recv_one(srv, &b, with_pktinfo), 1);
		assert_true(s->truncated);
		assert_int_equal(s->wire_len, 3000);
		assert_int_equal(s->len, 1000);
		assert_memory_equal(s->data, big, 1000);
		assert_true(uk_addr_equal(&s->peer, &cb));
		assert_int_equal(s->has_dst, with_pktinfo);
		if (with_pktinfo)
			assert_true(uk_addr_same_host(&s->dst, &lo2));
		/* Whole, then answered through uk_batch_send. */
		assert_int_equal(uk_sock_send(cli, big, 999, &to, NULL, 0), 999);
		assert_int_equal(uk_batch_recv_one(srv, &b, with_pktinfo), 1);
		assert_false(s->truncated);
		assert_int_equal(s->len, 999);
		s->out = s->data;
		s->out_len = 5;
		s->send = true;
		assert_int_equal(uk_batch_send(srv, &b, 1, true, NULL), 1);
		{
			unsigned char buf[16];
			struct uk_dgram d = {.buf = buf, .cap = sizeof(buf)};
			assert_int_equal(uk_sock_recv(cli, &d), 5);
			assert_memory_equal(buf, big, 5);
			/* From 127.0.0.2 only when the destination was learnt. */
			assert_int_equal(uk_addr_same_host(&d.peer, &lo2), with_pktinfo);
		}
	}
	/* After a send, a batch receive sets its headers up again. */
	assert_int_equal(uk_sock_send(cli, "again", 5, &to, NULL, 0), 5);
	assert_int_equal(uk_batch_recv(srv, &b), 1);
	assert_int_equal(b.slots[0].len, 5);
	assert_memory_equal(b.slots[0].data, "again", 5);
	assert_true(uk_addr_equal(&b.slots[0].peer, &cb));
	assert_true(b.slots[0].has_dst);
	close(srv);
	close(cli);
	uk_batch_free(&b);
}

static void test_batch_v6(void **state)
{
	struct uk_batch b;
	struct uk_addr sb, cb, to;
	unsigned char buf[64];
	struct uk_dgram d = {.buf = buf, .cap = sizeof(buf)};
	int srv, cli, n;
	(void)state;
	srv = open_bound("[::]:0", true, &sb);
	cli = open_bound("[::1]:0", false, &cb);
	to = target("::1", &sb);
	assert_int_equal(uk_batch_init(&b, 4, 64), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(uk_sock_send(cli, "abc", 3, &to, NULL, 0), 3);
	n = 0;
	while (n < 3) {
		int k = uk_batch_recv(srv, &b);
		assert_true(k >= 1);
		for (int i = 0; i < k; i++) {
			assert_true(b.slots[i].has_dst);
			assert_int_equal(uk_addr_family(&b.slots[i].dst), AF_INET6);
			assert_true(uk_addr_is_loopback(&b.slots[i].dst));
			b.slots[i].out = (const unsigned char *)"xyz!";
			b.slots[i].out_len = 4;
			b.slots[i].send = true;
		}
		assert_int_equal(uk_batch_send(srv, &b, k, true, NULL), k);
		n += k;
	}
	for (int i = 0; i < 3; i++) {
		assert_int_equal(uk_sock_recv(cli, &d), 4);
		assert_memory_equal(buf, "xyz!", 4);
		assert_true(uk_addr_equal(&d.peer, &to));
	}
	close(srv);
	close(cli);
	uk_batch_free(&b);
}

static int get_int(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);
	assert_int_equal(getsockopt(fd, level, name, &v, &len), 0);
	return v;
}

/* Every option of uk_sock_opts reaches the socket, in both families. */
static void test_options_applied(void **state)
{
	struct uk_sock_opts o = {.reuse_addr = true,
				 .reuse_port = true,
				 .broadcast = true,
				 .pktinfo = true,
				 .nonblock = true,
				 .recv_err = true,
				 .v6only = 1,
				 .rcvbuf_bytes = 65536,
				 .sndbuf_bytes = 65536,
				 .ttl = 7};
	struct uk_addr v4 = addr("127.0.0.1:0"), v6 = addr("[::1]:0");
	int fd;
	(void)state;
	fd = uk_sock_open(&v4, &o);
	assert_true(fd >= 0);
	assert_int_equal(get_int(fd, SOL_SOCKET, SO_REUSEADDR), 1);
	assert_int_equal(get_int(fd, SOL_SOCKET, SO_REUSEPORT), 1);
	assert_int_equal(get_int(fd, SOL_SOCKET, SO_BROADCAST), 1);
	assert_true(get_int(fd, SOL_SOCKET, SO_RCVBUF) >= 65536); /* the kernel doubles it */
	assert_true(get_int(fd, SOL_SOCKET, SO_SNDBUF) >= 65536);
	assert_int_equal(get_int(fd, IPPROTO_IP, IP_PKTINFO), 1);
	assert_int_equal(get_int(fd, IPPROTO_IP, IP_TTL), 7);
	assert_int_equal(get_int(fd, IPPROTO_IP, IP_MULTICAST_TTL), 7);
	assert_int_equal(get_int(fd, IPPROTO_IP, IP_RECVERR), 1);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(fd);
	fd = uk_sock_open(&v6, &o);
	if (fd == -EAFNOSUPPORT || fd == -EADDRNOTAVAIL)
		skip();
	assert_true(fd >= 0);
	assert_int_equal(get_int(fd, IPPROTO_IPV6, IPV6_V6ONLY), 1);
	assert_int_equal(get_int(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO), 1);
	assert_int_equal(get_int(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS), 7);
	assert_int_equal(get_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS), 7);
	assert_int_equal(get_int(fd, IPPROTO_IPV6, IPV6_RECVERR), 1);
	close(fd);
}

/* A failing option closes the socket and says why; so does a failing bind
 * or connect. */
static void test_option_errors(void **state)
{
	struct uk_sock_opts bad_if = {.v6only = -1, .ifname = "uk-no-such-if0"};
	struct uk_sock_opts bad_ttl = {.v6only = -1, .ttl = 1000};
	struct uk_addr v4 = addr("127.0.0.1:0"), v6 = addr("[::1]:0"), any6 = addr("[::]:9");
	struct uk_addr taken;
	int fd, fd2;
	(void)state;
	/* SO_BINDTODEVICE: ENODEV as root, EPERM without CAP_NET_RAW. */
	fd = uk_sock_open(&v4, &bad_if);
	assert_true(fd == -ENODEV || fd == -EPERM);
	assert_int_equal(uk_sock_open(&v4, &bad_ttl), -EINVAL);
	fd = uk_sock_open(&v6, &bad_ttl);
	assert_true(fd == -EINVAL || fd == -EAFNOSUPPORT || fd == -EADDRNOTAVAIL);
	assert_int_equal(uk_sock_open_connected(&v4, &bad_ttl), -EINVAL);
	/* connect() to port 0 is refused by the kernel. */
	fd = uk_sock_open_connected(&any6, NULL);
	assert_true(fd >= 0 || fd == -EAFNOSUPPORT || fd == -ENETUNREACH);
	if (fd >= 0)
		close(fd);
	/* bind() to a port in use. */
	fd = uk_sock_open(&v4, NULL);
	assert_true(fd >= 0);
	assert_int_equal(uk_sock_local(fd, &taken), 0);
	fd2 = uk_sock_open(&taken, NULL);
	assert_int_equal(fd2, -EADDRINUSE);
	close(fd);
	/* A closed descriptor. */
	assert_int_equal(uk_sock_local(fd, &taken), -EBADF);
}

/* With gso: a peer's equal replies leave as one UDP_SEGMENT send, which the
 * receiver (no UDP_GRO) still gets datagram by datagram, in order; a reply
 * of another size, or to another peer, ends a run. */
static void test_batch_send_gso_runs(void **state)
{
	struct uk_batch b;
	struct uk_addr sb, cb, to;
	unsigned char buf[64];
	struct uk_dgram d = {.buf = buf, .cap = sizeof(buf)};
	static const char *const out[] = {"aa", "bb", "cc", "ddd", "ee", "ff"};
	bool gso = true;
	int srv, cli;

	(void)state;
	assert_int_equal(uk_batch_init(&b, 8, 100), 0);
	srv = open_bound("127.0.0.1:0", false, &sb);
	cli = open_bound("127.0.0.1:0", false, &cb);
	to = target("127.0.0.1", &sb);
	for (int i = 0; i < 6; i++) {
		b.slots[i].peer = to;
		b.slots[i].send = i != 4; /* a slot not answered between two runs */
		b.slots[i].has_dst = false;
		b.slots[i].out = (const unsigned char *)out[i];
		b.slots[i].out_len = strlen(out[i]);
	}
	assert_int_equal(uk_batch_send(cli, &b, 6, false, &gso), 5);
	assert_true(gso);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(b.slots[i].send, i != 4); /* as the caller set them */
		if (i == 4)
			continue;
		assert_int_equal(uk_sock_recv(srv, &d), (ssize_t)strlen(out[i]));
		assert_memory_equal(buf, out[i], strlen(out[i]));
	}
	close(srv);
	close(cli);
	uk_batch_free(&b);
}

/* The batch calls on a bad descriptor return -errno, and one datagram the
 * kernel refuses (too big) does not stop the others of its batch. */
static void test_batch_errors(void **state)
{
	static unsigned char big[70000];
	struct uk_batch b;
	struct uk_addr sb, cb, to;
	unsigned char buf[64];
	struct uk_dgram d = {.buf = buf, .cap = sizeof(buf)};
	int srv, cli;
	(void)state;
	assert_int_equal(uk_batch_init(&b, 4, 100), 0);
	assert_int_equal(uk_batch_recv(-1, &b), -EBADF);
	assert_int_equal(uk_batch_recv_one(-1, &b, false), -EBADF);
	assert_int_equal(uk_batch_recv_one(-1, &b, true), -EBADF);

	srv = open_bound("127.0.0.1:0", false, &sb);
	cli = open_bound("127.0.0.1:0", false, &cb);
	to = target("127.0.0.1", &sb);
	for (int i = 0; i < 3; i++) {
		b.slots[i].peer = to;
		b.slots[i].send = true;
		b.slots[i].has_dst = false;
	}
	b.slots[0].out = big; /* EMSGSIZE */
	b.slots[0].out_len = sizeof(big);
	b.slots[1].out = (const unsigned char *)"one";
	b.slots[1].out_len = 3;
	b.slots[2].out = (const unsigned char *)"two";
	b.slots[2].out_len = 3;
	assert_int_equal(uk_batch_send(cli, &b, 3, false, NULL), 2);
	assert_int_equal(uk_sock_recv(srv, &d), 3);
	assert_memory_equal(buf, "one", 3);
	assert_int_equal(uk_sock_recv(srv, &d), 3);
	assert_memory_equal(buf, "two", 3);
	/* Alone, the refused one is 0 sent (the single-datagram path). */
	b.slots[1].send = b.slots[2].send = false;
	assert_int_equal(uk_batch_send(cli, &b, 3, false, NULL), 0);
	/* Nothing to send at all. */
	b.slots[0].send = false;
	assert_int_equal(uk_batch_send(cli, &b, 3, false, NULL), 0);
	close(srv);
	close(cli);
	uk_batch_free(&b);
}

/* Multicast options that are plain setsockopt()s (no group is joined
 * here: a join would send IGMP/MLD reports): IP(V6)_MULTICAST_ALL off,
 * the outgoing interface, and the errors. */
static void test_mcast_options(void **state)
{
	struct uk_addr v4 = addr("127.0.0.1:0"), v6 = addr("[::1]:0"), uni = addr("10.0.0.1");
	struct uk_sock_opts o6 = {.v6only = 1};
	int fd;
	(void)state;
	fd = uk_sock_open(&v4, NULL);
	assert_true(fd >= 0);
	assert_int_equal(uk_mcast_set_all(fd, AF_INET, false), 0);
	assert_int_equal(get_int(fd, IPPROTO_IP, IP_MULTICAST_ALL), 0);
	assert_int_equal(uk_mcast_set_if(fd, AF_INET, 1), 0);
	/* Not a group: refused before any system call. */
	assert_int_equal(uk_mcast_join(fd, &uni, 1), -EINVAL);
	close(fd);
	assert_int_equal(uk_mcast_set_all(fd, AF_INET, false), -EBADF);
	assert_int_equal(uk_mcast_set_all(fd, AF_INET6, false), -EBADF);
	assert_int_equal(uk_mcast_set_if(fd, AF_INET, 1), -EBADF);

	fd = uk_sock_open(&v6, &o6);
	if (fd == -EAFNOSUPPORT || fd == -EADDRNOTAVAIL)
		skip();
	assert_true(fd >= 0);
	/* v6-only: the IPv4 half does not apply and is not an error. */
	assert_int_equal(uk_mcast_set_all(fd, AF_INET6, false), 0);
	assert_int_equal(get_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL), 0);
	assert_int_equal(uk_mcast_set_if(fd, AF_INET6, 1), 0);
	assert_int_equal(get_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF), 1);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_local_wildcard),
	    cmocka_unit_test(test_recv_reports_truncation),
	    cmocka_unit_test(test_recv_nonblocking_empty),
	    cmocka_unit_test(test_pktinfo_v4),
	    cmocka_unit_test(test_pktinfo_v6),
	    cmocka_unit_test(test_pktinfo_dual_stack),
	    cmocka_unit_test(test_send_without_src_uses_route),
	    cmocka_unit_test(test_pktinfo_cmsg_edges),
	    cmocka_unit_test(test_connected_refused),
	    cmocka_unit_test(test_batch_round_trip),
	    cmocka_unit_test(test_batch_recv_one),
	    cmocka_unit_test(test_batch_v6),
	    cmocka_unit_test(test_options_applied),
	    cmocka_unit_test(test_option_errors),
	    cmocka_unit_test(test_batch_send_gso_runs),
	    cmocka_unit_test(test_batch_errors),
	    cmocka_unit_test(test_mcast_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
