/* history.c: the chat's side of the history file (see app.h): finding and
 * opening it, the log callback the engine calls before it shows or
 * acknowledges anything, and --sync's group commit: while lines wait for
 * fdatasync(), everything the chat would print or send is held, then
 * released in order by one fdatasync() per pass of the loop. */
#include "chat/app.h"
#include "udpkit/i18n.h"

struct held {
	struct held *next;
	bool datagram;
	struct uk_addr to;
	size_t len;
	char data[];
};

static const char *home_dir(void)
{
	const char *h = getenv("HOME");
	struct passwd *pw;

	if (h && *h)
		return h;
	pw = getpwuid(getuid());
	return pw ? pw->pw_dir : NULL;
}

/* Says why the history cannot be used, and what to do. */
static void open_error(const struct app *a, int rc, enum uk_history_problem why)
{
	const char *path = a->history_path;

	if (rc == -EPERM && why != UK_HISTF_OK)
		uk_cli_error(CMD, _("history %s: refused: %s"), path,
			     _(uk_history_problem_text(why)));
	else if (rc == -EACCES || rc == -EROFS || rc == -EPERM)
		uk_cli_error(CMD,
			     _("history %s: cannot create or write it (%s): choose a writable file "
			       "with --history PATH, or keep no history with --no-history"),
			     path, _(uk_strerror(rc)));
	else
		uk_cli_error(CMD,
			     _("history %s: %s (--history PATH picks another file, --no-history "
			       "keeps none)"),
			     path, _(uk_strerror(rc)));
}

int chat_history_open(struct app *a)
{
	struct uk_history_writer_cfg cfg = {.max_size_bytes = a->o.history_max_size};
	enum uk_history_problem why = UK_HISTF_OK;
	int rc;

	if (a->o.no_history)
		return 0;
	if (a->o.history_path) {
		snprintf(a->history_path, sizeof(a->history_path), "%s", a->o.history_path);
	} else {
		/* The user's own state directory, created private. */
		rc = uk_history_default_path(getenv("XDG_STATE_HOME"), home_dir(), a->history_path,
					     sizeof(a->history_path));
		if (rc < 0) {
			uk_cli_error(CMD,
				     _("no home directory for the history: give --history PATH "
				       "or --no-history"));
			return -1;
		}
		cfg.own_dir = true;
		rc = uk_history_make_dirs(a->history_path);
		if (rc < 0) {
			open_error(a, rc, why);
			return -1;
		}
	}
	rc = uk_history_writer_open(a->history_path, &cfg, &a->hist, &why);
	if (rc < 0) {
		open_error(a, rc, why);
		return -1;
	}
	a->held_tail = &a->held;
	return 0;
}

static void entry_of(struct uk_history_entry *e, enum uk_history_kind kind,
		     const struct uk_chat_event *ev)
{
	size_t n = strlen(ev->nick);

	*e = (struct uk_history_entry){.time_ns = uk_wall_ns(),
				       .kind = kind,
				       .msg_id = ev->msg_id,
				       .text = (const unsigned char *)ev->text,
				       .text_len = ev->len};
	uk_addr_format(&ev->peer, e->peer, sizeof(e->peer));
	/* Cut the nick on a character boundary to fit the entry. */
	while (n >= sizeof(e->nick) || (n > 0 && ((unsigned char)ev->nick[n] & 0xc0) == 0x80))
		n--;
	memcpy(e->nick, ev->nick, n);
	e->nick[n] = 0;
}

/* A received message logged but not yet synced (--sync). Out of memory,
 * it is not recorded: a failed sync then cannot take it back. */
static void remember_unsynced(struct app *a, const struct uk_addr *peer, uint64_t id)
{
	if (a->n_unsynced == a->cap_unsynced) {
		size_t cap = a->cap_unsynced ? a->cap_unsynced * 2 : 64;
		struct recent_msg *grown = realloc(a->unsynced, cap * sizeof(*grown));
		if (!grown)
			return;
		a->unsynced = grown;
		a->cap_unsynced = cap;
	}
	a->unsynced[a->n_unsynced++] = (struct recent_msg){.peer = *peer, .id = id};
}

