/* cli.c: helpers shared by the front-ends (see cmd/cli.h). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cli.h"
#include "udpkit/err.h"
#include "udpkit/priv.h"
#include "udpkit/parse.h"
#include "udpkit/sock.h"
#include "udpkit/text.h"
#include "udpkit/i18n.h"

atomic_bool uk_cli_stop;
atomic_int uk_cli_signal;
int uk_cli_stop_fd = -1;

static void on_signal(int sig)
{
	uint64_t one = 1;
	int saved = errno;

	atomic_store(&uk_cli_signal, sig);
	atomic_store(&uk_cli_stop, true);
	if (uk_cli_stop_fd >= 0 && write(uk_cli_stop_fd, &one, sizeof(one)) < 0) {
		/* Nothing to do: the flag is set, the eventfd only wakes poll(). */
	}
	errno = saved;
}

void uk_cli_catch_signals(void)
{
	struct sigaction sa;

	if (uk_cli_stop_fd < 0)
		uk_cli_stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: blocking calls return EINTR so loops see the flag. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	(void)signal(SIGPIPE, SIG_IGN); /* fails only for an invalid signal */
}

static enum uk_color_mode color_mode = UK_COLOR_AUTO;
static const char *current_cmd = "udpkit";

void uk_cli_set_cmd(const char *cmd)
{
	current_cmd = cmd;
}

const char *uk_cli_cmd(void)
{
	return current_cmd;
}

void uk_cli_set_color(enum uk_color_mode mode)
{
	color_mode = mode;
}

bool uk_cli_color(FILE *f)
{
	const char *no_color = getenv("NO_COLOR"), *term = getenv("TERM");

	if (color_mode != UK_COLOR_AUTO)
		return color_mode == UK_COLOR_ALWAYS;
	if (no_color && *no_color)
		return false;
	return uk_cli_isatty(f) && !(term && strcmp(term, "dumb") == 0);
}

const char *uk_cli_sgr(FILE *f, enum uk_sgr which)
{
	static const char *const codes[] = {"\033[0m", "\033[1;31m", "\033[1;33m", "\033[32m",
					    "\033[1m"};
	return uk_cli_color(f) ? codes[which] : "";
}

const char *uk_cli_plural(uint64_t n, const char *one, const char *many)
{
	/* ngettext: a language's own plural rule (Chinese has one form). */
	return ngettext(one, many, (unsigned long)n);
}

/* "PATH:LINE" while a configuration file's entry is parsed, else NULL. */
static const char *origin;

void uk_cli_set_origin(const char *where)
{
	origin = where;
}

__attribute__((format(printf, 3, 0))) static void verror(const char *cmd, const char *label,
							 const char *fmt, va_list ap)
{
	fprintf(stderr, "%sudpkit %s:%s %s", uk_cli_sgr(stderr, UK_SGR_ERROR), cmd,
		uk_cli_sgr(stderr, UK_SGR_RESET), label);
	if (origin)
		fprintf(stderr, "%s: ", origin);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void uk_cli_warn(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, _("udpkit %s: %swarning:%s "), cmd, uk_cli_sgr(stderr, UK_SGR_WARN),
		uk_cli_sgr(stderr, UK_SGR_RESET));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void uk_cli_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verror(cmd, "", fmt, ap);
	va_end(ap);
}

int uk_cli_fail(const char *cmd, const char *what, int err)
{
	uk_cli_error(cmd, "%s: %s", what, _(uk_strerror(err)));
	return UK_EXIT_ERROR;
}

int uk_cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verror(cmd, "", fmt, ap);
	va_end(ap);
	if (!origin) /* a file's mistake: --help is no help */
		fprintf(stderr, _("Try 'udpkit %s --help'.\n"), cmd);
	return UK_EXIT_USAGE;
}

int uk_cli_drop_privileges(const char *cmd, const char *user)
{
	const char *name = user ? user : UK_PRIV_DEFAULT_USER;
	struct uk_priv_result r;
	int rc = uk_priv_drop(user, &r);

	if (rc == UK_ENOTFOUND)
		uk_cli_error(cmd, _("no such user '%s'"), name);
	else if (rc == -EPERM)
		uk_cli_error(cmd,
			     _("refusing to keep root after binding (the user must not be root)"));
	else if (rc < 0)
		uk_cli_fail(cmd, _("dropping privileges"), rc);
	if (rc < 0)
		return -1;
	if (r.switched)
		fprintf(stderr, _("udpkit %s: running as %s (uid %u, gid %u)\n"), cmd, name, r.uid,
			r.gid);
	return 0;
}

void uk_cli_print_bound(int fd)
{
	struct uk_addr local;
	char ip[UK_ADDR_STRLEN];

	if (uk_sock_local(fd, &local) < 0)
		return;
	fprintf(stderr, "bound on %s %u\n", uk_addr_ip(&local, ip, sizeof(ip)),
		(unsigned)uk_addr_port(&local));
	fflush(stderr);
}

