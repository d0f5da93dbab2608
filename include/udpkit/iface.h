/* iface.h: the host's network interfaces as broadcast and multicast see
 * them (name, index, flags, addresses, directed broadcast, MTU), and the
 * pure decision of which interfaces a broadcast goes out of, with the
 * reason for each one skipped. Loading reads the kernel; deciding does not,
 * so the rules are unit-tested with fabricated lists. */
#ifndef UDPKIT_IFACE_H
#define UDPKIT_IFACE_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "udpkit/addr.h"

/* Flags, copied from the kernel's IFF_* into names of our own. */
enum {
	UK_IFACE_UP = 1 << 0,	     /* administratively up (IFF_UP) */
	UK_IFACE_RUNNING = 1 << 1,   /* carrier present (IFF_RUNNING) */
	UK_IFACE_BROADCAST = 1 << 2, /* broadcast-capable (IFF_BROADCAST) */
	UK_IFACE_MULTICAST = 1 << 3, /* multicast-capable (IFF_MULTICAST) */
	UK_IFACE_LOOPBACK = 1 << 4,  /* IFF_LOOPBACK */
	UK_IFACE_P2P = 1 << 5	     /* point-to-point (IFF_POINTOPOINT): tun, ppp */
};

/* Addresses kept per interface; more are counted but not stored. */
#define UK_IFACE_MAX_ADDRS 16

struct uk_iface_addr {
	struct uk_addr addr;	  /* port 0; IPv6 link-local carries its scope id */
	struct uk_addr broadcast; /* IPv4 directed broadcast; valid when has_broadcast */
	unsigned prefix_len;
	bool has_broadcast;
};

struct uk_iface {
	char name[IF_NAMESIZE];
	unsigned index;
	unsigned flags; /* UK_IFACE_* */
	unsigned mtu;	/* 0 when unknown */
	size_t n_addrs;
	size_t n_dropped; /* addresses beyond UK_IFACE_MAX_ADDRS */
	struct uk_iface_addr addrs[UK_IFACE_MAX_ADDRS];
};

struct uk_iface_list {
	struct uk_iface *ifs; /* owned; sorted by index */
	size_t count;
};

/* Reads the interfaces (getifaddrs, SIOCGIFMTU). Alias labels such as
 * "eth0:1" are folded into their device. Returns 0 or -errno; on success
 * free with uk_iface_list_free(). Does not block on the network. */
int uk_iface_list_load(struct uk_iface_list *l);
void uk_iface_list_free(struct uk_iface_list *l);

/* The interface called name, or NULL. */
const struct uk_iface *uk_iface_find(const struct uk_iface_list *l, const char *name);

/* True when a (port ignored) is one of the interfaces' own addresses. */
bool uk_iface_is_local(const struct uk_iface_list *l, const struct uk_addr *a);

/* True when a is 255.255.255.255 or an interface's directed broadcast. */
bool uk_iface_is_broadcast(const struct uk_iface_list *l, const struct uk_addr *a);

/* Why an interface is not used; UK_IFACE_USE when it is. */
enum uk_iface_skip {
	UK_IFACE_USE = 0,
	UK_IFACE_SKIP_FILTER,	/* not the interface asked for with -I */
	UK_IFACE_SKIP_DOWN,	/* not up */
	UK_IFACE_SKIP_LOOPBACK, /* loopback: broadcast never leaves the host */
	UK_IFACE_SKIP_NOBCAST,	/* no IFF_BROADCAST (point-to-point, tun, ...) */
	UK_IFACE_SKIP_NOADDR,	/* no IPv4 address with a broadcast address */
	UK_IFACE_SKIP_NOMCAST,	/* no IFF_MULTICAST */
	UK_IFACE_SKIP_COUNT
};

/* A short English reason, e.g. "loopback", "down". Never NULL. */
const char *uk_iface_skip_text(enum uk_iface_skip why);

/* One place a broadcast is sent: the directed broadcast address of one
 * IPv4 address of one interface. */
struct uk_iface_target {
	struct uk_addr dst; /* directed broadcast, with port */
	struct uk_addr src; /* the interface address it belongs to, port 0 */
	unsigned ifindex;
	size_t iface; /* index into the list's ifs */
};

/* Decides which interfaces a broadcast leaves from: up, broadcast-capable,
 * not loopback, with at least one IPv4 address that has a broadcast
 * address, and named only when only_ifname is non-NULL. why (if non-NULL)
 * gets one reason per interface of l, in order. Writes at most cap
 * targets, one per IPv4 address with a broadcast address (duplicates
 * removed), each with port. Returns the number of targets (0 = nowhere).
 * Pure: reads only l. */
size_t uk_iface_broadcast_targets(const struct uk_iface_list *l, const char *only_ifname,
				  uint16_t port, struct uk_iface_target *out, size_t cap,
				  enum uk_iface_skip *why);

/* Whether multicast can use this interface: up and multicast-capable
 * (loopback is allowed: the kernel loops group traffic back on it). */
enum uk_iface_skip uk_iface_multicast_skip(const struct uk_iface *ifc);

/* Writes "UP,BROADCAST,..." for flags into buf; returns buf. */
char *uk_iface_flags_text(unsigned flags, char *buf, size_t size);

#endif
