/* udpkit history: lists, filters and exports the chat history file
 * (docs/history.md). argv -> options -> uk_history_read() -> one escaped
 * line (or one NDJSON object) per event on stdout. Nothing from the file
 * reaches the terminal unescaped: the file holds what the network sent. */
#include <errno.h>
#include <pwd.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "opts.h"
#include "udpkit/clock.h"
#include "udpkit/err.h"
#include "udpkit/history.h"
#include "udpkit/parse.h"
#include "udpkit/text.h"

#define CMD "history"
#define LAST_MAX 10000000u

struct history_opts {
	const char *path;
	char default_path[4096];
	const char *peer;
	const char *grep;
	const char *since; /* parsed after all options: --utc changes it */
	bool have_since;
	uint64_t since_ns;
	bool utc;
	uint64_t last; /* 0: all */
	bool json;
};

/* The last N matching events, kept formatted in a ring. */
struct listing {
	const struct history_opts *o;
	char **ring;
	size_t ring_len, next;
	uint64_t matched;
	bool out_of_memory;
};

/* The option table: cmd/history/options.tsv, made C by cmd/options.awk. */
#define AT(member) offsetof(struct history_opts, member)
#include "history_options.h"

const struct uk_cmd_spec uk_spec_history = {
    "history",
    "list, filter and export the chat history",
    "[PATH]",
    "Lists the chat history, escaped, one event per line, in local time: by default\n"
    "$XDG_STATE_HOME/udpkit/chat.txt (~/.local/state/udpkit/chat.txt), as udpkit chat\n"
    "writes it, with its older part PATH.1 first.",
    options,
    "Exit status: 0, or 2 on errors (no such file, ...).",
    UK_COMP_FILE};

/* Where udpkit chat writes by default (history_file.h). */
static int default_path(struct history_opts *o)
{
	const char *home = getenv("HOME");
	struct passwd *pw;

	if (o->path)
		return UK_CONTINUE;
	if (!home || !*home) {
		pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : NULL;
	}
	if (uk_history_default_path(getenv("XDG_STATE_HOME"), home, o->default_path,
				    sizeof(o->default_path)) < 0)
		return uk_cli_usage_error(CMD, "no home directory: give the history's path");
	o->path = o->default_path;
	return UK_CONTINUE;
}

static int parse_args(int argc, char **argv, struct history_opts *o)
{
	int rc;

	*o = (struct history_opts){0};
	rc = uk_opts_parse(&uk_spec_history, argc, argv, NULL, o);
	if (rc != UK_CONTINUE)
		return rc;
	if (optind < argc)
		o->path = argv[optind++];
	if (optind != argc)
		return uk_cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
	if (o->grep && !o->grep[0])
		return uk_cli_usage_error(CMD, "--grep takes a non-empty text");
	/* After all options: --utc changes what a time without a zone means. */
	if (o->since) {
		rc = uk_history_since_parse(o->since, uk_wall_ns(), o->utc, &o->since_ns);
		if (rc < 0)
			return uk_cli_usage_error(
			    CMD, "invalid --since '%s': %s (e.g. 2026-11-26T10:00, 2h)", o->since,
			    rc == UK_ERANGE_ ? "out of range" : "not a time");
		o->have_since = true;
	}
	return default_path(o);
}

/* "10.0.0.2:2425" -> "10.0.0.2"; "[fe80::1]:2425" -> "fe80::1". */
static bool host_equal(const char *peer, const char *want)
{
	const char *start = peer, *end = strrchr(peer, ':');
	size_t n;

	if (peer[0] == '[') {
		start = peer + 1;
		end = strchr(start, ']');
	}
	if (!end)
		return false;
	n = (size_t)(end - start);
	return strlen(want) == n && memcmp(start, want, n) == 0;
}

static bool matches(const struct history_opts *o, const struct uk_history_entry *e)
{
	if (o->have_since && e->time_ns < o->since_ns)
		return false;
	if (o->peer && strcmp(e->peer, o->peer) != 0 && strcmp(e->nick, o->peer) != 0 &&
	    !host_equal(e->peer, o->peer))
		return false;
	if (o->grep && !memmem(e->text, e->text_len, o->grep, strlen(o->grep)))
		return false;
	return true;
}

/* A JSON string holding the text itself (not its escaped form), so that
 * `jq -r .text` prints the message as written: JSON escapes for '"', '\\'
 * and control characters, every byte that is not valid UTF-8 as U+FFFD. */
static void put_json_text(FILE *f, const char *s, size_t n)
{
	fputc('"', f);
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		uint32_t cp;
		size_t k = uk_utf8_decode((const unsigned char *)s + i, n - i, &cp);
		if (k == 0) {
			fputs("\xef\xbf\xbd", f); /* U+FFFD */
			i++;
		} else if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc(c, f);
			i++;
		} else if (c == '\n') {
			fputs("\\n", f);
			i++;
		} else if (c == '\t') {
			fputs("\\t", f);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c);
			i++;
		} else if ((cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029) {
			/* C1 controls, and line separators that JSON allows raw
			 * but JavaScript and line splitters do not: escaped. */
			fprintf(f, "\\u%04x", (unsigned)cp);
			i += k;
		} else {
			fwrite(s + i, 1, k, f);
			i += k;
		}
	}
	fputc('"', f);
}

