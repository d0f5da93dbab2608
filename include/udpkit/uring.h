/* uring.h: the io_uring plumbing that the echo worker's backend
 * (lib/echo_uring.c) and the load generator (cmd/bench) share: a ring set
 * up the way both were measured best, an SQE that is never NULL while the
 * kernel takes submissions, and a ring of provided buffers (liburing 2.3,
 * Debian 12's, has no io_uring_setup_buf_ring()). */
#ifndef UDPKIT_URING_H
#define UDPKIT_URING_H

#include <liburing.h>
#include <stddef.h>

/* A ring of entries SQEs, single issuer with deferred task work where the
 * kernel has them (6.1+): completions are processed only when asked for,
 * with no task-work interrupts in between; else a plain ring. *mode says
 * which. 0 or -errno. */
int uk_uring_init(struct io_uring *ring, unsigned entries, const char **mode);

/* The next SQE; when the submission queue is full, what is in it is
 * submitted first. */
struct io_uring_sqe *uk_uring_sqe(struct io_uring *ring);

/* nbuf (a power of two) buffers of size bytes each, registered as
 * buffer group bgid. Only the pages the kernel writes become resident. */
struct uk_bufring {
	struct io_uring_buf_ring *br;
	unsigned char *bufs;
	size_t size;
	unsigned nbuf;
};

/* Maps and registers the ring and its buffers, every one given to the
 * kernel. 0 or -errno (then uk_bufring_free() frees what was made). */
int uk_bufring_init(struct uk_bufring *b, struct io_uring *ring, unsigned nbuf, size_t size,
		    unsigned short bgid);

/* Buffer bid's memory. */
unsigned char *uk_bufring_buf(const struct uk_bufring *b, unsigned bid);

/* Hands buffer bid back to the kernel. */
void uk_bufring_give(struct uk_bufring *b, unsigned bid);

/* Unmaps (the ring's registration ends with the ring). */
void uk_bufring_free(struct uk_bufring *b);

#endif
