/* roster.h: the peers we know: who announced themselves (IPMsg BR_ENTRY,
 * ANSENTRY, BR_ABSENCE), who wrote to us (IPMsg or plain text), and when
 * we last heard from them. Bounded (a flood of forged sources cannot grow
 * it); peers silent for longer than expire_ns are dropped. Pure: now_ns
 * in, events out. Nicknames are claims, not identities: the address is
 * the key and is always shown with the nick.
 *
 * Anyone can forge a source address, so an entry is unconfirmed until
 * the peer proves it receives at that address and port (it returned a
 * receipt for a packet number it could not guess, or the user named it).
 * When the table is full, a new peer takes the place of the unconfirmed
 * entry silent for longest; unconfirmed entries never push out confirmed
 * ones; and one host (whatever its ports) holds at most per_host entries,
 * so a flood of forged entries churns only unconfirmed entries and a real
 * peer arriving during it is still recorded (docs/chat.md, "Security"). */
#ifndef UDPKIT_ROSTER_H
#define UDPKIT_ROSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "udpkit/addr.h"
#include "udpkit/charset.h"
#include "udpkit/ipmsg.h"

#define UK_ROSTER_DEFAULT_CAPACITY 256
#define UK_ROSTER_AWAY_MAX 256
#define UK_ROSTER_DEFAULT_EXPIRE_NS (3600ull * 1000000000ull)
/* Entries one host may hold, over all its ports: a few chats per machine
 * (tests run several on 127.0.0.1), not a table's worth. */
#define UK_ROSTER_DEFAULT_PER_HOST 16

struct uk_peer {
	struct uk_addr addr;
	char nick[UK_IPMSG_NAME_MAX * 3 + 4]; /* UTF-8 (decoded), may be empty */
	char group[UK_IPMSG_NAME_MAX * 3 + 4];
	char user[UK_IPMSG_NAME_MAX + 1]; /* raw bytes from the header */
	char host[UK_IPMSG_NAME_MAX + 1];
	bool ipmsg;	/* has spoken IPMsg: messages to it ask for a receipt */
	bool confirmed; /* proved it receives at addr: never evicted for a newcomer */
	bool used;
	struct uk_charset_memo charset;	    /* what it writes and reads (lib/chat.c keeps it) */
	bool away;			    /* ABSENCEOPT on its last entry packet */
	char away_text[UK_ROSTER_AWAY_MAX]; /* UTF-8, from SENDABSENCEINFO; may be empty */
	uint64_t first_ns, last_ns;
};

/* What the sender told us about itself; NULL strings leave a field as is. */
struct uk_peer_info {
	const char *nick, *group, *user, *host;
	bool ipmsg;
};

enum uk_roster_event {
	UK_ROSTER_SAME = 0, /* known, nothing shown changed */
	UK_ROSTER_JOINED,   /* new peer */
	UK_ROSTER_CHANGED,  /* known peer, new nick or group */
	UK_ROSTER_FULL	    /* new peer, but no room: not kept */
};

struct uk_roster {
	struct uk_peer *peers;
	size_t cap, count, per_host;
	uint64_t expire_ns;
	uint64_t refused; /* new peers not kept: every candidate was confirmed */
	uint64_t evicted; /* unconfirmed entries dropped to make room */
};

/* capacity 0 and expire_ns 0 take the defaults; per_host is
 * UK_ROSTER_DEFAULT_PER_HOST (change r->per_host after init). Returns 0
 * or -ENOMEM. */
int uk_roster_init(struct uk_roster *r, size_t capacity, uint64_t expire_ns);
void uk_roster_free(struct uk_roster *r);

/* Records that addr spoke at now_ns, with what it said about itself.
 * *out points at the entry (NULL when FULL). A peer that once spoke IPMsg
 * stays IPMsg. A new peer may evict an unconfirmed one (counted in
 * evicted; no event). Returns the event. */
enum uk_roster_event uk_roster_seen(struct uk_roster *r, const struct uk_addr *addr,
				    const struct uk_peer_info *info, uint64_t now_ns,
				    struct uk_peer **out);

/* Marks the peer at addr confirmed: it proved it receives there. Returns
 * false when it is not in the table. */
bool uk_roster_confirm(struct uk_roster *r, const struct uk_addr *addr);

/* The peer at addr (address and port), or NULL. */
struct uk_peer *uk_roster_find(struct uk_roster *r, const struct uk_addr *addr);

/* The one peer whose nick is exactly nick; NULL when none. *ambiguous is
 * set when several peers share it (the caller then asks for an address). */
struct uk_peer *uk_roster_find_nick(struct uk_roster *r, const char *nick, bool *ambiguous);

/* Removes the peer at addr (BR_EXIT); copies it to *gone. Returns true
 * when it was known. */
bool uk_roster_remove(struct uk_roster *r, const struct uk_addr *addr, struct uk_peer *gone);

/* Removes one peer silent since before now_ns - expire_ns and copies it to
 * *gone; returns false when there is none. Call until false. */
bool uk_roster_expire(struct uk_roster *r, uint64_t now_ns, struct uk_peer *gone);

/* The earliest time a peer expires, or UINT64_MAX. */
uint64_t uk_roster_deadline(const struct uk_roster *r);

#endif
