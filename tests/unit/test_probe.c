/* Unit tests for lib/probe.c: probes round-trip, stay 7-bit when their size
 * allows, are recognised behind a stamp and with sockperf's reply flags,
 * and everything else is rejected; 56-bit sequence numbers unwrap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "udpkit/err.h"
#include "udpkit/probe.h"

#define SEQ56 (1ull << UK_PROBE_SEQ_BITS)

static void test_init_range(void **state)
{
	struct uk_probe_fmt f;
	(void)state;
	assert_int_equal(uk_probe_init(&f, UK_PROBE_MIN_SIZE - 1, 1), UK_ERANGE_);
	assert_int_equal(uk_probe_init(&f, 65508, 1), UK_ERANGE_);
	assert_int_equal(uk_probe_init(&f, UK_PROBE_MIN_SIZE, 1), 0);
	assert_int_equal(f.size, UK_PROBE_MIN_SIZE);
	assert_int_equal(uk_probe_init(&f, 65507, 1), 0);
}

static void test_build_layout(void **state)
{
	struct uk_probe_fmt f;
	unsigned char p[64];
	(void)state;
	assert_int_equal(uk_probe_init(&f, sizeof(p), 7), 0);
	uk_probe_build(&f, 0x81, p);
	/* Sequence number in eight 7-bit groups: 0x81 = 1 * 128 + 1. */
	for (int i = 0; i < 6; i++)
		assert_int_equal(p[i], 0);
	assert_int_equal(p[6], 1);
	assert_int_equal(p[7], 1);
	/* sockperf flags CLIENT | PONG_REQUEST, then the length, big-endian. */
	assert_int_equal(p[8], 0);
	assert_int_equal(p[9], UK_SOCKPERF_CLIENT | UK_SOCKPERF_PONG_REQUEST);
	assert_int_equal(p[10], 0);
	assert_int_equal(p[11], 0);
	assert_int_equal(p[12], 0);
	assert_int_equal(p[13], 64);
	assert_memory_equal(p + 14, "UK", 2);
	assert_memory_equal(p + 16, f.token, UK_PROBE_TOKEN_LEN);
	for (size_t i = 0; i < UK_PROBE_TOKEN_LEN; i++)
		assert_true(f.token[i] > 0x20 && f.token[i] < 0x7f);
	assert_int_equal(p[24], 'a' + 24 % 26);
	assert_int_equal(p[63], 'a' + 63 % 26);
}

static void test_round_trip(void **state)
{
	static const uint64_t seqs[] = {0,	  1, 2, 127, 128, 16383, 16384, 0x123456789abcdull,
					SEQ56 - 1};
	static const size_t sizes[] = {UK_PROBE_MIN_SIZE, 64, 127, 128, 1000, 1472, 65507};
	static unsigned char p[65507];
	(void)state;
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct uk_probe_fmt f;
		assert_int_equal(uk_probe_init(&f, sizes[s], 1234), 0);
		for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
			uint64_t got = 999;
			uk_probe_build(&f, seqs[i], p);
			assert_int_equal(uk_probe_parse(&f, p, sizes[s], &got), 0);
			assert_int_equal(got, seqs[i]);
		}
	}
}

static void test_seq_keeps_low_56_bits(void **state)
{
	struct uk_probe_fmt f;
	unsigned char p[64];
	uint64_t got = 0;
	(void)state;
	assert_int_equal(uk_probe_init(&f, sizeof(p), 1), 0);
	uk_probe_build(&f, SEQ56 + 5, p);
	assert_int_equal(uk_probe_parse(&f, p, sizeof(p), &got), 0);
	assert_int_equal(got, 5);
	uk_probe_build(&f, UINT64_MAX, p);
	assert_int_equal(uk_probe_parse(&f, p, sizeof(p), &got), 0);
	assert_int_equal(got, SEQ56 - 1);
}

