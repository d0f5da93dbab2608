/* udpkit broadcast: the tutorial's part 3 server made real. Sends each
 * message to the directed broadcast address of every usable interface
 * (or to one --to address: broadcast, multicast or unicast), collects the
 * replies until --wait passes, one line per responder with its RTT, and
 * never mistakes its own looped-back datagram for a reply. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "opts.h"
#include "udpkit/clock.h"
#include "udpkit/err.h"
#include "udpkit/i18n.h"
#include "udpkit/iface.h"
#include "udpkit/mcast.h"
#include "udpkit/parse.h"
#include "udpkit/responders.h"
#include "udpkit/sock.h"

#define CMD "broadcast"
#define MAX_TARGETS 64
#define MAX_MESSAGE 65507
#define RECV_CAP 65536

struct bcast_opts {
	struct uk_cli_target to; /* --to (host empty: broadcast) and -p, its port */
	uint16_t source_port;
	const char *ifname;
	uint64_t ttl;
	uint64_t wait_ns;
	uint64_t retries;
	uint64_t count; /* stop once this many have answered; 0: wait it out */
	bool raw, json;
};

struct target {
	struct uk_addr dst;
	struct uk_addr src; /* leave from this address (its interface); unset = routing */
	bool has_src;
	const char *ifname;
	bool failed;
};

struct sender {
	struct bcast_opts o;
	struct uk_iface_list ifs;
	struct target targets[MAX_TARGETS];
	size_t n_targets;
	int fd, family;
	bool so_broadcast;
	struct uk_responders resp;
	unsigned char *rbuf;
	uint64_t others; /* broadcasts and group traffic that were not replies */
	uint64_t total_responders;
	bool resp_ready;
};

/* The option table: cmd/broadcast/options.tsv, made C by cmd/options.awk. */
#define AT(member) offsetof(struct bcast_opts, member)
#include "broadcast_options.h"

const struct uk_cmd_spec uk_spec_broadcast = {
    "broadcast",
    N_("send to the LAN's broadcast or a multicast group, list who answers"),
    "[MESSAGE...]",
    N_("Broadcasts each message (or each line of standard input) and lists every\n"
       "host that replies, with its round-trip time, as the replies arrive."),
    options,
    N_("Exit status: 0 when someone answered, 1 when nobody did, 2 on errors."),
    UK_COMP_NONE};

static int parse_args(int argc, char **argv, struct bcast_opts *o)
{
	*o = (struct bcast_opts){.to = {.port = 8086}, .wait_ns = UK_NS_PER_SEC};
	return uk_opts_parse(&uk_spec_broadcast, argc, argv, NULL, o);
}

/* The default destinations: each usable interface's directed broadcast.
 * None usable is an error that names why each interface was skipped. */
static int pick_broadcast_targets(struct sender *S)
{
	struct uk_iface_target t[MAX_TARGETS];
	enum uk_iface_skip *why = calloc(S->ifs.count ? S->ifs.count : 1, sizeof(*why));
	size_t n;

	if (!why)
		return uk_cli_fail(CMD, _("memory"), -ENOMEM), -1;
	n = uk_iface_broadcast_targets(&S->ifs, S->o.ifname, S->o.to.port, t, MAX_TARGETS, why);
	if (n == 0) {
		uk_cli_error(CMD, _("no broadcast-capable interface%s%s:"),
			     S->o.ifname ? _(" named ") : "", S->o.ifname ? S->o.ifname : "");
		for (size_t i = 0; i < S->ifs.count; i++)
			if (why[i] != UK_IFACE_SKIP_FILTER)
				fprintf(stderr, "  %s: %s\n", S->ifs.ifs[i].name,
					_(uk_iface_skip_text(why[i])));
		fprintf(stderr,
			_("  (udpkit ifaces shows the details; --to ADDR sends to one address)\n"));
		free(why);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		S->targets[i].dst = t[i].dst;
		S->targets[i].src = t[i].src;
		S->targets[i].has_src = true;
		S->targets[i].ifname = S->ifs.ifs[t[i].iface].name;
	}
	S->n_targets = n;
	S->so_broadcast = true;
	S->family = AF_INET;
	free(why);
	return 0;
}

