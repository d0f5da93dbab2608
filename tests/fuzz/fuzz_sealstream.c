/* Fuzz target: the opening side of a room's sealed file transfer
 * (lib/sealstream.c): the server opening a request frame, the client
 * opening the answer stream. The first input byte picks:
 *   0: fixed key (so the fuzzer reaches past authentication): the rest is
 *      a request frame and, as well, an answer stream, fed in pieces whose
 *      sizes the next byte picks;
 *   1: fixed key: the rest is data, sealed in chunks of a size the input
 *      picks, edited (offset/xor triples), opened: only an unchanged stream
 *      opens whole, and then to exactly the data;
 *   2: a random key each run: nothing the fuzzer writes ever opens.
 * Never crashes, never reads past the input, never opens a forgery. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "udpkit/sealstream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t fixed_key[32] = "0123456789abcdef0123456789abcdef";
static const uint8_t rc[32] = "rc rc rc rc rc rc rc rc rc rc rc";
static const char req[] = "1_lbt6_0#128#000000000000:1:alice:host:96:2a:0:0:";
static uint8_t out[UK_SS_REQ_MAX], wire[1 << 20], orig[1 << 20];

/* Feeds n bytes in pieces of piece; returns the bytes opened, -1 on an
 * error; *whole says whether FINAL opened. */
static long feed(const uint8_t *key, const uint8_t *p, size_t n, size_t piece, bool *whole,
		 const uint8_t *want, size_t want_len)
{
	struct uk_ss s;
	long total = 0;
	if (uk_ss_open_init(&s, key, rc, req, sizeof(req) - 1) < 0)
		abort();
	for (size_t off = 0; off < n;) {
		size_t k = n - off < piece ? n - off : piece, used;
		const uint8_t *pl;
		long m = uk_ss_open_feed(&s, p + off, k, &used, &pl);
		if (m < 0) {
			total = -1;
			break;
		}
		if (used == 0 || used > k)
			abort(); /* must make progress, never beyond its input */
		if (want && m > 0 &&
		    ((size_t)total + (size_t)m > want_len ||
		     memcmp(pl, want + total, (size_t)m) != 0))
			abort(); /* opened to other data than was sealed */
		total += m;
		off += used;
	}
	*whole = s.final;
	uk_ss_free(&s);
	return total;
}

static void open_request(const uint8_t *key, const uint8_t *p, size_t n, bool must_fail)
{
	uint8_t got_rc[32];
	size_t len;
	long want = uk_ss_request_len(p, n);
	if (want > 0 && (size_t)want <= n &&
	    uk_ss_request_open(key, p, (size_t)want, got_rc, out, sizeof(out), &len) == 0 &&
	    (must_fail || len > UK_SS_REQ_MAX))
		abort();
}

static void seal_edit_open(const uint8_t *p, size_t n)
{
	struct uk_ss s;
	size_t chunk, edits, w = UK_SS_START_LEN;
	if (n < 2)
		return;
	chunk = (size_t)p[0] * 64 + 1;
	edits = p[1] % 4;
	size_t piece = 1 + (size_t)(p[1] >> 2) * 997; /* how the stream arrives */
	p += 2, n -= 2;
	if (edits * 3 > n)
		edits = 0;
	const uint8_t *e = p, *d = p + edits * 3;
	size_t dn = n - edits * 3;
	if (uk_ss_seal_init(&s, fixed_key, rc, req, sizeof(req) - 1, wire) < 0)
		abort();
	size_t off = 0;
	do {
		size_t take = dn - off < chunk ? dn - off : chunk;
		if (w + take + UK_SS_CHUNK_OVERHEAD > sizeof(wire)) {
			uk_ss_free(&s); /* tiny chunks of much data: beyond the buffer */
			return;
		}
		long m = uk_ss_seal_chunk(&s, d + off, take, off + take == dn, wire + w,
					  sizeof(wire) - w);
		if (m < 0)
			abort();
		w += (size_t)m;
		off += take;
	} while (off < dn);
	uk_ss_free(&s);
	memcpy(orig, wire, w);
	for (size_t i = 0; i < edits; i++)
		wire[((size_t)e[3 * i] << 8 | e[3 * i + 1]) % w] ^= e[3 * i + 2];
	bool changed = memcmp(orig, wire, w) != 0, whole;
	long got = feed(fixed_key, wire, w, piece, &whole, changed ? NULL : d, dn);
	if (changed && whole)
		abort(); /* a forgery opened whole */
	if (!changed && (!whole || got != (long)dn))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t key[32];
	bool whole;
	if (size < 1 || sodium_init() < 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		open_request(fixed_key, data + 1, size - 1, false);
		if (size > 1)
			feed(fixed_key, data + 2, size - 2, 1 + data[1] * 257u, &whole, NULL, 0);
		break;
	case 1:
		seal_edit_open(data + 1, size - 1);
		break;
	default:
		randombytes_buf(key, sizeof(key));
		open_request(key, data + 1, size - 1, true);
		if (feed(key, data + 1, size - 1, 4096, &whole, NULL, 0) > 0 || whole)
			abort(); /* something opened under a key nobody knows */
		break;
	}
	return 0;
}
