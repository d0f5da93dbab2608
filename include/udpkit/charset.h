/* charset.h: message text from IPMsg peers, turned into UTF-8. IP Messenger
 * for Windows sends CP932 unless told we read UTF-8, FeiQ and older iptux
 * send GBK/GB18030, iptux 0.8 sends UTF-8 without saying so. The order we
 * try (ipmsg.md §2.3): UTF8OPT -> as is; valid UTF-8 -> as is; GB18030;
 * CP932; else the raw bytes (the display escapes them). */
#ifndef UDPKIT_CHARSET_H
#define UDPKIT_CHARSET_H

#include <stdbool.h>
#include <stddef.h>

enum uk_charset_kind {
	UK_CHARSET_UTF8,    /* flagged or valid UTF-8: copied */
	UK_CHARSET_GB18030, /* converted from GB18030 (a superset of GBK) */
	UK_CHARSET_CP932,   /* converted from CP932 (Windows Shift_JIS) */
	UK_CHARSET_RAW	    /* none fits: copied, to be shown escaped */
};

/* Output room that always suffices for n input bytes: a CP932 half-width
 * katakana byte becomes 3 UTF-8 bytes. */
#define UK_CHARSET_OUT_SIZE(n) (3 * (n) + 4)

/* Two iconv descriptors, opened once (iconv_open loads gconv modules). */
struct uk_charset {
	void *gb18030; /* iconv_t, or NULL when glibc lacks the module */
	void *cp932;
};

/* Opens the converters. A missing converter is skipped later, not an
 * error. Returns 0. */
int uk_charset_init(struct uk_charset *c);
void uk_charset_free(struct uk_charset *c);

/* Decodes n bytes of in into out (cap bytes; UK_CHARSET_OUT_SIZE(n) is
 * enough), NUL-terminated, with the length in *out_len. utf8_flag is the
 * packet's UTF8OPT. Returns the kind used (>= 0) or UK_ENOSPACE. Not
 * thread-safe for one struct (iconv descriptors keep state). */
int uk_charset_decode(struct uk_charset *c, const void *in, size_t n, bool utf8_flag, char *out,
		      size_t cap, size_t *out_len);

#endif
