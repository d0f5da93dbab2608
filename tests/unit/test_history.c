/* Unit tests for lib/history.c: the line format round-trips any message
 * exactly, a torn line never passes for a whole one, the reader tolerates a
 * torn last line, the writer's queue is bounded, --since parses. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "udpkit/err.h"
#include "udpkit/history.h"

#define T0 1795688553123000000ull /* 2026-11-26T10:22:33.123Z */

static struct uk_history_entry entry(enum uk_history_kind kind, const char *peer, const char *nick,
				     uint64_t id, const void *text, size_t len)
{
	struct uk_history_entry e = {
	    .time_ns = T0, .kind = kind, .msg_id = id, .text = text, .text_len = len};
	snprintf(e.peer, sizeof(e.peer), "%s", peer);
	snprintf(e.nick, sizeof(e.nick), "%s", nick);
	return e;
}

static void assert_entry_equal(const struct uk_history_entry *a, const struct uk_history_entry *b)
{
	assert_int_equal(a->time_ns, b->time_ns);
	assert_int_equal(a->kind, b->kind);
	assert_string_equal(a->peer, b->peer);
	assert_string_equal(a->nick, b->nick);
	assert_int_equal(a->msg_id, b->msg_id);
	assert_int_equal(a->text_len, b->text_len);
	if (a->text_len)
		assert_memory_equal(a->text, b->text, a->text_len);
}

static void roundtrip(const struct uk_history_entry *e)
{
	size_t cap = UK_HISTORY_LINE_MAX(e->text_len);
	char *line = malloc(cap);
	unsigned char *text = malloc(e->text_len + 1);
	struct uk_history_entry back;
	int n;

	assert_non_null(line);
	n = uk_history_format(e, line, cap);
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(line));
	assert_int_equal(line[n - 1], '\n');
	/* One line whatever the message holds: no other newline, no control. */
	for (int i = 0; i < n - 1; i++)
		assert_true((unsigned char)line[i] >= 0x20 || line[i] == '\t');
	assert_int_equal(uk_history_parse(line, (size_t)n, &back, text, e->text_len + 1), 0);
	assert_entry_equal(e, &back);
	free(line);
	free(text);
}

static void test_format_exact(void **state)
{
	struct uk_history_entry e =
	    entry(UK_HIST_RECV, "10.0.0.2:2425", "al\tice", 42, "hi\nthere", 8);
	char line[512];
	(void)state;
	assert_int_equal(uk_history_format(&e, line, sizeof(line)), 67);
	assert_string_equal(
	    line, "2026-11-26T10:22:33.123Z\trecv\t10.0.0.2:2425\tal\\tice\t42\t8\thi\\nthere\n");
}

static void test_roundtrip_any_bytes(void **state)
{
	unsigned char all[600];
	struct uk_history_entry e;
	(void)state;
	for (size_t i = 0; i < sizeof(all); i++)
		all[i] = (unsigned char)(i * 13 + i / 256);
	e = entry(UK_HIST_SENT, "[fe80::1%eth0]:2425", "\xe5\xbc\xa0\xe4\xb8\x89", 4294967295u, all,
		  sizeof(all));
	roundtrip(&e);
	e = entry(UK_HIST_DELIVERED, "127.0.0.1:8080", "", 0, "", 0);
	roundtrip(&e);
	e = entry(UK_HIST_UNDELIVERED, "h", "\x1b[31m\\x41", UINT64_MAX, "a\0b\r\n\t\\\xff\xfe",
		  10);
	roundtrip(&e);
	/* Invalid UTF-8, a cut sequence, bidi override, C1, NUL at the end. */
	e = entry(UK_HIST_RECV, "1.2.3.4:5", "\xe2\x80\xae", 7,
		  "\xe4\xbd\xa0\xe4\xbd\xe2\x80\xae\xc2\x9b\xc0\xaf\0", 13);
	roundtrip(&e);
	e.time_ns = 0;
	roundtrip(&e);
}

static void test_format_rejects(void **state)
{
	struct uk_history_entry e = entry(UK_HIST_RECV, "p", "n", 1, "text", 4);
	char small[40];
	(void)state;
	assert_int_equal(uk_history_format(&e, small, sizeof(small)), UK_ENOSPACE);
	e.kind = UK_HIST_KIND_COUNT;
	assert_int_equal(uk_history_format(&e, small, sizeof(small)), UK_EPARSE);
}

static int parse_str(const char *line)
{
	struct uk_history_entry e;
	unsigned char text[256];
	return uk_history_parse(line, strlen(line), &e, text, sizeof(text));
}

