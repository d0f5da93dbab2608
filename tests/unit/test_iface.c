/* Unit tests for the pure parts of broadcast and listen: target selection
 * from a fabricated interface list (lib/iface.c), the listener's decisions
 * (lib/listen.c), the responder table (lib/responders.c) and group matching
 * (lib/mcast.c). No sockets, no clocks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "udpkit/clock.h"
#include "udpkit/iface.h"
#include "udpkit/listen.h"
#include "udpkit/mcast.h"
#include "udpkit/responders.h"

static struct uk_addr ip(const char *text, uint16_t port)
{
	struct uk_addr a;
	assert_int_equal(uk_addr_parse(&a, text, port, AF_UNSPEC), 0);
	return a;
}

static void add_addr(struct uk_iface *ifc, const char *addr, unsigned prefix, const char *brd)
{
	struct uk_iface_addr *a = &ifc->addrs[ifc->n_addrs++];
	memset(a, 0, sizeof(*a));
	a->addr = ip(addr, 0);
	a->prefix_len = prefix;
	if (brd) {
		a->broadcast = ip(brd, 0);
		a->has_broadcast = true;
	}
}

static void make_iface(struct uk_iface *ifc, const char *name, unsigned index, unsigned flags)
{
	memset(ifc, 0, sizeof(*ifc));
	snprintf(ifc->name, sizeof(ifc->name), "%s", name);
	ifc->index = index;
	ifc->flags = flags;
	ifc->mtu = 1500;
}

#define UPB (UK_IFACE_UP | UK_IFACE_RUNNING | UK_IFACE_BROADCAST | UK_IFACE_MULTICAST)

/* lo, eth0 (two addresses in one /24), eth1 (down), tun0 (point-to-point),
 * eth2 (IPv6 only), wlan0 (a /16), eth3 (IPv4 without a broadcast). */
static struct uk_iface fake[7];
static struct uk_iface_list fake_list = {fake, 7};

static void build_fake(void)
{
	make_iface(&fake[0], "lo", 1, UK_IFACE_UP | UK_IFACE_RUNNING | UK_IFACE_LOOPBACK);
	add_addr(&fake[0], "127.0.0.1", 8, NULL);
	make_iface(&fake[1], "eth0", 2, UPB);
	add_addr(&fake[1], "192.168.1.10", 24, "192.168.1.255");
	add_addr(&fake[1], "192.168.1.11", 24, "192.168.1.255");
	add_addr(&fake[1], "fe80::1", 64, NULL);
	make_iface(&fake[2], "eth1", 3, UK_IFACE_BROADCAST | UK_IFACE_MULTICAST);
	add_addr(&fake[2], "172.16.0.1", 24, "172.16.0.255");
	make_iface(&fake[3], "tun0", 4,
		   UK_IFACE_UP | UK_IFACE_RUNNING | UK_IFACE_P2P | UK_IFACE_MULTICAST);
	add_addr(&fake[3], "10.8.0.2", 32, NULL);
	make_iface(&fake[4], "eth2", 5, UPB);
	add_addr(&fake[4], "2001:db8::5", 64, NULL);
	make_iface(&fake[5], "wlan0", 6, UPB);
	add_addr(&fake[5], "10.0.0.5", 16, "10.0.255.255");
	make_iface(&fake[6], "eth3", 7, UPB);
	add_addr(&fake[6], "10.9.0.1", 24, NULL);
}

static void test_targets_default(void **state)
{
	struct uk_iface_target t[8];
	enum uk_iface_skip why[7];
	char text[UK_ADDR_STRLEN];
	(void)state;
	build_fake();
	size_t n = uk_iface_broadcast_targets(&fake_list, NULL, 8086, t, 8, why);
	assert_int_equal(n, 2);
	assert_string_equal(uk_addr_format(&t[0].dst, text, sizeof(text)), "192.168.1.255:8086");
	assert_string_equal(uk_addr_ip(&t[0].src, text, sizeof(text)), "192.168.1.10");
	assert_int_equal(t[0].ifindex, 2);
	assert_int_equal(t[0].iface, 1);
	assert_string_equal(uk_addr_format(&t[1].dst, text, sizeof(text)), "10.0.255.255:8086");
	assert_int_equal(why[0], UK_IFACE_SKIP_LOOPBACK);
	assert_int_equal(why[1], UK_IFACE_USE);
	assert_int_equal(why[2], UK_IFACE_SKIP_DOWN);
	assert_int_equal(why[3], UK_IFACE_SKIP_NOBCAST);
	assert_int_equal(why[4], UK_IFACE_SKIP_NOADDR);
	assert_int_equal(why[5], UK_IFACE_USE);
	assert_int_equal(why[6], UK_IFACE_SKIP_NOADDR);
	assert_string_equal(uk_iface_skip_text(why[0]), "loopback");
}

