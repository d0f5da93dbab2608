/* budget.c: answers to sources that may be forged (see
 * include/udpkit/budget.h). Set-associative like the guard's table: fixed
 * memory, the entry silent for longest is replaced. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "udpkit/budget.h"

/* One answer's worth of a token bucket, in nano-tokens. */
#define TOKEN 1000000000ull

int uk_budget_init(struct uk_budget *b, const struct uk_budget_cfg *cfg, size_t hosts)
{
	size_t sets = 1;

	memset(b, 0, sizeof(*b));
	while (sets * UK_BUDGET_WAYS < hosts)
		sets <<= 1;
	b->cfg = *cfg;
	if (!b->cfg.factor)
		b->cfg.factor = UK_BUDGET_DEFAULT_FACTOR;
	if (b->cfg.host_burst < b->cfg.host_per_sec)
		b->cfg.host_burst = b->cfg.host_per_sec;
	if (b->cfg.total_burst < b->cfg.total_per_sec)
		b->cfg.total_burst = b->cfg.total_per_sec;
	b->table = calloc(sets * UK_BUDGET_WAYS, sizeof(*b->table));
	if (!b->table)
		return -ENOMEM;
	b->sets = sets;
	b->total_tokens_nano = (uint64_t)b->cfg.total_burst * TOKEN;
	return 0;
}

void uk_budget_free(struct uk_budget *b)
{
	free(b->table);
	b->table = NULL;
}

/* Refills a bucket of per_sec tokens per second, depth burst, from last_ns
 * to now_ns. Past the time that fills it, more time adds nothing (and
 * cannot overflow). */
static void refill(uint64_t *tokens_nano, uint64_t *last_ns, uint32_t per_sec, uint32_t burst,
		   uint64_t now_ns)
{
	uint64_t cap = (uint64_t)burst * TOKEN;

	if (now_ns > *last_ns) {
		uint64_t dt = now_ns - *last_ns, fill_ns = cap / per_sec + 1;
		uint64_t add = (dt < fill_ns ? dt : fill_ns) * per_sec;
		*tokens_nano = *tokens_nano + add > cap ? cap : *tokens_nano + add;
	}
	*last_ns = now_ns;
}

static struct uk_budget_entry *lookup(struct uk_budget *b, const struct uk_addr *a, uint64_t now_ns)
{
	uint64_t key = uk_addr_host_hash(a) | 1; /* 0 marks an empty entry */
	struct uk_budget_entry *set = &b->table[(key % b->sets) * UK_BUDGET_WAYS];
	struct uk_budget_entry *victim = &set[0];

	for (int i = 0; i < UK_BUDGET_WAYS; i++) {
		if (set[i].key == key) {
			set[i].seen_ns = now_ns;
			return &set[i];
		}
		if (set[i].seen_ns < victim->seen_ns)
			victim = &set[i];
	}
	memset(victim, 0, sizeof(*victim));
	victim->key = key;
	victim->seen_ns = victim->refill_ns = now_ns;
	victim->tokens_nano = (uint64_t)b->cfg.host_burst * TOKEN;
	return victim;
}

void uk_budget_received(struct uk_budget *b, const struct uk_addr *src, size_t bytes,
			uint64_t now_ns)
{
	struct uk_budget_entry *e = lookup(b, src, now_ns);
	uint64_t credit = (uint64_t)e->credit + (uint64_t)bytes * b->cfg.factor;

	e->credit = credit > UK_BUDGET_CREDIT_MAX ? UK_BUDGET_CREDIT_MAX : (uint32_t)credit;
}

bool uk_budget_answer(struct uk_budget *b, const struct uk_addr *to, size_t bytes, bool validated,
		      bool rate_limited, uint64_t now_ns)
{
	struct uk_budget_entry *e = lookup(b, to, now_ns);

	if (!validated && bytes > e->credit) {
		b->refused_amplification++;
		return false;
	}
	if (rate_limited && b->cfg.host_per_sec) {
		refill(&e->tokens_nano, &e->refill_ns, b->cfg.host_per_sec, b->cfg.host_burst,
		       now_ns);
		if (e->tokens_nano < TOKEN) {
			b->refused_rate++;
			return false;
		}
	}
	if (rate_limited && b->cfg.total_per_sec) {
		refill(&b->total_tokens_nano, &b->total_last_ns, b->cfg.total_per_sec,
		       b->cfg.total_burst, now_ns);
		if (b->total_tokens_nano < TOKEN) {
			b->refused_rate++;
			return false;
		}
		b->total_tokens_nano -= TOKEN;
	}
	if (rate_limited && b->cfg.host_per_sec)
		e->tokens_nano -= TOKEN;
	if (!validated)
		e->credit -= (uint32_t)bytes;
	return true;
}
