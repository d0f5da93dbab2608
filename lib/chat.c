/* chat.c: the chat's protocol engine (see chat.h). Each received datagram
 * goes: self? -> source rules and rate -> IPMsg or plain text -> handler.
 * A new message goes: flood bounds -> LOG -> show -> receipt -> remember
 * (dedup). So a receipt means "it is in the recipient's history", and a
 * message the history refused is neither shown nor acknowledged: its
 * sender retransmits it. A duplicate (already logged) is acknowledged
 * again, since the sender may have missed our receipt, but not shown. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "udpkit/attach.h"
#include "udpkit/chat.h"
#include "udpkit/err.h"
#include "udpkit/hashkey.h"
#include "udpkit/text.h"

#define VERSION_DEFAULT "udpkit"

/* What the outbox keeps per message, to report its outcome. */
struct pending {
	char nick[UK_IPMSG_NAME_MAX * 3 + 4];
	size_t len;
	char text[];
};

/* A random number in [1, 2^bits]. */
static uint32_t random_step(unsigned bits)
{
	uint32_t r;

	uk_random_bytes(&r, sizeof(r));
	return (r & ((1u << bits) - 1)) + 1;
}

/* Our next packet number: increasing (iptux drops a SENDMSG whose number
 * is not above the last it saw from us) but by a random step, so that a
 * number seen once (our broadcast BR_ENTRY, an ANSENTRY) does not tell the
 * number of a message in flight: a forged receipt must guess it, one
 * chance in 2^UK_CHAT_PACKET_STEP_BITS per try. */
static uint64_t next_packet_no(struct uk_chat *c)
{
	return uk_ipmsg_seq_advance(&c->seq, random_step(UK_CHAT_PACKET_STEP_BITS));
}

/* The limits on automatic answers (budget.h, docs/chat.md "Security"). */
static int answers_init(struct uk_chat *c)
{
	struct uk_budget_cfg cfg = {.factor = UK_CHAT_AMPLIFICATION,
				    .host_per_sec = UK_CHAT_ENTRY_ANSWERS_PER_HOST,
				    .host_burst = UK_CHAT_ENTRY_ANSWERS_PER_HOST * 4,
				    .total_per_sec = UK_CHAT_ENTRY_ANSWERS_TOTAL,
				    .total_burst = UK_CHAT_ENTRY_ANSWERS_TOTAL * 2};
	return uk_budget_init(&c->budget, &cfg, 1024);
}

int uk_chat_init(struct uk_chat *c, const struct uk_chat_cfg *cfg, uint64_t wall_ns)
{
	struct uk_guard_cfg gcfg;
	int rc;

	memset(c, 0, sizeof(*c));
	c->cfg = *cfg;
	if (!c->cfg.chunk_bytes)
		c->cfg.chunk_bytes = UK_CHAT_CHUNK_DEFAULT;
	if (c->cfg.chunk_bytes < 16)
		c->cfg.chunk_bytes = 16;
	if (!c->cfg.rate_pps)
		c->cfg.rate_pps = UK_CHAT_RATE_DEFAULT;
	uk_ipmsg_ident_set(&c->id, cfg->user_name, cfg->host_name, cfg->nick, cfg->group);
	uk_ipmsg_seq_init(&c->seq, wall_ns, cfg->packet_no_floor);
	/* A random start too, so the first numbers are not the clock's. */
	uk_ipmsg_seq_advance(&c->seq, random_step(UK_CHAT_PACKET_START_BITS));
	gcfg = (struct uk_guard_cfg){.rate_pps = c->cfg.rate_pps, .burst = 2 * c->cfg.rate_pps};
	c->pkt = malloc(UK_IPMSG_MAX_PACKET + 1);
	c->text = malloc(UK_CHARSET_OUT_SIZE(UK_CHAT_TEXT_MAX));
	c->nick_buf = malloc((size_t)2 * UK_CHARSET_OUT_SIZE(UK_IPMSG_NAME_MAX));
	c->enc = malloc(UK_IPMSG_MAX_PACKET + 1);
	if (!c->pkt || !c->text || !c->nick_buf || !c->enc)
		goto fail;
	rc = uk_outbox_init(&c->outbox, &cfg->outbox);
	if (rc == 0)
		rc = uk_dedup_init(&c->dedup, 0, 0);
	if (rc == 0)
		rc = uk_roster_init(&c->roster, cfg->max_peers, cfg->peer_expire_ns);
	if (rc == 0)
		rc = uk_guard_init(&c->guard, &gcfg, 1024);
	if (rc == 0)
		rc = answers_init(c);
	if (rc == 0) {
		struct uk_quota_cfg qcfg = uk_quota_cfg_for(cfg->msg_rate);
		rc = uk_quota_init(&c->quota, &qcfg);
	}
	if (rc < 0)
		goto fail;
	uk_charset_init(&c->charset);
	return 0;
fail:
	uk_chat_free(c);
	return -ENOMEM;
}

void uk_chat_free(struct uk_chat *c)
{
	uk_outbox_free(&c->outbox, free);
	uk_dedup_free(&c->dedup);
	uk_roster_free(&c->roster);
	uk_guard_free(&c->guard);
	uk_budget_free(&c->budget);
	uk_charset_free(&c->charset);
	uk_quota_free(&c->quota);
	for (size_t i = 0; i < UK_CHAT_GIVEN_UP; i++) {
		free(c->given_up[i].p);
		c->given_up[i].p = NULL;
	}
	free(c->pkt);
	free(c->text);
	free(c->nick_buf);
	free(c->enc);
	c->pkt = NULL;
	c->text = c->nick_buf = c->enc = NULL;
}

static void emit(struct uk_chat *c, const struct uk_chat_event *ev)
{
	if (c->cfg.event)
		c->cfg.event(c->cfg.ctx, ev);
}

/* The history first: returns 0 once ev is logged (or there is no log). */
static int log_event(struct uk_chat *c, const struct uk_chat_event *ev)
{
	return c->cfg.log ? c->cfg.log(c->cfg.ctx, ev) : 0;
}

/* True when to has proven it receives at its address and port: it is a
 * confirmed roster entry (it returned one of our receipts' numbers, or
 * the user named it). */
static bool validated(struct uk_chat *c, const struct uk_addr *to)
{
	const struct uk_peer *p = uk_roster_find(&c->roster, to);
	return p && p->confirmed;
}

/* Sends a datagram. Inside an answer (answer_begin/answer_end) it goes
 * only within the reply budget (budget.h), checked with its real size;
 * an entry over it is cut to its core (entry_core_len). Returns whether
 * it went. */
