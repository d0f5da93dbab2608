/* hashpipe.c: SHA-256 on a worker thread fed through a ring of slots
 * (include/udpkit/hashpipe.h says why). The feeder fills the slot at
 * queued % SLOTS and hands it over by counting it queued under the
 * mutex; the worker hashes slots in order and counts them hashed. A slot
 * is written only while queued - hashed < SLOTS, i.e. when the worker is
 * done with it. The hash state belongs to the worker while a slot is
 * queued and not hashed, to the feeder otherwise. */
#include "udpkit/hashpipe.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 4u
#define SLOT_BYTES ((size_t)256 << 10)

struct uk_hashpipe {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work;	 /* the worker waits: a slot queued, or quit */
	pthread_cond_t done;	 /* the feeder waits: a slot hashed */
	unsigned queued, hashed; /* slots handed over and hashed (they wrap) */
	bool quit;
	size_t len[SLOTS];
	unsigned char *slot[SLOTS];
	/* The feeder's alone. */
	size_t fill;   /* bytes in the slot being filled */
	bool threaded; /* this hash has handed slots to the worker */
	struct uk_sha256 sha;
};

static void *worker(void *arg)
{
	struct uk_hashpipe *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		unsigned i;
		while (!p->quit && p->hashed == p->queued)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->quit)
			break;
		i = p->hashed % SLOTS;
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
	wait_hashed(p, 0);
	p->fill = 0;
	p->threaded = false;
	return uk_sha256_init(&p->sha);
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

void *uk_hashpipe_room(struct uk_hashpipe *p, size_t *cap)
{
	if (p->fill == 0)
		wait_hashed(p, SLOTS - 1);
	*cap = SLOT_BYTES - p->fill;
	return p->slot[p->queued % SLOTS] + p->fill;
}

void uk_hashpipe_commit(struct uk_hashpipe *p, size_t n)
{
	p->fill += n;
	if (p->fill == SLOT_BYTES)
		push(p);
}

int uk_hashpipe_end(struct uk_hashpipe *p, uint8_t out[UK_SHA256_BYTES])
{
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
