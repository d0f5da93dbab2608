/* Unit tests for lib/echo_uring.c's pure part: turning one multishot
 * recvmsg completion (io_uring_recvmsg_out, the sender's address, the
 * control data, the payload, in one provided buffer) into a batch slot,
 * as the recvmmsg backend fills it: real size, truncation, sender,
 * destination (pktinfo), and room for the stamp in front. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <linux/io_uring.h>
#include <netinet/in.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_datagram_fills_the_slot),
	    cmocka_unit_test(test_empty_datagram),
	    cmocka_unit_test(test_larger_than_max_size_is_truncated_with_its_real_size),
	    cmocka_unit_test(test_pktinfo_gives_the_destination),
	    cmocka_unit_test(test_inconsistent_layouts_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
