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

/* Exit codes shared by every command (sysexits-like, as ping uses them). */
enum { UK_EXIT_OK = 0, UK_EXIT_FAIL = 1, UK_EXIT_USAGE = 2 };

#define UK_COMMAND(name) int uk_cmd_##name(int argc, char **argv);
#include "commands.h"
#undef UK_COMMAND

/* Set by SIGINT/SIGTERM once uk_cli_catch_signals() ran; also written to
 * uk_cli_stop_fd (an eventfd) so poll() loops wake up. */
extern atomic_bool uk_cli_stop;
extern atomic_int uk_cli_signal;
extern int uk_cli_stop_fd;
void uk_cli_catch_signals(void);

/* "udpkit echo: <message>" on stderr. */
void uk_cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "<cmd>: <what>: <uk_strerror(err)>" and returns UK_EXIT_FAIL. */
int uk_cli_fail(const char *cmd, const char *what, int err);
/* Prints "Try 'udpkit <cmd> --help'." after a usage error; returns UK_EXIT_USAGE. */
int uk_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Once a server's sockets are bound: started as root, become user (NULL:
 * nobody), saying so on stderr; otherwise drop any capability
 * (include/udpkit/priv.h). Prints the error and returns -1 on failure
 * (an unknown user, or one that is root). */
int uk_cli_drop_privileges(const char *cmd, const char *user);

/* Prints "bound on ADDR PORT" on stderr (the line scripts and tests wait for). */
void uk_cli_print_bound(int fd);

/* Parses a port (0..65535) or prints a usage error; returns 0 or -1. */
int uk_cli_port(const char *cmd, const char *text, uint16_t *port, bool allow_zero);
/* Takes the operands "[host [port]]" left in argv after getopt: host is
 * required when host_required, else keeps its default; so does port.
 * Prints a usage error and returns -1 when they do not fit. */
int uk_cli_host_port(const char *cmd, int argc, char **argv, bool host_required, const char **host,
		     uint16_t *port);

/* Resolves host/port or prints an error; returns 0 or -1. */
int uk_cli_resolve(const char *cmd, const char *host, uint16_t port, int family,
		   struct uk_addr *out);

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

/* True when f is a terminal. */
bool uk_cli_isatty(FILE *f);

#endif
