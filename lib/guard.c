/* guard.c: reply rules, per-source rate limit and loop detection
 * (see include/udpkit/guard.h). The table is set-associative with a fixed
 * size: a flood of forged sources only evicts entries, it cannot grow
 * memory. An evicted source starts again with a full bucket, which bounds
 * what a forger gains to one burst per eviction. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "udpkit/guard.h"

/* One datagram's worth of the token bucket, in nano-tokens. */
#define TOKEN 1000000000ull

static const char *const verdict_names[UK_VERDICT_COUNT] = {
    "pass", "badsrc", "service", "lowport", "loop", "rate", "share", "hold",
};

const char *uk_verdict_name(enum uk_verdict v)
{
	return (unsigned)v < UK_VERDICT_COUNT ? verdict_names[v] : "?";
}

/* Everything uk_guard_reset() sets but the table. */
static void guard_start(struct uk_guard *g, const struct uk_guard_cfg *cfg)
{
	g->cfg = *cfg;
	if (!g->cfg.burst)
		g->cfg.burst = g->cfg.rate_pps;
	if (!g->cfg.loop_threshold)
		g->cfg.loop_threshold = UK_GUARD_DEFAULT_LOOP;
	g->batch = 0;
	g->holds = 0;
	g->pressure = false;
	g->last_key = 0;
	g->mixed_ns = 0;
	g->memo = false;
}

int uk_guard_init(struct uk_guard *g, const struct uk_guard_cfg *cfg, size_t sources)
{
	size_t sets = 1;

	while (sets * UK_GUARD_WAYS < sources)
		sets <<= 1;
	g->table = calloc(sets * UK_GUARD_WAYS, sizeof(*g->table));
	if (!g->table)
		return -ENOMEM;
	g->sets = sets;
	/* calloc's table is zero already: clearing it again would make all
	 * of it resident (the echo's 4096 sources: about half a MB) before
	 * any source is seen. */
	guard_start(g, cfg);
	return 0;
}

void uk_guard_reset(struct uk_guard *g, const struct uk_guard_cfg *cfg)
{
	memset(g->table, 0, g->sets * UK_GUARD_WAYS * sizeof(*g->table));
	guard_start(g, cfg);
}

void uk_guard_free(struct uk_guard *g)
{
	free(g->table);
	g->table = NULL;
}

enum uk_verdict uk_guard_source_rules(const struct uk_addr *src)
{
	uint16_t port = uk_addr_port(src);

	if (port == 0 || uk_addr_is_unspecified(src) || uk_addr_is_multicast(src) ||
	    uk_addr_is_limited_broadcast(src))
		return UK_DROP_BADSRC;
	switch (port) {
	case 7:
	case 9:
	case 13:
	case 19:
	case 37: /* RFC 862, 863, 867, 864, 868 */
	case 53:
	case 123:
	case 161:
	case 389:
	case 520:
	case 1900:
	case 3702:
	case 5353:
	case 5683:
	case 11211:
		return UK_DROP_SERVICE;
	default:
		break;
	}
	if (port < 1024)
		return UK_DROP_LOWPORT;
	return UK_PASS;
}

/* True when p (len bytes) ends with the reply remembered in e: its length
 * fits and its first and last UK_GUARD_EDGE bytes match. The length is
 * checked before any pointer into p is formed (p + len - n with len < n
 * would point before p: undefined behaviour, found by clang's
 * -fsanitize=pointer-overflow). */
static bool ends_with_reply(const struct uk_guard_entry *e, const unsigned char *p, size_t len)
{
	size_t n = e->reply_len, edge = n < UK_GUARD_EDGE ? n : UK_GUARD_EDGE;
	const unsigned char *s;

	if (!e->has_reply || len < n || (n == 0 && len != 0))
		return false;
	s = p + (len - n);
	return memcmp(s, e->reply_head, edge) == 0 &&
	       memcmp(s + n - edge, e->reply_tail, edge) == 0;
}

