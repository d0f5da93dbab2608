/* opts.c: the option engine (see cmd/opts.h): getopt_long driven by each
 * command's table, --help from the same table, usage errors that name the
 * command and suggest the nearest option, and argument parsers that print
 * one kind of message. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "opts.h"
#include "udpkit/clock.h"
#include "udpkit/conf.h"
#include "udpkit/err.h"
#include "udpkit/i18n.h"
#include "udpkit/parse.h"

#define MAX_OPTS 64

/* True while a configuration file is applied: its repeated entries add up;
 * otherwise (the command line) the first --peer replaces the file's list. */
static bool from_conf;
#define HELP_COLUMN 25

static const char *const color_choices[] = {"auto", "always", "never", NULL};

/* --color takes its argument optionally (--color alone is always), as
 * GNU ls does; no command option does. */
const struct uk_opt uk_opts_common[] = {
    {UK_OPT_HELP, "help", NULL, UK_ARG_CALL, 0, 0, 0, UK_COMP_NONE, NULL, N_("this help")},
    {UK_OPT_VERSION, "version", NULL, UK_ARG_CALL, 0, 0, 0, UK_COMP_NONE, NULL, N_("the version")},
    {UK_OPT_COLOR, "color", "WHEN", UK_ARG_CALL, 0, 0, 0, UK_COMP_CHOICES, color_choices,
     N_("colour on a terminal: auto (default), always or never;\nNO_COLOR in the environment "
	"means never")},
    {0, NULL, NULL, UK_ARG_CALL, 0, 0, 0, UK_COMP_NONE, NULL, NULL}};

const struct uk_cmd_spec *const uk_cmd_specs[] = {
#define UK_COMMAND(name) &uk_spec_##name,
#include "commands.h"
#undef UK_COMMAND
};
const size_t uk_cmd_count = sizeof(uk_cmd_specs) / sizeof(uk_cmd_specs[0]);

const char *uk_opts_cmd(void)
{
	return uk_cli_cmd();
}

size_t uk_opts_all(const struct uk_cmd_spec *spec, const struct uk_opt **out, size_t cap)
{
	size_t n = 0;
	for (const struct uk_opt *o = spec->opts; o && o->name && n < cap; o++)
		out[n++] = o;
	for (const struct uk_opt *o = uk_opts_common; o->name && n < cap; o++)
		out[n++] = o;
	return n;
}

static size_t min3(size_t a, size_t b, size_t c)
{
	size_t m = a < b ? a : b;
	return m < c ? m : c;
}

/* Levenshtein distance, capped at 15 characters of each word. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strnlen(a, 15), lb = strnlen(b, 15), row[16];

	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			row[j] = min3(row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1]));
			diag = up;
		}
	}
	return row[lb];
}

const char *uk_opts_nearest(const char *word, const char *const *candidates, size_t n)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1, limit = strlen(word) / 3 + 1;

	if (limit > 3)
		limit = 3;
	for (size_t i = 0; i < n; i++) {
		size_t d = distance(word, candidates[i]);
		/* A prefix of a longer name ("--jso") is a likely typo too. */
		if (strncmp(candidates[i], word, strlen(word)) == 0 && strlen(word) >= 2)
			d = 1;
		if (d < best_d) {
			best_d = d;
			best = candidates[i];
		}
	}
	return best_d <= limit ? best : NULL;
}

static int usage_unknown(const struct uk_opt **opts, size_t n, const char *word)
{
	const char *names[MAX_OPTS];
	const char *name = word, *near;
	char bare[64];

	if (word[0] == '-' && word[1] == '-') {
		size_t len = strcspn(word + 2, "=");
		snprintf(bare, sizeof(bare), "%.*s", (int)len, word + 2);
		name = bare;
		for (size_t i = 0; i < n; i++)
			names[i] = opts[i]->name;
		near = uk_opts_nearest(name, names, n);
		if (near)
			return uk_cli_usage_error(uk_cli_cmd(),
						  _("unknown option '--%s'; did you mean '--%s'?"),
						  name, near);
	}
	return uk_cli_usage_error(uk_cli_cmd(), _("unknown option '%s'"), name);
}

