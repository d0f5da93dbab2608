/* Unit tests for the chat's protocol engine (lib/chat.c with outbox,
 * dedup, roster): engines joined by a simulated link that loses,
 * duplicates and reorders datagrams, on a virtual clock. No sockets, no
 * sleeps: a thousand messages through 20% loss take milliseconds. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "udpkit/chat.h"
#include "udpkit/ipmsg.h"
#include "udpkit/text.h"

#define MS 1000000ull
#define SEC 1000000000ull
#define MAX_NODES 3
#define MAX_MSGS 1100

struct sim;

struct node {
	struct sim *sim;
	struct uk_chat chat;
	struct uk_addr addr;
	struct uk_addr announce[MAX_NODES];
	/* What the events said. */
	unsigned recv_count[MAX_MSGS]; /* per message number in the text "m<N>" */
	unsigned recv_events, sent, delivered, undelivered, joined, changed, left;
	unsigned recv_plain;
	size_t recv_bytes;
	bool recv_all_utf8;
	char last_text[4096];
	size_t last_len;
	char last_nick[128];
	struct uk_chat_event last_left;
	uint64_t max_rtt_ns;
	unsigned max_tries;
	/* The order of things: l/s/o logged (recv/sent/outcome), R/S/D/U/T
	 * shown (recv/sent/delivered/undelivered/late), x SENDMSG and a
	 * RECVMSG transmitted. */
	char trace[4096];
	size_t trace_len;
	bool log_fail; /* the history refuses everything */
	unsigned late;
	uint64_t last_sent_id;
};

static void trace(struct node *nd, char c)
{
	if (nd->trace_len + 1 < sizeof(nd->trace))
		nd->trace[nd->trace_len++] = c;
}

struct pkt {
	uint64_t at;
	int to;
	struct uk_addr from;
	size_t len;
	unsigned char *data;
};

struct sim {
	struct node nodes[MAX_NODES];
	int n;
	uint64_t now;
	struct pkt *q;
	size_t qlen, qcap;
	uint64_t rng;
	unsigned loss_pct[MAX_NODES]; /* of datagrams sent by node i */
	unsigned dup_pct;
	uint64_t delay_min, delay_spread; /* reordering: random delay */
	bool cut;
	uint64_t sent_datagrams;
};

static uint64_t rnd(struct sim *s)
{
	/* xorshift64*: deterministic per seed. */
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 2685821657736338717ull;
}

static int node_of(struct sim *s, const struct uk_addr *a)
{
	for (int i = 0; i < s->n; i++)
		if (uk_addr_equal(&s->nodes[i].addr, a))
			return i;
	return -1;
}

static void enqueue(struct sim *s, int to, const struct uk_addr *from, const void *data, size_t len)
{
	if (s->qlen == s->qcap) {
		s->qcap = s->qcap ? s->qcap * 2 : 1024;
		s->q = realloc(s->q, s->qcap * sizeof(*s->q));
		assert_non_null(s->q);
	}
	struct pkt *p = &s->q[s->qlen++];
	p->at = s->now + s->delay_min + (s->delay_spread ? rnd(s) % s->delay_spread : 0);
	p->to = to;
	p->from = *from;
	p->len = len;
	p->data = malloc(len ? len : 1);
	memcpy(p->data, data, len);
}

static void on_send(void *ctx, const struct uk_addr *to, const void *data, size_t len)
{
	struct node *nd = ctx;
	struct sim *s = nd->sim;
	int from, dst = node_of(s, to);
	struct uk_ipmsg m;

	if (uk_ipmsg_parse(data, len, &m) == 0 && UK_IPMSG_MODE(m.command) == UK_IPMSG_SENDMSG)
		trace(nd, 'x');
	if (uk_ipmsg_parse(data, len, &m) == 0 && UK_IPMSG_MODE(m.command) == UK_IPMSG_RECVMSG)
		trace(nd, 'a');
	s->sent_datagrams++;
	if (dst < 0 || s->cut)
		return;
	from = node_of(s, &nd->addr);
	if (rnd(s) % 100 < s->loss_pct[from])
		return;
	enqueue(s, dst, &nd->addr, data, len);
	if (rnd(s) % 100 < s->dup_pct)
		enqueue(s, dst, &nd->addr, data, len);
}

static int on_log(void *ctx, const struct uk_chat_event *ev)
{
	struct node *nd = ctx;

	trace(nd, ev->kind == UK_CHAT_RECV ? 'l' : ev->kind == UK_CHAT_SENT ? 's' : 'o');
	return nd->log_fail ? -ENOSPC : 0;
}

