/* echo_uring.c: the echo worker's io_uring backend (see include/udpkit/echo.h).
 * One multishot recvmsg fills a ring of provided buffers; each completion
 * becomes a batch slot pointing into its buffer, uk_echo_process() decides
 * (the same code as the recvmmsg backend), and each reply is a sendmsg SQE
 * straight from that buffer (a peer's equal-sized replies in a batch: one
 * UDP GSO sendmsg over their buffers), which goes back to the ring once
 * the io_uring_enter() that submitted it returns (MSG_DONTWAIT: the send
 * is done by then). The stamp is written in front of the payload, over the
 * recvmsg header and the sender's address (copied out first), so no
 * payload is copied in any mode. Replies are submitted once per batch, in
 * the same io_uring_enter() that waits for the next datagrams. Measured
 * against the recvmmsg backend and the limit probes in bench/README.md. */
#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "udpkit/echo.h"
#include "udpkit/uring.h"

#define BGID 1
#define RECV_TAG UINT64_MAX
#define WAKE_TAG (UINT64_MAX - 1)
#define CANCEL_TAG (UINT64_MAX - 2)
#define NAME_ROOM ((size_t)UK_ECHO_URING_NAME_ROOM)
#define CONTROL_ROOM ((size_t)UK_PKTINFO_SPACE * 2)
/* Buffers in the ring: as many as fit in BUF_BUDGET (a power of two, as
 * the ring requires), between NBUF_MIN and NBUF_MAX. Only the pages the
 * kernel writes become resident: a small datagram touches one page, a
 * UDP_GRO receive of a 64-datagram burst two. With the default --max-size
 * that is 32 buffers: a burst takes one with UDP_GRO, and a client without
 * GSO that has more in flight waits in the socket's queue until the ring
 * has buffers again. 64 buffers made echo's peak RSS 4.3 MB under GSO
 * bursts (32: 4.0 MB) for the same CPU per echo (bench/README.md). */
#define BUF_BUDGET (4u << 20)
#define NBUF_MIN 32u
#define NBUF_MAX 1024u

/* One send queued (a reply, or a GSO run of them), kept until the
 * io_uring_enter() that submits it has copied it. What a failure needs
 * (replies and bytes) travels in the SQE's user_data (send_tag()). */
struct pending {
	struct msghdr mh;
	struct iovec iov;
	struct uk_addr peer;
	unsigned char control[CONTROL_ROOM + 32]; /* pktinfo, UDP_SEGMENT */
};

/* A send's user_data: SEND_BIT, its replies << 32, its bytes; the tags
 * (RECV_TAG and the others, near UINT64_MAX) never have bit 62 alone. */
#define SEND_BIT (1ull << 62)
static uint64_t send_tag(unsigned segs, size_t bytes)
{
	return SEND_BIT | (uint64_t)segs << 32 | (uint32_t)bytes;
}
static bool is_send(uint64_t tag)
{
	return tag >> 62 == 1;
}

struct uk_echo_uring {
	struct io_uring ring;
	bool ring_up;
	struct uk_bufring bufs;
	size_t controllen;
	unsigned nbuf, free_bufs;
	/* Buffers whose replies were queued (one entry per reply): back to
	 * the ring once the next io_uring_enter() has sent them. */
	unsigned short *queued;
	unsigned nqueued;
	struct iovec *iovs; /* GSO sends' iovecs, until the next enter */
	unsigned niovs;
	bool gso;
	struct pending *sends; /* the sends queued since the last enter */
	unsigned nsends;
	unsigned cap; /* entries in queued, iovs and sends */
	/* Slots still using each buffer: more than one when a UDP_GRO
	 * receive brought several datagrams in it. */
	unsigned short *refs;
	struct msghdr recv_mh; /* the multishot recvmsg's layout */
	unsigned short bids[UK_BATCH_MAX];
	const char *mode;
	int wake_fd;
	eventfd_t wake_value;
	/* Sparse traffic: turns of the loop in a row that brought exactly one
	 * datagram; the receive is being cancelled to serve it with
	 * recvfrom/sendto (see uk_echo_uring_run). */
	unsigned ones;
	bool leaving;
};

