/* udpkit echo: the echo server (the tutorial's part 2.1 made real).
 * argv -> options -> one socket and one worker per thread -> per-datagram
 * lines on stdout, a summary on stderr at exit. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cli.h"
#include "udpkit/echo.h"
#include "udpkit/err.h"
#include "udpkit/parse.h"
#include "udpkit/sock.h"
#include "udpkit/text.h"

#define CMD "echo"
#define MAX_THREADS 64

struct echo_opts {
	const char *bind_host;
	uint16_t port;
	enum uk_echo_mode mode;
	bool quiet, json;
	unsigned threads;
	size_t max_size;
	uint32_t rate_pps;
	bool limit_loopback;
	const char *user; /* to run as when started as root; NULL = nobody */
};

/* Per worker: its own output buffer, written with one write() per batch,
 * and the last peer's formatted address (benchmarks repeat one peer). */
struct echo_thread {
	struct uk_echo_worker worker;
	const struct echo_opts *opts;
	pthread_t tid;
	int rc;
	char *out;
	size_t out_len, out_cap;
	struct uk_addr last_peer;
	char last_peer_text[UK_ADDR_STRLEN];
	size_t last_peer_len;
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: udpkit echo [-q] [-b addr] [-p port] [-m mode] [-t threads] [-u user]\n"
	    "                   [--json] [--max-size bytes] [--rate-limit pps] [--limit-loopback]\n"
	    "\n"
	    "A UDP echo server. Prints each datagram with its sender, and replies.\n"
	    "\n"
	    "  -b, --bind ADDR        address to bind (default 127.0.0.1; :: or 0.0.0.0 for all)\n"
	    "  -p, --port PORT        port to bind (default 8080; 0 picks a free port)\n"
	    "  -m, --mode MODE        stamp (reply \"【ctime】text\", default), pure (RFC 862,\n"
	    "                         byte for byte) or sockperf (answer sockperf clients)\n"
	    "  -q, --quiet            no per-datagram lines\n"
	    "  -t, --threads N        workers, each with its own SO_REUSEPORT socket (default 1)\n"
	    "      --json             per-datagram lines as NDJSON\n"
	    "      --max-size BYTES   largest datagram answered (default 65507)\n"
	    "      --rate-limit PPS   replies per second per source (default 1000; 0 = off)\n"
	    "      --limit-loopback   apply the rate limit to loopback sources too\n"
	    "  -u, --user USER        started as root: run as USER once bound (default nobody)\n"
	    "  -h, --help             this help\n");
}

static int parse_args(int argc, char **argv, struct echo_opts *o)
{
	static const struct option longopts[] = {{"bind", required_argument, NULL, 'b'},
						 {"port", required_argument, NULL, 'p'},
						 {"mode", required_argument, NULL, 'm'},
						 {"quiet", no_argument, NULL, 'q'},
						 {"threads", required_argument, NULL, 't'},
						 {"json", no_argument, NULL, 'J'},
						 {"max-size", required_argument, NULL, 'S'},
						 {"rate-limit", required_argument, NULL, 'R'},
						 {"limit-loopback", no_argument, NULL, 'L'},
						 {"user", required_argument, NULL, 'u'},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	uint64_t v;
	int c;

	*o = (struct echo_opts){.bind_host = "127.0.0.1",
				.port = 8080,
				.mode = UK_ECHO_STAMP,
				.threads = 1,
				.max_size = UK_ECHO_MAX_DATAGRAM,
				.rate_pps = UK_GUARD_DEFAULT_RATE};
	optind = 1;
	while ((c = getopt_long(argc, argv, "b:p:m:qt:u:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			o->bind_host = optarg;
			break;
		case 'p':
			if (uk_cli_port(CMD, optarg, &o->port, true) < 0)
				return -1;
			break;
		case 'm':
			if (strcmp(optarg, "stamp") == 0)
				o->mode = UK_ECHO_STAMP;
			else if (strcmp(optarg, "pure") == 0)
				o->mode = UK_ECHO_PURE;
			else if (strcmp(optarg, "sockperf") == 0)
				o->mode = UK_ECHO_SOCKPERF;
			else
				return uk_cli_usage_error(
					   CMD, "unknown mode '%s' (stamp, pure, sockperf)",
					   optarg),
				       -1;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 't':
			if (uk_parse_u64(optarg, 1, MAX_THREADS, &v) < 0)
				return uk_cli_usage_error(CMD, "--threads takes 1..%d",
							  MAX_THREADS),
				       -1;
			o->threads = (unsigned)v;
			break;
		case 'J':
			o->json = true;
			break;
		case 'S':
			if (uk_parse_u64(optarg, 1, UK_ECHO_MAX_DATAGRAM, &v) < 0)
				return uk_cli_usage_error(CMD, "--max-size takes 1..%d",
							  UK_ECHO_MAX_DATAGRAM),
				       -1;
			o->max_size = (size_t)v;
			break;
		case 'R':
			if (uk_parse_u64(optarg, 0, 10000000, &v) < 0)
				return uk_cli_usage_error(CMD, "--rate-limit takes 0..10000000"),
				       -1;
			o->rate_pps = (uint32_t)v;
			break;
		case 'L':
			o->limit_loopback = true;
			break;
		case 'u':
			o->user = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(UK_EXIT_OK);
		default:
			return uk_cli_usage_error(CMD, "unknown option"), -1;
		}
	}
	if (optind != argc)
		return uk_cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]), -1;
	if (o->quiet && o->json)
		return uk_cli_usage_error(CMD, "--quiet and --json exclude each other"), -1;
	return 0;
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
			out_str(t, "{\"from\":\"");
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
	t->rc = uk_echo_worker_run(&t->worker, &uk_cli_stop, 0);
	if (t->rc < 0)
		atomic_store(&uk_cli_stop, true);
	return NULL;
}

