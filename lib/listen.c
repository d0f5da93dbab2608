/* listen.c: the broadcast listener's decisions (see include/udpkit/listen.h).
 * The group check is also the answer to a Linux pitfall: with SO_REUSEPORT
 * and UDP early demux, a datagram to a group can be handed to a socket on
 * the same port that never joined it; such a socket must not show or
 * answer it as if it had asked for it. */
#include <errno.h>

#include "udpkit/listen.h"
#include "udpkit/mcast.h"

int uk_listen_init(struct uk_listen *l, const struct uk_listen_cfg *cfg,
		   const struct uk_iface_list *ifs)
{
	int rc;

	l->jitter_max_ns = cfg->jitter_max_ns;
	l->no_reply = cfg->no_reply;
	l->port = cfg->port;
	l->n_groups = 0;
	l->ifs = ifs;
	rc = uk_guard_init(&l->guard, &cfg->guard, cfg->sources ? cfg->sources : 4096);
	return rc;
}

void uk_listen_free(struct uk_listen *l)
{
	uk_guard_free(&l->guard);
}

int uk_listen_add_group(struct uk_listen *l, const struct uk_addr *group)
{
	if (!uk_addr_is_multicast(group))
		return -EINVAL;
	for (size_t i = 0; i < l->n_groups; i++)
		if (uk_mcast_same_group(&l->groups[i], group))
			return 0;
	if (l->n_groups == UK_LISTEN_MAX_GROUPS)
		return -ENOSPC;
	l->groups[l->n_groups++] = *group;
	return 0;
}

enum uk_listen_kind uk_listen_classify(const struct uk_listen *l, const struct uk_addr *dst)
{
	if (!dst)
		return UK_LISTEN_UNICAST;
	if (uk_addr_is_multicast(dst))
		return UK_LISTEN_MULTICAST;
	if (uk_addr_is_limited_broadcast(dst) || (l->ifs && uk_iface_is_broadcast(l->ifs, dst)))
		return UK_LISTEN_BROADCAST;
	return UK_LISTEN_UNICAST;
}

static bool joined(const struct uk_listen *l, const struct uk_addr *dst)
{
	for (size_t i = 0; i < l->n_groups; i++)
		if (uk_mcast_same_group(&l->groups[i], dst))
			return true;
	return false;
}

void uk_listen_decide(struct uk_listen *l, const struct uk_addr *src, const struct uk_addr *dst,
		      const unsigned char *payload, size_t len, uint64_t now_ns, uint32_t rnd,
		      struct uk_listen_decision *out)
{
	out->kind = uk_listen_classify(l, dst);
	out->verdict = UK_PASS;
	out->reply_at_ns = now_ns;
	if (out->kind == UK_LISTEN_MULTICAST && !joined(l, dst)) {
		out->action = UK_LISTEN_NOT_JOINED;
		return;
	}
	if (l->no_reply) {
		out->action = UK_LISTEN_SILENT;
		return;
	}
	/* A directed broadcast as a source is a forged one (OpenBSD inetd's
	 * dg_badinput): answering it would reach the whole subnet. */
	if (l->ifs && uk_iface_is_broadcast(l->ifs, src))
		out->verdict = UK_DROP_BADSRC;
	else if (l->port && uk_addr_port(src) == l->port)
		out->verdict = UK_DROP_LOOP;
	else
		out->verdict = uk_guard_check(&l->guard, src, payload, len, now_ns);
	if (out->verdict != UK_PASS) {
		out->action = UK_LISTEN_REFUSE;
		return;
	}
	out->action = UK_LISTEN_REPLY;
	if (out->kind != UK_LISTEN_UNICAST && l->jitter_max_ns)
		out->reply_at_ns =
		    now_ns + (uint64_t)((double)rnd / 4294967296.0 * (double)l->jitter_max_ns);
}
