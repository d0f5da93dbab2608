/* history_line.c: one history event as one line (see history_line.h and
 * docs/history.md): seven tab-separated fields, the free-form ones escaped
 * with uk_text_escape() so no message can hold a tab or a newline; the
 * parser splits through the bounds-checked reader and checks every field. */
#include <string.h>

#include "udpkit/err.h"
#include "udpkit/history_line.h"
#include "udpkit/history_time.h"
#include "udpkit/text.h"
#include "udpkit/wire.h"

#define FIELDS 7

static const char *const kind_names[UK_HIST_KIND_COUNT] = {
    [UK_HIST_RECV] = "recv",	       [UK_HIST_SENT] = "sent",
    [UK_HIST_DELIVERED] = "delivered", [UK_HIST_UNDELIVERED] = "undelivered",
    [UK_HIST_LATE] = "late",	       [UK_HIST_GROUP] = "group",
    [UK_HIST_FILE] = "file",
};

const char *uk_history_kind_name(enum uk_history_kind k)
{
	if ((unsigned)k >= UK_HIST_KIND_COUNT)
		return "?";
	return kind_names[k];
}

static size_t put_u64(char *out, uint64_t v)
{
	char tmp[24];
	size_t i = sizeof(tmp), n;
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	n = sizeof(tmp) - i;
	memcpy(out, tmp + i, n);
	return n;
}

int uk_history_format(const struct uk_history_entry *e, char *out, size_t cap)
{
	const char *kind = uk_history_kind_name(e->kind);
	size_t o = 0, peer_len = strnlen(e->peer, sizeof(e->peer)),
	       nick_len = strnlen(e->nick, sizeof(e->nick));
	char num[2][24];
	size_t num_len[2];
	int n;

	if ((unsigned)e->kind >= UK_HIST_KIND_COUNT || peer_len == sizeof(e->peer) ||
	    nick_len == sizeof(e->nick))
		return UK_EPARSE;
	/* Fixed parts first: time, kind and the numbers, with their tabs. */
	num_len[0] = put_u64(num[0], e->msg_id);
	num_len[1] = put_u64(num[1], e->text_len);
	if (cap <
	    UK_HISTORY_TIME_LEN + 1 + strlen(kind) + 1 + 2 + num_len[0] + 1 + num_len[1] + 1 + 2)
		return UK_ENOSPACE;
	n = uk_history_time_format(e->time_ns, out);
	if (n < 0)
		return n;
	o = (size_t)n;
	out[o++] = '\t';
	memcpy(out + o, kind, strlen(kind));
	o += strlen(kind);
	out[o++] = '\t';
	/* The escaped fields hold no tab, newline or control byte. The peer
	 * and the nick are names: every invisible character escaped, joiners
	 * included, as on screen ("b\u200dob" must not read as "bob"). */
	n = uk_text_escape_name(e->peer, peer_len, out + o, cap - o);
	if (n < 0 || cap - o - (size_t)n < 2)
		return UK_ENOSPACE;
	o += (size_t)n;
	out[o++] = '\t';
	n = uk_text_escape_name(e->nick, nick_len, out + o, cap - o);
	if (n < 0 || cap - o - (size_t)n < num_len[0] + num_len[1] + 4)
		return UK_ENOSPACE;
	o += (size_t)n;
	out[o++] = '\t';
	memcpy(out + o, num[0], num_len[0]);
	o += num_len[0];
	out[o++] = '\t';
	memcpy(out + o, num[1], num_len[1]);
	o += num_len[1];
	out[o++] = '\t';
	n = uk_text_escape(e->text, e->text_len, out + o, cap - o);
	if (n < 0 || cap - o - (size_t)n < 2)
		return UK_ENOSPACE;
	o += (size_t)n;
	out[o++] = '\n';
	out[o] = '\0';
	return (int)o;
}

static int parse_u64_field(const unsigned char *p, size_t n, uint64_t *v)
{
	*v = 0;
	/* Canonical decimal only: no sign, no leading zero, at most 20 digits. */
	if (n == 0 || n > 20 || (n > 1 && p[0] == '0'))
		return UK_EPARSE;
	for (size_t i = 0; i < n; i++) {
		uint64_t d;
		if (p[i] < '0' || p[i] > '9')
			return UK_EPARSE;
		d = (uint64_t)(p[i] - '0');
		if (*v > (UINT64_MAX - d) / 10)
			return UK_EPARSE;
		*v = *v * 10 + d;
	}
	return 0;
}

/* Unescapes a string field into a NUL-terminated fixed array: the result
 * must fit with its NUL and hold no NUL itself. */
static int unescape_str(const unsigned char *p, size_t n, char *out, size_t cap)
{
	int m = uk_text_unescape((const char *)p, n, out, cap - 1);
	if (m < 0 || memchr(out, '\0', (size_t)m))
		return UK_EPARSE;
	out[m] = '\0';
	return 0;
}

int uk_history_parse(const char *line, size_t len, struct uk_history_entry *e,
		     unsigned char *textbuf, size_t cap)
{
	struct uk_wire_reader r;
	const unsigned char *field[FIELDS];
	size_t flen[FIELDS];
	uint64_t text_len;
	int kind = -1, m;

	if (len > 0 && line[len - 1] == '\n')
		len--;
	/* Split on tabs through the bounds-checked reader: seven fields, the
	 * last one running to the end of the line. */
	uk_wire_reader_init(&r, line, len);
	for (int f = 0; f < FIELDS; f++) {
		const unsigned char *start = r.p + r.off;
		const unsigned char *tab =
		    f < FIELDS - 1 ? memchr(start, '\t', uk_wire_reader_left(&r)) : NULL;
		size_t n = tab ? (size_t)(tab - start) : uk_wire_reader_left(&r);
		if (f < FIELDS - 1 && !tab)
			return UK_EPARSE;
		field[f] = uk_wire_read_bytes(&r, n);
		flen[f] = n;
		if (f < FIELDS - 1)
			(void)uk_wire_read_u8(&r);
	}
	if (r.err || memchr(line, '\n', len) || memchr(line, '\0', len))
		return UK_EPARSE;

	memset(e, 0, sizeof(*e));
	if (uk_history_time_parse((const char *)field[0], flen[0], &e->time_ns) < 0)
		return UK_EPARSE;
	for (int k = 0; k < UK_HIST_KIND_COUNT; k++)
		if (flen[1] == strlen(kind_names[k]) &&
		    memcmp(field[1], kind_names[k], flen[1]) == 0)
			kind = k;
	if (kind < 0)
		return UK_EPARSE;
	e->kind = (enum uk_history_kind)kind;
	if (unescape_str(field[2], flen[2], e->peer, sizeof(e->peer)) < 0 ||
	    unescape_str(field[3], flen[3], e->nick, sizeof(e->nick)) < 0 ||
	    parse_u64_field(field[4], flen[4], &e->msg_id) < 0 ||
	    parse_u64_field(field[5], flen[5], &text_len) < 0)
		return UK_EPARSE;
	if (text_len > cap)
		return UK_ENOSPACE;
	/* The byte count catches a line cut inside its text by a crash and
	 * later completed by a '\n' (see uk_history_writer_open). */
	m = uk_text_unescape((const char *)field[6], flen[6], textbuf, cap);
	if (m < 0 || (uint64_t)m != text_len)
		return UK_EPARSE;
	e->text = textbuf;
	e->text_len = (size_t)m;
	return 0;
}
