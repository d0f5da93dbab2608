/* Fuzz target: uk_echo_uring_slot(), which turns one multishot recvmsg
 * completion (a provided buffer holding io_uring_recvmsg_out, the sender's
 * address, control data and the payload, and the completion's length)
 * into a batch slot. The kernel writes that layout, but the payload and
 * the peer's address are the network's, and a wrong length must never make
 * a slot point outside its buffer.
 *
 * Input: byte 0 = control room (bit 0: 128 bytes, else 0), byte 1 =
 * max_size - 1 (1..256), bytes 2-3 = res (little-endian, may exceed the
 * buffer), the rest = the buffer's bytes (header first).
 * Checked: an accepted slot's data and len lie inside the buffer, len <=
 * max_size, a slot not truncated has len == wire_len, the stamp's room in
 * front of the data is there, and the peer's length fits its storage;
 * for a UDP_GRO receive (a segment size in the control data), every
 * datagram uk_batch_segment() cuts from it lies inside the slot's data,
 * none longer than the segment size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "udpkit/echo.h"

#define BUF 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static _Alignas(16) unsigned char buf[BUF];
	struct uk_batch_slot s;
	size_t controllen, max_size, n;
	int res;

	if (size < 4)
		return 0;
	controllen = (data[0] & 1) ? 128 : 0;
	max_size = (size_t)data[1] + 1;
	res = data[2] | data[3] << 8;
	n = size - 4 < BUF ? size - 4 : BUF;
	memset(buf, 0, sizeof(buf));
	memcpy(buf, data + 4, n);
	/* The kernel never reports more than the buffer holds. */
	if ((size_t)res > n)
		res = (int)n;
	if (!uk_echo_uring_slot(&s, buf, res, UK_ECHO_URING_NAME_ROOM, controllen, max_size))
		return 0;
	if (s.data < buf + UK_ECHO_STAMP_LEN || s.data + s.len > buf + res)
		abort();
	if (s.len > max_size || (!s.truncated && s.len != s.wire_len))
		abort();
	if (s.peer.len > sizeof(s.peer.u))
		abort();
	size_t k = uk_batch_nsegments(s.len, s.gso_size), at = 0;
	for (size_t i = 0; i < k; i++) {
		struct uk_batch_slot seg;
		uk_batch_segment(&seg, &s, i);
		if (seg.data < s.data || seg.data + seg.len > s.data + s.len ||
		    (s.gso_size && seg.len > s.gso_size) ||
		    (!seg.truncated && seg.len != seg.wire_len))
			abort();
		at += seg.len;
	}
	if (at > s.len)
		abort();
	return 0;
}