static void test_parse_rejects(void **state)
{
	(void)state;
	assert_int_equal(parse_str("2026-11-26T10:22:33.123Z\trecv\tp\tn\t1\t2\thi"), 0);
	assert_int_equal(parse_str("2026-11-26T10:22:33.123Z\trecv\tp\tn\t1\t2\thi\n"), 0);
	assert_int_equal(parse_str(""), UK_EPARSE);
	assert_int_equal(parse_str("2026-11-26T10:22:33.123Z\trecv\tp\tn\t1\t2"), UK_EPARSE);
	assert_int_equal(parse_str("2026-11-26T10:22:33.123Z\trecv\tp\tn\t1\t3\thi"), UK_EPARSE);
	assert_int_equal(parse_str("2026-11-26T10:22:33.123Z\trecv\tp\tn\t01\t2\thi"), UK_EPARSE);
	assert_int_equal(parse_str("2026-11-26T10:22:33.123Z\trecv\tp\tn\t-1\t2\thi"), UK_EPARSE);
	assert_int_equal(
	    parse_str("2026-11-26T10:22:33.123Z\trecv\tp\tn\t18446744073709551616\t2\thi"),
	    UK_EPARSE);
	assert_int_equal(parse_str("2026-11-26T10:22:33.123Z\tRECV\tp\tn\t1\t2\thi"), UK_EPARSE);
	assert_int_equal(parse_str("2026-02-30T10:22:33.123Z\trecv\tp\tn\t1\t2\thi"), UK_EPARSE);
	assert_int_equal(parse_str("2026-11-26 10:22:33.123Z\trecv\tp\tn\t1\t2\thi"), UK_EPARSE);
	assert_int_equal(parse_str("2026-11-26T10:22:33.123Z\trecv\tp\tn\t1\t2\th\ti"), UK_EPARSE);
	assert_int_equal(parse_str("2026-11-26T10:22:33.123Z\trecv\tp\tn\t1\t2\th\n"), UK_EPARSE);
	assert_int_equal(parse_str("2026-11-26T10:22:33.123Z\trecv\tp\\x00\tn\t1\t2\thi"),
			 UK_EPARSE);
	assert_int_equal(parse_str("2026-11-26T10:22:33.123Z\trecv\tp\tn\t1\t1\t\\q"), UK_EPARSE);
	assert_int_equal(parse_str("2026-11-26T10:22:33.123Z\trecv\tp\tn\t1\t2\thi\n\n"),
			 UK_EPARSE);
	{
		struct uk_history_entry e;
		unsigned char text[1];
		const char *l = "2026-11-26T10:22:33.123Z\trecv\tp\tn\t1\t2\thi";
		assert_int_equal(uk_history_parse(l, strlen(l), &e, text, sizeof(text)),
				 UK_ENOSPACE);
	}
}

/* A crash cuts a line at any byte; the next open ends it with '\n'. No
 * such prefix may pass for an entry, whatever the text holds. */
static void test_every_prefix_is_rejected(void **state)
{
	const char *texts[] = {"hello world", "a\\b\nc", "\xe4\xbd\xa0\xe5\xa5\xbd", "12345"};
	(void)state;
	for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++) {
		struct uk_history_entry e =
		    entry(UK_HIST_RECV, "10.0.0.2:2425", "bob", 123, texts[t], strlen(texts[t]));
		char line[512];
		int n = uk_history_format(&e, line, sizeof(line));
		assert_true(n > 0);
		for (int cut = 0; cut < n - 1; cut++) {
			struct uk_history_entry back;
			unsigned char text[512];
			if (uk_history_parse(line, (size_t)cut, &back, text, sizeof(text)) == 0)
				fail_msg("prefix of %d bytes of text %zu parsed", cut, t);
		}
	}
}

static char tmpdir[64];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/uk_hist_XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

struct collect {
	struct uk_history_entry e[64];
	unsigned char text[64][256];
	int n;
};

static int collect_cb(void *user, const struct uk_history_entry *e)
{
	struct collect *c = user;
	if (c->n < 64) {
		c->e[c->n] = *e;
		memcpy(c->text[c->n], e->text, e->text_len < 256 ? e->text_len : 256);
		c->e[c->n].text = c->text[c->n];
		c->n++;
	}
	return 0;
}

static void write_file(const char *path, const char *data, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	close(fd);
}

