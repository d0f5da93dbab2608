/* Unit tests for lib/hashcache.c: a hit returns the sum put; a change of
 * size, mtime or ctime is a miss and drops the entry; a real file written
 * to after its hash is a miss; a hash begun too soon after the file's
 * last change is not kept (racy); the least recently used entry goes
 * when the cache is full, and an inode's new key replaces its old one. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "udpkit/hashcache.h"

#define SEC 1000000000ll
#define LATER ((uint64_t)1000 * SEC) /* a hash begun well after the keys' times */

static struct uk_hashcache_key key(uint64_t ino)
{
	return (struct uk_hashcache_key){.dev = 8,
					 .ino = ino,
					 .size = 4096,
					 .mtime_ns = 100 * SEC + 7,
					 .ctime_ns = 200 * SEC + 9};
}

static void sum_of(unsigned v, uint8_t out[UK_SHA256_BYTES])
{
	memset(out, 0, UK_SHA256_BYTES);
	memcpy(out, &v, sizeof(v));
}

static struct uk_hashcache *new_cache(void)
{
	struct uk_hashcache *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	return c;
}

static void test_hit_and_miss(void **state)
{
	struct uk_hashcache *c = new_cache();
	struct uk_hashcache_key k = key(1);
	uint8_t s[UK_SHA256_BYTES], got[UK_SHA256_BYTES];
	(void)state;

	assert_int_equal(uk_hashcache_get(c, &k, got), -ENOENT);
	sum_of(1, s);
	assert_int_equal(uk_hashcache_put(c, &k, s, LATER), 0);
	assert_int_equal(uk_hashcache_get(c, &k, got), 0);
	assert_memory_equal(got, s, sizeof(s));
	assert_int_equal((int)c->hits, 1);
	assert_int_equal((int)c->misses, 1);
	free(c);
}

/* Each field of the key alone makes a miss, and the stale entry is gone:
 * going back to the old key is a miss too. */
static void test_each_field_changed(void **state)
{
	uint8_t s[UK_SHA256_BYTES], got[UK_SHA256_BYTES];
	(void)state;

	sum_of(2, s);
	for (int field = 0; field < 5; field++) {
		struct uk_hashcache *c = new_cache();
		struct uk_hashcache_key k = key(1), k2 = k;
		assert_int_equal(uk_hashcache_put(c, &k, s, LATER), 0);
		switch (field) {
		case 0:
			k2.size++;
			break;
		case 1:
			k2.mtime_ns++;
			break;
		case 2:
			k2.ctime_ns++;
			break;
		case 3:
			k2.ino++;
			break;
		default:
			k2.dev++;
			break;
		}
		assert_int_equal(uk_hashcache_get(c, &k2, got), -ENOENT);
		if (field < 3) /* same inode, other content: dropped */
			assert_int_equal(uk_hashcache_get(c, &k, got), -ENOENT);
		else /* another file: the first one stays */
			assert_int_equal(uk_hashcache_get(c, &k, got), 0);
		free(c);
	}
}

/* A real file: hashed (its key taken before), then one byte rewritten
 * with the size kept, as in the integration test of a file changed
 * between offer and fetch: its new key is a miss. */
static void test_real_file_changed(void **state)
{
	char path[] = "/tmp/udpkit-hashcache-XXXXXX";
	struct uk_hashcache *c = new_cache();
	struct uk_hashcache_key before, after;
	struct stat st;
	uint8_t s[UK_SHA256_BYTES], got[UK_SHA256_BYTES];
	struct timespec old[2] = {{.tv_sec = 1500000000}, {.tv_sec = 1500000000}};
	int fd = mkstemp(path);
	(void)state;

	assert_true(fd >= 0);
	assert_int_equal((int)write(fd, "hello", 5), 5);
	assert_int_equal(futimens(fd, old), 0);
	assert_int_equal(fstat(fd, &st), 0);
	uk_hashcache_key_of(&st, &before);
	assert_int_equal((int)before.size, 5);
	assert_true(before.mtime_ns == 1500000000ll * SEC);
	assert_int_equal(uk_sha256("hello", 5, s), 0);
	/* Hashed "later" than its ctime (now) by more than the racy window. */
	assert_int_equal(
	    uk_hashcache_put(c, &before, s, (uint64_t)before.ctime_ns + UK_HASHCACHE_RACY_NS + 1),
	    0);
	assert_int_equal(fstat(fd, &st), 0);
	uk_hashcache_key_of(&st, &after);
	assert_int_equal(uk_hashcache_get(c, &after, got), 0);
	assert_memory_equal(got, s, sizeof(s));
	/* Same size, same mtime put back: only the ctime tells. */
	assert_int_equal((int)pwrite(fd, "j", 1, 0), 1);
	assert_int_equal(futimens(fd, old), 0);
	assert_int_equal(fstat(fd, &st), 0);
	uk_hashcache_key_of(&st, &after);
	assert_int_equal((int)after.size, 5);
	assert_true(after.mtime_ns == before.mtime_ns);
	if (after.ctime_ns == before.ctime_ns)
		skip(); /* the file system's clock did not tick: cannot tell */
	assert_int_equal(uk_hashcache_get(c, &after, got), -ENOENT);
	close(fd);
	unlink(path);
	free(c);
}

