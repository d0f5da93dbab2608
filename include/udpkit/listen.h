/* listen.h: what `udpkit listen` does with each datagram, decided without
 * touching a socket or a clock: ignore it (a multicast group this listener
 * did not join), refuse to answer it (the guard's source rules and rate
 * limit, plus the host's own broadcast addresses as sources), or answer it,
 * and when: a datagram sent to a broadcast or multicast address is answered
 * after a random delay, so a whole LAN does not reply in the same
 * microsecond. A source on the listener's own port is refused as a loop
 * (FreeBSD inetd's check_loop): two listeners could otherwise answer each
 * other forever after one forged datagram. Bytes, addresses, now_ns and a random number in; a
 * decision out. Not thread-safe: one listener owns one. */
#ifndef UDPKIT_LISTEN_H
#define UDPKIT_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "udpkit/addr.h"
#include "udpkit/guard.h"
#include "udpkit/iface.h"

#define UK_LISTEN_MAX_GROUPS 32
/* The largest reply a listener sends, whatever it is asked to say: a
 * listener answering broadcasts must not amplify (Fraggle). */
#define UK_LISTEN_REPLY_MAX 256
#define UK_LISTEN_DEFAULT_RATE 10 /* replies per second per source */
#define UK_LISTEN_DEFAULT_JITTER_MS 50

/* How a datagram reached us, from its destination address (pktinfo). */
enum uk_listen_kind {
	UK_LISTEN_UNICAST = 0,
	UK_LISTEN_BROADCAST, /* 255.255.255.255 or a directed broadcast */
	UK_LISTEN_MULTICAST,
	UK_LISTEN_KIND_COUNT
};

enum uk_listen_action {
	UK_LISTEN_REPLY = 0, /* answer at reply_at_ns */
	UK_LISTEN_REFUSE,    /* show it, do not answer: see verdict */
	UK_LISTEN_SILENT,    /* show it, answering is turned off */
	UK_LISTEN_NOT_JOINED /* to a group we did not join: not ours, ignore */
};

struct uk_listen_cfg {
	struct uk_guard_cfg guard;
	uint64_t jitter_max_ns; /* replies to broadcast/multicast wait [0, this) */
	bool no_reply;
	uint16_t port;	/* our own port: a source on it is another listener */
	size_t sources; /* per-source table size for the guard */
};

struct uk_listen {
	struct uk_guard guard;
	uint64_t jitter_max_ns;
	bool no_reply;
	uint16_t port;
	struct uk_addr groups[UK_LISTEN_MAX_GROUPS];
	size_t n_groups;
	const struct uk_iface_list *ifs; /* the host's interfaces; may be NULL */
};

struct uk_listen_decision {
	enum uk_listen_action action;
	enum uk_listen_kind kind;
	enum uk_verdict verdict; /* UK_PASS unless refused */
	uint64_t reply_at_ns;
};

/* ifs (borrowed, may be NULL) names the host's broadcast addresses.
 * Returns 0 or -ENOMEM. */
int uk_listen_init(struct uk_listen *l, const struct uk_listen_cfg *cfg,
		   const struct uk_iface_list *ifs);
void uk_listen_free(struct uk_listen *l);

/* Remembers a joined group. Returns 0, -EINVAL (not multicast) or -ENOSPC. */
int uk_listen_add_group(struct uk_listen *l, const struct uk_addr *group);

/* The kind of destination dst is (NULL: unknown, taken as unicast). */
enum uk_listen_kind uk_listen_classify(const struct uk_listen *l, const struct uk_addr *dst);

/* Decides about one datagram from src to dst (NULL when unknown).
 * rnd is a uniformly random number that picks the jitter. */
void uk_listen_decide(struct uk_listen *l, const struct uk_addr *src, const struct uk_addr *dst,
		      const unsigned char *payload, size_t len, uint64_t now_ns, uint32_t rnd,
		      struct uk_listen_decision *out);

#endif