static void test_torn_last_line(void **state)
{
	char path[128], lines[3][256], file[1024] = "";
	struct uk_history_entry e[3] = {
	    entry(UK_HIST_RECV, "10.0.0.2:2425", "a", 1, "one", 3),
	    entry(UK_HIST_SENT, "10.0.0.2:2425", "a", 2, "two\nlines", 9),
	    entry(UK_HIST_RECV, "10.0.0.2:2425", "a", 3, "three", 5),
	};
	struct collect *c = calloc(1, sizeof(*c));
	struct uk_history_writer *w;
	uint64_t bad = 99;
	bool torn = false;
	size_t len = 0;
	(void)state;

	snprintf(path, sizeof(path), "%s/torn.txt", tmpdir);
	for (int i = 0; i < 3; i++) {
		int n = uk_history_format(&e[i], lines[i], sizeof(lines[i]));
		memcpy(file + len, lines[i], (size_t)n);
		len += (size_t)n;
	}
	/* The third line cut inside its text, as by kill -9. */
	len -= 3;
	write_file(path, file, len);
	assert_int_equal(uk_history_read(path, collect_cb, c, &bad, &torn), 0);
	assert_int_equal(c->n, 2);
	assert_int_equal(bad, 0);
	assert_true(torn);
	assert_entry_equal(&c->e[1], &e[1]);

	/* Reopened for writing: the torn line is ended, the new one is whole. */
	assert_int_equal(uk_history_writer_open(path, &w), 0);
	assert_int_equal(uk_history_writer_append(w, &e[2]), 0);
	assert_int_equal(uk_history_writer_close(w), 0);
	c->n = 0;
	assert_int_equal(uk_history_read(path, collect_cb, c, &bad, &torn), 0);
	assert_int_equal(c->n, 3);
	assert_int_equal(bad, 1);
	assert_false(torn);
	assert_entry_equal(&c->e[2], &e[2]);
	free(c);
}

static int stop_after_two(void *user, const struct uk_history_entry *e)
{
	int *n = user;
	(void)e;
	return ++*n == 2;
}

