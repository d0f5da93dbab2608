/* priv.h: giving up privileges once a server's socket is bound. Binding a
 * port below 1024 needs root (or CAP_NET_BIND_SERVICE); serving it needs
 * nothing but the open socket, so a server drops the rest right after
 * binding, before it reads a single datagram from the network. */
#ifndef UDPKIT_PRIV_H
#define UDPKIT_PRIV_H

#include <stdbool.h>

/* The account a server started as root runs as unless told otherwise. */
#define UK_PRIV_DEFAULT_USER "nobody"

struct uk_priv_result {
	bool switched; /* was root, now runs as the account below */
	unsigned uid, gid;
	bool caps_dropped; /* was not root but held capabilities: now none */
};

/* As root: switches to user (NULL: UK_PRIV_DEFAULT_USER) with its primary
 * group and no supplementary groups, checks that root cannot be regained,
 * and sets no_new_privs. Not root: drops every capability it holds (a
 * binary given cap_net_bind_service) and sets no_new_privs. Refuses to
 * "switch" to an account with uid 0. Call before starting threads (setuid
 * applies to all of them, but the check is simpler on one). Returns 0,
 * UK_ENOTFOUND for an unknown user, -EPERM when the account is root or
 * root could be regained, or -errno. */
int uk_priv_drop(const char *user, struct uk_priv_result *out);

#endif
