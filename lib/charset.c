/* charset.c: peers' text to and from UTF-8 with glibc's iconv, and the
 * per-peer decision between the charsets that fit (see charset.h). A
 * converter must consume every byte without EILSEQ/EINVAL to make its
 * decoding a candidate, so text in one charset is never half-converted by
 * another. */
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <string.h>

#include "udpkit/charset.h"
#include "udpkit/err.h"
#include "udpkit/text.h"

/* iconv_open() reports failure as (iconv_t)-1: NULL here instead. */
static void *opened(iconv_t cd)
{
	/* NOLINTNEXTLINE(performance-no-int-to-ptr): iconv's own failure value */
	return cd == (iconv_t)-1 ? NULL : cd;
}

int uk_charset_init(struct uk_charset *c)
{
	c->gb18030 = opened(iconv_open("UTF-8", "GB18030"));
	c->cp932 = opened(iconv_open("UTF-8", "CP932"));
	c->to_gbk = opened(iconv_open("GBK", "UTF-8"));
	c->to_cp932 = opened(iconv_open("CP932", "UTF-8"));
	return 0;
}

void uk_charset_free(struct uk_charset *c)
{
	void **cds[] = {&c->gb18030, &c->cp932, &c->to_gbk, &c->to_cp932};

	for (size_t i = 0; i < sizeof(cds) / sizeof(cds[0]); i++) {
		if (*cds[i])
			iconv_close((iconv_t)*cds[i]);
		*cds[i] = NULL;
	}
}

/* ---- scoring --------------------------------------------------------------- */

static int32_t score_cp(uint32_t cp)
{
	if (cp < 0x80)
		return 0;
	if (cp < 0xa0)
		return -2; /* C1 controls: mojibake, never text */
	if (cp < 0xc0)
		return 0; /* Latin-1 symbols */
	if (cp < 0x250)
		return 2; /* Latin letters with accents */
	if (cp >= 0x370 && cp < 0x530)
		return 1; /* Greek, Cyrillic */
	if ((cp >= 0x530 && cp < 0x800) || (cp >= 0x900 && cp < 0xe80))
		return 1; /* Armenian, Hebrew, Arabic, Indic, Thai */
	if (cp >= 0x2000 && cp < 0x2070)
		return 1; /* general punctuation: dashes, quotes */
	if ((cp >= 0x3000 && cp < 0x3100) || (cp >= 0x4e00 && cp < 0xa000) ||
	    (cp >= 0xac00 && cp < 0xd7b0) || (cp >= 0x1f300 && cp < 0x1fb00))
		return 2; /* CJK punctuation, kana, ideographs, Hangul, emoji */
	if (cp >= 0xff00 && cp < 0xfff0)
		return 1; /* full-width forms */
	if ((cp >= 0xe000 && cp < 0xf900) || cp == 0xfffd)
		return -2; /* private use, replacement character */
	return 0;
}

static int32_t score_utf8(const unsigned char *p, size_t n)
{
	int32_t s = 0;

	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t k = uk_utf8_decode(p + i, n - i, &cp);
		if (k == 0)
			return INT32_MIN;
		s += score_cp(cp);
		i += k;
	}
	return s;
}

/* A two-byte character's score: the first range (lead << 8 | trail)
 * that holds it, or dflt. A GB range's trails are 0xA1-0xFE. */
struct score_range {
	unsigned lo, hi;
	int32_t score;
	bool gb_trail;
};

static int32_t score_range(const struct score_range *r, size_t n, unsigned code, int32_t dflt)
{
	for (size_t i = 0; i < n; i++)
		if (code >= r[i].lo && code <= r[i].hi && (!r[i].gb_trail || (code & 0xff) >= 0xa1))
			return r[i].score;
	return dflt;
}

/* GB2312's rows in GB18030; anything else two-byte is a GBK extension
 * ideograph or symbol: -1. */