/* The first IPv4 address of an interface, to send a limited broadcast out
 * of it: with a source address the kernel picks its interface, no route
 * for 255.255.255.255 needed. */
static bool iface_v4(const struct uk_iface *ifc, struct uk_addr *out)
{
	for (size_t j = 0; j < ifc->n_addrs; j++)
		if (uk_addr_family(&ifc->addrs[j].addr) == AF_INET) {
			*out = ifc->addrs[j].addr;
			return true;
		}
	return false;
}

static int pick_to_target(struct sender *S, const struct uk_iface *ifc)
{
	struct target *t = &S->targets[0];

	if (uk_cli_target_resolve(&S->o.to, AF_UNSPEC, &t->dst) != UK_CONTINUE)
		return -1;
	S->family = uk_addr_family(&t->dst);
	S->n_targets = 1;
	t->ifname = ifc ? ifc->name : NULL;
	if (S->family == AF_INET6) {
		/* IPv6 has no broadcast; a link-scoped group or address needs an
		 * interface on a host with several (ff02::1%eth0 or -I eth0). */
		if (ifc && !t->dst.u.in6.sin6_scope_id &&
		    (IN6_IS_ADDR_MC_LINKLOCAL(&t->dst.u.in6.sin6_addr) ||
		     IN6_IS_ADDR_LINKLOCAL(&t->dst.u.in6.sin6_addr)))
			t->dst.u.in6.sin6_scope_id = ifc->index;
		return 0;
	}
	/* SO_BROADCAST only for addresses known to be broadcast: a unicast
	 * --to that turns out to be some subnet's broadcast fails with EACCES
	 * instead of reaching every host there by accident. */
	S->so_broadcast = uk_iface_is_broadcast(&S->ifs, &t->dst);
	if (ifc && !uk_addr_is_multicast(&t->dst))
		t->has_src = iface_v4(ifc, &t->src);
	return 0;
}

static int open_socket(struct sender *S, const struct uk_iface *ifc)
{
	struct uk_addr local;
	struct uk_sock_opts so = {.broadcast = S->so_broadcast,
				  .pktinfo = true,
				  .nonblock = true,
				  .v6only = S->family == AF_INET6 ? 0 : -1,
				  .ttl = (int)S->o.ttl,
				  /* A fixed source port may be shared with a listener
				   * (SO_REUSEADDR, as udpkit listen sets it). */
				  .reuse_addr = S->o.source_port != 0};
	int rc;

	uk_addr_any(&local, S->family, S->o.source_port);
	S->fd = uk_sock_open(&local, &so);
	if (S->fd < 0) {
		char text[UK_ADDR_STRLEN];
		return uk_cli_fail(CMD, uk_addr_format(&local, text, sizeof(text)), S->fd), -1;
	}
	/* Bound to a wildcard, this socket would otherwise also hear every group
	 * other sockets on the host joined. */
	rc = uk_mcast_set_all(S->fd, S->family, false);
	if (rc == 0 && ifc && uk_addr_is_multicast(&S->targets[0].dst))
		rc = uk_mcast_set_if(S->fd, S->family, ifc->index);
	if (rc < 0)
		return uk_cli_fail(CMD, _("multicast options"), rc), -1;
	if (uk_sock_local(S->fd, &local) < 0)
		return -1;
	uk_responders_init(&S->resp, &local, &S->ifs, 0);
	return 0;
}

