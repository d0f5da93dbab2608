/* parse.h: strict parsing of numbers and durations from command lines and
 * text (no atoi: trailing junk, overflow and out-of-range are errors). */
#ifndef UDPKIT_PARSE_H
#define UDPKIT_PARSE_H

#include <stdint.h>

/* Decimal integer in [min, max]. Returns 0, UK_EPARSE or UK_ERANGE_. */
int uk_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out);

/* Decimal number (e.g. "0.2") in [min, max]. */
int uk_parse_double(const char *text, double min, double max, double *out);

/* A duration: a number with an optional unit ns, us, ms, s (default
 * default_unit_ns per unit, e.g. UK_NS_PER_SEC), in [min_ns, max_ns]. */
int uk_parse_duration(const char *text, uint64_t default_unit_ns, uint64_t min_ns, uint64_t max_ns,
		      uint64_t *out_ns);

#endif
