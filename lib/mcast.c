/* mcast.c: multicast socket options (see include/udpkit/mcast.h).
 * ip(7) and ipv6(7) document each option; IPv4 uses struct ip_mreqn so the
 * interface is chosen by index, which needs no multicast route. */
#include <errno.h>
#include <string.h>

#include "udpkit/mcast.h"

static int set_opt(int fd, int level, int name, const void *val, socklen_t len)
{
	if (setsockopt(fd, level, name, val, len) < 0)
		return -errno;
	return 0;
}

static int set_int(int fd, int level, int name, int value)
{
	return set_opt(fd, level, name, &value, sizeof(value));
}

/* The IPv4 group inside g (plain or v4-mapped); false for real IPv6. */
static bool group_v4(const struct uk_addr *g, struct in_addr *out)
{
	if (uk_addr_family(g) == AF_INET) {
		*out = g->u.in.sin_addr;
		return true;
	}
	if (uk_addr_family(g) == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&g->u.in6.sin6_addr)) {
		memcpy(&out->s_addr, &g->u.in6.sin6_addr.s6_addr[12], 4);
		return true;
	}
	return false;
}

int uk_mcast_join(int fd, const struct uk_addr *group, unsigned ifindex)
{
	struct in_addr v4;

	if (!uk_addr_is_multicast(group))
		return -EINVAL;
	if (group_v4(group, &v4)) {
		struct ip_mreqn m;
		memset(&m, 0, sizeof(m));
		m.imr_multiaddr = v4;
		m.imr_ifindex = (int)ifindex;
		return set_opt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof(m));
	}
	struct ipv6_mreq m6;
	memset(&m6, 0, sizeof(m6));
	m6.ipv6mr_multiaddr = group->u.in6.sin6_addr;
	/* A scoped group ("ff02::1%eth0") names its interface itself. */
	m6.ipv6mr_interface = ifindex ? ifindex : group->u.in6.sin6_scope_id;
	return set_opt(fd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &m6, sizeof(m6));
}

int uk_mcast_set_all(int fd, int family, bool on)
{
	int rc;

	if (family == AF_INET6) {
		rc = set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL, on);
		if (rc < 0)
			return rc;
		/* A dual-stack socket receives IPv4 groups too. EINVAL/ENOPROTOOPT
		 * means a v6-only socket, where the IPv4 option does not apply. */
		rc = set_int(fd, IPPROTO_IP, IP_MULTICAST_ALL, on);
		return rc == -ENOPROTOOPT || rc == -EINVAL ? 0 : rc;
	}
	return set_int(fd, IPPROTO_IP, IP_MULTICAST_ALL, on);
}

int uk_mcast_set_if(int fd, int family, unsigned ifindex)
{
	if (family == AF_INET6)
		return set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, (int)ifindex);
	struct ip_mreqn m;
	memset(&m, 0, sizeof(m));
	m.imr_ifindex = (int)ifindex;
	return set_opt(fd, IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof(m));
}

bool uk_mcast_same_group(const struct uk_addr *a, const struct uk_addr *b)
{
	struct in_addr x, y;
	bool ax = group_v4(a, &x), by = group_v4(b, &y);

	if (ax || by)
		return ax && by && x.s_addr == y.s_addr;
	return uk_addr_family(a) == AF_INET6 && uk_addr_family(b) == AF_INET6 &&
	       memcmp(&a->u.in6.sin6_addr, &b->u.in6.sin6_addr, 16) == 0;
}
