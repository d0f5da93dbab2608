/* track.h: probes in flight, for ping and bench. A pure state machine:
 * it is told what was sent and received and what time it is, and decides
 * what each reply is (new, duplicate, late, reordered) and which probes
 * timed out. It never reads a clock or touches a socket. */
#ifndef UDPKIT_TRACK_H
#define UDPKIT_TRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum uk_track_kind {
	UK_TRACK_NEW,	 /* first reply to a probe still waiting */
	UK_TRACK_DUP,	 /* another reply to a probe already answered */
	UK_TRACK_LATE,	 /* reply to a probe already given up as lost */
	UK_TRACK_UNKNOWN /* never sent, or too old to remember */
};

struct uk_track_result {
	enum uk_track_kind kind;
	uint64_t rtt_ns; /* for NEW, DUP and LATE */
	bool reordered;	 /* NEW, but a later probe was answered first */
};

struct uk_track_slot {
	uint64_t seq;
	uint64_t sent_ns;
	uint8_t state; /* 0 empty, 1 waiting, 2 answered, 3 lost */
};

struct uk_track {
	struct uk_track_slot *slots;
	size_t size;	   /* a power of two: how many probes are remembered */
	uint64_t next_seq; /* the next number to send (starts at 1) */
	uint64_t highest_answered;
	uint64_t oldest_waiting; /* scan start for timeouts */
	uint64_t waiting;	 /* probes in flight */
};

/* size is rounded up to a power of two. Returns 0 or -ENOMEM. */
int uk_track_init(struct uk_track *t, size_t size);
void uk_track_free(struct uk_track *t);

/* Records that the next probe was sent at now_ns; returns its number.
 * A probe that is still waiting when its slot is reused is reported as
 * lost through *evicted (may be NULL). */
uint64_t uk_track_sent(struct uk_track *t, uint64_t now_ns, bool *evicted);

/* Takes back the n probes recorded last, which were never sent (the send
 * failed), so they count neither as sent nor as lost. Returns how many
 * were taken back (fewer only if some were already answered or expired). */
uint64_t uk_track_unsend(struct uk_track *t, uint64_t n);

/* Classifies a reply carrying seq received at now_ns. */
struct uk_track_result uk_track_reply(struct uk_track *t, uint64_t seq, uint64_t now_ns);

/* Marks probes sent before now_ns - timeout_ns that are still waiting as
 * lost; returns how many. */
uint64_t uk_track_expire(struct uk_track *t, uint64_t now_ns, uint64_t timeout_ns);

/* The earliest time at which uk_track_expire() could find a loss, or
 * UINT64_MAX when nothing is waiting. */
uint64_t uk_track_next_deadline(const struct uk_track *t, uint64_t timeout_ns);

#endif
