/* Fuzz target: the chat's output formatting (cmd/chat/show.c), fed the
 * events the protocol engine hands it, with the nick, group, user, host and
 * text a hostile peer chooses. Line mode (what scripts parse) and the
 * terminal UI's lines are both checked: every event is exactly the lines
 * it should be, with exactly the tab-separated fields of its kind (a nick
 * or text can never add a field or a line), and no byte a terminal would
 * act on: no control but the field tabs, no DEL, valid UTF-8 without C1
 * controls or bidi overrides.
 *
 * Input: byte 0 = event kind (bits 0-2), TUI mode (bit 3), receipt/ipmsg
 * (bit 4), a cut message (bit 5), the peer's address (bits 6-7); bytes 1-8
 * = packet number; then nick, text, group, user, host separated by NUL.
 * The UI itself is not linked: uk_tui_add_line/uk_tui_set_status below
 * catch what show.c would draw. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/app.h"
#include "chat/files.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the UI was given: lines, each ending in '\n' here. */
static char *ui_buf;
static size_t ui_len, ui_cap;

void uk_tui_add_line(struct uk_tui *t, const char *safe_utf8)
{
	size_t n = strlen(safe_utf8);
	(void)t;
	if (ui_len + n + 2 > ui_cap) {
		ui_cap = (ui_len + n + 2) * 2;
		ui_buf = realloc(ui_buf, ui_cap);
		if (!ui_buf)
			abort();
	}
	memcpy(ui_buf + ui_len, safe_utf8, n + 1);
	ui_len += n;
	ui_buf[ui_len++] = '\n'; /* over the NUL */
}

/* The file layer (files*.c, its sockets) is not linked: offers stop here. */
void files_on_offer(struct app *a, const struct uk_chat_event *ev)
{
	(void)a;
	(void)ev;
}

void files_on_released(struct app *a, const struct uk_chat_event *ev)
{
	(void)a;
	(void)ev;
}

/* The tone is the UI's colour, from the line's mark: the text is the same. */
void uk_tui_add_line_tone(struct uk_tui *t, const char *safe_utf8, enum uk_tui_tone tone)
{
	if (tone != chat_tone(safe_utf8))
		abort();
	uk_tui_add_line(t, safe_utf8);
}

void uk_tui_set_status(struct uk_tui *t, const char *safe_utf8)
{
	(void)t;
	/* The status line is one line: nothing may break it. */
	for (const char *p = safe_utf8; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort();
}

/* The checks are not instrumented: they are much of the work of each run
 * and their branches are no coverage of the code under test. */
#define MODEL __attribute__((no_sanitize("coverage"), noinline))

/* Lines that are safe for a terminal; returns how many, and the fields
 * (tab count + 1) of each in tabs[] (at most 4 lines). */
MODEL static size_t check_lines(const char *p, size_t n, bool tabs_allowed, size_t tabs[4])
{
	size_t lines = 0, t = 0;

	if (n && p[n - 1] != '\n')
		abort(); /* every line is whole */
	if (!uk_utf8_valid(p, n))
		abort();
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t k = uk_utf8_decode((const unsigned char *)p + i, n - i, &cp);
		if (k == 0)
			abort();
		if (cp == '\n') {
			if (lines < 4)
				tabs[lines] = t;
			lines++;
			t = 0;
		} else if (cp == '\t') {
			if (!tabs_allowed)
				abort();
			t++;
		} else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) ||
			   (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069)) {
			abort();
		}
		i += k;
	}
	return lines;
}

static const char *field(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *s = *p, *z = memchr(s, 0, (size_t)(end - s));
	if (!z)
		z = end;
	*p = z < end ? z + 1 : end;
	return (const char *)s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const peers[4] = {"127.0.0.1:2425", "[::1]:2425", "10.1.2.3:9",
					     "[fe80::1%1]:2425"};
	static const char *const reasons[3] = {"no receipt after 16 tries", "quit", "timed out"};
	static struct app a;
	static struct uk_peer peer;
	struct uk_chat_event ev;
	char *copy, *out = NULL;
	const uint8_t *p, *end;
	size_t out_len = 0, lines, tabs[4] = {0}, want_lines = 1;
	FILE *saved = stdout;
	bool tui;
	long want_tabs = -1;
	uint64_t id = 0;

	if (size < 9)
		return 0;
	copy = malloc(size + 1); /* fields are NUL-terminated in the copy */
	if (!copy)
		abort();
	memcpy(copy, data, size);
	copy[size] = 0;
	p = (const uint8_t *)copy + 9;
	end = (const uint8_t *)copy + size;
	for (int i = 1; i <= 8; i++)
		id = id << 8 | data[i];

	memset(&a, 0, sizeof(a));
	tui = (data[0] & 8) != 0;
	a.tui = tui ? (struct uk_tui *)&a : NULL; /* never dereferenced: the stubs */
	a.o.no_history = true;
	memset(&ev, 0, sizeof(ev));
	ev.kind = (enum uk_chat_event_kind)(data[0] & 7);
	if (uk_addr_parse_hostport_flags(&ev.peer, peers[data[0] >> 6], 0, AF_UNSPEC,
					 UK_ADDR_NUMERIC) < 0)
		abort();
	ev.msg_id = id;
	ev.nick = field(&p, end);
	ev.text = field(&p, end);
	ev.len = strlen(ev.text);
	ev.receipt = ev.ipmsg = (data[0] & 16) != 0;
	ev.cut_bytes = (data[0] & 32) ? 100 : 0;
	ev.tries = (unsigned)(id & 31);
	ev.rtt_ns = id >> 8;
	ev.reason = reasons[id % 3];
	memset(&peer, 0, sizeof(peer));
	peer.addr = ev.peer;
	snprintf(peer.nick, sizeof(peer.nick), "%s", ev.nick);
	snprintf(peer.group, sizeof(peer.group), "%s", field(&p, end));
	snprintf(peer.user, sizeof(peer.user), "%s", field(&p, end));
	snprintf(peer.host, sizeof(peer.host), "%s", field(&p, end));
	peer.ipmsg = ev.ipmsg;
	ev.info = &peer;

	switch (ev.kind) {
	case UK_CHAT_RECV:
	case UK_CHAT_SENT:
	case UK_CHAT_UNDELIVERED:
		want_tabs = 4;
		want_lines += ev.kind == UK_CHAT_RECV && ev.cut_bytes;
		break;
	case UK_CHAT_DELIVERED:
	case UK_CHAT_JOINED:
	case UK_CHAT_CHANGED:
		want_tabs = 5;
		break;
	case UK_CHAT_LEFT:
		want_tabs = 6;
		break;
	default:
		free(copy);
		return 0;
	}

	ui_len = 0;
	stdout = open_memstream(&out, &out_len);
	if (!stdout)
		abort();
	chat_on_event(&a, &ev);
	if (fclose(stdout) != 0)
		abort();
	stdout = saved;

	if (tui) {
		if (out_len != 0)
			abort(); /* the UI mode never writes to stdout */
		lines = check_lines(ui_buf, ui_len, false, tabs);
	} else {
		lines = check_lines(out, out_len, true, tabs);
		if ((long)tabs[0] != want_tabs)
			abort();
		if (want_lines == 2 && tabs[1] != 1)
			abort(); /* "info\t..." */
	}
	if (lines != want_lines)
		abort();
	free(out);
	free(copy);
	return 0;
}
