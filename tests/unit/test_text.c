/* Unit tests for lib/text.c: escaping is safe and reversible. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "udpkit/err.h"
#include "udpkit/text.h"

static void check_escape(const char *in, size_t n, const char *want)
{
	char out[256];
	assert_int_equal(uk_text_escape(in, n, out, sizeof(out)), (int)strlen(want));
	assert_string_equal(out, want);
}

static void test_escape_plain_and_controls(void **state)
{
	(void)state;
	check_escape("hello", 5, "hello");
	check_escape("a\\b", 3, "a\\\\b");
	check_escape("\x1b[31mred", 8, "\\e[31mred");
	check_escape("a\0b\x7f", 4, "a\\x00b\\x7f");
	check_escape("l1\nl2\r\t", 7, "l1\\nl2\\r\\t");
}

static void test_escape_utf8(void **state)
{
	(void)state;
	check_escape("\xe4\xbd\xa0\xe5\xa5\xbd", 6, "\xe4\xbd\xa0\xe5\xa5\xbd"); /* 你好 passes */
	check_escape("\xff\xfe", 2, "\\xff\\xfe");				 /* invalid bytes */
	check_escape("\xc2\x9b", 2, "\\u009b");					 /* C1 CSI */
	check_escape("\xe2\x80\xae", 3, "\\u202e");	    /* RLO bidi override */
	check_escape("\xe4\xbd", 2, "\\xe4\\xbd");	    /* cut sequence */
	check_escape("\xc0\xaf", 2, "\\xc0\\xaf");	    /* overlong */
	check_escape("\xed\xa0\x80", 3, "\\xed\\xa0\\x80"); /* surrogate */
}

static void test_roundtrip_all_bytes(void **state)
{
	unsigned char in[512], back[512];
	char esc[UK_ESCAPE_SIZE(512)];
	int n, m;
	(void)state;
	for (int i = 0; i < 512; i++)
		in[i] = (unsigned char)(i * 7 + i / 256);
	n = uk_text_escape(in, sizeof(in), esc, sizeof(esc));
	assert_true(n > 0);
	for (int i = 0; i < n; i++) /* nothing raw below 0x20 survives */
		assert_true((unsigned char)esc[i] >= 0x20);
	m = uk_text_unescape(esc, (size_t)n, back, sizeof(back));
	assert_int_equal(m, 512);
	assert_memory_equal(in, back, 512);
}

static void test_escape_no_space(void **state)
{
	char out[4];
	(void)state;
	assert_int_equal(uk_text_escape("abcdef", 6, out, sizeof(out)), UK_ENOSPACE);
	assert_string_equal(out, "abc");
	assert_int_equal(uk_text_escape("\x01", 1, out, sizeof(out)), UK_ENOSPACE);
}

static void test_unescape_rejects_bad(void **state)
{
	unsigned char out[16];
	(void)state;
	assert_int_equal(uk_text_unescape("\\", 1, out, sizeof(out)), UK_EPARSE);
	assert_int_equal(uk_text_unescape("\\q", 2, out, sizeof(out)), UK_EPARSE);
	assert_int_equal(uk_text_unescape("\\xg0", 4, out, sizeof(out)), UK_EPARSE);
	assert_int_equal(uk_text_unescape("\\ud800", 6, out, sizeof(out)), UK_EPARSE);
}

static void test_json_escape(void **state)
{
	char out[64];
	(void)state;
	assert_int_equal(uk_json_escape("a\"b\\c\x01", 6, out, sizeof(out)), 13);
	assert_string_equal(out, "a\\\"b\\\\c\\u0001");
}

static void check_name(const char *in, const char *want)
{
	char out[256];
	assert_int_equal(uk_text_escape_name(in, strlen(in), out, sizeof(out)), (int)strlen(want));
	assert_string_equal(out, want);
}

/* Issue 10, attack 9: characters that draw nothing are shown escaped, so
 * "bo<U+200B>b" cannot pass for "bob", in names and in messages. */
