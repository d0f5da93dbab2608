/* Fuzz target: a room member's decrypting receive path (uk_room_receive:
 * open, kinds, restart challenge, answers, replay window, timestamp bound)
 * on a virtual clock. The first input byte picks:
 *   even: without the seam: the rest is a stream of datagrams (2-byte
 *         length, bytes) from the LAN; the member's key is one the input
 *         cannot know, so nothing may ever be delivered;
 *   odd:  with the seam (a fixed key, uk_room_key_from_raw, and the member's
 *         session set to a known value): the rest is a stream of records
 *         (kind, session 0-4, seq, time, clock step, flip, payload) that
 *         are sealed with the room's key, optionally bit-flipped, and
 *         received: the fuzzer reaches past authentication to challenges,
 *         answers (4 is the member's own session, so answers can echo it)
 *         and the window. A flipped datagram never delivers; a delivered
 *         payload is exactly what was sealed; no (session, seq) is ever
 *         delivered twice.
 * Never crashes, leaks or reads past the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "udpkit/room.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t raw_key[32] = "0123456789abcdef0123456789abcdef";
static const uint8_t other_key[32] = "fedcba9876543210fedcba9876543210";
static const uint8_t sessions[5][UK_ROOM_SESSION_LEN] = {"sess-0", "sess-1", "sess-2", "sess-3",
							 "member"};
static uint8_t dgram[4096];
static size_t sent;

static void count_send(void *ctx, const struct uk_addr *to, const void *d, size_t n)
{
	(void)ctx;
	(void)to;
	(void)d;
	(void)n;
	sent++;
}

static void lan(struct uk_room *m, const struct uk_addr *from, const uint8_t *p, size_t n)
{
	uint64_t now = 1;
	while (n >= 2) {
		size_t len = (size_t)p[0] << 8 | p[1];
		const uint8_t *pl;
		size_t pn;
		p += 2, n -= 2;
		if (len > n)
			len = n;
		if (uk_room_receive(m, from, p, len, now, &pl, &pn) == 1)
			abort(); /* delivered without the key */
		p += len, n -= len;
		now += 1000000;
	}
}

static void sealed(struct uk_room *m, const struct uk_addr *from, const uint8_t *p, size_t n)
{
	static uint8_t delivered[5][256]; /* per session, seq < 256 */
	struct uk_room_key *key;
	uint64_t now = 1;

	memset(delivered, 0, sizeof(delivered));
	if (uk_room_key_from_raw(&key, "fuzz", raw_key) < 0)
		abort();
	while (n >= 7) {
		struct uk_room_inner in = {.kind = p[0] % 5, .flags = 0};
		unsigned s = p[1] % 5;
		size_t plen = p[6] % 64, flip = p[5];
		const uint8_t *pl;
		size_t pn;
		memcpy(in.session, sessions[s], UK_ROOM_SESSION_LEN);
		in.seq = p[2];
		in.time_ms = (uint64_t)p[3] * 1000;
		now += (uint64_t)p[4] * 10000000;
		p += 7, n -= 7;
		if (plen > n)
			plen = n;
		in.payload = p;
		in.payload_len = plen;
		long len = uk_room_seal(key, &in, 0, dgram, sizeof(dgram));
		if (len < 0)
			abort();
		if (flip)
			dgram[(flip * 7) % (size_t)len] ^= (uint8_t)(1u << (flip % 8));
		int r = uk_room_receive(m, from, dgram, (size_t)len, now, &pl, &pn);
		if (r == 1) {
			if (flip || in.kind != UK_ROOM_KIND_DATA || pn != plen ||
			    memcmp(pl, p, plen) != 0 || delivered[s][in.seq])
				abort();
			delivered[s][in.seq] = 1;
		}
		p += plen, n -= plen;
	}
	uk_room_key_free(key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uk_room m;
	struct uk_room_key *key;
	struct uk_addr from;

	if (size == 0)
		return 0;
	uk_addr_loopback(&from, AF_INET, 2425);
	if (uk_room_key_from_raw(&key, "fuzz", data[0] & 1 ? raw_key : other_key) < 0 ||
	    uk_room_init(&m, key, data[0] & 2 ? 64 : 0, count_send, NULL, 1) < 0)
		abort();
	/* The seam: a known session, so that answers can echo it. */
	memcpy(m.session, sessions[4], UK_ROOM_SESSION_LEN);
	if (data[0] & 1)
		sealed(&m, &from, data + 1, size - 1);
	else
		lan(&m, &from, data + 1, size - 1);
	uk_room_free(&m);
	return 0;
}
