/* udpkit send: the client (the tutorial's part 2.2 made real).
 * Each input line is one datagram to the server; each reply is printed
 * with the address it came from. A lost datagram or reply never hangs it:
 * it retries, then says no reply came, or that nobody listens (ICMP). */
#include <errno.h>
#include <poll.h>
#include <readline/history.h>
#include <readline/readline.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "opts.h"
#include "udpkit/clock.h"
#include "udpkit/err.h"
#include "udpkit/i18n.h"
#include "udpkit/parse.h"
#include "udpkit/sock.h"

#define CMD "send"
#define MAX_DATAGRAM 65507
#define REPLY_CAP 65536

struct send_opts {
	struct uk_cli_target target;
	int family;
	uint64_t timeout_ns;
	uint64_t retries;
	bool json;
};

/* The option table: cmd/send/options.tsv, made C by cmd/options.awk. */
#define AT(member) offsetof(struct send_opts, member)
#include "send_options.h"

const struct uk_cmd_spec uk_spec_send = {
    "send",
    N_("send lines as datagrams, print the replies"),
    "[HOST [PORT]]",
    N_("Sends each line of input as one datagram to HOST (default 127.0.0.1, port\n"
       "8080) and prints the reply with the address it came from. On a terminal it\n"
       "prompts; otherwise it reads lines from stdin. HOST is a name, an address,\n"
       "HOST:PORT, [IPV6]:PORT or a bare IPv6 address."),
    options,
    N_("Exit status: 0 when every line got a reply, 1 when some did not, 2 on errors."),
    UK_COMP_HOST};

enum outcome { GOT_REPLY, NO_REPLY, REFUSED, FAILED };

static int parse_args(int argc, char **argv, struct send_opts *o)
{
	*o = (struct send_opts){.target = {.host = "127.0.0.1", .port = 8080},
				.family = AF_UNSPEC,
				.timeout_ns = UK_NS_PER_SEC,
				.retries = 2};
	return uk_opts_parse_target(&uk_spec_send, argc, argv, o, &o->target, false);
}

/* Waits up to timeout_ns for a datagram on fd; returns its length (an
 * empty datagram is a valid reply), -ETIMEDOUT, or -errno (-ECONNREFUSED: an ICMP port unreachable
 * came back). */
static ssize_t wait_reply(int fd, unsigned char *buf, size_t cap, uint64_t timeout_ns)
{
	uint64_t deadline = uk_now_ns() + timeout_ns;

	for (;;) {
		uint64_t now = uk_now_ns();
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
				      {.fd = uk_cli_stop_fd, .events = POLLIN}};
		int rc;
		ssize_t n;

		if (atomic_load(&uk_cli_stop))
			return -EINTR;
		if (now >= deadline)
			return -ETIMEDOUT;
		rc = poll(p, 2, (int)((deadline - now + UK_NS_PER_MS - 1) / UK_NS_PER_MS));
		if (rc < 0 && errno != EINTR)
			return -errno;
		if (rc <= 0 || !(p[0].revents & (POLLIN | POLLERR)))
			continue;
		n = recv(fd, buf, cap, MSG_DONTWAIT);
		if (n >= 0)
			return n;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
	}
}

/* Prints and discards replies that came after we gave up on their line,
 * so they are never taken for the answer to the next one. */
static void drain_late(int fd, const char *peer_text, bool json, unsigned char *buf)
{
	ssize_t n;
	while ((n = recv(fd, buf, REPLY_CAP, MSG_DONTWAIT)) >= 0 || errno == ECONNREFUSED) {
		if (n < 0)
			continue;
		if (json) {
			uk_cli_json_begin(stdout, "late_reply");
			printf(",\"from\":\"%s\",\"bytes\":%zd,\"reply\":", peer_text, n);
			uk_cli_put_json_string(stdout, buf, (size_t)n);
			printf("}\n");
		} else {
			printf("late reply from %s (%zd bytes): ", peer_text, n);
			uk_cli_put_escaped(stdout, buf, (size_t)n);
			putchar('\n');
		}
	}
}

