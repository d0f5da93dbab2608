/* Unit tests for the chat engine's dealings with other clients
 * (lib/chat.c): each peer's charset both ways, plain-text peers, trailing
 * newlines, sealed messages, file offers, group messages, GETINFO and away
 * status. One engine; what it sends is captured, what it reports kept. */
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

#define SEC 1000000000ull
#define S(lit) (lit), (sizeof(lit) - 1)

struct cap {
	unsigned char out[16][2048]; /* the datagrams sent, in order */
	size_t out_len[16], nout;
	struct uk_addr to[16];
	unsigned to_plain; /* datagrams sent to the plain-text peer */
	struct uk_addr plain;
	struct uk_chat_event last_recv;
	char recv_text[1024];
	char recv_file[300];
	unsigned recv, sent, changed, undelivered, released;
	uint64_t released_id;
	size_t replaced;
	enum uk_charset_kind sent_charset;
	struct uk_addr watch; /* what is sent to this address, counted */
	size_t watch_bytes, watch_count;
};

static void on_send(void *ctx, const struct uk_addr *to, const void *data, size_t len)
{
	struct cap *c = ctx;
	c->to_plain += uk_addr_equal(to, &c->plain);
	if (uk_addr_equal(to, &c->watch)) {
		c->watch_bytes += len;
		c->watch_count++;
	}
	if (c->nout < 16 && len < sizeof(c->out[0])) {
		memcpy(c->out[c->nout], data, len);
		c->out[c->nout][len] = 0;
		c->out_len[c->nout++] = len;
	}
}

static void on_event(void *ctx, const struct uk_chat_event *ev)
{
	struct cap *c = ctx;
	switch (ev->kind) {
	case UK_CHAT_RECV:
		c->recv++;
		c->last_recv = *ev;
		snprintf(c->recv_text, sizeof(c->recv_text), "%.*s", (int)ev->len, ev->text);
		if (ev->n_files)
			snprintf(c->recv_file, sizeof(c->recv_file), "%s", ev->files[0].name);
		break;
	case UK_CHAT_SENT:
		c->sent++;
		c->replaced = ev->replaced;
		c->sent_charset = ev->charset;
		break;
	case UK_CHAT_CHANGED:
		c->changed++;
		break;
	case UK_CHAT_UNDELIVERED:
		c->undelivered++;
		break;
	case UK_CHAT_RELEASED:
		c->released++;
		c->released_id = ev->msg_id;
		break;
	default:
		break;
	}
}

struct world {
	struct uk_chat chat;
	struct cap cap;
	struct uk_addr self, peer, plain, announce[1];
};

static void setup_world(struct world *w, enum uk_charset_kind dflt)
{
	struct uk_chat_cfg cfg;

	memset(w, 0, sizeof(*w));
	assert_int_equal(uk_addr_parse(&w->self, "127.0.0.1", 2425, AF_INET), 0);
	assert_int_equal(uk_addr_parse(&w->peer, "127.0.0.1", 40001, AF_INET), 0);
	assert_int_equal(uk_addr_parse(&w->plain, "127.0.0.1", 40002, AF_INET), 0);
	assert_int_equal(uk_addr_parse(&w->announce[0], "127.0.0.1", 40003, AF_INET), 0);
	w->cap.plain = w->plain;
	cfg = (struct uk_chat_cfg){.user_name = "me",
				   .host_name = "box",
				   .nick = "\xe5\xb0\x8f\xe7\x8e\x8b", /* 小王 */
				   .group = "",
				   .self = w->self,
				   .announce = w->announce,
				   .n_announce = 1,
				   .charset = dflt,
				   .plain = &w->plain,
				   .n_plain = 1,
				   .version = "udpkit test",
				   .send = on_send,
				   .event = on_event,
				   .ctx = &w->cap};
	assert_int_equal(uk_chat_init(&w->chat, &cfg, 1796000000ull * SEC), 0);
}

static void feed(struct world *w, const struct uk_addr *from, const void *data, size_t len)
{
	uk_chat_on_datagram(&w->chat, from, data, len, len, 10 * SEC);
}

/* The Extra of the last datagram sent with that command mode, and its
 * command in *cmd. */
static const unsigned char *sent_extra(struct world *w, uint32_t mode, uint32_t *cmd, size_t *len)
{
	for (size_t i = w->cap.nout; i-- > 0;) {
		struct uk_ipmsg m;
		if (uk_ipmsg_parse(w->cap.out[i], w->cap.out_len[i], &m) == 0 &&
		    UK_IPMSG_MODE(m.command) == mode) {
			*cmd = m.command;
			*len = m.extra.len;
			return m.extra.p;
		}
	}
	fail_msg("nothing of mode %#x sent", mode);
	return NULL;
}