static bool transmit(struct uk_chat *c, const struct uk_addr *to, const void *data, size_t len)
{
	if (c->answer.on) {
		bool ok =
		    uk_budget_answer(&c->budget, to, len, c->answer.unbounded || validated(c, to),
				     c->answer.rate_limited, c->answer.now_ns);
		/* Over the bound, an entry goes without its NN:/GN: block. */
		if (!ok && c->answer.core_len && c->answer.core_len < len) {
			len = c->answer.core_len;
			ok = uk_budget_answer(&c->budget, to, len,
					      c->answer.unbounded || validated(c, to),
					      c->answer.rate_limited, c->answer.now_ns);
		}
		if (!ok) {
			c->stats.answers_refused++;
			return false;
		}
	}
	if (c->cfg.send)
		c->cfg.send(c->cfg.ctx, to, data, len);
	return true;
}

/* What is sent until answer_end() answers a datagram that may be forged
 * (ANSENTRY, RECVMSG, RELEASEFILES, SENDINFO, SENDABSENCEINFO, and the
 * GETABSENCEINFO a forged away entry triggers): at most
 * UK_CHAT_AMPLIFICATION times what the source's address sent while it is
 * not validated; rate_limited answers (to entries and info requests) also
 * UK_CHAT_ENTRY_ANSWERS_PER_HOST per second per address (any port) and
 * UK_CHAT_ENTRY_ANSWERS_TOTAL in all. */
static void answer_begin(struct uk_chat *c, bool rate_limited, uint64_t now_ns)
{
	c->answer.on = true;
	c->answer.rate_limited = rate_limited;
	c->answer.now_ns = now_ns;
}

static void answer_end(struct uk_chat *c)
{
	c->answer.on = c->answer.unbounded = false;
}

bool uk_chat_is_self(const struct uk_chat *c, const struct uk_addr *src)
{
	if (uk_addr_port(src) != uk_addr_port(&c->cfg.self))
		return false;
	if (uk_addr_same_host(src, &c->cfg.self))
		return true;
	/* Bound to a wildcard, we hear ourselves from any of our addresses. */
	if (uk_addr_is_unspecified(&c->cfg.self)) {
		if (uk_addr_is_loopback(src))
			return true;
		for (size_t i = 0; i < c->cfg.n_local_ips; i++)
			if (uk_addr_same_host(src, &c->cfg.local_ips[i]))
				return true;
	}
	return false;
}

bool uk_chat_is_plain(const struct uk_chat *c, const struct uk_addr *addr)
{
	for (size_t i = 0; i < c->cfg.n_plain; i++)
		if (uk_addr_equal(&c->cfg.plain[i], addr))
			return true;
	return false;
}

/* Fixes memo to the charset the user gave for addr, if any. */
static void configured_charset(const struct uk_chat *c, const struct uk_addr *addr,
			       struct uk_charset_memo *memo)
{
	for (size_t i = 0; i < c->cfg.n_peer_charsets; i++)
		if (uk_addr_equal(&c->cfg.peer_charsets[i].addr, addr)) {
			uk_charset_configure(memo, c->cfg.peer_charsets[i].kind);
			return;
		}
}

/* The charset to write to `to`: the configured one, what it reads, else
 * the default. */
static enum uk_charset_kind charset_for(struct uk_chat *c, const struct uk_addr *to)
{
	const struct uk_peer *p = uk_roster_find(&c->roster, to);
	struct uk_charset_memo memo = {0};

	if (p)
		memo = p->charset;
	configured_charset(c, to, &memo);
	return uk_charset_for_peer(&memo, c->cfg.charset);
}

/* Encodes UTF-8 s for a peer that reads kind into dst (cap bytes; s is cut
 * to fit). Returns the characters replaced by '?'. */
static size_t encode_for(struct uk_chat *c, enum uk_charset_kind kind, const char *s, char *dst,
			 size_t cap)
{
	size_t n = strlen(s), replaced = 0;

	if (n >= cap)
		n = cap - 1;
	if (uk_charset_encode(&c->charset, kind, s, n, dst, cap, &replaced) < 0)
		dst[0] = 0;
	return replaced;
}

/* Remembers the charset our names went to p in (when they are not ASCII). */
static void wrote_names(struct uk_chat *c, struct uk_peer *p, enum uk_charset_kind kind)
{
	if (!p)
		return;
	uk_charset_wrote(&p->charset, kind, c->id.nick, strlen(c->id.nick));
	uk_charset_wrote(&p->charset, kind, c->id.group, strlen(c->id.group));
}

/* The length of an entry packet up to its group's NUL: without the
 * "\nUN:...\nGN:..." block, still an entry every IPMsg client reads
 * (the form iptux sends). 0 when there is no such end. */
static size_t entry_core_len(const unsigned char *pkt, size_t n)
{
	size_t i = 0, colons = 0, nuls = 0;

	while (i < n && colons < 5)
		colons += pkt[i++] == ':';
	while (i < n && nuls < 2)
		nuls += pkt[i++] == 0;
	return nuls == 2 ? i : 0;
}

/* Sends an entry-type packet (BR_ENTRY, BR_EXIT, BR_ABSENCE, ANSENTRY):
 * nick and group in the receiver's charset (the NN:/GN: block stays
 * UTF-8), ABSENCEOPT while we are away. */
static void send_entry(struct uk_chat *c, const struct uk_addr *to, uint32_t mode)
{
	enum uk_charset_kind kind = charset_for(c, to);
	char nick[sizeof(c->id.nick)], group[sizeof(c->id.group)];
	uint32_t opts = c->away && mode != UK_IPMSG_BR_EXIT ? UK_IPMSG_ABSENCEOPT : 0;
	int n;

	encode_for(c, kind, c->id.nick, nick, sizeof(nick));
	encode_for(c, kind, c->id.group, group, sizeof(group));
	wrote_names(c, uk_roster_find(&c->roster, to), kind);
	n = uk_ipmsg_build_entry_names(c->pkt, UK_IPMSG_MAX_PACKET, &c->id, next_packet_no(c), mode,
				       opts, nick, group);
	if (n <= 0)
		return;
	c->answer.core_len = entry_core_len(c->pkt, (size_t)n);
	transmit(c, to, c->pkt, (size_t)n);
	c->answer.core_len = 0;
}

/* A packet whose Extra is text (UTF-8) in the receiver's charset and a
 * NUL, with UTF8OPT when that charset is UTF-8 (SENDINFO, SENDABSENCEINFO). */
static bool send_text_packet(struct uk_chat *c, const struct uk_addr *to, uint32_t command,
			     const char *text)
{
	enum uk_charset_kind kind = charset_for(c, to);
	size_t cap = UK_IPMSG_MAX_PACKET / 2;
	int n;

	encode_for(c, kind, text, c->enc, cap);
	if (kind == UK_CHARSET_UTF8)
		command |= UK_IPMSG_UTF8OPT;
	n = uk_ipmsg_build(c->pkt, UK_IPMSG_MAX_PACKET, &c->id, next_packet_no(c), command, c->enc,
			   strlen(c->enc) + 1);
	return n > 0 && transmit(c, to, c->pkt, (size_t)n);
}

