/* outbox.c: retransmission with exponential backoff until a receipt or a
 * give-up. A flat array scanned linearly: the capacity is a few hundred
 * messages, so a scan costs less than one system call. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "udpkit/outbox.h"

int uk_outbox_init(struct uk_outbox *ob, const struct uk_outbox_cfg *cfg)
{
	memset(ob, 0, sizeof(*ob));
	if (cfg)
		ob->cfg = *cfg;
	if (!ob->cfg.rto_first_ns)
		ob->cfg.rto_first_ns = UK_OUTBOX_DEFAULT_RTO_FIRST_NS;
	if (!ob->cfg.rto_max_ns)
		ob->cfg.rto_max_ns = UK_OUTBOX_DEFAULT_RTO_MAX_NS;
	if (ob->cfg.rto_max_ns < ob->cfg.rto_first_ns)
		ob->cfg.rto_max_ns = ob->cfg.rto_first_ns;
	if (!ob->cfg.max_tries)
		ob->cfg.max_tries = UK_OUTBOX_DEFAULT_TRIES;
	if (!ob->cfg.capacity)
		ob->cfg.capacity = UK_OUTBOX_DEFAULT_CAPACITY;
	ob->items = calloc(ob->cfg.capacity, sizeof(*ob->items));
	return ob->items ? 0 : -ENOMEM;
}

static void release(struct uk_outbox *ob, struct uk_outbox_item *it)
{
	free(it->data);
	memset(it, 0, sizeof(*it));
	ob->count--;
}

void uk_outbox_free(struct uk_outbox *ob, void (*drop)(void *user))
{
	for (size_t i = 0; ob->items && i < ob->cfg.capacity; i++) {
		if (!ob->items[i].used)
			continue;
		if (drop)
			drop(ob->items[i].user);
		release(ob, &ob->items[i]);
	}
	free(ob->items);
	ob->items = NULL;
}

/* The wait after the tries-th transmission: first, 2x first, ... capped. */
static uint64_t backoff(const struct uk_outbox_cfg *cfg, unsigned tries)
{
	uint64_t rto = cfg->rto_first_ns;

	for (unsigned i = 1; i < tries && rto < cfg->rto_max_ns; i++)
		rto *= 2;
	return rto < cfg->rto_max_ns ? rto : cfg->rto_max_ns;
}

int uk_outbox_add(struct uk_outbox *ob, const struct uk_addr *peer, uint64_t packet_no,
		  const void *data, size_t len, void *user, uint64_t now_ns)
{
	struct uk_outbox_item *slot = NULL;

	for (size_t i = 0; i < ob->cfg.capacity; i++) {
		struct uk_outbox_item *it = &ob->items[i];
		if (!it->used) {
			if (!slot)
				slot = it;
		} else if (it->packet_no == packet_no && uk_addr_same_host(&it->peer, peer)) {
			return -EEXIST;
		}
	}
	if (!slot)
		return -ENOSPC;
	slot->data = malloc(len ? len : 1);
	if (!slot->data)
		return -ENOMEM;
	memcpy(slot->data, data, len);
	slot->len = len;
	slot->used = true;
	slot->peer = *peer;
	slot->packet_no = packet_no;
	slot->user = user;
	slot->tries = 1;
	slot->first_ns = now_ns;
	slot->next_ns = now_ns + backoff(&ob->cfg, 1);
	ob->count++;
	return 0;
}

int uk_outbox_ack(struct uk_outbox *ob, const struct uk_addr *peer, uint64_t packet_no, void **user,
		  unsigned *tries, uint64_t *first_ns)
{
	for (size_t i = 0; i < ob->cfg.capacity; i++) {
		struct uk_outbox_item *it = &ob->items[i];
		/* The exact address and port the message went to: a receipt
		 * from another port of the host is anyone's guess (issue 10). */
		if (!it->used || it->packet_no != packet_no || !uk_addr_equal(&it->peer, peer))
			continue;
		*user = it->user;
		*tries = it->tries;
		*first_ns = it->first_ns;
		release(ob, it);
		ob->delivered++;
		return 1;
	}
	return 0;
}

uint64_t uk_outbox_deadline(const struct uk_outbox *ob)
{
	uint64_t min = UINT64_MAX;

	for (size_t i = 0; ob->count && i < ob->cfg.capacity; i++)
		if (ob->items[i].used && ob->items[i].next_ns < min)
			min = ob->items[i].next_ns;
	return min;
}

int uk_outbox_poll(struct uk_outbox *ob, uint64_t now_ns, struct uk_outbox_action *act)
{
	for (size_t i = 0; ob->count && i < ob->cfg.capacity; i++) {
		struct uk_outbox_item *it = &ob->items[i];
		if (!it->used || it->next_ns > now_ns)
			continue;
		memset(act, 0, sizeof(*act));
		act->peer = it->peer;
		act->packet_no = it->packet_no;
		if (it->tries >= ob->cfg.max_tries) {
			/* The last try had its full wait for a receipt: give up. */
			act->what = UK_OUTBOX_GIVE_UP;
			act->user = it->user;
			act->tries = it->tries;
			release(ob, it);
			ob->given_up++;
			return 1;
		}
		it->tries++;
		it->next_ns = now_ns + backoff(&ob->cfg, it->tries);
		act->what = UK_OUTBOX_RESEND;
		act->data = it->data;
		act->len = it->len;
		act->tries = it->tries;
		ob->retransmits++;
		return 1;
	}
	return 0;
}

int uk_outbox_drain(struct uk_outbox *ob, struct uk_outbox_action *act)
{
	for (size_t i = 0; ob->count && i < ob->cfg.capacity; i++) {
		struct uk_outbox_item *it = &ob->items[i];
		if (!it->used)
			continue;
		memset(act, 0, sizeof(*act));
		act->what = UK_OUTBOX_GIVE_UP;
		act->peer = it->peer;
		act->packet_no = it->packet_no;
		act->user = it->user;
		act->tries = it->tries;
		release(ob, it);
		ob->given_up++;
		return 1;
	}
	return 0;
}
