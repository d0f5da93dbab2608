/* Unit tests for lib/stats.c: ping-style min/avg/max/mdev, and histogram
 * quantiles that are upper bounds within 1.6% of the exact order
 * statistic, with the maximum exact. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "udpkit/stats.h"

#define MS 1000000ull

static void test_rtt_basic(void **state)
{
	struct uk_stats_rtt s;
	(void)state;
	uk_stats_rtt_init(&s);
	assert_int_equal(s.count, 0);
	assert_float_equal(uk_stats_rtt_avg_ns(&s), 0.0, 0.0);
	assert_float_equal(uk_stats_rtt_mdev_ns(&s), 0.0, 0.0);
	for (uint64_t v = 1; v <= 4; v++)
		uk_stats_rtt_add(&s, v * MS);
	assert_int_equal(s.count, 4);
	assert_int_equal(s.min_ns, 1 * MS);
	assert_int_equal(s.max_ns, 4 * MS);
	assert_float_equal(uk_stats_rtt_avg_ns(&s), 2.5 * MS, 1e-6);
	/* sqrt(mean(x^2) - mean(x)^2) = sqrt(7.5 - 6.25) ms = 1.118034 ms */
	assert_float_equal(uk_stats_rtt_mdev_ns(&s), 1.118033988749895 * MS, 1.0);

	/* Identical samples: mdev is 0, never NaN from rounding below zero. */
	uk_stats_rtt_init(&s);
	for (int i = 0; i < 1000; i++)
		uk_stats_rtt_add(&s, 123456789);
	assert_int_equal(s.min_ns, 123456789);
	assert_int_equal(s.max_ns, 123456789);
	assert_float_equal(uk_stats_rtt_mdev_ns(&s), 0.0, 1.0);
	assert_float_equal(uk_stats_rtt_avg_ns(&s), 123456789.0, 1e-3);
}

static void test_rtt_realistic_mdev(void **state)
{
	/* 100 ms +- 1 us: the deviation must not drown in rounding. */
	struct uk_stats_rtt s;
	(void)state;
	uk_stats_rtt_init(&s);
	for (int i = 0; i < 10000; i++)
		uk_stats_rtt_add(&s, i % 2 ? 100 * MS + 1000 : 100 * MS - 1000);
	assert_float_equal(uk_stats_rtt_avg_ns(&s), 100.0 * MS, 1e-3);
	assert_float_equal(uk_stats_rtt_mdev_ns(&s), 1000.0, 10.0);
}

static void test_rtt_merge(void **state)
{
	struct uk_stats_rtt a, b, all, empty;
	(void)state;
	uk_stats_rtt_init(&a);
	uk_stats_rtt_init(&b);
	uk_stats_rtt_init(&all);
	uk_stats_rtt_init(&empty);
	for (uint64_t i = 1; i <= 100; i++) {
		uk_stats_rtt_add(i % 3 ? &a : &b, i * 1000);
		uk_stats_rtt_add(&all, i * 1000);
	}
	uk_stats_rtt_merge(&a, &b);
	assert_int_equal(a.count, 100);
	assert_int_equal(a.min_ns, 1000);
	assert_int_equal(a.max_ns, 100000);
	assert_float_equal(uk_stats_rtt_avg_ns(&a), uk_stats_rtt_avg_ns(&all), 1e-6);
	assert_float_equal(uk_stats_rtt_mdev_ns(&a), uk_stats_rtt_mdev_ns(&all), 1e-3);
	/* Merging an empty set changes nothing; merging into one copies. */
	uk_stats_rtt_merge(&a, &empty);
	assert_int_equal(a.count, 100);
	assert_int_equal(a.min_ns, 1000);
	uk_stats_rtt_merge(&empty, &all);
	assert_int_equal(empty.count, 100);
	assert_int_equal(empty.min_ns, 1000);
	assert_int_equal(empty.max_ns, 100000);
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return a < b ? -1 : a > b;
}

/* The exact q-quantile (nearest rank) of sorted v[n]. */
static uint64_t exact_quantile(const uint64_t *v, size_t n, double q)
{
	size_t rank = (size_t)(q * (double)n + 0.999999999);
	if (rank == 0)
		rank = 1;
	return v[rank - 1];
}

