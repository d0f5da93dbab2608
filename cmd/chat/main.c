/* udpkit chat: a serverless LAN chat that speaks IP Messenger and plain
 * text (the tutorial's part 4 made real). argv -> options -> one socket,
 * the protocol engine (lib/chat.c), the history writer and either the
 * terminal UI or line mode, joined by one poll() loop. Line mode prints
 * one tab-separated event per line for scripts (docs/chat.md). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "chat/tui.h"
#include "cli.h"
#include "opts.h"
#include "udpkit/chat.h"
#include "udpkit/clock.h"
#include "udpkit/conf.h"
#include "udpkit/err.h"
#include "udpkit/history.h"
#include "udpkit/iface.h"
#include "udpkit/parse.h"
#include "udpkit/sock.h"

#include "chat/app.h"
#include "udpkit/i18n.h"
#include "chat/files.h"

/* At start, line-mode input waits (up to 1 s) until every --peer has
 * answered our BR_ENTRY, so a script's first lines go in the charset the
 * peer reads. A peer that never answers still gets IPMsg with receipts
 * (and its messages end undelivered); --plain peers are not waited for. */
#define PEER_WAIT_NS (1000ull * UK_NS_PER_MS)

/* What the shell completes for --charset (the parser takes aliases too). */
static const char *const charsets[] = {"utf-8", "gb18030", "cp932", NULL};

/* The option table: cmd/chat/options.tsv, made C by cmd/options.awk. */
#define AT(member) offsetof(struct chat_opts, member)
#include "chat_options.h"

const struct uk_cmd_spec uk_spec_chat = {
    "chat",
    N_("a serverless LAN chat room (IP Messenger and plain text)"),
    "",
    N_("A LAN chat that speaks IP Messenger (iptux, FeiQ, IP Messenger) and plain text\n"
       "(the tutorial's chat.py, netcat in UDP mode). A typed line goes to the current\n"
       "target; in line mode (stdin or stdout not a terminal) events are printed one per\n"
       "line, tab-separated: recv, sent, delivered, undelivered, joined, left..."),
    options,
    N_("Commands: /to HOST [PORT], /to NICK, /peers, /all TEXT, /nick NAME,\n"
       "/away [TEXT], /history [N|TEXT], /help, /quit. A line starting with // sends a /.\n"
       "Keys: PageUp/PageDown scroll, Ctrl-L redraws, Ctrl-D on an empty line quits.\n"
       "Exit status: 0 when every message was delivered with a receipt or sent to a\n"
       "peer declared plain text, 1 otherwise, 2 on errors."),
    UK_COMP_NONE};

/* The configuration file (--config, --no-config, else the XDG default);
 * its values are the options' strings, so it lives as long as the chat. */
static const char *config_path;
static bool no_config;
static struct uk_conf config;

/* --peer-charset HOST[:PORT]=NAME into pc: the last '=' ends the
 * address. Returns UK_CONTINUE or a usage error's exit status. */
static int parse_peer_charset(const char *text, struct uk_chat_peer_charset *pc)
{
	const char *eq = strrchr(text, '=');
	char host[256];
	int kind = eq ? uk_charset_parse_name(eq + 1, strlen(eq + 1)) : -1;

	if (!eq || (size_t)(eq - text) >= sizeof(host))
		return uk_cli_usage_error(CMD, _("--peer-charset '%s': not HOST[:PORT]=NAME"),
					  text);
	memcpy(host, text, (size_t)(eq - text));
	host[eq - text] = '\0';
	if (uk_addr_parse_hostport(&pc->addr, host, UK_IPMSG_PORT, AF_UNSPEC) < 0)
		return uk_cli_usage_error(CMD, _("--peer-charset '%s': not HOST[:PORT]=NAME"),
					  text);
	if (kind < 0)
		return uk_cli_usage_error(
		    CMD, _("--peer-charset '%s': unknown charset (utf-8, gb18030, cp932)"), text);
	pc->kind = (enum uk_charset_kind)kind;
	return UK_CONTINUE;
}

