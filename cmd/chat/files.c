/* files.c: file and folder transfer for the chat (IPMsg over TCP, issue 8).
 * Sending: an offer (SENDMSG|FILEATTACHOPT) lists files and folders; a TCP
 * listener on the chat's own port serves them, to the offered peer's IP
 * only and only the offered IDs (lib/offer.c), files with sendfile(),
 * folders as the folder stream read with openat(O_NOFOLLOW) below the
 * offered folder. Receiving: offers are kept, /accept fetches them into
 * a download directory under a partial name, renamed when complete;
 * folders are created with mkdirat/openat below the target only. Every
 * socket is non-blocking and served from the chat's poll loop, with
 * bounds on connections, idle time and request size. docs/chat.md has the
 * exchange byte by byte. Inside a room the TCP exchange is sealed
 * (files_seal.c, docs/rooms.md): the request is read through it, the
 * answer read from the file, sealed in chunks and sent (on_writable_sealed:
 * no sendfile()), and a download reads through it (dl_recv). */
#include <dirent.h>
#include <sodium.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "chat/app.h"
#include "chat/files.h"
#include "chat/files_seal.h"
#include "udpkit/attach.h"
#include "udpkit/dirstream.h"
#include "udpkit/filereq.h"
#include "udpkit/fname.h"
#include "udpkit/offer.h"
#include "udpkit/i18n.h"
#include "udpkit/sealstream.h"

#define OFFERS_OUT 16	   /* our offers open at once */
#define OFFERS_IN 32	   /* offers received and kept */
#define CONNS 8		   /* TCP clients served at once */
#define DOWNLOADS 4	   /* fetches at once */
#define DEPTH_MAX 32	   /* folder levels */
#define DIR_ENTRIES 100000 /* entries in one received folder */
#define IDLE_NS (30ull * UK_NS_PER_SEC)
#define PROGRESS_NS UK_NS_PER_SEC /* progress lines at most this often */
#define CHUNK ((size_t)256 << 10)
/* Files up to this size carry their SHA-256 in the offer (hashed when
 * offered, which blocks the chat ~0.2 s per 64 MiB); larger ones go
 * without, so an offer never stalls the chat for long. */
#define HASH_MAX (64ull << 20)

enum conn_state { C_FREE, C_REQ, C_FILE, C_DIR };

struct conn {
	enum conn_state st;
	int fd;
	uint64_t last_ns;
	char req[UK_FILEREQ_MAX];
	size_t req_len;
	int oi, fi;	/* offer and entry served */
	int src;	/* file being sent */
	off_t off, end; /* its range */
	DIR *walk[DEPTH_MAX];
	int depth;
	char hdr[UK_DIRHDR_MAX];
	size_t hdr_len, hdr_off;
	bool last_hdr;	     /* the stream ends after this header */
	struct seal_srv *ss; /* in a room: the sealed answer */
};

struct out_offer {
	bool used;
	struct uk_offer o;
	struct uk_addr peer;
	int fds[UK_OFFER_FILES]; /* each entry opened at offer time */
	char *names[UK_OFFER_FILES];
	bool script; /* from --send-file: decides the exit status */
};

struct in_offer {
	bool used;
	unsigned num; /* what /accept and /decline take */
	struct uk_addr peer;
	uint64_t packet_no;
	bool iptux;
	char nick[UK_IPMSG_NAME_MAX * 3 + 4]; /* at offer time: it may leave before the end */
	size_t n;
	struct uk_attach files[UK_ATTACH_MAX];
	int next;  /* next entry to fetch; -1: not accepted */
	int dirfd; /* the target directory once accepted */
};

enum dl_state { D_FREE, D_CONNECT, D_SEND, D_FILE, D_DIR };

struct dl {
	enum dl_state st;
	int fd;
	int ii, fi;
	char req[UK_SS_REQ_FRAME_MAX]; /* in a room: sealed */
	size_t req_len, req_off;
	struct seal_dl *sd; /* in a room: the sealed stream */
	int out;	    /* the file being written */
	int top;	    /* a folder: the partial top directory, in dirfd of the offer */
	uint64_t got, size, start_ns, last_ns, progress_ns;
	char part[32];
	/* folder stream */
	unsigned char *buf;
	size_t buf_len;
	struct uk_dirwalk w;
	int stack[DEPTH_MAX + 1];
	int depth;
	uint64_t left;	     /* bytes of the current file still to come */
	bool discard;	     /* the current file is refused: read and drop */
	uint64_t mtime;	     /* the top folder's */
	uint64_t file_mtime; /* the folder's file being written */
	bool hashing;	     /* the offer carried a SHA-256: verified at the end */
	crypto_hash_sha256_state sha;
};

struct files {
	int lfd;
	struct conn conns[CONNS];
	struct out_offer out[OFFERS_OUT];
	struct in_offer in[OFFERS_IN];
	struct dl dls[DOWNLOADS];
	unsigned next_num;
	char download_dir[4096];
	unsigned char *iobuf;
	bool script_started;
};

/* ---- helpers -------------------------------------------------------------- */

static struct files *F(struct app *a)
{
	return a->files;
}

/* The IP of addr as bytes (4 or 16); a v4-mapped v6 address as v4. */
static size_t ip_bytes(const struct uk_addr *addr, unsigned char out[16])
{
	if (addr->u.sa.sa_family == AF_INET) {
		memcpy(out, &addr->u.in.sin_addr, 4);
		return 4;
	}
	if (IN6_IS_ADDR_V4MAPPED(&addr->u.in6.sin6_addr)) {
		memcpy(out, addr->u.in6.sin6_addr.s6_addr + 12, 4);
		return 4;
	}
	memcpy(out, &addr->u.in6.sin6_addr, 16);
	return 16;
}

static const char *esc(const char *s, size_t n, char *buf, size_t cap)
{
	if (uk_text_escape_name(s, n, buf, cap) < 0)
		snprintf(buf, cap, "?");
	return buf;
}

static const char *addr_text(const struct uk_addr *addr, char *buf, size_t cap)
{
	return uk_addr_format(addr, buf, cap);
}

