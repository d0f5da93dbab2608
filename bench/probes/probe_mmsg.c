/* probe_mmsg: the ceiling of the batched-syscall design, as a benchmark
 * reference: a minimal UDP echo loop with recvmmsg/sendmmsg in batches of
 * 32 and nothing else (no logging, no guard, no checks). udpkit's echo
 * server is measured against it in the same run. Usage: probe_mmsg PORT
 * (0 picks one); prints "bound on 127.0.0.1 PORT" on stderr. Loopback only. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define BATCH 32
#define SIZE 2048

int main(int argc, char **argv)
{
	static char bufs[BATCH][SIZE];
	static struct mmsghdr msgs[BATCH];
	static struct iovec iov[BATCH];
	static struct sockaddr_in6 names[BATCH];
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short)(argc > 1 ? atoi(argv[1]) : 0));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
		perror("probe_mmsg");
		return 1;
	}
	fprintf(stderr, "bound on 127.0.0.1 %u\n", ntohs(sin.sin_port));
	for (;;) {
		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){bufs[i], SIZE};
			msgs[i].msg_hdr = (struct msghdr){.msg_name = &names[i],
							  .msg_namelen = sizeof(names[i]),
							  .msg_iov = &iov[i],
							  .msg_iovlen = 1};
		}
		/* Block for the first datagram, then take what else is queued. */
		int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
		if (n <= 0)
			continue;
		for (int i = 0; i < n; i++)
			iov[i].iov_len = msgs[i].msg_len;
		for (int sent = 0; sent < n;) {
			int k = sendmmsg(fd, msgs + sent, (unsigned)(n - sent), 0);
			if (k <= 0)
				break;
			sent += k;
		}
	}
}
