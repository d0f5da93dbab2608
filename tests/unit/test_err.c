/* Unit tests for lib/err.c: every UK_E* code has its own text, -errno
 * values read as glibc describes them, and anything else is "unknown error". */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "udpkit/err.h"

static void test_own_codes(void **state)
{
	(void)state;
	assert_string_equal(uk_strerror(UK_EPARSE), "cannot parse");
	assert_string_equal(uk_strerror(UK_ERANGE_), "value out of range");
	assert_string_equal(uk_strerror(UK_ENOSPACE), "no space left in the output buffer");
	assert_string_equal(uk_strerror(UK_ENOTFOUND), "no such host");
	assert_string_equal(uk_strerror(UK_EFAMILY), "address family does not match");
	assert_non_null(strstr(uk_strerror(UK_ENAMESERVICE), "name service unreachable"));
	assert_non_null(strstr(uk_strerror(UK_EAMBIGUOUS), "[ADDR]:PORT"));
}

static void test_errno_and_unknown(void **state)
{
	(void)state;
	assert_string_equal(uk_strerror(-ENOENT), "No such file or directory");
	assert_string_equal(uk_strerror(-EADDRINUSE), "Address already in use");
	/* A number without a message: static text, not a buffer the next
	 * call frees (strerror's "Unknown error 4095" was one: ASan). */
	const char *a = uk_strerror(-4095), *b = uk_strerror(-4094);
	assert_string_equal(a, "unknown error");
	assert_string_equal(b, "unknown error");
	/* Retired codes, positive values, zero and far-off values. */
	assert_string_equal(uk_strerror(-10003), "unknown error");
	assert_string_equal(uk_strerror(-10010), "unknown error");
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
