/* history_line.h: one event of the chat history as one line of text, and
 * back (docs/history.md gives the format byte by byte). Every field is
 * escaped, so no message can break a line or forge another; a line cut
 * short by a crash never parses. Pure. */
#ifndef UDPKIT_HISTORY_LINE_H
#define UDPKIT_HISTORY_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum uk_history_kind {
	UK_HIST_RECV,	     /* a message received */
	UK_HIST_SENT,	     /* a message sent (receipt requested or plain) */
	UK_HIST_DELIVERED,   /* a sent message was acknowledged */
	UK_HIST_UNDELIVERED, /* a sent message was given up on */
	UK_HIST_LATE,	     /* its receipt came after it was given up on */
	UK_HIST_GROUP,	     /* a group message received (BROADCASTOPT/MULTICASTOPT) */
	UK_HIST_FILE,	     /* a file transfer's outcome (offered, fetched, received, failed...) */
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

/* The largest text written and read (a longer line counts as bad). */
#define UK_HISTORY_TEXT_MAX (1u << 20)

/* The first line of every history file; a file that does not start with
 * UK_HISTORY_MAGIC is not ours and is never appended to. */
#define UK_HISTORY_MAGIC "# udpkit chat history v1"
#define UK_HISTORY_HEADER                                                                          \
	UK_HISTORY_MAGIC ": time kind peer nick id bytes text (tab-separated, escaped; see "       \
			 "udpkit-history(1))\n"

/* Formats e as one line ending in '\n' into out. Returns its length or
 * UK_ENOSPACE, UK_EPARSE for a bad kind or a peer/nick without its NUL.
 * Room that always suffices: UK_HISTORY_LINE_MAX(text_len). */
#define UK_HISTORY_LINE_MAX(text_len) (512 + 4 * 80 + 4 * 64 + 4 * (text_len))
int uk_history_format(const struct uk_history_entry *e, char *out, size_t cap);

/* Parses one line (without or with its '\n'). The text is unescaped into
 * textbuf (cap bytes) and e->text points there. Returns 0 or UK_EPARSE
 * (also UK_ENOSPACE when the text does not fit in cap bytes; cap >= len
 * always suffices). A line cut short by a crash does not parse: its byte
 * count no longer matches its text. */
int uk_history_parse(const char *line, size_t len, struct uk_history_entry *e,
		     unsigned char *textbuf, size_t cap);

/* "recv", "sent", "delivered", "undelivered", "late"; "?" for others. */
const char *uk_history_kind_name(enum uk_history_kind k);

#endif