/* --config, --no-config, --peer-charset (checked here, so that a file's
 * mistake names its line) and --charset: the charset module's names and
 * aliases (gbk, sjis, ...). */
static int on_option(void *ctx, const struct uk_opt *opt, const char *arg)
{
	struct chat_opts *o = ctx;
	struct uk_chat_peer_charset pc;
	int kind, rc;

	if (strcmp(opt->name, "config") == 0) {
		config_path = arg;
		return UK_CONTINUE;
	}
	if (strcmp(opt->name, "no-config") == 0) {
		no_config = true;
		return UK_CONTINUE;
	}
	if (strcmp(opt->name, "peer-charset") == 0) {
		if ((rc = parse_peer_charset(arg, &pc)) != UK_CONTINUE)
			return rc;
		if (o->peer_charsets.count >= MAX_PEER_OPTS)
			return uk_cli_usage_error(CMD, _("at most %llu --%s"),
						  (unsigned long long)MAX_PEER_OPTS, opt->name);
		o->peer_charsets.items[o->peer_charsets.count++] = arg;
		return UK_CONTINUE;
	}
	kind = uk_charset_parse_name(arg, strlen(arg));
	if (kind < 0)
		return uk_cli_usage_error(CMD, _("invalid --charset '%s' (utf-8, gb18030, cp932)"),
					  arg);
	o->charset = (enum uk_charset_kind)kind;
	return UK_CONTINUE;
}

/* Reads the configuration file into o: --config PATH (which must exist),
 * else $XDG_CONFIG_HOME/udpkit/chat.conf or ~/.config/udpkit/chat.conf
 * when there is one; none with --no-config. */
static int read_config(struct chat_opts *o)
{
	static char path[4096];
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	int rc;

	if (no_config)
		return UK_CONTINUE;
	if (config_path)
		snprintf(path, sizeof(path), "%s", config_path);
	else if (xdg && xdg[0] == '/') /* the XDG spec: relative paths are ignored */
		snprintf(path, sizeof(path), "%s/udpkit/chat.conf", xdg);
	else if (home && home[0])
		snprintf(path, sizeof(path), "%s/.config/udpkit/chat.conf", home);
	else
		return UK_CONTINUE;
	rc = uk_conf_load(&config, path);
	if (rc == -ENOENT && !config_path)
		return UK_CONTINUE;
	if (rc < 0) {
		if (config.error && config.error_line)
			uk_cli_error(CMD, "%s:%u: %s", path, config.error_line, _(config.error));
		else if (config.error && (rc == -EINVAL || rc == -EFBIG))
			uk_cli_error(CMD, "%s: %s", path, _(config.error));
		else if (config.error)
			uk_cli_error(CMD, "%s: %s: %s", path, _(config.error), _(uk_strerror(rc)));
		else
			uk_cli_error(CMD, "%s: %s", path, _(uk_strerror(rc)));
		return UK_EXIT_USAGE;
	}
	return uk_opts_parse_conf(&uk_spec_chat, &config, path, on_option, o);
}

