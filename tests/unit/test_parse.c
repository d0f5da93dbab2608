/* Unit tests for lib/parse.c: numbers from the command line are strict
 * (no junk, no overflow, no silent wrap) and durations know their units. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "udpkit/clock.h"
#include "udpkit/err.h"
#include "udpkit/parse.h"

static void test_u64_good(void **state)
{
	uint64_t v = 1;
	(void)state;
	assert_int_equal(uk_parse_u64("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(uk_parse_u64("65535", 0, 65535, &v), 0);
	assert_int_equal(v, 65535);
	assert_int_equal(uk_parse_u64("007", 0, 10, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(uk_parse_u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, UINT64_MAX);
}

static void test_u64_junk_and_range(void **state)
{
	static const char *const junk[] = {"",	   " 1",  "1 ",	 "+1",	"-1",	 "1x",
					   "0x10", "1.0", "1e3", "abc", "1,000", "\t2"};
	uint64_t v = 42;
	(void)state;
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		if (uk_parse_u64(junk[i], 0, UINT64_MAX, &v) != UK_EPARSE)
			fail_msg("'%s' accepted", junk[i]);
	assert_int_equal(uk_parse_u64(NULL, 0, 1, &v), UK_EPARSE);
	assert_int_equal(uk_parse_u64("65536", 0, 65535, &v), UK_ERANGE_);
	assert_int_equal(uk_parse_u64("0", 1, 10, &v), UK_ERANGE_);
	assert_int_equal(uk_parse_u64("18446744073709551616", 0, UINT64_MAX, &v), UK_ERANGE_);
	assert_int_equal(uk_parse_u64("99999999999999999999999", 0, UINT64_MAX, &v), UK_ERANGE_);
	/* Failures leave the output alone. */
	assert_int_equal(v, 42);
}

static void test_double(void **state)
{
	static const char *const junk[] = {"",	   "-0.5", "+1",  " 1",	   "1 ",   ".",	    "1..2",
					   "0.2s", "nan",  "inf", "1e999", "0x10", "0x1p3", "abc"};
	double v = 0;
	(void)state;
	assert_int_equal(uk_parse_double("0.2", 0, 10, &v), 0);
	assert_float_equal(v, 0.2, 1e-12);
	assert_int_equal(uk_parse_double(".5", 0, 10, &v), 0);
	assert_float_equal(v, 0.5, 1e-12);
	assert_int_equal(uk_parse_double("3", 0, 10, &v), 0);
	assert_float_equal(v, 3.0, 1e-12);
	assert_int_equal(uk_parse_double("1e2", 0, 1000, &v), 0);
	assert_float_equal(v, 100.0, 1e-9);
	assert_int_equal(uk_parse_double("10.5", 0, 10, &v), UK_ERANGE_);
	assert_int_equal(uk_parse_double("0.001", 0.01, 10, &v), UK_ERANGE_);
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		v = 7.0;
		if (uk_parse_double(junk[i], 0, 1e300, &v) != UK_EPARSE)
			fail_msg("'%s' accepted (%g)", junk[i], v);
	}
}

