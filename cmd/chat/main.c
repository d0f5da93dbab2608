/* udpkit chat: a serverless LAN chat that speaks IP Messenger and plain
 * text (the tutorial's part 4 made real). argv -> options -> one socket,
 * the protocol engine (lib/chat.c), the history writer and either the
 * terminal UI or line mode, joined by one poll() loop. Line mode prints
 * one tab-separated event per line for scripts (docs/chat.md). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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
#include "udpkit/chat.h"
#include "udpkit/clock.h"
#include "udpkit/err.h"
#include "udpkit/history.h"
#include "udpkit/iface.h"
#include "udpkit/parse.h"
#include "udpkit/sock.h"
#include "udpkit/text.h"

#define CMD "chat"
#define MAX_PEER_OPTS 32
#define MAX_ANNOUNCE 64
#define MAX_LOCAL_IPS 64
#define RECV_BUF 65536
#define INPUT_MAX 65536
/* Line mode reads the next input line only with this much outbox room, so
 * a script piping thousands of lines waits for receipts instead of losing
 * messages (a 64 KiB line is at most 60 chunks). */
#define INPUT_ROOM 64
#define HISTORY_SHOWN 10

struct chat_opts {
	const char *bind_host;
	uint16_t port;
	const char *nick, *group;
	const char *peers[MAX_PEER_OPTS];
	size_t npeers;
	bool no_discovery;
	const char *history_path;
	bool no_history;
	bool stay;
	bool line;
};

struct app {
	struct chat_opts o;
	int fd;
	struct uk_addr local;
	char local_text[UK_ADDR_STRLEN];
	struct uk_chat chat;
	bool chat_ready;
	struct uk_addr announce[MAX_ANNOUNCE];
	size_t n_announce, n_broadcast;
	struct uk_addr local_ips[MAX_LOCAL_IPS];
	size_t n_local;
	struct uk_history_writer *hist;
	struct uk_tui *tui;
	int winch_fd;
	struct uk_addr target;
	bool has_target;
	bool quit, eof;
	uint64_t hold_until_ns; /* line mode: wait for --peer answers until then */
	char *in;		/* line-mode input not yet handled */
	size_t in_len;
	unsigned char *rbuf;
	uint64_t sent, delivered, undelivered, received, send_errors;
	unsigned errors_shown;
	char nick[UK_IPMSG_NAME_MAX + 1];
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: udpkit chat [-b addr] [-p port] [-n nick] [-g group] [-P host[:port]]...\n"
		"                   [--no-discovery] [-H path | --no-history] [--stay] [--line]\n"
		"\n"
		"A LAN chat that speaks IP Messenger (iptux, FeiQ, IP Messenger) and plain text\n"
		"(the tutorial's chat.py, netcat in UDP mode). A typed line goes to the current\n"
		"target; in line mode (stdin or stdout not a terminal) events are printed one per\n"
		"line, tab-separated: recv, sent, delivered, undelivered, joined, left...\n"
		"\n"
		"  -b, --bind ADDR        address to bind (default 0.0.0.0; 127.0.0.1 never "
		"broadcasts)\n"
		"  -p, --port PORT        port to bind (default 2425; 0 picks a free port)\n"
		"  -n, --nick NAME        nickname (default: the user name)\n"
		"  -g, --group NAME       group name (default: none)\n"
		"  -P, --peer HOST[:PORT] announce to this peer too, and talk to the first one\n"
		"                         (repeatable; the port defaults to 2425)\n"
		"      --no-discovery     no broadcast announcements, only --peer\n"
		"  -H, --history PATH     history file (default chat.txt)\n"
		"      --no-history       keep no history\n"
		"      --stay             in line mode, keep running at the end of input\n"
		"      --line             line mode even on a terminal\n"
		"  -h, --help             this help\n"
		"\n"
		"Commands: /to HOST [PORT], /to NICK, /peers, /all TEXT, /nick NAME,\n"
		"/history [N|TEXT], /help, /quit. A line starting with // sends a /.\n");
}