/* A packet whose Extra is a packet number and a NUL (RECVMSG, READMSG,
 * RELEASEFILES). */
static bool send_number(struct uk_chat *c, const struct uk_addr *to, uint32_t command,
			uint64_t number)
{
	char digits[24];
	int len = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)number);
	int n = uk_ipmsg_build(c->pkt, UK_IPMSG_MAX_PACKET, &c->id, next_packet_no(c), command,
			       digits, (size_t)len + 1);
	return n > 0 && transmit(c, to, c->pkt, (size_t)n);
}

/* Sends an entry to a peer of the table, which may be there only because
 * a forged datagram put it there: to one not confirmed, within the
 * amplification bound of the reply budget (not its rates), as answers. */
static void send_entry_to_peer(struct uk_chat *c, const struct uk_addr *to, uint32_t mode,
			       uint64_t now_ns)
{
	answer_begin(c, false, now_ns);
	send_entry(c, to, mode);
	answer_end(c);
}

/* Sends mode to every announce address, then every IPMsg peer not among
 * them (they were found by broadcast or wrote to us first). */
static void tell_everyone(struct uk_chat *c, uint32_t mode, uint64_t now_ns)
{
	for (size_t i = 0; i < c->cfg.n_announce; i++)
		send_entry(c, &c->cfg.announce[i], mode);
	for (size_t i = 0; i < c->roster.cap; i++) {
		const struct uk_peer *p = &c->roster.peers[i];
		bool announced = false;
		if (!p->used || !p->ipmsg)
			continue;
		for (size_t k = 0; k < c->cfg.n_announce && !announced; k++)
			announced = uk_addr_equal(&p->addr, &c->cfg.announce[k]);
		if (!announced)
			send_entry_to_peer(c, &p->addr, mode, now_ns);
	}
}

void uk_chat_start(struct uk_chat *c, uint64_t now_ns)
{
	c->next_probe_ns = now_ns + UK_CHAT_PROBE_NS;
	c->next_announce_ns = now_ns + UK_CHAT_REANNOUNCE_NS;
	for (size_t i = 0; i < c->cfg.n_announce; i++)
		send_entry(c, &c->cfg.announce[i], UK_IPMSG_BR_ENTRY);
}

/* Logs and shows a sent message's outcome; p stays the caller's. */
static void tell_outcome(struct uk_chat *c, enum uk_chat_event_kind kind,
			 const struct uk_addr *peer, uint64_t packet_no, const struct pending *p,
			 unsigned tries, uint64_t rtt_ns, const char *reason)
{
	struct uk_chat_event ev = {.kind = kind,
				   .peer = *peer,
				   .msg_id = packet_no,
				   .nick = p ? p->nick : "",
				   .text = p ? p->text : "",
				   .len = p ? p->len : 0,
				   .receipt = true,
				   .tries = tries,
				   .rtt_ns = rtt_ns,
				   .reason = reason};
	/* An outcome is logged, then shown even if the log failed (there is
	 * nothing to retransmit): the front-end says it is not in the file. */
	ev.unlogged = log_event(c, &ev) < 0;
	emit(c, &ev);
}

/* The same, then frees p. */
static void report_outcome(struct uk_chat *c, enum uk_chat_event_kind kind,
			   const struct uk_addr *peer, uint64_t packet_no, struct pending *p,
			   unsigned tries, uint64_t rtt_ns, const char *reason)
{
	tell_outcome(c, kind, peer, packet_no, p, tries, rtt_ns, reason);
	free(p);
}

/* Keeps a message given up on, for a receipt that may still come. */
static void remember_given_up(struct uk_chat *c, const struct uk_addr *peer, uint64_t packet_no,
			      struct pending *p)
{
	struct uk_chat_given_up *g = &c->given_up[c->given_up_next];

	free(g->p);
	*g = (struct uk_chat_given_up){.peer = *peer, .packet_no = packet_no, .p = p};
	c->given_up_next = (c->given_up_next + 1) % UK_CHAT_GIVEN_UP;
}

/* A receipt for nothing waiting: was the message given up on? Then it was
 * delivered after all, late: logged and shown as such. Returns true if so. */
static bool late_receipt(struct uk_chat *c, const struct uk_addr *src, uint64_t packet_no)
{
	for (size_t i = 0; i < UK_CHAT_GIVEN_UP; i++) {
		struct uk_chat_given_up *g = &c->given_up[i];
		/* As for a receipt in time: from the address and port only. */
		if (!g->p || g->packet_no != packet_no || !uk_addr_equal(&g->peer, src))
			continue;
		c->stats.late++;
		report_outcome(c, UK_CHAT_LATE, &g->peer, packet_no, g->p, 0, 0, NULL);
		g->p = NULL;
		return true;
	}
	return false;
}

void uk_chat_stop(struct uk_chat *c, uint64_t now_ns)
{
	struct uk_outbox_action act;

	while (uk_outbox_drain(&c->outbox, &act) == 1)
		report_outcome(c, UK_CHAT_UNDELIVERED, &act.peer, act.packet_no, act.user,
			       act.tries, 0, "quit before a receipt");
	tell_everyone(c, UK_IPMSG_BR_EXIT, now_ns);
}

void uk_chat_set_away(struct uk_chat *c, bool away, const char *text, uint64_t now_ns)
{
	c->away = away;
	snprintf(c->away_text, sizeof(c->away_text), "%s", away && text ? text : "");
	tell_everyone(c, UK_IPMSG_BR_ABSENCE, now_ns);
}

void uk_chat_seen(struct uk_chat *c, const struct uk_addr *peer, uint64_t msg_id)
{
	send_number(c, peer, UK_IPMSG_READMSG, msg_id);
	c->stats.sealed_read++;
}

void uk_chat_set_nick(struct uk_chat *c, const char *nick, uint64_t now_ns)
{
	uk_ipmsg_ident_set(&c->id, c->id.user, c->id.host, nick, c->id.group);
	tell_everyone(c, UK_IPMSG_BR_ABSENCE, now_ns);
}

void uk_chat_remember(struct uk_chat *c, const struct uk_addr *src, uint64_t packet_no,
		      uint64_t now_ns)
{
	(void)uk_dedup_check(&c->dedup, src, packet_no, now_ns);
}

void uk_chat_forget(struct uk_chat *c, const struct uk_addr *src, uint64_t packet_no)
{
	(void)uk_dedup_forget(&c->dedup, src, packet_no);
}

size_t uk_chat_room(const struct uk_chat *c)
{
	return c->outbox.cfg.capacity - c->outbox.count;
}

size_t uk_chat_pending(const struct uk_chat *c)
{
	return c->outbox.count;
}

