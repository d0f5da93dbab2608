/* udpkit listen: the other end of udpkit broadcast (the tutorial's part 3
 * client made safe). Hears broadcasts, and the multicast groups it joins,
 * prints each datagram escaped, and answers with a short acknowledgement:
 * bounded in size, rate-limited per source, jittered for broadcasts, and
 * never to a source that is a broadcast, multicast or low-port address. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "cli.h"
#include "udpkit/clock.h"
#include "udpkit/err.h"
#include "udpkit/iface.h"
#include "udpkit/listen.h"
#include "udpkit/mcast.h"
#include "udpkit/parse.h"
#include "udpkit/sock.h"

#define CMD "listen"
#define PENDING_MAX 256
#define RECV_CAP 65536

struct listen_opts {
	const char *bind_host;
	uint16_t port;
	const char *groups[UK_LISTEN_MAX_GROUPS];
	size_t n_groups;
	const char *ifname;
	const char *reply;
	bool no_reply, quiet, json;
	uint32_t rate_pps;
	uint64_t jitter_ns;
};

/* A reply waiting for its jitter to pass. */
struct pending {
	struct uk_addr peer, src;
	bool use_src;
	uint64_t due_ns;
};

struct listen_stats {
	uint64_t datagrams, bytes, truncated;
	uint64_t kind[UK_LISTEN_KIND_COUNT];
	uint64_t not_joined, replies, send_failed, queue_full;
	uint64_t refused[UK_VERDICT_COUNT];
};

struct listener {
	struct listen_opts o;
	int fd, family;
	struct uk_iface_list ifs;
	struct uk_listen decide;
	unsigned char reply[UK_LISTEN_REPLY_MAX];
	size_t reply_len;
	struct pending pending[PENDING_MAX];
	size_t n_pending;
	uint64_t rng;
	struct listen_stats st;
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: udpkit listen [-q] [-b addr] [-p port] [-g group]... [-I interface]\n"
	    "                     [-r text | --no-reply] [--rate-limit pps] [--jitter ms] "
	    "[--json]\n"
	    "\n"
	    "Hears UDP broadcasts (and the multicast groups it joins), prints each\n"
	    "datagram with its sender, and answers with a short acknowledgement.\n"
	    "\n"
	    "  -b, --bind ADDR        address to bind (default 0.0.0.0, or :: with an IPv6 group)\n"
	    "  -p, --port PORT        port (default 8086; 0 picks a free port)\n"
	    "  -g, --group ADDR       join multicast group ADDR (IPv4 or IPv6; repeatable)\n"
	    "  -I, --interface IF     join the groups on IF\n"
	    "  -r, --reply TEXT       the reply (default \"ack from HOSTNAME\"; at most %d bytes)\n"
	    "      --no-reply         never answer\n"
	    "      --rate-limit PPS   replies per second per source (default %d; 0 = off)\n"
	    "      --jitter MS        answer broadcast and multicast after a random delay\n"
	    "                         of up to MS milliseconds (default %d; 0 = none)\n"
	    "  -q, --quiet            no per-datagram lines\n"
	    "      --json             per-datagram lines as NDJSON\n"
	    "  -h, --help             this help\n",
	    UK_LISTEN_REPLY_MAX, UK_LISTEN_DEFAULT_RATE, UK_LISTEN_DEFAULT_JITTER_MS);
}

