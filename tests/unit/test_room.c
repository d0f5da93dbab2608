/* Unit tests for lib/room.c (sealing room datagrams) and lib/replay.c (the
 * anti-replay window), with Argon2id at its cheapest cost or a fixed raw
 * key, and a virtual clock for the replay table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "udpkit/replay.h"
#include "udpkit/room.h"

static const uint8_t raw_key[32] = {1,	2,  3,	4,  5,	6,  7,	8,  9,	10, 11, 12, 13, 14, 15, 16,
				    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

static struct uk_room_inner message(const char *text, uint64_t seq)
{
	struct uk_room_inner in = {.kind = UK_ROOM_KIND_DATA,
				   .seq = seq,
				   .time_ms = 1764518400000ull,
				   .payload = (const uint8_t *)text,
				   .payload_len = strlen(text)};
	memcpy(in.session, "\x11\x22\x33\x44\x55\x66\x77\x88", UK_ROOM_SESSION_LEN);
	return in;
}

static void test_seal_open_round_trip(void **state)
{
	(void)state;
	struct uk_room_key *k;
	uint8_t dgram[2048], plain[2048];
	struct uk_room_inner out;
	assert_int_equal(uk_room_key_from_raw(&k, "team", raw_key), 0);
	const char *texts[] = {"", "x", "1:100:alice:host:32:hello 你好", NULL};
	for (int i = 0; texts[i]; i++) {
		struct uk_room_inner in = message(texts[i], (uint64_t)i + 1);
		long n = uk_room_seal(k, &in, 0, dgram, sizeof(dgram));
		assert_int_equal(n, UK_ROOM_OVERHEAD + strlen(texts[i]));
		assert_true(uk_room_is_sealed(dgram, (size_t)n));
		assert_int_equal(uk_room_open(k, dgram, (size_t)n, plain, sizeof(plain), &out),
				 UK_ROOM_OPENED);
		assert_int_equal(out.kind, UK_ROOM_KIND_DATA);
		assert_int_equal(out.seq, (uint64_t)i + 1);
		assert_int_equal(out.time_ms, in.time_ms);
		assert_memory_equal(out.session, in.session, UK_ROOM_SESSION_LEN);
		assert_int_equal(out.payload_len, strlen(texts[i]));
		assert_memory_equal(out.payload, texts[i], out.payload_len);
	}
	uk_room_key_free(k);
}

/* Nothing that identifies a person is in clear: the text is not found in
 * the datagram, and two seals of the same message differ (random nonce). */
static void test_nothing_in_clear_and_fresh_nonces(void **state)
{
	(void)state;
	struct uk_room_key *k;
	uint8_t a[512], b[512];
	struct uk_room_inner in = message("1:100:alice:alicehost:32:secret text", 7);
	assert_int_equal(uk_room_key_from_raw(&k, "team", raw_key), 0);
	long na = uk_room_seal(k, &in, 0, a, sizeof(a));
	long nb = uk_room_seal(k, &in, 0, b, sizeof(b));
	assert_int_equal(na, nb);
	assert_null(memmem(a, (size_t)na, "alice", 5));
	assert_null(memmem(a, (size_t)na, "secret", 6));
	assert_memory_not_equal(a + UK_ROOM_MAGIC_LEN + UK_ROOM_TAG_LEN,
				b + UK_ROOM_MAGIC_LEN + UK_ROOM_TAG_LEN, UK_ROOM_NONCE_LEN);
	uk_room_key_free(k);
}

/* Every single-bit flip anywhere in a datagram is refused: in the magic it
 * is no room datagram, in the tag another room's, elsewhere a forgery. */
