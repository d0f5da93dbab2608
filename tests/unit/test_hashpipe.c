/* Unit tests for lib/hashpipe.c: the digest equals the one-shot SHA-256
 * for streams under one slot (hashed in the caller), of many slots (the
 * worker, with the feeder waiting on a full ring) and fed in uneven
 * pieces; one pipe reused for many hashes; a hash dropped by a begin or
 * by freeing the pipe in the middle. The TSan build runs these too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "udpkit/hashpipe.h"

static unsigned char *data(size_t n)
{
	unsigned char *p = malloc(n ? n : 1);
	uint32_t x = 2463534242u;

	assert_non_null(p);
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
	return p;
}

/* Feeds n bytes in pieces cycling from 1 byte to max, checks the digest. */
/* Feeds n bytes in uneven pieces (1 to max) and checks the digest. With
 * room, through room and commit as a receiver recv()s into the slot:
 * some pieces committed short of what was put there, some commits of 0. */
static void check_by(struct uk_hashpipe *hp, size_t n, size_t max, bool room)
{
	unsigned char *p = data(n);
	uint8_t want[UK_SHA256_BYTES], got[UK_SHA256_BYTES];
	size_t off = 0, step = 1;

	assert_int_equal(uk_sha256(p, n, want), 0);
	assert_int_equal(uk_hashpipe_begin(hp), 0);
	while (off < n) {
		size_t k = n - off < step ? n - off : step;
		if (room) {
			size_t cap;
			unsigned char *r = uk_hashpipe_room(hp, &cap);
			assert_true(cap >= 1);
			k = k < cap ? k : cap;
			memcpy(r, p + off, k);
			if (k < cap) /* bytes past what is committed are not hashed */
				r[k] = (unsigned char)~p[off];
			k = step % 5 == 0 ? 0 : k;
			uk_hashpipe_commit(hp, k);
		} else {
			uk_hashpipe_feed(hp, p + off, k);
		}
		off += k;
		step = step * 7 % max + 1;
	}
	assert_int_equal(uk_hashpipe_end(hp, got), 0);
	assert_memory_equal(got, want, sizeof(got));
	free(p);
}

static void check(struct uk_hashpipe *hp, size_t n, size_t max)
{
	check_by(hp, n, max, false);
}

static void check_room(struct uk_hashpipe *hp, size_t n, size_t max)
{
	check_by(hp, n, max, true);
}

static void test_room(void **state)
{
	static const size_t sizes[] = {0, 1, 1000, 262144, 262145, (3 << 20) + 777};
	struct uk_hashpipe *hp;
	(void)state;

	assert_int_equal(uk_hashpipe_new(&hp), 0);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		check_room(hp, sizes[i], 100000);
		check_room(hp, sizes[i], 300000);
	}
	uk_hashpipe_free(hp);
}

static void test_sizes(void **state)
{
	static const size_t sizes[] = {
	    0, 1, 63, 64, 1000, 262143, 262144, 262145, 1 << 20, (1 << 20) + 1, (5 << 20) + 12345};
	struct uk_hashpipe *hp;
	(void)state;

	assert_int_equal(uk_hashpipe_new(&hp), 0);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		check(hp, sizes[i], 4096);
		check(hp, sizes[i], 700000); /* pieces larger than a slot */
	}
	uk_hashpipe_free(hp);
}

/* The FIPS 180-2 "abc" through the pipe, and many small hashes in a row
 * (the folder of small files). */
static void test_abc_and_many_small(void **state)
{
	static const uint8_t abc[UK_SHA256_BYTES] = {
	    0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
	    0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
	    0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
	struct uk_hashpipe *hp;
	uint8_t got[UK_SHA256_BYTES];
	(void)state;

	assert_int_equal(uk_hashpipe_new(&hp), 0);
	assert_int_equal(uk_hashpipe_begin(hp), 0);
	uk_hashpipe_feed(hp, "abc", 3);
	assert_int_equal(uk_hashpipe_end(hp, got), 0);
	assert_memory_equal(got, abc, sizeof(got));
	for (size_t n = 0; n < 300; n++)
		check(hp, n * 37, 100);
	uk_hashpipe_free(hp);
}

/* A begin drops the hash in progress, even one the worker is busy with;
 * freeing a pipe in the middle of a hash is clean (ASan: no leak). */
static void test_dropped(void **state)
{
	size_t n = 3u << 20;
	unsigned char *p = data(n);
	uint8_t want[UK_SHA256_BYTES], got[UK_SHA256_BYTES];
	struct uk_hashpipe *hp;
	(void)state;

	assert_int_equal(uk_hashpipe_new(&hp), 0);
	assert_int_equal(uk_hashpipe_begin(hp), 0);
	uk_hashpipe_feed(hp, p, n);
	assert_int_equal(uk_hashpipe_begin(hp), 0);
	uk_hashpipe_feed(hp, "abc", 3);
	assert_int_equal(uk_hashpipe_end(hp, got), 0);
	assert_int_equal(uk_sha256("abc", 3, want), 0);
	assert_memory_equal(got, want, sizeof(got));
	assert_int_equal(uk_hashpipe_begin(hp), 0);
	uk_hashpipe_feed(hp, p, n);
	uk_hashpipe_free(hp);
	uk_hashpipe_free(NULL);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_abc_and_many_small),
	    cmocka_unit_test(test_dropped),
	    cmocka_unit_test(test_room),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
