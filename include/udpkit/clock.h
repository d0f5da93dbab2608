/* clock.h: the only place that reads clocks. Decision code takes now_ns as
 * an argument instead, so tests drive it with a virtual clock. */
#ifndef UDPKIT_CLOCK_H
#define UDPKIT_CLOCK_H

#include <stdint.h>
#include <time.h>

#define UK_NS_PER_SEC 1000000000ull
#define UK_NS_PER_MS 1000000ull

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t uk_now_ns(void);
/* CLOCK_REALTIME in nanoseconds since the epoch. */
uint64_t uk_wall_ns(void);
/* CLOCK_MONOTONIC_COARSE in nanoseconds: the same clock as uk_now_ns() at
 * the last timer tick (a few ms behind at most), for a fraction of its
 * cost on a VM (kvm-clock: 25 against 88 ns measured here). The echo
 * worker's guard, whose times are tens of ms and more, reads this one. */
uint64_t uk_now_coarse_ns(void);
/* How far the coarse clock may lag: a wait for a coarse deadline waits
 * this much longer, so that the clock has passed it on waking (a timer
 * tick is 1 to 10 ms, HZ 1000 to 100). */
#define UK_COARSE_SLACK_NS (10 * UK_NS_PER_MS)
/* CLOCK_REALTIME_COARSE in seconds (the stamp's second). */
time_t uk_wall_coarse_s(void);

/* ctime() text without its newline ("Thu Nov 26 08:36:08 2026"), 24 chars. */
#define UK_CTIME_LEN 24
void uk_ctime_format(time_t t, char out[UK_CTIME_LEN + 1]);

/* A ctime text reformatted at most once per second: glibc's ctime() re-reads
 * /etc/localtime on every call, which costs as much as an echo. */
struct uk_ctime_cache {
	time_t second;
	char text[UK_CTIME_LEN + 1];
};
/* Returns the text for wall time t, refreshing the cache when t moved. */
const char *uk_ctime_cached(struct uk_ctime_cache *c, time_t t);

#endif
