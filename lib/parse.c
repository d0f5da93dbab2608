/* parse.c: strict number and duration parsing (see include/udpkit/parse.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "udpkit/clock.h"
#include "udpkit/err.h"
#include "udpkit/parse.h"

int uk_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!text || *text < '0' || *text > '9')
		return UK_EPARSE;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (*end != '\0')
		return UK_EPARSE;
	if (errno == ERANGE || v < min || v > max)
		return UK_ERANGE_;
	*out = v;
	return 0;
}

static int parse_number(const char *text, double *v, const char **rest)
{
	char *end;
	if (!text || !((*text >= '0' && *text <= '9') || *text == '.'))
		return UK_EPARSE;
	/* strtod() also takes hexadecimal ("0x10", "0x1p3"): not decimal. */
	if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
		return UK_EPARSE;
	errno = 0;
	*v = strtod(text, &end);
	if (end == text || errno == ERANGE || !isfinite(*v))
		return UK_EPARSE;
	*rest = end;
	return 0;
}

int uk_parse_double(const char *text, double min, double max, double *out)
{
	const char *rest;
	double v;
	int rc = parse_number(text, &v, &rest);

	if (rc < 0 || *rest != '\0')
		return UK_EPARSE;
	if (v < min || v > max)
		return UK_ERANGE_;
	*out = v;
	return 0;
}

int uk_parse_duration(const char *text, uint64_t default_unit_ns, uint64_t min_ns, uint64_t max_ns,
		      uint64_t *out_ns)
{
	static const struct {
		const char *suffix;
		double ns;
	} units[] = {{"ns", 1},	  {"us", 1e3},	 {"ms", 1e6},	 {"s", 1e9},
		     {"m", 60e9}, {"h", 3600e9}, {"d", 86400e9}, {"w", 604800e9}};
	const char *rest;
	double v, unit = (double)default_unit_ns, ns;
	int rc = parse_number(text, &v, &rest);

	if (rc < 0)
		return rc;
	if (*rest) {
		size_t i;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strcmp(rest, units[i].suffix) == 0)
				break;
		if (i == sizeof(units) / sizeof(units[0]))
			return UK_EPARSE;
		unit = units[i].ns;
	}
	ns = v * unit;
	/* (double)UINT64_MAX rounds up to 2^64, and llround() is undefined
	 * beyond LLONG_MAX: anything from 2^63 ns (292 years) on is out of range. */
	if (ns < (double)min_ns || ns > (double)max_ns || ns >= 0x1p63)
		return UK_ERANGE_;
	*out_ns = (uint64_t)llround(ns);
	return 0;
}

int uk_parse_rate(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
	const char *rest;
	double v, r;
	int rc = parse_number(text, &v, &rest);

	if (rc < 0)
		return rc;
	if (strcmp(rest, "k") == 0)
		v *= 1e3;
	else if (strcmp(rest, "M") == 0)
		v *= 1e6;
	else if (*rest)
		return UK_EPARSE;
	r = nearbyint(v);
	/* A rate counts whole events: "1.5" per second is not one. */
	if (fabs(v - r) > 1e-9 * (v > 1 ? v : 1))
		return UK_EPARSE;
	if (r < (double)min || r > (double)max || r >= 0x1p63)
		return UK_ERANGE_;
	*out = (uint64_t)r;
	return 0;
}

char *uk_format_duration(uint64_t ns, char *buf, size_t size)
{
	static const struct {
		const char *suffix;
		uint64_t ns;
	} units[] = {{"w", 604800 * UK_NS_PER_SEC},
		     {"d", 86400 * UK_NS_PER_SEC},
		     {"h", 3600 * UK_NS_PER_SEC},
		     {"m", 60 * UK_NS_PER_SEC},
		     {"s", UK_NS_PER_SEC},
		     {"ms", UK_NS_PER_MS},
		     {"us", 1000},
		     {"ns", 1}};

	/* The largest unit that divides ns exactly: what parses back the same. */
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (ns >= units[i].ns && ns % units[i].ns == 0) {
			snprintf(buf, size, "%llu%s", (unsigned long long)(ns / units[i].ns),
				 units[i].suffix);
			return buf;
		}
	snprintf(buf, size, "0s");
	return buf;
}
