/* room.c: `udpkit chat --room`, the glue between the chat and lib/room.c:
 * the passphrase (asked on the terminal without echo, or the first line of
 * --passphrase-file), the key (Argon2id, guarded memory, wiped on exit),
 * one seal before every sendto and one open after every recvfrom, the
 * wrong-passphrase hint and the counters. Outside rooms it only drops the
 * room datagrams that arrive. The construction: docs/rooms.md. */
#include <stdio.h>
#include <sys/stat.h>
#include <termios.h>
#include <sodium.h>

#include "chat/app.h"
#include "udpkit/room.h"
#include "udpkit/i18n.h"

#define PASS_MAX 1024
#define ROOM_NAME_MAX 64
/* The wrong-passphrase hint: at the first datagram with our room's tag
 * that does not authenticate while none has authenticated yet (a mistyped
 * passphrase here: members answer what they cannot read with a notice, so
 * it comes even if nobody talks), else at the 3rd since the last hint (one
 * there); then at most once a minute while more arrive. */
#define HINT_AFTER 3
#define HINT_EVERY_NS (60 * UK_NS_PER_SEC)

struct chat_room {
	struct uk_room r;
	char name[ROOM_NAME_MAX + 1];
	double join_s;		/* Argon2id's time, said at start */
	uint64_t forged_hinted; /* stats.forged at the last hint */
	uint64_t hint_ns;
	struct uk_addr forged_from;
};

/* ---- the passphrase -------------------------------------------------------- */

static volatile sig_atomic_t tty_signal;

static void on_tty_signal(int sig)
{
	tty_signal = sig;
}

/* The terminal's line without echo, as readpassphrase(3) does it: ECHO off
 * on /dev/tty, the signals that would leave it off caught (no SA_RESTART,
 * so read() returns), the terminal restored before anything else. */
static int read_tty(const char *prompt, char *buf, size_t cap, size_t *len)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU};
	struct sigaction sa, old[sizeof(sigs) / sizeof(sigs[0])];
	struct termios saved, quiet;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	int rc = 0;

	*len = 0;
	if (fd < 0)
		return -ENXIO;
	if (tcgetattr(fd, &saved) < 0) {
		close(fd);
		return -ENOTTY;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_tty_signal;
	sigemptyset(&sa.sa_mask);
	tty_signal = 0;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, &old[i]);
	quiet = saved;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
	quiet.c_lflag |= ICANON | ECHONL;
	tcsetattr(fd, TCSAFLUSH, &quiet);
	if (write(fd, prompt, strlen(prompt)) < 0)
		rc = -errno;
	while (rc == 0 && !tty_signal) {
		char c;
		ssize_t n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || c == '\n' || c == '\r')
			break;
		if (*len + 1 < cap)
			buf[(*len)++] = c;
	}
	tcsetattr(fd, TCSAFLUSH, &saved);
	close(fd);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &old[i], NULL);
	if (tty_signal) {
		/* The chat's own handlers (or the default) take it from here. */
		(void)raise(tty_signal); /* a handled signal: it cannot fail */
		return -EINTR;
	}
	return rc;
}

/* The first line of a file only its owner can use: a passphrase readable
 * by others is no secret. */
static int read_file(const char *path, char *buf, size_t cap, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	ssize_t n;

	*len = 0;
	if (fd < 0)
		return uk_cli_fail(CMD, path, -errno), -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		uk_cli_error(CMD, _("--passphrase-file %s: not a regular file"), path);
		goto fail;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		uk_cli_error(CMD,
			     _("--passphrase-file %s: refused, other users can read or change it "
			       "(mode %04o); chmod 600 %s"),
			     path, (unsigned)(st.st_mode & 07777), path);
		goto fail;
	}
	n = read(fd, buf, cap - 1);
	if (n < 0) {
		uk_cli_fail(CMD, path, -errno);
		goto fail;
	}
	close(fd);
	buf[n] = 0;
	*len = strcspn(buf, "\r\n");
	return 0;
fail:
	close(fd);
	return -1;
}

static bool room_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > ROOM_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return false;
	return true;
}

