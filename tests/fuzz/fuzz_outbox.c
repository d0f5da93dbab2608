/* Fuzz target: the chat's outbox (lib/outbox.c) driven directly by
 * arbitrary events: messages added to any of a few peers with chosen
 * packet numbers, receipts from any peer for any number (forged, late,
 * duplicated), time passing and polls, drains. Checked: every message
 * added settles exactly once (a receipt, a give-up, a drain or the final
 * free), never twice and never lost; resends carry the bytes added; the
 * outbox never holds more than its capacity and count matches its items;
 * -ENOSPC only when full; the deadline is never in the past after a poll
 * that returned 0.
 *
 * Input: byte 0 = capacity - 1 (0..15), byte 1 = tries - 1 (0..7); then
 * events of 4 bytes: op, peer, number, arg. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "udpkit/outbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NPEER 4
#define MAXMSG 4096

static const char *const peers[NPEER] = {"127.0.0.1:2425", "127.0.0.1:2426", "10.0.0.1:2425",
					 "[::1]:2425"};

/* The checks are not instrumented: they are much of the work of each run
 * and their branches are no coverage of the code under test. */
#define MODEL __attribute__((no_sanitize("coverage"), noinline))

/* Per message added: 0 unused, 1 waiting, 2 settled. Users point here. */
static uint8_t state[MAXMSG];
static uint8_t payload[MAXMSG]; /* each message's one data byte */

static void settle(void *user)
{
	uint8_t *st = user;
	if (*st != 1)
		abort(); /* settled twice, or never added */
	*st = 2;
}

MODEL static void check(const struct uk_outbox *ob)
{
	size_t used = 0;
	for (size_t i = 0; i < ob->cfg.capacity; i++)
		used += ob->items[i].used;
	if (used != ob->count || ob->count > ob->cfg.capacity)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct uk_addr addrs[NPEER];
	static bool ready;
	struct uk_outbox ob;
	struct uk_outbox_action act;
	uint64_t now = 1000000000ull;
	size_t added = 0;

	if (!ready) {
		for (int i = 0; i < NPEER; i++)
			if (uk_addr_parse_hostport_flags(&addrs[i], peers[i], 0, AF_UNSPEC,
							 UK_ADDR_NUMERIC) < 0)
				abort();
		ready = true;
	}
	if (size < 2)
		return 0;
	struct uk_outbox_cfg cfg = {.rto_first_ns = 1000000,
				    .rto_max_ns = 8000000,
				    .max_tries = (unsigned)(data[1] & 7) + 1,
				    .capacity = (size_t)(data[0] & 15) + 1};
	if (uk_outbox_init(&ob, &cfg) < 0)
		abort();
	for (size_t off = 2; off + 4 <= size; off += 4) {
		uint8_t op = data[off] & 7;
		const struct uk_addr *peer = &addrs[data[off + 1] & (NPEER - 1)];
		uint64_t no = data[off + 2];
		uint8_t arg = data[off + 3];
		void *user = NULL;
		unsigned tries = 0;
		uint64_t first = 0;
		int rc;

		switch (op) {
		case 0:
		case 1: /* add */
			if (added == MAXMSG)
				break;
			payload[added] = arg;
			state[added] = 1;
			rc = uk_outbox_add(&ob, peer, no, &payload[added], 1, &state[added], now);
			if (rc == 0) {
				added++;
			} else {
				state[added] = 0;
				if (rc == -ENOSPC && ob.count != ob.cfg.capacity)
					abort();
				if (rc != -ENOSPC && rc != -EEXIST)
					abort();
			}
			break;
		case 2: /* a receipt, maybe forged */
			rc = uk_outbox_ack(&ob, peer, no, &user, &tries, &first);
			if (rc == 1) {
				settle(user);
				if (tries < 1 || tries > cfg.max_tries || first > now)
					abort();
			} else if (rc != 0) {
				abort();
			}
			break;
		case 3:
		case 4: /* time passes, then every due action */
			now += (uint64_t)arg * 100000;
			while (uk_outbox_poll(&ob, now, &act) == 1) {
				if (act.what == UK_OUTBOX_GIVE_UP) {
					if (act.tries != cfg.max_tries)
						abort();
					settle(act.user);
				} else if (act.what != UK_OUTBOX_RESEND || act.len != 1 ||
					   act.tries > cfg.max_tries) {
					abort();
				}
			}
			if (uk_outbox_deadline(&ob) <= now)
				abort();
			break;
		case 5: /* one drain step (quit) */
			if (uk_outbox_drain(&ob, &act) == 1)
				settle(act.user);
			break;
		default:
			if (uk_outbox_deadline(&ob) != UINT64_MAX && ob.count == 0)
				abort();
			break;
		}
		check(&ob);
	}
	uk_outbox_free(&ob, settle);
	for (size_t i = 0; i < added; i++)
		if (state[i] != 2)
			abort(); /* lost: neither delivered nor given back */
	if (ob.delivered + ob.given_up > added)
		abort();
	return 0;
}