static void test_targets_filter_and_cap(void **state)
{
	struct uk_iface_target t[8];
	enum uk_iface_skip why[7];
	(void)state;
	build_fake();
	assert_int_equal(uk_iface_broadcast_targets(&fake_list, "wlan0", 1, t, 8, why), 1);
	assert_int_equal(why[1], UK_IFACE_SKIP_FILTER);
	assert_int_equal(why[5], UK_IFACE_USE);
	assert_int_equal(t[0].ifindex, 6);
	/* Asking for loopback names the real reason, not the filter. */
	assert_int_equal(uk_iface_broadcast_targets(&fake_list, "lo", 1, t, 8, why), 0);
	assert_int_equal(why[0], UK_IFACE_SKIP_LOOPBACK);
	assert_int_equal(uk_iface_broadcast_targets(&fake_list, "nope", 1, t, 8, NULL), 0);
	assert_int_equal(uk_iface_broadcast_targets(&fake_list, NULL, 1, t, 1, NULL), 1);
	assert_int_equal(uk_iface_broadcast_targets(&fake_list, NULL, 1, t, 0, NULL), 0);
	struct uk_iface_list empty = {NULL, 0};
	assert_int_equal(uk_iface_broadcast_targets(&empty, NULL, 1, t, 8, NULL), 0);
}

static void test_local_and_broadcast(void **state)
{
	(void)state;
	build_fake();
	struct uk_addr a = ip("192.168.1.11", 999), b = ip("192.168.1.255", 1),
		       c = ip("10.0.0.6", 0);
	struct uk_addr d = ip("255.255.255.255", 0), e = ip("::ffff:10.0.255.255", 0),
		       f = ip("fe80::1", 0);
	assert_true(uk_iface_is_local(&fake_list, &a));
	assert_true(uk_iface_is_local(&fake_list, &f));
	assert_false(uk_iface_is_local(&fake_list, &c));
	assert_true(uk_iface_is_broadcast(&fake_list, &b));
	assert_true(uk_iface_is_broadcast(&fake_list, &d));
	assert_true(uk_iface_is_broadcast(&fake_list, &e));
	assert_false(uk_iface_is_broadcast(&fake_list, &a));
	assert_non_null(uk_iface_find(&fake_list, "tun0"));
	assert_null(uk_iface_find(&fake_list, "tun1"));
}

static void test_multicast_skip_and_flags(void **state)
{
	char buf[64];
	(void)state;
	build_fake();
	assert_int_equal(uk_iface_multicast_skip(&fake[0]), UK_IFACE_SKIP_NOMCAST);
	assert_int_equal(uk_iface_multicast_skip(&fake[1]), UK_IFACE_USE);
	assert_int_equal(uk_iface_multicast_skip(&fake[2]), UK_IFACE_SKIP_DOWN);
	assert_int_equal(uk_iface_multicast_skip(&fake[3]), UK_IFACE_USE);
	assert_string_equal(uk_iface_flags_text(fake[1].flags, buf, sizeof(buf)),
			    "UP,RUNNING,BROADCAST,MULTICAST");
	assert_string_equal(uk_iface_flags_text(0, buf, sizeof(buf)), "");
	uk_iface_flags_text(fake[1].flags, buf, 8); /* cut, still terminated */
	assert_true(strlen(buf) < 8);
}

static void test_same_group(void **state)
{
	(void)state;
	struct uk_addr a = ip("239.1.2.3", 1), b = ip("::ffff:239.1.2.3", 2), c = ip("ff02::1", 0);
	struct uk_addr d = ip("ff02::1", 5), e = ip("239.1.2.4", 1);
	assert_true(uk_mcast_same_group(&a, &b));
	assert_true(uk_mcast_same_group(&c, &d));
	assert_false(uk_mcast_same_group(&a, &e));
	assert_false(uk_mcast_same_group(&a, &c));
}

