/* iface.c: interface enumeration (getifaddrs, SIOCGIFMTU) and the pure
 * rules that pick broadcast targets (see include/udpkit/iface.h).
 * Sending to each interface's directed broadcast, rather than to
 * 255.255.255.255, is what reaches every LAN of a multi-homed host: the
 * limited broadcast leaves one interface only, and only with a route. */
#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "udpkit/i18n.h"
#include "udpkit/iface.h"

static const char *const skip_texts[UK_IFACE_SKIP_COUNT] = {
    N_("used"),
    N_("not the interface asked for"),
    N_("down"),
    N_("loopback"),
    N_("not broadcast-capable"),
    N_("no IPv4 address with a broadcast address"),
    N_("not multicast-capable"),
};

const char *uk_iface_skip_text(enum uk_iface_skip why)
{
	return (unsigned)why < UK_IFACE_SKIP_COUNT ? skip_texts[why] : "?";
}

static unsigned flags_from_kernel(unsigned f)
{
	unsigned out = 0;

	if (f & IFF_UP)
		out |= UK_IFACE_UP;
	if (f & IFF_RUNNING)
		out |= UK_IFACE_RUNNING;
	if (f & IFF_BROADCAST)
		out |= UK_IFACE_BROADCAST;
	if (f & IFF_MULTICAST)
		out |= UK_IFACE_MULTICAST;
	if (f & IFF_LOOPBACK)
		out |= UK_IFACE_LOOPBACK;
	if (f & IFF_POINTOPOINT)
		out |= UK_IFACE_P2P;
	return out;
}

char *uk_iface_flags_text(unsigned flags, char *buf, size_t size)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {{UK_IFACE_UP, "UP"},
		     {UK_IFACE_RUNNING, "RUNNING"},
		     {UK_IFACE_BROADCAST, "BROADCAST"},
		     {UK_IFACE_MULTICAST, "MULTICAST"},
		     {UK_IFACE_LOOPBACK, "LOOPBACK"},
		     {UK_IFACE_P2P, "POINTOPOINT"}};
	size_t used = 0;

	if (size == 0)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(flags & names[i].bit))
			continue;
		int n = snprintf(buf + used, size - used, "%s%s", used ? "," : "", names[i].name);
		if (n < 0 || (size_t)n >= size - used)
			break;
		used += (size_t)n;
	}
	return buf;
}

static unsigned prefix_len(const struct sockaddr *mask)
{
	const unsigned char *p;
	size_t n;
	unsigned bits = 0;

	if (!mask)
		return 0;
	if (mask->sa_family == AF_INET) {
		p = (const unsigned char *)&((const struct sockaddr_in *)(const void *)mask)
			->sin_addr;
		n = 4;
	} else if (mask->sa_family == AF_INET6) {
		p = ((const struct sockaddr_in6 *)(const void *)mask)->sin6_addr.s6_addr;
		n = 16;
	} else {
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		for (int b = 7; b >= 0; b--)
			bits += (p[i] >> b) & 1u;
	return bits;
}

static void copy_sockaddr(struct uk_addr *dst, const struct sockaddr *sa)
{
	memset(dst, 0, sizeof(*dst));
	if (sa->sa_family == AF_INET) {
		memcpy(&dst->u.in, sa, sizeof(dst->u.in));
		dst->len = sizeof(dst->u.in);
	} else {
		memcpy(&dst->u.in6, sa, sizeof(dst->u.in6));
		dst->len = sizeof(dst->u.in6);
	}
	uk_addr_set_port(dst, 0);
}

/* The entry for the device of label ("eth0:1" belongs to "eth0"). */
static struct uk_iface *entry_for(struct uk_iface_list *l, const char *label, size_t *cap)
{
	char name[IF_NAMESIZE];
	size_t n = strcspn(label, ":");

	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	memcpy(name, label, n);
	name[n] = '\0';
	for (size_t i = 0; i < l->count; i++)
		if (strcmp(l->ifs[i].name, name) == 0)
			return &l->ifs[i];
	if (l->count == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct uk_iface *p = realloc(l->ifs, ncap * sizeof(*p));
		if (!p)
			return NULL;
		l->ifs = p;
		*cap = ncap;
	}
	struct uk_iface *e = &l->ifs[l->count++];
	memset(e, 0, sizeof(*e));
	memcpy(e->name, name, n + 1);
	e->index = if_nametoindex(name);
	return e;
}

static unsigned read_mtu(int fd, const char *name)
{
	struct ifreq ifr;

	if (fd < 0)
		return 0;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, strnlen(name, IF_NAMESIZE - 1));
	if (ioctl(fd, SIOCGIFMTU, &ifr) < 0)
		return 0;
	return ifr.ifr_mtu > 0 ? (unsigned)ifr.ifr_mtu : 0;
}

