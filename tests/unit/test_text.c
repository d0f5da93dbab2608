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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escape_plain_and_controls),
	    cmocka_unit_test(test_escape_utf8),
	    cmocka_unit_test(test_roundtrip_all_bytes),
	    cmocka_unit_test(test_escape_no_space),
	    cmocka_unit_test(test_unescape_rejects_bad),
	    cmocka_unit_test(test_json_escape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