static void on_event(void *ctx, const struct uk_chat_event *ev)
{
	struct node *nd = ctx;
	unsigned k;

	trace(nd, "RSDUJCLTXF"[ev->kind]);
	switch (ev->kind) {
	case UK_CHAT_RECV:
		nd->recv_events++;
		nd->recv_bytes += ev->len;
		if (!uk_utf8_valid(ev->text, ev->len))
			nd->recv_all_utf8 = false;
		if (!ev->ipmsg)
			nd->recv_plain++;
		if (ev->len < sizeof(nd->last_text)) {
			memcpy(nd->last_text, ev->text, ev->len);
			nd->last_len = ev->len;
		}
		if (sscanf(ev->text, "m%u", &k) == 1 && k < MAX_MSGS)
			nd->recv_count[k]++;
		break;
	case UK_CHAT_SENT:
		nd->sent++;
		nd->last_sent_id = ev->msg_id;
		break;
	case UK_CHAT_LATE:
		nd->late++;
		break;
	case UK_CHAT_DROPPED:
	case UK_CHAT_RELEASED:
		break;
	case UK_CHAT_DELIVERED:
		nd->delivered++;
		if (ev->rtt_ns > nd->max_rtt_ns)
			nd->max_rtt_ns = ev->rtt_ns;
		if (ev->tries > nd->max_tries)
			nd->max_tries = ev->tries;
		break;
	case UK_CHAT_UNDELIVERED:
		nd->undelivered++;
		break;
	case UK_CHAT_JOINED:
		nd->joined++;
		snprintf(nd->last_nick, sizeof(nd->last_nick), "%s", ev->nick);
		break;
	case UK_CHAT_CHANGED:
		nd->changed++;
		snprintf(nd->last_nick, sizeof(nd->last_nick), "%s", ev->nick);
		break;
	case UK_CHAT_LEFT:
		nd->left++;
		nd->last_left = *ev;
		break;
	}
}

/* Node i at 10.0.0.(i+1):2425, announcing to the other nodes. */
static void sim_init(struct sim *s, int n, uint64_t seed, const struct uk_outbox_cfg *ob)
{
	memset(s, 0, sizeof(*s));
	s->n = n;
	s->rng = seed;
	s->now = 1 * SEC;
	s->delay_min = 1 * MS;
	for (int i = 0; i < n; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "10.0.0.%d", i + 1);
		assert_int_equal(uk_addr_parse(&s->nodes[i].addr, ip, 2425, 0), 0);
	}
	for (int i = 0; i < n; i++) {
		struct node *nd = &s->nodes[i];
		char nick[16];
		size_t na = 0;
		for (int k = 0; k < n; k++)
			if (k != i)
				nd->announce[na++] = s->nodes[k].addr;
		snprintf(nick, sizeof(nick), "nick%d", i);
		struct uk_chat_cfg cfg = {.user_name = "user",
					  .host_name = "host",
					  .nick = nick,
					  .group = "g",
					  .self = nd->addr,
					  .announce = nd->announce,
					  .n_announce = na,
					  .send = on_send,
					  .event = on_event,
					  .log = on_log,
					  .ctx = nd};
		if (ob)
			cfg.outbox = *ob;
		nd->sim = s;
		assert_int_equal(uk_chat_init(&nd->chat, &cfg, 1795682785ull * SEC), 0);
	}
}

static void sim_free(struct sim *s)
{
	for (int i = 0; i < s->n; i++)
		uk_chat_free(&s->nodes[i].chat);
	for (size_t i = 0; i < s->qlen; i++)
		free(s->q[i].data);
	free(s->q);
}

/* Runs until nothing is due before until_ns. Deliveries happen in time
 * order; a random delay per datagram reorders them. */
static void sim_run(struct sim *s, uint64_t until_ns)
{
	for (;;) {
		uint64_t next = UINT64_MAX;
		size_t pick = SIZE_MAX;
		for (size_t i = 0; i < s->qlen; i++)
			if (s->q[i].at < next) {
				next = s->q[i].at;
				pick = i;
			}
		for (int i = 0; i < s->n; i++) {
			uint64_t d = uk_chat_deadline(&s->nodes[i].chat);
			if (d < next) {
				next = d;
				pick = SIZE_MAX;
			}
		}
		if (next == UINT64_MAX || next > until_ns)
			break;
		if (next > s->now)
			s->now = next;
		if (pick != SIZE_MAX) {
			struct pkt p = s->q[pick];
			s->q[pick] = s->q[--s->qlen];
			uk_chat_on_datagram(&s->nodes[p.to].chat, &p.from, p.data, p.len, p.len,
					    s->now);
			free(p.data);
		}
		for (int i = 0; i < s->n; i++)
			uk_chat_tick(&s->nodes[i].chat, s->now);
	}
	if (until_ns > s->now && until_ns != UINT64_MAX)
		s->now = until_ns;
}

static void test_presence(void **state)
{
	struct sim s;
	(void)state;
	sim_init(&s, 2, 1, NULL);
	uk_chat_start(&s.nodes[0].chat, s.now);
	sim_run(&s, s.now + 1 * SEC);
	/* B learnt A from BR_ENTRY, A learnt B from the ANSENTRY. */
	assert_int_equal(s.nodes[1].joined, 1);
	assert_string_equal(s.nodes[1].last_nick, "nick0");
	assert_int_equal(s.nodes[0].joined, 1);
	assert_string_equal(s.nodes[0].last_nick, "nick1");
	assert_true(uk_roster_find(&s.nodes[0].chat.roster, &s.nodes[1].addr)->ipmsg);
	/* A nick change reaches B without an answer. */
	uk_chat_set_nick(&s.nodes[0].chat, "renamed", s.now);
	sim_run(&s, s.now + 1 * SEC);
	assert_int_equal(s.nodes[1].changed, 1);
	assert_string_equal(s.nodes[1].last_nick, "renamed");
	/* Goodbye removes A from B's table. */
	uk_chat_stop(&s.nodes[0].chat, s.now);
	sim_run(&s, s.now + 1 * SEC);
	assert_int_equal(s.nodes[1].left, 1);
	assert_null(uk_roster_find(&s.nodes[1].chat.roster, &s.nodes[0].addr));
	sim_free(&s);
}