/* Turns in a row with one datagram each after which the worker serves
 * with recvfrom/sendto: a ping-pong peer (one datagram in flight). */
#define SPARSE_TURNS 8

size_t uk_echo_uring_headroom(size_t controllen)
{
	return sizeof(struct io_uring_recvmsg_out) + NAME_ROOM + controllen;
}

bool uk_echo_uring_slot(struct uk_batch_slot *s, unsigned char *buf, int res, size_t namelen,
			size_t controllen, size_t max_size)
{
	struct io_uring_recvmsg_out o;
	size_t head = sizeof(o) + namelen + controllen, in_buf;
	struct msghdr m = {0};

	if (res < 0 || (size_t)res < head || (sizeof(o) + namelen) % _Alignof(struct cmsghdr) != 0)
		return false;
	memcpy(&o, buf, sizeof(o));
	if (o.namelen > sizeof(s->peer.u) || o.controllen > controllen)
		return false;
	in_buf = (size_t)res - head;
	/* With MSG_TRUNC the kernel reports the datagram's real size. */
	s->wire_len = o.payloadlen;
	s->truncated = (o.flags & MSG_TRUNC) || o.payloadlen > max_size || in_buf < o.payloadlen;
	s->len = in_buf < max_size ? in_buf : max_size;
	if (!s->truncated)
		s->len = o.payloadlen;
	s->data = buf + head;
	memset(&s->peer, 0, sizeof(s->peer));
	memcpy(&s->peer.u, buf + sizeof(o), o.namelen < namelen ? o.namelen : namelen);
	s->peer.len = o.namelen;
	m.msg_control = buf + sizeof(o) + namelen;
	m.msg_controllen = o.controllen;
	s->has_dst = o.controllen > 0 && uk_sock_pktinfo_parse(&m, &s->dst, &s->ifindex, 0);
	s->gso_size = o.controllen > 0 ? uk_sock_gro_parse(&m) : 0;
	s->send = false;
	s->gso_rider = false;
	return true;
}

static void give_back(struct uk_echo_uring *u, unsigned bid)
{
	uk_bufring_give(&u->bufs, bid);
	u->free_bufs++;
}

/* A slot is done with buffer bid: the buffer goes back to the ring when
 * no other slot (a datagram of the same UDP_GRO receive) uses it. */
static void release(struct uk_echo_uring *u, unsigned bid)
{
	if (u->refs[bid] > 1) {
		u->refs[bid]--;
		return;
	}
	u->refs[bid] = 0;
	give_back(u, bid);
}

static void arm_recv(struct uk_echo_uring *u)
{
	struct io_uring_sqe *sqe = uk_uring_sqe(&u->ring);

	/* The socket is registered file 0. MSG_TRUNC: payloadlen is the
	 * datagram's real size, so a cut one is detected. */
	io_uring_prep_recvmsg_multishot(sqe, 0, &u->recv_mh, MSG_TRUNC);
	sqe->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	io_uring_sqe_set_data64(sqe, RECV_TAG);
}

/* The provided buffers, and the arrays sized by their number. */
static int buffers_init(struct uk_echo_uring *u, size_t max_size)
{
	size_t size = (uk_echo_uring_headroom(u->controllen) + max_size + 63) & ~(size_t)63;
	int rc;

	u->nbuf = NBUF_MAX;
	while (u->nbuf > NBUF_MIN && (size_t)u->nbuf * size > BUF_BUDGET)
		u->nbuf /= 2;
	/* Room for a turn's replies; a turn with more (UDP_GRO receives of
	 * many datagrams) sends what is queued between two batches. */
	u->cap = u->nbuf + UK_BATCH_MAX;
	u->sends = calloc(u->cap, sizeof(*u->sends));
	u->queued = calloc(u->cap, sizeof(*u->queued));
	u->iovs = calloc(u->cap, sizeof(*u->iovs));
	u->refs = calloc(u->nbuf, sizeof(*u->refs));
	if (!u->sends || !u->queued || !u->iovs || !u->refs)
		return -ENOMEM;
	rc = uk_bufring_init(&u->bufs, &u->ring, u->nbuf, size, BGID);
	u->free_bufs = rc < 0 ? 0 : u->nbuf;
	return rc;
}

