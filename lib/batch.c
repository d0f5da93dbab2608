/* batch.c: recvmmsg/sendmmsg over a fixed set of slots.
 * The kernel's per-datagram path dominates UDP cost; batching saves the
 * per-call overhead (about 10% on loopback, measured in bench/README.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/udp.h>

#include "udpkit/batch.h"

#define CONTROL_BYTES ((size_t)UK_PKTINFO_SPACE * 2)

int uk_batch_init(struct uk_batch *b, size_t count, size_t slot_bytes)
{
	size_t stride = UK_BATCH_HEADROOM + slot_bytes;

	memset(b, 0, sizeof(*b));
	if (count < 1 || count > UK_BATCH_MAX)
		return -EINVAL;
	b->slots = calloc(count, sizeof(*b->slots));
	b->msgs = calloc(count, sizeof(*b->msgs));
	b->iovs = calloc(count, sizeof(*b->iovs));
	b->control = calloc(count, CONTROL_BYTES);
	b->memory = malloc(count * stride);
	if (!b->slots || !b->msgs || !b->iovs || !b->control || !b->memory) {
		uk_batch_free(b);
		return -ENOMEM;
	}
	b->count = count;
	b->slot_bytes = slot_bytes;
	uk_batch_home(b);
	return 0;
}

void uk_batch_home(struct uk_batch *b)
{
	size_t stride = UK_BATCH_HEADROOM + b->slot_bytes;

	for (size_t i = 0; i < b->count; i++)
		b->slots[i].data = b->memory + i * stride + UK_BATCH_HEADROOM;
	b->recv_ready = false;
}

void uk_batch_free(struct uk_batch *b)
{
	free(b->slots);
	free(b->msgs);
	free(b->iovs);
	free(b->control);
	free(b->memory);
	memset(b, 0, sizeof(*b));
}

int uk_batch_recv(int fd, struct uk_batch *b)
{
	int n;

	/* The headers are set up once; a send reuses them, so then again. */
	if (!b->recv_ready) {
		for (size_t i = 0; i < b->count; i++) {
			struct msghdr *m = &b->msgs[i].msg_hdr;
			b->iovs[i].iov_base = b->slots[i].data;
			b->iovs[i].iov_len = b->slot_bytes;
			m->msg_name = &b->slots[i].peer.u;
			m->msg_iov = &b->iovs[i];
			m->msg_iovlen = 1;
			m->msg_control = b->control + i * CONTROL_BYTES;
		}
		b->recv_ready = true;
	}
	for (size_t i = 0; i < b->count; i++) {
		struct msghdr *m = &b->msgs[i].msg_hdr;
		m->msg_namelen = sizeof(b->slots[i].peer.u);
		m->msg_controllen = CONTROL_BYTES;
		m->msg_flags = 0;
	}
	do {
		/* MSG_TRUNC: msg_len is the real size of a datagram that was cut. */
		n = recvmmsg(fd, b->msgs, (unsigned)b->count, MSG_WAITFORONE | MSG_TRUNC, NULL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		struct uk_batch_slot *s = &b->slots[i];
		struct msghdr *m = &b->msgs[i].msg_hdr;
		s->peer.len = m->msg_namelen;
		s->wire_len = b->msgs[i].msg_len;
		s->truncated = (m->msg_flags & MSG_TRUNC) || s->wire_len > b->slot_bytes;
		s->len = s->truncated ? b->slot_bytes : s->wire_len;
		s->has_dst =
		    m->msg_controllen > 0 && uk_sock_pktinfo_parse(m, &s->dst, &s->ifindex, 0);
		s->gso_size = 0;
		s->send = false;
	}
	return n;
}