/* Sends count numbered messages from a to b, as fast as the outbox has
 * room, and runs the link until everything settled. */
static void pump(struct sim *s, int a, int b, unsigned first, unsigned count, int a2, int b2)
{
	unsigned next = first, next2 = first;
	char text[32];

	while (next < first + count || (a2 >= 0 && next2 < first + count)) {
		while (next < first + count && uk_chat_room(&s->nodes[a].chat) > 0) {
			int n = snprintf(text, sizeof(text), "m%u", next++);
			assert_int_equal(uk_chat_send(&s->nodes[a].chat, &s->nodes[b].addr, text,
						      (size_t)n, s->now),
					 1);
		}
		while (a2 >= 0 && next2 < first + count && uk_chat_room(&s->nodes[a2].chat) > 0) {
			int n = snprintf(text, sizeof(text), "m%u", next2++);
			assert_int_equal(uk_chat_send(&s->nodes[a2].chat, &s->nodes[b2].addr, text,
						      (size_t)n, s->now),
					 1);
		}
		sim_run(s, s->now + 10 * MS);
	}
	while (uk_chat_pending(&s->nodes[a].chat) ||
	       (a2 >= 0 && uk_chat_pending(&s->nodes[a2].chat)))
		sim_run(s, s->now + 10 * MS);
}

static void test_exactly_once_through_loss(void **state)
{
	struct sim s;
	uint64_t t0;
	(void)state;
	sim_init(&s, 2, 12345, NULL);
	uk_chat_start(&s.nodes[0].chat, s.now);
	sim_run(&s, s.now + 1 * SEC);
	assert_non_null(uk_roster_find(&s.nodes[0].chat.roster, &s.nodes[1].addr));
	/* 20% loss each way, 10% duplicates, 1-50 ms of jitter (reordering). */
	s.loss_pct[0] = s.loss_pct[1] = 20;
	s.dup_pct = 10;
	s.delay_spread = 49 * MS;
	t0 = s.now;
	pump(&s, 0, 1, 0, 1000, -1, -1);
	for (unsigned k = 0; k < 1000; k++)
		assert_int_equal(s.nodes[1].recv_count[k], 1);
	assert_int_equal(s.nodes[1].recv_events, 1000);
	assert_int_equal(s.nodes[0].sent, 1000);
	assert_int_equal(s.nodes[0].delivered, 1000);
	assert_int_equal(s.nodes[0].undelivered, 0);
	assert_int_equal(uk_chat_pending(&s.nodes[0].chat), 0);
	/* Duplicates and retransmissions reached B and were re-acked. */
	assert_true(s.nodes[1].chat.stats.duplicates > 0);
	assert_true(s.nodes[1].chat.stats.acks_sent > 1000);
	print_message("1000 messages, 20%% loss each way, 10%% dup: %.1f s virtual, "
		      "max %u tries, max rtt %.1f s, %llu retransmissions\n",
		      (double)(s.now - t0) / SEC, s.nodes[0].max_tries,
		      (double)s.nodes[0].max_rtt_ns / SEC,
		      (unsigned long long)s.nodes[0].chat.outbox.retransmits);
	sim_free(&s);
}

static void test_both_directions_three_nodes(void **state)
{
	struct sim s;
	(void)state;
	sim_init(&s, 3, 777, NULL);
	for (int i = 0; i < 3; i++)
		uk_chat_start(&s.nodes[i].chat, s.now);
	sim_run(&s, s.now + 1 * SEC);
	for (int i = 0; i < 3; i++)
		assert_int_equal(s.nodes[i].chat.roster.count, 2);
	s.loss_pct[0] = s.loss_pct[1] = s.loss_pct[2] = 20;
	s.dup_pct = 10;
	s.delay_spread = 20 * MS;
	pump(&s, 0, 1, 0, 500, 1, 0);
	for (unsigned k = 0; k < 500; k++) {
		assert_int_equal(s.nodes[1].recv_count[k], 1);
		assert_int_equal(s.nodes[0].recv_count[k], 1);
	}
	assert_int_equal(s.nodes[2].recv_events, 0);
	assert_int_equal(s.nodes[0].delivered + s.nodes[1].delivered, 1000);
	sim_free(&s);
}

