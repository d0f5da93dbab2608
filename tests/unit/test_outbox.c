/* Unit tests for lib/outbox.c, driven by a virtual clock: the backoff
 * doubles up to its cap, the try budget ends in exactly one GIVE_UP, a
 * receipt settles exactly one message, a full outbox refuses with -ENOSPC,
 * a duplicate packet number with -EEXIST, and drain/free hand back every
 * user pointer once. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "udpkit/addr.h"
#include "udpkit/clock.h"
#include "udpkit/outbox.h"

#define MS UK_NS_PER_MS
#define T0 (1000 * UK_NS_PER_SEC)

static struct uk_addr peer(const char *text)
{
	struct uk_addr a;
	assert_int_equal(uk_addr_parse_hostport_flags(&a, text, 2425, AF_UNSPEC, UK_ADDR_NUMERIC),
			 0);
	return a;
}

static void test_defaults(void **state)
{
	struct uk_outbox ob;
	struct uk_outbox_cfg cfg = {.rto_first_ns = 500 * MS, .rto_max_ns = 100 * MS};
	(void)state;
	assert_int_equal(uk_outbox_init(&ob, NULL), 0);
	assert_int_equal(ob.cfg.rto_first_ns, UK_OUTBOX_DEFAULT_RTO_FIRST_NS);
	assert_int_equal(ob.cfg.rto_max_ns, UK_OUTBOX_DEFAULT_RTO_MAX_NS);
	assert_int_equal(ob.cfg.max_tries, UK_OUTBOX_DEFAULT_TRIES);
	assert_int_equal(ob.cfg.capacity, UK_OUTBOX_DEFAULT_CAPACITY);
	assert_int_equal(uk_outbox_deadline(&ob), UINT64_MAX);
	uk_outbox_free(&ob, NULL);
	assert_null(ob.items);
	/* A cap below the first wait is raised to it. */
	assert_int_equal(uk_outbox_init(&ob, &cfg), 0);
	assert_int_equal(ob.cfg.rto_max_ns, 500 * MS);
	uk_outbox_free(&ob, NULL);
}

static void test_backoff_and_give_up(void **state)
{
	struct uk_outbox ob;
	struct uk_outbox_cfg cfg = {
	    .rto_first_ns = 100 * MS, .rto_max_ns = 350 * MS, .max_tries = 5, .capacity = 4};
	struct uk_outbox_action act;
	struct uk_addr a = peer("127.0.0.1:2425");
	int user = 7;
	/* Waits after tries 1..5: 100, 200, 350 (cap), 350, 350 ms. */
	const uint64_t waits[] = {100 * MS, 200 * MS, 350 * MS, 350 * MS, 350 * MS};
	uint64_t now = T0;
	(void)state;
	assert_int_equal(uk_outbox_init(&ob, &cfg), 0);
	assert_int_equal(uk_outbox_add(&ob, &a, 42, "hello", 5, &user, now), 0);
	assert_int_equal(ob.count, 1);
	for (unsigned t = 1; t <= 5; t++) {
		uint64_t due = now + waits[t - 1];
		assert_int_equal(uk_outbox_deadline(&ob), due);
		/* One nanosecond early: nothing. */
		assert_int_equal(uk_outbox_poll(&ob, due - 1, &act), 0);
		now = due;
		assert_int_equal(uk_outbox_poll(&ob, now, &act), 1);
		assert_int_equal(act.packet_no, 42);
		assert_true(uk_addr_equal(&act.peer, &a));
		if (t < 5) {
			assert_int_equal(act.what, UK_OUTBOX_RESEND);
			assert_int_equal(act.tries, t + 1);
			assert_int_equal(act.len, 5);
			assert_memory_equal(act.data, "hello", 5);
			assert_null(act.user);
		} else {
			assert_int_equal(act.what, UK_OUTBOX_GIVE_UP);
			assert_int_equal(act.tries, 5);
			assert_ptr_equal(act.user, &user);
			assert_null(act.data);
		}
		assert_int_equal(uk_outbox_poll(&ob, now, &act), 0);
	}
	assert_int_equal(ob.count, 0);
	assert_int_equal(ob.retransmits, 4);
	assert_int_equal(ob.given_up, 1);
	assert_int_equal(ob.delivered, 0);
	assert_int_equal(uk_outbox_deadline(&ob), UINT64_MAX);
	uk_outbox_free(&ob, NULL);
}

