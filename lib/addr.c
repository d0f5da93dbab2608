/* addr.c: parsing, printing and classifying socket addresses.
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) show up on dual-stack sockets;
 * every classification looks through them so that rules do not depend on
 * which kind of socket a datagram arrived on. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "udpkit/addr.h"
#include "udpkit/hashkey.h"
#include "udpkit/err.h"

int uk_addr_gai_error(int eai, int sys_errno)
{
	switch (eai) {
	case EAI_NONAME:
#ifdef EAI_NODATA
	case EAI_NODATA:
#endif
		return UK_ENOTFOUND;
	case EAI_AGAIN:
	case EAI_FAIL:
		/* EAI_AGAIN: no server answered (resolv.conf points nowhere, no
		 * network); EAI_FAIL: a server refused for good. Either way the
		 * host may well exist: say that the lookup failed, not the host. */
		return UK_ENAMESERVICE;
#ifdef EAI_ADDRFAMILY
	case EAI_ADDRFAMILY:
#endif
	case EAI_FAMILY:
		return UK_EFAMILY;
	case EAI_MEMORY:
		return -ENOMEM;
	case EAI_SYSTEM:
		return sys_errno > 0 ? -sys_errno : UK_EPARSE;
	default:
		return UK_EPARSE;
	}
}

static int lookup(struct uk_addr *a, const char *host, uint16_t port, int family, unsigned flags)
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
	if (rc != 0)
		return uk_addr_gai_error(rc, errno);
	if (res->ai_addrlen > sizeof(a->u)) {
		freeaddrinfo(res);
		return UK_EPARSE;
	}
	memcpy(&a->u, res->ai_addr, res->ai_addrlen);
	a->len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int uk_addr_parse_flags(struct uk_addr *a, const char *host, uint16_t port, int family,
			unsigned flags)
{
	struct uk_addr other;
	int rc = lookup(a, host, port, family, flags);

	if (rc == 0 || (flags & UK_ADDR_NUMERIC))
		return rc == 0 ? 0 : UK_EPARSE;
	/* "-4 ::1" fails as "no such host"; what went wrong is the family. */
	if (rc == UK_ENOTFOUND && family != AF_UNSPEC &&
	    lookup(&other, host, port, AF_UNSPEC, flags) == 0)
		return UK_EFAMILY;
	return rc;
}

int uk_addr_parse(struct uk_addr *a, const char *host, uint16_t port, int family)
{
	return uk_addr_parse_flags(a, host, port, family, 0);
}

int uk_addr_parse_hostport(struct uk_addr *a, const char *text, uint16_t default_port, int family)
{
	return uk_addr_parse_hostport_flags(a, text, default_port, family, 0);
}

static bool is_ipv6(const char *text)
{
	struct in6_addr in6;
	char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	size_t len = strcspn(text, "%"); /* a scope ("fe80::1%eth0") is not inet_pton's */

	if (len >= sizeof(buf))
		return false;
	memcpy(buf, text, len);
	buf[len] = '\0';
	return inet_pton(AF_INET6, buf, &in6) == 1;
}

static int parse_port(const char *text, uint16_t *port)
{
	unsigned long v = 0;

	if (!*text)
		return UK_EPARSE;
	for (const char *p = text; *p; p++) {
		if (*p < '0' || *p > '9')
			return UK_EPARSE;
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > 65535)
			return UK_ERANGE_;
	}
	*port = (uint16_t)v;
	return 0;
}

static int copy_host(char *host, size_t size, const char *text, size_t len)
{
	if (len == 0 || len >= size)
		return UK_EPARSE;
	memcpy(host, text, len);
	host[len] = '\0';
	return 0;
}

int uk_addr_split(const char *text, char *host, size_t host_size, uint16_t *port, bool *has_port)
{
	const char *colon;

	*has_port = false;
	if (text[0] == '[') {
		const char *end = strchr(text, ']');
		int rc;
		if (!end || copy_host(host, host_size, text + 1, (size_t)(end - text - 1)) < 0)
			return UK_EPARSE;
		if (end[1] == '\0')
			return 0;
		if (end[1] != ':')
			return UK_EPARSE;
		rc = parse_port(end + 2, port);
		*has_port = rc == 0;
		return rc;
	}
	colon = strrchr(text, ':');
	if (!colon)
		return copy_host(host, host_size, text, strlen(text));
	if (strchr(text, ':') == colon) {
		/* One colon: HOST:PORT. */
		int rc = copy_host(host, host_size, text, (size_t)(colon - text));
		if (rc == 0)
			rc = parse_port(colon + 1, port);
		*has_port = rc == 0;
		return rc;
	}
	/* Several colons: a bare IPv6 address. When the part before the last
	 * colon is an address too and the rest a port number, both readings
	 * are plausible; refuse to guess. A one-digit last group ("ff02::77:1")
	 * is taken for the address: ports below 10 are not what people type. */
	if (copy_host(host, host_size, text, strlen(text)) < 0)
		return UK_EPARSE;
	if (is_ipv6(text) && strlen(colon + 1) >= 2 &&
	    strspn(colon + 1, "0123456789") == strlen(colon + 1)) {
		char prefix[INET6_ADDRSTRLEN + 1];
		size_t len = (size_t)(colon - text);
		if (len < sizeof(prefix)) {
			memcpy(prefix, text, len);
			prefix[len] = '\0';
			if (is_ipv6(prefix))
				return UK_EAMBIGUOUS;
		}
	}
	return 0;
}

int uk_addr_parse_hostport_flags(struct uk_addr *a, const char *text, uint16_t default_port,
				 int family, unsigned flags)
{
	char host[256];
	uint16_t port = default_port;
	bool has_port;
	int rc = uk_addr_split(text, host, sizeof(host), &port, &has_port);

	if (rc < 0)
		return rc;
	return uk_addr_parse_flags(a, host, port, family, flags);
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