static const struct score_range gb_rows[] = {
    {0xb0a1, 0xd7fe, 2, true}, /* level-1 hanzi, the 3755 common ones */
    {0xd8a1, 0xf7fe, 1, true}, /* level-2 hanzi */
    {0xa1a1, 0xa1fe, 1, true}, /* CJK punctuation */
    {0xa3a1, 0xa3fe, 1, true}, /* full-width ASCII */
    {0xa2a1, 0xa9fe, 0, true}, /* numbers, kana, Greek, Cyrillic, box drawing */
};

/* CP932's rows; the rest (Cyrillic, box drawing, NEC specials) 0. */
static const struct score_range sj_rows[] = {
    {0x8140, 0x81fc, 1, false},	 /* punctuation and symbols */
    {0x824f, 0x82f1, 2, false},	 /* full-width alphanumerics, hiragana */
    {0x8340, 0x8396, 2, false},	 /* katakana */
    {0x889f, 0x9872, 2, false},	 /* JIS level-1 kanji */
    {0x989f, 0xeaa4, 1, false},	 /* JIS level-2 kanji */
    {0xed40, 0xeefc, -1, false}, /* NEC-selected IBM extensions */
    {0xfa40, 0xfcfc, -1, false}, /* IBM extensions */
    {0xf040, 0xf9fc, -2, false}, /* user-defined */
};

/* GB18030: 0x81-0xFE lead; a trail 0x40-0xFE (not 0x7F) makes two bytes,
 * a trail 0x30-0x39 four. GB2312's rows sit at lead and trail 0xA1-0xFE:
 * level-1 hanzi (the 3755 common ones) at leads 0xB0-0xD7. */
static int32_t score_gb(const unsigned char *p, size_t n)
{
	int32_t s = 0;

	for (size_t i = 0; i < n;) {
		unsigned b = p[i], t;
		if (b < 0x80) {
			i++;
			continue;
		}
		if (b == 0x80 || b == 0xff || i + 1 >= n)
			return INT32_MIN;
		t = p[i + 1];
		if (t >= 0x30 && t <= 0x39) {
			if (i + 3 >= n)
				return INT32_MIN;
			s -= 2; /* four-byte: outside GBK, rare in chat */
			i += 4;
			continue;
		}
		if (t < 0x40 || t == 0x7f || t == 0xff)
			return INT32_MIN;
		s += score_range(gb_rows, sizeof(gb_rows) / sizeof(gb_rows[0]), b << 8 | t, -1);
		i += 2;
	}
	return s;
}

/* CP932: leads 0x81-0x9F and 0xE0-0xFC, trails 0x40-0xFC (not 0x7F);
 * single 0xA1-0xDF is half-width katakana. Row 0x82 holds hiragana, 0x83
 * katakana, 0x889F-0x9872 the JIS level-1 kanji. */
static int32_t score_sj(const unsigned char *p, size_t n)
{
	int32_t s = 0;

	for (size_t i = 0; i < n;) {
		unsigned b = p[i], t, code;
		if (b < 0x80) {
			i++;
			continue;
		}
		if (b >= 0xa1 && b <= 0xdf) {
			s -= 1;
			i++;
			continue;
		}
		if (b == 0x80 || b == 0xa0 || b > 0xfc || i + 1 >= n)
			return INT32_MIN;
		t = p[i + 1];
		if (t < 0x40 || t == 0x7f || t > 0xfc)
			return INT32_MIN;
		code = b << 8 | t;
		s += score_range(sj_rows, sizeof(sj_rows) / sizeof(sj_rows[0]), code, 0);
		i += 2;
	}
	return s;
}

int32_t uk_charset_score(enum uk_charset_kind kind, const void *in, size_t n)
{
	switch (kind) {
	case UK_CHARSET_UTF8:
		return score_utf8(in, n);
	case UK_CHARSET_GB18030:
		return score_gb(in, n);
	case UK_CHARSET_CP932:
		return score_sj(in, n);
	default:
		return INT32_MIN;
	}
}

