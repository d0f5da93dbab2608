/* files_fetch.c: the downloads: an accepted offer's entries are fetched
 * one after the other over TCP into a partial name (resumed from its
 * size), renamed when complete; a folder stream creates its folders with
 * mkdirat/openat below the target only. Inside a room the request is
 * sealed and every read goes through the sealed stream (dl_recv); outside
 * one a file's bytes go from the socket into the file by splice()
 * (dl_splice_in, dl_splice_out), its SHA-256 hashed from the file. */
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "chat/files_int.h"
#include "udpkit/fname.h"
#include "udpkit/i18n.h"

/* A download ends, whatever its outcome: everything it holds is let go,
 * and the offer's next entry may start (one failure does not cancel the
 * rest). */
static void dl_release(struct app *a, struct dl *d)
{
	close_fd(&d->fd);
	seal_dl_free(d->sd);
	d->sd = NULL;
	close_fd(&d->out);
	while (d->depth > 0)
		close_fd(&d->stack[--d->depth]);
	close_fd(&d->top);
	free(d->buf);
	d->buf = NULL;
	uk_hashpipe_free(d->hp);
	d->hp = NULL;
	close_fd(&d->pipe[0]);
	close_fd(&d->pipe[1]);
	d->st = D_FREE;
	F(a)->in[d->ii].next = d->fi + 1;
}

void files_dl_fail(struct app *a, struct dl *d, const char *why)
{
	struct in_offer *io = &F(a)->in[d->ii];
	char pa[UK_ADDR_STRLEN], nb[UK_ESCAPE_SIZE(UK_ATTACH_NAME_MAX)];

	chat_info(a, "failed", "%s\t%llu\t%s\t%s", addr_text(&io->peer, pa, sizeof(pa)),
		  (unsigned long long)io->packet_no,
		  esc(io->files[d->fi].name, io->files[d->fi].name_len, nb, sizeof(nb)), why);
	files_hist(a, &io->peer, io->nick, io->packet_no, "failed %s: %s", nb, why);
	a->files_failed++;
	dl_release(a, d);
}

/* Renames the partial name to name, or name (1), name (2)... never over
 * an existing file. */
static int place(int dirfd, const char *part, const char *name, size_t len, char *final, size_t cap)
{
	for (unsigned k = 0; k < 1000; k++) {
		if (uk_fname_numbered(name, len, k, final, cap) < 0)
			return -ENAMETOOLONG;
		if (renameat2(dirfd, part, dirfd, final, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

static void dl_done(struct app *a, struct dl *d)
{
	struct in_offer *io = &F(a)->in[d->ii];
	const struct uk_attach *at = &io->files[d->fi];
	char final[UK_FNAME_MAX + 1], pa[UK_ADDR_STRLEN], nb[UK_ESCAPE_SIZE(UK_FNAME_MAX)],
	    fb[UK_ESCAPE_SIZE(UK_FNAME_MAX)];
	uint64_t ns = uk_now_ns() - d->start_ns;
	double secs = (double)ns / 1e9;
	int rc;

	if (d->st == D_FILE) {
		struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = (time_t)at->mtime}};
		uint8_t sum[UK_ATTACH_SHA256_BYTES];
		if (d->hashing) {
			if (uk_hashpipe_end(d->hp, sum) < 0 ||
			    sodium_memcmp(sum, at->sha256, sizeof(sum)) != 0) {
				/* Never kept under its name: the partial goes too, so
				 * a new fetch starts from byte 0. */
				unlinkat(io->dirfd, d->part, 0);
				files_dl_fail(a, d,
					      "SHA-256 mismatch: the file is corrupt, not kept");
				return;
			}
		}
		futimens(d->out, ts);
		close_fd(&d->out);
	} else {
		struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = (time_t)d->mtime}};
		/* "sha256 ok" for a folder: every file had one, and matched. */
		d->hashing = d->dir_sha_ok && d->dir_files > 0;
		futimens(d->top, ts);
	}
	rc = place(io->dirfd, d->part, at->name, at->name_len, final, sizeof(final));
	if (rc < 0) {
		files_dl_fail(a, d, "could not be renamed to its name");
		return;
	}
	chat_info(a, "received", "%s\t%llu\t%s\t%s/%s\t%llu\t%.3f\t%.1f%s",
		  addr_text(&io->peer, pa, sizeof(pa)), (unsigned long long)io->packet_no,
		  esc(at->name, at->name_len, nb, sizeof(nb)), a->files_dir_shown,
		  esc(final, strlen(final), fb, sizeof(fb)), (unsigned long long)d->got, secs,
		  secs > 0 ? (double)d->got / secs / 1048576.0 : 0.0,
		  d->hashing ? "\tsha256 ok" : "");
	files_hist(a, &io->peer, io->nick, io->packet_no, "received %s at %s/%s (%llu bytes%s)", nb,
		   a->files_dir_shown, fb, (unsigned long long)d->got,
		   d->hashing ? ", sha256 ok" : "");
	a->files_received++;
	dl_release(a, d);
}

