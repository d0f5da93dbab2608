/* chat.h: the chat's protocol engine: IPMsg presence, messages with
 * receipts, plain-text interop, dedup, the peer table and flood bounds,
 * glued together. "Time and bytes in, decisions out": the caller feeds
 * datagrams and now_ns, and gets back datagrams to send (the send
 * callback) and things to show and log (the event callback). It never
 * reads a clock or touches a socket, so two engines joined by a simulated
 * lossy link are unit-tested without sleeps (tests/unit/test_chat.c). */
#ifndef UDPKIT_CHAT_H
#define UDPKIT_CHAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "udpkit/addr.h"
#include "udpkit/attach.h"
#include "udpkit/budget.h"
#include "udpkit/charset.h"
#include "udpkit/dedup.h"
#include "udpkit/guard.h"
#include "udpkit/ipmsg.h"
#include "udpkit/outbox.h"
#include "udpkit/quota.h"
#include "udpkit/roster.h"

/* Text bytes per SENDMSG: with the header the datagram stays under 1280
 * bytes, the IPv6 minimum MTU, so it is never fragmented (IPMsg users
 * report fragmented messages silently lost, FastCopyLab/ipmsg#46). */
#define UK_CHAT_CHUNK_DEFAULT 1100
/* Received text longer than this is cut for display and history. */
#define UK_CHAT_TEXT_MAX 16384
/* IPMsg has no keep-alive: a peer silent this long gets a unicast
 * BR_ENTRY, which it answers with ANSENTRY, so only peers that are really
 * gone reach the roster's expiry (an hour: five unanswered probes). */
#define UK_CHAT_PROBE_NS (600ull * 1000000000ull)
/* A --peer that has not answered our BR_ENTRY (it may start later) gets
 * it again this often, so it learns of us and we of it. */
#define UK_CHAT_REANNOUNCE_NS (30ull * 1000000000ull)
/* Per-source datagrams per second before dropping (loopback exempt). */
#define UK_CHAT_RATE_DEFAULT 500
/* Automatic answers to sources that have not proven they receive: at most
 * this many times the bytes their address sent us, as QUIC allows 3x to
 * an unvalidated address (RFC 9000, 8.1). ANSENTRYs also at most 2 per
 * second per address (any port; a burst of 8) and 200 per second in all
 * (a burst of 400): one host with rotating ports gets a trickle, and a
 * flood from many forged addresses is bounded in rate as well as in
 * bytes, while a real peer joining during it is still answered
 * (docs/chat.md, "Security"). */
#define UK_CHAT_AMPLIFICATION 3
#define UK_CHAT_ENTRY_ANSWERS_PER_HOST 2
#define UK_CHAT_ENTRY_ANSWERS_TOTAL 200
/* Packet numbers start this many random bits above the clock (or the
 * floor) and advance by a random step of up to this many bits: from
 * 2^32 - now (about 2.5e9) there is room for 600,000 packets per run
 * before they wrap. */
#define UK_CHAT_PACKET_START_BITS 24
#define UK_CHAT_PACKET_STEP_BITS 13

enum uk_chat_event_kind {
	UK_CHAT_RECV,	     /* a message arrived (shown once per message) */
	UK_CHAT_SENT,	     /* we sent a message (receipt asked or not) */
	UK_CHAT_DELIVERED,   /* its receipt arrived */
	UK_CHAT_UNDELIVERED, /* no receipt after every try, or we quit */
	UK_CHAT_JOINED,	     /* a new peer */
	UK_CHAT_CHANGED,     /* a known peer's nick or group changed */
	UK_CHAT_LEFT,	     /* BR_EXIT, or silent for too long */
	UK_CHAT_LATE,	     /* a receipt for a message given up on */
	UK_CHAT_DROPPED,     /* messages over the flood bounds: from peer, or (tries
			      * sources, peer unspecified) from several */
	UK_CHAT_RELEASED     /* the peer declined our file offer msg_id (RELEASEFILES) */
};