/* ---- open and close ---------------------------------------------------------- */

static void send_control(void *ctx, const struct uk_addr *to, const void *data, size_t len)
{
	struct app *a = ctx;
	if (uk_sock_send(a->fd, data, len, to, NULL, 0) < 0)
		a->send_errors++;
}

static int derive(struct app *a, struct uk_room_key **key)
{
	/* UDPKIT_ROOM_COST=test: libsodium's cheapest Argon2id, for the test
	 * suite only (a different key: such chats meet only each other). */
	const char *cost_env = getenv("UDPKIT_ROOM_COST");
	enum uk_room_cost cost =
	    cost_env && strcmp(cost_env, "test") == 0 ? UK_ROOM_COST_TEST : UK_ROOM_COST_MODERATE;
	char *pass = sodium_malloc(PASS_MAX);
	size_t len = 0;
	uint64_t t0;
	int rc;

	if (!pass)
		return uk_cli_fail(CMD, _("memory"), -ENOMEM), -1;
	if (a->o.passphrase_file) {
		rc = read_file(a->o.passphrase_file, pass, PASS_MAX, &len);
	} else {
		char prompt[128];
		snprintf(prompt, sizeof(prompt), "passphrase for room %s: ", a->o.room);
		rc = read_tty(prompt, pass, PASS_MAX, &len);
		if (rc == -ENXIO || rc == -ENOTTY)
			uk_cli_error(CMD,
				     _("--room %s: no terminal to ask the passphrase on: "
				       "use --passphrase-file"),
				     a->o.room);
		else if (rc < 0)
			uk_cli_fail(CMD, _("passphrase"), rc);
	}
	if (rc == 0 && len == 0) {
		uk_cli_error(CMD, _("--room %s: empty passphrase"), a->o.room);
		rc = -1;
	}
	if (rc == 0) {
		t0 = uk_now_ns();
		rc = uk_room_key_derive(key, a->o.room, pass, len, cost);
		a->room->join_s = (double)(uk_now_ns() - t0) / 1e9;
		if (rc < 0)
			uk_cli_fail(CMD, _("room key (Argon2id)"), rc);
	}
	sodium_free(pass); /* wipes it */
	return rc < 0 ? -1 : 0;
}

int chat_room_open(struct app *a)
{
	struct uk_room_key *key = NULL;

	if (!a->o.room) {
		if (a->o.passphrase_file || a->o.pad)
			return uk_cli_usage_error(CMD,
						  _("--passphrase-file and --pad need --room"));
		return 0;
	}
	if (!room_name_ok(a->o.room))
		return uk_cli_usage_error(CMD, _("--room: 1 to %d bytes, no control characters"),
					  ROOM_NAME_MAX);
	if (sodium_init() < 0)
		return uk_cli_fail(CMD, _("libsodium"), -EIO);
	a->room = calloc(1, sizeof(*a->room));
	if (!a->room)
		return uk_cli_fail(CMD, _("memory"), -ENOMEM);
	snprintf(a->room->name, sizeof(a->room->name), "%s", a->o.room);
	if (derive(a, &key) < 0)
		return UK_EXIT_ERROR;
	if (uk_room_init(&a->room->r, key, (size_t)a->o.pad, send_control, a, uk_now_ns()) < 0)
		return uk_cli_fail(CMD, _("memory"), -ENOMEM);
	return 0;
}

void chat_room_close(struct app *a)
{
	if (!a->room)
		return;
	uk_room_free(&a->room->r);
	sodium_memzero(a->room, sizeof(*a->room));
	free(a->room);
	a->room = NULL;
}

const char *chat_room_name(const struct app *a)
{
	return a->room ? a->room->name : NULL;
}

const uint8_t *chat_room_file_key(const struct app *a)
{
	return a->room ? uk_room_file_key(a->room->r.key) : NULL;
}

void chat_room_announce(struct app *a)
{
	if (a->room)
		chat_info(a, "info",
			  _("room %s: every datagram sealed (XChaCha20-Poly1305%s); key derived "
			    "in %.2f s"),
			  a->room->name, a->o.pad ? ", padded" : "", a->room->join_s);
}

