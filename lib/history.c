/* history.c: the chat history file (see include/udpkit/history.h and
 * docs/history.md): one event per line, every field escaped so that no
 * message can break a line or forge another; a writer thread with a
 * bounded queue that writes each line with one write() on an O_APPEND
 * descriptor; a reader that counts bad lines and tolerates a torn last one. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "udpkit/err.h"
#include "udpkit/history.h"
#include "udpkit/text.h"
#include "udpkit/wire.h"

#define NS_PER_SEC 1000000000ull
#define NS_PER_MS 1000000ull
#define TIME_LEN 24 /* "2026-11-26T10:22:33.123Z" */
#define FIELDS 7

static const char *const kind_names[UK_HIST_KIND_COUNT] = {
    [UK_HIST_RECV] = "recv",
    [UK_HIST_SENT] = "sent",
    [UK_HIST_DELIVERED] = "delivered",
    [UK_HIST_UNDELIVERED] = "undelivered",
};

const char *uk_history_kind_name(enum uk_history_kind k)
{
	if ((unsigned)k >= UK_HIST_KIND_COUNT)
		return "?";
	return kind_names[k];
}

/* ---- time ------------------------------------------------------------- */

/* v as exactly n decimal digits (v < 10^n). */
static void put_digits(char *out, unsigned v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		out[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

int uk_history_time_format(uint64_t time_ns, char out[UK_HISTORY_TIME_LEN + 1])
{
	time_t sec = (time_t)(time_ns / NS_PER_SEC);
	struct tm tm;

	/* By hand rather than strftime(): no locale, no truncation warnings. */
	if (!gmtime_r(&sec, &tm) || tm.tm_year + 1900 > 9999)
		return UK_ERANGE_;
	memcpy(out, "0000-00-00T00:00:00.000Z", UK_HISTORY_TIME_LEN + 1);
	put_digits(out, (unsigned)(tm.tm_year + 1900), 4);
	put_digits(out + 5, (unsigned)tm.tm_mon + 1, 2);
	put_digits(out + 8, (unsigned)tm.tm_mday, 2);
	put_digits(out + 11, (unsigned)tm.tm_hour, 2);
	put_digits(out + 14, (unsigned)tm.tm_min, 2);
	put_digits(out + 17, (unsigned)tm.tm_sec, 2);
	put_digits(out + 20, (unsigned)(time_ns % NS_PER_SEC / NS_PER_MS), 3);
	return UK_HISTORY_TIME_LEN;
}

/* n decimal digits at p into *v; -1 if any is not a digit. */
static int digits(const char *p, size_t n, int *v)
{
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		*v = *v * 10 + (p[i] - '0');
	}
	return 0;
}

/* A calendar date and time (UTC) to seconds since the epoch, refusing
 * fields out of range (timegm() would normalise "02-31" to March). */
static int civil_to_epoch(int year, int mon, int day, int hour, int min, int sec, int64_t *out)
{
	struct tm tm = {.tm_year = year - 1900,
			.tm_mon = mon - 1,
			.tm_mday = day,
			.tm_hour = hour,
			.tm_min = min,
			.tm_sec = sec};
	time_t t;

	if (year < 1970 || mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 ||
	    sec > 59)
		return UK_EPARSE;
	t = timegm(&tm);
	if (t == (time_t)-1 || tm.tm_mday != day || tm.tm_mon != mon - 1)
		return UK_EPARSE;
	*out = (int64_t)t;
	return 0;
}

/* Exactly "YYYY-MM-DDTHH:MM:SS.mmmZ". */
static int time_parse(const char *p, size_t n, uint64_t *ns)
{
	int y, mo, d, h, mi, s, ms;
	int64_t t;

	if (n != TIME_LEN || p[4] != '-' || p[7] != '-' || p[10] != 'T' || p[13] != ':' ||
	    p[16] != ':' || p[19] != '.' || p[23] != 'Z')
		return UK_EPARSE;
	if (digits(p, 4, &y) || digits(p + 5, 2, &mo) || digits(p + 8, 2, &d) ||
	    digits(p + 11, 2, &h) || digits(p + 14, 2, &mi) || digits(p + 17, 2, &s) ||
	    digits(p + 20, 3, &ms))
		return UK_EPARSE;
	/* uint64_t nanoseconds end in 2554. */
	if (civil_to_epoch(y, mo, d, h, mi, s, &t) < 0 || (uint64_t)t >= UINT64_MAX / NS_PER_SEC)
		return UK_EPARSE;
	*ns = (uint64_t)t * NS_PER_SEC + (uint64_t)ms * NS_PER_MS;
	return 0;
}

int uk_history_since_parse(const char *s, uint64_t now_ns, uint64_t *out_ns)
{
	size_t n = strlen(s), i = 0;
	int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;
	int64_t t, offset_s = 0;

	/* Relative: a count and one unit, "90s", "15m", "2h", "3d", "1w". */
	if (n >= 2 && s[n - 1] >= 'a' && strchr("smhdw", s[n - 1])) {
		static const uint64_t unit_s[] = {['s' - 'a'] = 1,
						  ['m' - 'a'] = 60,
						  ['h' - 'a'] = 3600,
						  ['d' - 'a'] = 86400,
						  ['w' - 'a'] = 604800};
		uint64_t v = 0, span;
		for (i = 0; i + 1 < n; i++) {
			if (s[i] < '0' || s[i] > '9' || v > 1000000000ull)
				return UK_EPARSE;
			v = v * 10 + (uint64_t)(s[i] - '0');
		}
		span = v * unit_s[s[n - 1] - 'a'] * NS_PER_SEC;
		*out_ns = span >= now_ns ? 0 : now_ns - span;
		return 0;
	}
	/* Absolute, ISO 8601 in UTC unless a zone is given: YYYY-MM-DD, then
	 * optionally T or space, HH:MM, :SS, .mmm, and Z or +HH:MM / -HH:MM. */
	if (n < 10 || s[4] != '-' || s[7] != '-' || digits(s, 4, &y) || digits(s + 5, 2, &mo) ||
	    digits(s + 8, 2, &d))
		return UK_EPARSE;
	i = 10;
	if (i < n && (s[i] == 'T' || s[i] == ' ')) {
		if (n < i + 6 || digits(s + i + 1, 2, &h) || s[i + 3] != ':' ||
		    digits(s + i + 4, 2, &mi))
			return UK_EPARSE;
		i += 6;
		if (i < n && s[i] == ':') {
			if (n < i + 3 || digits(s + i + 1, 2, &sec))
				return UK_EPARSE;
			i += 3;
			if (i < n && s[i] == '.') {
				if (n < i + 4 || digits(s + i + 1, 3, &ms))
					return UK_EPARSE;
				i += 4;
			}
		}
	}
	if (i < n && s[i] == 'Z') {
		i++;
	} else if (i < n && (s[i] == '+' || s[i] == '-')) {
		int oh, om;
		if (n < i + 6 || digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
		    digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
			return UK_EPARSE;
		offset_s = ((int64_t)oh * 3600 + (int64_t)om * 60) * (s[i] == '+' ? 1 : -1);
		i += 6;
	}
	if (i != n || civil_to_epoch(y, mo, d, h, mi, sec, &t) < 0)
		return UK_EPARSE;
	t -= offset_s;
	if (t >= 0 && (uint64_t)t >= UINT64_MAX / NS_PER_SEC)
		return UK_EPARSE;
	*out_ns = t < 0 ? 0 : (uint64_t)t * NS_PER_SEC + (uint64_t)ms * NS_PER_MS;
	return 0;
}

/* ---- one line ----------------------------------------------------------- */

static size_t put_u64(char *out, uint64_t v)
{
	char tmp[24];
	size_t i = sizeof(tmp), n;
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	n = sizeof(tmp) - i;
	memcpy(out, tmp + i, n);
	return n;
}

int uk_history_format(const struct uk_history_entry *e, char *out, size_t cap)
{
	const char *kind = uk_history_kind_name(e->kind);
	size_t o = 0, peer_len = strnlen(e->peer, sizeof(e->peer)),
	       nick_len = strnlen(e->nick, sizeof(e->nick));
	char num[2][24];
	size_t num_len[2];
	int n;

	if ((unsigned)e->kind >= UK_HIST_KIND_COUNT || peer_len == sizeof(e->peer) ||
	    nick_len == sizeof(e->nick))
		return UK_EPARSE;
	/* Fixed parts first: time, kind and the numbers, with their tabs. */
	num_len[0] = put_u64(num[0], e->msg_id);
	num_len[1] = put_u64(num[1], e->text_len);
	if (cap < TIME_LEN + 1 + strlen(kind) + 1 + 2 + num_len[0] + 1 + num_len[1] + 1 + 2)
		return UK_ENOSPACE;
	n = uk_history_time_format(e->time_ns, out);
	if (n < 0)
		return n;
	o = (size_t)n;
	out[o++] = '\t';
	memcpy(out + o, kind, strlen(kind));
	o += strlen(kind);
	out[o++] = '\t';
	/* The escaped fields hold no tab, newline or control byte. */
	n = uk_text_escape(e->peer, peer_len, out + o, cap - o);
	if (n < 0 || cap - o - (size_t)n < 2)
		return UK_ENOSPACE;
	o += (size_t)n;
	out[o++] = '\t';
	n = uk_text_escape(e->nick, nick_len, out + o, cap - o);
	if (n < 0 || cap - o - (size_t)n < num_len[0] + num_len[1] + 4)
		return UK_ENOSPACE;
	o += (size_t)n;
	out[o++] = '\t';
	memcpy(out + o, num[0], num_len[0]);
	o += num_len[0];
	out[o++] = '\t';
	memcpy(out + o, num[1], num_len[1]);
	o += num_len[1];
	out[o++] = '\t';
	n = uk_text_escape(e->text, e->text_len, out + o, cap - o);
	if (n < 0 || cap - o - (size_t)n < 2)
		return UK_ENOSPACE;
	o += (size_t)n;
	out[o++] = '\n';
	out[o] = '\0';
	return (int)o;
}

static int parse_u64_field(const unsigned char *p, size_t n, uint64_t *v)
{
	*v = 0;
	/* Canonical decimal only: no sign, no leading zero, at most 20 digits. */
	if (n == 0 || n > 20 || (n > 1 && p[0] == '0'))
		return UK_EPARSE;
	for (size_t i = 0; i < n; i++) {
		uint64_t d;
		if (p[i] < '0' || p[i] > '9')
			return UK_EPARSE;
		d = (uint64_t)(p[i] - '0');
		if (*v > (UINT64_MAX - d) / 10)
			return UK_EPARSE;
		*v = *v * 10 + d;
	}
	return 0;
}

/* Unescapes a string field into a NUL-terminated fixed array: the result
 * must fit with its NUL and hold no NUL itself. */
static int unescape_str(const unsigned char *p, size_t n, char *out, size_t cap)
{
	int m = uk_text_unescape((const char *)p, n, out, cap - 1);
	if (m < 0 || memchr(out, '\0', (size_t)m))
		return UK_EPARSE;
	out[m] = '\0';
	return 0;
}

int uk_history_parse(const char *line, size_t len, struct uk_history_entry *e,
		     unsigned char *textbuf, size_t cap)
{
	struct uk_wire_reader r;
	const unsigned char *field[FIELDS];
	size_t flen[FIELDS];
	uint64_t text_len;
	int kind = -1, m;

	if (len > 0 && line[len - 1] == '\n')
		len--;
	/* Split on tabs through the bounds-checked reader: seven fields, the
	 * last one running to the end of the line. */
	uk_wire_reader_init(&r, line, len);
	for (int f = 0; f < FIELDS; f++) {
		const unsigned char *start = r.p + r.off;
		const unsigned char *tab =
		    f < FIELDS - 1 ? memchr(start, '\t', uk_wire_reader_left(&r)) : NULL;
		size_t n = tab ? (size_t)(tab - start) : uk_wire_reader_left(&r);
		if (f < FIELDS - 1 && !tab)
			return UK_EPARSE;
		field[f] = uk_wire_read_bytes(&r, n);
		flen[f] = n;
		if (f < FIELDS - 1)
			(void)uk_wire_read_u8(&r);
	}
	if (r.err || memchr(line, '\n', len) || memchr(line, '\0', len))
		return UK_EPARSE;

	memset(e, 0, sizeof(*e));
	if (time_parse((const char *)field[0], flen[0], &e->time_ns) < 0)
		return UK_EPARSE;
	for (int k = 0; k < UK_HIST_KIND_COUNT; k++)
		if (flen[1] == strlen(kind_names[k]) &&
		    memcmp(field[1], kind_names[k], flen[1]) == 0)
			kind = k;
	if (kind < 0)
		return UK_EPARSE;
	e->kind = (enum uk_history_kind)kind;
	if (unescape_str(field[2], flen[2], e->peer, sizeof(e->peer)) < 0 ||
	    unescape_str(field[3], flen[3], e->nick, sizeof(e->nick)) < 0 ||
	    parse_u64_field(field[4], flen[4], &e->msg_id) < 0 ||
	    parse_u64_field(field[5], flen[5], &text_len) < 0)
		return UK_EPARSE;
	if (text_len > cap)
		return UK_ENOSPACE;
	/* The byte count catches a line cut inside its text by a crash and
	 * later completed by a '\n' (see uk_history_writer_open). */
	m = uk_text_unescape((const char *)field[6], flen[6], textbuf, cap);
	if (m < 0 || (uint64_t)m != text_len)
		return UK_EPARSE;
	e->text = textbuf;
	e->text_len = (size_t)m;
	return 0;
}

/* ---- the writer ----------------------------------------------------------- */

struct line {
	struct line *next;
	size_t len;
	char text[];
};

struct uk_history_writer {
	int fd;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct line *head, **tail; /* queue, oldest first */
	size_t queued_lines, queued_bytes;
	size_t max_lines, max_bytes;
	uint64_t lost;
	bool stop;
	int error; /* first write error, -errno */
};

/* One write() per line; a short write (disk full) is finished so the
 * line is not left torn, and the first error is kept for close(). */
static int write_line(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void *writer_main(void *arg)
{
	struct uk_history_writer *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct line *batch;
		while (!w->head && !w->stop)
			pthread_cond_wait(&w->wake, &w->lock);
		if (!w->head)
			break;
		/* Take the whole queue and write it without the lock, so the
		 * producers never wait on the disk. */
		batch = w->head;
		w->head = NULL;
		w->tail = &w->head;
		pthread_mutex_unlock(&w->lock);
		while (batch) {
			struct line *next = batch->next;
			int rc = write_line(w->fd, batch->text, batch->len);
			pthread_mutex_lock(&w->lock);
			if (rc < 0 && w->error == 0)
				w->error = rc;
			w->queued_lines--;
			w->queued_bytes -= batch->len;
			pthread_mutex_unlock(&w->lock);
			free(batch);
			batch = next;
		}
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* A file that does not end in '\n' was cut by a crash in mid-line: end
 * that line so the next one starts on its own. An empty new file gets the
 * header comment. Only regular files: a FIFO or /dev/null has no end. */
static int repair_tail(int fd)
{
	static const char header[] = "# udpkit chat history v1: time kind peer nick id bytes text "
				     "(tab-separated, escaped; see udpkit-history(1))\n";
	struct stat st;
	char last;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return 0;
	if (st.st_size == 0)
		return write_line(fd, header, sizeof(header) - 1);
	do
		n = pread(fd, &last, 1, st.st_size - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EBADF ? 0 : -errno; /* write-only: cannot check */
	if (n == 1 && last != '\n')
		return write_line(fd, "\n", 1);
	return 0;
}

int uk_history_writer_open_limits(const char *path, size_t max_lines, size_t max_bytes,
				  struct uk_history_writer **out)
{
	struct uk_history_writer *w = NULL;
	sigset_t all, old;
	int fd = -1, rc;

	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 && (errno == EACCES || errno == EISDIR || errno == ENXIO))
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		goto fail;
	}
	rc = repair_tail(fd);
	if (rc < 0)
		goto fail;
	w = calloc(1, sizeof(*w));
	if (!w) {
		rc = -ENOMEM;
		goto fail;
	}
	w->fd = fd;
	w->tail = &w->head;
	w->max_lines = max_lines ? max_lines : 1;
	w->max_bytes = max_bytes;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	/* The thread takes no signals: they belong to the program's loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = -pthread_create(&w->thread, NULL, writer_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc < 0) {
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->wake);
		goto fail;
	}
	*out = w;
	return 0;
fail:
	free(w);
	if (fd >= 0)
		close(fd);
	return rc;
}

int uk_history_writer_open(const char *path, struct uk_history_writer **out)
{
	return uk_history_writer_open_limits(path, UK_HISTORY_QUEUE_LINES, UK_HISTORY_QUEUE_BYTES,
					     out);
}

int uk_history_writer_append(struct uk_history_writer *w, const struct uk_history_entry *e)
{
	size_t cap;
	struct line *l;
	int n;

	if (e->text_len > UK_HISTORY_TEXT_MAX) {
		pthread_mutex_lock(&w->lock);
		w->lost++;
		pthread_mutex_unlock(&w->lock);
		return -EMSGSIZE;
	}
	/* Formatted here, in the caller's thread: the entry's strings need
	 * not outlive the call, and the writer only writes. */
	cap = UK_HISTORY_LINE_MAX(e->text_len);
	l = malloc(sizeof(*l) + cap);
	if (!l)
		return -ENOMEM;
	n = uk_history_format(e, l->text, cap);
	if (n < 0) {
		free(l);
		return n;
	}
	l->len = (size_t)n;
	l->next = NULL;
	pthread_mutex_lock(&w->lock);
	if (w->stop || w->queued_lines + 1 > w->max_lines ||
	    w->queued_bytes + l->len > w->max_bytes) {
		w->lost++;
		pthread_mutex_unlock(&w->lock);
		free(l);
		return -ENOSPC;
	}
	*w->tail = l;
	w->tail = &l->next;
	w->queued_lines++;
	w->queued_bytes += l->len;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

uint64_t uk_history_writer_lost(struct uk_history_writer *w)
{
	uint64_t lost;
	pthread_mutex_lock(&w->lock);
	lost = w->lost;
	pthread_mutex_unlock(&w->lock);
	return lost;
}

int uk_history_writer_close(struct uk_history_writer *w)
{
	int rc;

	if (!w)
		return 0;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	rc = w->error;
	if (close(w->fd) < 0 && rc == 0 && errno != EINTR)
		rc = -errno;
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->wake);
	free(w);
	return rc;
}

/* ---- the reader ------------------------------------------------------------- */

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
