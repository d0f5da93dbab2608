/* Unit tests for lib/echo.c: uk_echo_process() on batches filled by hand
 * (no socket: the worker's fd is -1), with fixed clocks. Checks each mode's
 * reply bytes, that truncated and refused datagrams get no reply, that a
 * reply is never more than 30 bytes larger than its request, the counters,
 * and that two echo servers pointed at each other stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "udpkit/addr.h"
#include "udpkit/echo.h"
#include "udpkit/probe.h"

#define WALL 1795682168 /* Thu Nov 26 08:36:08 2026 UTC */
#define NOW (777 * UK_NS_PER_SEC)
#define OPEN "\xe3\x80\x90"  /* 【 */
#define CLOSE "\xe3\x80\x91" /* 】 */

static struct uk_addr addr(const char *text)
{
	struct uk_addr a;
	if (uk_addr_parse_hostport_flags(&a, text, 0, AF_UNSPEC, UK_ADDR_NUMERIC) != 0)
		fail_msg("cannot parse %s", text);
	return a;
}

static void worker(struct uk_echo_worker *w, enum uk_echo_mode mode, size_t max_size,
		   uint32_t rate_pps)
{
	struct uk_echo_cfg cfg = {
	    .mode = mode, .max_size = max_size, .batch = 8, .guard = {.rate_pps = rate_pps}};
	assert_int_equal(uk_echo_worker_init(w, -1, &cfg, NULL), 0);
	assert_int_equal(w->batch.count, 8);
}

/* Puts a received datagram into slot i as uk_batch_recv() would. */
static void fill(struct uk_echo_worker *w, int i, const char *peer, const void *p, size_t len)
{
	struct uk_batch_slot *s = &w->batch.slots[i];
	assert_true(len <= w->batch.slot_bytes);
	memcpy(s->data, p, len);
	s->len = len;
	s->wire_len = len;
	s->truncated = false;
	s->peer = addr(peer);
	s->has_dst = false;
	s->send = true; /* stale: process must decide afresh */
}

static int setup_tz(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	return 0;
}

static void test_ctime_format(void **state)
{
	char text[UK_CTIME_LEN + 1], ref[64];
	time_t t = WALL;
	struct uk_ctime_cache c = {0};
	(void)state;
	uk_ctime_format(t, text);
	assert_string_equal(text, "Thu Nov 26 08:36:08 2026");
	/* Same as glibc's ctime() without its newline, single-digit day too. */
	t = 1772409600; /* Mon Mar  2 00:00:00 2026 */
	uk_ctime_format(t, text);
	assert_non_null(ctime_r(&t, ref));
	ref[UK_CTIME_LEN] = '\0';
	assert_string_equal(text, ref);
	assert_string_equal(text, "Mon Mar  2 00:00:00 2026");
	/* The cache refreshes when the second changes. */
	assert_string_equal(uk_ctime_cached(&c, WALL), "Thu Nov 26 08:36:08 2026");
	assert_string_equal(uk_ctime_cached(&c, WALL + 1), "Thu Nov 26 08:36:09 2026");
}

