/* Unit tests for lib/sha256.c: the FIPS 180-2 (appendix B) vectors and the
 * empty message, one-shot and streamed in uneven pieces; a context reused
 * after a final; freeing twice; a final without an init fails. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "udpkit/sha256.h"

struct vec {
	const char *msg;
	size_t repeat; /* the message this many times */
	const char *hex;
};

static const struct vec vecs[] = {
    {"", 1, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    /* FIPS 180-2 B.1, B.2, B.3 */
    {"abc", 1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {"a", 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
};

static void unhex(const char *hex, uint8_t out[UK_SHA256_BYTES])
{
	for (size_t i = 0; i < UK_SHA256_BYTES; i++) {
		char b[3] = {hex[2 * i], hex[2 * i + 1], 0};
		out[i] = (uint8_t)strtoul(b, NULL, 16);
	}
}

static char *expand(const struct vec *v, size_t *len)
{
	size_t n = strlen(v->msg);
	char *p = malloc(n * v->repeat + 1);

	assert_non_null(p);
	for (size_t i = 0; i < v->repeat; i++)
		memcpy(p + i * n, v->msg, n);
	*len = n * v->repeat;
	return p;
}

static void test_vectors_one_shot(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		uint8_t want[UK_SHA256_BYTES], got[UK_SHA256_BYTES];
		size_t len;
		char *p = expand(&vecs[i], &len);
		unhex(vecs[i].hex, want);
		assert_int_equal(uk_sha256(p, len, got), 0);
		assert_memory_equal(got, want, sizeof(got));
		free(p);
	}
}

/* Streamed in pieces of 1, 2, 3 ... bytes (so they straddle the 64-byte
 * blocks), through one context reused for every vector. */
static void test_vectors_streamed(void **state)
{
	struct uk_sha256 s = {0};
	(void)state;

	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		uint8_t want[UK_SHA256_BYTES], got[UK_SHA256_BYTES];
		size_t len, off = 0, step = 1;
		char *p = expand(&vecs[i], &len);
		unhex(vecs[i].hex, want);
		assert_int_equal(uk_sha256_init(&s), 0);
		while (off < len) {
			size_t k = len - off < step ? len - off : step;
			uk_sha256_update(&s, p + off, k);
			off += k;
			step = step % 997 + 1;
		}
		assert_int_equal(uk_sha256_final(&s, got), 0);
		assert_memory_equal(got, want, sizeof(got));
		free(p);
	}
	uk_sha256_free(&s);
	assert_null(s.ctx);
	uk_sha256_free(&s); /* twice: harmless */
}

/* An init starts afresh, even in the middle of a hash. */
static void test_init_resets(void **state)
{
	struct uk_sha256 s = {0};
	uint8_t want[UK_SHA256_BYTES], got[UK_SHA256_BYTES];
	(void)state;

	unhex(vecs[1].hex, want);
	assert_int_equal(uk_sha256_init(&s), 0);
	uk_sha256_update(&s, "garbage", 7);
	assert_int_equal(uk_sha256_init(&s), 0);
	uk_sha256_update(&s, "abc", 3);
	assert_int_equal(uk_sha256_final(&s, got), 0);
	assert_memory_equal(got, want, sizeof(got));
	uk_sha256_free(&s);
}

/* A final on a hash never started is an error, with a zeroed digest. */
static void test_final_without_init(void **state)
{
	struct uk_sha256 s = {0};
	uint8_t got[UK_SHA256_BYTES], zero[UK_SHA256_BYTES] = {0};
	(void)state;

	memset(got, 0xee, sizeof(got));
	uk_sha256_update(&s, "abc", 3);
	assert_int_equal(uk_sha256_final(&s, got), -EIO);
	assert_memory_equal(got, zero, sizeof(got));
	uk_sha256_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors_one_shot),
	    cmocka_unit_test(test_vectors_streamed),
	    cmocka_unit_test(test_init_resets),
	    cmocka_unit_test(test_final_without_init),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