/* The option an error is about: argv[optind - 1] names it for long options;
 * for short ones getopt sets optopt. */
static const struct uk_opt *find_opt(const struct uk_opt **opts, size_t n, int key)
{
	for (size_t i = 0; i < n; i++)
		if (opts[i]->key == key)
			return opts[i];
	return NULL;
}

static int getopt_error(const struct uk_opt **opts, size_t n, int c, int argc, char **argv)
{
	const char *word = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
	const struct uk_opt *o = optopt ? find_opt(opts, n, optopt) : NULL;

	if (c == ':' && o)
		return uk_cli_usage_error(uk_cli_cmd(), _("option '--%s' needs an argument (%s)"),
					  o->name, o->arg);
	if (o && word[0] == '-' && word[1] == '-' && strchr(word, '='))
		return uk_cli_usage_error(uk_cli_cmd(), _("option '--%s' takes no argument"),
					  o->name);
	if (optopt && !o) {
		char letter[3] = {'-', (char)optopt, '\0'};
		return usage_unknown(opts, n, letter);
	}
	return usage_unknown(opts, n, word);
}

static int handle_common(const struct uk_cmd_spec *spec, const struct uk_opt *o, const char *arg)
{
	int choice;

	switch (o->key) {
	case UK_OPT_HELP:
		uk_opts_help(spec, stdout);
		return UK_EXIT_OK;
	case UK_OPT_VERSION:
		printf("udpkit %s\n", UK_VERSION);
		return UK_EXIT_OK;
	case UK_OPT_COLOR:
		if (!arg) {
			uk_cli_set_color(UK_COLOR_ALWAYS);
			return UK_CONTINUE;
		}
		if (uk_arg_choice(o, arg, &choice) != UK_CONTINUE)
			return UK_EXIT_USAGE;
		uk_cli_set_color((enum uk_color_mode)choice);
		return UK_CONTINUE;
	default:
		return UK_CONTINUE;
	}
}

/* Parses arg as o says into the member at field. */
static int store(const struct uk_opt *o, const char *arg, void *field)
{
	struct uk_cli_target *t = field;
	uint64_t v;
	int rc, choice;

	switch (o->type) {
	case UK_ARG_FLAG:
		*(bool *)field = true;
		return UK_CONTINUE;
	case UK_ARG_SET:
		*(int *)field = (int)o->min;
		return UK_CONTINUE;
	case UK_ARG_STRING:
		*(const char **)field = arg;
		return UK_CONTINUE;
	case UK_ARG_U64:
		return uk_arg_u64(o, arg, o->min, o->max, field);
	case UK_ARG_DURATION:
		return uk_arg_duration_in(o, arg, UK_NS_PER_SEC, o->min, o->max, field);
	case UK_ARG_DURATION_MS:
		return uk_arg_duration_in(o, arg, UK_NS_PER_MS, o->min, o->max, field);
	case UK_ARG_RATE:
		return uk_arg_rate(o, arg, o->min, o->max, field);
	case UK_ARG_PORT:
		rc = uk_arg_u64(o, arg, o->min, 65535, &v);
		if (rc == UK_CONTINUE)
			*(uint16_t *)field = (uint16_t)v;
		return rc;
	case UK_ARG_CHOICE:
		rc = uk_arg_choice(o, arg, &choice);
		*(int *)field = choice;
		return rc;
	case UK_ARG_ADDR: {
		char what[48];
		snprintf(what, sizeof(what), "--%s", o->name);
		return uk_cli_target_split(t, what, arg);
	}
	case UK_ARG_LIST: {
		struct uk_opts_list *l = field;
		if (l->count >= o->max || l->count >= UK_OPTS_LIST_MAX)
			return uk_cli_usage_error(uk_cli_cmd(), _("at most %llu --%s"),
						  (unsigned long long)o->max, o->name);
		l->items[l->count++] = arg;
		return UK_CONTINUE;
	}
	case UK_ARG_ADDR_PORT:
		rc = uk_arg_u64(o, arg, o->min, 65535, &v);
		if (rc != UK_CONTINUE)
			return rc;
		if (t->port_in_addr && t->port != v)
			return uk_cli_usage_error(uk_cli_cmd(),
						  _("the port is given twice: %u and %s"),
						  (unsigned)t->port, arg);
		t->port = (uint16_t)v;
		t->port_given = t->port_in_opt = true;
		return rc;
	default:
		return UK_CONTINUE;
	}
}