static int parse_args(int argc, char **argv, struct chat_opts *o)
{
	const struct chat_opts defaults = {.bind = {.host = "0.0.0.0", .port = UK_IPMSG_PORT},
					   .history_max_size = UK_HISTORY_MAX_SIZE_DEFAULT,
					   .rate_limit = UK_QUOTA_SOURCE_MSGS_DEFAULT,
					   .offer_timeout_ns = 3600 * UK_NS_PER_SEC,
					   .transfer_idle_ns = 30 * UK_NS_PER_SEC};
	size_t from_file;
	int rc;

	/* The command line twice: first for --config/--no-config (and its
	 * own errors, --help), then over the file's values, to override them. */
	*o = defaults;
	rc = uk_opts_parse(&uk_spec_chat, argc, argv, on_option, o);
	if (rc != UK_CONTINUE)
		return rc;
	*o = defaults;
	rc = read_config(o);
	if (rc != UK_CONTINUE)
		return rc;
	from_file = o->peer_charsets.count;
	rc = uk_opts_parse(&uk_spec_chat, argc, argv, on_option, o);
	if (rc != UK_CONTINUE)
		return rc;
	/* Like the other lists: the command line's replace the file's. */
	if (o->peer_charsets.count > from_file) {
		o->peer_charsets.count -= from_file;
		memmove(o->peer_charsets.items, o->peer_charsets.items + from_file,
			o->peer_charsets.count * sizeof(o->peer_charsets.items[0]));
	}
	if (o->history_max_mib)
		o->history_max_size = o->history_max_mib << 20;
	if (o->no_history && (o->history_path || o->sync))
		return uk_cli_usage_error(CMD, _("--no-history excludes --history and --sync"));
	if (o->plain && !o->peers.count)
		return uk_cli_usage_error(CMD, _("--plain needs a --peer"));
	return UK_CONTINUE;
}

/* ---- output: line mode and the terminal UI -------------------------------- */

static bool input_held(struct app *a, uint64_t now)
{
	if (!a->hold_until_ns)
		return false;
	if (now < a->hold_until_ns) {
		size_t known = 0;
		for (size_t i = a->n_broadcast; i < a->n_announce; i++) {
			const struct uk_peer *p = uk_roster_find(&a->chat.roster, &a->announce[i]);
			known += p && p->ipmsg;
		}
		if (known < a->n_announce - a->n_broadcast)
			return true;
	}
	a->hold_until_ns = 0;
	return false;
}

/* Handles complete lines while the outbox has room; keeps the rest. */
static void input_drain(struct app *a)
{
	size_t off = 0;

	if (input_held(a, uk_now_ns()))
		return;

	while (off < a->in_len && !a->quit && uk_chat_room(&a->chat) >= INPUT_ROOM) {
		char *nl = memchr(a->in + off, '\n', a->in_len - off);
		size_t len;
		if (!nl) {
			/* No newline: a full buffer or the end of input is a line. */
			if (a->in_len < INPUT_MAX && !a->eof)
				break;
			nl = a->in + a->in_len;
		}
		len = (size_t)(nl - (a->in + off));
		if (len && a->in[off + len - 1] == '\r')
			len--;
		char saved = a->in[off + len];
		a->in[off + len] = 0;
		chat_handle_line(a, a->in + off, len);
		a->in[off + len] = saved;
		off = (size_t)(nl - a->in) + (nl < a->in + a->in_len ? 1 : 0);
	}
	memmove(a->in, a->in + off, a->in_len - off);
	a->in_len -= off;
}

static void input_read(struct app *a)
{
	ssize_t n;

	if (a->in_len >= INPUT_MAX)
		return;
	n = read(STDIN_FILENO, a->in + a->in_len, INPUT_MAX - a->in_len);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0)
		a->eof = true;
	else
		a->in_len += (size_t)n;
	input_drain(a);
}

/* ---- set-up -------------------------------------------------------------------- */

/* Our addresses (to recognise our own broadcasts) and, for discovery, the
 * directed broadcast address of every interface that is up and
 * broadcast-capable, loopback excluded (the shared rules of
 * include/udpkit/iface.h, as `udpkit broadcast` and `udpkit ifaces` use). */
