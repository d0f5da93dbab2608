/* Fuzz target: the strict number and duration parsers (lib/parse.c) that
 * every front-end uses on its options. Byte 0 picks the bounds; the rest
 * is the text (NUL-terminated here, as argv is). Checked: a value that
 * parses is within its bounds; an integer prints and parses back to
 * itself; a duration in plain nanoseconds ("<n>ns") parses back to the
 * same value; a result is never written on failure. */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "udpkit/clock.h"
#include "udpkit/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint64_t mins[4] = {0, 1, 1000, 0};
static const uint64_t maxs[4] = {UINT64_MAX, 65535, 3600ull * UK_NS_PER_SEC, 0};
static const uint64_t units[4] = {1, UK_NS_PER_MS, UK_NS_PER_SEC, 1000};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, back[64];
	uint64_t v = 42, w;
	double d = 42.0;
	int b;

	if (size < 1 || size > 4096)
		return 0;
	b = data[0] & 3;
	text = malloc(size);
	if (!text)
		abort();
	memcpy(text, data + 1, size - 1);
	text[size - 1] = 0;

	if (uk_parse_u64(text, mins[b], maxs[b], &v) == 0) {
		if (v < mins[b] || v > maxs[b])
			abort();
		snprintf(back, sizeof(back), "%" PRIu64, v);
		if (uk_parse_u64(back, 0, UINT64_MAX, &w) != 0 || w != v)
			abort();
	} else if (v != 42) {
		abort();
	}

	if (uk_parse_double(text, -1e6, 1e6, &d) == 0) {
		if (!(d >= -1e6 && d <= 1e6))
			abort();
	} else if (d != 42.0) {
		abort();
	}

	v = 42;
	if (uk_parse_duration(text, units[b], mins[b], maxs[b] ? maxs[b] : UINT64_MAX, &v) == 0) {
		if (v < mins[b] || (maxs[b] && v > maxs[b]))
			abort();
		snprintf(back, sizeof(back), "%" PRIu64 "ns", v);
		if (uk_parse_duration(back, 1, 0, UINT64_MAX, &w) != 0 || w != v)
			abort();
	} else if (v != 42) {
		abort();
	}
	free(text);
	return 0;
}