/* A Python IPMsg client: CP932 nick and text, no UTF8OPT. We show them
 * right, and answer in CP932, our nick included. */
static void test_cp932_peer_both_ways(void **state)
{
	struct world w;
	uint32_t cmd;
	size_t len;
	const unsigned char *x;
	(void)state;

	setup_world(&w, UK_CHARSET_UTF8);
	feed(&w, &w.peer, S("1:5:py:host:1:\x8e\x52\x93\x63\0\0")); /* 山田 */
	(void)sent_extra(&w, UK_IPMSG_ANSENTRY, &cmd, &len);
	feed(&w, &w.peer,
	     S("1:6:py:host:288:"
	       "\x93\xfa\x96\x7b\x8c\xea\x82\xcc\x83\x65\x83\x4c\x83\x58\x83\x67\0"));
	assert_int_equal(w.cap.recv, 1);
	assert_string_equal(w.cap.recv_text, "日本語のテキスト");
	assert_int_equal(w.cap.last_recv.charset, UK_CHARSET_CP932);
	w.cap.nout = 0;
	assert_int_equal(uk_chat_send(&w.chat, &w.peer, S("東京 ok"), 11 * SEC), 1);
	x = sent_extra(&w, UK_IPMSG_SENDMSG, &cmd, &len);
	assert_int_equal(len, 8);
	assert_memory_equal(x, "\x93\x8c\x8b\x9e ok\0", 8);
	assert_int_equal(cmd & UK_IPMSG_UTF8OPT, 0);
	assert_int_equal(w.cap.sent_charset, UK_CHARSET_CP932);
	/* Our nick in its entries: CP932 first, the UTF-8 NN: block after. */
	uk_chat_set_nick(&w.chat, "\xe5\xb1\xb1\xe7\x94\xb0", 12 * SEC); /* 山田 */
	x = sent_extra(&w, UK_IPMSG_BR_ABSENCE, &cmd, &len);
	assert_memory_equal(x, "\x8e\x52\x93\x63\0\0\nUN:me", 10);
	uk_chat_free(&w.chat);
}

/* A peer declared plain text never gets an IPMsg packet, even when it
 * sends something that looks like one; one trailing LF or CRLF is cut;
 * what we send it ends in a newline. */
static void test_plain_peer(void **state)
{
	struct world w;
	(void)state;

	setup_world(&w, UK_CHARSET_UTF8);
	uk_chat_start(&w.chat, 1 * SEC);
	assert_int_equal(w.cap.nout, 1); /* BR_ENTRY to the announce address only */
	feed(&w, &w.plain, S("1:2:a:b:1:looks like an entry\r\n"));
	assert_int_equal(w.cap.to_plain, 0);
	assert_int_equal(w.cap.recv, 1);
	assert_string_equal(w.cap.recv_text, "1:2:a:b:1:looks like an entry");
	feed(&w, &w.plain, S("two\n\n"));
	assert_string_equal(w.cap.recv_text, "two\n");
	w.cap.nout = 0;
	assert_int_equal(uk_chat_send(&w.chat, &w.plain, S("hi"), 11 * SEC), 1);
	assert_int_equal(w.cap.nout, 1);
	assert_int_equal(w.cap.out_len[0], 3);
	assert_memory_equal(w.cap.out[0], "hi\n", 3);
	assert_int_equal(uk_chat_pending(&w.chat), 0);
	uk_chat_stop(&w.chat, 12 * SEC); /* BR_EXIT: not to it */
	assert_int_equal(w.cap.to_plain, 1);
	uk_chat_free(&w.chat);
}

/* A --peer that never answers still gets SENDMSG with retries, then the
 * message is undelivered (exit status 1 in the front-end). */
static void test_silent_announce_peer_is_undelivered(void **state)
{
	struct world w;
	(void)state;

	setup_world(&w, UK_CHARSET_UTF8);
	assert_int_equal(uk_chat_send(&w.chat, &w.announce[0], S("anyone?"), 1 * SEC), 1);
	assert_int_equal(uk_chat_pending(&w.chat), 1);
	for (uint64_t t = 1; t < 40; t++)
		uk_chat_tick(&w.chat, t * SEC);
	assert_int_equal(w.cap.undelivered, 1);
	uk_chat_free(&w.chat);
}

