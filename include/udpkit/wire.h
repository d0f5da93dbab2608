/* wire.h: a bounds-checked reader and writer for packet bytes, with
 * explicit (big-endian) byte order. Never cast a struct over a buffer.
 * Reading past the end sets a sticky error and yields zeros, so a parser
 * checks once at the end instead of after every field. */
#ifndef UDPKIT_WIRE_H
#define UDPKIT_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct uk_wire_reader {
	const unsigned char *p;
	size_t len;
	size_t off;
	bool err;
};

struct uk_wire_writer {
	unsigned char *p;
	size_t cap;
	size_t off;
	bool err;
};

static inline void uk_wire_reader_init(struct uk_wire_reader *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
	r->err = false;
}

static inline size_t uk_wire_reader_left(const struct uk_wire_reader *r)
{
	return r->err ? 0 : r->len - r->off;
}

uint8_t uk_wire_read_u8(struct uk_wire_reader *r);
uint16_t uk_wire_read_u16be(struct uk_wire_reader *r);
uint32_t uk_wire_read_u32be(struct uk_wire_reader *r);
uint64_t uk_wire_read_u64be(struct uk_wire_reader *r);
/* Points *out at the next n bytes (no copy); NULL and err when short. */
const unsigned char *uk_wire_read_bytes(struct uk_wire_reader *r, size_t n);

static inline void uk_wire_writer_init(struct uk_wire_writer *w, void *p, size_t cap)
{
	w->p = p;
	w->cap = cap;
	w->off = 0;
	w->err = false;
}

void uk_wire_write_u8(struct uk_wire_writer *w, uint8_t v);
void uk_wire_write_u16be(struct uk_wire_writer *w, uint16_t v);
void uk_wire_write_u32be(struct uk_wire_writer *w, uint32_t v);
void uk_wire_write_u64be(struct uk_wire_writer *w, uint64_t v);
void uk_wire_write_bytes(struct uk_wire_writer *w, const void *p, size_t n);

#endif