/* Length of the next chunk: at most max bytes, ending on a UTF-8 boundary
 * (invalid bytes count as one-byte characters). */
static size_t chunk_len(const char *s, size_t n, size_t max)
{
	size_t i = 0;

	if (n <= max)
		return n;
	while (i < n) {
		uint32_t cp;
		size_t k = uk_utf8_decode((const unsigned char *)s + i, n - i, &cp);
		if (k == 0)
			k = 1;
		if (i + k > max)
			break;
		i += k;
	}
	return i ? i : max;
}

static size_t count_chunks(const char *s, size_t n, size_t max)
{
	size_t count = 0, off = 0;

	do {
		size_t k = chunk_len(s + off, n - off, max);
		off += k;
		count++;
	} while (off < n);
	return count;
}

/* IPMsg with a receipt: a peer that spoke IPMsg, or a --peer not declared
 * plain (it may answer later; if never, the message is undelivered). */
static bool wants_ipmsg(const struct uk_chat *c, const struct uk_addr *to,
			const struct uk_peer *peer)
{
	if (uk_chat_is_plain(c, to))
		return false;
	if (peer && peer->ipmsg)
		return true;
	for (size_t i = c->cfg.n_broadcast; i < c->cfg.n_announce; i++)
		if (uk_addr_equal(&c->cfg.announce[i], to))
			return true;
	return false;
}

/* Plain text: the UTF-8 line and a newline, as nc -u and socat print it
 * and the tutorial's chat shows it; no receipt is possible. */
static int send_plain(struct uk_chat *c, const struct uk_addr *to, struct uk_chat_event *ev)
{
	int rc;

	if (ev->len + 1 > UK_IPMSG_MAX_PACKET)
		return -EMSGSIZE;
	ev->plain_peer = uk_chat_is_plain(c, to);
	/* Logged before it leaves, like every message. */
	rc = log_event(c, ev);
	if (rc < 0)
		return rc;
	memcpy(c->enc, ev->text, ev->len);
	c->enc[ev->len] = '\n';
	transmit(c, to, c->enc, ev->len + 1);
	emit(c, ev);
	return 0;
}

static int send_one(struct uk_chat *c, const struct uk_addr *to, struct uk_peer *peer,
		    const char *text, size_t len, uint64_t now_ns)
{
	struct uk_chat_event ev = {.kind = UK_CHAT_SENT,
				   .peer = *to,
				   .text = text,
				   .len = len,
				   .nick = peer ? peer->nick : ""};
	struct pending *p;
	uint64_t no;
	uint32_t cmd = UK_IPMSG_SENDMSG | UK_IPMSG_SENDCHECKOPT;
	int n, rc;

	if (!wants_ipmsg(c, to, peer))
		return send_plain(c, to, &ev);
	ev.charset = charset_for(c, to);
	n = uk_charset_encode(&c->charset, ev.charset, text, len, c->enc, UK_IPMSG_MAX_PACKET,
			      &ev.replaced);
	if (n < 0)
		return n;
	if (ev.charset == UK_CHARSET_UTF8)
		cmd |= UK_IPMSG_UTF8OPT;
	if (c->attach) {
		/* A file offer: the list follows the text's NUL. */
		if ((size_t)n + 1 + c->attach_len > UK_IPMSG_MAX_PACKET)
			return -EMSGSIZE;
		c->enc[n] = 0;
		memcpy(c->enc + n + 1, c->attach, c->attach_len);
		n += 1 + (int)c->attach_len;
		c->enc[n] = 0;
		cmd |= UK_IPMSG_FILEATTACHOPT;
	}
	if (peer)
		uk_charset_wrote(&peer->charset, ev.charset, text, len);
	no = next_packet_no(c);
	c->last_no = no;
	n = uk_ipmsg_build(c->pkt, UK_IPMSG_MAX_PACKET, &c->id, no, cmd, c->enc, (size_t)n + 1);
	if (n < 0)
		return n;
	p = malloc(sizeof(*p) + len + 1);
	if (!p)
		return -ENOMEM;
	memcpy(p->nick, ev.nick, strlen(ev.nick) + 1);
	p->len = len;
	memcpy(p->text, text, len);
	p->text[len] = 0;
	rc = uk_outbox_add(&c->outbox, to, no, c->pkt, (size_t)n, p, now_ns);
	if (rc < 0) {
		free(p);
		return rc;
	}
	ev.msg_id = no;
	ev.receipt = true;
	/* In the history before its first transmission; if it cannot be,
	 * the message is taken back out of the outbox, unsent. */
	rc = log_event(c, &ev);
	if (rc < 0) {
		void *user;
		unsigned tries;
		uint64_t first_ns;
		if (uk_outbox_ack(&c->outbox, to, no, &user, &tries, &first_ns) == 1)
			free(user);
		return rc;
	}
	transmit(c, to, c->pkt, (size_t)n);
	emit(c, &ev);
	return 0;
}

int uk_chat_send(struct uk_chat *c, const struct uk_addr *to, const char *text, size_t len,
		 uint64_t now_ns)
{
	struct uk_peer *peer = uk_roster_find(&c->roster, to);
	size_t max = c->cfg.chunk_bytes, off = 0, chunks;
	char *copy;
	int sent = 0, rc = 0;

	if (uk_chat_is_self(c, to))
		return -EINVAL;
	if (max > UK_IPMSG_MAX_PACKET - uk_ipmsg_header_len(&c->id) - 1)
		max = UK_IPMSG_MAX_PACKET - uk_ipmsg_header_len(&c->id) - 1;
	chunks = count_chunks(text, len, max);
	if (wants_ipmsg(c, to, peer) && chunks > uk_chat_room(c))
		return -ENOSPC;
	/* A NUL would end the IPMsg text early: make it visible instead. */
	copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, text, len);
	for (size_t i = 0; i < len; i++)
		if (!copy[i])
			copy[i] = ' ';
	do {
		size_t k = chunk_len(copy + off, len - off, max);
		rc = send_one(c, to, peer, copy + off, k, now_ns);
		if (rc < 0)
			break;
		off += k;
		sent++;
	} while (off < len);
	free(copy);
	return rc < 0 && sent == 0 ? rc : sent;
}

int64_t uk_chat_send_offer(struct uk_chat *c, const struct uk_addr *to, const char *text,
			   size_t len, const void *list, size_t list_len, uint64_t now_ns)
{
	struct uk_peer *peer = uk_roster_find(&c->roster, to);
	int rc;

	if (uk_chat_is_self(c, to))
		return -EINVAL;
	if (!wants_ipmsg(c, to, peer))
		return -EPROTONOSUPPORT;
	if (len + list_len + uk_ipmsg_header_len(&c->id) + 2 > UK_IPMSG_MAX_PACKET ||
	    memchr(text, 0, len))
		return -EMSGSIZE;
	if (!uk_chat_room(c))
		return -ENOSPC;
	c->attach = list;
	c->attach_len = list_len;
	rc = send_one(c, to, peer, text, len, now_ns);
	c->attach = NULL;
	c->attach_len = 0;
	return rc < 0 ? rc : (int64_t)c->last_no;
}

