/* opts.h: the one place where a command's options are declared. Each
 * front-end describes its options in a table (struct uk_opt); from that
 * table come the getopt_long parsing, --help, the shell completions
 * (udpkit --completion bash|zsh) and the checks in tests/ that keep the
 * letters unique and the man pages in sync. Every human string is a plain
 * literal in a table, so a later translation can wrap them one by one. */
#ifndef UDPKIT_OPTS_H
#define UDPKIT_OPTS_H

#include <getopt.h> /* optind: where the operands start after uk_opts_parse() */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h" /* UK_CONTINUE, struct uk_cli_target */

/* What the completion offers for an option's argument or the operands. */
enum uk_complete {
	UK_COMP_NONE,	 /* free text: nothing to offer */
	UK_COMP_CHOICES, /* one of uk_opt.choices */
	UK_COMP_IFACE,	 /* a network interface of this system */
	UK_COMP_HOST,	 /* a host name */
	UK_COMP_FILE	 /* a file name */
};

/* Keys of options without a short letter start here; a key below 128 is
 * the option's short letter. */
enum { UK_OPT_LONG = 256 };

/* Options every command has; the engine handles them itself. */
enum { UK_OPT_HELP = 'h', UK_OPT_VERSION = 'V', UK_OPT_COLOR = 200 };

/* What the engine does with an option's argument: stores it at offset
 * in the command's options struct (the ctx of uk_opts_parse), parsed and
 * range-checked, or hands it to the command (UK_ARG_CALL). */
enum uk_arg {
	UK_ARG_CALL,	    /* the command's handler decides */
	UK_ARG_FLAG,	    /* bool: true */
	UK_ARG_SET,	    /* int: min (e.g. AF_INET for -4) */
	UK_ARG_STRING,	    /* const char *: the argument itself */
	UK_ARG_U64,	    /* uint64_t in min..max */
	UK_ARG_DURATION,    /* uint64_t ns in min..max; units ms s m h d w, seconds without */
	UK_ARG_DURATION_MS, /* the same, milliseconds without a unit */
	UK_ARG_RATE,	    /* uint64_t in min..max; k and M multiply */
	UK_ARG_PORT,	    /* uint16_t in min..65535 */
	UK_ARG_CHOICE,	    /* int: the index of the argument in choices */
	UK_ARG_ADDR,	    /* struct uk_cli_target: HOST, HOST:PORT, [V6]:PORT, V6 */
	UK_ARG_ADDR_PORT,   /* struct uk_cli_target: its port, in min..65535 */
	UK_ARG_LIST	    /* struct uk_opts_list: one more item, at most max */
};

/* A repeatable option's arguments (-g GROUP -g GROUP). */
#define UK_OPTS_LIST_MAX 32
struct uk_opts_list {
	const char *items[UK_OPTS_LIST_MAX];
	size_t count;
};

/* One option. Tables list one per line, every field given, in this order. */
struct uk_opt {
	int key;	  /* short letter, or UK_OPT_LONG + n for a long-only option */
	const char *name; /* long name without the dashes */
	const char *arg;  /* the argument's name in --help ("N", "ADDR"); NULL: a flag */
	enum uk_arg type;
	size_t offset;	   /* where the value goes: offsetof(struct ..., member) */
	uint64_t min, max; /* the range; see enum uk_arg */
	enum uk_complete complete;
	const char *const *choices; /* NULL-terminated: UK_ARG_CHOICE, UK_COMP_CHOICES */
	const char *help;	    /* the text in --help; '\n' starts a new line */
};

struct uk_cmd_spec {
	const char *name;
	const char *summary;	   /* one line in `udpkit --help` */
	const char *operands;	   /* after "[options]" in the usage line, "" for none */
	const char *about;	   /* the paragraph after the usage line */
	const struct uk_opt *opts; /* the command's own options, ended by {0} */
	const char *epilog;	   /* after the options (commands, exit status), or NULL */
	enum uk_complete operand_complete;
};

