/* Fuzz target: the probe tracker (lib/track.c), driven by arbitrary
 * events: probes sent, replies carrying any sequence number (new, old,
 * duplicated, forged, far in the future) at any time, expiry with any
 * timeout. Checked against a shadow count: every probe sent ends as
 * exactly one of answered, lost (expired or evicted) or still waiting;
 * waiting never exceeds the table; a NEW reply's rtt is its age; the next
 * deadline is never earlier than a probe's send time.
 *
 * Input: byte 0 = table size (1..64); then events of 3 bytes: op, two
 * bytes of argument. */
#include <stdint.h>
#include <stdlib.h>

#include "udpkit/track.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uk_track t;
	uint64_t now = 5000000000ull, sent = 0, answered = 0, lost = 0;

	if (size < 1)
		return 0;
	if (uk_track_init(&t, (size_t)(data[0] & 63) + 1) < 0)
		abort();
	for (size_t off = 1; off + 3 <= size; off += 3) {
		uint16_t arg = (uint16_t)(data[off + 1] << 8 | data[off + 2]);
		uint64_t seq;
		struct uk_track_result r;
		bool evicted = false;

		switch (data[off] & 3) {
		case 0: /* send */
			seq = uk_track_sent(&t, now, &evicted);
			if (seq != ++sent)
				abort();
			lost += evicted;
			break;
		case 1: /* a reply: relative to the next number, or any */
			seq = (data[off] & 4) ? arg : t.next_seq - 1 - (arg & 0xff);
			if (data[off] & 8)
				seq += (uint64_t)arg << 40;
			r = uk_track_reply(&t, seq, now);
			if (r.kind == UK_TRACK_NEW)
				answered++;
			if (r.kind != UK_TRACK_UNKNOWN && r.rtt_ns > now - 5000000000ull)
				abort();
			if (r.kind != UK_TRACK_NEW && r.reordered)
				abort();
			break;
		case 2: /* time passes */
			now += (uint64_t)arg * 1000;
			break;
		default: /* expire */
			lost += uk_track_expire(&t, now, (uint64_t)arg * 10000);
			if (t.waiting && uk_track_next_deadline(&t, (uint64_t)arg * 10000) <=
					     now - (uint64_t)arg * 10000)
				abort();
			break;
		}
		if (t.waiting > t.size || answered + lost + t.waiting != sent)
			abort();
		if (!t.waiting && uk_track_next_deadline(&t, 1) != UINT64_MAX)
			abort();
	}
	uk_track_free(&t);
	return 0;
}