static void test_duration_units(void **state)
{
	uint64_t ns = 0;
	(void)state;
	assert_int_equal(uk_parse_duration("2", UK_NS_PER_SEC, 0, UINT64_MAX / 2, &ns), 0);
	assert_int_equal(ns, 2 * UK_NS_PER_SEC);
	assert_int_equal(uk_parse_duration("0.2", UK_NS_PER_SEC, 0, UINT64_MAX / 2, &ns), 0);
	assert_int_equal(ns, 200 * UK_NS_PER_MS);
	assert_int_equal(uk_parse_duration("250", UK_NS_PER_MS, 0, UINT64_MAX / 2, &ns), 0);
	assert_int_equal(ns, 250 * UK_NS_PER_MS);
	assert_int_equal(uk_parse_duration("15ns", UK_NS_PER_SEC, 0, UINT64_MAX / 2, &ns), 0);
	assert_int_equal(ns, 15);
	assert_int_equal(uk_parse_duration("1.5us", UK_NS_PER_SEC, 0, UINT64_MAX / 2, &ns), 0);
	assert_int_equal(ns, 1500);
	assert_int_equal(uk_parse_duration("20ms", UK_NS_PER_SEC, 0, UINT64_MAX / 2, &ns), 0);
	assert_int_equal(ns, 20 * UK_NS_PER_MS);
	assert_int_equal(uk_parse_duration("3s", UK_NS_PER_MS, 0, UINT64_MAX / 2, &ns), 0);
	assert_int_equal(ns, 3 * UK_NS_PER_SEC);
	assert_int_equal(uk_parse_duration("2m", UK_NS_PER_SEC, 0, UINT64_MAX / 2, &ns), 0);
	assert_int_equal(ns, 120 * UK_NS_PER_SEC);
	/* Rounded to the nearest nanosecond, not truncated. */
	assert_int_equal(uk_parse_duration("0.0000000016", UK_NS_PER_SEC, 0, 10, &ns), 0);
	assert_int_equal(ns, 2);
}

static void test_duration_long_units(void **state)
{
	uint64_t ns = 0;
	(void)state;
	assert_int_equal(uk_parse_duration("2h", UK_NS_PER_SEC, 0, UINT64_MAX, &ns), 0);
	assert_int_equal(ns, 7200 * UK_NS_PER_SEC);
	assert_int_equal(uk_parse_duration("1.5h", UK_NS_PER_SEC, 0, UINT64_MAX, &ns), 0);
	assert_int_equal(ns, 5400 * UK_NS_PER_SEC);
	assert_int_equal(uk_parse_duration("3d", UK_NS_PER_SEC, 0, UINT64_MAX, &ns), 0);
	assert_int_equal(ns, 3 * 86400 * UK_NS_PER_SEC);
	assert_int_equal(uk_parse_duration("1w", UK_NS_PER_SEC, 0, UINT64_MAX, &ns), 0);
	assert_int_equal(ns, 604800 * UK_NS_PER_SEC);
	/* 30600 weeks is more than 2^63 ns: an error, never a wrapped value. */
	ns = 42;
	assert_int_equal(uk_parse_duration("30600w", UK_NS_PER_SEC, 0, UINT64_MAX, &ns),
			 UK_ERANGE_);
	assert_int_equal(uk_parse_duration("1e300s", UK_NS_PER_SEC, 0, UINT64_MAX, &ns),
			 UK_ERANGE_);
	assert_int_equal(ns, 42);
}

