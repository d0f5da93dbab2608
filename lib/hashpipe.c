/* hashpipe.c: SHA-256 on a worker thread (include/udpkit/hashpipe.h says
 * why), in one of two modes.
 *
 * Slots: the feeder fills the slot at queued % SLOTS and hands it over by
 * counting it queued under the mutex; the worker hashes slots in order and
 * counts them hashed. A slot is written only while queued - hashed <
 * SLOTS, i.e. when the worker is done with it.
 *
 * File: the feeder writes the bytes into a file itself and says how far
 * (written); the worker maps what is new of the file, read-only, a window
 * at a time, and hashes it from the page cache: no copy at all. It works
 * on its own duplicate of the descriptor, so the caller's close cannot
 * hand the number to another file under it.
 *
 * Either way the hash state belongs to the worker while it has work, to
 * the feeder otherwise. */
#include "udpkit/hashpipe.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SLOTS 4u
#define SLOT_BYTES ((size_t)256 << 10)
/* File mode: the worker wakes for at least BATCH new bytes (or the end),
 * and maps at most WINDOW at a time: the mapped pages count in the
 * process's resident memory while they are hashed. */
#define BATCH ((uint64_t)1 << 20)
#define WINDOW ((uint64_t)2 << 20)

struct uk_hashpipe {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work;	 /* the worker waits: a slot queued, or quit */
	pthread_cond_t done;	 /* the feeder waits: a slot hashed */
	unsigned queued, hashed; /* slots handed over and hashed (they wrap) */
	bool quit;
	size_t len[SLOTS];
	unsigned char *slot[SLOTS];
	/* File mode (fd >= 0): bytes of fd written by the feeder, and hashed. */
	int fd;
	uint64_t written, fhashed;
	bool finishing; /* the feeder waits for the end: hash what is left */
	int ferr;	/* the first mapping that failed (-errno) */
	/* The feeder's alone. */
	size_t fill;   /* bytes in the slot being filled */
	bool threaded; /* this hash has handed slots to the worker */
	struct uk_sha256 sha;
};

/* Bytes [from, to) of fd into sha, through a read-only mapping of the
 * pages that hold them. 0 or -errno. (A file cut short under the mapping
 * by another process would raise SIGBUS: the download's partial file is
 * ours, created by the chat in its own download directory.) */
static int hash_file_range(struct uk_sha256 *sha, int fd, uint64_t from, uint64_t to)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t base = from & ~(page - 1);
	size_t len = (size_t)(to - base);
	unsigned char *m = mmap(NULL, len, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, (off_t)base);

	if (m == MAP_FAILED)
		return -errno;
	uk_sha256_update(sha, m + (from - base), (size_t)(to - from));
	munmap(m, len);
	return 0;
}

/* Whether the worker has something to do (under mu). */
static bool has_work(const struct uk_hashpipe *p)
{
	if (p->fd >= 0)
		return p->written - p->fhashed >= BATCH ||
		       (p->finishing && p->written > p->fhashed);
	return p->hashed != p->queued;
}

static void *worker(void *arg)
{
	struct uk_hashpipe *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->quit && !has_work(p))
			pthread_cond_wait(&p->work, &p->mu);
		if (p->quit)
			break;
		if (p->fd >= 0) {
			uint64_t from = p->fhashed;
			uint64_t to = p->written - from > WINDOW ? from + WINDOW : p->written;
			int fd = p->fd, rc = p->ferr;
			pthread_mutex_unlock(&p->mu);
			if (!rc) /* after a failure the rest is only counted */
				rc = hash_file_range(&p->sha, fd, from, to);
			pthread_mutex_lock(&p->mu);
			if (rc < 0)
				p->ferr = rc;
			p->fhashed = to;
			pthread_cond_signal(&p->done);
			continue;
		}
		unsigned i = p->hashed % SLOTS;
		pthread_mutex_unlock(&p->mu);
		uk_sha256_update(&p->sha, p->slot[i], p->len[i]);
		pthread_mutex_lock(&p->mu);
		p->hashed++;
		pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int uk_hashpipe_new(struct uk_hashpipe **out)
{
	struct uk_hashpipe *p = calloc(1, sizeof(*p));
	int rc = -ENOMEM;

	*out = NULL;
	if (!p)
		return -ENOMEM;
	/* One allocation; its pages are touched only as slots fill. */
	p->slot[0] = malloc(SLOTS * SLOT_BYTES);
	if (!p->slot[0])
		goto fail;
	for (unsigned i = 1; i < SLOTS; i++)
		p->slot[i] = p->slot[0] + i * SLOT_BYTES;
	p->fd = -1;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	rc = -pthread_create(&p->thread, NULL, worker, p);
	if (rc < 0) {
		pthread_cond_destroy(&p->done);
		pthread_cond_destroy(&p->work);
		pthread_mutex_destroy(&p->mu);
		goto fail;
	}
	*out = p;
	return 0;
fail:
	free(p->slot[0]);
	free(p);
	return rc;
}

