/* quota.h: how much the network may make the chat log and print. Token
 * buckets, per source (address and port) and for all sources together,
 * over messages and bytes; a message over a limit is dropped (not logged,
 * not shown, not acknowledged: an IPMsg sender retransmits later) and
 * counted per source, for a line that says how many from whom. Fair to
 * quiet peers: when the total is spent, a source that has used less than
 * a tenth of its own burst still passes, up to a second total's worth of debt,
 * so a flood from many sources cannot silence a peer that writes now and
 * then, and what is logged stays below twice the total rate plus bursts.
 * Pure: now_ns in, a verdict out (tests/unit/test_quota.c). */
#ifndef UDPKIT_QUOTA_H
#define UDPKIT_QUOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "udpkit/addr.h"

/* Per source: 200 messages/s and 400 KiB/s; all sources: ten times that
 * in messages and five times in bytes. Buckets hold UK_QUOTA_BURST_S
 * seconds' worth. */
#define UK_QUOTA_SOURCE_MSGS_DEFAULT 200
#define UK_QUOTA_BURST_S 2
#define UK_QUOTA_SOURCES 1024

struct uk_quota_cfg {
	uint64_t source_msgs, source_bytes; /* per second; 0: no limit at all */
	uint64_t total_msgs, total_bytes;   /* per second */
};

/* The configuration for a per-source message rate (0: no limits): the
 * byte and total limits follow from it as above. */
struct uk_quota_cfg uk_quota_cfg_for(uint64_t source_msgs);

struct uk_quota_bucket {
	int64_t msgs, bytes; /* tokens in units of 1e-9 message or byte */
	uint64_t last_ns;
};

struct uk_quota_source {
	bool used;
	struct uk_addr addr;
	struct uk_quota_bucket b;
	uint64_t dropped, dropped_bytes; /* since the last report */
};

struct uk_quota {
	struct uk_quota_cfg cfg;
	struct uk_quota_source *src; /* UK_QUOTA_SOURCES, open addressing */
	struct uk_quota_bucket total;
	uint64_t dropped, dropped_bytes; /* in all */
	uint64_t pending;		 /* sources with drops not yet reported */
};

int uk_quota_init(struct uk_quota *q, const struct uk_quota_cfg *cfg);
void uk_quota_free(struct uk_quota *q);

/* Takes one message of len bytes from src. Returns true when it may be
 * logged and shown; false when it is dropped (and counted). */
bool uk_quota_take(struct uk_quota *q, const struct uk_addr *src, size_t len, uint64_t now_ns);

/* Hands out one source with drops since its last report: returns true and
 * fills addr, count and bytes (then zeroed), false when there is none. */
bool uk_quota_report(struct uk_quota *q, struct uk_addr *addr, uint64_t *count, uint64_t *bytes);

#endif