/* The terminal UI's progress bar, in the status line: name, a bar, bytes,
 * rate and time left. */
static void status_bar(struct app *a, const char *name, uint64_t got, uint64_t size, uint64_t ns)
{
	char line[UK_ESCAPE_SIZE(UK_ATTACH_NAME_MAX) + 160], bar[21];
	double secs = (double)ns / 1e9, rate = secs > 0 ? (double)got / secs : 0;
	unsigned fill = size ? (unsigned)(20.0 * (double)got / (double)size) : 20;

	for (unsigned i = 0; i < 20; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[20] = 0;
	snprintf(line, sizeof(line), " %s [%s] %.1f/%.1f MiB  %.1f MiB/s  %.0f s left", name, bar,
		 (double)got / 1048576.0, (double)size / 1048576.0, rate / 1048576.0,
		 rate > 0 ? (double)(size - got) / rate : 0.0);
	uk_tui_set_status(a->tui, line);
}

void files_dl_progress(struct app *a, struct dl *d, uint64_t now)
{
	struct in_offer *io = &F(a)->in[d->ii];
	char nb[UK_ESCAPE_SIZE(UK_ATTACH_NAME_MAX)];

	if (now - d->progress_ns < PROGRESS_NS)
		return;
	d->progress_ns = now;
	if (chat_line_mode(a))
		chat_info(a, "progress", "%llu\t%s\t%llu\t%llu", (unsigned long long)io->packet_no,
			  esc(io->files[d->fi].name, io->files[d->fi].name_len, nb, sizeof(nb)),
			  (unsigned long long)d->got, (unsigned long long)d->size);
	else if (a->tui)
		status_bar(a, esc(io->files[d->fi].name, io->files[d->fi].name_len, nb, sizeof(nb)),
			   d->got, d->size, now - d->start_ns);
}

/* Starts fetching entry fi of io. */
static void dl_start(struct app *a, struct dl *d, int ii, int fi)
{
	struct files *f = F(a);
	struct in_offer *io = &f->in[ii];
	const struct uk_attach *at = &io->files[fi];
	bool dir = (at->attr & 0xffu) == UK_ATTACH_DIR;
	enum uk_fname_verdict v = uk_fname_check(at->name, at->name_len);
	struct uk_addr to = io->peer;
	uint64_t offset = 0;
	int n;

	memset(d, 0, sizeof(*d));
	d->fd = d->out = d->top = d->pipe[0] = d->pipe[1] = -1;
	d->ii = ii;
	d->fi = fi;
	d->size = at->size;
	d->st = D_CONNECT;
	d->start_ns = d->last_ns = uk_now_ns();
	io->next = -2; /* busy until this one ends */
	if (v != UK_FNAME_OK) {
		files_dl_fail(a, d, uk_fname_reason(v));
		return;
	}
	if ((at->attr & 0xffu) != UK_ATTACH_REGULAR && !dir) {
		files_dl_fail(a, d, "neither a file nor a folder");
		return;
	}
	if (!dir && a->o.max_file_size && at->size > a->o.max_file_size) {
		files_dl_fail(a, d, "larger than --max-file-size");
		return;
	}
	uk_fname_partial(at->name, at->name_len, at->size, at->mtime, d->part, sizeof(d->part));
	if (dir) {
		d->dir_sha_ok = true;
		d->buf = malloc(UK_DIRHDR_MAX + 1);
		if (!d->buf) {
			files_dl_fail(a, d, "out of memory");
			return;
		}
		/* A folder's files may total what the offer announced (iptux and
		 * we announce the sum), within 64 times --max-file-size: a
		 * stream that sends more is cut off. */
		uint64_t total = a->o.max_file_size ? a->o.max_file_size * 64 : UINT64_MAX;
		if (at->size && at->size < total)
			total = at->size;
		uk_dirwalk_init(&d->w, DEPTH_MAX, DIR_ENTRIES, total,
				a->o.max_file_size ? a->o.max_file_size : UINT64_MAX);
	} else {
		struct stat st;
		/* Read and write: on resume with a SHA-256 what an earlier
		 * fetch left is read back to hash it. */
		d->out =
		    openat(io->dirfd, d->part, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
		if (d->out < 0 || fstat(d->out, &st) < 0 || !S_ISREG(st.st_mode)) {
			files_dl_fail(a, d, "cannot create the partial file");
			return;
		}
		/* Resume from what an interrupted fetch left, except from
		 * iptux, which ignores the offset and sends from byte 0. */
		if (!io->iptux && (uint64_t)st.st_size <= at->size)
			offset = (uint64_t)st.st_size;
		if (ftruncate(d->out, (off_t)offset) < 0 ||
		    lseek(d->out, (off_t)offset, SEEK_SET) < 0) {
			files_dl_fail(a, d, "cannot write the partial file");
			return;
		}
		d->got = offset;
		/* The offer's SHA-256 is checked over the whole file: what an
		 * earlier fetch left is hashed first. Outside a room the worker
		 * hashes the file itself, from the page cache (file mode of
		 * lib/hashpipe.c), as far as it is written; in a room the
		 * bytes are fed as they come out of the sealed stream. */
		d->hashing = at->has_sha256;
		if (d->hashing) {
			bool file_mode = !chat_room_file_key(a);
			if (uk_hashpipe_new(&d->hp) < 0 ||
			    (file_mode ? uk_hashpipe_begin_file(d->hp, d->out)
				       : uk_hashpipe_begin(d->hp)) < 0) {
				files_dl_fail(a, d, "cannot start hashing (out of memory?)");
				return;
			}
			if (file_mode)
				uk_hashpipe_written(d->hp, offset);
			for (uint64_t off = 0; !file_mode && off < offset;) {
				ssize_t k = pread(d->out, f->iobuf, CHUNK, (off_t)off);
				if (k <= 0)
					break;
				uk_hashpipe_feed(d->hp, f->iobuf, (size_t)k);
				off += (uint64_t)k;
			}
		}
	}
	n = uk_filereq_build(d->req, sizeof(d->req), &a->chat.id, uk_ipmsg_seq_next(&a->chat.seq),
			     dir ? UK_FILEREQ_GETDIRFILES : UK_FILEREQ_GETFILEDATA,
			     UK_IPMSG_FILEATTACHOPT, io->packet_no, at->file_id, offset);
	if (n < 0) {
		files_dl_fail(a, d, "request too long");
		return;
	}
	d->req_len = (size_t)n;
	if (chat_room_file_key(a)) {
		char plain[UK_SS_REQ_MAX];
		memcpy(plain, d->req, d->req_len);
		d->sd = seal_dl_new(chat_room_file_key(a), plain, d->req_len, d->req,
				    sizeof(d->req), &d->req_len);
		if (!d->sd) {
			files_dl_fail(a, d, "cannot seal the request");
			return;
		}
	}
	/* Every client serves on TCP at its own chat port: iptux too, at the
	 * port it is configured to (seen in the lab). */
	d->fd = socket(to.u.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* A chat bound to one address fetches from it: the sender serves an
	 * offer only to the IP it was offered to, which is the address our
	 * datagrams came from (127.0.0.2 on loopback, one of several
	 * interfaces of a host), not whatever the route would pick. */
	if (d->fd >= 0 && a->local.u.sa.sa_family == to.u.sa.sa_family &&
	    !uk_addr_is_unspecified(&a->local)) {
		struct uk_addr src = a->local;
		uk_addr_set_port(&src, 0);
		if (bind(d->fd, &src.u.sa, src.len) < 0) {
			files_dl_fail(a, d, strerror(errno));
			return;
		}
	}
	if (d->fd < 0 || (connect(d->fd, &to.u.sa, to.len) < 0 && errno != EINPROGRESS)) {
		files_dl_fail(a, d, strerror(errno));
		return;
	}
	if (offset)
		chat_info(a, "info", _("resuming %s at byte %llu"), d->part,
			  (unsigned long long)offset);
}

/* Starts the next fetches that wait. */
void files_dl_schedule(struct app *a)
{
	struct files *f = F(a);

	for (int i = 0; i < OFFERS_IN; i++) {
		struct in_offer *io = &f->in[i];
		struct dl *d = NULL;
		if (!io->used || io->next < 0)
			continue;
		if ((size_t)io->next >= io->n) {
			files_in_close(io);
			continue;
		}
		for (size_t k = 0; k < DOWNLOADS && !d; k++)
			if (f->dls[k].st == D_FREE)
				d = &f->dls[k];
		if (!d)
			return;
		dl_start(a, d, i, io->next);
	}
}

void files_dl_send(struct app *a, struct dl *d)
{
	ssize_t n;
	int err = 0;
	socklen_t el = sizeof(err);

	if (d->st == D_CONNECT) {
		if (getsockopt(d->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
			files_dl_fail(a, d, strerror(err ? err : errno));
			return;
		}
		d->st = D_SEND;
	}
	n = send(d->fd, d->req + d->req_off, d->req_len - d->req_off, MSG_NOSIGNAL);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			files_dl_fail(a, d, strerror(errno));
		return;
	}
	d->req_off += (size_t)n;
	if (d->req_off == d->req_len) {
		const struct uk_attach *at = &F(a)->in[d->ii].files[d->fi];
		d->st = (at->attr & 0xffu) == UK_ATTACH_DIR ? D_DIR : D_FILE;
		/* Empty, or fetched before (in a room the sealed end still
		 * comes, and is proved). */
		if (d->st == D_FILE && d->got == d->size && !d->sd)
			dl_done(a, d);
	}
}

/* The one place a download reads: in a room, through the sealed stream. */
static ssize_t dl_recv(struct dl *d, void *buf, size_t cap)
{
	ssize_t n = d->sd ? seal_dl_recv(d->sd, d->fd, buf, cap) : recv(d->fd, buf, cap, 0);
	if (n < 0 && errno == EBADMSG)
		errno = EPROTO; /* "Protocol error" reads better than "Bad message" */
	return n;
}

/* Up to cap bytes from the socket into the download's pipe (made on first
 * use): splice() moves the socket's pages, copying nothing. Returns what
 * dl_recv would: the bytes, 0 at the peer's end, or -1 with errno. */
static ssize_t dl_splice_in(struct dl *d, size_t cap)
{
	if (d->pipe[0] < 0) {
		if (pipe2(d->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
			/* No descriptor left for it: recv and write, as the
			 * caller does when splice() refuses (EINVAL). */
			errno = EINVAL;
			return -1;
		}
		/* As much as a recv into CHUNK takes; the default (64 KiB)
		 * if the system's pipe-max-size is lower. */
		(void)fcntl(d->pipe[1], F_SETPIPE_SZ, (int)CHUNK);
	}
	return splice(d->fd, NULL, d->pipe[1], NULL, cap, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
}

/* The n bytes in the pipe into the file at its position, as write() would
 * put them (the one copy: into the page cache). 0, or -1 with errno. */
static int dl_splice_out(struct dl *d, size_t n)
{
	while (n) {
		ssize_t k = splice(d->pipe[0], NULL, d->out, NULL, n, SPLICE_F_MOVE);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			if (k == 0)
				errno = EIO;
			return -1;
		}
		n -= (size_t)k;
	}
	return 0;
}

void files_dl_file(struct app *a, struct dl *d)
{
	uint64_t want = d->size - d->got;

	for (int rounds = 0; rounds < 16; rounds++) {
		/* One byte more than announced is read to catch a peer that sends too much. */
		size_t cap = want + 1 < CHUNK ? (size_t)want + 1 : CHUNK;
		unsigned char *buf = F(a)->iobuf;
		/* Outside a room the bytes need not come into user space at
		 * all: one copy (into the page cache) instead of recv's and
		 * write's two; a SHA-256 is hashed from the file (file mode of
		 * lib/hashpipe.c). bench/README.md, "File transfer". */
		bool spliced = !d->sd && !d->no_splice;
		ssize_t n;
		n = spliced ? dl_splice_in(d, cap) : dl_recv(d, buf, cap);
		if (n < 0 && spliced && errno == EINVAL) {
			/* A socket or file splice() cannot serve. */
			d->no_splice = true;
			continue;
		}
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				files_dl_fail(a, d, strerror(errno));
			return;
		}
		if (n == 0 && !want && d->sd) {
			dl_done(a, d); /* the sealed end: FINAL opened, proved */
			return;
		}
		if (n == 0) {
			files_dl_fail(a, d, "the peer closed the connection early");
			return;
		}
		if ((uint64_t)n > want) {
			files_dl_fail(a, d, "the peer sent more than it announced");
			return;
		}
		if (spliced ? dl_splice_out(d, (size_t)n) < 0
			    : write(d->out, buf, (size_t)n) != n) {
			files_dl_fail(a, d, errno == ENOSPC ? "disk full" : "write error");
			return;
		}
		d->got += (uint64_t)n;
		want -= (uint64_t)n;
		if (d->hashing && d->sd)
			uk_hashpipe_feed(d->hp, buf, (size_t)n);
		else if (d->hashing)
			uk_hashpipe_written(d->hp, d->got);
		/* In a room the end is the sealed FINAL, proved to the sender
		 * (n == 0 above), which comes with the last bytes. */
		if (!want && !d->sd) {
			dl_done(a, d);
			return;
		}
	}
}

/* A folder's file is complete: checked against the SHA-256 of its header
 * (a mismatch is reported and the file removed: never kept), its time
 * set, then closed. The folder goes on either way. */
static void finish_file(struct app *a, struct dl *d)
{
	struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = (time_t)d->file_mtime}};
	uint8_t sum[UK_ATTACH_SHA256_BYTES];

	if (d->out >= 0 && d->fhash) {
		if (uk_hashpipe_end(d->hp, sum) < 0 ||
		    sodium_memcmp(sum, d->fwant, sizeof(sum)) != 0) {
			struct in_offer *io = &F(a)->in[d->ii];
			char pa[UK_ADDR_STRLEN], nb[UK_ESCAPE_SIZE(UK_FNAME_MAX)];
			const char *why = "SHA-256 mismatch: the file is corrupt, not kept";
			close_fd(&d->out);
			unlinkat(d->fdir, d->fname, 0);
			esc(d->fname, strlen(d->fname), nb, sizeof(nb));
			chat_info(a, "failed", "%s\t%llu\t%s\t%s",
				  addr_text(&io->peer, pa, sizeof(pa)),
				  (unsigned long long)io->packet_no, nb, why);
			files_hist(a, &io->peer, io->nick, io->packet_no,
				   "failed %s in a folder: %s", nb, why);
			a->files_failed++;
			d->dir_sha_ok = false;
		}
	}
	d->fhash = false;
	if (d->out >= 0 && d->file_mtime)
		futimens(d->out, ts);
	close_fd(&d->out);
}

/* One header of the folder stream handled; false when the stream failed
 * (dl_fail done). */
static bool dl_dir_header(struct app *a, struct dl *d, const struct uk_dirhdr *h)
{
	struct in_offer *io = &F(a)->in[d->ii];
	int act = uk_dirwalk_header(&d->w, h);
	int cur = d->depth ? d->stack[d->depth - 1] : io->dirfd;
	char nb[UK_ESCAPE_SIZE(UK_ATTACH_NAME_MAX)], pa[UK_ADDR_STRLEN];
	/* Names of folders and files entered; the others are "." or skipped. */
	enum uk_fname_verdict v = act == UK_DIRWALK_ENTER || act == UK_DIRWALK_FILE
				      ? uk_fname_check(h->name, h->name_len)
				      : UK_FNAME_OK;

	if (act < 0) {
		files_dl_fail(a, d,
			      act == UK_ERANGE_ ? "folder over the limits (depth, entries, bytes)"
						: "malformed folder stream");
		return false;
	}
	if (act == UK_DIRWALK_ENTER && v != UK_FNAME_OK) {
		char why[UK_ESCAPE_SIZE(UK_ATTACH_NAME_MAX) + 160];
		snprintf(why, sizeof(why), "refused folder name %s: %s",
			 esc(h->name, h->name_len, nb, sizeof(nb)), uk_fname_reason(v));
		files_dl_fail(a, d, why);
		return false;
	}
	switch (act) {
	case UK_DIRWALK_ENTER: {
		const char *name = d->depth == 0 ? d->part : h->name;
		int fd;
		if (d->depth == 0)
			d->mtime = h->mtime;
		if (mkdirat(cur, name, 0777) < 0 && errno != EEXIST) {
			files_dl_fail(a, d, "cannot create a folder");
			return false;
		}
		fd = openat(cur, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			files_dl_fail(a, d, "cannot open a folder (a symlink?)");
			return false;
		}
		if (d->depth == 0)
			d->top = dup(fd);
		d->stack[d->depth++] = fd;
		return true;
	}
	case UK_DIRWALK_LEAVE:
		close_fd(&d->stack[--d->depth]);
		return true;
	case UK_DIRWALK_END:
		close_fd(&d->stack[--d->depth]);
		dl_done(a, d);
		return false;
	case UK_DIRWALK_FILE:
		d->left = h->size;
		d->discard = v != UK_FNAME_OK;
		if (d->discard) {
			chat_info(a, "refused", "%s\t%s\t%s", addr_text(&io->peer, pa, sizeof(pa)),
				  esc(h->name, h->name_len, nb, sizeof(nb)), uk_fname_reason(v));
			files_hist(a, &io->peer, io->nick, io->packet_no,
				   "refused a name in the folder %s: %s", nb, uk_fname_reason(v));
			return true;
		}
		for (unsigned k = 0; k < 1000; k++) {
			char alt[UK_FNAME_MAX + 1];
			if (uk_fname_numbered(h->name, h->name_len, k, alt, sizeof(alt)) < 0)
				break;
			d->out = openat(cur, alt,
					O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
			if (d->out >= 0)
				memcpy(d->fname, alt, strlen(alt) + 1);
			if (d->out >= 0 || errno != EEXIST)
				break;
		}
		if (d->out < 0) {
			files_dl_fail(a, d, "cannot create a file in the folder");
			return false;
		}
		d->file_mtime = h->mtime;
		d->fdir = cur;
		d->fhash = h->has_sha256;
		d->dir_files++;
		if (d->fhash) {
			memcpy(d->fwant, h->sha256, sizeof(d->fwant));
			/* One pipe (and thread) for the folder's files. */
			if ((!d->hp && uk_hashpipe_new(&d->hp) < 0) ||
			    uk_hashpipe_begin(d->hp) < 0) {
				files_dl_fail(a, d, "cannot start hashing (out of memory?)");
				return false;
			}
		} else {
			d->dir_sha_ok = false;
		}
		if (!d->left)
			finish_file(a, d);
		return true;
	default: /* SKIP */
		d->left = h->size;
		d->discard = true;
		return true;
	}
}

/* n bytes of the current file of a folder stream: written (unless the
 * file is being skipped), hashed, counted; the file finished at its last
 * byte. False when the download failed. */
static bool dir_file_data(struct app *a, struct dl *d, const unsigned char *buf, size_t n)
{
	if (!d->discard && write(d->out, buf, n) != (ssize_t)n) {
		files_dl_fail(a, d, errno == ENOSPC ? "disk full" : "write error");
		return false;
	}
	if (!d->discard && d->fhash)
		uk_hashpipe_feed(d->hp, buf, n);
	d->left -= n;
	d->got += n;
	if (!d->left)
		finish_file(a, d);
	return true;
}

/* Reads a folder stream's bytes. Returns what dl_recv read (> 0); or 0
 * when there is nothing to read now (EAGAIN, EINTR) or the fetch failed
 * (an error, or the peer closing before the stream's end), the failure
 * reported: either way the caller returns to the loop. */
static ssize_t dir_recv(struct app *a, struct dl *d, void *buf, size_t cap)
{
	ssize_t n = dl_recv(d, buf, cap);

	if (n < 0 && errno != EAGAIN && errno != EINTR)
		files_dl_fail(a, d, strerror(errno));
	else if (n == 0)
		files_dl_fail(a, d, "the peer closed the folder stream early");
	return n > 0 ? n : 0;
}

void files_dl_dir(struct app *a, struct dl *d)
{
	for (int rounds = 0; rounds < 64 && d->st == D_DIR; rounds++) {
		if (d->left) {
			unsigned char *buf = F(a)->iobuf;
			size_t cap = d->left < CHUNK ? (size_t)d->left : CHUNK;
			ssize_t n = dir_recv(a, d, buf, cap);
			if (n <= 0)
				return;
			if (!dir_file_data(a, d, buf, (size_t)n))
				return;
			continue;
		}
		{
			struct uk_dirhdr h;
			ssize_t n;
			int k = uk_dirhdr_parse(d->buf, d->buf_len, &h);
			if (k < 0) {
				files_dl_fail(a, d, "malformed folder stream header");
				return;
			}
			if (k > 0) {
				memmove(d->buf, d->buf + k, d->buf_len - (size_t)k);
				d->buf_len -= (size_t)k;
				/* Data already read past the header belongs to the file. */
				if (!dl_dir_header(a, d, &h))
					return;
				if (d->left && d->buf_len) {
					size_t take =
					    d->buf_len < d->left ? d->buf_len : (size_t)d->left;
					if (!dir_file_data(a, d, d->buf, take))
						return;
					memmove(d->buf, d->buf + take, d->buf_len - take);
					d->buf_len -= take;
				}
				continue;
			}
			/* A header comes in pieces: read only up to what it may
			 * need, so file data stays in the socket. */
			n = dir_recv(a, d, d->buf + d->buf_len, UK_DIRHDR_MAX - d->buf_len);
			if (n <= 0)
				return;
			d->buf_len += (size_t)n;
		}
	}
}
