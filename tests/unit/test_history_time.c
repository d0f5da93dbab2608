/* Unit tests for lib/history_time.c beyond test_history.c's: the file's
 * time field refused at every wrong byte, years the field cannot hold,
 * the local display with a positive and a negative UTC offset (POSIX TZ
 * strings, no tzdata needed), and --since spans and zones at their
 * limits (a span past 2^64 ns used to wrap around). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "udpkit/err.h"
#include "udpkit/history_time.h"

#define S 1000000000ull
#define T0 (1795688553ull * S + 123000000ull) /* 2026-11-26T10:22:33.123Z */

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static void test_format_and_parse(void **state)
{
	char out[UK_HISTORY_TIME_LEN + 1], bad[UK_HISTORY_TIME_LEN + 1];
	uint64_t ns = 0;
	(void)state;
	assert_int_equal(uk_history_time_format(T0, out), UK_HISTORY_TIME_LEN);
	assert_string_equal(out, "2026-11-26T10:22:33.123Z");
	assert_int_equal(uk_history_time_parse(out, UK_HISTORY_TIME_LEN, &ns), 0);
	assert_int_equal(ns, T0);
	assert_int_equal(uk_history_time_format(0, out), UK_HISTORY_TIME_LEN);
	assert_string_equal(out, "1970-01-01T00:00:00.000Z");
	/* 2^64 ns is in 2554: every uint64_t fits the field. */
	assert_int_equal(uk_history_time_format(UINT64_MAX, out), UK_HISTORY_TIME_LEN);
	assert_string_equal(out, "2554-07-21T23:34:33.709Z");
	/* Every byte of the field, changed, is refused: separators to a digit,
	 * digits to a letter. */
	uk_history_time_format(T0, out);
	for (size_t i = 0; i < UK_HISTORY_TIME_LEN; i++) {
		memcpy(bad, out, sizeof(bad));
		bad[i] = (bad[i] >= '0' && bad[i] <= '9') ? 'x' : '0';
		assert_int_equal(uk_history_time_parse(bad, UK_HISTORY_TIME_LEN, &ns), UK_EPARSE);
	}
	assert_int_equal(uk_history_time_parse(out, UK_HISTORY_TIME_LEN - 1, &ns), UK_EPARSE);
	/* Fields out of range, a date that does not exist, before 1970, past
	 * what 64-bit nanoseconds hold. */
	assert_int_equal(uk_history_time_parse("2026-11-26T24:00:00.000Z", 24, &ns), UK_EPARSE);
	assert_int_equal(uk_history_time_parse("2026-11-26T10:60:00.000Z", 24, &ns), UK_EPARSE);
	assert_int_equal(uk_history_time_parse("2026-11-26T10:00:60.000Z", 24, &ns), UK_EPARSE);
	assert_int_equal(uk_history_time_parse("2026-00-26T10:00:00.000Z", 24, &ns), UK_EPARSE);
	assert_int_equal(uk_history_time_parse("2026-11-00T10:00:00.000Z", 24, &ns), UK_EPARSE);
	assert_int_equal(uk_history_time_parse("2026-11-32T10:00:00.000Z", 24, &ns), UK_EPARSE);
	assert_int_equal(uk_history_time_parse("2026-04-31T10:00:00.000Z", 24, &ns), UK_EPARSE);
	assert_int_equal(uk_history_time_parse("1969-12-31T23:59:59.999Z", 24, &ns), UK_EPARSE);
	assert_int_equal(uk_history_time_parse("2600-01-01T00:00:00.000Z", 24, &ns), UK_EPARSE);
	assert_int_equal(uk_history_time_parse("2028-02-29T00:00:00.000Z", 24, &ns), 0);
}

static void test_show_offsets(void **state)
{
	char out[UK_HISTORY_SHOWN_TIME_LEN + 1];
	(void)state;
	set_tz("CST-8");
	assert_int_equal(uk_history_time_show(T0, false, out), UK_HISTORY_SHOWN_TIME_LEN);
	assert_string_equal(out, "2026-11-26T18:22:33.123+08:00");
	set_tz("NST3:30");
	assert_int_equal(uk_history_time_show(T0, false, out), UK_HISTORY_SHOWN_TIME_LEN);
	assert_string_equal(out, "2026-11-26T06:52:33.123-03:30");
	assert_int_equal(uk_history_time_show(T0, true, out), UK_HISTORY_TIME_LEN);
	assert_string_equal(out, "2026-11-26T10:22:33.123Z");
	set_tz("UTC0");
	assert_int_equal(uk_history_time_show(T0, false, out), UK_HISTORY_SHOWN_TIME_LEN);
	assert_string_equal(out, "2026-11-26T10:22:33.123+00:00");
}

static void test_since_limits(void **state)
{
	uint64_t ns = 1;
	(void)state;
	set_tz("CST-8");
	/* Spans: each unit; past 2^64 ns (or past now) is everything. */
	assert_int_equal(uk_history_since_parse("15m", T0, false, &ns), 0);
	assert_int_equal(ns, T0 - 900 * S);
	assert_int_equal(uk_history_since_parse("3d", T0, false, &ns), 0);
	assert_int_equal(ns, T0 - 3ull * 86400 * S);
	assert_int_equal(uk_history_since_parse("31000w", T0, false, &ns), 0);
	assert_int_equal(ns, 0);
	assert_int_equal(uk_history_since_parse("9999999999s", T0, false, &ns), 0);
	assert_int_equal(ns, 0);
	assert_int_equal(uk_history_since_parse("2s", 1 * S, false, &ns), 0);
	assert_int_equal(ns, 0);
	assert_int_equal(uk_history_since_parse("12345678901s", T0, false, &ns), UK_EPARSE);
	assert_int_equal(uk_history_since_parse("1.5h", T0, false, &ns), UK_EPARSE);
	/* Local time without a zone; UTC when asked; a negative offset. */
	assert_int_equal(uk_history_since_parse("2026-11-26 18:22:33.123", T0, false, &ns), 0);
	assert_int_equal(ns, T0);
	assert_int_equal(uk_history_since_parse("2026-11-26 10:22:33.123", T0, true, &ns), 0);
	assert_int_equal(ns, T0);
	assert_int_equal(uk_history_since_parse("2026-11-26T06:52:33.123-03:30", T0, false, &ns),
			 0);
	assert_int_equal(ns, T0);
	/* A zone that puts it before the epoch: everything. */
	assert_int_equal(uk_history_since_parse("1970-01-01T00:00+01:00", T0, false, &ns), 0);
	assert_int_equal(ns, 0);
	/* Truncated and out-of-range pieces. */
	const char *bad[] = {"2026-11-26T10:2",
			     "2026-11-26T10:22:3",
			     "2026-11-26T10:22:33.12",
			     "2026-11-26T10:22+08",
			     "2026-11-26T10:22+24:00",
			     "2026-11-26T10:22+08:60",
			     "2026-11-26T10:22+0800",
			     "2026-11-26X10:22",
			     "2026/11/26",
			     "1969-12-31",
			     "2026-11-26T25:00",
			     "2026-11-26T10-22",
			     "2026-11-26T10:22:33.abc",
			     "26-11-26"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(uk_history_since_parse(bad[i], T0, false, &ns), UK_EPARSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format_and_parse),
	    cmocka_unit_test(test_show_offsets),
	    cmocka_unit_test(test_since_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
