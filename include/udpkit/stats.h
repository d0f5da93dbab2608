/* stats.h: latency statistics. uk_stats_rtt keeps min/avg/max/mdev like ping;
 * uk_stats_hist keeps a log-linear histogram (about 1.6% resolution) for
 * percentiles without storing every sample. Neither allocates after init. */
#ifndef UDPKIT_STATS_H
#define UDPKIT_STATS_H

#include <stdint.h>

struct uk_stats_rtt {
	uint64_t count;
	uint64_t min_ns, max_ns;
	double sum_ns, sumsq_ns;
};

void uk_stats_rtt_init(struct uk_stats_rtt *s);
void uk_stats_rtt_add(struct uk_stats_rtt *s, uint64_t ns);
void uk_stats_rtt_merge(struct uk_stats_rtt *into, const struct uk_stats_rtt *from);
double uk_stats_rtt_avg_ns(const struct uk_stats_rtt *s);
/* Mean deviation as iputils ping prints it: sqrt(E[x^2] - E[x]^2). */
double uk_stats_rtt_mdev_ns(const struct uk_stats_rtt *s);

#define UK_STATS_HIST_SUB 64
#define UK_STATS_HIST_BUCKETS (64 * UK_STATS_HIST_SUB)

struct uk_stats_hist {
	uint64_t count;
	uint64_t max_ns;
	uint32_t buckets[UK_STATS_HIST_BUCKETS];
};

void uk_stats_hist_init(struct uk_stats_hist *h);
void uk_stats_hist_add(struct uk_stats_hist *h, uint64_t ns);
void uk_stats_hist_merge(struct uk_stats_hist *into, const struct uk_stats_hist *from);
/* The value at quantile q (0..1): an upper bound within 1.6%; 0 if empty.
 * q >= 1 returns the exact maximum. */
uint64_t uk_stats_hist_quantile(const struct uk_stats_hist *h, double q);

#endif
