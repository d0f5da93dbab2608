/* udpkit listen: the other end of udpkit broadcast (the tutorial's part 3
 * client made safe). Hears broadcasts, and the multicast groups it joins,
 * prints each datagram escaped, and answers with a short acknowledgement:
 * bounded in size, rate-limited per source, jittered for broadcasts, and
 * never to a source that is a broadcast, multicast or low-port address. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "cli.h"
#include "opts.h"
#include "udpkit/activate.h"
#include "udpkit/clock.h"
#include "udpkit/err.h"
#include "udpkit/i18n.h"
#include "udpkit/iface.h"
#include "udpkit/listen.h"
#include "udpkit/mcast.h"
#include "udpkit/parse.h"
#include "udpkit/sock.h"

#define CMD "listen"
#define PENDING_MAX 256
#define RECV_CAP 65536

struct listen_opts {
	struct uk_cli_target bind;  /* host empty until -b: then 0.0.0.0 or :: */
	struct uk_opts_list groups; /* -g, up to UK_LISTEN_MAX_GROUPS */
	const char *ifname;
	const char *reply;
	bool no_reply, quiet, json;
	uint64_t rate_pps;
	uint64_t jitter_ns;
};

/* A reply waiting for its jitter to pass. */
struct pending {
	struct uk_addr peer, src;
	size_t sock; /* answered from the socket the request came to */
	bool use_src;
	uint64_t due_ns;
};

struct listen_stats {
	uint64_t datagrams, bytes, truncated;
	uint64_t kind[UK_LISTEN_KIND_COUNT];
	uint64_t not_joined, replies, send_failed, queue_full;
	uint64_t refused[UK_VERDICT_COUNT];
};

/* One socket: ours on -b/-p, or each one systemd's socket unit passed
 * (several for several addresses: ListenDatagram= lines). */
struct lsock {
	int fd, family;
	uint16_t port;
};

struct listener {
	struct listen_opts o;
	struct lsock socks[UK_ACTIVATE_MAX_FDS];
	size_t n_socks;
	struct uk_iface_list ifs;
	struct uk_listen decide;
	unsigned char reply[UK_LISTEN_REPLY_MAX];
	size_t reply_len;
	struct pending pending[PENDING_MAX];
	size_t n_pending;
	uint64_t rng;
	struct listen_stats st;
	unsigned char *buf;
	bool decide_ready;
};

static bool any_v6_group(const struct listen_opts *o)
{
	for (size_t i = 0; i < o->groups.count; i++)
		if (strchr(o->groups.items[i], ':'))
			return true;
	return false;
}

/* The option table: cmd/listen/options.tsv, made C by cmd/options.awk. */
#define AT(member) offsetof(struct listen_opts, member)
#include "listen_options.h"

const struct uk_cmd_spec uk_spec_listen = {
    "listen",
    N_("hear broadcasts and multicast, answer with a short ack"),
    "",
    N_("Hears UDP broadcasts (and the multicast groups it joins), prints each\n"
       "datagram with its sender, and answers with a short acknowledgement."),
    options,
    N_("Exit status: 0 when stopped by a signal, 2 on errors (a port in use, ...)."),
    UK_COMP_NONE};

