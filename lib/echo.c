/* echo.c: the echo server's worker loop (see include/udpkit/echo.h).
 * Replies are built in place: the stamp goes into the headroom in front of
 * the received bytes, so no payload is copied in any mode. */
#include <errno.h>
#include <linux/sock_diag.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/time.h>

#include "udpkit/echo.h"
#include "udpkit/probe.h"

#define GUARD_SOURCES 4096

int uk_echo_worker_init(struct uk_echo_worker *w, int fd, const struct uk_echo_cfg *cfg, void *user)
{
	int rc;

	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->cfg = *cfg;
	w->user = user;
	atomic_init(&w->wake_fd, -1);
	if (!w->cfg.batch)
		w->cfg.batch = 32;
	rc = uk_batch_init(&w->batch, w->cfg.batch, w->cfg.max_size);
	if (rc < 0)
		return rc;
	/* The echo server throttles loops rather than silencing clients that
	 * repeat themselves (guard.h): suspects wait in w->held. */
	w->cfg.guard.hold = UK_ECHO_HOLDS;
	rc = uk_batch_init(&w->held, UK_ECHO_HOLDS, w->cfg.max_size + UK_ECHO_STAMP_LEN);
	if (rc < 0)
		goto fail;
	rc = uk_guard_init(&w->guard, &w->cfg.guard, GUARD_SOURCES);
	if (rc < 0)
		goto fail;
	return 0;
fail:
	uk_batch_free(&w->batch);
	uk_batch_free(&w->held);
	return rc;
}

void uk_echo_worker_free(struct uk_echo_worker *w)
{
	uk_batch_free(&w->batch);
	uk_batch_free(&w->held);
	uk_guard_free(&w->guard);
}

void uk_echo_stats_add(struct uk_echo_stats *into, const struct uk_echo_stats *from)
{
	into->datagrams += from->datagrams;
	into->bytes += from->bytes;
	into->replies += from->replies;
	into->reply_bytes += from->reply_bytes;
	into->truncated += from->truncated;
	into->too_big += from->too_big;
	into->not_sockperf += from->not_sockperf;
	into->send_failed += from->send_failed;
	into->held += from->held;
	into->sparse += from->sparse;
	for (int i = 0; i < UK_VERDICT_COUNT; i++)
		into->dropped[i] += from->dropped[i];
}

static enum uk_echo_outcome build_reply(struct uk_echo_worker *w, struct uk_batch_slot *s,
					time_t wall_s)
{
	switch (w->cfg.mode) {
	case UK_ECHO_PURE:
		s->out = s->data;
		s->out_len = s->len;
		return UK_ECHO_REPLIED;
	case UK_ECHO_SOCKPERF:
		if (!uk_sockperf_make_reply(s->data, s->len))
			return UK_ECHO_NOT_SOCKPERF;
		s->out = s->data;
		s->out_len = s->len;
		return UK_ECHO_REPLIED;
	case UK_ECHO_STAMP:
	default: {
		unsigned char *p = s->data - UK_ECHO_STAMP_LEN;
		if (s->len + UK_ECHO_STAMP_LEN > UK_ECHO_MAX_DATAGRAM)
			return UK_ECHO_TOO_BIG;
		static const unsigned char mark_open[3] = {0xe3, 0x80, 0x90};  /* 【 */
		static const unsigned char mark_close[3] = {0xe3, 0x80, 0x91}; /* 】 */
		memcpy(p, mark_open, sizeof(mark_open));
		memcpy(p + 3, uk_ctime_cached(&w->stamp_time, wall_s), UK_CTIME_LEN);
		memcpy(p + 3 + UK_CTIME_LEN, mark_close, sizeof(mark_close));
		s->out = p;
		s->out_len = s->len + UK_ECHO_STAMP_LEN;
		return UK_ECHO_REPLIED;
	}
	}
}

/* Copies a reply the guard wants held into a free held slot. The guard
 * holds at most UK_ECHO_HOLDS at once, so a slot is free; false if not. */
static bool hold_reply(struct uk_echo_worker *w, const struct uk_batch_slot *s)
{
	for (int i = 0; i < UK_ECHO_HOLDS; i++) {
		struct uk_batch_slot *h = &w->held.slots[i];
		if (w->held_used[i])
			continue;
		memcpy(h->data, s->out, s->out_len);
		h->out = h->data;
		h->out_len = s->out_len;
		h->len = s->out_len;
		h->peer = s->peer;
		h->dst = s->dst;
		h->ifindex = s->ifindex;
		h->has_dst = s->has_dst;
		h->send = false;
		w->held_used[i] = true;
		w->held_count++;
		return true;
	}
	return false;
}

