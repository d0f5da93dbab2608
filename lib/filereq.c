/* filereq.c: GETFILEDATA and GETDIRFILES requests (see filereq.h). The
 * header is parsed by uk_ipmsg_parse(); the numbers after it by a
 * bounded reader here. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "udpkit/err.h"
#include "udpkit/filereq.h"

/* Reads a field of 1 to 16 hex digits up to ':' or the end of [*off, len);
 * also its decimal reading when every digit is decimal. */
static int read_hex(const unsigned char *p, size_t len, size_t *off, uint64_t *hex, uint64_t *dec,
		    bool *dec_ok)
{
	uint64_t h = 0, d = 0;
	size_t i = *off, digits = 0;
	bool dok = true;

	for (; i < len && p[i] != ':'; i++) {
		unsigned c = p[i], v;
		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v = c - 'A' + 10;
		else
			return UK_EPARSE;
		if (++digits > 16)
			return UK_EPARSE;
		h = h << 4 | v;
		if (v > 9 || digits > 19)
			dok = false;
		else
			d = d * 10 + v;
	}
	if (!digits)
		return UK_EPARSE;
	*hex = h;
	if (dec)
		*dec = d;
	if (dec_ok)
		*dec_ok = dok;
	*off = i < len ? i + 1 : i;
	return 0;
}

int uk_filereq_parse(const void *buf, size_t len, struct uk_filereq *r)
{
	const unsigned char *nul = len ? memchr(buf, 0, len) : NULL;
	struct uk_ipmsg m;
	size_t off = 0, n;
	const unsigned char *x;

	memset(r, 0, sizeof(*r));
	if (!nul)
		return len >= UK_FILEREQ_MAX ? UK_EPARSE : 0;
	n = (size_t)(nul - (const unsigned char *)buf);
	if (n + 1 > UK_FILEREQ_MAX || uk_ipmsg_parse(buf, n, &m) < 0)
		return UK_EPARSE;
	r->command = m.command;
	r->mode = UK_IPMSG_MODE(m.command);
	if (r->mode != UK_FILEREQ_GETFILEDATA && r->mode != UK_FILEREQ_GETDIRFILES)
		return UK_EPARSE;
	r->iptux = memmem(m.version.p, m.version.len, "iptux", 5) != NULL;
	x = m.extra.p;
	if (read_hex(x, m.extra.len, &off, &r->offer_no, NULL, NULL) < 0 ||
	    read_hex(x, m.extra.len, &off, &r->id_hex, &r->id_dec, &r->id_dec_ok) < 0)
		return UK_EPARSE;
	/* GETFILEDATA needs its offset; GETDIRFILES may carry iptux's ":0". */
	if (r->mode == UK_FILEREQ_GETFILEDATA || off < m.extra.len) {
		if (read_hex(x, m.extra.len, &off, &r->offset, NULL, NULL) < 0)
			return UK_EPARSE;
		if (r->mode == UK_FILEREQ_GETDIRFILES)
			r->offset = 0;
	}
	/* Anything after is tolerated (a trailing ':'), as iptux does. */
	return (int)(n + 1);
}

int uk_filereq_build(void *out, size_t cap, const struct uk_ipmsg_ident *id, uint64_t packet_no,
		     uint32_t mode, uint32_t opts, uint64_t offer_no, uint64_t file_id,
		     uint64_t offset)
{
	char extra[64];
	int n, len;

	if (mode == UK_FILEREQ_GETFILEDATA)
		n = snprintf(extra, sizeof(extra), "%" PRIx64 ":%" PRIx64 ":%" PRIx64, offer_no,
			     file_id, offset);
	else
		n = snprintf(extra, sizeof(extra), "%" PRIx64 ":%" PRIx64 ":0", offer_no, file_id);
	len = uk_ipmsg_build(out, cap, id, packet_no, mode | opts, extra, (size_t)n + 1);
	return len;
}

int uk_filereq_match(const struct uk_filereq *r, const uint64_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == r->id_hex)
			return (int)i;
	if (r->id_dec_ok)
		for (size_t i = 0; i < n; i++)
			if (ids[i] == r->id_dec)
				return (int)i;
	return -1;
}
