/* app.h: what the chat's front-end files share: the options, the
 * application state, and the functions one file calls in another
 * (main.c: options, input, the poll loop; show.c: everything printed and
 * the history shown; commands.c: the slash commands). */
#ifndef UDPKIT_CHAT_APP_H
#define UDPKIT_CHAT_APP_H

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "chat/tui.h"
#include "cli.h"
#include "opts.h"
#include "udpkit/chat.h"
#include "udpkit/clock.h"
#include "udpkit/err.h"
#include "udpkit/history.h"
#include "udpkit/iface.h"
#include "udpkit/parse.h"
#include "udpkit/sock.h"
#include "udpkit/text.h"

#define CMD "chat"
#define MAX_PEER_OPTS 32
#define MAX_ANNOUNCE 64
#define MAX_LOCAL_IPS 64
#define RECV_BUF 65536
#define INPUT_MAX 65536
/* Line mode reads the next input line only with this much outbox room, so
 * a script piping thousands of lines waits for receipts instead of losing
 * messages (a 64 KiB line is at most 60 chunks). */
#define INPUT_ROOM 64
#define HISTORY_SHOWN 10
#define RECENT_MAX UK_DEDUP_DEFAULT_CAPACITY

struct chat_opts {
	struct uk_cli_target bind;
	const char *nick, *group;
	struct uk_opts_list peers; /* --peer, up to MAX_PEER_OPTS */
	bool no_discovery;
	const char *history_path; /* NULL: the default, in the user's state directory */
	bool no_history;
	bool sync;		   /* fdatasync the history before showing and acking */
	bool utc;		   /* show times in UTC, not local time */
	uint64_t history_max_mib;  /* --history-max-size, 0 until given */
	uint64_t history_max_size; /* rotate to PATH.1 beyond this (bytes) */
	uint64_t rate_limit;	   /* per-source messages/s logged and shown; 0: none */
	bool stay;
	bool line;
	enum uk_charset_kind charset;	    /* --charset: for peers we know nothing of */
	bool plain;			    /* --plain: every --peer is plain text */
	struct uk_opts_list plain_peers;    /* --plain-peer, up to MAX_PEER_OPTS */
	struct uk_opts_list peer_charsets;  /* --peer-charset HOST[:PORT]=NAME */
	const char *room, *passphrase_file; /* --room, --passphrase-file */
	uint64_t pad;			    /* --pad: 0 none */
	/* files (files.c) */
	struct uk_opts_list send_files;	 /* --send-file */
	const char *message;		 /* --message */
	uint64_t offer_timeout_ns;	 /* --offer-timeout */
	uint64_t transfer_idle_ns;	 /* --transfer-idle-timeout */
	const char *download_dir;	 /* --download-dir */
	const char *accept_dir;		 /* --accept-files */
	struct uk_opts_list accept_from; /* --accept-from */
	uint64_t max_file_size;		 /* --max-file-size; 0: none */
};

