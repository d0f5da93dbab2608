/* files_offer.c: our offers (IPMsg SENDMSG|FILEATTACHOPT): each path is
 * opened when offered and listed with its size (a folder: the bytes of
 * its files) and, for every file, its SHA-256, hashed in slices from the
 * poll loop before the offer goes ("preparing"); an offer ends fetched,
 * declined, or timed out (lib/offer.c). */
#include <sys/stat.h>

#include "chat/files.h"
#include "chat/files_int.h"
#include "udpkit/fname.h"
#include "udpkit/i18n.h"

void files_offer_close(struct out_offer *oo)
{
	for (size_t i = 0; i < oo->o.nfiles; i++) {
		close_fd(&oo->fds[i]);
		free(oo->names[i]);
		oo->names[i] = NULL;
	}
	free(oo->text);
	oo->text = NULL;
	uk_sha256_free(&oo->sha);
	oo->preparing = false;
	oo->used = false;
}

/* The outcome of one of our offers, once it is no longer open. */
void files_offer_outcome(struct app *a, struct out_offer *oo)
{
	char p[UK_ADDR_STRLEN];

	chat_info(a, oo->o.state == UK_OFFER_DONE ? "fetched" : "offer-end", "%s\t%llu\t%s",
		  addr_text(&oo->peer, p, sizeof(p)), (unsigned long long)oo->o.packet_no,
		  uk_offer_state_name(oo->o.state));
	files_hist(a, &oo->peer, NULL, oo->o.packet_no, "offer %s",
		   oo->o.state == UK_OFFER_RELEASED ? "declined by the peer"
						    : uk_offer_state_name(oo->o.state));
	if (oo->script && oo->o.state != UK_OFFER_DONE)
		a->files_failed++;
	files_offer_close(oo);
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

/* Makes an offer of paths to to, its files opened and listed, not yet
 * hashed nor sent. Returns it, or NULL with *rc set (the reason shown). */
static struct out_offer *offer_make(struct app *a, const struct uk_addr *to, char **paths, size_t n,
				    const char *text, bool script, int *rc)
{
	struct files *f = F(a);
	struct out_offer *oo = NULL;
	struct uk_peer *peer = uk_roster_find(&a->chat.roster, to);
	enum uk_charset_kind kind =
	    uk_charset_for_peer(peer ? &peer->charset : NULL, a->chat.cfg.charset);
	unsigned char ip[16];
	char *list = NULL;
	size_t list_len = 0, iplen;

	*rc = -EINVAL;
	if (!f || f->lfd < 0) {
		chat_info(a, "error", _("files cannot be served (no TCP listener)"));
		*rc = -ENOTCONN;
		return NULL;
	}
	if (n == 0 || n > UK_OFFER_FILES) {
		chat_info(a, "error", _("offer 1 to %d paths"), UK_OFFER_FILES);
		return NULL;
	}
	for (size_t i = 0; i < OFFERS_OUT && !oo; i++)
		if (!f->out[i].used)
			oo = &f->out[i];
	if (!oo) {
		chat_info(a, "error", _("too many offers open"));
		*rc = -ENOSPC;
		return NULL;
	}
	memset(oo, 0, sizeof(*oo));
	for (size_t i = 0; i < UK_OFFER_FILES; i++)
		oo->fds[i] = -1;
	list = malloc(UK_IPMSG_MAX_PACKET);
	if (!list) {
		*rc = -ENOMEM;
		return NULL;
	}
	iplen = ip_bytes(to, ip);
	uk_offer_init(&oo->o, 0, ip, iplen, a->o.offer_timeout_ns, uk_now_ns());
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		const char *base = strrchr(paths[i], '/');
		struct uk_attach *at = &oo->at[i];
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
		at->file_id = i;
		memcpy(at->name, enc, (size_t)k);
		at->name_len = (size_t)k;
		at->size = S_ISDIR(st.st_mode) ? tree_bytes(fd, 0) : (uint64_t)st.st_size;
		at->mtime = (uint64_t)st.st_mtime;
		at->attr = S_ISDIR(st.st_mode) ? UK_ATTACH_DIR : UK_ATTACH_REGULAR;
		/* Its hash comes later; the list must fit one packet with it. */
		at->has_sha256 = S_ISREG(st.st_mode);
		k = uk_attach_encode(list, UK_IPMSG_MAX_PACKET, list_len, at);
		at->has_sha256 = false;
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
		uk_offer_add(&oo->o, at->file_id, at->size, S_ISDIR(st.st_mode));
	}
	free(list);
	oo->peer = *to;
	oo->used = true;
	oo->script = script;
	oo->preparing = true;
	oo->text = text ? strdup(text) : NULL;
	*rc = 0;
	return oo;
fail:
	free(list);
	oo->o.nfiles = n;
	files_offer_close(oo);
	if (script)
		a->files_failed++;
	return NULL;
}

