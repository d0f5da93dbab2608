/* addr.h: socket addresses, IPv4 and IPv6, parsed and printed one way
 * everywhere, and the classifications the safety rules need. */
#ifndef UDPKIT_ADDR_H
#define UDPKIT_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

struct uk_addr {
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
		struct sockaddr_storage ss;
	} u;
	socklen_t len;
};

/* Longest text uk_addr_format() writes: "[v6%ifname]:65535" and a NUL. */
#define UK_ADDR_STRLEN (INET6_ADDRSTRLEN + 32)

/* Parses host (numeric IPv4/IPv6, "v6%if", or a name resolved with
 * getaddrinfo) and port into a. family is AF_UNSPEC, AF_INET or AF_INET6.
 * Returns 0, UK_EPARSE or UK_ENOTFOUND. May block on DNS for names. */
int uk_addr_parse(struct uk_addr *a, const char *host, uint16_t port, int family);

/* Parses "HOST", "HOST:PORT", "[V6]" or "[V6]:PORT"; default_port is used
 * when no port is given. Returns as uk_addr_parse(). */
int uk_addr_parse_hostport(struct uk_addr *a, const char *text, uint16_t default_port, int family);

/* Flags for the _flags variants. UK_ADDR_NUMERIC accepts numeric addresses
 * only (AI_NUMERICHOST): never blocks, never sends a DNS query; anything
 * else is UK_EPARSE. For text from the network or a fuzzer. */
#define UK_ADDR_NUMERIC 0x1u
int uk_addr_parse_flags(struct uk_addr *a, const char *host, uint16_t port, int family,
			unsigned flags);
int uk_addr_parse_hostport_flags(struct uk_addr *a, const char *text, uint16_t default_port,
				 int family, unsigned flags);

/* Writes "1.2.3.4:80" or "[::1]:80" into buf. Returns buf. */
char *uk_addr_format(const struct uk_addr *a, char *buf, size_t size);
/* Writes the address alone, "1.2.3.4" or "::1" (v4-mapped shown as v4). */
char *uk_addr_ip(const struct uk_addr *a, char *buf, size_t size);

uint16_t uk_addr_port(const struct uk_addr *a);
void uk_addr_set_port(struct uk_addr *a, uint16_t port);
int uk_addr_family(const struct uk_addr *a);
/* Fills a with the wildcard or loopback address of family for port. */
void uk_addr_any(struct uk_addr *a, int family, uint16_t port);
void uk_addr_loopback(struct uk_addr *a, int family, uint16_t port);

/* Classifications. IPv4-mapped IPv6 addresses are classified as IPv4. */
bool uk_addr_is_loopback(const struct uk_addr *a);
bool uk_addr_is_multicast(const struct uk_addr *a);
bool uk_addr_is_unspecified(const struct uk_addr *a);
/* 255.255.255.255 only: a directed broadcast needs the interface list. */
bool uk_addr_is_limited_broadcast(const struct uk_addr *a);

/* Same family, address and port (scope id for link-local v6). */
bool uk_addr_equal(const struct uk_addr *a, const struct uk_addr *b);
/* Same address, port ignored. */
bool uk_addr_same_host(const struct uk_addr *a, const struct uk_addr *b);
/* A hash of address and port, for per-source tables; keyed with the
 * process's random key (hashkey.h), so senders cannot choose collisions.
 * Equal addresses (v4-mapped or not) hash equal within one process. */
uint64_t uk_addr_hash(const struct uk_addr *a);

/* The same for the host alone, whatever the port: per-address tables. */
uint64_t uk_addr_host_hash(const struct uk_addr *a);

#endif
