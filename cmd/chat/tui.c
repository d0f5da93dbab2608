/* tui.c: the chat's terminal UI (see tui.h). ncursesw draws three windows:
 * the message pane, the status line and the input line; GNU readline edits
 * the input line in callback mode, reading the bytes we give it and drawing
 * through our redisplay function, so it never writes to the terminal
 * itself. Text is laid out by display width (wcwidth), so Chinese and other
 * wide characters take two columns and are never split across rows. */
#include <errno.h>
#include <langinfo.h>
#include <libintl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#include <wchar.h>
#include <wctype.h>

#include <curses.h>
#include <readline/history.h>
#include <readline/readline.h>

#include "chat/tui.h"
#include "udpkit/text.h"

#define SCROLLBACK_LINES 2000
/* The scrollback's text in bytes at most, too: 2,000 lines of 4,000
 * characters would be 32 MB (2,500 messages of 16 KiB took the RSS from 5
 * to 56 MB). 4 MiB keeps 2,000 lines of 500 characters, or 256 of the
 * longest. */
#define SCROLLBACK_BYTES (4u << 20)
#define LINE_MAX_CHARS 4000   /* a longer message line is cut, with a mark */
#define PASTE_MAX_BYTES 65536 /* a longer paste is cut: one message at most */
#define INPUT_HISTORY 500
#define PROMPT "> "

static const char paste_start[] = "\x1b[200~";
static const char paste_end[] = "\x1b[201~";

struct pane_line {
	wchar_t *text;
	size_t len;
	/* Rows it takes in a pane rows_cols wide: laid out once per width, so
	 * a new line never re-lays out the scrollback (issue 10, attack 6). */
	size_t rows;
	int rows_cols;
	short pair; /* colour pair (its tone), 0: none */
};

struct uk_tui {
	SCREEN *screen;
	WINDOW *pane, *status, *input;
	int rows, cols, pane_rows;
	uk_tui_submit_cb on_submit;
	void *user;

	/* The message pane: a ring of lines, newest at (first + count - 1). */
	struct pane_line lines[SCROLLBACK_LINES];
	size_t first, count;
	size_t bytes;	    /* of the lines' text, at most SCROLLBACK_BYTES */
	size_t total_rows;  /* of all lines, valid when total_cols == cols */
	int total_cols;	    /* 0: total_rows must be summed again */
	size_t scroll_rows; /* rows scrolled back from the bottom; 0: following */
	bool dirty;	    /* pane or status changed since the last repaint */

	wchar_t *status_text;
	bool color;

	/* Bytes read from the terminal for readline, and the paste catcher. */
	unsigned char *queue;
	size_t q_head, q_len, q_cap;
	size_t start_matched, end_matched;
	bool pasting;
	char *paste;
	size_t paste_len;

	size_t hscroll; /* input line: first column shown */
	FILE *devnull;
	bool eof;
};

/* readline is one per process and its hooks take no argument. */
static struct uk_tui *g_tui;

/* ---- text layout ---------------------------------------------------------- */

/* UTF-8 to wide characters that are safe to draw: anything the terminal
 * would take as a control, or that has no width, becomes '?'. The caller
 * frees. Newlines split lines for the pane and never reach here. */
static wchar_t *to_wide(const char *s, size_t n, size_t max_chars, size_t *out_len)
{
	wchar_t *w = malloc((n + 2) * sizeof(*w));
	mbstate_t st;
	size_t i = 0, o = 0;

	if (!w)
		return NULL;
	memset(&st, 0, sizeof(st));
	while (i < n && o < max_chars) {
		wchar_t c;
		size_t k = mbrtowc(&c, s + i, n - i, &st);
		if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
			memset(&st, 0, sizeof(st));
			c = L'?';
			k = 1;
		} else if (!iswprint((wint_t)c) || wcwidth(c) < 0) {
			c = L'?';
		}
		w[o++] = c;
		i += k;
	}
	if (i < n)
		w[o++] = L'\x2026'; /* "…": the line was cut */
	w[o] = L'\0';
	*out_len = o;
	return w;
}

static int char_width(wchar_t c)
{
	int w = wcwidth(c);
	return w < 0 ? 1 : w;
}

/* The end (exclusive) of the row that starts at text[start] in a pane cols
 * wide: as many characters as fit by display width, a wide character that
 * would straddle the edge going to the next row. Always at least one. */
