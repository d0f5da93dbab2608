/* Unit tests for lib/addr.c: numeric parsing (never a DNS query: every
 * parse here is numeric-only), the host:port forms, printing, the
 * classifications the guard relies on, and equality/hashing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <cmocka.h>

#include "udpkit/addr.h"
#include "udpkit/err.h"

/* Parses text numerically (AI_NUMERICHOST) and returns the result code. */
static int hp(struct uk_addr *a, const char *text, uint16_t def)
{
	return uk_addr_parse_hostport_flags(a, text, def, AF_UNSPEC, UK_ADDR_NUMERIC);
}

static void expect_format(const struct uk_addr *a, const char *want)
{
	char buf[UK_ADDR_STRLEN];
	assert_string_equal(uk_addr_format(a, buf, sizeof(buf)), want);
}

static void test_parse_numeric_v4_v6(void **state)
{
	struct uk_addr a;
	(void)state;
	assert_int_equal(uk_addr_parse_flags(&a, "192.0.2.7", 53, AF_UNSPEC, UK_ADDR_NUMERIC), 0);
	assert_int_equal(uk_addr_family(&a), AF_INET);
	assert_int_equal(a.len, sizeof(struct sockaddr_in));
	assert_int_equal(ntohl(a.u.in.sin_addr.s_addr), 0xc0000207u);
	assert_int_equal(uk_addr_port(&a), 53);

	assert_int_equal(uk_addr_parse_flags(&a, "2001:db8::1", 8080, AF_UNSPEC, UK_ADDR_NUMERIC),
			 0);
	assert_int_equal(uk_addr_family(&a), AF_INET6);
	assert_int_equal(a.len, sizeof(struct sockaddr_in6));
	assert_int_equal(a.u.in6.sin6_addr.s6_addr[0], 0x20);
	assert_int_equal(a.u.in6.sin6_addr.s6_addr[1], 0x01);
	assert_int_equal(a.u.in6.sin6_addr.s6_addr[15], 0x01);
	assert_int_equal(uk_addr_port(&a), 8080);
	expect_format(&a, "[2001:db8::1]:8080");

	/* The family hint is honoured. */
	assert_int_not_equal(uk_addr_parse_flags(&a, "::1", 1, AF_INET, UK_ADDR_NUMERIC), 0);
	assert_int_not_equal(uk_addr_parse_flags(&a, "127.0.0.1", 1, AF_INET6, UK_ADDR_NUMERIC), 0);
	/* The plain entry point parses numeric text too (no resolver needed). */
	assert_int_equal(uk_addr_parse(&a, "127.0.0.2", 9999, AF_INET), 0);
	expect_format(&a, "127.0.0.2:9999");
}

static void test_parse_numeric_rejects_names(void **state)
{
	struct uk_addr a;
	(void)state;
	/* Numeric-only mode never resolves: names and junk are parse errors. */
	assert_int_equal(uk_addr_parse_flags(&a, "localhost", 80, AF_UNSPEC, UK_ADDR_NUMERIC),
			 UK_EPARSE);
	assert_int_equal(uk_addr_parse_flags(&a, "1.2.3.4.5", 80, AF_UNSPEC, UK_ADDR_NUMERIC),
			 UK_EPARSE);
	assert_int_equal(uk_addr_parse_flags(&a, "::g", 80, AF_UNSPEC, UK_ADDR_NUMERIC), UK_EPARSE);
	assert_int_equal(uk_addr_parse_flags(&a, "", 80, AF_UNSPEC, UK_ADDR_NUMERIC), UK_EPARSE);
}

static void test_parse_scoped_v6(void **state)
{
	struct uk_addr a;
	unsigned lo = if_nametoindex("lo");
	char buf[UK_ADDR_STRLEN];
	(void)state;
	if (lo == 0)
		skip();
	assert_int_equal(hp(&a, "[fe80::1%lo]:80", 0), 0);
	assert_int_equal(a.u.in6.sin6_scope_id, lo);
	assert_int_equal(uk_addr_port(&a), 80);
	expect_format(&a, "[fe80::1%lo]:80");
	assert_string_equal(uk_addr_ip(&a, buf, sizeof(buf)), "fe80::1%lo");
	/* A numeric scope id works too. */
	snprintf(buf, sizeof(buf), "fe80::2%%%u", lo);
	assert_int_equal(uk_addr_parse_flags(&a, buf, 7, AF_INET6, UK_ADDR_NUMERIC), 0);
	assert_int_equal(a.u.in6.sin6_scope_id, lo);
	/* A scope on an address that is not link-local, or an interface that
	 * does not exist, prints as a number: the printed form parses back. */
	assert_int_equal(hp(&a, "::%1", 9), 0);
	assert_int_equal(a.u.in6.sin6_scope_id, 1);
	expect_format(&a, "[::%1]:9");
	assert_int_equal(hp(&a, "fe80::3%4000000", 9), 0);
	expect_format(&a, "[fe80::3%4000000]:9");
	{
		struct uk_addr b;
		assert_int_equal(hp(&b, uk_addr_format(&a, buf, sizeof(buf)), 0), 0);
		assert_true(uk_addr_equal(&a, &b));
	}
}