void uk_echo_uring_free(struct uk_echo_uring *u)
{
	if (!u)
		return;
	if (u->ring_up)
		io_uring_queue_exit(&u->ring);
	if (u->wake_fd >= 0)
		close(u->wake_fd);
	uk_bufring_free(&u->bufs);
	free(u->sends);
	free(u->queued);
	free(u->iovs);
	free(u->refs);
	free(u);
}

int uk_echo_uring_init(struct uk_echo_uring **out, struct uk_echo_worker *w)
{
	struct uk_echo_uring *u = calloc(1, sizeof(*u));
	int rc;

	*out = NULL;
	if (!u)
		return -ENOMEM;
	u->wake_fd = -1;
	/* UDP_GRO where every reply is built in place, as long as the
	 * request (so the datagrams of a receive do not overlap), and a
	 * buffer holds the largest coalesced receive. */
	bool gro =
	    w->cfg.gro && w->cfg.mode != UK_ECHO_STAMP && w->cfg.max_size >= UK_ECHO_MAX_DATAGRAM;
	u->controllen = w->cfg.use_pktinfo || gro ? CONTROL_ROOM : 0;
	/* Sized for one send per buffer plus the receive: never full. */
	rc = uk_uring_init(&u->ring, NBUF_MAX, &u->mode);
	if (rc < 0)
		goto fail;
	u->ring_up = true;
	rc = io_uring_register_files(&u->ring, &w->fd, 1);
	if (rc < 0)
		goto fail;
	(void)io_uring_register_ring_fd(&u->ring); /* saves an fd lookup per call; optional */
	rc = buffers_init(u, w->cfg.max_size);
	if (rc < 0)
		goto fail;
	u->gso = w->cfg.gso;
	u->recv_mh.msg_namelen = NAME_ROOM;
	u->recv_mh.msg_controllen = u->controllen;
	u->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (u->wake_fd < 0) {
		rc = -errno;
		goto fail;
	}
	/* Last: a failure above leaves the socket as it was, for the
	 * recvmmsg worker (which reads without UDP_GRO). */
	w->gro = gro && uk_sock_set_gro(w->fd, true) == 0;
	*out = u;
	return 0;
fail:
	uk_echo_uring_free(u);
	return rc;
}

/* Replies one sendmsg may carry as UDP_SEGMENT (GSO) segments: the
 * kernel's limit (UDP_MAX_SEGMENTS) is 64 on older kernels. */
#define GSO_MAX 64
/* Room for the whole sendmsg payload: an IPv4 datagram's. */
#define GSO_BYTES 65507
/* Segments no larger than fit a 1500-byte MTU (IPv6), so that any usual
 * path takes them; larger replies go one by one. */
#define GSO_SEG_MAX 1452

/* Whether slot b's reply can ride in the same GSO send as slot a's: same
 * peer, same source, same size. */
static bool same_flow(const struct uk_batch_slot *a, const struct uk_batch_slot *b)
{
	return b->send && a->out_len == b->out_len && a->has_dst == b->has_dst &&
	       uk_addr_equal(&a->peer, &b->peer) &&
	       (!a->has_dst || uk_addr_equal(&a->dst, &b->dst));
}

/* One sendmsg SQE for the replies of slots first..first+k-1 (k > 1: one
 * GSO send, each reply a segment of out_len bytes). */