static size_t row_end(const wchar_t *text, size_t len, size_t start, int cols)
{
	int used = 0;
	size_t i = start;

	while (i < len) {
		int w = char_width(text[i]);
		if (used + w > cols && i > start)
			break;
		used += w;
		i++;
	}
	/* Zero-width characters (combining marks) stay with their base. */
	while (i < len && wcwidth(text[i]) == 0)
		i++;
	return i;
}

static size_t rows_of(const struct pane_line *l, int cols)
{
	size_t rows = 0, i = 0;
	if (l->len == 0)
		return 1;
	while (i < l->len) {
		i = row_end(l->text, l->len, i, cols);
		rows++;
	}
	return rows;
}

/* The line's rows at the current width, laid out at most once per width. */
static size_t line_rows(const struct uk_tui *t, struct pane_line *l)
{
	if (l->rows_cols != t->cols) {
		l->rows = rows_of(l, t->cols);
		l->rows_cols = t->cols;
	}
	return l->rows;
}

static struct pane_line *line_at(struct uk_tui *t, size_t k)
{
	return &t->lines[(t->first + k) % SCROLLBACK_LINES];
}

/* Rows of the whole scrollback: summed again only after a resize. */
static size_t total_rows(struct uk_tui *t)
{
	if (t->total_cols != t->cols) {
		t->total_rows = 0;
		for (size_t k = 0; k < t->count; k++)
			t->total_rows += line_rows(t, line_at(t, k));
		t->total_cols = t->cols;
	}
	return t->total_rows;
}

/* Drops the oldest line (the scrollback is full, by lines or bytes). */
static void drop_oldest_line(struct uk_tui *t)
{
	struct pane_line *l = line_at(t, 0);

	if (t->total_cols == t->cols)
		t->total_rows -= line_rows(t, l);
	t->bytes -= (l->len + 1) * sizeof(wchar_t);
	free(l->text);
	t->first = (t->first + 1) % SCROLLBACK_LINES;
	t->count--;
}

/* ---- drawing ----------------------------------------------------------------- */

static void draw_pane(struct uk_tui *t)
{
	size_t skip, placed = 0, room = (size_t)t->pane_rows;

	if (!t->pane)
		return;
	/* Scrolled back: never past the point where the oldest line is on top. */
	if (t->scroll_rows > 0) {
		size_t total = total_rows(t);
		if (t->scroll_rows > (total > room ? total - room : 0))
			t->scroll_rows = total > room ? total - room : 0;
	}
	skip = t->scroll_rows;
	werase(t->pane);
	/* Walk back from the newest line. Its row b (0 = its last row) goes
	 * on screen when it is past the rows skipped and within the room left. */
	for (size_t k = t->count; k-- > 0 && placed < room;) {
		struct pane_line *l = line_at(t, k);
		size_t nrows = line_rows(t, l), start = 0, shown;
		/* Below the view: skipped whole, from its cached row count. */
		if (nrows <= skip) {
			skip -= nrows;
			continue;
		}
		for (size_t r = 0; r < nrows; r++) {
			size_t end = l->len ? row_end(l->text, l->len, start, t->cols) : 0;
			size_t b = nrows - 1 - r;
			if (b >= skip && b - skip < room - placed) {
				int y = t->pane_rows - 1 - (int)(placed + b - skip);
				wmove(t->pane, y, 0);
				if (t->color && l->pair)
					wattron(t->pane, COLOR_PAIR(l->pair));
				waddnwstr(t->pane, l->text + start, (int)(end - start));
				if (t->color && l->pair)
					wattroff(t->pane, COLOR_PAIR(l->pair));
			}
			start = end;
		}
		shown = nrows - skip;
		placed += shown < room - placed ? shown : room - placed;
		skip = 0;
	}
	wnoutrefresh(t->pane);
}

static void draw_status(struct uk_tui *t)
{
	wchar_t scrolled[64];
	/* gettext itself, not _(): the test tools link this file alone */
	size_t n = mbstowcs(scrolled, gettext(" [scrolled back: PgDn]"), 63);
	int used = 0, scrolled_width = 0;

	if (!t->status)
		return;
	werase(t->status);
	wmove(t->status, 0, 0);
	for (const wchar_t *p = t->status_text; p && *p; p++) {
		int w = char_width(*p);
		if (used + w > t->cols)
			break;
		waddnwstr(t->status, p, 1);
		used += w;
	}
	scrolled[n == (size_t)-1 ? 0 : n] = L'\0'; /* a catalogue not in our charset: none */
	for (const wchar_t *p = scrolled; *p; p++)
		scrolled_width += char_width(*p);
	if (t->scroll_rows > 0 && used + scrolled_width <= t->cols)
		waddwstr(t->status, scrolled);
	/* The rest of the bar in reverse video too. */
	wbkgd(t->status, A_REVERSE);
	wnoutrefresh(t->status);
}

