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
    "pass", "badsrc", "service", "lowport", "loop", "rate",
};

const char *uk_verdict_name(enum uk_verdict v)
{
	return (unsigned)v < UK_VERDICT_COUNT ? verdict_names[v] : "?";
}

int uk_guard_init(struct uk_guard *g, const struct uk_guard_cfg *cfg, size_t sources)
{
	size_t sets = 1;

	while (sets * UK_GUARD_WAYS < sources)
		sets <<= 1;
	g->cfg = *cfg;
	if (!g->cfg.burst)
		g->cfg.burst = g->cfg.rate_pps;
	if (!g->cfg.loop_threshold)
		g->cfg.loop_threshold = UK_GUARD_DEFAULT_LOOP;
	g->table = calloc(sets * UK_GUARD_WAYS, sizeof(*g->table));
	if (!g->table)
		return -ENOMEM;
	g->sets = sets;
	return 0;
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
 * fits and its first and last UK_GUARD_EDGE bytes match. */
static bool ends_with_reply(const struct uk_guard_entry *e, const unsigned char *p, size_t len)
{
	size_t n = e->reply_len, edge = n < UK_GUARD_EDGE ? n : UK_GUARD_EDGE;
	const unsigned char *s;

	if (!e->has_reply || len < n || (n == 0 && len != 0))
		return false;
	s = p + (len - n); /* only now: with len < n it would point before p (UB) */
	return memcmp(s, e->reply_head, edge) == 0 &&
	       memcmp(s + n - edge, e->reply_tail, edge) == 0;
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

enum uk_verdict uk_guard_check(struct uk_guard *g, const struct uk_addr *src,
			       const unsigned char *payload, size_t len, uint64_t now_ns)
{
	enum uk_verdict v = uk_guard_source_rules(src);
	struct uk_guard_entry *e;
	bool limited;

	if (v != UK_PASS)
		return v;
	e = lookup(g, uk_addr_hash(src), true);
	if (ends_with_reply(e, payload, len)) {
		if (++e->reflections > g->cfg.loop_threshold) {
			e->last_ns = now_ns;
			return UK_DROP_LOOP;
		}
	} else {
		e->reflections = 0;
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
		if (e->tokens_nano < TOKEN)
			return UK_DROP_RATE;
		e->tokens_nano -= TOKEN;
	} else {
		e->last_ns = now_ns;
	}
	return UK_PASS;
}

void uk_guard_note_reply(struct uk_guard *g, const struct uk_addr *src, const unsigned char *reply,
			 size_t len)
{
	struct uk_guard_entry *e = lookup(g, uk_addr_hash(src), false);

	if (!e)
		return;
	size_t edge = len < UK_GUARD_EDGE ? len : UK_GUARD_EDGE;
	e->reply_len = (uint32_t)len;
	e->has_reply = true;
	memcpy(e->reply_head, reply, edge);
	memcpy(e->reply_tail, reply + len - edge, edge);
}