struct uk_chat_event {
	enum uk_chat_event_kind kind;
	struct uk_addr peer;
	const char *nick; /* the peer's nick, UTF-8 from the wire: escape it */
	uint64_t msg_id;  /* IPMsg packet number; 0 for plain text */
	const char *text; /* RECV: decoded text; SENT and outcomes: ours */
	size_t len;
	bool receipt;			 /* SENT: a receipt was asked for */
	bool plain_peer;		 /* SENT: the peer is declared plain text */
	bool ipmsg;			 /* RECV: came as IPMsg (else plain text) */
	bool group;			 /* RECV: BROADCASTOPT/MULTICASTOPT, a group message */
	bool sealed;			 /* RECV: SECRETOPT: call uk_chat_seen() once shown */
	enum uk_charset_kind charset;	 /* RECV: read as; SENT: written as */
	size_t replaced;		 /* SENT: characters the charset lacks, sent as '?' */
	const struct uk_attach *files;	 /* RECV: files offered (FILEATTACHOPT), declined */
	size_t n_files, files_total;	 /* stored, and offered in all */
	bool from_iptux;		 /* RECV: the sender is iptux (it ignores offsets) */
	size_t cut_bytes;		 /* RECV: bytes left out past UK_CHAT_TEXT_MAX */
	unsigned tries;			 /* DELIVERED/UNDELIVERED; DROPPED: sources */
	uint64_t rtt_ns;		 /* DELIVERED: from first send to receipt */
	const char *reason;		 /* UNDELIVERED, LEFT */
	bool unlogged;			 /* the history could not take it (see log) */
	uint64_t dropped, dropped_bytes; /* DROPPED: since the last report */
	const struct uk_peer *info;	 /* JOINED/CHANGED/LEFT */
};

struct uk_chat_peer_charset {
	struct uk_addr addr;
	enum uk_charset_kind kind;
};

struct uk_chat_cfg {
	const char *user_name, *host_name, *nick, *group; /* who we are on the wire */
	struct uk_addr self;				  /* our bound address */
	const struct uk_addr *local_ips; /* our interfaces' addresses (self test) */
	size_t n_local_ips;
	const struct uk_addr *announce; /* where BR_ENTRY/BR_EXIT go: broadcast, --peer */
	size_t n_announce;
	size_t n_broadcast;	  /* the first n_broadcast announce addresses are broadcasts */
	uint64_t packet_no_floor; /* highest packet number used before */
	struct uk_outbox_cfg outbox;
	size_t max_peers;
	uint64_t peer_expire_ns;
	enum uk_charset_kind charset; /* for peers whose charset we do not know */
	const struct uk_addr *plain;  /* peers declared plain text: never IPMsg */
	size_t n_plain;
	/* Peers whose charset the user gave (--peer-charset): their text is
	 * read and ours written in it, whatever they announce or send. */
	const struct uk_chat_peer_charset *peer_charsets;
	size_t n_peer_charsets;
	const char *version; /* our SENDINFO answer; NULL: "udpkit" */
	uint32_t rate_pps;   /* 0 = UK_CHAT_RATE_DEFAULT */
	size_t chunk_bytes;  /* 0 = UK_CHAT_CHUNK_DEFAULT */
	void (*send)(void *ctx, const struct uk_addr *to, const void *data, size_t len);
	void (*event)(void *ctx, const struct uk_chat_event *ev);
	/* Called for RECV, SENT and the outcomes BEFORE anything else is done
	 * with them: before a message is shown (event) or acknowledged, and
	 * before a sent message is transmitted. Returns 0 once the event is in
	 * the history, < 0 when it could not be written: then a received
	 * message is neither shown nor acknowledged (its sender retransmits),
	 * a message to send is not sent. NULL: no history. */
	int (*log)(void *ctx, const struct uk_chat_event *ev);
	void *ctx; /* passed to send, event and log */
	/* Per-source messages per second logged and shown (quota.h); 0: no
	 * bound. The front-end passes UK_QUOTA_SOURCE_MSGS_DEFAULT. */
	uint64_t msg_rate;
	/* A file layer takes offers (cmd/chat/files.c): a received offer is
	 * kept for it to accept or decline (uk_chat_release), not declined at
	 * once; RELEASEFILES becomes an UK_CHAT_RELEASED event. */
	bool files;
};