/* A "file" history entry. */
static void hist(struct app *a, const struct uk_addr *peer, const char *nick, uint64_t id,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void hist(struct app *a, const struct uk_addr *peer, const char *nick, uint64_t id,
		 const char *fmt, ...)
{
	char text[2 * 4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	chat_log_file(a, peer, nick, id, text);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
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
	if (!f->iobuf)
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

/* ---- sending -------------------------------------------------------------- */

static void offer_close(struct out_offer *oo)
{
	for (size_t i = 0; i < oo->o.nfiles; i++) {
		close_fd(&oo->fds[i]);
		free(oo->names[i]);
		oo->names[i] = NULL;
	}
	oo->used = false;
}

/* The outcome of one of our offers, once it is no longer open. */
static void offer_outcome(struct app *a, struct out_offer *oo)
{
	char p[UK_ADDR_STRLEN];

	chat_info(a, oo->o.state == UK_OFFER_DONE ? "fetched" : "offer-end", "%s\t%llu\t%s",
		  addr_text(&oo->peer, p, sizeof(p)), (unsigned long long)oo->o.packet_no,
		  uk_offer_state_name(oo->o.state));
	hist(a, &oo->peer, NULL, oo->o.packet_no, "offer %s",
	     oo->o.state == UK_OFFER_RELEASED ? "declined by the peer"
					      : uk_offer_state_name(oo->o.state));
	if (oo->script && oo->o.state != UK_OFFER_DONE)
		a->files_failed++;
	offer_close(oo);
}

/* The SHA-256 of the file open at fd (read with pread: its offset stays). */
static bool hash_file(int fd, uint64_t size, uint8_t out[UK_ATTACH_SHA256_BYTES],
		      unsigned char *buf)
{
	crypto_hash_sha256_state st;
	uint64_t off = 0;

	crypto_hash_sha256_init(&st);
	while (off < size) {
		ssize_t n = pread(fd, buf, CHUNK, (off_t)off);
		if (n <= 0)
			return false;
		crypto_hash_sha256_update(&st, buf, (size_t)n);
		off += (uint64_t)n;
	}
	crypto_hash_sha256_final(&st, out);
	return off == size;
}

/* The bytes of the regular files below directory fd, as the folder stream
 * will send them (symlinks not followed, DEPTH_MAX levels): iptux shows
 * a folder offered with size 0 as received at once, and the receiver
 * checks its free space against it. */
static uint64_t tree_bytes(int fd, int depth)
{
	int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *e;
	uint64_t sum = 0;

	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return 0;
	}
	while ((e = readdir(d))) {
		struct stat st;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISREG(st.st_mode)) {
			sum += (uint64_t)st.st_size;
		} else if (S_ISDIR(st.st_mode) && depth + 1 < DEPTH_MAX) {
			int sub = openat(dirfd(d), e->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0) {
				sum += tree_bytes(sub, depth + 1);
				close(sub);
			}
		}
	}
	closedir(d);
	return sum;
}

int files_offer(struct app *a, const struct uk_addr *to, char **paths, size_t n, const char *text,
		bool script)
{
	struct files *f = F(a);
	struct out_offer *oo = NULL;
	struct uk_peer *peer = uk_roster_find(&a->chat.roster, to);
	enum uk_charset_kind kind =
	    uk_charset_for_peer(peer ? &peer->charset : NULL, a->chat.cfg.charset);
	unsigned char ip[16];
	char *list = NULL, pa[UK_ADDR_STRLEN];
	size_t list_len = 0, iplen;
	int64_t no;
	int rc = -EINVAL;

	if (!f || f->lfd < 0)
		return chat_info(a, "error", _("files cannot be served (no TCP listener)")),
		       -ENOTCONN;
	if (n == 0 || n > UK_OFFER_FILES)
		return chat_info(a, "error", _("offer 1 to %d paths"), UK_OFFER_FILES), -EINVAL;
	for (size_t i = 0; i < OFFERS_OUT && !oo; i++)
		if (!f->out[i].used)
			oo = &f->out[i];
	if (!oo)
		return chat_info(a, "error", _("too many offers open")), -ENOSPC;
	memset(oo, 0, sizeof(*oo));
	for (size_t i = 0; i < UK_OFFER_FILES; i++)
		oo->fds[i] = -1;
	list = malloc(UK_IPMSG_MAX_PACKET);
	if (!list)
		return -ENOMEM;
	iplen = ip_bytes(to, ip);
	uk_offer_init(&oo->o, 0, ip, iplen, a->o.offer_timeout_ns, uk_now_ns());
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		const char *base = strrchr(paths[i], '/');
		struct uk_attach at = {.file_id = i};
		char enc[UK_FNAME_MAX * 2 + 1];
		size_t blen, repl;
		int fd = open(paths[i], O_RDONLY | O_CLOEXEC | O_NOCTTY);
		int k;

		base = base ? base + 1 : paths[i];
		blen = strlen(base);
		if (fd < 0 || fstat(fd, &st) < 0 ||
		    (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) || blen == 0) {
			chat_info(a, "error", _("cannot offer %s: %s"), paths[i],
				  fd < 0 ? strerror(errno) : "not a regular file or folder");
			if (fd >= 0)
				close(fd);
			goto fail;
		}
		k = uk_charset_encode(&a->chat.charset, kind, base, blen, enc, sizeof(enc), &repl);
		if (k <= 0 || (size_t)k > UK_ATTACH_NAME_MAX) {
			close(fd);
			chat_info(a, "error", _("cannot offer %s: name too long"), paths[i]);
			goto fail;
		}
		memcpy(at.name, enc, (size_t)k);
		at.name_len = (size_t)k;
		at.size = S_ISDIR(st.st_mode) ? tree_bytes(fd, 0) : (uint64_t)st.st_size;
		at.mtime = (uint64_t)st.st_mtime;
		at.attr = S_ISDIR(st.st_mode) ? UK_ATTACH_DIR : UK_ATTACH_REGULAR;
		if (S_ISREG(st.st_mode) && at.size <= HASH_MAX)
			at.has_sha256 = hash_file(fd, at.size, at.sha256, f->iobuf);
		k = uk_attach_encode(list, UK_IPMSG_MAX_PACKET, list_len, &at);
		if (k < 0) {
			close(fd);
			chat_info(a, "error", _("cannot offer %s: %s"), paths[i],
				  k == UK_ENOSPACE ? "the list does not fit one packet"
						   : "name holds a control byte");
			goto fail;
		}
		list_len = (size_t)k;
		oo->fds[i] = fd;
		oo->names[i] = strdup(base);
		uk_offer_add(&oo->o, at.file_id, at.size, S_ISDIR(st.st_mode));
	}
	no = uk_chat_send_offer(&a->chat, to, text ? text : "", text ? strlen(text) : 0, list,
				list_len, uk_now_ns());
	if (no < 0) {
		rc = (int)no;
		chat_info(a, "error", _("offer not sent: %s"),
			  no == -EPROTONOSUPPORT ? "the peer does not speak IPMsg"
						 : strerror((int)-no));
		goto fail;
	}
	oo->o.packet_no = (uint64_t)no;
	oo->peer = *to;
	oo->used = true;
	oo->script = script;
	for (size_t i = 0; i < n; i++) {
		chat_info(a, "offered", "%s\t%llu\t%s", addr_text(to, pa, sizeof(pa)),
			  (unsigned long long)no, oo->names[i]);
		hist(a, to, NULL, (uint64_t)no, "offered %s %s (%llu bytes)",
		     oo->o.files[i].dir ? "folder" : "file", oo->names[i],
		     (unsigned long long)(oo->o.files[i].dir ? 0 : oo->o.files[i].size));
	}
	free(list);
	return 0;
fail:
	free(list);
	oo->o.nfiles = n;
	offer_close(oo);
	if (script)
		a->files_failed++;
	return rc;
}

