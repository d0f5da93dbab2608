/* Test-only: drives the chat's terminal UI (cmd/chat/tui.c) under tmux for
 * tests/integration/test_tui.py. It echoes each submitted line into the
 * pane as "you: LINE", shows each datagram that arrives on a UDP socket
 * bound to 127.0.0.1:0 as "ADDR:PORT: TEXT" (escaped), and follows SIGWINCH.
 * Its events go to the log file named on the command line, one per line:
 * "bound on ADDR PORT", "ready", "submitted ESCAPED", "received N",
 * "resized COLSxROWS", "closed". */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "chat/tui.h"
#include "udpkit/text.h"

static int sig_pipe[2] = {-1, -1};
static volatile sig_atomic_t got_winch, got_stop;

static void on_signal(int sig)
{
	int saved = errno;
	char c = 1;
	if (sig == SIGWINCH)
		got_winch = 1;
	else
		got_stop = 1;
	if (write(sig_pipe[1], &c, 1) < 0) {
		/* The flag is set; the pipe only wakes poll(). */
	}
	errno = saved;
}

struct driver {
	struct uk_tui *tui;
	int log_fd;
	bool quit;
};

static void log_line(struct driver *d, const char *s)
{
	size_t n = strlen(s);
	char *line = malloc(n + 2);
	if (!line)
		return;
	memcpy(line, s, n);
	line[n] = '\n';
	if (write(d->log_fd, line, n + 1) < 0) {
		/* A test without its log fails on its own. */
	}
	free(line);
}

static void on_submit(void *user, const char *line)
{
	struct driver *d = user;
	size_t n = strlen(line), cap = UK_ESCAPE_SIZE(n) + 16;
	char *esc = malloc(cap), *out = malloc(cap + 16);

	if (esc && out && uk_text_escape(line, n, esc, cap) >= 0) {
		snprintf(out, cap + 16, "you: %s", esc);
		uk_tui_add_line(d->tui, out);
		snprintf(out, cap + 16, "submitted %s", esc);
		log_line(d, out);
	}
	if (strcmp(line, "/quit") == 0)
		d->quit = true;
	free(esc);
	free(out);
}

static void on_datagram(struct driver *d, int fd)
{
	unsigned char buf[65536];
	struct sockaddr_in from = {.sin_family = AF_INET};
	socklen_t flen = sizeof(from);
	ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
	char ip[INET_ADDRSTRLEN] = "?", *esc, *out, note[64];
	size_t cap;

	if (n < 0)
		return;
	cap = UK_ESCAPE_SIZE((size_t)n);
	esc = malloc(cap);
	out = malloc(cap + 64);
	inet_ntop(AF_INET, &from.sin_addr, ip, sizeof(ip));
	if (esc && out && uk_text_escape(buf, (size_t)n, esc, cap) >= 0) {
		snprintf(out, cap + 64, "%s:%u: %s", ip, (unsigned)ntohs(from.sin_port), esc);
		uk_tui_add_line(d->tui, out);
		snprintf(note, sizeof(note), "received %zd", n);
		log_line(d, note);
	}
	free(esc);
	free(out);
}

int main(int argc, char **argv)
{
	struct driver d = {0};
	struct sockaddr_in addr = {.sin_family = AF_INET};
	socklen_t alen = sizeof(addr);
	struct sigaction sa;
	char line[128];
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: tui_driver LOGFILE\n");
		return 2;
	}
	d.log_fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (d.log_fd < 0 || fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&addr, &alen) < 0 ||
	    pipe2(sig_pipe, O_CLOEXEC) < 0) {
		perror("tui_driver");
		return 1;
	}
	snprintf(line, sizeof(line), "bound on 127.0.0.1 %u", (unsigned)ntohs(addr.sin_port));
	log_line(&d, line);

	/* Our handler before the UI opens: ncurses then installs none. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGWINCH, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	d.tui = uk_tui_open(on_submit, &d);
	if (!d.tui) {
		fprintf(stderr, "tui_driver: not a terminal\n");
		return 1;
	}
	snprintf(line, sizeof(line), "tui driver 127.0.0.1:%u | \xe5\x9c\xa8\xe7\xba\xbf 0",
		 (unsigned)ntohs(addr.sin_port));
	uk_tui_set_status(d.tui, line);
	log_line(&d, "ready");
	while (!d.quit && !got_stop) {
		struct pollfd p[3] = {{.fd = uk_tui_fd(d.tui), .events = POLLIN},
				      {.fd = fd, .events = POLLIN},
				      {.fd = sig_pipe[0], .events = POLLIN}};
		uk_tui_refresh(d.tui);
		if (poll(p, 3, -1) < 0 && errno != EINTR)
			break;
		if (p[2].revents & POLLIN) {
			char drain[64];
			if (read(sig_pipe[0], drain, sizeof(drain)) < 0) {
				/* Nothing: the flags say what happened. */
			}
		}
		if (got_winch) {
			struct winsize ws;
			got_winch = 0;
			uk_tui_resize(d.tui);
			if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0) {
				snprintf(line, sizeof(line), "resized %ux%u", ws.ws_col, ws.ws_row);
				log_line(&d, line);
			}
		}
		if (p[1].revents & POLLIN)
			on_datagram(&d, fd);
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
			uk_tui_on_readable(d.tui);
	}
	uk_tui_close(d.tui);
	log_line(&d, "closed");
	close(fd);
	close(d.log_fd);
	return 0;
}