int uk_batch_recv_one(int fd, struct uk_batch *b, bool with_pktinfo)
{
	struct uk_batch_slot *s = &b->slots[0];
	ssize_t n;

	if (with_pktinfo) {
		struct uk_dgram d = {.buf = s->data, .cap = b->slot_bytes};
		n = uk_sock_recv(fd, &d);
		if (n < 0)
			return (int)n;
		s->peer = d.peer;
		s->dst = d.dst;
		s->ifindex = d.ifindex;
		s->has_dst = d.has_dst;
		s->wire_len = d.wire_len;
	} else {
		/* recvfrom() skips the msghdr copies of recvmsg/recvmmsg: on a
		 * ping-pong that is about a microsecond per round trip. */
		do {
			s->peer.len = sizeof(s->peer.u);
			n = recvfrom(fd, s->data, b->slot_bytes, MSG_TRUNC, &s->peer.u.sa,
				     &s->peer.len);
		} while (n < 0 && errno == EINTR);
		if (n < 0)
			return -errno;
		s->has_dst = false;
		s->wire_len = (size_t)n;
	}
	s->truncated = s->wire_len > b->slot_bytes;
	s->len = s->truncated ? b->slot_bytes : s->wire_len;
	s->gso_size = 0;
	s->send = false;
	return 1;
}