/* Bytes of the regular files in oo: what its preparation hashes. */
static uint64_t offer_bytes(const struct out_offer *oo)
{
	uint64_t bytes = 0;

	for (size_t i = 0; i < oo->o.nfiles; i++)
		if (oo->at[i].attr == UK_ATTACH_REGULAR)
			bytes += oo->at[i].size;
	return bytes;
}

/* Hashes a new offer for one slice and sends it if that was enough;
 * else says it is being prepared: always in line mode (a script counts
 * its offers), in the terminal UI only when `say` (/all says it once for
 * all its offers). Returns 0, or -EIO when it failed. */
static int offer_start(struct app *a, struct out_offer *oo, bool say)
{
	char pa[UK_ADDR_STRLEN];

	if (files_offer_prepare(a, oo, PREPARE_NS))
		return oo->used ? 0 : -EIO;
	if (chat_line_mode(a))
		chat_info(a, "preparing", "%s\t%llu", addr_text(&oo->peer, pa, sizeof(pa)),
			  (unsigned long long)offer_bytes(oo));
	else if (say)
		chat_info(
		    a, "info", _("preparing the offer to %s: hashing %.1f MiB (SHA-256) first"),
		    addr_text(&oo->peer, pa, sizeof(pa)), (double)offer_bytes(oo) / 1048576.0);
	return 0;
}

int files_offer(struct app *a, const struct uk_addr *to, char **paths, size_t n, const char *text,
		bool script)
{
	int rc;
	struct out_offer *oo = offer_make(a, to, paths, n, text, script, &rc);

	return oo ? offer_start(a, oo, true) : rc;
}

/* Sends a prepared offer: the list with every hash; then the "offered"
 * lines. A failure is reported and closes the offer. */
static void offer_send(struct app *a, struct out_offer *oo)
{
	char *list = malloc(UK_IPMSG_MAX_PACKET), pa[UK_ADDR_STRLEN];
	size_t list_len = 0;
	uint64_t now = uk_now_ns();
	int64_t no = -ENOMEM;

	oo->preparing = false;
	if (!list)
		goto fail;
	for (size_t i = 0; i < oo->o.nfiles; i++) {
		/* It fitted with a hash of this length when offered. */
		int k = uk_attach_encode(list, UK_IPMSG_MAX_PACKET, list_len, &oo->at[i]);
		if (k < 0) {
			no = -EMSGSIZE;
			goto fail;
		}
		list_len = (size_t)k;
	}
	no = uk_chat_send_offer(&a->chat, &oo->peer, oo->text ? oo->text : "",
				oo->text ? strlen(oo->text) : 0, list, list_len, now);
	if (no < 0)
		goto fail;
	free(list);
	oo->o.packet_no = (uint64_t)no;
	/* The timeout runs from the offer as sent, not from its hashing. */
	oo->o.deadline_ns = a->o.offer_timeout_ns ? now + a->o.offer_timeout_ns : 0;
	for (size_t i = 0; i < oo->o.nfiles; i++) {
		chat_info(a, "offered", "%s\t%llu\t%s", addr_text(&oo->peer, pa, sizeof(pa)),
			  (unsigned long long)no, oo->names[i]);
		files_hist(a, &oo->peer, NULL, (uint64_t)no, "offered %s %s (%llu bytes)",
			   oo->o.files[i].dir ? "folder" : "file", oo->names[i],
			   (unsigned long long)(oo->o.files[i].dir ? 0 : oo->o.files[i].size));
	}
	return;
fail:
	free(list);
	chat_info(a, "error", _("offer not sent: %s"),
		  no == -EPROTONOSUPPORT ? "the peer does not speak IPMsg" : strerror((int)-no));
	if (oo->script)
		a->files_failed++;
	files_offer_close(oo);
}

/* The key of oo's entry being prepared (from its fd), for the hash cache
 * and the offers sharing a hash. False when it cannot be used: no fstat,
 * or the file's size is no longer the one listed (hashed as listed, and
 * the receiver will tell). */
