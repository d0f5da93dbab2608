/* Fuzz target: the history file reader (uk_history_read, over the input
 * as a whole file), its line parser (uk_history_parse), the --since parser
 * (UTC and local) and the writer: a line that parses formats and parses
 * back to the same entry, its formatted form is a single safe line, and
 * the writer appends it to a real file that the reader gives back. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "udpkit/history.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_cb(void *user, const struct uk_history_entry *e)
{
	size_t *n = user;
	/* Touch the text: ASan checks it is all inside the reader's buffer. */
	if (e->text_len && e->text[0] == e->text[e->text_len - 1])
		(*n)++;
	return 0;
}

/* The input as a file, through a memfd: the reader's own line splitting,
 * comments, torn last line and overlong lines. */
static void read_as_file(const uint8_t *data, size_t size)
{
	static int fd = -1;
	char path[64];
	uint64_t bad;
	bool torn;
	size_t n = 0;

	if (fd < 0)
		fd = memfd_create("fuzz_history", 0);
	if (fd < 0 || ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		return;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (uk_history_read(path, count_cb, &n, &bad, &torn) != 0)
		abort();
	if (size > 0 && data[size - 1] != '\n' && !torn)
		abort();
}

static int same_cb(void *user, const struct uk_history_entry *e)
{
	const struct uk_history_entry *want = user;
	if (e->time_ns != want->time_ns || e->kind != want->kind ||
	    strcmp(e->peer, want->peer) != 0 || strcmp(e->nick, want->nick) != 0 ||
	    e->msg_id != want->msg_id || e->text_len != want->text_len ||
	    memcmp(e->text, want->text, e->text_len) != 0)
		abort();
	return 0;
}

/* The writer, then the reader, over a fresh file in a private directory. */
static void write_and_read(const struct uk_history_entry *e)
{
	static char dir[64];
	char path[96];
	struct uk_history_writer_cfg cfg = {0};
	struct uk_history_writer *w;
	enum uk_history_problem why;
	uint64_t bad = 0;
	bool torn = false;

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/fuzz_history_XXXXXX");
		if (!mkdtemp(dir))
			abort();
	}
	snprintf(path, sizeof(path), "%s/chat.txt", dir);
	unlink(path);
	if (uk_history_writer_open(path, &cfg, &w, &why) != 0)
		abort();
	if (uk_history_writer_append(w, e, &why) != 0 || uk_history_writer_close(w) != 0)
		abort();
	if (uk_history_read(path, same_cb, (void *)e, &bad, &torn) != 0 || bad || torn)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uk_history_entry e, back;
	unsigned char *text = malloc(size + 1), *text2 = malloc(size + 1);
	char *line = NULL, *since = malloc(size + 1);
	uint64_t ns;
	int n;

	if (!text || !text2 || !since)
		goto out;
	read_as_file(data, size);
	memcpy(since, data, size);
	since[size] = '\0';
	(void)uk_history_since_parse(since, 1795688553123000000ull, true, &ns);
	(void)uk_history_since_parse(since, 1795688553123000000ull, false, &ns);
	if (uk_history_parse((const char *)data, size, &e, text, size + 1) != 0)
		goto out;
	line = malloc(UK_HISTORY_LINE_MAX(e.text_len));
	if (!line)
		goto out;
	n = uk_history_format(&e, line, UK_HISTORY_LINE_MAX(e.text_len));
	if (n <= 0 || memchr(line, '\n', (size_t)n - 1))
		abort();
	for (int i = 0; i < n - 1; i++)
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
			abort();
	if (uk_history_parse(line, (size_t)n, &back, text2, size + 1) != 0)
		abort();
	if (back.time_ns != e.time_ns || back.kind != e.kind || strcmp(back.peer, e.peer) != 0 ||
	    strcmp(back.nick, e.nick) != 0 || back.msg_id != e.msg_id ||
	    back.text_len != e.text_len || memcmp(back.text, e.text, e.text_len) != 0)
		abort();
	write_and_read(&e);
out:
	free(text);
	free(text2);
	free(line);
	free(since);
	return 0;
}