/* Called for each UK_ARG_CALL option found (may be NULL when there is
 * none): returns UK_CONTINUE or an exit status. */
typedef int (*uk_opt_fn)(void *ctx, const struct uk_opt *opt, const char *arg);

/* Parses argv against spec (plus --help, --version and --color), stores
 * each option's value in ctx as its table entry says, and calls fn for the
 * UK_ARG_CALL ones. A command without operands (spec->operands "")
 * refuses any. Returns UK_CONTINUE with optind
 * at the first operand, 0 after --help or --version, or UK_EXIT_USAGE
 * after printing a usage error (with the nearest option, if any). */
int uk_opts_parse(const struct uk_cmd_spec *spec, int argc, char **argv, uk_opt_fn fn, void *ctx);

struct uk_conf;
/* Applies a configuration file's entries (udpkit/conf.h) as the long
 * options of the same names, in file order, each checked as on the command
 * line; errors name path and the line ("udpkit chat: PATH:3: ..."). A
 * flag's value is true/yes/on/1 or false/no/off/0 (false: not set). Not
 * allowed in a file: help, version, config, no-config. Values are used in
 * place: conf must outlive what ctx points to. A later uk_opts_parse()
 * (the command line) overrides them; a repeatable option given there
 * replaces the file's list. Returns UK_CONTINUE or UK_EXIT_USAGE. */
int uk_opts_parse_conf(const struct uk_cmd_spec *spec, const struct uk_conf *conf, const char *path,
		       uk_opt_fn fn, void *ctx);

/* uk_opts_parse(), then the operands "HOST [PORT]" into t (required when
 * host_required), as uk_cli_target_operands() takes them. */
int uk_opts_parse_target(const struct uk_cmd_spec *spec, int argc, char **argv, void *ctx,
			 struct uk_cli_target *t, bool host_required);

/* Writes the command's --help text to f. */
void uk_opts_help(const struct uk_cmd_spec *spec, FILE *f);

/* Fills out with the command's options, then the common ones; returns
 * how many (at most cap). */
size_t uk_opts_all(const struct uk_cmd_spec *spec, const struct uk_opt **out, size_t cap);

/* The common options (help, version, color), ended by {0}. */
extern const struct uk_opt uk_opts_common[];

/* The specs of every command, in the order of the command list. */
extern const struct uk_cmd_spec *const uk_cmd_specs[];
extern const size_t uk_cmd_count;

/* The candidate nearest to word (edit distance), or NULL when none is
 * close enough to be a likely typo. */
const char *uk_opts_nearest(const char *word, const char *const *candidates, size_t n);

/* Writes a completion script for shell ("bash" or "zsh") to f; returns 0,
 * or -1 for an unknown shell. */
int uk_opts_completion(const char *shell, FILE *f);

/* Argument helpers for option handlers: each parses arg for opt, prints
 * "udpkit CMD: invalid --NAME 'ARG': why (range)" on failure, and returns
 * UK_CONTINUE or UK_EXIT_USAGE. */
int uk_arg_u64(const struct uk_opt *opt, const char *arg, uint64_t min, uint64_t max,
	       uint64_t *out);
int uk_arg_duration(const struct uk_opt *opt, const char *arg, uint64_t min_ns, uint64_t max_ns,
		    uint64_t *out_ns);
/* The same with a number without unit in unit_ns (UK_NS_PER_MS, ...). */
int uk_arg_duration_in(const struct uk_opt *opt, const char *arg, uint64_t unit_ns, uint64_t min_ns,
		       uint64_t max_ns, uint64_t *out_ns);
int uk_arg_rate(const struct uk_opt *opt, const char *arg, uint64_t min, uint64_t max,
		uint64_t *out);
int uk_arg_port(const struct uk_opt *opt, const char *arg, bool allow_zero, uint16_t *out);
/* arg must be one of opt->choices; *index gets its position. */
int uk_arg_choice(const struct uk_opt *opt, const char *arg, int *index);

/* The name of the command being parsed ("ping"), for messages. */
const char *uk_opts_cmd(void);

#endif