static int parse_args(int argc, char **argv, struct chat_opts *o)
{
	static const struct option longopts[] = {
	    {"bind", required_argument, NULL, 'b'},    {"port", required_argument, NULL, 'p'},
	    {"nick", required_argument, NULL, 'n'},    {"group", required_argument, NULL, 'g'},
	    {"peer", required_argument, NULL, 'P'},    {"no-discovery", no_argument, NULL, 'D'},
	    {"history", required_argument, NULL, 'H'}, {"no-history", no_argument, NULL, 'N'},
	    {"stay", no_argument, NULL, 'S'},	       {"line", no_argument, NULL, 'L'},
	    {"help", no_argument, NULL, 'h'},	       {NULL, 0, NULL, 0}};
	int c;

	*o = (struct chat_opts){
	    .bind_host = "0.0.0.0", .port = UK_IPMSG_PORT, .history_path = "chat.txt"};
	optind = 1;
	while ((c = getopt_long(argc, argv, "b:p:n:g:P:H:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			o->bind_host = optarg;
			break;
		case 'p':
			if (uk_cli_port(CMD, optarg, &o->port, true) < 0)
				return -1;
			break;
		case 'n':
			o->nick = optarg;
			break;
		case 'g':
			o->group = optarg;
			break;
		case 'P':
			if (o->npeers == MAX_PEER_OPTS)
				return uk_cli_usage_error(CMD, "at most %d --peer", MAX_PEER_OPTS),
				       -1;
			o->peers[o->npeers++] = optarg;
			break;
		case 'D':
			o->no_discovery = true;
			break;
		case 'H':
			o->history_path = optarg;
			break;
		case 'N':
			o->no_history = true;
			break;
		case 'S':
			o->stay = true;
			break;
		case 'L':
			o->line = true;
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
	return 0;
}

/* ---- output: line mode and the terminal UI -------------------------------- */

static bool line_mode(const struct app *a)
{
	return a->tui == NULL;
}

/* One line for the user: in line mode on stdout (the caller wrote the
 * tab-separated event), in the UI into the message pane. Text is already
 * escaped. */
static void show(struct app *a, const char *line)
{
	if (line_mode(a)) {
		fputs(line, stdout);
		fputc('\n', stdout);
		fflush(stdout);
	} else {
		uk_tui_add_line(a->tui, line);
	}
}

/* A growing string built with open_memstream(). */
struct out {
	FILE *f;
	char *buf;
	size_t len;
};

static bool out_open(struct out *o)
{
	o->buf = NULL;
	o->len = 0;
	o->f = open_memstream(&o->buf, &o->len);
	return o->f != NULL;
}

static void out_show(struct app *a, struct out *o)
{
	if (fclose(o->f) == 0 && o->buf)
		show(a, o->buf);
	free(o->buf);
}

static void put_esc(struct out *o, const char *s, size_t n)
{
	uk_cli_put_escaped(o->f, s, n);
}

static void put_esc_str(struct out *o, const char *s)
{
	put_esc(o, s, strlen(s));
}

static void put_addr(struct out *o, const struct uk_addr *addr)
{
	char text[UK_ADDR_STRLEN];
	fputs(uk_addr_format(addr, text, sizeof(text)), o->f);
}

static void info(struct app *a, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void info(struct app *a, const char *kind, const char *fmt, ...)
{
	struct out o;
	va_list ap;

	if (!out_open(&o))
		return;
	fputs(line_mode(a) ? kind : (strcmp(kind, "error") == 0 ? "! " : "* "), o.f);
	if (line_mode(a))
		fputc('\t', o.f);
	va_start(ap, fmt);
	vfprintf(o.f, fmt, ap);
	va_end(ap);
	out_show(a, &o);
}

static void status(struct app *a)
{
	char target[UK_ADDR_STRLEN] = "none";
	char line[512];
	struct out o;

	if (line_mode(a))
		return;
	if (a->has_target)
		uk_addr_format(&a->target, target, sizeof(target));
	if (!out_open(&o))
		return;
	fprintf(o.f, " %s  ", a->local_text);
	put_esc_str(&o, a->nick);
	fprintf(o.f, "  to: %s  peers: %zu  waiting: %zu  undelivered: %llu", target,
		a->chat.roster.count, uk_chat_pending(&a->chat),
		(unsigned long long)a->undelivered);
	fclose(o.f);
	snprintf(line, sizeof(line), "%s", o.buf ? o.buf : "");
	free(o.buf);
	uk_tui_set_status(a->tui, line);
}

/* ---- history ---------------------------------------------------------------- */

static void history_add(struct app *a, enum uk_history_kind kind, const struct uk_chat_event *ev)
{
	struct uk_history_entry e = {.time_ns = uk_wall_ns(),
				     .kind = kind,
				     .msg_id = ev->msg_id,
				     .text = (const unsigned char *)ev->text,
				     .text_len = ev->len};
	size_t n = strlen(ev->nick);

	if (!a->hist)
		return;
	uk_addr_format(&ev->peer, e.peer, sizeof(e.peer));
	/* Cut the nick on a character boundary to fit the entry. */
	while (n >= sizeof(e.nick) || (n > 0 && ((unsigned char)ev->nick[n] & 0xc0) == 0x80))
		n--;
	memcpy(e.nick, ev->nick, n);
	e.nick[n] = 0;
	if (uk_history_writer_append(a->hist, &e) < 0)
		info(a, "error", "history: event not written (queue full)");
}

/* The last HISTORY_SHOWN entries (or those matching grep), formatted, and
 * the highest packet number we sent, for the packet-number floor. */
struct history_scan {
	char *lines[HISTORY_SHOWN * 10];
	size_t want, next, count;
	const char *grep;
	uint64_t max_sent_id;
};

static int history_cb(void *user, const struct uk_history_entry *e)
{
	struct history_scan *s = user;
	size_t cap = UK_HISTORY_LINE_MAX(e->text_len);
	char *line;
	int n;

	if (e->kind == UK_HIST_SENT && e->msg_id > s->max_sent_id && e->msg_id < UINT32_MAX)
		s->max_sent_id = e->msg_id;
	if (!s->want || (e->kind != UK_HIST_RECV && e->kind != UK_HIST_SENT))
		return 0;
	if (s->grep && !memmem(e->text, e->text_len, s->grep, strlen(s->grep)) &&
	    !strstr(e->nick, s->grep) && !strstr(e->peer, s->grep))
		return 0;
	line = malloc(cap);
	if (!line)
		return 0;
	n = uk_history_format(e, line, cap);
	if (n <= 0) {
		free(line);
		return 0;
	}
	if (line[n - 1] == '\n')
		line[n - 1] = 0;
	free(s->lines[s->next]);
	s->lines[s->next] = line;
	s->next = (s->next + 1) % s->want;
	if (s->count < s->want)
		s->count++;
	return 0;
}

/* Reads the history file: shows the last `want` messages (matching grep)
 * and returns the highest packet number we sent. */
static uint64_t history_show(struct app *a, size_t want, const char *grep)
{
	struct history_scan s = {.want = want, .grep = grep};
	uint64_t bad = 0;
	bool torn = false;
	int rc;

	if (want > sizeof(s.lines) / sizeof(s.lines[0]))
		s.want = want = sizeof(s.lines) / sizeof(s.lines[0]);
	if (a->o.no_history)
		return 0;
	rc = uk_history_read(a->o.history_path, history_cb, &s, &bad, &torn);
	if (rc < 0 && rc != -ENOENT)
		info(a, "error", "history %s: %s", a->o.history_path, uk_strerror(rc));
	for (size_t i = 0; i < s.count; i++) {
		size_t k = (s.next + s.want - s.count + i) % s.want;
		/* History lines are already escaped, tab-separated fields. */
		struct out o;
		if (out_open(&o)) {
			fputs(line_mode(a) ? "history\t" : "  ", o.f);
			fputs(s.lines[k], o.f);
			out_show(a, &o);
		}
	}
	for (size_t i = 0; i < sizeof(s.lines) / sizeof(s.lines[0]); i++)
		free(s.lines[i]);
	if (bad || torn)
		info(a, "info", "history %s: %llu bad lines%s skipped", a->o.history_path,
		     (unsigned long long)bad, torn ? " and a torn last line" : "");
	return s.max_sent_id;
}

/* ---- events from the protocol engine ---------------------------------------- */

static void show_message(struct app *a, const struct uk_chat_event *ev)
{
	struct out o;
	bool lm = line_mode(a);

	if (!out_open(&o))
		return;
	switch (ev->kind) {
	case UK_CHAT_RECV:
		if (lm) {
			fputs("recv\t", o.f);
			put_addr(&o, &ev->peer);
			fprintf(o.f, "\t%llu\t", (unsigned long long)ev->msg_id);
			put_esc_str(&o, ev->nick);
			fputc('\t', o.f);
		} else {
			char ts[UK_CTIME_LEN + 1];
			uk_ctime_format(time(NULL), ts);
			fprintf(o.f, "%.8s ", ts + 11);
			put_esc_str(&o, ev->nick[0] ? ev->nick : "?");
			fputs(" (", o.f);
			put_addr(&o, &ev->peer);
			fputs("): ", o.f);
		}
		put_esc(&o, ev->text, ev->len);
		break;
	case UK_CHAT_SENT:
		if (lm) {
			fputs("sent\t", o.f);
			put_addr(&o, &ev->peer);
			fprintf(o.f, "\t%llu\t", (unsigned long long)ev->msg_id);
			put_esc_str(&o, ev->nick);
			fputc('\t', o.f);
			put_esc(&o, ev->text, ev->len);
		} else {
			fputs("  -> ", o.f);
			put_addr(&o, &ev->peer);
			fputs(": ", o.f);
			put_esc(&o, ev->text, ev->len);
			if (ev->receipt)
				fprintf(o.f, "  [#%llu]", (unsigned long long)ev->msg_id);
			else
				fputs("  [plain text, no receipt]", o.f);
		}
		break;
	case UK_CHAT_DELIVERED:
		if (lm) {
			fputs("delivered\t", o.f);
			put_addr(&o, &ev->peer);
			fprintf(o.f, "\t%llu\t", (unsigned long long)ev->msg_id);
			put_esc_str(&o, ev->nick);
			fprintf(o.f, "\t%u\t%.1f", ev->tries, (double)ev->rtt_ns / 1e6);
		} else {
			fprintf(o.f, "  ok #%llu delivered to ", (unsigned long long)ev->msg_id);
			put_addr(&o, &ev->peer);
		}
		break;
	case UK_CHAT_UNDELIVERED:
		if (lm) {
			fputs("undelivered\t", o.f);
			put_addr(&o, &ev->peer);
			fprintf(o.f, "\t%llu\t", (unsigned long long)ev->msg_id);
			put_esc_str(&o, ev->nick);
			fprintf(o.f, "\t%s", ev->reason);
		} else {
			fprintf(o.f, "! #%llu NOT delivered to ", (unsigned long long)ev->msg_id);
			put_addr(&o, &ev->peer);
			fprintf(o.f, " (%s): ", ev->reason);
			put_esc(&o, ev->text, ev->len);
		}
		break;
	default:
		break;
	}
	out_show(a, &o);
	if (ev->kind == UK_CHAT_RECV && ev->cut_bytes)
		info(a, "info", "the message above was cut: %zu more bytes not shown",
		     ev->cut_bytes);
}

static void show_peer(struct app *a, const char *kind, const struct uk_peer *p, const char *reason,
		      uint64_t now_ns)
{
	struct out o;

	if (!out_open(&o))
		return;
	if (line_mode(a)) {
		fprintf(o.f, "%s\t", kind);
		put_addr(&o, &p->addr);
		fputc('\t', o.f);
		put_esc_str(&o, p->nick);
		fputc('\t', o.f);
		put_esc_str(&o, p->group);
		fputc('\t', o.f);
		if (p->user[0] || p->host[0]) {
			put_esc_str(&o, p->user);
			fputc('@', o.f);
			put_esc_str(&o, p->host);
		} else {
			fputc('-', o.f);
		}
		fprintf(o.f, "\t%s", p->ipmsg ? "ipmsg" : "plain");
		if (reason)
			fprintf(o.f, "\t%s", reason);
		else if (strcmp(kind, "peer") == 0)
			fprintf(o.f, "\t%llu",
				(unsigned long long)((now_ns - p->last_ns) / UK_NS_PER_SEC));
	} else {
		fprintf(o.f, "* %s ", kind);
		put_esc_str(&o, p->nick[0] ? p->nick : "?");
		fputs(" (", o.f);
		put_addr(&o, &p->addr);
		if (p->group[0]) {
			fputs(", group ", o.f);
			put_esc_str(&o, p->group);
		}
		fprintf(o.f, ", %s)", p->ipmsg ? "IPMsg" : "plain text");
		if (reason)
			fprintf(o.f, ": %s", reason);
	}
	out_show(a, &o);
}

static void on_event(void *ctx, const struct uk_chat_event *ev)
{
	struct app *a = ctx;

	switch (ev->kind) {
	case UK_CHAT_RECV:
		a->received++;
		history_add(a, UK_HIST_RECV, ev);
		show_message(a, ev);
		break;
	case UK_CHAT_SENT:
		a->sent++;
		history_add(a, UK_HIST_SENT, ev);
		show_message(a, ev);
		break;
	case UK_CHAT_DELIVERED:
		a->delivered++;
		history_add(a, UK_HIST_DELIVERED, ev);
		show_message(a, ev);
		break;
	case UK_CHAT_UNDELIVERED:
		a->undelivered++;
		history_add(a, UK_HIST_UNDELIVERED, ev);
		show_message(a, ev);
		break;
	case UK_CHAT_JOINED:
		show_peer(a, "joined", ev->info, NULL, 0);
		break;
	case UK_CHAT_CHANGED:
		show_peer(a, "changed", ev->info, NULL, 0);
		break;
	case UK_CHAT_LEFT:
		show_peer(a, "left", ev->info, ev->reason, 0);
		break;
	}
	status(a);
}

static void on_send(void *ctx, const struct uk_addr *to, const void *data, size_t len)
{
	struct app *a = ctx;
	ssize_t n = uk_sock_send(a->fd, data, len, to, NULL, 0);

	if (n >= 0)
		return;
	a->send_errors++;
	/* Say it, but a dead route must not flood the screen. */
	if (a->errors_shown++ < 10) {
		char text[UK_ADDR_STRLEN];
		info(a, "error", "send to %s: %s", uk_addr_format(to, text, sizeof(text)),
		     uk_strerror((int)n));
	}
}

/* ---- commands ------------------------------------------------------------------ */

static void cmd_help(struct app *a)
{
	static const char *lines[] = {
	    "TEXT               send TEXT to the current target",
	    "/to HOST [PORT]    talk to HOST (port 2425 by default; HOST:PORT works too)",
	    "/to NICK           talk to the peer with that nickname",
	    "/peers             list the peers known",
	    "/all TEXT          send TEXT to every peer known",
	    "/nick NAME         change your nickname and tell everyone",
	    "/history [N|TEXT]  the last N messages (default 20), or those holding TEXT",
	    "/quit              leave (messages still waiting are shown not delivered)",
	    "//TEXT             send a line that starts with /",
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		info(a, "info", "%s", lines[i]);
}

static void set_target(struct app *a, const struct uk_addr *to)
{
	char text[UK_ADDR_STRLEN];
	const struct uk_peer *p = uk_roster_find(&a->chat.roster, to);

	a->target = *to;
	a->has_target = true;
	info(a, "info", "talking to %s%s", uk_addr_format(to, text, sizeof(text)),
	     p && p->ipmsg ? " (IPMsg, with receipts)" : " (plain text until it speaks IPMsg)");
}

/* Splits off the next space-separated word of *p (NUL-terminating it). */
static char *next_word(char **p)
{
	char *start;

	while (**p == ' ' || **p == '\t')
		(*p)++;
	if (!**p)
		return NULL;
	start = *p;
	while (**p && **p != ' ' && **p != '\t')
		(*p)++;
	if (**p)
		*(*p)++ = 0;
	return start;
}

static void cmd_to(struct app *a, char *args)
{
	char *host, *port_text;
	struct uk_addr to;
	uint16_t port = UK_IPMSG_PORT;
	bool ambiguous;
	const struct uk_peer *p;

	/* A nick may hold spaces: try the whole argument as one first. */
	p = *args ? uk_roster_find_nick(&a->chat.roster, args, &ambiguous) : NULL;
	if (p && !ambiguous) {
		set_target(a, &p->addr);
		return;
	}
	host = next_word(&args);
	port_text = next_word(&args);
	if (!host || next_word(&args)) {
		info(a, "error", "usage: /to HOST [PORT] or /to NICK");
		return;
	}
	if (!port_text) {
		p = uk_roster_find_nick(&a->chat.roster, host, &ambiguous);
		if (p && ambiguous) {
			info(a, "error",
			     "several peers are called that: use /to HOST [PORT] (/peers)");
			return;
		}
		if (p) {
			set_target(a, &p->addr);
			return;
		}
	} else {
		uint64_t v;
		/* Not uk_cli_port(): it prints to stderr, under the UI. */
		if (uk_parse_u64(port_text, 1, 65535, &v) < 0) {
			info(a, "error", "no peer called that, and not HOST PORT (port 1-65535)");
			return;
		}
		port = (uint16_t)v;
	}
	if ((port_text ? uk_addr_parse(&to, host, port, AF_UNSPEC)
		       : uk_addr_parse_hostport(&to, host, port, AF_UNSPEC)) < 0) {
		info(a, "error", "no peer called that, and not an address");
		return;
	}
	if (uk_chat_is_self(&a->chat, &to)) {
		info(a, "error", "that is this chat itself");
		return;
	}
	set_target(a, &to);
}

static void cmd_peers(struct app *a)
{
	uint64_t now = uk_now_ns();

	if (a->chat.roster.count == 0)
		info(a, "info", "no peers known yet");
	for (size_t i = 0; i < a->chat.roster.cap; i++)
		if (a->chat.roster.peers[i].used)
			show_peer(a, "peer", &a->chat.roster.peers[i], NULL, now);
}

static void send_text(struct app *a, const struct uk_addr *to, const char *text, size_t len)
{
	int rc = uk_chat_send(&a->chat, to, text, len, uk_now_ns());

	if (rc == -ENOSPC)
		info(a, "error", "NOT sent: %zu messages are still waiting for receipts; try again",
		     uk_chat_pending(&a->chat));
	else if (rc == -EINVAL)
		info(a, "error", "NOT sent: that is this chat itself");
	else if (rc < 0)
		info(a, "error", "NOT sent: %s", uk_strerror(rc));
}

static void cmd_all(struct app *a, const char *text)
{
	size_t n = 0;

	if (!*text) {
		info(a, "error", "usage: /all TEXT");
		return;
	}
	/* Copy the addresses first: sending can change the table. */
	struct uk_addr *to = calloc(a->chat.roster.cap, sizeof(*to));
	if (!to)
		return;
	for (size_t i = 0; i < a->chat.roster.cap; i++)
		if (a->chat.roster.peers[i].used)
			to[n++] = a->chat.roster.peers[i].addr;
	if (!n)
		info(a, "error", "no peers known yet");
	for (size_t i = 0; i < n; i++)
		send_text(a, &to[i], text, strlen(text));
	free(to);
}

static void cmd_history(struct app *a, const char *arg)
{
	uint64_t n = 20;

	if (a->o.no_history) {
		info(a, "error", "no history kept (--no-history)");
		return;
	}
	if (!*arg)
		history_show(a, (size_t)n, NULL);
	else if (uk_parse_u64(arg, 1, 100, &n) == 0)
		history_show(a, (size_t)n, NULL);
	else
		history_show(a, 20, arg);
}

static void handle_line(struct app *a, char *line, size_t len)
{
	char *arg;

	if (len == 0)
		return;
	if (line[0] != '/' || (len > 1 && line[1] == '/')) {
		const char *text = line[0] == '/' ? line + 1 : line;
		size_t tl = line[0] == '/' ? len - 1 : len;
		if (!a->has_target) {
			info(a, "error",
			     "NOT sent: no target yet: /to HOST [PORT] or /to NICK (/help)");
			return;
		}
		send_text(a, &a->target, text, tl);
		return;
	}
	/* Commands: "/name args"; the line is NUL-terminated by the caller. */
	arg = line + 1;
	while (*arg && *arg != ' ')
		arg++;
	if (*arg)
		*arg++ = 0;
	while (*arg == ' ')
		arg++;
	if (strcmp(line, "/to") == 0)
		cmd_to(a, arg);
	else if (strcmp(line, "/peers") == 0)
		cmd_peers(a);
	else if (strcmp(line, "/all") == 0)
		cmd_all(a, arg);
	else if (strcmp(line, "/nick") == 0) {
		if (!*arg) {
			info(a, "error", "usage: /nick NAME");
			return;
		}
		uk_chat_set_nick(&a->chat, arg, uk_now_ns());
		snprintf(a->nick, sizeof(a->nick), "%s", a->chat.id.nick);
		info(a, "info", "you are now %s", a->nick);
	} else if (strcmp(line, "/history") == 0)
		cmd_history(a, arg);
	else if (strcmp(line, "/help") == 0)
		cmd_help(a);
	else if (strcmp(line, "/quit") == 0)
		a->quit = true;
	else
		info(a, "error", "unknown command (/help lists them; // sends a /)");
	status(a);
}

static void on_submit(void *user, const char *line)
{
	struct app *a = user;
	size_t len = strlen(line);
	char *copy = malloc(len + 1);

	if (!copy)
		return;
	memcpy(copy, line, len + 1);
	handle_line(a, copy, len);
	free(copy);
}

/* ---- line-mode input --------------------------------------------------------- */

/* At start, line-mode input waits (up to 1 s) until every --peer has
 * answered our BR_ENTRY, so a script's first lines go to an IPMsg peer as
 * IPMsg with receipts, not as plain text. A plain-text peer never answers:
 * its messages just start 1 s later. */
#define PEER_WAIT_NS (1000ull * UK_NS_PER_MS)

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
		handle_line(a, a->in + off, len);
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

	if (uk_cli_resolve(CMD, a->o.bind_host, a->o.port, AF_UNSPEC, &a->local) < 0)
		return -1;
	/* Discovery broadcasts; a loopback-bound chat never does. */
	so.broadcast = !a->o.no_discovery && !uk_addr_is_loopback(&a->local) &&
		       uk_addr_family(&a->local) == AF_INET;
	fd = uk_sock_open(&a->local, &so);
	if (fd < 0) {
		char text[UK_ADDR_STRLEN];
		uk_cli_fail(CMD, uk_addr_format(&a->local, text, sizeof(text)), fd);
		if (fd == -EADDRINUSE)
			uk_cli_error(CMD, "another IP Messenger client (iptux?) may hold the port: "
					  "try -p with another port");
		return -1;
	}
	a->fd = fd;
	uk_sock_local(fd, &a->local);
	uk_addr_format(&a->local, a->local_text, sizeof(a->local_text));
	uk_cli_print_bound(fd);
	return 0;
}

static int add_peers(struct app *a)
{
	for (size_t i = 0; i < a->o.npeers; i++) {
		struct uk_addr p;
		if (uk_addr_parse_hostport(&p, a->o.peers[i], UK_IPMSG_PORT, AF_UNSPEC) < 0) {
			uk_cli_usage_error(CMD, "--peer '%s': not HOST[:PORT]", a->o.peers[i]);
			return -1;
		}
		if (a->n_announce < MAX_ANNOUNCE)
			a->announce[a->n_announce++] = p;
		if (i == 0) {
			a->target = p;
			a->has_target = true;
		}
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
	if (add_peers(a) < 0)
		return -1;
	gethostname(host, sizeof(host) - 1);
	if (!a->o.line && uk_cli_isatty(stdin) && uk_cli_isatty(stdout))
		a->tui = uk_tui_open(on_submit, a);
	if (a->tui)
		catch_winch(a);
	/* Show the last messages and continue the packet numbers from them. */
	floor = history_show(a, HISTORY_SHOWN, NULL);
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
				   .send = on_send,
				   .event = on_event,
				   .ctx = a};
	rc = uk_chat_init(&a->chat, &cfg, uk_wall_ns());
	if (rc < 0)
		return uk_cli_fail(CMD, "memory", rc), -1;
	a->chat_ready = true;
	snprintf(a->nick, sizeof(a->nick), "%s", a->chat.id.nick);
	if (!a->o.no_history) {
		rc = uk_history_writer_open(a->o.history_path, &a->hist);
		if (rc < 0) {
			uk_cli_fail(CMD, a->o.history_path, rc);
			return -1;
		}
	}
	info(a, "info", "%s on %s as %s; %zu broadcast and %zu peer addresses to announce to",
	     a->tui ? "udpkit chat" : "line mode", a->local_text, a->nick, a->n_broadcast,
	     a->n_announce - a->n_broadcast);
	if (!a->has_target)
		info(a, "info", "no target yet: /to HOST [PORT] or /to NICK; /help for more");
	return 0;
}

/* ---- the loop ----------------------------------------------------------------- */

static void receive_all(struct app *a)
{
	struct uk_dgram d = {.buf = a->rbuf, .cap = RECV_BUF};

	/* A bounded batch per wake-up, so a flood cannot starve the keyboard. */
	for (int i = 0; i < 256; i++) {
		ssize_t n = uk_sock_recv(a->fd, &d);
		if (n < 0)
			break;
		uk_chat_on_datagram(&a->chat, &d.peer, d.buf, d.len, d.wire_len, uk_now_ns());
	}
}

static int poll_timeout_ms(const struct app *a, uint64_t now)
{
	uint64_t d = uk_chat_deadline(&a->chat);

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
		struct pollfd p[4];
		nfds_t n = 0;
		int in_slot = -1, winch_slot = -1;
		uint64_t now = uk_now_ns();

		uk_chat_tick(&a->chat, now);
		if (line_mode(a)) {
			input_drain(a);
			if (a->eof && a->in_len == 0 && uk_chat_pending(&a->chat) == 0 &&
			    !a->o.stay && !a->hold_until_ns)
				break;
		}
		p[n++] = (struct pollfd){.fd = a->fd, .events = POLLIN};
		p[n++] = (struct pollfd){.fd = uk_cli_stop_fd, .events = POLLIN};
		if (!line_mode(a)) {
			in_slot = (int)n;
			p[n++] = (struct pollfd){.fd = uk_tui_fd(a->tui), .events = POLLIN};
			winch_slot = (int)n;
			p[n++] = (struct pollfd){.fd = a->winch_fd, .events = POLLIN};
		} else if (!a->eof && a->in_len < INPUT_MAX &&
			   uk_chat_room(&a->chat) >= INPUT_ROOM) {
			in_slot = (int)n;
			p[n++] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
		}
		if (poll(p, n, poll_timeout_ms(a, now)) < 0) {
			if (errno == EINTR)
				continue;
			uk_cli_fail(CMD, "poll", -errno);
			break;
		}
		if (p[0].revents)
			receive_all(a);
		if (in_slot >= 0 && p[in_slot].revents) {
			if (line_mode(a))
				input_read(a);
			else
				uk_tui_on_readable(a->tui);
		}
		if (winch_slot >= 0 && p[winch_slot].revents) {
			uint64_t v;
			if (read(a->winch_fd, &v, sizeof(v)) > 0)
				uk_tui_resize(a->tui);
		}
	}
}

static void summary(const struct app *a)
{
	const struct uk_chat_stats *s = &a->chat.stats;

	fprintf(stderr,
		"udpkit chat: %llu sent, %llu delivered, %llu NOT delivered, %llu received\n"
		"udpkit chat: %llu datagrams: %llu IPMsg, %llu plain, %llu malformed, %llu unknown "
		"commands, %llu duplicates, %llu own, %llu dropped by source rules, %llu over the "
		"rate limit; %llu retransmissions, %llu send errors\n",
		(unsigned long long)a->sent, (unsigned long long)a->delivered,
		(unsigned long long)a->undelivered, (unsigned long long)a->received,
		(unsigned long long)s->datagrams, (unsigned long long)s->ipmsg,
		(unsigned long long)s->plain, (unsigned long long)s->malformed,
		(unsigned long long)s->unknown, (unsigned long long)s->duplicates,
		(unsigned long long)s->self, (unsigned long long)s->dropped_source,
		(unsigned long long)s->dropped_rate, (unsigned long long)a->chat.outbox.retransmits,
		(unsigned long long)a->send_errors);
}

int uk_cmd_chat(int argc, char **argv)
{
	struct app *a = calloc(1, sizeof(*a));
	int rc = UK_EXIT_FAIL;

	if (!a)
		return uk_cli_fail(CMD, "memory", -ENOMEM);
	a->fd = -1;
	a->winch_fd = -1;
	if (parse_args(argc, argv, &a->o) < 0) {
		free(a);
		return UK_EXIT_USAGE;
	}
	a->rbuf = malloc(RECV_BUF);
	a->in = malloc(INPUT_MAX + 1);
	if (!a->rbuf || !a->in) {
		uk_cli_fail(CMD, "memory", -ENOMEM);
		goto fail;
	}
	uk_cli_catch_signals();
	if (setup(a) < 0)
		goto fail;
	if (!line_mode(a))
		status(a);
	uk_chat_start(&a->chat, uk_now_ns());
	if (a->o.npeers)
		a->hold_until_ns = uk_now_ns() + PEER_WAIT_NS;
	run(a);
	/* Whatever still waits is reported not delivered; then goodbye. */
	uk_chat_stop(&a->chat, uk_now_ns());
	rc = a->undelivered ? UK_EXIT_FAIL : UK_EXIT_OK;
fail:
	uk_tui_close(a->tui);
	a->tui = NULL;
	if (a->hist && uk_history_writer_close(a->hist) < 0) {
		uk_cli_error(CMD, "history %s: not all events written", a->o.history_path);
		rc = UK_EXIT_FAIL;
	}
	if (a->chat_ready) {
		summary(a);
		uk_chat_free(&a->chat);
	}
	if (a->fd >= 0)
		close(a->fd);
	if (a->winch_fd >= 0)
		close(a->winch_fd);
	free(a->rbuf);
	free(a->in);
	free(a);
	return rc;
}
