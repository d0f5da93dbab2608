/* files.c: file and folder transfer for the chat (IPMsg over TCP, issue 8):
 * the state, the download directory, and the poll loop that drives the
 * TCP server (files_serve.c), our offers (files_offer.c), the offers we
 * received (files_inbox.c) and the downloads (files_fetch.c). Every socket
 * is non-blocking and served from the chat's poll loop, with bounds on
 * connections, idle time and request size. docs/chat.md has the exchange
 * byte by byte. Inside a room the TCP exchange is sealed (files_seal.c,
 * docs/rooms.md "Files"). */
#include <sodium.h>
#include <sys/socket.h>

#include "chat/app.h"
#include "chat/files.h"
#include "chat/files_int.h"
#include "udpkit/i18n.h"

/* A "file" history entry. */
void files_hist(struct app *a, const struct uk_addr *peer, const char *nick, uint64_t id,
		const char *fmt, ...)
{
	char text[2 * 4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	chat_log_file(a, peer, nick, id, text);
}

/* ---- the download directory ---------------------------------------------- */

/* XDG_DOWNLOAD_DIR from ~/.config/user-dirs.dirs (xdg-user-dirs), else
 * ~/Downloads. */
static void default_download_dir(char *out, size_t cap)
{
	const char *home = getenv("HOME"), *cfg = getenv("XDG_CONFIG_HOME");
	char path[4096], line[4096];
	FILE *f;

	if (!home || !*home)
		home = "/tmp";
	snprintf(out, cap, "%s/Downloads", home);
	if (cfg && *cfg)
		snprintf(path, sizeof(path), "%s/user-dirs.dirs", cfg);
	else
		snprintf(path, sizeof(path), "%s/.config/user-dirs.dirs", home);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *v, *end;
		if (strncmp(line, "XDG_DOWNLOAD_DIR=\"", 18) != 0)
			continue;
		v = line + 18;
		end = strchr(v, '"');
		if (!end)
			break;
		*end = 0;
		if (strncmp(v, "$HOME", 5) == 0)
			snprintf(out, cap, "%s%s", home, v + 5);
		else if (v[0] == '/')
			snprintf(out, cap, "%s", v);
		break;
	}
	(void)fclose(f); /* read only: nothing to lose */
}

/* ---- init ----------------------------------------------------------------- */