static uint64_t src_hash(struct uk_guard *g, const struct uk_addr *src)
{
	if (!g->memo || !uk_addr_equal(src, &g->memo_src)) {
		g->memo_src = *src;
		g->memo_hash = uk_addr_hash(src);
		g->memo = true;
	}
	return g->memo_hash;
}

static struct uk_guard_entry *lookup(struct uk_guard *g, uint64_t key, bool create)
{
	struct uk_guard_entry *set = &g->table[(key % g->sets) * UK_GUARD_WAYS];
	struct uk_guard_entry *victim = &set[0];

	key |= 1; /* 0 marks an empty entry */
	for (int i = 0; i < UK_GUARD_WAYS; i++) {
		if (set[i].key == key)
			return &set[i];
		if (set[i].last_ns < victim->last_ns)
			victim = &set[i];
	}
	if (!create)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	victim->key = key;
	victim->tokens_nano = (uint64_t)g->cfg.burst * TOKEN;
	return victim;
}

void uk_guard_batch(struct uk_guard *g, bool pressure)
{
	g->batch++;
	g->pressure = pressure;
}

/* The loop rule. Plain (listen, chat): more than loop_threshold
 * reflections in a row are dropped. With cfg.hold (the echo server) the
 * rule looks for what only a loop shows, because in pure mode a client
 * that sends the same payload again looks exactly like an echo server
 * bouncing our reply:
 * - a bounce comes back fast (UK_GUARD_BOUNCE_NS): a health check every
 *   0.3 s never counts;
 * - one datagram is in flight: a datagram received in the same batch as
 *   the one we just answered cannot be a bounce of that answer, and a
 *   source seen with two in flight is a client for UK_GUARD_MULTI_NS;
 * - past the threshold the datagram is held, not dropped: a client with
 *   more in flight sends again meanwhile and gets every echo (late by up
 *   to the hold), while one datagram bouncing between two servers stops.
 * What remains ambiguous is a client with exactly one datagram in flight
 * that repeats the same payload at its round-trip rate: it loses one echo
 * per threshold + 1 and, having waited its timeout, is answered again. */
static enum uk_verdict loop_rule(struct uk_guard *g, struct uk_guard_entry *e,
				 const unsigned char *payload, size_t len, uint64_t now_ns)
{
	if (!ends_with_reply(e, payload, len)) {
		e->reflections = 0;
		return UK_PASS;
	}
	if (!g->cfg.hold)
		return ++e->reflections > g->cfg.loop_threshold ? UK_DROP_LOOP : UK_PASS;
	if (e->reply_batch == g->batch) {
		e->multi_ns = now_ns; /* sent before our reply left: two in flight */
		e->reflections = 0;
		return UK_PASS;
	}
	if (e->multi_ns && now_ns - e->multi_ns < UK_GUARD_MULTI_NS)
		return UK_PASS;
	if (now_ns - e->reply_ns > UK_GUARD_BOUNCE_NS)
		return UK_PASS; /* a slow repeat neither counts nor clears */
	if (++e->reflections <= g->cfg.loop_threshold)
		return UK_PASS;
	if (g->holds >= g->cfg.hold)
		return UK_DROP_LOOP; /* too many suspects at once: an attack */
	g->holds++;
	e->hold_until = now_ns + UK_GUARD_HOLD_NS;
	e->hold_seen = false;
	return UK_HOLD;
}

/* The share rule: while the socket is backlogged a source gets at most
 * UK_GUARD_SHARE replies per batch. The rest of a flood is received and
 * dropped, which costs a fraction of an echo, so the queue drains and
 * every other source's datagrams wait less. */
