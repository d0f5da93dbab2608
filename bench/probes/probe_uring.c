/* probe_uring: the ceiling of the io_uring design, beside probe_mmsg: a
 * minimal UDP echo loop with one multishot recvmsg over a provided-buffer
 * ring, each reply a sendmsg SQE straight from the buffer it arrived in
 * (returned to the ring when the send completes), submitted in batches,
 * single issuer with deferred task work where the kernel has them. No
 * logging, no guard. Usage: probe_uring PORT (0 picks one); prints "bound
 * on 127.0.0.1 PORT" and "io: ..." on stderr. Loopback only. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#define NBUF 1024 /* a power of two, as the buffer ring requires */
#define BUF_SIZE 2048
#define BGID 1
#define RECV_TAG UINT64_MAX

struct pending_send {
	struct msghdr mh;
	struct iovec iov;
	struct sockaddr_in6 name;
};

static struct io_uring ring;
static struct io_uring_buf_ring *br;
static char *bufs;
static struct pending_send sends[NBUF];
static struct msghdr recv_mh = {.msg_namelen = sizeof(struct sockaddr_in6)};

static struct io_uring_sqe *sqe_get(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	if (!sqe) { /* the submission queue is full: hand it to the kernel */
		io_uring_submit(&ring);
		sqe = io_uring_get_sqe(&ring);
	}
	return sqe;
}

static void arm_recv(int fd)
{
	struct io_uring_sqe *sqe = sqe_get();
	io_uring_prep_recvmsg_multishot(sqe, fd, &recv_mh, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	io_uring_sqe_set_data64(sqe, RECV_TAG);
}

static void give_back(unsigned bid)
{
	io_uring_buf_ring_add(br, bufs + (size_t)bid * BUF_SIZE, BUF_SIZE, (unsigned short)bid,
			      NBUF - 1, 0);
	io_uring_buf_ring_advance(br, 1);
}

static void echo(int fd, struct io_uring_cqe *cqe)
{
	unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
	char *buf = bufs + (size_t)bid * BUF_SIZE;
	struct io_uring_recvmsg_out *o = io_uring_recvmsg_validate(buf, cqe->res, &recv_mh);
	struct pending_send *s = &sends[bid];
	if (!o || (o->flags & MSG_TRUNC)) {
		give_back(bid);
		return;
	}
	memcpy(&s->name, io_uring_recvmsg_name(o), o->namelen);
	s->iov.iov_base = io_uring_recvmsg_payload(o, &recv_mh);
	s->iov.iov_len = io_uring_recvmsg_payload_length(o, cqe->res, &recv_mh);
	s->mh = (struct msghdr){
	    .msg_name = &s->name, .msg_namelen = o->namelen, .msg_iov = &s->iov, .msg_iovlen = 1};
	struct io_uring_sqe *sqe = sqe_get();
	io_uring_prep_sendmsg(sqe, fd, &s->mh, 0);
	io_uring_sqe_set_data64(sqe, bid);
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	struct io_uring_params p = {.flags =
					IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN};
	const char *mode = "single issuer, deferred task work";
	int fd = socket(AF_INET, SOCK_DGRAM, 0), rc;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short)(argc > 1 ? atoi(argv[1]) : 0));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
		perror("probe_uring");
		return 1;
	}
	if ((rc = io_uring_queue_init_params(2048, &ring, &p)) == -EINVAL) {
		mode = "plain (the kernel lacks single issuer or deferred task work)";
		rc = io_uring_queue_init(2048, &ring, 0);
	}
	if (rc < 0 || posix_memalign((void **)&bufs, 4096, (size_t)NBUF * BUF_SIZE) != 0) {
		fprintf(stderr, "probe_uring: io_uring: %s\n", strerror(-rc));
		return 1;
	}
	/* liburing 2.3 (Debian 12) has no io_uring_setup_buf_ring(): map and
	 * register the ring ourselves. */
	br = mmap(NULL, NBUF * sizeof(struct io_uring_buf), PROT_READ | PROT_WRITE,
		  MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	struct io_uring_buf_reg reg = {
	    .ring_addr = (unsigned long)br, .ring_entries = NBUF, .bgid = BGID};
	if (br == MAP_FAILED || (rc = io_uring_register_buf_ring(&ring, &reg, 0)) < 0) {
		fprintf(stderr, "probe_uring: buffer ring: %s\n", strerror(rc < 0 ? -rc : errno));
		return 1;
	}
	io_uring_buf_ring_init(br);
	for (unsigned i = 0; i < NBUF; i++)
		give_back(i);
	fprintf(stderr, "io: io_uring, %s\nbound on 127.0.0.1 %u\n", mode, ntohs(sin.sin_port));
	arm_recv(fd);
	for (;;) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		io_uring_submit_and_wait(&ring, 1);
		io_uring_for_each_cqe(&ring, head, cqe)
		{
			seen++;
			if (cqe->user_data == RECV_TAG) {
				if (cqe->res > 0 && (cqe->flags & IORING_CQE_F_BUFFER))
					echo(fd, cqe);
				if (!(cqe->flags & IORING_CQE_F_MORE))
					arm_recv(fd); /* out of buffers, or an error: re-arm */
			} else {
				give_back((unsigned)cqe->user_data);
			}
		}
		io_uring_cq_advance(&ring, seen);
	}
}
