/* Unit tests for lib/track.c, driven by a virtual clock: replies are
 * classified new/dup/late/unknown, reordering is flagged, timeouts expire
 * exactly at their deadline, and a reused slot reports its probe lost. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "udpkit/clock.h"
#include "udpkit/track.h"

#define MS UK_NS_PER_MS
#define T0 (1000 * UK_NS_PER_SEC) /* an arbitrary virtual start time */

static void test_init_rounds_up(void **state)
{
	struct uk_track t;
	(void)state;
	assert_int_equal(uk_track_init(&t, 5), 0);
	assert_int_equal(t.size, 8);
	assert_int_equal(t.next_seq, 1);
	assert_int_equal(t.waiting, 0);
	uk_track_free(&t);
	assert_int_equal(uk_track_init(&t, 64), 0);
	assert_int_equal(t.size, 64);
	uk_track_free(&t);
	assert_null(t.slots);
}

static void test_new_dup_unknown(void **state)
{
	struct uk_track t;
	struct uk_track_result r;
	bool ev = true;
	(void)state;
	assert_int_equal(uk_track_init(&t, 16), 0);
	assert_int_equal(uk_track_sent(&t, T0, &ev), 1);
	assert_false(ev);
	assert_int_equal(uk_track_sent(&t, T0 + 10 * MS, NULL), 2);
	assert_int_equal(t.waiting, 2);

	r = uk_track_reply(&t, 1, T0 + 3 * MS);
	assert_int_equal(r.kind, UK_TRACK_NEW);
	assert_int_equal(r.rtt_ns, 3 * MS);
	assert_false(r.reordered);
	assert_int_equal(t.waiting, 1);

	r = uk_track_reply(&t, 1, T0 + 5 * MS);
	assert_int_equal(r.kind, UK_TRACK_DUP);
	assert_int_equal(r.rtt_ns, 5 * MS);
	assert_int_equal(t.waiting, 1);

	/* Never sent: 0, the next number, far in the future. */
	assert_int_equal(uk_track_reply(&t, 0, T0).kind, UK_TRACK_UNKNOWN);
	assert_int_equal(uk_track_reply(&t, 3, T0).kind, UK_TRACK_UNKNOWN);
	assert_int_equal(uk_track_reply(&t, 3 + 16, T0).kind, UK_TRACK_UNKNOWN);
	assert_int_equal(uk_track_reply(&t, UINT64_MAX, T0).kind, UK_TRACK_UNKNOWN);
	assert_int_equal(t.waiting, 1);

	r = uk_track_reply(&t, 2, T0 + 12 * MS);
	assert_int_equal(r.kind, UK_TRACK_NEW);
	assert_int_equal(r.rtt_ns, 2 * MS);
	assert_int_equal(t.waiting, 0);
	/* A clock that seems to go backwards gives rtt 0, not a huge number. */
	assert_int_equal(uk_track_sent(&t, T0 + 100 * MS, NULL), 3);
	r = uk_track_reply(&t, 3, T0 + 99 * MS);
	assert_int_equal(r.kind, UK_TRACK_NEW);
	assert_int_equal(r.rtt_ns, 0);
	uk_track_free(&t);
}

static void test_reordered(void **state)
{
	struct uk_track t;
	struct uk_track_result r;
	(void)state;
	assert_int_equal(uk_track_init(&t, 16), 0);
	for (int i = 0; i < 4; i++)
		(void)uk_track_sent(&t, T0 + (uint64_t)i * MS, NULL);
	r = uk_track_reply(&t, 3, T0 + 10 * MS);
	assert_int_equal(r.kind, UK_TRACK_NEW);
	assert_false(r.reordered);
	r = uk_track_reply(&t, 1, T0 + 11 * MS);
	assert_int_equal(r.kind, UK_TRACK_NEW);
	assert_true(r.reordered);
	r = uk_track_reply(&t, 2, T0 + 11 * MS);
	assert_true(r.reordered);
	r = uk_track_reply(&t, 4, T0 + 12 * MS);
	assert_int_equal(r.kind, UK_TRACK_NEW);
	assert_false(r.reordered);
	/* A duplicate of an old probe is a duplicate, not a reordering. */
	r = uk_track_reply(&t, 1, T0 + 13 * MS);
	assert_int_equal(r.kind, UK_TRACK_DUP);
	assert_false(r.reordered);
	uk_track_free(&t);
}