static void test_ascii_up_to_127(void **state)
{
	static const uint64_t seqs[] = {0, 1, 0x7f, 0x80, 0xff, SEQ56 - 1, 0xa5a5a5a5a5a5ull};
	unsigned char p[256];
	(void)state;
	for (size_t size = UK_PROBE_MIN_SIZE; size <= 127; size++) {
		struct uk_probe_fmt f;
		assert_int_equal(uk_probe_init(&f, size, size * 31), 0);
		assert_true(uk_probe_is_ascii(&f));
		for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
			uk_probe_build(&f, seqs[i], p);
			for (size_t k = 0; k < size; k++)
				if (p[k] & 0x80)
					fail_msg("size %zu seq %zu: byte %zu is 0x%02x", size, i, k,
						 p[k]);
		}
	}
	/* 128 is 0x80 in the length field: not 7-bit; 256 is 0x0100: 7-bit. */
	{
		struct uk_probe_fmt f;
		assert_int_equal(uk_probe_init(&f, 128, 1), 0);
		assert_false(uk_probe_is_ascii(&f));
		assert_int_equal(uk_probe_init(&f, 200, 1), 0);
		assert_false(uk_probe_is_ascii(&f));
		assert_int_equal(uk_probe_init(&f, 256, 1), 0);
		assert_true(uk_probe_is_ascii(&f));
		uk_probe_build(&f, SEQ56 - 1, p);
		for (size_t k = 0; k < 256; k++)
			assert_true(p[k] < 0x80);
	}
}

static void test_stamped_prefix_accepted(void **state)
{
	static const char stamp[] = "\xe3\x80\x90Thu Nov 26 08:36:08 2026\xe3\x80\x91";
	struct uk_probe_fmt f;
	unsigned char reply[200];
	uint64_t got = 0;
	(void)state;
	assert_int_equal(uk_probe_init(&f, 100, 5), 0);
	memcpy(reply, stamp, sizeof(stamp) - 1);
	uk_probe_build(&f, 424242, reply + sizeof(stamp) - 1);
	assert_int_equal(uk_probe_parse(&f, reply, sizeof(stamp) - 1 + 100, &got), 0);
	assert_int_equal(got, 424242);
	/* Any prefix works, even one byte or binary junk. */
	reply[0] = 0xff;
	uk_probe_build(&f, 9, reply + 1);
	assert_int_equal(uk_probe_parse(&f, reply, 101, &got), 0);
	assert_int_equal(got, 9);
}

static void test_sockperf_reply_flags_accepted(void **state)
{
	struct uk_probe_fmt f;
	unsigned char p[64];
	uint64_t got = 0;
	(void)state;
	assert_int_equal(uk_probe_init(&f, sizeof(p), 5), 0);
	uk_probe_build(&f, 77, p);
	/* sockperf server clears CLIENT and keeps PONG_REQUEST. */
	p[9] = UK_SOCKPERF_PONG_REQUEST;
	assert_int_equal(uk_probe_parse(&f, p, sizeof(p), &got), 0);
	assert_int_equal(got, 77);
}

/* uk_probe_set_seq + uk_probe_match (the load generator's fast path) agree
 * with uk_probe_build + uk_probe_parse: on good probes of any sequence
 * number, behind a stamp, and on every single-byte change of a probe. */