static void test_give_up_when_cut(void **state)
{
	struct sim s;
	uint64_t t0;
	(void)state;
	sim_init(&s, 2, 5, NULL);
	uk_chat_start(&s.nodes[0].chat, s.now);
	sim_run(&s, s.now + 1 * SEC);
	s.cut = true;
	t0 = s.now;
	uint64_t before = s.sent_datagrams;
	assert_int_equal(uk_chat_send(&s.nodes[0].chat, &s.nodes[1].addr, "m1", 2, s.now), 1);
	sim_run(&s, s.now + 10 * SEC);
	assert_int_equal(s.nodes[0].undelivered, 0); /* still trying */
	while (uk_chat_pending(&s.nodes[0].chat))
		sim_run(&s, uk_chat_deadline(&s.nodes[0].chat));
	assert_int_equal(s.nodes[0].undelivered, 1);
	assert_int_equal(s.nodes[0].delivered, 0);
	assert_int_equal(s.sent_datagrams - before, UK_OUTBOX_DEFAULT_TRIES);
	/* 250+500+1000 ms, then 2 s each: 1.75 + 13 * 2 = 27.75 s after the
	 * last of 16 transmissions waits its 2 s. */
	assert_int_equal(s.now - t0, 1750 * MS + 13 * 2 * SEC);
	sim_free(&s);
}

static void test_quit_reports_pending(void **state)
{
	struct sim s;
	(void)state;
	sim_init(&s, 2, 6, NULL);
	uk_chat_start(&s.nodes[0].chat, s.now);
	sim_run(&s, s.now + 1 * SEC);
	s.cut = true;
	uk_chat_send(&s.nodes[0].chat, &s.nodes[1].addr, "m1", 2, s.now);
	uk_chat_send(&s.nodes[0].chat, &s.nodes[1].addr, "m2", 2, s.now);
	uk_chat_stop(&s.nodes[0].chat, s.now);
	assert_int_equal(s.nodes[0].undelivered, 2);
	assert_int_equal(uk_chat_pending(&s.nodes[0].chat), 0);
	sim_free(&s);
}

static void test_duplicate_shown_once_reacked(void **state)
{
	struct sim s;
	struct uk_ipmsg_ident id;
	unsigned char pkt[256];
	(void)state;
	sim_init(&s, 2, 7, NULL);
	uk_ipmsg_ident_set(&id, "tester", "probehost", "n", "g");
	int n = uk_ipmsg_build_sendmsg(pkt, sizeof(pkt), &id, 1795682786, "m3", 2);
	uint64_t acks = s.nodes[1].chat.stats.acks_sent;
	for (int i = 0; i < 3; i++)
		uk_chat_on_datagram(&s.nodes[1].chat, &s.nodes[0].addr, pkt, (size_t)n, (size_t)n,
				    s.now);
	assert_int_equal(s.nodes[1].recv_count[3], 1);
	assert_int_equal(s.nodes[1].chat.stats.acks_sent - acks, 3);
	assert_int_equal(s.nodes[1].chat.stats.duplicates, 2);
	/* The same number from another sender is another message. */
	uk_chat_on_datagram(&s.nodes[1].chat, &s.nodes[1].announce[0], pkt, (size_t)n, (size_t)n,
			    s.now);
	struct uk_addr other;
	uk_addr_parse(&other, "10.0.0.9", 2425, 0);
	uk_chat_on_datagram(&s.nodes[1].chat, &other, pkt, (size_t)n, (size_t)n, s.now);
	assert_int_equal(s.nodes[1].recv_count[3], 2);
	/* Broadcast and auto-reply messages are never acked (no ping-pong). */
	acks = s.nodes[1].chat.stats.acks_sent;
	n = uk_ipmsg_build(pkt, sizeof(pkt), &id, 99,
			   UK_IPMSG_SENDMSG | UK_IPMSG_SENDCHECKOPT | UK_IPMSG_AUTORETOPT, "m4", 3);
	uk_chat_on_datagram(&s.nodes[1].chat, &other, pkt, (size_t)n, (size_t)n, s.now);
	assert_int_equal(s.nodes[1].chat.stats.acks_sent, acks);
	assert_int_equal(s.nodes[1].recv_count[4], 1);
	sim_free(&s);
}

static void test_self_not_looped(void **state)
{
	struct uk_chat c;
	struct uk_addr self, lan, me_on_lan, lo;
	unsigned char pkt[256];
	struct uk_ipmsg_ident id;
	struct sim s;
	(void)state;
	memset(&s, 0, sizeof(s));
	s.n = 0;
	uk_addr_parse(&self, "0.0.0.0", 2425, 0);
	uk_addr_parse(&lan, "10.0.0.1", 0, 0);
	uk_addr_parse(&me_on_lan, "10.0.0.1", 2425, 0);
	uk_addr_parse(&lo, "127.0.0.1", 2425, 0);
	struct node nd = {.sim = &s};
	struct uk_chat_cfg cfg = {.user_name = "u",
				  .host_name = "h",
				  .nick = "me",
				  .self = self,
				  .local_ips = &lan,
				  .n_local_ips = 1,
				  .send = on_send,
				  .event = on_event,
				  .ctx = &nd};
	assert_int_equal(uk_chat_init(&c, &cfg, 0), 0);
	uk_ipmsg_ident_set(&id, "u", "h", "me", "");
	int n = uk_ipmsg_build_entry(pkt, sizeof(pkt), &id, 5, UK_IPMSG_BR_ENTRY);
	/* Our own broadcast, heard back from our LAN address and loopback. */
	uk_chat_on_datagram(&c, &me_on_lan, pkt, (size_t)n, (size_t)n, 1);
	uk_chat_on_datagram(&c, &lo, pkt, (size_t)n, (size_t)n, 1);
	assert_int_equal(c.stats.self, 2);
	assert_int_equal(c.roster.count, 0);
	assert_int_equal(s.sent_datagrams, 0); /* no ANSENTRY to ourselves */
	assert_int_equal(uk_chat_send(&c, &me_on_lan, "hi", 2, 1), -EINVAL);
	/* Same address, other port: another program, answered. */
	uk_addr_set_port(&me_on_lan, 2426);
	uk_chat_on_datagram(&c, &me_on_lan, pkt, (size_t)n, (size_t)n, 1);
	assert_int_equal(c.roster.count, 1);
	assert_int_equal(s.sent_datagrams, 1);
	uk_chat_free(&c);
}

