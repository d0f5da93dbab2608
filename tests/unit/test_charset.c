/* Unit tests for lib/charset.c with real sentences: Japanese in CP932 (as
 * IP Messenger for Windows and Python IPMsg clients send it), Chinese in
 * GBK (FeiQ, iptux set to GBK) and UTF-8 (iptux's default, without the
 * flag), short and long, both directions. The legacy bytes are made by
 * iconv here, from the UTF-8 sentences, not by the code under test. */
#include <iconv.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "udpkit/charset.h"
#include "udpkit/err.h"

static const char *const japanese[] = {
    "日本語",
    "東京",
    "テスト",
    "こんにちは",
    "日本語のテキスト",
    "今日はいい天気ですね。明日は雨が降るそうです。",
    "会議は午後三時からです。資料を忘れずに持ってきてください。よろしくお願いします。",
    "ファイルを送りました。確認してください",
};
static const char *const chinese[] = {
    "中文",
    "你好",
    "谢谢",
    "你好世界",
    "中文GBK消息 #5",
    "今天天气很好，我们去公园散步吧。",
    "下午三点开会，请大家准时参加，别忘了带上周的报告。",
    "文件已经发给你了，请查收",
};
static const char *const utf8_texts[] = {
    "你好",	   "中文", "日本語", "café",	   "naïve café",  "Grüße aus Köln",
    "Привет, мир", "שלום", "مرحبا",  "emoji 😀 ok", "hi 你好 ünï",
};

static const char *const utf8_clear[] = {
    "hi 你好 ünï", "emoji 😀 ok", "Grüße aus Köln", "Привет, мир", "日本語のテキスト", "你好世界",
};

/* iconv's bytes for s in charset (the test's reference encoder). */
static size_t legacy(const char *charset, const char *s, char *out, size_t cap)
{
	iconv_t cd = iconv_open(charset, "UTF-8");
	char *ip = (char *)(uintptr_t)s, *op = out;
	size_t il = strlen(s), ol = cap;

	assert_true(cd != (iconv_t)-1);
	assert_true(iconv(cd, &ip, &il, &op, &ol) != (size_t)-1);
	iconv_close(cd);
	return (size_t)(op - out);
}

static void expect(struct uk_charset *c, struct uk_charset_memo *memo, enum uk_charset_kind dflt,
		   const char *bytes, size_t n, int kind, const char *want)
{
	char out[UK_CHARSET_OUT_SIZE(512)];
	size_t len = 0;
	int got = uk_charset_decode_peer(c, memo, dflt, bytes, n, false, out, sizeof(out), &len);

	if (got != kind || len != strlen(want) || memcmp(out, want, len) != 0)
		fail_msg("\"%s\": decoded as %s: \"%.*s\", want %s", want,
			 got >= 0 ? uk_charset_name((enum uk_charset_kind)got) : "error", (int)len,
			 out, uk_charset_name((enum uk_charset_kind)kind));
}

/* Japanese in CP932 from a peer we know nothing of, whatever the default:
 * today's bug was 日本語 shown as 擔杮岅 (GB18030 tried first). */
static void test_japanese_cp932_unknown_peer(void **state)
{
	struct uk_charset c;
	char b[512];
	(void)state;

	uk_charset_init(&c);
	for (size_t i = 0; i < sizeof(japanese) / sizeof(japanese[0]); i++) {
		size_t n = legacy("CP932", japanese[i], b, sizeof(b));
		expect(&c, NULL, UK_CHARSET_UTF8, b, n, UK_CHARSET_CP932, japanese[i]);
		expect(&c, NULL, UK_CHARSET_GB18030, b, n, UK_CHARSET_CP932, japanese[i]);
	}
	uk_charset_free(&c);
}