static void test_expire_and_late(void **state)
{
	struct uk_track t;
	struct uk_track_result r;
	const uint64_t timeout = 1000 * MS;
	(void)state;
	assert_int_equal(uk_track_init(&t, 16), 0);
	assert_int_equal(uk_track_next_deadline(&t, timeout), UINT64_MAX);
	(void)uk_track_sent(&t, T0, NULL);	      /* 1 */
	(void)uk_track_sent(&t, T0 + 100 * MS, NULL); /* 2 */
	(void)uk_track_sent(&t, T0 + 200 * MS, NULL); /* 3 */
	assert_int_equal(uk_track_next_deadline(&t, timeout), T0 + timeout);

	/* Nothing before the deadline, exactly one at it. */
	assert_int_equal(uk_track_expire(&t, T0 + timeout - 1, timeout), 0);
	assert_int_equal(t.waiting, 3);
	assert_int_equal(uk_track_expire(&t, T0 + timeout, timeout), 1);
	assert_int_equal(t.waiting, 2);
	assert_int_equal(uk_track_next_deadline(&t, timeout), T0 + 100 * MS + timeout);

	/* Probe 2 is answered in time; the next deadline is probe 3's. */
	r = uk_track_reply(&t, 2, T0 + 1050 * MS);
	assert_int_equal(r.kind, UK_TRACK_NEW);
	assert_int_equal(uk_track_next_deadline(&t, timeout), T0 + 200 * MS + timeout);

	/* Probe 1 answers after it was given up: late, with its rtt. */
	r = uk_track_reply(&t, 1, T0 + 1500 * MS);
	assert_int_equal(r.kind, UK_TRACK_LATE);
	assert_int_equal(r.rtt_ns, 1500 * MS);
	assert_int_equal(t.waiting, 1);

	assert_int_equal(uk_track_expire(&t, T0 + 5000 * MS, timeout), 1);
	assert_int_equal(t.waiting, 0);
	assert_int_equal(uk_track_next_deadline(&t, timeout), UINT64_MAX);
	/* Expiring again finds nothing more. */
	assert_int_equal(uk_track_expire(&t, T0 + 9000 * MS, timeout), 0);
	r = uk_track_reply(&t, 3, T0 + 9000 * MS);
	assert_int_equal(r.kind, UK_TRACK_LATE);
	uk_track_free(&t);
}

static void test_eviction_on_wrap(void **state)
{
	struct uk_track t;
	struct uk_track_result r;
	bool ev = true;
	(void)state;
	assert_int_equal(uk_track_init(&t, 4), 0);
	for (uint64_t i = 1; i <= 4; i++) {
		assert_int_equal(uk_track_sent(&t, T0 + i * MS, &ev), i);
		assert_false(ev);
	}
	/* Probe 2 answered: its slot is free to reuse without a loss. */
	assert_int_equal(uk_track_reply(&t, 2, T0 + 5 * MS).kind, UK_TRACK_NEW);
	assert_int_equal(t.waiting, 3);

	assert_int_equal(uk_track_sent(&t, T0 + 10 * MS, &ev), 5); /* reuses 1's slot */
	assert_true(ev);
	assert_int_equal(t.waiting, 3);
	assert_int_equal(uk_track_sent(&t, T0 + 11 * MS, &ev), 6); /* reuses 2's slot */
	assert_false(ev);
	assert_int_equal(t.waiting, 4);

	/* Too old to remember: unknown, and the new occupant is not disturbed. */
	r = uk_track_reply(&t, 1, T0 + 12 * MS);
	assert_int_equal(r.kind, UK_TRACK_UNKNOWN);
	r = uk_track_reply(&t, 5, T0 + 12 * MS);
	assert_int_equal(r.kind, UK_TRACK_NEW);
	assert_int_equal(r.rtt_ns, 2 * MS);

	/* Expiry skips what was evicted: the remembered 3, 4 and 6 expire. */
	assert_int_equal(uk_track_expire(&t, T0 + 10000 * MS, 1000 * MS), 3);
	assert_int_equal(t.waiting, 0);
	uk_track_free(&t);
}

