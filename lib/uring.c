/* uring.c: io_uring plumbing shared by the echo worker and the load
 * generator (see include/udpkit/uring.h). */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "udpkit/uring.h"

int uk_uring_init(struct io_uring *ring, unsigned entries, const char **mode)
{
	struct io_uring_params p = {.flags = IORING_SETUP_SINGLE_ISSUER |
					     IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL};
	int rc = io_uring_queue_init_params(entries, ring, &p);

	*mode = "single issuer, deferred task work";
	if (rc == -EINVAL) {
		*mode = "plain";
		rc = io_uring_queue_init(entries, ring, 0);
	}
	return rc;
}

struct io_uring_sqe *uk_uring_sqe(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe) { /* the submission queue is full: hand it to the kernel */
		io_uring_submit(ring);
		sqe = io_uring_get_sqe(ring);
	}
	return sqe;
}

unsigned char *uk_bufring_buf(const struct uk_bufring *b, unsigned bid)
{
	return b->bufs + (size_t)bid * b->size;
}

/*
 * io_uring_buf_ring_add() and io_uring_buf_ring_advance() of liburing 2.3,
 * with the tail's 16-bit wrap made explicit: the tail is meant to wrap at
 * 65536, and the header's implicit int -> unsigned short conversion stops
 * the UBSan build (which checks implicit conversions) at the 65,536th
 * buffer handed back.
 */
void uk_bufring_give(struct uk_bufring *b, unsigned bid)
{
	io_uring_buf_ring_add(b->br, uk_bufring_buf(b, bid), (unsigned)b->size, (unsigned short)bid,
			      io_uring_buf_ring_mask(b->nbuf), 0);
	io_uring_smp_store_release(&b->br->tail, (unsigned short)(b->br->tail + 1));
}

int uk_bufring_init(struct uk_bufring *b, struct io_uring *ring, unsigned nbuf, size_t size,
		    unsigned short bgid)
{
	struct io_uring_buf_reg reg = {0};
	int rc;

	memset(b, 0, sizeof(*b));
	b->nbuf = nbuf;
	b->size = size;
	b->br = mmap(NULL, nbuf * sizeof(struct io_uring_buf), PROT_READ | PROT_WRITE,
		     MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (b->br == MAP_FAILED) {
		b->br = NULL;
		return -errno;
	}
	b->bufs = mmap(NULL, (size_t)nbuf * size, PROT_READ | PROT_WRITE,
		       MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (b->bufs == MAP_FAILED) {
		b->bufs = NULL;
		return -errno;
	}
	reg.ring_addr = (unsigned long)b->br;
	reg.ring_entries = nbuf;
	reg.bgid = bgid;
	rc = io_uring_register_buf_ring(ring, &reg, 0);
	if (rc < 0)
		return rc;
	io_uring_buf_ring_init(b->br);
	for (unsigned i = 0; i < nbuf; i++)
		uk_bufring_give(b, i);
	return 0;
}

void uk_bufring_free(struct uk_bufring *b)
{
	if (b->br)
		munmap(b->br, b->nbuf * sizeof(struct io_uring_buf));
	if (b->bufs)
		munmap(b->bufs, (size_t)b->nbuf * b->size);
	memset(b, 0, sizeof(*b));
}
