/* sealstream.c: a room's file transfer sealed on the wire with libsodium.
 * The request is an XChaCha20-Poly1305 box like a room datagram (random
 * nonce, the clear magic and length as additional data); the answer is a
 * crypto_secretstream_xchacha20poly1305 stream, whose chunks carry their
 * own counter (reordering, dropping or repeating a chunk fails) and whose
 * FINAL tag marks the end (a cut stream is seen as cut). Each chunk's clear
 * length is its additional data, so it cannot be altered either. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "udpkit/sealstream.h"

_Static_assert(sizeof(crypto_secretstream_xchacha20poly1305_state) ==
		   sizeof(((struct uk_ss *)0)->state),
	       "uk_ss.state holds libsodium's secretstream state");
_Static_assert(UK_SS_HEADER_LEN == crypto_secretstream_xchacha20poly1305_HEADERBYTES, "header");
_Static_assert(UK_SS_ABYTES == crypto_secretstream_xchacha20poly1305_ABYTES, "abytes");
_Static_assert(UK_SS_NONCE_LEN == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "nonce");
_Static_assert(UK_SS_MAC_LEN == crypto_aead_xchacha20poly1305_ietf_ABYTES, "mac");

static const uint8_t req_magic[UK_SS_MAGIC_LEN] = {'U', 'K', 'F', 0x01};

enum { PHASE_START, PHASE_LEN, PHASE_CHUNK, PHASE_END };

static crypto_secretstream_xchacha20poly1305_state *ST(struct uk_ss *s)
{
	return (crypto_secretstream_xchacha20poly1305_state *)(void *)s->state;
}

long uk_ss_request_seal(const uint8_t key[UK_SS_KEY_LEN], const void *req, size_t req_len,
			uint8_t rc[UK_SS_RANDOM_LEN], uint8_t *out, size_t cap)
{
	size_t body = UK_SS_RANDOM_LEN + req_len + UK_SS_MAC_LEN;
	uint8_t *nonce = out + UK_SS_MAGIC_LEN + 2, *plain = nonce + UK_SS_NONCE_LEN;
	unsigned long long clen = 0;

	if (req_len > UK_SS_REQ_MAX || UK_SS_REQ_CLEAR + body > cap)
		return -EMSGSIZE;
	if (sodium_init() < 0)
		return -EIO;
	memcpy(out, req_magic, UK_SS_MAGIC_LEN);
	out[4] = (uint8_t)(body >> 8);
	out[5] = (uint8_t)body;
	randombytes_buf(nonce, UK_SS_NONCE_LEN);
	randombytes_buf(rc, UK_SS_RANDOM_LEN);
	memcpy(plain, rc, UK_SS_RANDOM_LEN);
	if (req_len)
		memmove(plain + UK_SS_RANDOM_LEN, req, req_len);
	crypto_aead_xchacha20poly1305_ietf_encrypt(plain, &clen, plain, UK_SS_RANDOM_LEN + req_len,
						   out, UK_SS_MAGIC_LEN + 2, NULL, nonce, key);
	return (long)(UK_SS_REQ_CLEAR + clen);
}

long uk_ss_request_len(const uint8_t *buf, size_t len)
{
	size_t have = len < UK_SS_MAGIC_LEN ? len : UK_SS_MAGIC_LEN, body;
	/* A plain request ("1:...") is refused on its first byte. */
	if (memcmp(buf, req_magic, have) != 0)
		return -EBADMSG;
	if (len < UK_SS_MAGIC_LEN + 2)
		return 0;
	body = (size_t)buf[4] << 8 | buf[5];
	if (body < UK_SS_RANDOM_LEN + UK_SS_MAC_LEN ||
	    body > UK_SS_RANDOM_LEN + UK_SS_REQ_MAX + UK_SS_MAC_LEN)
		return -EBADMSG;
	return (long)(UK_SS_REQ_CLEAR + body);
}

