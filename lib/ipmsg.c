/* ipmsg.c: IPMsg packets in and out. Parsing walks the datagram with the
 * bounds-checked reader from wire.h and never copies: fields are views.
 * Building writes the ASCII header with a bounded writer. Everything here
 * is pure (no clocks, no sockets, no allocation). */
#include <string.h>

#include "udpkit/err.h"
#include "udpkit/ipmsg.h"
#include "udpkit/text.h"
#include "udpkit/wire.h"

/* Reads up to the next ':' (consumed, not included). Fails when there is
 * none or the field is longer than max. */
static int read_field(struct uk_wire_reader *r, size_t max, struct uk_ipmsg_field *f)
{
	size_t start = r->off;

	while (uk_wire_reader_left(r) > 0) {
		if (r->p[r->off] == ':') {
			f->p = r->p + start;
			f->len = r->off - start;
			(void)uk_wire_read_u8(r);
			return f->len <= max ? 0 : UK_EPARSE;
		}
		(void)uk_wire_read_u8(r);
	}
	return UK_EPARSE;
}

/* A field of decimal digits only, at most max_digits of them, value <= max. */
static int field_number(const struct uk_ipmsg_field *f, size_t max_digits, uint64_t max,
			uint64_t *out)
{
	uint64_t v = 0;

	if (f->len == 0 || f->len > max_digits)
		return UK_EPARSE;
	for (size_t i = 0; i < f->len; i++) {
		unsigned d = (unsigned)f->p[i] - '0';
		if (d > 9)
			return UK_EPARSE;
		if (v > (max - d) / 10)
			return UK_EPARSE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

bool uk_ipmsg_classify(const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i = 0;

	if (len == 0 || p[0] < '0' || p[0] > '9')
		return false;
	/* Ver, PacketNo (digits), User, Host, Command (digits), each ':'-ended. */
	for (int field = 0; field < 5; field++) {
		size_t start = i;
		bool digits = field == 1 || field == 4;
		while (i < len && p[i] != ':') {
			if (digits && (p[i] < '0' || p[i] > '9'))
				return false;
			i++;
		}
		if (i >= len || (digits && i == start))
			return false;
		i++;
	}
	return true;
}

int uk_ipmsg_parse(const void *data, size_t len, struct uk_ipmsg *m)
{
	struct uk_wire_reader r;
	struct uk_ipmsg_field pkt, cmd;
	uint64_t command;
	size_t start;

	memset(m, 0, sizeof(*m));
	uk_wire_reader_init(&r, data, len);
	if (read_field(&r, UK_IPMSG_VERSION_MAX, &m->version) < 0 || read_field(&r, 20, &pkt) < 0 ||
	    read_field(&r, UK_IPMSG_NAME_MAX, &m->user) < 0 ||
	    read_field(&r, UK_IPMSG_NAME_MAX, &m->host) < 0 || read_field(&r, 10, &cmd) < 0)
		return UK_EPARSE;
	/* IP Messenger accepts a packet only when atoi(Ver) == 1. */
	if (m->version.len == 0 || m->version.p[0] != '1' ||
	    (m->version.len > 1 && m->version.p[1] >= '0' && m->version.p[1] <= '9'))
		return UK_EPARSE;
	if (field_number(&pkt, 20, UINT64_MAX, &m->packet_no) < 0 ||
	    field_number(&cmd, 10, UINT32_MAX, &command) < 0)
		return UK_EPARSE;
	m->command = (uint32_t)command;

	m->extra.p = r.p + r.off;
	m->extra.len = uk_wire_reader_left(&r);
	/* Split Extra on NUL. A trailing NUL (Windows and iptux send one)
	 * does not start a new, empty part. */
	start = r.off;
	while (m->nparts < UK_IPMSG_MAX_PARTS) {
		bool end = uk_wire_reader_left(&r) == 0;
		if (end || r.p[r.off] == 0) {
			m->parts[m->nparts].p = r.p + start;
			m->parts[m->nparts].len = r.off - start;
			m->nparts++;
			if (end)
				break;
			(void)uk_wire_read_u8(&r);
			start = r.off;
			if (uk_wire_reader_left(&r) == 0)
				break;
			continue;
		}
		(void)uk_wire_read_u8(&r);
	}
	return r.err ? UK_EPARSE : 0;
}

/* Finds "\n<key>:" in the part and returns its value up to the next '\n'. */
static bool find_tagged(const struct uk_ipmsg_field *f, unsigned char key0, unsigned char key1,
			struct uk_ipmsg_field *out)
{
	for (size_t i = 0; i + 4 <= f->len; i++) {
		if (f->p[i] != '\n' || f->p[i + 1] != key0 || f->p[i + 2] != key1 ||
		    f->p[i + 3] != ':')
			continue;
		size_t s = i + 4, e = s;
		while (e < f->len && f->p[e] != '\n')
			e++;
		out->p = f->p + s;
		out->len = e - s;
		return true;
	}
	return false;
}

void uk_ipmsg_entry_names(const struct uk_ipmsg *m, struct uk_ipmsg_field *nick,
			  struct uk_ipmsg_field *group, bool *utf8)
{
	static const unsigned char empty[1] = {0};
	struct uk_ipmsg_field none = {empty, 0};

	*nick = m->nparts > 0 ? m->parts[0] : none;
	*group = m->nparts > 1 ? m->parts[1] : none;
	*utf8 = (m->command & UK_IPMSG_UTF8OPT) != 0;
	/* The Windows block follows the second NUL, in part 2. */
	if (m->nparts > 2) {
		struct uk_ipmsg_field nn, gn;
		bool has_nn = find_tagged(&m->parts[2], 'N', 'N', &nn);
		bool has_gn = find_tagged(&m->parts[2], 'G', 'N', &gn);
		if (has_nn) {
			*nick = nn;
			*group = has_gn ? gn : none;
			*utf8 = true;
		}
	}
	if (nick->len > UK_IPMSG_NAME_MAX)
		nick->len = UK_IPMSG_NAME_MAX;
	if (group->len > UK_IPMSG_NAME_MAX)
		group->len = UK_IPMSG_NAME_MAX;
}

int uk_ipmsg_recv_packet_no(const struct uk_ipmsg *m, uint64_t *packet_no)
{
	return field_number(&m->parts[0], 20, UINT64_MAX, packet_no);
}

/* Copies src into dst (cap bytes with the NUL), cleaning as described in
 * the header; ascii cuts non-ASCII bytes, otherwise UTF-8 is kept whole. */
static void clean_name(char *dst, size_t cap, const char *src, bool ascii, const char *fallback)
{
	const unsigned char *s = (const unsigned char *)(src ? src : "");
	size_t n = strlen((const char *)s), o = 0;

	for (size_t i = 0; i < n && o + 1 < cap;) {
		uint32_t cp;
		size_t k = uk_utf8_decode(s + i, n - i, &cp);
		if (k == 0 || (ascii && k > 1)) {
			i += k ? k : 1;
			continue;
		}
		if (o + k >= cap)
			break;
		if ((k == 1 && (cp < 0x20 || cp == 0x7f)) || (k == 2 && cp < 0xa0))
			dst[o++] = '_'; /* C0, DEL and C1 controls */
		else if (k == 1 && cp == ':')
			dst[o++] = ';';
		else {
			memcpy(dst + o, s + i, k);
			o += k;
		}
		i += k;
	}
	dst[o] = 0;
	if (o == 0 && fallback) {
		size_t fl = strlen(fallback);
		memcpy(dst, fallback, fl + 1 < cap ? fl + 1 : cap);
		dst[cap - 1] = 0;
	}
}

void uk_ipmsg_ident_set(struct uk_ipmsg_ident *id, const char *user, const char *host,
			const char *nick, const char *group)
{
	clean_name(id->user, sizeof(id->user), user, true, "user");
	clean_name(id->host, sizeof(id->host), host, true, "host");
	clean_name(id->nick, sizeof(id->nick), nick, false, NULL);
	clean_name(id->group, sizeof(id->group), group, false, NULL);
}

static void write_str(struct uk_wire_writer *w, const char *s)
{
	uk_wire_write_bytes(w, s, strlen(s));
}

static void write_dec(struct uk_wire_writer *w, uint64_t v)
{
	char digits[24];
	size_t i = sizeof(digits);

	do {
		digits[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	uk_wire_write_bytes(w, digits + i, sizeof(digits) - i);
}

static void write_header(struct uk_wire_writer *w, const struct uk_ipmsg_ident *id,
			 uint64_t packet_no, uint32_t command)
{
	write_str(w, "1:");
	write_dec(w, packet_no);
	uk_wire_write_u8(w, ':');
	write_str(w, id->user);
	uk_wire_write_u8(w, ':');
	write_str(w, id->host);
	uk_wire_write_u8(w, ':');
	write_dec(w, command);
	uk_wire_write_u8(w, ':');
}

static int finish(struct uk_wire_writer *w)
{
	return w->err ? UK_ENOSPACE : (int)w->off;
}

size_t uk_ipmsg_header_len(const struct uk_ipmsg_ident *id)
{
	/* "1:" + 20 digits + ":" + user + ":" + host + ":" + 10 digits + ":" */
	return 2 + 20 + 1 + strlen(id->user) + 1 + strlen(id->host) + 1 + 10 + 1;
}

int uk_ipmsg_build(void *out, size_t cap, const struct uk_ipmsg_ident *id, uint64_t packet_no,
		   uint32_t command, const void *extra, size_t extra_len)
{
	struct uk_wire_writer w;

	uk_wire_writer_init(&w, out, cap);
	write_header(&w, id, packet_no, command);
	if (extra_len)
		uk_wire_write_bytes(&w, extra, extra_len);
	return finish(&w);
}

int uk_ipmsg_build_entry(void *out, size_t cap, const struct uk_ipmsg_ident *id, uint64_t packet_no,
			 uint32_t mode)
{
	return uk_ipmsg_build_entry_names(out, cap, id, packet_no, mode, 0, id->nick, id->group);
}

int uk_ipmsg_build_entry_names(void *out, size_t cap, const struct uk_ipmsg_ident *id,
			       uint64_t packet_no, uint32_t mode, uint32_t opts, const char *nick,
			       const char *group)
{
	struct uk_wire_writer w;

	uk_wire_writer_init(&w, out, cap);
	write_header(&w, id, packet_no,
		     (mode == UK_IPMSG_BR_EXIT ? mode : mode | UK_IPMSG_CAPUTF8OPT) | opts);
	write_str(&w, nick);
	uk_wire_write_u8(&w, 0);
	write_str(&w, group);
	uk_wire_write_u8(&w, 0);
	if (mode != UK_IPMSG_BR_EXIT) {
		write_str(&w, "\nUN:");
		write_str(&w, id->user);
		write_str(&w, "\nHN:");
		write_str(&w, id->host);
		write_str(&w, "\nNN:");
		write_str(&w, id->nick);
		write_str(&w, "\nGN:");
		write_str(&w, id->group);
	}
	return finish(&w);
}

int uk_ipmsg_build_sendmsg(void *out, size_t cap, const struct uk_ipmsg_ident *id,
			   uint64_t packet_no, const void *text, size_t len)
{
	struct uk_wire_writer w;

	if (len && memchr(text, 0, len))
		return UK_EPARSE;
	uk_wire_writer_init(&w, out, cap);
	write_header(&w, id, packet_no,
		     UK_IPMSG_SENDMSG | UK_IPMSG_SENDCHECKOPT | UK_IPMSG_UTF8OPT);
	if (len)
		uk_wire_write_bytes(&w, text, len);
	uk_wire_write_u8(&w, 0);
	return finish(&w);
}

int uk_ipmsg_build_recvmsg(void *out, size_t cap, const struct uk_ipmsg_ident *id,
			   uint64_t packet_no, uint64_t acked_no)
{
	struct uk_wire_writer w;

	uk_wire_writer_init(&w, out, cap);
	write_header(&w, id, packet_no, UK_IPMSG_RECVMSG);
	write_dec(&w, acked_no);
	uk_wire_write_u8(&w, 0);
	return finish(&w);
}

void uk_ipmsg_seq_init(struct uk_ipmsg_seq *s, uint64_t wall_ns, uint64_t floor)
{
	uint64_t t = wall_ns / 1000000000ull;

	s->last = t > floor ? t : floor;
	if (s->last >= UINT32_MAX)
		s->last = 0;
}

uint64_t uk_ipmsg_seq_next(struct uk_ipmsg_seq *s)
{
	return uk_ipmsg_seq_advance(s, 1);
}

uint64_t uk_ipmsg_seq_advance(struct uk_ipmsg_seq *s, uint32_t step)
{
	if (step == 0)
		step = 1;
	/* Past 2^32 - 1 start again low: peers reset what they remember of
	 * our numbers when we announce ourselves (docs/wire.md). */
	s->last = s->last >= (uint64_t)UINT32_MAX - step ? step : s->last + step;
	return s->last;
}
