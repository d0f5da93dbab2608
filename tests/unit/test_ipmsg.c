/* Unit tests for lib/ipmsg.c and lib/charset.c: the packets observed from
 * iptux (ipmsg.md §4) parse, ours build byte for byte as IP Messenger's,
 * malformed headers are refused, charsets are guessed in the right order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "udpkit/charset.h"
#include "udpkit/err.h"
#include "udpkit/ipmsg.h"

#define S(lit) (lit), (sizeof(lit) - 1)

static bool field_is(const struct uk_ipmsg_field *f, const char *s)
{
	return f->len == strlen(s) && memcmp(f->p, s, f->len) == 0;
}

static void test_parse_iptux_answers(void **state)
{
	struct uk_ipmsg m;
	struct uk_ipmsg_field nick, group;
	uint64_t no;
	bool utf8;
	(void)state;

	/* ANSENTRY from iptux 0.8.3 (ipmsg.md §4.1 #1). */
	assert_true(uk_ipmsg_classify(
	    S("1_iptux 0.8.3:2:root:vm:259:iptuxbot\0botgroup\0icon-tux.png\0utf-8\0")));
	assert_int_equal(
	    uk_ipmsg_parse(
		S("1_iptux 0.8.3:2:root:vm:259:iptuxbot\0botgroup\0icon-tux.png\0utf-8\0"), &m),
	    0);
	assert_true(field_is(&m.version, "1_iptux 0.8.3"));
	assert_int_equal(m.packet_no, 2);
	assert_true(field_is(&m.user, "root"));
	assert_true(field_is(&m.host, "vm"));
	assert_int_equal(UK_IPMSG_MODE(m.command), UK_IPMSG_ANSENTRY);
	assert_int_equal(m.nparts, 4);
	uk_ipmsg_entry_names(&m, &nick, &group, &utf8);
	assert_true(field_is(&nick, "iptuxbot"));
	assert_true(field_is(&group, "botgroup"));
	assert_false(utf8);

	/* RECVMSG with iptux's stray 0x100 (289) and a NUL. */
	assert_int_equal(uk_ipmsg_parse(S("1_iptux 0.8.3:3:root:vm:289:1795682786\0"), &m), 0);
	assert_int_equal(UK_IPMSG_MODE(m.command), UK_IPMSG_RECVMSG);
	assert_int_equal(uk_ipmsg_recv_packet_no(&m, &no), 0);
	assert_int_equal(no, 1795682786u);

	/* SENDMSG without NUL, colons and LF in the text (#9). */
	assert_int_equal(
	    uk_ipmsg_parse(S("1:1795682793:tester:probehost:288:line1: a:b:c\nline2 #9"), &m), 0);
	assert_int_equal(m.nparts, 1);
	assert_true(field_is(&m.parts[0], "line1: a:b:c\nline2 #9"));

	/* Windows-style entry: the UTF-8 names come from the NN/GN block. */
	assert_int_equal(
	    uk_ipmsg_parse(
		S("1:5:tester:probehost:16777217:\x92\x54Nick\0ProbeGroup\0\nUN:tester\nHN:"
		  "probehost\nNN:\xe6\x8e\xa2\xe9\x92\x88Nick\nGN:Probe\xe7\xbb\x84"),
		&m),
	    0);
	uk_ipmsg_entry_names(&m, &nick, &group, &utf8);
	assert_true(field_is(&nick, "\xe6\x8e\xa2\xe9\x92\x88Nick"));
	assert_true(field_is(&group, "Probe\xe7\xbb\x84"));
	assert_true(utf8);

	/* GETINFO with an empty extra. */
	assert_int_equal(uk_ipmsg_parse(S("1:1795682791:tester:probehost:64:"), &m), 0);
	assert_int_equal(m.nparts, 1);
	assert_int_equal(m.parts[0].len, 0);
}

