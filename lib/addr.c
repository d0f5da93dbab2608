/* addr.c: parsing, printing and classifying socket addresses.
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) show up on dual-stack sockets;
 * every classification looks through them so that rules do not depend on
 * which kind of socket a datagram arrived on. */
#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "udpkit/addr.h"
#include "udpkit/hashkey.h"
#include "udpkit/err.h"

int uk_addr_parse_flags(struct uk_addr *a, const char *host, uint16_t port, int family,
			unsigned flags)
{
	struct addrinfo hints, *res = NULL;
	char service[8];
	int rc;

	memset(a, 0, sizeof(*a));
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICSERV;
	/* AI_NUMERICHOST: getaddrinfo never asks a resolver, so untrusted or
	 * fuzzed text cannot make us send DNS queries. */
	if (flags & UK_ADDR_NUMERIC)
		hints.ai_flags |= AI_NUMERICHOST;
	snprintf(service, sizeof(service), "%u", (unsigned)port);
	rc = getaddrinfo(host, service, &hints, &res);
	if (rc != 0) {
		if (flags & UK_ADDR_NUMERIC)
			return UK_EPARSE;
		return rc == EAI_NONAME || rc == EAI_NODATA || rc == EAI_FAIL ? UK_ENOTFOUND
									      : UK_EPARSE;
	}
	if (res->ai_addrlen > sizeof(a->u)) {
		freeaddrinfo(res);
		return UK_EPARSE;
	}
	memcpy(&a->u, res->ai_addr, res->ai_addrlen);
	a->len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int uk_addr_parse(struct uk_addr *a, const char *host, uint16_t port, int family)
{
	return uk_addr_parse_flags(a, host, port, family, 0);
}

int uk_addr_parse_hostport(struct uk_addr *a, const char *text, uint16_t default_port, int family)
{
	return uk_addr_parse_hostport_flags(a, text, default_port, family, 0);
}

int uk_addr_parse_hostport_flags(struct uk_addr *a, const char *text, uint16_t default_port,
				 int family, unsigned flags)
{
	char host[256];
	const char *port_text = NULL, *colon;
	size_t host_len;

	if (text[0] == '[') {
		const char *end = strchr(text, ']');
		if (!end)
			return UK_EPARSE;
		host_len = (size_t)(end - text - 1);
		if (host_len >= sizeof(host))
			return UK_EPARSE;
		memcpy(host, text + 1, host_len);
		host[host_len] = '\0';
		if (end[1] == ':')
			port_text = end + 2;
		else if (end[1] != '\0')
			return UK_EPARSE;
	} else {
		colon = strchr(text, ':');
		/* More than one colon is a bare IPv6 address without a port. */
		if (colon && !strchr(colon + 1, ':')) {
			host_len = (size_t)(colon - text);
			port_text = colon + 1;
		} else {
			host_len = strlen(text);
		}
		if (host_len >= sizeof(host))
			return UK_EPARSE;
		memcpy(host, text, host_len);
		host[host_len] = '\0';
	}
	if (port_text) {
		char *end;
		unsigned long v;
		if (*port_text < '0' || *port_text > '9')
			return UK_EPARSE;
		v = strtoul(port_text, &end, 10);
		if (*end != '\0' || v > 65535)
			return UK_EPARSE;
		default_port = (uint16_t)v;
	}
	return uk_addr_parse_flags(a, host, default_port, family, flags);
}

/* The IPv4 address inside a, looking through v4-mapped v6; false if none. */
static bool as_ipv4(const struct uk_addr *a, uint32_t *ip_host_order)
{
	if (a->u.sa.sa_family == AF_INET) {
		*ip_host_order = ntohl(a->u.in.sin_addr.s_addr);
		return true;
	}
	if (a->u.sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&a->u.in6.sin6_addr)) {
		uint32_t v;
		memcpy(&v, &a->u.in6.sin6_addr.s6_addr[12], 4);
		*ip_host_order = ntohl(v);
		return true;
	}
	return false;
}

char *uk_addr_ip(const struct uk_addr *a, char *buf, size_t size)
{
	uint32_t v4;
	char text[INET6_ADDRSTRLEN] = "?";

	if (as_ipv4(a, &v4)) {
		struct in_addr in = {.s_addr = htonl(v4)};
		inet_ntop(AF_INET, &in, text, sizeof(text));
		snprintf(buf, size, "%s", text);
	} else if (a->u.sa.sa_family == AF_INET6) {
		char ifname[IF_NAMESIZE] = "";
		const struct in6_addr *in6 = &a->u.in6.sin6_addr;
		uint32_t scope = a->u.in6.sin6_scope_id;
		inet_ntop(AF_INET6, in6, text, sizeof(text));
		/* getaddrinfo() takes an interface name as the scope of link-local
		 * addresses only; otherwise print the number, so that what we
		 * print always parses back to the same address. */
		if (scope &&
		    (IN6_IS_ADDR_LINKLOCAL(in6) || IN6_IS_ADDR_MC_LINKLOCAL(in6) ||
		     IN6_IS_ADDR_MC_NODELOCAL(in6)) &&
		    if_indextoname(scope, ifname))
			snprintf(buf, size, "%s%%%s", text, ifname);
		else if (scope)
			snprintf(buf, size, "%s%%%u", text, (unsigned)scope);
		else
			snprintf(buf, size, "%s", text);
	} else {
		snprintf(buf, size, "?");
	}
	return buf;
}

