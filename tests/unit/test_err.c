/* Unit tests for lib/err.c: every UK_E* code has its own text, -errno
 * values read as strerror() does, and anything else is "unknown error". */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "udpkit/err.h"

static void test_own_codes(void **state)
{
	(void)state;
	assert_string_equal(uk_strerror(UK_EPARSE), "cannot parse");
	assert_string_equal(uk_strerror(UK_ERANGE_), "value out of range");
	assert_string_equal(uk_strerror(UK_ENOSPACE), "no space left in the output buffer");
	assert_string_equal(uk_strerror(UK_ENOTFOUND), "host not found");
}

static void test_errno_and_unknown(void **state)
{
	(void)state;
	assert_string_equal(uk_strerror(-ENOENT), strerror(ENOENT));
	assert_string_equal(uk_strerror(-EADDRINUSE), strerror(EADDRINUSE));
	/* glibc formats an unknown errno into a buffer that its next strerror()
	 * frees: keep a copy before calling it again (ASan saw the reuse). */
	{
		char got[64];
		snprintf(got, sizeof(got), "%s", uk_strerror(-4095));
		assert_string_equal(got, strerror(4095));
	}
	/* Retired codes, positive values, zero and far-off values. */
	assert_string_equal(uk_strerror(-10003), "unknown error");
	assert_string_equal(uk_strerror(-10006), "unknown error");
	assert_string_equal(uk_strerror(-4096), "unknown error");
	assert_string_equal(uk_strerror(0), "unknown error");
	assert_string_equal(uk_strerror(5), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_own_codes),
	    cmocka_unit_test(test_errno_and_unknown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
