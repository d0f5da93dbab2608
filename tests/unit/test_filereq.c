/* Unit tests for lib/filereq.c: GETFILEDATA and GETDIRFILES requests as
 * iptux and udpkit send them, in pieces, and malformed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "udpkit/err.h"
#include "udpkit/filereq.h"

#define S(lit) (lit), (sizeof(lit) - 1)

static void test_iptux_requests(void **state)
{
	/* iptux's SendAskData: "%x:%x:%llx" with FILEATTACHOPT|GETFILEDATA. */
	static const char req[] = "1_iptux 0.8.3:7:root:vm:2097248:5f1:2710:0";
	struct uk_filereq r;
	uint64_t ids[] = {1, 10000, 0x2710};
	(void)state;

	assert_int_equal(uk_filereq_parse(req, sizeof(req), &r), (int)sizeof(req));
	assert_int_equal(r.mode, UK_FILEREQ_GETFILEDATA);
	assert_int_equal(r.command, 0x200060);
	assert_int_equal(r.offer_no, 0x5f1);
	assert_int_equal(r.id_hex, 0x2710);
	assert_int_equal(r.id_dec, 2710);
	assert_true(r.id_dec_ok);
	assert_int_equal(r.offset, 0);
	assert_true(r.iptux);
	/* Hex first, as iptux's server looks IDs up. */
	assert_int_equal(uk_filereq_match(&r, ids, 3), 1);
	assert_int_equal(uk_filereq_match(&r, ids, 1), -1);
	/* GETDIRFILES with iptux's ":0". */
	assert_int_equal(uk_filereq_parse(S("1_iptux 0.8.3:8:root:vm:2097250:5f1:1:0\0"), &r), 40);
	assert_int_equal(r.mode, UK_FILEREQ_GETDIRFILES);
	assert_int_equal(r.id_hex, 1);
	/* Decimal fallback: "1a" is not decimal, "12" is both. */
	assert_int_equal(uk_filereq_parse(S("1:8:u:h:96:1:1a:ff\0"), &r), 19);
	assert_false(r.id_dec_ok);
	assert_int_equal(r.offset, 0xff);
	assert_false(r.iptux);
	ids[0] = 12;
	assert_int_equal(uk_filereq_parse(S("1:8:u:h:96:1:12:0\0"), &r), 18);
	assert_int_equal(uk_filereq_match(&r, ids, 1), 0);
}

static void test_build_and_pieces(void **state)
{
	struct uk_ipmsg_ident id;
	struct uk_filereq r;
	char buf[256];
	int n;
	(void)state;

	uk_ipmsg_ident_set(&id, "alice", "box", "Alice", "");
	n = uk_filereq_build(buf, sizeof(buf), &id, 9, UK_FILEREQ_GETFILEDATA, 0, 0x1234, 3,
			     5ull << 30);
	assert_true(n > 0);
	assert_string_equal(buf, "1:9:alice:box:96:1234:3:140000000");
	assert_int_equal(buf[n - 1], 0);
	/* Every prefix: "more, please". */
	for (int k = 0; k < n; k++)
		assert_int_equal(uk_filereq_parse(buf, (size_t)k, &r), 0);
	assert_int_equal(uk_filereq_parse(buf, (size_t)n, &r), n);
	assert_int_equal(r.offset, 5ull << 30);
	n = uk_filereq_build(buf, sizeof(buf), &id, 10, UK_FILEREQ_GETDIRFILES, 0x200000, 1, 2, 0);
	assert_string_equal(buf, "1:10:alice:box:2097250:1:2:0");
	assert_int_equal(uk_filereq_parse(buf, (size_t)n, &r), n);
	assert_int_equal(uk_filereq_build(buf, 10, &id, 9, UK_FILEREQ_GETFILEDATA, 0, 1, 1, 0),
			 UK_ENOSPACE);
}

static void test_malformed(void **state)
{
	char big[UK_FILEREQ_MAX + 10];
	struct uk_filereq r;
	(void)state;

	/* Another command, missing offset, bad digits, too many digits,
	 * not IPMsg at all. */
	assert_int_equal(uk_filereq_parse(S("1:8:u:h:32:1:1:0\0"), &r), UK_EPARSE);
	assert_int_equal(uk_filereq_parse(S("1:8:u:h:96:1:1\0"), &r), UK_EPARSE);
	assert_int_equal(uk_filereq_parse(S("1:8:u:h:96:1:x:0\0"), &r), UK_EPARSE);
	assert_int_equal(uk_filereq_parse(S("1:8:u:h:96:1::0\0"), &r), UK_EPARSE);
	assert_int_equal(uk_filereq_parse(S("1:8:u:h:96:1:11111111111111111:0\0"), &r), UK_EPARSE);
	assert_int_equal(uk_filereq_parse(S("GET / HTTP/1.0\r\n\0"), &r), UK_EPARSE);
	/* No NUL within the bound: refused, not waited for. */
	memset(big, 'a', sizeof(big));
	assert_int_equal(uk_filereq_parse(big, UK_FILEREQ_MAX - 1, &r), 0);
	assert_int_equal(uk_filereq_parse(big, UK_FILEREQ_MAX, &r), UK_EPARSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_iptux_requests),
	    cmocka_unit_test(test_build_and_pieces),
	    cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
