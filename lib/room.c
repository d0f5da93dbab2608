/* room.c: sealing and opening a private room's datagrams with libsodium.
 * Key schedule: master = Argon2id(passphrase, salt = BLAKE2b-128("udpkit
 * room salt v1" || name)); seal key = KDF(master, 1, "ukroom  "). The tag in
 * clear is BLAKE2b-64("udpkit room tag v1" || name): it says which room a
 * datagram is for, nothing about the passphrase. The additional data of the
 * AEAD is everything in clear (magic and tag), so neither can be swapped. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "udpkit/room.h"
#include "udpkit/wire.h"

/* UK_ROOM_MAGIC as bytes: the datagram carries no NUL after it. */
static const unsigned char room_magic[UK_ROOM_MAGIC_LEN] = {'U', 'K', 'R', 0x01};

#define SEAL_KEY_ID 1
#define KDF_CONTEXT "ukroom  " /* crypto_kdf_CONTEXTBYTES = 8 */
/* The file transfers' key: another context, so it is independent of the
 * datagrams' key (docs/rooms.md, "Files"). */
#define FILE_KEY_ID 1
#define FILE_KDF_CONTEXT "ukfile  "

struct uk_room_key {
	uint8_t seal[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
	uint8_t tag[UK_ROOM_TAG_LEN];
	uint8_t file[32];
};

static int sodium_ready(void)
{
	/* sodium_init() is idempotent and thread-safe: 0 first time, 1 after. */
	return sodium_init() < 0 ? -EIO : 0;
}

static void hash_with_label(const char *label, const char *name, uint8_t *out, size_t out_len)
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, out_len);
	crypto_generichash_update(&st, (const uint8_t *)label, strlen(label));
	crypto_generichash_update(&st, (const uint8_t *)name, strlen(name));
	crypto_generichash_final(&st, out, out_len);
}

void uk_room_tag(const char *room, uint8_t tag[UK_ROOM_TAG_LEN])
{
	hash_with_label("udpkit room tag v1", room, tag, UK_ROOM_TAG_LEN);
}

static int key_from_master(struct uk_room_key **out, const char *room, const uint8_t *master)
{
	struct uk_room_key *k = sodium_malloc(sizeof(*k));
	if (!k)
		return -ENOMEM;
	if (crypto_kdf_derive_from_key(k->seal, sizeof(k->seal), SEAL_KEY_ID, KDF_CONTEXT,
				       master) != 0 ||
	    crypto_kdf_derive_from_key(k->file, sizeof(k->file), FILE_KEY_ID, FILE_KDF_CONTEXT,
				       master) != 0) {
		sodium_free(k);
		return -EIO;
	}
	uk_room_tag(room, k->tag);
	/* Read-only from here: a stray write faults instead of changing a key. */
	sodium_mprotect_readonly(k);
	*out = k;
	return 0;
}

int uk_room_key_derive(struct uk_room_key **out, const char *room, const char *pass,
		       size_t pass_len, enum uk_room_cost cost)
{
	uint8_t salt[crypto_pwhash_SALTBYTES];
	uint8_t *master = NULL;
	unsigned long long ops;
	size_t mem;
	int rc;

	*out = NULL;
	if (!room || !room[0] || !pass || pass_len == 0)
		return -EINVAL;
	if ((rc = sodium_ready()) < 0)
		return rc;
	ops = cost == UK_ROOM_COST_TEST ? crypto_pwhash_OPSLIMIT_MIN
					: crypto_pwhash_OPSLIMIT_MODERATE;
	mem = cost == UK_ROOM_COST_TEST ? crypto_pwhash_MEMLIMIT_MIN
					: crypto_pwhash_MEMLIMIT_MODERATE;
	hash_with_label("udpkit room salt v1", room, salt, sizeof(salt));
	master = sodium_malloc(crypto_kdf_KEYBYTES);
	if (!master)
		return -ENOMEM;
	if (crypto_pwhash(master, crypto_kdf_KEYBYTES, pass, pass_len, salt, ops, mem,
			  crypto_pwhash_ALG_ARGON2ID13) != 0) {
		rc = -ENOMEM; /* libsodium's only failure here: the memory limit */
		goto out;
	}
	rc = key_from_master(out, room, master);
out:
	sodium_free(master); /* wipes it */
	return rc;
}