static void test_invisible_characters_escaped(void **state)
{
	(void)state;
	check_escape("bo\xe2\x80\x8b"
		     "b",
		     6, "bo\\u200bb");				/* U+200B zero width space */
	check_escape("a\xe2\x81\xa0z", 5, "a\\u2060z");		/* U+2060 word joiner */
	check_escape("a\xc2\xadz", 4, "a\\u00adz");		/* U+00AD soft hyphen */
	check_escape("a\xcd\x8fz", 4, "a\\u034fz");		/* U+034F CGJ */
	check_escape("a\xe1\x85\x9fz", 5, "a\\u115fz");		/* U+115F Hangul filler */
	check_escape("a\xe3\x85\xa4z", 5, "a\\u3164z");		/* U+3164 Hangul filler */
	check_escape("a\xef\xbf\xb9z", 5, "a\\ufff9z");		/* U+FFF9 annotation */
	check_escape("a\xf3\xa0\x80\x81z", 6, "a\\U000e0001z"); /* U+E0001 language tag */
	check_escape("a\xf3\xa0\x81\xa2z", 6, "a\\U000e0062z"); /* U+E0062 tag b */
	check_escape("\xd8\x80"
		     "1",
		     3, "\\u06001"); /* U+0600 Arabic number sign */
	check_name("bo\xe2\x80\x8b"
		   "b",
		   "bo\\u200bb");
	check_name("\xf3\xa0\x80\xa0", "\\U000e0020");
	/* Visible neighbours pass: é, 你, an emoji. */
	check_escape("\xc3\xa9\xe4\xbd\xa0\xf0\x9f\x98\x80", 9,
		     "\xc3\xa9\xe4\xbd\xa0\xf0\x9f\x98\x80");
}

/* Joiners and variation selectors shape emoji and scripts: kept in
 * messages, escaped in names. */
static void test_joiners_kept_in_text_escaped_in_names(void **state)
{
	/* man ZWJ woman ZWJ girl; a red heart with VS16; Persian with ZWNJ */
	static const char family[] = "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9";
	static const char heart[] = "\xe2\x9d\xa4\xef\xb8\x8f";
	static const char zwnj[] = "\xd9\x85\xe2\x80\x8c\xd9\x8a";
	(void)state;
	check_escape(family, strlen(family), family);
	check_escape(heart, strlen(heart), heart);
	check_escape(zwnj, strlen(zwnj), zwnj);
	check_name(family, "\xf0\x9f\x91\xa8\\u200d\xf0\x9f\x91\xa9");
	check_name(heart, "\xe2\x9d\xa4\\ufe0f");
	check_name("b\xe2\x80\x8c"
		   "ob",
		   "b\\u200cob");
}

static void test_invisible_roundtrip(void **state)
{
	static const char in[] = "x\xe2\x80\x8b\xf3\xa0\x80\x81\xc2\xad\xe2\x80\x8dy";
	char esc[UK_ESCAPE_SIZE(sizeof(in))];
	unsigned char back[sizeof(in)];
	int n, m;
	(void)state;
	n = uk_text_escape_name(in, strlen(in), esc, sizeof(esc));
	assert_string_equal(esc, "x\\u200b\\U000e0001\\u00ad\\u200dy");
	m = uk_text_unescape(esc, (size_t)n, back, sizeof(back));
	assert_int_equal(m, (int)strlen(in));
	assert_memory_equal(back, in, strlen(in));
	/* \U takes exactly 8 hex digits of a code point above U+FFFF. */
	assert_int_equal(uk_text_unescape("\\U0000ffff", 10, back, sizeof(back)), UK_EPARSE);
	assert_int_equal(uk_text_unescape("\\U00110000", 10, back, sizeof(back)), UK_EPARSE);
	assert_int_equal(uk_text_unescape("\\U000e000", 9, back, sizeof(back)), UK_EPARSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escape_plain_and_controls),
	    cmocka_unit_test(test_escape_utf8),
	    cmocka_unit_test(test_roundtrip_all_bytes),
	    cmocka_unit_test(test_escape_no_space),
	    cmocka_unit_test(test_unescape_rejects_bad),
	    cmocka_unit_test(test_json_escape),
	    cmocka_unit_test(test_invisible_characters_escaped),
	    cmocka_unit_test(test_joiners_kept_in_text_escaped_in_names),
	    cmocka_unit_test(test_invisible_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