static void find_interfaces(struct app *a, bool discovery)
{
	struct uk_iface_list l;
	struct uk_iface_target t[MAX_ANNOUNCE];
	size_t n;

	if (uk_iface_list_load(&l) < 0)
		return;
	for (size_t i = 0; i < l.count; i++)
		for (size_t k = 0; k < l.ifs[i].n_addrs && a->n_local < MAX_LOCAL_IPS; k++)
			a->local_ips[a->n_local++] = l.ifs[i].addrs[k].addr;
	n = discovery ? uk_iface_broadcast_targets(&l, NULL, uk_addr_port(&a->local), t,
						   MAX_ANNOUNCE, NULL)
		      : 0;
	for (size_t i = 0; i < n && a->n_announce < MAX_ANNOUNCE; i++) {
		/* Bound to one address: only that interface's broadcast. */
		if (!uk_addr_is_unspecified(&a->local) && !uk_addr_same_host(&t[i].src, &a->local))
			continue;
		a->announce[a->n_announce++] = t[i].dst;
		a->n_broadcast++;
	}
	uk_iface_list_free(&l);
}

static const char *default_nick(void)
{
	const char *u = getenv("USER");
	struct passwd *pw;

	if (u && *u)
		return u;
	pw = getpwuid(getuid());
	return pw ? pw->pw_name : "udpkit";
}

static int open_socket(struct app *a)
{
	struct uk_sock_opts so = {.nonblock = true, .v6only = -1, .rcvbuf_bytes = 1 << 20};
	int fd;

	if (uk_cli_target_resolve(&a->o.bind, AF_UNSPEC, &a->local) != UK_CONTINUE)
		return -1;
	/* Discovery broadcasts; a loopback-bound chat never does. */
	so.broadcast = !a->o.no_discovery && !uk_addr_is_loopback(&a->local) &&
		       uk_addr_family(&a->local) == AF_INET;
	fd = uk_sock_open(&a->local, &so);
	if (fd < 0) {
		char text[UK_ADDR_STRLEN];
		uk_cli_fail(CMD, uk_addr_format(&a->local, text, sizeof(text)), fd);
		if (fd == -EADDRINUSE)
			uk_cli_error(CMD,
				     _("another IP Messenger client (iptux?) may hold the port: "
				       "try -p with another port"));
		return -1;
	}
	a->fd = fd;
	uk_sock_local(fd, &a->local);
	uk_addr_format(&a->local, a->local_text, sizeof(a->local_text));
	uk_cli_print_bound(fd);
	return 0;
}

/* --peer and --plain-peer: IPMsg peers are announced to; plain-text
 * peers never get an IPMsg packet. The first one named is the target. */
static int add_peers(struct app *a)
{
	size_t npeers = a->o.peers.count;

	for (size_t i = 0; i < npeers + a->o.plain_peers.count; i++) {
		bool plain_opt = i >= npeers;
		const char *text =
		    plain_opt ? a->o.plain_peers.items[i - npeers] : a->o.peers.items[i];
		struct uk_addr p;
		if (uk_addr_parse_hostport(&p, text, UK_IPMSG_PORT, AF_UNSPEC) < 0) {
			uk_cli_usage_error(CMD, _("--%s '%s': not HOST[:PORT]"),
					   plain_opt ? "plain-peer" : "peer", text);
			return -1;
		}
		if (plain_opt || a->o.plain)
			a->plain[a->n_plain++] = p;
		else if (a->n_announce < MAX_ANNOUNCE)
			a->announce[a->n_announce++] = p;
		if (!a->has_target) {
			a->target = p;
			a->has_target = true;
		}
	}
	return 0;
}

static int add_peer_charsets(struct app *a)
{
	for (size_t i = 0; i < a->o.peer_charsets.count; i++) {
		if (parse_peer_charset(a->o.peer_charsets.items[i],
				       &a->peer_charsets[a->n_peer_charsets]) != UK_CONTINUE)
			return -1;
		a->n_peer_charsets++;
	}
	return 0;
}

/* SIGWINCH only wakes the loop through an eventfd; the loop resizes. */
static int winch_fd = -1;

static void on_winch(int sig)
{
	uint64_t one = 1;
	int saved = errno;
	(void)sig;
	if (winch_fd >= 0 && write(winch_fd, &one, sizeof(one)) < 0) {
		/* Nothing to do in a signal handler. */
	}
	errno = saved;
}

