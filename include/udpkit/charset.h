/* charset.h: IPMsg peers' text to and from UTF-8. IP Messenger for Windows
 * sends CP932 unless told we read UTF-8, FeiQ and iptux set to GBK send
 * GBK, iptux 0.8 sends UTF-8 without saying so. Most CP932 text is also
 * valid GB18030 (日本語 reads 擔杮岅), so validity alone proves nothing:
 * the charset is decided per peer, from what it announced, what its
 * earlier text proved, and a score of each valid decoding (how common
 * the characters it yields are). docs/chat.md §4 has the rules. */
#ifndef UDPKIT_CHARSET_H
#define UDPKIT_CHARSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum uk_charset_kind {
	UK_CHARSET_UTF8,    /* flagged or chosen UTF-8: copied */
	UK_CHARSET_GB18030, /* GB18030 (a superset of GBK) in, GBK out */
	UK_CHARSET_CP932,   /* CP932 (Windows Shift_JIS) */
	UK_CHARSET_RAW	    /* none fits: copied, to be shown escaped */
};
#define UK_CHARSET_KINDS 3 /* the real charsets, UTF8..CP932 */

/* Output room that always suffices for n input bytes: a CP932 half-width
 * katakana byte becomes 3 UTF-8 bytes. */
#define UK_CHARSET_OUT_SIZE(n) (3 * (n) + 4)

/* The iconv descriptors, opened once (iconv_open loads gconv modules). */
struct uk_charset {
	void *gb18030; /* iconv_t GB18030 -> UTF-8, or NULL when glibc lacks it */
	void *cp932;
	void *to_gbk; /* UTF-8 -> GBK */
	void *to_cp932;
};

/* Where a peer's charset came from. */
enum uk_charset_source {
	UK_CHARSET_SRC_NONE,	   /* nothing known: the default applies */
	UK_CHARSET_SRC_TEXT,	   /* proved by its earlier text */
	UK_CHARSET_SRC_ANNOUNCED,  /* iptux's encoding field in its entry */
	UK_CHARSET_SRC_CONFIGURED, /* the user said so (--peer-charset): final */
};

/* What we know of one peer's charset; all zero = nothing. */
struct uk_charset_memo {
	uint8_t kind;	  /* enum uk_charset_kind it writes and reads */
	uint8_t source;	  /* enum uk_charset_source */
	uint8_t evidence; /* texts that proved kind, capped at 15 */
	bool utf8_cap;	  /* announced CAPUTF8OPT or sent UTF8OPT: reads UTF-8 */
	uint8_t wrote;	  /* 1 + the kind of the first non-ASCII text we wrote to it */
};

/* Opens the converters. A missing converter is skipped later, not an
 * error. Returns 0. */
int uk_charset_init(struct uk_charset *c);
void uk_charset_free(struct uk_charset *c);

/* How plausible n bytes are as text in kind: the sum over characters of
 * +2 for common ones (CJK ideographs of the first level, kana, letters),
 * +1 for punctuation and second-level ideographs, 0 for ASCII, negative for
 * rare ones (extension ideographs, half-width katakana, user-defined and
 * private-use areas, C1 controls). The byte structure of each charset
 * tells the class, so no table is needed. Pure; INT32_MIN when the bytes
 * are not well-formed in kind. */
int32_t uk_charset_score(enum uk_charset_kind kind, const void *in, size_t n);

/* Decodes n bytes from a peer into out (cap bytes; UK_CHARSET_OUT_SIZE(n)
 * is enough), NUL-terminated, length in *out_len. utf8_flag is the
 * packet's UTF8OPT: then the bytes are copied as they are. Otherwise each
 * charset that converts every byte is a candidate, scored with
 * uk_charset_score() plus a prior: the peer's known charset (memo) +3 when
 * announced, +1 + earlier proofs (at most +4) when proved; UTF-8 +1; a
 * legacy default (dflt) +1 when nothing is known. The highest wins; ties go to the
 * peer's charset, UTF-8, the default, GB18030, CP932. A text that wins
 * clearly (by 2 or more, or as the only candidate, with non-ASCII bytes)
 * is a proof recorded in memo (NULL: nothing kept). Returns the kind (>= 0)
 * or UK_ENOSPACE. Not thread-safe for one struct uk_charset. */
int uk_charset_decode_peer(struct uk_charset *c, struct uk_charset_memo *memo,
			   enum uk_charset_kind dflt, const void *in, size_t n, bool utf8_flag,
			   char *out, size_t cap, size_t *out_len);

/* uk_charset_decode_peer() for a peer we know nothing of, default UTF-8. */
int uk_charset_decode(struct uk_charset *c, const void *in, size_t n, bool utf8_flag, char *out,
		      size_t cap, size_t *out_len);

/* The charset to write to a peer: the configured one
 * (uk_charset_configure); else UTF-8 when it reads UTF-8 (utf8_cap);
 * else the charset its text proved; else the one we first wrote non-ASCII
 * text to it in (iptux decides once, from the first such text, how it
 * reads a peer: changing later garbles); else what it announced; else
 * dflt. memo may be NULL. Pure. */
enum uk_charset_kind uk_charset_for_peer(const struct uk_charset_memo *memo,
					 enum uk_charset_kind dflt);

/* Records that we wrote n bytes of UTF-8 to a peer in kind, if they are
 * the first non-ASCII ones. */
void uk_charset_wrote(struct uk_charset_memo *memo, enum uk_charset_kind kind, const char *s,
		      size_t n);

/* Fixes a peer's charset as the user configured it: its text is read in
 * kind (unless flagged UTF8OPT, or not well-formed in kind: then guessed
 * as usual), ours is written in kind, and neither its announcement nor
 * its text changes that. */
void uk_charset_configure(struct uk_charset_memo *memo, enum uk_charset_kind kind);

/* Records what a peer announced (iptux's encoding field). */
void uk_charset_announce(struct uk_charset_memo *memo, enum uk_charset_kind kind);

/* Encodes n bytes of UTF-8 into kind (UTF-8: copied; GB18030: GBK, which
 * GBK-only readers such as FeiQ also read; CP932). A character the target
 * cannot hold, and a byte that is not UTF-8, becomes '?' and is counted in
 * *replaced: never dropped. out needs n + 1 bytes; NUL-terminated.
 * Returns the length or UK_ENOSPACE. */
int uk_charset_encode(struct uk_charset *c, enum uk_charset_kind kind, const char *in, size_t n,
		      char *out, size_t cap, size_t *replaced);

/* "utf-8", "gbk", "gb18030", "gb2312", "cp936", "cp932", "shift_jis",
 * "sjis", "ms932" (any case, '-' or '_' or none) -> kind; -1 otherwise. */
int uk_charset_parse_name(const char *name, size_t len);

const char *uk_charset_name(enum uk_charset_kind k);

#endif