time_t uk_echo_wall_s(const struct uk_echo_worker *w)
{
	return w->cfg.mode == UK_ECHO_STAMP ? uk_wall_coarse_s() : 0;
}

void uk_echo_process(struct uk_echo_worker *w, int n, uint64_t now_ns, time_t wall_s)
{
	uk_guard_batch(&w->guard, w->pressure);
	for (int i = 0; i < n; i++) {
		struct uk_batch_slot *s = &w->batch.slots[i];
		enum uk_verdict v = UK_PASS;
		enum uk_echo_outcome o;

		w->stats.datagrams++;
		w->stats.bytes += s->wire_len;
		s->send = false;
		if (s->truncated) {
			o = UK_ECHO_TRUNCATED;
			w->stats.truncated++;
		} else if ((v = uk_guard_check(&w->guard, &s->peer, s->data, s->len, now_ns)) !=
			       UK_PASS &&
			   v != UK_HOLD) {
			o = UK_ECHO_DROPPED;
			w->stats.dropped[v]++;
		} else {
			uint64_t unused;
			o = build_reply(w, s, wall_s);
			if (o == UK_ECHO_REPLIED && v == UK_HOLD && hold_reply(w, s)) {
				w->stats.held++;
				o = UK_ECHO_HELD;
			} else if (o == UK_ECHO_REPLIED && v == UK_HOLD) {
				/* No room to hold it: a loop it is. */
				v = uk_guard_resolve(&w->guard, &s->peer, UINT64_MAX, &unused);
				o = UK_ECHO_DROPPED;
				w->stats.dropped[v]++;
			} else if (o == UK_ECHO_REPLIED) {
				s->send = true;
				uk_guard_note_reply(&w->guard, &s->peer, s->out, s->out_len);
			} else {
				if (v == UK_HOLD) /* nothing to hold: let the guard forget it */
					(void)uk_guard_resolve(&w->guard, &s->peer, UINT64_MAX,
							       &unused);
				if (o == UK_ECHO_TOO_BIG)
					w->stats.too_big++;
				else
					w->stats.not_sockperf++;
			}
		}
		w->outcomes[i] = (uint8_t)o;
		w->verdicts[i] = (uint8_t)v;
	}
}

int uk_echo_resolve(struct uk_echo_worker *w, uint64_t now_ns, uint64_t *next_ns)
{
	int marked = 0;

	*next_ns = 0;
	for (int i = 0; i < UK_ECHO_HOLDS; i++) {
		struct uk_batch_slot *h = &w->held.slots[i];
		uint64_t until;
		enum uk_verdict v;
		if (!w->held_used[i] || h->send)
			continue;
		v = uk_guard_resolve(&w->guard, &h->peer, now_ns, &until);
		if (v == UK_HOLD) {
			if (!*next_ns || until < *next_ns)
				*next_ns = until;
		} else if (v == UK_PASS) {
			h->send = true;
			uk_guard_note_reply(&w->guard, &h->peer, h->out, h->out_len);
			marked++;
		} else {
			w->stats.dropped[v]++;
			w->held_used[i] = false;
			w->held_count--;
		}
	}
	return marked;
}

void uk_echo_held_sent(struct uk_echo_worker *w)
{
	for (int i = 0; i < UK_ECHO_HOLDS; i++) {
		if (w->held_used[i] && w->held.slots[i].send) {
			w->held.slots[i].send = false;
			w->held_used[i] = false;
			w->held_count--;
		}
	}
}

void uk_echo_worker_wake(struct uk_echo_worker *w)
{
	/* On a UDP socket this fails with ENOTCONN but still wakes a blocked
	 * receiver, whose recvmmsg then returns: the way to stop a worker
	 * that blocks without a timeout. */
	int efd = atomic_load(&w->wake_fd);

	(void)shutdown(w->fd, SHUT_RD);
	if (efd >= 0)
		(void)eventfd_write(efd, 1);
}

