/* dirstream.c: folder stream headers and the receiver's walk over them
 * (see dirstream.h). The length field is checked against the fields it
 * frames, so a header never makes us read past it or wait for more than
 * UK_DIRHDR_MAX bytes. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "udpkit/dirstream.h"
#include "udpkit/err.h"

static int hexdigit(unsigned c)
{
	if (c >= '0' && c <= '9')
		return (int)(c - '0');
	if (c >= 'a' && c <= 'f')
		return (int)(c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (int)(c - 'A' + 10);
	return -1;
}

/* Hex digits in [*off, end) up to '=' or ':' (the stop byte is not
 * consumed); 1 to 16 of them. */
static int read_hexnum(const unsigned char *p, size_t end, size_t *off, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = *off;

	for (; i < end && p[i] != ':' && p[i] != '='; i++) {
		int d = hexdigit(p[i]);
		if (d < 0 || i - *off >= 16)
			return UK_EPARSE;
		v = v << 4 | (unsigned)d;
	}
	if (i == *off)
		return UK_EPARSE;
	*out = v;
	*off = i;
	return 0;
}

/* Expects byte c at *off and steps over it. */
static int expect(const unsigned char *p, size_t end, size_t *off, unsigned char c)
{
	if (*off >= end || p[*off] != c)
		return UK_EPARSE;
	(*off)++;
	return 0;
}

#define SHA256_KEY 0x75d256u /* UK_ATTACH_EXT_SHA256 as a number */

/* The SHA-256 attribute's value at off: exactly 64 hex digits, then ':'.
 * Anything else leaves has_sha256 false (an attribute we cannot read is
 * skipped, as other clients skip ours). */
static void read_sha256(const unsigned char *p, size_t end, size_t off, struct uk_dirhdr *h)
{
	const size_t digits = (size_t)2 * UK_ATTACH_SHA256_BYTES;

	if (end - off < digits + 1 || p[off + digits] != ':')
		return;
	for (size_t i = 0; i < UK_ATTACH_SHA256_BYTES; i++) {
		int hi = hexdigit(p[off + 2 * i]), lo = hexdigit(p[off + 2 * i + 1]);
		if (hi < 0 || lo < 0)
			return;
		h->sha256[i] = (uint8_t)(hi << 4 | lo);
	}
	h->has_sha256 = true;
}

int uk_dirhdr_parse(const void *buf, size_t len, struct uk_dirhdr *h)
{
	const unsigned char *p = buf;
	size_t hlen = 0, off = 5;
	uint64_t attr;

	memset(h, 0, sizeof(*h));
	if (len < 5)
		return 0;
	for (int i = 0; i < 4; i++) {
		int d = hexdigit(p[i]);
		if (d < 0)
			return UK_EPARSE;
		hlen = hlen << 4 | (unsigned)d;
	}
	/* "hhhh:n:0:1:" is the shortest header. */
	if (p[4] != ':' || hlen < 11)
		return UK_EPARSE;
	if (len < hlen)
		return 0;
	/* The header ends with ':' at hlen - 1; fields never run past it. */
	if (p[hlen - 1] != ':')
		return UK_EPARSE;
	while (off < hlen) {
		unsigned char c = p[off];
		if (c == ':') {
			if (off + 1 < hlen && p[off + 1] == ':')
				off++;
			else
				break;
		}
		if (h->name_len == UK_ATTACH_NAME_MAX)
			return UK_EPARSE;
		h->name[h->name_len++] = (char)c;
		off++;
	}
	h->name[h->name_len] = 0;
	if (h->name_len == 0 || expect(p, hlen, &off, ':') < 0 ||
	    read_hexnum(p, hlen, &off, &h->size) < 0 || expect(p, hlen, &off, ':') < 0 ||
	    read_hexnum(p, hlen, &off, &attr) < 0 || attr > UINT32_MAX ||
	    expect(p, hlen, &off, ':') < 0)
		return UK_EPARSE;
	h->attr = (uint32_t)attr;
	/* Extended attributes "key=value[,value...]:"; 14 and 16 are kept. */
	while (off < hlen) {
		uint64_t key, val = 0;
		if (read_hexnum(p, hlen, &off, &key) < 0 || expect(p, hlen, &off, '=') < 0)
			return UK_EPARSE;
		if (key == 0x14 || key == 0x16) {
			if (read_hexnum(p, hlen, &off, &val) < 0)
				return UK_EPARSE;
			*(key == 0x14 ? &h->mtime : &h->ctime) = val;
		} else if (key == SHA256_KEY) {
			read_sha256(p, hlen, off, h);
		}
		while (off < hlen && p[off] != ':')
			off++;
		if (expect(p, hlen, &off, ':') < 0)
			return UK_EPARSE;
	}
	return (int)hlen;
}

