/* offer.c: the sender's file offer (see offer.h). */
#include <errno.h>
#include <string.h>

#include "udpkit/err.h"
#include "udpkit/offer.h"

int uk_offer_init(struct uk_offer *o, uint64_t packet_no, const void *peer, size_t peer_len,
		  uint64_t timeout_ns, uint64_t now_ns)
{
	memset(o, 0, sizeof(*o));
	if (peer_len != 4 && peer_len != 16)
		return UK_ERANGE_;
	o->packet_no = packet_no;
	memcpy(o->peer, peer, peer_len);
	o->peer_len = peer_len;
	o->deadline_ns = timeout_ns ? now_ns + timeout_ns : 0;
	o->state = UK_OFFER_OPEN;
	return 0;
}

int uk_offer_add(struct uk_offer *o, uint64_t id, uint64_t size, bool dir)
{
	struct uk_offer_file *f;

	if (o->nfiles == UK_OFFER_FILES)
		return UK_ENOSPACE;
	f = &o->files[o->nfiles];
	memset(f, 0, sizeof(*f));
	f->id = id;
	f->size = dir ? 0 : size;
	f->dir = dir;
	return (int)o->nfiles++;
}

int uk_offer_find(const struct uk_offer *o, const struct uk_filereq *r, const void *peer,
		  size_t peer_len)
{
	uint64_t ids[UK_OFFER_FILES];
	int i;

	if (peer_len != o->peer_len || memcmp(peer, o->peer, peer_len) != 0)
		return -EACCES;
	if (r->offer_no != o->packet_no)
		return -ENOENT;
	for (size_t k = 0; k < o->nfiles; k++)
		ids[k] = o->files[k].id;
	i = uk_filereq_match(r, ids, o->nfiles);
	if (i < 0 || o->files[i].dir != (r->mode == UK_FILEREQ_GETDIRFILES))
		return -ENOENT;
	if (o->state != UK_OFFER_OPEN)
		return -ESTALE;
	if (r->offset > o->files[i].size)
		return -EINVAL;
	return i;
}

void uk_offer_start(struct uk_offer *o, size_t i)
{
	if (i < o->nfiles)
		o->files[i].active++;
}

void uk_offer_sent(struct uk_offer *o, size_t i, uint64_t n)
{
	if (i < o->nfiles)
		o->files[i].sent += n;
}

void uk_offer_end(struct uk_offer *o, size_t i, bool complete)
{
	bool all = true;

	if (i >= o->nfiles)
		return;
	if (o->files[i].active)
		o->files[i].active--;
	if (complete)
		o->files[i].done = true;
	for (size_t k = 0; k < o->nfiles; k++)
		all = all && o->files[k].done;
	if (all && o->state == UK_OFFER_OPEN)
		o->state = UK_OFFER_DONE;
}

void uk_offer_release(struct uk_offer *o)
{
	if (o->state == UK_OFFER_OPEN)
		o->state = UK_OFFER_RELEASED;
}

enum uk_offer_state uk_offer_tick(struct uk_offer *o, uint64_t now_ns)
{
	bool busy = false;

	for (size_t k = 0; k < o->nfiles; k++)
		busy = busy || o->files[k].active;
	if (o->state == UK_OFFER_OPEN && o->deadline_ns && now_ns >= o->deadline_ns && !busy)
		o->state = UK_OFFER_EXPIRED;
	return o->state;
}

const char *uk_offer_state_name(enum uk_offer_state s)
{
	switch (s) {
	case UK_OFFER_OPEN:
		return "open";
	case UK_OFFER_DONE:
		return "fetched";
	case UK_OFFER_RELEASED:
		return "released";
	case UK_OFFER_EXPIRED:
		return "expired";
	}
	return "?";
}
