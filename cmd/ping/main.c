/* udpkit ping: RTT and loss against any UDP echo server. Probes carry a
 * sockperf-compatible header in 7-bit bytes (include/udpkit/probe.h), so
 * pure echo servers, stamping servers, socat and `sockperf server` all
 * answer them. Several probes may be in flight; a probe is lost when no
 * reply came within -W; replies are classified by the tracker. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "udpkit/clock.h"
#include "udpkit/err.h"
#include "udpkit/parse.h"
#include "udpkit/probe.h"
#include "udpkit/sock.h"
#include "udpkit/stats.h"
#include "udpkit/track.h"

#define CMD "ping"
#define REPLY_CAP 65536
#define TRACK_SIZE 65536

struct ping_opts {
	const char *host;
	uint16_t port;
	int family;
	uint64_t count; /* 0 = until interrupted */
	uint64_t interval_ns;
	uint64_t timeout_ns;
	uint64_t deadline_ns; /* 0 = none */
	size_t size;
	bool quiet, json;
};

struct ping_counts {
	uint64_t sent, received, dups, reordered, late, refused, foreign;
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: udpkit ping [-46q] [-c count] [-i interval] [-W timeout] [-w deadline]\n"
	    "                   [-s size] [--json] host [port]\n"
	    "\n"
	    "Measures round-trip time and loss against a UDP echo server (default port 8080):\n"
	    "pure or stamping echo servers, udpkit echo in any mode, socat, sockperf server.\n"
	    "\n"
	    "  -c, --count N          stop after N probes (default: until interrupted)\n"
	    "  -i, --interval SECONDS time between probes (default 1; 10ms works)\n"
	    "  -W, --timeout SECONDS  a probe without reply after this long is lost (default 1)\n"
	    "  -w, --deadline SECONDS stop after this long, whatever the count\n"
	    "  -s, --size BYTES       datagram size, %d..65507 (default 64)\n"
	    "  -q, --quiet            only the summary\n"
	    "  -4, --ipv4             use IPv4 only\n"
	    "  -6, --ipv6             use IPv6 only\n"
	    "      --json             one JSON object per event, then a summary object\n"
	    "  -h, --help             this help\n"
	    "\n"
	    "Exit status: 0 with at least one reply, 1 with none, 2 on errors.\n",
	    UK_PROBE_MIN_SIZE);
}

