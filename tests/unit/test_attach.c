/* Unit tests for lib/attach.c: the IPMsg attachment list as iptux and IP
 * Messenger send it, escapes, extended attributes, and what must not
 * parse (the fuzz target covers the rest). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "udpkit/attach.h"
#include "udpkit/charset.h"
#include "udpkit/err.h"

#define S(lit) (lit), (sizeof(lit) - 1)

static void test_iptux_offer(void **state)
{
	struct uk_attach a[4];
	size_t total, bad;
	(void)state;

	/* ipmsg.md §4.4: after the empty text's NUL. */
	assert_int_equal(
	    uk_attach_parse(S("10000:report.txt:12:6b0d8a30:1:\a\0"), a, 4, &total, &bad), 1);
	assert_int_equal(total, 1);
	assert_int_equal(bad, 0);
	assert_int_equal(a[0].file_id, 10000);
	assert_string_equal(a[0].name, "report.txt");
	assert_int_equal(a[0].name_len, 10);
	assert_int_equal(a[0].size, 0x12);
	assert_int_equal(a[0].mtime, 0x6b0d8a30);
	assert_int_equal(a[0].attr, UK_ATTACH_REGULAR);
}

static void test_escapes_ext_and_several(void **state)
{
	struct uk_attach a[4];
	size_t total, bad;
	(void)state;

	/* "a::b.txt" is a:b.txt; extended attributes are skipped; a folder;
	 * a ':' after the BEL as some senders put it; no final BEL. */
	assert_int_equal(uk_attach_parse(S("1:a::b.txt:400:5f000000:1:14=1a2b:16=0:\a"
					   ":2:dir:0:5f000001:2:\a3:x:FFFFFFFFFFFFFFFF:0:1"),
					 a, 4, &total, &bad),
			 3);
	assert_int_equal(bad, 0);
	assert_string_equal(a[0].name, "a:b.txt");
	assert_int_equal(a[0].size, 0x400);
	assert_string_equal(a[1].name, "dir");
	assert_int_equal(a[1].attr, UK_ATTACH_DIR);
	assert_int_equal(a[2].size, UINT64_MAX);
	/* More entries than room: counted, not stored. */
	assert_int_equal(
	    uk_attach_parse(S("1:a:1:1:1:\a2:b:1:1:1:\a3:c:1:1:1:\a"), a, 2, &total, NULL), 2);
	assert_int_equal(total, 3);
}

static void test_malformed_entries(void **state)
{
	struct uk_attach a[4];
	size_t total, bad;
	char long_name[600];
	(void)state;

	/* Bad size, empty name, missing fields, too many digits, an id that
	 * is not decimal: counted bad; the good one between them kept. */
	assert_int_equal(uk_attach_parse(S("1:a:zz:1:1:\a2::1:1:1:\a3:b:1\a4:c:1:1:1:\a"
					   "5:d:11111111111111111:1:1:\ax:e:1:1:1:\a"),
					 a, 4, &total, &bad),
			 1);
	assert_int_equal(bad, 5);
	assert_string_equal(a[0].name, "c");
	/* A name over UK_ATTACH_NAME_MAX bytes. */
	memset(long_name, 'n', sizeof(long_name));
	memcpy(long_name, "1:", 2);
	memcpy(long_name + 300, ":1:1:1:", 7);
	assert_int_equal(uk_attach_parse(long_name, 307, a, 4, &total, &bad), 0);
	assert_int_equal(bad, 1);
	/* Nothing, or only separators. */
	assert_int_equal(uk_attach_parse(S(""), a, 4, &total, &bad), 0);
	assert_int_equal(uk_attach_parse(S("\a\a:\a"), a, 4, &total, &bad), 0);
	assert_int_equal(bad, 0);
	/* A NUL ends the list. */
	assert_int_equal(uk_attach_parse(S("1:a:1:1:1:\a\0"
					   "2:b:1:1:1:\a"),
					 a, 4, &total, NULL),
			 1);
}

/* Encodes one entry and parses it back. */
static void roundtrip(const struct uk_attach *in, struct uk_attach *out)
{
	char buf[1024];
	size_t total, bad;
	int n = uk_attach_encode(buf, sizeof(buf), 0, in);

	assert_true(n > 0);
	assert_int_equal(buf[n - 1], '\a');
	assert_int_equal(uk_attach_parse(buf, (size_t)n, out, 1, &total, &bad), 1);
	assert_int_equal(bad, 0);
	assert_int_equal(out->name_len, in->name_len);
	assert_memory_equal(out->name, in->name, in->name_len);
	assert_true(out->file_id == in->file_id && out->size == in->size &&
		    out->mtime == in->mtime && out->attr == in->attr);
	assert_int_equal(out->has_sha256, in->has_sha256);
}