static void test_classify_and_refuse(void **state)
{
	struct uk_ipmsg m;
	(void)state;
	/* Plain text, as the tutorial and nc send it. */
	assert_false(uk_ipmsg_classify(S("plain tutorial text \xe4\xbd\xa0\xe5\xa5\xbd #8")));
	assert_false(uk_ipmsg_classify(S("")));
	assert_false(uk_ipmsg_classify(S("12:30 lunch?")));
	assert_false(uk_ipmsg_classify(S("1:x:u:h:32:hi"))); /* PacketNo not digits */
	assert_false(uk_ipmsg_classify(S("1:1:u:h:3a:hi"))); /* Command not digits */
	assert_false(uk_ipmsg_classify(S("1:1:u:h:32")));    /* no ':' after Command */
	/* Looks like IPMsg but does not parse: counted malformed, not shown. */
	assert_int_equal(uk_ipmsg_parse(S("2:1:u:h:32:hi"), &m), UK_EPARSE);  /* Ver 2 */
	assert_int_equal(uk_ipmsg_parse(S("10:1:u:h:32:hi"), &m), UK_EPARSE); /* Ver 10 */
	assert_int_equal(uk_ipmsg_parse(S("1:99999999999999999999:u:h:32:"), &m), UK_EPARSE);
	assert_int_equal(uk_ipmsg_parse(S("1:1:u:h:4294967296:"), &m), UK_EPARSE);
	assert_int_equal(uk_ipmsg_parse(S("1:1:u:h:4294967295:"), &m), 0);
	assert_int_equal(uk_ipmsg_parse(S("1:18446744073709551615:u:h:1:"), &m), 0);
	char big[400];
	memset(big, 'u', sizeof(big));
	memcpy(big, "1:1:", 4);
	memcpy(big + 390, ":h:32:x", 7);
	assert_int_equal(uk_ipmsg_parse(big, 397, &m), UK_EPARSE); /* User too long */
	assert_int_equal(uk_ipmsg_parse(S("1:1:u:h:288:hi\0"), &m), 0);
	assert_int_equal(uk_ipmsg_recv_packet_no(&m, &(uint64_t){0}), UK_EPARSE);
}

static void test_build_like_ip_messenger(void **state)
{
	struct uk_ipmsg_ident id;
	unsigned char out[512];
	int n;
	(void)state;

	uk_ipmsg_ident_set(&id, "tester", "probehost", "\xe6\x8e\xa2\xe9\x92\x88Nick",
			   "ProbeGroup");
	/* Byte for byte the BR_ENTRY iptux accepted (ipmsg.md §4.1 #1). */
	n = uk_ipmsg_build_entry(out, sizeof(out), &id, 1795682785, UK_IPMSG_BR_ENTRY);
	static const char entry[] =
	    "1:1795682785:tester:probehost:16777217:\xe6\x8e\xa2\xe9\x92\x88Nick\0ProbeGroup\0"
	    "\nUN:tester\nHN:probehost\nNN:\xe6\x8e\xa2\xe9\x92\x88Nick\nGN:ProbeGroup";
	assert_int_equal(n, sizeof(entry) - 1);
	assert_memory_equal(out, entry, sizeof(entry) - 1);
	/* And the SENDMSG (#2). */
	n = uk_ipmsg_build_sendmsg(out, sizeof(out), &id, 1795682786,
				   S("hello from probe \xe4\xbd\xa0\xe5\xa5\xbd #2"));
	static const char msg[] =
	    "1:1795682786:tester:probehost:8388896:hello from probe \xe4\xbd\xa0\xe5\xa5\xbd #2\0";
	assert_int_equal(n, sizeof(msg) - 1);
	assert_memory_equal(out, msg, sizeof(msg) - 1);
	n = uk_ipmsg_build_recvmsg(out, sizeof(out), &id, 7, 2);
	assert_int_equal(n, (int)sizeof("1:7:tester:probehost:33:2\0") - 1);
	assert_memory_equal(out, "1:7:tester:probehost:33:2\0", (size_t)n);
	n = uk_ipmsg_build_entry(out, sizeof(out), &id, 8, UK_IPMSG_BR_EXIT);
	assert_int_equal(n, 45); /* the header, then nick and group as in BR_ENTRY */
	assert_memory_equal(out, "1:8:tester:probehost:2:", 23);
	/* Too small, NUL in text. */
	assert_int_equal(uk_ipmsg_build_sendmsg(out, 10, &id, 1, S("hi")), UK_ENOSPACE);
	assert_int_equal(uk_ipmsg_build_sendmsg(out, sizeof(out), &id, 1, S("a\0b")), UK_EPARSE);
	/* Whatever we build parses back. */
	struct uk_ipmsg m;
	n = uk_ipmsg_build_sendmsg(out, sizeof(out), &id, 42, S("x:y"));
	assert_int_equal(uk_ipmsg_parse(out, (size_t)n, &m), 0);
	assert_int_equal(m.packet_no, 42);
	assert_true(field_is(&m.parts[0], "x:y"));
}

static void test_ident_cleaning(void **state)
{
	struct uk_ipmsg_ident id;
	(void)state;
	uk_ipmsg_ident_set(&id, "ro:ot\x1b", "h\xc3\xa9st", "n:i\nck\xe4\xbd\xa0", "");
	assert_string_equal(id.user, "ro;ot_");
	assert_string_equal(id.host, "hst"); /* ASCII only */
	assert_string_equal(id.nick, "n;i_ck\xe4\xbd\xa0");
	assert_string_equal(id.group, "");
	uk_ipmsg_ident_set(&id, "", NULL, "n", "g");
	assert_string_equal(id.user, "user");
	assert_string_equal(id.host, "host");
}