int uk_dirhdr_build(void *out, size_t cap, const struct uk_dirhdr *h)
{
	unsigned char *o = out;
	char tail[192], len4[5];
	size_t at = 5;
	int n;

	if (h->name_len == 0 || memchr(h->name, 0, h->name_len))
		return UK_EPARSE;
	if (cap < 5)
		return UK_ENOSPACE;
	for (size_t i = 0; i < h->name_len; i++) {
		if (at + 2 > cap)
			return UK_ENOSPACE;
		if (h->name[i] == ':')
			o[at++] = ':';
		o[at++] = (unsigned char)h->name[i];
	}
	/* iptux pads sizes to 9 digits except in RETPARENT ("0023:.:0:3:..."). */
	if ((h->attr & 0xffu) == UK_ATTACH_RETPARENT)
		n = snprintf(tail, sizeof(tail),
			     ":%" PRIx64 ":%" PRIx32 ":14=%" PRIx64 ":16=%" PRIx64 ":", h->size,
			     h->attr, h->mtime, h->ctime);
	else
		n = snprintf(tail, sizeof(tail),
			     ":%.9" PRIx64 ":%" PRIx32 ":14=%" PRIx64 ":16=%" PRIx64 ":", h->size,
			     h->attr, h->mtime, h->ctime);
	if (h->has_sha256) {
		static const char hex[] = "0123456789abcdef";
		char *t = tail + n;
		memcpy(t, UK_ATTACH_EXT_SHA256 "=", sizeof(UK_ATTACH_EXT_SHA256));
		t += sizeof(UK_ATTACH_EXT_SHA256);
		for (size_t i = 0; i < UK_ATTACH_SHA256_BYTES; i++) {
			*t++ = hex[h->sha256[i] >> 4];
			*t++ = hex[h->sha256[i] & 0xf];
		}
		*t++ = ':';
		n = (int)(t - tail);
	}
	if ((size_t)n > cap - at || at + (size_t)n > UK_DIRHDR_MAX)
		return UK_ENOSPACE;
	memcpy(o + at, tail, (size_t)n);
	at += (size_t)n;
	snprintf(len4, sizeof(len4), "%04zx", at);
	memcpy(o, len4, 4);
	o[4] = ':';
	return (int)at;
}

void uk_dirwalk_init(struct uk_dirwalk *w, unsigned max_depth, uint64_t max_entries,
		     uint64_t max_bytes, uint64_t max_file)
{
	memset(w, 0, sizeof(*w));
	w->max_depth = max_depth;
	w->max_entries = max_entries;
	w->max_bytes = max_bytes;
	w->max_file = max_file;
}

int uk_dirwalk_header(struct uk_dirwalk *w, const struct uk_dirhdr *h)
{
	uint32_t type = h->attr & 0xffu;

	if (w->done)
		return UK_EPARSE;
	if (w->depth == 0 && type != UK_ATTACH_DIR)
		return UK_EPARSE;
	if (++w->entries > w->max_entries)
		return UK_ERANGE_;
	switch (type) {
	case UK_ATTACH_DIR:
		if (w->depth >= w->max_depth)
			return UK_ERANGE_;
		w->depth++;
		return UK_DIRWALK_ENTER;
	case UK_ATTACH_RETPARENT:
		if (--w->depth == 0) {
			w->done = true;
			return UK_DIRWALK_END;
		}
		return UK_DIRWALK_LEAVE;
	default:
		if (h->size > w->max_bytes - w->bytes)
			return UK_ERANGE_;
		w->bytes += h->size;
		if (type == UK_ATTACH_REGULAR) {
			if (h->size > w->max_file)
				return UK_ERANGE_;
			return UK_DIRWALK_FILE;
		}
		return UK_DIRWALK_SKIP;
	}
}