static void test_stamp_reply(void **state)
{
	static const char want[] = OPEN "Thu Nov 26 08:36:08 2026" CLOSE "hello\x00\xff";
	struct uk_echo_worker w;
	struct uk_batch_slot *s;
	(void)state;
	worker(&w, UK_ECHO_STAMP, 2048, 1000);
	fill(&w, 0, "192.0.2.1:40000", "hello\x00\xff", 7);
	uk_echo_process(&w, 1, NOW, WALL);
	s = &w.batch.slots[0];
	assert_int_equal(w.outcomes[0], UK_ECHO_REPLIED);
	assert_int_equal(w.verdicts[0], UK_PASS);
	assert_true(s->send);
	assert_int_equal(s->out_len, sizeof(want) - 1);
	assert_int_equal(s->out_len, 7 + UK_ECHO_STAMP_LEN);
	assert_memory_equal(s->out, want, sizeof(want) - 1);
	/* Built in place: the payload was not copied, the stamp sits in front. */
	assert_ptr_equal(s->out + UK_ECHO_STAMP_LEN, s->data);

	/* The stamp follows wall_s; an empty payload gets the stamp alone. */
	fill(&w, 0, "192.0.2.1:40001", "", 0);
	uk_echo_process(&w, 1, NOW + 1, WALL + 61);
	assert_int_equal(s->out_len, UK_ECHO_STAMP_LEN);
	assert_memory_equal(s->out, OPEN "Thu Nov 26 08:37:09 2026" CLOSE, UK_ECHO_STAMP_LEN);
	assert_int_equal(w.stats.datagrams, 2);
	assert_int_equal(w.stats.bytes, 7);
	uk_echo_worker_free(&w);
}

static void test_stamp_too_big(void **state)
{
	struct uk_echo_worker w;
	unsigned char *big = calloc(1, UK_ECHO_MAX_DATAGRAM);
	(void)state;
	assert_non_null(big);
	worker(&w, UK_ECHO_STAMP, UK_ECHO_MAX_DATAGRAM, 0);
	/* 65477 + 30 = 65507 fits; one byte more does not. */
	fill(&w, 0, "192.0.2.1:40000", big, UK_ECHO_MAX_DATAGRAM - UK_ECHO_STAMP_LEN);
	fill(&w, 1, "192.0.2.1:40000", big, UK_ECHO_MAX_DATAGRAM - UK_ECHO_STAMP_LEN + 1);
	fill(&w, 2, "192.0.2.1:40000", big, UK_ECHO_MAX_DATAGRAM);
	uk_echo_process(&w, 3, NOW, WALL);
	assert_int_equal(w.outcomes[0], UK_ECHO_REPLIED);
	assert_int_equal(w.batch.slots[0].out_len, UK_ECHO_MAX_DATAGRAM);
	assert_int_equal(w.outcomes[1], UK_ECHO_TOO_BIG);
	assert_false(w.batch.slots[1].send);
	assert_int_equal(w.outcomes[2], UK_ECHO_TOO_BIG);
	assert_false(w.batch.slots[2].send);
	assert_int_equal(w.stats.too_big, 2);
	uk_echo_worker_free(&w);
	/* Pure mode answers the largest datagram as is. */
	worker(&w, UK_ECHO_PURE, UK_ECHO_MAX_DATAGRAM, 0);
	fill(&w, 0, "192.0.2.1:40000", big, UK_ECHO_MAX_DATAGRAM);
	uk_echo_process(&w, 1, NOW, WALL);
	assert_int_equal(w.outcomes[0], UK_ECHO_REPLIED);
	assert_int_equal(w.batch.slots[0].out_len, UK_ECHO_MAX_DATAGRAM);
	uk_echo_worker_free(&w);
	free(big);
}

static void test_pure_byte_exact(void **state)
{
	struct uk_echo_worker w;
	unsigned char all[256];
	(void)state;
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	worker(&w, UK_ECHO_PURE, 2048, 1000);
	fill(&w, 0, "192.0.2.1:40000", all, sizeof(all));
	fill(&w, 1, "[2001:db8::1]:40000", "\x1b[2J\r\n", 6);
	fill(&w, 2, "192.0.2.1:40001", "", 0);
	uk_echo_process(&w, 3, NOW, WALL);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(w.outcomes[i], UK_ECHO_REPLIED);
		assert_true(w.batch.slots[i].send);
		assert_int_equal(w.batch.slots[i].out_len, w.batch.slots[i].len);
	}
	assert_memory_equal(w.batch.slots[0].out, all, sizeof(all));
	assert_memory_equal(w.batch.slots[1].out, "\x1b[2J\r\n", 6);
	assert_int_equal(w.stats.datagrams, 3);
	assert_int_equal(w.stats.bytes, 262);
	uk_echo_worker_free(&w);
}

