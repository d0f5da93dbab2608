/* sealstream.h: sealing and opening a byte stream in authenticated chunks,
 * for file transfers inside a private room (docs/rooms.md, "Files"). One
 * TCP connection carries:
 *
 *   client -> server  the request frame: the GETFILEDATA/GETDIRFILES header
 *                     sealed (XChaCha20-Poly1305, random nonce) under the
 *                     room's file key, with a fresh 32-byte random value rc;
 *   server -> client  rs (32 random bytes), a secretstream header (24), then
 *                     chunks: a 4-byte big-endian length and that many bytes
 *                     of crypto_secretstream_xchacha20poly1305 (at most
 *                     UK_SS_CHUNK bytes of data each, the last tagged FINAL);
 *   client -> server  the proof (32 bytes) that it opened the whole stream.
 *
 * The stream key is BLAKE2b keyed with the file key over rc, rs and the
 * request: each connection has its own key, and a stream made for one
 * request does not open as the answer to another. Pure functions of their
 * inputs and the random values libsodium draws: no sockets, no clock. All
 * cryptography is libsodium's. */
#ifndef UDPKIT_SEALSTREAM_H
#define UDPKIT_SEALSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UK_SS_KEY_LEN 32
#define UK_SS_RANDOM_LEN 32
#define UK_SS_MAGIC_LEN 4
#define UK_SS_NONCE_LEN 24 /* crypto_aead_xchacha20poly1305_ietf_NPUBBYTES */
#define UK_SS_MAC_LEN 16   /* crypto_aead_xchacha20poly1305_ietf_ABYTES */
/* Request frame: magic, 2-byte length of what follows the nonce, nonce,
 * sealed (rc || request). */
#define UK_SS_REQ_CLEAR (UK_SS_MAGIC_LEN + 2 + UK_SS_NONCE_LEN)
#define UK_SS_REQ_MAX 1024 /* longest request carried (UK_FILEREQ_MAX) */
#define UK_SS_REQ_FRAME_MAX (UK_SS_REQ_CLEAR + UK_SS_RANDOM_LEN + UK_SS_REQ_MAX + UK_SS_MAC_LEN)
/* The server's first bytes: rs and the secretstream header. */
#define UK_SS_HEADER_LEN 24 /* crypto_secretstream_xchacha20poly1305_HEADERBYTES */
#define UK_SS_START_LEN (UK_SS_RANDOM_LEN + UK_SS_HEADER_LEN)
/* Chunks: data bytes at most, and what sealing adds to each (length,
 * secretstream's tag byte and MAC). */
#define UK_SS_CHUNK 65536
#define UK_SS_ABYTES 17 /* crypto_secretstream_xchacha20poly1305_ABYTES */
#define UK_SS_CHUNK_OVERHEAD (4 + UK_SS_ABYTES)
#define UK_SS_FRAME_MAX (UK_SS_CHUNK + UK_SS_CHUNK_OVERHEAD)
#define UK_SS_PROOF_LEN 32

/* Seals a request of req_len (<= UK_SS_REQ_MAX) bytes into out; draws rc,
 * which the client keeps to open the answer. Returns the frame's length, or
 * -EMSGSIZE, -EIO (libsodium cannot start). */
long uk_ss_request_seal(const uint8_t key[UK_SS_KEY_LEN], const void *req, size_t req_len,
			uint8_t rc[UK_SS_RANDOM_LEN], uint8_t *out, size_t cap);

/* How long the request frame that starts buf is: > 0 its whole length, 0
 * when len bytes do not say yet, -EBADMSG when buf is no sealed request
 * (a plain IPMsg request, wrong magic, impossible length): cut off. */
long uk_ss_request_len(const uint8_t *buf, size_t len);

/* Opens a whole request frame: 0 with rc and the request in req (cap >=
 * UK_SS_REQ_MAX is always enough), -EBADMSG when it does not authenticate
 * under key (not a member, or altered). */
int uk_ss_request_open(const uint8_t key[UK_SS_KEY_LEN], const uint8_t *frame, size_t len,
		       uint8_t rc[UK_SS_RANDOM_LEN], uint8_t *req, size_t cap, size_t *req_len);

/* One direction of a stream, the sealing or the opening end. */
struct uk_ss {
	uint8_t state[52]; /* crypto_secretstream_xchacha20poly1305_state */
	uint8_t key[UK_SS_KEY_LEN];
	uint8_t file_key[UK_SS_KEY_LEN], rc[UK_SS_RANDOM_LEN];
	const uint8_t *req;
	size_t req_len;
	uint64_t bytes; /* data sealed, or opened */
	bool final;	/* the FINAL chunk was sealed, or opened */
	/* Opening: what has arrived of the start, a chunk's length, a chunk. */
	int phase;
	uint8_t start[UK_SS_START_LEN];
	uint8_t len_buf[4];
	size_t have;
	uint32_t clen;
	uint8_t *frame, *plain; /* UK_SS_CHUNK + UK_SS_ABYTES each, opening only */
};

/* Server: starts sealing the answer to a request opened with rc: draws rs
 * and writes the bytes to send first into start. Returns 0 or -EIO. */
int uk_ss_seal_init(struct uk_ss *s, const uint8_t key[UK_SS_KEY_LEN],
		    const uint8_t rc[UK_SS_RANDOM_LEN], const void *req, size_t req_len,
		    uint8_t start[UK_SS_START_LEN]);

/* Seals len (<= UK_SS_CHUNK) bytes as the next chunk, FINAL when final,
 * into out (cap >= len + UK_SS_CHUNK_OVERHEAD). Returns the bytes to send,
 * -EMSGSIZE, or -EINVAL after the FINAL chunk. */
long uk_ss_seal_chunk(struct uk_ss *s, const void *in, size_t len, bool final, uint8_t *out,
		      size_t cap);

/* Client: prepares to open the answer to the request it sealed with rc
 * (req must stay valid until the start has arrived). 0, -ENOMEM, -EIO. */
int uk_ss_open_init(struct uk_ss *s, const uint8_t key[UK_SS_KEY_LEN],
		    const uint8_t rc[UK_SS_RANDOM_LEN], const void *req, size_t req_len);

/* Consumes bytes as they come off the socket, in any pieces: *used bytes of
 * in are taken; returns the length of the data that a chunk opened to
 * (*plain points to it, valid until the next call), 0 when it needs more
 * input, or -EBADMSG when the stream is altered, spliced, reordered, made
 * for another key or request, or goes on after FINAL. Call again until all
 * of in is used. At the end of the connection, the stream is whole only if
 * s->final (else it was truncated). */
long uk_ss_open_feed(struct uk_ss *s, const uint8_t *in, size_t len, size_t *used,
		     const uint8_t **plain);

/* The proof that the whole stream opened: a MAC with the stream key over
 * the byte count. The client sends it after FINAL; the server counts the
 * transfer as fetched only when it matches (uk_ss_proof_check): a replayed
 * request never gets that far, since its stream key is unknown to the
 * replayer. */
void uk_ss_proof(const struct uk_ss *s, uint8_t out[UK_SS_PROOF_LEN]);
bool uk_ss_proof_check(const struct uk_ss *s, const uint8_t proof[UK_SS_PROOF_LEN]);

/* Wipes the keys, frees the buffers; safe on a zeroed or freed struct. */
void uk_ss_free(struct uk_ss *s);

#endif
