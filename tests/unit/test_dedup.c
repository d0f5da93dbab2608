/* Unit tests for lib/dedup.c on a virtual clock: new and duplicate
 * (source, packet number) pairs, the hold time, eviction when full, and
 * hash flooding: packet numbers chosen to share one bucket under the old
 * unkeyed mix (FNV-1a of the address XOR a multiplied packet number) must
 * not make one long chain now that the bucket is a keyed SipHash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "udpkit/addr.h"
#include "udpkit/clock.h"
#include "udpkit/dedup.h"

#define T0 (5000 * UK_NS_PER_SEC)

static struct uk_addr addr(const char *text)
{
	struct uk_addr a;
	if (uk_addr_parse_hostport_flags(&a, text, 0, AF_UNSPEC, UK_ADDR_NUMERIC) != 0)
		fail_msg("cannot parse %s", text);
	return a;
}

/* The longest bucket chain: what one lookup may have to walk. */
static size_t max_chain(const struct uk_dedup *d)
{
	size_t longest = 0;

	for (size_t b = 0; b < d->nbuckets; b++) {
		size_t n = 0;
		for (int32_t i = d->buckets[b]; i != -1; i = d->ring[i].next)
			n++;
		if (n > longest)
			longest = n;
	}
	return longest;
}

static void test_new_then_duplicate(void **state)
{
	struct uk_dedup d;
	struct uk_addr a = addr("192.0.2.1:2425"), b = addr("192.0.2.1:2426");
	(void)state;

	assert_int_equal(uk_dedup_init(&d, 0, 0), 0);
	assert_true(uk_dedup_check(&d, &a, 7, T0));
	assert_false(uk_dedup_check(&d, &a, 7, T0 + 1));
	/* Another port of the same host is another sender. */
	assert_true(uk_dedup_check(&d, &b, 7, T0 + 2));
	assert_true(uk_dedup_check(&d, &a, 8, T0 + 3));
	assert_int_equal(d.count, 3);
	uk_dedup_free(&d);
}

static void test_hold_time(void **state)
{
	struct uk_dedup d;
	struct uk_addr a = addr("192.0.2.1:2425");
	(void)state;

	assert_int_equal(uk_dedup_init(&d, 16, 10 * UK_NS_PER_SEC), 0);
	assert_true(uk_dedup_check(&d, &a, 1, T0));
	assert_false(uk_dedup_check(&d, &a, 1, T0 + 10 * UK_NS_PER_SEC));
	/* Past the hold time the entry is gone: the same number is new. */
	assert_true(uk_dedup_check(&d, &a, 1, T0 + 10 * UK_NS_PER_SEC + 1));
	assert_int_equal(d.evicted_early, 0);
	uk_dedup_free(&d);
}

/* A sender that restarted and counts from 1 again (iptux) announces
 * itself with BR_ENTRY number 1: its numbers from 1 on are new again,
 * another sender's are not, and the table stays sound through wraps. */
static void test_forget_from_restarted_sender(void **state)
{
	struct uk_dedup d;
	struct uk_addr a = addr("192.0.2.1:2426"), b = addr("192.0.2.2:2426");
	(void)state;

	assert_int_equal(uk_dedup_init(&d, 8, 0), 0);
	for (uint64_t i = 1; i <= 5; i++) {
		assert_true(uk_dedup_check(&d, &a, i, T0 + i));
		assert_true(uk_dedup_check(&d, &b, i, T0 + i));
	}
	/* A clock-numbered sender's entry is above all it sent: nothing. */
	assert_int_equal(uk_dedup_forget_from(&d, &a, 1000), 0);
	assert_true(uk_dedup_seen(&d, &a, 5, T0 + 10));
	/* The ring holds the last 8: a and b's 2 to 5. */
	assert_int_equal(uk_dedup_forget_from(&d, &a, 3), 3);
	assert_true(uk_dedup_seen(&d, &a, 2, T0 + 10));
	assert_int_equal(uk_dedup_forget_from(&d, &a, 1), 1);
	for (uint64_t i = 1; i <= 5; i++) {
		assert_false(uk_dedup_seen(&d, &a, i, T0 + 10));
		assert_int_equal(uk_dedup_seen(&d, &b, i, T0 + 10), i >= 2);
	}
	/* The new run's numbers are taken, and remembered again. */
	for (uint64_t i = 1; i <= 20; i++) {
		assert_true(uk_dedup_check(&d, &a, i, T0 + 20 + i));
		assert_false(uk_dedup_check(&d, &a, i, T0 + 20 + i));
	}
	assert_int_equal(d.count, 8);
	assert_true(max_chain(&d) <= 8);
	/* One message taken back (a --sync whose fdatasync() failed). */
	assert_true(uk_dedup_forget(&d, &a, 20));
	assert_false(uk_dedup_forget(&d, &a, 20));
	assert_false(uk_dedup_forget(&d, &b, 20));
	assert_false(uk_dedup_seen(&d, &a, 20, T0 + 41));
	assert_true(uk_dedup_seen(&d, &a, 19, T0 + 41));
	assert_true(uk_dedup_check(&d, &a, 20, T0 + 41));
	uk_dedup_free(&d);
}

