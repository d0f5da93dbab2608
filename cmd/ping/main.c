/* udpkit ping: RTT and loss against any UDP echo server. Probes carry a
 * sockperf-compatible header in 7-bit bytes (include/udpkit/probe.h), so
 * pure echo servers, stamping servers, socat and `sockperf server` all
 * answer them. Several probes may be in flight; a probe is lost when no
 * reply came within -W; replies are classified by the tracker. */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "opts.h"
#include "udpkit/clock.h"
#include "udpkit/err.h"
#include "udpkit/i18n.h"
#include "udpkit/parse.h"
#include "udpkit/probe.h"
#include "udpkit/sock.h"
#include "udpkit/stats.h"
#include "udpkit/track.h"

#define REPLY_CAP 65536
#define TRACK_SIZE 65536

struct ping_opts {
	struct uk_cli_target target;
	int family;
	uint64_t count; /* 0 = until interrupted */
	uint64_t interval_ns;
	uint64_t timeout_ns;
	uint64_t deadline_ns; /* 0 = none */
	uint64_t size;
	bool quiet, json;
};

/* The option table: cmd/ping/options.tsv, made C by cmd/options.awk. */
#define AT(member) offsetof(struct ping_opts, member)
#include "ping_options.h"

const struct uk_cmd_spec uk_spec_ping = {
    "ping",
    N_("round-trip time and loss against any echo server"),
    "HOST [PORT]",
    N_("Measures round-trip time and loss against a UDP echo server (default port 8080):\n"
       "pure or stamping echo servers, udpkit echo in any mode, socat, sockperf server.\n"
       "HOST is a name, an address, HOST:PORT, [IPV6]:PORT or a bare IPv6 address.\n"
       "TIME takes the units ms, s, m, h, d and w (seconds without one)."),
    options,
    N_("Exit status: 0 with at least one reply, 1 with none, 2 on errors."),
    UK_COMP_HOST};

struct ping_counts {
	uint64_t sent, received, dups, reordered, late, refused, errors, truncated, foreign;
};

/* One run: what ping_open() sets up, ping_run() fills, ping_report() prints. */
struct ping {
	struct ping_opts o;
	struct uk_addr peer;
	char peer_text[UK_ADDR_STRLEN];
	struct uk_probe_fmt fmt;
	struct uk_track track;
	struct ping_counts counts;
	struct uk_stats_rtt rtt;
	unsigned char *buf, *probe;
	int fd;
	uint64_t start;
};

static int parse_args(int argc, char **argv, struct ping_opts *o)
{
	*o = (struct ping_opts){.target = {.port = 8080},
				.family = AF_UNSPEC,
				.interval_ns = UK_NS_PER_SEC,
				.timeout_ns = UK_NS_PER_SEC,
				.size = 64};
	return uk_opts_parse_target(&uk_spec_ping, argc, argv, o, &o->target, true);
}

#define CMD "ping"

static void print_reply(const struct ping *P, size_t bytes, uint64_t seq,
			const struct uk_track_result *r, bool cut)
{
	static const char *const kinds[] = {"reply", "duplicate", "late", "unknown"};
	double ms = (double)r->rtt_ns / 1e6;

	if (P->o.quiet)
		return;
	if (P->o.json) {
		uk_cli_json_begin(stdout, kinds[r->kind]);
		printf(",\"from\":\"%s\",\"bytes\":%zu,\"seq\":%llu,\"rtt_ms\":%.3f,"
		       "\"reordered\":%s,\"truncated\":%s}\n",
		       P->peer_text, bytes, (unsigned long long)seq, ms,
		       r->reordered ? "true" : "false", cut ? "true" : "false");
		fflush(stdout);
		return;
	}
	/* A stamping server's reply is longer than the probe: say by how much,
	 * so the byte count is no mystery. */
	printf("%zu bytes", bytes);
	if (bytes > P->o.size)
		printf(" (%llu + %llu prefix)", (unsigned long long)P->o.size,
		       (unsigned long long)(bytes - P->o.size));
	printf(" from %s: seq=%llu time=%.3f ms", P->peer_text, (unsigned long long)seq, ms);
	if (cut)
		printf(" %s(truncated: the probe had %llu bytes)%s",
		       uk_cli_sgr(stdout, UK_SGR_WARN), (unsigned long long)P->o.size,
		       uk_cli_sgr(stdout, UK_SGR_RESET));
	printf("%s%s%s\n", r->kind == UK_TRACK_DUP ? " (DUP!)" : "",
	       r->kind == UK_TRACK_LATE ? " (late: already counted lost)" : "",
	       r->reordered ? " (reordered)" : "");
	fflush(stdout);
}

