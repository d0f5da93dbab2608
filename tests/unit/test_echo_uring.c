/* Unit tests for lib/echo_uring.c's pure part: turning one multishot
 * recvmsg completion (io_uring_recvmsg_out, the sender's address, the
 * control data, the payload, in one provided buffer) into a batch slot,
 * as the recvmmsg backend fills it: real size, truncation, sender,
 * destination (pktinfo), and room for the stamp in front; and a UDP_GRO
 * receive of several datagrams cut into one slot each (lib/batch.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <linux/io_uring.h>
#include <netinet/in.h>
#include <netinet/udp.h>

#include "udpkit/echo.h"

#define NAMELEN ((size_t)UK_ECHO_URING_NAME_ROOM)
#define CTRL 128

/* Lays out a completion as the kernel does; returns its res. */
static int completion(unsigned char *buf, const struct sockaddr_in *from, const void *payload,
		      size_t in_buf, size_t real, unsigned flags, const struct in_pktinfo *pi,
		      size_t controllen)
{
	struct io_uring_recvmsg_out o = {.namelen = sizeof(*from),
					 .controllen = 0,
					 .payloadlen = (unsigned)real,
					 .flags = flags};
	size_t head = sizeof(o) + NAMELEN + controllen;

	memset(buf, 0xee, head);
	memcpy(buf + sizeof(o), from, sizeof(*from));
	if (pi) {
		struct cmsghdr c = {.cmsg_len = CMSG_LEN(sizeof(*pi)),
				    .cmsg_level = IPPROTO_IP,
				    .cmsg_type = IP_PKTINFO};
		unsigned char *at = buf + sizeof(o) + NAMELEN;
		memcpy(at, &c, sizeof(c));
		memcpy(CMSG_DATA((struct cmsghdr *)at), pi, sizeof(*pi));
		o.controllen = (unsigned)CMSG_SPACE(sizeof(*pi));
	}
	memcpy(buf, &o, sizeof(o));
	memcpy(buf + head, payload, in_buf);
	return (int)(head + in_buf);
}

static struct sockaddr_in v4(uint32_t host, uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(host);
	return a;
}

static void test_datagram_fills_the_slot(void **state)
{
	_Alignas(16) unsigned char buf[512];
	struct uk_batch_slot s = {.send = true};
	struct sockaddr_in from = v4(0x7f000001, 4242);
	int res = completion(buf, &from, "hello", 5, 5, 0, NULL, 0);

	(void)state;
	assert_true(uk_echo_uring_slot(&s, buf, res, NAMELEN, 0, 100));
	assert_int_equal(s.len, 5);
	assert_int_equal(s.wire_len, 5);
	assert_false(s.truncated);
	assert_false(s.send);
	assert_false(s.has_dst);
	assert_memory_equal(s.data, "hello", 5);
	assert_int_equal(s.peer.len, sizeof(from));
	assert_memory_equal(&s.peer.u.in, &from, sizeof(from));
	/* The stamp is written in place in front of the payload. */
	assert_true((size_t)(s.data - buf) >= UK_ECHO_STAMP_LEN);
	assert_int_equal(s.data - buf, uk_echo_uring_headroom(0));
}

static void test_empty_datagram(void **state)
{
	_Alignas(16) unsigned char buf[512];
	struct uk_batch_slot s;
	struct sockaddr_in from = v4(0x7f000001, 4242);
	int res = completion(buf, &from, "", 0, 0, 0, NULL, 0);

	(void)state;
	assert_true(uk_echo_uring_slot(&s, buf, res, NAMELEN, 0, 100));
	assert_int_equal(s.len, 0);
	assert_false(s.truncated);
}

