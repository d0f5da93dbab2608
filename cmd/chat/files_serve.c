/* files_serve.c: the TCP server for our offers, on the chat's own port:
 * it serves to the offered peer's IP only and only the offered IDs
 * (lib/offer.c), files with sendfile(), folders as the folder stream read
 * with openat(O_NOFOLLOW) below the offered folder. Inside a room the
 * exchange is sealed (files_seal.c, docs/rooms.md "Files"): the request is
 * read through it, and the same stream is read, sealed in chunks and sent
 * (serve_sealed: no sendfile()). */
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "chat/files_int.h"
#include "udpkit/fname.h"

void files_conn_close(struct app *a, struct conn *c, bool complete)
{
	struct files *f = F(a);

	if (c->st == C_FILE || c->st == C_DIR) {
		struct out_offer *oo = &f->out[c->oi];
		if (oo->used) {
			uk_offer_end(&oo->o, (size_t)c->fi, complete);
			if (uk_offer_tick(&oo->o, uk_now_ns()) != UK_OFFER_OPEN)
				files_offer_outcome(a, oo);
		}
	}
	seal_srv_free(c->ss);
	c->ss = NULL;
	close_fd(&c->fd);
	close_fd(&c->src);
	uk_sha256_free(&c->sha);
	while (c->depth > 0) {
		c->depth--;
		closedir(c->walk[c->depth]);
	}
	c->st = C_FREE;
}

void files_accept_conns(struct app *a)
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
		/* In a room only a sealed request is answered. */
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
	/* Key 16 (IP Messenger's creation time) carries the mtime too: iptux
	 * 0.8.3 sets a received file's modification time from key 16 (its
	 * access time from key 14), and Linux's st_ctime is the inode's change
	 * time, no creation time to send. */
	if (st) {
		h.mtime = (uint64_t)st->st_mtime;
		h.ctime = (uint64_t)st->st_mtime;
	}
	if (attr == UK_ATTACH_REGULAR && c->sha_ready) {
		h.has_sha256 = true;
		memcpy(h.sha256, c->sum, sizeof(h.sha256));
	}
	c->sha_ready = false;
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
		if (c->want_sha && strlen(e->d_name) < sizeof(c->hname)) {
			/* The header waits for the hash (hash_step), unless the
			 * file was hashed before and has not changed since. */
			uk_hashcache_key_of(&st, &c->hkey);
			if (uk_hashcache_get(F(a)->hcache, &c->hkey, c->sum) == 0) {
				c->sha_ready = true;
			} else {
				c->hash_wall_ns = uk_wall_ns();
				c->src = fd;
				c->off = 0;
				c->end = st.st_size;
				c->hashing = true;
				c->hash_off = 0;
				c->hst = st;
				memcpy(c->hname, e->d_name, strlen(e->d_name) + 1);
				uk_sha256_init(&c->sha);
				return true;
			}
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

/* Hashes the folder's file at c->src for at most PREPARE_NS, then queues
 * its header with the SHA-256. Returns true when the header is queued
 * (or the file skipped), false when there is more to hash or the
 * connection was closed. */
static bool hash_step(struct app *a, struct conn *c)
{
	uint64_t start = uk_now_ns(), size = (uint64_t)c->end;
	unsigned char *buf = F(a)->iobuf;

	while (c->hash_off < size) {
		uint64_t left = size - c->hash_off;
		ssize_t k =
		    pread(c->src, buf, left < CHUNK ? (size_t)left : CHUNK, (off_t)c->hash_off);
		if (k <= 0) {
			/* Shrunk or unreadable: the peer would wait for bytes
			 * that never come. */
			files_conn_close(a, c, false);
			return false;
		}
		uk_sha256_update(&c->sha, buf, (size_t)k);
		c->hash_off += (uint64_t)k;
		if (uk_now_ns() - start >= PREPARE_NS && c->hash_off < size)
			return false;
	}
	if (uk_sha256_final(&c->sha, c->sum) < 0) {
		files_conn_close(a, c, false);
		return false;
	}
	{
		/* Kept for the next stream of this folder if the file did not
		 * change while it was read. */
		struct stat st;
		struct uk_hashcache_key after;
		if (fstat(c->src, &st) == 0) {
			uk_hashcache_key_of(&st, &after);
			if (uk_hashcache_key_equal(&after, &c->hkey))
				(void)uk_hashcache_put(F(a)->hcache, &c->hkey, c->sum,
						       c->hash_wall_ns);
		}
	}
	c->hashing = false;
	c->sha_ready = true;
	if (!queue_hdr(a, c, c->hname, size, UK_ATTACH_REGULAR, &c->hst)) {
		close_fd(&c->src); /* not sent; the walk goes on */
		c->end = 0;
	}
	return true;
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
			files_conn_close(a, c, false);
		return;
	}
	c->st = C_DIR;
	/* iptux reads six fields of a header: our SHA-256 is for udpkit, and
	 * hashing would only slow the folder down for iptux. */
	c->want_sha = !r->iptux;
	{
		int fd = openat(oo->fds[fi], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		struct stat st;
		if (!d || fstat(fd, &st) < 0) {
			if (d)
				closedir(d);
			else if (fd >= 0)
				close(fd);
			files_conn_close(a, c, false);
			return;
		}
		c->walk[c->depth++] = d;
		if (!queue_hdr(a, c, oo->names[fi], 0, UK_ATTACH_DIR, &st))
			files_conn_close(a, c, false);
	}
}

void files_serve_request(struct app *a, struct conn *c)
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
			files_conn_close(a, c, false);
			return;
		}
	} else {
		n = recv(c->fd, c->req + c->req_len, sizeof(c->req) - c->req_len, 0);
		if (n <= 0) {
			if (n == 0 || (errno != EAGAIN && errno != EINTR))
				files_conn_close(a, c, false);
			return;
		}
		c->req_len += (size_t)n;
	}
	rc = uk_filereq_parse(c->req, c->req_len, &r);
	if (rc == 0 && !c->ss) /* a sealed request comes whole */
		return;
	if (getpeername(c->fd, &from.u.sa, &from.len) < 0 || rc <= 0) {
		chat_info(a, "refused", "-\tmalformed file request");
		files_conn_close(a, c, false);
		return;
	}
	iplen = ip_bytes(&from, ip);
	for (int i = 0; i < OFFERS_OUT; i++) {
		int k;
		if (!f->out[i].used || f->out[i].preparing)
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
	files_conn_close(a, c, false);
}