/* True when the socket's receive queue holds more than 1/64 of its buffer
 * (about 100 small datagrams in the default 4 MiB): the server is not
 * keeping up, and the guard's share rule keeps
 * one source from taking the whole queue. SO_MEMINFO is one cheap call,
 * made only after a full batch (sparse traffic never pays it). */
bool uk_echo_backlogged(int fd)
{
	uint32_t mem[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mem);

	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) < 0 ||
	    len < sizeof(uint32_t) * (SK_MEMINFO_RCVBUF + 1))
		return false;
	return mem[SK_MEMINFO_RMEM_ALLOC] > mem[SK_MEMINFO_RCVBUF] / 64;
}

/* Sends the held replies that were decided, before the batch's replies so
 * that a client sees its echoes in order. */
void uk_echo_send_held(struct uk_echo_worker *w, uint64_t now_ns, uint64_t *next_ns)
{
	int wanted = uk_echo_resolve(w, now_ns, next_ns), sent;

	if (!wanted)
		return;
	sent = uk_batch_send(w->fd, &w->held, UK_ECHO_HOLDS, w->cfg.use_pktinfo, NULL);
	if (sent < 0)
		sent = 0;
	w->stats.replies += (uint64_t)sent;
	for (int i = 0; i < UK_ECHO_HOLDS; i++)
		if (w->held_used[i] && w->held.slots[i].send)
			w->stats.reply_bytes += w->held.slots[i].out_len;
	if (sent < wanted)
		w->stats.send_failed += (uint64_t)(wanted - sent);
	uk_echo_held_sent(w);
}

/* While replies are held, waits for a datagram no longer than the earliest
 * hold: returns false when the hold ran out first (decide it, then wait
 * again). */
static bool wait_readable(struct uk_echo_worker *w, uint64_t next_ns)
{
	struct pollfd p = {.fd = w->fd, .events = POLLIN};
	uint64_t now = uk_now_coarse_ns(),
		 left = (next_ns > now ? next_ns - now : 0) + UK_COARSE_SLACK_NS;
	struct timespec ts = {.tv_sec = (time_t)(left / UK_NS_PER_SEC),
			      .tv_nsec = (long)(left % UK_NS_PER_SEC)};

	return ppoll(&p, 1, &ts, NULL) > 0;
}

/* Decides, sends and logs the n received slots. */
static void serve(struct uk_echo_worker *w, int n, uint64_t *next_ns)
{
	int sent, wanted = 0;

	uk_echo_process(w, n, uk_now_coarse_ns(), uk_echo_wall_s(w));
	if (w->held_count)
		uk_echo_send_held(w, uk_now_coarse_ns(), next_ns);
	for (int i = 0; i < n; i++)
		wanted += w->batch.slots[i].send;
	sent = wanted ? uk_batch_send(w->fd, &w->batch, n, w->cfg.use_pktinfo, &w->cfg.gso) : 0;
	if (sent < 0)
		sent = 0;
	w->stats.replies += (uint64_t)sent;
	for (int i = 0; i < n; i++)
		if (w->batch.slots[i].send)
			w->stats.reply_bytes += w->batch.slots[i].out_len;
	if (sent < wanted)
		w->stats.send_failed += (uint64_t)(wanted - sent);
	if (w->cfg.on_batch)
		w->cfg.on_batch(w->user, &w->batch, n, w->outcomes, w->verdicts);
}

/* Serves each datagram of a receive (several when UDP_GRO coalesced
 * them: w->gro) as its own, as many slots at a time as the batch has. */
static void serve_whole(struct uk_echo_worker *w, const struct uk_batch_slot *whole,
			uint64_t *next_ns)
{
	struct uk_batch_slot copy = *whole; /* whole may be one of the slots */
	size_t done = 0;

	for (int m; (m = uk_batch_segments(&w->batch, &copy, done)) > 0; done += (size_t)m)
		serve(w, m, next_ns);
	uk_batch_home(&w->batch);
}

/* Sparse traffic on a socket with UDP_GRO (the io_uring worker's): one
 * recvmsg at a time, which reports a coalesced receive (recvmmsg would
 * take them into slots too small to split them in); with probe, one more
 * without waiting, as recvmmsg would take what else is queued. Returns
 * the datagrams served (more than one means load), or -errno. */