struct uk_chat_stats {
	uint64_t datagrams, ipmsg, plain, malformed, unknown, self, duplicates;
	uint64_t dropped_source, dropped_rate, acks_sent, stale_acks, cut;
	uint64_t answers_refused; /* answers over the reply budget (budget.h) */
	uint64_t unlogged;	  /* received messages the history refused: not acked */
	uint64_t dropped_flood;	  /* messages over the flood bounds */
	uint64_t late;		  /* receipts after giving up */
	uint64_t offers_declined, info_answers, sealed_read;
};

/* Messages given up on, remembered for a receipt that comes late. */
#define UK_CHAT_GIVEN_UP 64
/* A source's dropped messages are reported at most this often. */
#define UK_CHAT_DROP_REPORT_NS (1000ull * 1000000ull)

struct uk_chat {
	struct uk_chat_cfg cfg;
	struct uk_ipmsg_ident id;
	struct uk_ipmsg_seq seq;
	struct uk_outbox outbox;
	struct uk_dedup dedup;
	struct uk_roster roster;
	struct uk_guard guard;
	struct uk_budget budget;
	struct {
		bool on, rate_limited; /* inside answer_begin/answer_end (chat.c) */
		bool unbounded;	       /* not charged to the 3x bound (a small question) */
		uint64_t now_ns;
		size_t core_len; /* an entry being sent: its length without the NN: block */
	} answer;
	struct uk_charset charset;
	struct uk_chat_stats stats;
	struct uk_quota quota;
	struct uk_chat_given_up {
		struct uk_addr peer;
		uint64_t packet_no;
		void *p; /* what the outbox kept: nick and text */
	} given_up[UK_CHAT_GIVEN_UP];
	size_t given_up_next;
	uint64_t next_report_ns;
	unsigned char *pkt; /* UK_IPMSG_MAX_PACKET + 1 */
	char *text;	    /* UK_CHARSET_OUT_SIZE(UK_CHAT_TEXT_MAX) */
	char *nick_buf;	    /* decoded names */
	char *enc;	    /* text in a peer's charset: UK_IPMSG_MAX_PACKET + 1 */
	struct uk_attach files[UK_ATTACH_MAX];
	bool away;
	char away_text[UK_ROSTER_AWAY_MAX]; /* UTF-8 */
	uint64_t next_probe_ns;
	uint64_t next_forget_ns; /* a BR_ENTRY resets its sender's dedup: at most 50/s */
	uint64_t next_announce_ns;
	const void *attach; /* uk_chat_send_offer(): the list for send_one() */
	size_t attach_len;
	uint64_t last_no; /* the packet number send_one() used last */
};

/* cfg is copied; the arrays it points to must outlive the engine.
 * wall_ns seeds the packet numbers. Returns 0 or -ENOMEM. */
int uk_chat_init(struct uk_chat *c, const struct uk_chat_cfg *cfg, uint64_t wall_ns);
void uk_chat_free(struct uk_chat *c);

/* Announces us (BR_ENTRY) to every announce address. */
void uk_chat_start(struct uk_chat *c, uint64_t now_ns);

/* Reports every message still waiting as UNDELIVERED ("quit") and says
 * goodbye (BR_EXIT) to the announce addresses and every IPMsg peer. */
void uk_chat_stop(struct uk_chat *c, uint64_t now_ns);

