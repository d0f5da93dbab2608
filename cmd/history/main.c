/* udpkit history: lists, filters and exports the chat history file
 * (docs/history.md). argv -> options -> uk_history_read() -> one escaped
 * line (or one NDJSON object) per event on stdout. Nothing from the file
 * reaches the terminal unescaped: the file holds what the network sent. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "udpkit/clock.h"
#include "udpkit/err.h"
#include "udpkit/history.h"
#include "udpkit/parse.h"

#define CMD "history"
#define LAST_MAX 10000000u

struct history_opts {
	const char *path;
	const char *peer;
	const char *grep;
	bool have_since;
	uint64_t since_ns;
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

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: udpkit history [-p peer] [-g text] [-s time] [-n count] [--json] [path]\n"
	    "\n"
	    "Lists the chat history (default ./chat.txt), escaped, one event per line.\n"
	    "\n"
	    "  -p, --peer PEER        only events with this peer: ADDR:PORT, ADDR or nickname\n"
	    "  -g, --grep TEXT        only messages whose text contains TEXT (bytes, "
	    "case-sensitive)\n"
	    "  -s, --since TIME       only events at or after TIME: 2026-11-26, 2026-11-26T10:00,\n"
	    "                         2026-11-26 10:00:05+08:00 (UTC without a zone), or 90s, "
	    "15m,\n"
	    "                         2h, 3d, 1w ago\n"
	    "  -n, --last COUNT       only the last COUNT matching events\n"
	    "      --json             one JSON object per event (NDJSON)\n"
	    "  -h, --help             this help\n");
}

static int parse_args(int argc, char **argv, struct history_opts *o)
{
	static const struct option longopts[] = {{"peer", required_argument, NULL, 'p'},
						 {"grep", required_argument, NULL, 'g'},
						 {"since", required_argument, NULL, 's'},
						 {"last", required_argument, NULL, 'n'},
						 {"json", no_argument, NULL, 'J'},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	int c;

	*o = (struct history_opts){.path = "chat.txt"};
	optind = 1;
	while ((c = getopt_long(argc, argv, "p:g:s:n:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o->peer = optarg;
			break;
		case 'g':
			o->grep = optarg;
			break;
		case 's':
			if (uk_history_since_parse(optarg, uk_wall_ns(), &o->since_ns) < 0)
				return uk_cli_usage_error(
					   CMD, "invalid time '%s' (e.g. 2026-11-26T10:00, 2h)",
					   optarg),
				       -1;
			o->have_since = true;
			break;
		case 'n':
			if (uk_parse_u64(optarg, 1, LAST_MAX, &o->last) < 0)
				return uk_cli_usage_error(CMD, "--last takes 1..%u", LAST_MAX), -1;
			break;
		case 'J':
			o->json = true;
			break;
		case 'h':
			usage(stdout);
			exit(UK_EXIT_OK);
		default:
			return uk_cli_usage_error(CMD, "unknown option"), -1;
		}
	}
	if (optind < argc)
		o->path = argv[optind++];
	if (optind != argc)
		return uk_cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]), -1;
	if (o->grep && !o->grep[0])
		return uk_cli_usage_error(CMD, "--grep takes a non-empty text"), -1;
	return 0;
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

static void put_event(FILE *f, const struct history_opts *o, const struct uk_history_entry *e)
{
	char when[UK_HISTORY_TIME_LEN + 1];

	if (uk_history_time_format(e->time_ns, when) < 0)
		snprintf(when, sizeof(when), "?");
	if (o->json) {
		fprintf(f, "{\"time\":\"%s\",\"time_ns\":%llu,\"kind\":\"%s\",\"peer\":", when,
			(unsigned long long)e->time_ns, uk_history_kind_name(e->kind));
		uk_cli_put_json_string(f, e->peer, strlen(e->peer));
		fputs(",\"nick\":", f);
		uk_cli_put_json_string(f, e->nick, strlen(e->nick));
		fprintf(f, ",\"id\":%llu,\"bytes\":%zu,\"text\":", (unsigned long long)e->msg_id,
			e->text_len);
		uk_cli_put_json_string(f, e->text, e->text_len);
		fputs("}\n", f);
		return;
	}
	fprintf(f, "%s %s ", when, uk_history_kind_name(e->kind));
	uk_cli_put_escaped(f, e->peer, strlen(e->peer));
	fputc(' ', f);
	if (e->nick[0])
		uk_cli_put_escaped(f, e->nick, strlen(e->nick));
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
	int rc, exit_code = UK_EXIT_FAIL;

	if (parse_args(argc, argv, &o) < 0)
		return UK_EXIT_USAGE;
	l.o = &o;
	if (o.last) {
		l.ring_len = (size_t)o.last;
		l.ring = calloc(l.ring_len, sizeof(*l.ring));
		if (!l.ring)
			return uk_cli_fail(CMD, "memory", -ENOMEM);
	}
	rc = uk_history_read(o.path, on_entry, &l, &bad, &torn);
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
		uk_cli_error(CMD, "%s: %llu line%s not in the history format, skipped", o.path,
			     (unsigned long long)bad, bad == 1 ? "" : "s");
	if (torn)
		uk_cli_error(CMD,
			     "%s: the last line is incomplete (being written, or cut by a crash), "
			     "skipped",
			     o.path);
	exit_code = fflush(stdout) == 0 ? UK_EXIT_OK : UK_EXIT_FAIL;
fail:
	for (size_t i = 0; l.ring && i < l.ring_len; i++)
		free(l.ring[i]);
	free(l.ring);
	return exit_code;
}
