/* hashkey.h: the one hash for tables indexed by what the network chooses
 * (addresses, ports, packet numbers): SipHash-2-4 (libsodium's
 * crypto_shorthash) under a key drawn at random once per process. A
 * sender who knows the code still cannot pick inputs that land in one
 * bucket, so a chained or set-associative table keeps its O(1) cost under
 * attack (hash flooding, cf. CVE-2011-4885). Used by dedup, guard,
 * responders and the chat's reply budget, through uk_addr_hash(). */
#ifndef UDPKIT_HASHKEY_H
#define UDPKIT_HASHKEY_H

#include <stddef.h>
#include <stdint.h>

#define UK_HASHKEY_BYTES 16

/* The keyed hash of n bytes. Thread-safe; the key is made on first use. */
uint64_t uk_hash(const void *p, size_t n);

/* The keyed hash of two 64-bit values (e.g. a source and a packet number). */
uint64_t uk_hash2(uint64_t a, uint64_t b);

/* Replaces the process key (tests and fuzzers that want reproducible
 * buckets). Not thread-safe: call before any table is used. */
void uk_hashkey_set(const unsigned char key[UK_HASHKEY_BYTES]);

/* n random bytes from the kernel's CSPRNG (libsodium's randombytes_buf,
 * getrandom(2) underneath). Never fails once libsodium is initialised;
 * the first call initialises it. */
void uk_random_bytes(void *p, size_t n);

#endif
