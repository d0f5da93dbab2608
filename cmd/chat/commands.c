/* commands.c: the chat's slash commands and typed lines (see app.h). */
#include "chat/app.h"
#include "udpkit/i18n.h"
#include "chat/files.h"

static void cmd_help(struct app *a)
{
	static const char *lines[] = {
	    N_("TEXT               send TEXT to the current target"),
	    N_("/to HOST [PORT]    talk to HOST (port 2425 by default; HOST:PORT works too)"),
	    N_("/to NICK           talk to the peer with that nickname"),
	    N_("/peers             list the peers known"),
	    N_("/all TEXT          send TEXT to every peer known"),
	    N_("/all /file PATH... [-- TEXT]  offer files and folders to every IPMsg peer known"),
	    N_("/nick NAME         change your nickname and tell everyone"),
	    N_("/away [TEXT]       away with TEXT (peers see it); /away alone: back"),
	    N_("/history [N|TEXT]  the last N messages (default 20), or those holding TEXT"),
	    N_("/file PATH... [-- TEXT]  offer files and folders to the target (\"a b\" quotes)"),
	    N_("/accept [N] [DIR]  fetch offer N (default: the newest) into DIR"),
	    N_("/decline [N]       decline offer N (default: the newest)"),
	    N_("/quit              leave (messages still waiting are shown not delivered)"),
	    N_("//TEXT             send a line that starts with /"),
	    N_("PageUp, PageDown   scroll the messages back and forward (terminal UI)"),
	    N_("Ctrl-L             redraw the screen"),
	    N_("Ctrl-D             on an empty line: leave, as /quit"),
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		chat_info(a, "info", "%s", _(lines[i]));
}

static void set_target(struct app *a, const struct uk_addr *to)
{
	char text[UK_ADDR_STRLEN];
	const struct uk_peer *p = uk_roster_find(&a->chat.roster, to);

	a->target = *to;
	a->has_target = true;
	chat_info(a, "info", _("talking to %s%s"), uk_addr_format(to, text, sizeof(text)),
		  p && p->ipmsg ? _(" (IPMsg, with receipts)")
				: _(" (plain text until it speaks IPMsg)"));
}

static void target_address(struct app *a, const struct uk_addr *to)
{
	if (uk_chat_is_self(&a->chat, to))
		chat_info(a, "error", _("that is this chat itself"));
	else
		set_target(a, to);
}

/* /to: an argument that parses as an address is that address, whatever
 * nicknames peers chose (a peer may call itself "127.0.0.3 2425"); then
 * the peer with that nick (which may hold spaces); then a host name. */
static void cmd_to(struct app *a, char *args)
{
	struct uk_addr to;
	bool ambiguous;
	const struct uk_peer *p;

	if (!*args) {
		chat_info(a, "error", _("usage: /to HOST [PORT] or /to NICK"));
		return;
	}
	if (uk_cli_parse_target(args, UK_IPMSG_PORT, UK_ADDR_NUMERIC, &to) == 0) {
		target_address(a, &to);
		return;
	}
	p = uk_roster_find_nick(&a->chat.roster, args, &ambiguous);
	if (p && ambiguous) {
		chat_info(a, "error",
			  _("several peers are called that: use /to HOST [PORT] (/peers)"));
		return;
	}
	if (p) {
		set_target(a, &p->addr);
		return;
	}
	if (uk_cli_parse_target(args, UK_IPMSG_PORT, 0, &to) < 0) {
		chat_info(a, "error", _("no peer called that, and not HOST [PORT] (port 1-65535)"));
		return;
	}
	target_address(a, &to);
}

static void cmd_peers(struct app *a)
{
	uint64_t now = uk_now_ns();

	if (chat_room_name(a))
		chat_info(a, "info", _("room %s: %zu members known; every datagram sealed"),
			  chat_room_name(a), a->chat.roster.count);
	if (a->chat.roster.count == 0)
		chat_info(a, "info", _("no peers known yet"));
	for (size_t i = 0; i < a->chat.roster.cap; i++)
		if (a->chat.roster.peers[i].used)
			chat_show_peer(a, "peer", &a->chat.roster.peers[i], NULL, now);
}

static void send_text(struct app *a, const struct uk_addr *to, const char *text, size_t len)
{
	int rc = uk_chat_send(&a->chat, to, text, len, uk_now_ns());

	if (rc < 0)
		a->not_sent++;
	if (rc == -ENOSPC)
		chat_info(a, "error",
			  _("NOT sent: %zu messages are still waiting for receipts; try again"),
			  uk_chat_pending(&a->chat));
	else if (rc == -EINVAL)
		chat_info(a, "error", _("NOT sent: that is this chat itself"));
	else if (rc < 0)
		chat_info(a, "error", _("NOT sent: %s"), _(uk_strerror(rc)));
}

static void cmd_file(struct app *a, char *arg, bool all);

static void cmd_all(struct app *a, char *text)
{
	size_t n = 0;

	/* "/all /file ...": one offer to each IPMsg peer. */
	if (strncmp(text, "/file", 5) == 0 && (text[5] == ' ' || !text[5])) {
		cmd_file(a, text + 5 + (text[5] == ' '), true);
		return;
	}

	if (!*text) {
		chat_info(a, "error", _("usage: /all TEXT"));
		return;
	}
	/* Copy the addresses first: sending can change the table. */
	struct uk_addr *to = calloc(a->chat.roster.cap, sizeof(*to));
	if (!to)
		return;
	for (size_t i = 0; i < a->chat.roster.cap; i++)
		if (a->chat.roster.peers[i].used)
			to[n++] = a->chat.roster.peers[i].addr;
	if (!n) {
		a->not_sent++;
		chat_info(a, "error", _("no peers known yet"));
	}
	for (size_t i = 0; i < n; i++)
		send_text(a, &to[i], text, strlen(text));
	free(to);
}

static void cmd_history(struct app *a, const char *arg)
{
	uint64_t n = 20;

	if (a->o.no_history) {
		chat_info(a, "error", _("no history kept (--no-history)"));
		return;
	}
	/* No argument: the last 20; a number: that many; else a search. */
	if (!*arg || uk_parse_u64(arg, 1, 100, &n) == 0)
		chat_history_show(a, (size_t)n, NULL);
	else
		chat_history_show(a, 20, arg);
}

/* /file PATH... [-- TEXT]: words split at spaces, "..." keeps spaces;
 * all: from "/all /file", to every IPMsg peer known. */
static void cmd_file(struct app *a, char *arg, bool all)
{
	char *paths[16], *text = NULL;
	size_t n = 0;

	while (*arg && n < 16) {
		char *w = arg, *end;
		if (*arg == '"') {
			w = ++arg;
			end = strchr(arg, '"');
		} else {
			end = strchr(arg, ' ');
		}
		if (end)
			*end++ = 0;
		arg = end ? end : arg + strlen(arg);
		while (*arg == ' ')
			arg++;
		if (strcmp(w, "--") == 0) {
			text = arg;
			break;
		}
		if (*w)
			paths[n++] = w;
	}
	if (!n) {
		chat_info(a, "error", _("usage: /file PATH... [-- TEXT]"));
		return;
	}
	if (all) {
		files_offer_all(a, paths, n, text);
		return;
	}
	if (!a->has_target) {
		chat_info(a, "error", _("no target yet: /to HOST [PORT] or /to NICK"));
		return;
	}
	files_offer(a, &a->target, paths, n, text, false);
}

/* /accept [N] [DIR] and /decline [N]. */
static void cmd_offer(struct app *a, char *arg, bool accept)
{
	uint64_t num = 0;
	char *rest = arg;

	if (*arg >= '0' && *arg <= '9') {
		rest = strchr(arg, ' ');
		if (rest)
			*rest++ = 0;
		if (uk_parse_u64(arg, 1, UINT32_MAX, &num) < 0) {
			chat_info(a, "error", _("usage: /%s [N]%s"), accept ? "accept" : "decline",
				  accept ? " [DIR]" : "");
			return;
		}
		rest = rest ? rest : arg + strlen(arg);
		while (*rest == ' ')
			rest++;
	}
	if (accept)
		files_accept(a, (unsigned)num, rest);
	else
		files_decline(a, (unsigned)num);
}

void chat_handle_line(struct app *a, char *line, size_t len)
{
	char *arg;

	if (len == 0)
		return;
	if (line[0] != '/' || (len > 1 && line[1] == '/')) {
		const char *text = line[0] == '/' ? line + 1 : line;
		size_t tl = line[0] == '/' ? len - 1 : len;
		if (!a->has_target) {
			a->not_sent++;
			chat_info(
			    a, "error",
			    _("NOT sent: no target yet: /to HOST [PORT] or /to NICK (/help)"));
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
			chat_info(a, "error", _("usage: /nick NAME"));
			return;
		}
		uk_chat_set_nick(&a->chat, arg, uk_now_ns());
		snprintf(a->nick, sizeof(a->nick), "%s", a->chat.id.nick);
		chat_info(a, "info", _("you are now %s"), a->nick);
	} else if (strcmp(line, "/away") == 0) {
		uk_chat_set_away(&a->chat, *arg != 0, arg, uk_now_ns());
		if (*arg)
			chat_info(a, "info", _("you are away: %s"), a->chat.away_text);
		else
			chat_info(a, "info", _("you are back"));
	} else if (strcmp(line, "/history") == 0)
		cmd_history(a, arg);
	else if (strcmp(line, "/file") == 0)
		cmd_file(a, arg, false);
	else if (strcmp(line, "/accept") == 0)
		cmd_offer(a, arg, true);
	else if (strcmp(line, "/decline") == 0)
		cmd_offer(a, arg, false);
	else if (strcmp(line, "/help") == 0)
		cmd_help(a);
	else if (strcmp(line, "/quit") == 0)
		a->quit = true;
	else
		chat_info(a, "error", _("unknown command (/help lists them; // sends a /)"));
	chat_status(a);
}

void chat_on_submit(void *user, const char *line)
{
	struct app *a = user;
	size_t len = strlen(line);
	char *copy = malloc(len + 1);

	if (!copy)
		return;
	memcpy(copy, line, len + 1);
	chat_handle_line(a, copy, len);
	free(copy);
}

/* ---- line-mode input --------------------------------------------------------- */
