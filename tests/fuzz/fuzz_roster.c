/* Fuzz target: the peer table (lib/roster.c) driven directly with
 * arbitrary sources: peers seen from any of 16 hosts (IPv4, IPv6 and
 * v4-mapped) on any of 16 ports, confirmed, removed, expired, looked up
 * by nick, as time passes. Checked against a model of what must hold:
 * count matches the entries in use and never exceeds the capacity; no
 * address is in the table twice; no host holds more than per_host
 * entries; a confirmed peer leaves only by remove or expiry, never to make
 * room (issue 10, attack 1); a newcomer is refused only when every entry
 * it could replace is confirmed; the deadline is the earliest expiry.
 *
 * Input: byte 0 = capacity - 1 (0..31), byte 1 = per_host (0..7, 0 = no
 * limit); then events of 4 bytes: op, host, port, arg. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "udpkit/roster.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NHOST 16
#define NPORT 16
#define EXPIRE_NS 1000000000ull

static struct uk_addr addrs[NHOST][NPORT];
/* The model, by canonical place (host 0-12: the v4-mapped hosts 13-15 are
 * hosts 0-2, as uk_addr_equal() sees them; port 0-15): which must be
 * present because they are confirmed. */
#define NCANON 13
static bool confirmed[NCANON][NPORT];

/* The model's own checks are not instrumented: they are most of the work
 * of each event and their branches are no coverage of the roster. */
#define MODEL __attribute__((no_sanitize("coverage"), noinline))

MODEL static void setup(void)
{
	for (int h = 0; h < NHOST; h++)
		for (int p = 0; p < NPORT; p++) {
			char text[64];
			/* Hosts 0-9 IPv4, 10-12 IPv6, 13-15 the v4-mapped form of
			 * hosts 0-2: the same hosts as far as the roster goes. */
			if (h < 10)
				snprintf(text, sizeof(text), "10.0.0.%d:%d", h + 1, 2425 + p);
			else if (h < 13)
				snprintf(text, sizeof(text), "[2001:db8::%d]:%d", h, 2425 + p);
			else
				snprintf(text, sizeof(text), "[::ffff:10.0.0.%d]:%d", h - 12,
					 2425 + p);
			if (uk_addr_parse_hostport_flags(&addrs[h][p], text, 0, AF_UNSPEC,
							 UK_ADDR_NUMERIC) < 0)
				abort();
		}
}

/* The canonical host (0-12) and port (0-15) of an address of the table,
 * read from its bytes, independently of lib/addr.c. */
MODEL static void place(const struct uk_addr *a, int *host, int *port)
{
	const unsigned char *b;
	int h;

	if (a->u.sa.sa_family == AF_INET) {
		b = (const unsigned char *)&a->u.in.sin_addr;
		h = b[3] - 1;
		*port = ntohs(a->u.in.sin_port) - 2425;
	} else {
		b = (const unsigned char *)&a->u.in6.sin6_addr;
		/* "2001:db8::%d" of 10-12 reads as hex: ::10 to ::12 */
		h = b[10] == 0xff ? b[15] - 1 : b[15] - 0x10 + 10;
		*port = ntohs(a->u.in6.sin6_port) - 2425;
	}
	if (h < 0 || h >= NCANON || *port < 0 || *port >= NPORT)
		abort(); /* an address the input never gave */
	*host = h;
}

/* full: also that every confirmed peer is still there (after an event
 * that may have made room). */
MODEL static void check(const struct uk_roster *r, bool full)
{
	size_t used = 0, per_host[NCANON] = {0};
	bool present[NCANON][NPORT] = {{false}};
	uint64_t deadline = UINT64_MAX;

	for (size_t i = 0; i < r->cap; i++) {
		const struct uk_peer *p = &r->peers[i];
		int h, port;

		if (!p->used)
			continue;
		used++;
		place(&p->addr, &h, &port);
		if (present[h][port]) /* the same address twice */
			abort();
		present[h][port] = true;
		per_host[h]++;
		if (p->last_ns + r->expire_ns + 1 < deadline)
			deadline = p->last_ns + r->expire_ns + 1;
	}
	if (used != r->count || r->count > r->cap)
		abort();
	for (int h = 0; h < NCANON; h++)
		if (r->per_host && per_host[h] > r->per_host)
			abort();
	if (uk_roster_deadline(r) != deadline)
		abort();
	for (int h = 0; full && h < NCANON; h++)
		for (int p = 0; p < NPORT; p++)
			if (confirmed[h][p] && !present[h][p])
				abort();
}