static void test_hostport_forms(void **state)
{
	struct uk_addr a;
	(void)state;
	assert_int_equal(hp(&a, "127.0.0.1", 4242), 0);
	expect_format(&a, "127.0.0.1:4242");
	assert_int_equal(hp(&a, "127.0.0.1:80", 4242), 0);
	expect_format(&a, "127.0.0.1:80");
	assert_int_equal(hp(&a, "[::1]:80", 4242), 0);
	assert_true(uk_addr_is_loopback(&a));
	expect_format(&a, "[::1]:80");
	assert_int_equal(hp(&a, "[::1]", 4242), 0);
	expect_format(&a, "[::1]:4242");
	/* A bare IPv6 address has more than one colon: no port in it. */
	assert_int_equal(hp(&a, "::1", 4242), 0);
	expect_format(&a, "[::1]:4242");
	assert_int_equal(hp(&a, "2001:db8::80", 7), 0);
	expect_format(&a, "[2001:db8::80]:7");
	assert_int_equal(hp(&a, "10.0.0.1:0", 4242), 0);
	assert_int_equal(uk_addr_port(&a), 0);
	assert_int_equal(hp(&a, "10.0.0.1:65535", 1), 0);
	assert_int_equal(uk_addr_port(&a), 65535);
}

static void test_hostport_bad(void **state)
{
	struct uk_addr a;
	char longtext[400];
	static const char *const bad[] = {
	    "127.0.0.1:",    "127.0.0.1:65536", "127.0.0.1:99999999999999999999",
	    "127.0.0.1:-1",  "127.0.0.1:+80",	"127.0.0.1: 80",
	    "127.0.0.1:80x", "127.0.0.1:0x50",	"[::1",
	    "[::1]x",	     "[::1]:",		"[::1]:65536",
	    "[::1]]:80",     "[]:80",		":80",
	    "1.2.3.4.5:80",  "example:80",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = hp(&a, bad[i], 1);
		if (rc != UK_EPARSE)
			fail_msg("'%s' gave %d, want UK_EPARSE", bad[i], rc);
	}
	/* Longer than the host buffer: rejected, not overflowed. */
	memset(longtext, '1', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	assert_int_equal(hp(&a, longtext, 1), UK_EPARSE);
	longtext[0] = '[';
	assert_int_equal(hp(&a, longtext, 1), UK_EPARSE);
	longtext[300] = ']';
	longtext[301] = '\0';
	assert_int_equal(hp(&a, longtext, 1), UK_EPARSE);
}

static void test_format_small_buffer_and_ip(void **state)
{
	struct uk_addr a;
	char small[8], buf[UK_ADDR_STRLEN];
	(void)state;
	uk_addr_loopback(&a, AF_INET, 65535);
	assert_string_equal(uk_addr_format(&a, small, sizeof(small)), "127.0.0");
	assert_string_equal(uk_addr_ip(&a, buf, sizeof(buf)), "127.0.0.1");
	/* A v4-mapped address is shown as IPv4. */
	assert_int_equal(hp(&a, "[::ffff:192.0.2.1]:5", 0), 0);
	assert_int_equal(uk_addr_family(&a), AF_INET6);
	assert_string_equal(uk_addr_ip(&a, buf, sizeof(buf)), "192.0.2.1");
	expect_format(&a, "192.0.2.1:5");
	/* An address of no family prints as "?". */
	memset(&a, 0, sizeof(a));
	assert_string_equal(uk_addr_ip(&a, buf, sizeof(buf)), "?");
}

static void test_any_loopback_set_port(void **state)
{
	struct uk_addr a;
	(void)state;
	uk_addr_any(&a, AF_INET, 9);
	expect_format(&a, "0.0.0.0:9");
	assert_true(uk_addr_is_unspecified(&a));
	uk_addr_any(&a, AF_INET6, 10);
	expect_format(&a, "[::]:10");
	assert_true(uk_addr_is_unspecified(&a));
	uk_addr_loopback(&a, AF_INET6, 11);
	expect_format(&a, "[::1]:11");
	uk_addr_set_port(&a, 12);
	assert_int_equal(uk_addr_port(&a), 12);
	assert_int_equal(ntohs(a.u.in6.sin6_port), 12);
	uk_addr_loopback(&a, AF_INET, 13);
	uk_addr_set_port(&a, 14);
	assert_int_equal(ntohs(a.u.in.sin_port), 14);
}

struct klass {
	const char *text;
	bool loopback, multicast, unspecified, broadcast;
};

static void test_classifications(void **state)
{
	static const struct klass cases[] = {
	    {"127.0.0.1", true, false, false, false},
	    {"127.255.0.9", true, false, false, false},
	    {"::1", true, false, false, false},
	    {"::ffff:127.0.0.1", true, false, false, false},
	    {"0.0.0.0", false, false, true, false},
	    {"::", false, false, true, false},
	    {"::ffff:0.0.0.0", false, false, true, false},
	    {"224.0.0.1", false, true, false, false},
	    {"239.255.255.250", false, true, false, false},
	    {"::ffff:224.0.0.251", false, true, false, false},
	    {"ff02::1", false, true, false, false},
	    {"255.255.255.255", false, false, false, true},
	    {"::ffff:255.255.255.255", false, false, false, true},
	    {"192.0.2.255", false, false, false, false},
	    {"223.255.255.255", false, false, false, false},
	    {"240.0.0.1", false, false, false, false},
	    {"10.1.2.3", false, false, false, false},
	    {"2001:db8::1", false, false, false, false},
	    /* Not v4-mapped: an IPv4-compatible form is plain IPv6. */
	    {"::127.0.0.1", false, false, false, false},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct uk_addr a;
		const struct klass *k = &cases[i];
		assert_int_equal(uk_addr_parse_flags(&a, k->text, 1000, AF_UNSPEC, UK_ADDR_NUMERIC),
				 0);
		if (uk_addr_is_loopback(&a) != k->loopback ||
		    uk_addr_is_multicast(&a) != k->multicast ||
		    uk_addr_is_unspecified(&a) != k->unspecified ||
		    uk_addr_is_limited_broadcast(&a) != k->broadcast)
			fail_msg("wrong classification for %s", k->text);
	}
}

static void test_equal_and_hash(void **state)
{
	struct uk_addr a, b, c, d, e;
	(void)state;
	assert_int_equal(hp(&a, "192.0.2.1:80", 0), 0);
	assert_int_equal(hp(&b, "[::ffff:192.0.2.1]:80", 0), 0);
	assert_int_equal(hp(&c, "192.0.2.1:81", 0), 0);
	assert_int_equal(hp(&d, "192.0.2.2:80", 0), 0);
	assert_int_equal(hp(&e, "[2001:db8::1]:80", 0), 0);
	/* v4 and v4-mapped v6 are the same source, with the same hash. */
	assert_true(uk_addr_equal(&a, &b));
	assert_true(uk_addr_equal(&b, &a));
	assert_int_equal(uk_addr_hash(&a), uk_addr_hash(&b));
	/* The port matters for equal and hash, not for same_host. */
	assert_false(uk_addr_equal(&a, &c));
	assert_true(uk_addr_same_host(&a, &c));
	assert_int_not_equal(uk_addr_hash(&a), uk_addr_hash(&c));
	assert_false(uk_addr_equal(&a, &d));
	assert_false(uk_addr_same_host(&a, &d));
	assert_int_not_equal(uk_addr_hash(&a), uk_addr_hash(&d));
	assert_false(uk_addr_equal(&a, &e));
	assert_false(uk_addr_same_host(&e, &a));
	assert_true(uk_addr_equal(&e, &e));
	/* The hash is a pure function of address and port. */
	assert_int_equal(hp(&b, "[2001:db8::1]:80", 0), 0);
	assert_int_equal(uk_addr_hash(&b), uk_addr_hash(&e));
	/* Link-local addresses with different scopes are different hosts. */
	if (if_nametoindex("lo")) {
		assert_int_equal(hp(&b, "[fe80::1%lo]:80", 0), 0);
		assert_int_equal(hp(&c, "[fe80::1]:80", 0), 0);
		assert_false(uk_addr_equal(&b, &c));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_numeric_v4_v6),
	    cmocka_unit_test(test_parse_numeric_rejects_names),
	    cmocka_unit_test(test_parse_scoped_v6),
	    cmocka_unit_test(test_hostport_forms),
	    cmocka_unit_test(test_hostport_bad),
	    cmocka_unit_test(test_format_small_buffer_and_ip),
	    cmocka_unit_test(test_any_loopback_set_port),
	    cmocka_unit_test(test_classifications),
	    cmocka_unit_test(test_equal_and_hash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
