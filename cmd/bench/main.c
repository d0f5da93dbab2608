/* udpkit bench: a load generator for UDP echo servers. Closed loop (a
 * window of probes in flight, each reply triggering the next) or a fixed
 * rate, over one or more connected sockets, with recvmmsg/sendmmsg.
 * Probes are the ping's (include/udpkit/probe.h), so it drives
 * `sockperf server` as well as plain and stamping echo servers. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

#include "cli.h"
#include "udpkit/clock.h"
#include "udpkit/err.h"
#include "udpkit/parse.h"
#include "udpkit/probe.h"
#include "udpkit/sock.h"
#include "udpkit/stats.h"
#include "udpkit/track.h"

#define CMD "bench"
#define BATCH 64
#define REPLY_CAP 65536
#define MAX_FLOWS 64

struct bench_opts {
	const char *host;
	uint16_t port;
	int family;
	unsigned window;
	uint64_t rate_pps; /* 0 = closed loop */
	uint64_t duration_ns;
	uint64_t timeout_ns;
	size_t size;
	unsigned flows;
	bool json, quiet;
};

struct flow {
	int fd;
	struct uk_track track;
	unsigned char *probes;	/* BATCH probes of size bytes */
	unsigned char *replies; /* BATCH replies of REPLY_CAP bytes */
	struct mmsghdr out[BATCH], in[BATCH];
	struct iovec out_iov[BATCH], in_iov[BATCH];
};

/* At the end sent == received + lost exactly: every probe that left is
 * either answered in time or counted lost once (timed out, still waiting
 * at the end, or pushed out of the tracker by newer probes). Probes whose
 * send failed are taken back and counted as unsent, not as sent. */
struct bench_counts {
	uint64_t sent, unsent, received, dups, late, lost, foreign, send_errors, refused;
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: udpkit bench [-46q] [-w window | --rate pps] [-d seconds] [-s size]\n"
	    "                    [-W timeout] [--flows n] [--json] host [port]\n"
	    "\n"
	    "Loads a UDP echo server and reports echoes/s, loss, latency percentiles\n"
	    "and its own CPU time per echo.\n"
	    "\n"
	    "  -w, --window N         closed loop: N probes in flight per flow (default 64)\n"
	    "      --rate PPS         open loop: send PPS probes per second in all\n"
	    "  -d, --duration SECONDS how long to send (default 5)\n"
	    "  -s, --size BYTES       datagram size, %d..65507 (default 64)\n"
	    "  -W, --timeout SECONDS  a probe without reply after this long is lost (default 1)\n"
	    "      --flows N          sockets (source ports) to spread the load over (default 1)\n"
	    "  -q, --quiet            no progress line\n"
	    "  -4, --ipv4             use IPv4 only\n"
	    "  -6, --ipv6             use IPv6 only\n"
	    "      --json             the result as one JSON object\n"
	    "  -h, --help             this help\n",
	    UK_PROBE_MIN_SIZE);
}

