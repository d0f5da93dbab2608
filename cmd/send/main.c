/* udpkit send: the client (the tutorial's part 2.2 made real).
 * Each input line is one datagram to the server; each reply is printed
 * with the address it came from. A lost datagram or reply never hangs it:
 * it retries, then says no reply came, or that nobody listens (ICMP). */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <readline/history.h>
#include <readline/readline.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "udpkit/clock.h"
#include "udpkit/err.h"
#include "udpkit/parse.h"
#include "udpkit/sock.h"

#define CMD "send"
#define MAX_DATAGRAM 65507
#define REPLY_CAP 65536

struct send_opts {
	const char *host;
	uint16_t port;
	int family;
	uint64_t timeout_ns;
	unsigned retries;
	bool json;
};

enum outcome { GOT_REPLY, NO_REPLY, REFUSED, FAILED };

static void usage(FILE *f)
{
	fprintf(f,
		"usage: udpkit send [-46] [-W timeout] [-r retries] [--json] [host [port]]\n"
		"\n"
		"Sends each line of input as one datagram to host:port (default\n"
		"127.0.0.1 8080) and prints the reply with the address it came from.\n"
		"On a terminal it prompts; otherwise it reads lines from stdin.\n"
		"\n"
		"  -W, --timeout SECONDS  wait this long for each reply (default 1; 200ms works)\n"
		"  -r, --retries N        resend a line this many times when no reply came "
		"(default 2)\n"
		"  -4, --ipv4             use IPv4 only\n"
		"  -6, --ipv6             use IPv6 only\n"
		"      --json             one JSON object per line of input\n"
		"  -h, --help             this help\n"
		"\n"
		"Exit status: 0 when every line got a reply, 1 when some did not, 2 on usage "
		"errors.\n");
}

static int parse_args(int argc, char **argv, struct send_opts *o)
{
	static const struct option longopts[] = {{"timeout", required_argument, NULL, 'W'},
						 {"retries", required_argument, NULL, 'r'},
						 {"ipv4", no_argument, NULL, '4'},
						 {"ipv6", no_argument, NULL, '6'},
						 {"json", no_argument, NULL, 'J'},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	uint64_t v;
	int c;

	*o = (struct send_opts){.host = "127.0.0.1",
				.port = 8080,
				.family = AF_UNSPEC,
				.timeout_ns = UK_NS_PER_SEC,
				.retries = 2};
	optind = 1;
	while ((c = getopt_long(argc, argv, "W:r:46h", longopts, NULL)) != -1) {
		switch (c) {
		case 'W':
			if (uk_parse_duration(optarg, UK_NS_PER_SEC, UK_NS_PER_MS,
					      3600 * UK_NS_PER_SEC, &o->timeout_ns) < 0)
				return uk_cli_usage_error(
					   CMD, "invalid --timeout '%s' (1ms..3600s)", optarg),
				       -1;
			break;
		case 'r':
			if (uk_parse_u64(optarg, 0, 100, &v) < 0)
				return uk_cli_usage_error(CMD, "--retries takes 0..100"), -1;
			o->retries = (unsigned)v;
			break;
		case '4':
			o->family = AF_INET;
			break;
		case '6':
			o->family = AF_INET6;
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
	return uk_cli_host_port(CMD, argc, argv, false, &o->host, &o->port);
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
			printf("{\"event\":\"late_reply\",\"from\":\"%s\",\"bytes\":%zd,\"reply\":",
			       peer_text, n);
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
			uk_cli_fail(CMD, "send", -errno);
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
			uk_cli_fail(CMD, "receive", (int)n);
			return FAILED;
		}
		{
			double ms = (double)(uk_now_ns() - sent_at) / 1e6;
			if (o->json) {
				printf("{\"event\":\"reply\",\"from\":\"%s\",\"bytes\":%zd,\"rtt_"
				       "ms\":%.3f,"
				       "\"tries\":%u,\"reply\":",
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
		printf("{\"event\":\"%s\",\"to\":\"%s\",\"tries\":%u}\n",
		       refused ? "refused" : "no_reply", peer_text, tries);
	} else if (refused) {
		printf("no reply from %s: nobody listens there (ICMP port unreachable), %u tries\n",
		       peer_text, tries);
	} else {
		printf("no reply from %s after %u tries (timeout %.3f s each)\n", peer_text, tries,
		       (double)o->timeout_ns / 1e9);
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
		line = readline("message> ");
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

int uk_cmd_send(int argc, char **argv)
{
	struct send_opts o;
	struct uk_addr peer;
	char peer_text[UK_ADDR_STRLEN];
	unsigned char *buf = NULL;
	unsigned long lines = 0, answered = 0;
	bool interactive;
	int fd = -1, rc = UK_EXIT_FAIL;

	if (parse_args(argc, argv, &o) < 0)
		return UK_EXIT_USAGE;
	if (uk_cli_resolve(CMD, o.host, o.port, o.family, &peer) < 0)
		return UK_EXIT_FAIL;
	uk_addr_format(&peer, peer_text, sizeof(peer_text));
	fd = uk_sock_open_connected(&peer, NULL);
	if (fd < 0)
		return uk_cli_fail(CMD, peer_text, fd);
	buf = malloc(REPLY_CAP);
	if (!buf) {
		uk_cli_fail(CMD, "memory", -ENOMEM);
		goto fail;
	}
	uk_cli_catch_signals();
	interactive = uk_cli_isatty(stdin) && uk_cli_isatty(stdout) && !o.json;
	if (interactive)
		printf("udpkit send: to %s; one datagram per line; Ctrl-D or Ctrl-C ends.\n",
		       peer_text);
	for (;;) {
		size_t len;
		char *line = next_line(interactive, &len);
		enum outcome out;
		if (!line)
			break;
		if (len > MAX_DATAGRAM) {
			uk_cli_error(CMD,
				     "line of %zu bytes is longer than a datagram (%d): not sent",
				     len, MAX_DATAGRAM);
			free(line);
			lines++;
			continue;
		}
		lines++;
		out = send_line(fd, &o, peer_text, line, len, buf);
		free(line);
		if (out == GOT_REPLY)
			answered++;
		if (out == FAILED)
			break;
	}
	rc = answered == lines ? UK_EXIT_OK : UK_EXIT_FAIL;
	if (!o.json)
		fprintf(stderr, "udpkit send: %lu lines sent, %lu answered\n", lines, answered);
fail:
	free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}