/* One cell of the input line: a character of the prompt or the buffer. */
struct cell {
	size_t byte;   /* offset in rl_line_buffer, or SIZE_MAX for the prompt */
	wchar_t wc[8]; /* what to draw: the character, or its escape */
	int width;
};

/* Splits prompt + line into cells. Characters that are not printable
 * (a newline from a paste, a tab) are shown escaped, as "\n". */
static size_t input_cells(const char *prompt, const char *line, size_t len, struct cell *cells,
			  size_t cap)
{
	size_t n = 0;
	for (int part = 0; part < 2; part++) {
		const char *s = part ? line : prompt;
		size_t slen = part ? len : strlen(prompt), i = 0;
		mbstate_t st;
		memset(&st, 0, sizeof(st));
		while (i < slen && n < cap) {
			struct cell *c = &cells[n++];
			wchar_t wc;
			size_t k = mbrtowc(&wc, s + i, slen - i, &st);
			c->byte = part ? i : SIZE_MAX;
			if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
				memset(&st, 0, sizeof(st));
				k = 1;
				wc = 0;
			}
			if (wc && iswprint((wint_t)wc) && wcwidth(wc) >= 0) {
				c->wc[0] = wc;
				c->wc[1] = L'\0';
				c->width = wcwidth(wc);
			} else {
				/* ASCII only: "\n", "\x01", "\u2028", "\xff". */
				char esc[16];
				int m, j;
				if (wc == 0 || wc >= 0x80)
					m = wc ? snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)wc)
					       : snprintf(esc, sizeof(esc), "\\x%02x",
							  (unsigned char)s[i]);
				else
					m = uk_text_escape(s + i, 1, esc, sizeof(esc));
				for (j = 0; j < m && j < 7; j++)
					c->wc[j] = (wchar_t)(unsigned char)esc[j];
				c->wc[j] = L'\0';
				c->width = j;
			}
			i += k;
		}
	}
	return n;
}

static void draw_input(struct uk_tui *t)
{
	const char *prompt = rl_display_prompt ? rl_display_prompt : PROMPT;
	size_t len = rl_line_buffer ? (size_t)rl_end : 0, cap = len + strlen(prompt) + 1, n;
	struct cell *cells = malloc(cap * sizeof(*cells));
	size_t cursor_col = 0, col = 0;
	bool cursor_set = false;

	if (!t->input || !cells) {
		free(cells);
		return;
	}
	n = input_cells(prompt, rl_line_buffer ? rl_line_buffer : "", len, cells, cap);
	for (size_t i = 0; i < n; i++) {
		if (!cursor_set && cells[i].byte != SIZE_MAX && cells[i].byte >= (size_t)rl_point) {
			cursor_col = col;
			cursor_set = true;
		}
		col += (size_t)cells[i].width;
	}
	if (!cursor_set)
		cursor_col = col;
	/* Scroll sideways to keep the cursor in view. */
	if (cursor_col < t->hscroll)
		t->hscroll = cursor_col;
	if (cursor_col >= t->hscroll + (size_t)t->cols)
		t->hscroll = cursor_col - (size_t)t->cols + 1;
	werase(t->input);
	col = 0;
	for (size_t i = 0; i < n; i++) {
		size_t w = (size_t)cells[i].width;
		if (col >= t->hscroll && col + w <= t->hscroll + (size_t)t->cols)
			mvwaddwstr(t->input, 0, (int)(col - t->hscroll), cells[i].wc);
		col += w;
	}
	wmove(t->input, 0, (int)(cursor_col - t->hscroll));
	wnoutrefresh(t->input);
	free(cells);
}

/* The input window is refreshed last, so the cursor ends up in it. */
static void repaint(struct uk_tui *t)
{
	t->dirty = false;
	draw_pane(t);
	draw_status(t);
	draw_input(t);
	doupdate();
}