static void test_full_evicts_oldest(void **state)
{
	struct uk_dedup d;
	struct uk_addr a = addr("192.0.2.1:2425");
	(void)state;

	assert_int_equal(uk_dedup_init(&d, 4, 0), 0);
	for (uint64_t no = 1; no <= 6; no++)
		assert_true(uk_dedup_check(&d, &a, no, T0 + no));
	assert_int_equal(d.count, 4);
	assert_int_equal(d.evicted_early, 2);
	/* 1 and 2 were evicted, 3..6 are remembered. */
	assert_false(uk_dedup_check(&d, &a, 6, T0 + 10));
	assert_false(uk_dedup_check(&d, &a, 3, T0 + 10));
	assert_true(uk_dedup_check(&d, &a, 1, T0 + 10));
	uk_dedup_free(&d);
}

/* The old bucket function, as an attacker who reads the code computes it. */
static uint64_t old_fnv(const struct uk_addr *a)
{
	uint64_t h = 1469598103934665603ull;
	unsigned char bytes[6];
	uint32_t v4 = ntohl(a->u.in.sin_addr.s_addr);
	uint16_t port = uk_addr_port(a);

	bytes[0] = (unsigned char)(v4 >> 24);
	bytes[1] = (unsigned char)(v4 >> 16);
	bytes[2] = (unsigned char)(v4 >> 8);
	bytes[3] = (unsigned char)v4;
	bytes[4] = (unsigned char)(port >> 8);
	bytes[5] = (unsigned char)port;
	for (size_t i = 0; i < sizeof(bytes); i++) {
		h ^= bytes[i];
		h *= 1099511628211ull;
	}
	return h;
}

static size_t old_bucket(uint64_t source, uint64_t packet_no, size_t nbuckets)
{
	uint64_t h = source ^ (packet_no * 0x9e3779b97f4a7c15ull);
	h ^= h >> 29;
	return (size_t)(h & (nbuckets - 1));
}

static void test_chosen_packet_numbers_do_not_chain(void **state)
{
	struct uk_dedup d;
	struct uk_addr a = addr("192.0.2.66:2425");
	uint64_t source = old_fnv(&a), no = 0;
	size_t chosen = 0, chain;
	(void)state;

	assert_int_equal(uk_dedup_init(&d, 0, 0), 0);
	/* 2,000 packet numbers that all fell in bucket 0 of the unkeyed mix:
	 * each lookup walked the whole chain (5 to 52 us per SENDMSG). */
	while (chosen < 2000) {
		no++;
		if (old_bucket(source, no, d.nbuckets) != 0)
			continue;
		assert_true(uk_dedup_check(&d, &a, no, T0 + chosen));
		chosen++;
	}
	chain = max_chain(&d);
	print_message("max chain with 2000 chosen packet numbers: %zu\n", chain);
	/* 2,000 keys in 16,384 buckets: a chain of 8 is already 1 in 10^5. */
	assert_true(chain <= 8);
	uk_dedup_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_new_then_duplicate),
	    cmocka_unit_test(test_hold_time),
	    cmocka_unit_test(test_full_evicts_oldest),
	    cmocka_unit_test(test_forget_from_restarted_sender),
	    cmocka_unit_test(test_chosen_packet_numbers_do_not_chain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
