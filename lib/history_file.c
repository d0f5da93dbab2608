/* history_file.c: the history's location and the checks before a file is
 * used (see history_file.h). The file holds whatever the network sent: a
 * planted "chat.txt -> ~/.bashrc" link once turned a remote message into
 * a shell command. So the last part of the path is opened with O_NOFOLLOW
 * relative to its directory's descriptor (no race between check and use),
 * and the file and directory are checked on that descriptor. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "udpkit/err.h"
#include "udpkit/history_file.h"
#include "udpkit/history_line.h"
#include "udpkit/i18n.h"

const char *uk_history_problem_text(enum uk_history_problem p)
{
	switch (p) {
	case UK_HISTF_OK:
		break;
	case UK_HISTF_SYMLINK:
		return N_("it is a symbolic link, which could point anywhere (someone may have "
			  "planted it): give the real file with --history");
	case UK_HISTF_NOT_REGULAR:
		return N_(
		    "it is not a regular file: give a file with --history, or use --no-history");
	case UK_HISTF_OWNER:
		return N_("it belongs to another user: give a file of your own with --history");
	case UK_HISTF_MODE:
		return N_("others may read or write it: make it private with chmod 600");
	case UK_HISTF_DIR:
		return N_("its directory is writable by others, who could replace the file: "
			  "use a private directory (chmod go-w) or another --history");
	case UK_HISTF_FOREIGN:
		return N_("it is not a udpkit chat history (its first line is not "
			  "'# udpkit chat history v1...') and is never appended to: give another "
			  "file with --history, or "
			  "move this one away");
	}
	return N_("no problem");
}

int uk_history_default_path(const char *xdg_state_home, const char *home, char *out, size_t cap)
{
	int n;

	/* XDG Base Directory: a relative $XDG_STATE_HOME is invalid, ignored. */
	if (xdg_state_home && xdg_state_home[0] == '/')
		n = snprintf(out, cap, "%s/udpkit/chat.txt", xdg_state_home);
	else if (home && home[0])
		n = snprintf(out, cap, "%s/.local/state/udpkit/chat.txt", home);
	else
		return -ENOENT;
	if (n < 0 || (size_t)n >= cap)
		return UK_ENOSPACE;
	return n;
}

int uk_history_make_dirs(const char *path)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	/* Every parent, shortest first; existing ones are left as they are. */
	for (size_t i = 1; i < n; i++) {
		if (buf[i] != '/')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -errno;
		buf[i] = '/';
	}
	return 0;
}

int uk_history_rotated_path(const char *path, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s.1", path);
	return n < 0 || (size_t)n >= cap ? UK_ENOSPACE : n;
}

/* Splits path into its directory (opened) and its last part. */
static int open_dir(const char *path, const char **base)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	size_t n;
	int fd;

	if (!slash) {
		*base = path;
		fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		return fd < 0 ? -errno : fd;
	}
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, path, n);
	dir[n] = '\0';
	*base = slash + 1;
	if (!**base)
		return -EISDIR;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Nobody but the user (or root) can replace a file in this directory. */
static bool dir_private(int dirfd, bool own_dir)
{
	struct stat st;
	uid_t me = geteuid();

	if (fstat(dirfd, &st) < 0)
		return false;
	if (own_dir)
		return st.st_uid == me;
	return (st.st_uid == me || st.st_uid == 0) && (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

static enum uk_history_problem file_problem(const struct stat *st)
{
	if (!S_ISREG(st->st_mode))
		return UK_HISTF_NOT_REGULAR;
	if (st->st_uid != geteuid())
		return UK_HISTF_OWNER;
	if (st->st_mode & 077)
		return UK_HISTF_MODE;
	return UK_HISTF_OK;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A new file gets the header; an old one must start with it (ours), and
 * one that ends in a torn line gets a '\n'. */
static int check_content(int fd, const struct stat *st, enum uk_history_problem *why)
{
	char head[sizeof(UK_HISTORY_MAGIC) - 1], last;
	ssize_t n;

	if (st->st_size == 0)
		return write_all(fd, UK_HISTORY_HEADER, strlen(UK_HISTORY_HEADER));
	do
		n = pread(fd, head, sizeof(head), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n != sizeof(head) || memcmp(head, UK_HISTORY_MAGIC, sizeof(head)) != 0) {
		*why = UK_HISTF_FOREIGN;
		return -EPERM;
	}
	do
		n = pread(fd, &last, 1, st->st_size - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 1 && last != '\n')
		return write_all(fd, "\n", 1);
	return 0;
}

int uk_history_file_open(const char *path, bool own_dir, enum uk_history_problem *why)
{
	const char *base;
	struct stat st;
	int dirfd, fd = -1, rc;

	*why = UK_HISTF_OK;
	dirfd = open_dir(path, &base);
	if (dirfd < 0)
		return dirfd;
	if (!dir_private(dirfd, own_dir)) {
		*why = UK_HISTF_DIR;
		rc = -EPERM;
		goto fail;
	}
	/* O_NONBLOCK: a FIFO planted at the path must not block the open. */
	fd = openat(dirfd, base, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
		    0600);
	if (fd < 0) {
		rc = -errno;
		if (rc == -ELOOP) {
			*why = UK_HISTF_SYMLINK;
			rc = -EPERM;
		} else if (rc == -ENXIO || rc == -EISDIR) {
			*why = UK_HISTF_NOT_REGULAR;
			rc = -EPERM;
		}
		goto fail;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto fail;
	}
	*why = file_problem(&st);
	if (*why != UK_HISTF_OK) {
		rc = -EPERM;
		goto fail;
	}
	/* Back to blocking writes: a regular file never returns EAGAIN. */
	if (fcntl(fd, F_SETFL, O_APPEND) < 0) {
		rc = -errno;
		goto fail;
	}
	rc = check_content(fd, &st, why);
	if (rc < 0)
		goto fail;
	close(dirfd);
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	close(dirfd);
	return rc;
}
