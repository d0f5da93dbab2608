/* text.c: terminal-safe, reversible escaping (see include/udpkit/text.h).
 * A datagram may hold anything; this is the one door through which network
 * bytes reach a terminal, a log line or a history file. */
#include <stdio.h>
#include <stdbool.h>
#include <string.h>

#include "udpkit/err.h"
#include "udpkit/text.h"

size_t uk_utf8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
	uint32_t c;
	size_t len;

	if (n == 0)
		return 0;
	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		c = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		c = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		c = p[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

bool uk_utf8_valid(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint32_t cp;
	size_t i = 0, k;

	while (i < n) {
		k = uk_utf8_decode(s + i, n - i, &cp);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

static bool is_unsafe_codepoint(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e || cp == 0x200f || cp == 0x061c ||
	       cp == 0xfeff || cp == 0x2028 || cp == 0x2029;
}

static const char hex_digits[] = "0123456789abcdef";

/* Joiners and variation selectors: invisible, but they shape the visible
 * characters around them (emoji sequences, Persian and Indic text), so
 * message text keeps them; names escape them (text.h). */
static bool is_shaping_codepoint(uint32_t cp)
{
	return cp == 0x200c || cp == 0x200d || (cp >= 0xfe00 && cp <= 0xfe0f) ||
	       (cp >= 0xe0100 && cp <= 0xe01ef);
}

/* Characters that draw nothing: Unicode's format characters (General
 * Category Cf) and Default_Ignorable_Code_Point (DerivedCoreProperties
 * .txt, Unicode 15), e.g. U+00AD soft hyphen, U+034F combining grapheme
 * joiner, U+115F and U+3164 Hangul fillers, U+200B zero width space,
 * U+2060 word joiner, U+FFF9-U+FFFB annotation marks, the tag characters
 * U+E0000-U+E007F. "bo\u200bb" would otherwise look exactly like "bob". */
static bool is_invisible_codepoint(uint32_t cp)
{
	if (cp < 0xad)
		return false;
	return cp == 0xad || cp == 0x34f || (cp >= 0x600 && cp <= 0x605) || cp == 0x6dd ||
	       cp == 0x70f || (cp >= 0x890 && cp <= 0x891) || cp == 0x8e2 ||
	       (cp >= 0x115f && cp <= 0x1160) || (cp >= 0x17b4 && cp <= 0x17b5) ||
	       (cp >= 0x180b && cp <= 0x180f) || (cp >= 0x200b && cp <= 0x200f) ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x206f) || cp == 0x3164 ||
	       (cp >= 0xfe00 && cp <= 0xfe0f) || cp == 0xfeff || cp == 0xffa0 ||
	       (cp >= 0xfff0 && cp <= 0xfffb) || cp == 0x110bd || cp == 0x110cd ||
	       (cp >= 0x13430 && cp <= 0x1343f) || (cp >= 0x1bca0 && cp <= 0x1bca3) ||
	       (cp >= 0x1d173 && cp <= 0x1d17a) || (cp >= 0xe0000 && cp <= 0xe0fff);
}

/* Writes "\uHHHH" (BMP) or "\UHHHHHHHH" into tmp; returns its length. */
static size_t escape_codepoint(uint32_t cp, char *tmp)
{
	size_t digits = cp > 0xffff ? 8 : 4;

	tmp[0] = '\\';
	tmp[1] = cp > 0xffff ? 'U' : 'u';
	for (size_t k = 0; k < digits; k++)
		tmp[2 + k] = hex_digits[(cp >> (4 * (digits - 1 - k))) & 15];
	return digits + 2;
}

/* Printable ASCII other than the backslash passes through unchanged. */
static inline bool is_plain_ascii(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '\\';
}

static int escape(const void *in, size_t n, char *out, size_t cap, bool name)
{
	const unsigned char *s = in;
	size_t i = 0, o = 0;

	if (cap == 0)
		return UK_ENOSPACE;
	while (i < n) {
		char tmp[12];
		const char *piece = tmp;
		size_t plen, used = 1, run = 0;
		uint32_t cp;
		unsigned char c = s[i];

		/* The common case, a run of plain ASCII, is copied in one go. */
		while (i + run < n && is_plain_ascii(s[i + run]))
			run++;
		if (run) {
			if (o + run + 1 > cap)
				run = cap - o - 1;
			memcpy(out + o, s + i, run);
			o += run;
			i += run;
			if (i < n && o + 1 >= cap) {
				out[o] = '\0';
				return UK_ENOSPACE;
			}
			continue;
		}
		switch (c) {
		case '\\':
			piece = "\\\\";
			plen = 2;
			break;
		case '\n':
			piece = "\\n";
			plen = 2;
			break;
		case '\r':
			piece = "\\r";
			plen = 2;
			break;
		case '\t':
			piece = "\\t";
			plen = 2;
			break;
		case 0x1b:
			piece = "\\e";
			plen = 2;
			break;
		default:
			plen = 4;
			tmp[0] = '\\';
			tmp[1] = 'x';
			tmp[2] = hex_digits[c >> 4];
			tmp[3] = hex_digits[c & 15];
			if (c >= 0x80) {
				used = uk_utf8_decode(s + i, n - i, &cp);
				if (used == 0) {
					used = 1;
				} else if (is_unsafe_codepoint(cp) ||
					   (is_invisible_codepoint(cp) &&
					    (name || !is_shaping_codepoint(cp)))) {
					plen = escape_codepoint(cp, tmp);
				} else {
					piece = (const char *)s + i;
					plen = used;
				}
			}
			break;
		}
		if (o + plen + 1 > cap) {
			out[o] = '\0';
			return UK_ENOSPACE;
		}
		memcpy(out + o, piece, plen);
		o += plen;
		i += used;
	}
	out[o] = '\0';
	return (int)o;
}

int uk_text_escape(const void *in, size_t n, char *out, size_t cap)
{
	return escape(in, n, out, cap, false);
}

int uk_text_escape_name(const void *in, size_t n, char *out, size_t cap)
{
	return escape(in, n, out, cap, true);
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int parse_hex(const char *p, size_t digits, uint32_t *v)
{
	*v = 0;
	for (size_t i = 0; i < digits; i++) {
		int h = hex_value(p[i]);
		if (h < 0)
			return -1;
		*v = (*v << 4) | (uint32_t)h;
	}
	return 0;
}

int uk_text_unescape(const char *in, size_t n, void *out, size_t cap)
{
	unsigned char *d = out;
	size_t i = 0, o = 0;

	while (i < n) {
		unsigned char buf[4];
		size_t blen = 1;
		uint32_t v;

		if (in[i] != '\\') {
			buf[0] = (unsigned char)in[i++];
		} else {
			if (i + 1 >= n)
				return UK_EPARSE;
			switch (in[i + 1]) {
			case '\\':
				buf[0] = '\\';
				i += 2;
				break;
			case 'n':
				buf[0] = '\n';
				i += 2;
				break;
			case 'r':
				buf[0] = '\r';
				i += 2;
				break;
			case 't':
				buf[0] = '\t';
				i += 2;
				break;
			case 'e':
				buf[0] = 0x1b;
				i += 2;
				break;
			case 'x':
				if (i + 4 > n || parse_hex(in + i + 2, 2, &v) < 0)
					return UK_EPARSE;
				buf[0] = (unsigned char)v;
				i += 4;
				break;
			case 'u':
				if (i + 6 > n || parse_hex(in + i + 2, 4, &v) < 0 || v < 0x80 ||
				    (v >= 0xd800 && v <= 0xdfff))
					return UK_EPARSE;
				if (v < 0x800) {
					buf[0] = (unsigned char)(0xc0 | (v >> 6));
					buf[1] = (unsigned char)(0x80 | (v & 0x3f));
					blen = 2;
				} else {
					buf[0] = (unsigned char)(0xe0 | (v >> 12));
					buf[1] = (unsigned char)(0x80 | ((v >> 6) & 0x3f));
					buf[2] = (unsigned char)(0x80 | (v & 0x3f));
					blen = 3;
				}
				i += 6;
				break;
			case 'U':
				if (i + 10 > n || parse_hex(in + i + 2, 8, &v) < 0 || v < 0x10000 ||
				    v > 0x10ffff)
					return UK_EPARSE;
				buf[0] = (unsigned char)(0xf0 | (v >> 18));
				buf[1] = (unsigned char)(0x80 | ((v >> 12) & 0x3f));
				buf[2] = (unsigned char)(0x80 | ((v >> 6) & 0x3f));
				buf[3] = (unsigned char)(0x80 | (v & 0x3f));
				blen = 4;
				i += 10;
				break;
			default:
				return UK_EPARSE;
			}
		}
		if (o + blen > cap)
			return UK_ENOSPACE;
		memcpy(d + o, buf, blen);
		o += blen;
	}
	return (int)o;
}

int uk_json_escape(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	if (cap == 0)
		return UK_ENOSPACE;
	for (size_t i = 0; i < n; i++) {
		char tmp[8];
		const char *piece = tmp;
		size_t plen;
		unsigned char c = (unsigned char)s[i];

		if (c == '"') {
			piece = "\\\"";
			plen = 2;
		} else if (c == '\\') {
			piece = "\\\\";
			plen = 2;
		} else if (c < 0x20 || c == 0x7f) {
			plen = (size_t)snprintf(tmp, sizeof(tmp), "\\u%04x", c);
		} else {
			tmp[0] = (char)c;
			plen = 1;
		}
		if (o + plen + 1 > cap) {
			out[o] = '\0';
			return UK_ENOSPACE;
		}
		memcpy(out + o, piece, plen);
		o += plen;
	}
	out[o] = '\0';
	return (int)o;
}
