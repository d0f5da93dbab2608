/* history_writer.h: appends events to the chat history, synchronously.
 * uk_history_writer_append() returns only after the line's write() has
 * returned: the line is then in the file (the kernel's page cache), so a
 * kill -9 of the chat can no longer lose it. Callers show or acknowledge
 * a message only after append() returned 0 (see lib/chat.c). With
 * uk_history_writer_sync() the lines also survive a power loss: one
 * fdatasync() covers every line appended before it (group commit).
 * One write() per line on an O_APPEND descriptor: lines are never merged. */
#ifndef UDPKIT_HISTORY_WRITER_H
#define UDPKIT_HISTORY_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "udpkit/history_file.h"
#include "udpkit/history_line.h"

/* The default bound of the file: beyond it, it is renamed to PATH.1
 * (replacing the older one) and a new file is started. */
#define UK_HISTORY_MAX_SIZE_DEFAULT (32ull << 20)

struct uk_history_writer_cfg {
	uint64_t max_size_bytes; /* rotate beyond this; 0: never */
	bool own_dir;		 /* see uk_history_file_open() */
};

struct uk_history_writer;

/* Opens path (uk_history_file_open() with its checks). Returns 0 and *out,
 * -EPERM with *why, or -errno. */
int uk_history_writer_open(const char *path, const struct uk_history_writer_cfg *cfg,
			   struct uk_history_writer **out, enum uk_history_problem *why);

/* Formats e and writes it with one write(). Returns 0 once written;
 * -EMSGSIZE for a text over UK_HISTORY_TEXT_MAX, UK_EPARSE for a bad
 * entry, -errno when the file cannot be written (ENOSPC, EIO...): then the
 * event is not in the file (a part of it may be, which the next append
 * ends with a '\n' so it counts as one bad line). A file removed or
 * renamed under the writer is created again at its path (same checks);
 * -EPERM with *why when that fails them. Not thread-safe. */
int uk_history_writer_append(struct uk_history_writer *w, const struct uk_history_entry *e,
			     enum uk_history_problem *why);

/* True when lines were appended since the last sync. */
bool uk_history_writer_dirty(const struct uk_history_writer *w);

/* fdatasync()s the file if dirty. Returns 0 or -errno; either way the
 * writer is clean afterwards (the kernel reports an error only once). */
int uk_history_writer_sync(struct uk_history_writer *w);

/* After a failed sync: appends a comment line (skipped by readers) and
 * fdatasync()s it, to learn whether the disk takes writes again (a sync
 * with nothing new to write would report success whatever the disk does).
 * Returns 0 when it does, else -errno. */
int uk_history_writer_check(struct uk_history_writer *w);

/* Times the file was rotated, for the caller to report. */
uint64_t uk_history_writer_rotations(const struct uk_history_writer *w);

/* Closes the file. Returns 0 or -errno from close(). NULL is allowed. */
int uk_history_writer_close(struct uk_history_writer *w);

#endif
