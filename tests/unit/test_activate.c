/* Unit tests for lib/activate.c and uk_sock_adopt(): sockets handed over as
 * systemd does it (descriptors from 3 up, LISTEN_FDS and LISTEN_PID in the
 * environment), on loopback only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "udpkit/activate.h"
#include "udpkit/sock.h"

/* Puts a socket of type at descriptor 3 + slot and announces count fds for
 * pid, as the service manager does before exec. */
static void hand_over(int slot, int family, int type)
{
	int fd = socket(family, type, 0);
	assert_true(fd >= 0);
	if (fd != 3 + slot) {
		assert_int_equal(dup2(fd, 3 + slot), 3 + slot);
		close(fd);
	}
}

static void announce(int count, long pid)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%d", count);
	assert_int_equal(setenv("LISTEN_FDS", buf, 1), 0);
	snprintf(buf, sizeof(buf), "%ld", pid);
	assert_int_equal(setenv("LISTEN_PID", buf, 1), 0);
}

static void test_not_activated(void **state)
{
	(void)state;
	int fds[UK_ACTIVATE_MAX_FDS];
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	assert_int_equal(uk_activate_listen_fds(fds, UK_ACTIVATE_MAX_FDS), 0);
}

static void test_two_udp_sockets_taken_and_env_cleared(void **state)
{
	(void)state;
	int fds[UK_ACTIVATE_MAX_FDS];
	hand_over(0, AF_INET, SOCK_DGRAM);
	hand_over(1, AF_INET6, SOCK_DGRAM);
	announce(2, (long)getpid());
	assert_int_equal(uk_activate_listen_fds(fds, UK_ACTIVATE_MAX_FDS), 2);
	assert_int_equal(fds[0], 3);
	assert_int_equal(fds[1], 4);
	/* Our children must not take them too. */
	assert_null(getenv("LISTEN_FDS"));
	assert_null(getenv("LISTEN_PID"));
	close(3);
	close(4);
}

static void test_other_pid_is_not_ours(void **state)
{
	(void)state;
	int fds[UK_ACTIVATE_MAX_FDS];
	hand_over(0, AF_INET, SOCK_DGRAM);
	announce(1, (long)getpid() + 1);
	assert_int_equal(uk_activate_listen_fds(fds, UK_ACTIVATE_MAX_FDS), 0);
	close(3);
}

static void test_stream_socket_refused(void **state)
{
	(void)state;
	int fds[UK_ACTIVATE_MAX_FDS];
	hand_over(0, AF_INET, SOCK_STREAM);
	announce(1, (long)getpid());
	assert_int_equal(uk_activate_listen_fds(fds, UK_ACTIVATE_MAX_FDS), -EPROTOTYPE);
	close(3);
}

static void test_too_many(void **state)
{
	(void)state;
	int fds[1];
	hand_over(0, AF_INET, SOCK_DGRAM);
	hand_over(1, AF_INET, SOCK_DGRAM);
	announce(2, (long)getpid());
	assert_int_equal(uk_activate_listen_fds(fds, 1), -E2BIG);
	close(3);
	close(4);
}

/* An adopted socket gets pktinfo (so replies leave from the address asked)
 * and O_NONBLOCK; its binding is left alone. */
static void test_adopt_applies_options(void **state)
{
	(void)state;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int on = 0;
	socklen_t len = sizeof(on);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	struct uk_sock_opts o = {
	    .pktinfo = true, .nonblock = true, .reuse_port = true, .v6only = 1};
	assert_int_equal(uk_sock_adopt(fd, &o), 0);
	assert_int_equal(getsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, &len), 0);
	assert_int_equal(on, 1);
	char b;
	assert_int_equal(recv(fd, &b, 1, 0), -1);
	assert_int_equal(errno, EAGAIN);
	close(fd);
}

static void test_adopt_bad_fd(void **state)
{
	(void)state;
	struct uk_sock_opts o = {.v6only = -1};
	assert_int_equal(uk_sock_adopt(-1, &o), -EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_not_activated),
	    cmocka_unit_test(test_two_udp_sockets_taken_and_env_cleared),
	    cmocka_unit_test(test_other_pid_is_not_ours),
	    cmocka_unit_test(test_stream_socket_refused),
	    cmocka_unit_test(test_too_many),
	    cmocka_unit_test(test_adopt_applies_options),
	    cmocka_unit_test(test_adopt_bad_fd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
