/* Unit tests for lib/room.c (sealing room datagrams) and lib/replay.c (the
 * anti-replay window), with Argon2id at its cheapest cost or a fixed raw
 * key, and a virtual clock for the replay table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <sys/socket.h>
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

/* The timestamp bound: inside the window, a datagram sent more than
 * UK_REPLAY_MAX_AGE_MS before its session's newest is refused. */
static void test_replay_time_bound(void **state)
{
	(void)state;
	struct uk_replay r;
	assert_int_equal(uk_replay_init(&r, 4), 0);
	assert_int_equal(uk_replay_check_at(&r, sess_a, 1, 1000, 1), UK_REPLAY_FRESH);
	assert_int_equal(uk_replay_check_at(&r, sess_a, 3, 1000 + UK_REPLAY_MAX_AGE_MS + 1, 2),
			 UK_REPLAY_FRESH);
	/* Number 2 was never seen, but it is from too long before. */
	assert_int_equal(uk_replay_check_at(&r, sess_a, 2, 1000, 3), UK_REPLAY_STALE);
	assert_int_equal(uk_replay_check_at(&r, sess_a, 2, 1001, 3), UK_REPLAY_FRESH);
	assert_int_equal(uk_replay_check_at(&r, sess_a, 2, 1001, 3), UK_REPLAY_DUPLICATE);
	uk_replay_free(&r);
}

/* A session started at a number has every number up to it taken. */
static void test_replay_start(void **state)
{
	(void)state;
	struct uk_replay r;
	assert_int_equal(uk_replay_init(&r, 4), 0);
	uk_replay_start(&r, sess_a, 100, 5, 1);
	assert_true(uk_replay_known(&r, sess_a));
	for (uint64_t n = 1; n <= 100; n++)
		assert_int_not_equal(uk_replay_check(&r, sess_a, n, 2), UK_REPLAY_FRESH);
	assert_int_equal(uk_replay_check(&r, sess_a, 101, 2), UK_REPLAY_FRESH);
	uk_replay_start(&r, sess_b, 0, 5, 1); /* 0 is no number: ignored */
	assert_false(uk_replay_known(&r, sess_b));
	uk_replay_free(&r);
}

/* ---- the member protocol on a virtual clock: two members and a wire ---- */

#define WIRE_MAX 64
struct wire {
	struct {
		struct uk_addr to;
		uint8_t d[2048];
		size_t n;
	} q[WIRE_MAX];
	size_t n;
};

static void wire_send(void *ctx, const struct uk_addr *to, const void *data, size_t len)
{
	struct wire *w = ctx;
	assert_true(w->n < WIRE_MAX && len <= sizeof(w->q[0].d));
	w->q[w->n].to = *to;
	memcpy(w->q[w->n].d, data, len);
	w->q[w->n++].n = len;
}

struct member {
	struct uk_room r;
	struct uk_addr addr;
	struct wire out;
};

static void member_init(struct member *m, const char *room, uint16_t port, uint64_t now)
{
	struct uk_room_key *k;
	memset(m, 0, sizeof(*m));
	uk_addr_loopback(&m->addr, AF_INET, port);
	assert_int_equal(uk_room_key_from_raw(&k, room, raw_key), 0);
	assert_int_equal(uk_room_init(&m->r, k, 0, wire_send, &m->out, now), 0);
}

/* Delivers everything `from` has queued to `to`; returns how many payloads
 * `to` delivered, the last in last/last_n. */
static int flush(struct member *from, struct member *to, uint64_t now, char *last, size_t cap)
{
	int delivered = 0;
	for (size_t i = 0; i < from->out.n; i++) {
		const uint8_t *p;
		size_t n;
		if (uk_room_receive(&to->r, &from->addr, from->out.q[i].d, from->out.q[i].n, now,
				    &p, &n) == 1) {
			delivered++;
			if (last) {
				size_t k = n < cap - 1 ? n : cap - 1;
				memcpy(last, p, k);
				last[k] = 0;
			}
		}
	}
	from->out.n = 0;
	return delivered;
}

static int receive_one(struct member *m, const struct member *from, const uint8_t *d, size_t n,
		       uint64_t now)
{
	const uint8_t *p;
	size_t pn;
	return uk_room_receive(&m->r, &from->addr, d, n, now, &p, &pn);
}

