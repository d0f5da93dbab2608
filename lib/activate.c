/* activate.c: systemd socket activation and readiness, via libsystemd
 * (sd-daemon(3)) rather than a hand-rolled parser of LISTEN_FDS: it checks
 * LISTEN_PID against our pid, which is what keeps a child from taking its
 * parent's sockets.
 *
 * libsystemd is loaded (dlopen) only when a service manager handed us
 * something: LISTEN_PID/LISTEN_FDS or NOTIFY_SOCKET in the environment.
 * Linked, it and the libraries it links (libgcrypt, libgpg-error, liblzma,
 * libzstd, liblz4, libcap) cost every udpkit process about 1 MB of
 * resident pages and their start-up relocations, for three calls that
 * most runs never make (bench/README.md, memory). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include "udpkit/activate.h"

/* Debian 12's libsystemd0 (the package's Depends names it). */
#define LIBSYSTEMD "libsystemd.so.0"

static struct {
	int (*is_socket)(int fd, int family, int type, int listening);
	int (*listen_fds)(int unset_environment);
	int (*notify)(int unset_environment, const char *state);
} sd;
static pthread_once_t sd_once = PTHREAD_ONCE_INIT;

static void sd_load(void)
{
	void *h = dlopen(LIBSYSTEMD, RTLD_NOW | RTLD_LOCAL);

	if (!h)
		return;
	/* POSIX's way to take a function from dlsym() (its void * is not a
	 * function pointer in ISO C). */
	*(void **)&sd.is_socket = dlsym(h, "sd_is_socket");
	*(void **)&sd.listen_fds = dlsym(h, "sd_listen_fds");
	*(void **)&sd.notify = dlsym(h, "sd_notify");
	if (!sd.is_socket || !sd.listen_fds || !sd.notify)
		sd.is_socket = NULL, sd.listen_fds = NULL, sd.notify = NULL;
}

/* True when libsystemd's functions are there (loaded on first use). */
static bool sd_ready(void)
{
	pthread_once(&sd_once, sd_load);
	return sd.notify != NULL;
}

/* A datagram socket of an IP family: what echo and listen can serve. */
static int check_udp(int fd)
{
	if (sd.is_socket(fd, AF_INET, SOCK_DGRAM, -1) > 0 ||
	    sd.is_socket(fd, AF_INET6, SOCK_DGRAM, -1) > 0)
		return 0;
	return -EPROTOTYPE;
}

int uk_activate_listen_fds(int *fds, size_t max)
{
	int n;

	/* Not activated: what sd_listen_fds(1) would do then, without it. */
	if (!getenv("LISTEN_PID") && !getenv("LISTEN_FDS")) {
		unsetenv("LISTEN_FDNAMES");
		return 0;
	}
	if (!sd_ready())
		return -ENOSYS; /* sockets were handed over and we cannot check them */
	n = sd.listen_fds(1);	/* 1: unset the variables for our children */
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
	if (!getenv("NOTIFY_SOCKET"))
		return 0; /* no manager listening: sd_notify() returns 0 too */
	if (!sd_ready())
		return -ENOSYS;
	return sd.notify(0, state);
}