static bool entry_key(struct out_offer *oo)
{
	struct stat st;

	if (!oo->hkey_set) {
		if (fstat(oo->fds[oo->hash_i], &st) < 0)
			return false;
		uk_hashcache_key_of(&st, &oo->hkey);
		oo->hkey_set = true;
	}
	return oo->hkey.size == oo->at[oo->hash_i].size;
}

/* Entry hash_i of oo has its sum: on to the next one. */
static void entry_done(struct out_offer *oo, const uint8_t sum[UK_ATTACH_SHA256_BYTES])
{
	struct uk_attach *at = &oo->at[oo->hash_i];

	memcpy(at->sha256, sum, UK_ATTACH_SHA256_BYTES);
	at->has_sha256 = true;
	oo->hash_begun = false;
	oo->hkey_set = false;
	oo->hash_i++;
}

/* Whether another offer being prepared is hashing the file of key k right
 * now: this one waits for that sum (share_sum) instead of reading it too. */
static bool hashed_elsewhere(struct files *f, const struct out_offer *oo,
			     const struct uk_hashcache_key *k)
{
	for (size_t i = 0; i < OFFERS_OUT; i++) {
		const struct out_offer *o2 = &f->out[i];
		if (o2 != oo && o2->used && o2->preparing && o2->hash_begun &&
		    uk_hashcache_key_equal(&o2->hkey, k))
			return true;
	}
	return false;
}

/* Hands the sum of the file of key k, just hashed by from, to every other
 * offer being prepared whose next file is the same one unchanged (/all
 * /file makes one offer per peer of the same files): one read of the
 * file for all of them, whether or not the cache keeps the sum. */
static void share_sum(struct files *f, const struct out_offer *from,
		      const struct uk_hashcache_key *k, const uint8_t sum[UK_ATTACH_SHA256_BYTES])
{
	for (size_t i = 0; i < OFFERS_OUT; i++) {
		struct out_offer *o2 = &f->out[i];
		if (o2 == from || !o2->used || !o2->preparing || o2->hash_begun ||
		    o2->hash_i >= o2->o.nfiles || o2->at[o2->hash_i].attr != UK_ATTACH_REGULAR)
			continue;
		if (entry_key(o2) && uk_hashcache_key_equal(&o2->hkey, k))
			entry_done(o2, sum);
	}
}

/* Entry hash_i of oo is hashed: its sum kept in the cache (if the file
 * did not change while it was read, and not too soon after a change) and
 * given to the offers waiting for it. */
static void entry_hashed(struct app *a, struct out_offer *oo,
			 const uint8_t sum[UK_ATTACH_SHA256_BYTES])
{
	struct files *f = F(a);
	struct uk_hashcache_key k = oo->hkey;
	bool keyed = oo->hkey_set;
	struct stat st;

	entry_done(oo, sum);
	if (!keyed || fstat(oo->fds[oo->hash_i - 1], &st) < 0)
		return;
	{
		struct uk_hashcache_key after;
		uk_hashcache_key_of(&st, &after);
		if (!uk_hashcache_key_equal(&after, &k))
			return;
	}
	(void)uk_hashcache_put(f->hcache, &k, sum, oo->hash_wall_ns); /* -EAGAIN: racy, not kept */
	share_sum(f, oo, &k, sum);
}

/* Closes an offer that could not be prepared, with why. Returns true. */
static bool prepare_fail(struct app *a, struct out_offer *oo, const char *why)
{
	chat_info(a, "error", _("cannot offer %s: %s"), oo->names[oo->hash_i], why);
	if (oo->script)
		a->files_failed++;
	files_offer_close(oo);
	return true;
}