/* iputils' words for the ICMP errors a UDP probe can meet. */
static const char *icmp_text(int err)
{
	switch (err) {
	case -ECONNREFUSED:
		return _("Destination Port Unreachable");
	case -EHOSTUNREACH:
		return _("Destination Host Unreachable");
	case -ENETUNREACH:
		return _("Destination Net Unreachable");
	case -EMSGSIZE:
		return _("Frag needed (message too long)");
	default:
		return _(uk_strerror(err));
	}
}

static void print_icmp(const struct ping *P, const struct uk_sock_error *e, uint64_t seq,
		       bool known)
{
	char from[UK_ADDR_STRLEN] = "?";

	if (P->o.quiet)
		return;
	if (e->has_from)
		uk_addr_ip(&e->from, from, sizeof(from));
	if (P->o.json) {
		uk_cli_json_begin(stdout, "unreachable");
		printf(",\"from\":\"%s\",\"to\":\"%s\",\"seq\":", from, P->peer_text);
		if (known)
			printf("%llu", (unsigned long long)seq);
		else
			printf("null");
		printf(",\"error\":\"%s\"}\n", icmp_text(e->err));
	} else {
		printf("From %s", from);
		if (known)
			printf(" seq=%llu", (unsigned long long)seq);
		printf(" %s%s%s\n", uk_cli_sgr(stdout, UK_SGR_ERROR), icmp_text(e->err),
		       uk_cli_sgr(stdout, UK_SGR_RESET));
	}
	fflush(stdout);
}

static void print_lost(const struct ping *P, uint64_t n)
{
	char timeout[32];

	if (P->o.quiet || !n)
		return;
	if (P->o.json) {
		uk_cli_json_begin(stdout, "lost");
		printf(",\"to\":\"%s\",\"count\":%llu}\n", P->peer_text, (unsigned long long)n);
	} else {
		printf(_("no reply from %s within %s (%llu %s)\n"), P->peer_text,
		       uk_format_duration(P->o.timeout_ns, timeout, sizeof(timeout)),
		       (unsigned long long)n, uk_cli_plural(n, "probe", "probes"));
	}
	fflush(stdout);
}

/* Reads the ICMP errors queued for our probes: each ends its probe at once. */
static void read_errors(struct ping *P)
{
	struct uk_sock_error e;
	ssize_t n;

	while ((n = uk_sock_recv_error(P->fd, P->buf, REPLY_CAP, &e)) >= 0) {
		uint64_t seq56, seq = 0;
		bool known = uk_probe_parse(&P->fmt, P->buf, (size_t)n, &seq56) == 0;
		if (known) {
			seq = uk_probe_unwrap(seq56, P->track.next_seq - 1);
			known = uk_track_fail(&P->track, seq);
		}
		if (e.err == -ECONNREFUSED)
			P->counts.refused++;
		P->counts.errors++;
		print_icmp(P, &e, seq, known);
	}
}

/* Reads every waiting datagram and classifies it. */
static int read_replies(struct ping *P)
{
	for (;;) {
		ssize_t n = recv(P->fd, P->buf, REPLY_CAP, MSG_DONTWAIT);
		uint64_t seq56, seq;
		struct uk_track_result r;
		bool cut = false;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == ECONNREFUSED || errno == EHOSTUNREACH ||
			    errno == ENETUNREACH) {
				/* Reported with its probe by read_errors(). */
				read_errors(P);
				continue;
			}
			return -errno;
		}
		if (uk_probe_parse(&P->fmt, P->buf, (size_t)n, &seq56) < 0) {
			if (uk_probe_parse_cut(&P->fmt, P->buf, (size_t)n, &seq56) < 0) {
				P->counts.foreign++;
				continue;
			}
			cut = true;
		}
		seq = uk_probe_unwrap(seq56, P->track.next_seq - 1);
		r = uk_track_reply(&P->track, seq, uk_now_ns());
		switch (r.kind) {
		case UK_TRACK_NEW:
			P->counts.received++;
			P->counts.reordered += r.reordered;
			P->counts.truncated += cut;
			uk_stats_rtt_add(&P->rtt, r.rtt_ns);
			break;
		case UK_TRACK_DUP:
			P->counts.dups++;
			break;
		case UK_TRACK_LATE:
			P->counts.late++;
			break;
		default:
			P->counts.foreign++;
			continue;
		}
		print_reply(P, (size_t)n, seq, &r, cut);
	}
}

