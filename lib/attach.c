/* attach.c: the IPMsg attachment list (see attach.h), parsed entry by
 * entry with a bounds-checked cursor: a malformed entry is counted and
 * skipped, never read past. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "udpkit/attach.h"
#include "udpkit/err.h"

struct cursor {
	const unsigned char *p;
	size_t off, end; /* the entry: [off, end) */
};

static int hexval(unsigned ch)
{
	if (ch >= '0' && ch <= '9')
		return (int)(ch - '0');
	if (ch >= 'a' && ch <= 'f')
		return (int)(ch - 'a' + 10);
	if (ch >= 'A' && ch <= 'F')
		return (int)(ch - 'A' + 10);
	return -1;
}

/* Reads digits up to the next ':' (consumed). hex selects base 16. */
static bool read_number(struct cursor *c, bool hex, uint64_t *out)
{
	uint64_t v = 0;
	size_t digits = 0;

	while (c->off < c->end && c->p[c->off] != ':') {
		int d = hexval(c->p[c->off]);
		if (d < 0 || (!hex && d > 9))
			return false;
		if (++digits > (hex ? 16u : 19u))
			return false;
		v = v * (hex ? 16 : 10) + (unsigned)d;
		c->off++;
	}
	if (!digits)
		return false;
	*out = v;
	/* The last field may end the entry without its ':'. */
	if (c->off < c->end)
		c->off++;
	return true;
}

/* The name runs to the first ':' that is not doubled. */
static bool read_name(struct cursor *c, struct uk_attach *a)
{
	a->name_len = 0;
	while (c->off < c->end) {
		unsigned char ch = c->p[c->off];
		if (ch == ':') {
			if (c->off + 1 < c->end && c->p[c->off + 1] == ':') {
				c->off++;
			} else {
				c->off++;
				a->name[a->name_len] = 0;
				return a->name_len > 0;
			}
		}
		if (a->name_len == UK_ATTACH_NAME_MAX)
			return false;
		a->name[a->name_len++] = (char)ch;
		c->off++;
	}
	return false;
}

/* Extended attributes "key=value:" up to the entry's end. Only ours is
 * read; the others (and malformed ones) are skipped, as IP Messenger
 * skips keys it does not know. */
static void read_ext(struct cursor *c, struct uk_attach *a)
{
	static const char key[] = UK_ATTACH_EXT_SHA256 "=";
	const size_t klen = sizeof(key) - 1, hlen = (size_t)2 * UK_ATTACH_SHA256_BYTES;

	while (c->off < c->end) {
		const unsigned char *f = c->p + c->off;
		const unsigned char *colon = memchr(f, ':', c->end - c->off);
		size_t flen = colon ? (size_t)(colon - f) : c->end - c->off;

		if (flen == klen + hlen && memcmp(f, key, klen) == 0) {
			bool ok = true;
			for (size_t i = 0; i < UK_ATTACH_SHA256_BYTES && ok; i++) {
				int hi = hexval(f[klen + 2 * i]), lo = hexval(f[klen + 2 * i + 1]);
				ok = hi >= 0 && lo >= 0;
				if (ok)
					a->sha256[i] = (uint8_t)(hi << 4 | lo);
			}
			a->has_sha256 = ok;
		}
		c->off += flen + (colon ? 1 : 0);
	}
}

static bool parse_entry(struct cursor *c, struct uk_attach *a)
{
	uint64_t attr;

	memset(a, 0, sizeof(*a));
	if (!read_number(c, false, &a->file_id) || !read_name(c, a) ||
	    !read_number(c, true, &a->size) || !read_number(c, true, &a->mtime) ||
	    !read_number(c, true, &attr) || attr > UINT32_MAX)
		return false;
	a->attr = (uint32_t)attr;
	read_ext(c, a);
	return true;
}

size_t uk_attach_parse(const void *data, size_t len, struct uk_attach *out, size_t max,
		       size_t *total, size_t *bad)
{
	const unsigned char *p = data;
	size_t off = 0, stored = 0, good = 0, nbad = 0;
	const unsigned char *nul = len ? memchr(p, 0, len) : NULL;

	if (nul)
		len = (size_t)(nul - p);
	while (off < len) {
		const unsigned char *bel = memchr(p + off, '\a', len - off);
		size_t end = bel ? (size_t)(bel - p) : len;
		struct cursor c = {p, off, end};
		struct uk_attach tmp;

		/* Some senders put a ':' after the BEL as well. */
		while (c.off < c.end && c.p[c.off] == ':')
			c.off++;
		if (c.off < c.end) {
			if (parse_entry(&c, stored < max ? &out[stored] : &tmp)) {
				good++;
				if (stored < max)
					stored++;
			} else {
				nbad++;
			}
		}
		off = end + 1;
	}
	if (total)
		*total = good;
	if (bad)
		*bad = nbad;
	return stored;
}

/* Appends n bytes; false when they do not fit. */
static bool put(char *out, size_t cap, size_t *len, const void *p, size_t n)
{
	if (n > cap - *len)
		return false;
	memcpy(out + *len, p, n);
	*len += n;
	return true;
}

int uk_attach_encode(char *out, size_t cap, size_t len, const struct uk_attach *a)
{
	static const char hex[] = "0123456789abcdef";
	char num[80];
	size_t at = len;
	int n;

	if (len > cap)
		return UK_ENOSPACE;
	if (a->name_len == 0 || memchr(a->name, 0, a->name_len) ||
	    memchr(a->name, '\a', a->name_len))
		return UK_EPARSE;
	n = snprintf(num, sizeof(num), "%" PRIu64 ":", a->file_id);
	if (!put(out, cap, &at, num, (size_t)n))
		return UK_ENOSPACE;
	for (size_t i = 0; i < a->name_len; i++) {
		/* IPMsg doubles ':' in names (protocol.txt, "fileName"). */
		if (a->name[i] == ':' && !put(out, cap, &at, ":", 1))
			return UK_ENOSPACE;
		if (!put(out, cap, &at, &a->name[i], 1))
			return UK_ENOSPACE;
	}
	n = snprintf(num, sizeof(num), ":%" PRIx64 ":%" PRIx64 ":%" PRIx32 ":", a->size, a->mtime,
		     a->attr);
	if (!put(out, cap, &at, num, (size_t)n))
		return UK_ENOSPACE;
	if (a->has_sha256) {
		char h[2 * UK_ATTACH_SHA256_BYTES + 1];
		for (size_t i = 0; i < UK_ATTACH_SHA256_BYTES; i++) {
			h[2 * i] = hex[a->sha256[i] >> 4];
			h[2 * i + 1] = hex[a->sha256[i] & 0xf];
		}
		h[sizeof(h) - 1] = ':';
		if (!put(out, cap, &at, UK_ATTACH_EXT_SHA256 "=", sizeof(UK_ATTACH_EXT_SHA256)) ||
		    !put(out, cap, &at, h, sizeof(h)))
			return UK_ENOSPACE;
	}
	if (!put(out, cap, &at, "\a", 1))
		return UK_ENOSPACE;
	return at > INT32_MAX ? UK_ENOSPACE : (int)at;
}