static void test_chinese_gbk_unknown_peer(void **state)
{
	struct uk_charset c;
	char b[512];
	(void)state;

	uk_charset_init(&c);
	for (size_t i = 0; i < sizeof(chinese) / sizeof(chinese[0]); i++) {
		size_t n = legacy("GBK", chinese[i], b, sizeof(b));
		expect(&c, NULL, UK_CHARSET_GB18030, b, n, UK_CHARSET_GB18030, chinese[i]);
		expect(&c, NULL, UK_CHARSET_CP932, b, n, UK_CHARSET_GB18030, chinese[i]);
		expect(&c, NULL, UK_CHARSET_UTF8, b, n, UK_CHARSET_GB18030, chinese[i]);
	}
	uk_charset_free(&c);
}

/* UTF-8 without the flag (iptux 0.8) stays UTF-8 from anyone, even from a
 * peer known to write GBK or CP932 (iptux answers in the charset it is
 * written to). */
static void test_utf8_without_flag(void **state)
{
	struct uk_charset c;
	struct uk_charset_memo gb = {0}, sj = {0};
	(void)state;

	uk_charset_init(&c);
	uk_charset_announce(&gb, UK_CHARSET_GB18030);
	uk_charset_announce(&sj, UK_CHARSET_CP932);
	for (size_t i = 0; i < sizeof(utf8_texts) / sizeof(utf8_texts[0]); i++) {
		const char *t = utf8_texts[i];
		expect(&c, NULL, UK_CHARSET_UTF8, t, strlen(t), UK_CHARSET_UTF8, t);
		expect(&c, NULL, UK_CHARSET_CP932, t, strlen(t), UK_CHARSET_UTF8, t);
	}
	/* Short texts of two-byte UTF-8 letters (é, Arabic) are also GBK
	 * hanzi: from a peer known to write GBK they are left to its charset,
	 * so only texts that are clearly UTF-8 here. */
	for (size_t i = 0; i < sizeof(utf8_clear) / sizeof(utf8_clear[0]); i++) {
		const char *t = utf8_clear[i];
		struct uk_charset_memo g = gb, s = sj;
		expect(&c, &g, UK_CHARSET_UTF8, t, strlen(t), UK_CHARSET_UTF8, t);
		expect(&c, &s, UK_CHARSET_UTF8, t, strlen(t), UK_CHARSET_UTF8, t);
	}
	uk_charset_free(&c);
}

/* What a peer proved is remembered: after one long GBK sentence, even a
 * two-character GBK text that is also valid UTF-8 reads as GBK. */
static void test_peer_memory(void **state)
{
	struct uk_charset c;
	struct uk_charset_memo memo = {0};
	char b[512], short_gb[16];
	size_t n, sn;
	(void)state;

	uk_charset_init(&c);
	/* 支 in GBK, d6 a7, is also valid UTF-8 (U+05A7, a Hebrew accent):
	 * alone, from a peer we know nothing of, the tie goes to UTF-8. */
	sn = legacy("GBK", "支", short_gb, sizeof(short_gb));
	expect(&c, NULL, UK_CHARSET_UTF8, short_gb, sn, UK_CHARSET_UTF8, "\xd6\xa7");
	/* With --charset gb18030 (the user says the LAN writes GBK) the same
	 * bytes from an unknown peer read as GBK: the default breaks the tie. */
	expect(&c, NULL, UK_CHARSET_GB18030, short_gb, sn, UK_CHARSET_GB18030, "支");
	n = legacy("GBK", chinese[5], b, sizeof(b));
	expect(&c, &memo, UK_CHARSET_UTF8, b, n, UK_CHARSET_GB18030, chinese[5]);
	assert_int_equal(memo.kind, UK_CHARSET_GB18030);
	assert_int_equal(memo.source, UK_CHARSET_SRC_TEXT);
	assert_int_equal(memo.evidence, 1);
	expect(&c, &memo, UK_CHARSET_UTF8, short_gb, sn, UK_CHARSET_GB18030, "支");
	assert_int_equal(uk_charset_for_peer(&memo, UK_CHARSET_UTF8), UK_CHARSET_GB18030);

	/* A Japanese peer: a short CP932 word after a proof. */
	memset(&memo, 0, sizeof(memo));
	n = legacy("CP932", japanese[5], b, sizeof(b));
	expect(&c, &memo, UK_CHARSET_GB18030, b, n, UK_CHARSET_CP932, japanese[5]);
	assert_int_equal(uk_charset_for_peer(&memo, UK_CHARSET_GB18030), UK_CHARSET_CP932);
	n = legacy("CP932", "東京", b, sizeof(b));
	expect(&c, &memo, UK_CHARSET_GB18030, b, n, UK_CHARSET_CP932, "東京");

	/* An announcement (iptux's "gbk") counts before any text. */
	memset(&memo, 0, sizeof(memo));
	uk_charset_announce(&memo, UK_CHARSET_GB18030);
	expect(&c, &memo, UK_CHARSET_UTF8, short_gb, sn, UK_CHARSET_GB18030, "支");
	/* A peer that reads UTF-8 gets UTF-8 whatever it writes. */
	memo.utf8_cap = true;
	assert_int_equal(uk_charset_for_peer(&memo, UK_CHARSET_CP932), UK_CHARSET_UTF8);
	assert_int_equal(uk_charset_for_peer(NULL, UK_CHARSET_CP932), UK_CHARSET_CP932);
	uk_charset_free(&c);
}

