/* udpkit echo: the echo server (the tutorial's part 2.1 made real).
 * argv -> options -> one socket and one worker per thread -> per-datagram
 * lines on stdout, a summary on stderr at exit. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cli.h"
#include "opts.h"
#include "udpkit/activate.h"
#include "udpkit/echo.h"
#include "udpkit/err.h"
#include "udpkit/i18n.h"
#include "udpkit/parse.h"
#include "udpkit/sock.h"
#include "udpkit/text.h"

#define CMD "echo"
#define MAX_THREADS 64

/* In the order of enum uk_echo_mode. */
static const char *const modes[] = {"stamp", "pure", "sockperf", NULL};

/* In the order of enum echo_io. */
static const char *const ios[] = {"auto", "uring", "mmsg", NULL};
enum echo_io { IO_AUTO, IO_URING, IO_MMSG };

/* The rate limit before --rate-limit: none given. */
#define RATE_UNSET UINT64_MAX

struct echo_opts {
	struct uk_cli_target bind;
	int mode;   /* enum uk_echo_mode */
	int io;	    /* enum echo_io: asked for */
	bool uring; /* io_uring chosen (auto found it, or uring asked) */
	bool quiet, json;
	uint64_t threads;
	uint64_t max_size;
	uint64_t rate_pps;
	bool limit_loopback;
	const char *user; /* to run as when started as root; NULL = nobody */
};

/* The option table: cmd/echo/options.tsv, made C by cmd/options.awk. */
#define AT(member) offsetof(struct echo_opts, member)
#include "echo_options.h"

const struct uk_cmd_spec uk_spec_echo = {
    "echo",	 N_("UDP echo server (stamp, pure RFC 862, sockperf modes)"),
    "",		 N_("A UDP echo server. Prints each datagram with its sender, and replies."),
    options,	 N_("Exit status: 0 when stopped by a signal, 2 on errors (a port in use, ...)."),
    UK_COMP_NONE};

/* Per worker: its own output buffer, written with one write() per batch,
 * and the last peer's formatted address (benchmarks repeat one peer). */
struct echo_thread {
	struct uk_echo_worker worker;
	struct uk_echo_uring *uring; /* freed after the join: wake may still write to it */
	const struct echo_opts *opts;
	pthread_t tid;
	int rc;
	char *out;
	size_t out_len, out_cap;
	struct uk_addr last_peer;
	char last_peer_text[UK_ADDR_STRLEN];
	size_t last_peer_len;
};

static int parse_args(int argc, char **argv, struct echo_opts *o)
{
	int rc;

	*o = (struct echo_opts){.bind = {.host = "127.0.0.1", .port = 8080},
				.mode = UK_ECHO_STAMP,
				.threads = 1,
				.max_size = UK_ECHO_MAX_DATAGRAM,
				.rate_pps = RATE_UNSET};
	/* UDPKIT_ECHO_IO sets the default backend (the test suite runs the
	 * echo tests on each). */
	const char *io = getenv("UDPKIT_ECHO_IO");
	for (int i = 0; io && ios[i]; i++)
		if (strcmp(io, ios[i]) == 0)
			o->io = i;
	rc = uk_opts_parse(&uk_spec_echo, argc, argv, NULL, o);
	if (rc != UK_CONTINUE)
		return rc;
	if (o->quiet && o->json)
		return uk_cli_usage_error(CMD, _("--quiet and --json exclude each other"));
	/* sockperf mode is a benchmark target: one client sends as fast as it
	 * can, so a per-source limit would stall it. Only when asked for. */
	if (o->rate_pps == RATE_UNSET)
		o->rate_pps = o->mode == UK_ECHO_SOCKPERF ? 0 : UK_GUARD_DEFAULT_RATE;
	return UK_CONTINUE;
}