static void test_ack(void **state)
{
	struct uk_outbox ob;
	struct uk_outbox_action act;
	struct uk_addr a = peer("127.0.0.1:2425"), b = peer("127.0.0.2:2425");
	int ua = 1, ub = 2;
	void *user = NULL;
	unsigned tries = 0;
	uint64_t first = 0;
	(void)state;
	assert_int_equal(uk_outbox_init(&ob, NULL), 0);
	assert_int_equal(uk_outbox_add(&ob, &a, 10, "a", 1, &ua, T0), 0);
	assert_int_equal(uk_outbox_add(&ob, &b, 10, "b", 1, &ub, T0 + MS), 0);
	/* The same number to another host is another message; to the same
	 * host it is a duplicate. */
	assert_int_equal(uk_outbox_add(&ob, &a, 10, "c", 1, NULL, T0), -EEXIST);
	assert_int_equal(ob.count, 2);

	/* Wrong number, wrong host: nothing settles. */
	assert_int_equal(uk_outbox_ack(&ob, &a, 11, &user, &tries, &first), 0);
	assert_int_equal(uk_outbox_ack(&ob, &a, 11, &user, &tries, &first), 0);
	struct uk_addr c = peer("127.0.0.3:2425");
	assert_int_equal(uk_outbox_ack(&ob, &c, 10, &user, &tries, &first), 0);
	assert_null(user);

	/* One resend of each, then b's receipt. */
	assert_int_equal(uk_outbox_poll(&ob, T0 + 10 * UK_NS_PER_SEC, &act), 1);
	assert_int_equal(uk_outbox_poll(&ob, T0 + 10 * UK_NS_PER_SEC, &act), 1);
	assert_int_equal(uk_outbox_ack(&ob, &b, 10, &user, &tries, &first), 1);
	assert_ptr_equal(user, &ub);
	assert_int_equal(tries, 2);
	assert_int_equal(first, T0 + MS);
	/* A second receipt for the same message is a duplicate. */
	assert_int_equal(uk_outbox_ack(&ob, &b, 10, &user, &tries, &first), 0);
	assert_int_equal(ob.delivered, 1);
	assert_int_equal(ob.count, 1);
	/* Its number is free again for that host. */
	assert_int_equal(uk_outbox_add(&ob, &b, 10, "", 0, NULL, T0), 0);
	uk_outbox_free(&ob, NULL);
}

static int dropped;
static void drop(void *user)
{
	dropped += *(int *)user;
}

static void test_full_drain_free(void **state)
{
	struct uk_outbox ob;
	struct uk_outbox_cfg cfg = {.capacity = 3};
	struct uk_outbox_action act;
	struct uk_addr a = peer("[::1]:2425");
	int one = 1, ten = 10, hundred = 100;
	int *users[] = {&one, &ten, &hundred};
	int seen = 0;
	(void)state;
	assert_int_equal(uk_outbox_init(&ob, &cfg), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(uk_outbox_add(&ob, &a, (uint64_t)i + 1, "x", 1, users[i], T0), 0);
	assert_int_equal(uk_outbox_add(&ob, &a, 4, "x", 1, NULL, T0), -ENOSPC);
	assert_int_equal(ob.count, 3);

	/* drain gives everything back as GIVE_UP, one call per item. */
	while (uk_outbox_drain(&ob, &act) == 1) {
		assert_int_equal(act.what, UK_OUTBOX_GIVE_UP);
		assert_int_equal(act.tries, 1);
		seen += *(int *)act.user;
	}
	assert_int_equal(seen, 111);
	assert_int_equal(ob.count, 0);
	assert_int_equal(ob.given_up, 3);

	/* free passes what is left to drop(), once each. */
	for (int i = 0; i < 2; i++)
		assert_int_equal(uk_outbox_add(&ob, &a, (uint64_t)i + 1, "y", 1, users[i], T0), 0);
	dropped = 0;
	uk_outbox_free(&ob, drop);
	assert_int_equal(dropped, 11);
	assert_null(ob.items);
	/* free on an outbox already freed does nothing. */
	uk_outbox_free(&ob, drop);
	assert_int_equal(dropped, 11);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_backoff_and_give_up),
	    cmocka_unit_test(test_ack),
	    cmocka_unit_test(test_full_drain_free),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
