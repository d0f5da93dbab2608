/* history_writer.c: appends history lines synchronously (see
 * history_writer.h). The guarantee the chat builds on: when append()
 * returns 0, the line's write() has returned, so the line is in the file
 * and survives a kill -9; the chat shows and acknowledges a message only
 * after that. No thread and no queue: a write() of a 100-byte line costs
 * a few microseconds (docs/history.md), far below a datagram's cost. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "udpkit/err.h"
#include "udpkit/history_writer.h"

struct uk_history_writer {
	int fd;
	char *path;
	struct uk_history_writer_cfg cfg;
	char *buf; /* the line being written, grown as needed */
	size_t cap;
	bool torn;  /* a failed write left part of a line: end it first */
	bool dirty; /* written since the last fdatasync() */
	uint64_t rotations;
};

int uk_history_writer_open(const char *path, const struct uk_history_writer_cfg *cfg,
			   struct uk_history_writer **out, enum uk_history_problem *why)
{
	struct uk_history_writer *w = calloc(1, sizeof(*w));
	int rc;

	*why = UK_HISTF_OK;
	if (!w || !(w->path = strdup(path))) {
		rc = -ENOMEM;
		goto fail;
	}
	w->cfg = *cfg;
	w->fd = uk_history_file_open(path, cfg->own_dir, why);
	if (w->fd < 0) {
		rc = w->fd;
		goto fail;
	}
	*out = w;
	return 0;
fail:
	if (w)
		free(w->path);
	free(w);
	return rc;
}

/* Writes n bytes, finishing short writes. Returns 0, or -errno with
 * *partial set when some bytes went in (a torn line). */
static int write_all(int fd, const char *p, size_t n, bool *partial)
{
	*partial = false;
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -EIO;
		*partial = true;
		p += k;
		n -= (size_t)k;
	}
	*partial = false;
	return 0;
}

/* Switches to a new descriptor for the path, syncing the old one first
 * so a --sync caller's promise covers the lines in the old file too. */
static int reopen(struct uk_history_writer *w, enum uk_history_problem *why)
{
	int fd = uk_history_file_open(w->path, w->cfg.own_dir, why);

	if (fd < 0)
		return fd;
	if (w->dirty && fdatasync(w->fd) == 0)
		w->dirty = false;
	close(w->fd);
	w->fd = fd;
	w->torn = false;
	return 0;
}

/* Before a line of len bytes: a file removed or renamed under us is
 * started again at the path (else lines would go to an unlinked inode);
 * a file that would grow past the bound becomes PATH.1. */
static int prepare(struct uk_history_writer *w, size_t len, enum uk_history_problem *why)
{
	struct stat st;
	char old[4096];

	if (fstat(w->fd, &st) < 0)
		return -errno;
	if (st.st_nlink == 0)
		return reopen(w, why);
	if (!w->cfg.max_size_bytes || (uint64_t)st.st_size + len <= w->cfg.max_size_bytes ||
	    (size_t)st.st_size <= strlen(UK_HISTORY_HEADER))
		return 0;
	if (uk_history_rotated_path(w->path, old, sizeof(old)) < 0)
		return -ENAMETOOLONG;
	if (rename(w->path, old) < 0)
		return -errno;
	w->rotations++;
	return reopen(w, why);
}

int uk_history_writer_append(struct uk_history_writer *w, const struct uk_history_entry *e,
			     enum uk_history_problem *why)
{
	size_t need = UK_HISTORY_LINE_MAX(e->text_len) + 1;
	bool partial;
	int n, rc;

	*why = UK_HISTF_OK;
	if (e->text_len > UK_HISTORY_TEXT_MAX)
		return -EMSGSIZE;
	if (need > w->cap) {
		char *grown = realloc(w->buf, need);
		if (!grown)
			return -ENOMEM;
		w->buf = grown;
		w->cap = need;
	}
	/* After a torn write the line starts with '\n', ending the torn part,
	 * so both stay one line each (the torn one then reads as bad). */
	w->buf[0] = '\n';
	n = uk_history_format(e, w->buf + 1, w->cap - 1);
	if (n < 0)
		return n;
	rc = prepare(w, (size_t)n + 1, why);
	if (rc < 0)
		return rc;
	rc = write_all(w->fd, w->buf + (w->torn ? 0 : 1), (size_t)n + (w->torn ? 1 : 0), &partial);
	if (rc < 0) {
		w->torn = w->torn || partial;
		return rc;
	}
	w->torn = false;
	w->dirty = true;
	return 0;
}

bool uk_history_writer_dirty(const struct uk_history_writer *w)
{
	return w && w->dirty;
}

int uk_history_writer_sync(struct uk_history_writer *w)
{
	if (!w || !w->dirty)
		return 0;
	/* Clean even on failure: Linux reports a writeback error once and
	 * then forgets it, so retrying would claim a durability it lacks. */
	w->dirty = false;
	while (fdatasync(w->fd) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

int uk_history_writer_check(struct uk_history_writer *w)
{
	static const char line[] = "\n# udpkit: checking that the disk takes writes again\n";
	enum uk_history_problem why;
	bool partial;
	int rc = prepare(w, sizeof(line), &why);

	if (rc < 0)
		return rc;
	rc = write_all(w->fd, line + (w->torn ? 0 : 1), sizeof(line) - (w->torn ? 1 : 2), &partial);
	if (rc < 0) {
		w->torn = w->torn || partial;
		return rc;
	}
	w->torn = false;
	w->dirty = true;
	return uk_history_writer_sync(w);
}

uint64_t uk_history_writer_rotations(const struct uk_history_writer *w)
{
	return w ? w->rotations : 0;
}

int uk_history_writer_close(struct uk_history_writer *w)
{
	int rc = 0;

	if (!w)
		return 0;
	if (close(w->fd) < 0 && errno != EINTR)
		rc = -errno;
	free(w->path);
	free(w->buf);
	free(w);
	return rc;
}