int uk_room_key_from_raw(struct uk_room_key **out, const char *room, const uint8_t raw[32])
{
	int rc;

	*out = NULL;
	if (!room || !room[0])
		return -EINVAL;
	if ((rc = sodium_ready()) < 0)
		return rc;
	return key_from_master(out, room, raw);
}

const uint8_t *uk_room_file_key(const struct uk_room_key *key)
{
	return key->file;
}

void uk_room_key_free(struct uk_room_key *key)
{
	if (key)
		sodium_free(key);
}

bool uk_room_is_sealed(const uint8_t *buf, size_t len)
{
	return len >= UK_ROOM_MAGIC_LEN && memcmp(buf, UK_ROOM_MAGIC, UK_ROOM_MAGIC_LEN) == 0;
}

static void put_inner(uint8_t *p, const struct uk_room_inner *in)
{
	struct uk_wire_writer w;
	uk_wire_writer_init(&w, p, UK_ROOM_INNER_LEN);
	uk_wire_write_u8(&w, in->kind);
	uk_wire_write_u8(&w, in->flags);
	uk_wire_write_bytes(&w, in->session, UK_ROOM_SESSION_LEN);
	uk_wire_write_u64be(&w, in->seq);
	uk_wire_write_u64be(&w, in->time_ms);
	uk_wire_write_u16be(&w, (uint16_t)in->payload_len);
}

long uk_room_seal(const struct uk_room_key *key, const struct uk_room_inner *inner, size_t pad_to,
		  uint8_t *out, size_t cap)
{
	size_t plain_len, sealed_len, total;
	uint8_t *nonce = out + UK_ROOM_MAGIC_LEN + UK_ROOM_TAG_LEN;
	uint8_t *plain = nonce + UK_ROOM_NONCE_LEN;
	unsigned long long clen = 0;

	if (inner->payload_len > UK_ROOM_MAX_PAYLOAD)
		return -EMSGSIZE;
	plain_len = UK_ROOM_INNER_LEN + inner->payload_len;
	if (pad_to > 1 && plain_len % pad_to)
		plain_len += pad_to - plain_len % pad_to;
	sealed_len = plain_len + UK_ROOM_MAC_LEN;
	total = UK_ROOM_CLEAR_LEN + sealed_len;
	if (total > 65507 || total > cap)
		return -EMSGSIZE;

	memcpy(out, room_magic, sizeof(room_magic));
	memcpy(out + UK_ROOM_MAGIC_LEN, key->tag, UK_ROOM_TAG_LEN);
	randombytes_buf(nonce, UK_ROOM_NONCE_LEN);
	/* The plaintext is assembled in place and encrypted in place. */
	put_inner(plain, inner);
	if (inner->payload_len)
		memmove(plain + UK_ROOM_INNER_LEN, inner->payload, inner->payload_len);
	memset(plain + UK_ROOM_INNER_LEN + inner->payload_len, 0,
	       plain_len - UK_ROOM_INNER_LEN - inner->payload_len);
	crypto_aead_xchacha20poly1305_ietf_encrypt(plain, &clen, plain, plain_len, out,
						   UK_ROOM_MAGIC_LEN + UK_ROOM_TAG_LEN, NULL, nonce,
						   key->seal);
	return (long)(UK_ROOM_CLEAR_LEN + clen);
}