void uk_chat_release(struct uk_chat *c, const struct uk_addr *peer, uint64_t packet_no)
{
	send_number(c, peer, UK_IPMSG_RELEASEFILES, packet_no);
}

/* What one received packet tells about its sender besides names: its
 * charset (what it announced, what it proved) and its away flag. */
struct sender_facts {
	struct uk_charset_memo memo;
	int away; /* -1: the packet says nothing about it */
};

/* The facts we hold on src, to update from a packet. */
static struct sender_facts facts_of(struct uk_chat *c, const struct uk_addr *src)
{
	const struct uk_peer *p = uk_roster_find(&c->roster, src);
	struct sender_facts f = {.away = -1};

	if (p)
		f.memo = p->charset;
	configured_charset(c, src, &f.memo);
	return f;
}

/* iptux's entry: "nick\0group\0icon\0encoding\0" (ipmsg.md §2.1); the
 * fourth part names the charset it writes and reads. */
static void entry_charset(const struct uk_ipmsg *m, struct uk_charset_memo *memo)
{
	int kind;

	if (m->nparts < 4 || (m->parts[2].len && m->parts[2].p[0] == '\n'))
		return;
	kind = uk_charset_parse_name((const char *)m->parts[3].p, m->parts[3].len);
	if (kind >= 0)
		uk_charset_announce(memo, (enum uk_charset_kind)kind);
}

static bool is_iptux(const struct uk_ipmsg *m)
{
	return m->version.len >= 7 && memcmp(m->version.p, "1_iptux", 7) == 0;
}

/* Decodes an entry packet's nick and group into c->nick_buf, learning the
 * sender's charset from them and from its flags. */
static void entry_names(struct uk_chat *c, const struct uk_ipmsg *m, struct sender_facts *f,
			const char **nick, const char **group)
{
	struct uk_ipmsg_field fn, fg;
	size_t cap = UK_CHARSET_OUT_SIZE(UK_IPMSG_NAME_MAX), len;
	bool utf8;

	if (m->command & (UK_IPMSG_CAPUTF8OPT | UK_IPMSG_UTF8OPT))
		f->memo.utf8_cap = true;
	entry_charset(m, &f->memo);
	/* iptux sets ABSENCEOPT on every entry even when present (ipmsg.md
	 * §2.1): its flag says nothing. */
	if (UK_IPMSG_MODE(m->command) != UK_IPMSG_BR_EXIT && !is_iptux(m))
		f->away = (m->command & UK_IPMSG_ABSENCEOPT) != 0;
	uk_ipmsg_entry_names(m, &fn, &fg, &utf8);
	*nick = c->nick_buf;
	*group = c->nick_buf + cap;
	if (uk_charset_decode_peer(&c->charset, &f->memo, c->cfg.charset, fn.p, fn.len, utf8,
				   c->nick_buf, cap, &len) < 0)
		c->nick_buf[0] = 0;
	if (uk_charset_decode_peer(&c->charset, &f->memo, c->cfg.charset, fg.p, fg.len, utf8,
				   c->nick_buf + cap, cap, &len) < 0)
		c->nick_buf[cap] = 0;
	/* A NUL inside a name cannot be carried: the name ends there. */
}

/* Copies a header field as a C string for the roster (cut, NUL-safe). */
static void field_str(char *dst, size_t cap, const struct uk_ipmsg_field *f)
{
	size_t n = f->len < cap - 1 ? f->len : cap - 1;
	memcpy(dst, f->p, n);
	dst[n] = 0;
	for (size_t i = 0; i < n; i++)
		if (!dst[i])
			dst[i] = '?';
}

static void roster_event(struct uk_chat *c, enum uk_roster_event e, const struct uk_peer *p)
{
	struct uk_chat_event ev = {0};

	if (e != UK_ROSTER_JOINED && e != UK_ROSTER_CHANGED)
		return;
	ev.kind = e == UK_ROSTER_JOINED ? UK_CHAT_JOINED : UK_CHAT_CHANGED;
	ev.peer = p->addr;
	ev.nick = p->nick;
	ev.info = p;
	emit(c, &ev);
}

/* Records src in the roster with what the packet told (f may be NULL),
 * then reports it joined or changed. */
static struct uk_peer *seen(struct uk_chat *c, const struct uk_addr *src, const struct uk_ipmsg *m,
			    const char *nick, const char *group, const struct sender_facts *f,
			    uint64_t now_ns)
{
	char user[UK_IPMSG_NAME_MAX + 1], host[UK_IPMSG_NAME_MAX + 1];
	struct uk_peer_info info = {.nick = nick, .group = group, .ipmsg = m != NULL};
	struct uk_peer *p;
	enum uk_roster_event e;

	if (m) {
		field_str(user, sizeof(user), &m->user);
		field_str(host, sizeof(host), &m->host);
		info.user = user;
		info.host = host;
	}
	e = uk_roster_seen(&c->roster, src, &info, now_ns, &p);
	if (!p)
		return NULL;
	if (f) {
		uint8_t wrote = p->charset.wrote;
		p->charset = f->memo;
		if (!p->charset.wrote)
			p->charset.wrote = wrote;
		if (f->away >= 0 && p->away != (f->away != 0)) {
			p->away = f->away != 0;
			if (!p->away)
				p->away_text[0] = 0;
			if (e == UK_ROSTER_SAME)
				e = UK_ROSTER_CHANGED;
		}
	}
	/* An announce address got our BR_ENTRY, names in the default charset,
	 * before it was known. */
	if (e == UK_ROSTER_JOINED)
		for (size_t i = 0; i < c->cfg.n_announce; i++)
			if (uk_addr_equal(&c->cfg.announce[i], src))
				wrote_names(c, p, c->cfg.charset);
	roster_event(c, e, p);
	return p;
}

/* Text in the sender's charset, decoded with what we know of it; what the
 * text proves is kept in f. Returns the kind, or < 0. */
static int decode_text(struct uk_chat *c, struct sender_facts *f, const unsigned char *text,
		       size_t len, bool utf8, size_t *out_len)
{
	return uk_charset_decode_peer(&c->charset, f ? &f->memo : NULL, c->cfg.charset, text, len,
				      utf8, c->text, UK_CHARSET_OUT_SIZE(UK_CHAT_TEXT_MAX),
				      out_len);
}

/* Decodes a message's text into the event (text cut past
 * UK_CHAT_TEXT_MAX, the cut counted). Returns false when it cannot be. */
