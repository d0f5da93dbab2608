/* responders.h: the replies a broadcast collects, one entry per responder
 * (address and port), with its first reply and round-trip time, and a
 * count of duplicates. It also recognises the sender's own datagram
 * looped back to it (a socket bound to the port it broadcasts to hears
 * itself), which is never a reply. Pure: addresses, bytes and times in. */
#ifndef UDPKIT_RESPONDERS_H
#define UDPKIT_RESPONDERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "udpkit/addr.h"
#include "udpkit/iface.h"

/* Reply bytes kept per responder (the rest is counted, not kept). */
#define UK_RESPONDER_KEEP 512

struct uk_responder {
	struct uk_addr addr;
	uint64_t rtt_ns;  /* of the first reply */
	uint64_t replies; /* all replies, duplicates included */
	size_t len;	  /* bytes kept in reply */
	size_t wire_len;  /* the first reply's real size */
	unsigned char reply[UK_RESPONDER_KEEP];
};

struct uk_responders {
	struct uk_responder *items; /* owned */
	size_t count, cap, max;
	size_t *index, index_size; /* owned: item + 1 by keyed address hash */
	uint64_t duplicates, own, overflow;
	struct uk_addr self;		 /* our socket's address and port */
	const struct uk_iface_list *ifs; /* borrowed, may be NULL */
	const unsigned char *sent;	 /* borrowed: the datagram last sent */
	size_t sent_len;
};

enum uk_responders_result {
	UK_RESP_NEW = 0, /* a first reply from a new responder */
	UK_RESP_DUP,	 /* another reply from a known responder */
	UK_RESP_OWN,	 /* our own datagram, looped back */
	UK_RESP_FULL	 /* more than max responders: counted, not kept */
};

/* self: our socket's bound address (port matters); ifs: the host's
 * addresses, to recognise our own source when bound to a wildcard.
 * max: responders kept (0 = 65536). Allocation grows on demand. */
void uk_responders_init(struct uk_responders *r, const struct uk_addr *self,
			const struct uk_iface_list *ifs, size_t max);
void uk_responders_free(struct uk_responders *r);

/* Sets the datagram just sent (borrowed until the next call or free). */
void uk_responders_sent(struct uk_responders *r, const void *buf, size_t len);

/* Forgets responders and counters (for the next message). */
void uk_responders_clear(struct uk_responders *r);

/* True when a datagram is our own looped back: from our port on one of
 * our addresses, carrying exactly what we sent last. */
bool uk_responders_is_own(const struct uk_responders *r, const struct uk_addr *src, const void *buf,
			  size_t len, size_t wire_len);

/* Accounts one received datagram. A datagram is our own when it comes
 * from our port on one of our addresses and carries exactly what we sent.
 * Returns a UK_RESP_* result, or -ENOMEM. */
int uk_responders_add(struct uk_responders *r, const struct uk_addr *src, const void *buf,
		      size_t len, size_t wire_len, uint64_t rtt_ns);

#endif
