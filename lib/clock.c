/* clock.c: clock reads and ctime-style formatting. */
#include <stdio.h>
#include <string.h>

#include "udpkit/clock.h"

uint64_t uk_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * UK_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t uk_now_coarse_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * UK_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

time_t uk_wall_coarse_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return ts.tv_sec;
}

uint64_t uk_wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * UK_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

void uk_ctime_format(time_t t, char out[UK_CTIME_LEN + 1])
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;

	/* Formatted by hand, as asctime() does, so the locale never changes it. */
	if (!localtime_r(&t, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
		memset(out, '?', UK_CTIME_LEN);
		out[UK_CTIME_LEN] = '\0';
		return;
	}
	/* The % change nothing (localtime's ranges, the year checked above);
	 * they tell the compiler every field fits its width. */
	snprintf(out, UK_CTIME_LEN + 1, "%.3s %.3s%3u %.2u:%.2u:%.2u %04u", days[tm.tm_wday % 7],
		 months[tm.tm_mon % 12], (unsigned)tm.tm_mday % 100u, (unsigned)tm.tm_hour % 100u,
		 (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u,
		 (unsigned)(tm.tm_year + 1900) % 10000u);
}

const char *uk_ctime_cached(struct uk_ctime_cache *c, time_t t)
{
	if (c->second != t || c->text[0] == '\0') {
		uk_ctime_format(t, c->text);
		c->second = t;
	}
	return c->text;
}