/* ---- decoding -------------------------------------------------------------- */

/* Converts all of in, or fails. The result must also be valid UTF-8 (it
 * is, from glibc; checked because the display relies on it). */
static bool convert(void *cd, const void *in, size_t n, char *out, size_t cap, size_t *out_len)
{
	/* iconv() takes its input as char ** but never writes through it. */
	char *ip = (char *)in, *op = out;
	size_t il = n, ol = cap - 1;

	if (!cd)
		return false;
	iconv((iconv_t)cd, NULL, NULL, NULL, NULL); /* reset shift state */
	if (iconv((iconv_t)cd, &ip, &il, &op, &ol) == (size_t)-1 || il != 0)
		return false;
	if (iconv((iconv_t)cd, NULL, NULL, &op, &ol) == (size_t)-1)
		return false;
	*op = 0;
	*out_len = (size_t)(op - out);
	return uk_utf8_valid(out, *out_len);
}

static void copy_raw(const void *in, size_t n, char *out, size_t *out_len)
{
	memcpy(out, in, n);
	out[n] = 0;
	*out_len = n;
}

static bool all_ascii(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] >= 0x80)
			return false;
	return true;
}

static int32_t prior(const struct uk_charset_memo *memo, enum uk_charset_kind dflt,
		     enum uk_charset_kind k)
{
	int32_t p = k == UK_CHARSET_UTF8 ? 1 : 0;

	if (!memo || memo->source == UK_CHARSET_SRC_NONE)
		return p + (k == dflt && k != UK_CHARSET_UTF8 ? 1 : 0);
	if (k != memo->kind)
		return p;
	if (memo->source == UK_CHARSET_SRC_ANNOUNCED)
		return p + 3;
	return p + 1 + (memo->evidence < 3 ? memo->evidence : 3);
}

/* A clear win proves the peer's charset; a clear win against what we
 * believed replaces it (the peer's text outweighs its announcement). */
static void learn(struct uk_charset_memo *memo, enum uk_charset_kind k, int32_t margin)
{
	if (!memo || margin < 2 || memo->source == UK_CHARSET_SRC_CONFIGURED)
		return;
	if (memo->source != UK_CHARSET_SRC_NONE && memo->kind == k) {
		if (memo->evidence < 15)
			memo->evidence++;
		return;
	}
	if (memo->source == UK_CHARSET_SRC_NONE || margin >= 4 || memo->evidence <= 1) {
		memo->kind = (uint8_t)k;
		memo->source = UK_CHARSET_SRC_TEXT;
		memo->evidence = 1;
	} else {
		memo->evidence--;
	}
}

