/* probe.c: probe datagrams and the sockperf header (docs/wire.md). */
#include <string.h>

#include "udpkit/err.h"
#include "udpkit/probe.h"
#include "udpkit/wire.h"

#define MAGIC "UK"
#define SEQ_MASK ((1ull << UK_PROBE_SEQ_BITS) - 1)

bool uk_sockperf_make_reply(unsigned char *buf, size_t len)
{
	struct uk_wire_reader r;
	uint16_t flags;
	uint32_t msg_len;

	uk_wire_reader_init(&r, buf, len);
	(void)uk_wire_read_u64be(&r);
	flags = uk_wire_read_u16be(&r);
	msg_len = uk_wire_read_u32be(&r);
	if (r.err || !(flags & UK_SOCKPERF_PONG_REQUEST) || msg_len != len)
		return false;
	flags &= (uint16_t)~UK_SOCKPERF_CLIENT;
	buf[8] = (unsigned char)(flags >> 8);
	buf[9] = (unsigned char)flags;
	return true;
}

int uk_probe_init(struct uk_probe_fmt *f, size_t size, uint64_t seed)
{
	static const char alphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

	if (size < UK_PROBE_MIN_SIZE || size > 65507)
		return UK_ERANGE_;
	f->size = size;
	for (size_t i = 0; i < UK_PROBE_TOKEN_LEN; i++) {
		/* splitmix64 steps: any seed gives a well-mixed token. */
		seed += 0x9e3779b97f4a7c15ull;
		uint64_t z = seed;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
		f->token[i] = alphabet[z % (sizeof(alphabet) - 1)];
	}
	return 0;
}

bool uk_probe_is_ascii(const struct uk_probe_fmt *f)
{
	uint32_t len = (uint32_t)f->size;
	for (int shift = 0; shift < 32; shift += 8)
		if ((len >> shift) & 0x80)
			return false;
	return true;
}

void uk_probe_build(const struct uk_probe_fmt *f, uint64_t seq, unsigned char *out)
{
	struct uk_wire_writer w;
	uint64_t s = seq & SEQ_MASK;

	uk_wire_writer_init(&w, out, f->size);
	/* The sequence number in 7-bit groups, most significant first. */
	for (int i = 7; i >= 0; i--)
		uk_wire_write_u8(&w, (uint8_t)((s >> (7 * i)) & 0x7f));
	uk_wire_write_u16be(&w, UK_SOCKPERF_CLIENT | UK_SOCKPERF_PONG_REQUEST);
	uk_wire_write_u32be(&w, (uint32_t)f->size);
	uk_wire_write_bytes(&w, MAGIC, 2);
	uk_wire_write_bytes(&w, f->token, UK_PROBE_TOKEN_LEN);
	while (w.off < f->size)
		uk_wire_write_u8(&w, (uint8_t)('a' + w.off % 26));
}

void uk_probe_set_seq(uint64_t seq, unsigned char *out)
{
	uint64_t s = seq & SEQ_MASK;
	for (int i = 7; i >= 0; i--, s >>= 7)
		out[i] = (unsigned char)(s & 0x7f);
}

int uk_probe_match(const struct uk_probe_fmt *f, const unsigned char *tmpl,
		   const unsigned char *reply, size_t len, uint64_t *seq)
{
	uint64_t s = 0;

	if (len < f->size)
		return UK_EPARSE;
	reply += len - f->size;
	for (int i = 0; i < 8; i++) {
		if (reply[i] & 0x80)
			return UK_EPARSE;
		s = (s << 7) | reply[i];
	}
	/* Byte 9 holds the CLIENT flag, which a server may clear; everything
	 * after it is the same in every probe of a run. */
	if (reply[8] != tmpl[8] || (reply[9] | UK_SOCKPERF_CLIENT) != tmpl[9] ||
	    memcmp(reply + 10, tmpl + 10, f->size - 10) != 0)
		return UK_EPARSE;
	*seq = s;
	return 0;
}

int uk_probe_parse(const struct uk_probe_fmt *f, const unsigned char *reply, size_t len,
		   uint64_t *seq)
{
	struct uk_wire_reader r;
	uint64_t s = 0;
	uint16_t flags;
	const unsigned char *magic, *token;

	if (len < f->size)
		return UK_EPARSE;
	uk_wire_reader_init(&r, reply + (len - f->size), f->size);
	for (int i = 0; i < 8; i++) {
		uint8_t b = uk_wire_read_u8(&r);
		if (b & 0x80)
			return UK_EPARSE;
		s = (s << 7) | b;
	}
	flags = uk_wire_read_u16be(&r);
	if (uk_wire_read_u32be(&r) != f->size ||
	    (flags & ~UK_SOCKPERF_CLIENT) != UK_SOCKPERF_PONG_REQUEST)
		return UK_EPARSE;
	magic = uk_wire_read_bytes(&r, 2);
	token = uk_wire_read_bytes(&r, UK_PROBE_TOKEN_LEN);
	if (r.err || memcmp(magic, MAGIC, 2) != 0 ||
	    memcmp(token, f->token, UK_PROBE_TOKEN_LEN) != 0)
		return UK_EPARSE;
	/* The padding too: a reply with damaged bytes is not a good reply. */
	while (uk_wire_reader_left(&r)) {
		size_t at = r.off;
		if (uk_wire_read_u8(&r) != (uint8_t)('a' + at % 26))
			return UK_EPARSE;
	}
	*seq = s;
	return 0;
}

int uk_probe_parse_cut(const struct uk_probe_fmt *f, const unsigned char *reply, size_t len,
		       uint64_t *seq)
{
	if (len < UK_PROBE_MIN_SIZE)
		return UK_EPARSE;
	/* A stamping server put a prefix of unknown length in front: look for
	 * the probe's header at each offset, then check what is left of it. */
	for (size_t at = 0; at + UK_PROBE_MIN_SIZE <= len; at++) {
		struct uk_wire_reader r;
		uint64_t s = 0;
		bool ok = true;

		if (len - at >= f->size || /* a whole probe there: not a cut one */
		    memcmp(reply + at + UK_SOCKPERF_HEADER, MAGIC, 2) != 0 ||
		    memcmp(reply + at + UK_SOCKPERF_HEADER + 2, f->token, UK_PROBE_TOKEN_LEN) != 0)
			continue;
		uk_wire_reader_init(&r, reply + at, len - at);
		for (int i = 0; i < 8 && ok; i++) {
			uint8_t b = uk_wire_read_u8(&r);
			ok = !(b & 0x80);
			s = (s << 7) | b;
		}
		if (!ok ||
		    (uk_wire_read_u16be(&r) & ~UK_SOCKPERF_CLIENT) != UK_SOCKPERF_PONG_REQUEST ||
		    uk_wire_read_u32be(&r) != f->size)
			continue;
		uk_wire_read_bytes(&r, 2 + UK_PROBE_TOKEN_LEN);
		while (ok && uk_wire_reader_left(&r)) {
			size_t off = r.off;
			ok = uk_wire_read_u8(&r) == (uint8_t)('a' + off % 26);
		}
		if (ok && !r.err) {
			*seq = s;
			return 0;
		}
	}
	return UK_EPARSE;
}

uint64_t uk_probe_unwrap(uint64_t seq56, uint64_t reference)
{
	uint64_t base = reference & ~SEQ_MASK;
	uint64_t candidate = base | (seq56 & SEQ_MASK);
	/* A reply can only be for a number already sent, i.e. <= reference. */
	if (candidate > reference && base > 0)
		candidate -= 1ull << UK_PROBE_SEQ_BITS;
	return candidate;
}
