/* test_addrs.h: addresses for unit tests, built without a parser. */
#ifndef UDPKIT_TEST_ADDRS_H
#define UDPKIT_TEST_ADDRS_H

#include <string.h>
#include <arpa/inet.h>

#include "udpkit/addr.h"

/* The IPv4 address ip (host order) and port. */
static inline struct uk_addr test_v4(uint32_t ip, uint16_t port)
{
	struct uk_addr a;
	memset(&a, 0, sizeof(a));
	a.u.in.sin_family = AF_INET;
	a.u.in.sin_addr.s_addr = htonl(ip);
	a.u.in.sin_port = htons(port);
	a.len = sizeof(a.u.in);
	return a;
}

#endif