static void test_fast_path_agrees(void **state)
{
	static const uint64_t seqs[] = {0, 1, 127, 128, 0x123456789abcdull, SEQ56 - 1, SEQ56 + 9};
	static const size_t sizes[] = {UK_PROBE_MIN_SIZE, 64, 200};
	static const unsigned char flips[] = {0x01, 0x02, 0x80, 0xff};
	unsigned char tmpl[200], built[200], fast[210];
	(void)state;
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct uk_probe_fmt f;
		size_t n = sizes[s];
		assert_int_equal(uk_probe_init(&f, n, 11), 0);
		uk_probe_build(&f, 4242, tmpl);
		memcpy(fast, tmpl, n);
		for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
			uint64_t a = 1, b = 2;
			uk_probe_build(&f, seqs[i], built);
			uk_probe_set_seq(seqs[i], fast);
			assert_memory_equal(built, fast, n);
			assert_int_equal(uk_probe_match(&f, tmpl, fast, n, &a), 0);
			assert_int_equal(uk_probe_parse(&f, fast, n, &b), 0);
			assert_int_equal(a, b);
		}
		/* Behind a 10-byte stamp, and one byte short. */
		memmove(fast + 10, fast, n);
		memset(fast, 'x', 10);
		uint64_t a = 1, b = 2;
		assert_int_equal(uk_probe_match(&f, tmpl, fast, n + 10, &a), 0);
		assert_int_equal(uk_probe_parse(&f, fast, n + 10, &b), 0);
		assert_int_equal(a, b);
		assert_int_equal(uk_probe_match(&f, tmpl, fast + 11, n - 1, &a), UK_EPARSE);
		for (size_t at = 0; at < n; at++)
			for (size_t k = 0; k < sizeof(flips); k++) {
				memcpy(fast, tmpl, n);
				fast[at] ^= flips[k];
				int rm = uk_probe_match(&f, tmpl, fast, n, &a);
				int rp = uk_probe_parse(&f, fast, n, &b);
				if (rm != rp || (rm == 0 && a != b))
					fail_msg("size %zu byte %zu ^%02x: match %d, parse %d", n,
						 at, flips[k], rm, rp);
			}
	}
}

static void test_rejects(void **state)
{
	struct uk_probe_fmt f, other;
	unsigned char good[64], p[64];
	uint64_t got = 31337;
	(void)state;
	assert_int_equal(uk_probe_init(&f, sizeof(p), 5), 0);
	assert_int_equal(uk_probe_init(&other, sizeof(p), 6), 0);
	assert_memory_not_equal(f.token, other.token, UK_PROBE_TOKEN_LEN);
	uk_probe_build(&f, 77, good);
	assert_int_equal(uk_probe_parse(&f, good, sizeof(good), &got), 0);
	got = 31337;

	/* Another run's token. */
	assert_int_equal(uk_probe_parse(&other, good, sizeof(good), &got), UK_EPARSE);
	/* Shorter than a probe (a cut reply). */
	assert_int_equal(uk_probe_parse(&f, good, sizeof(good) - 1, &got), UK_EPARSE);
	assert_int_equal(uk_probe_parse(&f, good, 0, &got), UK_EPARSE);
	/* Wrong length field. */
	memcpy(p, good, sizeof(p));
	p[13] = 65;
	assert_int_equal(uk_probe_parse(&f, p, sizeof(p), &got), UK_EPARSE);
	memcpy(p, good, sizeof(p));
	p[10] = 1;
	assert_int_equal(uk_probe_parse(&f, p, sizeof(p), &got), UK_EPARSE);
	/* Wrong flags: no PONG_REQUEST, CLIENT only, extra bits. */
	static const unsigned char bad_flags[][2] = {{0, 0}, {0, 1}, {0, 6},
						     {0, 7}, {1, 3}, {0x80, 2}};
	for (size_t i = 0; i < sizeof(bad_flags) / sizeof(bad_flags[0]); i++) {
		memcpy(p, good, sizeof(p));
		p[8] = bad_flags[i][0];
		p[9] = bad_flags[i][1];
		if (uk_probe_parse(&f, p, sizeof(p), &got) != UK_EPARSE)
			fail_msg("flags %02x%02x accepted", p[8], p[9]);
	}
	/* Wrong magic. */
	memcpy(p, good, sizeof(p));
	p[15] = 'k';
	assert_int_equal(uk_probe_parse(&f, p, sizeof(p), &got), UK_EPARSE);
	/* A sequence byte with the high bit set is not ours. */
	memcpy(p, good, sizeof(p));
	p[3] |= 0x80;
	assert_int_equal(uk_probe_parse(&f, p, sizeof(p), &got), UK_EPARSE);
	/* A damaged padding byte: not a good reply. */
	memcpy(p, good, sizeof(p));
	p[40] ^= 0x20;
	assert_int_equal(uk_probe_parse(&f, p, sizeof(p), &got), UK_EPARSE);
	memcpy(p, good, sizeof(p));
	p[63] = 0;
	assert_int_equal(uk_probe_parse(&f, p, sizeof(p), &got), UK_EPARSE);
	/* A token byte changed. */
	memcpy(p, good, sizeof(p));
	p[16 + UK_PROBE_TOKEN_LEN - 1] ^= 1;
	assert_int_equal(uk_probe_parse(&f, p, sizeof(p), &got), UK_EPARSE);
	/* A probe of another size, even with the right token. */
	{
		struct uk_probe_fmt g;
		unsigned char q[65];
		assert_int_equal(uk_probe_init(&g, 65, 5), 0);
		uk_probe_build(&g, 1, q);
		assert_int_equal(uk_probe_parse(&f, q, sizeof(q), &got), UK_EPARSE);
	}
	/* Nothing above touched *seq. */
	assert_int_equal(got, 31337);
}