static int by_index(const void *a, const void *b)
{
	const struct uk_iface *x = a, *y = b;
	return (x->index > y->index) - (x->index < y->index);
}

int uk_iface_list_load(struct uk_iface_list *l)
{
	struct ifaddrs *all = NULL;
	size_t cap = 0;
	int fd = -1, rc;

	l->ifs = NULL;
	l->count = 0;
	if (getifaddrs(&all) < 0)
		return -errno;
	for (struct ifaddrs *ifa = all; ifa; ifa = ifa->ifa_next) {
		struct uk_iface *e = entry_for(l, ifa->ifa_name, &cap);
		if (!e) {
			rc = -ENOMEM;
			goto fail;
		}
		/* Every entry carries the device's flags; an alias's are its device's. */
		e->flags |= flags_from_kernel(ifa->ifa_flags);
		if (!ifa->ifa_addr ||
		    (ifa->ifa_addr->sa_family != AF_INET && ifa->ifa_addr->sa_family != AF_INET6))
			continue;
		if (e->n_addrs == UK_IFACE_MAX_ADDRS) {
			e->n_dropped++;
			continue;
		}
		struct uk_iface_addr *a = &e->addrs[e->n_addrs++];
		memset(a, 0, sizeof(*a));
		copy_sockaddr(&a->addr, ifa->ifa_addr);
		a->prefix_len = prefix_len(ifa->ifa_netmask);
		/* ifa_broadaddr is only meaningful with IFF_BROADCAST (it shares a
		 * union with the point-to-point peer), and only for IPv4. */
		if (ifa->ifa_addr->sa_family == AF_INET && (ifa->ifa_flags & IFF_BROADCAST) &&
		    ifa->ifa_broadaddr && ifa->ifa_broadaddr->sa_family == AF_INET) {
			copy_sockaddr(&a->broadcast, ifa->ifa_broadaddr);
			/* An address added without a broadcast attribute comes back
			 * from glibc with its own address in ifa_broadaddr. */
			a->has_broadcast = !uk_addr_is_unspecified(&a->broadcast) &&
					   !uk_addr_same_host(&a->broadcast, &a->addr);
		}
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	for (size_t i = 0; i < l->count; i++)
		l->ifs[i].mtu = read_mtu(fd, l->ifs[i].name);
	if (fd >= 0)
		close(fd);
	if (l->count)
		qsort(l->ifs, l->count, sizeof(*l->ifs), by_index);
	freeifaddrs(all);
	return 0;
fail:
	freeifaddrs(all);
	uk_iface_list_free(l);
	return rc;
}

void uk_iface_list_free(struct uk_iface_list *l)
{
	free(l->ifs);
	l->ifs = NULL;
	l->count = 0;
}

const struct uk_iface *uk_iface_find(const struct uk_iface_list *l, const char *name)
{
	for (size_t i = 0; i < l->count; i++)
		if (strcmp(l->ifs[i].name, name) == 0)
			return &l->ifs[i];
	return NULL;
}

/* Same address bytes; a link-local's scope id only counts when both have one. */
static bool same_ip(const struct uk_addr *a, const struct uk_addr *b)
{
	struct uk_addr x = *a, y = *b;

	if (uk_addr_family(&x) == AF_INET6 && uk_addr_family(&y) == AF_INET6 &&
	    (!x.u.in6.sin6_scope_id || !y.u.in6.sin6_scope_id))
		x.u.in6.sin6_scope_id = y.u.in6.sin6_scope_id = 0;
	return uk_addr_same_host(&x, &y);
}

bool uk_iface_is_local(const struct uk_iface_list *l, const struct uk_addr *a)
{
	for (size_t i = 0; i < l->count; i++)
		for (size_t j = 0; j < l->ifs[i].n_addrs; j++)
			if (same_ip(&l->ifs[i].addrs[j].addr, a))
				return true;
	return false;
}

bool uk_iface_is_broadcast(const struct uk_iface_list *l, const struct uk_addr *a)
{
	if (uk_addr_is_limited_broadcast(a))
		return true;
	for (size_t i = 0; i < l->count; i++)
		for (size_t j = 0; j < l->ifs[i].n_addrs; j++)
			if (l->ifs[i].addrs[j].has_broadcast &&
			    same_ip(&l->ifs[i].addrs[j].broadcast, a))
				return true;
	return false;
}

/* The first reason, in the order a user would fix them, or USE. */
static enum uk_iface_skip broadcast_skip(const struct uk_iface *ifc, const char *only)
{
	if (only && strcmp(ifc->name, only) != 0)
		return UK_IFACE_SKIP_FILTER;
	if (ifc->flags & UK_IFACE_LOOPBACK)
		return UK_IFACE_SKIP_LOOPBACK;
	if (!(ifc->flags & UK_IFACE_UP))
		return UK_IFACE_SKIP_DOWN;
	if (!(ifc->flags & UK_IFACE_BROADCAST))
		return UK_IFACE_SKIP_NOBCAST;
	for (size_t j = 0; j < ifc->n_addrs; j++)
		if (ifc->addrs[j].has_broadcast)
			return UK_IFACE_USE;
	return UK_IFACE_SKIP_NOADDR;
}

size_t uk_iface_broadcast_targets(const struct uk_iface_list *l, const char *only_ifname,
				  uint16_t port, struct uk_iface_target *out, size_t cap,
				  enum uk_iface_skip *why)
{
	size_t n = 0;

	for (size_t i = 0; i < l->count; i++) {
		const struct uk_iface *ifc = &l->ifs[i];
		enum uk_iface_skip w = broadcast_skip(ifc, only_ifname);

		if (why)
			why[i] = w;
		if (w != UK_IFACE_USE)
			continue;
		for (size_t j = 0; j < ifc->n_addrs; j++) {
			const struct uk_iface_addr *a = &ifc->addrs[j];
			bool dup = false;

			if (!a->has_broadcast)
				continue;
			/* Two addresses of one subnet share a broadcast: send once. */
			for (size_t k = 0; k < n && !dup; k++)
				dup = out[k].ifindex == ifc->index &&
				      same_ip(&out[k].dst, &a->broadcast);
			if (dup || n == cap)
				continue;
			out[n].dst = a->broadcast;
			uk_addr_set_port(&out[n].dst, port);
			out[n].src = a->addr;
			out[n].ifindex = ifc->index;
			out[n].iface = i;
			n++;
		}
	}
	return n;
}

enum uk_iface_skip uk_iface_multicast_skip(const struct uk_iface *ifc)
{
	if (!(ifc->flags & UK_IFACE_UP))
		return UK_IFACE_SKIP_DOWN;
	if (!(ifc->flags & UK_IFACE_MULTICAST))
		return UK_IFACE_SKIP_NOMCAST;
	return UK_IFACE_USE;
}
