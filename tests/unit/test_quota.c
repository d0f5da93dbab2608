/* Unit tests for lib/quota.c, the chat's flood bounds, on a virtual clock:
 * one source is held to its rate and burst, bytes count as well as
 * messages, the total holds many sources, a quiet source still passes a
 * flood from others, drops are counted and reported per source. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "udpkit/quota.h"

#define SEC 1000000000ull
#define MS 1000000ull

static struct uk_addr addr(int host, int port)
{
	struct uk_addr a;
	char ip[32];
	snprintf(ip, sizeof(ip), "127.0.0.%d", host);
	assert_int_equal(uk_addr_parse(&a, ip, (uint16_t)port, 0), 0);
	return a;
}

static unsigned take_n(struct uk_quota *q, const struct uk_addr *a, size_t len, unsigned n,
		       uint64_t now)
{
	unsigned ok = 0;
	for (unsigned i = 0; i < n; i++)
		ok += uk_quota_take(q, a, len, now);
	return ok;
}

static void test_one_source_rate_and_burst(void **state)
{
	struct uk_quota q;
	struct uk_quota_cfg cfg = uk_quota_cfg_for(100);
	struct uk_addr a = addr(2, 1000), who;
	uint64_t now = 10 * SEC, n, bytes;
	(void)state;
	assert_int_equal(uk_quota_init(&q, &cfg), 0);
	/* A burst of two seconds' worth, then nothing. */
	assert_int_equal(take_n(&q, &a, 10, 1000, now), 200);
	/* Then 100 a second. */
	assert_int_equal(take_n(&q, &a, 10, 1000, now + 1 * SEC), 100);
	assert_int_equal(take_n(&q, &a, 10, 1000, now + 1500 * MS), 50);
	assert_true(uk_quota_report(&q, &who, &n, &bytes));
	assert_true(uk_addr_equal(&who, &a));
	assert_int_equal(n, 800 + 900 + 950);
	assert_int_equal(bytes, n * 10);
	assert_false(uk_quota_report(&q, &who, &n, &bytes)); /* reported once */
	uk_quota_free(&q);
}

static void test_bytes_bound_big_messages(void **state)
{
	struct uk_quota q;
	struct uk_quota_cfg cfg = uk_quota_cfg_for(100); /* 200 KiB/s per source */
	struct uk_addr a = addr(2, 1000);
	(void)state;
	assert_int_equal(uk_quota_init(&q, &cfg), 0);
	/* 16 KiB each: the 400 KiB burst holds 25 of them, not 200. */
	assert_int_equal(take_n(&q, &a, 16384, 1000, SEC), 25);
	uk_quota_free(&q);
}

static void test_total_and_quiet_peer(void **state)
{
	struct uk_quota q;
	struct uk_quota_cfg cfg = uk_quota_cfg_for(100); /* total 1000/s, 1000 KiB/s */
	struct uk_addr quiet = addr(200, 7);
	unsigned passed = 0;
	uint64_t now = SEC;
	(void)state;
	assert_int_equal(uk_quota_init(&q, &cfg), 0);
	/* 100 sources flood for 10 s, each far over its own rate. */
	for (int t = 0; t < 100; t++, now += 100 * MS) {
		for (int src = 0; src < 100; src++) {
			struct uk_addr a = addr(2 + src, 2000);
			passed += take_n(&q, &a, 100, 50, now);
		}
		/* The quiet peer writes once a second and always gets through. */
		if (t % 10 == 0)
			assert_true(uk_quota_take(&q, &quiet, 100, now));
	}
	/* 10 s at 1000/s, plus the burst and the debt: at most 4 s more. */
	assert_true(passed <= 1000 * (10 + 4));
	assert_true(passed >= 1000 * 9);
	assert_true(q.dropped > 400000);
	uk_quota_free(&q);
}

static void test_no_limit(void **state)
{
	struct uk_quota q;
	struct uk_quota_cfg cfg = uk_quota_cfg_for(0);
	struct uk_addr a = addr(2, 1000);
	(void)state;
	assert_int_equal(uk_quota_init(&q, &cfg), 0);
	assert_int_equal(take_n(&q, &a, 65536, 100000, SEC), 100000);
	uk_quota_free(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_source_rate_and_burst),
	    cmocka_unit_test(test_bytes_bound_big_messages),
	    cmocka_unit_test(test_total_and_quiet_peer),
	    cmocka_unit_test(test_no_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