int uk_opts_parse(const struct uk_cmd_spec *spec, int argc, char **argv, uk_opt_fn fn, void *ctx)
{
	const struct uk_opt *opts[MAX_OPTS];
	struct option longopts[MAX_OPTS + 1];
	/* ':' first: a missing argument returns ':' instead of getopt's own message. */
	char shortopts[3 * MAX_OPTS + 2] = ":";
	size_t n = uk_opts_all(spec, opts, MAX_OPTS), len = 1;
	bool seen[MAX_OPTS] = {false};
	int c;

	uk_cli_set_cmd(spec->name);
	for (size_t i = 0; i < n; i++) {
		const struct uk_opt *o = opts[i];
		bool optional = o->key == UK_OPT_COLOR;
		int has_arg = !o->arg	 ? no_argument
			      : optional ? optional_argument
					 : required_argument;
		longopts[i] = (struct option){o->name, has_arg, NULL, o->key};
		if (o->key < 128) {
			shortopts[len++] = (char)o->key;
			if (o->arg)
				shortopts[len++] = ':';
			if (optional)
				shortopts[len++] = ':';
		}
	}
	longopts[n] = (struct option){NULL, 0, NULL, 0};
	shortopts[len] = '\0';
	opterr = 0;
	optind = 0; /* 0, not 1: also resets getopt's state from an earlier parse */
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		const struct uk_opt *o = (c == '?' || c == ':') ? NULL : find_opt(opts, n, c);
		int rc;

		if (!o)
			return getopt_error(opts, n, c, argc, argv);
		if (o->type == UK_ARG_LIST && !from_conf) {
			/* The command line's first --peer replaces the file's. */
			size_t i = 0;
			while (opts[i] != o)
				i++;
			if (!seen[i])
				((struct uk_opts_list *)((char *)ctx + o->offset))->count = 0;
			seen[i] = true;
		}
		if (o->key == UK_OPT_HELP || o->key == UK_OPT_VERSION || o->key == UK_OPT_COLOR)
			rc = handle_common(spec, o, optarg);
		else if (o->type != UK_ARG_CALL)
			rc = store(o, optarg, (char *)ctx + o->offset);
		else
			rc = fn ? fn(ctx, o, optarg) : UK_CONTINUE;
		if (rc != UK_CONTINUE)
			return rc;
	}
	if (!spec->operands[0] && optind < argc)
		return uk_cli_usage_error(uk_cli_cmd(), _("unexpected argument '%s'"),
					  argv[optind]);
	return UK_CONTINUE;
}

static bool conf_bool(const char *v, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no",
										    "off", "0"};

	for (size_t i = 0; i < 4; i++) {
		if (strcmp(v, yes[i]) == 0 || strcmp(v, no[i]) == 0) {
			*out = strcmp(v, yes[i]) == 0;
			return true;
		}
	}
	return false;
}

