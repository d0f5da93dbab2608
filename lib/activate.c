/* activate.c: systemd socket activation and readiness, via libsystemd
 * (sd-daemon(3)) rather than a hand-rolled parser of LISTEN_FDS: it checks
 * LISTEN_PID against our pid, which is what keeps a child from taking its
 * parent's sockets. */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include "udpkit/activate.h"

/* A datagram socket of an IP family: what echo and listen can serve. */
static int check_udp(int fd)
{
	if (sd_is_socket(fd, AF_INET, SOCK_DGRAM, -1) > 0 ||
	    sd_is_socket(fd, AF_INET6, SOCK_DGRAM, -1) > 0)
		return 0;
	return -EPROTOTYPE;
}

int uk_activate_listen_fds(int *fds, size_t max)
{
	int n = sd_listen_fds(1); /* 1: unset the variables for our children */

	if (n <= 0)
		return n;
	if ((size_t)n > max)
		return -E2BIG;
	for (int i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;
		int rc = check_udp(fd);
		if (rc < 0)
			return rc;
		if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
			return -errno;
		fds[i] = fd;
	}
	return n;
}

int uk_activate_notify(const char *state)
{
	return sd_notify(0, state);
}