static void test_cut_reply(void **state)
{
	struct uk_probe_fmt f, other;
	unsigned char p[200], stamped[300];
	uint64_t seq = 0;
	(void)state;
	assert_int_equal(uk_probe_init(&f, sizeof(p), 9), 0);
	assert_int_equal(uk_probe_init(&other, sizeof(p), 10), 0);
	uk_probe_build(&f, 77, p);
	/* A server that keeps the first 100 bytes: the start of our probe. */
	assert_int_equal(uk_probe_parse(&f, p, 100, &seq), UK_EPARSE);
	assert_int_equal(uk_probe_parse_cut(&f, p, 100, &seq), 0);
	assert_int_equal(seq, 77);
	/* With a stamp in front, cut too. */
	memcpy(stamped, "prefix!", 7);
	memcpy(stamped + 7, p, sizeof(p));
	assert_int_equal(uk_probe_parse_cut(&f, stamped, 7 + 120, &seq), 0);
	assert_int_equal(seq, 77);
	/* Not ours, too short to tell, damaged padding, or whole: no. */
	assert_int_equal(uk_probe_parse_cut(&other, p, 100, &seq), UK_EPARSE);
	assert_int_equal(uk_probe_parse_cut(&f, p, UK_PROBE_MIN_SIZE - 1, &seq), UK_EPARSE);
	assert_int_equal(uk_probe_parse_cut(&f, p, sizeof(p), &seq), UK_EPARSE);
	p[50] ^= 1;
	assert_int_equal(uk_probe_parse_cut(&f, p, 100, &seq), UK_EPARSE);
}

static void test_unwrap(void **state)
{
	(void)state;
	/* Below 2^56, numbers are what they are. */
	assert_int_equal(uk_probe_unwrap(5, 10), 5);
	assert_int_equal(uk_probe_unwrap(10, 10), 10);
	assert_int_equal(uk_probe_unwrap(0, 0), 0);
	assert_int_equal(uk_probe_unwrap(SEQ56 - 1, SEQ56 - 1), SEQ56 - 1);
	/* Across the boundary: the reference has wrapped, the reply is for a
	 * probe sent just before or just after the wrap. */
	assert_int_equal(uk_probe_unwrap(SEQ56 - 3, SEQ56 + 10), SEQ56 - 3);
	assert_int_equal(uk_probe_unwrap(4, SEQ56 + 10), SEQ56 + 4);
	assert_int_equal(uk_probe_unwrap(0, SEQ56), SEQ56);
	assert_int_equal(uk_probe_unwrap(SEQ56 - 1, SEQ56), SEQ56 - 1);
	/* Further up: the third epoch. */
	assert_int_equal(uk_probe_unwrap(SEQ56 - 1, 2 * SEQ56 + 1), 2 * SEQ56 - 1);
	assert_int_equal(uk_probe_unwrap(1, 2 * SEQ56 + 1), 2 * SEQ56 + 1);
	/* A wire value with bits above 56 is masked first. */
	assert_int_equal(uk_probe_unwrap(SEQ56 + 4, SEQ56 + 10), SEQ56 + 4);
	/* Round trip through the wire over a run that crosses the boundary. */
	{
		struct uk_probe_fmt f;
		unsigned char p[32];
		assert_int_equal(uk_probe_init(&f, sizeof(p), 3), 0);
		for (uint64_t seq = SEQ56 - 20; seq < SEQ56 + 20; seq++) {
			uint64_t wire = 0;
			uk_probe_build(&f, seq, p);
			assert_int_equal(uk_probe_parse(&f, p, sizeof(p), &wire), 0);
			/* The sender has sent up to 10 more probes since. */
			assert_int_equal(uk_probe_unwrap(wire, seq + 10), seq);
			assert_int_equal(uk_probe_unwrap(wire, seq), seq);
		}
	}
}