static int parse_args(int argc, char **argv, struct bench_opts *o)
{
	static const struct option longopts[] = {
	    {"window", required_argument, NULL, 'w'},	{"rate", required_argument, NULL, 'R'},
	    {"duration", required_argument, NULL, 'd'}, {"size", required_argument, NULL, 's'},
	    {"timeout", required_argument, NULL, 'W'},	{"flows", required_argument, NULL, 'F'},
	    {"quiet", no_argument, NULL, 'q'},		{"ipv4", no_argument, NULL, '4'},
	    {"ipv6", no_argument, NULL, '6'},		{"json", no_argument, NULL, 'J'},
	    {"help", no_argument, NULL, 'h'},		{NULL, 0, NULL, 0}};
	uint64_t v;
	bool window_set = false;
	int c;

	*o = (struct bench_opts){.port = 8080,
				 .family = AF_UNSPEC,
				 .window = 64,
				 .duration_ns = 5 * UK_NS_PER_SEC,
				 .timeout_ns = UK_NS_PER_SEC,
				 .size = 64,
				 .flows = 1};
	optind = 1;
	while ((c = getopt_long(argc, argv, "w:d:s:W:q46h", longopts, NULL)) != -1) {
		switch (c) {
		case 'w':
			if (uk_parse_u64(optarg, 1, 4096, &v) < 0)
				return uk_cli_usage_error(CMD, "--window takes 1..4096"), -1;
			o->window = (unsigned)v;
			window_set = true;
			break;
		case 'R':
			if (uk_parse_u64(optarg, 1, 100000000, &o->rate_pps) < 0)
				return uk_cli_usage_error(CMD, "--rate takes 1..100000000"), -1;
			break;
		case 'd':
			if (uk_parse_duration(optarg, UK_NS_PER_SEC, 10 * UK_NS_PER_MS,
					      86400 * UK_NS_PER_SEC, &o->duration_ns) < 0)
				return uk_cli_usage_error(CMD, "invalid --duration '%s'", optarg),
				       -1;
			break;
		case 's':
			if (uk_parse_u64(optarg, UK_PROBE_MIN_SIZE, 65507, &v) < 0)
				return uk_cli_usage_error(CMD, "--size takes %d..65507",
							  UK_PROBE_MIN_SIZE),
				       -1;
			o->size = (size_t)v;
			break;
		case 'W':
			if (uk_parse_duration(optarg, UK_NS_PER_SEC, UK_NS_PER_MS,
					      3600 * UK_NS_PER_SEC, &o->timeout_ns) < 0)
				return uk_cli_usage_error(CMD, "invalid --timeout '%s'", optarg),
				       -1;
			break;
		case 'F':
			if (uk_parse_u64(optarg, 1, MAX_FLOWS, &v) < 0)
				return uk_cli_usage_error(CMD, "--flows takes 1..%d", MAX_FLOWS),
				       -1;
			o->flows = (unsigned)v;
			break;
		case 'q':
			o->quiet = true;
			break;
		case '4':
			o->family = AF_INET;
			break;
		case '6':
			o->family = AF_INET6;
			break;
		case 'J':
			o->json = true;
			break;
		case 'h':
			usage(stdout);
			exit(UK_EXIT_OK);
		default:
			return uk_cli_usage_error(CMD, "unknown option"), -1;
		}
	}
	if (window_set && o->rate_pps)
		return uk_cli_usage_error(CMD, "--window and --rate exclude each other"), -1;
	return uk_cli_host_port(CMD, argc, argv, true, &o->host, &o->port);
}

static int flow_open(struct flow *f, const struct uk_addr *peer, const struct bench_opts *o,
		     bool block)
{
	struct uk_sock_opts so = {
	    .nonblock = !block, .v6only = -1, .rcvbuf_bytes = 4 << 20, .sndbuf_bytes = 4 << 20};
	struct timeval tv = {.tv_sec = 0, .tv_usec = 10000};
	int rc;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
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
	for (int i = 0; i < BATCH; i++) {
		f->in_iov[i] = (struct iovec){f->replies + (size_t)i * REPLY_CAP, REPLY_CAP};
		f->in[i].msg_hdr = (struct msghdr){.msg_iov = &f->in_iov[i], .msg_iovlen = 1};
		f->out_iov[i] = (struct iovec){f->probes + (size_t)i * o->size, o->size};
		f->out[i].msg_hdr = (struct msghdr){.msg_iov = &f->out_iov[i], .msg_iovlen = 1};
	}
	return 0;
}

static void flow_close(struct flow *f)
{
	if (f->fd >= 0)
		close(f->fd);
	uk_track_free(&f->track);
	free(f->probes);
	free(f->replies);
}

/* Sends n probes (n <= BATCH) in one sendmmsg. Returns how many left. */
static unsigned flow_send(struct flow *f, unsigned n, const struct uk_probe_fmt *fmt,
			  struct bench_counts *c)
{
	uint64_t now = uk_now_ns();
	unsigned done = 0;
	int rc;