int uk_batch_recv_msg(int fd, struct uk_batch *b, size_t i, int flags)
{
	struct uk_batch_slot *s = &b->slots[i];
	struct iovec iov = {.iov_base = s->data, .iov_len = b->slot_bytes};
	struct msghdr m;
	ssize_t n;

	do {
		m = (struct msghdr){.msg_name = &s->peer.u,
				    .msg_namelen = sizeof(s->peer.u),
				    .msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = b->control + i * CONTROL_BYTES,
				    .msg_controllen = CONTROL_BYTES};
		n = recvmsg(fd, &m, MSG_TRUNC | flags);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	s->peer.len = m.msg_namelen;
	s->wire_len = (size_t)n;
	s->truncated = (m.msg_flags & MSG_TRUNC) || s->wire_len > b->slot_bytes;
	s->len = s->truncated ? b->slot_bytes : s->wire_len;
	s->has_dst = m.msg_controllen > 0 && uk_sock_pktinfo_parse(&m, &s->dst, &s->ifindex, 0);
	s->gso_size = m.msg_controllen > 0 ? uk_sock_gro_parse(&m) : 0;
	s->send = false;
	b->recv_ready = false; /* the control area was used here */
	return 1;
}

size_t uk_batch_nsegments(size_t len, size_t seg)
{
	return seg && len > seg ? (len + seg - 1) / seg : 1;
}

void uk_batch_segment(struct uk_batch_slot *s, const struct uk_batch_slot *whole, size_t i)
{
	size_t seg = whole->gso_size, off, left, wire;

	*s = *whole;
	if (!seg) /* one datagram: itself */
		return;
	off = i * seg;
	left = whole->len > off ? whole->len - off : 0;
	wire = whole->wire_len > off ? whole->wire_len - off : 0;
	s->data = whole->data + (left ? off : whole->len);
	s->wire_len = wire < seg ? wire : seg;
	/* A coalesced receive cut by the buffer: its last datagrams' real
	 * sizes are the ones the kernel reported; never more bytes than that. */
	s->len = left < s->wire_len ? left : s->wire_len;
	s->truncated = s->wire_len > s->len;
	s->gso_size = 0;
	s->send = false;
	s->gso_rider = false;
}

int uk_batch_segments(struct uk_batch *b, const struct uk_batch_slot *whole, size_t first)
{
	struct uk_batch_slot w = *whole; /* whole may be slot 0 */
	size_t total = uk_batch_nsegments(w.len, w.gso_size);
	int m = 0;

	for (size_t i = first; i < total && (size_t)m < b->count; i++, m++)
		uk_batch_segment(&b->slots[m], &w, i);
	return m;
}

/* Whether slot t's reply may ride in the same GSO send as slot s's: same
 * peer, same source, same size. */
static bool same_flow(const struct uk_batch_slot *s, const struct uk_batch_slot *t)
{
	return s->out_len == t->out_len && s->has_dst == t->has_dst &&
	       uk_addr_equal(&s->peer, &t->peer) &&
	       (!s->has_dst || uk_addr_equal(&s->dst, &t->dst));
}

int uk_batch_send(int fd, struct uk_batch *b, int n, bool use_pktinfo, bool *gso)
{
	unsigned k = 0, done = 0, iov = 0;
	unsigned char segs[UK_BATCH_MAX] = {0};
	int sent = 0, rc;

	/* Pack the slots to send into the front of msgs, reusing the arrays;
	 * with *gso, a run of a peer's equal replies is one message of
	 * several iovecs cut by the kernel (UDP_SEGMENT). */
	b->recv_ready = false;
	for (int i = 0; i < n; i++) /* slots are filled by several receivers */
		b->slots[i].gso_rider = false;
	for (int i = 0; i < n; i++) {
		struct uk_batch_slot *s = &b->slots[i];
		struct msghdr *m;
		size_t ctl = 0;
		unsigned run = 1;
		if (!s->send)
			continue;
		m = &b->msgs[k].msg_hdr;
		b->iovs[iov].iov_base = (void *)s->out;
		b->iovs[iov].iov_len = s->out_len;
		m->msg_iov = &b->iovs[iov++];
		if (gso && *gso && s->out_len > 0 && s->out_len <= UK_BATCH_GSO_SEG_MAX)
			for (int j = i + 1; j < n && run < UK_BATCH_GSO_MAX; j++) {
				struct uk_batch_slot *t = &b->slots[j];
				if (!t->send)
					continue;
				if (!same_flow(s, t) || s->out_len * (run + 1) > UK_BATCH_GSO_BYTES)
					break;
				b->iovs[iov].iov_base = (void *)t->out;
				b->iovs[iov++].iov_len = t->out_len;
				t->send = false; /* rides in s's message */
				t->gso_rider = true;
				run++;
			}
		m->msg_name = &s->peer.u;
		m->msg_namelen = s->peer.len;
		m->msg_iovlen = run;
		m->msg_control = b->control + k * CONTROL_BYTES;
		if (use_pktinfo && s->has_dst)
			ctl = uk_sock_pktinfo_cmsg(m->msg_control, CONTROL_BYTES, &s->dst,
						   s->ifindex);
		if (run > 1)
			ctl = uk_sock_segment_cmsg(m->msg_control, ctl, (uint16_t)s->out_len);
		m->msg_controllen = ctl;
		if (!ctl)
			m->msg_control = NULL;
		m->msg_flags = 0;
		segs[k++] = (unsigned char)run;
	}
	/* The riders' send flags back, for the caller's counts and log. */
	for (int i = 0; i < n; i++)
		if (b->slots[i].gso_rider) {
			b->slots[i].gso_rider = false;
			b->slots[i].send = true;
		}
	if (k == 1 && segs[0] == 1 && b->msgs[0].msg_hdr.msg_controllen == 0) {
		struct msghdr *m = &b->msgs[0].msg_hdr;
		ssize_t sent1;
		do {
			sent1 = sendto(fd, b->iovs[0].iov_base, b->iovs[0].iov_len, 0, m->msg_name,
				       m->msg_namelen);
		} while (sent1 < 0 && errno == EINTR);
		return sent1 >= 0 ? 1 : (errno == EAGAIN ? -EAGAIN : 0);
	}
	while (done < k) {
		rc = sendmmsg(fd, b->msgs + done, k - done, 0);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return sent > 0 ? sent : -errno;
			/* A path that refuses GSO (a device without UDP
			 * segmentation or checksum offload: EIO; segments over
			 * its MTU: EINVAL, EMSGSIZE) turns it off for the caller. */
			if (segs[done] > 1 && gso &&
			    (errno == EIO || errno == EINVAL || errno == EMSGSIZE))
				*gso = false;
			/* One refused datagram (e.g. EPERM, unreachable) must not block the rest.
			 */
			done++;
			continue;
		}
		for (int j = 0; j < rc; j++)
			sent += segs[done + (unsigned)j];
		done += (unsigned)rc;
	}
	return sent;
}