/* In a room: the same stream as files_serve_writable sends, read into
 * memory and sealed in chunks of UK_SS_CHUNK (sendfile() cannot seal);
 * counted as fetched only once the client proves it opened the whole
 * stream, which the replayer of a captured request cannot. */
static void serve_sealed(struct app *a, struct conn *c)
{
	struct out_offer *oo = &F(a)->out[c->oi];
	unsigned char *buf = seal_srv_buf(c->ss);

	for (int rounds = 0; rounds < 16; rounds++) {
		size_t len = 0;
		bool end = false;
		int k;

		if (seal_srv_final_sent(c->ss)) {
			k = seal_srv_proof(c->ss, c->fd);
			if (k != 0)
				files_conn_close(a, c, k > 0);
			return;
		}
		if (seal_srv_busy(c->ss)) {
			if (seal_srv_write(c->ss, c->fd, NULL, 0, false) < 0)
				files_conn_close(a, c, false);
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
			if (c->hashing && c->hdr_off == c->hdr_len) {
				/* A folder's file is hashed before its header
				 * (hash_step reads into iobuf, not buf): what was
				 * gathered goes first. */
				if (len)
					break;
				if (!hash_step(a, c))
					return; /* more to hash next time, or closed */
			} else if (c->hdr_off < c->hdr_len) {
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
					files_conn_close(a, c, false);
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
					files_conn_close(a, c, false);
					return;
				}
			}
		}
		if (seal_srv_write(c->ss, c->fd, buf, len, end) < 0) {
			files_conn_close(a, c, false);
			return;
		}
	}
}

/* Sends what c has to send until the socket is full. */
void files_serve_writable(struct app *a, struct conn *c)
{
	struct out_offer *oo = &F(a)->out[c->oi];

	if (c->ss) {
		serve_sealed(a, c);
		return;
	}
	for (int rounds = 0; rounds < 64; rounds++) {
		if (c->hashing && c->hdr_off == c->hdr_len) {
			if (!hash_step(a, c))
				return;
			continue;
		}
		if (c->hdr_off < c->hdr_len) {
			ssize_t n =
			    send(c->fd, c->hdr + c->hdr_off, c->hdr_len - c->hdr_off, MSG_NOSIGNAL);
			if (n < 0) {
				if (errno != EAGAIN && errno != EINTR)
					files_conn_close(a, c, false);
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
					files_conn_close(a, c, false);
				return;
			}
			if (n == 0) {
				/* The file shrank after the offer: the peer would
				 * wait for bytes that never come. */
				files_conn_close(a, c, false);
				return;
			}
			uk_offer_sent(&oo->o, (size_t)c->fi, (uint64_t)n);
			continue;
		}
		if (c->st == C_FILE) {
			files_conn_close(a, c, true);
			return;
		}
		/* C_DIR: the file (if any) is sent; the next entry. */
		close_fd(&c->src);
		if (c->last_hdr) {
			files_conn_close(a, c, true);
			return;
		}
		if (!walk_next(a, c)) {
			files_conn_close(a, c, false);
			return;
		}
	}
}
