/* budget.h: how much the chat may send back to a source it cannot trust.
 * A UDP source address can be forged, so every automatic answer (IPMsg
 * ANSENTRY to a BR_ENTRY, RECVMSG to a SENDMSG) could be aimed at a third
 * party. Three bounds, all per host address (whatever the port, so
 * rotating source ports gain nothing):
 *   amplification - to a source that has not proven it receives (not
 *                   confirmed in the roster), at most `factor` times the
 *                   bytes received from its address, as QUIC (RFC 9000,
 *                   8.1) allows 3x to an unvalidated address;
 *   per host      - a token bucket of answers per second;
 *   in total      - a token bucket over all hosts, so a flood from many
 *                   forged addresses is still a bounded trickle.
 * Pure: addresses, byte counts and now_ns in, a yes or no out. Memory is
 * fixed at init: a flood of addresses only evicts entries, and an evicted
 * address starts again with no credit. */
#ifndef UDPKIT_BUDGET_H
#define UDPKIT_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "udpkit/addr.h"

struct uk_budget_cfg {
	uint32_t factor;	/* amplification bound; 0 = UK_BUDGET_DEFAULT_FACTOR */
	uint32_t host_per_sec;	/* rate-limited answers per host per second */
	uint32_t host_burst;	/* and its bucket depth */
	uint32_t total_per_sec; /* rate-limited answers per second in all */
	uint32_t total_burst;	/* and its bucket depth */
};

#define UK_BUDGET_DEFAULT_FACTOR 3
#define UK_BUDGET_WAYS 4
/* Credit kept per host at most: one large datagram's worth, so old
 * traffic cannot be saved up for a later burst of answers. */
#define UK_BUDGET_CREDIT_MAX 196608u /* 3 x 64 KiB */

struct uk_budget_entry {
	uint64_t key;	      /* uk_addr_host_hash | 1; 0 = empty */
	uint64_t seen_ns;     /* last datagram or answer: the least recent is replaced */
	uint64_t refill_ns;   /* the bucket was last refilled then */
	uint64_t tokens_nano; /* answers, in billionths */
	uint32_t credit;      /* bytes we may still send while unvalidated */
};

struct uk_budget {
	struct uk_budget_cfg cfg;
	struct uk_budget_entry *table;
	size_t sets;
	uint64_t total_tokens_nano, total_last_ns;
	uint64_t refused_amplification, refused_rate; /* answers not sent */
};

/* hosts: how many addresses to remember (rounded up). A zero rate turns
 * that rate limit off. Returns 0 or -ENOMEM. */
int uk_budget_init(struct uk_budget *b, const struct uk_budget_cfg *cfg, size_t hosts);
void uk_budget_free(struct uk_budget *b);

/* Counts bytes received from src (credit for answers to it). */
void uk_budget_received(struct uk_budget *b, const struct uk_addr *src, size_t bytes,
			uint64_t now_ns);

/* May we send bytes to `to` as an automatic answer? validated: `to` has
 * proven it receives (no amplification bound). rate_limited: the answer
 * counts against the per-host and total rates. True consumes the credit
 * and tokens; false counts the refusal. */
bool uk_budget_answer(struct uk_budget *b, const struct uk_addr *to, size_t bytes, bool validated,
		      bool rate_limited, uint64_t now_ns);

#endif
