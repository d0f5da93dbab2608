/* Unit tests for lib/clock.c: the clocks move forward and the wall clock
 * agrees with time(); ctime text as glibc's, fixed width, and '?' for
 * years it cannot show; the per-second cache refreshes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "udpkit/clock.h"

static int setup_tz(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	return 0;
}

static void test_clocks(void **state)
{
	uint64_t a = uk_now_ns(), b = uk_now_ns();
	time_t before = time(NULL);
	uint64_t wall = uk_wall_ns();
	time_t after = time(NULL);
	(void)state;
	assert_true(b >= a);
	assert_in_range(wall / UK_NS_PER_SEC, (uint64_t)before, (uint64_t)after);
}

static void test_ctime_edges(void **state)
{
	char text[UK_CTIME_LEN + 1];
	struct uk_ctime_cache c = {0};
	(void)state;
	uk_ctime_format(0, text);
	assert_string_equal(text, "Thu Jan  1 00:00:00 1970");
	uk_ctime_format(253402300799, text); /* the last second of 9999 */
	assert_string_equal(text, "Fri Dec 31 23:59:59 9999");
	uk_ctime_format(253402300800, text); /* year 10000: not 24 columns */
	assert_string_equal(text, "????????????????????????");
	assert_int_equal(strlen(text), UK_CTIME_LEN);
	/* The cache: same second, same text; a new second, new text. */
	assert_string_equal(uk_ctime_cached(&c, 0), "Thu Jan  1 00:00:00 1970");
	assert_string_equal(uk_ctime_cached(&c, 0), "Thu Jan  1 00:00:00 1970");
	assert_string_equal(uk_ctime_cached(&c, 60), "Thu Jan  1 00:01:00 1970");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_clocks),
	    cmocka_unit_test(test_ctime_edges),
	};
	return cmocka_run_group_tests(tests, setup_tz, NULL);
}