enum uk_room_open_result uk_room_open(const struct uk_room_key *key, const uint8_t *buf, size_t len,
				      uint8_t *plain, size_t cap, struct uk_room_inner *inner)
{
	const uint8_t *nonce = buf + UK_ROOM_MAGIC_LEN + UK_ROOM_TAG_LEN;
	const uint8_t *sealed = nonce + UK_ROOM_NONCE_LEN;
	static const uint8_t zero_session[UK_ROOM_SESSION_LEN];
	unsigned long long plain_len = 0;
	size_t sealed_len, payload_len;
	struct uk_wire_reader r;
	const unsigned char *session;

	if (!uk_room_is_sealed(buf, len))
		return UK_ROOM_NOT_SEALED;
	if (len < UK_ROOM_MAGIC_LEN + UK_ROOM_TAG_LEN ||
	    sodium_memcmp(buf + UK_ROOM_MAGIC_LEN, key->tag, UK_ROOM_TAG_LEN) != 0)
		return UK_ROOM_OTHER_ROOM;
	if (len < UK_ROOM_OVERHEAD)
		return UK_ROOM_FORGED;
	sealed_len = len - UK_ROOM_CLEAR_LEN;
	if (cap < sealed_len - UK_ROOM_MAC_LEN)
		return UK_ROOM_MALFORMED;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &plain_len, NULL, sealed, sealed_len,
						       buf, UK_ROOM_MAGIC_LEN + UK_ROOM_TAG_LEN,
						       nonce, key->seal) != 0)
		return UK_ROOM_FORGED;
	uk_wire_reader_init(&r, plain, (size_t)plain_len);
	inner->kind = uk_wire_read_u8(&r);
	inner->flags = uk_wire_read_u8(&r);
	session = uk_wire_read_bytes(&r, UK_ROOM_SESSION_LEN);
	memcpy(inner->session, session ? session : zero_session, UK_ROOM_SESSION_LEN);
	inner->seq = uk_wire_read_u64be(&r);
	inner->time_ms = uk_wire_read_u64be(&r);
	payload_len = uk_wire_read_u16be(&r);
	if (r.err || payload_len > uk_wire_reader_left(&r))
		return UK_ROOM_MALFORMED;
	inner->payload = plain + UK_ROOM_INNER_LEN;
	inner->payload_len = payload_len;
	return UK_ROOM_OPENED;
}

/* ---- the member's protocol ------------------------------------------------ */

int uk_room_init(struct uk_room *r, struct uk_room_key *key, size_t pad, uk_room_send_fn send,
		 void *ctx, uint64_t now_ns)
{
	memset(r, 0, sizeof(*r));
	r->key = key;
	r->pad = pad;
	r->send = send;
	r->ctx = ctx;
	r->start_ns = now_ns;
	if (sodium_ready() < 0)
		goto fail;
	randombytes_buf(r->session, sizeof(r->session));
	r->out = malloc(UK_ROOM_BUF);
	r->plain = malloc(UK_ROOM_BUF);
	if (!r->out || !r->plain || uk_replay_init(&r->win, UK_ROOM_SESSIONS) < 0)
		goto fail;
	return 0;
fail:
	uk_room_free(r);
	return -ENOMEM;
}

void uk_room_free(struct uk_room *r)
{
	uk_room_key_free(r->key);
	r->key = NULL;
	uk_replay_free(&r->win);
	for (size_t i = 0; i < UK_ROOM_RECENT; i++) {
		if (r->recent[i].data)
			sodium_memzero(r->recent[i].data, r->recent[i].cap);
		free(r->recent[i].data);
		r->recent[i].data = NULL;
	}
	if (r->plain)
		sodium_memzero(r->plain, UK_ROOM_BUF);
	free(r->out);
	free(r->plain);
	r->out = r->plain = NULL;
}

/* Seals one datagram of ours: the next sequence number, our session, and
 * the time since the session started (the sender's clock, compared only
 * with its own other datagrams by the timestamp bound). */
static long seal_ours(struct uk_room *r, uint8_t kind, const void *payload, size_t len,
		      uint64_t now_ns)
{
	struct uk_room_inner in = {.kind = kind,
				   .seq = ++r->seq,
				   .time_ms = (now_ns - r->start_ns) / 1000000u + 1,
				   .payload = payload,
				   .payload_len = len};
	memcpy(in.session, r->session, UK_ROOM_SESSION_LEN);
	return uk_room_seal(r->key, &in, r->pad, r->out, UK_ROOM_BUF);
}