static void catch_winch(struct app *a)
{
	struct sigaction sa;

	a->winch_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	winch_fd = a->winch_fd;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_winch;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGWINCH, &sa, NULL);
}

static int setup(struct app *a)
{
	char host[256] = "";
	struct uk_chat_cfg cfg;
	uint64_t floor = 0;
	int rc;

	if (open_socket(a) < 0)
		return -1;
	find_interfaces(a, !a->o.no_discovery && !uk_addr_is_loopback(&a->local));
	if (add_peers(a) < 0 || add_peer_charsets(a) < 0)
		return -1;
	/* The passphrase before the UI takes the terminal. */
	if (chat_room_open(a) != 0)
		return -1;
	gethostname(host, sizeof(host) - 1);
	/* The history before the UI: its errors go to stderr, and nothing is
	 * shown or acknowledged unless it can be logged. */
	if (chat_history_open(a) < 0)
		return -1;
	if (!a->o.line && uk_cli_isatty(stdin) && uk_cli_isatty(stdout))
		a->tui = uk_tui_open(chat_on_submit, a);
	if (a->tui) {
		uk_tui_set_color(a->tui, uk_cli_color(stdout));
		catch_winch(a);
	}
	/* Show the last messages and continue the packet numbers from them. */
	if (a->hist)
		a->recent = calloc(RECENT_MAX, sizeof(*a->recent));
	floor = chat_history_show(a, HISTORY_SHOWN, NULL);
	cfg = (struct uk_chat_cfg){.user_name = default_nick(),
				   .host_name = host,
				   .nick = a->o.nick ? a->o.nick : default_nick(),
				   .group = a->o.group ? a->o.group : "",
				   .self = a->local,
				   .local_ips = a->local_ips,
				   .n_local_ips = a->n_local,
				   .announce = a->announce,
				   .n_announce = a->n_announce,
				   .n_broadcast = a->n_broadcast,
				   .packet_no_floor = floor,
				   .charset = a->o.charset,
				   .plain = a->plain,
				   .n_plain = a->n_plain,
				   .peer_charsets = a->peer_charsets,
				   .n_peer_charsets = a->n_peer_charsets,
				   .version = "udpkit " UK_VERSION,
				   .send = chat_on_send,
				   .event = chat_on_event,
				   .log = chat_on_log,
				   .msg_rate = a->o.rate_limit,
				   .files = true,
				   .ctx = a};
	rc = uk_chat_init(&a->chat, &cfg, uk_wall_ns());
	if (rc < 0)
		return uk_cli_fail(CMD, _("memory"), rc), -1;
	a->chat_ready = true;
	if (files_init(a) < 0)
		return uk_cli_fail(CMD, _("memory"), -ENOMEM), -1;
	chat_remember_recent(a);
	snprintf(a->nick, sizeof(a->nick), "%s", a->chat.id.nick);
	if (a->hist && !chat_line_mode(a)) {
		char t[UK_HISTORY_SHOWN_TIME_LEN + 1];
		if (uk_history_time_show(uk_wall_ns(), a->o.utc, t) > 0)
			chat_info(a, "info", _("history in %s%s; times are %s (UTC%s)"),
				  a->history_path, a->o.sync ? _(", synced") : "",
				  a->o.utc ? "UTC" : _("local"), a->o.utc ? "" : t + 23);
	} else if (a->hist) {
		chat_info(a, "info", _("history in %s%s"), a->history_path,
			  a->o.sync ? _(", synced") : "");
	}
	chat_info(a, "info",
		  _("%s on %s as %s; %zu broadcast and %zu peer addresses to announce to"),
		  a->tui ? "udpkit chat" : _("line mode"), a->local_text, a->nick, a->n_broadcast,
		  a->n_announce - a->n_broadcast);
	chat_room_announce(a);
	if (!a->has_target)
		chat_info(a, "info",
			  _("no target yet: /to HOST [PORT] or /to NICK; /help for more"));
	return 0;
}