static void queue_send(struct uk_echo_uring *u, struct uk_echo_worker *w, int first, int k)
{
	struct uk_batch_slot *s = &w->batch.slots[first];
	struct pending *p = &u->sends[u->nsends++];
	struct io_uring_sqe *sqe;
	size_t ctl = 0, bytes = s->out_len * (size_t)k;

	p->peer = s->peer;
	p->mh = (struct msghdr){.msg_name = &p->peer.u, .msg_namelen = p->peer.len};
	if (k == 1) {
		p->iov.iov_base = (void *)s->out;
		p->iov.iov_len = s->out_len;
		p->mh.msg_iov = &p->iov;
	} else {
		/* The segments' iovecs come from a pool used until the next
		 * io_uring_enter(), which copies them. */
		p->mh.msg_iov = u->iovs + u->niovs;
		for (int i = first; i < first + k; i++) {
			u->iovs[u->niovs].iov_base = (void *)w->batch.slots[i].out;
			u->iovs[u->niovs++].iov_len = w->batch.slots[i].out_len;
		}
	}
	p->mh.msg_iovlen = (size_t)k;
	if (w->cfg.use_pktinfo && s->has_dst)
		ctl = uk_sock_pktinfo_cmsg(p->control, sizeof(p->control), &s->dst, s->ifindex);
	if (k > 1)
		ctl = uk_sock_segment_cmsg(p->control, ctl, (uint16_t)s->out_len);
	p->mh.msg_control = ctl ? p->control : NULL;
	p->mh.msg_controllen = ctl;
	sqe = uk_uring_sqe(&u->ring);
	/* MSG_DONTWAIT: the send is done (or failed with EAGAIN, not parked
	 * in the kernel) when io_uring_enter() returns, so the buffers can go
	 * back then; success posts no completion. */
	io_uring_prep_sendmsg(sqe, 0, &p->mh, MSG_DONTWAIT);
	sqe->flags |= IOSQE_FIXED_FILE | IOSQE_CQE_SKIP_SUCCESS;
	io_uring_sqe_set_data64(sqe, send_tag((unsigned)k, bytes));
	for (int i = first; i < first + k; i++)
		u->queued[u->nqueued++] = u->bids[i];
	w->stats.replies += (uint64_t)k;
	w->stats.reply_bytes += bytes;
}

/* Queues the replies uk_echo_process() decided for the n slots, from
 * their buffers; the others go back to the ring once logged. Runs of
 * replies to one peer with equal sizes (a client's burst) go as one GSO
 * send when u->gso. */
static void queue_replies(struct uk_echo_uring *u, struct uk_echo_worker *w, int n)
{
	for (int i = 0; i < n;) {
		struct uk_batch_slot *s = &w->batch.slots[i];
		int k = 1;
		if (!s->send) {
			i++;
			continue;
		}
		if (u->gso && s->out_len > 0 && s->out_len <= GSO_SEG_MAX)
			while (i + k < n && k < GSO_MAX &&
			       s->out_len * (size_t)(k + 1) <= GSO_BYTES &&
			       same_flow(s, &w->batch.slots[i + k]))
				k++;
		queue_send(u, w, i, k);
		i += k;
	}
}

/* After an io_uring_enter() that submitted them: the queued replies are
 * sent, their buffers go back to the ring. */
static void requeue(struct uk_echo_uring *u)
{
	for (unsigned i = 0; i < u->nqueued; i++)
		release(u, u->queued[i]);
	u->nqueued = 0;
	u->niovs = 0;
	u->nsends = 0;
}

/* One batch of n received slots: decide, send the held replies that are
 * due, queue and submit the replies, log, return unanswered buffers. */
static void serve_batch(struct uk_echo_uring *u, struct uk_echo_worker *w, int n, uint64_t *next_ns)
{

	/* A turn with more replies than there is room for (UDP_GRO receives
	 * of many datagrams): what is queued goes out first. */
	if (u->nqueued + (unsigned)n > u->cap || u->niovs + (unsigned)n > u->cap ||
	    u->nsends + (unsigned)n > u->cap) {
		io_uring_submit(&u->ring);
		requeue(u);
	}
	w->pressure = n == (int)w->batch.count && uk_echo_backlogged(w->fd);
	uk_echo_process(w, n, uk_now_coarse_ns(), uk_echo_wall_s(w));
	if (w->held_count)
		uk_echo_send_held(w, uk_now_coarse_ns(), next_ns);
	queue_replies(u, w, n);
	if (w->cfg.on_batch) {
		/* Out before the log: a reply's buffer returns to the ring only
		 * when we reap its completion, after the log has read it. */
		io_uring_submit(&u->ring);
		w->cfg.on_batch(w->user, &w->batch, n, w->outcomes, w->verdicts);
	}
	for (int i = 0; i < n; i++)
		if (!w->batch.slots[i].send)
			release(u, u->bids[i]);
}

