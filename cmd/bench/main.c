/* udpkit bench: a load generator for UDP echo servers. Closed loop (a
 * window of probes in flight, each reply triggering the next) or a fixed
 * rate, over one or more connected sockets, with recvmmsg/sendmmsg.
 * Probes are the ping's (include/udpkit/probe.h), so it drives
 * `sockperf server` as well as plain and stamping echo servers. */
#include <errno.h>
#include <liburing.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

#include "cli.h"
#include "opts.h"
#include "udpkit/clock.h"
#include "udpkit/echo.h"
#include "udpkit/err.h"
#include "udpkit/i18n.h"
#include "udpkit/parse.h"
#include "udpkit/probe.h"
#include "udpkit/sock.h"
#include "udpkit/stats.h"
#include "udpkit/track.h"
#include "udpkit/uring.h"

#define CMD "bench"
#define BATCH 64
#define REPLY_CAP 65536
#define MAX_FLOWS 64
#define NBUF 64 /* io_uring: provided buffers per flow (a power of two) */
/* Room for one control message of an int (CMSG_SPACE(sizeof(int)) is 24
 * on Linux); a union with struct cmsghdr, whose flexible array makes it
 * variable-sized for clang, is replaced by _Alignas. */
#define CTL_ROOM 32

struct bench_opts {
	struct uk_cli_target target;
	int family;
	uint64_t window;   /* 0 until given: 64 in closed loop */
	uint64_t rate_pps; /* 0 = closed loop */
	uint64_t duration_ns;
	uint64_t timeout_ns;
	uint64_t size;
	uint64_t flows;
	bool json, quiet, no_gso;
	int io; /* enum bench_io */
};

static const char *const ios[] = {"auto", "uring", "mmsg", NULL};
enum bench_io { IO_AUTO, IO_URING, IO_MMSG };

/* The option table: cmd/bench/options.tsv, made C by cmd/options.awk. */
#define AT(member) offsetof(struct bench_opts, member)
#include "bench_options.h"

const struct uk_cmd_spec uk_spec_bench = {
    "bench",
    N_("load an echo server: echoes/s, loss, latency percentiles"),
    "HOST [PORT]",
    N_("Loads a UDP echo server and reports echoes/s, loss, latency percentiles\n"
       "and its own CPU time per echo. HOST is a name, an address, HOST:PORT,\n"
       "[IPV6]:PORT or a bare IPv6 address."),
    options,
    N_("Exit status: 0 when echoes came back, 1 when none did, 2 on errors."),
    UK_COMP_HOST};

/* GSO segments up to a 1500-byte MTU's worth (IPv6), at most a whole
 * datagram's worth in all: any usual path takes them. */
#define GSO_SEG_MAX 1452
#define GSO_BYTES 65507

struct flow {
	int fd;
	unsigned idx;
	struct io_uring *ring; /* NULL: recvmmsg/sendmsg */
	size_t size;
	bool gso; /* a batch of probes as one UDP_SEGMENT send */
	bool gro; /* UDP_GRO on: a GSO reply batch comes in whole */
	struct uk_track track;
	unsigned char *probes;	/* BATCH probes of size bytes */
	unsigned char *replies; /* BATCH replies of REPLY_CAP bytes */
	struct mmsghdr out[BATCH], in[BATCH];
	struct iovec out_iov[BATCH], in_iov[BATCH];
	struct {
		_Alignas(struct cmsghdr) char buf[CTL_ROOM];
	} in_ctl[BATCH]; /* UDP_GRO: the segment size of a coalesced reply */
	/* io_uring: the multishot receive's provided buffers (group index+1),
	 * and the GSO send queued but not yet submitted. */
	struct uk_bufring bufs;
	struct msghdr recv_mh, gso_mh;
	struct iovec gso_iov;
	struct {
		_Alignas(struct cmsghdr) char buf[CTL_ROOM];
	} gso_ctl;
	bool armed, queued;
};

/* At the end sent == received + lost exactly: every probe that left is
 * either answered in time or counted lost once (timed out, still waiting
 * at the end, or pushed out of the tracker by newer probes). Probes whose
 * send failed are taken back and counted as unsent, not as sent. */