/* ---- the loop ----------------------------------------------------------------- */

static void receive_all(struct app *a)
{
	struct uk_dgram d = {.buf = a->rbuf, .cap = RECV_BUF};

	/* A bounded batch per wake-up, so a flood cannot starve the keyboard. */
	for (int i = 0; i < 256; i++) {
		const uint8_t *buf = d.buf;
		size_t len;
		ssize_t n = uk_sock_recv(a->fd, &d);
		if (n < 0)
			break;
		/* In a room: opened, or dropped and counted; outside: room
		 * datagrams dropped. */
		len = d.len;
		if (!chat_room_receive(a, &d.peer, &buf, &len))
			continue;
		/* Opened: the payload's own length is what arrived whole. */
		uk_chat_on_datagram(&a->chat, &d.peer, buf, len, d.wire_len - d.len + len,
				    uk_now_ns());
	}
}

static int poll_timeout_ms(const struct app *a, uint64_t now)
{
	uint64_t d = uk_chat_deadline(&a->chat), fd = files_deadline(a);

	if (fd < d)
		d = fd;

	if (d == UINT64_MAX && !a->hold_until_ns)
		return -1;
	if (a->hold_until_ns && a->hold_until_ns < d)
		d = a->hold_until_ns;
	if (d <= now)
		return 0;
	d = (d - now + UK_NS_PER_MS - 1) / UK_NS_PER_MS;
	return d > 60000 ? 60000 : (int)d;
}

static void run(struct app *a)
{
	while (!a->quit && !atomic_load(&uk_cli_stop)) {
		struct pollfd p[4 + FILES_POLL_MAX];
		nfds_t n = 0, files_slot;
		int in_slot = -1, winch_slot = -1;
		uint64_t now = uk_now_ns();

		uk_chat_tick(&a->chat, now);
		files_tick(a, now);
		if (chat_line_mode(a)) {
			input_drain(a);
			if (a->eof && a->in_len == 0 && uk_chat_pending(&a->chat) == 0 &&
			    !a->o.stay && !a->hold_until_ns && !files_busy(a))
				break;
		}
		p[n++] = (struct pollfd){.fd = a->fd, .events = POLLIN};
		p[n++] = (struct pollfd){.fd = uk_cli_stop_fd, .events = POLLIN};
		if (!chat_line_mode(a)) {
			in_slot = (int)n;
			p[n++] = (struct pollfd){.fd = uk_tui_fd(a->tui), .events = POLLIN};
			winch_slot = (int)n;
			p[n++] = (struct pollfd){.fd = a->winch_fd, .events = POLLIN};
		} else if (!a->eof && a->in_len < INPUT_MAX &&
			   uk_chat_room(&a->chat) >= INPUT_ROOM) {
			in_slot = (int)n;
			p[n++] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
		}
		files_slot = n;
		n += files_poll(a, p + n, FILES_POLL_MAX);
		/* --sync: one fdatasync for all that this pass logged, then
		 * what waited for it is shown and sent. */
		chat_commit(a);
		/* Once per wake-up: a burst of lines is one screen update. */
		if (a->tui)
			uk_tui_refresh(a->tui);
		if (poll(p, n, poll_timeout_ms(a, now)) < 0) {
			if (errno == EINTR)
				continue;
			uk_cli_fail(CMD, _("poll"), -errno);
			break;
		}
		if (p[0].revents)
			receive_all(a);
		if (in_slot >= 0 && p[in_slot].revents) {
			if (chat_line_mode(a))
				input_read(a);
			else
				uk_tui_on_readable(a->tui);
		}
		if (winch_slot >= 0 && p[winch_slot].revents) {
			uint64_t v;
			if (read(a->winch_fd, &v, sizeof(v)) > 0)
				uk_tui_resize(a->tui);
		}
		files_on_poll(a, p + files_slot, n - files_slot);
	}
}