static bool decode_message(struct uk_chat *c, struct uk_chat_event *ev, struct sender_facts *f,
			   const unsigned char *text, size_t len, bool utf8, size_t extra_cut)
{
	size_t out_len = 0;
	int kind;

	if (len > UK_CHAT_TEXT_MAX) {
		ev->cut_bytes = len - UK_CHAT_TEXT_MAX;
		len = UK_CHAT_TEXT_MAX;
		c->stats.cut++;
	}
	ev->cut_bytes += extra_cut;
	kind = decode_text(c, f, text, len, utf8, &out_len);
	if (kind < 0)
		return false;
	ev->charset = (enum uk_charset_kind)kind;
	ev->text = c->text;
	ev->len = out_len;
	return true;
}

/* Checks the flood bounds, logs, then shows a decoded message. Returns 0
 * when it was logged (or there is no log), -1 when it was dropped or the
 * history refused it: then it must not be acknowledged. */
static int log_and_show(struct uk_chat *c, struct uk_chat_event *ev, const struct uk_addr *src,
			uint64_t now_ns)
{
	if (!uk_quota_take(&c->quota, src, ev->len, now_ns)) {
		c->stats.dropped_flood++;
		return -1;
	}
	if (log_event(c, ev) < 0) {
		c->stats.unlogged++;
		if (ev->ipmsg)
			return -1; /* not shown, not acked: the sender tries again */
		/* Plain text is never sent again: show it, marked not logged. */
		ev->unlogged = true;
	}
	emit(c, ev);
	return ev->unlogged ? -1 : 0;
}

/* RECVMSG for packet_no, within the amplification bound only: a receipt
 * is smaller than any real SENDMSG, and one refused (a tiny forged
 * SENDMSG, a long host name of ours) comes again with the sender's next
 * try, which adds to the credit. */
static void send_recvmsg(struct uk_chat *c, const struct uk_addr *src, uint64_t packet_no,
			 uint64_t now_ns)
{
	answer_begin(c, false, now_ns);
	if (send_number(c, src, UK_IPMSG_RECVMSG, packet_no))
		c->stats.acks_sent++;
	answer_end(c);
}

/* The attachment list after the text's NUL; names decoded in place (they
 * are in the sender's charset). */
static size_t offered_files(struct uk_chat *c, const struct uk_ipmsg *m, struct sender_facts *f,
			    size_t *total)
{
	size_t n;

	*total = 0;
	if (m->nparts < 2)
		return 0;
	/* The list may hold no NUL of its own: give the rest of Extra. */
	n = uk_attach_parse(m->parts[1].p, (size_t)(m->extra.p + m->extra.len - m->parts[1].p),
			    c->files, UK_ATTACH_MAX, total, NULL);
	for (size_t i = 0; i < n; i++) {
		char out[UK_CHARSET_OUT_SIZE(UK_ATTACH_NAME_MAX)];
		size_t len = 0;
		int k =
		    uk_charset_decode_peer(&c->charset, &f->memo, c->cfg.charset, c->files[i].name,
					   c->files[i].name_len, false, out, sizeof(out), &len);
		if (k < 0 || len > UK_ATTACH_NAME_MAX)
			continue; /* too long once decoded: kept as sent */
		memcpy(c->files[i].name, out, len + 1);
		c->files[i].name_len = len;
	}
	return n;
}

static void on_sendmsg(struct uk_chat *c, const struct uk_addr *src, const struct uk_ipmsg *m,
		       size_t cut, uint64_t now_ns)
{
	uint32_t opts = UK_IPMSG_OPTS(m->command);
	/* Never a receipt for broadcast or automatic replies (no ping-pong). */
	bool ack = (opts & UK_IPMSG_SENDCHECKOPT) &&
		   !(opts & (UK_IPMSG_BROADCASTOPT | UK_IPMSG_AUTORETOPT));
	struct sender_facts f = facts_of(c, src);
	struct uk_chat_event ev = {
	    .kind = UK_CHAT_RECV,
	    .peer = *src,
	    .msg_id = m->packet_no,
	    .ipmsg = true,
	    .group = (opts & (UK_IPMSG_BROADCASTOPT | UK_IPMSG_MULTICASTOPT)) != 0,
	    .sealed = (opts & UK_IPMSG_SECRETOPT) != 0};
	struct uk_peer *p;

	if (uk_dedup_seen(&c->dedup, src, m->packet_no, now_ns)) {
		/* Logged and shown before: the sender may have missed our receipt. */
		seen(c, src, m, NULL, NULL, NULL, now_ns);
		c->stats.duplicates++;
		if (ack)
			send_recvmsg(c, src, m->packet_no, now_ns);
		return;
	}
	if (opts & UK_IPMSG_UTF8OPT)
		f.memo.utf8_cap = true;
	if (opts & UK_IPMSG_FILEATTACHOPT) {
		ev.n_files = offered_files(c, m, &f, &ev.files_total);
		ev.files = c->files;
		ev.from_iptux = is_iptux(m);
	}
	/* Decoded first: what the text proves is in the roster before the
	 * event is shown. */
	if (!decode_message(c, &ev, &f, m->parts[0].p, m->parts[0].len,
			    (opts & UK_IPMSG_UTF8OPT) != 0, cut))
		return;
	p = seen(c, src, m, NULL, NULL, &f, now_ns);
	ev.nick = p ? p->nick : "";
	if (log_and_show(c, &ev, src, now_ns) < 0)
		return;
	/* Logged, then shown: now the receipt, and remember it as seen. */
	if (ack)
		send_recvmsg(c, src, m->packet_no, now_ns);
	if (ev.files && !c->cfg.files) {
		/* No file layer: decline, so the peer stops serving it. */
		answer_begin(c, false, now_ns);
		send_number(c, src, UK_IPMSG_RELEASEFILES, m->packet_no);
		answer_end(c);
		c->stats.offers_declined++;
	}
	uk_dedup_check(&c->dedup, src, m->packet_no, now_ns);
}

static void on_recvmsg(struct uk_chat *c, const struct uk_addr *src, const struct uk_ipmsg *m,
		       uint64_t now_ns)
{
	uint64_t no, first_ns;
	unsigned tries;
	void *user;

	seen(c, src, m, NULL, NULL, NULL, now_ns);
	if (uk_ipmsg_recv_packet_no(m, &no) < 0) {
		c->stats.malformed++;
		return;
	}
	/* Only from the address and port the message went to (outbox.h). */
	if (uk_outbox_ack(&c->outbox, src, no, &user, &tries, &first_ns) != 1) {
		if (!late_receipt(c, src, no))
			c->stats.stale_acks++;
		return;
	}
	/* It returned a number it could only know by receiving our message. */
	uk_roster_confirm(&c->roster, src);
	report_outcome(c, UK_CHAT_DELIVERED, src, no, user, tries, now_ns - first_ns, NULL);
}

