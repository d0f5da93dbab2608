/* Unit tests for lib/sealstream.c: a room's file transfer sealed in
 * chunks. Fixed keys; no sockets: the "connection" is a byte buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "udpkit/room.h"
#include "udpkit/sealstream.h"

static const uint8_t key[32] = "0123456789abcdef0123456789abcdef";
static const uint8_t other_key[32] = "fedcba9876543210fedcba9876543210";
static const char req[] = "1_lbt6_0#128#000000000000:1:alice:host:96:2a:0:0:";

/* A whole answer: start, then data in chunks of chunk bytes, the last FINAL. */
struct wire {
	uint8_t *b;
	size_t len;
	size_t *ends; /* where each chunk ends */
	size_t nchunks;
};

static struct wire seal_all(const uint8_t *k, const uint8_t rc[32], const char *r,
			    const uint8_t *data, size_t n, size_t chunk)
{
	struct uk_ss s;
	struct wire w = {0};
	size_t max_chunks = n / chunk + 2;
	w.b = malloc(UK_SS_START_LEN + n + max_chunks * UK_SS_CHUNK_OVERHEAD);
	w.ends = calloc(max_chunks, sizeof(size_t));
	assert_non_null(w.b);
	assert_int_equal(uk_ss_seal_init(&s, k, rc, r, strlen(r), w.b), 0);
	w.len = UK_SS_START_LEN;
	size_t off = 0;
	do {
		size_t take = n - off < chunk ? n - off : chunk;
		bool final = off + take == n;
		long m = uk_ss_seal_chunk(&s, data + off, take, final, w.b + w.len,
					  take + UK_SS_CHUNK_OVERHEAD);
		assert_int_equal(m, (long)(take + UK_SS_CHUNK_OVERHEAD));
		w.len += (size_t)m;
		w.ends[w.nchunks++] = w.len;
		off += take;
	} while (off < n);
	assert_true(s.final);
	assert_int_equal(uk_ss_seal_chunk(&s, "x", 1, true, w.b + w.len, 64), -EINVAL);
	uk_ss_free(&s);
	return w;
}

static void wire_free(struct wire *w)
{
	free(w->b);
	free(w->ends);
}

/* Feeds in pieces of piece bytes; returns 1 when whole (FINAL) and equal to
 * want, 0 when truncated (no error but no FINAL), -1 on an error. */
static int open_all(const uint8_t *k, const uint8_t rc[32], const char *r, const uint8_t *b,
		    size_t len, size_t piece, const uint8_t *want, size_t want_len)
{
	struct uk_ss s;
	uint8_t *got = malloc(want_len + UK_SS_CHUNK + 1);
	size_t got_len = 0;
	int ret = 0;
	assert_int_equal(uk_ss_open_init(&s, k, rc, r, strlen(r)), 0);
	for (size_t off = 0; off < len && ret == 0;) {
		size_t n = len - off < piece ? len - off : piece;
		while (n) {
			size_t used;
			const uint8_t *p;
			long m = uk_ss_open_feed(&s, b + off, n, &used, &p);
			if (m < 0) {
				ret = -1;
				break;
			}
			if (m > 0) {
				if (got_len + (size_t)m > want_len) {
					ret = -1;
					break;
				}
				memcpy(got + got_len, p, (size_t)m);
				got_len += (size_t)m;
			}
			off += used;
			n -= used;
		}
	}
	if (ret == 0 && s.final) {
		assert_int_equal(got_len, want_len);
		assert_memory_equal(got, want, want_len);
		assert_int_equal(s.bytes, want_len);
		ret = 1;
	}
	free(got);
	uk_ss_free(&s);
	return ret;
}

static uint8_t *pattern(size_t n)
{
	uint8_t *d = malloc(n ? n : 1);
	for (size_t i = 0; i < n; i++)
		d[i] = (uint8_t)(i * 31 + (i >> 8));
	return d;
}