/* Proofs from text outweigh a wrong announcement, and one odd text does
 * not undo several proofs. */
static void test_text_outweighs_claim(void **state)
{
	struct uk_charset c;
	struct uk_charset_memo memo = {0};
	char b[512];
	size_t n;
	(void)state;

	uk_charset_init(&c);
	uk_charset_announce(&memo, UK_CHARSET_UTF8);
	n = legacy("GBK", chinese[6], b, sizeof(b));
	expect(&c, &memo, UK_CHARSET_UTF8, b, n, UK_CHARSET_GB18030, chinese[6]);
	assert_int_equal(memo.kind, UK_CHARSET_GB18030);
	assert_int_equal(uk_charset_for_peer(&memo, UK_CHARSET_UTF8), UK_CHARSET_GB18030);
	uk_charset_free(&c);
}

/* A charset the user configured for a peer (--peer-charset) beats the
 * scores, the default, the peer's announcement, its UTF-8 capability and
 * what its text would prove, both ways; bytes not well-formed in it are
 * still guessed, and a UTF8OPT packet is still UTF-8. */
static void test_configured(void **state)
{
	struct uk_charset c;
	struct uk_charset_memo memo = {0};
	char b[512], out[UK_CHARSET_OUT_SIZE(512)], short_gb[16];
	size_t n, sn, len;
	(void)state;

	uk_charset_init(&c);
	uk_charset_configure(&memo, UK_CHARSET_GB18030);
	assert_int_equal(memo.source, UK_CHARSET_SRC_CONFIGURED);
	/* 支 in GBK is also UTF-8; unconfigured it reads as UTF-8. */
	sn = legacy("GBK", "支", short_gb, sizeof(short_gb));
	expect(&c, &memo, UK_CHARSET_UTF8, short_gb, sn, UK_CHARSET_GB18030, "支");
	expect(&c, &memo, UK_CHARSET_CP932, short_gb, sn, UK_CHARSET_GB18030, "支");
	/* UTF-8 that is not well-formed GB18030 (A0 20) falls back to the
	 * guess. */
	expect(&c, &memo, UK_CHARSET_UTF8, "你 ok", strlen("你 ok"), UK_CHARSET_UTF8, "你 ok");
	/* Japanese CP932 is well-formed GB18030: read as configured, and it
	 * proves nothing against the user's word. */
	n = legacy("CP932", japanese[6], b, sizeof(b));
	for (int i = 0; i < 4; i++)
		assert_int_equal(uk_charset_decode_peer(&c, &memo, UK_CHARSET_UTF8, b, n, false,
							out, sizeof(out), &len),
				 UK_CHARSET_GB18030);
	assert_int_equal(memo.kind, UK_CHARSET_GB18030);
	assert_int_equal(memo.source, UK_CHARSET_SRC_CONFIGURED);
	/* UTF8OPT: copied as it is. */
	assert_int_equal(uk_charset_decode_peer(&c, &memo, UK_CHARSET_UTF8, "你好", strlen("你好"),
						true, out, sizeof(out), &len),
			 UK_CHARSET_UTF8);
	/* Writing: its announcement and UTF-8 capability change nothing. */
	uk_charset_announce(&memo, UK_CHARSET_CP932);
	memo.utf8_cap = true;
	uk_charset_wrote(&memo, UK_CHARSET_UTF8, "你好", strlen("你好"));
	assert_int_equal(memo.kind, UK_CHARSET_GB18030);
	assert_int_equal(uk_charset_for_peer(&memo, UK_CHARSET_UTF8), UK_CHARSET_GB18030);
	/* Configured UTF-8 beats a peer's text proofs and the default. */
	memset(&memo, 0, sizeof(memo));
	uk_charset_configure(&memo, UK_CHARSET_UTF8);
	expect(&c, &memo, UK_CHARSET_GB18030, short_gb, sn, UK_CHARSET_UTF8, "\xd6\xa7");
	assert_int_equal(uk_charset_for_peer(&memo, UK_CHARSET_CP932), UK_CHARSET_UTF8);
	uk_charset_configure(&memo, UK_CHARSET_RAW); /* not a charset: ignored */
	assert_int_equal(memo.kind, UK_CHARSET_UTF8);
	uk_charset_free(&c);
}