/* A --peer the user named is trusted as far as the user trusts it: once
 * it answers, a flood of forged newcomers cannot evict it. */
static void confirm_named_peer(struct uk_chat *c, const struct uk_addr *src)
{
	for (size_t i = c->cfg.n_broadcast; i < c->cfg.n_announce; i++)
		if (uk_addr_equal(src, &c->cfg.announce[i]))
			uk_roster_confirm(&c->roster, src);
}

static void on_entry(struct uk_chat *c, const struct uk_addr *src, const struct uk_ipmsg *m,
		     uint64_t now_ns)
{
	struct sender_facts f = facts_of(c, src);
	const char *nick, *group;
	struct uk_peer *p;
	bool was_away;

	entry_names(c, m, &f, &nick, &group);
	p = uk_roster_find(&c->roster, src);
	was_away = p && p->away;
	p = seen(c, src, m, nick, group, &f, now_ns);
	if (UK_IPMSG_MODE(m->command) == UK_IPMSG_ANSENTRY)
		confirm_named_peer(c, src);
	/* A BR_ENTRY may come from a peer started again that counts its
	 * packet numbers from 1 (iptux): what it sent before with a number
	 * from this entry's on is forgotten, else its new messages would be
	 * acknowledged as duplicates and never shown. The walk over the
	 * dedup table is bounded to 50 a second: a flood of entries cannot
	 * make each datagram cost it. */
	if (UK_IPMSG_MODE(m->command) == UK_IPMSG_BR_ENTRY && now_ns >= c->next_forget_ns) {
		uk_dedup_forget_from(&c->dedup, src, m->packet_no);
		c->next_forget_ns = now_ns + 20 * 1000000ull;
	}
	/* Answer first (in its charset, now known), then ask the away text:
	 * both within the budget, as the entry may be forged. */
	answer_begin(c, true, now_ns);
	if (UK_IPMSG_MODE(m->command) == UK_IPMSG_BR_ENTRY)
		send_entry(c, src, UK_IPMSG_ANSENTRY);
	if (p && p->away && !was_away) {
		int n = uk_ipmsg_build(c->pkt, UK_IPMSG_MAX_PACKET, &c->id, next_packet_no(c),
				       UK_IPMSG_GETABSENCEINFO, "", 1);
		/* A question of a few dozen bytes, once per peer going away:
		 * rate-limited like the answer, but not charged to the 3x
		 * bound, which a small entry's answer may have used up. */
		c->answer.unbounded = true;
		if (n > 0)
			transmit(c, src, c->pkt, (size_t)n);
	}
	answer_end(c);
}

/* SENDABSENCEINFO: the away text we asked for. */
static void on_absence_info(struct uk_chat *c, const struct uk_addr *src, const struct uk_ipmsg *m,
			    uint64_t now_ns)
{
	struct sender_facts f = facts_of(c, src);
	struct uk_peer *p = uk_roster_find(&c->roster, src);
	size_t len = 0, n = m->parts[0].len;
	bool was_away, text_changed;

	if (!p || n > UK_CHAT_TEXT_MAX)
		return;
	if (decode_text(c, &f, m->parts[0].p, n, (m->command & UK_IPMSG_UTF8OPT) != 0, &len) < 0)
		return;
	if (strcmp(c->text, UK_IPMSG_NOT_ABSENT) == 0) {
		f.away = 0;
		seen(c, src, m, NULL, NULL, &f, now_ns);
		return;
	}
	if (len >= sizeof(p->away_text))
		len = sizeof(p->away_text) - 1;
	while (len && ((unsigned char)c->text[len] & 0xc0) == 0x80)
		len--; /* cut on a character boundary */
	c->text[len] = 0;
	was_away = p->away;
	text_changed = strcmp(p->away_text, c->text) != 0;
	memcpy(p->away_text, c->text, len + 1);
	f.away = 1;
	p = seen(c, src, m, NULL, NULL, &f, now_ns);
	/* A new text while already away is a change seen() cannot tell. */
	if (p && was_away && text_changed)
		roster_event(c, UK_ROSTER_CHANGED, p);
}

static void on_ipmsg(struct uk_chat *c, const struct uk_addr *src, const unsigned char *data,
		     size_t len, size_t cut, uint64_t now_ns)
{
	struct uk_ipmsg m;
	struct uk_peer gone;

	if (uk_ipmsg_parse(data, len, &m) < 0) {
		c->stats.malformed++;
		return;
	}
	c->stats.ipmsg++;
	switch (UK_IPMSG_MODE(m.command)) {
	case UK_IPMSG_BR_ENTRY:
	case UK_IPMSG_ANSENTRY:
	case UK_IPMSG_BR_ABSENCE:
		on_entry(c, src, &m, now_ns);
		break;
	case UK_IPMSG_BR_EXIT:
		if (uk_roster_remove(&c->roster, src, &gone)) {
			struct uk_chat_event ev = {.kind = UK_CHAT_LEFT,
						   .peer = *src,
						   .nick = gone.nick,
						   .info = &gone,
						   .reason = "said goodbye"};
			emit(c, &ev);
		}
		break;
	case UK_IPMSG_SENDMSG:
		on_sendmsg(c, src, &m, cut, now_ns);
		break;
	case UK_IPMSG_RECVMSG:
		on_recvmsg(c, src, &m, now_ns);
		break;
	case UK_IPMSG_GETINFO:
		seen(c, src, &m, NULL, NULL, NULL, now_ns);
		answer_begin(c, true, now_ns);
		if (send_text_packet(c, src, UK_IPMSG_SENDINFO,
				     c->cfg.version ? c->cfg.version : VERSION_DEFAULT))
			c->stats.info_answers++;
		answer_end(c);
		break;
	case UK_IPMSG_GETABSENCEINFO:
		seen(c, src, &m, NULL, NULL, NULL, now_ns);
		answer_begin(c, true, now_ns);
		if (send_text_packet(c, src, UK_IPMSG_SENDABSENCEINFO,
				     !c->away	       ? UK_IPMSG_NOT_ABSENT
				     : c->away_text[0] ? c->away_text
						       : "away"))
			c->stats.info_answers++;
		answer_end(c);
		break;
	case UK_IPMSG_SENDABSENCEINFO:
		on_absence_info(c, src, &m, now_ns);
		break;
	case UK_IPMSG_RELEASEFILES:
		seen(c, src, &m, NULL, NULL, NULL, now_ns);
		if (c->cfg.files) {
			uint64_t no;
			struct uk_chat_event ev = {.kind = UK_CHAT_RELEASED, .peer = *src};
			if (uk_ipmsg_recv_packet_no(&m, &no) == 0) {
				ev.msg_id = no;
				emit(c, &ev);
			}
		}
		break;
	case UK_IPMSG_SENDINFO:
	case UK_IPMSG_ANSREADMSG:
	case UK_IPMSG_READMSG:
	case UK_IPMSG_DELMSG:
		/* Answers to what we do not ask, or to sealed messages we never
		 * send: the peer is alive, nothing more. */
		seen(c, src, &m, NULL, NULL, NULL, now_ns);
		break;
	default:
		/* File transfer, iptux's icons and signatures: ignored. */
		c->stats.unknown++;
		break;
	}
}

