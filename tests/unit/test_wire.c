/* Unit tests for lib/wire.c: big-endian fields, a sticky error that turns
 * every later read into zero, and a writer that never runs past its end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "udpkit/wire.h"

static void test_read_big_endian(void **state)
{
	static const unsigned char buf[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
					    0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0xf0, 0xf1};
	struct uk_wire_reader r;
	const unsigned char *p;
	(void)state;
	uk_wire_reader_init(&r, buf, sizeof(buf));
	assert_int_equal(uk_wire_reader_left(&r), 17);
	assert_int_equal(uk_wire_read_u8(&r), 0x01);
	assert_int_equal(uk_wire_read_u16be(&r), 0x0203);
	assert_int_equal(uk_wire_read_u32be(&r), 0x04050607);
	assert_int_equal(uk_wire_read_u64be(&r), 0x08090a0b0c0d0e0full);
	assert_int_equal(uk_wire_reader_left(&r), 2);
	p = uk_wire_read_bytes(&r, 2);
	assert_ptr_equal(p, buf + 15);
	assert_int_equal(uk_wire_reader_left(&r), 0);
	assert_false(r.err);
	/* Reading zero bytes at the very end is fine. */
	assert_non_null(uk_wire_read_bytes(&r, 0));
	assert_false(r.err);
}

static void test_read_high_bits(void **state)
{
	static const unsigned char buf[] = {0xff, 0xfe, 0x80, 0x00, 0x00, 0x01, 0xff,
					    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	struct uk_wire_reader r;
	(void)state;
	uk_wire_reader_init(&r, buf, sizeof(buf));
	assert_int_equal(uk_wire_read_u16be(&r), 0xfffe);
	assert_int_equal(uk_wire_read_u32be(&r), 0x80000001u);
	assert_int_equal(uk_wire_read_u64be(&r), UINT64_MAX);
	assert_false(r.err);
}

static void test_read_sticky_error(void **state)
{
	static const unsigned char buf[] = {0xaa, 0xbb, 0xcc};
	struct uk_wire_reader r;
	(void)state;
	uk_wire_reader_init(&r, buf, sizeof(buf));
	/* A 4-byte read from 3 bytes fails, yields 0 and consumes nothing... */
	assert_int_equal(uk_wire_read_u32be(&r), 0);
	assert_true(r.err);
	assert_int_equal(uk_wire_reader_left(&r), 0);
	/* ...and the error sticks: even reads that would fit now yield 0. */
	assert_int_equal(uk_wire_read_u8(&r), 0);
	assert_int_equal(uk_wire_read_u16be(&r), 0);
	assert_null(uk_wire_read_bytes(&r, 1));
	assert_null(uk_wire_read_bytes(&r, 0));
	assert_true(r.err);

	uk_wire_reader_init(&r, buf, sizeof(buf));
	assert_int_equal(uk_wire_read_u16be(&r), 0xaabb);
	assert_int_equal(uk_wire_read_u64be(&r), 0);
	assert_true(r.err);
	assert_int_equal(uk_wire_read_u8(&r), 0);

	/* A huge length cannot wrap the bounds check. */
	uk_wire_reader_init(&r, buf, sizeof(buf));
	(void)uk_wire_read_u8(&r);
	assert_null(uk_wire_read_bytes(&r, SIZE_MAX));
	assert_true(r.err);

	/* An empty buffer. */
	uk_wire_reader_init(&r, NULL, 0);
	assert_int_equal(uk_wire_reader_left(&r), 0);
	assert_int_equal(uk_wire_read_u8(&r), 0);
	assert_true(r.err);
}

static void test_write_big_endian(void **state)
{
	static const unsigned char want[] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x01, 0x02,
					     0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 'h',  'i'};
	unsigned char buf[17];
	struct uk_wire_writer w;
	(void)state;
	uk_wire_writer_init(&w, buf, sizeof(buf));
	uk_wire_write_u8(&w, 0x11);
	uk_wire_write_u16be(&w, 0x2233);
	uk_wire_write_u32be(&w, 0x44556677);
	uk_wire_write_u64be(&w, 0x0102030405060708ull);
	uk_wire_write_bytes(&w, "hi", 2);
	assert_false(w.err);
	assert_int_equal(w.off, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
}

static void test_write_overflow(void **state)
{
	unsigned char buf[8];
	struct uk_wire_writer w;
	(void)state;
	memset(buf, 0xee, sizeof(buf));
	/* The writer only sees the first 5 bytes; the rest must stay untouched. */
	uk_wire_writer_init(&w, buf, 5);
	uk_wire_write_u32be(&w, 0x01020304);
	uk_wire_write_u16be(&w, 0x0506); /* does not fit: nothing of it is written */
	assert_true(w.err);
	assert_int_equal(w.off, 4);
	uk_wire_write_u8(&w, 0x07); /* would fit, but the error is sticky */
	assert_int_equal(w.off, 4);
	assert_int_equal(buf[4], 0xee);
	assert_int_equal(buf[5], 0xee);
	assert_int_equal(buf[0], 0x01);
	assert_int_equal(buf[3], 0x04);

	uk_wire_writer_init(&w, buf, 2);
	uk_wire_write_bytes(&w, "abc", SIZE_MAX);
	assert_true(w.err);
	assert_int_equal(w.off, 0);

	uk_wire_writer_init(&w, buf, 0);
	uk_wire_write_u8(&w, 1);
	assert_true(w.err);
}

static void test_round_trip(void **state)
{
	unsigned char buf[80];
	struct uk_wire_writer w;
	struct uk_wire_reader r;
	(void)state;
	uk_wire_writer_init(&w, buf, sizeof(buf));
	for (uint64_t v = 1; v != 0; v <<= 7)
		uk_wire_write_u64be(&w, v);
	assert_false(w.err);
	uk_wire_reader_init(&r, buf, w.off);
	for (uint64_t v = 1; v != 0; v <<= 7)
		assert_int_equal(uk_wire_read_u64be(&r), v);
	assert_false(r.err);
	assert_int_equal(uk_wire_reader_left(&r), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_read_big_endian),   cmocka_unit_test(test_read_high_bits),
	    cmocka_unit_test(test_read_sticky_error), cmocka_unit_test(test_write_big_endian),
	    cmocka_unit_test(test_write_overflow),    cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
