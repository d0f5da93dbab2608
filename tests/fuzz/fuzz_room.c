/* Fuzz target: the decrypting receive path of private rooms, with a fixed
 * key (uk_room_key_from_raw, the test seam) so the fuzzer reaches past
 * authentication as well as failing it. The first input byte picks:
 *   0: open the rest as a datagram, as a member receives it from the LAN;
 *   1: seal the rest as a payload, apply edits (the fuzzer's next bytes
 *      as offset/xor pairs), open: only an unchanged datagram opens, and
 *      then to exactly the payload;
 *   2: feed the rest to the replay window as (session, sequence) records:
 *      the window's verdicts are checked against an exact model.
 * Never crashes, never reads past the input, and never opens a forgery. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "udpkit/replay.h"
#include "udpkit/room.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t raw_key[32] = "0123456789abcdef0123456789abcdef";
static struct uk_room_key *key;
static uint8_t dgram[65536], plain[65536];

static void open_any(const uint8_t *p, size_t n)
{
	struct uk_room_inner in;
	if (uk_room_open(key, p, n, plain, sizeof(plain), &in) == UK_ROOM_OPENED &&
	    (in.payload < plain || in.payload + in.payload_len > plain + sizeof(plain)))
		abort();
}

static void seal_edit_open(const uint8_t *p, size_t n)
{
	size_t edits = n > 0 ? p[0] % 4 : 0;
	const uint8_t *e = p + (n > 0);
	size_t body = n - (n > 0);
	size_t edit_bytes = edits * 3 <= body ? edits * 3 : 0;
	struct uk_room_inner in = {.kind = UK_ROOM_KIND_DATA, .seq = 1, .time_ms = 2};
	struct uk_room_inner out;
	in.payload = e + edit_bytes;
	in.payload_len = body - edit_bytes;
	long len = uk_room_seal(key, &in, edits == 3 ? 64 : 0, dgram, sizeof(dgram));
	if (len < 0)
		return;
	static uint8_t orig[65536];
	memcpy(orig, dgram, (size_t)len);
	for (size_t i = 0; i < edit_bytes; i += 3) {
		size_t off = ((size_t)e[i] << 8 | e[i + 1]) % (size_t)len;
		dgram[off] ^= e[i + 2];
	}
	/* Edits may cancel out (the same byte twice): judge the net change. */
	int changed = memcmp(orig, dgram, (size_t)len) != 0;
	enum uk_room_open_result r =
	    uk_room_open(key, dgram, (size_t)len, plain, sizeof(plain), &out);
	if (changed && r == UK_ROOM_OPENED)
		abort(); /* a forgery opened */
	if (!changed && (r != UK_ROOM_OPENED || out.payload_len != in.payload_len ||
			 memcmp(out.payload, in.payload, in.payload_len) != 0))
		abort();
}

/* The window against a model: a set of (session, seq) accepted so far. */
static void replay_model(const uint8_t *p, size_t n)
{
	struct uk_replay r;
	static uint64_t top[4];
	static uint8_t seen[4][4096];
	memset(top, 0, sizeof(top));
	memset(seen, 0, sizeof(seen));
	if (uk_replay_init(&r, 4) < 0)
		abort();
	for (size_t i = 0; i + 3 <= n; i += 3) {
		unsigned s = p[i] % 4;
		uint64_t seq = ((uint64_t)p[i + 1] << 8 | p[i + 2]) % 4096;
		uint8_t id[UK_ROOM_SESSION_LEN] = {(uint8_t)(s + 1)};
		enum uk_replay_verdict v = uk_replay_check(&r, id, seq, i);
		if (seq == 0) {
			if (v != UK_REPLAY_BAD_SEQ)
				abort();
			continue;
		}
		int was_seen = seen[s][seq];
		int too_old = top[s] && top[s] >= seq + UK_REPLAY_WINDOW;
		enum uk_replay_verdict want = too_old	 ? UK_REPLAY_TOO_OLD
					      : was_seen ? UK_REPLAY_DUPLICATE
							 : UK_REPLAY_FRESH;
		if (v != want)
			abort();
		if (v == UK_REPLAY_FRESH) {
			seen[s][seq] = 1;
			if (seq > top[s])
				top[s] = seq;
		}
	}
	uk_replay_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!key && uk_room_key_from_raw(&key, "fuzz", raw_key) < 0)
		abort();
	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		open_any(data + 1, size - 1);
		break;
	case 1:
		seal_edit_open(data + 1, size - 1);
		break;
	default:
		replay_model(data + 1, size - 1);
		break;
	}
	return 0;
}
