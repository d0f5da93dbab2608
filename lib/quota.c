/* quota.c: the chat's flood bounds (see quota.h). Token buckets in
 * nanotokens, so one integer multiply refills them exactly; a table of
 * sources probed at four slots from the hash (a flood from ever new
 * addresses is still held by the total). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "udpkit/quota.h"

#define NANO 1000000000ll

struct uk_quota_cfg uk_quota_cfg_for(uint64_t source_msgs)
{
	return (struct uk_quota_cfg){.source_msgs = source_msgs,
				     .source_bytes = source_msgs * 2048,
				     .total_msgs = source_msgs * 10,
				     .total_bytes = source_msgs * 2048 * 5};
}

static void fill(struct uk_quota_bucket *b, uint64_t msgs_rate, uint64_t bytes_rate)
{
	b->msgs = (int64_t)msgs_rate * UK_QUOTA_BURST_S * NANO;
	b->bytes = (int64_t)bytes_rate * UK_QUOTA_BURST_S * NANO;
}

int uk_quota_init(struct uk_quota *q, const struct uk_quota_cfg *cfg)
{
	memset(q, 0, sizeof(*q));
	q->cfg = *cfg;
	/* Rates far beyond any network keep the arithmetic in int64_t. */
	if (q->cfg.source_msgs > 1000000 || q->cfg.total_msgs > 100000000 ||
	    q->cfg.source_bytes > (1ull << 30) || q->cfg.total_bytes > (1ull << 30))
		return -EINVAL;
	q->src = calloc(UK_QUOTA_SOURCES, sizeof(*q->src));
	if (!q->src)
		return -ENOMEM;
	fill(&q->total, q->cfg.total_msgs, q->cfg.total_bytes);
	return 0;
}

void uk_quota_free(struct uk_quota *q)
{
	free(q->src);
	q->src = NULL;
}

/* Adds what elapsed since b->last_ns, up to the burst. */
static void refill(struct uk_quota_bucket *b, uint64_t msgs_rate, uint64_t bytes_rate,
		   uint64_t now_ns)
{
	uint64_t dt = now_ns > b->last_ns ? now_ns - b->last_ns : 0;
	int64_t max_m = (int64_t)msgs_rate * UK_QUOTA_BURST_S * NANO;
	int64_t max_b = (int64_t)bytes_rate * UK_QUOTA_BURST_S * NANO;

	if (dt > (uint64_t)UK_QUOTA_BURST_S * 2 * NANO)
		dt = (uint64_t)UK_QUOTA_BURST_S * 2 * NANO;
	b->last_ns = now_ns;
	b->msgs += (int64_t)dt * (int64_t)msgs_rate;
	b->bytes += (int64_t)dt * (int64_t)bytes_rate;
	if (b->msgs > max_m)
		b->msgs = max_m;
	if (b->bytes > max_b)
		b->bytes = max_b;
}

/* The source's slot: one of four after its hash. A newcomer takes a free
 * slot or the least recently used one; if all four were used within two
 * bursts, it shares the oldest one's bucket instead of resetting it, so
 * flooders that collide cannot keep handing each other full buckets. */
#define PROBES 4
static struct uk_quota_source *source(struct uk_quota *q, const struct uk_addr *a, uint64_t now_ns)
{
	size_t h = (size_t)(uk_addr_hash(a) % UK_QUOTA_SOURCES);
	struct uk_quota_source *victim = NULL;

	for (size_t k = 0; k < PROBES; k++) {
		struct uk_quota_source *s = &q->src[(h + k) % UK_QUOTA_SOURCES];
		if (s->used && uk_addr_equal(&s->addr, a))
			return s;
		if (!victim || (victim->used && (!s->used || s->b.last_ns < victim->b.last_ns)))
			victim = s;
	}
	if (victim->used && now_ns - victim->b.last_ns < 2ull * UK_QUOTA_BURST_S * NANO)
		return victim;
	if (victim->used && victim->dropped)
		q->pending--; /* its drops stay counted in the total only */
	victim->used = true;
	victim->addr = *a;
	victim->dropped = victim->dropped_bytes = 0;
	fill(&victim->b, q->cfg.source_msgs, q->cfg.source_bytes);
	victim->b.last_ns = now_ns;
	return victim;
}

static void drop(struct uk_quota *q, struct uk_quota_source *s, size_t len)
{
	if (!s->dropped)
		q->pending++;
	s->dropped++;
	s->dropped_bytes += len;
	q->dropped++;
	q->dropped_bytes += len;
}

bool uk_quota_take(struct uk_quota *q, const struct uk_addr *src, size_t len, uint64_t now_ns)
{
	const struct uk_quota_cfg *c = &q->cfg;
	struct uk_quota_source *s;
	int64_t cost_b = (int64_t)len * NANO;
	bool quiet;

	if (!c->source_msgs)
		return true;
	if (len > (1u << 30))
		len = 1u << 30;
	s = source(q, src, now_ns);
	refill(&s->b, c->source_msgs, c->source_bytes, now_ns);
	refill(&q->total, c->total_msgs, c->total_bytes, now_ns);
	if (s->b.msgs < NANO || s->b.bytes < cost_b) {
		drop(q, s, len);
		return false;
	}
	/* Quiet: it has used less than a tenth of its own burst. A flooder
	 * stops being quiet after a tenth of a burst, so new flooding sources
	 * can spend the debt only a little each. */
	quiet = s->b.msgs > (int64_t)c->source_msgs * UK_QUOTA_BURST_S * NANO / 10 * 9 &&
		s->b.bytes > (int64_t)c->source_bytes * UK_QUOTA_BURST_S * NANO / 10 * 9;
	if (q->total.msgs < NANO || q->total.bytes < cost_b) {
		int64_t floor_m = -(int64_t)c->total_msgs * UK_QUOTA_BURST_S * NANO;
		int64_t floor_b = -(int64_t)c->total_bytes * UK_QUOTA_BURST_S * NANO;
		if (!quiet || q->total.msgs - NANO < floor_m || q->total.bytes - cost_b < floor_b) {
			/* Charged to the source all the same: a flooder held back
			 * by the total must not look quiet by keeping its tokens. */
			s->b.msgs -= NANO;
			s->b.bytes -= cost_b;
			drop(q, s, len);
			return false;
		}
	}
	s->b.msgs -= NANO;
	s->b.bytes -= cost_b;
	q->total.msgs -= NANO;
	q->total.bytes -= cost_b;
	return true;
}

bool uk_quota_report(struct uk_quota *q, struct uk_addr *addr, uint64_t *count, uint64_t *bytes)
{
	if (!q->pending)
		return false;
	for (size_t i = 0; i < UK_QUOTA_SOURCES; i++) {
		struct uk_quota_source *s = &q->src[i];
		if (!s->used || !s->dropped)
			continue;
		*addr = s->addr;
		*count = s->dropped;
		*bytes = s->dropped_bytes;
		s->dropped = s->dropped_bytes = 0;
		q->pending--;
		return true;
	}
	q->pending = 0;
	return false;
}
