/* stats.c: min/avg/max/mdev and a log-linear latency histogram. */
#include <math.h>
#include <string.h>

#include "udpkit/stats.h"

void uk_stats_rtt_init(struct uk_stats_rtt *s)
{
	memset(s, 0, sizeof(*s));
	s->min_ns = UINT64_MAX;
}

void uk_stats_rtt_add(struct uk_stats_rtt *s, uint64_t ns)
{
	s->count++;
	if (ns < s->min_ns)
		s->min_ns = ns;
	if (ns > s->max_ns)
		s->max_ns = ns;
	s->sum_ns += (double)ns;
	s->sumsq_ns += (double)ns * (double)ns;
}

void uk_stats_rtt_merge(struct uk_stats_rtt *into, const struct uk_stats_rtt *from)
{
	if (!from->count)
		return;
	into->count += from->count;
	if (from->min_ns < into->min_ns)
		into->min_ns = from->min_ns;
	if (from->max_ns > into->max_ns)
		into->max_ns = from->max_ns;
	into->sum_ns += from->sum_ns;
	into->sumsq_ns += from->sumsq_ns;
}

double uk_stats_rtt_avg_ns(const struct uk_stats_rtt *s)
{
	return s->count ? s->sum_ns / (double)s->count : 0.0;
}

double uk_stats_rtt_mdev_ns(const struct uk_stats_rtt *s)
{
	double avg, var;
	if (!s->count)
		return 0.0;
	avg = s->sum_ns / (double)s->count;
	var = s->sumsq_ns / (double)s->count - avg * avg;
	return var > 0 ? sqrt(var) : 0.0;
}

void uk_stats_hist_init(struct uk_stats_hist *h)
{
	memset(h, 0, sizeof(*h));
}

/* Values below UK_STATS_HIST_SUB map 1:1; above, each power of two is split
 * into UK_STATS_HIST_SUB equal buckets. */
static unsigned bucket_of(uint64_t v)
{
	unsigned msb, shift;
	if (v < UK_STATS_HIST_SUB)
		return (unsigned)v;
	msb = 63u - (unsigned)__builtin_clzll(v);
	shift = msb - 6; /* log2(UK_STATS_HIST_SUB) */
	return (shift + 1) * UK_STATS_HIST_SUB + (unsigned)((v >> shift) - UK_STATS_HIST_SUB);
}

static uint64_t bucket_upper(unsigned b)
{
	unsigned group = b / UK_STATS_HIST_SUB, sub = b % UK_STATS_HIST_SUB;
	if (group == 0)
		return sub;
	return (((uint64_t)UK_STATS_HIST_SUB + sub + 1) << (group - 1)) - 1;
}

void uk_stats_hist_add(struct uk_stats_hist *h, uint64_t ns)
{
	unsigned b = bucket_of(ns);
	if (b >= UK_STATS_HIST_BUCKETS)
		b = UK_STATS_HIST_BUCKETS - 1;
	h->buckets[b]++;
	h->count++;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

void uk_stats_hist_merge(struct uk_stats_hist *into, const struct uk_stats_hist *from)
{
	for (unsigned i = 0; i < UK_STATS_HIST_BUCKETS; i++)
		into->buckets[i] += from->buckets[i];
	into->count += from->count;
	if (from->max_ns > into->max_ns)
		into->max_ns = from->max_ns;
}

uint64_t uk_stats_hist_quantile(const struct uk_stats_hist *h, double q)
{
	uint64_t rank, seen = 0;
	if (!h->count)
		return 0;
	if (q >= 1.0)
		return h->max_ns;
	/* q <= 0 or NaN means the minimum; converting a negative or NaN
	 * double to an unsigned integer would be undefined. */
	rank = q > 0 ? (uint64_t)ceil(q * (double)h->count) : 1;
	if (rank == 0)
		rank = 1;
	for (unsigned i = 0; i < UK_STATS_HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= rank) {
			uint64_t up = bucket_upper(i);
			return up < h->max_ns ? up : h->max_ns;
		}
	}
	return h->max_ns;
}
