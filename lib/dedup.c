/* dedup.c: a ring of recent (source, packet number) pairs in arrival
 * order with a chained hash index, so lookups are O(1) and eviction takes
 * the oldest entry. The source is a 64-bit keyed hash of the address: a
 * false "duplicate" needs a hash collision within the hold time, and the
 * sender cannot aim for one. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "udpkit/dedup.h"
#include "udpkit/hashkey.h"

int uk_dedup_init(struct uk_dedup *d, size_t capacity, uint64_t hold_ns)
{
	memset(d, 0, sizeof(*d));
	d->cap = capacity ? capacity : UK_DEDUP_DEFAULT_CAPACITY;
	if (d->cap > INT32_MAX / 2)
		return -ENOMEM;
	d->hold_ns = hold_ns ? hold_ns : UK_DEDUP_DEFAULT_HOLD_NS;
	d->nbuckets = 1;
	while (d->nbuckets < d->cap * 2)
		d->nbuckets *= 2;
	d->ring = calloc(d->cap, sizeof(*d->ring));
	d->buckets = malloc(d->nbuckets * sizeof(*d->buckets));
	if (!d->ring || !d->buckets) {
		uk_dedup_free(d);
		return -ENOMEM;
	}
	for (size_t i = 0; i < d->nbuckets; i++)
		d->buckets[i] = -1;
	return 0;
}

void uk_dedup_free(struct uk_dedup *d)
{
	free(d->ring);
	free(d->buckets);
	d->ring = NULL;
	d->buckets = NULL;
}

/* Keyed (lib/hashkey.c): the sender chooses its packet numbers, and with
 * an unkeyed mix it chose ones that all fell in one chain, making each
 * lookup walk the whole table (5 to 52 us per SENDMSG). */
static size_t bucket_of(const struct uk_dedup *d, uint64_t source, uint64_t packet_no)
{
	return (size_t)(uk_hash2(source, packet_no) & (d->nbuckets - 1));
}

/* Drops the oldest entry: unlink it from its bucket chain. */
static void drop_oldest(struct uk_dedup *d)
{
	struct uk_dedup_entry *e = &d->ring[d->head];
	int32_t *link = &d->buckets[bucket_of(d, e->source, e->packet_no)];

	while (*link != -1 && *link != (int32_t)d->head)
		link = &d->ring[*link].next;
	if (*link == (int32_t)d->head)
		*link = e->next;
	d->head = d->head + 1 == d->cap ? 0 : d->head + 1; /* no division: cap > 0 */
	d->count--;
}

bool uk_dedup_check(struct uk_dedup *d, const struct uk_addr *src, uint64_t packet_no,
		    uint64_t now_ns)
{
	uint64_t source = uk_addr_hash(src);
	size_t b;
	int32_t i;
	size_t slot;

	/* Expire what is older than the hold time. */
	while (d->count && now_ns - d->ring[d->head].seen_ns > d->hold_ns)
		drop_oldest(d);
	b = bucket_of(d, source, packet_no);
	for (i = d->buckets[b]; i != -1; i = d->ring[i].next)
		if (d->ring[i].source == source && d->ring[i].packet_no == packet_no)
			return false;
	if (d->count == d->cap) {
		d->evicted_early++;
		drop_oldest(d);
	}
	/* head < cap and count < cap here: one wrap at most, no division. */
	slot = d->head + d->count;
	if (slot >= d->cap)
		slot -= d->cap;
	d->ring[slot] = (struct uk_dedup_entry){
	    .source = source, .packet_no = packet_no, .seen_ns = now_ns, .next = d->buckets[b]};
	d->buckets[b] = (int32_t)slot;
	d->count++;
	return true;
}

bool uk_dedup_seen(const struct uk_dedup *d, const struct uk_addr *src, uint64_t packet_no,
		   uint64_t now_ns)
{
	uint64_t source = uk_addr_hash(src);

	for (int32_t i = d->buckets[bucket_of(d, source, packet_no)]; i != -1; i = d->ring[i].next)
		if (d->ring[i].source == source && d->ring[i].packet_no == packet_no &&
		    now_ns - d->ring[i].seen_ns <= d->hold_ns)
			return true;
	return false;
}

size_t uk_dedup_forget_from(struct uk_dedup *d, const struct uk_addr *src, uint64_t from_packet_no)
{
	uint64_t source = uk_addr_hash(src);
	size_t forgotten = 0;

	/* Unlinked from its chain, the entry can no longer be found; it keeps
	 * its place in the ring until it is the oldest (drop_oldest() then
	 * finds it in no chain, which it allows). */
	for (size_t k = 0, slot = d->head; k < d->count;
	     k++, slot = slot + 1 == d->cap ? 0 : slot + 1) {
		struct uk_dedup_entry *e = &d->ring[slot];
		int32_t *link;

		if (e->source != source || e->packet_no < from_packet_no)
			continue;
		link = &d->buckets[bucket_of(d, e->source, e->packet_no)];
		while (*link != -1 && *link != (int32_t)slot)
			link = &d->ring[*link].next;
		if (*link == (int32_t)slot) {
			*link = e->next;
			forgotten++;
		}
	}
	return forgotten;
}

bool uk_dedup_forget(struct uk_dedup *d, const struct uk_addr *src, uint64_t packet_no)
{
	uint64_t source = uk_addr_hash(src);
	int32_t *link = &d->buckets[bucket_of(d, source, packet_no)];

	/* Unlinked, as in uk_dedup_forget_from(): its ring slot ages out. */
	for (; *link != -1; link = &d->ring[*link].next) {
		struct uk_dedup_entry *e = &d->ring[*link];
		if (e->source == source && e->packet_no == packet_no) {
			*link = e->next;
			return true;
		}
	}
	return false;
}