/* Sends text to one address, split into chunks of chunk_bytes at UTF-8
 * boundaries, each its own message. A peer that has spoken IPMsg, or an
 * announce address (a --peer) not declared plain, gets SENDMSG with a
 * receipt request, in the charset the peer reads (uk_charset_for_peer);
 * any other address gets plain UTF-8 ending in a newline, as nc -u and
 * the tutorial's chat read it. NULs in text become spaces. Returns the
 * number of messages sent, -ENOSPC when the outbox lacks room for all of
 * them (nothing is sent), -EINVAL when to is ourselves, or the log
 * callback's error when the history refused the first (nothing sent). */
int uk_chat_send(struct uk_chat *c, const struct uk_addr *to, const char *text, size_t len,
		 uint64_t now_ns);

/* Sends a file offer: one SENDMSG|FILEATTACHOPT with text (UTF-8, it
 * must fit one packet with the list) and the attachment list (list_len
 * bytes, names already in the peer's charset; attach.h), with a receipt
 * asked as for text. Only to a peer that speaks IPMsg. Returns the
 * offer's packet number (> 0), -EPROTONOSUPPORT for a plain-text peer,
 * -EMSGSIZE when it does not fit, or uk_chat_send()'s errors. */
int64_t uk_chat_send_offer(struct uk_chat *c, const struct uk_addr *to, const char *text,
			   size_t len, const void *list, size_t list_len, uint64_t now_ns);

/* Declines the offer packet_no from peer (RELEASEFILES). */
void uk_chat_release(struct uk_chat *c, const struct uk_addr *peer, uint64_t packet_no);

/* Room in the outbox, in messages. */
size_t uk_chat_room(const struct uk_chat *c);
/* Messages waiting for a receipt. */
size_t uk_chat_pending(const struct uk_chat *c);

/* Marks (src, packet_no) as a message already logged and shown: one the
 * history holds from before a restart. Its retransmission (the sender
 * missed our receipt when we were killed) is then acknowledged again but
 * not logged or shown twice. */
void uk_chat_remember(struct uk_chat *c, const struct uk_addr *src, uint64_t packet_no,
		      uint64_t now_ns);

/* Forgets a received message: its next retransmission is taken (logged,
 * shown, acknowledged) as new. For a history whose fdatasync() failed. */
void uk_chat_forget(struct uk_chat *c, const struct uk_addr *src, uint64_t packet_no);

/* Changes our nick and tells everyone (BR_ABSENCE, no answer expected). */
void uk_chat_set_nick(struct uk_chat *c, const char *nick, uint64_t now_ns);

/* Sets us away with text (UTF-8; NULL or "" for a plain "away"), or back
 * (away false), and tells everyone (BR_ABSENCE with ABSENCEOPT). Our
 * answer to GETABSENCEINFO follows. */
void uk_chat_set_away(struct uk_chat *c, bool away, const char *text, uint64_t now_ns);

/* The user has seen the sealed message msg_id from peer (a RECV event
 * with sealed set): sends READMSG. Call once per such event. */
void uk_chat_seen(struct uk_chat *c, const struct uk_addr *peer, uint64_t msg_id);

/* True when addr was declared plain text (cfg.plain). */
bool uk_chat_is_plain(const struct uk_chat *c, const struct uk_addr *addr);

/* Handles one received datagram (len bytes kept of wire_len). */
void uk_chat_on_datagram(struct uk_chat *c, const struct uk_addr *src, const void *data, size_t len,
			 size_t wire_len, uint64_t now_ns);

/* Retransmits, gives up, probes silent IPMsg peers and expires peers
 * gone for good, as due at now_ns. */
void uk_chat_tick(struct uk_chat *c, uint64_t now_ns);

/* When uk_chat_tick() next has something to do (UINT64_MAX: nothing). */
uint64_t uk_chat_deadline(const struct uk_chat *c);

/* True when src is this chat itself (our port on one of our addresses):
 * our own broadcasts come back to us and must not be shown or answered. */
bool uk_chat_is_self(const struct uk_chat *c, const struct uk_addr *src);

#endif
