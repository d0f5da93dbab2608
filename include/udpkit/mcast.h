/* mcast.h: multicast socket options, IPv4 and IPv6 alike: joining groups
 * on one interface, hearing only the groups joined, choosing the outgoing
 * interface. (Leaving a group is closing the socket.) Each call is
 * one or two setsockopt()s; the family comes from the group or the socket. */
#ifndef UDPKIT_MCAST_H
#define UDPKIT_MCAST_H

#include <stdbool.h>

#include "udpkit/addr.h"

/* Joins group on interface ifindex (0 lets the kernel pick by route, which
 * for IPv4 needs a multicast route: ENODEV otherwise). An IPv4 group on an
 * IPv6 socket is joined with the IPv4 option, which Linux accepts on
 * dual-stack sockets. Returns 0 or -errno (EADDRINUSE: already joined). */
int uk_mcast_join(int fd, const struct uk_addr *group, unsigned ifindex);

/* IP_MULTICAST_ALL and IPV6_MULTICAST_ALL (Linux): when on (the kernel's
 * default), a socket bound to a wildcard address receives every group that
 * any socket on the host joined. udpkit turns it off, so a listener hears
 * only what it asked for. family is the socket's. Returns 0 or -errno. */
int uk_mcast_set_all(int fd, int family, bool on);

/* Outgoing interface for multicast (IP_MULTICAST_IF with ip_mreqn,
 * IPV6_MULTICAST_IF). Returns 0 or -errno. */
int uk_mcast_set_if(int fd, int family, unsigned ifindex);

/* True when the address bytes of a equal b's, port and scope id ignored:
 * how a datagram's destination (from pktinfo) is matched to a group. */
bool uk_mcast_same_group(const struct uk_addr *a, const struct uk_addr *b);

#endif