int uk_cli_target_split(struct uk_cli_target *t, const char *what, const char *text)
{
	uint16_t port = t->port;
	bool has_port;
	int rc = uk_addr_split(text, t->host, sizeof(t->host), &port, &has_port);

	if (rc == UK_EAMBIGUOUS)
		return uk_cli_usage_error(uk_cli_cmd(),
					  _("%s '%s' is ambiguous: write [%s] for the address, or "
					    "[ADDR]:PORT with a port"),
					  what, text, text);
	if (rc < 0)
		return uk_cli_usage_error(
		    uk_cli_cmd(), _("invalid %s '%s': %s (HOST, HOST:PORT, [IPV6]:PORT or IPV6)"),
		    what, text, rc == UK_ERANGE_ ? _("port out of range") : _("cannot parse"));
	/* -p and a port in the address must agree; a later -b or -p replaces
	 * an earlier one of its own kind, as options do. */
	if (has_port && t->port_in_opt && port != t->port)
		return uk_cli_usage_error(uk_cli_cmd(),
					  _("the port is given twice: %u in '%s' and %u"),
					  (unsigned)port, text, (unsigned)t->port);
	if (has_port) {
		t->port = port;
		t->port_given = t->port_in_addr = true;
	}
	return UK_CONTINUE;
}

int uk_cli_target_operands(struct uk_cli_target *t, int argc, char **argv, bool host_required)
{
	const char *cmd = uk_cli_cmd();
	int rc;

	if (optind >= argc && host_required)
		return uk_cli_usage_error(cmd, _("a host is required"));
	if (optind < argc &&
	    (rc = uk_cli_target_split(t, _("host"), argv[optind++])) != UK_CONTINUE)
		return rc;
	if (optind < argc) {
		uint64_t v;
		const char *text = argv[optind++];
		if (uk_parse_u64(text, 1, 65535, &v) < 0)
			return uk_cli_usage_error(cmd, _("invalid port '%s' (1..65535)"), text);
		if (t->port_given && v != t->port)
			return uk_cli_usage_error(cmd, _("the port is given twice: %s and %u"),
						  text, (unsigned)t->port);
		t->port = (uint16_t)v;
		t->port_given = true;
	}
	if (optind < argc)
		return uk_cli_usage_error(cmd, _("unexpected argument '%s'"), argv[optind]);
	return UK_CONTINUE;
}

int uk_cli_target_resolve(const struct uk_cli_target *t, int family, struct uk_addr *out)
{
	int rc = uk_addr_parse(out, t->host, t->port, family);

	if (rc == 0)
		return UK_CONTINUE;
	if (rc == UK_EFAMILY)
		uk_cli_error(uk_cli_cmd(), _("%s: %s (%s asks for %s)"), t->host,
			     _(uk_strerror(rc)), family == AF_INET ? "-4" : "-6",
			     family == AF_INET ? "IPv4" : "IPv6");
	else
		uk_cli_error(uk_cli_cmd(), "%s: %s", t->host, _(uk_strerror(rc)));
	return UK_EXIT_ERROR;
}

/* Copies the next space-separated word of *p into out (cap bytes) and
 * moves *p past it. Returns its length: 0 at the end, -1 when too long. */
static int next_word(const char **p, char *out, size_t cap)
{
	size_t n;

	*p += strspn(*p, " \t");
	n = strcspn(*p, " \t");
	if (n >= cap)
		return -1;
	memcpy(out, *p, n);
	out[n] = 0;
	*p += n;
	return (int)n;
}

int uk_cli_parse_target(const char *text, uint16_t default_port, unsigned flags, struct uk_addr *to)
{
	char host[256], port_text[8], rest[2];
	uint64_t port;
	int hn = next_word(&text, host, sizeof(host)),
	    pn = next_word(&text, port_text, sizeof(port_text));

	if (hn <= 0 || pn < 0 || next_word(&text, rest, sizeof(rest)) != 0)
		return UK_EPARSE;
	if (pn == 0)
		return uk_addr_parse_hostport_flags(to, host, default_port, AF_UNSPEC, flags);
	if (uk_parse_u64(port_text, 1, 65535, &port) < 0)
		return UK_EPARSE;
	return uk_addr_parse_flags(to, host, (uint16_t)port, AF_UNSPEC, flags);
}

void uk_cli_put_escaped(FILE *f, const void *data, size_t len)
{
	char stack[1024];
	size_t need = UK_ESCAPE_SIZE(len);
	char *buf = need <= sizeof(stack) ? stack : malloc(need);
	int n;

	if (!buf) {
		fputs("<out of memory>", f);
		return;
	}
	n = uk_text_escape(data, len, buf, need);
	if (n > 0)
		fwrite(buf, 1, (size_t)n, f);
	if (buf != stack)
		free(buf);
}

void uk_cli_put_json_string(FILE *f, const void *data, size_t len)
{
	size_t esc_need = UK_ESCAPE_SIZE(len), json_need = esc_need * 6;
	char *esc = malloc(esc_need), *json = malloc(json_need);
	int n;

	if (esc && json && (n = uk_text_escape(data, len, esc, esc_need)) >= 0 &&
	    (n = uk_json_escape(esc, (size_t)n, json, json_need)) >= 0) {
		fputc('"', f);
		fwrite(json, 1, (size_t)n, f);
		fputc('"', f);
	} else {
		fputs("null", f);
	}
	free(esc);
	free(json);
}

void uk_cli_json_begin(FILE *f, const char *event)
{
	fprintf(f, "{\"schema_version\":%d,\"event\":\"%s\"", UK_JSON_SCHEMA_VERSION, event);
}

bool uk_cli_isatty(FILE *f)
{
	return isatty(fileno(f)) == 1;
}
