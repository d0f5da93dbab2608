/* room.h: private chat rooms' datagram protection. A room is a name (not
 * secret, like a Wi-Fi network's name) and a passphrase (secret). Every
 * datagram of a room is sealed with XChaCha20-Poly1305 under a key derived
 * from both with Argon2id; in clear travel only a 4-byte magic, so that
 * other udpkit chats recognise room datagrams and drop them, and an 8-byte
 * tag derived from the room name, so that a member drops other rooms'
 * datagrams without decrypting and notices when its own room's datagrams do
 * not authenticate (a mistyped passphrase). Wire format: docs/rooms.md.
 * All cryptography is libsodium's. */
#ifndef UDPKIT_ROOM_H
#define UDPKIT_ROOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UK_ROOM_MAGIC "UKR\x01"
#define UK_ROOM_MAGIC_LEN 4
#define UK_ROOM_TAG_LEN 8
#define UK_ROOM_NONCE_LEN 24 /* crypto_aead_xchacha20poly1305_ietf_NPUBBYTES */
#define UK_ROOM_MAC_LEN 16   /* crypto_aead_xchacha20poly1305_ietf_ABYTES */
/* What sealing adds in clear: magic, tag, nonce. */
#define UK_ROOM_CLEAR_LEN (UK_ROOM_MAGIC_LEN + UK_ROOM_TAG_LEN + UK_ROOM_NONCE_LEN)
/* The sealed header: kind, flags, sender session, sequence, time, length. */
#define UK_ROOM_INNER_LEN 28
#define UK_ROOM_OVERHEAD (UK_ROOM_CLEAR_LEN + UK_ROOM_MAC_LEN + UK_ROOM_INNER_LEN)
/* Longest payload that still fits one UDP datagram once sealed. */
#define UK_ROOM_MAX_PAYLOAD (65507 - UK_ROOM_OVERHEAD)
#define UK_ROOM_SESSION_LEN 8

/* Argon2id cost: what `udpkit chat --room` uses, and the cheapest that
 * libsodium allows (for tests only). */
enum uk_room_cost { UK_ROOM_COST_MODERATE, UK_ROOM_COST_TEST };

/* The derived keys, in guarded memory (sodium_malloc: guard pages, mlock,
 * wiped when freed). Opaque. */
struct uk_room_key;

/* Derives a room's keys from its name and passphrase: Argon2id with a salt
 * made from the name, then one subkey each for sealing and for the tag.
 * Slow on purpose (UK_ROOM_COST_MODERATE: 256 MiB, 3 passes; the time is
 * measured in docs/rooms.md). Returns 0 and *out, or -EINVAL (empty name or
 * passphrase), -ENOMEM, -EIO when libsodium cannot start. Never stores the
 * passphrase; the caller wipes its own copy (sodium_memzero). */
int uk_room_key_derive(struct uk_room_key **out, const char *room, const char *pass,
		       size_t pass_len, enum uk_room_cost cost);

/* Builds keys from 32 raw bytes, skipping Argon2id: the seam through which
 * tests and the fuzz target reach past authentication with a fixed key. */
int uk_room_key_from_raw(struct uk_room_key **out, const char *room, const uint8_t raw[32]);

/* The 32-byte key of the room's file transfers (lib/sealstream.c), derived
 * from the same master key with its own KDF context. Read-only, valid until
 * uk_room_key_free. */
const uint8_t *uk_room_file_key(const struct uk_room_key *key);

/* Wipes and frees; NULL is fine. */
void uk_room_key_free(struct uk_room_key *key);

/* The clear tag of a room's datagrams (a function of the name only). */
void uk_room_tag(const char *room, uint8_t tag[UK_ROOM_TAG_LEN]);

/* What the sealed header carries besides the payload. */
enum uk_room_kind {
	UK_ROOM_KIND_DATA = 1,	    /* payload: an IPMsg or plain-text datagram */
	UK_ROOM_KIND_CHALLENGE = 2, /* payload: the session challenged (8 bytes) */
	UK_ROOM_KIND_RESPONSE = 3,  /* payload: the challenger's session, echoed */
	UK_ROOM_KIND_NOTICE = 4,    /* empty: "what you sent me does not authenticate" */
};
struct uk_room_inner {
	uint8_t kind;
	uint8_t flags;
	uint8_t session[UK_ROOM_SESSION_LEN]; /* the sender's random per-run id */
	uint64_t seq;			      /* per session, from 1, never reused */
	uint64_t time_ms;		      /* sender's wall clock */
	const uint8_t *payload;		      /* on open: points into the output buffer */
	size_t payload_len;
};

/* Seals inner (with its payload) into out: a fresh random nonce each call.
 * pad_to > 0 pads the sealed part with zeros up to the next multiple of
 * pad_to bytes, so lengths say less. Returns the datagram's length, or
 * -EMSGSIZE (payload or padding too large for cap or for UDP). */
long uk_room_seal(const struct uk_room_key *key, const struct uk_room_inner *inner, size_t pad_to,
		  uint8_t *out, size_t cap);

/* True when buf starts like a room datagram (any room): what a chat outside
 * rooms checks to drop them instead of showing them as text. */
bool uk_room_is_sealed(const uint8_t *buf, size_t len);

