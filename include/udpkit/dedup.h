/* dedup.h: "have I shown this message already?" A sender retransmits until
 * it hears our receipt, and receipts get lost, so the same (sender,
 * packet number) arrives again: it is acknowledged again but shown and
 * logged once. Bounded memory: entries live at least hold_ns (longer than
 * any sender's retry budget) and the oldest are evicted when the table is
 * full, which is counted. Pure: now_ns in, a verdict out. */
#ifndef UDPKIT_DEDUP_H
#define UDPKIT_DEDUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "udpkit/addr.h"

#define UK_DEDUP_DEFAULT_CAPACITY 8192
#define UK_DEDUP_DEFAULT_HOLD_NS (600ull * 1000000000ull)

struct uk_dedup_entry {
	uint64_t source; /* uk_addr_hash of the sender (address and port) */
	uint64_t packet_no;
	uint64_t seen_ns;
	int32_t next; /* next index in the same hash bucket, -1 ends */
};

struct uk_dedup {
	struct uk_dedup_entry *ring; /* in arrival order: oldest at head */
	int32_t *buckets;
	size_t cap, nbuckets, head, count;
	uint64_t hold_ns;
	uint64_t evicted_early; /* evicted before hold_ns: a flood */
};

/* capacity 0 and hold_ns 0 take the defaults. Returns 0 or -ENOMEM. */
int uk_dedup_init(struct uk_dedup *d, size_t capacity, uint64_t hold_ns);
void uk_dedup_free(struct uk_dedup *d);

/* Returns true when (src, packet_no) is new, and remembers it; false when
 * it was seen within the hold time. now_ns must not go backwards. */
bool uk_dedup_check(struct uk_dedup *d, const struct uk_addr *src, uint64_t packet_no,
		    uint64_t now_ns);

/* True when (src, packet_no) was remembered within the hold time; remembers
 * nothing. The chat asks this first and remembers a message (check) only
 * once it is in the history, so one it could not log is taken again. */
bool uk_dedup_seen(const struct uk_dedup *d, const struct uk_addr *src, uint64_t packet_no,
		   uint64_t now_ns);

/* Forgets (src, packet_no), so that it is new again: the chat remembers a
 * message once it is logged, and a --sync whose fdatasync() failed means
 * it may not be. Returns true when it was remembered. O(chain). */
bool uk_dedup_forget(struct uk_dedup *d, const struct uk_addr *src, uint64_t packet_no);

/* A sender that announced itself again (BR_ENTRY) with packet number
 * from_packet_no may have restarted: iptux, for one, counts from 1 in
 * every process, so its new messages reuse the numbers of its last run.
 * Forgets what src sent with a number >= from_packet_no, so those are
 * new again; a sender that counts up across restarts (IP Messenger, us:
 * numbers from the clock) loses nothing, its entry's number being above
 * all it sent. Walks the table: O(capacity). Returns how many it forgot. */
size_t uk_dedup_forget_from(struct uk_dedup *d, const struct uk_addr *src, uint64_t from_packet_no);

#endif