int uk_charset_decode_peer(struct uk_charset *c, struct uk_charset_memo *memo,
			   enum uk_charset_kind dflt, const void *in, size_t n, bool utf8_flag,
			   char *out, size_t cap, size_t *out_len)
{
	/* Tie order: the peer's own charset, UTF-8, the default, GB, CP932. */
	enum uk_charset_kind order[5], best = UK_CHARSET_RAW;
	int32_t best_score = INT32_MIN, second = INT32_MIN;
	size_t norder = 0;

	if (cap < n + 1)
		return UK_ENOSPACE;
	if (utf8_flag || all_ascii(in, n)) {
		copy_raw(in, n, out, out_len);
		return UK_CHARSET_UTF8;
	}
	/* The user's word beats every score, as long as the bytes are text
	 * in that charset at all (else the peer sent something else). */
	if (memo && memo->source == UK_CHARSET_SRC_CONFIGURED && memo->kind < UK_CHARSET_KINDS &&
	    uk_charset_score((enum uk_charset_kind)memo->kind, in, n) != INT32_MIN) {
		if (memo->kind == UK_CHARSET_UTF8) {
			copy_raw(in, n, out, out_len);
			return UK_CHARSET_UTF8;
		}
		if (convert(memo->kind == UK_CHARSET_GB18030 ? c->gb18030 : c->cp932, in, n, out,
			    cap, out_len))
			return (enum uk_charset_kind)memo->kind;
	}
	if (memo && memo->source != UK_CHARSET_SRC_NONE && memo->kind < UK_CHARSET_KINDS)
		order[norder++] = (enum uk_charset_kind)memo->kind;
	order[norder++] = UK_CHARSET_UTF8;
	order[norder++] = dflt < UK_CHARSET_KINDS ? dflt : UK_CHARSET_UTF8;
	order[norder++] = UK_CHARSET_GB18030;
	order[norder++] = UK_CHARSET_CP932;
	for (size_t i = 0; i < norder; i++) {
		enum uk_charset_kind k = order[i];
		bool dup = false;
		int32_t s;
		for (size_t j = 0; j < i; j++)
			dup |= order[j] == k;
		if (dup)
			continue;
		s = uk_charset_score(k, in, n);
		if (s == INT32_MIN)
			continue;
		if (k != UK_CHARSET_UTF8 &&
		    !convert(k == UK_CHARSET_GB18030 ? c->gb18030 : c->cp932, in, n, out, cap,
			     out_len))
			continue;
		s += prior(memo, dflt, k);
		if (s > best_score) {
			second = best_score;
			best_score = s;
			best = k;
		} else if (s > second) {
			second = s;
		}
	}
	if (best == UK_CHARSET_RAW) {
		copy_raw(in, n, out, out_len);
		return UK_CHARSET_RAW;
	}
	learn(memo, best, second == INT32_MIN ? 2 : best_score - second);
	if (best == UK_CHARSET_UTF8)
		copy_raw(in, n, out, out_len);
	else
		convert(best == UK_CHARSET_GB18030 ? c->gb18030 : c->cp932, in, n, out, cap,
			out_len);
	return best;
}

int uk_charset_decode(struct uk_charset *c, const void *in, size_t n, bool utf8_flag, char *out,
		      size_t cap, size_t *out_len)
{
	return uk_charset_decode_peer(c, NULL, UK_CHARSET_UTF8, in, n, utf8_flag, out, cap,
				      out_len);
}

enum uk_charset_kind uk_charset_for_peer(const struct uk_charset_memo *memo,
					 enum uk_charset_kind dflt)
{
	if (memo && memo->source == UK_CHARSET_SRC_CONFIGURED && memo->kind < UK_CHARSET_KINDS)
		return (enum uk_charset_kind)memo->kind;
	if (memo && memo->utf8_cap)
		return UK_CHARSET_UTF8;
	if (memo && memo->source == UK_CHARSET_SRC_TEXT && memo->kind < UK_CHARSET_KINDS)
		return (enum uk_charset_kind)memo->kind;
	if (memo && memo->wrote && memo->wrote <= UK_CHARSET_KINDS)
		return (enum uk_charset_kind)(memo->wrote - 1);
	if (memo && memo->source != UK_CHARSET_SRC_NONE && memo->kind < UK_CHARSET_KINDS)
		return (enum uk_charset_kind)memo->kind;
	return dflt < UK_CHARSET_KINDS ? dflt : UK_CHARSET_UTF8;
}

void uk_charset_wrote(struct uk_charset_memo *memo, enum uk_charset_kind kind, const char *s,
		      size_t n)
{
	if (memo->wrote || kind >= UK_CHARSET_KINDS || all_ascii((const unsigned char *)s, n))
		return;
	memo->wrote = (uint8_t)(kind + 1);
}

void uk_charset_configure(struct uk_charset_memo *memo, enum uk_charset_kind kind)
{
	if (kind >= UK_CHARSET_KINDS)
		return;
	memo->kind = (uint8_t)kind;
	memo->source = UK_CHARSET_SRC_CONFIGURED;
	memo->evidence = 0;
}

