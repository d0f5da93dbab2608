/* Fuzz target: what listen and broadcast do with any datagram from any
 * address: the listener's decision (group check, guard, jitter) and the
 * broadcast's responder table (own-datagram check, dedup, copies).
 * Input: byte 0 picks source and destination kinds, bytes 1-4 the source's
 * last address byte and port, the rest is the payload. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "udpkit/listen.h"
#include "udpkit/responders.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const sources[] = {"10.77.0.", "127.0.0.",	     "255.255.255.", "224.0.0.",
				      "0.0.0.",	  "::ffff:10.77.0.", "fe80::",	     "ff02::"};
static const char *const dests[] = {"10.77.0.2",  "10.77.0.255",      "255.255.255.255",
				    "239.77.0.1", "239.77.0.2",	      "ff02::1",
				    "fe80::2",	  "::ffff:239.77.0.1"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct uk_listen l;
	static struct uk_responders r;
	static bool ready;
	static uint64_t now;
	struct uk_listen_decision d;
	struct uk_addr src, dst;
	char text[64];

	if (!ready) {
		struct uk_listen_cfg cfg = {.guard = {.rate_pps = 10},
					    .jitter_max_ns = 50000000,
					    .port = 8086,
					    .sources = 64};
		struct uk_addr self, g;
		if (uk_listen_init(&l, &cfg, NULL) < 0 ||
		    uk_addr_parse(&g, "239.77.0.1", 0, AF_INET) < 0 ||
		    uk_listen_add_group(&l, &g) < 0 ||
		    uk_addr_parse(&self, "0.0.0.0", 8086, AF_INET) < 0)
			abort();
		uk_responders_init(&r, &self, NULL, 32);
		ready = true;
	}
	if (size < 5)
		return 0;
	snprintf(text, sizeof(text), "%s%u", sources[data[0] & 7], (unsigned)data[1]);
	if (uk_addr_parse(&src, text, (uint16_t)(data[2] << 8 | data[3]), AF_UNSPEC) < 0)
		return 0;
	if (uk_addr_parse(&dst, dests[(data[0] >> 3) & 7], 8086, AF_UNSPEC) < 0)
		abort();
	now += (uint64_t)data[4] * 1000000;
	uk_listen_decide(&l, &src, (data[0] & 0x40) ? NULL : &dst, data + 5, size - 5, now,
			 (uint32_t)size * 2654435761u, &d);
	if (d.action == UK_LISTEN_REPLY && d.reply_at_ns >= now + 50000000)
		abort(); /* jitter stays below its maximum */
	if (d.action == UK_LISTEN_REPLY && uk_guard_source_rules(&src) != UK_PASS)
		abort(); /* never answer a source the rules refuse */
	if (data[0] & 0x80)
		uk_responders_sent(&r, data + 5, size - 5);
	if (uk_responders_add(&r, &src, data + 5, size - 5, size - 5, now) < 0)
		abort();
	if (r.count == r.max)
		uk_responders_clear(&r);
	uk_responders_sent(&r, NULL, 0);
	return 0;
}
