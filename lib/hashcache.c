/* hashcache.c: SHA-256 sums of files by (device, inode, size, mtime,
 * ctime), at most UK_HASHCACHE_ENTRIES, least recently used replaced
 * (include/udpkit/hashcache.h says why). 256 entries are scanned in a
 * few hundred nanoseconds, far below the hash of one file they save, so
 * a plain array with a use counter is enough. */
#include "udpkit/hashcache.h"

#include <errno.h>
#include <string.h>

void uk_hashcache_key_of(const struct stat *st, struct uk_hashcache_key *k)
{
	memset(k, 0, sizeof(*k));
	k->dev = (uint64_t)st->st_dev;
	k->ino = (uint64_t)st->st_ino;
	k->size = (uint64_t)st->st_size;
	k->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	k->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

bool uk_hashcache_key_equal(const struct uk_hashcache_key *a, const struct uk_hashcache_key *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

static struct uk_hashcache_entry *find_inode(struct uk_hashcache *c,
					     const struct uk_hashcache_key *k)
{
	for (size_t i = 0; i < UK_HASHCACHE_ENTRIES; i++)
		if (c->e[i].used && c->e[i].key.dev == k->dev && c->e[i].key.ino == k->ino)
			return &c->e[i];
	return NULL;
}

int uk_hashcache_get(struct uk_hashcache *c, const struct uk_hashcache_key *k,
		     uint8_t out[UK_SHA256_BYTES])
{
	struct uk_hashcache_entry *e = find_inode(c, k);

	if (e && !uk_hashcache_key_equal(&e->key, k))
		e->used = false; /* the file changed since: never right again */
	if (!e || !e->used) {
		c->misses++;
		return -ENOENT;
	}
	e->last_use = ++c->uses;
	memcpy(out, e->sum, UK_SHA256_BYTES);
	c->hits++;
	return 0;
}

/* Whether t (ns since the epoch, maybe negative) is within the racy
 * window before hashed_at_ns, or after it. */
static bool racy(int64_t t, uint64_t hashed_at_ns)
{
	return t >= 0 && (uint64_t)t + UK_HASHCACHE_RACY_NS >= hashed_at_ns;
}

int uk_hashcache_put(struct uk_hashcache *c, const struct uk_hashcache_key *k,
		     const uint8_t sum[UK_SHA256_BYTES], uint64_t hashed_at_ns)
{
	struct uk_hashcache_entry *e = find_inode(c, k);

	if (racy(k->mtime_ns, hashed_at_ns) || racy(k->ctime_ns, hashed_at_ns)) {
		if (e)
			e->used = false; /* whatever it held is older than the file */
		return -EAGAIN;
	}
	for (size_t i = 0; i < UK_HASHCACHE_ENTRIES && !e; i++)
		if (!c->e[i].used)
			e = &c->e[i];
	if (!e) {
		e = &c->e[0];
		for (size_t i = 1; i < UK_HASHCACHE_ENTRIES; i++)
			if (c->e[i].last_use < e->last_use)
				e = &c->e[i];
	}
	e->used = true;
	e->key = *k;
	memcpy(e->sum, sum, UK_SHA256_BYTES);
	e->last_use = ++c->uses;
	return 0;
}
