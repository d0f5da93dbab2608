/* conf.h: the strict reader of udpkit's configuration files (the chat's
 * ~/.config/udpkit/chat.conf). The format is lines of `key = value`, blank
 * lines, and comments from a `#` at the start of a line (after blanks).
 * Keys are lower-case words with '-' (the long option names they stand
 * for); a value runs to the end of the line, blanks around it trimmed, and
 * may be put in double quotes to keep blanks or a '#' (\" and \\ inside).
 * Anything else is an error that names the line: the front-end turns each
 * entry into the long option of the same name, so an unknown key is found
 * there, with the file name and line number this reader gives it. */
#ifndef UDPKIT_CONF_H
#define UDPKIT_CONF_H

#include <stddef.h>

#define UK_CONF_MAX_BYTES (64 * 1024) /* a configuration file larger is refused */
#define UK_CONF_MAX_KEY 64
#define UK_CONF_MAX_VALUE 1024

struct uk_conf_entry {
	char key[UK_CONF_MAX_KEY + 1];
	char value[UK_CONF_MAX_VALUE + 1];
	unsigned line;
};

struct uk_conf {
	struct uk_conf_entry *entries;
	size_t count;
	unsigned error_line; /* on failure: the offending line (0: the file) */
	const char *error;   /* on failure: what is wrong, a static string */
};

/* Parses text (len bytes, need not be NUL-terminated) into conf->entries,
 * in file order. Returns 0, or -EINVAL with error and error_line set, or
 * -ENOMEM. Free with uk_conf_free() in both cases. */
int uk_conf_parse(struct uk_conf *conf, const char *text, size_t len);

/* Reads and parses path: a regular file of at most UK_CONF_MAX_BYTES
 * (opened without following a symlink in its last component). Returns 0,
 * -ENOENT when there is no such file (the caller decides whether that is
 * fine), -EINVAL/-EFBIG/-errno with conf->error set for the others. */
int uk_conf_load(struct uk_conf *conf, const char *path);

void uk_conf_free(struct uk_conf *conf);

#endif