struct app {
	struct chat_opts o;
	int fd;
	struct uk_addr local;
	char local_text[UK_ADDR_STRLEN];
	struct uk_chat chat;
	bool chat_ready;
	struct uk_addr announce[MAX_ANNOUNCE];
	size_t n_announce, n_broadcast;
	struct uk_addr plain[MAX_PEER_OPTS * 2]; /* peers declared plain text */
	size_t n_plain;
	struct uk_chat_peer_charset peer_charsets[MAX_PEER_OPTS]; /* --peer-charset */
	size_t n_peer_charsets;
	struct uk_addr local_ips[MAX_LOCAL_IPS];
	size_t n_local;
	struct uk_history_writer *hist;
	char history_path[4096];	/* the history file in use */
	bool history_failing;		/* the last append failed; said so */
	struct held *held, **held_tail; /* --sync: output waiting for fdatasync */
	/* At start: messages received in the last dedup hold time, from the
	 * history, so their retransmissions after a restart are not logged
	 * twice (a ring of the newest RECENT_MAX). */
	struct recent_msg {
		struct uk_addr peer;
		uint64_t id;
	} * recent;
	size_t n_recent, next_recent;
	/* --sync: messages received since the last fdatasync(); when it fails
	 * they are forgotten (dedup), so their retransmissions are logged and
	 * synced again before a receipt goes. Until a check line syncs, every
	 * log fails as a full disk does (sync_failing). */
	struct recent_msg *unsynced;
	size_t n_unsynced, cap_unsynced;
	bool sync_failing;
	struct uk_tui *tui;
	int winch_fd;
	struct uk_addr target;
	bool has_target;
	bool quit, eof;
	uint64_t hold_until_ns; /* line mode: wait for --peer answers until then */
	char *in;		/* line-mode input not yet handled */
	size_t in_len;
	unsigned char *rbuf;
	uint64_t sent, delivered, undelivered, received, send_errors;
	uint64_t not_sent;    /* refused: no target, outbox full, ... (exit 1) */
	uint64_t unconfirmed; /* plain text to a peer not declared plain (exit 1) */
	unsigned errors_shown;
	char nick[UK_IPMSG_NAME_MAX + 1];
	struct chat_room *room; /* --room: room.c; NULL outside rooms */
	uint64_t room_foreign;	/* outside rooms: room datagrams dropped */
	struct files *files;	/* files.c */
	uint64_t files_failed;	/* transfers that failed (exit 1) */
	uint64_t files_received;
	char files_dir_shown[4096]; /* where the last accepted offer goes */
};

/* history.c: the writer's side of the chat, and --sync's group commit */
int chat_history_open(struct app *a);
int chat_on_log(void *ctx, const struct uk_chat_event *ev);
bool chat_holding(const struct app *a);
void chat_hold_line(struct app *a, const char *line);
void chat_hold_datagram(struct app *a, const struct uk_addr *to, const void *data, size_t len);
void chat_commit(struct app *a);
int chat_history_close(struct app *a);
void chat_remember_recent(struct app *a);
/* A file transfer's outcome, as a "file" entry (text: "received NAME at PATH"...). */
void chat_log_file(struct app *a, const struct uk_addr *peer, const char *nick, uint64_t id,
		   const char *text);

/* show.c */
bool chat_line_mode(const struct app *a);
void chat_info(struct app *a, const char *kind, const char *fmt, ...);
void chat_status(struct app *a);
uint64_t chat_history_show(struct app *a, size_t want, const char *grep);
void chat_show_peer(struct app *a, const char *kind, const struct uk_peer *p, const char *reason,
		    uint64_t now_ns);
void chat_on_event(void *ctx, const struct uk_chat_event *ev);
void chat_on_send(void *ctx, const struct uk_addr *to, const void *data, size_t len);
void chat_send_now(struct app *a, const struct uk_addr *to, const void *data, size_t len);
void chat_show_line(struct app *a, const char *line);
/* The colour a UI line gets from its mark ("! ", "  ok "). */
enum uk_tui_tone chat_tone(const char *line);
char *chat_message_text(const struct uk_chat_event *ev, size_t *len);

/* commands.c */
void chat_handle_line(struct app *a, char *line, size_t len);
void chat_on_submit(void *user, const char *line);

/* room.c: --room. open: 0, or an exit status after saying why. send:
 * seals (in a room) and sends. receive: false when the datagram is not to
 * be delivered (counted); else *buf and *len are what the chat gets. */
int chat_room_open(struct app *a);
void chat_room_close(struct app *a);
ssize_t chat_room_send(struct app *a, const struct uk_addr *to, const void *data, size_t len);
bool chat_room_receive(struct app *a, const struct uk_addr *from, const uint8_t **buf, size_t *len);
const char *chat_room_name(const struct app *a);
/* The room's file-transfer key (files_seal.c), NULL outside rooms. */
const uint8_t *chat_room_file_key(const struct app *a);
void chat_room_announce(struct app *a);
void chat_room_summary(const struct app *a);

/* main.c */

#endif