static enum uk_verdict share_rule(struct uk_guard *g, struct uk_guard_entry *e, uint64_t now_ns)
{
	/* A benchmark alone may fill the queue: nobody waits behind it. */
	if (e->key != g->last_key) {
		if (g->last_key)
			g->mixed_ns = now_ns;
		g->last_key = e->key;
	}
	if (e->share_batch != g->batch) {
		e->share_batch = g->batch;
		e->share = 0;
	}
	if (g->pressure && e->share >= UK_GUARD_SHARE && g->mixed_ns &&
	    now_ns - g->mixed_ns < UK_GUARD_MIXED_NS)
		return UK_DROP_SHARE;
	e->share++;
	return UK_PASS;
}

enum uk_verdict uk_guard_check(struct uk_guard *g, const struct uk_addr *src,
			       const unsigned char *payload, size_t len, uint64_t now_ns)
{
	enum uk_verdict v = uk_guard_source_rules(src);
	struct uk_guard_entry *e;
	bool limited;

	if (v != UK_PASS)
		return v;
	e = lookup(g, src_hash(g, src), true);
	if (e->hold_until) {
		/* Another datagram while one is held: more than one in flight. */
		e->hold_seen = true;
		e->multi_ns = now_ns;
		e->reflections = 0;
	}
	v = loop_rule(g, e, payload, len, now_ns);
	if (v == UK_DROP_LOOP) {
		e->last_ns = now_ns;
		return v;
	}
	limited = g->cfg.rate_pps && (g->cfg.limit_loopback || !uk_addr_is_loopback(src));
	if (limited) {
		uint64_t cap = (uint64_t)g->cfg.burst * TOKEN;
		if (e->last_ns && now_ns > e->last_ns) {
			/* rate_pps datagrams per second are exactly rate_pps
			 * nano-tokens per ns, so the refill between closely spaced
			 * datagrams is never rounded away. Past the time that fills
			 * an empty bucket more time adds nothing (and cannot overflow). */
			uint64_t dt = now_ns - e->last_ns, fill_ns = cap / g->cfg.rate_pps + 1;
			uint64_t add = (dt < fill_ns ? dt : fill_ns) * g->cfg.rate_pps;
			e->tokens_nano = e->tokens_nano + add > cap ? cap : e->tokens_nano + add;
		}
		e->last_ns = now_ns;
		if (e->tokens_nano < TOKEN) {
			if (v == UK_HOLD) {
				e->hold_until = 0;
				g->holds--;
			}
			return UK_DROP_RATE;
		}
		e->tokens_nano -= TOKEN;
	} else {
		e->last_ns = now_ns;
	}
	if (v == UK_HOLD)
		return v;
	return share_rule(g, e, now_ns);
}

enum uk_verdict uk_guard_resolve(struct uk_guard *g, const struct uk_addr *src, uint64_t now_ns,
				 uint64_t *until_ns)
{
	struct uk_guard_entry *e = lookup(g, src_hash(g, src), false);

	*until_ns = 0;
	if (e && e->hold_until && !e->hold_seen && now_ns < e->hold_until) {
		*until_ns = e->hold_until;
		return UK_HOLD;
	}
	if (g->holds)
		g->holds--;
	if (!e || !e->hold_until)
		return UK_PASS; /* evicted by other sources meanwhile */
	e->hold_until = 0;
	if (e->hold_seen) {
		e->last_ns = now_ns;
		return UK_PASS;
	}
	return UK_DROP_LOOP;
}

void uk_guard_note_reply(struct uk_guard *g, const struct uk_addr *src, const unsigned char *reply,
			 size_t len)
{
	struct uk_guard_entry *e = lookup(g, src_hash(g, src), false);

	if (!e)
		return;
	size_t edge = len < UK_GUARD_EDGE ? len : UK_GUARD_EDGE;
	e->reply_len = (uint32_t)len;
	e->has_reply = true;
	e->reply_ns = e->last_ns; /* set by the check that allowed this reply */
	e->reply_batch = g->batch;
	memcpy(e->reply_head, reply, edge);
	memcpy(e->reply_tail, reply + len - edge, edge);
}
