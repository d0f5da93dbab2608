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