/* ---- the datagrams ------------------------------------------------------------- */

/* Presence packets are what a member that restarted drops and nobody
 * retransmits: lib/room.c resends them to whoever challenges us. */
static bool is_presence(const void *data, size_t len)
{
	struct uk_ipmsg m;
	uint32_t mode;

	if (uk_ipmsg_parse(data, len, &m) < 0)
		return false;
	mode = UK_IPMSG_MODE(m.command);
	return mode == UK_IPMSG_BR_ENTRY || mode == UK_IPMSG_ANSENTRY ||
	       mode == UK_IPMSG_BR_ABSENCE;
}

ssize_t chat_room_send(struct app *a, const struct uk_addr *to, const void *data, size_t len)
{
	const uint8_t *out;
	long n;

	if (!a->room)
		return uk_sock_send(a->fd, data, len, to, NULL, 0);
	n = uk_room_seal_data(&a->room->r, is_presence(data, len), data, len, uk_now_ns(), &out);
	if (n < 0)
		return n;
	return uk_sock_send(a->fd, out, (size_t)n, to, NULL, 0);
}

static void hint(struct app *a, const struct uk_addr *from, uint64_t now)
{
	struct chat_room *c = a->room;
	char text[UK_ADDR_STRLEN];

	c->forged_from = *from;
	if (c->r.stats.forged - c->forged_hinted < (c->r.stats.opened ? HINT_AFTER : 1) ||
	    (c->hint_ns && now - c->hint_ns < HINT_EVERY_NS))
		return;
	c->forged_hinted = c->r.stats.forged;
	c->hint_ns = now;
	chat_info(a, "error",
		  _("%llu datagrams for room %s do not authenticate (the last from %s): a wrong "
		    "passphrase, here or there?"),
		  (unsigned long long)c->r.stats.forged, c->name,
		  uk_addr_format(from, text, sizeof(text)));
}

bool chat_room_receive(struct app *a, const struct uk_addr *from, const uint8_t **buf, size_t *len)
{
	const uint8_t *payload;
	size_t n;
	uint64_t forged, now = uk_now_ns();

	if (!a->room) {
		if (!uk_room_is_sealed(*buf, *len))
			return true;
		if (a->room_foreign++ == 0) {
			char text[UK_ADDR_STRLEN];
			chat_info(
			    a, "info",
			    _("datagrams of a private room arrive (from %s): this chat is in no "
			      "room, they are dropped"),
			    uk_addr_format(from, text, sizeof(text)));
		}
		return false;
	}
	forged = a->room->r.stats.forged;
	if (uk_room_receive(&a->room->r, from, *buf, *len, now, &payload, &n) == 1) {
		*buf = payload;
		*len = n;
		return true;
	}
	if (a->room->r.stats.forged != forged)
		hint(a, from, now);
	return false;
}

void chat_room_summary(const struct app *a)
{
	const struct uk_room_stats *s;

	if (!a->room) {
		if (a->room_foreign)
			fprintf(stderr,
				_("udpkit chat: %llu datagrams of private rooms dropped (not in a "
				  "room)\n"),
				(unsigned long long)a->room_foreign);
		return;
	}
	s = &a->room->r.stats;
	fprintf(stderr,
		_("udpkit chat: room %s: %llu datagrams opened; dropped: %llu not sealed, %llu of "
		  "other rooms, %llu not authentic, %llu malformed, %llu replayed, %llu stale, "
		  "%llu from unverified sessions; %llu challenges, %llu answers, %llu resent, "
		  "%llu sessions verified, %llu notices sent, %llu received\n"),
		a->room->name, (unsigned long long)s->opened, (unsigned long long)s->clear,
		(unsigned long long)s->other_room, (unsigned long long)s->forged,
		(unsigned long long)s->malformed, (unsigned long long)s->replayed,
		(unsigned long long)s->stale, (unsigned long long)s->unverified,
		(unsigned long long)s->challenges, (unsigned long long)s->answers,
		(unsigned long long)s->resent, (unsigned long long)s->verified,
		(unsigned long long)s->notices_sent, (unsigned long long)s->notices);
}
