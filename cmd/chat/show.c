/* show.c: everything the chat prints, in the terminal UI or as line-mode
 * events, and the history it shows (see app.h). */
#include "chat/app.h"
#include "udpkit/i18n.h"
#include "chat/files.h"

bool chat_line_mode(const struct app *a)
{
	return a->tui == NULL;
}

/* The UI marks a line by how it starts: "! " an error or a message NOT
 * delivered, "  ok " one delivered. Colour repeats the mark (so a line
 * held for --sync keeps it); line mode, for scripts, has none. */
enum uk_tui_tone chat_tone(const char *line)
{
	if (strncmp(line, "! ", 2) == 0)
		return UK_TUI_BAD;
	if (strncmp(line, "  ok ", 5) == 0)
		return UK_TUI_GOOD;
	return UK_TUI_PLAIN;
}

/* One line for the user: in line mode on stdout (the caller wrote the
 * tab-separated event), in the UI into the message pane. Text is already
 * escaped. */
void chat_show_line(struct app *a, const char *line)
{
	if (chat_line_mode(a)) {
		fputs(line, stdout);
		fputc('\n', stdout);
		fflush(stdout);
	} else {
		uk_tui_add_line_tone(a->tui, line, chat_tone(line));
	}
}

/* Everything shown goes here: with --sync, held until the history lines
 * before it are on disk (history.c). */