static int ping_open(struct ping *P)
{
	struct uk_sock_opts so = {.v6only = -1, .recv_err = true};
	char interval[32], timeout[32];
	int rc;

	P->fd = -1;
	rc = uk_cli_target_resolve(&P->o.target, P->o.family, &P->peer);
	if (rc != UK_CONTINUE)
		return rc;
	uk_addr_format(&P->peer, P->peer_text, sizeof(P->peer_text));
	uk_stats_rtt_init(&P->rtt);
	uk_probe_init(&P->fmt, P->o.size, uk_wall_ns() ^ ((uint64_t)getpid() << 32));
	if (!uk_probe_is_ascii(&P->fmt) && !P->o.quiet && !P->o.json)
		uk_cli_warn(
		    CMD,
		    _("at %llu bytes the length field is not 7-bit; servers that decode text "
		      "may drop probes (sizes up to 127 are safe)"),
		    (unsigned long long)P->o.size);
	P->fd = uk_sock_open_connected(&P->peer, &so);
	if (P->fd < 0)
		return uk_cli_fail(CMD, P->peer_text, P->fd);
	P->buf = malloc(REPLY_CAP);
	P->probe = malloc(P->o.size);
	if (!P->buf || !P->probe || uk_track_init(&P->track, TRACK_SIZE) < 0)
		return uk_cli_fail(CMD, _("memory"), -ENOMEM);
	if (!P->o.quiet && !P->o.json)
		printf(_("PING %s (udp): %llu bytes per probe, every %s, timeout %s\n"),
		       P->peer_text, (unsigned long long)P->o.size,
		       uk_format_duration(P->o.interval_ns, interval, sizeof(interval)),
		       uk_format_duration(P->o.timeout_ns, timeout, sizeof(timeout)));
	return UK_CONTINUE;
}

/* Sends probe after probe and reads replies until the count, the deadline
 * or a signal. Returns UK_CONTINUE or an exit status. */
static int ping_run(struct ping *P)
{
	uint64_t next_send, end_at = UINT64_MAX;

	uk_cli_catch_signals();
	P->start = next_send = uk_now_ns();
	if (P->o.deadline_ns)
		end_at = P->start + P->o.deadline_ns;
	for (;;) {
		uint64_t now = uk_now_ns(), wake, expire_at;
		bool sending = !P->o.count || P->counts.sent < P->o.count;
		struct pollfd p[2] = {{.fd = P->fd, .events = POLLIN},
				      {.fd = uk_cli_stop_fd, .events = POLLIN}};
		int timeout_ms;

		if (atomic_load(&uk_cli_stop) || now >= end_at)
			break;
		print_lost(P, uk_track_expire(&P->track, now, P->o.timeout_ns));
		if (!sending && P->track.waiting == 0)
			break;
		if (sending && now >= next_send) {
			uint64_t seq = uk_track_sent(&P->track, now, NULL);
			uk_probe_build(&P->fmt, seq, P->probe);
			/* An ICMP error of an earlier probe may surface here; ENOBUFS and
			 * EAGAIN are a full queue: the probe counts as sent and lost. */
			if (send(P->fd, P->probe, P->o.size, 0) < 0) {
				if (errno == ECONNREFUSED || errno == EHOSTUNREACH ||
				    errno == ENETUNREACH)
					read_errors(P);
				else if (errno != ENOBUFS && errno != EAGAIN)
					return uk_cli_fail(CMD, _("send"), -errno);
			}
			P->counts.sent++;
			next_send += P->o.interval_ns;
			if (next_send < now)
				next_send = now; /* we fell behind: don't burst */
			continue;
		}
		expire_at = uk_track_next_deadline(&P->track, P->o.timeout_ns);
		wake = sending ? next_send : UINT64_MAX;
		if (expire_at < wake)
			wake = expire_at;
		if (end_at < wake)
			wake = end_at;
		timeout_ms = wake == UINT64_MAX ? 1000 : (int)((wake - now + 999999) / 1000000);
		if (poll(p, 2, timeout_ms) < 0 && errno != EINTR)
			return uk_cli_fail(CMD, _("poll"), -errno);
		if (p[0].revents & POLLERR)
			read_errors(P);
		if ((p[0].revents & (POLLIN | POLLERR)) && read_replies(P) < 0)
			return uk_cli_fail(CMD, _("receive"), -errno);
	}
	return UK_CONTINUE;
}