static void test_sealed_offer_group_info(void **state)
{
	struct world w;
	uint32_t cmd;
	size_t len;
	const unsigned char *x;
	(void)state;

	setup_world(&w, UK_CHARSET_UTF8);
	feed(&w, &w.peer, S("1:20:u:h:800:sealed\0")); /* SECRETOPT|SENDCHECKOPT|SENDMSG */
	assert_true(w.cap.last_recv.sealed);
	uk_chat_seen(&w.chat, &w.peer, 20);
	x = sent_extra(&w, UK_IPMSG_READMSG, &cmd, &len);
	assert_memory_equal(x, "20\0", 3);

	w.cap.nout = 0;
	feed(&w, &w.peer, S("1:21:u:h:1056:all of you\0")); /* BROADCASTOPT|SENDMSG */
	assert_true(w.cap.last_recv.group);
	assert_int_equal(w.cap.nout, 0); /* never acknowledged */

	feed(&w, &w.peer,
	     S("1_iptux 0.8.3:8:root:vm:2097184:\0"
	       "10000:report.txt:12:6b0d8a30:1:\a\0"));
	assert_int_equal(w.cap.last_recv.n_files, 1);
	assert_int_equal(w.cap.last_recv.len, 0);
	assert_string_equal(w.cap.recv_file, "report.txt");
	x = sent_extra(&w, UK_IPMSG_RELEASEFILES, &cmd, &len);
	assert_memory_equal(x, "8\0", 2);

	feed(&w, &w.peer, S("1:22:u:h:64:"));
	x = sent_extra(&w, UK_IPMSG_SENDINFO, &cmd, &len);
	assert_memory_equal(x, "udpkit test\0", 12);
	feed(&w, &w.peer, S("1:23:u:h:80:"));
	x = sent_extra(&w, UK_IPMSG_SENDABSENCEINFO, &cmd, &len);
	assert_memory_equal(x, "Not absence mode\0", 17);
	uk_chat_set_away(&w.chat, true, "lunch", 11 * SEC);
	feed(&w, &w.peer, S("1:24:u:h:80:"));
	x = sent_extra(&w, UK_IPMSG_SENDABSENCEINFO, &cmd, &len);
	assert_memory_equal(x, "lunch\0", 6);
	uk_chat_free(&w.chat);
}

/* Issue 10, attack 4, beyond answers: a forged BR_ENTRY puts its address
 * in the peer table, and what we send to the table later (a /nick or
 * /away notice, the 10-minute probe, the exit) went there unbounded: 20
 * nick changes sent it 20 entries. To a peer not confirmed they now stay
 * within the same 3x bound as answers; announce addresses (--peer) get
 * every one. */
static void test_table_peers_within_bound(void **state)
{
	struct world w;
	struct uk_addr forged;
	static const char entry[] = "1:100:u:h:1:x\0\0";
	char nick[16];
	size_t to_announce = 0;
	(void)state;

	setup_world(&w, UK_CHARSET_UTF8);
	assert_int_equal(uk_addr_parse(&forged, "10.9.9.9", 2425, AF_INET), 0);
	w.cap.watch = forged;
	feed(&w, &forged, entry, sizeof(entry) - 1);
	for (int i = 0; i < 20; i++) {
		snprintf(nick, sizeof(nick), "nick%d", i);
		uk_chat_set_nick(&w.chat, nick, (11 + (uint64_t)i) * SEC);
	}
	uk_chat_set_away(&w.chat, true, "lunch", 40 * SEC);
	uk_chat_tick(&w.chat, 40 * SEC + UK_CHAT_PROBE_NS);
	uk_chat_stop(&w.chat, 50 * SEC + UK_CHAT_PROBE_NS);
	assert_in_range(w.cap.watch_bytes, 1, 3 * (sizeof(entry) - 1));
	/* The announce address got all 22 notices (the log keeps 16). */
	w.cap.watch = w.announce[0];
	w.cap.watch_count = 0;
	for (int i = 0; i < 5; i++)
		uk_chat_set_nick(&w.chat, "again", 60 * SEC + UK_CHAT_PROBE_NS);
	to_announce = w.cap.watch_count;
	assert_int_equal(to_announce, 5);
	uk_chat_free(&w.chat);
}

/* With a file layer (cfg.files): offers are kept, not declined;
 * uk_chat_release() declines; RELEASEFILES becomes an event;
 * uk_chat_send_offer() sends SENDMSG|FILEATTACHOPT with the list after the
 * text's NUL, with a receipt asked. */