/* A send failed (success posts nothing): its replies were counted as
 * sent. Its pending entry is intact until its buffer is used again. A GSO
 * send the path refuses (a device without UDP segmentation or checksum
 * offload: EIO; segments larger than the path's MTU: EINVAL) turns GSO
 * off for this worker; those replies are lost, as a failed send's are. */
static void send_failed(struct uk_echo_uring *u, struct uk_echo_worker *w,
			const struct io_uring_cqe *cqe)
{
	unsigned segs = (unsigned)(cqe->user_data >> 32) & 0xffffu;
	uint32_t bytes = (uint32_t)cqe->user_data;

	/* Only a send carries send_tag(); the tags (a cancel's completion
	 * among them) are handled by the callers, never here. */
	if (!is_send(cqe->user_data))
		return;
	w->stats.replies -= segs;
	w->stats.reply_bytes -= bytes;
	w->stats.send_failed += segs;
	if (segs > 1 && (cqe->res == -EIO || cqe->res == -EINVAL || cqe->res == -EMSGSIZE))
		u->gso = false;
}

/* Stopping: the queued replies go out, failures are counted. */
static void drain(struct uk_echo_uring *u, struct uk_echo_worker *w)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;

	io_uring_submit(&u->ring);
	(void)io_uring_get_events(&u->ring);
	io_uring_for_each_cqe(&u->ring, head, cqe)
	{
		seen++;
		if (cqe->user_data != RECV_TAG && cqe->user_data != WAKE_TAG &&
		    cqe->user_data != CANCEL_TAG)
			send_failed(u, w, cqe);
	}
	io_uring_cq_advance(&u->ring, seen);
	requeue(u);
}

/* Waits for completions (submitting what is queued), no longer than until
 * next_ns when replies are held, or poll_ms when given. */
static int wait_cqes(struct uk_echo_uring *u, uint64_t next_ns, int poll_ms)
{
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts;
	uint64_t left;
	int rc;

	if (!next_ns && poll_ms <= 0)
		return io_uring_submit_and_wait(&u->ring, 1);
	if (next_ns) {
		uint64_t now = uk_now_coarse_ns(); /* the guard's clock: slack on top */
		left = (next_ns > now ? next_ns - now : 0) + UK_COARSE_SLACK_NS;
		if (poll_ms > 0 && left > (uint64_t)poll_ms * 1000000u)
			left = (uint64_t)poll_ms * 1000000u;
	} else {
		left = (uint64_t)poll_ms * 1000000u;
	}
	ts.tv_sec = (long long)(left / UK_NS_PER_SEC);
	ts.tv_nsec = (long long)(left % UK_NS_PER_SEC);
	rc = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts, NULL);
	return rc == -ETIME ? 0 : rc;
}

/*
 * Stopping. The multishot receive holds the socket inside the ring, and the
 * ring's own teardown (io_uring_queue_exit) finishes later in a kernel
 * worker: the port stayed bound for a moment after the server exited, and a
 * server restarted at once (systemd's Restart=, a test) got EADDRINUSE.
 * So: cancel what is in flight, wait for the receive's last completion,
 * and drop the registered file (which waits until nothing uses it); the
 * socket is then released when the caller closes it. Bounded: a kernel
 * that never answers costs at most a few seconds, never a hang.
 */