static void test_sockperf_make_reply(void **state)
{
	struct uk_probe_fmt f;
	unsigned char p[64], orig[64];
	(void)state;
	assert_int_equal(uk_probe_init(&f, sizeof(p), 5), 0);

	/* A PONG_REQUEST of the right length: CLIENT cleared, nothing else. */
	uk_probe_build(&f, 12345, p);
	memcpy(orig, p, sizeof(p));
	assert_true(uk_sockperf_make_reply(p, sizeof(p)));
	assert_int_equal(p[8], 0);
	assert_int_equal(p[9], UK_SOCKPERF_PONG_REQUEST);
	assert_memory_equal(p, orig, 8);
	assert_memory_equal(p + 10, orig + 10, sizeof(p) - 10);
	/* Already a reply: still answered, unchanged. */
	assert_true(uk_sockperf_make_reply(p, sizeof(p)));
	assert_int_equal(p[9], UK_SOCKPERF_PONG_REQUEST);
	/* Other flag bits are kept. */
	p[8] = 0x01;
	p[9] = 0x07;
	assert_true(uk_sockperf_make_reply(p, sizeof(p)));
	assert_int_equal(p[8], 0x01);
	assert_int_equal(p[9], 0x06);

	/* No PONG_REQUEST (sockperf under-load's other messages): not answered. */
	memcpy(p, orig, sizeof(p));
	p[9] = UK_SOCKPERF_CLIENT;
	assert_false(uk_sockperf_make_reply(p, sizeof(p)));
	assert_int_equal(p[9], UK_SOCKPERF_CLIENT);
	/* Length field does not match the datagram: untouched. */
	memcpy(p, orig, sizeof(p));
	assert_false(uk_sockperf_make_reply(p, sizeof(p) - 1));
	assert_false(uk_sockperf_make_reply(p, sizeof(p) + 0 - 10));
	p[13] = 63;
	assert_false(uk_sockperf_make_reply(p, sizeof(p)));
	p[13] = 64;
	assert_memory_equal(p, orig, sizeof(p));
	/* Shorter than the header, and empty. */
	assert_false(uk_sockperf_make_reply(p, UK_SOCKPERF_HEADER - 1));
	assert_false(uk_sockperf_make_reply(p, 0));
	assert_memory_equal(p, orig, sizeof(p));
	/* A bare 14-byte header saying 14 is a valid request. */
	{
		unsigned char h[UK_SOCKPERF_HEADER] = {0, 0, 0, 0, 0, 0, 0, 9, 0, 3, 0, 0, 0, 14};
		assert_true(uk_sockperf_make_reply(h, sizeof(h)));
		assert_int_equal(h[9], 2);
		assert_int_equal(h[7], 9);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_range),
	    cmocka_unit_test(test_build_layout),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_seq_keeps_low_56_bits),
	    cmocka_unit_test(test_ascii_up_to_127),
	    cmocka_unit_test(test_stamped_prefix_accepted),
	    cmocka_unit_test(test_sockperf_reply_flags_accepted),
	    cmocka_unit_test(test_fast_path_agrees),
	    cmocka_unit_test(test_rejects),
	    cmocka_unit_test(test_cut_reply),
	    cmocka_unit_test(test_unwrap),
	    cmocka_unit_test(test_sockperf_make_reply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
