/* wire.c: the bounds-checked reader and writer (see include/udpkit/wire.h). */
#include <string.h>

#include "udpkit/wire.h"

const unsigned char *uk_wire_read_bytes(struct uk_wire_reader *r, size_t n)
{
	const unsigned char *p;

	if (r->err || n > r->len - r->off) {
		r->err = true;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

static uint64_t read_be(struct uk_wire_reader *r, size_t n)
{
	const unsigned char *p = uk_wire_read_bytes(r, n);
	uint64_t v = 0;

	if (!p)
		return 0;
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

uint8_t uk_wire_read_u8(struct uk_wire_reader *r)
{
	return (uint8_t)read_be(r, 1);
}
uint16_t uk_wire_read_u16be(struct uk_wire_reader *r)
{
	return (uint16_t)read_be(r, 2);
}
uint32_t uk_wire_read_u32be(struct uk_wire_reader *r)
{
	return (uint32_t)read_be(r, 4);
}
uint64_t uk_wire_read_u64be(struct uk_wire_reader *r)
{
	return read_be(r, 8);
}

void uk_wire_write_bytes(struct uk_wire_writer *w, const void *p, size_t n)
{
	if (w->err || n > w->cap - w->off) {
		w->err = true;
		return;
	}
	memcpy(w->p + w->off, p, n);
	w->off += n;
}

static void write_be(struct uk_wire_writer *w, uint64_t v, size_t n)
{
	unsigned char b[8];
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)(v >> (8 * (n - 1 - i)));
	uk_wire_write_bytes(w, b, n);
}

void uk_wire_write_u8(struct uk_wire_writer *w, uint8_t v)
{
	write_be(w, v, 1);
}
void uk_wire_write_u16be(struct uk_wire_writer *w, uint16_t v)
{
	write_be(w, v, 2);
}
void uk_wire_write_u32be(struct uk_wire_writer *w, uint32_t v)
{
	write_be(w, v, 4);
}
void uk_wire_write_u64be(struct uk_wire_writer *w, uint64_t v)
{
	write_be(w, v, 8);
}