static void conn_close(struct app *a, struct conn *c, bool complete)
{
	struct files *f = F(a);

	if (c->st == C_FILE || c->st == C_DIR) {
		struct out_offer *oo = &f->out[c->oi];
		if (oo->used) {
			uk_offer_end(&oo->o, (size_t)c->fi, complete);
			if (uk_offer_tick(&oo->o, uk_now_ns()) != UK_OFFER_OPEN)
				offer_outcome(a, oo);
		}
	}
	close_fd(&c->fd);
	close_fd(&c->src);
	seal_srv_free(c->ss);
	c->ss = NULL;
	while (c->depth > 0) {
		c->depth--;
		closedir(c->walk[c->depth]);
	}
	c->st = C_FREE;
}

static void accept_conns(struct app *a)
{
	struct files *f = F(a);

	for (;;) {
		struct conn *c = NULL;
		int fd = accept4(f->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		for (size_t i = 0; i < CONNS && !c; i++)
			if (f->conns[i].st == C_FREE)
				c = &f->conns[i];
		if (!c) {
			/* Full: the newest waits its turn by reconnecting. */
			close(fd);
			continue;
		}
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->src = -1;
		c->st = C_REQ;
		c->last_ns = uk_now_ns();
		/* In a room only a sealed request is answered (files_seal.c). */
		if (chat_room_file_key(a) && !(c->ss = seal_srv_new(chat_room_file_key(a)))) {
			close_fd(&c->fd);
			c->st = C_FREE;
		}
	}
}

/* Queues a folder-stream header for the entry name in the peer's charset. */
static bool queue_hdr(struct app *a, struct conn *c, const char *name, uint64_t size, uint32_t attr,
		      const struct stat *st)
{
	struct out_offer *oo = &F(a)->out[c->oi];
	struct uk_peer *peer = uk_roster_find(&a->chat.roster, &oo->peer);
	enum uk_charset_kind kind =
	    uk_charset_for_peer(peer ? &peer->charset : NULL, a->chat.cfg.charset);
	struct uk_dirhdr h = {.size = size, .attr = attr};
	char enc[UK_FNAME_MAX * 2 + 1];
	size_t repl;
	int k =
	    uk_charset_encode(&a->chat.charset, kind, name, strlen(name), enc, sizeof(enc), &repl);

	if (k <= 0 || (size_t)k > UK_ATTACH_NAME_MAX)
		return false;
	memcpy(h.name, enc, (size_t)k);
	h.name_len = (size_t)k;
	if (st) {
		h.mtime = (uint64_t)st->st_mtime;
		h.ctime = (uint64_t)st->st_ctime;
	}
	k = uk_dirhdr_build(c->hdr, sizeof(c->hdr), &h);
	if (k < 0)
		return false;
	c->hdr_len = (size_t)k;
	c->hdr_off = 0;
	return true;
}

/* The next entry of the folder walk: a header queued (and maybe a file
 * opened). Only regular files and directories, opened with O_NOFOLLOW
 * relative to their directory: a symlink is never followed. Returns
 * false when the walk failed. */
static bool walk_next(struct app *a, struct conn *c)
{
	for (;;) {
		DIR *d = c->walk[c->depth - 1];
		struct dirent *e = readdir(d);
		struct stat st;
		int fd;

		if (!e) {
			/* Left with its times, as iptux writes RETPARENT. */
			bool ok = fstat(dirfd(d), &st) == 0;
			closedir(d);
			c->depth--;
			c->last_hdr = c->depth == 0;
			return queue_hdr(a, c, ".", 0, UK_ATTACH_RETPARENT, ok ? &st : NULL);
		}
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		fd = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			continue; /* a symlink (ELOOP), gone, unreadable: not sent */
		if (fstat(fd, &st) < 0 || (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))) {
			close(fd);
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			DIR *sub;
			if (c->depth >= DEPTH_MAX || !(sub = fdopendir(fd))) {
				close(fd);
				continue;
			}
			if (!queue_hdr(a, c, e->d_name, 0, UK_ATTACH_DIR, &st)) {
				closedir(sub);
				continue;
			}
			c->walk[c->depth++] = sub;
			return true;
		}
		if (!queue_hdr(a, c, e->d_name, (uint64_t)st.st_size, UK_ATTACH_REGULAR, &st)) {
			close(fd);
			continue;
		}
		c->src = fd;
		c->off = 0;
		c->end = st.st_size;
		return true;
	}
}