static void layout(struct uk_tui *t)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
		resizeterm(ws.ws_row, ws.ws_col);
	t->rows = LINES;
	t->cols = COLS > 0 ? COLS : 1;
	if (t->pane)
		delwin(t->pane);
	if (t->status)
		delwin(t->status);
	if (t->input)
		delwin(t->input);
	t->pane = t->status = t->input = NULL;
	t->pane_rows = t->rows >= 3 ? t->rows - 2 : 0;
	if (t->pane_rows > 0)
		t->pane = newwin(t->pane_rows, t->cols, 0, 0);
	if (t->rows >= 2)
		t->status = newwin(1, t->cols, t->rows - 2, 0);
	t->input = newwin(1, t->cols, t->rows > 0 ? t->rows - 1 : 0, 0);
	if (t->pane)
		leaveok(t->pane, TRUE);
	if (t->status)
		leaveok(t->status, TRUE);
	t->hscroll = 0;
	t->dirty = true;
	clearok(curscr, TRUE);
}

/* ---- readline glue ------------------------------------------------------------ */

static void rl_redisplay_hook(void)
{
	if (g_tui) {
		draw_input(g_tui);
		doupdate();
	}
}

static void rl_prep_noop(int meta)
{
	(void)meta;
}

static void rl_deprep_noop(void)
{
}

static void queue_push(struct uk_tui *t, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (t->q_head > 0 && t->q_head == t->q_len)
		t->q_head = t->q_len = 0;
	if (t->q_len + n > t->q_cap) {
		size_t want = t->q_cap ? t->q_cap : 4096;
		unsigned char *grown;
		while (want < t->q_len + n)
			want *= 2;
		grown = realloc(t->queue, want);
		if (!grown)
			return; /* out of memory: the keystrokes are dropped */
		t->queue = grown;
		t->q_cap = want;
	}
	memcpy(t->queue + t->q_len, p, n);
	t->q_len += n;
}

static void paste_done(struct uk_tui *t)
{
	size_t o = 0;

	/* Terminals send Enter as CR and tmux turns LF into CR: a line break
	 * in a paste is '\n' in the message, and trailing ones are dropped. */
	for (size_t i = 0; i < t->paste_len; i++) {
		char c = t->paste[i];
		if (c == '\r' && i + 1 < t->paste_len && t->paste[i + 1] == '\n')
			continue;
		t->paste[o++] = c;
		if (c == '\r')
			t->paste[o - 1] = '\n';
	}
	while (o > 0 && t->paste[o - 1] == '\n')
		o--;
	t->paste[o] = '\0';
	if (o > 0) {
		rl_insert_text(t->paste);
		rl_redisplay_hook();
	}
	t->paste_len = 0;
}

static void paste_push(struct uk_tui *t, const char *p, size_t n)
{
	if (t->paste_len + n > PASTE_MAX_BYTES)
		n = PASTE_MAX_BYTES - t->paste_len;
	memcpy(t->paste + t->paste_len, p, n);
	t->paste_len += n;
}

/* Bytes from the terminal: a bracketed paste (ESC [200~ ... ESC [201~) is
 * caught here and inserted as one piece of text, newlines included, so
 * that its lines are not submitted one by one; the rest goes to readline.
 * A partial marker is held until the next byte tells what it is. */
static void feed(struct uk_tui *t, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = (char)p[i];
		if (t->pasting) {
			if (c == paste_end[t->end_matched]) {
				if (++t->end_matched == sizeof(paste_end) - 1) {
					t->pasting = false;
					t->end_matched = 0;
					paste_done(t);
				}
				continue;
			}
			paste_push(t, paste_end, t->end_matched);
			t->end_matched = c == paste_end[0] ? 1 : 0;
			if (!t->end_matched)
				paste_push(t, &c, 1);
			continue;
		}
		if (c == paste_start[t->start_matched]) {
			if (++t->start_matched == sizeof(paste_start) - 1) {
				t->pasting = true;
				t->start_matched = 0;
				t->paste_len = 0;
			}
			continue;
		}
		queue_push(t, paste_start, t->start_matched);
		t->start_matched = c == paste_start[0] ? 1 : 0;
		if (!t->start_matched)
			queue_push(t, &c, 1);
	}
}

/* Reads what the terminal has. Returns bytes read,
 * 0 at end of input, -1 when nothing came (EAGAIN, a signal). */
static ssize_t fill(struct uk_tui *t)
{
	unsigned char buf[4096];
	ssize_t n;

	/* One read(): after poll() said readable it does not block. */
	n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n < 0)
		return -1;
	if (n == 0) {
		t->eof = true;
		return 0;
	}
	feed(t, buf, (size_t)n);
	return n;
}