/* Could a newcomer at a take some place? (the model of the eviction rule) */
MODEL static bool room_possible(const struct uk_roster *r, const struct uk_addr *a)
{
	size_t same = 0;
	bool same_unconfirmed = false, any_unconfirmed = false;
	int host, port;

	place(a, &host, &port);
	for (size_t i = 0; i < r->cap; i++) {
		const struct uk_peer *p = &r->peers[i];
		int h, q;

		if (!p->used)
			continue;
		any_unconfirmed |= !p->confirmed;
		place(&p->addr, &h, &q);
		if (h == host) {
			same++;
			same_unconfirmed |= !p->confirmed;
		}
	}
	if (r->per_host && same >= r->per_host)
		return same_unconfirmed;
	return r->count < r->cap || any_unconfirmed;
}

MODEL static void mark(const struct uk_addr *a, bool value)
{
	int h, p;

	place(a, &h, &p);
	confirmed[h][p] = value;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct uk_roster r;
	uint64_t now = 5 * EXPIRE_NS;
	static const char *const nicks[4] = {"alice", "bob", "127.0.0.3 2425", ""};

	if (!ready) {
		setup();
		ready = true;
	}
	if (size < 2)
		return 0;
	memset(confirmed, 0, sizeof(confirmed));
	if (uk_roster_init(&r, (size_t)(data[0] & 31) + 1, EXPIRE_NS) < 0)
		abort();
	r.per_host = data[1] & 7;
	for (size_t off = 2; off + 4 <= size; off += 4) {
		int h = data[off + 1] % NHOST, port = data[off + 2] % NPORT;
		const struct uk_addr *a = &addrs[h][port];
		uint8_t arg = data[off + 3];
		struct uk_peer *p, gone;
		struct uk_peer_info info = {.nick = nicks[arg & 3], .ipmsg = arg & 4};
		bool known = true, ambiguous, possible;
		enum uk_roster_event ev;

		switch (data[off] & 7) {
		case 0:
		case 1:
		case 2: /* a datagram from a */
			known = uk_roster_find(&r, a) != NULL;
			possible = room_possible(&r, a);
			ev = uk_roster_seen(&r, a, &info, now, &p);
			if ((ev == UK_ROSTER_FULL) != (p == NULL))
				abort();
			if (known && (ev == UK_ROSTER_JOINED || ev == UK_ROSTER_FULL))
				abort();
			if (!known && ev != UK_ROSTER_JOINED && ev != UK_ROSTER_FULL)
				abort();
			if (!known && (ev == UK_ROSTER_FULL) == possible)
				abort();
			break;
		case 3: /* it proved it receives */
			if (uk_roster_confirm(&r, a))
				mark(a, true);
			else if (uk_roster_find(&r, a))
				abort();
			break;
		case 4: /* it said goodbye */
			if (uk_roster_remove(&r, a, &gone) && !uk_addr_equal(&gone.addr, a))
				abort();
			mark(a, false);
			break;
		case 5: /* time passes, silent peers leave */
			now += (uint64_t)arg * (EXPIRE_NS / 64);
			while (uk_roster_expire(&r, now, &gone)) {
				if (now - gone.last_ns <= r.expire_ns)
					abort();
				mark(&gone.addr, false);
			}
			break;
		case 6: /* /to NICK */
			p = uk_roster_find_nick(&r, nicks[arg & 3], &ambiguous);
			if (p && strcmp(p->nick, nicks[arg & 3]) != 0)
				abort();
			break;
		default:
			now += arg;
			break;
		}
		check(&r, !known);
	}
	uk_roster_free(&r);
	return 0;
}