static void start_serving(struct app *a, struct conn *c, const struct uk_filereq *r, int oi, int fi)
{
	struct out_offer *oo = &F(a)->out[oi];

	c->oi = oi;
	c->fi = fi;
	uk_offer_start(&oo->o, (size_t)fi);
	if (r->mode == UK_FILEREQ_GETFILEDATA) {
		c->st = C_FILE;
		c->src = dup(oo->fds[fi]);
		c->off = (off_t)r->offset;
		c->end = (off_t)oo->o.files[fi].size;
		if (c->src < 0)
			conn_close(a, c, false);
		return;
	}
	c->st = C_DIR;
	{
		int fd = openat(oo->fds[fi], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		struct stat st;
		if (!d || fstat(fd, &st) < 0) {
			if (d)
				closedir(d);
			else if (fd >= 0)
				close(fd);
			conn_close(a, c, false);
			return;
		}
		c->walk[c->depth++] = d;
		if (!queue_hdr(a, c, oo->names[fi], 0, UK_ATTACH_DIR, &st))
			conn_close(a, c, false);
	}
}

static void on_request(struct app *a, struct conn *c)
{
	struct files *f = F(a);
	struct uk_filereq r;
	struct sockaddr_storage ss;
	struct uk_addr from = {.len = sizeof(ss)};
	unsigned char ip[16];
	size_t iplen;
	ssize_t n;
	int rc, why = -ENOENT;
	char pa[UK_ADDR_STRLEN];

	if (c->ss) {
		/* Only a room member can seal a request: anything else is cut
		 * off before a byte is sent. */
		rc = seal_srv_request(c->ss, c->fd, c->req, sizeof(c->req), &c->req_len);
		if (rc == 0)
			return;
		if (rc == -1 && getpeername(c->fd, &from.u.sa, &from.len) == 0)
			chat_info(a, "refused", "%s\tfile request not sealed for this room",
				  addr_text(&from, pa, sizeof(pa)));
		if (rc < 0) {
			conn_close(a, c, false);
			return;
		}
	} else {
		n = recv(c->fd, c->req + c->req_len, sizeof(c->req) - c->req_len, 0);
		if (n <= 0) {
			if (n == 0 || (errno != EAGAIN && errno != EINTR))
				conn_close(a, c, false);
			return;
		}
		c->req_len += (size_t)n;
	}
	rc = uk_filereq_parse(c->req, c->req_len, &r);
	if (rc == 0 && !c->ss) /* a sealed request comes whole */
		return;
	if (getpeername(c->fd, &from.u.sa, &from.len) < 0 || rc <= 0) {
		chat_info(a, "refused", "-\tmalformed file request");
		conn_close(a, c, false);
		return;
	}
	iplen = ip_bytes(&from, ip);
	for (int i = 0; i < OFFERS_OUT; i++) {
		int k;
		if (!f->out[i].used)
			continue;
		k = uk_offer_find(&f->out[i].o, &r, ip, iplen);
		if (k >= 0) {
			start_serving(a, c, &r, i, k);
			return;
		}
		/* The most telling reason across offers. */
		if (k != -ENOENT && f->out[i].o.packet_no == r.offer_no)
			why = k;
		else if (k == -EACCES && why == -ENOENT)
			why = -EACCES;
	}
	chat_info(a, "refused", "%s\tfile request for offer %llu, ID %llx: %s",
		  addr_text(&from, pa, sizeof(pa)), (unsigned long long)r.offer_no,
		  (unsigned long long)r.id_hex,
		  why == -EACCES   ? "not the peer it was offered to"
		  : why == -ESTALE ? "offer no longer open"
		  : why == -EINVAL ? "offset beyond the file"
				   : "no such offer or file");
	conn_close(a, c, false);
}

/* In a room: the same stream as on_writable sends, read into memory and
 * sealed in chunks of UK_SS_CHUNK (sendfile() cannot seal); counted as
 * fetched only once the client proves it opened the whole stream, which
 * the replayer of a captured request cannot. */
static void on_writable_sealed(struct app *a, struct conn *c)
{
	struct out_offer *oo = &F(a)->out[c->oi];
	unsigned char *buf = F(a)->iobuf;

	for (int rounds = 0; rounds < 16; rounds++) {
		size_t len = 0;
		bool end = false;
		int k;

		if (seal_srv_final_sent(c->ss)) {
			k = seal_srv_proof(c->ss, c->fd);
			if (k != 0)
				conn_close(a, c, k > 0);
			return;
		}
		if (seal_srv_busy(c->ss)) {
			if (seal_srv_write(c->ss, c->fd, NULL, 0, false) < 0)
				conn_close(a, c, false);
			else if (!seal_srv_busy(c->ss))
				continue;
			return;
		}
		/* The next chunk: headers, file data, the next entries. The
		 * chunk that carries the last bytes is the FINAL one (the
		 * receiver ends at its last byte and proves the end then). */
		while (!end) {
			size_t room = UK_SS_CHUNK - len;
			bool more = c->hdr_off < c->hdr_len || (c->src >= 0 && c->off < c->end);
			if (more && !room)
				break;
			if (c->hdr_off < c->hdr_len) {
				size_t h =
				    c->hdr_len - c->hdr_off < room ? c->hdr_len - c->hdr_off : room;
				memcpy(buf + len, c->hdr + c->hdr_off, h);
				c->hdr_off += h;
				len += h;
			} else if (c->src >= 0 && c->off < c->end) {
				size_t want = (size_t)(c->end - c->off) < room
						  ? (size_t)(c->end - c->off)
						  : room;
				ssize_t n = pread(c->src, buf + len, want, c->off);
				if (n <= 0) { /* unreadable, or it shrank since the offer */
					conn_close(a, c, false);
					return;
				}
				c->off += n;
				len += (size_t)n;
				uk_offer_sent(&oo->o, (size_t)c->fi, (uint64_t)n);
			} else if (c->st == C_FILE) {
				end = true;
			} else {
				close_fd(&c->src);
				if (c->last_hdr)
					end = true;
				else if (!room)
					break; /* the next entry goes in the next chunk */
				else if (!walk_next(a, c)) {
					conn_close(a, c, false);
					return;
				}
			}
		}
		if (seal_srv_write(c->ss, c->fd, buf, len, end) < 0) {
			conn_close(a, c, false);
			return;
		}
	}
}

/* Sends what c has to send until the socket is full. */
static void on_writable(struct app *a, struct conn *c)
{
	struct out_offer *oo = &F(a)->out[c->oi];

	if (c->ss) {
		on_writable_sealed(a, c);
		return;
	}

	for (int rounds = 0; rounds < 64; rounds++) {
		if (c->hdr_off < c->hdr_len) {
			ssize_t n =
			    send(c->fd, c->hdr + c->hdr_off, c->hdr_len - c->hdr_off, MSG_NOSIGNAL);
			if (n < 0) {
				if (errno != EAGAIN && errno != EINTR)
					conn_close(a, c, false);
				return;
			}
			c->hdr_off += (size_t)n;
			continue;
		}
		if (c->src >= 0 && c->off < c->end) {
			size_t want = (size_t)(c->end - c->off) < (1u << 20)
					  ? (size_t)(c->end - c->off)
					  : (1u << 20);
			ssize_t n = sendfile(c->fd, c->src, &c->off, want);
			if (n < 0) {
				if (errno != EAGAIN && errno != EINTR)
					conn_close(a, c, false);
				return;
			}
			if (n == 0) {
				/* The file shrank after the offer: the peer would
				 * wait for bytes that never come. */
				conn_close(a, c, false);
				return;
			}
			uk_offer_sent(&oo->o, (size_t)c->fi, (uint64_t)n);
			continue;
		}
		if (c->st == C_FILE) {
			conn_close(a, c, true);
			return;
		}
		/* C_DIR: the file (if any) is sent; the next entry. */
		close_fd(&c->src);
		if (c->last_hdr) {
			conn_close(a, c, true);
			return;
		}
		if (!walk_next(a, c)) {
			conn_close(a, c, false);
			return;
		}
	}
}

/* ---- receiving ------------------------------------------------------------ */

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

static void in_close(struct in_offer *io)
{
	close_fd(&io->dirfd);
	io->used = false;
}

static void dl_fail(struct app *a, struct dl *d, const char *why)
{
	struct in_offer *io = &F(a)->in[d->ii];
	char pa[UK_ADDR_STRLEN], nb[UK_ESCAPE_SIZE(UK_ATTACH_NAME_MAX)];

	chat_info(a, "failed", "%s\t%llu\t%s\t%s", addr_text(&io->peer, pa, sizeof(pa)),
		  (unsigned long long)io->packet_no,
		  esc(io->files[d->fi].name, io->files[d->fi].name_len, nb, sizeof(nb)), why);
	hist(a, &io->peer, io->nick, io->packet_no, "failed %s: %s", nb, why);
	a->files_failed++;
	close_fd(&d->fd);
	close_fd(&d->out);
	while (d->depth > 0)
		close_fd(&d->stack[--d->depth]);
	close_fd(&d->top);
	free(d->buf);
	d->buf = NULL;
	seal_dl_free(d->sd);
	d->sd = NULL;
	d->st = D_FREE;
	/* The next entries still come: one failure does not cancel the rest. */
	io->next = d->fi + 1;
}

/* Renames the partial name to name, or name (1), name (2)... never over
 * an existing file. */
static int place(int dirfd, const char *part, const char *name, size_t len, char *final, size_t cap)
{
	for (unsigned k = 0; k < 1000; k++) {
		if (uk_fname_numbered(name, len, k, final, cap) < 0)
			return -ENAMETOOLONG;
		if (renameat2(dirfd, part, dirfd, final, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

static void dl_done(struct app *a, struct dl *d)
{
	struct in_offer *io = &F(a)->in[d->ii];
	const struct uk_attach *at = &io->files[d->fi];
	char final[UK_FNAME_MAX + 1], pa[UK_ADDR_STRLEN], nb[UK_ESCAPE_SIZE(UK_FNAME_MAX)],
	    fb[UK_ESCAPE_SIZE(UK_FNAME_MAX)];
	uint64_t ns = uk_now_ns() - d->start_ns;
	double secs = (double)ns / 1e9;
	int rc;

	if (d->st == D_FILE) {
		struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = (time_t)at->mtime}};
		uint8_t sum[UK_ATTACH_SHA256_BYTES];
		if (d->hashing) {
			crypto_hash_sha256_final(&d->sha, sum);
			if (sodium_memcmp(sum, at->sha256, sizeof(sum)) != 0) {
				/* Never kept under its name: the partial goes too, so
				 * a new fetch starts from byte 0. */
				unlinkat(io->dirfd, d->part, 0);
				dl_fail(a, d, "SHA-256 mismatch: the file is corrupt, not kept");
				return;
			}
		}
		futimens(d->out, ts);
		close_fd(&d->out);
	} else {
		struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = (time_t)d->mtime}};
		futimens(d->top, ts);
	}
	rc = place(io->dirfd, d->part, at->name, at->name_len, final, sizeof(final));
	if (rc < 0) {
		dl_fail(a, d, "could not be renamed to its name");
		return;
	}
	chat_info(a, "received", "%s\t%llu\t%s\t%s/%s\t%llu\t%.3f\t%.1f%s",
		  addr_text(&io->peer, pa, sizeof(pa)), (unsigned long long)io->packet_no,
		  esc(at->name, at->name_len, nb, sizeof(nb)), a->files_dir_shown,
		  esc(final, strlen(final), fb, sizeof(fb)), (unsigned long long)d->got, secs,
		  secs > 0 ? (double)d->got / secs / 1048576.0 : 0.0,
		  d->hashing ? "\tsha256 ok" : "");
	hist(a, &io->peer, io->nick, io->packet_no, "received %s at %s/%s (%llu bytes%s)", nb,
	     a->files_dir_shown, fb, (unsigned long long)d->got, d->hashing ? ", sha256 ok" : "");
	a->files_received++;
	close_fd(&d->fd);
	close_fd(&d->top);
	free(d->buf);
	d->buf = NULL;
	seal_dl_free(d->sd);
	d->sd = NULL;
	d->st = D_FREE;
	io->next = d->fi + 1;
}

/* The terminal UI's progress bar, in the status line: name, a bar, bytes,
 * rate and time left. */
static void status_bar(struct app *a, const char *name, uint64_t got, uint64_t size, uint64_t ns)
{
	char line[UK_ESCAPE_SIZE(UK_ATTACH_NAME_MAX) + 160], bar[21];
	double secs = (double)ns / 1e9, rate = secs > 0 ? (double)got / secs : 0;
	unsigned fill = size ? (unsigned)(20.0 * (double)got / (double)size) : 20;

	for (unsigned i = 0; i < 20; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[20] = 0;
	snprintf(line, sizeof(line), " %s [%s] %.1f/%.1f MiB  %.1f MiB/s  %.0f s left", name, bar,
		 (double)got / 1048576.0, (double)size / 1048576.0, rate / 1048576.0,
		 rate > 0 ? (double)(size - got) / rate : 0.0);
	uk_tui_set_status(a->tui, line);
}

static void progress(struct app *a, struct dl *d, uint64_t now)
{
	struct in_offer *io = &F(a)->in[d->ii];
	char nb[UK_ESCAPE_SIZE(UK_ATTACH_NAME_MAX)];

	if (now - d->progress_ns < PROGRESS_NS)
		return;
	d->progress_ns = now;
	if (chat_line_mode(a))
		chat_info(a, "progress", "%llu\t%s\t%llu\t%llu", (unsigned long long)io->packet_no,
			  esc(io->files[d->fi].name, io->files[d->fi].name_len, nb, sizeof(nb)),
			  (unsigned long long)d->got, (unsigned long long)d->size);
	else if (a->tui)
		status_bar(a, esc(io->files[d->fi].name, io->files[d->fi].name_len, nb, sizeof(nb)),
			   d->got, d->size, now - d->start_ns);
}

/* Starts fetching entry fi of io. */
static void dl_start(struct app *a, struct dl *d, int ii, int fi)
{
	struct files *f = F(a);
	struct in_offer *io = &f->in[ii];
	const struct uk_attach *at = &io->files[fi];
	bool dir = (at->attr & 0xffu) == UK_ATTACH_DIR;
	enum uk_fname_verdict v = uk_fname_check(at->name, at->name_len);
	struct uk_addr to = io->peer;
	uint64_t offset = 0;
	int n;

	memset(d, 0, sizeof(*d));
	d->fd = d->out = d->top = -1;
	d->ii = ii;
	d->fi = fi;
	d->size = at->size;
	d->st = D_CONNECT;
	d->start_ns = d->last_ns = uk_now_ns();
	io->next = -2; /* busy until this one ends */
	if (v != UK_FNAME_OK) {
		dl_fail(a, d, uk_fname_reason(v));
		return;
	}
	if ((at->attr & 0xffu) != UK_ATTACH_REGULAR && !dir) {
		dl_fail(a, d, "neither a file nor a folder");
		return;
	}
	if (!dir && a->o.max_file_size && at->size > a->o.max_file_size) {
		dl_fail(a, d, "larger than --max-file-size");
		return;
	}
	uk_fname_partial(at->name, at->name_len, at->size, at->mtime, d->part, sizeof(d->part));
	if (dir) {
		d->buf = malloc(UK_DIRHDR_MAX + 1);
		if (!d->buf) {
			dl_fail(a, d, "out of memory");
			return;
		}
		/* A folder's files may total what the offer announced (iptux and
		 * we announce the sum), within 64 times --max-file-size: a
		 * stream that sends more is cut off. */
		uint64_t total = a->o.max_file_size ? a->o.max_file_size * 64 : UINT64_MAX;
		if (at->size && at->size < total)
			total = at->size;
		uk_dirwalk_init(&d->w, DEPTH_MAX, DIR_ENTRIES, total,
				a->o.max_file_size ? a->o.max_file_size : UINT64_MAX);
	} else {
		struct stat st;
		/* Read and write: on resume with a SHA-256 what an earlier
		 * fetch left is read back to hash it. */
		d->out =
		    openat(io->dirfd, d->part, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
		if (d->out < 0 || fstat(d->out, &st) < 0 || !S_ISREG(st.st_mode)) {
			dl_fail(a, d, "cannot create the partial file");
			return;
		}
		/* Resume from what an interrupted fetch left, except from
		 * iptux, which ignores the offset and sends from byte 0. */
		if (!io->iptux && (uint64_t)st.st_size <= at->size)
			offset = (uint64_t)st.st_size;
		if (ftruncate(d->out, (off_t)offset) < 0 ||
		    lseek(d->out, (off_t)offset, SEEK_SET) < 0) {
			dl_fail(a, d, "cannot write the partial file");
			return;
		}
		d->got = offset;
		/* The offer's SHA-256 is checked over the whole file: what an
		 * earlier fetch left is hashed first. */
		d->hashing = at->has_sha256;
		crypto_hash_sha256_init(&d->sha);
		if (d->hashing && offset) {
			unsigned char *buf = f->iobuf;
			uint64_t off = 0;
			while (off < offset) {
				ssize_t k = pread(d->out, buf, CHUNK, (off_t)off);
				if (k <= 0)
					break;
				crypto_hash_sha256_update(&d->sha, buf, (size_t)k);
				off += (uint64_t)k;
			}
		}
	}
	n = uk_filereq_build(d->req, sizeof(d->req), &a->chat.id, uk_ipmsg_seq_next(&a->chat.seq),
			     dir ? UK_FILEREQ_GETDIRFILES : UK_FILEREQ_GETFILEDATA,
			     UK_IPMSG_FILEATTACHOPT, io->packet_no, at->file_id, offset);
	if (n < 0) {
		dl_fail(a, d, "request too long");
		return;
	}
	d->req_len = (size_t)n;
	if (chat_room_file_key(a)) {
		char plain[UK_SS_REQ_MAX];
		memcpy(plain, d->req, d->req_len);
		d->sd = seal_dl_new(chat_room_file_key(a), plain, d->req_len, d->req,
				    sizeof(d->req), &d->req_len);
		if (!d->sd) {
			dl_fail(a, d, "cannot seal the request");
			return;
		}
	}
	/* Every client serves on TCP at its own chat port: iptux too, at the
	 * port it is configured to (seen in the lab). */
	d->fd = socket(to.u.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->fd < 0 || (connect(d->fd, &to.u.sa, to.len) < 0 && errno != EINPROGRESS)) {
		dl_fail(a, d, strerror(errno));
		return;
	}
	if (offset)
		chat_info(a, "info", _("resuming %s at byte %llu"), d->part,
			  (unsigned long long)offset);
}

/* Starts the next fetches that wait. */
static void dl_schedule(struct app *a)
{
	struct files *f = F(a);

	for (int i = 0; i < OFFERS_IN; i++) {
		struct in_offer *io = &f->in[i];
		struct dl *d = NULL;
		if (!io->used || io->next < 0)
			continue;
		if ((size_t)io->next >= io->n) {
			in_close(io);
			continue;
		}
		for (size_t k = 0; k < DOWNLOADS && !d; k++)
			if (f->dls[k].st == D_FREE)
				d = &f->dls[k];
		if (!d)
			return;
		dl_start(a, d, i, io->next);
	}
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
		in_close(io);
		a->files_failed++;
		return -ENOSPC;
	}
	snprintf(a->files_dir_shown, sizeof(a->files_dir_shown), "%s", target);
	io->next = 0;
	dl_schedule(a);
	return 0;
}

int files_decline(struct app *a, unsigned num)
{
	struct in_offer *io = F(a) ? find_in(a, num) : NULL;

	if (!io)
		return chat_info(a, "error", _("no such offer waiting")), -ENOENT;
	uk_chat_release(&a->chat, &io->peer, io->packet_no);
	chat_info(a, "declined", "%u\t%llu", io->num, (unsigned long long)io->packet_no);
	hist(a, &io->peer, io->nick, io->packet_no, "declined the offer");
	in_close(io);
	return 0;
}

static void dl_send(struct app *a, struct dl *d)
{
	ssize_t n;
	int err = 0;
	socklen_t el = sizeof(err);

	if (d->st == D_CONNECT) {
		if (getsockopt(d->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
			dl_fail(a, d, strerror(err ? err : errno));
			return;
		}
		d->st = D_SEND;
	}
	n = send(d->fd, d->req + d->req_off, d->req_len - d->req_off, MSG_NOSIGNAL);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			dl_fail(a, d, strerror(errno));
		return;
	}
	d->req_off += (size_t)n;
	if (d->req_off == d->req_len) {
		const struct uk_attach *at = &F(a)->in[d->ii].files[d->fi];
		d->st = (at->attr & 0xffu) == UK_ATTACH_DIR ? D_DIR : D_FILE;
		/* Empty, or fetched before (in a room the sealed end still
		 * comes, and is proved). */
		if (d->st == D_FILE && d->got == d->size && !d->sd)
			dl_done(a, d);
	}
}

/* The one place a download reads: in a room, through the sealed stream. */
static ssize_t dl_recv(struct dl *d, void *buf, size_t cap)
{
	ssize_t n = d->sd ? seal_dl_recv(d->sd, d->fd, buf, cap) : recv(d->fd, buf, cap, 0);
	if (n < 0 && errno == EBADMSG)
		errno = EPROTO; /* "Protocol error" reads better than "Bad message" */
	return n;
}

static void dl_file(struct app *a, struct dl *d)
{
	unsigned char *buf = F(a)->iobuf;
	uint64_t want = d->size - d->got;

	for (int rounds = 0; rounds < 16; rounds++) {
		/* One byte more than announced is read to catch a peer that sends too much. */
		size_t cap = want + 1 < CHUNK ? (size_t)want + 1 : CHUNK;
		ssize_t n = dl_recv(d, buf, cap);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				dl_fail(a, d, strerror(errno));
			return;
		}
		if (n == 0 && !want && d->sd) {
			dl_done(a, d); /* the sealed end: FINAL opened, proved */
			return;
		}
		if (n == 0) {
			dl_fail(a, d, "the peer closed the connection early");
			return;
		}
		if ((uint64_t)n > want) {
			dl_fail(a, d, "the peer sent more than it announced");
			return;
		}
		if (write(d->out, buf, (size_t)n) != n) {
			dl_fail(a, d, errno == ENOSPC ? "disk full" : "write error");
			return;
		}
		if (d->hashing)
			crypto_hash_sha256_update(&d->sha, buf, (size_t)n);
		d->got += (uint64_t)n;
		want -= (uint64_t)n;
		/* In a room the end is the sealed FINAL, proved to the sender
		 * (n == 0 above), which comes with the last bytes. */
		if (!want && !d->sd) {
			dl_done(a, d);
			return;
		}
	}
}

/* A folder's file is complete: its time, then closed. */
static void finish_file(struct dl *d)
{
	struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = (time_t)d->file_mtime}};

	if (d->out >= 0 && d->file_mtime)
		futimens(d->out, ts);
	close_fd(&d->out);
}