static void test_long_run_counts_balance(void **state)
{
	/* A simulated lossy link: every 7th probe lost, every 5th duplicated,
	 * pairs swapped. Counters must add up exactly. */
	struct uk_track t;
	const uint64_t timeout = 50 * MS;
	uint64_t now = T0, sent = 0, fresh = 0, dups = 0, lost = 0, evicted_n = 0, late = 0;
	uint64_t pending = 0;
	(void)state;
	assert_int_equal(uk_track_init(&t, 64), 0);
	for (uint64_t i = 0; i < 10000; i++) {
		bool ev;
		uint64_t seq = uk_track_sent(&t, now, &ev);
		sent++;
		evicted_n += ev;
		if (seq % 2 == 1) {
			pending = seq; /* delivered after the next one */
		} else {
			const uint64_t order[2] = {seq, pending};
			for (int k = 0; k < 2; k++) {
				uint64_t s = order[k];
				struct uk_track_result r;
				if (s % 7 == 0)
					continue;
				r = uk_track_reply(&t, s, now + MS);
				fresh += r.kind == UK_TRACK_NEW;
				late += r.kind == UK_TRACK_LATE;
				/* The odd probe overtaken by its successor is reordered. */
				if (k == 1 && order[0] % 7 != 0)
					assert_true(r.reordered);
				if (s % 5 == 0) {
					r = uk_track_reply(&t, s, now + 2 * MS);
					assert_int_equal(r.kind, UK_TRACK_DUP);
					dups++;
				}
			}
		}
		now += MS;
		lost += uk_track_expire(&t, now, timeout);
	}
	lost += uk_track_expire(&t, now + timeout, timeout);
	assert_int_equal(late, 0);
	assert_int_equal(evicted_n, 0);
	assert_int_equal(sent, 10000);
	assert_int_equal(lost, 10000 / 7);
	assert_int_equal(fresh + lost, sent);
	assert_true(dups > 0);
	assert_int_equal(t.waiting, 0);
	uk_track_free(&t);
}

static void test_unsend_takes_back_the_newest(void **state)
{
	struct uk_track t;
	(void)state;
	assert_int_equal(uk_track_init(&t, 4), 0);
	for (uint64_t i = 1; i <= 3; i++)
		(void)uk_track_sent(&t, T0 + i * MS, NULL);
	assert_int_equal(uk_track_reply(&t, 2, T0 + 5 * MS).kind, UK_TRACK_NEW);
	/* 3 is taken back; 2 was answered, so the walk stops there. */
	assert_int_equal(uk_track_unsend(&t, 5), 1);
	assert_int_equal(t.waiting, 1);
	assert_int_equal(t.next_seq, 3);
	assert_int_equal(uk_track_reply(&t, 3, T0 + 6 * MS).kind, UK_TRACK_UNKNOWN);
	/* The number is reused by the next probe; nothing expires twice. */
	assert_int_equal(uk_track_sent(&t, T0 + 7 * MS, NULL), 3);
	assert_int_equal(uk_track_expire(&t, T0 + 10000 * MS, 1000 * MS), 2);
	assert_int_equal(t.waiting, 0);
	assert_int_equal(uk_track_unsend(&t, 1), 0);
	uk_track_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_rounds_up),
	    cmocka_unit_test(test_new_dup_unknown),
	    cmocka_unit_test(test_reordered),
	    cmocka_unit_test(test_expire_and_late),
	    cmocka_unit_test(test_eviction_on_wrap),
	    cmocka_unit_test(test_long_run_counts_balance),
	    cmocka_unit_test(test_unsend_takes_back_the_newest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