static void summary(const struct app *a)
{
	const struct uk_chat_stats *s = &a->chat.stats;

	fprintf(
	    stderr,
	    _("udpkit chat: %llu sent, %llu delivered, %llu NOT delivered, %llu received\n"
	      "udpkit chat: %llu NOT sent, %llu sent as plain text to peers not declared plain "
	      "(no receipt possible)\n"
	      "udpkit chat: %llu datagrams: %llu IPMsg, %llu plain, %llu malformed, %llu unknown "
	      "commands, %llu duplicates, %llu own, %llu dropped by source rules, %llu over the "
	      "rate limit; %llu retransmissions, %llu send errors\n"
	      "udpkit chat: %llu messages over the flood bounds, %llu not acknowledged because the "
	      "history could not take them, %llu receipts after giving up\n"),
	    (unsigned long long)a->sent, (unsigned long long)a->delivered,
	    (unsigned long long)a->undelivered, (unsigned long long)a->received,
	    (unsigned long long)a->not_sent, (unsigned long long)a->unconfirmed,
	    (unsigned long long)s->datagrams, (unsigned long long)s->ipmsg,
	    (unsigned long long)s->plain, (unsigned long long)s->malformed,
	    (unsigned long long)s->unknown, (unsigned long long)s->duplicates,
	    (unsigned long long)s->self, (unsigned long long)s->dropped_source,
	    (unsigned long long)s->dropped_rate, (unsigned long long)a->chat.outbox.retransmits,
	    (unsigned long long)a->send_errors, (unsigned long long)s->dropped_flood,
	    (unsigned long long)s->unlogged, (unsigned long long)s->late);
	chat_room_summary(a);
}

int uk_cmd_chat(int argc, char **argv)
{
	struct app *a = calloc(1, sizeof(*a));
	int rc = UK_EXIT_FAIL;

	if (!a)
		return uk_cli_fail(CMD, _("memory"), -ENOMEM);
	a->fd = -1;
	a->winch_fd = -1;
	rc = parse_args(argc, argv, &a->o);
	if (rc != UK_CONTINUE) {
		uk_conf_free(&config);
		free(a);
		return rc;
	}
	rc = UK_EXIT_ERROR;
	a->rbuf = malloc(RECV_BUF);
	a->in = malloc(INPUT_MAX + 1);
	if (!a->rbuf || !a->in) {
		uk_cli_fail(CMD, _("memory"), -ENOMEM);
		goto fail;
	}
	uk_cli_catch_signals();
	if (setup(a) < 0)
		goto fail;
	if (!chat_line_mode(a))
		chat_status(a);
	uk_chat_start(&a->chat, uk_now_ns());
	if (a->o.peers.count)
		a->hold_until_ns = uk_now_ns() + PEER_WAIT_NS;
	run(a);
	/* Whatever still waits is reported not delivered; then goodbye. */
	files_close(a);
	uk_chat_stop(&a->chat, uk_now_ns());
	chat_commit(a);
	/* 0 only when every message has a receipt or went to a declared
	 * plain-text peer (udpkit-chat(1) EXIT STATUS). */
	rc = a->undelivered || a->not_sent || a->unconfirmed || a->files_failed ? UK_EXIT_FAIL
										: UK_EXIT_OK;
fail:
	uk_tui_close(a->tui);
	a->tui = NULL;
	if (chat_history_close(a) < 0)
		rc = UK_EXIT_FAIL;
	files_close(a);
	if (a->chat_ready) {
		summary(a);
		uk_chat_free(&a->chat);
	}
	chat_room_close(a);
	if (a->fd >= 0)
		close(a->fd);
	if (a->winch_fd >= 0)
		close(a->winch_fd);
	free(a->rbuf);
	free(a->in);
	free(a->recent);
	free(a);
	uk_conf_free(&config);
	return rc;
}