void uk_charset_announce(struct uk_charset_memo *memo, enum uk_charset_kind kind)
{
	if (kind >= UK_CHARSET_KINDS || memo->source == UK_CHARSET_SRC_CONFIGURED)
		return;
	/* Proofs from its text already in hand outweigh a claim. */
	if (memo->source == UK_CHARSET_SRC_TEXT && memo->kind != kind && memo->evidence >= 2)
		return;
	memo->kind = (uint8_t)kind;
	memo->source = UK_CHARSET_SRC_ANNOUNCED;
}

/* ---- encoding -------------------------------------------------------------- */

int uk_charset_encode(struct uk_charset *c, enum uk_charset_kind kind, const char *in, size_t n,
		      char *out, size_t cap, size_t *replaced)
{
	void *cd = kind == UK_CHARSET_GB18030 ? c->to_gbk
		   : kind == UK_CHARSET_CP932 ? c->to_cp932
					      : NULL;
	/* iconv() takes its input as char ** but never writes through it. */
	char *ip = (char *)in, *op = out;
	size_t il = n, ol;

	*replaced = 0;
	if (cap < n + 1)
		return UK_ENOSPACE;
	if (!cd) {
		/* UTF-8 (or no converter): as is; invalid bytes are the
		 * caller's text and the display escapes them. */
		memcpy(out, in, n);
		out[n] = 0;
		return (int)n;
	}
	ol = cap - 1;
	iconv((iconv_t)cd, NULL, NULL, NULL, NULL);
	while (il > 0) {
		uint32_t cp;
		size_t k;
		if (iconv((iconv_t)cd, &ip, &il, &op, &ol) != (size_t)-1)
			break;
		if (errno == E2BIG)
			return UK_ENOSPACE;
		/* EILSEQ: one '?' for the character the target lacks, or for
		 * the byte that starts no character; EINVAL: one for the
		 * character cut at the end. */
		k = uk_utf8_decode((const unsigned char *)ip, il, &cp);
		k = errno == EINVAL ? il : k ? k : 1;
		if (ol < 1)
			return UK_ENOSPACE;
		*op++ = '?';
		ol--;
		ip += k;
		il -= k;
		(*replaced)++;
	}
	if (iconv((iconv_t)cd, NULL, NULL, &op, &ol) == (size_t)-1)
		return UK_ENOSPACE;
	*op = 0;
	return (int)(op - out);
}

int uk_charset_parse_name(const char *name, size_t len)
{
	static const struct {
		const char *name;
		enum uk_charset_kind kind;
	} names[] = {{"utf8", UK_CHARSET_UTF8},	      {"gbk", UK_CHARSET_GB18030},
		     {"gb18030", UK_CHARSET_GB18030}, {"gb2312", UK_CHARSET_GB18030},
		     {"cp936", UK_CHARSET_GB18030},   {"euccn", UK_CHARSET_GB18030},
		     {"cp932", UK_CHARSET_CP932},     {"shiftjis", UK_CHARSET_CP932},
		     {"sjis", UK_CHARSET_CP932},      {"ms932", UK_CHARSET_CP932},
		     {"windows31j", UK_CHARSET_CP932}};
	char norm[16];
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char ch = name[i];
		if (ch == 0)
			return -1;
		if (ch == '-' || ch == '_')
			continue;
		if (o + 1 >= sizeof(norm))
			return -1;
		norm[o++] = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
	}
	norm[o] = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(norm, names[i].name) == 0)
			return (int)names[i].kind;
	return -1;
}

const char *uk_charset_name(enum uk_charset_kind k)
{
	switch (k) {
	case UK_CHARSET_UTF8:
		return "utf-8";
	case UK_CHARSET_GB18030:
		return "gb18030";
	case UK_CHARSET_CP932:
		return "cp932";
	default:
		return "raw";
	}
}
