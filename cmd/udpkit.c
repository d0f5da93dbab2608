/* udpkit.c: the program's entry point; dispatches to a subcommand.
 * The command list comes from build/gen/commands.h, generated from the
 * cmd/<name>/ directories, so adding a command adds no line here. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
#define UK_COMMAND(name) {#name, uk_cmd_##name},
#include "commands.h"
#undef UK_COMMAND
};

/* One line per command for --help; a command missing here still runs. */
static const char *summary(const char *name)
{
	static const char *const lines[][2] = {
	    {"bench", "load an echo server: echoes/s, loss, latency percentiles"},
	    {"broadcast", "send to the LAN's broadcast or a multicast group, list who answers"},
	    {"chat", "a serverless LAN chat room (IP Messenger and plain text)"},
	    {"echo", "UDP echo server (stamp, pure RFC 862, sockperf modes)"},
	    {"history", "list, filter and export the chat history"},
	    {"ifaces", "the interfaces broadcast and multicast use, and why others not"},
	    {"listen", "hear broadcasts and multicast, answer with a short ack"},
	    {"ping", "round-trip time and loss against any echo server"},
	    {"send", "send lines as datagrams, print the replies"},
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		if (strcmp(lines[i][0], name) == 0)
			return lines[i][1];
	return "";
}

static void usage(FILE *f)
{
	fprintf(f, "usage: udpkit <command> [options] [args]\n"
		   "       udpkit --help | --version\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, summary(commands[i].name));
	fprintf(
	    f, "\n'udpkit <command> --help' describes a command; man udpkit-<command> has more.\n");
}

/* Output is written with fprintf/fputs whose results are not checked one
 * by one (.clang-tidy says so for cert-err33-c): a failed write is sticky
 * in the stream, so this one check at exit turns any lost output (a full
 * disk, a closed pipe) into a failure exit status. */
static int finish(int rc)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "udpkit: error writing standard output: %s\n", strerror(errno));
		return rc ? rc : UK_EXIT_FAIL;
	}
	return rc;
}

int main(int argc, char **argv)
{
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
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return finish(commands[i].run(argc - 1, argv + 1));
	fprintf(stderr, "udpkit: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return UK_EXIT_USAGE;
}