static int parse_args(int argc, char **argv, struct ping_opts *o)
{
	static const struct option longopts[] = {{"count", required_argument, NULL, 'c'},
						 {"interval", required_argument, NULL, 'i'},
						 {"timeout", required_argument, NULL, 'W'},
						 {"deadline", required_argument, NULL, 'w'},
						 {"size", required_argument, NULL, 's'},
						 {"quiet", no_argument, NULL, 'q'},
						 {"ipv4", no_argument, NULL, '4'},
						 {"ipv6", no_argument, NULL, '6'},
						 {"json", no_argument, NULL, 'J'},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	uint64_t v;
	int c;

	*o = (struct ping_opts){.port = 8080,
				.family = AF_UNSPEC,
				.interval_ns = UK_NS_PER_SEC,
				.timeout_ns = UK_NS_PER_SEC,
				.size = 64};
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:i:W:w:s:q46h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (uk_parse_u64(optarg, 1, UINT64_MAX >> 8, &o->count) < 0)
				return uk_cli_usage_error(CMD, "invalid --count '%s'", optarg), -1;
			break;
		case 'i':
			if (uk_parse_duration(optarg, UK_NS_PER_SEC, 100000, 3600 * UK_NS_PER_SEC,
					      &o->interval_ns) < 0)
				return uk_cli_usage_error(
					   CMD, "invalid --interval '%s' (100us..3600s)", optarg),
				       -1;
			break;
		case 'W':
			if (uk_parse_duration(optarg, UK_NS_PER_SEC, UK_NS_PER_MS,
					      3600 * UK_NS_PER_SEC, &o->timeout_ns) < 0)
				return uk_cli_usage_error(
					   CMD, "invalid --timeout '%s' (1ms..3600s)", optarg),
				       -1;
			break;
		case 'w':
			if (uk_parse_duration(optarg, UK_NS_PER_SEC, UK_NS_PER_MS,
					      86400 * UK_NS_PER_SEC, &o->deadline_ns) < 0)
				return uk_cli_usage_error(CMD, "invalid --deadline '%s'", optarg),
				       -1;
			break;
		case 's':
			if (uk_parse_u64(optarg, UK_PROBE_MIN_SIZE, 65507, &v) < 0)
				return uk_cli_usage_error(CMD, "--size takes %d..65507",
							  UK_PROBE_MIN_SIZE),
				       -1;
			o->size = (size_t)v;
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
	return uk_cli_host_port(CMD, argc, argv, true, &o->host, &o->port);
}

static void print_reply(const struct ping_opts *o, const char *peer, size_t bytes, uint64_t seq,
			const struct uk_track_result *r)
{
	static const char *const kinds[] = {"reply", "duplicate", "late", "unknown"};
	double ms = (double)r->rtt_ns / 1e6;

	if (o->quiet)
		return;
	if (o->json) {
		printf(
		    "{\"event\":\"%s\",\"from\":\"%s\",\"bytes\":%zu,\"seq\":%llu,\"rtt_ms\":%.3f,"
		    "\"reordered\":%s}\n",
		    kinds[r->kind], peer, bytes, (unsigned long long)seq, ms,
		    r->reordered ? "true" : "false");
	} else {
		printf("%zu bytes from %s: seq=%llu time=%.3f ms%s%s%s\n", bytes, peer,
		       (unsigned long long)seq, ms, r->kind == UK_TRACK_DUP ? " (DUP!)" : "",
		       r->kind == UK_TRACK_LATE ? " (late: already counted lost)" : "",
		       r->reordered ? " (reordered)" : "");
	}
	fflush(stdout);
}

static void print_summary(const struct ping_opts *o, const char *peer, const struct ping_counts *c,
			  const struct uk_stats_rtt *rtt, uint64_t elapsed_ns)
{
	double loss = c->sent ? 100.0 * (double)(c->sent - c->received) / (double)c->sent : 0.0;

	if (o->json) {
		printf(
		    "{\"event\":\"summary\",\"to\":\"%s\",\"transmitted\":%llu,\"received\":%llu,"
		    "\"loss_pct\":%.3f,\"duplicates\":%llu,\"reordered\":%llu,\"late\":%llu,"
		    "\"refused\":%llu,\"time_ms\":%.0f",
		    peer, (unsigned long long)c->sent, (unsigned long long)c->received, loss,
		    (unsigned long long)c->dups, (unsigned long long)c->reordered,
		    (unsigned long long)c->late, (unsigned long long)c->refused,
		    (double)elapsed_ns / 1e6);
		if (rtt->count)
			printf(",\"rtt_min_ms\":%.3f,\"rtt_avg_ms\":%.3f,\"rtt_max_ms\":%.3f,"
			       "\"rtt_mdev_ms\":%.3f",
			       (double)rtt->min_ns / 1e6, uk_stats_rtt_avg_ns(rtt) / 1e6,
			       (double)rtt->max_ns / 1e6, uk_stats_rtt_mdev_ns(rtt) / 1e6);
		printf("}\n");
		fflush(stdout);
		return;
	}
	printf("\n--- %s udpkit ping statistics ---\n", peer);
	printf("%llu transmitted, %llu received, %.3g%% loss, %llu duplicates, %llu reordered, "
	       "%llu late, time %.0fms\n",
	       (unsigned long long)c->sent, (unsigned long long)c->received, loss,
	       (unsigned long long)c->dups, (unsigned long long)c->reordered,
	       (unsigned long long)c->late, (double)elapsed_ns / 1e6);
	if (c->refused)
		printf("%llu ICMP port unreachable: nobody listens on %s\n",
		       (unsigned long long)c->refused, peer);
	if (rtt->count)
		printf("rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms\n", (double)rtt->min_ns / 1e6,
		       uk_stats_rtt_avg_ns(rtt) / 1e6, (double)rtt->max_ns / 1e6,
		       uk_stats_rtt_mdev_ns(rtt) / 1e6);
	fflush(stdout);
}

static void on_lost(const struct ping_opts *o, const char *peer, uint64_t n)
{
	if (o->quiet || !n)
		return;
	if (o->json)
		printf("{\"event\":\"lost\",\"to\":\"%s\",\"count\":%llu}\n", peer,
		       (unsigned long long)n);
	else
		printf("no reply from %s within %.3f s (%llu probe%s)\n", peer,
		       (double)o->timeout_ns / 1e9, (unsigned long long)n, n == 1 ? "" : "s");
	fflush(stdout);
}

/* Reads every waiting datagram and classifies it. */
static int read_replies(int fd, const struct ping_opts *o, const struct uk_probe_fmt *fmt,
			struct uk_track *t, struct ping_counts *c, struct uk_stats_rtt *rtt,
			const char *peer, unsigned char *buf)
{
	for (;;) {
		ssize_t n = recv(fd, buf, REPLY_CAP, MSG_DONTWAIT);
		uint64_t seq56, seq;
		struct uk_track_result r;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == ECONNREFUSED) {
				c->refused++;
				continue;
			}
			return -errno;
		}
		if (uk_probe_parse(fmt, buf, (size_t)n, &seq56) < 0) {
			c->foreign++;
			continue;
		}
		seq = uk_probe_unwrap(seq56, t->next_seq - 1);
		r = uk_track_reply(t, seq, uk_now_ns());
		switch (r.kind) {
		case UK_TRACK_NEW:
			c->received++;
			c->reordered += r.reordered;
			uk_stats_rtt_add(rtt, r.rtt_ns);
			break;
		case UK_TRACK_DUP:
			c->dups++;
			break;
		case UK_TRACK_LATE:
			c->late++;
			break;
		default:
			c->foreign++;
			continue;
		}
		print_reply(o, peer, (size_t)n, seq, &r);
	}
}