/* One entry: the option it names, checked; its argv; then the engine. */
static int conf_entry(const struct uk_cmd_spec *spec, const struct uk_conf_entry *e, uk_opt_fn fn,
		      void *ctx)
{
	const struct uk_opt *opts[MAX_OPTS], *o = NULL;
	const char *names[MAX_OPTS], *near;
	/* The British spelling the man pages use is a key too. */
	const char *name = strcmp(e->key, "colour") == 0 ? "color" : e->key;
	size_t n = uk_opts_all(spec, opts, MAX_OPTS);
	char key[UK_CONF_MAX_KEY + UK_CONF_MAX_VALUE + 5], prog[] = "udpkit";
	char *argv[4];
	bool on;

	for (size_t i = 0; i < n; i++) {
		names[i] = opts[i]->name;
		if (strcmp(opts[i]->name, name) == 0)
			o = opts[i];
	}
	if (o && (o->key == UK_OPT_HELP || o->key == UK_OPT_VERSION ||
		  strcmp(o->name, "config") == 0 || strcmp(o->name, "no-config") == 0))
		return uk_cli_usage_error(uk_cli_cmd(),
					  _("'%s' has no place in a configuration file"), e->key);
	if (!o) {
		near = uk_opts_nearest(e->key, names, n);
		if (near)
			return uk_cli_usage_error(
			    uk_cli_cmd(), _("unknown key '%s'; did you mean '%s'?"), e->key, near);
		return uk_cli_usage_error(uk_cli_cmd(), _("unknown key '%s'"), e->key);
	}
	/* --color's argument is optional: getopt takes it only as --color=WHEN. */
	if (o->key == UK_OPT_COLOR)
		snprintf(key, sizeof(key), "--%s=%s", name, e->value);
	else
		snprintf(key, sizeof(key), "--%s", name);
	argv[0] = prog;
	argv[1] = key;
	argv[2] = (char *)e->value; /* getopt only reads it; the options keep pointing at it */
	argv[3] = NULL;
	if (!o->arg) {
		if (!conf_bool(e->value, &on))
			return uk_cli_usage_error(
			    uk_cli_cmd(), _("'%s' is true or false (yes/no, on/off, 1/0)"), e->key);
		if (!on)
			return UK_CONTINUE;
		argv[2] = NULL;
	} else if (!e->value[0]) {
		return uk_cli_usage_error(uk_cli_cmd(), _("'%s' needs a value"), e->key);
	} else if (o->key == UK_OPT_COLOR) {
		argv[2] = NULL;
	}
	return uk_opts_parse(spec, argv[2] ? 3 : 2, argv, fn, ctx);
}

int uk_opts_parse_conf(const struct uk_cmd_spec *spec, const struct uk_conf *conf, const char *path,
		       uk_opt_fn fn, void *ctx)
{
	int rc = UK_CONTINUE;

	from_conf = true;
	for (size_t i = 0; i < conf->count && rc == UK_CONTINUE; i++) {
		char where[4200];
		snprintf(where, sizeof(where), "%s:%u", path, conf->entries[i].line);
		uk_cli_set_origin(where);
		rc = conf_entry(spec, &conf->entries[i], fn, ctx);
		uk_cli_set_origin(NULL);
	}
	from_conf = false;
	return rc;
}

int uk_opts_parse_target(const struct uk_cmd_spec *spec, int argc, char **argv, void *ctx,
			 struct uk_cli_target *t, bool host_required)
{
	int rc = uk_opts_parse(spec, argc, argv, NULL, ctx);

	if (rc != UK_CONTINUE)
		return rc;
	return uk_cli_target_operands(t, argc, argv, host_required);
}

/* "  -c, --count N" or "      --json", as --help shows an option. */
static int opt_label(const struct uk_opt *o, char *buf, size_t size)
{
	char letter[8] = "    ";

	if (o->key < 128)
		snprintf(letter, sizeof(letter), "-%c, ", o->key);
	if (!o->arg)
		return snprintf(buf, size, "  %s--%s", letter, o->name);
	if (o->key == UK_OPT_COLOR)
		return snprintf(buf, size, "  %s--%s[=%s]", letter, o->name, o->arg);
	return snprintf(buf, size, "  %s--%s %s", letter, o->name, o->arg);
}

static void help_option(const struct uk_opt *o, FILE *f)
{
	char label[96];
	const char *line = _(o->help); /* the tables hold N_() literals */
	int width = opt_label(o, label, sizeof(label));

	fputs(label, f);
	if (width >= HELP_COLUMN - 1) {
		fputc('\n', f);
		width = 0;
	}
	for (;;) {
		size_t n = strcspn(line, "\n");
		fprintf(f, "%*s%.*s\n", HELP_COLUMN - width, "", (int)n, line);
		width = 0;
		if (!line[n])
			break;
		line += n + 1;
	}
}