void uk_hashpipe_free(struct uk_hashpipe *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->quit = true;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	if (p->fd >= 0)
		close(p->fd);
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->mu);
	uk_sha256_free(&p->sha);
	free(p->slot[0]);
	free(p);
}

/* Waits until the worker has hashed all but `behind` of the queued slots. */
static void wait_hashed(struct uk_hashpipe *p, unsigned behind)
{
	pthread_mutex_lock(&p->mu);
	while (p->queued - p->hashed > behind)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

/* File mode: has the worker hash every byte written, then leaves file
 * mode (its descriptor closed). Nothing to do in slot mode. */
static void file_finish(struct uk_hashpipe *p)
{
	pthread_mutex_lock(&p->mu);
	if (p->fd >= 0) {
		p->finishing = true;
		pthread_cond_signal(&p->work);
		while (p->fhashed < p->written)
			pthread_cond_wait(&p->done, &p->mu);
		close(p->fd);
		p->fd = -1;
	}
	pthread_mutex_unlock(&p->mu);
}

/* Hands the slot being filled to the worker. */
static void push(struct uk_hashpipe *p)
{
	pthread_mutex_lock(&p->mu);
	p->len[p->queued % SLOTS] = p->fill;
	p->queued++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
	p->fill = 0;
	p->threaded = true;
}

int uk_hashpipe_begin(struct uk_hashpipe *p)
{
	file_finish(p);
	wait_hashed(p, 0);
	p->fill = 0;
	p->threaded = false;
	pthread_mutex_lock(&p->mu);
	p->ferr = 0;
	pthread_mutex_unlock(&p->mu);
	return uk_sha256_init(&p->sha);
}

int uk_hashpipe_begin_file(struct uk_hashpipe *p, int fd)
{
	int rc = uk_hashpipe_begin(p);
	int own;

	if (rc < 0)
		return rc;
	own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (own < 0)
		return -errno;
	pthread_mutex_lock(&p->mu);
	p->written = p->fhashed = 0;
	p->finishing = false;
	p->fd = own;
	pthread_mutex_unlock(&p->mu);
	return 0;
}

void uk_hashpipe_written(struct uk_hashpipe *p, uint64_t written)
{
	pthread_mutex_lock(&p->mu);
	p->written = written;
	if (written - p->fhashed >= BATCH)
		pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
}

void uk_hashpipe_feed(struct uk_hashpipe *p, const void *buf, size_t n)
{
	const unsigned char *b = buf;

	while (n) {
		size_t k = SLOT_BYTES - p->fill < n ? SLOT_BYTES - p->fill : n;
		/* A new slot: the worker must be done with it. */
		if (p->fill == 0)
			wait_hashed(p, SLOTS - 1);
		memcpy(p->slot[p->queued % SLOTS] + p->fill, b, k);
		p->fill += k;
		b += k;
		n -= k;
		if (p->fill == SLOT_BYTES)
			push(p);
	}
}

int uk_hashpipe_end(struct uk_hashpipe *p, uint8_t out[UK_SHA256_BYTES])
{
	if (p->fd >= 0) {
		int rc;
		file_finish(p);
		rc = uk_sha256_final(&p->sha, out);
		if (p->ferr < 0) {
			memset(out, 0, UK_SHA256_BYTES);
			rc = p->ferr;
		}
		return rc;
	}
	if (p->threaded) {
		if (p->fill)
			push(p);
		wait_hashed(p, 0);
	} else if (p->fill) {
		/* Under one slot in all: not worth waking the worker. */
		uk_sha256_update(&p->sha, p->slot[p->queued % SLOTS], p->fill);
	}
	p->fill = 0;
	p->threaded = false;
	return uk_sha256_final(&p->sha, out);
}