static void test_racy_not_kept(void **state)
{
	struct uk_hashcache *c = new_cache();
	struct uk_hashcache_key k = key(1);
	uint8_t s[UK_SHA256_BYTES], got[UK_SHA256_BYTES];
	uint64_t t = (uint64_t)k.ctime_ns + UK_HASHCACHE_RACY_NS;
	(void)state;

	sum_of(3, s);
	/* Begun within the window after the ctime: not kept. */
	assert_int_equal(uk_hashcache_put(c, &k, s, t), -EAGAIN);
	assert_int_equal(uk_hashcache_get(c, &k, got), -ENOENT);
	/* The same with a recent mtime (a file dated in the future). */
	k.mtime_ns = 500 * SEC;
	assert_int_equal(uk_hashcache_put(c, &k, s, t + 1), -EAGAIN);
	k.mtime_ns = 100 * SEC;
	assert_int_equal(uk_hashcache_put(c, &k, s, t + 1), 0);
	assert_int_equal(uk_hashcache_get(c, &k, got), 0);
	/* A racy put for the inode drops what it had. */
	k.ctime_ns = (int64_t)t;
	assert_int_equal(uk_hashcache_put(c, &k, s, t), -EAGAIN);
	k.ctime_ns = 200 * SEC + 9;
	assert_int_equal(uk_hashcache_get(c, &k, got), -ENOENT);
	free(c);
}

/* Full: the entry used least recently goes, a recently read one stays;
 * a new key for a known inode takes its place instead of a second slot. */
static void test_lru_and_replace(void **state)
{
	struct uk_hashcache *c = new_cache();
	uint8_t s[UK_SHA256_BYTES], got[UK_SHA256_BYTES];
	struct uk_hashcache_key k;
	(void)state;

	for (unsigned i = 0; i < UK_HASHCACHE_ENTRIES; i++) {
		k = key(1000 + i);
		sum_of(i, s);
		assert_int_equal(uk_hashcache_put(c, &k, s, LATER), 0);
	}
	k = key(1000); /* the oldest, read again: now the newest */
	assert_int_equal(uk_hashcache_get(c, &k, got), 0);
	k = key(5000);
	sum_of(5000, s);
	assert_int_equal(uk_hashcache_put(c, &k, s, LATER), 0);
	k = key(1001); /* the least recently used went */
	assert_int_equal(uk_hashcache_get(c, &k, got), -ENOENT);
	for (unsigned i = 0; i < UK_HASHCACHE_ENTRIES; i++) {
		if (i == 1)
			continue;
		k = key(1000 + i);
		sum_of(i, s);
		assert_int_equal(uk_hashcache_get(c, &k, got), 0);
		assert_memory_equal(got, s, sizeof(s));
	}
	k = key(5000);
	assert_int_equal(uk_hashcache_get(c, &k, got), 0);
	/* Inode 1002 changed and hashed again: one entry, the new sum. */
	k = key(1002);
	k.size = 1;
	sum_of(77, s);
	assert_int_equal(uk_hashcache_put(c, &k, s, LATER), 0);
	assert_int_equal(uk_hashcache_get(c, &k, got), 0);
	assert_memory_equal(got, s, sizeof(s));
	{
		int n = 0;
		for (unsigned i = 0; i < UK_HASHCACHE_ENTRIES; i++)
			n += c->e[i].used && c->e[i].key.ino == 1002;
		assert_int_equal(n, 1);
	}
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hit_and_miss),      cmocka_unit_test(test_each_field_changed),
	    cmocka_unit_test(test_real_file_changed), cmocka_unit_test(test_racy_not_kept),
	    cmocka_unit_test(test_lru_and_replace),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