int files_init(struct app *a)
{
	struct files *f = calloc(1, sizeof(*f));
	int one = 1;

	if (!f)
		return -ENOMEM;
	a->files = f;
	f->iobuf = malloc(CHUNK);
	f->hcache = calloc(1, sizeof(*f->hcache));
	if (!f->iobuf || !f->hcache)
		return -ENOMEM;
	for (size_t i = 0; i < CONNS; i++)
		f->conns[i].fd = -1;
	for (size_t i = 0; i < DOWNLOADS; i++)
		f->dls[i].fd = -1;
	f->next_num = 1;
	if (sodium_init() < 0)
		return -ENOMEM;
	if (a->o.download_dir)
		snprintf(f->download_dir, sizeof(f->download_dir), "%s", a->o.download_dir);
	else
		default_download_dir(f->download_dir, sizeof(f->download_dir));
	/* TCP on the chat's own address and port: IPMsg peers fetch there
	 * (iptux always at port 2425 of our IP, ipmsg.md). */
	f->lfd = socket(a->local.u.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f->lfd < 0 || setsockopt(f->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(f->lfd, &a->local.u.sa, a->local.len) < 0 || listen(f->lfd, CONNS) < 0) {
		int e = errno;
		close_fd(&f->lfd);
		chat_info(a, "error", _("files cannot be served: TCP %s: %s"), a->local_text,
			  strerror(e));
		return 0;
	}
	return 0;
}

/* ---- the loop ------------------------------------------------------------- */

size_t files_poll(struct app *a, struct pollfd *p, size_t max)
{
	struct files *f = F(a);
	size_t n = 0;

	if (!f)
		return 0;
	if (f->lfd >= 0 && n < max)
		p[n++] = (struct pollfd){.fd = f->lfd, .events = POLLIN};
	for (size_t i = 0; i < CONNS && n < max; i++) {
		struct conn *c = &f->conns[i];
		/* In a room, once the sealed stream is out: the client's proof. */
		if (c->st != C_FREE)
			p[n++] = (struct pollfd){
			    .fd = c->fd,
			    .events = c->st == C_REQ || (c->ss && seal_srv_final_sent(c->ss))
					  ? POLLIN
					  : POLLOUT};
	}
	for (size_t i = 0; i < DOWNLOADS && n < max; i++) {
		struct dl *d = &f->dls[i];
		short ev = d->st == D_CONNECT || d->st == D_SEND ? POLLOUT : POLLIN;
		/* Opened bytes wait in memory: poll would not wake for them,
		 * the writable socket does. */
		if ((d->st == D_FILE || d->st == D_DIR) && d->sd && seal_dl_pending(d->sd))
			ev = POLLIN | POLLOUT;
		if (d->st != D_FREE)
			p[n++] = (struct pollfd){.fd = d->fd, .events = ev};
	}
	return n;
}

static bool revents_of(const struct pollfd *p, size_t n, int fd)
{
	for (size_t i = 0; i < n; i++)
		if (p[i].fd == fd)
			return p[i].revents != 0;
	return false;
}

void files_on_poll(struct app *a, const struct pollfd *p, size_t n)
{
	struct files *f = F(a);
	uint64_t now = uk_now_ns();

	if (!f)
		return;
	if (f->lfd >= 0 && revents_of(p, n, f->lfd))
		files_accept_conns(a);
	for (size_t i = 0; i < CONNS; i++) {
		struct conn *c = &f->conns[i];
		bool ev = c->st != C_FREE && revents_of(p, n, c->fd);
		if (!ev)
			continue;
		c->last_ns = now;
		if (c->st == C_REQ)
			files_serve_request(a, c);
		else
			files_serve_writable(a, c);
	}
	for (size_t i = 0; i < DOWNLOADS; i++) {
		struct dl *d = &f->dls[i];
		bool ev = d->st != D_FREE && revents_of(p, n, d->fd);
		if (!ev)
			continue;
		d->last_ns = now;
		if (d->st == D_CONNECT || d->st == D_SEND)
			files_dl_send(a, d);
		else if (d->st == D_FILE)
			files_dl_file(a, d);
		else
			files_dl_dir(a, d);
		if (d->st == D_FILE || d->st == D_DIR)
			files_dl_progress(a, d, now);
	}
	files_dl_schedule(a);
}

void files_tick(struct app *a, uint64_t now)
{
	struct files *f = F(a);

	if (!f)
		return;
	/* --send-file: the offer goes once the peer had its chance to answer. */
	if (a->o.send_files.count && !f->script_started && !a->hold_until_ns) {
		f->script_started = true;
		if (!a->has_target) {
			chat_info(a, "error", _("--send-file needs a --peer"));
			a->files_failed++;
		} else {
			files_offer(a, &a->target, (char **)a->o.send_files.items,
				    a->o.send_files.count, a->o.message, true);
		}
	}
	for (size_t i = 0; i < CONNS; i++) {
		struct conn *c = &f->conns[i];
		/* A slow or silent client is dropped after
		 * --transfer-idle-timeout. */
		if (c->st != C_FREE && now - c->last_ns > a->o.transfer_idle_ns)
			files_conn_close(a, c, false);
	}
	for (size_t i = 0; i < DOWNLOADS; i++) {
		struct dl *d = &f->dls[i];
		if (d->st != D_FREE && now - d->last_ns > a->o.transfer_idle_ns)
			files_dl_fail(a, d, "the peer stopped sending");
		/* While the peer pauses too: the bar shows what came (it was
		 * left at the last event's figures), and files_deadline's
		 * progress wake-up is consumed (else poll() spins at 0 ms). */
		else if (d->st == D_FILE || d->st == D_DIR)
			files_dl_progress(a, d, now);
	}
	for (size_t i = 0; i < OFFERS_OUT; i++) {
		struct out_offer *oo = &f->out[i];
		if (oo->used && oo->preparing)
			files_offer_prepare(a, oo, PREPARE_NS);
		else if (oo->used && uk_offer_tick(&oo->o, now) != UK_OFFER_OPEN)
			files_offer_outcome(a, oo);
	}
}

uint64_t files_deadline(const struct app *a)
{
	const struct files *f = a->files;
	uint64_t d = UINT64_MAX;

	if (!f)
		return d;
	if (a->o.send_files.count && !f->script_started)
		d = uk_now_ns() + 100 * UK_NS_PER_MS;
	for (size_t i = 0; i < CONNS; i++)
		if (f->conns[i].st != C_FREE && f->conns[i].last_ns + a->o.transfer_idle_ns < d)
			d = f->conns[i].last_ns + a->o.transfer_idle_ns + 1;
	for (size_t i = 0; i < DOWNLOADS; i++)
		if (f->dls[i].st != D_FREE && f->dls[i].last_ns + a->o.transfer_idle_ns < d)
			d = f->dls[i].last_ns + a->o.transfer_idle_ns + 1;
	for (size_t i = 0; i < OFFERS_OUT; i++) {
		/* An offer being prepared goes on hashing at once, after poll()
		 * had a look at the sockets. */
		if (f->out[i].used && f->out[i].preparing)
			return uk_now_ns();
		if (f->out[i].used && f->out[i].o.deadline_ns && f->out[i].o.deadline_ns < d)
			d = f->out[i].o.deadline_ns;
	}
	/* Progress lines while a fetch runs. */
	for (size_t i = 0; i < DOWNLOADS; i++)
		if ((f->dls[i].st == D_FILE || f->dls[i].st == D_DIR) &&
		    f->dls[i].progress_ns + PROGRESS_NS < d)
			d = f->dls[i].progress_ns + PROGRESS_NS;
	return d;
}

bool files_busy(const struct app *a)
{
	const struct files *f = a->files;

	if (!f)
		return false;
	if (a->o.send_files.count && !f->script_started)
		return true;
	for (size_t i = 0; i < OFFERS_OUT; i++)
		if (f->out[i].used && (f->out[i].script || a->o.stay))
			return true;
	for (size_t i = 0; i < OFFERS_IN; i++)
		if (f->in[i].used && f->in[i].next != -1)
			return true;
	return false;
}

void files_close(struct app *a)
{
	struct files *f = F(a);

	if (!f)
		return;
	for (size_t i = 0; i < CONNS; i++)
		if (f->conns[i].st != C_FREE)
			files_conn_close(a, &f->conns[i], false);
	for (size_t i = 0; i < DOWNLOADS; i++)
		if (f->dls[i].st != D_FREE)
			files_dl_fail(a, &f->dls[i], "the chat quit");
	for (size_t i = 0; i < OFFERS_OUT; i++)
		if (f->out[i].used) {
			if (f->out[i].script)
				a->files_failed++;
			files_offer_close(&f->out[i]);
		}
	/* Offers never answered are declined, so the peer stops serving. */
	for (size_t i = 0; i < OFFERS_IN; i++) {
		if (f->in[i].used && f->in[i].next == -1)
			uk_chat_release(&a->chat, &f->in[i].peer, f->in[i].packet_no);
		if (f->in[i].used)
			files_in_close(&f->in[i]);
	}
	close_fd(&f->lfd);
	free(f->iobuf);
	free(f->hcache);
	free(f);
	a->files = NULL;
}
