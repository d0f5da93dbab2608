/* roster.c: the peer table, a flat array (a LAN has dozens of peers, the
 * cap a few hundred), searched linearly: a scan of 256 entries costs less
 * than the system call that brought the datagram, and has no hash for a
 * sender to attack. Eviction rules in roster.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "udpkit/roster.h"

int uk_roster_init(struct uk_roster *r, size_t capacity, uint64_t expire_ns)
{
	memset(r, 0, sizeof(*r));
	r->cap = capacity ? capacity : UK_ROSTER_DEFAULT_CAPACITY;
	r->expire_ns = expire_ns ? expire_ns : UK_ROSTER_DEFAULT_EXPIRE_NS;
	r->per_host = UK_ROSTER_DEFAULT_PER_HOST;
	r->peers = calloc(r->cap, sizeof(*r->peers));
	return r->peers ? 0 : -ENOMEM;
}

void uk_roster_free(struct uk_roster *r)
{
	free(r->peers);
	r->peers = NULL;
}

/* Copies s into dst (size cap), cut at cap - 1 bytes; reports a change. */
static bool set_str(char *dst, size_t cap, const char *s)
{
	char tmp[UK_IPMSG_NAME_MAX * 3 + 4];
	size_t n;

	if (!s)
		return false;
	n = strlen(s);
	if (n >= cap)
		n = cap - 1;
	if (n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	memcpy(tmp, s, n);
	tmp[n] = 0;
	if (strcmp(dst, tmp) == 0)
		return false;
	memcpy(dst, tmp, n + 1);
	return true;
}

struct uk_peer *uk_roster_find(struct uk_roster *r, const struct uk_addr *addr)
{
	for (size_t i = 0; i < r->cap; i++)
		if (r->peers[i].used && uk_addr_equal(&r->peers[i].addr, addr))
			return &r->peers[i];
	return NULL;
}

struct uk_peer *uk_roster_find_nick(struct uk_roster *r, const char *nick, bool *ambiguous)
{
	struct uk_peer *found = NULL;

	*ambiguous = false;
	for (size_t i = 0; i < r->cap; i++) {
		struct uk_peer *p = &r->peers[i];
		if (!p->used || !p->nick[0] || strcmp(p->nick, nick) != 0)
			continue;
		if (found)
			*ambiguous = true;
		else
			found = p;
	}
	return found;
}

bool uk_roster_confirm(struct uk_roster *r, const struct uk_addr *addr)
{
	struct uk_peer *p = uk_roster_find(r, addr);

	if (p)
		p->confirmed = true;
	return p != NULL;
}

/* The unconfirmed entry silent for longest, among those on host's
 * address when host is not NULL; NULL when there is none. */
static struct uk_peer *eviction_victim(struct uk_roster *r, const struct uk_addr *host)
{
	struct uk_peer *victim = NULL;

	for (size_t i = 0; i < r->cap; i++) {
		struct uk_peer *p = &r->peers[i];
		if (!p->used || p->confirmed || (host && !uk_addr_same_host(&p->addr, host)))
			continue;
		if (!victim || p->last_ns < victim->last_ns)
			victim = p;
	}
	return victim;
}

/* Where a new peer at addr goes: a free entry, or the place of an
 * unconfirmed one (its own host's when that host is at its limit).
 * NULL when every candidate is confirmed. */
static struct uk_peer *room_for(struct uk_roster *r, const struct uk_addr *addr)
{
	struct uk_peer *free_entry = NULL, *victim;
	size_t same_host = 0;

	for (size_t i = 0; i < r->cap; i++) {
		struct uk_peer *p = &r->peers[i];
		if (!p->used) {
			if (!free_entry)
				free_entry = p;
		} else if (uk_addr_same_host(&p->addr, addr)) {
			same_host++;
		}
	}
	if (r->per_host && same_host >= r->per_host)
		victim = eviction_victim(r, addr);
	else if (free_entry)
		return free_entry;
	else
		victim = eviction_victim(r, NULL);
	if (victim) {
		memset(victim, 0, sizeof(*victim));
		r->count--;
		r->evicted++;
	}
	return victim;
}

enum uk_roster_event uk_roster_seen(struct uk_roster *r, const struct uk_addr *addr,
				    const struct uk_peer_info *info, uint64_t now_ns,
				    struct uk_peer **out)
{
	struct uk_peer *p = uk_roster_find(r, addr);
	enum uk_roster_event ev = UK_ROSTER_SAME;
	bool changed = false;

	*out = NULL;
	if (!p) {
		p = room_for(r, addr);
		if (!p) {
			r->refused++;
			return UK_ROSTER_FULL;
		}
		memset(p, 0, sizeof(*p));
		p->used = true;
		p->addr = *addr;
		p->first_ns = now_ns;
		r->count++;
		ev = UK_ROSTER_JOINED;
	}
	p->last_ns = now_ns;
	if (info) {
		changed |= set_str(p->nick, sizeof(p->nick), info->nick);
		changed |= set_str(p->group, sizeof(p->group), info->group);
		set_str(p->user, sizeof(p->user), info->user);
		set_str(p->host, sizeof(p->host), info->host);
		if (info->ipmsg && !p->ipmsg) {
			p->ipmsg = true;
			changed = true;
		}
	}
	if (ev == UK_ROSTER_SAME && changed)
		ev = UK_ROSTER_CHANGED;
	*out = p;
	return ev;
}

bool uk_roster_remove(struct uk_roster *r, const struct uk_addr *addr, struct uk_peer *gone)
{
	struct uk_peer *p = uk_roster_find(r, addr);

	if (!p)
		return false;
	if (gone)
		*gone = *p;
	memset(p, 0, sizeof(*p));
	r->count--;
	return true;
}

bool uk_roster_expire(struct uk_roster *r, uint64_t now_ns, struct uk_peer *gone)
{
	for (size_t i = 0; i < r->cap; i++) {
		struct uk_peer *p = &r->peers[i];
		if (p->used && now_ns - p->last_ns > r->expire_ns) {
			if (gone)
				*gone = *p;
			memset(p, 0, sizeof(*p));
			r->count--;
			return true;
		}
	}
	return false;
}

uint64_t uk_roster_deadline(const struct uk_roster *r)
{
	uint64_t min = UINT64_MAX;

	for (size_t i = 0; i < r->cap; i++)
		if (r->peers[i].used && r->peers[i].last_ns + r->expire_ns < min)
			min = r->peers[i].last_ns + r->expire_ns + 1;
	return min;
}
