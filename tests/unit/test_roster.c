/* Unit tests for lib/roster.c on a virtual clock: joins, changes, nick
 * lookup, removal, expiry and its deadline; and the flood rules: a table
 * filled with forged (unconfirmed) entries still takes a real newcomer,
 * unconfirmed entries never push out confirmed ones, the entry silent for
 * longest goes first, and one host, whatever its ports, holds at most
 * per_host entries. */
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
#include "test_addrs.h"
#include "udpkit/roster.h"

#define T0 (5000 * UK_NS_PER_SEC)
#define SEC UK_NS_PER_SEC

static enum uk_roster_event seen(struct uk_roster *r, struct uk_addr a, const char *nick,
				 uint64_t now)
{
	struct uk_peer_info info = {.nick = nick, .ipmsg = true};
	struct uk_peer *p;
	enum uk_roster_event e = uk_roster_seen(r, &a, &info, now, &p);

	assert_true((e == UK_ROSTER_FULL) == (p == NULL));
	return e;
}

static void test_join_change_find_remove(void **state)
{
	struct uk_roster r;
	struct uk_addr a = test_v4(0xc0000201, 2425), b = test_v4(0xc0000202, 2425);
	struct uk_peer gone;
	bool ambiguous;
	(void)state;

	assert_int_equal(uk_roster_init(&r, 0, 0), 0);
	assert_int_equal(r.cap, UK_ROSTER_DEFAULT_CAPACITY);
	assert_int_equal(seen(&r, a, "alice", T0), UK_ROSTER_JOINED);
	assert_int_equal(seen(&r, a, "alice", T0 + 1), UK_ROSTER_SAME);
	assert_int_equal(seen(&r, a, "alicia", T0 + 2), UK_ROSTER_CHANGED);
	assert_int_equal(seen(&r, b, "bob", T0 + 3), UK_ROSTER_JOINED);
	assert_non_null(uk_roster_find_nick(&r, "bob", &ambiguous));
	assert_false(ambiguous);
	assert_int_equal(seen(&r, a, "bob", T0 + 4), UK_ROSTER_CHANGED);
	assert_non_null(uk_roster_find_nick(&r, "bob", &ambiguous));
	assert_true(ambiguous);
	assert_true(uk_roster_remove(&r, &a, &gone));
	assert_string_equal(gone.nick, "bob");
	assert_false(uk_roster_remove(&r, &a, NULL));
	assert_int_equal(r.count, 1);
	uk_roster_free(&r);
}

static void test_expiry_and_deadline(void **state)
{
	struct uk_roster r;
	struct uk_peer gone;
	(void)state;

	assert_int_equal(uk_roster_init(&r, 4, 10 * SEC), 0);
	assert_int_equal(uk_roster_deadline(&r), UINT64_MAX);
	seen(&r, test_v4(0x0a000001, 2425), "a", T0);
	seen(&r, test_v4(0x0a000002, 2425), "b", T0 + 5 * SEC);
	assert_int_equal(uk_roster_deadline(&r), T0 + 10 * SEC + 1);
	assert_false(uk_roster_expire(&r, T0 + 10 * SEC, &gone));
	assert_true(uk_roster_expire(&r, T0 + 10 * SEC + 1, &gone));
	assert_string_equal(gone.nick, "a");
	assert_false(uk_roster_expire(&r, T0 + 10 * SEC + 1, &gone));
	assert_int_equal(r.count, 1);
	uk_roster_free(&r);
}

/* Attack 1: 300 forged sources, then a real peer: it is recorded. */
static void test_flood_leaves_room_for_a_newcomer(void **state)
{
	struct uk_roster r;
	struct uk_addr real = test_v4(0xc0a80105, 2425);
	(void)state;

	assert_int_equal(uk_roster_init(&r, 256, 0), 0);
	for (uint32_t i = 0; i < 300; i++)
		assert_int_equal(seen(&r, test_v4(0x7f000100 + i, 2425), "forged", T0 + i),
				 UK_ROSTER_JOINED);
	assert_int_equal(r.count, 256);
	assert_int_equal(r.evicted, 44);
	assert_int_equal(r.refused, 0);
	assert_int_equal(seen(&r, real, "real", T0 + 1000), UK_ROSTER_JOINED);
	assert_non_null(uk_roster_find(&r, &real));
	/* The forged entries silent for longest went first. */
	struct uk_addr oldest = test_v4(0x7f000100 + 44, 2425),
		       newest = test_v4(0x7f000100 + 299, 2425);
	assert_null(uk_roster_find(&r, &oldest));
	assert_non_null(uk_roster_find(&r, &newest));
	uk_roster_free(&r);
}

