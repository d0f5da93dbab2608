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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_iptux_offer),
	    cmocka_unit_test(test_escapes_ext_and_several),
	    cmocka_unit_test(test_malformed_entries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