static int recv_serve_gro(struct uk_echo_worker *w, const atomic_bool *stop, bool probe,
			  uint64_t *next_ns)
{
	struct uk_batch_slot first;
	int rc = uk_batch_recv_msg(w->fd, &w->batch, 0, 0), more;

	if (rc < 0 || atomic_load_explicit(stop, memory_order_relaxed))
		return rc < 0 ? rc : 0; /* stopping: woken by uk_echo_worker_wake() */
	first = w->batch.slots[0];
	more =
	    probe && w->batch.count > 1 ? uk_batch_recv_msg(w->fd, &w->batch, 1, MSG_DONTWAIT) : 0;
	if (more > 0) {
		struct uk_batch_slot second = w->batch.slots[1];
		serve_whole(w, &first, next_ns);
		serve_whole(w, &second, next_ns);
		return 2;
	}
	serve_whole(w, &first, next_ns);
	return (int)uk_batch_nsegments(first.len, first.gso_size);
}

/* The recvmmsg worker's loop; with until_load it returns 1 as soon as a
 * batch brings more than one datagram (after serving it). */
static int worker_loop(struct uk_echo_worker *w, const atomic_bool *stop, int poll_ms,
		       bool until_load)
{
	struct timeval tv = {.tv_sec = poll_ms / 1000, .tv_usec = (poll_ms % 1000) * 1000L};
	uint64_t next_ns = 0;

	/* Blocking without a timeout is cheapest (no timer per wait); with
	 * poll_ms the stop flag is also seen within poll_ms. */
	if (poll_ms > 0 && setsockopt(w->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	/* Sparse traffic is served one datagram per call (lowest latency),
	 * load in batches (least CPU per datagram). Timing cannot tell them
	 * apart (on one core a ping-pong peer always has the next datagram
	 * queued by the time we return from sendto), so every 16th receive in
	 * single mode tries a batch: more than one datagram means load. Four
	 * batches of one in a row mean the load is gone. */
	bool single = true, loaded = false;
	unsigned ones = 0, singles = 0;

	while (!atomic_load_explicit(stop, memory_order_relaxed)) {
		int n;

		if (w->held_count && !wait_readable(w, next_ns)) {
			uk_echo_send_held(w, uk_now_coarse_ns(), &next_ns);
			continue;
		}
		if (w->gro && until_load) {
			/* recvmmsg would take coalesced receives into slots
			 * too small to split them in: one recvmsg at a time,
			 * and every 16th another without waiting. Several
			 * datagrams (a coalesced receive, or a second one
			 * queued) mean load. */
			w->pressure = false;
			n = recv_serve_gro(w, stop, ++singles % 16 == 0, &next_ns);
			if (atomic_load_explicit(stop, memory_order_relaxed))
				break;
			if (n < 0 && n != -EAGAIN && n != -EWOULDBLOCK && n != -ECONNREFUSED &&
			    n != -ENOBUFS && n != -ENOMEM)
				return n;
			if (n > 1)
				return 1;
			continue;
		}
		if (single && ++singles % 16 != 0) {
			n = uk_batch_recv_one(w->fd, &w->batch, w->cfg.use_pktinfo);
			w->pressure = false;
		} else {
			n = uk_batch_recv(w->fd, &w->batch);
			if (n > 1) {
				single = false;
				ones = 0;
				loaded = until_load;
			} else if (n == 1 && !single && ++ones >= 4) {
				single = true;
			}
			w->pressure = n == (int)w->batch.count && uk_echo_backlogged(w->fd);
		}
		if (atomic_load_explicit(stop, memory_order_relaxed))
			break; /* woken by uk_echo_worker_wake() */

		if (n == -EAGAIN || n == -EWOULDBLOCK || n == -ECONNREFUSED || n == -ENOBUFS ||
		    n == -ENOMEM)
			continue;
		if (n < 0)
			return n;
		serve(w, n, &next_ns);
		if (loaded)
			return 1; /* held replies stay held: the caller decides them */
	}
	/* Stopping: what is still held is decided as if its hold ran out. */
	if (w->held_count)
		uk_echo_send_held(w, UINT64_MAX, &next_ns);
	return 0;
}

int uk_echo_worker_run(struct uk_echo_worker *w, const atomic_bool *stop, int poll_ms)
{
	return worker_loop(w, stop, poll_ms, false);
}

int uk_echo_worker_run_sparse(struct uk_echo_worker *w, const atomic_bool *stop, int poll_ms)
{
	return worker_loop(w, stop, poll_ms, true);
}