static int parse_args(int argc, char **argv, struct listen_opts *o)
{
	int rc;

	*o = (struct listen_opts){.bind = {.port = 8086},
				  .rate_pps = UK_LISTEN_DEFAULT_RATE,
				  .jitter_ns = UK_LISTEN_DEFAULT_JITTER_MS * UK_NS_PER_MS};
	rc = uk_opts_parse(&uk_spec_listen, argc, argv, NULL, o);
	if (rc != UK_CONTINUE)
		return rc;
	if (o->reply && strlen(o->reply) > UK_LISTEN_REPLY_MAX)
		return uk_cli_usage_error(CMD, _("--reply is at most %d bytes"),
					  UK_LISTEN_REPLY_MAX);
	if (o->reply && o->no_reply)
		return uk_cli_usage_error(CMD, _("--reply and --no-reply exclude each other"));
	if (o->quiet && o->json)
		return uk_cli_usage_error(CMD, _("--quiet and --json exclude each other"));
	/* Broadcasts only reach a wildcard (or broadcast) address: a socket
	 * bound to a unicast address never hears them. */
	if (!o->bind.host[0])
		snprintf(o->bind.host, sizeof(o->bind.host), "%s",
			 any_v6_group(o) ? "::" : "0.0.0.0");
	return UK_CONTINUE;
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
	outcome = dec->action == UK_LISTEN_REPLY    ? "replied"
		  : dec->action == UK_LISTEN_SILENT ? "silent"
						    : "refused";
	if (L->o.json) {
		uk_cli_json_begin(stdout, "datagram");
		printf(",\"from\":\"%s\",\"to\":\"%s\",\"kind\":\"%s\",\"bytes\":%zu,"
		       "\"outcome\":\"%s\"",
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

static void queue_reply(struct listener *L, size_t sock, const struct uk_dgram *d,
			const struct uk_listen_decision *dec)
{
	struct pending *p;

	if (L->n_pending == PENDING_MAX) {
		L->st.queue_full++;
		return;
	}
	p = &L->pending[L->n_pending++];
	p->peer = d->peer;
	p->sock = sock;
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
		ssize_t n = uk_sock_send(L->socks[p->sock].fd, L->reply, L->reply_len, &p->peer,
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

/* Reads every datagram waiting on socket sock. Returns 0 or -errno. */
static int drain(struct listener *L, size_t sock, unsigned char *buf)
{
	/* The same-port rule (a source on our port is another listener) is
	 * about the port this socket serves. */
	L->decide.port = L->socks[sock].port;
	for (;;) {
		struct uk_dgram d = {.buf = buf, .cap = RECV_CAP};
		struct uk_listen_decision dec;
		ssize_t n = uk_sock_recv(L->socks[sock].fd, &d);
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
			queue_reply(L, sock, &d, &dec);
	}
}

static bool has_family(const struct listener *L, int family)
{
	for (size_t k = 0; k < L->n_socks; k++)
		if (L->socks[k].family == family)
			return true;
	return false;
}

static int join_groups(struct listener *L, unsigned ifindex)
{
	for (size_t i = 0; i < L->o.groups.count; i++) {
		struct uk_addr g;
		char text[UK_ADDR_STRLEN];
		int rc = uk_addr_parse(&g, L->o.groups.items[i], 0, AF_UNSPEC);

		if (rc < 0 || !uk_addr_is_multicast(&g)) {
			uk_cli_error(CMD, _("%s: not a multicast group address"),
				     L->o.groups.items[i]);
			return -1;
		}
		/* Each group on every socket of its family (an IPv6 socket is
		 * dual-stack: IPv4 groups too); the first failure stops. */
		rc = -EAFNOSUPPORT;
		for (size_t k = 0; k < L->n_socks; k++) {
			if (uk_addr_family(&g) == AF_INET6 && L->socks[k].family == AF_INET)
				continue;
			rc = uk_mcast_join(L->socks[k].fd, &g, ifindex);
			if (rc < 0 && rc != -EADDRINUSE)
				break;
		}
		if (rc == -EAFNOSUPPORT) {
			uk_cli_error(CMD, _("%s: an IPv6 group needs an IPv6 socket (-b ::)"),
				     L->o.groups.items[i]);
			return -1;
		}
		if (rc == -ENODEV)
			uk_cli_error(
			    CMD,
			    _("join %s: no interface for this group (no multicast route?): "
			      "name one with -I"),
			    L->o.groups.items[i]);
		else if (rc < 0 && rc != -EADDRINUSE)
			uk_cli_fail(CMD, L->o.groups.items[i], rc);
		if (rc < 0 && rc != -EADDRINUSE)
			return -1;
		if (uk_listen_add_group(&L->decide, &g) < 0)
			return -1;
		fprintf(stderr, _("joined %s%s%s\n"), uk_addr_ip(&g, text, sizeof(text)),
			L->o.ifname ? _(" on ") : "", L->o.ifname ? L->o.ifname : "");
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
		int rc = -EAFNOSUPPORT;
		for (size_t k = 0; k < L->n_socks; k++)
			if (L->socks[k].family == AF_INET6)
				rc = uk_mcast_join(L->socks[k].fd, &g, ifc->index);
		if (rc == 0 || rc == -EADDRINUSE) {
			fprintf(stderr, _("joined ff02::1 on %s\n"), ifc->name);
			joined++;
		}
	}
	return joined ? uk_listen_add_group(&L->decide, &g) : 0;
}

static void print_summary(const struct listen_stats *s)
{
	fprintf(stderr,
		_("udpkit listen: %llu %s (%llu %s) received: %llu unicast, %llu broadcast, "
		  "%llu multicast; %llu %s sent\n"),
		(unsigned long long)s->datagrams,
		uk_cli_plural(s->datagrams, "datagram", "datagrams"), (unsigned long long)s->bytes,
		uk_cli_plural(s->bytes, "byte", "bytes"),
		(unsigned long long)s->kind[UK_LISTEN_UNICAST],
		(unsigned long long)s->kind[UK_LISTEN_BROADCAST],
		(unsigned long long)s->kind[UK_LISTEN_MULTICAST], (unsigned long long)s->replies,
		uk_cli_plural(s->replies, "reply", "replies"));
	fprintf(
	    stderr,
	    _("udpkit listen: not answered: %llu badsrc, %llu service, %llu lowport, %llu loop, "
	      "%llu rate, %llu queue full, %llu send failed\n"
	      "udpkit listen: %llu %s to groups not joined ignored\n"),
	    (unsigned long long)s->refused[UK_DROP_BADSRC],
	    (unsigned long long)s->refused[UK_DROP_SERVICE],
	    (unsigned long long)s->refused[UK_DROP_LOWPORT],
	    (unsigned long long)s->refused[UK_DROP_LOOP],
	    (unsigned long long)s->refused[UK_DROP_RATE], (unsigned long long)s->queue_full,
	    (unsigned long long)s->send_failed, (unsigned long long)s->not_joined,
	    uk_cli_plural(s->not_joined, "datagram", "datagrams"));
}

/* The listening sockets: those systemd's udpkit-listen.socket bound (one
 * per address it lists), else our own on -b/-p. Fills L->socks. */
static int listen_socket(struct listener *L)
{
	int inherited[UK_ACTIVATE_MAX_FDS];
	struct uk_addr local;
	int rc = uk_activate_listen_fds(inherited, UK_ACTIVATE_MAX_FDS);
	int n = rc;

	if (rc < 0)
		return uk_cli_fail(CMD, _("sockets from the service manager"), rc);
	for (int i = 0; i < n; i++) {
		struct uk_sock_opts so = {.pktinfo = true, .nonblock = true, .v6only = -1};
		struct lsock *k = &L->socks[L->n_socks++];
		k->fd = inherited[i];
		if ((rc = uk_sock_adopt(k->fd, &so)) < 0 ||
		    (rc = uk_sock_local(k->fd, &local)) < 0) {
			while (++i < n)
				close(inherited[i]);
			return uk_cli_fail(CMD, _("socket from the service manager"), rc);
		}
		k->family = uk_addr_family(&local);
	}
	if (n > 0)
		return UK_CONTINUE;
	rc = uk_cli_target_resolve(&L->o.bind, AF_UNSPEC, &local);
	if (rc != UK_CONTINUE)
		return rc;
	L->socks[0].family = uk_addr_family(&local);
	/* SO_REUSEADDR: every listener on the host gets each broadcast and
	 * group datagram. Not SO_REUSEPORT: when every socket on a port sets
	 * it, Linux hands group datagrams to one socket of the reuseport
	 * group by flow hash, member or not (measured in the lab: about half
	 * went to a socket that never joined; docs/broadcast.md).
	 * A wildcard IPv6 bind stays dual-stack. */
	struct uk_sock_opts so = {.reuse_addr = true,
				  .pktinfo = true,
				  .nonblock = true,
				  .v6only = L->socks[0].family == AF_INET6 ? 0 : -1};
	L->socks[0].fd = uk_sock_open(&local, &so);
	if (L->socks[0].fd < 0) {
		char text[UK_ADDR_STRLEN];
		return uk_cli_fail(CMD, uk_addr_format(&local, text, sizeof(text)), L->socks[0].fd);
	}
	L->n_socks = 1;
	return UK_CONTINUE;
}

/* Binds, joins the groups and sets up the decisions. */
static int listen_open(struct listener *L)
{
	struct uk_addr local;
	unsigned ifindex = 0;
	int err, rc;

	if (getrandom(&L->rng, sizeof(L->rng), 0) != sizeof(L->rng))
		L->rng = uk_wall_ns() ^ ((uint64_t)getpid() << 32);
	L->rng |= 1;
	make_reply(L);
	err = uk_iface_list_load(&L->ifs);
	if (err < 0)
		return uk_cli_fail(CMD, _("interfaces"), err);
	if (L->o.ifname) {
		const struct uk_iface *ifc = uk_iface_find(&L->ifs, L->o.ifname);
		if (!ifc) {
			uk_cli_error(CMD, _("%s: no such interface (see udpkit ifaces)"),
				     L->o.ifname);
			return UK_EXIT_ERROR;
		}
		ifindex = ifc->index;
	}
	rc = listen_socket(L);
	if (rc != UK_CONTINUE)
		return rc;
	for (size_t k = 0; k < L->n_socks; k++) {
		/* With -p 0 the kernel picked the port: the same-port rule needs it. */
		err = uk_sock_local(L->socks[k].fd, &local);
		if (err < 0)
			return uk_cli_fail(CMD, _("getsockname"), err);
		L->socks[k].port = uk_addr_port(&local);
		err = uk_mcast_set_all(L->socks[k].fd, L->socks[k].family, false);
		if (err < 0)
			return uk_cli_fail(CMD, _("IP_MULTICAST_ALL"), err);
	}
	{
		struct uk_listen_cfg cfg = {
		    .guard = {.rate_pps = (uint32_t)L->o.rate_pps, .limit_loopback = true},
		    .jitter_max_ns = L->o.jitter_ns,
		    .no_reply = L->o.no_reply,
		    .port = L->socks[0].port}; /* drain() sets each socket's */
		err = uk_listen_init(&L->decide, &cfg, &L->ifs);
	}
	if (err < 0)
		return uk_cli_fail(CMD, _("memory"), err);
	L->decide_ready = true;
	if (join_groups(L, ifindex) < 0)
		return UK_EXIT_ERROR;
	if (has_family(L, AF_INET6) && join_all_nodes(L, ifindex) < 0)
		return UK_EXIT_ERROR;
	L->buf = malloc(RECV_CAP);
	if (!L->buf)
		return uk_cli_fail(CMD, _("memory"), -ENOMEM);
	return UK_CONTINUE;
}

/* Hears and answers until a signal. Returns an exit status. */
static int listen_run(struct listener *L)
{
	if (!L->o.json)
		(void)setvbuf(stdout, NULL, _IOLBF, 0); /* on failure: only buffered longer */
	uk_cli_catch_signals();
	if (uk_cli_drop_privileges(CMD, NULL) < 0)
		return UK_EXIT_ERROR;
	for (size_t k = 0; k < L->n_socks; k++)
		uk_cli_print_bound(L->socks[k].fd);
	(void)uk_activate_notify("READY=1"); /* Type=notify units: serving now */
	while (!atomic_load(&uk_cli_stop)) {
		struct pollfd pfd[UK_ACTIVATE_MAX_FDS + 1];
		int n;

		for (size_t k = 0; k < L->n_socks; k++)
			pfd[k] = (struct pollfd){.fd = L->socks[k].fd, .events = POLLIN};
		pfd[L->n_socks] = (struct pollfd){.fd = uk_cli_stop_fd, .events = POLLIN};
		n = poll(pfd, L->n_socks + 1, next_timeout_ms(L, uk_now_ns()));
		if (n < 0 && errno != EINTR)
			return uk_cli_fail(CMD, _("poll"), -errno);
		for (size_t k = 0; n > 0 && k < L->n_socks; k++) {
			if (!(pfd[k].revents & (POLLIN | POLLERR)))
				continue;
			int err = drain(L, k, L->buf);
			if (err < 0 && err != -ECONNREFUSED && err != -EHOSTUNREACH &&
			    err != -ENETUNREACH)
				return uk_cli_fail(CMD, _("receive"), err);
		}
		send_due(L, uk_now_ns());
	}
	(void)uk_activate_notify("STOPPING=1");
	return UK_EXIT_OK;
}

int uk_cmd_listen(int argc, char **argv)
{
	struct listener *L = calloc(1, sizeof(*L));
	int rc;

	if (!L)
		return uk_cli_fail(CMD, _("memory"), -ENOMEM);
	rc = parse_args(argc, argv, &L->o);
	if (rc == UK_CONTINUE)
		rc = listen_open(L);
	if (rc == UK_CONTINUE) {
		rc = listen_run(L);
		print_summary(&L->st);
	}
	if (L->decide_ready)
		uk_listen_free(&L->decide);
	for (size_t k = 0; k < L->n_socks; k++)
		if (L->socks[k].fd >= 0)
			close(L->socks[k].fd);
	uk_iface_list_free(&L->ifs);
	free(L->buf);
	free(L);
	return rc;
}