static void test_larger_than_max_size_is_truncated_with_its_real_size(void **state)
{
	_Alignas(16) unsigned char buf[512];
	struct uk_batch_slot s;
	struct sockaddr_in from = v4(0x7f000001, 4242);
	char big[100];
	int res;

	(void)state;
	memset(big, 'a', sizeof(big));
	/* The kernel cut it at the buffer's payload room (max_size) and
	 * reported its real size with MSG_TRUNC. */
	res = completion(buf, &from, big, 100, 1000, MSG_TRUNC, NULL, 0);
	assert_true(uk_echo_uring_slot(&s, buf, res, NAMELEN, 0, 100));
	assert_true(s.truncated);
	assert_int_equal(s.wire_len, 1000);
	assert_int_equal(s.len, 100);
	/* One byte over max_size without a cut is still too large. */
	res = completion(buf, &from, big, 100, 100, 0, NULL, 0);
	assert_true(uk_echo_uring_slot(&s, buf, res, NAMELEN, 0, 99));
	assert_true(s.truncated);
	assert_int_equal(s.len, 99);
}

static void test_pktinfo_gives_the_destination(void **state)
{
	_Alignas(16) unsigned char buf[512];
	struct uk_batch_slot s;
	struct sockaddr_in from = v4(0x7f000001, 4242);
	struct in_pktinfo pi = {.ipi_ifindex = 1};
	int res;

	(void)state;
	pi.ipi_addr.s_addr = htonl(0x7f000002);
	res = completion(buf, &from, "where", 5, 5, 0, &pi, CTRL);
	assert_true(uk_echo_uring_slot(&s, buf, res, NAMELEN, CTRL, 100));
	assert_true(s.has_dst);
	assert_int_equal(s.dst.u.in.sin_addr.s_addr, htonl(0x7f000002));
	assert_int_equal(s.ifindex, 1);
	assert_memory_equal(s.data, "where", 5);
	assert_int_equal(s.data - buf, uk_echo_uring_headroom(CTRL));
}

static void test_inconsistent_layouts_are_refused(void **state)
{
	_Alignas(16) unsigned char buf[512];
	struct uk_batch_slot s;
	struct sockaddr_in from = v4(0x7f000001, 4242);
	struct io_uring_recvmsg_out o;
	int res = completion(buf, &from, "hello", 5, 5, 0, NULL, 0);

	(void)state;
	assert_false(uk_echo_uring_slot(&s, buf, -105, NAMELEN, 0, 100));
	assert_false(
	    uk_echo_uring_slot(&s, buf, 10, NAMELEN, 0, 100)); /* shorter than the header */
	memcpy(&o, buf, sizeof(o));
	o.namelen = 4096; /* larger than any address */
	memcpy(buf, &o, sizeof(o));
	assert_false(uk_echo_uring_slot(&s, buf, res, NAMELEN, 0, 100));
	o.namelen = sizeof(from);
	o.controllen = 64; /* more control data than there is room for */
	memcpy(buf, &o, sizeof(o));
	assert_false(uk_echo_uring_slot(&s, buf, res, NAMELEN, 0, 100));
}

/* A completion whose control data is one UDP_GRO message (segment size). */
static int gro_completion(unsigned char *buf, const struct sockaddr_in *from, const void *payload,
			  size_t len, int seg)
{
	struct io_uring_recvmsg_out o;
	struct cmsghdr c = {
	    .cmsg_len = CMSG_LEN(sizeof(seg)), .cmsg_level = SOL_UDP, .cmsg_type = UDP_GRO};
	unsigned char *at = buf + sizeof(o) + NAMELEN;
	int res = completion(buf, from, payload, len, len, 0, NULL, CTRL);

	memcpy(at, &c, sizeof(c));
	memcpy(CMSG_DATA((struct cmsghdr *)at), &seg, sizeof(seg));
	memcpy(&o, buf, sizeof(o));
	o.controllen = (unsigned)CMSG_SPACE(sizeof(seg));
	memcpy(buf, &o, sizeof(o));
	return res;
}