static void test_sockperf_mode(void **state)
{
	struct uk_echo_worker w;
	struct uk_probe_fmt f;
	unsigned char probe[64], orig[64];
	(void)state;
	assert_int_equal(uk_probe_init(&f, sizeof(probe), 9), 0);
	uk_probe_build(&f, 4242, probe);
	memcpy(orig, probe, sizeof(probe));
	worker(&w, UK_ECHO_SOCKPERF, 2048, 1000);
	fill(&w, 0, "192.0.2.1:40000", probe, sizeof(probe));
	fill(&w, 1, "192.0.2.1:40000", "hello, not sockperf", 19);
	fill(&w, 2, "192.0.2.1:40000", probe, sizeof(probe) - 1); /* length field mismatch */
	uk_echo_process(&w, 3, NOW, WALL);
	assert_int_equal(w.outcomes[0], UK_ECHO_REPLIED);
	assert_true(w.batch.slots[0].send);
	assert_int_equal(w.batch.slots[0].out_len, sizeof(probe));
	assert_int_equal(w.batch.slots[0].out[9], UK_SOCKPERF_PONG_REQUEST); /* CLIENT cleared */
	assert_memory_equal(w.batch.slots[0].out, orig, 9);
	assert_memory_equal(w.batch.slots[0].out + 10, orig + 10, sizeof(orig) - 10);
	assert_int_equal(w.outcomes[1], UK_ECHO_NOT_SOCKPERF);
	assert_false(w.batch.slots[1].send);
	assert_int_equal(w.outcomes[2], UK_ECHO_NOT_SOCKPERF);
	assert_false(w.batch.slots[2].send);
	assert_int_equal(w.stats.not_sockperf, 2);
	uk_echo_worker_free(&w);
}

static void test_truncated_not_answered(void **state)
{
	static const enum uk_echo_mode modes[] = {UK_ECHO_STAMP, UK_ECHO_PURE, UK_ECHO_SOCKPERF};
	(void)state;
	for (size_t m = 0; m < 3; m++) {
		struct uk_echo_worker w;
		unsigned char buf[100];
		worker(&w, modes[m], 100, 1000);
		memset(buf, 'x', sizeof(buf));
		fill(&w, 0, "192.0.2.1:40000", buf, 100);
		w.batch.slots[0].wire_len = 5000; /* the kernel said MSG_TRUNC */
		w.batch.slots[0].truncated = true;
		fill(&w, 1, "192.0.2.1:40000", "ok", 2);
		uk_echo_process(&w, 2, NOW, WALL);
		assert_int_equal(w.outcomes[0], UK_ECHO_TRUNCATED);
		assert_false(w.batch.slots[0].send);
		assert_int_equal(w.stats.truncated, 1);
		assert_int_equal(w.stats.bytes, 5002); /* counted at its real size */
		assert_int_equal(w.stats.datagrams, 2);
		uk_echo_worker_free(&w);
	}
}

static void test_reply_never_larger_than_request_plus_30(void **state)
{
	static const enum uk_echo_mode modes[] = {UK_ECHO_STAMP, UK_ECHO_PURE, UK_ECHO_SOCKPERF};
	static unsigned char buf[4000];
	uint64_t x = 0x9e3779b97f4a7c15ull;
	(void)state;
	for (size_t m = 0; m < 3; m++) {
		struct uk_echo_worker w;
		worker(&w, modes[m], sizeof(buf), 0);
		for (int round = 0; round < 200; round++) {
			for (int i = 0; i < 8; i++) {
				size_t len;
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				len = (size_t)(x % sizeof(buf));
				for (size_t k = 0; k < len; k++)
					buf[k] = (unsigned char)(x >> (k % 56));
				/* Some are sockperf-shaped, with the right length. */
				if (len >= 14 && i % 2) {
					buf[9] |= UK_SOCKPERF_PONG_REQUEST;
					buf[10] = 0;
					buf[11] = 0;
					buf[12] = (unsigned char)(len >> 8);
					buf[13] = (unsigned char)len;
				}
				fill(&w, i, "192.0.2.1:40000", buf, len);
			}
			uk_echo_process(&w, 8, NOW + (uint64_t)round, WALL);
			for (int i = 0; i < 8; i++) {
				const struct uk_batch_slot *s = &w.batch.slots[i];
				if (!s->send)
					continue;
				assert_true(s->out_len <= s->len + UK_ECHO_STAMP_LEN);
				if (modes[m] != UK_ECHO_STAMP)
					assert_int_equal(s->out_len, s->len);
			}
		}
		assert_int_equal(w.stats.datagrams, 1600);
		uk_echo_worker_free(&w);
	}
}

