/* guard.h: whom a server may answer. A UDP reply goes wherever the source
 * address says, and that address can be forged, so every server that
 * replies (echo, listen, chat) asks the guard first. Rules, in order:
 *   badsrc  - broadcast, multicast or unspecified source, or port 0;
 *   service - a UDP service port that answers back (echo 7, discard 9,
 *             daytime 13, chargen 19, time 37) or a well-known reflector
 *             (SSDP 1900, mDNS 5353, memcached 11211...);
 *   lowport - any other source port below 1024 (privileged services);
 *   loop    - the datagram ends with our own last reply to that source,
 *             again and again: another echo server is bouncing it back
 *             (with cfg.hold, only fast bounces of a source with one
 *             datagram in flight count, and the suspect is held, not
 *             dropped, until the source shows more in flight or not);
 *   rate    - a token bucket per source; loopback exempt unless asked;
 *   share   - while the socket is backlogged (uk_guard_batch() says so)
 *             and another source sent lately, a source gets at most
 *             UK_GUARD_SHARE replies per batch, so one flooder cannot starve
 *             the others, loopback or not (a benchmark alone is not held back).
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
	UK_DROP_SHARE,
	UK_HOLD, /* not a drop: decide later with uk_guard_resolve() */
	UK_VERDICT_COUNT
};

/* Short names for summaries and JSON: "pass", "badsrc", ... */
const char *uk_verdict_name(enum uk_verdict v);

struct uk_guard_cfg {
	uint32_t rate_pps;	 /* per source; 0 turns rate limiting off */
	uint32_t burst;		 /* bucket depth; 0 means rate_pps */
	bool limit_loopback;	 /* apply the rate limit to loopback sources too */
	uint32_t loop_threshold; /* consecutive reflections tolerated; 0 = default */
	/* Throttle loops instead of silencing repeating clients: count only
	 * bounces that come back within UK_GUARD_BOUNCE_NS of our reply from a
	 * source never seen with two datagrams in flight, and past the
	 * threshold answer UK_HOLD rather than UK_DROP_LOOP (the echo server;
	 * listen and chat keep the plain rule). */
	uint32_t hold; /* datagrams held at once; 0 = the plain rule */
};

#define UK_GUARD_DEFAULT_RATE 1000
#define UK_GUARD_DEFAULT_LOOP 5
#define UK_GUARD_WAYS 4
#define UK_GUARD_EDGE 32
/* A repeat later than this after our reply is a client's schedule (a health
 * check), not a datagram bouncing at the round-trip rate. */
#define UK_GUARD_BOUNCE_NS (50 * 1000000ull)
/* How long a suspect is held waiting for a second datagram in flight: long
 * enough for a client descheduled on a busy machine to send again. */
#define UK_GUARD_HOLD_NS (200 * 1000000ull)
/* A source seen with two datagrams in flight is a client for this long. */
#define UK_GUARD_MULTI_NS (10 * 1000000000ull)
/* Replies per source per batch while the socket is backlogged and more
 * than one source sent within UK_GUARD_MIXED_NS. */
#define UK_GUARD_SHARE 4
#define UK_GUARD_MIXED_NS (10 * 1000000000ull)

struct uk_guard_entry {
	uint64_t key;	      /* uk_addr_hash of the source; 0 = empty */
	uint64_t last_ns;     /* last datagram from it */
	uint64_t tokens_nano; /* token bucket, in billionths of a datagram */
	uint64_t reply_ns;    /* when our last reply to it was decided */
	uint64_t multi_ns;    /* last sign of two datagrams in flight from it */
	uint64_t hold_until;  /* a datagram from it is held until then; 0 = none */
	uint32_t reply_len;   /* our last reply to it: its length, */
	uint32_t reflections; /* consecutive datagrams ending with our reply */
	uint32_t reply_batch; /* the batch in which we replied */
	uint32_t share_batch; /* the batch that share counts, */
	uint32_t share;	      /* and the replies it got in it */
	bool has_reply;
	bool hold_seen; /* another datagram came while one was held */
	/* and its first and last UK_GUARD_EDGE bytes (all of it when shorter):
	 * compared with memcmp, which stops at the first difference, so the
	 * common case (a new request) costs a few byte compares, not a hash. */
	unsigned char reply_head[UK_GUARD_EDGE];
	unsigned char reply_tail[UK_GUARD_EDGE];
};

struct uk_guard {
	struct uk_guard_cfg cfg;
	struct uk_guard_entry *table;
	size_t sets;	   /* table has sets * UK_GUARD_WAYS entries */
	uint32_t batch;	   /* counts uk_guard_batch() calls */
	uint32_t holds;	   /* datagrams held now */
	bool pressure;	   /* this batch comes from a backlogged socket */
	uint64_t last_key; /* the source of the last datagram checked, */
	uint64_t mixed_ns; /* and when it last differed from the one before */
	/* The last source hashed and its hash: a check and the reply noted
	 * after it, and a peer's next datagram, cost one compare, not a
	 * keyed hash each. */
	struct uk_addr memo_src;
	uint64_t memo_hash;
	bool memo;
};

/* sources: how many to remember (rounded up). Returns 0 or -ENOMEM. */
int uk_guard_init(struct uk_guard *g, const struct uk_guard_cfg *cfg, size_t sources);
void uk_guard_free(struct uk_guard *g);
/* Forgets every source and takes cfg, as uk_guard_init() would, keeping
 * the table (no allocation: the echo fuzz target resets per input). */
void uk_guard_reset(struct uk_guard *g, const struct uk_guard_cfg *cfg);

/* The source rules alone (badsrc, service, lowport): no state. */
enum uk_verdict uk_guard_source_rules(const struct uk_addr *src);

/* Decides whether a datagram from src may be answered. */
enum uk_verdict uk_guard_check(struct uk_guard *g, const struct uk_addr *src,
			       const unsigned char *payload, size_t len, uint64_t now_ns);

/* Starts a batch: datagrams checked until the next call were received
 * together, before any reply to them left (so none of them can be a bounce
 * of another's reply). pressure: the socket is backlogged (the share rule
 * applies). Servers that never call it get neither rule. */
void uk_guard_batch(struct uk_guard *g, bool pressure);

/* For a datagram that got UK_HOLD: UK_PASS once another datagram came from
 * src (a client with more than one in flight: answer it), UK_DROP_LOOP once
 * its hold ran out with nothing else from src (a bounce), else UK_HOLD with
 * *until_ns set to when to ask again. An entry evicted meanwhile passes. */
enum uk_verdict uk_guard_resolve(struct uk_guard *g, const struct uk_addr *src, uint64_t now_ns,
				 uint64_t *until_ns);

/* Remembers the reply sent to src, for loop detection: call it right after
 * the uk_guard_check() (or uk_guard_resolve()) that allowed it. */
void uk_guard_note_reply(struct uk_guard *g, const struct uk_addr *src, const unsigned char *reply,
			 size_t len);

#endif
