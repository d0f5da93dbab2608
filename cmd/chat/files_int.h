/* files_int.h: what the chat's file-transfer files (files*.c) share: the
 * limits, the state of connections, offers and downloads, and the calls
 * between them. Not for the rest of the chat, which uses files.h. */
#ifndef UDPKIT_CHAT_FILES_INT_H
#define UDPKIT_CHAT_FILES_INT_H

#include <dirent.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "chat/app.h"
#include "chat/files_seal.h"
#include "udpkit/attach.h"
#include "udpkit/dirstream.h"
#include "udpkit/filereq.h"
#include "udpkit/fname.h"
#include "udpkit/hashcache.h"
#include "udpkit/hashpipe.h"
#include "udpkit/offer.h"
#include "udpkit/sha256.h"

#define OFFERS_OUT 16		  /* our offers open at once */
#define OFFERS_IN 32		  /* offers received and kept */
#define CONNS 8			  /* TCP clients served at once */
#define DOWNLOADS 4		  /* fetches at once */
#define DEPTH_MAX 32		  /* folder levels */
#define DIR_ENTRIES 100000	  /* entries in one received folder */
#define PROGRESS_NS UK_NS_PER_SEC /* progress lines at most this often */
#define CHUNK ((size_t)256 << 10)
/* An offer is prepared (its files' SHA-256 computed) in slices of this
 * much time from the poll loop, so that hashing a 5 GiB file never stops
 * the chat for longer: messages are handled between slices. */
#define PREPARE_NS (20 * UK_NS_PER_MS)

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
	struct seal_srv *ss; /* in a room: the sealed answer (files_seal.c) */
	/* A folder to a udpkit peer: each file is hashed (in slices, from
	 * the loop) before its header, which carries the SHA-256. */
	bool want_sha, hashing, sha_ready;
	char hname[256]; /* the file being hashed, for its header */
	struct stat hst;
	uint64_t hash_off;
	uint8_t sum[UK_ATTACH_SHA256_BYTES];
	struct uk_sha256 sha;
	struct uk_hashcache_key hkey; /* hst's, for the hash cache */
	uint64_t hash_wall_ns;	      /* when its hashing began */
};

struct out_offer {
	bool used;
	struct uk_offer o;
	struct uk_addr peer;
	int fds[UK_OFFER_FILES]; /* each entry opened at offer time */
	char *names[UK_OFFER_FILES];
	bool script; /* from --send-file: decides the exit status */
	/* Until every file's SHA-256 is known the offer is being prepared and
	 * not sent (files_offer_prepare): at holds its list, text its text. */
	bool preparing;
	struct uk_attach at[UK_OFFER_FILES];
	char *text;
	size_t hash_i;	   /* the entry being hashed */
	uint64_t hash_off; /* its bytes hashed so far */
	bool hash_begun;
	struct uk_sha256 sha;
	/* The key of entry hash_i (fstat of its fd, once known), for the
	 * hash cache and for sharing one hash between the offers that wait
	 * for the same file (/all /file); when its hashing began. */
	bool hkey_set;
	struct uk_hashcache_key hkey;
	uint64_t hash_wall_ns;
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
	struct seal_dl *sd; /* in a room: the sealed stream (files_seal.c) */
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
	/* A folder's file with a SHA-256 in its header: verified when
	 * complete, removed on a mismatch (fdir is borrowed from stack). */
	bool fhash, dir_sha_ok;
	uint8_t fwant[UK_ATTACH_SHA256_BYTES];
	int fdir;
	char fname[UK_FNAME_MAX + 1];
	uint64_t dir_files;
	/* The file's (or the folder's current file's) SHA-256, hashed on a
	 * worker thread beside the receive loop (lib/hashpipe.c). */
	struct uk_hashpipe *hp;
	/* A file outside a room: the socket's bytes go into it by splice()
	 * through this pipe (files_fetch.c). */
	int pipe[2];
	bool no_splice; /* splice() refused (EINVAL): recv and write instead */
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
	/* SHA-256 of our files already hashed (offers, folder streams): a
	 * file offered again unchanged is not read again. */
	struct uk_hashcache *hcache;
};

/* ---- helpers -------------------------------------------------------------- */

static inline struct files *F(struct app *a)
{
	return a->files;
}

/* The IP of addr as bytes (4 or 16); a v4-mapped v6 address as v4. */
static inline size_t ip_bytes(const struct uk_addr *addr, unsigned char out[16])
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

static inline const char *esc(const char *s, size_t n, char *buf, size_t cap)
{
	if (uk_text_escape_name(s, n, buf, cap) < 0)
		snprintf(buf, cap, "?");
	return buf;
}

static inline const char *addr_text(const struct uk_addr *addr, char *buf, size_t cap)
{
	return uk_addr_format(addr, buf, cap);
}

static inline void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* A "file" history entry (files.c). */
void files_hist(struct app *a, const struct uk_addr *peer, const char *nick, uint64_t id,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Our offers (files_offer.c): closes one; reports the outcome of one no
 * longer open, then closes it. */
void files_offer_close(struct out_offer *oo);
void files_offer_outcome(struct app *a, struct out_offer *oo);
/* Hashes the files of a preparing offer for at most budget_ns, then sends
 * it once every hash is known. Returns true when it is no longer being
 * prepared (sent, or failed and closed). */
bool files_offer_prepare(struct app *a, struct out_offer *oo, uint64_t budget_ns);

/* The TCP server (files_serve.c): new clients from the listener; a
 * client's request readable; a client's data to send; a client closed,
 * complete or not (its offer entry ends). */
void files_accept_conns(struct app *a);
void files_serve_request(struct app *a, struct conn *c);
void files_serve_writable(struct app *a, struct conn *c);
void files_conn_close(struct app *a, struct conn *c, bool complete);

/* Offers received (files_inbox.c): one closed. */
void files_in_close(struct in_offer *io);

/* Downloads (files_fetch.c): the next fetches started; one failed with
 * why; the connect and request, a file's bytes, a folder stream's bytes;
 * a progress line or bar at most every PROGRESS_NS. */
void files_dl_schedule(struct app *a);
void files_dl_fail(struct app *a, struct dl *d, const char *why);
void files_dl_send(struct app *a, struct dl *d);
void files_dl_file(struct app *a, struct dl *d);
void files_dl_dir(struct app *a, struct dl *d);
void files_dl_progress(struct app *a, struct dl *d, uint64_t now);

#endif