static void test_plain_text_both_ways(void **state)
{
	struct sim s;
	struct uk_addr tut;
	(void)state;
	sim_init(&s, 1, 8, NULL);
	uk_addr_parse(&tut, "10.0.0.50", 8080, 0);
	uk_chat_on_datagram(&s.nodes[0].chat, &tut, "m7 \x1b[2J", 7, 7, s.now);
	assert_int_equal(s.nodes[0].recv_plain, 1);
	assert_int_equal(s.nodes[0].joined, 1);
	assert_int_equal(s.nodes[0].last_len, 7);
	assert_memory_equal(s.nodes[0].last_text, "m7 \x1b[2J", 7); /* escaped by the display */
	/* The answer goes as plain UTF-8, no receipt, nothing waits. */
	uint64_t before = s.sent_datagrams;
	assert_int_equal(uk_chat_send(&s.nodes[0].chat, &tut, "hi", 2, s.now), 1);
	assert_int_equal(s.sent_datagrams - before, 1);
	assert_int_equal(uk_chat_pending(&s.nodes[0].chat), 0);
	assert_int_equal(s.nodes[0].sent, 1);
	/* A datagram cut by the socket reports what is missing. */
	uk_chat_on_datagram(&s.nodes[0].chat, &tut, "m8", 2, 70000, s.now);
	assert_int_equal(s.nodes[0].recv_count[8], 1);
	sim_free(&s);
}

static void test_long_message_split(void **state)
{
	struct sim s;
	char text[5000];
	size_t len = 0;
	(void)state;
	sim_init(&s, 2, 9, NULL);
	uk_chat_start(&s.nodes[0].chat, s.now);
	sim_run(&s, s.now + 1 * SEC);
	while (len + 3 <= 3000) {
		memcpy(text + len, "\xe4\xbd\xa0", 3); /* 你 */
		len += 3;
	}
	text[len++] = 'x';
	s.nodes[1].recv_all_utf8 = true;
	int n = uk_chat_send(&s.nodes[0].chat, &s.nodes[1].addr, text, len, s.now);
	assert_int_equal(n, 3); /* 1100-byte chunks: 1098, 1098, 805 */
	while (uk_chat_pending(&s.nodes[0].chat))
		sim_run(&s, s.now + 100 * MS);
	sim_run(&s, s.now + 1 * SEC);
	assert_int_equal(s.nodes[1].recv_events, 3);
	assert_int_equal(s.nodes[0].delivered, 3);
	/* Every chunk was valid UTF-8 (cut on character boundaries). */
	assert_true(s.nodes[1].recv_all_utf8);
	assert_int_equal(s.nodes[1].recv_bytes, len);
	sim_free(&s);
}

static void test_flood_bounds(void **state)
{
	struct uk_chat c;
	struct uk_addr self, src;
	struct uk_ipmsg_ident id;
	unsigned char pkt[256];
	struct sim s;
	(void)state;
	memset(&s, 0, sizeof(s));
	struct node nd = {.sim = &s};
	uk_addr_parse(&self, "10.0.0.1", 2425, 0);
	struct uk_chat_cfg cfg = {.user_name = "u",
				  .host_name = "h",
				  .nick = "me",
				  .self = self,
				  .max_peers = 16,
				  .send = on_send,
				  .event = on_event,
				  .ctx = &nd};
	assert_int_equal(uk_chat_init(&c, &cfg, 0), 0);
	uk_ipmsg_ident_set(&id, "x", "y", "flood", "");
	int n = uk_ipmsg_build_entry(pkt, sizeof(pkt), &id, 5, UK_IPMSG_BR_ENTRY);
	/* 1000 forged sources: the peer table stays at 16. */
	for (int i = 0; i < 1000; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "10.1.%d.%d", i / 250, i % 250 + 1);
		uk_addr_parse(&src, ip, 2425, 0);
		uk_chat_on_datagram(&c, &src, pkt, (size_t)n, (size_t)n, 1000);
	}
	assert_int_equal(c.roster.count, 16);
	/* Unconfirmed entries make room for newcomers: none is refused. */
	assert_int_equal(c.roster.refused, 0);
	assert_int_equal(c.roster.evicted, 984);
	/* One source flooding within one instant: rate-limited. */
	uk_addr_parse(&src, "10.2.0.1", 40000, 0);
	for (int i = 0; i < 5000; i++)
		uk_chat_on_datagram(&c, &src, "x", 1, 1, 2000);
	assert_true(c.stats.dropped_rate >= 5000 - 2 * UK_CHAT_RATE_DEFAULT);
	/* Malformed IPMsg is counted, not shown; low source ports are dropped. */
	unsigned before = nd.recv_events;
	uk_addr_parse(&src, "10.3.0.1", 40000, 0);
	uk_chat_on_datagram(&c, &src, "7:1:u:h:32:hi", 13, 13, 3000);
	assert_int_equal(c.stats.malformed, 1);
	uk_addr_parse(&src, "10.3.0.2", 53, 0);
	uk_chat_on_datagram(&c, &src, "hi", 2, 2, 3000);
	assert_int_equal(c.stats.dropped_source, 1);
	assert_int_equal(nd.recv_events, before);
	uk_chat_free(&c);
}

