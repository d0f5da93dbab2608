/* Fuzz target: the echo server's request path, uk_echo_process() with its
 * guard (source, loop and rate rules), on a virtual clock. The input is a
 * sequence of (source, payload, time) records, so one input can be a flood
 * from one source, a conversation between several, or a loop: a record may
 * carry, instead of its own bytes, the last reply sent to its source (what
 * a second echo server would bounce back), optionally behind a stamp.
 *
 * Input: byte 0 = mode (bits 0-1), limit_loopback (bit 2), a low rate
 * (bit 3); byte 1 = loop threshold. Then records of
 *   flags (1 byte: bits 0-2 source, bits 3-4 payload kind, bit 5 ends the
 *          batch, bit 6 truncated), dt (2 bytes, x 16 us), len (2 bytes),
 *   then len payload bytes (kind 0; fewer at the end of the input).
 * Checked: a reply is never more than UK_ECHO_STAMP_LEN bytes larger than
 * its request; pure mode echoes byte for byte; nothing is sent to a source
 * the source rules refuse, nor for a truncated or dropped datagram; the
 * counters add up to the datagrams processed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "udpkit/echo.h"

/* Decides the held replies (the loop rule's suspects) at now_ns: those
 * answered count as sent, those dropped are in the loop counter. */
static void resolve(struct uk_echo_worker *w, uint64_t now_ns, uint64_t *seen)
{
	uint64_t next;
	int marked = uk_echo_resolve(w, now_ns, &next);

	for (int i = 0; i < UK_ECHO_HOLDS; i++) {
		const struct uk_batch_slot *h = &w->held.slots[i];
		if (!w->held_used[i] || !h->send)
			continue;
		if (uk_guard_source_rules(&h->peer) != UK_PASS)
			abort();
		marked--;
		(*seen)++;
	}
	if (marked != 0)
		abort();
	uk_echo_held_sent(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BATCH 4
#define NSRC 8

static const char *const sources[NSRC] = {
    "127.0.0.1:40000", "127.0.0.2:40001",      "10.0.0.1:5000", "10.0.0.2:7",
    "10.0.0.3:80",     "255.255.255.255:5000", "[::1]:6000",	"[2001:db8::1]:5000"};

/* The last reply sent to each source, for the loop records. */
static unsigned char last[NSRC][UK_ECHO_MAX_DATAGRAM + UK_ECHO_STAMP_LEN];
static size_t last_len[NSRC];

static void check_batch(struct uk_echo_worker *w, int n, const int *src, uint64_t *seen)
{
	for (int i = 0; i < n; i++) {
		const struct uk_batch_slot *s = &w->batch.slots[i];
		if (!s->send) {
			if (w->outcomes[i] == UK_ECHO_REPLIED)
				abort();
			continue;
		}
		if (w->outcomes[i] != UK_ECHO_REPLIED || w->verdicts[i] != UK_PASS || s->truncated)
			abort();
		if (uk_guard_source_rules(&s->peer) != UK_PASS)
			abort();
		if (s->out_len > s->len + UK_ECHO_STAMP_LEN)
			abort();
		if (w->cfg.mode == UK_ECHO_PURE &&
		    (s->out_len != s->len || memcmp(s->out, s->data, s->len) != 0))
			abort();
		memcpy(last[src[i]], s->out, s->out_len);
		last_len[src[i]] = s->out_len;
		(*seen)++;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct uk_addr addrs[NSRC];
	static bool ready;
	/* One worker for every input, reset below: initialising one per input
	 * (about 1.3 MB of slots and guard table, mapped and faulted afresh
	 * under ASan) was most of the time of each run. */
	static struct uk_echo_worker w;
	uint64_t now = 1000 * UK_NS_PER_SEC, sent = 0, other = 0;
	int src[BATCH], n = 0;
	size_t off = 2;

	if (!ready) {
		for (int i = 0; i < NSRC; i++)
			if (uk_addr_parse_hostport_flags(&addrs[i], sources[i], 0, AF_UNSPEC,
							 UK_ADDR_NUMERIC) < 0)
				abort();
		struct uk_echo_cfg cfg = {
		    .mode = UK_ECHO_STAMP, .max_size = UK_ECHO_MAX_DATAGRAM, .batch = BATCH};
		if (uk_echo_worker_init(&w, -1, &cfg, NULL) < 0)
			abort();
		ready = true;
	}
	if (size < 2)
		return 0;
	/* What uk_echo_worker_init() sets up for this input's settings: the
	 * mode, a guard that knows no source (with the hold the echo server
	 * asks of it), zero counters and nothing held (checked at the end of
	 * every input). */
	w.cfg.mode = (enum uk_echo_mode)((data[0] & 3) % 3);
	w.cfg.guard = (struct uk_guard_cfg){.rate_pps = (data[0] & 8) ? 10 : 1000,
					    .limit_loopback = (data[0] & 4) != 0,
					    .loop_threshold = data[1] & 7,
					    .hold = UK_ECHO_HOLDS};
	uk_guard_reset(&w.guard, &w.cfg.guard);
	memset(&w.stats, 0, sizeof(w.stats));
	w.pressure = false;
	if (w.held_count != 0)
		abort();
	memset(last_len, 0, sizeof(last_len));
	while (off + 5 <= size) {
		uint8_t flags = data[off];
		size_t len = (size_t)data[off + 3] << 8 | data[off + 4];
		const unsigned char *p = data + off + 5;
		struct uk_batch_slot *s = &w.batch.slots[n];
		int from = flags & 7;

		now += ((uint64_t)data[off + 1] << 8 | data[off + 2]) * 16000;
		off += 5;
		switch ((flags >> 3) & 3) {
		case 1: /* the last reply to this source, bounced back */
			p = last[from];
			len = last_len[from] < w.batch.slot_bytes ? last_len[from] : 0;
			break;
		case 2: /* the same behind a stamp of our own */
			memcpy(s->data, "\xe3\x80\x90Thu Nov 26 08:36:08 2026\xe3\x80\x91", 30);
			len = last_len[from] < w.batch.slot_bytes - 30 ? last_len[from] : 0;
			memcpy(s->data + 30, last[from], len);
			p = NULL;
			len += 30;
			break;
		default:
			if (len > size - off)
				len = size - off;
			off += len;
			break;
		}
		if (p)
			memcpy(s->data, p, len);
		s->len = len;
		s->wire_len = (flags & 0x40) ? len + 1 : len;
		s->truncated = (flags & 0x40) != 0;
		s->peer = addrs[from];
		s->has_dst = false;
		s->send = true; /* stale: process decides afresh */
		src[n++] = from;
		if (n == BATCH || (flags & 0x20) || off + 5 > size) {
			w.pressure = (flags & 0x80) != 0; /* a backlogged socket */
			uk_echo_process(&w, n, now, 1795682168 + (time_t)(now / UK_NS_PER_SEC));
			check_batch(&w, n, src, &sent);
			resolve(&w, now, &sent);
			n = 0;
		}
	}
	if (n) {
		uk_echo_process(&w, n, now, 1795682168);
		check_batch(&w, n, src, &sent);
	}
	resolve(&w, UINT64_MAX, &sent);
	if (w.held_count != 0)
		abort();
	other = w.stats.truncated + w.stats.too_big + w.stats.not_sockperf;
	for (int v = 0; v < UK_VERDICT_COUNT; v++)
		other += w.stats.dropped[v];
	if (other + sent != w.stats.datagrams)
		abort();
	return 0;
}