static void test_rate(void **state)
{
	uint64_t v = 0;
	(void)state;
	assert_int_equal(uk_parse_rate("50000", 1, 100000000, &v), 0);
	assert_int_equal(v, 50000);
	assert_int_equal(uk_parse_rate("1k", 1, 100000000, &v), 0);
	assert_int_equal(v, 1000);
	assert_int_equal(uk_parse_rate("2.5k", 1, 100000000, &v), 0);
	assert_int_equal(v, 2500);
	assert_int_equal(uk_parse_rate("1M", 1, 100000000, &v), 0);
	assert_int_equal(v, 1000000);
	assert_int_equal(uk_parse_rate("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(uk_parse_rate("1K", 1, 100000000, &v), UK_EPARSE);
	assert_int_equal(uk_parse_rate("1m", 1, 100000000, &v), UK_EPARSE);
	assert_int_equal(uk_parse_rate("1.5", 1, 100000000, &v), UK_EPARSE);
	assert_int_equal(uk_parse_rate("k", 1, 100000000, &v), UK_EPARSE);
	assert_int_equal(uk_parse_rate("-1k", 1, 100000000, &v), UK_EPARSE);
	assert_int_equal(uk_parse_rate("1kk", 1, 100000000, &v), UK_EPARSE);
	assert_int_equal(uk_parse_rate("101M", 1, 100000000, &v), UK_ERANGE_);
	assert_int_equal(uk_parse_rate("1e30M", 1, UINT64_MAX, &v), UK_ERANGE_);
}

static void test_format_duration(void **state)
{
	char buf[32];
	uint64_t ns = 0;
	static const uint64_t values[] = {1,
					  1500,
					  UK_NS_PER_MS,
					  1500 * UK_NS_PER_MS,
					  90 * UK_NS_PER_SEC,
					  7200 * UK_NS_PER_SEC,
					  86400 * UK_NS_PER_SEC,
					  604800 * UK_NS_PER_SEC};
	(void)state;
	assert_string_equal(uk_format_duration(90 * UK_NS_PER_SEC, buf, sizeof(buf)), "90s");
	assert_string_equal(uk_format_duration(7200 * UK_NS_PER_SEC, buf, sizeof(buf)), "2h");
	assert_string_equal(uk_format_duration(1500 * UK_NS_PER_MS, buf, sizeof(buf)), "1500ms");
	assert_string_equal(uk_format_duration(0, buf, sizeof(buf)), "0s");
	/* What it writes parses back to the same duration. */
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		assert_int_equal(uk_parse_duration(uk_format_duration(values[i], buf, sizeof(buf)),
						   UK_NS_PER_SEC, 0, UINT64_MAX, &ns),
				 0);
		assert_int_equal(ns, values[i]);
	}
}

static void test_duration_range_and_junk(void **state)
{
	static const char *const junk[] = {"",	  "s",	 "1 s", "1S",	  "1sec", "1hr",  "1mss",
					   "-1s", "1s ", "ms1", "1.2.3s", "nan",  "infs", "0x10ms"};
	uint64_t ns = 99;
	(void)state;
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		if (uk_parse_duration(junk[i], UK_NS_PER_SEC, 0, UINT64_MAX / 2, &ns) != UK_EPARSE)
			fail_msg("'%s' accepted", junk[i]);
	assert_int_equal(
	    uk_parse_duration("0.5ms", UK_NS_PER_SEC, UK_NS_PER_MS, 3600 * UK_NS_PER_SEC, &ns),
	    UK_ERANGE_);
	assert_int_equal(
	    uk_parse_duration("3601", UK_NS_PER_SEC, UK_NS_PER_MS, 3600 * UK_NS_PER_SEC, &ns),
	    UK_ERANGE_);
	assert_int_equal(
	    uk_parse_duration("3600", UK_NS_PER_SEC, UK_NS_PER_MS, 3600 * UK_NS_PER_SEC, &ns), 0);
	assert_int_equal(ns, 3600 * UK_NS_PER_SEC);
	/* A duration beyond what 64 bits of nanoseconds can hold is out of
	 * range even when the caller allows any value; it must not wrap. */
	ns = 99;
	assert_int_equal(uk_parse_duration("10000000000s", UK_NS_PER_SEC, 0, UINT64_MAX, &ns),
			 UK_ERANGE_);
	assert_int_equal(uk_parse_duration("1e30", UK_NS_PER_SEC, 0, UINT64_MAX, &ns), UK_ERANGE_);
	assert_int_equal(ns, 99);
	/* The largest value that fits is still accepted. */
	assert_int_equal(uk_parse_duration("9000000000s", UK_NS_PER_SEC, 0, UINT64_MAX, &ns), 0);
	assert_int_equal(ns, 9000000000ull * UK_NS_PER_SEC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_u64_good),
	    cmocka_unit_test(test_u64_junk_and_range),
	    cmocka_unit_test(test_double),
	    cmocka_unit_test(test_duration_units),
	    cmocka_unit_test(test_duration_range_and_junk),
	    cmocka_unit_test(test_duration_long_units),
	    cmocka_unit_test(test_rate),
	    cmocka_unit_test(test_format_duration),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