static void test_writer_many_and_mode(void **state)
{
	char path[128];
	struct uk_history_writer *w;
	struct stat st;
	uint64_t bad;
	bool torn;
	int seen = 0;
	mode_t old = umask(0);
	(void)state;

	snprintf(path, sizeof(path), "%s/many.txt", tmpdir);
	assert_int_equal(uk_history_writer_open(path, &w), 0);
	umask(old);
	for (int i = 0; i < 1000; i++) {
		char text[32];
		int n = snprintf(text, sizeof(text), "message %d\n", i);
		struct uk_history_entry e =
		    entry(UK_HIST_RECV, "127.0.0.1:1", "n", (uint64_t)i + 1, text, (size_t)n);
		assert_int_equal(uk_history_writer_append(w, &e), 0);
	}
	assert_int_equal(uk_history_writer_lost(w), 0);
	assert_int_equal(uk_history_writer_close(w), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(uk_history_read(path, stop_after_two, &seen, &bad, &torn), 0);
	assert_int_equal(seen, 2); /* the callback stopped the read */
	assert_int_equal(uk_history_writer_close(NULL), 0);
	assert_int_equal(uk_history_read("/nonexistent/x", stop_after_two, &seen, NULL, NULL),
			 -ENOENT);
}

struct drain {
	int fd;
	size_t want, got;
	char *buf;
};

static void *drain_main(void *arg)
{
	struct drain *d = arg;
	int flags = fcntl(d->fd, F_GETFL);
	fcntl(d->fd, F_SETFL, flags & ~O_NONBLOCK);
	while (d->got < d->want) {
		ssize_t n = read(d->fd, d->buf + d->got, d->want - d->got);
		if (n <= 0)
			break;
		d->got += (size_t)n;
	}
	return NULL;
}

/* The writer is stuck on a full pipe: the queue takes max_lines events, the
 * next is refused at once (the UI never waits) and counted lost. */
static void test_queue_bound(void **state)
{
	char path[128];
	struct uk_history_writer *w;
	struct drain d = {0};
	pthread_t tid;
	size_t big = 100000, line_len;
	unsigned char *text = malloc(big);
	char *line = malloc(UK_HISTORY_LINE_MAX(big));
	struct uk_history_entry e;
	(void)state;

	memset(text, 'x', big);
	e = entry(UK_HIST_RECV, "127.0.0.1:1", "n", 1, text, big);
	line_len = (size_t)uk_history_format(&e, line, UK_HISTORY_LINE_MAX(big));
	snprintf(path, sizeof(path), "%s/fifo", tmpdir);
	assert_int_equal(mkfifo(path, 0600), 0);
	d.fd = open(path, O_RDONLY | O_NONBLOCK);
	assert_true(d.fd >= 0);
	assert_int_equal(uk_history_writer_open_limits(path, 4, 1 << 30, &w), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(uk_history_writer_append(w, &e), 0);
	assert_int_equal(uk_history_writer_append(w, &e), -ENOSPC);
	assert_int_equal(uk_history_writer_append(w, &e), -ENOSPC);
	assert_int_equal(uk_history_writer_lost(w), 2);

	d.want = 4 * line_len;
	d.buf = malloc(d.want);
	assert_int_equal(pthread_create(&tid, NULL, drain_main, &d), 0);
	assert_int_equal(uk_history_writer_close(w), 0);
	pthread_join(tid, NULL);
	assert_int_equal(d.got, d.want);
	for (int i = 0; i < 4; i++)
		assert_memory_equal(d.buf + (size_t)i * line_len, line, line_len);
	close(d.fd);
	free(d.buf);

	/* The byte bound works the same way, and too long a text is refused. */
	snprintf(path, sizeof(path), "%s/bytes.txt", tmpdir);
	assert_int_equal(uk_history_writer_open_limits(path, 100, line_len - 1, &w), 0);
	assert_int_equal(uk_history_writer_append(w, &e), -ENOSPC);
	e.text_len = UK_HISTORY_TEXT_MAX + 1;
	assert_int_equal(uk_history_writer_append(w, &e), -EMSGSIZE);
	assert_int_equal(uk_history_writer_lost(w), 2);
	assert_int_equal(uk_history_writer_close(w), 0);
	free(text);
	free(line);
}

static void test_reader_skips_junk(void **state)
{
	char path[128];
	struct collect *c = calloc(1, sizeof(*c));
	const char *good = "2026-11-26T10:22:33.123Z\trecv\tp\tn\t1\t2\thi\n";
	size_t huge = UK_HISTORY_LINE_MAX(UK_HISTORY_TEXT_MAX) + 10, len = 0;
	char *file = malloc(huge + 512);
	uint64_t bad;
	bool torn;
	(void)state;

	len += (size_t)snprintf(file + len, 512, "# comment\n\n%sgarbage\n", good);
	memset(file + len, 'z', huge);
	len += huge;
	len += (size_t)snprintf(file + len, 512, "\n%s", good);
	snprintf(path, sizeof(path), "%s/junk.txt", tmpdir);
	write_file(path, file, len);
	assert_int_equal(uk_history_read(path, collect_cb, c, &bad, &torn), 0);
	assert_int_equal(c->n, 2);
	assert_int_equal(bad, 2);
	assert_false(torn);
	free(file);
	free(c);
}

static void test_since_parse(void **state)
{
	uint64_t ns, now = T0;
	(void)state;
	assert_int_equal(uk_history_since_parse("2026-11-26", now, &ns), 0);
	assert_int_equal(ns, 1795651200ull * 1000000000ull);
	assert_int_equal(uk_history_since_parse("2026-11-26T10:22", now, &ns), 0);
	assert_int_equal(ns, 1795688520ull * 1000000000ull);
	assert_int_equal(uk_history_since_parse("2026-11-26 10:22:33", now, &ns), 0);
	assert_int_equal(ns, 1795688553ull * 1000000000ull);
	assert_int_equal(uk_history_since_parse("2026-11-26T10:22:33.123Z", now, &ns), 0);
	assert_int_equal(ns, T0);
	assert_int_equal(uk_history_since_parse("2026-11-26T18:22:33.123+08:00", now, &ns), 0);
	assert_int_equal(ns, T0);
	assert_int_equal(uk_history_since_parse("2h", now, &ns), 0);
	assert_int_equal(ns, T0 - 7200ull * 1000000000ull);
	assert_int_equal(uk_history_since_parse("90s", now, &ns), 0);
	assert_int_equal(ns, T0 - 90ull * 1000000000ull);
	assert_int_equal(uk_history_since_parse("1w", now, &ns), 0);
	assert_int_equal(uk_history_since_parse("100000w", now, &ns), 0);
	assert_int_equal(ns, 0);
	assert_int_equal(uk_history_since_parse("h", now, &ns), UK_EPARSE);
	assert_int_equal(uk_history_since_parse("2x", now, &ns), UK_EPARSE);
	assert_int_equal(uk_history_since_parse("-2h", now, &ns), UK_EPARSE);
	assert_int_equal(uk_history_since_parse("2026-13-01", now, &ns), UK_EPARSE);
	assert_int_equal(uk_history_since_parse("2026-02-29", now, &ns), UK_EPARSE);
	assert_int_equal(uk_history_since_parse("2026-11-26T10", now, &ns), UK_EPARSE);
	assert_int_equal(uk_history_since_parse("2026-11-26T10:22Zjunk", now, &ns), UK_EPARSE);
	assert_int_equal(uk_history_since_parse("yesterday", now, &ns), UK_EPARSE);
	assert_int_equal(uk_history_since_parse("99999999999999999999d", now, &ns), UK_EPARSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format_exact),
	    cmocka_unit_test(test_roundtrip_any_bytes),
	    cmocka_unit_test(test_format_rejects),
	    cmocka_unit_test(test_parse_rejects),
	    cmocka_unit_test(test_every_prefix_is_rejected),
	    cmocka_unit_test(test_torn_last_line),
	    cmocka_unit_test(test_writer_many_and_mode),
	    cmocka_unit_test(test_queue_bound),
	    cmocka_unit_test(test_reader_skips_junk),
	    cmocka_unit_test(test_since_parse),
	};
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