static void show(struct app *a, const char *line)
{
	if (chat_holding(a))
		chat_hold_line(a, line);
	else
		chat_show_line(a, line);
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

/* A name a peer chose (nick, group, user, host): escaped with the name
 * rules, which also show joiners and variation selectors (text.h). */
static void put_name(struct out *o, const char *name)
{
	size_t n = strlen(name);
	char *buf = malloc(UK_ESCAPE_SIZE(n));

	if (buf && uk_text_escape_name(name, n, buf, UK_ESCAPE_SIZE(n)) >= 0)
		fputs(buf, o->f);
	free(buf);
}

/* True when a nickname would parse as an address for /to (which takes
 * such text as the address): it is shown marked. */
static bool nick_looks_like_address(const char *nick)
{
	struct uk_addr unused;
	return uk_cli_parse_target(nick, UK_IPMSG_PORT, UK_ADDR_NUMERIC, &unused) == 0;
}

/* A peer's nickname: escaped, "?" when empty (if unknown_mark), and
 * marked when it would read as an address (/to takes that text as the
 * address, never as this nick). */
static void put_nick(struct out *o, const char *nick, bool unknown_mark)
{
	put_name(o, unknown_mark && !nick[0] ? "?" : nick);
	if (nick_looks_like_address(nick))
		fputs(_(" [nick, not an address]"), o->f);
}

static void put_addr(struct out *o, const struct uk_addr *addr)
{
	char text[UK_ADDR_STRLEN];
	fputs(uk_addr_format(addr, text, sizeof(text)), o->f);
}

void chat_info(struct app *a, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void chat_info(struct app *a, const char *kind, const char *fmt, ...)
{
	struct out o;
	va_list ap;

	if (!out_open(&o))
		return;
	fputs(chat_line_mode(a) ? kind : (strcmp(kind, "error") == 0 ? "! " : "* "), o.f);
	if (chat_line_mode(a))
		fputc('\t', o.f);
	va_start(ap, fmt);
	vfprintf(o.f, fmt, ap);
	va_end(ap);
	out_show(a, &o);
}

void chat_status(struct app *a)
{
	char target[UK_ADDR_STRLEN] = "none";
	char line[512];
	struct out o;

	if (chat_line_mode(a))
		return;
	if (a->has_target)
		uk_addr_format(&a->target, target, sizeof(target));
	if (!out_open(&o))
		return;
	fprintf(o.f, " %s  ", a->local_text);
	if (chat_room_name(a))
		fprintf(o.f, "room %s  ", chat_room_name(a));
	put_name(&o, a->nick);
	fprintf(o.f, _("  to: %s  peers: %zu  waiting: %zu  undelivered: %llu"), target,
		a->chat.roster.count, uk_chat_pending(&a->chat),
		(unsigned long long)a->undelivered);
	if (fclose(o.f) != 0) {
		free(o.buf);
		return;
	}
	snprintf(line, sizeof(line), "%s", o.buf ? o.buf : "");
	free(o.buf);
	uk_tui_set_status(a->tui, line);
}

/* ---- messages, live and past ------------------------------------------------ */

/* A message as shown: the same for a live event and a history entry, so
 * past messages (at start, /history) look exactly like live ones. */
struct msg_view {
	bool received; /* else sent */
	uint64_t time_ns;
	const char *peer; /* "10.0.0.2:2425" */
	uint64_t id;
	const char *nick;
	const char *text;
	size_t len;
	bool group, sealed;  /* received: a group message, a sealed one */
	const char *charset; /* sent in, when not UTF-8 */
};

/* The time in the UI: local with its UTC offset, "18:22:33+08:00" (or
 * --utc, "10:22:33Z"), the date only when not today. The offset is the
 * one of the message's own time, on every line: a past message from
 * before a change of daylight saving time, or shown after TZ changed,
 * says which hour it means. */
static void put_clock(struct app *a, FILE *f, uint64_t time_ns)
{
	char t[UK_HISTORY_SHOWN_TIME_LEN + 1], today[UK_HISTORY_SHOWN_TIME_LEN + 1];

	if (uk_history_time_show(time_ns, a->o.utc, t) < 0 ||
	    uk_history_time_show(uk_wall_ns(), a->o.utc, today) < 0)
		return;
	if (memcmp(t, today, 10) != 0)
		fprintf(f, "%.10s ", t);
	fprintf(f, "%.8s%s ", t + 11, t + 23);
}

static void put_msg(struct app *a, struct out *o, const struct msg_view *m)
{
	if (chat_line_mode(a)) {
		fprintf(o->f, "%s\t",
			!m->received ? "sent"
			: m->group   ? "group"
			: m->sealed  ? "sealed"
				     : "recv");
		put_esc_str(o, m->peer);
		fprintf(o->f, "\t%llu\t", (unsigned long long)m->id);
		put_nick(o, m->nick, false);
		fputc('\t', o->f);
		put_esc(o, m->text, m->len);
		return;
	}
	put_clock(a, o->f, m->time_ns);
	if (m->received) {
		put_nick(o, m->nick, true);
		fputs(" (", o->f);
		put_esc_str(o, m->peer);
		fputs(m->group ? _(") [group]: ") : m->sealed ? _(") [sealed]: ") : "): ", o->f);
		put_esc(o, m->text, m->len);
		return;
	}
	fputs("-> ", o->f);
	put_esc_str(o, m->peer);
	fputs(": ", o->f);
	put_esc(o, m->text, m->len);
	if (m->id)
		fprintf(o->f, "  [#%llu]", (unsigned long long)m->id);
	else
		fputs(_("  [plain text, no receipt]"), o->f);
	if (m->charset)
		fprintf(o->f, " [%s]", m->charset);
}

/* The last `want` messages (or those matching grep), shown, and the
 * highest packet number we sent, for the packet-number floor. */
struct history_scan {
	struct app *a;
	char *lines[HISTORY_SHOWN * 10];
	size_t want, next, count;
	const char *grep;
	uint64_t max_sent_id;
	uint64_t now_ns; /* wall clock, for the recent messages */
};

static int history_cb(void *user, const struct uk_history_entry *e)
{
	struct history_scan *s = user;
	struct msg_view m = {.received = e->kind == UK_HIST_RECV || e->kind == UK_HIST_GROUP,
			     .group = e->kind == UK_HIST_GROUP,
			     .time_ns = e->time_ns,
			     .peer = e->peer,
			     .id = e->msg_id,
			     .nick = e->nick,
			     .text = (const char *)e->text,
			     .len = e->text_len};
	struct out o;

	if (e->kind == UK_HIST_SENT && e->msg_id > s->max_sent_id && e->msg_id < UINT32_MAX)
		s->max_sent_id = e->msg_id;
	if (e->kind == UK_HIST_RECV && e->msg_id && s->a->recent &&
	    e->time_ns + UK_DEDUP_DEFAULT_HOLD_NS >= s->now_ns) {
		struct recent_msg *r = &s->a->recent[s->a->next_recent];
		if (uk_addr_parse_hostport(&r->peer, e->peer, 0, AF_UNSPEC) == 0) {
			r->id = e->msg_id;
			s->a->next_recent = (s->a->next_recent + 1) % RECENT_MAX;
			if (s->a->n_recent < RECENT_MAX)
				s->a->n_recent++;
		}
	}
	if (!s->want ||
	    (e->kind != UK_HIST_RECV && e->kind != UK_HIST_SENT && e->kind != UK_HIST_GROUP))
		return 0;
	if (s->grep && !memmem(e->text, e->text_len, s->grep, strlen(s->grep)) &&
	    !strstr(e->nick, s->grep) && !strstr(e->peer, s->grep))
		return 0;
	if (!out_open(&o))
		return 0;
	/* Line mode marks past events; the UI shows them as they came. */
	if (chat_line_mode(s->a))
		fputs("history\t", o.f);
	put_msg(s->a, &o, &m);
	if (fclose(o.f) != 0 || !o.buf) {
		free(o.buf);
		return 0;
	}
	free(s->lines[s->next]);
	s->lines[s->next] = o.buf;
	s->next = (s->next + 1) % s->want;
	if (s->count < s->want)
		s->count++;
	return 0;
}

/* Reads the history file (and its rotated part): shows the last `want`
 * messages (matching grep) and returns the highest packet number we sent. */
uint64_t chat_history_show(struct app *a, size_t want, const char *grep)
{
	struct history_scan s = {.a = a, .want = want, .grep = grep, .now_ns = uk_wall_ns()};
	uint64_t bad = 0;
	bool torn = false;
	int rc;

	if (want > sizeof(s.lines) / sizeof(s.lines[0]))
		s.want = sizeof(s.lines) / sizeof(s.lines[0]);
	if (a->o.no_history)
		return 0;
	rc = uk_history_read_all(a->history_path, history_cb, &s, &bad, &torn);
	if (rc < 0 && rc != -ENOENT)
		chat_info(a, "error", _("history %s: %s"), a->history_path, _(uk_strerror(rc)));
	for (size_t i = 0; i < s.count; i++)
		show(a, s.lines[(s.next + s.want - s.count + i) % s.want]);
	for (size_t i = 0; i < sizeof(s.lines) / sizeof(s.lines[0]); i++)
		free(s.lines[i]);
	if (bad || torn)
		chat_info(a, "info", _("history %s: %llu bad lines%s skipped"), a->history_path,
			  (unsigned long long)bad, torn ? _(" and a torn last line") : "");
	return s.max_sent_id;
}

/* ---- events from the protocol engine ---------------------------------------- */

/* "12 bytes", "3.4 KiB", "1.2 GiB". */
static void put_size(struct out *o, uint64_t bytes)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
	double v = (double)bytes;
	size_t u = 0;

	if (bytes < 1024) {
		fprintf(o->f, "%llu byte%s", (unsigned long long)bytes, bytes == 1 ? "" : "s");
		return;
	}
	v /= 1024;
	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	fprintf(o->f, "%.1f %s", v, units[u]);
}

/* "offered file NAME (SIZE)", or "offered N files: A (SIZE), B (SIZE)";
 * names escaped for the screen, or as they are for the history (which
 * escapes on its own). */
static void put_offer(struct out *o, const struct uk_chat_event *ev, bool escape)
{
	if (ev->files_total == 1)
		fputs("offered file ", o->f);
	else
		fprintf(o->f, "offered %zu files: ", ev->files_total);
	for (size_t i = 0; i < ev->n_files; i++) {
		if (i)
			fputs(", ", o->f);
		if (escape)
			put_esc(o, ev->files[i].name, ev->files[i].name_len);
		else
			fwrite(ev->files[i].name, 1, ev->files[i].name_len, o->f);
		fputs(ev->files[i].attr == UK_ATTACH_DIR ? " (folder, " : " (", o->f);
		put_size(o, ev->files[i].size);
		fputc(')', o->f);
	}
	if (ev->n_files < ev->files_total)
		fprintf(o->f, ", and %zu more", ev->files_total - ev->n_files);
	if (!ev->files_total)
		fputs("files (the list could not be read)", o->f);
}

/* The text a received message is logged with: its text, and for a file
 * offer the offer (an offer alone is never an empty message). NULL when
 * it is the text as is (*len set); else a malloc'd string. */
char *chat_message_text(const struct uk_chat_event *ev, size_t *len)
{
	struct out o;

	if (!ev->files && ev->len) {
		*len = ev->len;
		return NULL;
	}
	if (!out_open(&o))
		return NULL;
	fwrite(ev->text, 1, ev->len, o.f);
	if (ev->files) {
		if (ev->len)
			fputc('\n', o.f);
		put_offer(&o, ev, false);
	}
	if (fclose(o.f) != 0) {
		free(o.buf);
		return NULL;
	}
	*len = o.len;
	return o.buf;
}

/* Line mode: one "offer" line per file offered; the UI: one line. */
static void show_offer(struct app *a, const struct uk_chat_event *ev)
{
	struct out o;

	if (chat_line_mode(a)) {
		for (size_t i = 0; i < ev->n_files; i++) {
			if (!out_open(&o))
				return;
			fputs("offer\t", o.f);
			put_addr(&o, &ev->peer);
			fprintf(o.f, "\t%llu\t", (unsigned long long)ev->msg_id);
			put_name(&o, ev->nick);
			fputc('\t', o.f);
			put_esc(&o, ev->files[i].name, ev->files[i].name_len);
			fprintf(o.f, "\t%llu", (unsigned long long)ev->files[i].size);
			out_show(a, &o);
		}
	} else if (out_open(&o)) {
		put_nick(&o, ev->nick, true);
		fputs(" (", o.f);
		put_addr(&o, &ev->peer);
		fputs(") ", o.f);
		put_offer(&o, ev, true);
		out_show(a, &o);
	}
	files_on_offer(a, ev);
}

static void show_notes(struct app *a, const struct uk_chat_event *ev);

static void show_message(struct app *a, const struct uk_chat_event *ev)
{
	struct out o;
	bool lm = chat_line_mode(a);

	if (ev->kind == UK_CHAT_RECV && ev->files && !ev->len) {
		/* A file offer alone has no text line: the offer is the message. */
		show_offer(a, ev);
		show_notes(a, ev);
		return;
	}
	if (!out_open(&o))
		return;
	switch (ev->kind) {
	case UK_CHAT_RECV:
	case UK_CHAT_SENT: {
		char peer[UK_ADDR_STRLEN];
		struct msg_view m = {.received = ev->kind == UK_CHAT_RECV,
				     .time_ns = uk_wall_ns(),
				     .peer = uk_addr_format(&ev->peer, peer, sizeof(peer)),
				     .id = ev->msg_id,
				     .nick = ev->nick,
				     .text = ev->text,
				     .len = ev->len,
				     .group = ev->group,
				     .sealed = ev->sealed,
				     .charset = ev->kind == UK_CHAT_SENT && ev->receipt &&
							ev->charset != UK_CHARSET_UTF8
						    ? uk_charset_name(ev->charset)
						    : NULL};
		put_msg(a, &o, &m);
		break;
	}
	case UK_CHAT_DELIVERED:
		if (lm) {
			fputs("delivered\t", o.f);
			put_addr(&o, &ev->peer);
			fprintf(o.f, "\t%llu\t", (unsigned long long)ev->msg_id);
			put_nick(&o, ev->nick, false);
			fprintf(o.f, "\t%u\t%.1f", ev->tries, (double)ev->rtt_ns / 1e6);
		} else {
			/* TRANSLATORS: keep the leading "  ok ": it colours the line. */
			fprintf(o.f, _("  ok #%llu delivered to "), (unsigned long long)ev->msg_id);
			put_addr(&o, &ev->peer);
		}
		break;
	case UK_CHAT_UNDELIVERED:
		if (lm) {
			fputs("undelivered\t", o.f);
			put_addr(&o, &ev->peer);
			fprintf(o.f, "\t%llu\t", (unsigned long long)ev->msg_id);
			put_nick(&o, ev->nick, false);
			fprintf(o.f, "\t%s", ev->reason);
		} else {
			/* TRANSLATORS: keep the leading "! ": it colours the line. */
			fprintf(o.f, _("! #%llu NOT delivered to "),
				(unsigned long long)ev->msg_id);
			put_addr(&o, &ev->peer);
			fprintf(o.f, " (%s): ", ev->reason);
			put_esc(&o, ev->text, ev->len);
		}
		break;
	case UK_CHAT_LATE:
		if (lm) {
			fputs("late\t", o.f);
			put_addr(&o, &ev->peer);
			fprintf(o.f, "\t%llu\t", (unsigned long long)ev->msg_id);
			put_nick(&o, ev->nick, false);
		} else {
			/* TRANSLATORS: keep the leading "  ok ": it colours the line. */
			fprintf(o.f, _("  ok #%llu delivered late to "),
				(unsigned long long)ev->msg_id);
			put_addr(&o, &ev->peer);
			fputs(_(" (after it was reported not delivered): "), o.f);
			put_esc(&o, ev->text, ev->len);
		}
		break;
	default:
		break;
	}
	out_show(a, &o);
	if (ev->kind == UK_CHAT_RECV && ev->files)
		show_offer(a, ev);
	show_notes(a, ev);
}

/* What is worth saying about a message besides its line. */
static void show_notes(struct app *a, const struct uk_chat_event *ev)
{
	if (ev->kind == UK_CHAT_SENT && ev->replaced)
		chat_info(
		    a, "info",
		    _("%zu character%s that %s cannot hold %s sent as '?' in the message above"),
		    ev->replaced, ev->replaced == 1 ? "" : "s", uk_charset_name(ev->charset),
		    ev->replaced == 1 ? "was" : "were");
	if (ev->kind == UK_CHAT_RECV && ev->cut_bytes)
		chat_info(a, "info", _("the message above was cut: %zu more bytes not shown"),
			  ev->cut_bytes);
	if (ev->unlogged && a->hist)
		chat_info(a, "error", _("the message above is NOT in the history"));
}

/* Messages dropped by the flood bounds: how many, from whom. */
static void show_dropped(struct app *a, const struct uk_chat_event *ev)
{
	char who[UK_ADDR_STRLEN + 64];

	if (ev->tries > 1 || uk_addr_family(&ev->peer) == AF_UNSPEC)
		snprintf(who, sizeof(who), _("%u other sources"), ev->tries);
	else
		uk_addr_format(&ev->peer, who, sizeof(who));
	chat_info(a, "dropped",
		  _("%llu messages (%llu bytes) from %s: over the flood bounds (--rate-limit), not "
		    "shown, logged or acknowledged"),
		  (unsigned long long)ev->dropped, (unsigned long long)ev->dropped_bytes, who);
}

/* The terminal UI's word for a peer event; line mode prints the event
 * name itself, which scripts read. */
static const char *peer_kind_text(const char *kind)
{
	if (strcmp(kind, "joined") == 0)
		return _("joined");
	if (strcmp(kind, "changed") == 0)
		return _("changed");
	if (strcmp(kind, "left") == 0)
		return _("left");
	if (strcmp(kind, "peer") == 0)
		return _("peer");
	return kind;
}

void chat_show_peer(struct app *a, const char *kind, const struct uk_peer *p, const char *reason,
		    uint64_t now_ns)
{
	struct out o;

	if (!out_open(&o))
		return;
	if (chat_line_mode(a)) {
		fprintf(o.f, "%s\t", kind);
		put_addr(&o, &p->addr);
		fputc('\t', o.f);
		put_nick(&o, p->nick, false);
		fputc('\t', o.f);
		put_name(&o, p->group);
		fputc('\t', o.f);
		if (p->user[0] || p->host[0]) {
			put_name(&o, p->user);
			fputc('@', o.f);
			put_name(&o, p->host);
		} else {
			fputc('-', o.f);
		}
		fprintf(o.f, "\t%s", p->ipmsg ? "ipmsg" : "plain");
		if (reason)
			fprintf(o.f, "\t%s", reason);
		else if (strcmp(kind, "peer") == 0) {
			fprintf(o.f, "\t%llu\t%s\t",
				(unsigned long long)((now_ns - p->last_ns) / UK_NS_PER_SEC),
				p->ipmsg ? uk_charset_name(
					       uk_charset_for_peer(&p->charset, a->o.charset))
					 : "-");
			if (p->away)
				put_esc_str(&o, p->away_text[0] ? p->away_text : "away");
		}
	} else {
		fprintf(o.f, "* %s ", peer_kind_text(kind));
		put_nick(&o, p->nick, true);
		fputs(" (", o.f);
		put_addr(&o, &p->addr);
		if (p->group[0]) {
			fputs(_(", group "), o.f);
			put_name(&o, p->group);
		}
		fprintf(o.f, ", %s", p->ipmsg ? "IPMsg" : _("plain text"));
		if (p->ipmsg)
			fprintf(o.f, ", %s",
				uk_charset_name(uk_charset_for_peer(&p->charset, a->o.charset)));
		if (p->away) {
			fputs(_(", away"), o.f);
			if (p->away_text[0]) {
				fputs(": ", o.f);
				put_esc_str(&o, p->away_text);
			}
		}
		fputc(')', o.f);
		if (reason)
			fprintf(o.f, ": %s", reason);
	}
	out_show(a, &o);
}

void chat_on_event(void *ctx, const struct uk_chat_event *ev)
{
	struct app *a = ctx;

	/* The engine logged RECV, SENT and the outcomes before this call. */
	switch (ev->kind) {
	case UK_CHAT_RECV:
		a->received++;
		show_message(a, ev);
		/* Sealed: "seen" is the line written to the screen or stdout. */
		if (ev->sealed)
			uk_chat_seen(&a->chat, &ev->peer, ev->msg_id);
		break;
	case UK_CHAT_SENT:
		a->sent++;
		if (!ev->receipt && !ev->plain_peer)
			a->unconfirmed++;
		show_message(a, ev);
		break;
	case UK_CHAT_DELIVERED:
		a->delivered++;
		show_message(a, ev);
		break;
	case UK_CHAT_UNDELIVERED:
		a->undelivered++;
		show_message(a, ev);
		break;
	case UK_CHAT_LATE:
		show_message(a, ev);
		break;
	case UK_CHAT_DROPPED:
		show_dropped(a, ev);
		break;
	case UK_CHAT_JOINED:
		chat_show_peer(a, "joined", ev->info, NULL, 0);
		break;
	case UK_CHAT_CHANGED:
		chat_show_peer(a, "changed", ev->info, NULL, 0);
		break;
	case UK_CHAT_LEFT:
		chat_show_peer(a, "left", ev->info, ev->reason, 0);
		break;
	case UK_CHAT_RELEASED:
		files_on_released(a, ev);
		break;
	}
	chat_status(a);
}

void chat_on_send(void *ctx, const struct uk_addr *to, const void *data, size_t len)
{
	struct app *a = ctx;

	/* With --sync, a receipt waits for the fdatasync() of its message. */
	if (chat_holding(a))
		chat_hold_datagram(a, to, data, len);
	else
		chat_send_now(a, to, data, len);
}

void chat_send_now(struct app *a, const struct uk_addr *to, const void *data, size_t len)
{
	ssize_t n = chat_room_send(a, to, data, len); /* sealed in a room */

	if (n >= 0)
		return;
	a->send_errors++;
	/* Say it, but a dead route must not flood the screen. */
	if (a->errors_shown++ < 10) {
		char text[UK_ADDR_STRLEN];
		chat_info(a, "error", _("send to %s: %s"), uk_addr_format(to, text, sizeof(text)),
			  _(uk_strerror((int)n)));
	}
}

/* ---- commands ------------------------------------------------------------------ */