static void put_hex(FILE *f, const void *data, size_t n)
{
	const unsigned char *p = data;
	fputc('"', f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
	fputc('"', f);
}

static void put_json(FILE *f, const char *when, const struct uk_history_entry *e)
{
	/* The record type is the event's kind, as in the history file. */
	uk_cli_json_begin(f, uk_history_kind_name(e->kind));
	fprintf(f, ",\"time\":\"%s\",\"time_ns\":%llu,\"kind\":\"%s\",\"peer\":", when,
		(unsigned long long)e->time_ns, uk_history_kind_name(e->kind));
	put_json_text(f, e->peer, strlen(e->peer));
	fputs(",\"nick\":", f);
	put_json_text(f, e->nick, strlen(e->nick));
	fprintf(f, ",\"id\":%llu,\"bytes\":%zu,\"text\":", (unsigned long long)e->msg_id,
		e->text_len);
	put_json_text(f, (const char *)e->text, e->text_len);
	/* The exact bytes too, only when U+FFFD stood in for some. */
	if (!uk_utf8_valid(e->text, e->text_len)) {
		fputs(",\"text_hex\":", f);
		put_hex(f, e->text, e->text_len);
	}
	if (!uk_utf8_valid(e->nick, strlen(e->nick))) {
		fputs(",\"nick_hex\":", f);
		put_hex(f, e->nick, strlen(e->nick));
	}
	fputs("}\n", f);
}

/* A name (peer, nick): escaped with the name rules, joiners and variation
 * selectors too, as the chat shows it ("b\u200dob" is not "bob"). */
static void put_name(FILE *f, const char *name)
{
	size_t n = strlen(name);
	char *buf = malloc(UK_ESCAPE_SIZE(n));

	if (buf && uk_text_escape_name(name, n, buf, UK_ESCAPE_SIZE(n)) >= 0)
		fputs(buf, f);
	free(buf);
}

static void put_event(FILE *f, const struct history_opts *o, const struct uk_history_entry *e)
{
	char when[UK_HISTORY_SHOWN_TIME_LEN + 1];

	if (uk_history_time_show(e->time_ns, o->utc, when) < 0)
		snprintf(when, sizeof(when), "?");
	if (o->json) {
		put_json(f, when, e);
		return;
	}
	fprintf(f, "%s %s ", when, uk_history_kind_name(e->kind));
	put_name(f, e->peer);
	fputc(' ', f);
	if (e->nick[0])
		put_name(f, e->nick);
	else
		fputc('-', f);
	fprintf(f, " #%llu: ", (unsigned long long)e->msg_id);
	uk_cli_put_escaped(f, e->text, e->text_len);
	fputc('\n', f);
}

static int on_entry(void *user, const struct uk_history_entry *e)
{
	struct listing *l = user;
	char *text = NULL;
	size_t len = 0;
	FILE *mem;

	if (!matches(l->o, e))
		return 0;
	l->matched++;
	if (!l->ring) {
		put_event(stdout, l->o, e);
		return 0;
	}
	mem = open_memstream(&text, &len);
	if (!mem) {
		l->out_of_memory = true;
		return 1;
	}
	put_event(mem, l->o, e);
	if (fclose(mem) != 0) {
		free(text);
		l->out_of_memory = true;
		return 1;
	}
	free(l->ring[l->next]);
	l->ring[l->next] = text;
	l->next = (l->next + 1) % l->ring_len;
	return 0;
}

int uk_cmd_history(int argc, char **argv)
{
	struct history_opts o;
	struct listing l = {0};
	uint64_t bad = 0;
	bool torn = false;
	int rc, exit_code = UK_EXIT_ERROR;

	rc = parse_args(argc, argv, &o);
	if (rc != UK_CONTINUE)
		return rc;
	l.o = &o;
	if (o.last) {
		l.ring_len = (size_t)o.last;
		l.ring = calloc(l.ring_len, sizeof(*l.ring));
		if (!l.ring)
			return uk_cli_fail(CMD, "memory", -ENOMEM);
	}
	rc = uk_history_read_all(o.path, on_entry, &l, &bad, &torn);
	if (rc < 0) {
		uk_cli_fail(CMD, o.path, rc);
		goto fail;
	}
	if (l.out_of_memory) {
		uk_cli_fail(CMD, "memory", -ENOMEM);
		goto fail;
	}
	/* The ring, oldest first: from the next slot round to the last one. */
	for (size_t i = 0; l.ring && i < l.ring_len; i++) {
		char *text = l.ring[(l.next + i) % l.ring_len];
		if (text)
			fputs(text, stdout);
	}
	if (bad)
		uk_cli_warn(CMD, "%s: %llu %s not in the history format, skipped", o.path,
			    (unsigned long long)bad, uk_cli_plural(bad, "line", "lines"));
	if (torn)
		uk_cli_warn(CMD,
			    "%s: the last line is incomplete (being written, or cut by a crash), "
			    "skipped",
			    o.path);
	exit_code = fflush(stdout) == 0 ? UK_EXIT_OK : UK_EXIT_ERROR;
fail:
	for (size_t i = 0; l.ring && i < l.ring_len; i++)
		free(l.ring[i]);
	free(l.ring);
	return exit_code;
}