/* One header of the folder stream handled; false when the stream failed
 * (dl_fail done). */
static bool dl_dir_header(struct app *a, struct dl *d, const struct uk_dirhdr *h)
{
	struct in_offer *io = &F(a)->in[d->ii];
	int act = uk_dirwalk_header(&d->w, h);
	int cur = d->depth ? d->stack[d->depth - 1] : io->dirfd;
	char nb[UK_ESCAPE_SIZE(UK_ATTACH_NAME_MAX)], pa[UK_ADDR_STRLEN];
	/* Names of folders and files entered; the others are "." or skipped. */
	enum uk_fname_verdict v = act == UK_DIRWALK_ENTER || act == UK_DIRWALK_FILE
				      ? uk_fname_check(h->name, h->name_len)
				      : UK_FNAME_OK;

	if (act < 0) {
		dl_fail(a, d,
			act == UK_ERANGE_ ? "folder over the limits (depth, entries, bytes)"
					  : "malformed folder stream");
		return false;
	}
	if (act == UK_DIRWALK_ENTER && v != UK_FNAME_OK) {
		char why[UK_ESCAPE_SIZE(UK_ATTACH_NAME_MAX) + 160];
		snprintf(why, sizeof(why), "refused folder name %s: %s",
			 esc(h->name, h->name_len, nb, sizeof(nb)), uk_fname_reason(v));
		dl_fail(a, d, why);
		return false;
	}
	switch (act) {
	case UK_DIRWALK_ENTER: {
		const char *name = d->depth == 0 ? d->part : h->name;
		int fd;
		if (d->depth == 0)
			d->mtime = h->mtime;
		if (mkdirat(cur, name, 0777) < 0 && errno != EEXIST) {
			dl_fail(a, d, "cannot create a folder");
			return false;
		}
		fd = openat(cur, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			dl_fail(a, d, "cannot open a folder (a symlink?)");
			return false;
		}
		if (d->depth == 0)
			d->top = dup(fd);
		d->stack[d->depth++] = fd;
		return true;
	}
	case UK_DIRWALK_LEAVE:
		close_fd(&d->stack[--d->depth]);
		return true;
	case UK_DIRWALK_END:
		close_fd(&d->stack[--d->depth]);
		dl_done(a, d);
		return false;
	case UK_DIRWALK_FILE:
		d->left = h->size;
		d->discard = v != UK_FNAME_OK;
		if (d->discard) {
			chat_info(a, "refused", "%s\t%s\t%s", addr_text(&io->peer, pa, sizeof(pa)),
				  esc(h->name, h->name_len, nb, sizeof(nb)), uk_fname_reason(v));
			hist(a, &io->peer, io->nick, io->packet_no,
			     "refused a name in the folder %s: %s", nb, uk_fname_reason(v));
			return true;
		}
		for (unsigned k = 0; k < 1000; k++) {
			char alt[UK_FNAME_MAX + 1];
			if (uk_fname_numbered(h->name, h->name_len, k, alt, sizeof(alt)) < 0)
				break;
			d->out = openat(cur, alt,
					O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
			if (d->out >= 0 || errno != EEXIST)
				break;
		}
		if (d->out < 0) {
			dl_fail(a, d, "cannot create a file in the folder");
			return false;
		}
		d->file_mtime = h->mtime;
		if (!d->left)
			finish_file(d);
		return true;
	default: /* SKIP */
		d->left = h->size;
		d->discard = true;
		return true;
	}
}

static void dl_dir(struct app *a, struct dl *d)
{
	for (int rounds = 0; rounds < 64 && d->st == D_DIR; rounds++) {
		if (d->left) {
			unsigned char *buf = F(a)->iobuf;
			size_t cap = d->left < CHUNK ? (size_t)d->left : CHUNK;
			ssize_t n = dl_recv(d, buf, cap);
			if (n < 0) {
				if (errno != EAGAIN && errno != EINTR)
					dl_fail(a, d, strerror(errno));
				return;
			}
			if (n == 0) {
				dl_fail(a, d, "the peer closed the folder stream early");
				return;
			}
			if (!d->discard && write(d->out, buf, (size_t)n) != n) {
				dl_fail(a, d, errno == ENOSPC ? "disk full" : "write error");
				return;
			}
			d->left -= (uint64_t)n;
			d->got += (uint64_t)n;
			if (!d->left)
				finish_file(d);
			continue;
		}
		{
			struct uk_dirhdr h;
			ssize_t n;
			int k = uk_dirhdr_parse(d->buf, d->buf_len, &h);
			if (k < 0) {
				dl_fail(a, d, "malformed folder stream header");
				return;
			}
			if (k > 0) {
				memmove(d->buf, d->buf + k, d->buf_len - (size_t)k);
				d->buf_len -= (size_t)k;
				/* Data already read past the header belongs to the file. */
				if (!dl_dir_header(a, d, &h))
					return;
				if (d->left && d->buf_len) {
					size_t take =
					    d->buf_len < d->left ? d->buf_len : (size_t)d->left;
					if (!d->discard &&
					    write(d->out, d->buf, take) != (ssize_t)take) {
						dl_fail(a, d, "write error");
						return;
					}
					memmove(d->buf, d->buf + take, d->buf_len - take);
					d->buf_len -= take;
					d->left -= take;
					d->got += take;
					if (!d->left)
						finish_file(d);
				}
				continue;
			}
			/* A header comes in pieces: read only up to what it may
			 * need, so file data stays in the socket. */
			n = dl_recv(d, d->buf + d->buf_len, UK_DIRHDR_MAX - d->buf_len);
			if (n < 0) {
				if (errno != EAGAIN && errno != EINTR)
					dl_fail(a, d, strerror(errno));
				return;
			}
			if (n == 0) {
				dl_fail(a, d, "the peer closed the folder stream early");
				return;
			}
			d->buf_len += (size_t)n;
		}
	}
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
		accept_conns(a);
	for (size_t i = 0; i < CONNS; i++) {
		struct conn *c = &f->conns[i];
		bool ev = c->st != C_FREE && revents_of(p, n, c->fd);
		if (!ev)
			continue;
		c->last_ns = now;
		if (c->st == C_REQ)
			on_request(a, c);
		else
			on_writable(a, c);
	}
	for (size_t i = 0; i < DOWNLOADS; i++) {
		struct dl *d = &f->dls[i];
		bool ev = d->st != D_FREE && revents_of(p, n, d->fd);
		if (!ev)
			continue;
		d->last_ns = now;
		if (d->st == D_CONNECT || d->st == D_SEND)
			dl_send(a, d);
		else if (d->st == D_FILE)
			dl_file(a, d);
		else
			dl_dir(a, d);
		if (d->st == D_FILE || d->st == D_DIR)
			progress(a, d, now);
	}
	dl_schedule(a);
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
		/* A slow or silent client is dropped after IDLE_NS. */
		if (c->st != C_FREE && now - c->last_ns > IDLE_NS)
			conn_close(a, c, false);
	}
	for (size_t i = 0; i < DOWNLOADS; i++) {
		struct dl *d = &f->dls[i];
		if (d->st != D_FREE && now - d->last_ns > IDLE_NS)
			dl_fail(a, d, "the peer stopped sending");
	}
	for (size_t i = 0; i < OFFERS_OUT; i++) {
		struct out_offer *oo = &f->out[i];
		if (oo->used && uk_offer_tick(&oo->o, now) != UK_OFFER_OPEN)
			offer_outcome(a, oo);
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
		if (f->conns[i].st != C_FREE && f->conns[i].last_ns + IDLE_NS < d)
			d = f->conns[i].last_ns + IDLE_NS + 1;
	for (size_t i = 0; i < DOWNLOADS; i++)
		if (f->dls[i].st != D_FREE && f->dls[i].last_ns + IDLE_NS < d)
			d = f->dls[i].last_ns + IDLE_NS + 1;
	for (size_t i = 0; i < OFFERS_OUT; i++)
		if (f->out[i].used && f->out[i].o.deadline_ns && f->out[i].o.deadline_ns < d)
			d = f->out[i].o.deadline_ns;
	/* Progress lines while a fetch runs. */
	for (size_t i = 0; i < DOWNLOADS; i++)
		if (f->dls[i].st != D_FREE && f->dls[i].progress_ns + PROGRESS_NS < d)
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

void files_on_released(struct app *a, const struct uk_chat_event *ev)
{
	struct files *f = F(a);
	unsigned char ip[16];
	size_t iplen = ip_bytes(&ev->peer, ip);

	if (!f)
		return;
	for (size_t i = 0; i < OFFERS_OUT; i++) {
		struct out_offer *oo = &f->out[i];
		/* Only the peer offered to may release (by IP: iptux's port varies). */
		if (oo->used && oo->o.packet_no == ev->msg_id && oo->o.peer_len == iplen &&
		    memcmp(oo->o.peer, ip, iplen) == 0) {
			uk_offer_release(&oo->o);
			offer_outcome(a, oo);
		}
	}
}

void files_close(struct app *a)
{
	struct files *f = F(a);

	if (!f)
		return;
	for (size_t i = 0; i < CONNS; i++)
		if (f->conns[i].st != C_FREE)
			conn_close(a, &f->conns[i], false);
	for (size_t i = 0; i < DOWNLOADS; i++)
		if (f->dls[i].st != D_FREE)
			dl_fail(a, &f->dls[i], "the chat quit");
	for (size_t i = 0; i < OFFERS_OUT; i++)
		if (f->out[i].used) {
			if (f->out[i].script)
				a->files_failed++;
			offer_close(&f->out[i]);
		}
	/* Offers never answered are declined, so the peer stops serving. */
	for (size_t i = 0; i < OFFERS_IN; i++) {
		if (f->in[i].used && f->in[i].next == -1)
			uk_chat_release(&a->chat, &f->in[i].peer, f->in[i].packet_no);
		if (f->in[i].used)
			in_close(&f->in[i]);
	}
	close_fd(&f->lfd);
	free(f->iobuf);
	free(f);
	a->files = NULL;
}