/* Plain text: one trailing LF or CRLF ends the line nc -u and socat send;
 * it is not part of the message. */
static void on_plain(struct uk_chat *c, const struct uk_addr *src, const unsigned char *data,
		     size_t len, size_t cut, uint64_t now_ns)
{
	struct uk_chat_event ev = {.kind = UK_CHAT_RECV, .peer = *src};
	struct uk_peer *p;

	c->stats.plain++;
	if (!cut && len && data[len - 1] == '\n') {
		len--;
		if (len && data[len - 1] == '\r')
			len--;
	}
	if (!decode_message(c, &ev, NULL, data, len, false, cut))
		return;
	p = seen(c, src, NULL, NULL, NULL, NULL, now_ns);
	ev.nick = p ? p->nick : "";
	(void)log_and_show(c, &ev, src, now_ns);
}

void uk_chat_on_datagram(struct uk_chat *c, const struct uk_addr *src, const void *data, size_t len,
			 size_t wire_len, uint64_t now_ns)
{
	size_t cut = wire_len > len ? wire_len - len : 0;
	enum uk_verdict v;

	c->stats.datagrams++;
	if (uk_chat_is_self(c, src)) {
		c->stats.self++;
		return;
	}
	v = uk_guard_check(&c->guard, src, data, len, now_ns);
	if (v == UK_DROP_RATE) {
		c->stats.dropped_rate++;
		return;
	}
	if (v != UK_PASS && v != UK_DROP_LOOP) {
		c->stats.dropped_source++;
		return;
	}
	/* What its address sent: credit for answers to it (budget.h). */
	uk_budget_received(&c->budget, src, wire_len, now_ns);
	/* A peer declared plain text is never taken for IPMsg (and so never
	 * answered with it), whatever its text looks like. */
	if (!uk_chat_is_plain(c, src) && uk_ipmsg_classify(data, len)) {
		on_ipmsg(c, src, data, len, cut, now_ns);
		return;
	}
	on_plain(c, src, data, len, cut, now_ns);
}

/* One line per source whose messages were dropped by the flood bounds,
 * at most once per UK_CHAT_DROP_REPORT_NS, so the report cannot flood. */
static void report_drops(struct uk_chat *c, uint64_t now_ns)
{
	struct uk_chat_event ev = {.kind = UK_CHAT_DROPPED, .nick = "", .text = ""};

	if (!c->quota.pending || now_ns < c->next_report_ns)
		return;
	c->next_report_ns = now_ns + UK_CHAT_DROP_REPORT_NS;
	/* Eight sources by name, then one line for all the others. */
	for (unsigned lines = 0; lines < 8; lines++) {
		const struct uk_peer *p;
		if (!uk_quota_report(&c->quota, &ev.peer, &ev.dropped, &ev.dropped_bytes))
			return;
		p = uk_roster_find(&c->roster, &ev.peer);
		ev.nick = p ? p->nick : "";
		ev.tries = 1;
		emit(c, &ev);
	}
	ev = (struct uk_chat_event){.kind = UK_CHAT_DROPPED, .nick = "", .text = ""};
	for (;;) {
		struct uk_addr who;
		uint64_t n, bytes;
		if (!uk_quota_report(&c->quota, &who, &n, &bytes))
			break;
		ev.dropped += n;
		ev.dropped_bytes += bytes;
		ev.tries++; /* sources */
	}
	if (ev.tries)
		emit(c, &ev);
}

void uk_chat_tick(struct uk_chat *c, uint64_t now_ns)
{
	struct uk_outbox_action act;
	struct uk_peer gone;

	while (uk_outbox_poll(&c->outbox, now_ns, &act) == 1) {
		if (act.what == UK_OUTBOX_RESEND) {
			transmit(c, &act.peer, act.data, act.len);
			continue;
		}
		/* Reported, and kept (without freeing) for a late receipt. */
		tell_outcome(c, UK_CHAT_UNDELIVERED, &act.peer, act.packet_no, act.user, act.tries,
			     0, "no receipt");
		remember_given_up(c, &act.peer, act.packet_no, act.user);
	}
	report_drops(c, now_ns);
	if (c->next_announce_ns && now_ns >= c->next_announce_ns) {
		bool waiting = false;
		for (size_t i = c->cfg.n_broadcast; i < c->cfg.n_announce; i++) {
			const struct uk_peer *p = uk_roster_find(&c->roster, &c->cfg.announce[i]);
			if (!p || !p->ipmsg) {
				send_entry(c, &c->cfg.announce[i], UK_IPMSG_BR_ENTRY);
				waiting = true;
			}
		}
		/* Once every --peer answered, the probes below take over. */
		c->next_announce_ns = waiting ? now_ns + UK_CHAT_REANNOUNCE_NS : 0;
	}
	if (!c->next_probe_ns)
		c->next_probe_ns = now_ns + UK_CHAT_PROBE_NS;
	if (now_ns >= c->next_probe_ns) {
		c->next_probe_ns = now_ns + UK_CHAT_PROBE_NS;
		for (size_t i = 0; i < c->roster.cap; i++) {
			const struct uk_peer *p = &c->roster.peers[i];
			if (p->used && p->ipmsg && now_ns - p->last_ns >= UK_CHAT_PROBE_NS)
				send_entry_to_peer(c, &p->addr, UK_IPMSG_BR_ENTRY, now_ns);
		}
	}
	while (uk_roster_expire(&c->roster, now_ns, &gone)) {
		struct uk_chat_event ev = {.kind = UK_CHAT_LEFT,
					   .peer = gone.addr,
					   .nick = gone.nick,
					   .info = &gone,
					   .reason = "silent too long"};
		emit(c, &ev);
	}
}

uint64_t uk_chat_deadline(const struct uk_chat *c)
{
	uint64_t a = uk_outbox_deadline(&c->outbox), b = uk_roster_deadline(&c->roster);
	uint64_t d = a < b ? a : b;

	/* Probing matters only while some peer could need it. */
	if (c->roster.count && c->next_probe_ns && c->next_probe_ns < d)
		d = c->next_probe_ns;
	if (c->next_announce_ns && c->next_announce_ns < d)
		d = c->next_announce_ns;
	if (c->quota.pending && c->next_report_ns < d)
		d = c->next_report_ns;
	return d;
}
