/* history.h: the chat history file (chat.txt by default), one event per
 * line whatever the message holds. The format is documented byte by byte
 * in docs/history.md. Writes go through a writer thread, as in the
 * tutorial, so the UI never waits on the disk; each line is one write()
 * on an O_APPEND descriptor, so lines are never merged, and a kill -9
 * loses at most the line being written (plus any still queued: normally
 * none). The reader tolerates a torn last line (it is reported, not
 * returned).
 *
 * CONTRACT between the chat (producer) and this module; see cmd/chat/. */
#ifndef UDPKIT_HISTORY_H
#define UDPKIT_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum uk_history_kind {
	UK_HIST_RECV,	     /* a message received */
	UK_HIST_SENT,	     /* a message sent (receipt requested or plain) */
	UK_HIST_DELIVERED,   /* a sent message was acknowledged */
	UK_HIST_UNDELIVERED, /* a sent message was given up on */
	UK_HIST_KIND_COUNT
};

/* One history event. Strings are NUL-terminated; text is raw bytes
 * (any content: newlines, NUL, invalid UTF-8) with its length. */
struct uk_history_entry {
	uint64_t time_ns; /* wall clock, ns since the epoch */
	enum uk_history_kind kind;
	char peer[80];	 /* "10.0.0.2:2425" or "[fe80::1]:2425" */
	char nick[64];	 /* peer's nickname, may be empty */
	uint64_t msg_id; /* IPMsg packet number, 0 for plain text */
	const unsigned char *text;
	size_t text_len;
};

/* Formats e as one line ending in '\n' into out. Returns its length or
 * UK_ENOSPACE. Room that always suffices: UK_HISTORY_LINE_MAX(text_len). */
#define UK_HISTORY_LINE_MAX(text_len) (512 + 4 * 80 + 4 * 64 + 4 * (text_len))
int uk_history_format(const struct uk_history_entry *e, char *out, size_t cap);

/* Parses one line (without or with its '\n'). The text is unescaped into
 * textbuf (cap bytes) and e->text points there. Returns 0 or UK_EPARSE
 * (also UK_ENOSPACE when the text does not fit in cap bytes; cap >= len
 * always suffices). A line cut short by a crash does not parse: its byte
 * count no longer matches its text. */
int uk_history_parse(const char *line, size_t len, struct uk_history_entry *e,
		     unsigned char *textbuf, size_t cap);

const char *uk_history_kind_name(enum uk_history_kind k);

/* The time field: "2026-11-26T10:22:33.123Z" (UTC, milliseconds, so times
 * round-trip to the millisecond). Returns its length or UK_ERANGE_. */
#define UK_HISTORY_TIME_LEN 24
int uk_history_time_format(uint64_t time_ns, char out[UK_HISTORY_TIME_LEN + 1]);

/* Parses a --since argument into ns since the epoch: ISO 8601
 * "2026-11-26", "2026-11-26T10:00", "2026-11-26 10:00:05", optional ".mmm"
 * and "Z" or "+08:00" (no zone means UTC, as the file and its listing
 * are), or a span before now_ns: "90s", "15m", "2h", "3d", "1w".
 * Pure: the caller passes the clock. Returns 0 or UK_EPARSE. */
int uk_history_since_parse(const char *s, uint64_t now_ns, uint64_t *out_ns);

/* The largest text the writer takes (larger: -EMSGSIZE, counted lost)
 * and the reader accepts (a longer line counts as bad). */
#define UK_HISTORY_TEXT_MAX (1u << 20)

struct uk_history_writer;

/* Opens (creating with mode 0600) path for appending and starts the
 * writer thread. A file that ends in a torn line gets a '\n' first so the
 * next line is not merged into it. Returns 0 and *out, or -errno. */
int uk_history_writer_open(const char *path, struct uk_history_writer **out);

/* The queue's bounds for uk_history_writer_open(), and the same call with
 * bounds of one's own (tests use small ones). */
#define UK_HISTORY_QUEUE_LINES 4096
#define UK_HISTORY_QUEUE_BYTES (16u << 20)
int uk_history_writer_open_limits(const char *path, size_t max_lines, size_t max_bytes,
				  struct uk_history_writer **out);

/* Queues e (copied) for writing; never blocks on the disk. Thread-safe.
 * Returns 0, or -ENOSPC when the queue is over its bound (as a full outbox
 * does), -EMSGSIZE for a text over UK_HISTORY_TEXT_MAX (either way the event
 * is counted lost), -ENOMEM when memory runs out,
 * UK_EPARSE for a bad kind or a peer/nick without its NUL. */
int uk_history_writer_append(struct uk_history_writer *w, const struct uk_history_entry *e);

/* Events refused so far (queue full, text too long). Thread-safe. */
uint64_t uk_history_writer_lost(struct uk_history_writer *w);

/* Drains the queue, stops the thread, closes the file. Returns 0 or the
 * first write error (-errno). NULL is allowed. */
int uk_history_writer_close(struct uk_history_writer *w);

/* Reads the file line by line. Calls cb for each good entry; counts the
 * lines that do not parse in *bad and a torn last line in *torn (either may
 * be NULL). cb returns 0 to go on, non-zero to stop. Returns 0 or -errno. */
typedef int (*uk_history_cb)(void *user, const struct uk_history_entry *e);
int uk_history_read(const char *path, uk_history_cb cb, void *user, uint64_t *bad, bool *torn);

#endif
