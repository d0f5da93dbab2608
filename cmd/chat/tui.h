/* tui.h: the chat's terminal UI (ncursesw, wide characters): a scrolling
 * message pane with scrollback, a status line, and an input line with line
 * editing and history (GNU readline in callback mode) that incoming
 * messages never overwrite. Bracketed paste: a pasted block with newlines
 * becomes one message, not one message per line.
 *
 * CONTRACT between the chat's event loop (cmd/chat/main.c) and the UI
 * (cmd/chat/tui.c). The UI never touches the network; it is driven from
 * the loop: poll uk_tui_fd() and call uk_tui_on_readable(); after SIGWINCH
 * call uk_tui_resize(); call uk_tui_refresh() before each wait. Everything passed in for display
 * must already be safe (escaped with uk_text_escape); the UI lays it out by display width. */
#ifndef UDPKIT_CHAT_TUI_H
#define UDPKIT_CHAT_TUI_H

#include <stdbool.h>

struct uk_tui;

/* Called with each line the user submitted (UTF-8, may hold '\n' from a
 * paste). The chat decides whether it is a command or a message. Ctrl-D
 * on an empty line, or the terminal going away, submits "/quit". The
 * callback must not call uk_tui_close(); it sets a flag for the loop. */
typedef void (*uk_tui_submit_cb)(void *user, const char *line);

/* Takes over the terminal. Returns NULL when stdin/stdout is not a usable
 * terminal (the chat then uses line mode). */
struct uk_tui *uk_tui_open(uk_tui_submit_cb on_submit, void *user);

/* The descriptor to poll for input (stdin). */
int uk_tui_fd(const struct uk_tui *t);

/* Reads what is available and feeds it to the line editor. */
void uk_tui_on_readable(struct uk_tui *t);

/* Appends one line to the message pane (kept in a bounded scrollback:
 * lines and bytes). Drawn at the next uk_tui_refresh(). */
void uk_tui_add_line(struct uk_tui *t, const char *safe_utf8);

/* Replaces the status line text. Drawn at the next uk_tui_refresh(). */
void uk_tui_set_status(struct uk_tui *t, const char *safe_utf8);

/* Draws what changed since the last refresh. The loop calls it once per
 * wake-up, before it waits: a burst of 256 messages costs one screen
 * update, not 256. Typing is drawn at once, without it. */
void uk_tui_refresh(struct uk_tui *t);

/* Re-lays everything out for the new terminal size. */
void uk_tui_resize(struct uk_tui *t);

/* Gives the terminal back as it was. NULL is allowed. */
void uk_tui_close(struct uk_tui *t);

#endif