static void remember(struct uk_room *r, const void *payload, size_t len, uint64_t now_ns)
{
	struct uk_room_recent *e = &r->recent[r->next_recent];

	if (e->cap < len) {
		uint8_t *d = malloc(len);
		if (!d)
			return; /* only a resend is lost; the outbox retransmits */
		if (e->data)
			sodium_memzero(e->data, e->cap);
		free(e->data);
		e->data = d;
		e->cap = len;
	}
	memcpy(e->data, payload, len);
	e->len = len;
	e->ns = now_ns ? now_ns : 1;
	r->next_recent = (r->next_recent + 1) % UK_ROOM_RECENT;
}

long uk_room_seal_data(struct uk_room *r, bool resend, const void *payload, size_t len,
		       uint64_t now_ns, const uint8_t **out)
{
	long n = seal_ours(r, UK_ROOM_KIND_DATA, payload, len, now_ns);

	if (n < 0)
		return n;
	if (resend)
		remember(r, payload, len, now_ns);
	*out = r->out;
	return n;
}

/* At most one challenge to, and one answer for, each session per
 * UK_ROOM_LIMIT_NS: a replayed datagram cannot make a member send a
 * stream. (Kept apart: two members that start together challenge each
 * other, and each must still answer.) */
static bool limit_ok(struct uk_room *r, uint8_t kind, const uint8_t *id, uint64_t now_ns,
		     uint32_t max)
{
	for (size_t i = 0; i < UK_ROOM_LIMITS; i++) {
		struct uk_room_limit *l = &r->limits[i];
		if (l->ns && l->kind == kind && memcmp(l->id, id, UK_ROOM_SESSION_LEN) == 0) {
			if (now_ns - l->ns < UK_ROOM_LIMIT_NS || l->count >= max)
				return false;
			l->ns = now_ns ? now_ns : 1;
			l->count++;
			return true;
		}
	}
	memcpy(r->limits[r->next_limit].id, id, UK_ROOM_SESSION_LEN);
	r->limits[r->next_limit].kind = kind;
	r->limits[r->next_limit].count = 1;
	r->limits[r->next_limit].ns = now_ns ? now_ns : 1;
	r->next_limit = (r->next_limit + 1) % UK_ROOM_LIMITS;
	return true;
}

static void send_ours(struct uk_room *r, const struct uk_addr *to, uint8_t kind,
		      const void *payload, size_t len, uint64_t now_ns)
{
	long n = seal_ours(r, kind, payload, len, now_ns);
	if (n > 0 && r->send)
		r->send(r->ctx, to, r->out, (size_t)n);
}

/* A live challenge for our session: prove it is live now (echo the
 * challenger's session) and resend, sealed afresh, the recent presence
 * packets that the challenger dropped while it did not know us. */
static void answer(struct uk_room *r, const struct uk_addr *from, const uint8_t *challenger,
		   uint64_t now_ns)
{
	r->stats.answers++;
	send_ours(r, from, UK_ROOM_KIND_RESPONSE, challenger, UK_ROOM_SESSION_LEN, now_ns);
	for (size_t k = 1; k <= UK_ROOM_RECENT; k++) {
		/* Oldest first, so the peer sees them in the order we sent. */
		struct uk_room_recent *e = &r->recent[(r->next_recent + k) % UK_ROOM_RECENT];
		if (!e->ns || now_ns - e->ns > UK_ROOM_RESEND_NS)
			continue;
		r->stats.resent++;
		send_ours(r, from, UK_ROOM_KIND_DATA, e->data, e->len, now_ns);
	}
}

/* A datagram with our tag did not authenticate: tell its source, sealed
 * with our key, which it cannot open either and so counts as a datagram
 * for its room that does not authenticate (its wrong-passphrase hint). */
