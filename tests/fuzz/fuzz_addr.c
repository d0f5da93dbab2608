/* Fuzz target: uk_addr_parse_hostport_flags() in numeric-only mode
 * (AI_NUMERICHOST, so no input can make it send a DNS query). Whatever
 * parses must print with uk_addr_format() and parse back to an equal
 * address, with the same hash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "udpkit/addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int families[] = {AF_UNSPEC, AF_INET, AF_INET6};
	char text[512], printed[UK_ADDR_STRLEN], ip[UK_ADDR_STRLEN];
	struct uk_addr a, b;

	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
		if (uk_addr_parse_hostport_flags(&a, text, 4242, families[f], UK_ADDR_NUMERIC) != 0)
			continue;
		if (families[f] != AF_UNSPEC && uk_addr_family(&a) != families[f])
			abort();
		uk_addr_format(&a, printed, sizeof(printed));
		uk_addr_ip(&a, ip, sizeof(ip));
		if (uk_addr_parse_hostport_flags(&b, printed, 1, AF_UNSPEC, UK_ADDR_NUMERIC) != 0 ||
		    !uk_addr_equal(&a, &b) || uk_addr_hash(&a) != uk_addr_hash(&b))
			abort();
		/* Classifications never contradict each other. */
		if (uk_addr_is_loopback(&a) &&
		    (uk_addr_is_multicast(&a) || uk_addr_is_unspecified(&a) ||
		     uk_addr_is_limited_broadcast(&a)))
			abort();
	}
	return 0;
}
