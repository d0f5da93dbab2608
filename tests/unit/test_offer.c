/* Unit tests for lib/offer.c: who may fetch what, completion, release and
 * expiry on a virtual clock. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "udpkit/err.h"
#include "udpkit/offer.h"

#define SEC 1000000000ull

static const unsigned char peer[4] = {127, 0, 0, 2}, other[4] = {127, 0, 0, 3};

static struct uk_filereq req(uint32_t mode, uint64_t offer, uint64_t id, uint64_t offset)
{
	struct uk_filereq r = {.mode = mode, .offer_no = offer, .id_hex = id, .offset = offset};
	return r;
}

static void test_who_and_what(void **state)
{
	struct uk_offer o;
	struct uk_filereq r;
	(void)state;

	assert_int_equal(uk_offer_init(&o, 500, peer, 3, 0, 0), UK_ERANGE_);
	assert_int_equal(uk_offer_init(&o, 500, peer, 4, 60 * SEC, 0), 0);
	assert_int_equal(uk_offer_add(&o, 0, 100, false), 0);
	assert_int_equal(uk_offer_add(&o, 1, 0, true), 1);
	r = req(UK_FILEREQ_GETFILEDATA, 500, 0, 0);
	assert_int_equal(uk_offer_find(&o, &r, peer, 4), 0);
	assert_int_equal(uk_offer_find(&o, &r, other, 4), -EACCES);
	assert_int_equal(uk_offer_find(&o, &r, peer, 16), -EACCES);
	r.offer_no = 501;
	assert_int_equal(uk_offer_find(&o, &r, peer, 4), -ENOENT);
	r = req(UK_FILEREQ_GETFILEDATA, 500, 7, 0);
	assert_int_equal(uk_offer_find(&o, &r, peer, 4), -ENOENT);
	/* A folder asked as a file and a file as a folder. */
	r = req(UK_FILEREQ_GETFILEDATA, 500, 1, 0);
	assert_int_equal(uk_offer_find(&o, &r, peer, 4), -ENOENT);
	r = req(UK_FILEREQ_GETDIRFILES, 500, 0, 0);
	assert_int_equal(uk_offer_find(&o, &r, peer, 4), -ENOENT);
	r = req(UK_FILEREQ_GETDIRFILES, 500, 1, 0);
	assert_int_equal(uk_offer_find(&o, &r, peer, 4), 1);
	/* Offsets: up to the size (resume of a complete file sends nothing). */
	r = req(UK_FILEREQ_GETFILEDATA, 500, 0, 100);
	assert_int_equal(uk_offer_find(&o, &r, peer, 4), 0);
	r.offset = 101;
	assert_int_equal(uk_offer_find(&o, &r, peer, 4), -EINVAL);
	for (int i = 2; i < UK_OFFER_FILES; i++)
		assert_int_equal(uk_offer_add(&o, (uint64_t)i, 1, false), i);
	assert_int_equal(uk_offer_add(&o, 99, 1, false), UK_ENOSPACE);
}

static void test_done_and_release(void **state)
{
	struct uk_offer o;
	struct uk_filereq r = req(UK_FILEREQ_GETFILEDATA, 1, 0, 0);
	(void)state;

	uk_offer_init(&o, 1, peer, 4, 0, 0);
	uk_offer_add(&o, 0, 10, false);
	uk_offer_add(&o, 1, 10, false);
	/* An interrupted fetch, then a complete one, of the first file. */
	uk_offer_start(&o, 0);
	uk_offer_sent(&o, 0, 4);
	uk_offer_end(&o, 0, false);
	assert_int_equal(o.state, UK_OFFER_OPEN);
	uk_offer_start(&o, 0);
	uk_offer_sent(&o, 0, 6);
	uk_offer_end(&o, 0, true);
	assert_int_equal(o.files[0].sent, 10);
	assert_int_equal(o.state, UK_OFFER_OPEN);
	uk_offer_start(&o, 1);
	uk_offer_end(&o, 1, true);
	assert_int_equal(o.state, UK_OFFER_DONE);
	assert_string_equal(uk_offer_state_name(o.state), "fetched");
	/* No deadline: never expires; a finished offer serves nothing more. */
	assert_int_equal(uk_offer_tick(&o, UINT64_MAX), UK_OFFER_DONE);
	assert_int_equal(uk_offer_find(&o, &r, peer, 4), -ESTALE);
	uk_offer_release(&o);
	assert_int_equal(o.state, UK_OFFER_DONE);

	uk_offer_init(&o, 1, peer, 4, 0, 0);
	uk_offer_add(&o, 0, 10, false);
	uk_offer_release(&o);
	assert_int_equal(o.state, UK_OFFER_RELEASED);
	assert_int_equal(uk_offer_find(&o, &r, peer, 4), -ESTALE);
	assert_string_equal(uk_offer_state_name(UK_OFFER_RELEASED), "released");
}

static void test_expiry(void **state)
{
	struct uk_offer o;
	(void)state;

	uk_offer_init(&o, 1, peer, 4, 30 * SEC, 100 * SEC);
	uk_offer_add(&o, 0, 10, false);
	assert_int_equal(uk_offer_tick(&o, 129 * SEC), UK_OFFER_OPEN);
	/* Due, but a fetch is running: it is not cut. */
	uk_offer_start(&o, 0);
	assert_int_equal(uk_offer_tick(&o, 130 * SEC), UK_OFFER_OPEN);
	uk_offer_end(&o, 0, false);
	assert_int_equal(uk_offer_tick(&o, 131 * SEC), UK_OFFER_EXPIRED);
	assert_string_equal(uk_offer_state_name(o.state), "expired");
	/* A fetch that completes while due still counts as fetched. */
	uk_offer_init(&o, 1, peer, 4, 30 * SEC, 0);
	uk_offer_add(&o, 0, 10, false);
	uk_offer_start(&o, 0);
	uk_offer_tick(&o, 40 * SEC);
	uk_offer_end(&o, 0, true);
	assert_int_equal(uk_offer_tick(&o, 41 * SEC), UK_OFFER_DONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_who_and_what),
	    cmocka_unit_test(test_done_and_release),
	    cmocka_unit_test(test_expiry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