static void test_room_protocol_challenge_and_replay(void **state)
{
	(void)state;
	struct member a, b;
	uint8_t entry[2048], msg[2048];
	const uint8_t *out;
	char last[64];
	long ne, nm;
	uint64_t t = 1000000000;

	member_init(&a, "team", 1, t);
	member_init(&b, "team", 2, t);
	/* A announces (resendable) and says something (not resendable). */
	ne = uk_room_seal_data(&a.r, true, "entry", 5, t, &out);
	assert_true(ne > 0);
	memcpy(entry, out, (size_t)ne);
	nm = uk_room_seal_data(&a.r, false, "hello", 5, t, &out);
	memcpy(msg, out, (size_t)nm);
	/* B does not know A's session: nothing delivered, one challenge. */
	assert_int_equal(receive_one(&b, &a, entry, (size_t)ne, t), 0);
	assert_int_equal(receive_one(&b, &a, msg, (size_t)nm, t), 0);
	assert_int_equal(b.r.stats.unverified, 2);
	assert_int_equal(b.out.n, 1);
	assert_int_equal(b.out.q[0].n, UK_ROOM_OVERHEAD + UK_ROOM_SESSION_LEN);
	assert_true(uk_addr_equal(&b.out.q[0].to, &a.addr));
	/* A answers and resends the entry only; B then delivers it. */
	assert_int_equal(flush(&b, &a, t, NULL, 0), 0);
	assert_int_equal(a.r.stats.answers, 1);
	assert_int_equal(a.out.n, 2);
	assert_int_equal(flush(&a, &b, t, last, sizeof(last)), 1);
	assert_string_equal(last, "entry");
	assert_int_equal(b.r.stats.verified, 1);
	/* The originals, sent before the proof, are refused now too. */
	assert_int_equal(receive_one(&b, &a, entry, (size_t)ne, t), 0);
	assert_int_equal(receive_one(&b, &a, msg, (size_t)nm, t), 0);
	/* A's next message arrives once; its replay does not. */
	nm = uk_room_seal_data(&a.r, false, "again", 5, t, &out);
	memcpy(msg, out, (size_t)nm);
	assert_int_equal(receive_one(&b, &a, msg, (size_t)nm, t), 1);
	assert_int_equal(receive_one(&b, &a, msg, (size_t)nm, t), 0);
	assert_int_equal(b.r.stats.replayed, 3);
	assert_int_equal(b.out.n, 0); /* a replay is not challenged again */

	/* B restarts: the captured message is challenged, not delivered... */
	uk_room_free(&b.r);
	member_init(&b, "team", 2, t);
	assert_int_equal(receive_one(&b, &a, msg, (size_t)nm, t), 0);
	assert_int_equal(b.out.n, 1);
	/* ...a challenge aimed at an ended run of A's is not answered... */
	{
		struct member old;
		member_init(&old, "team", 1, t);
		struct wire saved = b.out;
		assert_int_equal(flush(&b, &old, t, NULL, 0), 0);
		assert_int_equal(old.out.n, 0);
		assert_int_equal(old.r.stats.replayed, 1);
		uk_room_free(&old.r);
		b.out = saved;
	}
	/* ...A answers; the captured one stays refused after the proof. */
	assert_int_equal(flush(&b, &a, t, NULL, 0), 0);
	flush(&a, &b, t, NULL, 0);
	assert_int_equal(b.r.stats.verified, 1);
	assert_int_equal(receive_one(&b, &a, msg, (size_t)nm, t), 0);
	/* Answers are rate-limited: a replayed challenge within 0.5 s is not
	 * answered twice. */
	assert_int_equal(receive_one(&b, &a, msg, (size_t)nm, t), 0);
	assert_int_equal(b.out.n, 0);

	/* Own datagrams, another room's, clear ones and forgeries: counted. */
	struct member c;
	member_init(&c, "other", 3, t);
	nm = uk_room_seal_data(&c.r, false, "x", 1, t, &out);
	memcpy(msg, out, (size_t)nm);
	assert_int_equal(receive_one(&b, &c, msg, (size_t)nm, t), 0);
	assert_int_equal(b.r.stats.other_room, 1);
	assert_int_equal(receive_one(&b, &c, (const uint8_t *)"1:2:u:h:32:hi", 13, t), 0);
	assert_int_equal(b.r.stats.clear, 1);
	nm = uk_room_seal_data(&b.r, false, "mine", 4, t, &out);
	memcpy(msg, out, (size_t)nm);
	assert_int_equal(receive_one(&b, &b, msg, (size_t)nm, t), 0);
	assert_int_equal(b.r.stats.own, 1);
	msg[nm - 1] ^= 1;
	assert_int_equal(receive_one(&a, &b, msg, (size_t)nm, t), 0);
	assert_int_equal(a.r.stats.forged, 1);
	uk_room_free(&c.r);
	uk_room_free(&a.r);
	uk_room_free(&b.r);
}

