/* hashcache.h: the SHA-256 of files already hashed, by what identifies a
 * file's content on Linux without reading it: (device, inode, size, mtime
 * and ctime in nanoseconds). A chat that offers the same file again, or
 * one file to several peers (/all /file), hashes it once. A write, a
 * truncate, a chmod or a rename onto the inode changes the ctime, so a
 * file changed in any of those is a miss and is hashed again. Bounded:
 * UK_HASHCACHE_ENTRIES entries, the least recently used one replaced.
 * Pure: time comes in as an argument, nothing is read from the disk. One
 * thread. */
#ifndef UDPKIT_HASHCACHE_H
#define UDPKIT_HASHCACHE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "udpkit/sha256.h"

#define UK_HASHCACHE_ENTRIES 256

/* A hash is not kept when the file's mtime or ctime is this close to (or
 * after) the moment its hashing began: a file's timestamps come from a
 * coarse clock (a jiffy on Linux, whole seconds on some file systems), so
 * a second write within the same tick as the last one would leave the key
 * unchanged while the content changed (git calls this "racy"). */
#define UK_HASHCACHE_RACY_NS (2 * 1000000000ull)

struct uk_hashcache_key {
	uint64_t dev, ino, size;
	int64_t mtime_ns, ctime_ns;
};

struct uk_hashcache_entry {
	bool used;
	struct uk_hashcache_key key;
	uint8_t sum[UK_SHA256_BYTES];
	uint64_t last_use; /* the cache's use counter at its last hit or put */
};

/* Zeroed ({0}, calloc) it is empty. */
struct uk_hashcache {
	struct uk_hashcache_entry e[UK_HASHCACHE_ENTRIES];
	uint64_t uses;
	uint64_t hits, misses; /* counted by uk_hashcache_get */
};

/* The key of a file from its fstat(). */
void uk_hashcache_key_of(const struct stat *st, struct uk_hashcache_key *k);

/* Whether two keys name the same content (every field equal). */
bool uk_hashcache_key_equal(const struct uk_hashcache_key *a, const struct uk_hashcache_key *b);

/* Looks k up. Returns 0 and the sum in out, or -ENOENT: never hashed, or
 * hashed when its size or times were different (that stale entry is
 * dropped). */
int uk_hashcache_get(struct uk_hashcache *c, const struct uk_hashcache_key *k,
		     uint8_t out[UK_SHA256_BYTES]);

/* Keeps sum for k, the file's key read before its hashing began at
 * hashed_at_ns (CLOCK_REALTIME, ns since the epoch; the caller checks
 * that the key was still the same after the hash). Replaces an entry of
 * the same device and inode, else a free one, else the least recently
 * used. Returns 0, or -EAGAIN when the file's mtime or ctime was within
 * UK_HASHCACHE_RACY_NS of hashed_at_ns (not kept: see above). */
int uk_hashcache_put(struct uk_hashcache *c, const struct uk_hashcache_key *k,
		     const uint8_t sum[UK_SHA256_BYTES], uint64_t hashed_at_ns);

#endif
