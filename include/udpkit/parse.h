/* parse.h: strict parsing of numbers and durations from command lines and
 * text (no atoi: trailing junk, overflow and out-of-range are errors). */
#ifndef UDPKIT_PARSE_H
#define UDPKIT_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* Decimal integer in [min, max]. Returns 0, UK_EPARSE or UK_ERANGE_. */
int uk_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out);

/* Decimal number (e.g. "0.2") in [min, max]. */
int uk_parse_double(const char *text, double min, double max, double *out);

/* A duration: a number with an optional unit ns, us, ms, s, m, h, d or w
 * (without one, default_unit_ns per unit, e.g. UK_NS_PER_SEC), in
 * [min_ns, max_ns]. Returns 0, UK_EPARSE, or UK_ERANGE_ (also on overflow:
 * nothing wraps). */
int uk_parse_duration(const char *text, uint64_t default_unit_ns, uint64_t min_ns, uint64_t max_ns,
		      uint64_t *out_ns);

/* A rate: a whole number with an optional k (x1000) or M (x1000000), in
 * [min, max]: "50000", "50k", "1.5M". Returns 0, UK_EPARSE or UK_ERANGE_. */
int uk_parse_rate(const char *text, uint64_t min, uint64_t max, uint64_t *out);

/* Writes ns in the largest unit that divides it ("90s", "2h", "1500ms"),
 * a form uk_parse_duration() reads back. Returns buf. */
char *uk_format_duration(uint64_t ns, char *buf, size_t size);

#endif