static void test_peer_expiry(void **state)
{
	struct sim s;
	(void)state;
	sim_init(&s, 2, 10, NULL);
	s.nodes[1].chat.roster.expire_ns = 60 * SEC;
	uk_chat_start(&s.nodes[0].chat, s.now);
	sim_run(&s, s.now + 1 * SEC);
	assert_int_equal(s.nodes[1].chat.roster.count, 1);
	sim_run(&s, s.now + 30 * SEC);
	assert_int_equal(s.nodes[1].left, 0);
	sim_run(&s, s.now + 31 * SEC);
	assert_int_equal(s.nodes[1].left, 1);
	assert_string_equal(s.nodes[1].last_left.reason, "silent too long");
	sim_free(&s);
}

static void test_silent_peers_probed_not_dropped(void **state)
{
	struct sim s;
	(void)state;
	sim_init(&s, 2, 12, NULL);
	uk_chat_start(&s.nodes[0].chat, s.now);
	uk_chat_start(&s.nodes[1].chat, s.now);
	sim_run(&s, s.now + 1 * SEC);
	/* Two silent hours: the probes (unicast BR_ENTRY -> ANSENTRY) keep
	 * both sides in each other's table. */
	sim_run(&s, s.now + 7200 * SEC);
	assert_int_equal(s.nodes[0].left + s.nodes[1].left, 0);
	assert_true(uk_roster_find(&s.nodes[0].chat.roster, &s.nodes[1].addr)->ipmsg);
	/* Node 1 vanishes without a goodbye: dropped an hour after it was
	 * last heard, which was at most one probe interval before the cut. */
	s.cut = true;
	sim_run(&s, s.now + 3000 * SEC);
	assert_int_equal(s.nodes[0].left, 0);
	sim_run(&s, s.now + 600 * SEC);
	assert_int_equal(s.nodes[0].left, 1);
	sim_free(&s);
}

static void test_peer_started_later_is_found(void **state)
{
	struct sim s;
	(void)state;
	sim_init(&s, 2, 13, NULL);
	/* Node 1 is not there yet: node 0's first BR_ENTRY is lost. */
	s.cut = true;
	uk_chat_start(&s.nodes[0].chat, s.now);
	sim_run(&s, s.now + 5 * SEC);
	assert_null(uk_roster_find(&s.nodes[0].chat.roster, &s.nodes[1].addr));
	s.cut = false;
	sim_run(&s, s.now + 30 * SEC);
	assert_true(uk_roster_find(&s.nodes[0].chat.roster, &s.nodes[1].addr)->ipmsg);
	assert_int_equal(s.nodes[1].joined, 1);
	/* Then no more re-announcements: only the probes of silent peers. */
	uint64_t before = s.sent_datagrams;
	sim_run(&s, s.now + 300 * SEC);
	assert_int_equal(s.sent_datagrams, before);
	sim_free(&s);
}

static void test_outbox_bounded(void **state)
{
	struct sim s;
	struct uk_outbox_cfg ob = {.capacity = 4};
	(void)state;
	sim_init(&s, 2, 11, &ob);
	uk_chat_start(&s.nodes[0].chat, s.now);
	sim_run(&s, s.now + 1 * SEC);
	s.cut = true;
	for (int i = 0; i < 4; i++)
		assert_int_equal(uk_chat_send(&s.nodes[0].chat, &s.nodes[1].addr, "m", 1, s.now),
				 1);
	assert_int_equal(uk_chat_room(&s.nodes[0].chat), 0);
	assert_int_equal(uk_chat_send(&s.nodes[0].chat, &s.nodes[1].addr, "m", 1, s.now), -ENOSPC);
	assert_int_equal(s.nodes[0].sent, 4); /* the refused one is not "sent" */
	sim_free(&s);
}

/* What a lone engine sent last, and its outcomes (for the receipt tests). */
struct capture {
	unsigned char last[2048];
	size_t last_len;
	unsigned sends, delivered;
};

static void capture_send(void *ctx, const struct uk_addr *to, const void *data, size_t len)
{
	struct capture *cap = ctx;
	(void)to;
	cap->sends++;
	cap->last_len = len < sizeof(cap->last) ? len : sizeof(cap->last);
	memcpy(cap->last, data, cap->last_len);
}

static void capture_event(void *ctx, const struct uk_chat_event *ev)
{
	struct capture *cap = ctx;
	if (ev->kind == UK_CHAT_DELIVERED)
		cap->delivered++;
}

static uint64_t last_packet_no(const struct capture *cap)
{
	struct uk_ipmsg m;
	assert_int_equal(uk_ipmsg_parse(cap->last, cap->last_len, &m), 0);
	return m.packet_no;
}

