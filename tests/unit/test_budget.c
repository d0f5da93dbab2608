/* Unit tests for lib/budget.c on a virtual clock: the amplification bound
 * (3x the bytes an unvalidated address sent, whatever its ports), the
 * per-host and total answer rates, refill, validated sources, and a flood
 * of addresses that only evicts entries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "udpkit/addr.h"
#include "udpkit/budget.h"
#include "udpkit/clock.h"
#include "test_addrs.h"

#define T0 (5000 * UK_NS_PER_SEC)
#define SEC UK_NS_PER_SEC

static void test_amplification_bound_per_address(void **state)
{
	struct uk_budget b;
	struct uk_budget_cfg cfg = {.factor = 3};
	struct uk_addr p1 = test_v4(0x0a000001, 40000), p2 = test_v4(0x0a000001, 40001);
	(void)state;

	assert_int_equal(uk_budget_init(&b, &cfg, 64), 0);
	/* Nothing received: nothing may go back. */
	assert_false(uk_budget_answer(&b, &p1, 1, false, false, T0));
	uk_budget_received(&b, &p1, 20, T0);
	assert_false(uk_budget_answer(&b, &p1, 61, false, false, T0));
	assert_true(uk_budget_answer(&b, &p1, 40, false, false, T0));
	/* The credit is the address's, whatever the port. */
	assert_true(uk_budget_answer(&b, &p2, 20, false, false, T0));
	assert_false(uk_budget_answer(&b, &p2, 1, false, false, T0));
	uk_budget_received(&b, &p2, 10, T0);
	assert_true(uk_budget_answer(&b, &p1, 30, false, false, T0));
	assert_int_equal(b.refused_amplification, 3);
	/* A validated source is not bound by what it sent. */
	assert_true(uk_budget_answer(&b, &p1, 5000, true, false, T0));
	uk_budget_free(&b);
}

static void test_rates_per_host_and_total(void **state)
{
	struct uk_budget b;
	struct uk_budget_cfg cfg = {
	    .host_per_sec = 2, .host_burst = 4, .total_per_sec = 10, .total_burst = 10};
	struct uk_addr a = test_v4(0x0a000001, 2425);
	unsigned ok = 0;
	(void)state;

	assert_int_equal(uk_budget_init(&b, &cfg, 64), 0);
	for (int i = 0; i < 100; i++)
		ok += uk_budget_answer(&b, &a, 100, true, true, T0);
	assert_int_equal(ok, 4); /* the burst */
	/* One second later: two more. */
	ok = 0;
	for (int i = 0; i < 100; i++)
		ok += uk_budget_answer(&b, &a, 100, true, true, T0 + SEC);
	assert_int_equal(ok, 2);
	/* Many hosts: the total bucket (refilled to 10, 2 used) bounds them. */
	ok = 0;
	for (uint32_t i = 0; i < 100; i++) {
		struct uk_addr h = test_v4(0x0b000000 + i, 2425);
		ok += uk_budget_answer(&b, &h, 100, true, true, T0 + SEC);
	}
	assert_int_equal(ok, 8);
	/* Not rate-limited answers (receipts) are not counted against it. */
	assert_true(uk_budget_answer(&b, &a, 100, true, false, T0 + SEC));
	uk_budget_free(&b);
}

static void test_flood_of_addresses_keeps_memory_fixed(void **state)
{
	struct uk_budget b;
	struct uk_budget_cfg cfg = {.factor = 3, .host_per_sec = 2, .host_burst = 8};
	size_t entries;
	uint64_t back = 0, in = 0;
	(void)state;

	assert_int_equal(uk_budget_init(&b, &cfg, 256), 0);
	entries = b.sets * UK_BUDGET_WAYS;
	for (uint32_t i = 0; i < 100000; i++) {
		struct uk_addr a = test_v4(0x0c000000 + i, 2425);
		uk_budget_received(&b, &a, 17, T0 + i);
		in += 17;
		if (uk_budget_answer(&b, &a, 290, false, true, T0 + i))
			back += 290;
	}
	assert_int_equal(b.sets * UK_BUDGET_WAYS, entries);
	assert_true(back <= 3 * in);
	assert_int_equal(back, 0); /* 51 bytes of credit never pay for 290 */
	uk_budget_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_amplification_bound_per_address),
	    cmocka_unit_test(test_rates_per_host_and_total),
	    cmocka_unit_test(test_flood_of_addresses_keeps_memory_fixed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
