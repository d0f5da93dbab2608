/* Unit tests for lib/hashpipe.c: the digest equals the one-shot SHA-256
 * for streams under one slot (hashed in the caller), of many slots (the
 * worker, with the feeder waiting on a full ring) and fed in uneven
 * pieces; the file mode (the worker hashing a file as far as it is
 * written, a resume's prefix first, the caller's descriptor closed early,
 * a file it cannot map); one pipe reused for many hashes, in both modes; a
 * hash dropped by a begin or by freeing the pipe in the middle. The TSan
 * build runs these too. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <unistd.h>

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

/* Feeds n bytes in uneven pieces (1 to max) and checks the digest. */
static void check(struct uk_hashpipe *hp, size_t n, size_t max)
{
	unsigned char *p = data(n);
	uint8_t want[UK_SHA256_BYTES], got[UK_SHA256_BYTES];
	size_t off = 0, step = 1;

	assert_int_equal(uk_sha256(p, n, want), 0);
	assert_int_equal(uk_hashpipe_begin(hp), 0);
	while (off < n) {
		size_t k = n - off < step ? n - off : step;
		uk_hashpipe_feed(hp, p + off, k);
		off += k;
		step = step * 7 % max + 1;
	}
	assert_int_equal(uk_hashpipe_end(hp, got), 0);
	assert_memory_equal(got, want, sizeof(got));
	free(p);
}

/* A temporary file, already unlinked, open for reading and writing. */
static int temp_file(void)
{
	char name[] = "/tmp/test_hashpipe.XXXXXX";
	int fd = mkstemp(name);

	assert_true(fd >= 0);
	assert_int_equal(unlink(name), 0);
	return fd;
}

/* File mode as a download uses it: `prefix` bytes already in the file
 * (a resume), then the rest written in uneven pieces (1 to max), each
 * announced with uk_hashpipe_written; with close_early the caller's
 * descriptor is closed before the end (the pipe hashes its own). */
static void check_file(struct uk_hashpipe *hp, size_t n, size_t prefix, size_t max,
		       bool close_early)
{
	unsigned char *p = data(n);
	uint8_t want[UK_SHA256_BYTES], got[UK_SHA256_BYTES];
	size_t off = prefix, step = 1;
	int fd = temp_file();

	assert_int_equal(uk_sha256(p, n, want), 0);
	assert_int_equal(write(fd, p, prefix), (ssize_t)prefix);
	assert_int_equal(uk_hashpipe_begin_file(hp, fd), 0);
	uk_hashpipe_written(hp, prefix);
	while (off < n) {
		size_t k = n - off < step ? n - off : step;
		assert_int_equal(write(fd, p + off, k), (ssize_t)k);
		off += k;
		uk_hashpipe_written(hp, off);
		step = step * 7 % max + 1;
	}
	if (close_early)
		assert_int_equal(close(fd), 0);
	assert_int_equal(uk_hashpipe_end(hp, got), 0);
	assert_memory_equal(got, want, sizeof(got));
	if (!close_early)
		assert_int_equal(close(fd), 0);
	free(p);
}

static void test_file(void **state)
{
	static const size_t sizes[] = {0,
				       1,
				       1000,
				       4096,
				       (1 << 20) - 1,
				       1 << 20,
				       (1 << 20) + 1,
				       (2 << 20) + 5,
				       (5 << 20) + 777};
	struct uk_hashpipe *hp;
	(void)state;

	assert_int_equal(uk_hashpipe_new(&hp), 0);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		check_file(hp, sizes[i], 0, 300000, false);
		check_file(hp, sizes[i], sizes[i] / 3, 100000, true);
		check(hp, sizes[i], 4096); /* the slots again after the file */
	}
	uk_hashpipe_free(hp);
}

/* A file the pipe cannot map (open for writing only): the end says so
 * and gives no digest; the pipe works again afterwards. A file-mode hash
 * dropped by a begin or by freeing the pipe is clean (ASan: no leak). */
static void test_file_errors_and_dropped(void **state)
{
	char name[] = "/tmp/test_hashpipe.XXXXXX";
	uint8_t zero[UK_SHA256_BYTES] = {0}, got[UK_SHA256_BYTES];
	size_t n = 3u << 20;
	unsigned char *p = data(n);
	struct uk_hashpipe *hp;
	int fd = mkstemp(name), wo;
	(void)state;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	wo = open(name, O_WRONLY | O_CLOEXEC);
	assert_true(wo >= 0);
	assert_int_equal(unlink(name), 0);
	assert_int_equal(uk_hashpipe_new(&hp), 0);
	assert_int_equal(uk_hashpipe_begin_file(hp, wo), 0);
	uk_hashpipe_written(hp, n);
	assert_int_equal(uk_hashpipe_end(hp, got), -EACCES);
	assert_memory_equal(got, zero, sizeof(got));
	check(hp, 1000, 100);
	assert_int_equal(uk_hashpipe_begin_file(hp, -1), -EBADF);
	check(hp, 1000, 100);
	/* Dropped: by a begin, then by the free. */
	assert_int_equal(uk_hashpipe_begin_file(hp, fd), 0);
	uk_hashpipe_written(hp, n);
	check(hp, 1000, 100);
	assert_int_equal(uk_hashpipe_begin_file(hp, fd), 0);
	uk_hashpipe_written(hp, n);
	uk_hashpipe_free(hp);
	assert_int_equal(close(wo), 0);
	assert_int_equal(close(fd), 0);
	free(p);
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
	    cmocka_unit_test(test_file),
	    cmocka_unit_test(test_file_errors_and_dropped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
