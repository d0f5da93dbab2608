/* attach.c: the IPMsg attachment list (see attach.h), parsed entry by
 * entry with a bounds-checked cursor: a malformed entry is counted and
 * skipped, never read past. */
#include <stdbool.h>
#include <string.h>

#include "udpkit/attach.h"

struct cursor {
	const unsigned char *p;
	size_t off, end; /* the entry: [off, end) */
};

/* Reads digits up to the next ':' (consumed). hex selects base 16. */
static bool read_number(struct cursor *c, bool hex, uint64_t *out)
{
	uint64_t v = 0;
	size_t digits = 0;

	while (c->off < c->end && c->p[c->off] != ':') {
		unsigned ch = c->p[c->off], d;
		if (ch >= '0' && ch <= '9')
			d = ch - '0';
		else if (hex && ch >= 'a' && ch <= 'f')
			d = ch - 'a' + 10;
		else if (hex && ch >= 'A' && ch <= 'F')
			d = ch - 'A' + 10;
		else
			return false;
		if (++digits > (hex ? 16u : 19u))
			return false;
		v = v * (hex ? 16 : 10) + d;
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

static bool parse_entry(struct cursor *c, struct uk_attach *a)
{
	uint64_t attr;

	memset(a, 0, sizeof(*a));
	if (!read_number(c, false, &a->file_id) || !read_name(c, a) ||
	    !read_number(c, true, &a->size) || !read_number(c, true, &a->mtime) ||
	    !read_number(c, true, &attr) || attr > UINT32_MAX)
		return false;
	a->attr = (uint32_t)attr;
	/* Extended attributes (key=value) up to the entry's end are skipped. */
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