/* Outgoing: UTF-8 to GBK and CP932 byte for byte as iconv makes them. */
static void test_encode_sentences(void **state)
{
	struct uk_charset c;
	char want[512], out[512];
	size_t replaced;
	(void)state;

	uk_charset_init(&c);
	for (size_t i = 0; i < sizeof(japanese) / sizeof(japanese[0]); i++) {
		size_t n = legacy("CP932", japanese[i], want, sizeof(want));
		int got = uk_charset_encode(&c, UK_CHARSET_CP932, japanese[i], strlen(japanese[i]),
					    out, sizeof(out), &replaced);
		assert_int_equal(got, n);
		assert_memory_equal(out, want, n);
		assert_int_equal(replaced, 0);
	}
	for (size_t i = 0; i < sizeof(chinese) / sizeof(chinese[0]); i++) {
		size_t n = legacy("GBK", chinese[i], want, sizeof(want));
		int got = uk_charset_encode(&c, UK_CHARSET_GB18030, chinese[i], strlen(chinese[i]),
					    out, sizeof(out), &replaced);
		assert_int_equal(got, n);
		assert_memory_equal(out, want, n);
		assert_int_equal(replaced, 0);
	}
	uk_charset_free(&c);
}

/* A character the target lacks becomes a visible '?', counted; invalid
 * input bytes too; nothing is dropped. */
static void test_encode_replaces_visibly(void **state)
{
	struct uk_charset c;
	char out[64];
	size_t replaced;
	int n;
	(void)state;

	uk_charset_init(&c);
	/* 你好 is in CP932 only as 好 (你 is not in JIS X 0208); 😀 is in
	 * neither. */
	n = uk_charset_encode(&c, UK_CHARSET_CP932, "你好😀!", strlen("你好😀!"), out, sizeof(out),
			      &replaced);
	assert_int_equal(n, 5);
	assert_memory_equal(out, "?\x8d\x44?!", 5);
	assert_int_equal(replaced, 2);
	n = uk_charset_encode(&c, UK_CHARSET_GB18030, "a\xff😀b", strlen("a\xff😀b"), out,
			      sizeof(out), &replaced);
	assert_int_equal(n, 4);
	assert_memory_equal(out, "a??b", 4);
	assert_int_equal(replaced, 2);
	n = uk_charset_encode(&c, UK_CHARSET_UTF8, "你好😀", strlen("你好😀"), out, sizeof(out),
			      &replaced);
	assert_int_equal(n, strlen("你好😀"));
	assert_int_equal(replaced, 0);
	/* A cut character at the end is replaced too. */
	n = uk_charset_encode(&c, UK_CHARSET_CP932, "x\xe4\xbd", 3, out, sizeof(out), &replaced);
	assert_int_equal(n, 2);
	assert_int_equal(replaced, 1);
	assert_int_equal(uk_charset_encode(&c, UK_CHARSET_CP932, "abc", 3, out, 3, &replaced),
			 UK_ENOSPACE);
	uk_charset_free(&c);
}

