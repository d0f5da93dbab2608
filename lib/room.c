/* room.c: sealing and opening a private room's datagrams with libsodium.
 * Key schedule: master = Argon2id(passphrase, salt = BLAKE2b-128("udpkit
 * room salt v1" || name)); seal key = KDF(master, 1, "ukroom  "). The tag in
 * clear is BLAKE2b-64("udpkit room tag v1" || name): it says which room a
 * datagram is for, nothing about the passphrase. The additional data of the
 * AEAD is everything in clear (magic and tag), so neither can be swapped. */
#include <errno.h>
#include <string.h>
#include <sodium.h>

#include "udpkit/room.h"
#include "udpkit/wire.h"

/* UK_ROOM_MAGIC as bytes: the datagram carries no NUL after it. */
static const unsigned char room_magic[UK_ROOM_MAGIC_LEN] = {'U', 'K', 'R', 0x01};

#define SEAL_KEY_ID 1
#define KDF_CONTEXT "ukroom  " /* crypto_kdf_CONTEXTBYTES = 8 */

struct uk_room_key {
	uint8_t seal[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
	uint8_t tag[UK_ROOM_TAG_LEN];
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