static void notice(struct uk_room *r, const struct uk_addr *from, uint64_t now_ns)
{
	uint64_t h = uk_addr_hash(from);
	uint8_t id[UK_ROOM_SESSION_LEN];

	if (now_ns - r->notice_second_ns >= 1000000000u) {
		r->notice_second_ns = now_ns;
		r->notices_this_second = 0;
	}
	if (r->notices_this_second >= UK_ROOM_NOTICES_PER_S)
		return;
	memcpy(id, &h, sizeof(id));
	if (!limit_ok(r, UK_ROOM_KIND_NOTICE, id, now_ns, UK_ROOM_NOTICES))
		return;
	r->notices_this_second++;
	r->stats.notices_sent++;
	send_ours(r, from, UK_ROOM_KIND_NOTICE, NULL, 0, now_ns);
}

int uk_room_receive(struct uk_room *r, const struct uk_addr *from, const uint8_t *buf, size_t len,
		    uint64_t now_ns, const uint8_t **payload, size_t *payload_len)
{
	struct uk_room_inner in;
	bool echoes_us;

	switch (uk_room_open(r->key, buf, len, r->plain, UK_ROOM_BUF, &in)) {
	case UK_ROOM_OPENED:
		break;
	case UK_ROOM_NOT_SEALED:
		r->stats.clear++;
		return 0;
	case UK_ROOM_OTHER_ROOM:
		r->stats.other_room++;
		return 0;
	case UK_ROOM_FORGED:
		r->stats.forged++;
		notice(r, from, now_ns);
		return 0;
	default:
		r->stats.malformed++;
		return 0;
	}
	if (sodium_memcmp(in.session, r->session, UK_ROOM_SESSION_LEN) == 0) {
		r->stats.own++;
		return 0;
	}
	echoes_us = in.payload_len == UK_ROOM_SESSION_LEN &&
		    sodium_memcmp(in.payload, r->session, UK_ROOM_SESSION_LEN) == 0;
	switch (in.kind) {
	case UK_ROOM_KIND_CHALLENGE:
		/* One naming another session is for a run of ours that ended:
		 * a replay; nothing to say. */
		if (!echoes_us)
			r->stats.replayed++;
		else if (limit_ok(r, UK_ROOM_KIND_RESPONSE, in.session, now_ns, UINT32_MAX))
			answer(r, from, in.session, now_ns);
		return 0;
	case UK_ROOM_KIND_RESPONSE:
		/* A response that does not echo our current session, or one
		 * seen before, is a replay. */
		if (echoes_us && !uk_replay_known(&r->win, in.session)) {
			r->stats.verified++;
			uk_replay_start(&r->win, in.session, in.seq, in.time_ms, now_ns);
		} else if (!echoes_us || uk_replay_check_at(&r->win, in.session, in.seq, in.time_ms,
							    now_ns) != UK_REPLAY_FRESH) {
			r->stats.replayed++;
		}
		return 0;
	case UK_ROOM_KIND_DATA:
		break;
	case UK_ROOM_KIND_NOTICE:
		r->stats.notices++;
		return 0;
	default:
		r->stats.malformed++;
		return 0;
	}
	if (!uk_replay_known(&r->win, in.session)) {
		r->stats.unverified++;
		if (limit_ok(r, UK_ROOM_KIND_CHALLENGE, in.session, now_ns, UINT32_MAX)) {
			r->stats.challenges++;
			send_ours(r, from, UK_ROOM_KIND_CHALLENGE, in.session, UK_ROOM_SESSION_LEN,
				  now_ns);
		}
		return 0;
	}
	switch (uk_replay_check_at(&r->win, in.session, in.seq, in.time_ms, now_ns)) {
	case UK_REPLAY_FRESH:
		break;
	case UK_REPLAY_STALE:
		r->stats.stale++;
		return 0;
	default:
		r->stats.replayed++;
		return 0;
	}
	r->stats.opened++;
	*payload = in.payload;
	*payload_len = in.payload_len;
	return 1;
}