static int rl_getc_hook(FILE *f)
{
	struct uk_tui *t = g_tui;
	(void)f;

	/* Readline asks for the next byte of a key sequence it has begun:
	 * wait for it (the rest of a sequence arrives at once). */
	while (t && t->q_head == t->q_len) {
		if (t->eof)
			return EOF;
		if (fill(t) < 0 && errno != EINTR && errno != EAGAIN)
			return EOF;
	}
	return t ? t->queue[t->q_head++] : EOF;
}

static int rl_input_available_hook_fn(void)
{
	return g_tui && g_tui->q_head < g_tui->q_len;
}

static void on_line(char *line)
{
	struct uk_tui *t = g_tui;

	if (!line) {
		/* Ctrl-D on an empty line: leave, as the command would. */
		t->eof = true;
		t->on_submit(t->user, "/quit");
		return;
	}
	if (line[0]) {
		add_history(line);
		t->on_submit(t->user, line);
	}
	free(line);
	t->hscroll = 0;
}

static int key_page_up(int count, int key)
{
	struct uk_tui *t = g_tui;
	(void)count;
	(void)key;
	t->scroll_rows += t->pane_rows > 1 ? (size_t)t->pane_rows - 1 : 1;
	repaint(t);
	return 0;
}

static int key_page_down(int count, int key)
{
	struct uk_tui *t = g_tui;
	size_t page = t->pane_rows > 1 ? (size_t)t->pane_rows - 1 : 1;
	(void)count;
	(void)key;
	t->scroll_rows = t->scroll_rows > page ? t->scroll_rows - page : 0;
	repaint(t);
	return 0;
}

static int key_redraw(int count, int key)
{
	(void)count;
	(void)key;
	clearok(curscr, TRUE);
	repaint(g_tui);
	return 0;
}

/* ---- the contract --------------------------------------------------------------- */

