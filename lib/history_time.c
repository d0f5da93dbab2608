/* history_time.c: the history's times (see history_time.h). By hand
 * rather than strftime()/strptime(): no locale, exact field checks, and
 * dates like 02-31 refused instead of normalised into March. */
#include <string.h>
#include <time.h>

#include "udpkit/err.h"
#include "udpkit/history_time.h"

#define NS_PER_SEC 1000000000ull
#define NS_PER_MS 1000000ull

/* v as exactly n decimal digits (v < 10^n). */
static void put_digits(char *out, unsigned v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		out[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* "YYYY-MM-DDTHH:MM:SS.mmm" from tm and the milliseconds: 23 bytes. */
static void put_civil(char *out, const struct tm *tm, unsigned ms)
{
	out[4] = out[7] = '-';
	out[10] = 'T';
	out[13] = out[16] = ':';
	out[19] = '.';
	put_digits(out, (unsigned)(tm->tm_year + 1900), 4);
	put_digits(out + 5, (unsigned)tm->tm_mon + 1, 2);
	put_digits(out + 8, (unsigned)tm->tm_mday, 2);
	put_digits(out + 11, (unsigned)tm->tm_hour, 2);
	put_digits(out + 14, (unsigned)tm->tm_min, 2);
	put_digits(out + 17, (unsigned)tm->tm_sec, 2);
	put_digits(out + 20, ms, 3);
}

int uk_history_time_format(uint64_t time_ns, char out[UK_HISTORY_TIME_LEN + 1])
{
	time_t sec = (time_t)(time_ns / NS_PER_SEC);
	struct tm tm;

	if (!gmtime_r(&sec, &tm) || tm.tm_year + 1900 > 9999)
		return UK_ERANGE_;
	put_civil(out, &tm, (unsigned)(time_ns % NS_PER_SEC / NS_PER_MS));
	memcpy(out + 23, "Z", 2);
	return UK_HISTORY_TIME_LEN;
}

int uk_history_time_show(uint64_t time_ns, bool utc, char out[UK_HISTORY_SHOWN_TIME_LEN + 1])
{
	time_t sec = (time_t)(time_ns / NS_PER_SEC);
	struct tm tm;
	long off;

	if (utc)
		return uk_history_time_format(time_ns, out);
	if (!localtime_r(&sec, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0)
		return UK_ERANGE_;
	put_civil(out, &tm, (unsigned)(time_ns % NS_PER_SEC / NS_PER_MS));
	off = tm.tm_gmtoff;
	out[23] = off < 0 ? '-' : '+';
	if (off < 0)
		off = -off;
	put_digits(out + 24, (unsigned)(off / 3600 % 100), 2);
	out[26] = ':';
	put_digits(out + 27, (unsigned)(off / 60 % 60), 2);
	out[29] = '\0';
	return UK_HISTORY_SHOWN_TIME_LEN;
}

/* n decimal digits at p into *v; -1 if any is not a digit. */
static int digits(const char *p, size_t n, int *v)
{
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		*v = *v * 10 + (p[i] - '0');
	}
	return 0;
}

struct civil {
	int year, mon, day, hour, min, sec;
};

static bool civil_valid(const struct civil *c)
{
	return c->year >= 1970 && c->mon >= 1 && c->mon <= 12 && c->day >= 1 && c->day <= 31 &&
	       c->hour <= 23 && c->min <= 59 && c->sec <= 59;
}

/* A calendar date and time to seconds since the epoch, in UTC or in local
 * time, refusing fields out of range (the conversion would normalise
 * "02-31" to March). */
static int civil_to_epoch(const struct civil *c, bool utc, int64_t *out)
{
	struct tm tm = {.tm_year = c->year - 1900,
			.tm_mon = c->mon - 1,
			.tm_mday = c->day,
			.tm_hour = c->hour,
			.tm_min = c->min,
			.tm_sec = c->sec,
			.tm_isdst = -1};
	time_t t;

	if (!civil_valid(c))
		return UK_EPARSE;
	t = utc ? timegm(&tm) : mktime(&tm);
	if (t == (time_t)-1 || tm.tm_mday != c->day || tm.tm_mon != c->mon - 1)
		return UK_EPARSE;
	*out = (int64_t)t;
	return 0;
}

int uk_history_time_parse(const char *p, size_t n, uint64_t *ns)
{
	struct civil c;
	int ms;
	int64_t t;

	if (n != UK_HISTORY_TIME_LEN || p[4] != '-' || p[7] != '-' || p[10] != 'T' ||
	    p[13] != ':' || p[16] != ':' || p[19] != '.' || p[23] != 'Z')
		return UK_EPARSE;
	if (digits(p, 4, &c.year) || digits(p + 5, 2, &c.mon) || digits(p + 8, 2, &c.day) ||
	    digits(p + 11, 2, &c.hour) || digits(p + 14, 2, &c.min) || digits(p + 17, 2, &c.sec) ||
	    digits(p + 20, 3, &ms))
		return UK_EPARSE;
	/* uint64_t nanoseconds end in 2554. */
	if (civil_to_epoch(&c, true, &t) < 0 || (uint64_t)t >= UINT64_MAX / NS_PER_SEC)
		return UK_EPARSE;
	*ns = (uint64_t)t * NS_PER_SEC + (uint64_t)ms * NS_PER_MS;
	return 0;
}

/* Relative: a count and one unit, "90s", "15m", "2h", "3d", "1w". */
static int since_relative(const char *s, size_t n, uint64_t now_ns, uint64_t *out_ns)
{
	static const uint64_t unit_s[] = {['s' - 'a'] = 1,
					  ['m' - 'a'] = 60,
					  ['h' - 'a'] = 3600,
					  ['d' - 'a'] = 86400,
					  ['w' - 'a'] = 604800};
	uint64_t v = 0, span;

	for (size_t i = 0; i + 1 < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > 1000000000ull)
			return UK_EPARSE;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	/* A span past what 64-bit nanoseconds hold reaches before the epoch:
	 * everything (it used to wrap: "31000w" was 9 years). */
	if (v > UINT64_MAX / NS_PER_SEC / unit_s[s[n - 1] - 'a']) {
		*out_ns = 0;
		return 0;
	}
	span = v * unit_s[s[n - 1] - 'a'] * NS_PER_SEC;
	*out_ns = span >= now_ns ? 0 : now_ns - span;
	return 0;
}

int uk_history_since_parse(const char *s, uint64_t now_ns, bool utc, uint64_t *out_ns)
{
	size_t n = strlen(s), i = 10;
	struct civil c = {0};
	int ms = 0;
	int64_t t, offset_s = 0;
	bool zone = false;

	if (n >= 2 && s[n - 1] >= 'a' && strchr("smhdw", s[n - 1]))
		return since_relative(s, n, now_ns, out_ns);
	/* Absolute, ISO 8601: YYYY-MM-DD, then optionally T or space, HH:MM,
	 * :SS, .mmm, and Z or +HH:MM / -HH:MM. */
	if (n < 10 || s[4] != '-' || s[7] != '-' || digits(s, 4, &c.year) ||
	    digits(s + 5, 2, &c.mon) || digits(s + 8, 2, &c.day))
		return UK_EPARSE;
	if (i < n && (s[i] == 'T' || s[i] == ' ')) {
		if (n < i + 6 || digits(s + i + 1, 2, &c.hour) || s[i + 3] != ':' ||
		    digits(s + i + 4, 2, &c.min))
			return UK_EPARSE;
		i += 6;
		if (i < n && s[i] == ':') {
			if (n < i + 3 || digits(s + i + 1, 2, &c.sec))
				return UK_EPARSE;
			i += 3;
			if (i < n && s[i] == '.') {
				if (n < i + 4 || digits(s + i + 1, 3, &ms))
					return UK_EPARSE;
				i += 4;
			}
		}
	}
	if (i < n && s[i] == 'Z') {
		zone = true;
		i++;
	} else if (i < n && (s[i] == '+' || s[i] == '-')) {
		int oh, om;
		if (n < i + 6 || digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
		    digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
			return UK_EPARSE;
		offset_s = ((int64_t)oh * 3600 + (int64_t)om * 60) * (s[i] == '+' ? 1 : -1);
		zone = true;
		i += 6;
	}
	/* A zone given: the fields are in that zone. None: local time. */
	if (i != n || civil_to_epoch(&c, zone || utc, &t) < 0)
		return UK_EPARSE;
	t -= offset_s;
	if (t >= 0 && (uint64_t)t >= UINT64_MAX / NS_PER_SEC)
		return UK_EPARSE;
	*out_ns = t < 0 ? 0 : (uint64_t)t * NS_PER_SEC + (uint64_t)ms * NS_PER_MS;
	return 0;
}
