/* guard.h: whom a server may answer. A UDP reply goes wherever the source
 * address says, and that address can be forged, so every server that
 * replies (echo, listen, chat) asks the guard first. Rules, in order:
 *   badsrc  - broadcast, multicast or unspecified source, or port 0;
 *   service - a UDP service port that answers back (echo 7, discard 9,
 *             daytime 13, chargen 19, time 37) or a well-known reflector
 *             (SSDP 1900, mDNS 5353, memcached 11211...);
 *   lowport - any other source port below 1024 (privileged services);
 *   loop    - the datagram ends with our own last reply to that source,
 *             again and again: another echo server is bouncing it back;
 *   rate    - a token bucket per source; loopback exempt unless asked.
 * Pure: state, bytes and now_ns in, a verdict out. Not thread-safe: each
 * worker owns its guard. Memory is fixed at init, whatever the sources. */
#ifndef UDPKIT_GUARD_H
#define UDPKIT_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "udpkit/addr.h"

enum uk_verdict {
	UK_PASS = 0,
	UK_DROP_BADSRC,
	UK_DROP_SERVICE,
	UK_DROP_LOWPORT,
	UK_DROP_LOOP,
	UK_DROP_RATE,
	UK_VERDICT_COUNT
};

/* Short names for summaries and JSON: "pass", "badsrc", ... */
const char *uk_verdict_name(enum uk_verdict v);

struct uk_guard_cfg {
	uint32_t rate_pps;	 /* per source; 0 turns rate limiting off */
	uint32_t burst;		 /* bucket depth; 0 means rate_pps */
	bool limit_loopback;	 /* apply the rate limit to loopback sources too */
	uint32_t loop_threshold; /* consecutive reflections tolerated; 0 = default */
};

#define UK_GUARD_DEFAULT_RATE 1000
#define UK_GUARD_DEFAULT_LOOP 5
#define UK_GUARD_WAYS 4
#define UK_GUARD_EDGE 32

struct uk_guard_entry {
	uint64_t key;	      /* uk_addr_hash of the source; 0 = empty */
	uint64_t last_ns;     /* last datagram from it */
	uint64_t tokens_nano; /* token bucket, in billionths of a datagram */
	uint32_t reply_len;   /* our last reply to it: its length, */
	uint32_t reflections; /* consecutive datagrams ending with our reply */
	bool has_reply;
	/* and its first and last UK_GUARD_EDGE bytes (all of it when shorter):
	 * compared with memcmp, which stops at the first difference, so the
	 * common case (a new request) costs a few byte compares, not a hash. */
	unsigned char reply_head[UK_GUARD_EDGE];
	unsigned char reply_tail[UK_GUARD_EDGE];
};

struct uk_guard {
	struct uk_guard_cfg cfg;
	struct uk_guard_entry *table;
	size_t sets; /* table has sets * UK_GUARD_WAYS entries */
};

/* sources: how many to remember (rounded up). Returns 0 or -ENOMEM. */
int uk_guard_init(struct uk_guard *g, const struct uk_guard_cfg *cfg, size_t sources);
void uk_guard_free(struct uk_guard *g);

/* The source rules alone (badsrc, service, lowport): no state. */
enum uk_verdict uk_guard_source_rules(const struct uk_addr *src);

/* Decides whether a datagram from src may be answered. */
enum uk_verdict uk_guard_check(struct uk_guard *g, const struct uk_addr *src,
			       const unsigned char *payload, size_t len, uint64_t now_ns);

/* Remembers the reply sent to src, for loop detection. */
void uk_guard_note_reply(struct uk_guard *g, const struct uk_addr *src, const unsigned char *reply,
			 size_t len);

#endif