static void test_packet_numbers(void **state)
{
	struct uk_ipmsg_seq s;
	(void)state;
	/* From the wall clock in seconds. */
	uk_ipmsg_seq_init(&s, 1795682785ull * 1000000000ull + 5, 0);
	assert_int_equal(uk_ipmsg_seq_next(&s), 1795682786u);
	/* After a burst faster than 1/s, a restart continues from the floor. */
	uk_ipmsg_seq_init(&s, 1795682785ull * 1000000000ull, 1795690000ull);
	assert_int_equal(uk_ipmsg_seq_next(&s), 1795690001u);
	/* Always below 2^32 (iptux keeps 32 bits). */
	uk_ipmsg_seq_init(&s, 0, UINT32_MAX - 2);
	assert_int_equal(uk_ipmsg_seq_next(&s), UINT32_MAX - 1);
	assert_int_equal(uk_ipmsg_seq_next(&s), 1);
}

static void check_decode(struct uk_charset *c, const char *in, size_t n, bool flag, int kind,
			 const char *want)
{
	char out[UK_CHARSET_OUT_SIZE(64)];
	size_t len = 0;
	assert_int_equal(uk_charset_decode(c, in, n, flag, out, sizeof(out), &len), kind);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(out, want, len);
}

static void test_charset_order(void **state)
{
	struct uk_charset c;
	(void)state;
	assert_int_equal(uk_charset_init(&c), 0);
	check_decode(&c, S("hi \xe4\xbd\xa0\xe5\xa5\xbd"), false, UK_CHARSET_UTF8,
		     "hi \xe4\xbd\xa0\xe5\xa5\xbd");
	/* GBK from ipmsg.md §4.1 #5: 中文GBK消息 #5 */
	check_decode(&c, S("\xd6\xd0\xce\xc4GBK\xcf\xfb\xcf\xa2 #5"), false, UK_CHARSET_GB18030,
		     "\xe4\xb8\xad\xe6\x96\x87GBK\xe6\xb6\x88\xe6\x81\xaf #5");
	/* Three CP932 half-width katakana, ｱｲｳ: GB18030 pairs the first two and
	 * is left with a cut character, so CP932 is next. */
	check_decode(&c, S("\xb1\xb2\xb3"), false, UK_CHARSET_CP932,
		     "\xef\xbd\xb1\xef\xbd\xb2\xef\xbd\xb3");
	/* Nothing fits: raw, for the display to escape. */
	check_decode(&c, S("\xff\xff"), false, UK_CHARSET_RAW, "\xff\xff");
	/* UTF8OPT: taken as is even when invalid. */
	check_decode(&c, S("\xd6\xd0"), true, UK_CHARSET_UTF8, "\xd6\xd0");
	uk_charset_free(&c);
	uk_charset_free(&c); /* twice is harmless */
}

/* Room: less than n + 1 is refused; a conversion that would not fit (GBK's
 * 2 bytes become 3 in UTF-8) is not taken, the raw bytes are. Without
 * iconv converters (a system without gconv modules) text is UTF-8 or raw. */
static void test_charset_room_and_no_iconv(void **state)
{
	struct uk_charset c, none = {0};
	char out[8];
	size_t len = 0;
	(void)state;
	assert_int_equal(uk_charset_init(&c), 0);
	assert_int_equal(uk_charset_decode(&c, "abc", 3, false, out, 3, &len), UK_ENOSPACE);
	assert_int_equal(uk_charset_decode(&c, "\xd6\xd0\xce\xc4", 4, false, out, 5, &len),
			 UK_CHARSET_RAW);
	assert_int_equal(len, 4);
	assert_int_equal(uk_charset_decode(&c, "\xd6\xd0\xce\xc4", 4, false, out, 7, &len),
			 UK_CHARSET_GB18030);
	assert_int_equal(len, 6);
	uk_charset_free(&c);
	check_decode(&none, S("\xd6\xd0\xce\xc4"), false, UK_CHARSET_RAW, "\xd6\xd0\xce\xc4");
	check_decode(&none, S("ok"), false, UK_CHARSET_UTF8, "ok");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_iptux_answers),
	    cmocka_unit_test(test_classify_and_refuse),
	    cmocka_unit_test(test_build_like_ip_messenger),
	    cmocka_unit_test(test_ident_cleaning),
	    cmocka_unit_test(test_packet_numbers),
	    cmocka_unit_test(test_charset_order),
	    cmocka_unit_test(test_charset_room_and_no_iconv),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