static void test_request_round_trip(void **state)
{
	(void)state;
	uint8_t frame[UK_SS_REQ_FRAME_MAX], rc[32], rc2[32], out[UK_SS_REQ_MAX];
	size_t out_len;
	long n = uk_ss_request_seal(key, req, strlen(req), rc, frame, sizeof(frame));
	assert_int_equal(n, UK_SS_REQ_CLEAR + 32 + strlen(req) + UK_SS_MAC_LEN);
	assert_null(memmem(frame, (size_t)n, "alice", 5));
	for (long i = 0; i < n; i++) /* the length is known once 6 bytes are in */
		assert_int_equal(uk_ss_request_len(frame, (size_t)i), i < 6 ? 0 : n);
	assert_int_equal(uk_ss_request_open(key, frame, (size_t)n, rc2, out, sizeof(out), &out_len),
			 0);
	assert_memory_equal(rc, rc2, 32);
	assert_int_equal(out_len, strlen(req));
	assert_memory_equal(out, req, out_len);
	/* Another passphrase's key, or any bit flipped: refused. */
	assert_int_equal(
	    uk_ss_request_open(other_key, frame, (size_t)n, rc2, out, sizeof(out), &out_len),
	    -EBADMSG);
	for (long i = 0; i < n * 8; i++) {
		frame[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_int_equal(
		    uk_ss_request_open(key, frame, (size_t)n, rc2, out, sizeof(out), &out_len),
		    -EBADMSG);
		frame[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	/* Too long to seal; a plain IPMsg request is refused at once. */
	static uint8_t big[UK_SS_REQ_MAX + 1];
	assert_int_equal(uk_ss_request_seal(key, big, sizeof(big), rc, frame, sizeof(frame)),
			 -EMSGSIZE);
	assert_int_equal(uk_ss_request_len((const uint8_t *)req, 1), -EBADMSG);
	assert_int_equal(uk_ss_request_len((const uint8_t *)"UKF\x01\xff\xff", 6), -EBADMSG);
	/* Two seals of the same request differ: fresh nonce and rc. */
	uint8_t frame2[UK_SS_REQ_FRAME_MAX];
	uk_ss_request_seal(key, req, strlen(req), rc2, frame2, sizeof(frame2));
	assert_memory_not_equal(rc, rc2, 32);
	assert_memory_not_equal(frame + 6, frame2 + 6, (size_t)n - 6);
}

/* Every size around the chunk boundaries, fed in several piece sizes. */
static void test_round_trip_chunk_boundaries(void **state)
{
	(void)state;
	uint8_t rc[32] = {7};
	size_t sizes[] = {0,
			  1,
			  2,
			  16,
			  17,
			  100,
			  UK_SS_CHUNK - 1,
			  UK_SS_CHUNK,
			  UK_SS_CHUNK + 1,
			  2 * UK_SS_CHUNK - 1,
			  2 * UK_SS_CHUNK,
			  2 * UK_SS_CHUNK + 1,
			  3 * UK_SS_CHUNK + 12345};
	size_t pieces[] = {1, 3, 4096, 1 << 20};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
		uint8_t *d = pattern(sizes[i]);
		struct wire w = seal_all(key, rc, req, d, sizes[i], UK_SS_CHUNK);
		assert_int_equal(w.nchunks,
				 sizes[i] ? (sizes[i] + UK_SS_CHUNK - 1) / UK_SS_CHUNK : 1);
		for (size_t j = 0; j < sizeof(pieces) / sizeof(*pieces); j++) {
			if (pieces[j] == 1 && sizes[i] > 3 * UK_SS_CHUNK)
				continue; /* byte by byte: done on the smaller sizes */
			assert_int_equal(open_all(key, rc, req, w.b, w.len, pieces[j], d, sizes[i]),
					 1);
		}
		wire_free(&w);
		free(d);
	}
	/* Small chunks: every chunk size from 1 to 70 over 200 bytes. */
	uint8_t *d = pattern(200);
	for (size_t c = 1; c <= 70; c++) {
		struct wire w = seal_all(key, rc, req, d, 200, c);
		assert_int_equal(open_all(key, rc, req, w.b, w.len, 7, d, 200), 1);
		wire_free(&w);
	}
	free(d);
}

/* Every single-bit flip anywhere in the answer is refused. */
static void test_every_bit_flip_refused(void **state)
{
	(void)state;
	uint8_t rc[32] = {1, 2, 3};
	uint8_t *d = pattern(300);
	struct wire w = seal_all(key, rc, req, d, 300, 100);
	for (size_t i = 0; i < w.len * 8; i++) {
		w.b[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_int_not_equal(open_all(key, rc, req, w.b, w.len, 4096, d, 300), 1);
		w.b[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	assert_int_equal(open_all(key, rc, req, w.b, w.len, 4096, d, 300), 1);
	wire_free(&w);
	free(d);
}

/* A stream cut anywhere is never whole: either an error or no FINAL. */
static void test_truncation_detected(void **state)
{
	(void)state;
	uint8_t rc[32] = {9};
	uint8_t *d = pattern(1000);
	struct wire w = seal_all(key, rc, req, d, 1000, 128);
	for (size_t cut = 0; cut < w.len; cut++)
		assert_int_equal(open_all(key, rc, req, w.b, cut, 4096, d, 1000), 0);
	/* Dropping the FINAL chunk at a chunk boundary: no error, not whole. */
	assert_int_equal(open_all(key, rc, req, w.b, w.ends[w.nchunks - 2], 4096, d, 1000), 0);
	/* Bytes after FINAL: refused. */
	uint8_t *more = malloc(w.len + 1);
	memcpy(more, w.b, w.len);
	more[w.len] = 0;
	assert_int_equal(open_all(key, rc, req, more, w.len + 1, 4096, d, 1000), -1);
	free(more);
	wire_free(&w);
	free(d);
}

/* Chunks swapped, repeated or dropped in the middle: refused. */
static void test_reordering_detected(void **state)
{
	(void)state;
	uint8_t rc[32] = {5};
	uint8_t *d = pattern(400);
	struct wire w = seal_all(key, rc, req, d, 400, 100); /* 4 chunks of 121 bytes */
	size_t c0 = w.ends[0], c = w.ends[1] - w.ends[0];
	uint8_t *x = malloc(w.len + c);
	/* swap chunks 1 and 2 */
	memcpy(x, w.b, w.len);
	memcpy(x + c0, w.b + c0 + c, c);
	memcpy(x + c0 + c, w.b + c0, c);
	assert_int_equal(open_all(key, rc, req, x, w.len, 4096, d, 400), -1);
	/* repeat chunk 1 */
	memcpy(x, w.b, c0 + c);
	memcpy(x + c0 + c, w.b + c0, w.len - c0);
	assert_int_equal(open_all(key, rc, req, x, w.len + c, 4096, d, 400), -1);
	/* drop chunk 1 */
	memcpy(x, w.b, c0);
	memcpy(x + c0, w.b + c0 + c, w.len - c0 - c);
	assert_int_equal(open_all(key, rc, req, x, w.len - c, 4096, d, 400), -1);
	free(x);
	wire_free(&w);
	free(d);
}

/* Another key, another rc (a replayed request's answer), another request
 * (a spliced stream): nothing opens. */
static void test_wrong_key_rc_or_request_rejected(void **state)
{
	(void)state;
	uint8_t rc[32] = {5}, rc2[32] = {6};
	uint8_t *d = pattern(500);
	struct wire w = seal_all(key, rc, req, d, 500, 200);
	assert_int_equal(open_all(other_key, rc, req, w.b, w.len, 4096, d, 500), -1);
	assert_int_equal(open_all(key, rc2, req, w.b, w.len, 4096, d, 500), -1);
	assert_int_equal(open_all(key, rc, "1_lbt6_0#128#000000000000:1:alice:host:96:2a:1:0:", w.b,
				  w.len, 4096, d, 500),
			 -1);
	assert_int_equal(open_all(key, rc, req, w.b, w.len, 4096, d, 500), 1);
	/* The same request answered twice: different streams (fresh rs). */
	struct wire w2 = seal_all(key, rc, req, d, 500, 200);
	assert_memory_not_equal(w.b, w2.b, UK_SS_START_LEN);
	assert_memory_not_equal(w.b + UK_SS_START_LEN, w2.b + UK_SS_START_LEN, 100);
	wire_free(&w2);
	wire_free(&w);
	free(d);
}

/* The proof: only the opener of the whole stream has it. */
static void test_proof(void **state)
{
	(void)state;
	uint8_t rc[32] = {8}, start[UK_SS_START_LEN], buf[256], p[32], q[32];
	struct uk_ss s, o;
	size_t used;
	const uint8_t *pl;
	assert_int_equal(uk_ss_seal_init(&s, key, rc, req, strlen(req), start), 0);
	assert_int_equal(uk_ss_open_init(&o, key, rc, req, strlen(req)), 0);
	assert_int_equal(uk_ss_open_feed(&o, start, sizeof(start), &used, &pl), 0);
	assert_int_equal(used, sizeof(start));
	long n = uk_ss_seal_chunk(&s, "hello", 5, false, buf, sizeof(buf));
	uk_ss_proof(&o, p);
	assert_false(uk_ss_proof_check(&s, p)); /* not FINAL yet */
	for (long off = 0; off < n; off += (long)used)
		assert_true(uk_ss_open_feed(&o, buf + off, (size_t)(n - off), &used, &pl) >= 0);
	n = uk_ss_seal_chunk(&s, "", 0, true, buf, sizeof(buf));
	for (long off = 0; off < n; off += (long)used)
		assert_true(uk_ss_open_feed(&o, buf + off, (size_t)(n - off), &used, &pl) >= 0);
	assert_true(o.final);
	uk_ss_proof(&o, p);
	assert_true(uk_ss_proof_check(&s, p));
	memcpy(q, p, 32);
	q[31] ^= 1;
	assert_false(uk_ss_proof_check(&s, q));
	uk_ss_free(&s);
	uk_ss_free(&o);
	uk_ss_free(&o); /* twice is fine */
}

/* The room's file key is its own: not the datagrams' key, the same for the
 * same room and passphrase. */
static void test_room_file_key(void **state)
{
	(void)state;
	struct uk_room_key *a, *b, *c;
	assert_int_equal(uk_room_key_from_raw(&a, "team", key), 0);
	assert_int_equal(uk_room_key_from_raw(&b, "team", key), 0);
	assert_int_equal(uk_room_key_from_raw(&c, "team", other_key), 0);
	assert_memory_equal(uk_room_file_key(a), uk_room_file_key(b), 32);
	assert_memory_not_equal(uk_room_file_key(a), uk_room_file_key(c), 32);
	assert_memory_not_equal(uk_room_file_key(a), key, 32);
	uk_room_key_free(a);
	uk_room_key_free(b);
	uk_room_key_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_request_round_trip),
	    cmocka_unit_test(test_round_trip_chunk_boundaries),
	    cmocka_unit_test(test_every_bit_flip_refused),
	    cmocka_unit_test(test_truncation_detected),
	    cmocka_unit_test(test_reordering_detected),
	    cmocka_unit_test(test_wrong_key_rc_or_request_rejected),
	    cmocka_unit_test(test_proof),
	    cmocka_unit_test(test_room_file_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
