/* echo.h: the echo server's worker. One worker owns one socket (several
 * workers share a port through SO_REUSEPORT), its own guard and its own
 * counters: nothing is shared on the hot path. Modes:
 *   stamp    - reply "【<ctime>】<payload>" (the tutorial's server);
 *   pure     - RFC 862, the payload byte for byte;
 *   sockperf - answer sockperf clients: their messages with the CLIENT
 *              flag cleared; anything else is ignored. */
#ifndef UDPKIT_ECHO_H
#define UDPKIT_ECHO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "udpkit/batch.h"
#include "udpkit/clock.h"
#include "udpkit/guard.h"

enum uk_echo_mode { UK_ECHO_STAMP, UK_ECHO_PURE, UK_ECHO_SOCKPERF };

/* What happened to one datagram. */
enum uk_echo_outcome {
	UK_ECHO_REPLIED,
	UK_ECHO_TRUNCATED,    /* larger than max_size: detected, not answered */
	UK_ECHO_TOO_BIG,      /* the stamped reply would exceed a datagram */
	UK_ECHO_NOT_SOCKPERF, /* sockperf mode, not a sockperf request */
	UK_ECHO_SEND_FAILED,
	UK_ECHO_DROPPED, /* by the guard; see the verdict */
	UK_ECHO_HELD	 /* a possible loop: answered later, or dropped (guard.h) */
};

/* Datagrams a worker holds at once while it tells a loop from a client
 * that repeats itself (guard.h, cfg.hold); more suspects are dropped. */
#define UK_ECHO_HOLDS 8

/* The stamp prefix: "【" (3 bytes) + ctime (24) + "】" (3). */
#define UK_ECHO_STAMP_LEN (3 + UK_CTIME_LEN + 3)
#define UK_ECHO_MAX_DATAGRAM 65507

struct uk_echo_stats {
	uint64_t datagrams, bytes;
	uint64_t replies, reply_bytes;
	uint64_t truncated, too_big, not_sockperf, send_failed;
	uint64_t held; /* held as possible loops (then answered or dropped as loop) */
	uint64_t dropped[UK_VERDICT_COUNT];
	uint64_t sparse; /* io_uring worker: times it served sparse traffic with recvfrom */
};

struct uk_echo_worker;

/* Called after each batch, from the worker's thread, with one outcome and
 * verdict per received slot; the front-end prints from here. */
typedef void (*uk_echo_batch_cb)(void *user, const struct uk_batch *b, int n,
				 const uint8_t *outcomes, const uint8_t *verdicts);

struct uk_echo_cfg {
	enum uk_echo_mode mode;
	size_t max_size;  /* largest datagram answered */
	size_t batch;	  /* datagrams per system call */
	bool use_pktinfo; /* reply from the address the request hit */
	bool gso;	  /* a peer's equal replies in a batch as one GSO send */
	bool gro;	  /* io_uring backend: UDP_GRO on receive (pure and sockperf
			   * modes, max_size UK_ECHO_MAX_DATAGRAM; else ignored) */
	struct uk_guard_cfg guard;
	uk_echo_batch_cb on_batch; /* may be NULL */
};

struct uk_echo_worker {
	int fd;
	struct uk_echo_cfg cfg;
	struct uk_batch batch;
	struct uk_guard guard;
	struct uk_ctime_cache stamp_time;
	struct uk_echo_stats stats;
	/* Replies held by the loop rule, ready to send: slot i is in use when
	 * held_used[i]; its deadline is asked of the guard. */
	struct uk_batch held;
	bool held_used[UK_ECHO_HOLDS];
	unsigned held_count;
	bool pressure; /* the socket was backlogged at the last receive */
	/* UDP_GRO is on on fd (set by the io_uring backend): a receive may
	 * hold several datagrams, each served as its own (uk_batch_segments). */
	bool gro;
	/* The io_uring backend waits in its ring, which shutdown() does not
	 * wake: uk_echo_worker_wake() writes this eventfd when it is >= 0. */
	atomic_int wake_fd;
	void *user;
	uint8_t outcomes[UK_BATCH_MAX];
	uint8_t verdicts[UK_BATCH_MAX];
};

/* Prepares a worker for fd (owned by the caller). Returns 0 or -errno. */
int uk_echo_worker_init(struct uk_echo_worker *w, int fd, const struct uk_echo_cfg *cfg,
			void *user);
void uk_echo_worker_free(struct uk_echo_worker *w);

/* Serves until *stop becomes true. With poll_ms > 0 the flag is checked
 * at least every poll_ms; with 0 the worker blocks in the kernel until a
 * datagram comes or another thread sets *stop and calls
 * uk_echo_worker_wake(). Returns 0, or -errno on a socket error that is
 * not transient. */
int uk_echo_worker_run(struct uk_echo_worker *w, const atomic_bool *stop, int poll_ms);