int chat_on_log(void *ctx, const struct uk_chat_event *ev)
{
	static const int kinds[] = {[UK_CHAT_RECV] = UK_HIST_RECV + 1,
				    [UK_CHAT_SENT] = UK_HIST_SENT + 1,
				    [UK_CHAT_DELIVERED] = UK_HIST_DELIVERED + 1,
				    [UK_CHAT_UNDELIVERED] = UK_HIST_UNDELIVERED + 1,
				    [UK_CHAT_LATE] = UK_HIST_LATE + 1};
	struct app *a = ctx;
	struct uk_history_entry e;
	enum uk_history_problem why;
	char *offer = NULL;
	int rc;

	if (!a->hist || (size_t)ev->kind >= sizeof(kinds) / sizeof(kinds[0]) || !kinds[ev->kind])
		return 0;
	/* After a failed fdatasync() nothing is logged until a check line
	 * syncs: the message is refused as on a full disk (not shown, not
	 * acknowledged; its sender retries) instead of piling up copies. */
	if (a->sync_failing) {
		rc = uk_history_writer_check(a->hist);
		if (rc < 0)
			return rc;
		a->sync_failing = false;
	}
	entry_of(&e, (enum uk_history_kind)(kinds[ev->kind] - 1), ev);
	if (ev->kind == UK_CHAT_RECV) {
		size_t len = ev->len;
		/* A group message has its own kind; a file offer is logged as
		 * "offered file NAME (SIZE)", never as an empty message. */
		if (ev->group)
			e.kind = UK_HIST_GROUP;
		offer = chat_message_text(ev, &len);
		if (offer) {
			e.text = (const unsigned char *)offer;
			e.text_len = len;
		}
	}
	rc = uk_history_writer_append(a->hist, &e, &why);
	free(offer);
	if (rc == 0 && a->o.sync && ev->kind == UK_CHAT_RECV && ev->ipmsg)
		remember_unsynced(a, &ev->peer, ev->msg_id);
	if (rc == -EMSGSIZE)
		return rc; /* this one only: no need to alarm */
	if (rc < 0 && !a->history_failing) {
		/* At once, and once per outage; every refused message is counted. */
		a->history_failing = true;
		chat_info(
		    a, "error",
		    _("history %s: cannot write (%s%s%s): messages are NOT acknowledged until "
		      "it can (their senders retry), nothing is sent"),
		    a->history_path, _(uk_strerror(rc)), why != UK_HISTF_OK ? ": " : "",
		    why != UK_HISTF_OK ? _(uk_history_problem_text(why)) : "");
	} else if (rc == 0 && a->history_failing) {
		a->history_failing = false;
		chat_info(a, "info", _("history %s: writing again"), a->history_path);
	}
	return rc;
}

void chat_log_file(struct app *a, const struct uk_addr *peer, const char *nick, uint64_t id,
		   const char *text)
{
	struct uk_chat_event ev = {
	    .peer = *peer, .nick = "", .msg_id = id, .text = text, .len = strlen(text)};
	const struct uk_peer *p = uk_roster_find(&a->chat.roster, peer);
	struct uk_history_entry e;
	enum uk_history_problem why;

	if (!a->hist)
		return;
	ev.nick = nick ? nick : p ? p->nick : "";
	entry_of(&e, UK_HIST_FILE, &ev);
	/* Outcomes are not messages: a failure to log one is not retried. */
	(void)uk_history_writer_append(a->hist, &e, &why);
}

bool chat_holding(const struct app *a)
{
	return a->o.sync && (a->held || uk_history_writer_dirty(a->hist));
}

static void hold(struct app *a, bool datagram, const struct uk_addr *to, const void *data,
		 size_t len)
{
	struct held *h = malloc(sizeof(*h) + len + 1);

	if (!h)
		return; /* out of memory: as a lost datagram, or a line not shown */
	h->next = NULL;
	h->datagram = datagram;
	if (to)
		h->to = *to;
	h->len = len;
	memcpy(h->data, data, len);
	h->data[len] = 0;
	*a->held_tail = h;
	a->held_tail = &h->next;
}

void chat_hold_line(struct app *a, const char *line)
{
	hold(a, false, NULL, line, strlen(line));
}

void chat_hold_datagram(struct app *a, const struct uk_addr *to, const void *data, size_t len)
{
	hold(a, true, to, data, len);
}

void chat_commit(struct app *a)
{
	struct held *h = a->held;
	bool synced;
	int rc;

	if (!a->o.sync || (!h && !uk_history_writer_dirty(a->hist)))
		return;
	/* One fdatasync() for every line appended since the last: group commit. */
	rc = uk_history_writer_sync(a->hist);
	synced = rc == 0;
	a->held = NULL;
	a->held_tail = &a->held;
	while (h) {
		struct held *next = h->next;
		/* Not on disk: no receipt goes out (the sender retries); the
		 * outbox retransmits what we sent. Lines are shown. */
		if (!h->datagram)
			chat_show_line(a, h->data);
		else if (synced)
			chat_send_now(a, &h->to, h->data, h->len);
		free(h);
		h = next;
	}
	if (!synced) {
		/* The lines may never reach the disk (and Linux reports that only
		 * once): the messages are taken back, their retransmissions will
		 * be logged and synced again before a receipt goes. */
		for (size_t i = 0; i < a->n_unsynced; i++)
			uk_chat_forget(&a->chat, &a->unsynced[i].peer, a->unsynced[i].id);
		a->sync_failing = a->history_failing = true;
		chat_info(
		    a, "error",
		    _("history %s: fdatasync: %s: %zu messages NOT acknowledged; none will be "
		      "until the disk takes writes again (their senders retry)"),
		    a->history_path, _(uk_strerror(rc)), a->n_unsynced);
	}
	a->n_unsynced = 0;
}

void chat_remember_recent(struct app *a)
{
	uint64_t now = uk_now_ns();

	for (size_t i = 0; i < a->n_recent; i++)
		uk_chat_remember(&a->chat, &a->recent[i].peer, a->recent[i].id, now);
	free(a->recent);
	a->recent = NULL;
	a->n_recent = 0;
}

int chat_history_close(struct app *a)
{
	int rc = uk_history_writer_close(a->hist);

	a->hist = NULL;
	free(a->unsynced);
	a->unsynced = NULL;
	a->n_unsynced = a->cap_unsynced = 0;
	while (a->held) {
		struct held *next = a->held->next;
		free(a->held);
		a->held = next;
	}
	if (rc < 0)
		uk_cli_error(CMD, _("history %s: %s"), a->history_path, _(uk_strerror(rc)));
	return rc;
}
