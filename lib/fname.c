/* fname.c: checks of names from the network, numbered alternatives and
 * partial names (see fname.h). Every check looks at bytes only; the
 * receiver also creates files with openat(O_EXCL|O_NOFOLLOW) under a
 * directory descriptor, so these checks are the first of two walls. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "udpkit/err.h"
#include "udpkit/fname.h"

/* Decodes one UTF-8 sequence at p (n bytes left) into *cp; returns its
 * length, or 0 when it is not well-formed (overlong, surrogate, > U+10FFFF,
 * truncated). */
static size_t utf8_next(const unsigned char *p, size_t n, uint32_t *cp)
{
	uint32_t c = p[0], min;
	size_t len;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0) {
		len = 2, c &= 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3, c &= 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

static bool is_sep(char c)
{
	return c == '/' || c == '\\';
}

/* True when some component between separators is "..". */
static bool has_dotdot(const char *s, size_t len)
{
	size_t start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i == len || is_sep(s[i])) {
			if (i - start == 2 && s[start] == '.' && s[start + 1] == '.')
				return true;
			start = i + 1;
		}
	}
	return false;
}

enum uk_fname_verdict uk_fname_check(const char *name, size_t len)
{
	const unsigned char *p = (const unsigned char *)name;

	if (len == 0)
		return UK_FNAME_EMPTY;
	if (len == 1 && name[0] == '.')
		return UK_FNAME_DOT;
	if (has_dotdot(name, len))
		return UK_FNAME_DOTDOT;
	if (is_sep(name[0]) || (len >= 3 && name[1] == ':' && is_sep(name[2])))
		return UK_FNAME_ABSOLUTE;
	if (memchr(name, '/', len))
		return UK_FNAME_SLASH;
	if (memchr(name, '\\', len))
		return UK_FNAME_BACKSLASH;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_next(p + i, len - i, &cp);
		if (p[i] < 0x20 || p[i] == 0x7f)
			return UK_FNAME_CONTROL;
		if (!n)
			return UK_FNAME_NOT_UTF8;
		if (cp >= 0x80 && cp <= 0x9f)
			return UK_FNAME_CONTROL;
		if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
			return UK_FNAME_BIDI;
		i += n;
	}
	if (len > UK_FNAME_MAX)
		return UK_FNAME_TOO_LONG;
	return UK_FNAME_OK;
}

const char *uk_fname_reason(enum uk_fname_verdict v)
{
	switch (v) {
	case UK_FNAME_OK:
		return "acceptable";
	case UK_FNAME_EMPTY:
		return "empty name";
	case UK_FNAME_DOT:
		return "name is '.'";
	case UK_FNAME_DOTDOT:
		return "'..' (parent directory) in name";
	case UK_FNAME_ABSOLUTE:
		return "absolute path";
	case UK_FNAME_SLASH:
		return "contains '/'";
	case UK_FNAME_BACKSLASH:
		return "contains '\\'";
	case UK_FNAME_CONTROL:
		return "contains a control character";
	case UK_FNAME_TOO_LONG:
		return "name longer than 255 bytes";
	case UK_FNAME_NOT_UTF8:
		return "not valid UTF-8";
	case UK_FNAME_BIDI:
		return "contains a bidirectional override";
	}
	return "refused";
}

/* The longest prefix of s[0, n) that does not end inside a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t n)
{
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

int uk_fname_numbered(const char *name, size_t len, unsigned n, char *out, size_t cap)
{
	char suffix[16];
	size_t stem = len, ext_len, suf_len, room;
	const char *dot;

	if (n == 0) {
		if (len + 1 > cap)
			return UK_ENOSPACE;
		memcpy(out, name, len);
		out[len] = 0;
		return (int)len;
	}
	/* The extension starts at the first '.' that is not leading, so
	 * "a.tar.gz" keeps ".tar.gz" and ".bashrc" has none. */
	dot = len > 1 ? memchr(name + 1, '.', len - 1) : NULL;
	if (dot)
		stem = (size_t)(dot - name);
	ext_len = len - stem;
	suf_len = (size_t)snprintf(suffix, sizeof(suffix), " (%u)", n);
	if (ext_len + suf_len >= UK_FNAME_MAX) {
		/* An absurd extension: number the whole name instead. */
		stem = len;
		ext_len = 0;
	}
	room = UK_FNAME_MAX - ext_len - suf_len;
	if (stem > room)
		stem = utf8_cut(name, room);
	if (stem + suf_len + ext_len + 1 > cap)
		return UK_ENOSPACE;
	memcpy(out, name, stem);
	memcpy(out + stem, suffix, suf_len);
	memcpy(out + stem + suf_len, name + len - ext_len, ext_len);
	out[stem + suf_len + ext_len] = 0;
	return (int)(stem + suf_len + ext_len);
}

int uk_fname_partial(const char *name, size_t len, uint64_t size, uint64_t mtime, char *out,
		     size_t cap)
{
	/* FNV-1a, 64 bits: a stable name, not a security property (the
	 * partial file is ours, created 0600 in the target directory). */
	uint64_t h = 0xcbf29ce484222325u;
	const uint64_t prime = 0x100000001b3u;
	unsigned char num[16];

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)name[i]) * prime;
	for (int i = 0; i < 8; i++) {
		num[i] = (unsigned char)(size >> (8 * i));
		num[8 + i] = (unsigned char)(mtime >> (8 * i));
	}
	for (size_t i = 0; i < sizeof(num); i++)
		h = (h ^ num[i]) * prime;
	if (cap < 30)
		return UK_ENOSPACE;
	snprintf(out, cap, ".udpkit-%016llx.part", (unsigned long long)h);
	return 29;
}
