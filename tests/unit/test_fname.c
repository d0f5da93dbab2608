/* Unit tests for lib/fname.c: every name a hostile offer might carry is
 * refused with its reason; numbered and partial names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "udpkit/err.h"
#include "udpkit/fname.h"

#define S(lit) (lit), (sizeof(lit) - 1)

static void test_refusals(void **state)
{
	char long_name[300];
	(void)state;

	assert_int_equal(uk_fname_check(S("report.txt")), UK_FNAME_OK);
	assert_int_equal(uk_fname_check(S("报告.txt")), UK_FNAME_OK);
	assert_int_equal(uk_fname_check(S("..hidden")), UK_FNAME_OK);
	assert_int_equal(uk_fname_check(S("a:b")), UK_FNAME_OK);
	assert_int_equal(uk_fname_check(S("")), UK_FNAME_EMPTY);
	assert_int_equal(uk_fname_check(S(".")), UK_FNAME_DOT);
	assert_int_equal(uk_fname_check(S("..")), UK_FNAME_DOTDOT);
	assert_int_equal(uk_fname_check(S("../etc/passwd")), UK_FNAME_DOTDOT);
	assert_int_equal(uk_fname_check(S("a/../../b")), UK_FNAME_DOTDOT);
	assert_int_equal(uk_fname_check(S("a\\..\\b")), UK_FNAME_DOTDOT);
	assert_int_equal(uk_fname_check(S("/etc/passwd")), UK_FNAME_ABSOLUTE);
	assert_int_equal(uk_fname_check(S("\\x")), UK_FNAME_ABSOLUTE);
	assert_int_equal(uk_fname_check(S("C:\\Windows")), UK_FNAME_ABSOLUTE);
	assert_int_equal(uk_fname_check(S("C:/x")), UK_FNAME_ABSOLUTE);
	assert_int_equal(uk_fname_check(S("a/b")), UK_FNAME_SLASH);
	assert_int_equal(uk_fname_check(S("a\\b")), UK_FNAME_BACKSLASH);
	assert_int_equal(uk_fname_check(S("a\nb")), UK_FNAME_CONTROL);
	assert_int_equal(uk_fname_check(S("\x1b[2Jx")), UK_FNAME_CONTROL);
	assert_int_equal(uk_fname_check(S("a\x7f")), UK_FNAME_CONTROL);
	assert_int_equal(uk_fname_check(S("a\xc2\x9b")), UK_FNAME_CONTROL); /* C1 CSI */
	assert_int_equal(uk_fname_check(S("a\0b")), UK_FNAME_CONTROL);
	assert_int_equal(uk_fname_check(S("\xff\xfe")), UK_FNAME_NOT_UTF8);
	assert_int_equal(uk_fname_check(S("\xc0\xaf")), UK_FNAME_NOT_UTF8); /* overlong '/' */
	assert_int_equal(uk_fname_check(S("\xe6\x8a")), UK_FNAME_NOT_UTF8); /* cut */
	assert_int_equal(uk_fname_check(S("invoice\xe2\x80\xaegpj.exe")), UK_FNAME_BIDI);
	memset(long_name, 'x', sizeof(long_name));
	assert_int_equal(uk_fname_check(long_name, 255), UK_FNAME_OK);
	assert_int_equal(uk_fname_check(long_name, 256), UK_FNAME_TOO_LONG);
	for (int v = UK_FNAME_OK; v <= UK_FNAME_BIDI; v++)
		assert_non_null(uk_fname_reason((enum uk_fname_verdict)v));
	assert_string_equal(uk_fname_reason(UK_FNAME_SLASH), "contains '/'");
}

static void test_numbered(void **state)
{
	char out[300], long_name[260];
	(void)state;

	assert_int_equal(uk_fname_numbered(S("report.txt"), 0, out, sizeof(out)), 10);
	assert_string_equal(out, "report.txt");
	uk_fname_numbered(S("report.txt"), 1, out, sizeof(out));
	assert_string_equal(out, "report (1).txt");
	uk_fname_numbered(S("a.tar.gz"), 12, out, sizeof(out));
	assert_string_equal(out, "a (12).tar.gz");
	uk_fname_numbered(S(".bashrc"), 2, out, sizeof(out));
	assert_string_equal(out, ".bashrc (2)");
	uk_fname_numbered(S("dir"), 3, out, sizeof(out));
	assert_string_equal(out, "dir (3)");
	/* A 255-byte name stays within 255 bytes, cut at a UTF-8 boundary. */
	for (int i = 0; i < 84; i++)
		memcpy(long_name + 3 * i, "报", 3);
	memcpy(long_name + 252, ".tx", 3);
	assert_int_equal(uk_fname_numbered(long_name, 255, 7, out, sizeof(out)), 253);
	assert_int_equal(uk_fname_check(out, 253), UK_FNAME_OK);
	assert_int_equal(uk_fname_numbered(S("report.txt"), 1, out, 8), UK_ENOSPACE);
}

static void test_partial(void **state)
{
	char a[30], b[30];
	(void)state;

	assert_int_equal(uk_fname_partial(S("x.iso"), 100, 5, a, sizeof(a)), 29);
	assert_int_equal(strlen(a), 29);
	assert_memory_equal(a, ".udpkit-", 8);
	assert_int_equal(uk_fname_check(a, 29), UK_FNAME_OK);
	/* Stable for the same file, different for another size or mtime. */
	uk_fname_partial(S("x.iso"), 100, 5, b, sizeof(b));
	assert_string_equal(a, b);
	uk_fname_partial(S("x.iso"), 101, 5, b, sizeof(b));
	assert_string_not_equal(a, b);
	uk_fname_partial(S("x.iso"), 100, 6, b, sizeof(b));
	assert_string_not_equal(a, b);
	assert_int_equal(uk_fname_partial(S("x"), 1, 1, b, 29), UK_ENOSPACE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_numbered),
	    cmocka_unit_test(test_partial),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