static void test_guard_drops_counted(void **state)
{
	struct uk_echo_worker w;
	(void)state;
	worker(&w, UK_ECHO_STAMP, 2048, 1);	      /* 1 pps, burst 1 */
	fill(&w, 0, "192.0.2.1:7", "x", 1);	      /* echo port: service */
	fill(&w, 1, "192.0.2.1:53", "x", 1);	      /* service */
	fill(&w, 2, "192.0.2.1:1000", "x", 1);	      /* lowport */
	fill(&w, 3, "255.255.255.255:40000", "x", 1); /* badsrc */
	fill(&w, 4, "192.0.2.1:0", "x", 1);	      /* badsrc */
	fill(&w, 5, "192.0.2.9:40000", "x", 1);	      /* pass */
	fill(&w, 6, "192.0.2.9:40000", "x", 1);	      /* rate */
	fill(&w, 7, "127.0.0.1:40000", "x", 1);	      /* loopback: exempt, pass */
	uk_echo_process(&w, 8, NOW, WALL);
	static const uint8_t want_v[8] = {UK_DROP_SERVICE, UK_DROP_SERVICE, UK_DROP_LOWPORT,
					  UK_DROP_BADSRC,  UK_DROP_BADSRC,  UK_PASS,
					  UK_DROP_RATE,	   UK_PASS};
	for (int i = 0; i < 8; i++) {
		assert_int_equal(w.verdicts[i], want_v[i]);
		assert_int_equal(w.outcomes[i],
				 want_v[i] == UK_PASS ? UK_ECHO_REPLIED : UK_ECHO_DROPPED);
		assert_int_equal(w.batch.slots[i].send, want_v[i] == UK_PASS);
	}
	assert_int_equal(w.stats.dropped[UK_DROP_SERVICE], 2);
	assert_int_equal(w.stats.dropped[UK_DROP_LOWPORT], 1);
	assert_int_equal(w.stats.dropped[UK_DROP_BADSRC], 2);
	assert_int_equal(w.stats.dropped[UK_DROP_RATE], 1);
	assert_int_equal(w.stats.dropped[UK_DROP_LOOP], 0);
	assert_int_equal(w.stats.dropped[UK_PASS], 0);
	assert_int_equal(w.stats.datagrams, 8);
	uk_echo_worker_free(&w);
}

/* Two servers pointed at each other: each one's reply is the other's
 * request. The guard must end the game within a few rounds. */