int uk_cmd_ping(int argc, char **argv)
{
	struct ping_opts o;
	struct uk_addr peer;
	struct uk_probe_fmt fmt;
	struct uk_track track = {0};
	struct ping_counts counts = {0};
	struct uk_stats_rtt rtt;
	char peer_text[UK_ADDR_STRLEN];
	unsigned char *buf = NULL, *probe = NULL;
	uint64_t start, next_send, end_at = UINT64_MAX;
	int fd = -1, rc = UK_EXIT_USAGE;

	if (parse_args(argc, argv, &o) < 0)
		return UK_EXIT_USAGE;
	if (uk_cli_resolve(CMD, o.host, o.port, o.family, &peer) < 0)
		return UK_EXIT_USAGE;
	uk_addr_format(&peer, peer_text, sizeof(peer_text));
	uk_stats_rtt_init(&rtt);
	uk_probe_init(&fmt, o.size, uk_wall_ns() ^ ((uint64_t)getpid() << 32));
	if (!uk_probe_is_ascii(&fmt) && !o.quiet && !o.json)
		fprintf(stderr,
			"udpkit ping: note: at %zu bytes the length field is not 7-bit; "
			"servers that decode text may drop probes (sizes up to 127 are safe)\n",
			o.size);
	fd = uk_sock_open_connected(&peer, NULL);
	if (fd < 0) {
		uk_cli_fail(CMD, peer_text, fd);
		goto fail;
	}
	buf = malloc(REPLY_CAP);
	probe = malloc(o.size);
	if (!buf || !probe || uk_track_init(&track, TRACK_SIZE) < 0) {
		uk_cli_fail(CMD, "memory", -ENOMEM);
		goto fail;
	}
	uk_cli_catch_signals();
	if (!o.quiet && !o.json)
		printf("UDPING %s: %zu bytes per probe, every %.3f s, timeout %.3f s\n", peer_text,
		       o.size, (double)o.interval_ns / 1e9, (double)o.timeout_ns / 1e9);
	start = next_send = uk_now_ns();
	if (o.deadline_ns)
		end_at = start + o.deadline_ns;
	for (;;) {
		uint64_t now = uk_now_ns(), wake, expire_at;
		bool sending = !o.count || counts.sent < o.count;
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
				      {.fd = uk_cli_stop_fd, .events = POLLIN}};
		int timeout_ms;

		if (atomic_load(&uk_cli_stop) || now >= end_at)
			break;
		on_lost(&o, peer_text, uk_track_expire(&track, now, o.timeout_ns));
		if (!sending && track.waiting == 0)
			break;
		if (sending && now >= next_send) {
			uint64_t seq = uk_track_sent(&track, now, NULL);
			uk_probe_build(&fmt, seq, probe);
			if (send(fd, probe, o.size, 0) < 0) {
				/* ECONNREFUSED is an earlier probe's ICMP error; ENOBUFS and
				 * EAGAIN a full queue: the probe counts as sent and lost. */
				if (errno == ECONNREFUSED) {
					counts.refused++;
				} else if (errno != ENOBUFS && errno != EAGAIN) {
					uk_cli_fail(CMD, "send", -errno);
					goto fail;
				}
			}
			counts.sent++;
			next_send += o.interval_ns;
			if (next_send < now)
				next_send = now; /* we fell behind: don't burst */
			continue;
		}
		expire_at = uk_track_next_deadline(&track, o.timeout_ns);
		wake = sending ? next_send : UINT64_MAX;
		if (expire_at < wake)
			wake = expire_at;
		if (end_at < wake)
			wake = end_at;
		timeout_ms = wake == UINT64_MAX ? 1000 : (int)((wake - now + 999999) / 1000000);
		if (poll(p, 2, timeout_ms) < 0 && errno != EINTR) {
			uk_cli_fail(CMD, "poll", -errno);
			goto fail;
		}
		if ((p[0].revents & (POLLIN | POLLERR)) &&
		    read_replies(fd, &o, &fmt, &track, &counts, &rtt, peer_text, buf) < 0) {
			uk_cli_fail(CMD, "receive", -errno);
			goto fail;
		}
	}
	print_summary(&o, peer_text, &counts, &rtt, uk_now_ns() - start);
	rc = counts.received > 0 ? UK_EXIT_OK : UK_EXIT_FAIL;
fail:
	uk_track_free(&track);
	free(buf);
	free(probe);
	if (fd >= 0)
		close(fd);
	return rc;
}