bool files_offer_prepare(struct app *a, struct out_offer *oo, uint64_t budget_ns)
{
	uint64_t start = uk_now_ns();
	struct files *f = F(a);
	unsigned char *buf = f->iobuf;

	while (oo->hash_i < oo->o.nfiles) {
		struct uk_attach *at = &oo->at[oo->hash_i];
		if (at->attr != UK_ATTACH_REGULAR) {
			oo->hash_i++;
			continue;
		}
		if (!oo->hash_begun) {
			uint8_t sum[UK_ATTACH_SHA256_BYTES];
			bool keyed = entry_key(oo);
			if (keyed && uk_hashcache_get(f->hcache, &oo->hkey, sum) == 0) {
				entry_done(oo, sum);
				continue;
			}
			if (keyed && hashed_elsewhere(f, oo, &oo->hkey))
				return false; /* share_sum will hand the sum over */
			oo->hkey_set = keyed;
			oo->hash_wall_ns = uk_wall_ns();
			uk_sha256_init(&oo->sha);
			oo->hash_off = 0;
			oo->hash_begun = true;
			/* Line mode says when a file is read for its hash, which
			 * the cache and sharing make once per file, not per offer. */
			if (chat_line_mode(a))
				chat_info(a, "hashing", "%s\t%llu", oo->names[oo->hash_i],
					  (unsigned long long)at->size);
		}
		while (oo->hash_off < at->size) {
			uint64_t left = at->size - oo->hash_off;
			ssize_t k = pread(oo->fds[oo->hash_i], buf,
					  left < CHUNK ? (size_t)left : CHUNK, (off_t)oo->hash_off);
			if (k <= 0)
				return prepare_fail(
				    a, oo, k < 0 ? strerror(errno) : "it shrank while hashed");
			uk_sha256_update(&oo->sha, buf, (size_t)k);
			oo->hash_off += (uint64_t)k;
			if (uk_now_ns() - start >= budget_ns && oo->hash_off < at->size)
				return false;
		}
		{
			uint8_t sum[UK_ATTACH_SHA256_BYTES];
			if (uk_sha256_final(&oo->sha, sum) < 0)
				return prepare_fail(a, oo, "SHA-256 failed (out of memory?)");
			entry_hashed(a, oo, sum);
		}
	}
	offer_send(a, oo);
	return true;
}

int files_offer_all(struct app *a, char **paths, size_t n, const char *text)
{
	struct uk_roster *r = &a->chat.roster;
	struct uk_addr *to = calloc(r->cap ? r->cap : 1, sizeof(*to));
	/* Each offer made takes one of the OFFERS_OUT slots. */
	struct out_offer *made[OFFERS_OUT];
	size_t peers = 0, sent = 0, nmade = 0;

	if (!to)
		return -ENOMEM;
	/* Copy the addresses first: sending can change the table. Plain-text
	 * peers cannot fetch: they are left out, not failed. */
	for (size_t i = 0; i < r->cap; i++)
		if (r->peers[i].used && r->peers[i].ipmsg)
			to[peers++] = r->peers[i].addr;
	if (!peers) {
		free(to);
		return chat_info(a, "error", _("no IPMsg peer known yet")), -ENOENT;
	}
	/* All offers are made before any is hashed, so that the first one's
	 * hash of each file is shared with the others (share_sum): each file
	 * is read once, however many peers. */
	for (size_t i = 0; i < peers; i++) {
		int rc;
		struct out_offer *oo = offer_make(a, &to[i], paths, n, text, false, &rc);
		if (oo && nmade < OFFERS_OUT)
			made[nmade++] = oo;
	}
	for (size_t i = 0; i < nmade; i++)
		if (offer_start(a, made[i], nmade == 1) == 0)
			sent++;
	free(to);
	if (nmade > 1 && !chat_line_mode(a)) {
		/* One line for all the offers still hashing, not one a peer:
		 * they share each file's hash (share_sum), so it is one wait. */
		size_t preparing = 0, last = 0;
		char pa[UK_ADDR_STRLEN];
		for (size_t i = 0; i < nmade; i++)
			if (made[i]->used && made[i]->preparing) {
				preparing++;
				last = i;
			}
		if (preparing == 1)
			chat_info(a, "info",
				  _("preparing the offer to %s: hashing %.1f MiB (SHA-256) first"),
				  addr_text(&made[last]->peer, pa, sizeof(pa)),
				  (double)offer_bytes(made[last]) / 1048576.0);
		else if (preparing)
			chat_info(a, "info",
				  _("preparing the offers to %zu peers: hashing %.1f MiB (SHA-256) "
				    "first"),
				  preparing, (double)offer_bytes(made[0]) / 1048576.0);
	}
	chat_info(a, "info", _("offered to %zu of %zu IPMsg peers"), sent, peers);
	return (int)sent;
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
		if (oo->used && !oo->preparing && oo->o.packet_no == ev->msg_id &&
		    oo->o.peer_len == iplen && memcmp(oo->o.peer, ip, iplen) == 0) {
			uk_offer_release(&oo->o);
			files_offer_outcome(a, oo);
		}
	}
}