static struct uk_listen new_listener(uint32_t rate, uint64_t jitter_ns, bool no_reply)
{
	struct uk_listen l;
	struct uk_listen_cfg cfg = {.guard = {.rate_pps = rate, .limit_loopback = true},
				    .jitter_max_ns = jitter_ns,
				    .no_reply = no_reply,
				    .port = 8086,
				    .sources = 64};
	build_fake();
	assert_int_equal(uk_listen_init(&l, &cfg, &fake_list), 0);
	return l;
}

static void test_listen_kinds_and_jitter(void **state)
{
	struct uk_listen l = new_listener(0, 50 * UK_NS_PER_MS, false);
	struct uk_listen_decision d;
	struct uk_addr src = ip("192.168.1.20", 40000), uni = ip("192.168.1.10", 8086);
	struct uk_addr dir = ip("192.168.1.255", 8086), lim = ip("255.255.255.255", 8086);
	struct uk_addr grp = ip("239.77.0.1", 8086), other = ip("239.77.0.2", 8086);
	(void)state;

	uk_listen_decide(&l, &src, &uni, (const unsigned char *)"x", 1, 1000, 0xffffffffu, &d);
	assert_int_equal(d.action, UK_LISTEN_REPLY);
	assert_int_equal(d.kind, UK_LISTEN_UNICAST);
	assert_int_equal(d.reply_at_ns, 1000); /* unicast: no jitter */
	uk_listen_decide(&l, &src, &dir, (const unsigned char *)"x", 1, 1000, 0, &d);
	assert_int_equal(d.kind, UK_LISTEN_BROADCAST);
	assert_int_equal(d.reply_at_ns, 1000);
	uk_listen_decide(&l, &src, &lim, (const unsigned char *)"x", 1, 1000, 0xffffffffu, &d);
	assert_int_equal(d.kind, UK_LISTEN_BROADCAST);
	assert_true(d.reply_at_ns > 1000 + 49 * UK_NS_PER_MS);
	assert_true(d.reply_at_ns < 1000 + 50 * UK_NS_PER_MS);
	uk_listen_decide(&l, &src, &lim, (const unsigned char *)"x", 1, 1000, 0x80000000u, &d);
	assert_int_equal(d.reply_at_ns, 1000 + 25 * UK_NS_PER_MS);
	/* Not joined: not ours (the SO_REUSEPORT misdelivery, or MULTICAST_ALL). */
	uk_listen_decide(&l, &src, &grp, (const unsigned char *)"x", 1, 1000, 0, &d);
	assert_int_equal(d.action, UK_LISTEN_NOT_JOINED);
	assert_int_equal(uk_listen_add_group(&l, &grp), 0);
	assert_int_equal(uk_listen_add_group(&l, &grp), 0);
	assert_int_equal(l.n_groups, 1);
	assert_int_equal(uk_listen_add_group(&l, &uni), -EINVAL);
	uk_listen_decide(&l, &src, &grp, (const unsigned char *)"x", 1, 1000, 0, &d);
	assert_int_equal(d.action, UK_LISTEN_REPLY);
	assert_int_equal(d.kind, UK_LISTEN_MULTICAST);
	uk_listen_decide(&l, &src, &other, (const unsigned char *)"x", 1, 1000, 0, &d);
	assert_int_equal(d.action, UK_LISTEN_NOT_JOINED);
	/* Unknown destination: treated as unicast. */
	uk_listen_decide(&l, &src, NULL, (const unsigned char *)"x", 1, 1000, 0xffffffffu, &d);
	assert_int_equal(d.kind, UK_LISTEN_UNICAST);
	assert_int_equal(d.reply_at_ns, 1000);
	uk_listen_free(&l);
}