static void explain_send_error(struct target *t, int err)
{
	char dst[UK_ADDR_STRLEN];

	uk_addr_format(&t->dst, dst, sizeof(dst));
	if (err == -EACCES)
		uk_cli_error(
		    CMD,
		    _("send to %s: %s: it is a broadcast address, and udpkit sets "
		      "SO_BROADCAST only for 255.255.255.255 and the broadcast addresses its "
		      "interfaces list (see udpkit ifaces; an address added without 'brd +' "
		      "has none)"),
		    dst, _(uk_strerror(err)));
	else if (err == -ENETUNREACH && uk_addr_is_limited_broadcast(&t->dst))
		uk_cli_error(CMD,
			     _("send to %s: %s: no route for the limited broadcast; name the "
			       "interface with -I, or omit --to to use each interface's directed "
			       "broadcast"),
			     dst, _(uk_strerror(err)));
	else if (err == -ENETUNREACH || err == -EHOSTUNREACH)
		uk_cli_error(CMD, _("send to %s: %s: no route to it from this host%s"), dst,
			     _(uk_strerror(err)),
			     uk_addr_is_multicast(&t->dst) ? _(" (name the interface with -I)")
							   : "");
	else if (err == -ENODEV || err == -EADDRNOTAVAIL)
		uk_cli_error(CMD, _("send to %s: %s (name the interface with -I)"), dst,
			     _(uk_strerror(err)));
	else
		uk_cli_error(CMD, _("send to %s: %s"), dst, _(uk_strerror(err)));
}

/* Sends msg to every target. Returns how many sends succeeded. */
static size_t send_all(struct sender *S, const unsigned char *msg, size_t len, bool first)
{
	size_t ok = 0;

	for (size_t i = 0; i < S->n_targets; i++) {
		struct target *t = &S->targets[i];
		ssize_t n = uk_sock_send(S->fd, msg, len, &t->dst, t->has_src ? &t->src : NULL, 0);
		if (n >= 0) {
			ok++;
			if (first && !S->o.json) {
				char dst[UK_ADDR_STRLEN];
				fprintf(stderr, _("sent %zu bytes to %s%s%s\n"), len,
					uk_addr_format(&t->dst, dst, sizeof(dst)),
					t->ifname ? _(" on ") : "", t->ifname ? t->ifname : "");
			}
		} else if (!t->failed) {
			t->failed = true;
			explain_send_error(t, (int)n);
		}
	}
	return ok;
}

/* A responder's first reply, printed as it arrives. */
static void print_reply(const struct sender *S, const struct uk_addr *peer, const void *buf,
			size_t len, size_t wire_len, uint64_t rtt_ns)
{
	char from[UK_ADDR_STRLEN];

	uk_addr_format(peer, from, sizeof(from));
	if (S->o.json) {
		uk_cli_json_begin(stdout, "reply");
		printf(",\"from\":\"%s\",\"rtt_ms\":%.3f,\"bytes\":%zu,\"text\":", from,
		       (double)rtt_ns / 1e6, wire_len);
		uk_cli_put_json_string(stdout, buf, len);
		printf("}\n");
	} else {
		printf("%-24s %9.3f ms  ", from, (double)rtt_ns / 1e6);
		uk_cli_put_escaped(stdout, buf, len);
		putchar('\n');
	}
	fflush(stdout);
}

/* Receives what is waiting; each reply is accounted once per responder. */
static void receive_replies(struct sender *S, uint64_t last_send_ns)
{
	for (;;) {
		struct uk_dgram d = {.buf = S->rbuf, .cap = RECV_CAP};
		ssize_t n = uk_sock_recv(S->fd, &d);
		uint64_t now = uk_now_ns();

		if (n < 0)
			return; /* EAGAIN, or an ICMP error from a unicast target */
		/* Someone else's broadcast or group datagram reaching our port is not
		 * a reply: replies are unicast to us. Our own comes back the same way,
		 * and is counted as such. */
		if (d.has_dst &&
		    !uk_responders_is_own(&S->resp, &d.peer, d.buf, d.len, d.wire_len) &&
		    (uk_addr_is_multicast(&d.dst) || uk_iface_is_broadcast(&S->ifs, &d.dst))) {
			S->others++;
			continue;
		}
		if (uk_responders_add(&S->resp, &d.peer, d.buf, d.len, d.wire_len,
				      now - last_send_ns) == UK_RESP_NEW)
			print_reply(S, &d.peer, d.buf, d.len, d.wire_len, now - last_send_ns);
	}
}