static void test_every_bit_flip_refused(void **state)
{
	(void)state;
	struct uk_room_key *k;
	uint8_t d[256], plain[256];
	struct uk_room_inner in = message("1:100:bob:h:32:hi", 3), out;
	assert_int_equal(uk_room_key_from_raw(&k, "team", raw_key), 0);
	long n = uk_room_seal(k, &in, 0, d, sizeof(d));
	assert_true(n > 0);
	for (long byte = 0; byte < n; byte++) {
		for (int bit = 0; bit < 8; bit++) {
			d[byte] ^= (uint8_t)(1u << bit);
			enum uk_room_open_result r =
			    uk_room_open(k, d, (size_t)n, plain, sizeof(plain), &out);
			enum uk_room_open_result want =
			    byte < UK_ROOM_MAGIC_LEN			 ? UK_ROOM_NOT_SEALED
			    : byte < UK_ROOM_MAGIC_LEN + UK_ROOM_TAG_LEN ? UK_ROOM_OTHER_ROOM
									 : UK_ROOM_FORGED;
			assert_int_equal(r, want);
			d[byte] ^= (uint8_t)(1u << bit);
		}
	}
	assert_int_equal(uk_room_open(k, d, (size_t)n, plain, sizeof(plain), &out), UK_ROOM_OPENED);
	uk_room_key_free(k);
}

static void test_truncated_and_extended_refused(void **state)
{
	(void)state;
	struct uk_room_key *k;
	uint8_t d[256], plain[256];
	struct uk_room_inner in = message("hello", 1), out;
	assert_int_equal(uk_room_key_from_raw(&k, "team", raw_key), 0);
	long n = uk_room_seal(k, &in, 0, d, sizeof(d));
	for (long len = 0; len < n; len++)
		assert_int_not_equal(uk_room_open(k, d, (size_t)len, plain, sizeof(plain), &out),
				     UK_ROOM_OPENED);
	d[n] = 0;
	assert_int_equal(uk_room_open(k, d, (size_t)n + 1, plain, sizeof(plain), &out),
			 UK_ROOM_FORGED);
	/* An output buffer too small is refused, not overrun. */
	assert_int_equal(uk_room_open(k, d, (size_t)n, plain, 10, &out), UK_ROOM_MALFORMED);
	uk_room_key_free(k);
}

static void test_padding_hides_length(void **state)
{
	(void)state;
	struct uk_room_key *k;
	uint8_t a[1024], b[1024], plain[1024];
	struct uk_room_inner s = message("hi", 1), l = message("a longer message, still short", 2);
	struct uk_room_inner out;
	assert_int_equal(uk_room_key_from_raw(&k, "team", raw_key), 0);
	long na = uk_room_seal(k, &s, 256, a, sizeof(a));
	long nb = uk_room_seal(k, &l, 256, b, sizeof(b));
	assert_int_equal(na, nb);
	assert_int_equal((na - UK_ROOM_CLEAR_LEN - UK_ROOM_MAC_LEN) % 256, 0);
	assert_int_equal(uk_room_open(k, b, (size_t)nb, plain, sizeof(plain), &out),
			 UK_ROOM_OPENED);
	assert_int_equal(out.payload_len, l.payload_len);
	uk_room_key_free(k);
}

static void test_too_big_refused(void **state)
{
	(void)state;
	struct uk_room_key *k;
	static uint8_t big[70000], d[70000];
	struct uk_room_inner in = message("", 1);
	assert_int_equal(uk_room_key_from_raw(&k, "team", raw_key), 0);
	in.payload = big;
	in.payload_len = UK_ROOM_MAX_PAYLOAD + 1;
	assert_int_equal(uk_room_seal(k, &in, 0, d, sizeof(d)), -EMSGSIZE);
	in.payload_len = UK_ROOM_MAX_PAYLOAD;
	assert_int_equal(uk_room_seal(k, &in, 0, d, sizeof(d)), 65507);
	assert_int_equal(uk_room_seal(k, &in, 0, d, 1000), -EMSGSIZE);
	uk_room_key_free(k);
}

