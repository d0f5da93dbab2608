/* history_reader.h: reads the chat history line by line. Lines that do
 * not parse are counted, never returned; a last line without its '\n'
 * (being written, or cut by a crash) is reported as torn, not returned. */
#ifndef UDPKIT_HISTORY_READER_H
#define UDPKIT_HISTORY_READER_H

#include <stdbool.h>
#include <stdint.h>

#include "udpkit/history_line.h"

/* cb returns 0 to go on, non-zero to stop. */
typedef int (*uk_history_cb)(void *user, const struct uk_history_entry *e);

/* Calls cb for each good entry of path; counts the lines that do not
 * parse in *bad and a torn last line in *torn (either may be NULL).
 * Returns 0 or -errno. */
int uk_history_read(const char *path, uk_history_cb cb, void *user, uint64_t *bad, bool *torn);

/* The same over the rotated file PATH.1 (when it exists) and then path,
 * oldest first. Returns 0 or -errno (-ENOENT only when neither exists). */
int uk_history_read_all(const char *path, uk_history_cb cb, void *user, uint64_t *bad, bool *torn);

#endif
