/* responders.c: deduplicated replies to a broadcast (see
 * include/udpkit/responders.h). Replies arrive more than once (retries,
 * several interfaces, duplicating links), so discovery tools that list
 * each reply mislead; one line per responder with its first RTT does not. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "udpkit/responders.h"

void uk_responders_init(struct uk_responders *r, const struct uk_addr *self,
			const struct uk_iface_list *ifs, size_t max)
{
	memset(r, 0, sizeof(*r));
	if (self)
		r->self = *self;
	r->ifs = ifs;
	r->max = max ? max : 65536;
}

void uk_responders_free(struct uk_responders *r)
{
	free(r->items);
	free(r->index);
	r->items = NULL;
	r->index = NULL;
	r->count = r->cap = r->index_size = 0;
}

void uk_responders_sent(struct uk_responders *r, const void *buf, size_t len)
{
	r->sent = buf;
	r->sent_len = len;
}

void uk_responders_clear(struct uk_responders *r)
{
	r->count = 0;
	if (r->index)
		memset(r->index, 0, r->index_size * sizeof(*r->index));
	r->duplicates = r->own = r->overflow = 0;
}

static bool from_self(const struct uk_responders *r, const struct uk_addr *src)
{
	if (uk_addr_port(src) != uk_addr_port(&r->self))
		return false;
	if (!uk_addr_is_unspecified(&r->self))
		return uk_addr_same_host(src, &r->self);
	return uk_addr_is_loopback(src) || (r->ifs && uk_iface_is_local(r->ifs, src));
}

bool uk_responders_is_own(const struct uk_responders *r, const struct uk_addr *src, const void *buf,
			  size_t len, size_t wire_len)
{
	return r->sent && len == r->sent_len && wire_len == len && from_self(r, src) &&
	       memcmp(buf, r->sent, len) == 0;
}

/* The index: open addressing over uk_addr_hash (keyed, so forged sources
 * cannot aim at one run of slots), holding item number + 1 (0 = empty),
 * at most half full. A flood of 65536 forged responders then costs
 * O(1) per reply instead of a scan of every responder so far. */
static size_t *slot_of(const struct uk_responders *r, const struct uk_addr *src)
{
	size_t mask = r->index_size - 1, i = (size_t)uk_addr_hash(src) & mask;

	while (r->index[i] && !uk_addr_equal(&r->items[r->index[i] - 1].addr, src))
		i = (i + 1) & mask;
	return &r->index[i];
}

static int grow(struct uk_responders *r)
{
	size_t ncap = r->cap ? r->cap * 2 : 16, nsize = ncap * 2;
	struct uk_responder *p = realloc(r->items, ncap * sizeof(*p));
	size_t *idx;

	if (!p)
		return -ENOMEM;
	r->items = p;
	idx = calloc(nsize, sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	free(r->index);
	r->index = idx;
	r->index_size = nsize;
	r->cap = ncap;
	for (size_t k = 0; k < r->count; k++)
		*slot_of(r, &r->items[k].addr) = k + 1;
	return 0;
}

int uk_responders_add(struct uk_responders *r, const struct uk_addr *src, const void *buf,
		      size_t len, size_t wire_len, uint64_t rtt_ns)
{
	struct uk_responder *e;

	if (uk_responders_is_own(r, src, buf, len, wire_len)) {
		r->own++;
		return UK_RESP_OWN;
	}
	if (r->index) {
		size_t *slot = slot_of(r, src);
		if (*slot) {
			r->items[*slot - 1].replies++;
			r->duplicates++;
			return UK_RESP_DUP;
		}
	}
	if (r->count == r->max) {
		r->overflow++;
		return UK_RESP_FULL;
	}
	if ((!r->index || r->count == r->cap) && grow(r) < 0)
		return -ENOMEM;
	*slot_of(r, src) = r->count + 1;
	e = &r->items[r->count++];
	memset(e, 0, sizeof(*e));
	e->addr = *src;
	e->rtt_ns = rtt_ns;
	e->replies = 1;
	e->len = len < UK_RESPONDER_KEEP ? len : UK_RESPONDER_KEEP;
	e->wire_len = wire_len;
	memcpy(e->reply, buf, e->len);
	return UK_RESP_NEW;
}