/* uk_echo_worker_run() while traffic is sparse: returns 1 once a batch
 * brings more than one datagram (served; replies the guard holds stay in
 * w->held), 0 when *stop is set, -errno as uk_echo_worker_run(). The
 * io_uring worker serves sparse traffic with it (w->batch's slots must
 * point at its own memory: uk_batch_home()). */
int uk_echo_worker_run_sparse(struct uk_echo_worker *w, const atomic_bool *stop, int poll_ms);

/* Wakes a worker blocked in uk_echo_worker_run(); thread-safe. */
void uk_echo_worker_wake(struct uk_echo_worker *w);

/* Processes n received slots: decides, builds replies in place (a held
 * reply is copied aside). Exposed for tests; uk_echo_worker_run() calls it.
 * now_ns and wall_s are the clocks; w->pressure says whether the socket was
 * backlogged (the guard's share rule). */
void uk_echo_process(struct uk_echo_worker *w, int n, uint64_t now_ns, time_t wall_s);

/* The wall second uk_echo_process() needs: only the stamp reads it (0 in
 * the other modes, which saves a clock read per datagram on sparse
 * traffic). The backends pass uk_now_coarse_ns() as now_ns. */
time_t uk_echo_wall_s(const struct uk_echo_worker *w);

/* Decides the held replies: marks those to answer now in w->held (send
 * flag; uk_echo_worker_run() sends them and frees their slots with
 * uk_echo_held_sent()), counts the loops dropped. Returns how many are
 * marked; *next_ns is when to ask again (0 when nothing stays held). */
int uk_echo_resolve(struct uk_echo_worker *w, uint64_t now_ns, uint64_t *next_ns);

/* Frees the held slots that uk_echo_resolve() marked to send. */
void uk_echo_held_sent(struct uk_echo_worker *w);

/* For the I/O backends (lib/echo.c, lib/echo_uring.c): they move bytes,
 * uk_echo_process() decides. uk_echo_send_held() decides the held replies
 * (uk_echo_resolve()) and sends those due, with plain system calls (rare:
 * only suspected loops are held); *next_ns as uk_echo_resolve().
 * uk_echo_backlogged() says whether fd's receive queue holds more than
 * 1/64 of its buffer (the guard's share rule). */
void uk_echo_send_held(struct uk_echo_worker *w, uint64_t now_ns, uint64_t *next_ns);
bool uk_echo_backlogged(int fd);

/* The io_uring backend (lib/echo_uring.c): multishot recvmsg into a ring
 * of provided buffers, each reply a sendmsg from the buffer its request
 * arrived in, submitted in batches, the socket a registered file, single
 * issuer with deferred task work. */
struct uk_echo_uring;

/* Whether this kernel and process can run it: a throwaway ring does one
 * multishot recvmsg on a socketpair. 0, or -errno with *why a short
 * reason (io_uring disabled by sysctl or seccomp: EPERM/ENOSYS; a kernel
 * without provided-buffer rings or multishot recvmsg: EINVAL/EOPNOTSUPP). */
int uk_echo_uring_check(const char **why);

/* Sets up w's ring; call it on the thread that will run it (single
 * issuer). 0 or -errno (nothing is left allocated: the caller may fall
 * back to uk_echo_worker_run()). */
int uk_echo_uring_init(struct uk_echo_uring **u, struct uk_echo_worker *w);

/* Serves as uk_echo_worker_run() does, same contract. */
int uk_echo_uring_run(struct uk_echo_uring *u, struct uk_echo_worker *w, const atomic_bool *stop,
		      int poll_ms);
/* Frees u (NULL is fine). Only once the thread that ran it has ended:
 * until then uk_echo_worker_wake() may write to its eventfd. */
void uk_echo_uring_free(struct uk_echo_uring *u);

/* Room for the sender's address in a provided buffer: a sockaddr_in6,
 * rounded up so that the control data after it (cmsghdr) is aligned. */
#define UK_ECHO_URING_NAME_ROOM 32

/* Bytes in front of a provided buffer's payload for a given control
 * length: the recvmsg header and the sender's address. At least
 * UK_ECHO_STAMP_LEN, so the stamp is written in place there. */
size_t uk_echo_uring_headroom(size_t controllen);

/* Fills slot s from one multishot recvmsg completion: res bytes in buf
 * laid out as io_uring_recvmsg_out, name (namelen room), control
 * (controllen room), payload (max_size room). False when the layout is
 * inconsistent, or the control data would not be aligned for a cmsghdr (then
 * the slot must not be used). Pure: unit-tested and fuzzed. */
bool uk_echo_uring_slot(struct uk_batch_slot *s, unsigned char *buf, int res, size_t namelen,
			size_t controllen, size_t max_size);

/* Sums worker counters. */
void uk_echo_stats_add(struct uk_echo_stats *into, const struct uk_echo_stats *from);

#endif