static int parse_args(int argc, char **argv, struct listen_opts *o)
{
	static const struct option longopts[] = {{"bind", required_argument, NULL, 'b'},
						 {"port", required_argument, NULL, 'p'},
						 {"group", required_argument, NULL, 'g'},
						 {"interface", required_argument, NULL, 'I'},
						 {"reply", required_argument, NULL, 'r'},
						 {"no-reply", no_argument, NULL, 'N'},
						 {"rate-limit", required_argument, NULL, 'R'},
						 {"jitter", required_argument, NULL, 'j'},
						 {"quiet", no_argument, NULL, 'q'},
						 {"json", no_argument, NULL, 'J'},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	uint64_t v;
	int c;

	*o = (struct listen_opts){.port = 8086,
				  .rate_pps = UK_LISTEN_DEFAULT_RATE,
				  .jitter_ns = UK_LISTEN_DEFAULT_JITTER_MS * UK_NS_PER_MS};
	optind = 1;
	while ((c = getopt_long(argc, argv, "b:p:g:I:r:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			o->bind_host = optarg;
			break;
		case 'p':
			if (uk_cli_port(CMD, optarg, &o->port, true) < 0)
				return -1;
			break;
		case 'g':
			if (o->n_groups == UK_LISTEN_MAX_GROUPS)
				return uk_cli_usage_error(CMD, "at most %d groups",
							  UK_LISTEN_MAX_GROUPS),
				       -1;
			o->groups[o->n_groups++] = optarg;
			break;
		case 'I':
			o->ifname = optarg;
			break;
		case 'r':
			if (strlen(optarg) > UK_LISTEN_REPLY_MAX)
				return uk_cli_usage_error(CMD, "--reply is at most %d bytes",
							  UK_LISTEN_REPLY_MAX),
				       -1;
			o->reply = optarg;
			break;
		case 'N':
			o->no_reply = true;
			break;
		case 'R':
			if (uk_parse_u64(optarg, 0, 100000, &v) < 0)
				return uk_cli_usage_error(CMD, "--rate-limit takes 0..100000"), -1;
			o->rate_pps = (uint32_t)v;
			break;
		case 'j':
			if (uk_parse_u64(optarg, 0, 10000, &v) < 0)
				return uk_cli_usage_error(CMD, "--jitter takes 0..10000 (ms)"), -1;
			o->jitter_ns = v * UK_NS_PER_MS;
			break;
		case 'q':
			o->quiet = true;
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
	if (optind != argc)
		return uk_cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]), -1;
	if (o->reply && o->no_reply)
		return uk_cli_usage_error(CMD, "--reply and --no-reply exclude each other"), -1;
	if (o->quiet && o->json)
		return uk_cli_usage_error(CMD, "--quiet and --json exclude each other"), -1;
	return 0;
}

static uint32_t next_random(struct listener *L)
{
	/* xorshift64*: jitter only needs to differ between hosts and datagrams. */
	L->rng ^= L->rng >> 12;
	L->rng ^= L->rng << 25;
	L->rng ^= L->rng >> 27;
	return (uint32_t)((L->rng * 2685821657736338717ull) >> 32);
}

static void make_reply(struct listener *L)
{
	char host[64] = "?";
	int n;

	if (L->o.reply) {
		L->reply_len = strlen(L->o.reply);
		memcpy(L->reply, L->o.reply, L->reply_len);
		return;
	}
	if (gethostname(host, sizeof(host)) < 0)
		memcpy(host, "?", 2);
	host[sizeof(host) - 1] = '\0';
	n = snprintf((char *)L->reply, sizeof(L->reply), "ack from %s", host);
	L->reply_len = n < 0 ? 0 : (size_t)n < sizeof(L->reply) ? (size_t)n : sizeof(L->reply) - 1;
}

static const char *kind_name(enum uk_listen_kind k)
{
	static const char *const names[] = {"unicast", "broadcast", "multicast"};
	return (unsigned)k < UK_LISTEN_KIND_COUNT ? names[k] : "?";
}

static void print_dgram(struct listener *L, const struct uk_dgram *d,
			const struct uk_listen_decision *dec)
{
	char from[UK_ADDR_STRLEN], to[UK_ADDR_STRLEN] = "?";
	const char *outcome;

	if (L->o.quiet)
		return;
	uk_addr_format(&d->peer, from, sizeof(from));
	if (d->has_dst)
		uk_addr_ip(&d->dst, to, sizeof(to));
	outcome = dec->action == UK_LISTEN_REPLY    ? "answered"
		  : dec->action == UK_LISTEN_SILENT ? "silent"
						    : "refused";
	if (L->o.json) {
		printf("{\"from\":\"%s\",\"to\":\"%s\",\"kind\":\"%s\",\"bytes\":%zu,\"outcome\":"
		       "\"%s\"",
		       from, to, kind_name(dec->kind), d->wire_len, outcome);
		if (dec->action == UK_LISTEN_REFUSE)
			printf(",\"rule\":\"%s\"", uk_verdict_name(dec->verdict));
		if (d->truncated)
			printf(",\"truncated\":true");
		printf(",\"text\":");
		uk_cli_put_json_string(stdout, d->buf, d->len);
		printf("}\n");
	} else {
		printf("%s (%s to %s) %zu bytes: ", from, kind_name(dec->kind), to, d->wire_len);
		if (d->truncated)
			printf("[truncated] ");
		if (dec->action == UK_LISTEN_REFUSE)
			printf("[not answered: %s] ", uk_verdict_name(dec->verdict));
		uk_cli_put_escaped(stdout, d->buf, d->len);
		putchar('\n');
	}
	fflush(stdout);
}

static void queue_reply(struct listener *L, const struct uk_dgram *d,
			const struct uk_listen_decision *dec)
{
	struct pending *p;

	if (L->n_pending == PENDING_MAX) {
		L->st.queue_full++;
		return;
	}
	p = &L->pending[L->n_pending++];
	p->peer = d->peer;
	/* A unicast request is answered from the address it hit (a multi-homed
	 * host would otherwise answer from another one); a broadcast or group
	 * address is never a source, so there the kernel picks. */
	p->use_src = d->has_dst && dec->kind == UK_LISTEN_UNICAST;
	if (p->use_src)
		p->src = d->dst;
	p->due_ns = dec->reply_at_ns;
}

static void send_due(struct listener *L, uint64_t now_ns)
{
	size_t i = 0;

	while (i < L->n_pending) {
		struct pending *p = &L->pending[i];
		if (p->due_ns > now_ns) {
			i++;
			continue;
		}
		ssize_t n = uk_sock_send(L->fd, L->reply, L->reply_len, &p->peer,
					 p->use_src ? &p->src : NULL, 0);
		if (n < 0) {
			L->st.send_failed++;
		} else {
			L->st.replies++;
			uk_guard_note_reply(&L->decide.guard, &p->peer, L->reply, L->reply_len);
		}
		L->pending[i] = L->pending[--L->n_pending];
	}
}

static int next_timeout_ms(const struct listener *L, uint64_t now_ns)
{
	uint64_t soonest = UINT64_MAX;

	for (size_t i = 0; i < L->n_pending; i++)
		if (L->pending[i].due_ns < soonest)
			soonest = L->pending[i].due_ns;
	if (soonest == UINT64_MAX)
		return 1000;
	if (soonest <= now_ns)
		return 0;
	return (int)((soonest - now_ns + UK_NS_PER_MS - 1) / UK_NS_PER_MS);
}

/* Reads every waiting datagram. Returns 0 or -errno. */
static int drain(struct listener *L, unsigned char *buf)
{
	for (;;) {
		struct uk_dgram d = {.buf = buf, .cap = RECV_CAP};
		struct uk_listen_decision dec;
		ssize_t n = uk_sock_recv(L->fd, &d);
		uint64_t now = uk_now_ns();

		if (n == -EAGAIN || n == -EWOULDBLOCK)
			return 0;
		if (n < 0)
			return (int)n;
		uk_listen_decide(&L->decide, &d.peer, d.has_dst ? &d.dst : NULL, d.buf, d.len, now,
				 next_random(L), &dec);
		if (dec.action == UK_LISTEN_NOT_JOINED) {
			L->st.not_joined++;
			continue;
		}
		L->st.datagrams++;
		L->st.bytes += d.wire_len;
		L->st.truncated += d.truncated;
		L->st.kind[dec.kind]++;
		if (dec.action == UK_LISTEN_REFUSE)
			L->st.refused[dec.verdict]++;
		print_dgram(L, &d, &dec);
		if (dec.action == UK_LISTEN_REPLY)
			queue_reply(L, &d, &dec);
	}
}

static int join_groups(struct listener *L, unsigned ifindex)
{
	for (size_t i = 0; i < L->o.n_groups; i++) {
		struct uk_addr g;
		char text[UK_ADDR_STRLEN];
		int rc = uk_addr_parse(&g, L->o.groups[i], 0, AF_UNSPEC);

		if (rc < 0 || !uk_addr_is_multicast(&g)) {
			uk_cli_error(CMD, "%s: not a multicast group address", L->o.groups[i]);
			return -1;
		}
		if (uk_addr_family(&g) == AF_INET6 && L->family == AF_INET) {
			uk_cli_error(CMD, "%s: an IPv6 group needs an IPv6 socket (-b ::)",
				     L->o.groups[i]);
			return -1;
		}
		rc = uk_mcast_join(L->fd, &g, ifindex);
		if (rc == -ENODEV)
			uk_cli_error(CMD,
				     "join %s: no interface for this group (no multicast route?): "
				     "name one with -I",
				     L->o.groups[i]);
		else if (rc < 0 && rc != -EADDRINUSE)
			uk_cli_fail(CMD, L->o.groups[i], rc);
		if (rc < 0 && rc != -EADDRINUSE)
			return -1;
		if (uk_listen_add_group(&L->decide, &g) < 0)
			return -1;
		fprintf(stderr, "joined %s%s%s\n", uk_addr_ip(&g, text, sizeof(text)),
			L->o.ifname ? " on " : "", L->o.ifname ? L->o.ifname : "");
	}
	return 0;
}

/* IPv6 has no broadcast: its counterpart is the all-nodes group ff02::1,
 * which a socket with IPV6_MULTICAST_ALL off only hears once it joins it.
 * An IPv6 listener joins it on -I, or on every multicast interface. */
static int join_all_nodes(struct listener *L, unsigned ifindex)
{
	struct uk_addr g;
	int joined = 0;

	if (uk_addr_parse(&g, "ff02::1", 0, AF_INET6) < 0)
		return -1;
	for (size_t i = 0; i < L->ifs.count; i++) {
		const struct uk_iface *ifc = &L->ifs.ifs[i];
		if ((ifindex && ifc->index != ifindex) || (ifc->flags & UK_IFACE_LOOPBACK) ||
		    uk_iface_multicast_skip(ifc) != UK_IFACE_USE)
			continue;
		int rc = uk_mcast_join(L->fd, &g, ifc->index);
		if (rc == 0 || rc == -EADDRINUSE) {
			fprintf(stderr, "joined ff02::1 on %s\n", ifc->name);
			joined++;
		}
	}
	return joined ? uk_listen_add_group(&L->decide, &g) : 0;
}

static void print_summary(const struct listen_stats *s)
{
	fprintf(
	    stderr,
	    "udpkit listen: %llu datagrams (%llu bytes) received: %llu unicast, %llu broadcast, "
	    "%llu multicast; %llu replies sent\n"
	    "udpkit listen: not answered: %llu badsrc, %llu service, %llu lowport, %llu loop, "
	    "%llu rate, %llu queue full, %llu send failed\n"
	    "udpkit listen: %llu datagrams to groups not joined ignored\n",
	    (unsigned long long)s->datagrams, (unsigned long long)s->bytes,
	    (unsigned long long)s->kind[UK_LISTEN_UNICAST],
	    (unsigned long long)s->kind[UK_LISTEN_BROADCAST],
	    (unsigned long long)s->kind[UK_LISTEN_MULTICAST], (unsigned long long)s->replies,
	    (unsigned long long)s->refused[UK_DROP_BADSRC],
	    (unsigned long long)s->refused[UK_DROP_SERVICE],
	    (unsigned long long)s->refused[UK_DROP_LOWPORT],
	    (unsigned long long)s->refused[UK_DROP_LOOP],
	    (unsigned long long)s->refused[UK_DROP_RATE], (unsigned long long)s->queue_full,
	    (unsigned long long)s->send_failed, (unsigned long long)s->not_joined);
}

static bool any_v6_group(const struct listen_opts *o)
{
	for (size_t i = 0; i < o->n_groups; i++)
		if (strchr(o->groups[i], ':'))
			return true;
	return false;
}

int uk_cmd_listen(int argc, char **argv)
{
	struct listener *L;
	struct uk_addr local;
	unsigned char *buf = NULL;
	unsigned ifindex = 0;
	int rc = UK_EXIT_FAIL, err;
	bool decide_ready = false;

	L = calloc(1, sizeof(*L));
	if (!L)
		return uk_cli_fail(CMD, "memory", -ENOMEM);
	L->fd = -1;
	if (parse_args(argc, argv, &L->o) < 0) {
		free(L);
		return UK_EXIT_USAGE;
	}
	if (getrandom(&L->rng, sizeof(L->rng), 0) != sizeof(L->rng))
		L->rng = uk_wall_ns() ^ ((uint64_t)getpid() << 32);
	L->rng |= 1;
	make_reply(L);
	err = uk_iface_list_load(&L->ifs);
	if (err < 0) {
		uk_cli_fail(CMD, "interfaces", err);
		goto fail;
	}
	if (L->o.ifname) {
		const struct uk_iface *ifc = uk_iface_find(&L->ifs, L->o.ifname);
		if (!ifc) {
			uk_cli_error(CMD, "%s: no such interface (see udpkit ifaces)", L->o.ifname);
			goto fail;
		}
		ifindex = ifc->index;
	}
	/* Broadcasts only reach a wildcard (or broadcast) address: a socket
	 * bound to a unicast address never hears them. */
	if (uk_cli_resolve(CMD,
			   L->o.bind_host	 ? L->o.bind_host
			   : any_v6_group(&L->o) ? "::"
						 : "0.0.0.0",
			   L->o.port, AF_UNSPEC, &local) < 0)
		goto fail;
	L->family = uk_addr_family(&local);
	{
		/* SO_REUSEADDR: every listener on the host gets each broadcast and
		 * group datagram. Not SO_REUSEPORT: when every socket on a port sets
		 * it, Linux hands group datagrams to one socket of the reuseport
		 * group by flow hash, member or not (measured in the lab: about half
		 * went to a socket that never joined; docs/broadcast.md).
		 * A wildcard IPv6 bind stays dual-stack. */
		struct uk_sock_opts so = {.reuse_addr = true,
					  .pktinfo = true,
					  .nonblock = true,
					  .v6only = L->family == AF_INET6 ? 0 : -1};
		L->fd = uk_sock_open(&local, &so);
	}
	if (L->fd < 0) {
		char text[UK_ADDR_STRLEN];
		uk_cli_fail(CMD, uk_addr_format(&local, text, sizeof(text)), L->fd);
		goto fail;
	}
	/* With -p 0 the kernel picked the port: the same-port rule needs it. */
	err = uk_sock_local(L->fd, &local);
	if (err < 0) {
		uk_cli_fail(CMD, "getsockname", err);
		goto fail;
	}
	err = uk_mcast_set_all(L->fd, L->family, false);
	if (err < 0) {
		uk_cli_fail(CMD, "IP_MULTICAST_ALL", err);
		goto fail;
	}
	{
		struct uk_listen_cfg cfg = {
		    .guard = {.rate_pps = L->o.rate_pps, .limit_loopback = true},
		    .jitter_max_ns = L->o.jitter_ns,
		    .no_reply = L->o.no_reply,
		    .port = uk_addr_port(&local)};
		err = uk_listen_init(&L->decide, &cfg, &L->ifs);
	}
	if (err < 0) {
		uk_cli_fail(CMD, "memory", err);
		goto fail;
	}
	decide_ready = true;
	if (join_groups(L, ifindex) < 0)
		goto fail;
	if (L->family == AF_INET6 && join_all_nodes(L, ifindex) < 0)
		goto fail;
	buf = malloc(RECV_CAP);
	if (!buf) {
		uk_cli_fail(CMD, "memory", -ENOMEM);
		goto fail;
	}
	if (!L->o.json)
		(void)setvbuf(stdout, NULL, _IOLBF, 0); /* on failure: only buffered longer */
	uk_cli_catch_signals();
	if (uk_cli_drop_privileges(CMD, NULL) < 0)
		goto fail;
	uk_cli_print_bound(L->fd);

	rc = UK_EXIT_OK;
	while (!atomic_load(&uk_cli_stop)) {
		struct pollfd pfd[2] = {{.fd = L->fd, .events = POLLIN},
					{.fd = uk_cli_stop_fd, .events = POLLIN}};
		int n = poll(pfd, 2, next_timeout_ms(L, uk_now_ns()));

		if (n < 0 && errno != EINTR) {
			uk_cli_fail(CMD, "poll", -errno);
			rc = UK_EXIT_FAIL;
			break;
		}
		if (n > 0 && (pfd[0].revents & (POLLIN | POLLERR))) {
			err = drain(L, buf);
			if (err < 0 && err != -ECONNREFUSED && err != -EHOSTUNREACH &&
			    err != -ENETUNREACH) {
				uk_cli_fail(CMD, "receive", err);
				rc = UK_EXIT_FAIL;
				break;
			}
		}
		send_due(L, uk_now_ns());
	}
	print_summary(&L->st);
fail:
	if (decide_ready)
		uk_listen_free(&L->decide);
	if (L->fd >= 0)
		close(L->fd);
	uk_iface_list_free(&L->ifs);
	free(buf);
	free(L);
	return rc;
}
