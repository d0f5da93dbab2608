/* udpkit.c: the program's entry point; dispatches to a subcommand.
 * The command list comes from build/gen/commands.h, generated from the
 * cmd/<name>/ directories, and each command's one-line summary from its
 * option table (cmd/opts.h), so adding a command adds no line here. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "opts.h"
#include "udpkit/i18n.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
#define UK_COMMAND(name) {#name, uk_cmd_##name},
#include "commands.h"
#undef UK_COMMAND
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	fprintf(f, _("usage: udpkit <command> [options] [args]\n"
		     "       udpkit help <command>\n"
		     "       udpkit --help | --version | --completion bash|zsh\n\ncommands:\n"));
	for (size_t i = 0; i < uk_cmd_count; i++)
		fprintf(f, "  %-10s %s\n", uk_cmd_specs[i]->name, _(uk_cmd_specs[i]->summary));
	fprintf(
	    f,
	    _("\n'udpkit <command> --help' describes a command; man udpkit-<command> has more.\n"));
}

static int find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(name, commands[i].name) == 0)
			return (int)i;
	return -1;
}

static int unknown_command(const char *name)
{
	const char *names[N_COMMANDS + 1];
	const char *near;

	for (size_t i = 0; i < N_COMMANDS; i++)
		names[i] = commands[i].name;
	names[N_COMMANDS] = "help";
	near = uk_opts_nearest(name, names, N_COMMANDS + 1);
	if (near)
		fprintf(stderr, _("udpkit: unknown command '%s'; did you mean '%s'?\n"), name,
			near);
	else
		fprintf(stderr, _("udpkit: unknown command '%s'\n"), name);
	fprintf(stderr, _("Try 'udpkit --help'.\n"));
	return UK_EXIT_USAGE;
}

/* Output is written with fprintf/fputs whose results are not checked one
 * by one (.clang-tidy says so for cert-err33-c): a failed write is sticky
 * in the stream, so this one check at exit turns any lost output (a full
 * disk, a closed pipe) into a failure exit status: an error, 2. */
static int finish(int rc)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, _("udpkit: error writing standard output: %s\n"), strerror(errno));
		return rc ? rc : UK_EXIT_ERROR;
	}
	return rc;
}

/* udpkit help [CMD]: the same text as udpkit [CMD] --help. */
static int help(int argc, char **argv)
{
	int i;

	if (argc < 3) {
		usage(stdout);
		return UK_EXIT_OK;
	}
	if (argc > 3) {
		fprintf(stderr, _("udpkit help: unexpected argument '%s'\n"), argv[3]);
		return UK_EXIT_USAGE;
	}
	i = find_command(argv[2]);
	if (i < 0)
		return unknown_command(argv[2]);
	uk_opts_help(uk_cmd_specs[i], stdout);
	return finish(UK_EXIT_OK);
}

int main(int argc, char **argv)
{
	int i;

	uk_i18n_init();
	if (argc < 2) {
		usage(stderr);
		return UK_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return finish(UK_EXIT_OK);
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("udpkit %s\n", UK_VERSION);
		return finish(UK_EXIT_OK);
	}
	if (strcmp(argv[1], "--completion") == 0) {
		if (argc != 3 || uk_opts_completion(argv[2], stdout) < 0) {
			fprintf(stderr, _("udpkit: --completion takes bash or zsh\n"));
			return UK_EXIT_USAGE;
		}
		return finish(UK_EXIT_OK);
	}
	if (strcmp(argv[1], "help") == 0)
		return help(argc, argv);
	i = find_command(argv[1]);
	if (i >= 0)
		return finish(commands[i].run(argc - 1, argv + 1));
	if (argv[1][0] == '-') {
		fprintf(stderr, _("udpkit: unknown option '%s'\nTry 'udpkit --help'.\n"), argv[1]);
		return UK_EXIT_USAGE;
	}
	return unknown_command(argv[1]);
}
