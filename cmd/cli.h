/* cli.h: what the front-ends share: the command table, signal flags,
 * printing of errors and addresses. The library never prints; this does. */
#ifndef UDPKIT_CLI_H
#define UDPKIT_CLI_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "udpkit/addr.h"

#define UK_VERSION "0.1.0"

/* Exit statuses shared by every command, as iputils ping uses them (the
 * table is in docs/cli.md and in every man page's EXIT STATUS):
 * 0 success; 1 the command ran but the network did not answer as asked
 * (no reply, a line unanswered, nobody responded); 2 anything else: a
 * usage error, a name that does not resolve, a socket that cannot open. */
enum { UK_EXIT_OK = 0, UK_EXIT_FAIL = 1, UK_EXIT_USAGE = 2, UK_EXIT_ERROR = 2 };

/* Returned by parsers and option handlers when the command should go on;
 * anything else is the exit status to return at once. */
#define UK_CONTINUE (-1)

struct uk_cmd_spec;
#define UK_COMMAND(name)                                                                           \
	int uk_cmd_##name(int argc, char **argv);                                                  \
	extern const struct uk_cmd_spec uk_spec_##name;
#include "commands.h"
#undef UK_COMMAND

/* Set by SIGINT/SIGTERM once uk_cli_catch_signals() ran; also written to
 * uk_cli_stop_fd (an eventfd) so poll() loops wake up. */
extern atomic_bool uk_cli_stop;
extern atomic_int uk_cli_signal;
extern int uk_cli_stop_fd;
void uk_cli_catch_signals(void);

/* The command running ("ping"), which messages name; the option engine
 * sets it as it parses. */
void uk_cli_set_cmd(const char *cmd);
const char *uk_cli_cmd(void);

/* "udpkit echo: <message>" on stderr. */
void uk_cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "udpkit echo: warning: <message>" on stderr. */
void uk_cli_warn(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "<cmd>: <what>: <uk_strerror(err)>" and returns UK_EXIT_ERROR. */
int uk_cli_fail(const char *cmd, const char *what, int err);
/* Prints "Try 'udpkit <cmd> --help'." after a usage error; returns UK_EXIT_USAGE. */
int uk_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* While where is set ("PATH:LINE", a configuration file's entry), the
 * messages above name it after the command, and usage errors do not
 * suggest --help; NULL ends that. */
void uk_cli_set_origin(const char *where);

/* Once a server's sockets are bound: started as root, become user (NULL:
 * nobody), saying so on stderr; otherwise drop any capability
 * (include/udpkit/priv.h). Prints the error and returns -1 on failure
 * (an unknown user, or one that is root). */
int uk_cli_drop_privileges(const char *cmd, const char *user);

/* Prints "bound on ADDR PORT" on stderr (the line scripts and tests wait for). */
void uk_cli_print_bound(int fd);

/* A host and port as the user wrote them: the one grammar of
 * uk_addr_split() ("HOST", "HOST:PORT", "[V6]:PORT", "V6"), plus -p. */
struct uk_cli_target {
	char host[256];
	uint16_t port;
	bool port_given;   /* by -p or in the address */
	bool port_in_opt;  /* by -p: an address with another port is an error */
	bool port_in_addr; /* in HOST:PORT: a -p with another port is an error */
};

/* Splits text (an operand or an option's ADDR) into t; what names it in
 * errors ("--bind", "host"). Returns UK_CONTINUE or UK_EXIT_USAGE. */
int uk_cli_target_split(struct uk_cli_target *t, const char *what, const char *text);
/* Takes the operands "HOST [PORT]" left in argv after the options; host is
 * required when host_required, else t keeps its defaults. Returns
 * UK_CONTINUE or UK_EXIT_USAGE. */
int uk_cli_target_operands(struct uk_cli_target *t, int argc, char **argv, bool host_required);
/* Resolves t; on failure prints why (no such host, name service
 * unreachable, family mismatch) and returns UK_EXIT_ERROR. */
int uk_cli_target_resolve(const struct uk_cli_target *t, int family, struct uk_addr *out);

/* Colour: --color=auto|always|never (the order of enum uk_color_mode),
 * NO_COLOR honoured in auto mode (https://no-color.org). */
enum uk_color_mode { UK_COLOR_AUTO, UK_COLOR_ALWAYS, UK_COLOR_NEVER };
void uk_cli_set_color(enum uk_color_mode mode);
/* True when text written to f may carry colour. */
bool uk_cli_color(FILE *f);
enum uk_sgr { UK_SGR_RESET, UK_SGR_ERROR, UK_SGR_WARN, UK_SGR_GOOD, UK_SGR_BOLD };
/* The escape sequence for which on f, or "" when f gets no colour. */
const char *uk_cli_sgr(FILE *f, enum uk_sgr which);

/* one or many, as n says ("1 line", "2 lines"). */
const char *uk_cli_plural(uint64_t n, const char *one, const char *many);

/* Parses a target typed by the user: "HOST", "HOST:PORT", "[V6]:PORT" or
 * "HOST PORT" (space-separated), default_port when none is given; flags
 * as uk_addr_parse_flags (UK_ADDR_NUMERIC: no name lookup). Prints
 * nothing. Returns 0, or < 0 when text is not that. */
int uk_cli_parse_target(const char *text, uint16_t default_port, unsigned flags,
			struct uk_addr *to);

/* Escapes bytes for display, writing them to f. */
void uk_cli_put_escaped(FILE *f, const void *data, size_t len);
/* Writes a JSON string literal (with quotes) of escaped bytes to f. */
void uk_cli_put_json_string(FILE *f, const void *data, size_t len);

/* The version of the JSON records of every --json output (docs/json.md). */
#define UK_JSON_SCHEMA_VERSION 1
/* Starts a JSON record: {"schema_version":1,"event":"EVENT". The caller
 * adds ,"key":value pairs and the closing brace. */
void uk_cli_json_begin(FILE *f, const char *event);

/* True when f is a terminal. */
bool uk_cli_isatty(FILE *f);

#endif
