/* offer.h: the sending side of a file offer, as a pure state machine.
 * An offer is made to one peer (its IP address: iptux fetches from a port
 * of its own choosing, so the port cannot be checked), lists files and
 * folders with IDs, and lives until every entry was fetched completely,
 * the peer released it (RELEASEFILES), or its deadline passed with no
 * fetch in progress. The TCP server asks uk_offer_find() before serving a
 * byte. Time comes in as now_ns, so expiry is unit-tested on a virtual
 * clock. */
#ifndef UDPKIT_OFFER_H
#define UDPKIT_OFFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "udpkit/filereq.h"

#define UK_OFFER_FILES 16 /* entries in one offer (UK_ATTACH_MAX on the other side) */

enum uk_offer_state {
	UK_OFFER_OPEN,	   /* offered, not everything fetched yet */
	UK_OFFER_DONE,	   /* every entry fetched completely */
	UK_OFFER_RELEASED, /* the peer declined */
	UK_OFFER_EXPIRED   /* the deadline passed */
};

struct uk_offer_file {
	uint64_t id;
	uint64_t size; /* bytes (a folder: 0, its stream's length is not known ahead) */
	bool dir;
	bool done;	 /* fetched to the end at least once */
	unsigned active; /* connections serving it now */
	uint64_t sent;	 /* bytes served so far, all connections */
};

struct uk_offer {
	uint64_t packet_no; /* the SENDMSG that carried the offer */
	unsigned char peer[16];
	size_t peer_len;      /* 4 (IPv4) or 16 (IPv6) */
	uint64_t deadline_ns; /* 0: none */
	enum uk_offer_state state;
	struct uk_offer_file files[UK_OFFER_FILES];
	size_t nfiles;
};

/* Starts an offer to peer (peer_len 4 or 16 bytes of address) that expires
 * timeout_ns after now_ns (0: never). Returns 0 or UK_ERANGE_ for a bad
 * peer_len. */
int uk_offer_init(struct uk_offer *o, uint64_t packet_no, const void *peer, size_t peer_len,
		  uint64_t timeout_ns, uint64_t now_ns);

/* Adds an entry; returns its index or UK_ENOSPACE. */
int uk_offer_add(struct uk_offer *o, uint64_t id, uint64_t size, bool dir);

/* The entry that request r from address peer may fetch, or a negative
 * reason: -EACCES when peer is not the one offered to, -ENOENT when the
 * offer number or the ID is not ours or the request's kind (file or
 * folder) does not match the entry, -ESTALE when the offer is no longer
 * open, -EINVAL when the offset is beyond the file. */
int uk_offer_find(const struct uk_offer *o, const struct uk_filereq *r, const void *peer,
		  size_t peer_len);

/* A connection starts serving entry i / served n more bytes / ended;
 * complete says it reached the end of the file (or the folder stream). */
void uk_offer_start(struct uk_offer *o, size_t i);
void uk_offer_sent(struct uk_offer *o, size_t i, uint64_t n);
void uk_offer_end(struct uk_offer *o, size_t i, bool complete);

/* The peer released the offer. */
void uk_offer_release(struct uk_offer *o);

/* Advances time: an open offer whose deadline has passed expires, unless
 * a fetch is in progress (it expires once that ends, if still due).
 * Returns the state. */
enum uk_offer_state uk_offer_tick(struct uk_offer *o, uint64_t now_ns);

/* "open", "fetched", "released", "expired". */
const char *uk_offer_state_name(enum uk_offer_state s);

#endif
