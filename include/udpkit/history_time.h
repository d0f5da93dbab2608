/* history_time.h: the times of the chat history. The file keeps UTC with
 * milliseconds ("2026-11-26T10:22:33.123Z"); people see local time with
 * its UTC offset ("2026-11-26T18:22:33.123+08:00"), or UTC on request;
 * --since takes a date and time in local time unless it names a zone.
 * Pure apart from the time zone (the TZ variable, via localtime_r). */
#ifndef UDPKIT_HISTORY_TIME_H
#define UDPKIT_HISTORY_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The file's time field. Returns UK_HISTORY_TIME_LEN or UK_ERANGE_. */
#define UK_HISTORY_TIME_LEN 24
int uk_history_time_format(uint64_t time_ns, char out[UK_HISTORY_TIME_LEN + 1]);

/* Parses exactly the file's time field (n bytes at p). Returns 0 or
 * UK_EPARSE (a field out of range, a year past 2554). */
int uk_history_time_parse(const char *p, size_t n, uint64_t *time_ns);

/* A time for people: local time with its offset, "2026-11-26T18:22:33.123+08:00",
 * or with utc "2026-11-26T10:22:33.123Z". Returns the length or UK_ERANGE_. */
#define UK_HISTORY_SHOWN_TIME_LEN 29
int uk_history_time_show(uint64_t time_ns, bool utc, char out[UK_HISTORY_SHOWN_TIME_LEN + 1]);

/* Parses a --since argument into ns since the epoch: ISO 8601
 * "2026-11-26", "2026-11-26T10:00", "2026-11-26 10:00:05", optional ".mmm"
 * and "Z" or "+08:00"; without a zone the time is local time (utc: UTC).
 * Or a span before now_ns: "90s", "15m", "2h", "3d", "1w". The caller
 * passes the clock. Returns 0 or UK_EPARSE. */
int uk_history_since_parse(const char *s, uint64_t now_ns, bool utc, uint64_t *out_ns);

#endif