static int bounce(enum uk_echo_mode ma, enum uk_echo_mode mb)
{
	struct uk_echo_worker a, b;
	static unsigned char msg[8192];
	size_t len = 2;
	int hops = 0;

	worker(&a, ma, sizeof(msg), 1000);
	worker(&b, mb, sizeof(msg), 1000);
	memcpy(msg, "hi", 2);
	for (;;) {
		struct uk_echo_worker *w = hops % 2 ? &b : &a;
		const char *from = hops % 2 ? "192.0.2.1:8080" : "192.0.2.2:8080";
		struct uk_batch_slot *s = &w->batch.slots[0];
		uint64_t now = NOW + (uint64_t)hops * 50 * (UK_NS_PER_MS / 1000), next;
		fill(w, 0, from, msg, len);
		uk_echo_process(w, 1, now, WALL + hops);
		hops++;
		if (w->outcomes[0] == UK_ECHO_HELD) {
			/* Nothing else comes from the other server while held. */
			assert_int_equal(uk_echo_resolve(w, now + 1, &next), 0);
			assert_int_equal(next, now + UK_GUARD_HOLD_NS);
			assert_int_equal(uk_echo_resolve(w, next, &next), 0);
			assert_int_equal(next, 0);
			assert_int_equal(w->held_count, 0);
			break;
		}
		if (!s->send)
			break;
		if (hops > 100)
			break;
		assert_true(s->out_len <= sizeof(msg));
		memmove(msg, s->out, s->out_len);
		len = s->out_len;
	}
	assert_int_equal(a.stats.dropped[UK_DROP_LOOP] + b.stats.dropped[UK_DROP_LOOP], 1);
	uk_echo_worker_free(&a);
	uk_echo_worker_free(&b);
	return hops;
}

static void test_two_servers_cannot_loop(void **state)
{
	(void)state;
	/* Each server tolerates 5 reflections; the 6th is held, and dropped
	 * when nothing else comes from the other server meanwhile. */
	assert_int_equal(bounce(UK_ECHO_PURE, UK_ECHO_PURE), 13);
	assert_int_equal(bounce(UK_ECHO_STAMP, UK_ECHO_STAMP), 13);
	assert_int_equal(bounce(UK_ECHO_STAMP, UK_ECHO_PURE), 13);
	assert_int_equal(bounce(UK_ECHO_PURE, UK_ECHO_STAMP), 13);
}

/* A client that sends one fixed payload, `window` in flight, `per_batch`
 * of them arriving per receive, each batch 20 us after the last. Returns
 * the echoes it gets out of `total` requests. */
static int repeating_client(unsigned window, int per_batch, int total, uint64_t gap_ns)
{
	struct uk_echo_worker w;
	uint64_t now = NOW, next;
	int echoes = 0, sent = 0;
	(void)window;

	worker(&w, UK_ECHO_PURE, 2048, 0);
	while (sent < total) {
		int n = per_batch;
		for (int i = 0; i < n; i++)
			fill(&w, i, "192.0.2.7:40000", "health-check", 12);
		uk_echo_process(&w, n, now, WALL);
		for (int i = 0; i < n; i++)
			echoes += w.batch.slots[i].send;
		sent += n;
		now += gap_ns;
		echoes += uk_echo_resolve(&w, now, &next);
		uk_echo_held_sent(&w);
	}
	/* The client stops: anything still held is decided at its deadline. */
	echoes += uk_echo_resolve(&w, now + UK_GUARD_HOLD_NS, &next);
	uk_echo_held_sent(&w);
	assert_int_equal(w.held_count, 0);
	uk_echo_worker_free(&w);
	return echoes;
}

static void test_repeating_clients_get_every_echo(void **state)
{
	(void)state;
	/* A health check every 0.3 s: slower than any bounce. */
	assert_int_equal(repeating_client(1, 1, 10, 300 * UK_NS_PER_MS), 10);
	/* 64 in flight, the requests arriving one by one, 20 us apart: the
	 * 6th is held and released by the 7th. */
	assert_int_equal(repeating_client(64, 1, 10000, 20 * (UK_NS_PER_MS / 1000)), 10000);
	/* Several per receive: never a bounce. */
	assert_int_equal(repeating_client(64, 4, 10000, 20 * (UK_NS_PER_MS / 1000)), 10000);
	/* One in flight at the round-trip rate looks exactly like a loop: it
	 * loses the 7th echo (and gets the next one after its timeout). */
	assert_int_equal(repeating_client(1, 1, 7, 20 * (UK_NS_PER_MS / 1000)), 6);
}

