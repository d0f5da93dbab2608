/* Fuzz target: replies parsed by ping (uk_probe_parse) and bench
 * (uk_probe_match, which must agree with it) and requests answered by the
 * echo server's sockperf mode (uk_sockperf_make_reply). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "udpkit/probe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uk_probe_fmt f;
	uint64_t seq;
	unsigned char *copy = malloc(size ? size : 1);

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	(void)uk_sockperf_make_reply(copy, size);
	if (uk_probe_init(&f, 64, 42) == 0) {
		unsigned char tmpl[64];
		uint64_t a = 0, b = 0;
		uk_probe_build(&f, 7, tmpl);
		int rm = uk_probe_match(&f, tmpl, data, size, &a);
		int rp = uk_probe_parse(&f, data, size, &b);
		if (rm != rp || a != b)
			abort();
	}
	if (uk_probe_init(&f, 64, 42) == 0 && uk_probe_parse(&f, data, size, &seq) == 0) {
		unsigned char again[64];
		uk_probe_build(&f, seq, again);
		/* A parsed probe rebuilds to the same bytes (only the flags may differ). */
		if (memcmp(again, data + size - 64, 8) != 0 ||
		    memcmp(again + 10, data + size - 64 + 10, 64 - 10) != 0)
			abort();
	}
	/* A cut reply (shorter than the probe): the probe's start is inside it. */
	if (uk_probe_init(&f, 64, 42) == 0 && uk_probe_parse_cut(&f, data, size, &seq) == 0 &&
	    size < UK_PROBE_MIN_SIZE)
		abort();
	free(copy);
	return 0;
}