static void lone_chat(struct uk_chat *c, struct capture *cap)
{
	struct uk_addr self;
	uk_addr_parse(&self, "10.0.0.1", 2425, 0);
	struct uk_chat_cfg cfg = {.user_name = "u",
				  .host_name = "h",
				  .nick = "me",
				  .self = self,
				  .send = capture_send,
				  .event = capture_event,
				  .ctx = cap};
	memset(cap, 0, sizeof(*cap));
	assert_int_equal(uk_chat_init(c, &cfg, 1795682785ull * SEC), 0);
}

/* Attack 2: a receipt counts only from the address and port the message
 * went to; the right number from another port of that host is forged. */
static void test_receipt_only_from_where_the_message_went(void **state)
{
	struct uk_chat c;
	struct capture cap;
	struct uk_addr peer, other_port;
	struct uk_ipmsg_ident id;
	unsigned char pkt[256];
	char extra[32];
	(void)state;

	lone_chat(&c, &cap);
	uk_addr_parse(&peer, "10.0.0.2", 2425, 0);
	uk_addr_parse(&other_port, "10.0.0.2", 40000, 0);
	uk_ipmsg_ident_set(&id, "p", "h", "peer", "");
	int n = uk_ipmsg_build_entry(pkt, sizeof(pkt), &id, 5, UK_IPMSG_ANSENTRY);
	uk_chat_on_datagram(&c, &peer, pkt, (size_t)n, (size_t)n, SEC);
	assert_false(uk_roster_find(&c.roster, &peer)->confirmed);
	assert_int_equal(uk_chat_send(&c, &peer, "secret", 6, SEC), 1);
	uint64_t no = last_packet_no(&cap);
	snprintf(extra, sizeof(extra), "%llu", (unsigned long long)no);
	n = uk_ipmsg_build(pkt, sizeof(pkt), &id, 6, UK_IPMSG_RECVMSG, extra, strlen(extra) + 1);
	uk_chat_on_datagram(&c, &other_port, pkt, (size_t)n, (size_t)n, 2 * SEC);
	assert_int_equal(cap.delivered, 0);
	assert_int_equal(c.stats.stale_acks, 1);
	assert_int_equal(uk_chat_pending(&c), 1);
	uk_chat_on_datagram(&c, &peer, pkt, (size_t)n, (size_t)n, 2 * SEC);
	assert_int_equal(cap.delivered, 1);
	/* It proved it receives there: no flood of newcomers evicts it. */
	assert_true(uk_roster_find(&c.roster, &peer)->confirmed);
	uk_chat_free(&c);
}

/* Packet numbers: below 2^32, increasing, not the clock's and not +1. */
static void test_packet_numbers_unpredictable(void **state)
{
	struct uk_chat a, b;
	struct capture ca, cb;
	struct uk_addr peer;
	uint64_t prev = 0, first_a, first_b;
	unsigned steps_of_one = 0;
	(void)state;

	lone_chat(&a, &ca);
	lone_chat(&b, &cb);
	uk_addr_parse(&peer, "10.0.0.2", 2425, 0);
	uk_chat_set_nick(&a, "x", 0); /* no peer known: nothing sent */
	assert_int_equal(ca.sends, 0);
	uk_chat_start(&a, 0);
	uk_chat_start(&b, 0);
	assert_int_equal(ca.sends, 0); /* no announce addresses */
	/* Plain-text peers get no packet number: make them IPMsg. */
	struct uk_ipmsg_ident id;
	unsigned char pkt[256];
	uk_ipmsg_ident_set(&id, "p", "h", "peer", "");
	int n = uk_ipmsg_build_entry(pkt, sizeof(pkt), &id, 5, UK_IPMSG_ANSENTRY);
	uk_chat_on_datagram(&a, &peer, pkt, (size_t)n, (size_t)n, 1);
	uk_chat_on_datagram(&b, &peer, pkt, (size_t)n, (size_t)n, 1);
	uk_chat_send(&a, &peer, "m", 1, 2);
	uk_chat_send(&b, &peer, "m", 1, 2);
	first_a = last_packet_no(&ca);
	first_b = last_packet_no(&cb);
	/* Same clock, same floor: different random starts, above the clock. */
	assert_true(first_a != first_b);
	assert_true(first_a > 1795682785ull && first_b > 1795682785ull);
	prev = first_a;
	for (int i = 0; i < 200; i++) {
		uk_chat_send(&a, &peer, "m", 1, 3);
		uint64_t no = last_packet_no(&ca);
		assert_true(no > prev);
		assert_true(no < (1ull << 32));
		if (no == prev + 1)
			steps_of_one++;
		prev = no;
	}
	/* A step of one has odds 2^-13: a few at most, never the rule. */
	assert_true(steps_of_one < 5);
	uk_chat_free(&a);
	uk_chat_free(&b);
}

/* The history's promise, in the engine: a received message is logged, then
 * shown, then acknowledged; a sent one logged, then transmitted. */