static void test_share_under_pressure(void **state)
{
	struct uk_echo_worker w;
	(void)state;
	worker(&w, UK_ECHO_PURE, 2048, 0);
	for (int i = 0; i < 7; i++)
		fill(&w, i, "127.0.0.1:40000", &i, sizeof(i));
	fill(&w, 7, "127.0.0.1:40001", "victim", 6);
	/* Under pressure but alone, a benchmark is served in full. */
	w.pressure = true;
	for (int i = 0; i < 8; i++)
		fill(&w, i, "127.0.0.1:40000", &i, sizeof(i));
	uk_echo_process(&w, 8, NOW - 1, WALL);
	for (int i = 0; i < 8; i++)
		assert_true(w.batch.slots[i].send);
	/* Without a backlog a flooder is served in full. */
	w.pressure = false;
	for (int i = 0; i < 7; i++)
		fill(&w, i, "127.0.0.1:40000", &i, sizeof(i));
	fill(&w, 7, "127.0.0.1:40001", "victim", 6);
	uk_echo_process(&w, 8, NOW, WALL);
	for (int i = 0; i < 8; i++)
		assert_true(w.batch.slots[i].send);
	/* With one, each source gets UK_GUARD_SHARE per batch. */
	w.pressure = true;
	for (int i = 0; i < 7; i++)
		fill(&w, i, "127.0.0.1:40000", &i, sizeof(i));
	fill(&w, 7, "127.0.0.1:40001", "victim", 6);
	uk_echo_process(&w, 8, NOW + 1, WALL);
	for (int i = 0; i < 7; i++)
		assert_int_equal(w.batch.slots[i].send, i < UK_GUARD_SHARE);
	assert_true(w.batch.slots[7].send);
	assert_int_equal(w.verdicts[UK_GUARD_SHARE], UK_DROP_SHARE);
	assert_int_equal(w.stats.dropped[UK_DROP_SHARE], 7 - UK_GUARD_SHARE);
	uk_echo_worker_free(&w);
}

static void test_stats_add(void **state)
{
	struct uk_echo_stats a = {.datagrams = 1,
				  .bytes = 2,
				  .replies = 3,
				  .reply_bytes = 4,
				  .truncated = 5,
				  .too_big = 6,
				  .not_sockperf = 7,
				  .send_failed = 8};
	struct uk_echo_stats sum = {0};
	(void)state;
	for (int i = 0; i < UK_VERDICT_COUNT; i++)
		a.dropped[i] = (uint64_t)(10 + i);
	uk_echo_stats_add(&sum, &a);
	uk_echo_stats_add(&sum, &a);
	assert_int_equal(sum.datagrams, 2);
	assert_int_equal(sum.bytes, 4);
	assert_int_equal(sum.replies, 6);
	assert_int_equal(sum.reply_bytes, 8);
	assert_int_equal(sum.truncated, 10);
	assert_int_equal(sum.too_big, 12);
	assert_int_equal(sum.not_sockperf, 14);
	assert_int_equal(sum.send_failed, 16);
	for (int i = 0; i < UK_VERDICT_COUNT; i++)
		assert_int_equal(sum.dropped[i], 2 * (10 + i));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ctime_format),
	    cmocka_unit_test(test_stamp_reply),
	    cmocka_unit_test(test_stamp_too_big),
	    cmocka_unit_test(test_pure_byte_exact),
	    cmocka_unit_test(test_sockperf_mode),
	    cmocka_unit_test(test_truncated_not_answered),
	    cmocka_unit_test(test_reply_never_larger_than_request_plus_30),
	    cmocka_unit_test(test_guard_drops_counted),
	    cmocka_unit_test(test_two_servers_cannot_loop),
	    cmocka_unit_test(test_repeating_clients_get_every_echo),
	    cmocka_unit_test(test_share_under_pressure),
	    cmocka_unit_test(test_stats_add),
	};
	return cmocka_run_group_tests(tests, setup_tz, NULL);
}