char *uk_addr_format(const struct uk_addr *a, char *buf, size_t size)
{
	char ip[UK_ADDR_STRLEN];
	uint32_t v4;

	uk_addr_ip(a, ip, sizeof(ip));
	if (a->u.sa.sa_family == AF_INET6 && !as_ipv4(a, &v4))
		snprintf(buf, size, "[%s]:%u", ip, (unsigned)uk_addr_port(a));
	else
		snprintf(buf, size, "%s:%u", ip, (unsigned)uk_addr_port(a));
	return buf;
}

uint16_t uk_addr_port(const struct uk_addr *a)
{
	if (a->u.sa.sa_family == AF_INET)
		return ntohs(a->u.in.sin_port);
	if (a->u.sa.sa_family == AF_INET6)
		return ntohs(a->u.in6.sin6_port);
	return 0;
}

void uk_addr_set_port(struct uk_addr *a, uint16_t port)
{
	if (a->u.sa.sa_family == AF_INET)
		a->u.in.sin_port = htons(port);
	else if (a->u.sa.sa_family == AF_INET6)
		a->u.in6.sin6_port = htons(port);
}

int uk_addr_family(const struct uk_addr *a)
{
	return a->u.sa.sa_family;
}

void uk_addr_any(struct uk_addr *a, int family, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	if (family == AF_INET6) {
		a->u.in6.sin6_family = AF_INET6;
		a->u.in6.sin6_addr = in6addr_any;
		a->len = sizeof(a->u.in6);
	} else {
		a->u.in.sin_family = AF_INET;
		a->u.in.sin_addr.s_addr = htonl(INADDR_ANY);
		a->len = sizeof(a->u.in);
	}
	uk_addr_set_port(a, port);
}

void uk_addr_loopback(struct uk_addr *a, int family, uint16_t port)
{
	uk_addr_any(a, family, port);
	if (family == AF_INET6)
		a->u.in6.sin6_addr = in6addr_loopback;
	else
		a->u.in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

bool uk_addr_is_loopback(const struct uk_addr *a)
{
	uint32_t v4;
	if (as_ipv4(a, &v4))
		return (v4 >> 24) == 127;
	return a->u.sa.sa_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&a->u.in6.sin6_addr);
}

bool uk_addr_is_multicast(const struct uk_addr *a)
{
	uint32_t v4;
	if (as_ipv4(a, &v4))
		return (v4 >> 28) == 0xe;
	return a->u.sa.sa_family == AF_INET6 && IN6_IS_ADDR_MULTICAST(&a->u.in6.sin6_addr);
}

bool uk_addr_is_unspecified(const struct uk_addr *a)
{
	uint32_t v4;
	if (as_ipv4(a, &v4))
		return v4 == 0;
	if (a->u.sa.sa_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&a->u.in6.sin6_addr);
	return true;
}

bool uk_addr_is_limited_broadcast(const struct uk_addr *a)
{
	uint32_t v4;
	return as_ipv4(a, &v4) && v4 == 0xffffffffu;
}

bool uk_addr_same_host(const struct uk_addr *a, const struct uk_addr *b)
{
	uint32_t x, y;
	if (as_ipv4(a, &x) && as_ipv4(b, &y))
		return x == y;
	if (a->u.sa.sa_family != AF_INET6 || b->u.sa.sa_family != AF_INET6)
		return false;
	return memcmp(&a->u.in6.sin6_addr, &b->u.in6.sin6_addr, 16) == 0 &&
	       a->u.in6.sin6_scope_id == b->u.in6.sin6_scope_id;
}

bool uk_addr_equal(const struct uk_addr *a, const struct uk_addr *b)
{
	return uk_addr_same_host(a, b) && uk_addr_port(a) == uk_addr_port(b);
}

/* The canonical bytes of a's host (IPv4, v4-mapped seen through, or
 * IPv6), then its port when with_port: what the keyed hash takes. */
static size_t key_bytes(const struct uk_addr *a, bool with_port, unsigned char bytes[18])
{
	size_t n;
	uint32_t v4;
	uint16_t port = uk_addr_port(a);

	if (as_ipv4(a, &v4)) {
		bytes[0] = (unsigned char)(v4 >> 24);
		bytes[1] = (unsigned char)(v4 >> 16);
		bytes[2] = (unsigned char)(v4 >> 8);
		bytes[3] = (unsigned char)v4;
		n = 4;
	} else {
		memcpy(bytes, &a->u.in6.sin6_addr, 16);
		n = 16;
	}
	if (with_port) {
		bytes[n++] = (unsigned char)(port >> 8);
		bytes[n++] = (unsigned char)port;
	}
	return n;
}

uint64_t uk_addr_hash(const struct uk_addr *a)
{
	unsigned char bytes[18];
	/* Keyed (lib/hashkey.c): the sender picks its address and port, and
	 * an unkeyed hash would let it pick ones that collide. */
	return uk_hash(bytes, key_bytes(a, true, bytes));
}

uint64_t uk_addr_host_hash(const struct uk_addr *a)
{
	unsigned char bytes[18];
	return uk_hash(bytes, key_bytes(a, false, bytes));
}