	for (unsigned i = 0; i < n; i++) {
		bool evicted;
		uk_probe_build(fmt, uk_track_sent(&f->track, now, &evicted),
			       f->out_iov[i].iov_base);
		/* A probe still unanswered when 65536 newer ones were sent
		 * leaves the tracker: it is lost (a reply to it would be late). */
		c->lost += evicted;
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

/* Receives what is waiting on a flow; returns new replies (>= 0). With
 * block, waits for the first datagram (up to the socket's SO_RCVTIMEO):
 * one flow needs no poll(), whose extra wake-up would add to every RTT. */
static int flow_recv(struct flow *f, const struct uk_probe_fmt *fmt, struct bench_counts *c,
		     struct uk_stats_hist *h, bool block)
{
	int n, fresh = 0;
	uint64_t now;

	for (int i = 0; i < BATCH; i++)
		f->in[i].msg_hdr.msg_flags = 0;
	n = recvmmsg(f->fd, f->in, BATCH, block ? MSG_WAITFORONE : MSG_DONTWAIT, NULL);
	if (n < 0) {
		if (errno == ECONNREFUSED)
			c->refused++;
		return 0;
	}
	now = uk_now_ns();
	for (int i = 0; i < n; i++) {
		uint64_t seq56;
		struct uk_track_result r;
		if (uk_probe_parse(fmt, f->in_iov[i].iov_base, f->in[i].msg_len, &seq56) < 0) {
			c->foreign++;
			continue;
		}
		r = uk_track_reply(&f->track, uk_probe_unwrap(seq56, f->track.next_seq - 1), now);
		switch (r.kind) {
		case UK_TRACK_NEW:
			c->received++;
			uk_stats_hist_add(h, r.rtt_ns);
			fresh++;
			break;
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
	}
	return fresh;
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void report(const struct bench_opts *o, const char *peer, const struct bench_counts *c,
		   const struct uk_stats_hist *h, double seconds, double cpu)
{
	double eps = seconds > 0 ? (double)c->received / seconds : 0;
	double loss = c->sent ? 100.0 * (double)c->lost / (double)c->sent : 0;
	double cpu_us = c->received ? cpu * 1e6 / (double)c->received : 0;
	static const double qs[] = {0.5, 0.9, 0.99, 0.999, 1.0};
	static const char *const names[] = {"p50", "p90", "p99", "p99.9", "max"};

	if (o->json) {
		printf(
		    "{\"target\":\"%s\",\"mode\":\"%s\",\"window\":%u,\"rate_pps\":%llu,\"flows\":%"
		    "u,"
		    "\"size\":%zu,\"seconds\":%.3f,\"sent\":%llu,\"received\":%llu,\"lost\":%llu,"
		    "\"unsent\":%llu,"
		    "\"loss_pct\":%.4f,\"duplicates\":%llu,\"late\":%llu,\"refused\":%llu,"
		    "\"echoes_per_s\":%.0f,\"client_cpu_us_per_echo\":%.3f,\"latency_us\":{",
		    peer, o->rate_pps ? "rate" : "window", o->window,
		    (unsigned long long)o->rate_pps, o->flows, o->size, seconds,
		    (unsigned long long)c->sent, (unsigned long long)c->received,
		    (unsigned long long)c->lost, (unsigned long long)c->unsent, loss,
		    (unsigned long long)c->dups, (unsigned long long)c->late,
		    (unsigned long long)c->refused, eps, cpu_us);
		for (int i = 0; i < 5; i++)
			printf("%s\"%s\":%.2f", i ? "," : "", names[i],
			       (double)uk_stats_hist_quantile(h, qs[i]) / 1e3);
		printf("}}\n");
		return;
	}
	printf("udpkit bench: %s, %s, %u flow%s, %zu bytes, %.2f s\n", peer,
	       o->rate_pps ? "fixed rate" : "closed loop", o->flows, o->flows == 1 ? "" : "s",
	       o->size, seconds);
	printf("sent %llu, received %llu, lost %llu (%.4f%%), duplicates %llu, late %llu\n",
	       (unsigned long long)c->sent, (unsigned long long)c->received,
	       (unsigned long long)c->lost, loss, (unsigned long long)c->dups,
	       (unsigned long long)c->late);
	if (c->unsent)
		printf("not sent %llu (the socket refused them: counted neither sent nor lost)\n",
		       (unsigned long long)c->unsent);
	printf("echoes/s %.0f\n", eps);
	printf("latency");
	for (int i = 0; i < 5; i++)
		printf("%s %s %.1f us", i ? "," : "", names[i],
		       (double)uk_stats_hist_quantile(h, qs[i]) / 1e3);
	printf("\nclient CPU %.3f us per echo\n", cpu_us);
	if (c->refused)
		printf("ICMP port unreachable %llu times: nobody listens on %s\n",
		       (unsigned long long)c->refused, peer);
	if (c->lost)
		printf("note: datagrams were lost; on loopback this means the server (or this "
		       "client) is overloaded\n");
}

int uk_cmd_bench(int argc, char **argv)
{
	struct bench_opts o;
	struct uk_addr peer;
	struct uk_probe_fmt fmt;
	struct flow *flows = NULL;
	struct bench_counts c = {0};
	struct uk_stats_hist *hist = NULL;
	struct pollfd *pfd = NULL;
	char peer_text[UK_ADDR_STRLEN];
	uint64_t start, stop_at, next_progress, last_received = 0;
	double cpu0, seconds;
	unsigned opened = 0;
	bool progress, block;
	int rc = UK_EXIT_USAGE;

	if (parse_args(argc, argv, &o) < 0)
		return UK_EXIT_USAGE;
	if (uk_cli_resolve(CMD, o.host, o.port, o.family, &peer) < 0)
		return UK_EXIT_USAGE;
	uk_addr_format(&peer, peer_text, sizeof(peer_text));
	uk_probe_init(&fmt, o.size, uk_wall_ns() ^ ((uint64_t)getpid() << 32));
	rc = UK_EXIT_FAIL;
	flows = calloc(o.flows, sizeof(*flows));
	pfd = calloc(o.flows + 1, sizeof(*pfd));
	hist = malloc(sizeof(*hist));
	if (!flows || !pfd || !hist) {
		uk_cli_fail(CMD, "memory", -ENOMEM);
		goto fail;
	}
	uk_stats_hist_init(hist);
	block = o.flows == 1 && !o.rate_pps;
	for (; opened < o.flows; opened++) {
		int err = flow_open(&flows[opened], &peer, &o, block);
		if (err < 0) {
			opened++;
			uk_cli_fail(CMD, peer_text, err);
			goto fail;
		}
		pfd[opened] = (struct pollfd){.fd = flows[opened].fd, .events = POLLIN};
	}
	uk_cli_catch_signals();
	pfd[o.flows] = (struct pollfd){.fd = uk_cli_stop_fd, .events = POLLIN};
	progress = !o.quiet && !o.json && uk_cli_isatty(stderr);
	cpu0 = cpu_seconds();
	start = uk_now_ns();
	stop_at = start + o.duration_ns;
	next_progress = start + UK_NS_PER_SEC;
	if (!o.rate_pps)
		for (unsigned i = 0; i < o.flows; i++)
			for (unsigned left = o.window; left;) {
				unsigned n = left < BATCH ? left : BATCH;
				flow_send(&flows[i], n, &fmt, &c);
				left -= n;
			}
	for (;;) {
		uint64_t now = uk_now_ns();
		bool sending = now < stop_at && !atomic_load(&uk_cli_stop), busy = false;
		uint64_t waiting = 0;

		if (atomic_load(&uk_cli_stop) && !sending)
			break;
		for (unsigned i = 0; i < o.flows; i++) {
			struct flow *f = &flows[i];
			int fresh = flow_recv(f, &fmt, &c, hist, block);
			uint64_t lost = uk_track_expire(&f->track, now, o.timeout_ns);
			c.lost += lost;
			busy |= fresh > 0;
			if (sending && !o.rate_pps) {
				/* Keep the window full: one new probe per reply or loss. */
				uint64_t want =
				    o.window > f->track.waiting ? o.window - f->track.waiting : 0;
				while (want) {
					unsigned n = want < BATCH ? (unsigned)want : BATCH;
					flow_send(f, n, &fmt, &c);
					want -= n;
				}
			}
			waiting += f->track.waiting;
		}
		if (sending && o.rate_pps) {
			uint64_t due = (uint64_t)((double)(now - start) * (double)o.rate_pps / 1e9);
			/* At most one batch per flow before reading again: a rate
			 * the client cannot keep up with must not starve its own
			 * receiving (replies would pile up and be dropped unread). */
			for (unsigned i = 0; i < o.flows && due > c.sent + c.unsent; i++) {
				uint64_t n = due - c.sent - c.unsent;
				flow_send(&flows[i], n < BATCH ? (unsigned)n : BATCH, &fmt, &c);
				busy = true;
			}
		}
		if (!sending && waiting == 0)
			break;
		if (!sending && now >= stop_at + o.timeout_ns)
			break;
		if (progress && now >= next_progress) {
			fprintf(stderr,
				"\r%5.1fs %10.0f echoes/s  lost %llu  p50 %.1f us  p99 %.1f us   ",
				(double)(now - start) / 1e9, (double)(c.received - last_received),
				(unsigned long long)c.lost,
				(double)uk_stats_hist_quantile(hist, 0.5) / 1e3,
				(double)uk_stats_hist_quantile(hist, 0.99) / 1e3);
			last_received = c.received;
			next_progress += UK_NS_PER_SEC;
		}
		if (!busy && !block) {
			int timeout_ms = 1;
			if (!o.rate_pps)
				timeout_ms = 10;
			if (poll(pfd, o.flows + 1, timeout_ms) < 0 && errno != EINTR)
				break;
		}
	}
	seconds = (double)(uk_now_ns() - start) / 1e9;
	if (seconds > (double)o.duration_ns / 1e9)
		seconds =
		    (double)o.duration_ns / 1e9; /* replies drained after the end were sent in it */
	for (unsigned i = 0; i < o.flows; i++)
		c.lost += flows[i].track.waiting;
	if (progress)
		fputc('\n', stderr);
	report(&o, peer_text, &c, hist, seconds, cpu_seconds() - cpu0);
	rc = c.received ? UK_EXIT_OK : UK_EXIT_FAIL;
fail:
	for (unsigned i = 0; i < opened; i++)
		flow_close(&flows[i]);
	free(flows);
	free(pfd);
	free(hist);
	return rc;
}