struct bench_counts {
	uint64_t sent, unsent, received, dups, late, lost, foreign, send_errors, refused;
	uint64_t coalesced; /* replies that came in a datagram the kernel coalesced (UDP_GRO) */
};

static int parse_args(int argc, char **argv, struct bench_opts *o)
{
	int rc;

	*o = (struct bench_opts){.target = {.port = 8080},
				 .family = AF_UNSPEC,
				 .duration_ns = 5 * UK_NS_PER_SEC,
				 .timeout_ns = UK_NS_PER_SEC,
				 .size = 64,
				 .flows = 1};
	rc = uk_opts_parse_target(&uk_spec_bench, argc, argv, o, &o->target, true);
	if (rc != UK_CONTINUE)
		return rc;
	if (o->window && o->rate_pps)
		return uk_cli_usage_error(CMD, _("--window and --rate exclude each other"));
	if (!o->window)
		o->window = 64;
	return UK_CONTINUE;
}

static int flow_open(struct flow *f, const struct uk_addr *peer, const struct bench_opts *o,
		     const struct uk_probe_fmt *fmt, bool block)
{
	struct uk_sock_opts so = {
	    .nonblock = !block, .v6only = -1, .rcvbuf_bytes = 4 << 20, .sndbuf_bytes = 4 << 20};
	struct timeval tv = {.tv_sec = 0, .tv_usec = 10000};
	int rc;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	f->size = o->size;
	f->gso = !o->no_gso && o->size <= GSO_SEG_MAX && BATCH * o->size <= GSO_BYTES;
	f->probes = malloc(BATCH * o->size);
	f->replies = malloc((size_t)BATCH * REPLY_CAP);
	if (!f->probes || !f->replies || uk_track_init(&f->track, 65536) < 0)
		return -ENOMEM;
	rc = uk_sock_open_connected(peer, &so);
	if (rc < 0)
		return rc;
	f->fd = rc;
	if (block && setsockopt(f->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	/* A server that answers a batch with one GSO send (udpkit echo does)
	 * then reaches us as one datagram: the kernel neither cuts it nor
	 * queues 64 of them, and we read it in one piece. A kernel without
	 * UDP_GRO simply cuts them, as before. */
	f->gro = !o->no_gso && setsockopt(f->fd, SOL_UDP, UDP_GRO, &(int){1}, sizeof(int)) == 0;
	for (int i = 0; i < BATCH; i++) {
		f->in_iov[i] = (struct iovec){f->replies + (size_t)i * REPLY_CAP, REPLY_CAP};
		f->in[i].msg_hdr = (struct msghdr){.msg_iov = &f->in_iov[i], .msg_iovlen = 1};
		if (f->gro) {
			f->in[i].msg_hdr.msg_control = f->in_ctl[i].buf;
			f->in[i].msg_hdr.msg_controllen = sizeof(f->in_ctl[i].buf);
		}
		f->out_iov[i] = (struct iovec){f->probes + (size_t)i * o->size, o->size};
		/* Whole probes once; each send then rewrites only their numbers. */
		uk_probe_build(fmt, 0, f->out_iov[i].iov_base);
		f->out[i].msg_hdr = (struct msghdr){.msg_iov = &f->out_iov[i], .msg_iovlen = 1};
	}
	return 0;
}

static void flow_close(struct flow *f)
{
	if (f->fd >= 0)
		close(f->fd);
	uk_track_free(&f->track);
	uk_bufring_free(&f->bufs);
	free(f->probes);
	free(f->replies);
}

/* Sends the first n probes as one datagram that the kernel cuts into
 * size-byte datagrams (UDP GSO): one trip down the stack instead of n.
 * Returns 0 or -errno. */
static void gso_msg(struct flow *f, unsigned n)
{
	struct cmsghdr *c;
	uint16_t seg = (uint16_t)f->size;

	f->gso_iov = (struct iovec){f->probes, f->size * n};
	f->gso_mh = (struct msghdr){.msg_iov = &f->gso_iov,
				    .msg_iovlen = 1,
				    .msg_control = f->gso_ctl.buf,
				    .msg_controllen = CMSG_SPACE(sizeof(seg))};
	c = CMSG_FIRSTHDR(&f->gso_mh);
	c->cmsg_level = SOL_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof(seg));
	memcpy(CMSG_DATA(c), &seg, sizeof(seg));
}

static int flow_send_gso(struct flow *f, unsigned n)
{
	gso_msg(f, n);
	while (sendmsg(f->fd, &f->gso_mh, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* ---- io_uring: one ring for all flows ----------------------------------
 * Each flow has a multishot recvmsg over its own ring of provided buffers
 * (group idx + 1); a batch of probes is a sendmsg SQE (one GSO send, or
 * one per probe) submitted in the same io_uring_enter() that waits for
 * replies: one system call per turn of the loop where recvmmsg + sendmsg
 * take two. Sends carry MSG_DONTWAIT, so each is done (or failed) when the
 * io_uring_enter() that submitted it returns, and its probes' memory can
 * be rewritten after that. */
#define URING_ENTRIES 256

/* user_data: the first probe's number, the flow, how many probes (0: the
 * flow's receive). */
static uint64_t uring_tag(uint64_t first, unsigned flow, unsigned n)
{
	return first << 16 | (uint64_t)flow << 8 | n;
}

static void arm_recv(struct flow *f)
{
	struct io_uring_sqe *sqe = uk_uring_sqe(f->ring);

	io_uring_prep_recvmsg_multishot(sqe, f->fd, &f->recv_mh, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = (uint16_t)(f->idx + 1);
	io_uring_sqe_set_data64(sqe, uring_tag(0, f->idx, 0));
	f->armed = true;
}

static int flow_uring_open(struct flow *f, struct io_uring *ring, unsigned idx)
{
	int rc;

	f->ring = ring;
	f->idx = idx;
	f->recv_mh.msg_controllen = f->gro ? sizeof(f->in_ctl[0].buf) : 0;
	rc = uk_bufring_init(
	    &f->bufs, ring, NBUF,
	    (sizeof(struct io_uring_recvmsg_out) + f->recv_mh.msg_controllen + REPLY_CAP + 63) &
		~(size_t)63,
	    (unsigned short)(idx + 1));
	if (rc < 0)
		return rc;
	arm_recv(f);
	return 0;
}

/* Queues n probes (numbers first..first+n-1) as sends; they leave at the
 * next submit. */
static void flow_queue_uring(struct flow *f, unsigned n, uint64_t first)
{
	struct io_uring_sqe *sqe;

	if (f->gso && n > 1) {
		gso_msg(f, n);
		sqe = uk_uring_sqe(f->ring);
		io_uring_prep_sendmsg(sqe, f->fd, &f->gso_mh, MSG_DONTWAIT);
		io_uring_sqe_set_data64(sqe, uring_tag(first, f->idx, n));
	} else {
		for (unsigned i = 0; i < n; i++) {
			sqe = uk_uring_sqe(f->ring);
			io_uring_prep_sendmsg(sqe, f->fd, &f->out[i].msg_hdr, MSG_DONTWAIT);
			io_uring_sqe_set_data64(sqe, uring_tag(first + i, f->idx, 1));
		}
	}
	f->queued = true;
}

/* A send that failed: its probes never left, so they count as not sent
 * (and not as lost), as with sendmmsg. */
static void send_failed(struct flow *f, uint64_t first, unsigned n, int err, struct bench_counts *c)
{
	if (err == -EIO || err == -EINVAL || err == -EMSGSIZE || err == -ENOPROTOOPT)
		f->gso = false; /* the path cannot segment: one by one from now on */
	if (err == -ECONNREFUSED)
		c->refused++;
	else
		c->send_errors++;
	for (unsigned i = 0; i < n; i++)
		if (uk_track_fail(&f->track, first + i)) {
			c->sent--;
			c->unsent++;
		}
}

/* Sends n probes (n <= BATCH) in one sendmmsg, or one GSO send. Returns
 * how many left. */
static unsigned flow_send(struct flow *f, unsigned n, struct bench_counts *c)
{
	uint64_t now = uk_now_ns(), first = f->track.next_seq;
	unsigned done = 0;
	int rc;

	/* A send still queued reads the probes we are about to rewrite. */
	if (f->ring && f->queued) {
		io_uring_submit(f->ring);
		f->queued = false;
	}
	for (unsigned i = 0; i < n; i++) {
		bool evicted;
		uk_probe_set_seq(uk_track_sent(&f->track, now, &evicted), f->out_iov[i].iov_base);
		/* A probe still unanswered when 65536 newer ones were sent
		 * leaves the tracker: it is lost (a reply to it would be late). */
		c->lost += evicted;
	}
	if (f->ring) {
		flow_queue_uring(f, n, first);
		c->sent += n;
		return n;
	}
	if (f->gso && n > 1) {
		rc = flow_send_gso(f, n);
		if (rc == 0)
			done = n;
		else if (rc == -EIO || rc == -EINVAL || rc == -EMSGSIZE || rc == -ENOPROTOOPT)
			f->gso = false; /* the path cannot segment: one by one from now on */
		/* Other errors (refused, a full buffer): sendmmsg below meets
		 * them again and counts them. */
	}
	while (done < n) {
		rc = sendmmsg(f->fd, f->out + done, n - done, 0);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ECONNREFUSED)
				c->refused++;
			else
				c->send_errors++;
			break;
		}
		done += (unsigned)rc;
	}
	/* Probes that did not leave were never sent: take them back. */
	if (done < n)
		uk_track_unsend(&f->track, n - done);
	c->sent += done;
	c->unsent += n - done;
	return done;
}

/* The segment size a UDP_GRO control message gives for a datagram of len
 * bytes, or len when c is not one. */
static size_t gro_segment(const struct cmsghdr *c, size_t len)
{
	int seg;

	if (c->cmsg_level != SOL_UDP || c->cmsg_type != UDP_GRO ||
	    c->cmsg_len < CMSG_LEN(sizeof(int)))
		return len;
	memcpy(&seg, CMSG_DATA(c), sizeof(seg));
	return seg > 0 && (size_t)seg < len ? (size_t)seg : len;
}

/* Counts one reply (a whole datagram or one GRO segment of one); returns
 * 1 when it answers a probe for the first time. */
static int take_reply(struct flow *f, const struct uk_probe_fmt *fmt, struct bench_counts *c,
		      struct uk_stats_hist *h, const unsigned char *p, size_t len, uint64_t now)
{
	uint64_t seq56;
	struct uk_track_result r;

	/* Any probe we built is the pattern (all but their numbers agree). */
	if (uk_probe_match(fmt, f->probes, p, len, &seq56) < 0) {
		c->foreign++;
		return 0;
	}
	r = uk_track_reply(&f->track, uk_probe_unwrap(seq56, f->track.next_seq - 1), now);
	switch (r.kind) {
	case UK_TRACK_NEW:
		c->received++;
		uk_stats_hist_add(h, r.rtt_ns);
		return 1;
	case UK_TRACK_DUP:
		c->dups++;
		break;
	case UK_TRACK_LATE:
		c->late++;
		break;
	default:
		c->foreign++;
		break;
	}
	return 0;
}

/* Counts the replies in a datagram of len bytes that holds segments of
 * seg bytes (seg == len: one reply); returns the new ones. */
static int take_replies(struct flow *f, const struct uk_probe_fmt *fmt, struct bench_counts *c,
			struct uk_stats_hist *h, const unsigned char *p, size_t len, size_t seg,
			uint64_t now)
{
	int fresh = 0;

	if (seg < len)
		c->coalesced += (len + seg - 1) / seg;
	for (size_t at = 0; at < len; at += seg)
		fresh += take_reply(f, fmt, c, h, p + at, len - at < seg ? len - at : seg, now);
	return fresh;
}

/* Receives what is waiting on a flow; returns new replies (>= 0). With
 * block, waits for the first datagram (up to the socket's SO_RCVTIMEO):
 * one flow needs no poll(), whose extra wake-up would add to every RTT. */
static int flow_recv(struct flow *f, const struct uk_probe_fmt *fmt, struct bench_counts *c,
		     struct uk_stats_hist *h, bool block)
{
	int n, fresh = 0;
	uint64_t now;

	for (int i = 0; i < BATCH; i++) {
		f->in[i].msg_hdr.msg_flags = 0;
		if (f->gro)
			f->in[i].msg_hdr.msg_controllen = sizeof(f->in_ctl[i].buf);
	}
	n = recvmmsg(f->fd, f->in, BATCH, block ? MSG_WAITFORONE : MSG_DONTWAIT, NULL);
	if (n < 0) {
		if (errno == ECONNREFUSED)
			c->refused++;
		return 0;
	}
	now = uk_now_ns();
	for (int i = 0; i < n; i++) {
		struct msghdr *m = &f->in[i].msg_hdr;
		size_t len = f->in[i].msg_len, seg = len;

		for (struct cmsghdr *cm = CMSG_FIRSTHDR(m); f->gro && cm; cm = CMSG_NXTHDR(m, cm))
			seg = gro_segment(cm, len);
		fresh += take_replies(f, fmt, c, h, f->in_iov[i].iov_base, len, seg, now);
	}
	return fresh;
}

/* Takes every completion of the ring: replies, failed sends; re-arms the
 * receives that ended (out of buffers, an ICMP error). Returns new replies. */
static int uring_reap(struct io_uring *ring, struct flow *flows, unsigned nflows,
		      const struct uk_probe_fmt *fmt, struct bench_counts *c,
		      struct uk_stats_hist *h)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;
	uint64_t now = uk_now_ns();
	int fresh = 0;

	io_uring_for_each_cqe(ring, head, cqe)
	{
		struct flow *f = &flows[(cqe->user_data >> 8) & 0xff];
		unsigned n = cqe->user_data & 0xff, bid;
		struct io_uring_recvmsg_out *out;

		seen++;
		if (n) { /* a send: only its failure matters */
			if (cqe->res < 0)
				send_failed(f, cqe->user_data >> 16, n, cqe->res, c);
			continue;
		}
		if (!(cqe->flags & IORING_CQE_F_MORE))
			f->armed = false;
		if (cqe->res == -ECONNREFUSED)
			c->refused++;
		if (cqe->res < 0 || !(cqe->flags & IORING_CQE_F_BUFFER))
			continue;
		bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
		out =
		    io_uring_recvmsg_validate(uk_bufring_buf(&f->bufs, bid), cqe->res, &f->recv_mh);
		if (out) {
			size_t len = io_uring_recvmsg_payload_length(out, cqe->res, &f->recv_mh);
			size_t seg = len;
			for (struct cmsghdr *cm = io_uring_recvmsg_cmsg_firsthdr(out, &f->recv_mh);
			     cm; cm = io_uring_recvmsg_cmsg_nexthdr(out, &f->recv_mh, cm))
				seg = gro_segment(cm, len);
			if (len > out->payloadlen)
				len = out->payloadlen;
			fresh +=
			    take_replies(f, fmt, c, h, io_uring_recvmsg_payload(out, &f->recv_mh),
					 len, seg, now);
		}
		uk_bufring_give(&f->bufs, bid);
	}
	io_uring_cq_advance(ring, seen);
	for (unsigned i = 0; i < nflows; i++)
		if (!flows[i].armed)
			arm_recv(&flows[i]);
	return fresh;
}

/* Submits what is queued and, unless busy, waits up to wait_ms for a
 * completion. */
static void uring_turn(struct io_uring *ring, struct flow *flows, unsigned nflows, bool busy,
		       int wait_ms)
{
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts = {.tv_nsec = (long long)wait_ms * 1000000};

	if (busy)
		(void)io_uring_submit_and_get_events(ring);
	else
		(void)io_uring_submit_and_wait_timeout(ring, &cqe, 1, &ts, NULL);
	for (unsigned i = 0; i < nflows; i++)
		flows[i].queued = false;
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* One run: the options, the flows and what they counted. */
struct bench {
	struct bench_opts o;
	struct uk_addr peer;
	char peer_text[UK_ADDR_STRLEN];
	struct uk_probe_fmt fmt;
	struct flow *flows;
	unsigned opened;
	struct pollfd *pfd;
	struct uk_stats_hist *hist;
	struct bench_counts c;
	struct io_uring ring;
	bool uring; /* the ring is up and the flows use it */
	bool block;
	double seconds, cpu;
};

static const double quantiles[] = {0.5, 0.9, 0.99, 0.999, 1.0};
static const char *const quantile_names[] = {"p50", "p90", "p99", "p99.9", "max"};

static void report_json(const struct bench *B, double eps, double loss, double cpu_us)
{
	const struct bench_counts *c = &B->c;

	uk_cli_json_begin(stdout, "summary");
	printf(",\"to\":\"%s\",\"mode\":\"%s\",\"io\":\"%s\"", B->peer_text,
	       B->o.rate_pps ? "rate" : "window", B->uring ? "uring" : "mmsg");
	/* Only what describes this run: a window in closed loop, a rate in open loop. */
	if (B->o.rate_pps)
		printf(",\"rate_pps\":%llu", (unsigned long long)B->o.rate_pps);
	else
		printf(",\"window\":%llu", (unsigned long long)B->o.window);
	printf(",\"flows\":%llu,\"size\":%llu,\"seconds\":%.3f,\"sent\":%llu,\"received\":%llu,"
	       "\"lost\":%llu,\"unsent\":%llu,\"loss_pct\":%.4f,\"duplicates\":%llu,\"late\":%llu,"
	       "\"refused\":%llu,\"coalesced\":%llu,\"echoes_per_s\":%.0f,"
	       "\"client_cpu_us_per_echo\":%.3f",
	       (unsigned long long)B->o.flows, (unsigned long long)B->o.size, B->seconds,
	       (unsigned long long)c->sent, (unsigned long long)c->received,
	       (unsigned long long)c->lost, (unsigned long long)c->unsent, loss,
	       (unsigned long long)c->dups, (unsigned long long)c->late,
	       (unsigned long long)c->refused, (unsigned long long)c->coalesced, eps, cpu_us);
	if (c->received) {
		printf(",\"latency_us\":{");
		for (int i = 0; i < 5; i++)
			printf("%s\"%s\":%.2f", i ? "," : "", quantile_names[i],
			       (double)uk_stats_hist_quantile(B->hist, quantiles[i]) / 1e3);
		printf("}");
	}
	printf("}\n");
}

static void report(const struct bench *B)
{
	const struct bench_counts *c = &B->c;
	double eps = B->seconds > 0 ? (double)c->received / B->seconds : 0;
	double loss = c->sent ? 100.0 * (double)c->lost / (double)c->sent : 0;
	double cpu_us = c->received ? B->cpu * 1e6 / (double)c->received : 0;

	if (B->o.json) {
		report_json(B, eps, loss, cpu_us);
		return;
	}
	printf(_("udpkit bench: %s, %s, %llu %s, %llu bytes, %.2f s, %s\n"), B->peer_text,
	       B->o.rate_pps ? _("fixed rate") : _("closed loop"), (unsigned long long)B->o.flows,
	       uk_cli_plural(B->o.flows, "flow", "flows"), (unsigned long long)B->o.size,
	       B->seconds, B->uring ? "io_uring" : "recvmmsg");
	printf(_("sent %llu, received %llu, lost %s%llu (%.4f%%)%s, duplicates %llu, late %llu\n"),
	       (unsigned long long)c->sent, (unsigned long long)c->received,
	       uk_cli_sgr(stdout, c->lost ? UK_SGR_ERROR : UK_SGR_GOOD),
	       (unsigned long long)c->lost, loss, uk_cli_sgr(stdout, UK_SGR_RESET),
	       (unsigned long long)c->dups, (unsigned long long)c->late);
	if (c->unsent)
		printf(
		    _("not sent %llu (the socket refused them: counted neither sent nor lost)\n"),
		    (unsigned long long)c->unsent);
	if (c->refused && !c->received) {
		/* Nothing came back but ICMP: there are no latency figures to give. */
		printf(_("%snobody listens on %s%s: ICMP port unreachable %llu %s\n"),
		       uk_cli_sgr(stdout, UK_SGR_ERROR), B->peer_text,
		       uk_cli_sgr(stdout, UK_SGR_RESET), (unsigned long long)c->refused,
		       uk_cli_plural(c->refused, "time", "times"));
		return;
	}
	printf(_("echoes/s %.0f\n"), eps);
	if (c->received) {
		printf(_("latency"));
		for (int i = 0; i < 5; i++)
			printf("%s %s %.1f us", i ? "," : "", quantile_names[i],
			       (double)uk_stats_hist_quantile(B->hist, quantiles[i]) / 1e3);
		printf(_("\nclient CPU %.3f us per echo\n"), cpu_us);
	}
	if (c->refused)
		printf(_("ICMP port unreachable %llu %s: nobody listens on %s\n"),
		       (unsigned long long)c->refused, uk_cli_plural(c->refused, "time", "times"),
		       B->peer_text);
	if (c->lost)
		printf(_("note: datagrams were lost; on loopback this means the server (or this "
			 "client) is overloaded\n"));
}

static int bench_open(struct bench *B)
{
	int rc = uk_cli_target_resolve(&B->o.target, B->o.family, &B->peer);

	if (rc != UK_CONTINUE)
		return rc;
	uk_addr_format(&B->peer, B->peer_text, sizeof(B->peer_text));
	uk_probe_init(&B->fmt, B->o.size, uk_wall_ns() ^ ((uint64_t)getpid() << 32));
	B->flows = calloc(B->o.flows, sizeof(*B->flows));
	B->pfd = calloc(B->o.flows + 1, sizeof(*B->pfd));
	B->hist = malloc(sizeof(*B->hist));
	if (!B->flows || !B->pfd || !B->hist)
		return uk_cli_fail(CMD, _("memory"), -ENOMEM);
	uk_stats_hist_init(B->hist);
	B->block = B->o.flows == 1 && !B->o.rate_pps;
	/* auto is recvmmsg: at the maximum rate it sent 1.3x what the
	 * io_uring path did (bench/README.md). */
	if (B->o.io == IO_URING) {
		/* The echo worker's check: multishot recvmsg and provided
		 * buffer rings, what this path needs too. */
		const char *why = "";
		int err = uk_echo_uring_check(&why);
		if (err == 0)
			err = uk_uring_init(&B->ring, URING_ENTRIES, &why);
		B->uring = err == 0;
		if (err < 0) {
			fprintf(stderr, _("udpkit bench: --io uring: %s (%s)\n"), why,
				strerror(-err));
			return UK_EXIT_ERROR;
		}
	}
	for (; B->opened < B->o.flows; B->opened++) {
		struct flow *f = &B->flows[B->opened];
		int err = flow_open(f, &B->peer, &B->o, &B->fmt, B->block);
		if (err == 0 && B->uring)
			err = flow_uring_open(f, &B->ring, B->opened);
		if (err < 0) {
			B->opened++;
			return uk_cli_fail(CMD, B->peer_text, err);
		}
		B->pfd[B->opened] = (struct pollfd){.fd = B->flows[B->opened].fd, .events = POLLIN};
	}
	return UK_CONTINUE;
}

/* Sends for the duration, then waits for the last replies. */
static void bench_run(struct bench *B)
{
	const struct bench_opts *o = &B->o;
	struct bench_counts *c = &B->c;
	uint64_t start, stop_at, next_progress, last_received = 0;
	double cpu0;
	bool progress;

	uk_cli_catch_signals();
	B->pfd[o->flows] = (struct pollfd){.fd = uk_cli_stop_fd, .events = POLLIN};
	progress = !o->quiet && !o->json && uk_cli_isatty(stderr);
	cpu0 = cpu_seconds();
	start = uk_now_ns();
	stop_at = start + o->duration_ns;
	next_progress = start + UK_NS_PER_SEC;
	if (!o->rate_pps)
		for (unsigned i = 0; i < o->flows; i++)
			for (unsigned left = o->window; left;) {
				unsigned n = left < BATCH ? left : BATCH;
				flow_send(&B->flows[i], n, c);
				left -= n;
			}
	for (;;) {
		uint64_t now = uk_now_ns();
		bool sending = now < stop_at && !atomic_load(&uk_cli_stop), busy = false;
		uint64_t waiting = 0;

		if (atomic_load(&uk_cli_stop) && !sending)
			break;
		if (B->uring)
			busy = uring_reap(&B->ring, B->flows, o->flows, &B->fmt, c, B->hist) > 0;
		for (unsigned i = 0; i < o->flows; i++) {
			struct flow *f = &B->flows[i];
			int fresh = B->uring ? 0 : flow_recv(f, &B->fmt, c, B->hist, B->block);
			uint64_t lost = uk_track_expire(&f->track, now, o->timeout_ns);
			c->lost += lost;
			busy |= fresh > 0;
			if (sending && !o->rate_pps) {
				/* Keep the window full: one new probe per reply or loss. */
				uint64_t want =
				    o->window > f->track.waiting ? o->window - f->track.waiting : 0;
				while (want) {
					unsigned n = want < BATCH ? (unsigned)want : BATCH;
					flow_send(f, n, c);
					want -= n;
				}
			}
			waiting += f->track.waiting;
		}
		if (sending && o->rate_pps) {
			uint64_t due =
			    (uint64_t)((double)(now - start) * (double)o->rate_pps / 1e9);
			/* At most one batch per flow before reading again: a rate
			 * the client cannot keep up with must not starve its own
			 * receiving (replies would pile up and be dropped unread). */
			for (unsigned i = 0; i < o->flows && due > c->sent + c->unsent; i++) {
				uint64_t n = due - c->sent - c->unsent;
				flow_send(&B->flows[i], n < BATCH ? (unsigned)n : BATCH, c);
				busy = true;
			}
		}
		if (!sending && waiting == 0)
			break;
		if (!sending && now >= stop_at + o->timeout_ns)
			break;
		if (progress && now >= next_progress) {
			fputc('\r', stderr);
			fprintf(stderr,
				_("%5.1fs %10.0f echoes/s  lost %llu  p50 %.1f us  p99 %.1f us   "),
				(double)(now - start) / 1e9, (double)(c->received - last_received),
				(unsigned long long)c->lost,
				(double)uk_stats_hist_quantile(B->hist, 0.5) / 1e3,
				(double)uk_stats_hist_quantile(B->hist, 0.99) / 1e3);
			last_received = c->received;
			next_progress += UK_NS_PER_SEC;
		}
		if (B->uring)
			uring_turn(&B->ring, B->flows, o->flows, busy, o->rate_pps ? 1 : 10);
		else if (!busy && !B->block &&
			 poll(B->pfd, o->flows + 1, o->rate_pps ? 1 : 10) < 0 && errno != EINTR)
			break;
	}
	B->seconds = (double)(uk_now_ns() - start) / 1e9;
	/* Replies drained after the end were sent within it. */
	if (B->seconds > (double)o->duration_ns / 1e9)
		B->seconds = (double)o->duration_ns / 1e9;
	for (unsigned i = 0; i < o->flows; i++)
		c->lost += B->flows[i].track.waiting;
	if (progress)
		fputc('\n', stderr);
	B->cpu = cpu_seconds() - cpu0;
}

int uk_cmd_bench(int argc, char **argv)
{
	struct bench B = {0};
	int rc = parse_args(argc, argv, &B.o);

	if (rc == UK_CONTINUE)
		rc = bench_open(&B);
	if (rc == UK_CONTINUE) {
		bench_run(&B);
		report(&B);
		rc = B.c.received ? UK_EXIT_OK : UK_EXIT_FAIL;
	}
	if (B.uring) /* before the buffers it writes into are unmapped */
		io_uring_queue_exit(&B.ring);
	for (unsigned i = 0; i < B.opened; i++)
		flow_close(&B.flows[i]);
	free(B.flows);
	free(B.pfd);
	free(B.hist);
	return rc;
}