void uk_opts_help(const struct uk_cmd_spec *spec, FILE *f)
{
	fprintf(f, _("usage: udpkit %s [options]%s%s\n\n%s\n\noptions:\n"), spec->name,
		spec->operands[0] ? " " : "", spec->operands, _(spec->about));
	for (const struct uk_opt *o = spec->opts; o && o->name; o++)
		help_option(o, f);
	for (const struct uk_opt *o = uk_opts_common; o->name; o++)
		help_option(o, f);
	if (spec->epilog)
		fprintf(f, "\n%s\n", _(spec->epilog));
}

/* ---- argument parsers -------------------------------------------------- */

static int bad_arg(const struct uk_opt *opt, const char *arg, int err, const char *range)
{
	const char *why = err == UK_ERANGE_ ? _("out of range") : _("not a valid value");

	if (range)
		return uk_cli_usage_error(uk_cli_cmd(), _("invalid --%s '%s': %s (%s)"), opt->name,
					  arg, why, range);
	return uk_cli_usage_error(uk_cli_cmd(), _("invalid --%s '%s': %s"), opt->name, arg, why);
}

int uk_arg_u64(const struct uk_opt *opt, const char *arg, uint64_t min, uint64_t max, uint64_t *out)
{
	char range[64];
	int rc = uk_parse_u64(arg, min, max, out);

	if (rc == 0)
		return UK_CONTINUE;
	snprintf(range, sizeof(range), "%llu..%llu", (unsigned long long)min,
		 (unsigned long long)max);
	return bad_arg(opt, arg, rc, range);
}

int uk_arg_duration(const struct uk_opt *opt, const char *arg, uint64_t min_ns, uint64_t max_ns,
		    uint64_t *out_ns)
{
	return uk_arg_duration_in(opt, arg, UK_NS_PER_SEC, min_ns, max_ns, out_ns);
}

int uk_arg_duration_in(const struct uk_opt *opt, const char *arg, uint64_t unit_ns, uint64_t min_ns,
		       uint64_t max_ns, uint64_t *out_ns)
{
	char range[64], lo[24], hi[24];
	int rc = uk_parse_duration(arg, unit_ns, min_ns, max_ns, out_ns);

	if (rc == 0)
		return UK_CONTINUE;
	snprintf(range, sizeof(range), _("%s..%s; units ms s m h d w"),
		 uk_format_duration(min_ns, lo, sizeof(lo)),
		 uk_format_duration(max_ns, hi, sizeof(hi)));
	return bad_arg(opt, arg, rc, range);
}

int uk_arg_rate(const struct uk_opt *opt, const char *arg, uint64_t min, uint64_t max,
		uint64_t *out)
{
	char range[64];
	int rc = uk_parse_rate(arg, min, max, out);

	if (rc == 0)
		return UK_CONTINUE;
	snprintf(range, sizeof(range), _("%llu..%llu; k and M multiply by 1000 and 1000000"),
		 (unsigned long long)min, (unsigned long long)max);
	return bad_arg(opt, arg, rc, range);
}

int uk_arg_port(const struct uk_opt *opt, const char *arg, bool allow_zero, uint16_t *out)
{
	uint64_t v;
	int rc = uk_arg_u64(opt, arg, allow_zero ? 0 : 1, 65535, &v);

	if (rc == UK_CONTINUE)
		*out = (uint16_t)v;
	return rc;
}

int uk_arg_choice(const struct uk_opt *opt, const char *arg, int *index)
{
	char list[128] = "";
	size_t len = 0;

	for (int i = 0; opt->choices && opt->choices[i]; i++) {
		if (strcmp(arg, opt->choices[i]) == 0) {
			*index = i;
			return UK_CONTINUE;
		}
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "",
					opt->choices[i]);
		if (len >= sizeof(list))
			len = sizeof(list) - 1;
	}
	*index = 0;
	return uk_cli_usage_error(uk_cli_cmd(), _("invalid --%s '%s' (%s)"), opt->name, arg, list);
}