static void test_unconfirmed_never_push_out_confirmed(void **state)
{
	struct uk_roster r;
	(void)state;

	assert_int_equal(uk_roster_init(&r, 8, 0), 0);
	for (uint32_t i = 0; i < 6; i++) {
		struct uk_addr a = test_v4(0x0a000001 + i, 2425);
		seen(&r, a, "friend", T0);
		assert_true(uk_roster_confirm(&r, &a));
	}
	/* 1,000 forged newcomers rotate through the 2 unconfirmed places. */
	for (uint32_t i = 0; i < 1000; i++)
		assert_int_equal(seen(&r, test_v4(0x0b000000 + i, 2425), "forged", T0 + SEC + i),
				 UK_ROSTER_JOINED);
	for (uint32_t i = 0; i < 6; i++) {
		struct uk_addr a = test_v4(0x0a000001 + i, 2425);
		assert_non_null(uk_roster_find(&r, &a));
	}
	assert_int_equal(r.evicted, 998);
	/* With every place confirmed, a newcomer is refused, not squeezed in. */
	for (uint32_t i = 0; i < 2; i++) {
		struct uk_addr a = test_v4(0x0c000001 + i, 2425);
		seen(&r, a, "friend", T0 + 2000 * SEC);
		uk_roster_confirm(&r, &a);
	}
	assert_int_equal(seen(&r, test_v4(0x0d000001, 2425), "late", T0 + 3000 * SEC),
			 UK_ROSTER_FULL);
	assert_int_equal(r.refused, 1);
	struct uk_addr unknown = test_v4(0x0e000001, 2425);
	assert_false(uk_roster_confirm(&r, &unknown));
	uk_roster_free(&r);
}

/* The limit that stays (docs/chat.md, section 9): a flood from more
 * addresses than the table has unconfirmed places churns them, and a real
 * peer that has not proven it receives is one of them. It stays for as
 * many newcomers as there are unconfirmed places (the entry silent for
 * longest goes first), and is pushed out by the next; once confirmed (it
 * returned a receipt) it stays whatever comes. */
static void test_churn_keeps_an_unconfirmed_peer_for_one_round(void **state)
{
	struct uk_roster r;
	struct uk_addr real = test_v4(0xc0a80105, 2425), friend = test_v4(0xc0a80106, 2425);
	uint64_t t = T0;
	(void)state;

	assert_int_equal(uk_roster_init(&r, 256, 0), 0);
	for (uint32_t i = 0; i < 300; i++)
		seen(&r, test_v4(0x0b000000 + i, 2425), "forged", t++);
	seen(&r, friend, "friend", t++);
	assert_true(uk_roster_confirm(&r, &friend));
	seen(&r, real, "real", t++);
	/* 254 unconfirmed places besides its own: it outlives 254 newcomers. */
	for (uint32_t i = 0; i < 254; i++)
		seen(&r, test_v4(0x0c000000 + i, 2425), "forged", t++);
	assert_non_null(uk_roster_find(&r, &real));
	seen(&r, test_v4(0x0d000000, 2425), "forged", t++);
	assert_null(uk_roster_find(&r, &real));
	/* A confirmed peer outlives any flood. */
	for (uint32_t i = 0; i < 10000; i++)
		seen(&r, test_v4(0x0e000000 + i, 2425), "forged", t++);
	assert_non_null(uk_roster_find(&r, &friend));
	uk_roster_free(&r);
}

static void test_one_host_holds_at_most_per_host(void **state)
{
	struct uk_roster r;
	struct uk_addr other = test_v4(0x0a000099, 2425);
	size_t from_host = 0;
	(void)state;

	assert_int_equal(uk_roster_init(&r, 256, 0), 0);
	seen(&r, other, "other", T0);
	/* One address, 5,000 source ports. */
	for (uint32_t i = 0; i < 5000; i++)
		seen(&r, test_v4(0x0a000001, (uint16_t)(10000 + i)), "rotating", T0 + 1 + i);
	for (size_t i = 0; i < r.cap; i++)
		if (r.peers[i].used && r.peers[i].addr.u.in.sin_addr.s_addr == htonl(0x0a000001))
			from_host++;
	assert_int_equal(from_host, UK_ROSTER_DEFAULT_PER_HOST);
	assert_int_equal(r.count, UK_ROSTER_DEFAULT_PER_HOST + 1);
	assert_non_null(uk_roster_find(&r, &other));
	uk_roster_free(&r);
}

static void test_host_full_of_confirmed_refuses_its_newcomers(void **state)
{
	struct uk_roster r;
	(void)state;

	assert_int_equal(uk_roster_init(&r, 64, 0), 0);
	r.per_host = 2;
	for (uint16_t port = 1; port <= 2; port++) {
		struct uk_addr a = test_v4(0x0a000001, port + 2000);
		seen(&r, a, "chat", T0);
		uk_roster_confirm(&r, &a);
	}
	assert_int_equal(seen(&r, test_v4(0x0a000001, 3000), "third", T0 + 1), UK_ROSTER_FULL);
	/* Another host is not affected. */
	assert_int_equal(seen(&r, test_v4(0x0a000002, 3000), "elsewhere", T0 + 1),
			 UK_ROSTER_JOINED);
	uk_roster_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_join_change_find_remove),
	    cmocka_unit_test(test_expiry_and_deadline),
	    cmocka_unit_test(test_flood_leaves_room_for_a_newcomer),
	    cmocka_unit_test(test_unconfirmed_never_push_out_confirmed),
	    cmocka_unit_test(test_churn_keeps_an_unconfirmed_peer_for_one_round),
	    cmocka_unit_test(test_one_host_holds_at_most_per_host),
	    cmocka_unit_test(test_host_full_of_confirmed_refuses_its_newcomers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