/* Both directions: our encoding of a sentence, read back by a peer-side
 * decoder that knows nothing, gives the sentence. */
static void test_round_trip(void **state)
{
	struct uk_charset c;
	char wire[512];
	size_t replaced;
	(void)state;

	uk_charset_init(&c);
	for (size_t i = 0; i < sizeof(japanese) / sizeof(japanese[0]); i++) {
		int n = uk_charset_encode(&c, UK_CHARSET_CP932, japanese[i], strlen(japanese[i]),
					  wire, sizeof(wire), &replaced);
		expect(&c, NULL, UK_CHARSET_CP932, wire, (size_t)n, UK_CHARSET_CP932, japanese[i]);
	}
	for (size_t i = 0; i < sizeof(chinese) / sizeof(chinese[0]); i++) {
		int n = uk_charset_encode(&c, UK_CHARSET_GB18030, chinese[i], strlen(chinese[i]),
					  wire, sizeof(wire), &replaced);
		expect(&c, NULL, UK_CHARSET_GB18030, wire, (size_t)n, UK_CHARSET_GB18030,
		       chinese[i]);
	}
	uk_charset_free(&c);
}

static void test_scores_and_names(void **state)
{
	(void)state;
	/* ipmsg.md §4.4: 日本語のテキスト in CP932 is valid GB18030 too. */
	static const char sj[] = "\x93\xfa\x96\x7b\x8c\xea\x82\xcc\x83\x65\x83\x4c\x83\x58\x83\x67";
	assert_true(uk_charset_score(UK_CHARSET_CP932, sj, sizeof(sj) - 1) >
		    uk_charset_score(UK_CHARSET_GB18030, sj, sizeof(sj) - 1));
	assert_int_equal(uk_charset_score(UK_CHARSET_UTF8, "\xff", 1), INT32_MIN);
	assert_int_equal(uk_charset_score(UK_CHARSET_GB18030, "\xd6", 1), INT32_MIN);
	assert_int_equal(uk_charset_score(UK_CHARSET_CP932, "\x93", 1), INT32_MIN);
	assert_int_equal(uk_charset_score(UK_CHARSET_RAW, "a", 1), INT32_MIN);
	assert_int_equal(uk_charset_parse_name("GBK", 3), UK_CHARSET_GB18030);
	assert_int_equal(uk_charset_parse_name("utf-8", 5), UK_CHARSET_UTF8);
	assert_int_equal(uk_charset_parse_name("Shift_JIS", 9), UK_CHARSET_CP932);
	assert_int_equal(uk_charset_parse_name("gb18030", 7), UK_CHARSET_GB18030);
	assert_int_equal(uk_charset_parse_name("latin1", 6), -1);
	assert_int_equal(uk_charset_parse_name("gbk\0x", 5), -1);
	assert_int_equal(uk_charset_parse_name("", 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_japanese_cp932_unknown_peer),
	    cmocka_unit_test(test_chinese_gbk_unknown_peer),
	    cmocka_unit_test(test_utf8_without_flag),
	    cmocka_unit_test(test_peer_memory),
	    cmocka_unit_test(test_text_outweighs_claim),
	    cmocka_unit_test(test_configured),
	    cmocka_unit_test(test_encode_sentences),
	    cmocka_unit_test(test_encode_replaces_visibly),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_scores_and_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
