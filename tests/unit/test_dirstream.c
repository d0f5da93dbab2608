/* Unit tests for lib/dirstream.c: folder stream headers as iptux writes
 * them, in pieces, malformed; the receiver's walk and its limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "udpkit/dirstream.h"
#include "udpkit/err.h"

#define S(lit) (lit), (sizeof(lit) - 1)

static void test_iptux_headers(void **state)
{
	/* iptux's SendDirFiles: "%04x:%s:%.9llx:%lx:14=%lx:16=%lx:". */
	static const char dir[] = "0027:docs:000000000:2:14=6b0d8a30:16=0:";
	static const char file[] = "002b:a::b.txt:000000012:1:14=6b0d8a31:16=1:hello";
	struct uk_dirhdr h;
	(void)state;

	assert_int_equal(uk_dirhdr_parse(S(dir), &h), 0x27);
	assert_string_equal(h.name, "docs");
	assert_int_equal(h.attr, UK_ATTACH_DIR);
	assert_int_equal(h.mtime, 0x6b0d8a30);
	assert_int_equal(uk_dirhdr_parse(S(file), &h), 0x2b);
	assert_string_equal(h.name, "a:b.txt");
	assert_int_equal(h.size, 0x12);
	assert_int_equal(h.ctime, 1);
	/* RETPARENT as iptux patches it in. */
	assert_int_equal(uk_dirhdr_parse(S("0015:.:0:3:14=0:16=0:"), &h), 0x15);
	assert_int_equal(h.attr, UK_ATTACH_RETPARENT);
	/* The official form without keys, and unknown keys skipped. */
	assert_int_equal(uk_dirhdr_parse(S("0012:x:10:1:3=1,2:"), &h), 0x12);
	assert_int_equal(h.size, 0x10);
}

static void test_build_pieces(void **state)
{
	struct uk_dirhdr h = {.size = 5ull << 30, .attr = 1, .mtime = 0x6b0d8a30}, g;
	char buf[600];
	int n;
	(void)state;

	memcpy(h.name, "报告:1.txt", 12);
	h.name_len = 12;
	n = uk_dirhdr_build(buf, sizeof(buf), &h);
	assert_true(n > 0);
	assert_memory_equal(buf + 4, ":报告::1.txt:140000000:1:14=6b0d8a30:16=0:", (size_t)n - 4);
	for (int k = 0; k < n; k++)
		assert_int_equal(uk_dirhdr_parse(buf, (size_t)k, &g), 0);
	assert_int_equal(uk_dirhdr_parse(buf, (size_t)n, &g), n);
	assert_int_equal(g.name_len, 12);
	assert_memory_equal(g.name, h.name, 12);
	assert_true(g.size == h.size && g.mtime == h.mtime);
	/* Size at least 9 digits, as iptux writes it. */
	h.size = 0;
	n = uk_dirhdr_build(buf, sizeof(buf), &h);
	assert_non_null(memmem(buf, (size_t)n, ":000000000:", 11));
	/* RETPARENT as iptux writes it: size not padded. */
	h.attr = UK_ATTACH_RETPARENT;
	memcpy(h.name, ".", 2);
	h.name_len = 1;
	h.mtime = 0x6b0ddc7c;
	n = uk_dirhdr_build(buf, sizeof(buf), &h);
	assert_int_equal(n, 0x1c);
	assert_memory_equal(buf, "001c:.:0:3:14=6b0ddc7c:16=0:", 0x1c);
	assert_int_equal(uk_dirhdr_build(buf, 20, &h), UK_ENOSPACE);
	h.name_len = 0;
	assert_int_equal(uk_dirhdr_build(buf, sizeof(buf), &h), UK_EPARSE);
}

/* The SHA-256 attribute between two udpkit: after keys 14 and 16 (where
 * iptux stops reading), round-tripped, in pieces; a malformed value is
 * ignored like an unknown key, and a header without it has none. */
static void test_sha256_attr(void **state)
{
	struct uk_dirhdr h = {.size = 5, .attr = 1, .mtime = 0x6b0d8a30, .has_sha256 = true}, g;
	char buf[600];
	int n;
	(void)state;

	memcpy(h.name, "a.txt", 6);
	h.name_len = 5;
	for (int i = 0; i < UK_ATTACH_SHA256_BYTES; i++)
		h.sha256[i] = (uint8_t)(0xa0 + i);
	n = uk_dirhdr_build(buf, sizeof(buf), &h);
	assert_true(n > 0);
	assert_memory_equal(buf + 4,
			    ":a.txt:000000005:1:14=6b0d8a30:16=0:75d256="
			    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf:",
			    (size_t)n - 4);
	for (int k = 0; k < n; k++)
		assert_int_equal(uk_dirhdr_parse(buf, (size_t)k, &g), 0);
	assert_int_equal(uk_dirhdr_parse(buf, (size_t)n, &g), n);
	assert_true(g.has_sha256);
	assert_memory_equal(g.sha256, h.sha256, UK_ATTACH_SHA256_BYTES);
	assert_true(g.size == 5 && g.mtime == 0x6b0d8a30);
	/* Too short, not hex, too long: ignored, the header still parses. */
	assert_int_equal(uk_dirhdr_parse(S("001a:x:1:1:14=1:75d256=ab:"), &g), 0x1a);
	assert_false(g.has_sha256);
	n = uk_dirhdr_build(buf, sizeof(buf), &h);
	buf[n - 10] = 'g';
	assert_int_equal(uk_dirhdr_parse(buf, (size_t)n, &g), n);
	assert_false(g.has_sha256);
	/* Without the attribute: none, as from iptux. */
	assert_int_equal(uk_dirhdr_parse(S("0015:x:1:1:14=1:16=2:"), &g), 0x15);
	assert_false(g.has_sha256);
}