static void quiesce(struct uk_echo_uring *u, bool recv_armed)
{
	struct io_uring_sqe *sqe = uk_uring_sqe(&u->ring);
	struct __kernel_timespec tick = {.tv_sec = 1};
	bool cancelled = false;

	if (sqe) {
		io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
		io_uring_sqe_set_data64(sqe, CANCEL_TAG);
	} else {
		cancelled = true;
		recv_armed = false;
	}
	for (int round = 0; round < 4 && (!cancelled || recv_armed); round++) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;

		(void)io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &tick, NULL);
		io_uring_for_each_cqe(&u->ring, head, cqe)
		{
			seen++;
			if (cqe->user_data == CANCEL_TAG)
				cancelled = true;
			else if (cqe->user_data == RECV_TAG && !(cqe->flags & IORING_CQE_F_MORE))
				recv_armed = false;
		}
		io_uring_cq_advance(&u->ring, seen);
	}
	(void)io_uring_unregister_files(&u->ring);
}

int uk_echo_uring_run(struct uk_echo_uring *u, struct uk_echo_worker *w, const atomic_bool *stop,
		      int poll_ms)
{
	uint64_t next_ns = 0;
	bool armed = true;
	int rc = 0;

	/* A read of the wake eventfd completes when the worker is told to stop. */
	struct io_uring_sqe *sqe = uk_uring_sqe(&u->ring);
	io_uring_prep_read(sqe, u->wake_fd, &u->wake_value, sizeof(u->wake_value), 0);
	io_uring_sqe_set_data64(sqe, WAKE_TAG);
	atomic_store(&w->wake_fd, u->wake_fd);
	arm_recv(u);
	while (!atomic_load_explicit(stop, memory_order_relaxed)) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		int n = 0;

		rc = wait_cqes(u, w->held_count ? next_ns : 0, poll_ms);
		if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
			break;
		rc = 0;
		if (atomic_load_explicit(stop, memory_order_relaxed))
			break; /* woken by uk_echo_worker_wake() */
		/* The replies queued last round are sent: their buffers go
		 * back (a failure's completion, below, carries its counts). */
		requeue(u);
		unsigned got = 0; /* datagrams this turn */
		io_uring_for_each_cqe(&u->ring, head, cqe)
		{
			seen++;
			if (cqe->user_data == WAKE_TAG || cqe->user_data == CANCEL_TAG)
				continue; /* the loop sees the stop flag; the receive's
					   * own completion ends a cancel */
			if (cqe->user_data != RECV_TAG) {
				send_failed(u, w, cqe);
				continue;
			}
			if (!(cqe->flags & IORING_CQE_F_MORE))
				armed = false; /* out of buffers, or an error: re-arm below */
			if (cqe->res < 0) {
				/* Transient: no buffer free, a queued ICMP error;
				 * or the end of the receive we cancelled. */
				if (cqe->res != -ENOBUFS && cqe->res != -EAGAIN &&
				    cqe->res != -ECONNREFUSED && cqe->res != -ENOMEM &&
				    cqe->res != -EINTR && !(cqe->res == -ECANCELED && u->leaving))
					rc = cqe->res;
				continue;
			}
			if (!(cqe->flags & IORING_CQE_F_BUFFER))
				continue; /* the socket was shut down (stop) */
			unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
			struct uk_batch_slot whole;
			size_t k;
			u->free_bufs--;
			if (!uk_echo_uring_slot(&whole, uk_bufring_buf(&u->bufs, bid), cqe->res,
						NAME_ROOM, u->controllen, w->cfg.max_size)) {
				give_back(u, bid);
				got++;
				continue;
			}
			/* A UDP_GRO receive: each of its datagrams is a slot of
			 * its own, all in this buffer. */
			k = uk_batch_nsegments(whole.len, whole.gso_size);
			u->refs[bid] = (unsigned short)k;
			got += (unsigned)k;
			for (size_t i = 0; i < k; i++) {
				uk_batch_segment(&w->batch.slots[n], &whole, i);
				u->bids[n++] = (unsigned short)bid;
				if (n == (int)w->batch.count) {
					serve_batch(u, w, n, &next_ns);
					n = 0;
				}
			}
		}
		io_uring_cq_advance(&u->ring, seen);
		if (n)
			serve_batch(u, w, n, &next_ns);
		if (rc < 0)
			break;
		if (w->held_count && next_ns && uk_now_coarse_ns() >= next_ns)
			uk_echo_send_held(w, uk_now_coarse_ns(), &next_ns);
		/*
		 * Sparse traffic (one datagram per wake-up, SPARSE_TURNS times in
		 * a row): a blocking recvfrom is woken with the datagram already
		 * queued, where the multishot receive goes through io_uring's
		 * poll callback and task work first, which costs a ping-pong
		 * peer about a microsecond per round trip (bench/README.md). So
		 * cancel the receive and, once it has ended, serve with the
		 * recvmmsg worker's loop, which answers one datagram per call
		 * and returns as soon as a batch brings more than one.
		 */
		u->ones = got == 1 ? u->ones + 1 : got ? 0 : u->ones;
		if (u->ones >= SPARSE_TURNS && armed && !u->leaving) {
			struct io_uring_sqe *c = uk_uring_sqe(&u->ring);
			io_uring_prep_cancel64(c, RECV_TAG, 0);
			io_uring_sqe_set_data64(c, CANCEL_TAG);
			u->leaving = true;
		}
		/* Out of buffers (the datagrams wait in the socket's queue):
		 * send the replies now to have their buffers back, and re-arm. */
		if (!armed) {
			if (u->nqueued) {
				io_uring_submit(&u->ring);
				requeue(u);
			}
			if (u->leaving) {
				u->leaving = false;
				u->ones = 0;
				/* Every buffer is back (replies sent, the rest
				 * given back): the slots point into the batch. */
				uk_batch_home(&w->batch);
				w->stats.sparse++;
				rc = uk_echo_worker_run_sparse(w, stop, poll_ms);
				if (rc < 0)
					break;
				rc = 0;
				if (w->held_count)
					uk_echo_send_held(w, uk_now_coarse_ns(), &next_ns);
				if (atomic_load_explicit(stop, memory_order_relaxed))
					break;
			}
			if (u->free_bufs > 0) {
				arm_recv(u);
				armed = true;
			}
		}
	}
	/* Stopping: what is still held is decided as if its hold ran out, and
	 * queued replies go out. */
	if (w->held_count)
		uk_echo_send_held(w, UINT64_MAX, &next_ns);
	atomic_store(&w->wake_fd, -1);
	drain(u, w);
	quiesce(u, armed);
	return rc;
}