/* After the wait: who answered more than once, and the summary. */
static void print_results(struct sender *S, const unsigned char *msg, size_t len)
{
	char from[UK_ADDR_STRLEN];

	for (size_t i = 0; i < S->resp.count; i++) {
		const struct uk_responder *r = &S->resp.items[i];
		uk_addr_format(&r->addr, from, sizeof(from));
		if (S->o.json) {
			uk_cli_json_begin(stdout, "responder");
			printf(",\"from\":\"%s\",\"rtt_ms\":%.3f,\"replies\":%llu}\n", from,
			       (double)r->rtt_ns / 1e6, (unsigned long long)r->replies);
		} else if (r->replies > 1) {
			printf(_("%-24s answered %llu times\n"), from,
			       (unsigned long long)r->replies);
		}
	}
	if (S->o.json) {
		uk_cli_json_begin(stdout, "summary");
		printf(",\"message\":");
		uk_cli_put_json_string(stdout, msg, len);
		printf(",\"responders\":%zu,\"duplicates\":%llu,\"own\":%llu,\"others\":%llu,"
		       "\"overflow\":%llu}\n",
		       S->resp.count, (unsigned long long)S->resp.duplicates,
		       (unsigned long long)S->resp.own, (unsigned long long)S->others,
		       (unsigned long long)S->resp.overflow);
	} else {
		printf("%s%zu %s%s", uk_cli_sgr(stdout, S->resp.count ? UK_SGR_GOOD : UK_SGR_ERROR),
		       S->resp.count, uk_cli_plural(S->resp.count, "responder", "responders"),
		       uk_cli_sgr(stdout, UK_SGR_RESET));
		if (S->resp.duplicates)
			printf(_(", %llu duplicate %s"), (unsigned long long)S->resp.duplicates,
			       uk_cli_plural(S->resp.duplicates, "reply", "replies"));
		if (S->resp.own)
			printf(_(", own datagram looped back %llu %s (ignored)"),
			       (unsigned long long)S->resp.own,
			       uk_cli_plural(S->resp.own, "time", "times"));
		if (S->others)
			printf(_(", %llu broadcast or group %s from others (ignored)"),
			       (unsigned long long)S->others,
			       uk_cli_plural(S->others, "datagram", "datagrams"));
		putchar('\n');
	}
	fflush(stdout);
}

/* One message: sent 1 + retries times spread over the wait, replies
 * collected until the wait is over. Returns 0, or -1 when no send worked. */
static int broadcast_one(struct sender *S, const char *text, size_t text_len)
{
	unsigned char *msg = malloc(MAX_MESSAGE);
	size_t len = 0, ok = 0;
	uint64_t start, end, last_send = 0;
	unsigned sent = 0, tries = (unsigned)S->o.retries + 1;

	if (!msg)
		return uk_cli_fail(CMD, _("memory"), -ENOMEM), -1;
	if (!S->o.raw) {
		char stamp[UK_CTIME_LEN + 1];
		uk_ctime_format(time(NULL), stamp);
		len = (size_t)snprintf((char *)msg, MAX_MESSAGE, "【%s】", stamp);
	}
	if (text_len > MAX_MESSAGE - len)
		text_len = MAX_MESSAGE - len; /* a datagram holds no more */
	memcpy(msg + len, text, text_len);
	len += text_len;

	/* Replies are per message: a late one to the previous message counts
	 * for this one (its RTT measured from this send). */
	uk_responders_clear(&S->resp);
	S->others = 0;
	uk_responders_sent(&S->resp, msg, len);
	start = uk_now_ns();
	end = start + S->o.wait_ns;
	for (;;) {
		uint64_t now = uk_now_ns();
		uint64_t next_send = start + S->o.wait_ns * sent / tries;
		if (sent < tries && now >= next_send) {
			ok += send_all(S, msg, len, sent == 0);
			last_send = now;
			sent++;
			if (sent == 1 && ok == 0)
				break;
			continue;
		}
		if (now >= end || atomic_load(&uk_cli_stop))
			break;
		uint64_t until = sent < tries ? start + S->o.wait_ns * sent / tries : end;
		struct pollfd pfd[2] = {{.fd = S->fd, .events = POLLIN},
					{.fd = uk_cli_stop_fd, .events = POLLIN}};
		int ms = (int)((until - now + UK_NS_PER_MS - 1) / UK_NS_PER_MS);
		if (poll(pfd, 2, ms) > 0 && (pfd[0].revents & (POLLIN | POLLERR)))
			receive_replies(S, last_send);
		/* The wait is an upper bound for a script that knows how many
		 * answer: it goes on as soon as they have. */
		if (S->o.count && S->resp.count >= S->o.count)
			break;
	}
	if (ok > 0) {
		print_results(S, msg, len);
		S->total_responders += S->resp.count;
	}
	uk_responders_sent(&S->resp, NULL, 0);
	free(msg);
	return ok > 0 ? 0 : -1;
}