static void print_summary(const struct uk_echo_stats *s)
{
	fprintf(
	    stderr,
	    "udpkit echo: %llu datagrams (%llu bytes) received, %llu replies (%llu bytes) sent\n"
	    "udpkit echo: not answered: %llu truncated, %llu too big, %llu not sockperf, "
	    "%llu send failed\n"
	    "udpkit echo: dropped by rule: %llu badsrc, %llu service, %llu lowport, %llu loop, "
	    "%llu rate, %llu share; %llu held as possible loops\n",
	    (unsigned long long)s->datagrams, (unsigned long long)s->bytes,
	    (unsigned long long)s->replies, (unsigned long long)s->reply_bytes,
	    (unsigned long long)s->truncated, (unsigned long long)s->too_big,
	    (unsigned long long)s->not_sockperf, (unsigned long long)s->send_failed,
	    (unsigned long long)s->dropped[UK_DROP_BADSRC],
	    (unsigned long long)s->dropped[UK_DROP_SERVICE],
	    (unsigned long long)s->dropped[UK_DROP_LOWPORT],
	    (unsigned long long)s->dropped[UK_DROP_LOOP],
	    (unsigned long long)s->dropped[UK_DROP_RATE],
	    (unsigned long long)s->dropped[UK_DROP_SHARE], (unsigned long long)s->held);
}

int uk_cmd_echo(int argc, char **argv)
{
	struct echo_opts o;
	struct echo_thread *threads = NULL;
	struct uk_addr local;
	struct uk_echo_stats total = {0};
	struct uk_echo_cfg cfg;
	sigset_t block, old;
	unsigned started = 0, opened = 0;
	int rc = UK_EXIT_FAIL;

	if (parse_args(argc, argv, &o) < 0)
		return UK_EXIT_USAGE;
	if (uk_cli_resolve(CMD, o.bind_host, o.port, AF_UNSPEC, &local) < 0)
		return UK_EXIT_FAIL;
	threads = calloc(o.threads, sizeof(*threads));
	if (!threads)
		return uk_cli_fail(CMD, "memory", -ENOMEM);

	cfg = (struct uk_echo_cfg){
	    .mode = o.mode,
	    .max_size = o.max_size,
	    .batch = 32,
	    .guard = {.rate_pps = o.rate_pps, .limit_loopback = o.limit_loopback},
	    .on_batch = (o.quiet ? NULL : on_batch)};
	for (unsigned i = 0; i < o.threads; i++, opened++) {
		/* pktinfo costs a control message per datagram: only a wildcard
		 * socket needs it, to answer from the address that was asked. */
		struct uk_sock_opts so = {.reuse_port = o.threads > 1,
					  .pktinfo = uk_addr_is_unspecified(&local),
					  .v6only = -1,
					  .rcvbuf_bytes = 4 << 20};
		int fd = uk_sock_open(&local, &so);
		if (fd < 0) {
			char text[UK_ADDR_STRLEN];
			uk_cli_fail(CMD, uk_addr_format(&local, text, sizeof(text)), fd);
			goto fail;
		}
		/* Port 0: the first socket picked a port; the others share it. */
		if (i == 0 && uk_sock_local(fd, &local) < 0) {
			close(fd);
			goto fail;
		}
		cfg.use_pktinfo = uk_addr_is_unspecified(&local);
		threads[i].opts = &o;
		if (!o.quiet) {
			threads[i].out_cap = UK_ESCAPE_SIZE(o.max_size) * 6 + 4096;
			threads[i].out = malloc(threads[i].out_cap);
		}
		if ((!o.quiet && !threads[i].out) ||
		    uk_echo_worker_init(&threads[i].worker, fd, &cfg, &threads[i]) < 0) {
			close(fd);
			uk_cli_fail(CMD, "memory", -ENOMEM);
			goto fail;
		}
	}
	if (uk_cli_drop_privileges(CMD, o.user) < 0)
		goto fail;
	uk_cli_print_bound(threads[0].worker.fd);

	/* Workers must not take the signals: block them, start, unblock here. */
	uk_cli_catch_signals();
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (; started < o.threads; started++)
		if (pthread_create(&threads[started].tid, NULL, worker_main, &threads[started]) !=
		    0)
			break;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (started < o.threads)
		atomic_store(&uk_cli_stop, true);
	while (!atomic_load(&uk_cli_stop)) {
		uint64_t v;
		struct timespec ts = {0, 100L * 1000 * 1000};
		if (read(uk_cli_stop_fd, &v, sizeof(v)) < 0)
			nanosleep(&ts, NULL);
	}
	rc = UK_EXIT_OK;
	for (unsigned i = 0; i < started; i++)
		uk_echo_worker_wake(&threads[i].worker);
	for (unsigned i = 0; i < started; i++) {
		pthread_join(threads[i].tid, NULL);
		if (threads[i].rc < 0) {
			uk_cli_fail(CMD, "receive", threads[i].rc);
			rc = UK_EXIT_FAIL;
		}
	}
	for (unsigned i = 0; i < opened; i++)
		uk_echo_stats_add(&total, &threads[i].worker.stats);
	print_summary(&total);
fail:
	for (unsigned i = 0; i < opened; i++) {
		close(threads[i].worker.fd);
		uk_echo_worker_free(&threads[i].worker);
		free(threads[i].out);
	}
	free(threads);
	return rc;
}