int uk_ss_request_open(const uint8_t key[UK_SS_KEY_LEN], const uint8_t *frame, size_t len,
		       uint8_t rc[UK_SS_RANDOM_LEN], uint8_t *req, size_t cap, size_t *req_len)
{
	uint8_t plain[UK_SS_RANDOM_LEN + UK_SS_REQ_MAX];
	unsigned long long plen = 0;
	long want = uk_ss_request_len(frame, len);

	if (want <= 0 || (size_t)want != len)
		return -EBADMSG;
	if (sodium_init() < 0)
		return -EIO;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		plain, &plen, NULL, frame + UK_SS_REQ_CLEAR, len - UK_SS_REQ_CLEAR, frame,
		UK_SS_MAGIC_LEN + 2, frame + UK_SS_MAGIC_LEN + 2, key) != 0)
		return -EBADMSG;
	if (plen - UK_SS_RANDOM_LEN > cap) {
		sodium_memzero(plain, sizeof(plain));
		return -EBADMSG;
	}
	memcpy(rc, plain, UK_SS_RANDOM_LEN);
	*req_len = (size_t)plen - UK_SS_RANDOM_LEN;
	memcpy(req, plain + UK_SS_RANDOM_LEN, *req_len);
	sodium_memzero(plain, sizeof(plain));
	return 0;
}

/* stream key = BLAKE2b-256, keyed with the file key, over a label, rc, rs
 * and the request (with its length): fresh for each connection (rs is the
 * server's, rc the client's), and bound to the request it answers. */
static void stream_key(struct uk_ss *s, const uint8_t *rs)
{
	crypto_generichash_state h;
	uint8_t n[2] = {(uint8_t)(s->req_len >> 8), (uint8_t)s->req_len};
	static const char label[] = "udpkit file stream v1";

	crypto_generichash_init(&h, s->file_key, UK_SS_KEY_LEN, UK_SS_KEY_LEN);
	crypto_generichash_update(&h, (const uint8_t *)label, sizeof(label) - 1);
	crypto_generichash_update(&h, s->rc, UK_SS_RANDOM_LEN);
	crypto_generichash_update(&h, rs, UK_SS_RANDOM_LEN);
	crypto_generichash_update(&h, n, sizeof(n));
	crypto_generichash_update(&h, s->req, s->req_len);
	crypto_generichash_final(&h, s->key, UK_SS_KEY_LEN);
	sodium_memzero(&h, sizeof(h));
}

static int init_common(struct uk_ss *s, const uint8_t key[UK_SS_KEY_LEN],
		       const uint8_t rc[UK_SS_RANDOM_LEN], const void *req, size_t req_len)
{
	memset(s, 0, sizeof(*s));
	if (req_len > UK_SS_REQ_MAX)
		return -EMSGSIZE;
	if (sodium_init() < 0)
		return -EIO;
	memcpy(s->file_key, key, UK_SS_KEY_LEN);
	memcpy(s->rc, rc, UK_SS_RANDOM_LEN);
	s->req = req;
	s->req_len = req_len;
	return 0;
}

int uk_ss_seal_init(struct uk_ss *s, const uint8_t key[UK_SS_KEY_LEN],
		    const uint8_t rc[UK_SS_RANDOM_LEN], const void *req, size_t req_len,
		    uint8_t start[UK_SS_START_LEN])
{
	int rc_ = init_common(s, key, rc, req, req_len);
	if (rc_ < 0)
		return rc_;
	randombytes_buf(start, UK_SS_RANDOM_LEN);
	stream_key(s, start);
	crypto_secretstream_xchacha20poly1305_init_push(ST(s), start + UK_SS_RANDOM_LEN, s->key);
	s->req = NULL; /* not needed any more: the caller may reuse it */
	return 0;
}