static void set_name(struct uk_attach *a, const char *name, size_t len)
{
	memcpy(a->name, name, len);
	a->name[len] = 0;
	a->name_len = len;
}

static void test_encode(void **state)
{
	struct uk_attach a = {.file_id = 0, .size = 0x12, .mtime = 0x6b0d8a30, .attr = 1}, b;
	char buf[256];
	int n;
	(void)state;

	/* As iptux writes it (ipmsg.md §4.4). */
	set_name(&a, S("report.txt"));
	n = uk_attach_encode(buf, sizeof(buf), 0, &a);
	assert_int_equal(n, 28);
	assert_memory_equal(buf, "0:report.txt:12:6b0d8a30:1:\a", 28);
	/* ':' doubled, decimal ID above 2^32, a size above 4 GiB, a folder. */
	set_name(&a, S("a:b::c"));
	a.file_id = 12345678901u;
	a.size = 5ull << 30;
	a.attr = UK_ATTACH_DIR;
	n = uk_attach_encode(buf, sizeof(buf), 0, &a);
	assert_memory_equal(buf, "12345678901:a::b::::c:140000000:6b0d8a30:2:\a", (size_t)n);
	roundtrip(&a, &b);
	/* The SHA-256 attribute goes there and back; other clients skip it. */
	for (int i = 0; i < UK_ATTACH_SHA256_BYTES; i++)
		a.sha256[i] = (uint8_t)(i * 7 + 1);
	a.has_sha256 = true;
	roundtrip(&a, &b);
	assert_memory_equal(b.sha256, a.sha256, UK_ATTACH_SHA256_BYTES);
	/* Appending: two entries in one buffer. */
	n = uk_attach_encode(buf, sizeof(buf), 0, &a);
	n = uk_attach_encode(buf, sizeof(buf), (size_t)n, &a);
	assert_int_equal(uk_attach_parse(buf, (size_t)n, &b, 1, NULL, NULL), 1);
	/* Too small a buffer, names that cannot be sent. */
	assert_int_equal(uk_attach_encode(buf, 20, 0, &a), UK_ENOSPACE);
	set_name(&a, S("bell\a"));
	assert_int_equal(uk_attach_encode(buf, sizeof(buf), 0, &a), UK_EPARSE);
	set_name(&a, S("n\0ul"));
	assert_int_equal(uk_attach_encode(buf, sizeof(buf), 0, &a), UK_EPARSE);
	a.name_len = 0;
	assert_int_equal(uk_attach_encode(buf, sizeof(buf), 0, &a), UK_EPARSE);
	/* A malformed SHA-256 value is ignored, not half-read. */
	assert_int_equal(uk_attach_parse(S("1:a:1:1:1:75d256=zz:\a"), &b, 1, NULL, NULL), 1);
	assert_false(b.has_sha256);
}

/* Chinese names in UTF-8 and in GBK (iptux and FeiQ set to GBK) survive
 * encode, parse and decoding with lib/charset.c. */
static void test_chinese_names(void **state)
{
	static const char utf8[] = "报告：第一季度.txt"; /* a full-width colon, not ':' */
	struct uk_attach a = {.file_id = 7, .size = 1, .mtime = 2, .attr = 1}, b;
	struct uk_charset cs;
	char gbk[64], back[UK_CHARSET_OUT_SIZE(64)];
	size_t replaced, back_len;
	int n;
	(void)state;

	set_name(&a, utf8, sizeof(utf8) - 1);
	roundtrip(&a, &b);
	uk_charset_init(&cs);
	n = uk_charset_encode(&cs, UK_CHARSET_GB18030, utf8, sizeof(utf8) - 1, gbk, sizeof(gbk),
			      &replaced);
	assert_true(n > 0);
	assert_int_equal(replaced, 0);
	set_name(&a, gbk, (size_t)n);
	roundtrip(&a, &b);
	assert_int_equal(uk_charset_decode_peer(&cs, NULL, UK_CHARSET_GB18030, b.name, b.name_len,
						false, back, sizeof(back), &back_len),
			 UK_CHARSET_GB18030);
	assert_string_equal(back, utf8);
	uk_charset_free(&cs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_iptux_offer),
	    cmocka_unit_test(test_escapes_ext_and_several),
	    cmocka_unit_test(test_malformed_entries),
	    cmocka_unit_test(test_encode),
	    cmocka_unit_test(test_chinese_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