/* Presence packets are resent only while recent (UK_ROOM_RESEND_NS). */
static void test_room_resend_only_recent(void **state)
{
	(void)state;
	struct member a, b;
	const uint8_t *out;
	uint64_t t = 1;

	member_init(&a, "team", 1, t);
	member_init(&b, "team", 2, t);
	assert_true(uk_room_seal_data(&a.r, true, "old entry", 9, t, &out) > 0);
	t += UK_ROOM_RESEND_NS + 1;
	long n = uk_room_seal_data(&a.r, true, "new entry", 9, t, &out);
	uint8_t d[256];
	memcpy(d, out, (size_t)n);
	assert_int_equal(receive_one(&b, &a, d, (size_t)n, t), 0);
	flush(&b, &a, t, NULL, 0);
	assert_int_equal(a.r.stats.resent, 1);
	char last[32];
	assert_int_equal(flush(&a, &b, t, last, sizeof(last)), 1);
	assert_string_equal(last, "new entry");
	uk_room_free(&a.r);
	uk_room_free(&b.r);
}

/* A datagram with our tag that does not authenticate gets a sealed notice
 * back, which the other key cannot open either: a member with a wrong
 * passphrase hears of it. Two keys answering each other stop after
 * UK_ROOM_NOTICES each. */
static void test_room_notice_bounded(void **state)
{
	(void)state;
	struct member a, w;
	struct uk_room_key *k;
	static const uint8_t wrong_key[32] = "another passphrase's key bytes!";
	const uint8_t *out;
	uint64_t t = 1;

	member_init(&a, "team", 1, t);
	memset(&w, 0, sizeof(w));
	uk_addr_loopback(&w.addr, AF_INET, 5);
	assert_int_equal(uk_room_key_from_raw(&k, "team", wrong_key), 0);
	assert_int_equal(uk_room_init(&w.r, k, 0, wire_send, &w.out, t), 0);
	long n = uk_room_seal_data(&w.r, true, "entry", 5, t, &out);
	uint8_t d[256];
	memcpy(d, out, (size_t)n);
	assert_int_equal(receive_one(&a, &w, d, (size_t)n, t), 0);
	assert_int_equal(a.r.stats.forged, 1);
	assert_int_equal(a.out.n, 1);
	assert_int_equal(a.out.q[0].n, UK_ROOM_OVERHEAD); /* an empty notice */
	for (int round = 0; round < 100 && (a.out.n || w.out.n); round++) {
		t += UK_ROOM_LIMIT_NS;
		flush(&a, &w, t, NULL, 0);
		flush(&w, &a, t, NULL, 0);
	}
	assert_int_equal(a.out.n + w.out.n, 0);
	assert_int_equal(a.r.stats.notices_sent, UK_ROOM_NOTICES);
	assert_int_equal(w.r.stats.notices_sent, UK_ROOM_NOTICES);
	assert_true(w.r.stats.forged >= 1);
	assert_int_equal(a.r.stats.opened + w.r.stats.opened, 0);
	/* A notice under the right key is counted and ignored. */
	struct member b;
	member_init(&b, "team", 2, t);
	n = uk_room_seal_data(&b.r, false, "x", 1, t, &out);
	memcpy(d, out, (size_t)n);
	d[n - 1] ^= 1;
	assert_int_equal(receive_one(&a, &b, d, (size_t)n, t), 0);
	assert_int_equal(flush(&a, &b, t, NULL, 0), 0);
	assert_int_equal(b.r.stats.notices, 1);
	assert_int_equal(b.out.n, 0);
	uk_room_free(&a.r);
	uk_room_free(&w.r);
	uk_room_free(&b.r);
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
	    cmocka_unit_test(test_replay_time_bound),
	    cmocka_unit_test(test_replay_start),
	    cmocka_unit_test(test_room_protocol_challenge_and_replay),
	    cmocka_unit_test(test_room_resend_only_recent),
	    cmocka_unit_test(test_room_notice_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