static void report_json(const struct ping *P, double loss, uint64_t elapsed_ns)
{
	const struct ping_counts *c = &P->counts;

	uk_cli_json_begin(stdout, "summary");
	printf(",\"to\":\"%s\",\"transmitted\":%llu,\"received\":%llu,\"loss_pct\":%.3f,"
	       "\"duplicates\":%llu,\"errors\":%llu,\"reordered\":%llu,\"late\":%llu,"
	       "\"truncated\":%llu,\"refused\":%llu,\"time_ms\":%.0f",
	       P->peer_text, (unsigned long long)c->sent, (unsigned long long)c->received, loss,
	       (unsigned long long)c->dups, (unsigned long long)c->errors,
	       (unsigned long long)c->reordered, (unsigned long long)c->late,
	       (unsigned long long)c->truncated, (unsigned long long)c->refused,
	       (double)elapsed_ns / 1e6);
	if (P->rtt.count)
		printf(",\"rtt_min_ms\":%.3f,\"rtt_avg_ms\":%.3f,\"rtt_max_ms\":%.3f,"
		       "\"rtt_mdev_ms\":%.3f",
		       (double)P->rtt.min_ns / 1e6, uk_stats_rtt_avg_ns(&P->rtt) / 1e6,
		       (double)P->rtt.max_ns / 1e6, uk_stats_rtt_mdev_ns(&P->rtt) / 1e6);
	printf("}\n");
}

/* The summary as iputils ping prints it, then udpkit's own counts. */
static void ping_report(const struct ping *P)
{
	const struct ping_counts *c = &P->counts;
	uint64_t elapsed_ns = uk_now_ns() - P->start;
	double loss = c->sent ? 100.0 * (double)(c->sent - c->received) / (double)c->sent : 0.0;

	if (P->o.json) {
		report_json(P, loss, elapsed_ns);
		fflush(stdout);
		return;
	}
	printf(_("\n--- %s udpkit ping statistics ---\n"), P->peer_text);
	printf(_("%llu packets transmitted, %llu received"), (unsigned long long)c->sent,
	       (unsigned long long)c->received);
	if (c->dups)
		printf(_(", +%llu duplicates"), (unsigned long long)c->dups);
	if (c->errors)
		printf(_(", +%llu errors"), (unsigned long long)c->errors);
	printf(_(", %s%g%% packet loss%s, time %.0fms\n"),
	       uk_cli_sgr(stdout, c->received < c->sent ? UK_SGR_ERROR : UK_SGR_GOOD), loss,
	       uk_cli_sgr(stdout, UK_SGR_RESET), (double)elapsed_ns / 1e6);
	if (P->rtt.count)
		printf(_("rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms\n"),
		       (double)P->rtt.min_ns / 1e6, uk_stats_rtt_avg_ns(&P->rtt) / 1e6,
		       (double)P->rtt.max_ns / 1e6, uk_stats_rtt_mdev_ns(&P->rtt) / 1e6);
	printf(_("%llu reordered, %llu late, %llu truncated\n"), (unsigned long long)c->reordered,
	       (unsigned long long)c->late, (unsigned long long)c->truncated);
	if (c->refused)
		printf(_("%llu ICMP port unreachable: nobody listens on %s\n"),
		       (unsigned long long)c->refused, P->peer_text);
	fflush(stdout);
}

static void ping_close(struct ping *P)
{
	uk_track_free(&P->track);
	free(P->buf);
	free(P->probe);
	if (P->fd >= 0)
		close(P->fd);
}

int uk_cmd_ping(int argc, char **argv)
{
	struct ping P = {.fd = -1};
	int rc = parse_args(argc, argv, &P.o);

	if (rc == UK_CONTINUE)
		rc = ping_open(&P);
	if (rc == UK_CONTINUE)
		rc = ping_run(&P);
	if (rc == UK_CONTINUE) {
		ping_report(&P);
		rc = P.counts.received > 0 ? UK_EXIT_OK : UK_EXIT_FAIL;
	}
	ping_close(&P);
	return rc;
}
