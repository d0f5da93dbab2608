/* activate.h: running under a service manager. Sockets handed over by
 * systemd socket activation (sd_listen_fds(3): LISTEN_FDS, LISTEN_PID) and
 * readiness notification (sd_notify(3)), through libsystemd, so a server
 * bound by a .socket unit (e.g. to the privileged UDP port 7) runs
 * unprivileged and is the same program as when it binds itself. */
#ifndef UDPKIT_ACTIVATE_H
#define UDPKIT_ACTIVATE_H

#include <stddef.h>

/* Most inherited sockets a server takes (one per ListenDatagram= line). */
#define UK_ACTIVATE_MAX_FDS 16

/* Takes the datagram sockets passed by the service manager: stores up to
 * max descriptors in fds (starting at SD_LISTEN_FDS_START), marks them
 * close-on-exec and unsets LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES so
 * children do not take them too. Returns how many (0 when the process was
 * not socket-activated), -E2BIG when more than max were passed, or
 * -EPROTOTYPE when one of them is not an AF_INET/AF_INET6 datagram socket
 * (a unit with ListenStream= by mistake). */
int uk_activate_listen_fds(int *fds, size_t max);

/* Tells the service manager a state ("READY=1", "STOPPING=1", "STATUS=..."):
 * returns 1 when sent, 0 when there is no manager listening (NOTIFY_SOCKET
 * unset), or -errno. Cheap enough to call unconditionally. */
int uk_activate_notify(const char *state);

#endif
