/* files_inbox.c: offers we received: kept and numbered, fetched by
 * /accept (or --accept-from) into a download directory with room for
 * them, or declined (/decline, or when the chat quits). */
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "chat/files.h"
#include "chat/files_int.h"
#include "udpkit/i18n.h"

static struct in_offer *find_in(struct app *a, unsigned num)
{
	struct files *f = F(a);
	struct in_offer *best = NULL;

	for (size_t i = 0; i < OFFERS_IN; i++) {
		struct in_offer *io = &f->in[i];
		if (!io->used || io->next != -1)
			continue;
		if (num ? io->num == num : (!best || io->num > best->num))
			best = io;
	}
	return best;
}

static bool accepted_from(struct app *a, const struct uk_chat_event *ev)
{
	for (size_t i = 0; i < a->o.accept_from.count; i++) {
		const char *s = a->o.accept_from.items[i];
		struct uk_addr want;
		unsigned char x[16], y[16];
		size_t nx, ny;
		if (strcmp(s, ev->nick) == 0 && ev->nick[0])
			return true;
		if (uk_cli_parse_target(s, 0, UK_ADDR_NUMERIC, &want) < 0)
			continue;
		nx = ip_bytes(&want, x);
		ny = ip_bytes(&ev->peer, y);
		if (nx == ny && memcmp(x, y, nx) == 0 &&
		    (uk_addr_port(&want) == 0 || uk_addr_port(&want) == uk_addr_port(&ev->peer)))
			return true;
	}
	return false;
}

void files_on_offer(struct app *a, const struct uk_chat_event *ev)
{
	struct files *f = F(a);
	struct in_offer *io = NULL;

	if (!f)
		return;
	for (size_t i = 0; i < OFFERS_IN && !io; i++)
		if (!f->in[i].used)
			io = &f->in[i];
	if (!io || !ev->n_files) {
		uk_chat_release(&a->chat, &ev->peer, ev->msg_id);
		chat_info(a, "info", _("offer %llu declined: %s"), (unsigned long long)ev->msg_id,
			  io ? "no file could be read" : "too many offers waiting");
		return;
	}
	memset(io, 0, sizeof(*io));
	io->used = true;
	io->num = f->next_num++;
	io->peer = ev->peer;
	io->packet_no = ev->msg_id;
	io->iptux = ev->from_iptux;
	snprintf(io->nick, sizeof(io->nick), "%s", ev->nick);
	io->n = ev->n_files;
	io->next = -1;
	io->dirfd = -1;
	memcpy(io->files, ev->files, ev->n_files * sizeof(*ev->files));
	if (chat_line_mode(a))
		chat_info(a, "offer-num", "%llu\t%u", (unsigned long long)ev->msg_id, io->num);
	else
		chat_info(a, "info", _("offer #%u: /accept %u [DIR] to fetch, /decline %u"),
			  io->num, io->num, io->num);
	if (a->o.accept_dir && accepted_from(a, ev))
		files_accept(a, io->num, a->o.accept_dir);
}

void files_in_close(struct in_offer *io)
{
	close_fd(&io->dirfd);
	io->used = false;
}

int files_accept(struct app *a, unsigned num, const char *dir)
{
	struct files *f = F(a);
	struct in_offer *io = f ? find_in(a, num) : NULL;
	struct statvfs sv;
	uint64_t need = 0;
	const char *target = dir && *dir ? dir : f ? f->download_dir : "";

	if (!io)
		return chat_info(a, "error", _("no such offer waiting")), -ENOENT;
	if (!dir || !*dir)
		mkdir(target, 0700); /* ~/Downloads may not exist yet */
	io->dirfd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (io->dirfd < 0)
		return chat_info(a, "error", "%s: %s", target, strerror(errno)), -errno;
	for (size_t i = 0; i < io->n; i++)
		need += io->files[i].size;
	if (fstatvfs(io->dirfd, &sv) == 0 && need > (uint64_t)sv.f_bavail * sv.f_frsize) {
		chat_info(a, "error", _("offer %u needs %llu bytes, %s has %llu free: declined"),
			  io->num, (unsigned long long)need, target,
			  (unsigned long long)sv.f_bavail * sv.f_frsize);
		uk_chat_release(&a->chat, &io->peer, io->packet_no);
		files_in_close(io);
		a->files_failed++;
		return -ENOSPC;
	}
	snprintf(a->files_dir_shown, sizeof(a->files_dir_shown), "%s", target);
	io->next = 0;
	files_dl_schedule(a);
	return 0;
}

int files_decline(struct app *a, unsigned num)
{
	struct in_offer *io = F(a) ? find_in(a, num) : NULL;

	if (!io)
		return chat_info(a, "error", _("no such offer waiting")), -ENOENT;
	uk_chat_release(&a->chat, &io->peer, io->packet_no);
	chat_info(a, "declined", "%u\t%llu", io->num, (unsigned long long)io->packet_no);
	files_hist(a, &io->peer, io->nick, io->packet_no, "declined the offer");
	files_in_close(io);
	return 0;
}