static void check_quantiles(const struct uk_stats_hist *h, const uint64_t *sorted, size_t n)
{
	static const double qs[] = {0.0, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999};
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		uint64_t want = exact_quantile(sorted, n, qs[i]);
		uint64_t got = uk_stats_hist_quantile(h, qs[i]);
		/* An upper bound, within 1.6% (values below 64 are exact). */
		if (got < want || (double)got > (double)want * 1.016)
			fail_msg("q=%g: got %llu, exact %llu", qs[i], (unsigned long long)got,
				 (unsigned long long)want);
	}
	assert_int_equal(uk_stats_hist_quantile(h, 1.0), sorted[n - 1]);
	assert_int_equal(uk_stats_hist_quantile(h, 2.0), sorted[n - 1]);
}

static void test_hist_quantiles_log_spread(void **state)
{
	/* 20000 samples spread over 1 ns .. ~17 s, log-uniform (xorshift). */
	enum { N = 20000 };
	static uint64_t v[N];
	static struct uk_stats_hist h;
	uint64_t x = 88172645463325252ull;
	(void)state;
	uk_stats_hist_init(&h);
	for (size_t i = 0; i < N; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v[i] = (x >> (30 + x % 34)) + 1;
		uk_stats_hist_add(&h, v[i]);
	}
	assert_int_equal(h.count, N);
	qsort(v, N, sizeof(v[0]), cmp_u64);
	check_quantiles(&h, v, N);
}

static void test_hist_small_values_exact(void **state)
{
	static struct uk_stats_hist h;
	(void)state;
	uk_stats_hist_init(&h);
	assert_int_equal(uk_stats_hist_quantile(&h, 0.5), 0);
	assert_int_equal(uk_stats_hist_quantile(&h, 1.0), 0);
	for (uint64_t i = 0; i < 64; i++)
		uk_stats_hist_add(&h, i);
	assert_int_equal(uk_stats_hist_quantile(&h, 0.5), 31);
	assert_int_equal(uk_stats_hist_quantile(&h, 0.0), 0);
	assert_int_equal(uk_stats_hist_quantile(&h, 1.0), 63);
	/* Out-of-range q: below 0 (and NaN) is the minimum, not undefined. */
	uk_stats_hist_add(&h, 5);
	assert_int_equal(uk_stats_hist_quantile(&h, -0.5), 0);
	assert_int_equal(uk_stats_hist_quantile(&h, NAN), 0);
	assert_int_equal(uk_stats_hist_quantile(&h, -INFINITY), 0);
	assert_int_equal(uk_stats_hist_quantile(&h, INFINITY), 63);
}

static void test_hist_max_exact_and_bounded(void **state)
{
	static struct uk_stats_hist h;
	(void)state;
	uk_stats_hist_init(&h);
	uk_stats_hist_add(&h, 1000);
	uk_stats_hist_add(&h, 123457);
	/* The max is exact, and no quantile exceeds it even though its
	 * bucket's upper bound is larger. */
	assert_int_equal(uk_stats_hist_quantile(&h, 1.0), 123457);
	assert_int_equal(uk_stats_hist_quantile(&h, 0.99), 123457);
	assert_int_equal(h.max_ns, 123457);
	/* Extreme values land in the histogram without overflow. */
	uk_stats_hist_add(&h, UINT64_MAX);
	assert_int_equal(uk_stats_hist_quantile(&h, 1.0), UINT64_MAX);
	assert_int_equal(uk_stats_hist_quantile(&h, 0.99), UINT64_MAX);
	assert_true(uk_stats_hist_quantile(&h, 0.5) >= 123457);
	assert_true(uk_stats_hist_quantile(&h, 0.5) <= 125432);
}

static void test_hist_merge(void **state)
{
	static struct uk_stats_hist a, b, all;
	static uint64_t v[5000];
	(void)state;
	uk_stats_hist_init(&a);
	uk_stats_hist_init(&b);
	uk_stats_hist_init(&all);
	for (size_t i = 0; i < 5000; i++) {
		v[i] = 1000 + i * i * 7;
		uk_stats_hist_add(i % 2 ? &a : &b, v[i]);
		uk_stats_hist_add(&all, v[i]);
	}
	uk_stats_hist_merge(&a, &b);
	assert_int_equal(a.count, 5000);
	assert_int_equal(a.max_ns, all.max_ns);
	assert_memory_equal(a.buckets, all.buckets, sizeof(a.buckets));
	check_quantiles(&a, v, 5000); /* v is already sorted */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rtt_basic),
	    cmocka_unit_test(test_rtt_realistic_mdev),
	    cmocka_unit_test(test_rtt_merge),
	    cmocka_unit_test(test_hist_quantiles_log_spread),
	    cmocka_unit_test(test_hist_small_values_exact),
	    cmocka_unit_test(test_hist_max_exact_and_bounded),
	    cmocka_unit_test(test_hist_merge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