static void test_listen_refusals(void **state)
{
	struct uk_listen l = new_listener(5, 0, false);
	struct uk_listen_decision d;
	struct uk_addr dst = ip("255.255.255.255", 8086);
	struct uk_addr bsrc = ip("192.168.1.255", 40000), msrc = ip("239.1.1.1", 40000);
	struct uk_addr low = ip("192.168.1.20", 53), ok = ip("192.168.1.20", 40000);
	int replies = 0;
	(void)state;

	uk_listen_decide(&l, &bsrc, &dst, (const unsigned char *)"x", 1, 1, 0, &d);
	assert_int_equal(d.action, UK_LISTEN_REFUSE);
	assert_int_equal(d.verdict, UK_DROP_BADSRC); /* a local directed broadcast as source */
	uk_listen_decide(&l, &msrc, &dst, (const unsigned char *)"x", 1, 1, 0, &d);
	assert_int_equal(d.verdict, UK_DROP_BADSRC);
	uk_listen_decide(&l, &low, &dst, (const unsigned char *)"x", 1, 1, 0, &d);
	assert_int_equal(d.verdict, UK_DROP_SERVICE);
	/* From our own port: another listener; answering could loop forever. */
	struct uk_addr peer_listener = ip("192.168.1.20", 8086);
	uk_listen_decide(&l, &peer_listener, &dst, (const unsigned char *)"x", 1, 1, 0, &d);
	assert_int_equal(d.action, UK_LISTEN_REFUSE);
	assert_int_equal(d.verdict, UK_DROP_LOOP);
	/* A flood from one source: the burst (5), then one per 200 ms. */
	for (int i = 0; i < 100; i++) {
		uk_listen_decide(&l, &ok, &dst, (const unsigned char *)"x", 1,
				 UK_NS_PER_SEC + (uint64_t)i * UK_NS_PER_MS, 0, &d);
		replies += d.action == UK_LISTEN_REPLY;
		if (d.action == UK_LISTEN_REFUSE)
			assert_int_equal(d.verdict, UK_DROP_RATE);
	}
	assert_int_equal(replies, 5);
	uk_listen_decide(&l, &ok, &dst, (const unsigned char *)"x", 1, 2 * UK_NS_PER_SEC, 0, &d);
	assert_int_equal(d.action, UK_LISTEN_REPLY);
	uk_listen_free(&l);

	l = new_listener(5, 0, true);
	uk_listen_decide(&l, &ok, &dst, (const unsigned char *)"x", 1, 1, 0, &d);
	assert_int_equal(d.action, UK_LISTEN_SILENT);
	uk_listen_free(&l);
}

static void test_responders(void **state)
{
	struct uk_responders r;
	struct uk_addr self = ip("0.0.0.0", 8086), me = ip("192.168.1.10", 8086);
	struct uk_addr me_other_port = ip("192.168.1.10", 9000), peer = ip("192.168.1.20", 8086);
	struct uk_addr lo = ip("127.0.0.1", 8086);
	const char *msg = "hello";
	(void)state;
	build_fake();
	uk_responders_init(&r, &self, &fake_list, 2);
	uk_responders_sent(&r, msg, 5);
	assert_int_equal(uk_responders_add(&r, &me, msg, 5, 5, 10), UK_RESP_OWN);
	assert_int_equal(uk_responders_add(&r, &lo, msg, 5, 5, 10), UK_RESP_OWN);
	/* Our address and port, other bytes: a listener sharing our port. */
	assert_int_equal(uk_responders_add(&r, &me, "ack", 3, 3, 11), UK_RESP_NEW);
	/* The same bytes from another port of ours: a real reply (echo -m pure). */
	assert_int_equal(uk_responders_add(&r, &me_other_port, msg, 5, 5, 12), UK_RESP_NEW);
	assert_int_equal(uk_responders_add(&r, &me_other_port, msg, 5, 5, 13), UK_RESP_DUP);
	assert_int_equal(uk_responders_add(&r, &peer, "ack", 3, 3, 14), UK_RESP_FULL);
	assert_int_equal(r.count, 2);
	assert_int_equal(r.own, 2);
	assert_int_equal(r.duplicates, 1);
	assert_int_equal(r.overflow, 1);
	assert_int_equal(r.items[1].replies, 2);
	assert_int_equal(r.items[1].rtt_ns, 12); /* the first reply's */
	uk_responders_clear(&r);
	assert_int_equal(r.count, 0);
	assert_int_equal(uk_responders_add(&r, &peer, "ack", 3, 3, 14), UK_RESP_NEW);
	/* A long reply is kept cut, its size remembered. */
	static unsigned char big[2000];
	assert_int_equal(uk_responders_add(&r, &me_other_port, big, sizeof(big), 3000, 1),
			 UK_RESP_NEW);
	assert_int_equal(r.items[1].len, UK_RESPONDER_KEEP);
	assert_int_equal(r.items[1].wire_len, 3000);
	uk_responders_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_targets_default),
	    cmocka_unit_test(test_targets_filter_and_cap),
	    cmocka_unit_test(test_local_and_broadcast),
	    cmocka_unit_test(test_multicast_skip_and_flags),
	    cmocka_unit_test(test_same_group),
	    cmocka_unit_test(test_listen_kinds_and_jitter),
	    cmocka_unit_test(test_listen_refusals),
	    cmocka_unit_test(test_responders),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