/* Result of opening a datagram. */
enum uk_room_open_result {
	UK_ROOM_OPENED = 0,
	UK_ROOM_NOT_SEALED = 1, /* no magic: not a room datagram at all */
	UK_ROOM_OTHER_ROOM = 2, /* another room's tag: dropped unread */
	UK_ROOM_FORGED = 3,	/* our tag, but it does not authenticate */
	UK_ROOM_MALFORMED = 4,	/* authenticates but its header is inconsistent */
};

/* Opens buf into plain (cap >= len is always enough). On UK_ROOM_OPENED,
 * inner is filled and inner->payload points into plain. Never reads past
 * len; constant-time authentication (libsodium). */
enum uk_room_open_result uk_room_open(const struct uk_room_key *key, const uint8_t *buf, size_t len,
				      uint8_t *plain, size_t cap, struct uk_room_inner *inner);

/* ---- a room member's protocol: sealing, opening, replay, restart challenge ----
 * Pure: (state, datagram, now) in; what to deliver out, and control datagrams
 * through the send callback. now_ns is a monotonic clock. A datagram from a
 * session the receiver has not verified since it started is not delivered:
 * the receiver challenges the session (a sealed CHALLENGE naming it), the
 * live sender answers with a RESPONSE that echoes the challenger's own
 * random session (which nothing captured before the challenger started can
 * contain) and resends, freshly sealed, the presence packets it sent in the
 * last UK_ROOM_RESEND_NS (messages come again by their retransmission).
 * docs/rooms.md. */
#include "udpkit/addr.h"
#include "udpkit/replay.h"

#define UK_ROOM_RECENT 16		/* payloads kept to resend after a challenge */
#define UK_ROOM_RESEND_NS 5000000000ull /* ... when sent this recently */
#define UK_ROOM_SESSIONS 256		/* sessions the replay table remembers */
#define UK_ROOM_LIMITS 32		/* sessions with a recent challenge or answer */
#define UK_ROOM_LIMIT_NS 500000000ull	/* one challenge/answer per session per 0.5 s */
/* A datagram with our tag that does not authenticate gets a NOTICE back,
 * sealed with our key: so a member with a mistyped passphrase hears, even
 * when nobody talks, that this room's datagrams do not authenticate for it.
 * At most UK_ROOM_NOTICES per address (while it is in the limits table),
 * UK_ROOM_NOTICES_PER_S in all: no loop between two keys, no reflector. */
#define UK_ROOM_NOTICES 3
#define UK_ROOM_NOTICES_PER_S 8
#define UK_ROOM_BUF 65536

struct uk_room_stats {
	uint64_t opened;     /* authenticated and delivered */
	uint64_t clear;	     /* not a room datagram (plain IPMsg, text): dropped */
	uint64_t other_room; /* another room's tag: dropped unread */
	uint64_t forged;     /* our tag, does not authenticate */
	uint64_t malformed;  /* authenticates, inconsistent inside */
	uint64_t replayed;   /* seen before, below the window, or a stale echo */
	uint64_t stale;	     /* beyond the timestamp bound */
	uint64_t unverified; /* from a session not verified yet: challenged */
	uint64_t own;	     /* our own session (our broadcasts coming back) */
	uint64_t challenges, answers, resent, verified;
	uint64_t notices_sent, notices; /* notices sent, and received (authentic) */
};

typedef void (*uk_room_send_fn)(void *ctx, const struct uk_addr *to, const void *data, size_t len);

struct uk_room_recent {
	uint64_t ns;
	uint8_t *data;
	size_t len, cap;
};

struct uk_room_limit {
	uint8_t id[UK_ROOM_SESSION_LEN]; /* a session, or an address's hash */
	uint8_t kind;			 /* a challenge sent to id, an answer, a notice */
	uint32_t count;
	uint64_t ns;
};

struct uk_room {
	struct uk_room_key *key; /* owned: freed (wiped) by uk_room_free */
	struct uk_replay win;
	uint8_t session[UK_ROOM_SESSION_LEN];
	uint64_t seq, start_ns;
	size_t pad;
	uk_room_send_fn send;
	void *ctx;
	struct uk_room_recent recent[UK_ROOM_RECENT];
	size_t next_recent;
	struct uk_room_limit limits[UK_ROOM_LIMITS];
	size_t next_limit;
	uint64_t notice_second_ns;
	unsigned notices_this_second;
	struct uk_room_stats stats;
	uint8_t *out, *plain; /* UK_ROOM_BUF each */
};

/* Takes key (freed by uk_room_free even on failure). A random session. */
int uk_room_init(struct uk_room *r, struct uk_room_key *key, size_t pad, uk_room_send_fn send,
		 void *ctx, uint64_t now_ns);
void uk_room_free(struct uk_room *r);

/* Seals payload as a DATA datagram. With resend, it is remembered for
 * UK_ROOM_RESEND_NS and sent again, sealed afresh, to whoever challenges us
 * in that time: for what nobody retransmits and may go to anyone (the
 * chat's presence packets), never for messages, whose resending would
 * show them twice. Returns its length, the datagram in *out (valid until
 * the next call), or -EMSGSIZE. */
long uk_room_seal_data(struct uk_room *r, bool resend, const void *payload, size_t len,
		       uint64_t now_ns, const uint8_t **out);

/* Opens a received datagram: 1 with the payload to deliver, 0 when it was
 * dropped (counted in stats) or was protocol (challenge, response). */
int uk_room_receive(struct uk_room *r, const struct uk_addr *from, const uint8_t *buf, size_t len,
		    uint64_t now_ns, const uint8_t **payload, size_t *payload_len);

#endif