static void test_malformed(void **state)
{
	struct uk_dirhdr h;
	char big[400];
	(void)state;

	/* Length not hex, too short, not ending in ':', fields past the
	 * length, bad size, missing attr, bad key. */
	assert_int_equal(uk_dirhdr_parse(S("00g0:a:1:1:"), &h), UK_EPARSE);
	assert_int_equal(uk_dirhdr_parse(S("0005:a:1:1:"), &h), UK_EPARSE);
	assert_int_equal(uk_dirhdr_parse(S("000b:a:1:1:x"), &h), 11); /* data follows */
	assert_int_equal(uk_dirhdr_parse(S("000c:a:1:1:xx"), &h), UK_EPARSE);
	assert_int_equal(uk_dirhdr_parse(S("000b:abcdef:1:1:"), &h), UK_EPARSE);
	assert_int_equal(uk_dirhdr_parse(S("000c:a:zz:1:"), &h), UK_EPARSE);
	assert_int_equal(uk_dirhdr_parse(S("000b::::1:1:"), &h), UK_EPARSE);
	assert_int_equal(uk_dirhdr_parse(S("000e:a:1:1:14:"), &h), UK_EPARSE);
	assert_int_equal(uk_dirhdr_parse(S("000d:a:1:1:=1:"), &h), UK_EPARSE);
	assert_int_equal(uk_dirhdr_parse(S("0004:"), &h), UK_EPARSE);
	assert_int_equal(uk_dirhdr_parse(S("00"), &h), 0);
	/* A name longer than UK_ATTACH_NAME_MAX. */
	memset(big, 'n', sizeof(big));
	memcpy(big, "0190:", 5);
	memcpy(big + 390, ":0:1:", 5);
	big[0x18f] = ':';
	assert_int_equal(uk_dirhdr_parse(big, sizeof(big), &h), UK_EPARSE);
}

static struct uk_dirhdr hdr(uint32_t attr, uint64_t size)
{
	struct uk_dirhdr h = {.attr = attr, .size = size, .name = "x", .name_len = 1};
	return h;
}

static void test_walk(void **state)
{
	struct uk_dirwalk w;
	struct uk_dirhdr d = hdr(UK_ATTACH_DIR, 0), f = hdr(UK_ATTACH_REGULAR, 10),
			 up = hdr(UK_ATTACH_RETPARENT, 0), other = hdr(5, 7);
	(void)state;

	uk_dirwalk_init(&w, 3, 100, 1000, 100);
	assert_int_equal(uk_dirwalk_header(&w, &d), UK_DIRWALK_ENTER);
	assert_int_equal(uk_dirwalk_header(&w, &f), UK_DIRWALK_FILE);
	assert_int_equal(uk_dirwalk_header(&w, &d), UK_DIRWALK_ENTER);
	assert_int_equal(uk_dirwalk_header(&w, &other), UK_DIRWALK_SKIP);
	assert_int_equal(uk_dirwalk_header(&w, &up), UK_DIRWALK_LEAVE);
	assert_int_equal(uk_dirwalk_header(&w, &up), UK_DIRWALK_END);
	assert_true(w.done);
	/* Nothing after the end; a stream that does not start with a folder;
	 * a RETPARENT first (climbing above the target). */
	assert_int_equal(uk_dirwalk_header(&w, &f), UK_EPARSE);
	uk_dirwalk_init(&w, 3, 100, 1000, 100);
	assert_int_equal(uk_dirwalk_header(&w, &f), UK_EPARSE);
	assert_int_equal(uk_dirwalk_header(&w, &up), UK_EPARSE);
	/* Depth, entries, total bytes, file size. */
	uk_dirwalk_init(&w, 2, 100, 1000, 100);
	uk_dirwalk_header(&w, &d);
	uk_dirwalk_header(&w, &d);
	assert_int_equal(uk_dirwalk_header(&w, &d), UK_ERANGE_);
	uk_dirwalk_init(&w, 2, 3, 1000, 100);
	uk_dirwalk_header(&w, &d);
	uk_dirwalk_header(&w, &f);
	uk_dirwalk_header(&w, &f);
	assert_int_equal(uk_dirwalk_header(&w, &f), UK_ERANGE_);
	uk_dirwalk_init(&w, 2, 100, 25, 100);
	uk_dirwalk_header(&w, &d);
	uk_dirwalk_header(&w, &f);
	uk_dirwalk_header(&w, &f);
	assert_int_equal(uk_dirwalk_header(&w, &f), UK_ERANGE_);
	uk_dirwalk_init(&w, 2, 100, 1000, 9);
	uk_dirwalk_header(&w, &d);
	assert_int_equal(uk_dirwalk_header(&w, &f), UK_ERANGE_);
	f.size = UINT64_MAX;
	uk_dirwalk_init(&w, 2, 100, UINT64_MAX - 1, UINT64_MAX);
	uk_dirwalk_header(&w, &d);
	assert_int_equal(uk_dirwalk_header(&w, &f), UK_ERANGE_);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_iptux_headers), cmocka_unit_test(test_build_pieces),
	    cmocka_unit_test(test_sha256_attr),	  cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_walk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