/* Same name and passphrase: same keys. Another passphrase: the datagram is
 * for our room (same tag) but does not authenticate. Another room: its tag
 * differs and it is dropped unread. */
static void test_derive_passphrase_and_room(void **state)
{
	(void)state;
	struct uk_room_key *a, *a2, *wrong, *other;
	uint8_t d[256], plain[256];
	struct uk_room_inner in = message("hello", 1), out;
	assert_int_equal(uk_room_key_derive(&a, "team", "correct horse", 13, UK_ROOM_COST_TEST), 0);
	assert_int_equal(uk_room_key_derive(&a2, "team", "correct horse", 13, UK_ROOM_COST_TEST),
			 0);
	assert_int_equal(uk_room_key_derive(&wrong, "team", "correct horsf", 13, UK_ROOM_COST_TEST),
			 0);
	assert_int_equal(
	    uk_room_key_derive(&other, "team2", "correct horse", 13, UK_ROOM_COST_TEST), 0);
	long n = uk_room_seal(a, &in, 0, d, sizeof(d));
	assert_int_equal(uk_room_open(a2, d, (size_t)n, plain, sizeof(plain), &out),
			 UK_ROOM_OPENED);
	assert_int_equal(uk_room_open(wrong, d, (size_t)n, plain, sizeof(plain), &out),
			 UK_ROOM_FORGED);
	assert_int_equal(uk_room_open(other, d, (size_t)n, plain, sizeof(plain), &out),
			 UK_ROOM_OTHER_ROOM);
	assert_int_equal(
	    uk_room_open(a, (const uint8_t *)"1:2:a:b:32:plain", 16, plain, sizeof(plain), &out),
	    UK_ROOM_NOT_SEALED);
	uk_room_key_free(a);
	uk_room_key_free(a2);
	uk_room_key_free(wrong);
	uk_room_key_free(other);
}

static void test_derive_refuses_empty(void **state)
{
	(void)state;
	struct uk_room_key *k = (struct uk_room_key *)1;
	assert_int_equal(uk_room_key_derive(&k, "", "pass", 4, UK_ROOM_COST_TEST), -EINVAL);
	assert_null(k);
	assert_int_equal(uk_room_key_derive(&k, "team", "", 0, UK_ROOM_COST_TEST), -EINVAL);
	assert_int_equal(uk_room_key_from_raw(&k, "", raw_key), -EINVAL);
	uk_room_key_free(NULL);
}

static const uint8_t sess_a[UK_ROOM_SESSION_LEN] = "AAAAAAA";
static const uint8_t sess_b[UK_ROOM_SESSION_LEN] = "BBBBBBB";
static const uint8_t sess_c[UK_ROOM_SESSION_LEN] = "CCCCCCC";