static void test_file_layer_hooks(void **state)
{
	static const char list[] = "0:a.txt:5:6b0d8a30:1:\a";
	struct world w;
	struct uk_ipmsg m;
	uint32_t cmd;
	size_t len;
	int64_t no;
	const unsigned char *x;
	(void)state;

	setup_world(&w, UK_CHARSET_UTF8);
	w.chat.cfg.files = true;
	feed(&w, &w.peer,
	     S("1_iptux 0.8.3:8:root:vm:2097184:\0"
	       "10000:report.txt:12:6b0d8a30:1:\a\0"));
	assert_int_equal(w.cap.last_recv.n_files, 1);
	assert_true(w.cap.last_recv.from_iptux);
	for (size_t i = 0; i < w.cap.nout; i++)
		assert_true(uk_ipmsg_parse(w.cap.out[i], w.cap.out_len[i], &m) < 0 ||
			    UK_IPMSG_MODE(m.command) != UK_IPMSG_RELEASEFILES);
	uk_chat_release(&w.chat, &w.peer, 8);
	x = sent_extra(&w, UK_IPMSG_RELEASEFILES, &cmd, &len);
	assert_memory_equal(x, "8\0", 2);

	no = uk_chat_send_offer(&w.chat, &w.announce[0], S("take it"), list, sizeof(list) - 1,
				11 * SEC);
	assert_true(no > 0);
	x = sent_extra(&w, UK_IPMSG_SENDMSG, &cmd, &len);
	assert_true(cmd & UK_IPMSG_FILEATTACHOPT);
	assert_true(cmd & UK_IPMSG_SENDCHECKOPT);
	assert_int_equal(len, 8 + sizeof(list));
	assert_memory_equal(x,
			    "take it\0"
			    "0:a.txt:5:6b0d8a30:1:\a\0",
			    len);
	assert_int_equal(uk_chat_pending(&w.chat), 1);
	/* Not to a plain-text peer; not when it does not fit a packet. */
	assert_int_equal(uk_chat_send_offer(&w.chat, &w.plain, S("x"), list, 5, 11 * SEC),
			 -EPROTONOSUPPORT);
	{
		static char huge[UK_IPMSG_MAX_PACKET];
		memset(huge, 'a', sizeof(huge));
		assert_int_equal(uk_chat_send_offer(&w.chat, &w.announce[0], S("x"), huge,
						    sizeof(huge), 11 * SEC),
				 -EMSGSIZE);
	}
	feed(&w, &w.announce[0], S("1:30:u:h:97:12345\0")); /* RELEASEFILES */
	assert_int_equal(w.cap.released, 1);
	assert_int_equal(w.cap.released_id, 12345);
	uk_chat_free(&w.chat);
}

/* A peer's away flag and text; iptux's ABSENCEOPT (set even when present)
 * is not taken as away. */
static void test_peer_away(void **state)
{
	struct world w;
	uint32_t cmd;
	size_t len;
	const struct uk_peer *p;
	(void)state;

	setup_world(&w, UK_CHARSET_UTF8);
	feed(&w, &w.peer, S("1:30:u:h:257:bob\0\0"));
	p = uk_roster_find(&w.chat.roster, &w.peer);
	assert_true(p->away);
	(void)sent_extra(&w, UK_IPMSG_GETABSENCEINFO, &cmd, &len);
	feed(&w, &w.peer, S("1:31:u:h:81:out for lunch\0"));
	assert_string_equal(p->away_text, "out for lunch");
	/* A new text while away is reported as a change; the same one is not. */
	w.cap.changed = 0;
	feed(&w, &w.peer, S("1:33:u:h:81:in a meeting\0"));
	assert_string_equal(p->away_text, "in a meeting");
	assert_int_equal(w.cap.changed, 1);
	feed(&w, &w.peer, S("1:34:u:h:81:in a meeting\0"));
	assert_int_equal(w.cap.changed, 1);
	feed(&w, &w.peer, S("1:35:u:h:4:bob\0\0"));
	assert_false(p->away);
	feed(&w, &w.announce[0], S("1_iptux 0.8.3:1:root:vm:259:ipt\0grp\0icon-tux.png\0utf-8\0"));
	p = uk_roster_find(&w.chat.roster, &w.announce[0]);
	assert_false(p->away);
	uk_chat_free(&w.chat);
}

/* A character the peer's charset lacks is a '?', and the SENT event says
 * how many. */
static void test_replacement_reported(void **state)
{
	struct world w;
	uint32_t cmd;
	size_t len;
	const unsigned char *x;
	(void)state;

	setup_world(&w, UK_CHARSET_CP932);
	feed(&w, &w.peer, S("1:40:u:h:1:nick\0\0"));
	assert_int_equal(uk_chat_send(&w.chat, &w.peer, S("你好😀"), 11 * SEC), 1);
	x = sent_extra(&w, UK_IPMSG_SENDMSG, &cmd, &len);
	assert_memory_equal(x, "?\x8d\x44?\0", 5);
	assert_int_equal(w.cap.replaced, 2);
	uk_chat_free(&w.chat);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cp932_peer_both_ways),
	    cmocka_unit_test(test_plain_peer),
	    cmocka_unit_test(test_silent_announce_peer_is_undelivered),
	    cmocka_unit_test(test_sealed_offer_group_info),
	    cmocka_unit_test(test_table_peers_within_bound),
	    cmocka_unit_test(test_file_layer_hooks),
	    cmocka_unit_test(test_peer_away),
	    cmocka_unit_test(test_replacement_reported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
