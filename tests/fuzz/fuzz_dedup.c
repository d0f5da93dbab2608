/* Fuzz target: the dedup table (lib/dedup.c) driven directly with
 * arbitrary sources, packet numbers (any 64-bit value, or a few chosen
 * ones to collide) and clock steps, against a model: a plain list in
 * arrival order with the same rules (an entry lives hold_ns, the oldest
 * goes when full). Every verdict must match the model's; every entry in
 * the ring must be reachable from its hash bucket, and every chain must
 * end (no cycle). A hash key of zeros is set first, so a crash found
 * replays exactly.
 *
 * Input: byte 0 = capacity - 1 (0..63), byte 1 = hold in ms (1..256);
 * then events of 10 bytes: source (0..15), 8 bytes of packet number
 * (used whole when the source byte's top bit is set, else only its low
 * byte), clock step in ms. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "udpkit/dedup.h"
#include "udpkit/hashkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NSRC 16
#define MS 1000000ull

struct model_entry {
	int src;
	uint64_t no, seen_ns;
};

/* The model and its checks are not instrumented: they were most of the
 * work of each event, and their branches are no coverage of the table. */
#define MODEL __attribute__((no_sanitize("coverage"), noinline))

static struct uk_addr srcs[NSRC];
static struct model_entry model[64];
static size_t model_n;

MODEL static bool model_check(int src, uint64_t no, uint64_t now, size_t cap, uint64_t hold)
{
	size_t drop = 0;

	while (drop < model_n && now - model[drop].seen_ns > hold)
		drop++;
	memmove(model, model + drop, (model_n - drop) * sizeof(model[0]));
	model_n -= drop;
	for (size_t i = 0; i < model_n; i++)
		if (model[i].src == src && model[i].no == no)
			return false;
	if (model_n == cap) {
		memmove(model, model + 1, (model_n - 1) * sizeof(model[0]));
		model_n--;
	}
	model[model_n++] = (struct model_entry){src, no, now};
	return true;
}

MODEL static void check_chains(const struct uk_dedup *d)
{
	size_t reachable = 0;

	for (size_t b = 0; b < d->nbuckets; b++) {
		size_t steps = 0;
		for (int32_t i = d->buckets[b]; i != -1; i = d->ring[i].next) {
			if (i < 0 || (size_t)i >= d->cap || ++steps > d->cap)
				abort();
			reachable++;
		}
	}
	if (reachable != d->count || d->count != model_n)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct uk_dedup d;
	uint64_t now = 1000 * MS, hold;
	size_t cap;

	if (!ready) {
		static const unsigned char zero_key[UK_HASHKEY_BYTES];
		uk_hashkey_set(zero_key);
		for (int i = 0; i < NSRC; i++) {
			char text[64];
			if (i < 12)
				snprintf(text, sizeof(text), "10.0.0.%d:%d", 1 + i % 3, 2425 + i);
			else
				snprintf(text, sizeof(text), "[2001:db8::%d]:2425", i);
			if (uk_addr_parse_hostport_flags(&srcs[i], text, 0, AF_UNSPEC,
							 UK_ADDR_NUMERIC) < 0)
				abort();
		}
		ready = true;
	}
	if (size < 2)
		return 0;
	cap = (size_t)(data[0] & 63) + 1;
	hold = ((uint64_t)data[1] + 1) * MS;
	if (uk_dedup_init(&d, cap, hold) < 0)
		abort();
	model_n = 0;
	for (size_t off = 2; off + 10 <= size; off += 10) {
		int src = data[off] % NSRC;
		uint64_t no = 0;
		for (int k = 0; k < 8; k++)
			no = no << 8 | data[off + 1 + k];
		if (!(data[off] & 0x80))
			no &= 0xff;
		now += (uint64_t)data[off + 9] * MS / 4;
		if (uk_dedup_check(&d, &srcs[src], no, now) != model_check(src, no, now, cap, hold))
			abort();
		check_chains(&d);
	}
	uk_dedup_free(&d);
	return 0;
}
