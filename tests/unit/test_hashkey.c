/* Unit tests for lib/hashkey.c: the keyed hash is stable within a process
 * and changes with the key (so a sender cannot predict buckets); a fixed
 * key reproduces; random bytes are not constant. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "udpkit/hashkey.h"

static void test_stable_and_keyed(void **state)
{
	static const unsigned char zero[UK_HASHKEY_BYTES], one[UK_HASHKEY_BYTES] = {1};
	uint64_t a = uk_hash("abc", 3), b, c;
	(void)state;

	assert_int_equal(a, uk_hash("abc", 3));
	assert_int_not_equal(a, uk_hash("abd", 3));
	assert_int_equal(uk_hash2(1, 2), uk_hash2(1, 2));
	assert_int_not_equal(uk_hash2(1, 2), uk_hash2(2, 1));
	uk_hashkey_set(zero);
	b = uk_hash("abc", 3);
	uk_hashkey_set(one);
	c = uk_hash("abc", 3);
	assert_int_not_equal(b, c);
	uk_hashkey_set(zero);
	assert_int_equal(b, uk_hash("abc", 3));
}

static void test_random_bytes(void **state)
{
	unsigned char x[32], y[32];
	(void)state;

	uk_random_bytes(x, sizeof(x));
	uk_random_bytes(y, sizeof(y));
	/* Equal by chance with odds 2^-256. */
	assert_memory_not_equal(x, y, sizeof(x));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stable_and_keyed),
	    cmocka_unit_test(test_random_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