static void test_log_before_show_and_ack(void **state)
{
	struct sim s;
	(void)state;
	sim_init(&s, 2, 11, NULL);
	uk_chat_start(&s.nodes[0].chat, s.now);
	sim_run(&s, s.now + 1 * SEC);
	s.nodes[0].trace_len = s.nodes[1].trace_len = 0;
	assert_int_equal(uk_chat_send(&s.nodes[0].chat, &s.nodes[1].addr, "m1", 2, s.now), 1);
	sim_run(&s, s.now + 2 * SEC);
	s.nodes[0].trace[s.nodes[0].trace_len] = s.nodes[1].trace[s.nodes[1].trace_len] = 0;
	assert_string_equal(s.nodes[1].trace, "lRa");
	assert_string_equal(s.nodes[0].trace, "sxSoD");
	sim_free(&s);
}

/* A history that cannot be written: the message is not shown and not
 * acknowledged, the sender retransmits, and once writing works it arrives
 * exactly once. Nothing is sent that could not be logged. */
static void test_unlogged_not_acked_then_recovers(void **state)
{
	struct sim s;
	(void)state;
	sim_init(&s, 2, 12, NULL);
	uk_chat_start(&s.nodes[0].chat, s.now);
	sim_run(&s, s.now + 1 * SEC);
	s.nodes[1].log_fail = true;
	assert_int_equal(uk_chat_send(&s.nodes[0].chat, &s.nodes[1].addr, "m1", 2, s.now), 1);
	sim_run(&s, s.now + 3 * SEC);
	assert_int_equal(s.nodes[1].recv_count[1], 0);
	assert_int_equal(s.nodes[1].chat.stats.acks_sent, 0);
	assert_true(s.nodes[1].chat.stats.unlogged >= 2); /* retransmitted */
	assert_int_equal(s.nodes[0].delivered, 0);
	s.nodes[1].log_fail = false;
	sim_run(&s, s.now + 5 * SEC);
	assert_int_equal(s.nodes[1].recv_count[1], 1);
	assert_int_equal(s.nodes[0].delivered, 1);
	/* The sender's history refuses: nothing leaves. */
	s.nodes[0].log_fail = true;
	uint64_t before = s.sent_datagrams;
	assert_int_equal(uk_chat_send(&s.nodes[0].chat, &s.nodes[1].addr, "m2", 2, s.now), -ENOSPC);
	assert_int_equal(s.sent_datagrams, before);
	assert_int_equal(uk_chat_pending(&s.nodes[0].chat), 0);
	sim_free(&s);
}

/* A receipt after the message was given up on: logged and shown as late,
 * once; a second copy is only a stale receipt. */
static void test_late_receipt(void **state)
{
	struct sim s;
	struct uk_ipmsg_ident id;
	unsigned char pkt[256];
	int n;
	(void)state;
	sim_init(&s, 2, 13, NULL);
	uk_chat_start(&s.nodes[0].chat, s.now);
	sim_run(&s, s.now + 1 * SEC);
	s.cut = true;
	assert_int_equal(uk_chat_send(&s.nodes[0].chat, &s.nodes[1].addr, "m1", 2, s.now), 1);
	while (uk_chat_pending(&s.nodes[0].chat))
		sim_run(&s, uk_chat_deadline(&s.nodes[0].chat));
	assert_int_equal(s.nodes[0].undelivered, 1);
	uk_ipmsg_ident_set(&id, "user", "host", "nick1", "g");
	n = uk_ipmsg_build_recvmsg(pkt, sizeof(pkt), &id, 77, s.nodes[0].last_sent_id);
	s.nodes[0].trace_len = 0;
	uk_chat_on_datagram(&s.nodes[0].chat, &s.nodes[1].addr, pkt, (size_t)n, (size_t)n, s.now);
	assert_int_equal(s.nodes[0].late, 1);
	assert_int_equal(s.nodes[0].chat.stats.late, 1);
	s.nodes[0].trace[s.nodes[0].trace_len] = 0;
	assert_string_equal(s.nodes[0].trace, "oT"); /* logged, then shown */
	uk_chat_on_datagram(&s.nodes[0].chat, &s.nodes[1].addr, pkt, (size_t)n, (size_t)n, s.now);
	assert_int_equal(s.nodes[0].late, 1);
	sim_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_presence),
	    cmocka_unit_test(test_exactly_once_through_loss),
	    cmocka_unit_test(test_both_directions_three_nodes),
	    cmocka_unit_test(test_give_up_when_cut),
	    cmocka_unit_test(test_quit_reports_pending),
	    cmocka_unit_test(test_duplicate_shown_once_reacked),
	    cmocka_unit_test(test_self_not_looped),
	    cmocka_unit_test(test_plain_text_both_ways),
	    cmocka_unit_test(test_long_message_split),
	    cmocka_unit_test(test_flood_bounds),
	    cmocka_unit_test(test_receipt_only_from_where_the_message_went),
	    cmocka_unit_test(test_packet_numbers_unpredictable),
	    cmocka_unit_test(test_peer_expiry),
	    cmocka_unit_test(test_silent_peers_probed_not_dropped),
	    cmocka_unit_test(test_peer_started_later_is_found),
	    cmocka_unit_test(test_outbox_bounded),
	    cmocka_unit_test(test_log_before_show_and_ack),
	    cmocka_unit_test(test_unlogged_not_acked_then_recovers),
	    cmocka_unit_test(test_late_receipt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