static void test_replay_window(void **state)
{
	(void)state;
	struct uk_replay r;
	assert_int_equal(uk_replay_init(&r, 8), 0);
	assert_int_equal(uk_replay_check(&r, sess_a, 0, 1), UK_REPLAY_BAD_SEQ);
	assert_int_equal(uk_replay_check(&r, sess_a, 5, 1), UK_REPLAY_FRESH);
	assert_int_equal(uk_replay_check(&r, sess_a, 5, 2), UK_REPLAY_DUPLICATE);
	/* Out of order inside the window: each once. */
	assert_int_equal(uk_replay_check(&r, sess_a, 3, 3), UK_REPLAY_FRESH);
	assert_int_equal(uk_replay_check(&r, sess_a, 3, 3), UK_REPLAY_DUPLICATE);
	assert_int_equal(uk_replay_check(&r, sess_a, 4, 3), UK_REPLAY_FRESH);
	/* Another session has its own numbers. */
	assert_int_equal(uk_replay_check(&r, sess_b, 5, 4), UK_REPLAY_FRESH);
	/* A jump forward across word boundaries keeps what is still inside. */
	assert_int_equal(uk_replay_check(&r, sess_a, 5 + 70, 5), UK_REPLAY_FRESH);
	assert_int_equal(uk_replay_check(&r, sess_a, 5, 5), UK_REPLAY_DUPLICATE);
	assert_int_equal(uk_replay_check(&r, sess_a, 4, 5), UK_REPLAY_DUPLICATE);
	assert_int_equal(uk_replay_check(&r, sess_a, 6, 5), UK_REPLAY_FRESH);
	/* Below the window: refused, whatever it was. */
	assert_int_equal(uk_replay_check(&r, sess_a, 75 + UK_REPLAY_WINDOW, 6), UK_REPLAY_FRESH);
	assert_int_equal(uk_replay_check(&r, sess_a, 75, 6), UK_REPLAY_TOO_OLD);
	assert_int_equal(uk_replay_check(&r, sess_a, 76, 6), UK_REPLAY_FRESH);
	assert_int_equal(uk_replay_check(&r, sess_a, 76, 6), UK_REPLAY_DUPLICATE);
	/* A jump past the whole window forgets everything below. */
	assert_int_equal(uk_replay_check(&r, sess_a, 10 * UK_REPLAY_WINDOW, 7), UK_REPLAY_FRESH);
	assert_int_equal(uk_replay_check(&r, sess_a, 10 * UK_REPLAY_WINDOW - 1, 7),
			 UK_REPLAY_FRESH);
	uk_replay_free(&r);
}

/* Every number in a long shuffled stream is accepted exactly once. */
static void test_replay_every_number_once(void **state)
{
	(void)state;
	struct uk_replay r;
	uint32_t x = 12345;
	assert_int_equal(uk_replay_init(&r, 4), 0);
	for (uint64_t base = 1; base < 20000; base += 500) {
		uint64_t order[500];
		for (int i = 0; i < 500; i++)
			order[i] = base + (uint64_t)i;
		for (int i = 499; i > 0; i--) { /* xorshift shuffle, reproducible */
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			int j = (int)(x % (uint32_t)(i + 1));
			uint64_t t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		for (int i = 0; i < 500; i++) {
			assert_int_equal(uk_replay_check(&r, sess_a, order[i], base),
					 UK_REPLAY_FRESH);
			assert_int_equal(uk_replay_check(&r, sess_a, order[i], base),
					 UK_REPLAY_DUPLICATE);
		}
	}
	uk_replay_free(&r);
}

/* A full table forgets the least recently heard session. */
static void test_replay_eviction(void **state)
{
	(void)state;
	struct uk_replay r;
	assert_int_equal(uk_replay_init(&r, 2), 0);
	assert_int_equal(uk_replay_check(&r, sess_a, 1, 100), UK_REPLAY_FRESH);
	assert_int_equal(uk_replay_check(&r, sess_b, 1, 200), UK_REPLAY_FRESH);
	assert_int_equal(uk_replay_check(&r, sess_a, 2, 300), UK_REPLAY_FRESH);
	assert_int_equal(uk_replay_check(&r, sess_c, 1, 400), UK_REPLAY_FRESH);
	assert_true(uk_replay_known(&r, sess_a));
	assert_false(uk_replay_known(&r, sess_b));
	assert_true(uk_replay_known(&r, sess_c));
	uk_replay_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_seal_open_round_trip),
	    cmocka_unit_test(test_nothing_in_clear_and_fresh_nonces),
	    cmocka_unit_test(test_every_bit_flip_refused),
	    cmocka_unit_test(test_truncated_and_extended_refused),
	    cmocka_unit_test(test_padding_hides_length),
	    cmocka_unit_test(test_too_big_refused),
	    cmocka_unit_test(test_derive_passphrase_and_room),
	    cmocka_unit_test(test_derive_refuses_empty),
	    cmocka_unit_test(test_replay_window),
	    cmocka_unit_test(test_replay_every_number_once),
	    cmocka_unit_test(test_replay_eviction),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
