/* Fuzz target: every datagram the chat receives goes through
 * uk_ipmsg_classify/parse and then the whole engine (uk_chat_on_datagram),
 * so both are fuzzed: no crash, no leak, and a parsed SENDMSG rebuilds to a
 * packet that parses to the same number and text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "udpkit/chat.h"
#include "udpkit/ipmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void no_send(void *ctx, const struct uk_addr *to, const void *d, size_t len)
{
	(void)ctx, (void)to, (void)d, (void)len;
}

static void no_event(void *ctx, const struct uk_chat_event *ev)
{
	(void)ctx, (void)ev;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct uk_chat chat;
	static bool ready;
	static uint64_t now = 1;
	struct uk_ipmsg m;
	struct uk_addr src;

	if (!ready) {
		struct uk_addr self;
		uk_addr_parse(&self, "10.0.0.1", 2425, 0);
		struct uk_chat_cfg cfg = {.user_name = "u",
					  .host_name = "h",
					  .nick = "n",
					  .self = self,
					  .send = no_send,
					  .event = no_event};
		if (uk_chat_init(&chat, &cfg, 0) < 0)
			abort();
		ready = true;
	}
	if (uk_ipmsg_classify(data, size) && uk_ipmsg_parse(data, size, &m) == 0 &&
	    UK_IPMSG_MODE(m.command) == UK_IPMSG_SENDMSG &&
	    !memchr(m.parts[0].p, 0, m.parts[0].len)) {
		struct uk_ipmsg_ident id;
		struct uk_ipmsg back;
		unsigned char *out = malloc(size + 64);
		uk_ipmsg_ident_set(&id, "u", "h", "n", "g");
		int n = uk_ipmsg_build_sendmsg(out, size + 64, &id, m.packet_no, m.parts[0].p,
					       m.parts[0].len);
		if (n < 0 || uk_ipmsg_parse(out, (size_t)n, &back) != 0 ||
		    back.packet_no != m.packet_no || back.parts[0].len != m.parts[0].len ||
		    memcmp(back.parts[0].p, m.parts[0].p, m.parts[0].len) != 0)
			abort();
		free(out);
	}
	/* Vary the source a little so the peer table and dedup fill up. */
	uk_addr_parse(&src, size && data[0] & 1 ? "10.0.0.2" : "10.0.0.3",
		      (uint16_t)(2000 + size % 7), 0);
	uk_chat_on_datagram(&chat, &src, data, size, size, now);
	now += 1000000;
	uk_chat_tick(&chat, now);
	return 0;
}