static void test_gro_receive_is_cut_into_its_datagrams(void **state)
{
	_Alignas(16) unsigned char buf[1024];
	unsigned char payload[407];
	struct uk_batch_slot whole, s[5];
	struct sockaddr_in from = v4(0x7f000001, 4242);
	int res;

	(void)state;
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (unsigned char)(i / 100);
	res = gro_completion(buf, &from, payload, sizeof(payload), 100);
	assert_true(uk_echo_uring_slot(&whole, buf, res, NAMELEN, CTRL, 65507));
	assert_int_equal(whole.gso_size, 100);
	assert_int_equal(whole.len, 407);
	assert_int_equal(uk_batch_nsegments(whole.len, whole.gso_size), 5);
	for (size_t i = 0; i < 5; i++) {
		uk_batch_segment(&s[i], &whole, i);
		assert_int_equal(s[i].len, i < 4 ? 100 : 7); /* the last one is shorter */
		assert_int_equal(s[i].wire_len, s[i].len);
		assert_false(s[i].truncated);
		assert_int_equal(s[i].gso_size, 0);
		assert_ptr_equal(s[i].data, whole.data + i * 100);
		assert_int_equal(s[i].data[0], i);
		assert_int_equal(s[i].peer.u.in.sin_port, htons(4242));
	}
}

static void test_one_datagram_is_its_own_segment(void **state)
{
	_Alignas(16) unsigned char buf[512];
	struct uk_batch_slot whole, s;
	struct sockaddr_in from = v4(0x7f000001, 4242);
	int res = completion(buf, &from, "hello", 5, 9, MSG_TRUNC, NULL, 0);

	(void)state;
	assert_true(uk_echo_uring_slot(&whole, buf, res, NAMELEN, 0, 100));
	assert_int_equal(whole.gso_size, 0);
	assert_int_equal(uk_batch_nsegments(whole.len, whole.gso_size), 1);
	uk_batch_segment(&s, &whole, 0);
	assert_true(s.truncated); /* kept as it was */
	assert_int_equal(s.wire_len, 9);
	/* A UDP_GRO message whose receive fits one segment: one datagram. */
	assert_int_equal(uk_batch_nsegments(64, 64), 1);
	assert_int_equal(uk_batch_nsegments(65, 64), 2);
	assert_int_equal(uk_batch_nsegments(0, 64), 1);
}

static void test_gro_receive_cut_by_the_buffer_keeps_real_sizes(void **state)
{
	struct uk_batch_slot whole = {
	    .len = 250, .wire_len = 407, .gso_size = 100, .truncated = true};
	unsigned char data[250] = {0};
	struct uk_batch_slot s;

	(void)state;
	whole.data = data;
	uk_batch_segment(&s, &whole, 1);
	assert_false(s.truncated);
	assert_int_equal(s.len, 100);
	uk_batch_segment(&s, &whole, 2); /* 50 of its 100 bytes in the buffer */
	assert_true(s.truncated);
	assert_int_equal(s.len, 50);
	assert_int_equal(s.wire_len, 100);
}

static void test_segments_fill_a_batch_at_a_time(void **state)
{
	struct uk_batch b;
	unsigned char data[700];
	struct uk_batch_slot whole = {.len = 650, .wire_len = 650, .gso_size = 100, .data = data};

	(void)state;
	assert_int_equal(uk_batch_init(&b, 4, 100), 0);
	assert_int_equal(uk_batch_segments(&b, &whole, 0), 4);
	assert_ptr_equal(b.slots[3].data, data + 300);
	assert_int_equal(uk_batch_segments(&b, &whole, 4), 3);
	assert_int_equal(b.slots[2].len, 50);
	assert_int_equal(uk_batch_segments(&b, &whole, 7), 0);
	uk_batch_home(&b);
	assert_ptr_not_equal(b.slots[0].data, data);
	uk_batch_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_datagram_fills_the_slot),
	    cmocka_unit_test(test_empty_datagram),
	    cmocka_unit_test(test_larger_than_max_size_is_truncated_with_its_real_size),
	    cmocka_unit_test(test_pktinfo_gives_the_destination),
	    cmocka_unit_test(test_inconsistent_layouts_are_refused),
	    cmocka_unit_test(test_gro_receive_is_cut_into_its_datagrams),
	    cmocka_unit_test(test_one_datagram_is_its_own_segment),
	    cmocka_unit_test(test_gro_receive_cut_by_the_buffer_keeps_real_sizes),
	    cmocka_unit_test(test_segments_fill_a_batch_at_a_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