static enum outcome send_line(int fd, const struct send_opts *o, const char *peer_text,
			      const char *line, size_t len, unsigned char *buf)
{
	unsigned tries = 0;
	int refused = 0;

	drain_late(fd, peer_text, o->json, buf);
	while (tries <= o->retries) {
		uint64_t sent_at = uk_now_ns();
		ssize_t n = send(fd, line, len, 0);
		tries++;
		if (n < 0 && errno == ECONNREFUSED) {
			/* An ICMP error from an earlier datagram; this one may pass. */
			refused++;
			n = send(fd, line, len, 0);
		}
		if (n < 0) {
			if (errno == ECONNREFUSED) {
				refused++;
				continue;
			}
			uk_cli_fail(CMD, _("send"), -errno);
			return FAILED;
		}
		n = wait_reply(fd, buf, REPLY_CAP, o->timeout_ns);
		if (n == -EINTR)
			return FAILED;
		if (n == -ECONNREFUSED) {
			refused++;
			continue;
		}
		if (n == -ETIMEDOUT)
			continue; /* the loop resends while tries are left */
		if (n < 0) {
			uk_cli_fail(CMD, _("receive"), (int)n);
			return FAILED;
		}
		{
			double ms = (double)(uk_now_ns() - sent_at) / 1e6;
			if (o->json) {
				uk_cli_json_begin(stdout, "reply");
				printf(
				    ",\"from\":\"%s\",\"bytes\":%zd,\"rtt_ms\":%.3f,\"tries\":%u,"
				    "\"reply\":",
				    peer_text, n, ms, tries);
				uk_cli_put_json_string(stdout, buf, (size_t)n);
				printf("}\n");
			} else {
				printf("reply from %s (%zd bytes, %.3f ms): ", peer_text, n, ms);
				uk_cli_put_escaped(stdout, buf, (size_t)n);
				putchar('\n');
			}
			fflush(stdout);
			return GOT_REPLY;
		}
	}
	if (o->json) {
		uk_cli_json_begin(stdout, refused ? "refused" : "no_reply");
		printf(",\"to\":\"%s\",\"tries\":%u}\n", peer_text, tries);
	} else if (refused) {
		printf(
		    _("no reply from %s: nobody listens there (ICMP port unreachable), %u tries\n"),
		    peer_text, tries);
	} else {
		printf(_("no reply from %s after %u tries (timeout %.3f s each)\n"), peer_text,
		       tries, (double)o->timeout_ns / 1e9);
	}
	fflush(stdout);
	return refused ? REFUSED : NO_REPLY;
}

/* One line of input without its newline; NULL at EOF or on Ctrl-C.
 * On a terminal readline gives editing and history, and the prompt. */
static char *next_line(bool interactive, size_t *len)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (interactive) {
		line = readline(_("message> "));
		if (!line)
			return NULL;
		if (*line)
			add_history(line);
		*len = strlen(line);
		return line;
	}
	n = getline(&line, &cap, stdin);
	if (n < 0 || atomic_load(&uk_cli_stop)) {
		free(line);
		return NULL;
	}
	if (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	if (n > 0 && line[n - 1] == '\r')
		line[--n] = '\0';
	*len = (size_t)n;
	return line;
}

/* One run: the socket to the server and what came back. */
struct send_run {
	struct send_opts o;
	struct uk_addr peer;
	char peer_text[UK_ADDR_STRLEN];
	unsigned char *buf;
	int fd;
	unsigned long lines, answered;
};

static int send_open(struct send_run *S)
{
	int rc = uk_cli_target_resolve(&S->o.target, S->o.family, &S->peer);

	if (rc != UK_CONTINUE)
		return rc;
	uk_addr_format(&S->peer, S->peer_text, sizeof(S->peer_text));
	S->fd = uk_sock_open_connected(&S->peer, NULL);
	if (S->fd < 0)
		return uk_cli_fail(CMD, S->peer_text, S->fd);
	S->buf = malloc(REPLY_CAP);
	if (!S->buf)
		return uk_cli_fail(CMD, _("memory"), -ENOMEM);
	return UK_CONTINUE;
}

/* A line at a time until the end of input, a signal or a failure. */
static void send_run(struct send_run *S)
{
	bool interactive = uk_cli_isatty(stdin) && uk_cli_isatty(stdout) && !S->o.json;

	uk_cli_catch_signals();
	if (interactive)
		printf(_("udpkit send: to %s; one datagram per line; Ctrl-D or Ctrl-C ends.\n"),
		       S->peer_text);
	for (;;) {
		size_t len;
		char *line = next_line(interactive, &len);
		enum outcome out;
		if (!line)
			break;
		S->lines++;
		if (len > MAX_DATAGRAM) {
			uk_cli_error(
			    CMD, _("line of %zu bytes is longer than a datagram (%d): not sent"),
			    len, MAX_DATAGRAM);
			free(line);
			continue;
		}
		out = send_line(S->fd, &S->o, S->peer_text, line, len, S->buf);
		free(line);
		if (out == GOT_REPLY)
			S->answered++;
		if (out == FAILED)
			break;
	}
}

static int send_report(const struct send_run *S)
{
	if (!S->o.json)
		fprintf(stderr, _("udpkit send: %lu %s sent, %lu replied\n"), S->lines,
			uk_cli_plural(S->lines, "line", "lines"), S->answered);
	return S->answered == S->lines ? UK_EXIT_OK : UK_EXIT_FAIL;
}

int uk_cmd_send(int argc, char **argv)
{
	struct send_run S = {.fd = -1};
	int rc = parse_args(argc, argv, &S.o);

	if (rc == UK_CONTINUE)
		rc = send_open(&S);
	if (rc == UK_CONTINUE) {
		send_run(&S);
		rc = send_report(&S);
	}
	free(S.buf);
	if (S.fd >= 0)
		close(S.fd);
	return rc;
}