static void term_write(const char *s)
{
	size_t n = strlen(s);
	while (n > 0) {
		ssize_t w = write(STDOUT_FILENO, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

struct uk_tui *uk_tui_open(uk_tui_submit_cb on_submit, void *user)
{
	struct uk_tui *t;
	const char *term = getenv("TERM");

	if (g_tui || !isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO) || !term || !*term ||
	    strcmp(term, "dumb") == 0)
		return NULL;
	/* Wide characters need a UTF-8 LC_CTYPE: the user's, else C.UTF-8.
	 * Only LC_CTYPE: numbers the chat parses or prints stay in "C". */
	if (!setlocale(LC_CTYPE, "") || strcmp(nl_langinfo(CODESET), "UTF-8") != 0)
		(void)setlocale(LC_CTYPE, "C.UTF-8"); /* if missing: to_wide shows '?' */
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->paste = malloc(PASTE_MAX_BYTES + 1);
	t->devnull = fopen("/dev/null", "w");
	if (!t->paste || !t->devnull)
		goto fail;
	t->on_submit = on_submit;
	t->user = user;
	t->screen = newterm(NULL, stdout, stdin);
	if (!t->screen)
		goto fail;
	set_term(t->screen);
	cbreak();
	noecho();
	nonl();
	layout(t);
	g_tui = t;

	/* Readline edits, we draw: it must not touch the terminal itself. */
	rl_readline_name = "udpkit";
	rl_instream = stdin;
	rl_outstream = t->devnull;
	rl_catch_signals = 0;
	rl_catch_sigwinch = 0;
	rl_change_environment = 0;
	rl_prep_term_function = rl_prep_noop;
	rl_deprep_term_function = rl_deprep_noop;
	rl_getc_function = rl_getc_hook;
	rl_input_available_hook = rl_input_available_hook_fn;
	rl_redisplay_function = rl_redisplay_hook;
	rl_inhibit_completion = 1; /* Tab inserts itself; no listing on screen */
	stifle_history(INPUT_HISTORY);
	rl_callback_handler_install(PROMPT, on_line);
	/* Readline re-reads the locale from the environment as it starts: if
	 * that is not UTF-8, put ours back and take bytes >= 0x80 as text. */
	if (strcmp(nl_langinfo(CODESET), "UTF-8") != 0 && setlocale(LC_CTYPE, "C.UTF-8")) {
		rl_variable_bind("input-meta", "on");
		rl_variable_bind("output-meta", "on");
		rl_variable_bind("convert-meta", "off");
	}
	rl_bind_keyseq("\\e[5~", key_page_up);
	rl_bind_keyseq("\\e[6~", key_page_down);
	rl_bind_key('L' & 0x1f, key_redraw);
	/* Bracketed paste: the terminal marks pasted text (xterm's ?2004). */
	term_write("\x1b[?2004h");
	repaint(t);
	return t;
fail:
	if (t->devnull)
		(void)fclose(t->devnull); /* /dev/null: nothing was written */
	free(t->paste);
	free(t);
	return NULL;
}

int uk_tui_fd(const struct uk_tui *t)
{
	(void)t;
	return STDIN_FILENO;
}

void uk_tui_on_readable(struct uk_tui *t)
{
	if (!t || t->eof)
		return;
	if (fill(t) == 0) {
		/* The terminal went away: leave, as Ctrl-D would. */
		t->on_submit(t->user, "/quit");
		return;
	}
	while (t->q_head < t->q_len && !t->eof)
		rl_callback_read_char();
}

void uk_tui_set_color(struct uk_tui *t, bool on)
{
	if (!t || !on || !has_colors() || start_color() == ERR)
		return;
	use_default_colors();
	init_pair(UK_TUI_GOOD, COLOR_GREEN, -1);
	init_pair(UK_TUI_BAD, COLOR_RED, -1);
	t->color = true;
	t->dirty = true;
}

/* Appends one pane line: O(its length), whatever the scrollback holds. */
static void append_line(struct uk_tui *t, const char *p, size_t n, enum uk_tui_tone tone)
{
	struct pane_line l = {0};
	size_t rows, bytes;

	l.text = to_wide(p, n, LINE_MAX_CHARS, &l.len);
	if (!l.text)
		return;
	l.pair = (short)tone;
	bytes = (l.len + 1) * sizeof(wchar_t);
	while (t->count == SCROLLBACK_LINES || (t->count && t->bytes + bytes > SCROLLBACK_BYTES))
		drop_oldest_line(t);
	rows = line_rows(t, &l);
	*line_at(t, t->count) = l;
	t->count++;
	t->bytes += bytes;
	if (t->total_cols == t->cols)
		t->total_rows += rows;
	/* Scrolled back: keep the view still while lines arrive. */
	if (t->scroll_rows > 0)
		t->scroll_rows += rows;
}

void uk_tui_add_line(struct uk_tui *t, const char *safe_utf8)
{
	uk_tui_add_line_tone(t, safe_utf8, UK_TUI_PLAIN);
}

void uk_tui_add_line_tone(struct uk_tui *t, const char *safe_utf8, enum uk_tui_tone tone)
{
	const char *p = safe_utf8;

	if (!t || !p)
		return;
	/* One pane line per '\n'-separated piece (e.g. a help text). */
	for (;;) {
		const char *nl = strchr(p, '\n');
		append_line(t, p, nl ? (size_t)(nl - p) : strlen(p), tone);
		if (!nl)
			break;
		p = nl + 1;
	}
	t->dirty = true;
}

void uk_tui_refresh(struct uk_tui *t)
{
	if (t && t->dirty)
		repaint(t);
}

void uk_tui_set_status(struct uk_tui *t, const char *safe_utf8)
{
	size_t len;
	wchar_t *w;

	if (!t || !safe_utf8)
		return;
	w = to_wide(safe_utf8, strcspn(safe_utf8, "\n"), LINE_MAX_CHARS, &len);
	if (!w)
		return;
	free(t->status_text);
	t->status_text = w;
	t->dirty = true;
}

void uk_tui_resize(struct uk_tui *t)
{
	if (!t)
		return;
	layout(t);
	repaint(t);
}

void uk_tui_close(struct uk_tui *t)
{
	if (!t)
		return;
	rl_callback_handler_remove();
	term_write("\x1b[?2004l");
	if (t->pane)
		delwin(t->pane);
	if (t->status)
		delwin(t->status);
	if (t->input)
		delwin(t->input);
	endwin();
	delscreen(t->screen);
	rl_outstream = stdout;
	rl_getc_function = rl_getc;
	rl_redisplay_function = rl_redisplay;
	rl_input_available_hook = NULL;
	g_tui = NULL;
	for (size_t k = 0; k < t->count; k++)
		free(t->lines[(t->first + k) % SCROLLBACK_LINES].text);
	free(t->status_text);
	free(t->queue);
	free(t->paste);
	(void)fclose(t->devnull); /* readline's output: nothing to lose */
	free(t);
}
