/* replay.h: a per-sender anti-replay window for sealed room datagrams, as
 * IPsec's (RFC 6479) and WireGuard's: each sender session numbers its
 * datagrams from 1; the receiver keeps the highest number seen and a bitmap
 * of the UK_REPLAY_WINDOW numbers below it. A number seen before, or older
 * than the window, is a replay. Pure: (state, session, seq, now) in, a
 * verdict out; no clock, no socket. Only authenticated datagrams reach it,
 * so its table cannot be filled by anyone without the room's key. */
#ifndef UDPKIT_REPLAY_H
#define UDPKIT_REPLAY_H

#include <stddef.h>
#include <stdint.h>

/* As in room.h (an identical definition): sessions are 8 random bytes. */
#define UK_ROOM_SESSION_LEN 8

#define UK_REPLAY_WINDOW 1024 /* datagrams a session may arrive out of order */
#define UK_REPLAY_WORDS (UK_REPLAY_WINDOW / 64)

struct uk_replay_session {
	uint8_t id[UK_ROOM_SESSION_LEN];
	uint64_t top; /* highest sequence number accepted; 0 when unused */
	uint64_t bits[UK_REPLAY_WORDS];
	uint64_t last_ns;   /* for eviction: least recently heard goes first */
	uint64_t newest_ms; /* the newest sender time seen (uk_replay_check_at) */
};

struct uk_replay {
	struct uk_replay_session *s;
	size_t cap;
};

enum uk_replay_verdict {
	UK_REPLAY_FRESH = 0,	 /* never seen: accepted and recorded */
	UK_REPLAY_DUPLICATE = 1, /* seen before */
	UK_REPLAY_TOO_OLD = 2,	 /* below the window: cannot tell, refused */
	UK_REPLAY_BAD_SEQ = 3,	 /* 0 is never a valid number */
	UK_REPLAY_STALE = 4,	 /* sent too long before the session's newest */
};

/* The timestamp bound: a datagram whose sender time is this much older than
 * the newest one of its session is refused even inside the window (an
 * attacker cannot hold one back and inject it later). The times are the
 * sender's own clock, compared only with each other: no clock agreement
 * between hosts is needed. */
#define UK_REPLAY_MAX_AGE_MS 30000

/* cap sessions are remembered; the least recently heard is forgotten when a
 * new one arrives on a full table. Returns 0 or -ENOMEM. */
int uk_replay_init(struct uk_replay *r, size_t cap);
void uk_replay_free(struct uk_replay *r);

/* Checks seq of session and, when fresh, records it. */
enum uk_replay_verdict uk_replay_check(struct uk_replay *r, const uint8_t id[UK_ROOM_SESSION_LEN],
				       uint64_t seq, uint64_t now_ns);

/* uk_replay_check plus the timestamp bound: sent_ms is the sender's time
 * of the datagram (its own clock, ms). */
enum uk_replay_verdict uk_replay_check_at(struct uk_replay *r,
					  const uint8_t id[UK_ROOM_SESSION_LEN], uint64_t seq,
					  uint64_t sent_ms, uint64_t now_ns);

/* Records a session first heard at top, with every number up to top taken:
 * what a receiver does once a session proved to be live now (the restart
 * challenge, docs/rooms.md), so no datagram sent before can be replayed. */
void uk_replay_start(struct uk_replay *r, const uint8_t id[UK_ROOM_SESSION_LEN], uint64_t top,
		     uint64_t sent_ms, uint64_t now_ns);

/* Whether a session is known (heard since start or not yet evicted). */
int uk_replay_known(const struct uk_replay *r, const uint8_t id[UK_ROOM_SESSION_LEN]);

#endif
