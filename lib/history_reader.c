/* history_reader.c: reads the chat history (see history_reader.h) in
 * chunks, one line at a time, without holding more than the longest valid
 * line: a line too long to be ours is skipped and counted as bad. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "udpkit/err.h"
#include "udpkit/history_file.h"
#include "udpkit/history_reader.h"

/* Longest line a valid entry can have; longer ones are skipped as bad
 * without being held in memory. */
#define READ_LINE_MAX UK_HISTORY_LINE_MAX(UK_HISTORY_TEXT_MAX)

struct reader {
	uk_history_cb cb;
	void *user;
	uint64_t bad;
	unsigned char *text; /* unescaped text, grown with the longest line */
	size_t text_cap;
	bool stopped;
};

/* Returns 0, or -ENOMEM. */
static int read_one(struct reader *rd, const char *line, size_t len)
{
	struct uk_history_entry e;

	if (len == 0 || line[0] == '#')
		return 0; /* blank lines and comments carry nothing */
	/* Unescaping never makes text longer: len bytes always suffice. */
	if (len > rd->text_cap) {
		unsigned char *grown = realloc(rd->text, len);
		if (!grown)
			return -ENOMEM;
		rd->text = grown;
		rd->text_cap = len;
	}
	if (uk_history_parse(line, len, &e, rd->text, rd->text_cap) < 0) {
		rd->bad++;
		return 0;
	}
	if (rd->cb(rd->user, &e) != 0)
		rd->stopped = true;
	return 0;
}

int uk_history_read(const char *path, uk_history_cb cb, void *user, uint64_t *bad, bool *torn)
{
	struct reader rd = {.cb = cb, .user = user};
	char *buf = NULL, *line = NULL;
	size_t line_len = 0, line_cap = 0;
	bool overlong = false;
	int fd = -1, rc = 0;
	enum { CHUNK = 65536 };

	if (torn)
		*torn = false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		goto fail;
	}
	buf = malloc(CHUNK);
	if (!buf) {
		rc = -ENOMEM;
		goto fail;
	}
	while (!rd.stopped) {
		ssize_t n = read(fd, buf, CHUNK);
		size_t off = 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto fail;
		}
		if (n == 0)
			break;
		while (off < (size_t)n && !rd.stopped) {
			char *nl = memchr(buf + off, '\n', (size_t)n - off);
			size_t take = (nl ? (size_t)(nl - buf) : (size_t)n) - off;
			/* Gather the line; one too long to be ours is only skipped. */
			if (!overlong && line_len + take > READ_LINE_MAX) {
				overlong = true;
				line_len = 0;
			}
			if (!overlong && take > 0) {
				if (line_len + take > line_cap) {
					size_t want = line_cap ? line_cap : 4096;
					char *grown;
					while (want < line_len + take)
						want *= 2;
					grown = realloc(line, want);
					if (!grown) {
						rc = -ENOMEM;
						goto fail;
					}
					line = grown;
					line_cap = want;
				}
				memcpy(line + line_len, buf + off, take);
				line_len += take;
			}
			off += take;
			if (!nl)
				break;
			off++; /* the '\n' */
			if (overlong) {
				rd.bad++;
			} else if (read_one(&rd, line, line_len) < 0) {
				rc = -ENOMEM;
				goto fail;
			}
			line_len = 0;
			overlong = false;
		}
	}
	/* What is left had no '\n': a line being written, or cut by a crash. */
	if (!rd.stopped && (line_len > 0 || overlong) && torn)
		*torn = true;
fail:
	if (bad)
		*bad = rd.bad;
	free(buf);
	free(line);
	free(rd.text);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Remembers that the callback asked to stop, so the second file is not read. */
struct stop_watch {
	uk_history_cb cb;
	void *user;
	bool stopped;
};

static int watch_cb(void *user, const struct uk_history_entry *e)
{
	struct stop_watch *w = user;
	int rc = w->cb(w->user, e);
	if (rc != 0)
		w->stopped = true;
	return rc;
}

int uk_history_read_all(const char *path, uk_history_cb cb, void *user, uint64_t *bad, bool *torn)
{
	struct stop_watch w = {.cb = cb, .user = user};
	char old[4096];
	uint64_t bad_old = 0, bad_new = 0;
	bool torn_old = false;
	int rc_old = -ENOENT, rc;

	/* The rotated file first: it holds the older events. */
	if (uk_history_rotated_path(path, old, sizeof(old)) >= 0)
		rc_old = uk_history_read(old, watch_cb, &w, &bad_old, &torn_old);
	if (rc_old < 0 && rc_old != -ENOENT)
		return rc_old;
	if (torn)
		*torn = false;
	rc = w.stopped ? 0 : uk_history_read(path, watch_cb, &w, &bad_new, torn);
	if (bad)
		*bad = bad_old + bad_new;
	/* A rotated file is complete: a torn end there is a bad line. */
	if (bad && torn_old)
		(*bad)++;
	if (rc == -ENOENT && rc_old == 0)
		rc = 0;
	return rc;
}
