/* Test-only: drives the history writer (lib/history_writer.c) for the integration
 * tests. With events on stdin it appends each and exits; with --burst it
 * appends numbered messages until it is killed (the kill -9 test).
 *   hist_writer PATH < events   one per line: TIME_NS KIND ID PEER NICK TEXT,
 *                               the last three in hex ("-" when empty)
 *   hist_writer PATH --burst BYTES   texts of BYTES bytes, ids 1, 2, ... */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "udpkit/err.h"
#include "udpkit/history.h"
#include "udpkit/parse.h"

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes hex (or "-") into out; returns the length or -1. */
static long unhex(const char *s, unsigned char *out, size_t cap)
{
	size_t n = strlen(s);
	if (strcmp(s, "-") == 0)
		return 0;
	if (n % 2 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return (long)(n / 2);
}

static int from_stdin(struct uk_history_writer *w)
{
	char *line = NULL, *field[6];
	size_t cap = 0;
	static unsigned char text[1 << 20];
	enum uk_history_problem why;
	int rc = 0;

	while (getline(&line, &cap, stdin) > 0) {
		struct uk_history_entry e = {0};
		uint64_t v;
		long n;
		int f = 0;
		/* Six fields separated by single spaces. */
		line[strcspn(line, "\n")] = '\0';
		for (char *p = line; p && f < 6; f++) {
			field[f] = p;
			p = strchr(p, ' ');
			if (p)
				*p++ = '\0';
		}
		if (f != 6 || uk_parse_u64(field[0], 0, UINT64_MAX, &e.time_ns) < 0 ||
		    uk_parse_u64(field[1], 0, UK_HIST_KIND_COUNT - 1, &v) < 0 ||
		    uk_parse_u64(field[2], 0, UINT64_MAX, &e.msg_id) < 0) {
			fprintf(stderr, "hist_writer: bad input line\n");
			rc = 2;
			break;
		}
		e.kind = (enum uk_history_kind)v;
		if (unhex(field[3], (unsigned char *)e.peer, sizeof(e.peer) - 1) < 0 ||
		    unhex(field[4], (unsigned char *)e.nick, sizeof(e.nick) - 1) < 0 ||
		    (n = unhex(field[5], text, sizeof(text))) < 0) {
			fprintf(stderr, "hist_writer: bad hex\n");
			rc = 2;
			break;
		}
		e.text = text;
		e.text_len = (size_t)n;
		n = uk_history_writer_append(w, &e, &why);
		if (n < 0) {
			fprintf(stderr, "hist_writer: append: %s\n", uk_strerror((int)n));
			rc = 1;
			break;
		}
	}
	free(line);
	return rc;
}

static int burst(struct uk_history_writer *w, size_t bytes)
{
	enum uk_history_problem why;
	unsigned char *text = malloc(bytes + 32);
	if (!text)
		return 1;
	for (uint64_t id = 1;; id++) {
		struct uk_history_entry e = {.time_ns = 1795688553123000000ull + id * 1000000ull,
					     .kind = UK_HIST_RECV,
					     .msg_id = id,
					     .text = text};
		int n = snprintf((char *)text, 32, "burst %llu\n", (unsigned long long)id);
		memset(text + n, 'a' + (int)(id % 26), bytes);
		e.text_len = (size_t)n + bytes;
		snprintf(e.peer, sizeof(e.peer), "127.0.0.1:9");
		snprintf(e.nick, sizeof(e.nick), "burst\tnick");
		if (uk_history_writer_append(w, &e, &why) < 0)
			return 1;
		if (id == 20 || id == 200) {
			fprintf(stderr, "appended %llu\n", (unsigned long long)id);
			fflush(stderr);
		}
	}
}

int main(int argc, char **argv)
{
	struct uk_history_writer *w;
	struct uk_history_writer_cfg cfg = {0};
	enum uk_history_problem why;
	uint64_t bytes;
	int rc;

	if (argc != 2 && !(argc == 4 && strcmp(argv[2], "--burst") == 0)) {
		fprintf(stderr, "usage: hist_writer PATH [--burst BYTES]\n");
		return 2;
	}
	rc = uk_history_writer_open(argv[1], &cfg, &w, &why);
	if (rc < 0) {
		fprintf(stderr, "hist_writer: %s: %s %s\n", argv[1], uk_strerror(rc),
			why ? uk_history_problem_text(why) : "");
		return 1;
	}
	if (argc == 4) {
		if (uk_parse_u64(argv[3], 0, 1 << 20, &bytes) < 0)
			return 2;
		return burst(w, (size_t)bytes);
	}
	rc = from_stdin(w);
	if (uk_history_writer_close(w) < 0)
		rc = 1;
	return rc;
}
