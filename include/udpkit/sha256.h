/* sha256.h: SHA-256 (FIPS 180-4) of a stream, for the chat's file
 * transfers. OpenSSL's libcrypto does the work behind this one wrapper:
 * its SHA-NI/AVX2 code hashes ~1.3 GB/s on this machine where libsodium's
 * portable code does ~0.12 GB/s, which made hashing, not the network, the
 * limit of a transfer (bench/README.md). Nothing else sees OpenSSL. */
#ifndef UDPKIT_SHA256_H
#define UDPKIT_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define UK_SHA256_BYTES 32

/* A hash in progress. Zeroed ({0} or memset) it holds nothing; the owner
 * calls uk_sha256_free() when it is done with it (also after a final:
 * the context is kept for the next init). Not shared between threads. */
struct uk_sha256 {
	void *ctx; /* libcrypto's EVP_MD_CTX */
	int err;   /* sticky: a failed init, reported by final */
};

/* Starts a hash, reusing the context of an earlier one. Returns 0, or
 * -ENOMEM (the error is kept and returned again by uk_sha256_final, so
 * a caller may check either). */
int uk_sha256_init(struct uk_sha256 *s);

/* Adds n bytes. Does nothing after a failed init. */
void uk_sha256_update(struct uk_sha256 *s, const void *p, size_t n);

/* Writes the digest of the bytes added since the init. Returns 0, or the
 * init's error / -EIO (out is then zeroed). */
int uk_sha256_final(struct uk_sha256 *s, uint8_t out[UK_SHA256_BYTES]);

/* Frees the context; s is zeroed again. Safe on a zeroed s, and twice. */
void uk_sha256_free(struct uk_sha256 *s);

/* The digest of n bytes in one call. Returns 0 or -EIO. */
int uk_sha256(const void *p, size_t n, uint8_t out[UK_SHA256_BYTES]);

#endif
