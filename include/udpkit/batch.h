/* batch.h: many datagrams per system call (recvmmsg/sendmmsg).
 * Each slot's buffer has UK_BATCH_HEADROOM bytes in front of the data, so a
 * reply can prepend a fixed prefix (the echo server's time stamp) without
 * copying the payload. */
#ifndef UDPKIT_BATCH_H
#define UDPKIT_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "udpkit/sock.h"

#define UK_BATCH_HEADROOM 64
#define UK_BATCH_MAX 64

struct uk_batch_slot {
	unsigned char *data; /* received bytes start here */
	size_t len;	     /* bytes in data (at most the slot size) */
	size_t wire_len;     /* the datagram's real size */
	bool truncated;
	struct uk_addr peer;
	struct uk_addr dst; /* destination (pktinfo), when has_dst */
	int ifindex;
	bool has_dst;
	/* UDP_GRO: the receive coalesced datagrams of gso_size bytes (the
	 * last maybe shorter); 0 for one datagram. See uk_batch_segments(). */
	size_t gso_size;
	/* What to send back: set by the caller before uk_batch_send(). */
	const unsigned char *out;
	size_t out_len;
	bool send;
	bool gso_rider; /* uk_batch_send(): in another slot's GSO send */
};

struct uk_batch {
	size_t count;	   /* slots */
	size_t slot_bytes; /* payload room per slot */
	struct uk_batch_slot *slots;
	struct mmsghdr *msgs;
	struct iovec *iovs;
	unsigned char *control; /* count * UK_PKTINFO_SPACE*2 */
	unsigned char *memory;	/* the buffers, one allocation */
	bool recv_ready;	/* msgs hold receive headers (not a send's) */
};

/* Allocates count slots (1..UK_BATCH_MAX) of slot_bytes each.
 * Returns 0 or -ENOMEM; on failure nothing is left allocated. */
int uk_batch_init(struct uk_batch *b, size_t count, size_t slot_bytes);
void uk_batch_free(struct uk_batch *b);

/* Points every slot back at the batch's own memory (after a user pointed
 * them elsewhere, as the io_uring worker does at its provided buffers). */
void uk_batch_home(struct uk_batch *b);

/* Receives up to count datagrams without blocking past the first
 * (MSG_WAITFORONE). Returns how many (>= 1), -EAGAIN or -errno. */
int uk_batch_recv(int fd, struct uk_batch *b);

/* Receives one datagram into slot 0, blocking: the cheapest call when
 * traffic is sparse (recvfrom, or recvmsg when pktinfo is wanted).
 * Returns 1, -EAGAIN or -errno. */
int uk_batch_recv_one(int fd, struct uk_batch *b, bool with_pktinfo);

/* Receives one datagram into slot i with recvmsg: its destination
 * (pktinfo, when asked for on the socket) and, on a socket with UDP_GRO on,
 * its segment size (slot gso_size: a coalesced receive). flags is 0 to
 * block or MSG_DONTWAIT. Returns 1, -EAGAIN or -errno. */
int uk_batch_recv_msg(int fd, struct uk_batch *b, size_t i, int flags);

/* Points slots 0..m-1 at segments first..first+m-1 of the coalesced
 * receive in *whole (its data, len bytes, cut every gso_size bytes; whole
 * may be one of b's slots: it is read before any slot is written), each a
 * datagram from whole's peer to its destination; m is at most b->count.
 * Returns m (0 when first is past the end). uk_batch_home() points the
 * slots back at their own memory. */
int uk_batch_segments(struct uk_batch *b, const struct uk_batch_slot *whole, size_t first);

/* Datagrams in a receive of len bytes cut every seg bytes (1 when seg is
 * 0 or len fits in one). */
size_t uk_batch_nsegments(size_t len, size_t seg);

/* Fills s with datagram i (< uk_batch_nsegments()) of the coalesced
 * receive *whole (a copy of it when whole->gso_size is 0). */
void uk_batch_segment(struct uk_batch_slot *s, const struct uk_batch_slot *whole, size_t i);

/* UDP GSO sends (uk_batch_send with gso): segments no larger than fit a
 * 1500-byte MTU (IPv6), so that any usual path takes them; at most 64 a
 * send (the kernel's UDP_MAX_SEGMENTS on older kernels), within one IPv4
 * datagram's payload. */
#define UK_BATCH_GSO_SEG_MAX 1452
#define UK_BATCH_GSO_MAX 64
#define UK_BATCH_GSO_BYTES 65507

/* Sends every slot among the first n whose send flag is set, to its peer,
 * from its dst when use_pktinfo. With gso non-NULL and *gso, a run of
 * replies to one peer from one source with equal sizes leaves as one
 * UDP_SEGMENT send; a path that refuses GSO clears *gso (that run is
 * lost, as a refused datagram is). Returns datagrams sent or -errno (when
 * not even one could be sent). A datagram the kernel refuses is skipped. */
int uk_batch_send(int fd, struct uk_batch *b, int n, bool use_pktinfo, bool *gso);

#endif
