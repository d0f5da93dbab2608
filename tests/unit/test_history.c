/* Unit tests for the history modules: history_line (the format round-trips
 * any message exactly, a torn line never passes for a whole one),
 * history_reader (a torn last line tolerated, junk counted, the rotated
 * part first), history_writer (written when append returns, a torn write
 * ended, a removed file created again, rotation, sync), history_file (the
 * checks before a file is used, the default location) and history_time
 * (--since in UTC and local time, the local display). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
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

/* A nick is a name: a joiner or another invisible character in it is
 * escaped in the file as on screen (uk_text_escape_name), while the same
 * joiner in the text, which shapes emoji, stays; both read back exact. */
static void test_nick_invisible_escaped(void **state)
{
	struct uk_history_entry e = entry(UK_HIST_RECV, "10.0.0.2:2425", "b\xe2\x80\x8dob", 42,
					  "\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb", 11);
	char line[512];
	(void)state;
	assert_true(uk_history_format(&e, line, sizeof(line)) > 0);
	assert_non_null(strstr(line, "\tb\\u200dob\t42\t11\t"));
	assert_non_null(strstr(line, "\xe2\x80\x8d\xf0\x9f\x92\xbb\n"));
	roundtrip(&e);
	e = entry(UK_HIST_RECV, "10.0.0.2:2425", "bo\xe2\x80\x8b\xef\xb8\x8f", 1, "x", 1);
	assert_true(uk_history_format(&e, line, sizeof(line)) > 0);
	assert_non_null(strstr(line, "\tbo\\u200b\\ufe0f\t"));
	roundtrip(&e);
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

static struct uk_history_writer *open_writer(const char *path, uint64_t max_size)
{
	struct uk_history_writer_cfg cfg = {.max_size_bytes = max_size};
	struct uk_history_writer *w = NULL;
	enum uk_history_problem why;
	assert_int_equal(uk_history_writer_open(path, &cfg, &w, &why), 0);
	return w;
}

static void append_ok(struct uk_history_writer *w, const struct uk_history_entry *e)
{
	enum uk_history_problem why;
	assert_int_equal(uk_history_writer_append(w, e, &why), 0);
}

static void test_torn_last_line(void **state)
{
	char path[128], lines[3][256], file[1024] = UK_HISTORY_HEADER;
	struct uk_history_entry e[3] = {
	    entry(UK_HIST_RECV, "10.0.0.2:2425", "a", 1, "one", 3),
	    entry(UK_HIST_SENT, "10.0.0.2:2425", "a", 2, "two\nlines", 9),
	    entry(UK_HIST_RECV, "10.0.0.2:2425", "a", 3, "three", 5),
	};
	struct collect *c = calloc(1, sizeof(*c));
	struct uk_history_writer *w;
	uint64_t bad = 99;
	bool torn = false;
	size_t len = strlen(file);
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
	w = open_writer(path, 0);
	append_ok(w, &e[2]);
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
	w = open_writer(path, 0);
	umask(old);
	for (int i = 0; i < 1000; i++) {
		char text[32];
		int n = snprintf(text, sizeof(text), "message %d\n", i);
		struct uk_history_entry e =
		    entry(UK_HIST_RECV, "127.0.0.1:1", "n", (uint64_t)i + 1, text, (size_t)n);
		append_ok(w, &e);
	}
	assert_int_equal(uk_history_writer_close(w), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(uk_history_read(path, stop_after_two, &seen, &bad, &torn), 0);
	assert_int_equal(seen, 2); /* the callback stopped the read */
	assert_int_equal(uk_history_writer_close(NULL), 0);
	assert_int_equal(uk_history_read("/nonexistent/x", stop_after_two, &seen, NULL, NULL),
			 -ENOENT);
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
	assert_int_equal(uk_history_since_parse("2026-11-26", now, true, &ns), 0);
	assert_int_equal(ns, 1795651200ull * 1000000000ull);
	assert_int_equal(uk_history_since_parse("2026-11-26T10:22", now, true, &ns), 0);
	assert_int_equal(ns, 1795688520ull * 1000000000ull);
	assert_int_equal(uk_history_since_parse("2026-11-26 10:22:33", now, true, &ns), 0);
	assert_int_equal(ns, 1795688553ull * 1000000000ull);
	assert_int_equal(uk_history_since_parse("2026-11-26T10:22:33.123Z", now, true, &ns), 0);
	assert_int_equal(ns, T0);
	assert_int_equal(uk_history_since_parse("2026-11-26T18:22:33.123+08:00", now, true, &ns),
			 0);
	assert_int_equal(ns, T0);
	assert_int_equal(uk_history_since_parse("2h", now, true, &ns), 0);
	assert_int_equal(ns, T0 - 7200ull * 1000000000ull);
	assert_int_equal(uk_history_since_parse("90s", now, true, &ns), 0);
	assert_int_equal(ns, T0 - 90ull * 1000000000ull);
	assert_int_equal(uk_history_since_parse("1w", now, true, &ns), 0);
	assert_int_equal(uk_history_since_parse("1.5h", now, true, &ns), 0);
	assert_int_equal(ns, T0 - 5400ull * 1000000000ull);
	/* Longer ago than the epoch: from the beginning. */
	assert_int_equal(uk_history_since_parse("3000w", now, true, &ns), 0);
	assert_int_equal(ns, 0);
	/* More than 2^63 ns: refused, not wrapped (30600w once became 5 days). */
	assert_int_equal(uk_history_since_parse("30600w", now, true, &ns), UK_ERANGE_);
	assert_int_equal(uk_history_since_parse("h", now, true, &ns), UK_EPARSE);
	assert_int_equal(uk_history_since_parse("2x", now, true, &ns), UK_EPARSE);
	assert_int_equal(uk_history_since_parse("-2h", now, true, &ns), UK_EPARSE);
	assert_int_equal(uk_history_since_parse("2026-13-01", now, true, &ns), UK_EPARSE);
	assert_int_equal(uk_history_since_parse("2026-02-29", now, true, &ns), UK_EPARSE);
	assert_int_equal(uk_history_since_parse("2026-11-26T10", now, true, &ns), UK_EPARSE);
	assert_int_equal(uk_history_since_parse("2026-11-26T10:22Zjunk", now, true, &ns),
			 UK_EPARSE);
	assert_int_equal(uk_history_since_parse("yesterday", now, true, &ns), UK_EPARSE);
	assert_int_equal(uk_history_since_parse("99999999999999999999d", now, true, &ns),
			 UK_ERANGE_);
}

static enum uk_history_problem open_problem(const char *path, bool own_dir)
{
	struct uk_history_writer_cfg cfg = {.own_dir = own_dir};
	struct uk_history_writer *w = NULL;
	enum uk_history_problem why = UK_HISTF_OK;
	int rc = uk_history_writer_open(path, &cfg, &w, &why);
	if (rc == 0) {
		uk_history_writer_close(w);
		return UK_HISTF_OK;
	}
	assert_int_equal(rc, -EPERM);
	return why;
}

/* The file cannot be turned against its owner: a planted link, a file of
 * another mode, owner or format, a directory others can write. */
static void test_file_checks(void **state)
{
	char dir[160], path[200], target[200];
	(void)state;

	snprintf(dir, sizeof(dir), "%s/checks", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/chat.txt", dir);
	snprintf(target, sizeof(target), "%s/bashrc", dir);
	write_file(target, "echo hi\n", 8);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(open_problem(path, false), UK_HISTF_SYMLINK);
	unlink(path);
	/* A dangling link would be created through: refused as well. */
	assert_int_equal(symlink("/nonexistent-udpkit", path), 0);
	assert_int_equal(open_problem(path, false), UK_HISTF_SYMLINK);
	unlink(path);
	write_file(path, UK_HISTORY_HEADER, strlen(UK_HISTORY_HEADER));
	assert_int_equal(open_problem(path, false), UK_HISTF_OK);
	chmod(path, 0644);
	assert_int_equal(open_problem(path, false), UK_HISTF_MODE);
	chmod(path, 0600);
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(open_problem(path, false), UK_HISTF_OWNER);
		assert_int_equal(chown(path, 0, 0), 0);
	}
	chmod(dir, 0770);
	assert_int_equal(open_problem(path, false), UK_HISTF_DIR);
	assert_int_equal(open_problem(path, true), UK_HISTF_OK); /* the user's own */
	chmod(dir, 01777);
	assert_int_equal(open_problem(path, false), UK_HISTF_DIR);
	chmod(dir, 0700);
	/* Not ours: the tutorial's chat.txt is never appended to. */
	write_file(path, "hello from chat.py\n", 19);
	assert_int_equal(open_problem(path, false), UK_HISTF_FOREIGN);
	unlink(path);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(open_problem(path, false), UK_HISTF_NOT_REGULAR);
	unlink(path);
	assert_string_not_equal(uk_history_problem_text(UK_HISTF_SYMLINK), "no problem");
}

static void test_default_path(void **state)
{
	char out[256];
	(void)state;
	assert_int_equal(uk_history_default_path("/x/state", "/home/u", out, sizeof(out)), 24);
	assert_string_equal(out, "/x/state/udpkit/chat.txt");
	assert_true(uk_history_default_path("relative", "/home/u", out, sizeof(out)) > 0);
	assert_string_equal(out, "/home/u/.local/state/udpkit/chat.txt");
	assert_true(uk_history_default_path("", "/home/u", out, sizeof(out)) > 0);
	assert_string_equal(out, "/home/u/.local/state/udpkit/chat.txt");
	assert_int_equal(uk_history_default_path(NULL, NULL, out, sizeof(out)), -ENOENT);
	assert_int_equal(uk_history_default_path("/x", NULL, out, 8), UK_ENOSPACE);
}

static int count_cb(void *user, const struct uk_history_entry *e)
{
	uint64_t *ids = user;
	ids[ids[0] + 1 < 256 ? ++ids[0] : 0] = e->msg_id;
	return 0;
}

/* A file removed under the chat is created again; a file past its bound
 * becomes PATH.1, and the reader gives both, oldest first. */
static void test_writer_recreates_and_rotates(void **state)
{
	char path[128], old[140];
	struct uk_history_writer *w;
	uint64_t ids[256] = {0}, bad = 9;
	bool torn;
	(void)state;

	snprintf(path, sizeof(path), "%s/rot.txt", tmpdir);
	snprintf(old, sizeof(old), "%s.1", path);
	w = open_writer(path, 500);
	for (uint64_t i = 1; i <= 30; i++) {
		struct uk_history_entry e =
		    entry(UK_HIST_RECV, "127.0.0.1:1", "n", i, "0123456789", 10);
		append_ok(w, &e);
		if (i == 3)
			assert_int_equal(unlink(path), 0);
	}
	assert_true(uk_history_writer_rotations(w) >= 2);
	assert_true(uk_history_writer_dirty(w));
	assert_int_equal(uk_history_writer_sync(w), 0);
	assert_false(uk_history_writer_dirty(w));
	assert_int_equal(uk_history_writer_close(w), 0);
	assert_int_equal(uk_history_read_all(path, count_cb, ids, &bad, &torn), 0);
	assert_int_equal(bad, 0);
	/* 1-3 went to the removed file; the last rotation kept the newest. */
	assert_true(ids[0] > 5);
	for (uint64_t i = 2; i <= ids[0]; i++)
		assert_int_equal(ids[i], ids[i - 1] + 1);
	assert_int_equal(ids[ids[0]], 30);
	{
		struct stat st;
		assert_int_equal(stat(path, &st), 0);
		assert_true(st.st_size <= 500);
		assert_int_equal(stat(old, &st), 0);
		assert_true(st.st_size <= 500);
	}
}

/* A full disk (here a file size limit): append fails, reports it, and the
 * part of a line that went in is ended by the next append once writing
 * works again; it then reads as one bad line, never merged. */
static void test_writer_full_then_recovers(void **state)
{
	char path[128], big[2000];
	struct uk_history_writer *w;
	struct rlimit old, lim;
	struct uk_history_entry e;
	enum uk_history_problem why;
	uint64_t ids[256] = {0}, bad = 0;
	bool torn;
	(void)state;

	memset(big, 'x', sizeof(big));
	snprintf(path, sizeof(path), "%s/full.txt", tmpdir);
	w = open_writer(path, 0);
	e = entry(UK_HIST_RECV, "127.0.0.1:1", "n", 1, "first", 5);
	append_ok(w, &e);
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 1000;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	e = entry(UK_HIST_RECV, "127.0.0.1:1", "n", 2, big, sizeof(big));
	assert_int_equal(uk_history_writer_append(w, &e, &why), -EFBIG);
	e = entry(UK_HIST_RECV, "127.0.0.1:1", "n", 3, big, sizeof(big));
	assert_int_equal(uk_history_writer_append(w, &e, &why), -EFBIG);
	/* The check line (after a failed sync) fails the same way, then
	 * syncs once the file takes writes: a comment, never an event. */
	assert_int_equal(uk_history_writer_check(w), -EFBIG);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(uk_history_writer_check(w), 0);
	assert_false(uk_history_writer_dirty(w));
	e = entry(UK_HIST_RECV, "127.0.0.1:1", "n", 4, "after", 5);
	append_ok(w, &e);
	assert_int_equal(uk_history_writer_close(w), 0);
	assert_int_equal(uk_history_read(path, count_cb, ids, &bad, &torn), 0);
	assert_int_equal(ids[0], 2);
	assert_int_equal(ids[1], 1);
	assert_int_equal(ids[2], 4);
	assert_int_equal(bad, 1);
	assert_false(torn);
}

static void test_time_local(void **state)
{
	char out[UK_HISTORY_SHOWN_TIME_LEN + 1];
	uint64_t ns;
	(void)state;
	setenv("TZ", "XYZ-8", 1); /* POSIX: 8 hours east of UTC */
	tzset();
	assert_int_equal(uk_history_time_show(T0, false, out), UK_HISTORY_SHOWN_TIME_LEN);
	assert_string_equal(out, "2026-11-26T18:22:33.123+08:00");
	assert_int_equal(uk_history_time_show(T0, true, out), UK_HISTORY_TIME_LEN);
	assert_string_equal(out, "2026-11-26T10:22:33.123Z");
	/* --since without a zone: local time; with --utc: UTC. */
	assert_int_equal(uk_history_since_parse("2026-11-26T18:22:33.123", T0, false, &ns), 0);
	assert_int_equal(ns, T0);
	assert_int_equal(uk_history_since_parse("2026-11-26T10:22:33.123", T0, true, &ns), 0);
	assert_int_equal(ns, T0);
	assert_int_equal(uk_history_since_parse("2026-11-26T10:22:33.123Z", T0, false, &ns), 0);
	assert_int_equal(ns, T0);
	assert_int_equal(uk_history_since_parse("2026-02-30", T0, false, &ns), UK_EPARSE);
	setenv("TZ", "XYZ+05:30", 1);
	tzset();
	assert_int_equal(uk_history_time_show(T0, false, out), UK_HISTORY_SHOWN_TIME_LEN);
	assert_string_equal(out, "2026-11-26T04:52:33.123-05:30");
	unsetenv("TZ");
	tzset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format_exact),
	    cmocka_unit_test(test_roundtrip_any_bytes),
	    cmocka_unit_test(test_nick_invisible_escaped),
	    cmocka_unit_test(test_format_rejects),
	    cmocka_unit_test(test_parse_rejects),
	    cmocka_unit_test(test_every_prefix_is_rejected),
	    cmocka_unit_test(test_torn_last_line),
	    cmocka_unit_test(test_writer_many_and_mode),
	    cmocka_unit_test(test_reader_skips_junk),
	    cmocka_unit_test(test_since_parse),
	    cmocka_unit_test(test_file_checks),
	    cmocka_unit_test(test_default_path),
	    cmocka_unit_test(test_writer_recreates_and_rotates),
	    cmocka_unit_test(test_writer_full_then_recovers),
	    cmocka_unit_test(test_time_local),
	};
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