static void out_flush(struct echo_thread *t)
{
	size_t done = 0;
	while (done < t->out_len) {
		ssize_t n = write(STDOUT_FILENO, t->out + done, t->out_len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* stdout gone: drop the lines, keep serving */
		done += (size_t)n;
	}
	t->out_len = 0;
}

static void out_put(struct echo_thread *t, const char *s, size_t n)
{
	if (t->out_len + n > t->out_cap)
		out_flush(t);
	if (n > t->out_cap)
		n = t->out_cap;
	memcpy(t->out + t->out_len, s, n);
	t->out_len += n;
}

static void out_str(struct echo_thread *t, const char *s)
{
	out_put(t, s, strlen(s));
}

static void out_u64(struct echo_thread *t, uint64_t v)
{
	char digits[24];
	int i = (int)sizeof(digits);
	do {
		digits[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	out_put(t, digits + i, sizeof(digits) - (size_t)i);
}

/* Escaped payload straight into the buffer; JSON-escaped too when asked. */
static void out_payload(struct echo_thread *t, const unsigned char *p, size_t len, bool json)
{
	size_t need = UK_ESCAPE_SIZE(len) * (json ? 6 : 1);
	int n;

	if (t->out_len + need > t->out_cap)
		out_flush(t);
	if (!json) {
		n = uk_text_escape(p, len, t->out + t->out_len, t->out_cap - t->out_len);
		if (n > 0)
			t->out_len += (size_t)n;
		return;
	}
	char *tmp = malloc(UK_ESCAPE_SIZE(len));
	if (!tmp)
		return;
	n = uk_text_escape(p, len, tmp, UK_ESCAPE_SIZE(len));
	if (n >= 0)
		n = uk_json_escape(tmp, (size_t)n, t->out + t->out_len, t->out_cap - t->out_len);
	if (n > 0)
		t->out_len += (size_t)n;
	free(tmp);
}

static const char *outcome_text(uint8_t outcome, uint8_t verdict)
{
	switch (outcome) {
	case UK_ECHO_REPLIED:
		return "replied";
	case UK_ECHO_TRUNCATED:
		return "truncated";
	case UK_ECHO_TOO_BIG:
		return "too_big";
	case UK_ECHO_NOT_SOCKPERF:
		return "not_sockperf";
	case UK_ECHO_SEND_FAILED:
		return "send_failed";
	case UK_ECHO_HELD:
		return "held";
	default:
		return uk_verdict_name(verdict);
	}
}

static void on_batch(void *user, const struct uk_batch *b, int n, const uint8_t *outcomes,
		     const uint8_t *verdicts)
{
	struct echo_thread *t = user;
	bool json = t->opts->json;

	for (int i = 0; i < n; i++) {
		const struct uk_batch_slot *s = &b->slots[i];
		if (!uk_addr_equal(&s->peer, &t->last_peer) || t->last_peer_len == 0) {
			t->last_peer = s->peer;
			uk_addr_format(&s->peer, t->last_peer_text, sizeof(t->last_peer_text));
			t->last_peer_len = strlen(t->last_peer_text);
		}
		if (json) {
			out_str(t, "{\"schema_version\":1,\"event\":\"datagram\",\"from\":\"");
			out_put(t, t->last_peer_text, t->last_peer_len);
			out_str(t, "\",\"bytes\":");
			out_u64(t, s->wire_len);
			out_str(t, ",\"outcome\":\"");
			out_str(t, outcomes[i] == UK_ECHO_DROPPED ? "dropped"
								  : outcome_text(outcomes[i], 0));
			if (outcomes[i] == UK_ECHO_DROPPED) {
				out_str(t, "\",\"rule\":\"");
				out_str(t, uk_verdict_name(verdicts[i]));
			}
			out_str(t, "\",\"text\":\"");
			out_payload(t, s->data, s->len, true);
			out_str(t, "\"}\n");
			continue;
		}
		out_put(t, t->last_peer_text, t->last_peer_len);
		out_str(t, " ");
		out_u64(t, s->wire_len);
		out_str(t, " bytes: ");
		if (outcomes[i] == UK_ECHO_TRUNCATED) {
			out_str(t, "[truncated: larger than --max-size ");
			out_u64(t, t->opts->max_size);
			out_str(t, ", not answered] ");
		} else if (outcomes[i] != UK_ECHO_REPLIED) {
			out_str(t, "[not answered: ");
			out_str(t, outcome_text(outcomes[i], verdicts[i]));
			out_str(t, "] ");
		}
		out_payload(t, s->data, s->len, false);
		out_str(t, "\n");
	}
	out_flush(t);
}

static void *worker_main(void *arg)
{
	struct echo_thread *t = arg;

	/* The ring is made on the thread that uses it (single issuer). */
	if (t->opts->uring) {
		int rc = uk_echo_uring_init(&t->uring, &t->worker);
		if (rc == 0) {
			t->rc = uk_echo_uring_run(t->uring, &t->worker, &uk_cli_stop, 0);
			goto done;
		}
		if (t->opts->io == IO_URING) {
			t->rc = rc;
			goto done;
		}
		fprintf(stderr,
			_("udpkit echo: io_uring: %s; this worker uses recvmmsg/sendmmsg\n"),
			strerror(-rc));
	}
	t->rc = uk_echo_worker_run(&t->worker, &uk_cli_stop, 0);
done:
	if (t->rc < 0)
		atomic_store(&uk_cli_stop, true);
	return NULL;
}

static void print_summary(const struct uk_echo_stats *s)
{
	fprintf(stderr, _("udpkit echo: %llu %s (%llu %s) received, %llu %s (%llu %s) sent\n"),
		(unsigned long long)s->datagrams,
		uk_cli_plural(s->datagrams, "datagram", "datagrams"), (unsigned long long)s->bytes,
		uk_cli_plural(s->bytes, "byte", "bytes"), (unsigned long long)s->replies,
		uk_cli_plural(s->replies, "reply", "replies"), (unsigned long long)s->reply_bytes,
		uk_cli_plural(s->reply_bytes, "byte", "bytes"));
	fprintf(
	    stderr,
	    _("udpkit echo: not answered: %llu truncated, %llu too big, %llu not sockperf, "
	      "%llu send failed\n"
	      "udpkit echo: dropped by rule: %llu badsrc, %llu service, %llu lowport, %llu loop, "
	      "%llu rate, %llu share; %llu held as possible loops\n"),
	    (unsigned long long)s->truncated, (unsigned long long)s->too_big,
	    (unsigned long long)s->not_sockperf, (unsigned long long)s->send_failed,
	    (unsigned long long)s->dropped[UK_DROP_BADSRC],
	    (unsigned long long)s->dropped[UK_DROP_SERVICE],
	    (unsigned long long)s->dropped[UK_DROP_LOWPORT],
	    (unsigned long long)s->dropped[UK_DROP_LOOP],
	    (unsigned long long)s->dropped[UK_DROP_RATE],
	    (unsigned long long)s->dropped[UK_DROP_SHARE], (unsigned long long)s->held);
	if (s->sparse)
		fprintf(stderr,
			_("udpkit echo: io_uring: served sparse traffic with recvfrom/sendto %llu "
			  "%s\n"),
			(unsigned long long)s->sparse, uk_cli_plural(s->sparse, "time", "times"));
}

/* The server: its options, one socket and worker per thread. */
struct echo_server {
	struct echo_opts o;
	struct echo_thread *threads;
	struct uk_addr local;
	unsigned started, opened;
};

/* A port in use is the common failure: say what to change and how to see
 * who holds the port. */
static int bind_failed(const struct echo_server *E, int err)
{
	char text[UK_ADDR_STRLEN];

	uk_cli_fail(CMD, uk_addr_format(&E->local, text, sizeof(text)), err);
	if (err == -EADDRINUSE)
		fprintf(stderr,
			_("udpkit echo: choose another port with -p PORT (-p 0 picks a free one); "
			  "'ss -ulpn sport = :%u' shows who holds this one\n"),
			(unsigned)uk_addr_port(&E->local));
	return UK_EXIT_ERROR;
}

/* One worker on socket fd: its output buffer and the worker itself. */
static int worker_open(struct echo_server *E, struct echo_thread *t, int fd,
		       struct uk_echo_cfg *cfg)
{
	const struct echo_opts *o = &E->o;

	t->opts = o;
	if (!o->quiet) {
		t->out_cap = UK_ESCAPE_SIZE(o->max_size) * 6 + 4096;
		t->out = malloc(t->out_cap);
	}
	if ((!o->quiet && !t->out) || uk_echo_worker_init(&t->worker, fd, cfg, t) < 0) {
		close(fd);
		return uk_cli_fail(CMD, _("memory"), -ENOMEM);
	}
	return UK_CONTINUE;
}

static struct uk_echo_cfg worker_cfg(const struct echo_opts *o)
{
	/* UDPKIT_ECHO_GSO=0 turns GSO replies off, UDPKIT_ECHO_GRO=0 UDP_GRO
	 * on receive (make bench compares). */
	const char *gso = getenv("UDPKIT_ECHO_GSO"), *gro = getenv("UDPKIT_ECHO_GRO");

	return (struct uk_echo_cfg){
	    .gso = !gso || strcmp(gso, "0") != 0,
	    .gro = !gro || strcmp(gro, "0") != 0,
	    .mode = (enum uk_echo_mode)o->mode,
	    .max_size = o->max_size,
	    .batch = 32,
	    .guard = {.rate_pps = (uint32_t)o->rate_pps, .limit_loopback = o->limit_loopback},
	    .on_batch = (o->quiet ? NULL : on_batch)};
}

/* Socket activation (systemd's udpkit-echo.socket): one worker per socket
 * the service manager bound, whatever -b, -p and -T say; each socket's
 * address is printed as when we bind it ourselves. */
static int echo_open_inherited(struct echo_server *E, const int *fds, int n)
{
	struct uk_echo_cfg cfg = worker_cfg(&E->o);

	E->o.threads = (uint64_t)n;
	E->threads = calloc((size_t)n, sizeof(*E->threads));
	if (!E->threads)
		return uk_cli_fail(CMD, _("memory"), -ENOMEM);
	for (; E->opened < (unsigned)n; E->opened++) {
		int fd = fds[E->opened];
		struct uk_sock_opts so = {
		    .pktinfo = uk_sock_is_wildcard(fd), .v6only = -1, .rcvbuf_bytes = 4 << 20};
		int rc = uk_sock_adopt(fd, &so);
		if (rc < 0) {
			close(fd);
			return uk_cli_fail(CMD, _("socket from the service manager"), rc);
		}
		cfg.use_pktinfo = so.pktinfo;
		if ((rc = worker_open(E, &E->threads[E->opened], fd, &cfg)) != UK_CONTINUE)
			return rc;
		uk_cli_print_bound(fd);
	}
	return UK_CONTINUE;
}

/* Picks the I/O backend and says which, once, at start. */
static int choose_io(struct echo_opts *o)
{
	const char *why = "not asked for";
	int rc = o->io == IO_MMSG ? -EINVAL : uk_echo_uring_check(&why);

	o->uring = rc == 0;
	if (o->io == IO_URING && rc < 0) {
		fprintf(stderr, _("udpkit echo: --io uring: %s (%s)\n"), why, strerror(-rc));
		return UK_EXIT_ERROR;
	}
	if (o->uring)
		fprintf(stderr, _("udpkit echo: io: io_uring (%s)\n"), why);
	else
		fprintf(stderr, _("udpkit echo: io: recvmmsg/sendmmsg (io_uring: %s)\n"), why);
	return UK_CONTINUE;
}

static int echo_open(struct echo_server *E)
{
	const struct echo_opts *o = &E->o;
	struct uk_echo_cfg cfg;
	int inherited[UK_ACTIVATE_MAX_FDS];
	int rc = uk_activate_listen_fds(inherited, UK_ACTIVATE_MAX_FDS);

	if (rc < 0)
		return uk_cli_fail(CMD, _("sockets from the service manager"), rc);
	if (choose_io(&E->o) != UK_CONTINUE)
		return UK_EXIT_ERROR;
	if (rc > 0)
		return echo_open_inherited(E, inherited, rc);
	rc = uk_cli_target_resolve(&o->bind, AF_UNSPEC, &E->local);
	if (rc != UK_CONTINUE)
		return rc;
	E->threads = calloc(o->threads, sizeof(*E->threads));
	if (!E->threads)
		return uk_cli_fail(CMD, _("memory"), -ENOMEM);
	cfg = worker_cfg(o);
	for (; E->opened < o->threads; E->opened++) {
		/* pktinfo costs a control message per datagram: only a wildcard
		 * socket needs it, to answer from the address that was asked. */
		struct uk_sock_opts so = {.reuse_port = o->threads > 1,
					  .pktinfo = uk_addr_is_unspecified(&E->local),
					  .v6only = -1,
					  .rcvbuf_bytes = 4 << 20};
		int fd = uk_sock_open(&E->local, &so);
		if (fd < 0)
			return bind_failed(E, fd);
		/* Port 0: the first socket picked a port; the others share it. */
		if (E->opened == 0 && uk_sock_local(fd, &E->local) < 0) {
			close(fd);
			return uk_cli_fail(CMD, _("getsockname"), -errno);
		}
		cfg.use_pktinfo = uk_addr_is_unspecified(&E->local);
		if ((rc = worker_open(E, &E->threads[E->opened], fd, &cfg)) != UK_CONTINUE)
			return rc;
	}
	if (uk_cli_drop_privileges(CMD, E->o.user) < 0)
		return UK_EXIT_ERROR;
	uk_cli_print_bound(E->threads[0].worker.fd);
	return UK_CONTINUE;
}

/* Starts the workers and waits for a signal. Returns an exit status. */
static int echo_run(struct echo_server *E)
{
	sigset_t block, old;
	int rc = UK_EXIT_OK;

	/* Workers must not take the signals: block them, start, unblock here. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (; E->started < E->o.threads; E->started++)
		if (pthread_create(&E->threads[E->started].tid, NULL, worker_main,
				   &E->threads[E->started]) != 0)
			break;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (E->started < E->o.threads)
		atomic_store(&uk_cli_stop, true);
	else
		(void)uk_activate_notify("READY=1"); /* Type=notify units: serving now */
	while (!atomic_load(&uk_cli_stop)) {
		uint64_t v;
		struct timespec ts = {0, 100L * 1000 * 1000};
		if (read(uk_cli_stop_fd, &v, sizeof(v)) < 0)
			nanosleep(&ts, NULL);
	}
	(void)uk_activate_notify("STOPPING=1");
	for (unsigned i = 0; i < E->started; i++)
		uk_echo_worker_wake(&E->threads[i].worker);
	for (unsigned i = 0; i < E->started; i++) {
		pthread_join(E->threads[i].tid, NULL);
		if (E->threads[i].rc < 0) {
			uk_cli_fail(CMD, _("receive"), E->threads[i].rc);
			rc = UK_EXIT_ERROR;
		}
	}
	return rc;
}

static void echo_close(struct echo_server *E)
{
	for (unsigned i = 0; i < E->opened; i++) {
		uk_echo_uring_free(E->threads[i].uring);
		close(E->threads[i].worker.fd);
		uk_echo_worker_free(&E->threads[i].worker);
		free(E->threads[i].out);
	}
	free(E->threads);
}

int uk_cmd_echo(int argc, char **argv)
{
	struct echo_server E = {0};
	int rc = parse_args(argc, argv, &E.o);

	/* Caught before "bound on" is printed: whoever starts us may stop us
	 * as soon as it reads that line (a SIGTERM in between killed the
	 * process, status -15, in a CI run); the run loop then sees the flag
	 * and ends with the usual summary. */
	if (rc == UK_CONTINUE) {
		uk_cli_catch_signals();
		rc = echo_open(&E);
	}
	if (rc == UK_CONTINUE) {
		struct uk_echo_stats total = {0};
		rc = echo_run(&E);
		for (unsigned i = 0; i < E.opened; i++)
			uk_echo_stats_add(&total, &E.threads[i].worker.stats);
		print_summary(&total);
	}
	echo_close(&E);
	return rc;
}