long uk_ss_seal_chunk(struct uk_ss *s, const void *in, size_t len, bool final, uint8_t *out,
		      size_t cap)
{
	unsigned long long clen = 0;
	size_t c = len + UK_SS_ABYTES;

	if (s->final)
		return -EINVAL;
	if (len > UK_SS_CHUNK || cap < len + UK_SS_CHUNK_OVERHEAD)
		return -EMSGSIZE;
	out[0] = (uint8_t)(c >> 24);
	out[1] = (uint8_t)(c >> 16);
	out[2] = (uint8_t)(c >> 8);
	out[3] = (uint8_t)c;
	crypto_secretstream_xchacha20poly1305_push(
	    ST(s), out + 4, &clen, in, len, out, 4,
	    final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
		  : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
	s->bytes += len;
	s->final = final;
	return (long)(4 + clen);
}

int uk_ss_open_init(struct uk_ss *s, const uint8_t key[UK_SS_KEY_LEN],
		    const uint8_t rc[UK_SS_RANDOM_LEN], const void *req, size_t req_len)
{
	int rc_ = init_common(s, key, rc, req, req_len);
	if (rc_ < 0)
		return rc_;
	s->frame = malloc(UK_SS_CHUNK + UK_SS_ABYTES);
	s->plain = malloc(UK_SS_CHUNK + UK_SS_ABYTES);
	if (!s->frame || !s->plain) {
		uk_ss_free(s);
		return -ENOMEM;
	}
	s->phase = PHASE_START;
	return 0;
}

/* Copies what fits of in into dst (which wants need bytes, has *have). */
static size_t take(uint8_t *dst, size_t need, size_t *have, const uint8_t *in, size_t len)
{
	size_t n = need - *have < len ? need - *have : len;
	memcpy(dst + *have, in, n);
	*have += n;
	return n;
}

long uk_ss_open_feed(struct uk_ss *s, const uint8_t *in, size_t len, size_t *used,
		     const uint8_t **plain)
{
	unsigned long long mlen = 0;
	unsigned char tag = 0;

	*used = 0;
	*plain = s->plain;
	if (len == 0)
		return 0;
	switch (s->phase) {
	case PHASE_START:
		*used = take(s->start, UK_SS_START_LEN, &s->have, in, len);
		if (s->have < UK_SS_START_LEN)
			return 0;
		stream_key(s, s->start);
		s->req = NULL;
		if (crypto_secretstream_xchacha20poly1305_init_pull(
			ST(s), s->start + UK_SS_RANDOM_LEN, s->key) != 0)
			return -EBADMSG;
		s->phase = PHASE_LEN;
		s->have = 0;
		return 0;
	case PHASE_LEN:
		*used = take(s->len_buf, 4, &s->have, in, len);
		if (s->have < 4)
			return 0;
		s->clen = (uint32_t)s->len_buf[0] << 24 | (uint32_t)s->len_buf[1] << 16 |
			  (uint32_t)s->len_buf[2] << 8 | s->len_buf[3];
		if (s->clen < UK_SS_ABYTES || s->clen > UK_SS_CHUNK + UK_SS_ABYTES)
			return -EBADMSG;
		s->phase = PHASE_CHUNK;
		s->have = 0;
		return 0;
	case PHASE_CHUNK:
		*used = take(s->frame, s->clen, &s->have, in, len);
		if (s->have < s->clen)
			return 0;
		if (crypto_secretstream_xchacha20poly1305_pull(
			ST(s), s->plain, &mlen, &tag, s->frame, s->clen, s->len_buf, 4) != 0)
			return -EBADMSG;
		if (tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE &&
		    tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL)
			return -EBADMSG; /* we never seal PUSH or REKEY */
		s->bytes += mlen;
		s->final = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
		s->phase = s->final ? PHASE_END : PHASE_LEN;
		s->have = 0;
		return (long)mlen;
	default:
		return -EBADMSG; /* bytes after FINAL */
	}
}

static void proof(const struct uk_ss *s, uint8_t out[UK_SS_PROOF_LEN])
{
	crypto_generichash_state h;
	static const char label[] = "udpkit file fetched v1";
	uint8_t n[8];
	for (int i = 0; i < 8; i++)
		n[i] = (uint8_t)(s->bytes >> (56 - 8 * i));
	crypto_generichash_init(&h, s->key, UK_SS_KEY_LEN, UK_SS_PROOF_LEN);
	crypto_generichash_update(&h, (const uint8_t *)label, sizeof(label) - 1);
	crypto_generichash_update(&h, n, sizeof(n));
	crypto_generichash_final(&h, out, UK_SS_PROOF_LEN);
}

void uk_ss_proof(const struct uk_ss *s, uint8_t out[UK_SS_PROOF_LEN])
{
	proof(s, out);
}

bool uk_ss_proof_check(const struct uk_ss *s, const uint8_t p[UK_SS_PROOF_LEN])
{
	uint8_t want[UK_SS_PROOF_LEN];
	if (!s->final)
		return false;
	proof(s, want);
	return sodium_memcmp(want, p, UK_SS_PROOF_LEN) == 0;
}

void uk_ss_free(struct uk_ss *s)
{
	free(s->frame);
	if (s->plain) {
		sodium_memzero(s->plain, UK_SS_CHUNK + UK_SS_ABYTES);
		free(s->plain);
	}
	s->frame = s->plain = NULL;
	sodium_memzero(s->state, sizeof(s->state));
	sodium_memzero(s->key, sizeof(s->key));
	sodium_memzero(s->file_key, sizeof(s->file_key));
}