int uk_echo_uring_check(const char **why)
{
	struct io_uring ring;
	struct uk_bufring bufs = {0};
	struct io_uring_cqe *cqe = NULL;
	struct __kernel_timespec ts = {.tv_sec = 1};
	struct msghdr mh = {0};
	const char *mode;
	int sv[2] = {-1, -1}, rc;

	rc = uk_uring_init(&ring, 4, &mode);
	if (rc < 0) {
		*why = rc == -EPERM || rc == -ENOSYS ? "io_uring is disabled (sysctl or seccomp)"
						     : "io_uring_setup failed";
		return rc;
	}
	rc = uk_bufring_init(&bufs, &ring, 1, 64, BGID);
	if (rc < 0) {
		*why =
		    rc == -ENOMEM ? "no memory" : "the kernel has no provided-buffer rings (5.19+)";
		goto out;
	}
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0) {
		rc = -errno;
		*why = "socketpair failed";
		goto out;
	}
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	io_uring_prep_recvmsg_multishot(sqe, sv[0], &mh, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	rc = -EOPNOTSUPP;
	*why = "the kernel has no multishot recvmsg (6.0+)";
	if (send(sv[1], "x", 1, 0) != 1 ||
	    io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &ts, NULL) < 0 || !cqe)
		goto out;
	if (cqe->res > 0 && (cqe->flags & IORING_CQE_F_BUFFER) &&
	    (cqe->flags & IORING_CQE_F_MORE)) {
		rc = 0;
		*why = mode;
	}
out:
	if (sv[0] >= 0) {
		close(sv[0]);
		close(sv[1]);
	}
	io_uring_queue_exit(&ring);
	uk_bufring_free(&bufs);
	return rc;
}