static int run_stdin(struct sender *S)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	bool tty = isatty(STDIN_FILENO) == 1;
	int rc = 0;

	for (;;) {
		if (tty) {
			fputs(_("message: "), stderr);
			fflush(stderr);
		}
		n = getline(&line, &cap, stdin);
		if (n < 0)
			break;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (broadcast_one(S, line, (size_t)n) < 0) {
			rc = -1;
			break;
		}
		if (atomic_load(&uk_cli_stop))
			break;
	}
	free(line);
	return rc;
}

/* Loads the interfaces, picks the targets, opens the socket. */
static int broadcast_open(struct sender *S)
{
	const struct uk_iface *ifc = NULL;
	int err;

	if (S->o.source_port == S->o.to.port)
		uk_cli_warn(CMD,
			    _("--source-port equals --port: udpkit listen never answers its own "
			      "port (two listeners could answer each other forever)"));
	err = uk_iface_list_load(&S->ifs);
	if (err < 0)
		return uk_cli_fail(CMD, _("interfaces"), err);
	if (S->o.ifname && !(ifc = uk_iface_find(&S->ifs, S->o.ifname))) {
		uk_cli_error(CMD, _("%s: no such interface (see udpkit ifaces)"), S->o.ifname);
		return UK_EXIT_ERROR;
	}
	if ((S->o.to.host[0] ? pick_to_target(S, ifc) : pick_broadcast_targets(S)) < 0)
		return UK_EXIT_ERROR;
	if (open_socket(S, ifc) < 0)
		return UK_EXIT_ERROR;
	S->resp_ready = true;
	S->rbuf = malloc(RECV_CAP);
	if (!S->rbuf)
		return uk_cli_fail(CMD, _("memory"), -ENOMEM);
	return UK_CONTINUE;
}

/* Each message of argv (from first) or of stdin. Returns an exit status. */
static int broadcast_run(struct sender *S, int first, int argc, char **argv)
{
	uk_cli_catch_signals();
	if (first < argc) {
		for (int i = first; i < argc && !atomic_load(&uk_cli_stop); i++)
			if (broadcast_one(S, argv[i], strlen(argv[i])) < 0)
				return UK_EXIT_ERROR;
	} else if (run_stdin(S) < 0) {
		return UK_EXIT_ERROR;
	}
	return S->total_responders ? UK_EXIT_OK : UK_EXIT_FAIL; /* like ping: nobody answered */
}

int uk_cmd_broadcast(int argc, char **argv)
{
	struct sender *S = calloc(1, sizeof(*S));
	int rc;

	if (!S)
		return uk_cli_fail(CMD, _("memory"), -ENOMEM);
	S->fd = -1;
	rc = parse_args(argc, argv, &S->o);
	if (rc == UK_CONTINUE)
		rc = broadcast_open(S);
	if (rc == UK_CONTINUE)
		rc = broadcast_run(S, optind, argc, argv);
	if (S->resp_ready)
		uk_responders_free(&S->resp);
	if (S->fd >= 0)
		close(S->fd);
	free(S->rbuf);
	uk_iface_list_free(&S->ifs);
	free(S);
	return rc;
}
