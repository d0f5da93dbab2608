/* files_seal.c: the chat's end of a room's sealed file transfer: buffers
 * and socket I/O around lib/sealstream.c, which has the cryptography and
 * the wire format (docs/rooms.md, "Files"). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "chat/files_seal.h"
#include "udpkit/sealstream.h"

struct seal_srv {
	uint8_t key[UK_SS_KEY_LEN];
	uint8_t frame[UK_SS_REQ_FRAME_MAX];
	size_t frame_len;
	struct uk_ss ss;
	bool started;
	uint8_t *plain; /* the next chunk, gathered by the caller */
	uint8_t *out;	/* the sealed chunk (and the start) being sent */
	size_t out_len, out_off;
	uint8_t proof[UK_SS_PROOF_LEN];
	size_t proof_len;
};

struct seal_srv *seal_srv_new(const uint8_t *key)
{
	struct seal_srv *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->plain = malloc(UK_SS_CHUNK);
	s->out = malloc(UK_SS_START_LEN + UK_SS_FRAME_MAX);
	if (!s->plain || !s->out) {
		seal_srv_free(s);
		return NULL;
	}
	memcpy(s->key, key, UK_SS_KEY_LEN);
	return s;
}

void seal_srv_free(struct seal_srv *s)
{
	if (!s)
		return;
	uk_ss_free(&s->ss);
	free(s->plain);
	free(s->out);
	memset(s->key, 0, sizeof(s->key));
	free(s);
}

uint8_t *seal_srv_buf(struct seal_srv *s)
{
	return s->plain;
}

int seal_srv_request(struct seal_srv *s, int fd, char *req, size_t cap, size_t *req_len)
{
	uint8_t rc[UK_SS_RANDOM_LEN], start[UK_SS_START_LEN];
	long want = uk_ss_request_len(s->frame, s->frame_len);
	/* Read only up to the frame's end: nothing else is to come before
	 * the answer. */
	size_t room = want > 0 ? (size_t)want - s->frame_len : UK_SS_REQ_CLEAR - s->frame_len;
	ssize_t n;

	if (want < 0)
		return -1;
	n = recv(fd, s->frame + s->frame_len, room ? room : 1, 0);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -2;
	if (n == 0)
		return -2;
	s->frame_len += (size_t)n;
	want = uk_ss_request_len(s->frame, s->frame_len);
	if (want < 0)
		return -1;
	if (want == 0 || s->frame_len < (size_t)want)
		return 0;
	if (uk_ss_request_open(s->key, s->frame, s->frame_len, rc, (uint8_t *)req, cap, req_len) <
	    0)
		return -1;
	/* The answer starts with rs and the stream header, sent before the
	 * first chunk. */
	if (uk_ss_seal_init(&s->ss, s->key, rc, req, *req_len, start) < 0)
		return -1;
	memcpy(s->out, start, sizeof(start));
	s->out_len = sizeof(start);
	s->started = true;
	return 1;
}

bool seal_srv_busy(const struct seal_srv *s)
{
	return s->out_off < s->out_len;
}

bool seal_srv_final_sent(const struct seal_srv *s)
{
	return s->ss.final && !seal_srv_busy(s);
}

int seal_srv_write(struct seal_srv *s, int fd, const void *plain, size_t len, bool final)
{
	if (plain && !seal_srv_busy(s)) {
		/* The start (if still here) stays in front of the chunk. */
		size_t keep = s->out_len - s->out_off;
		memmove(s->out, s->out + s->out_off, keep);
		long k =
		    uk_ss_seal_chunk(&s->ss, plain, len, final, s->out + keep, UK_SS_FRAME_MAX);
		if (k < 0)
			return -1;
		s->out_len = keep + (size_t)k;
		s->out_off = 0;
	}
	while (seal_srv_busy(s)) {
		ssize_t n = send(fd, s->out + s->out_off, s->out_len - s->out_off, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		s->out_off += (size_t)n;
	}
	return 0;
}

int seal_srv_proof(struct seal_srv *s, int fd)
{
	ssize_t n = recv(fd, s->proof + s->proof_len, sizeof(s->proof) - s->proof_len, 0);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0)
		return -1;
	s->proof_len += (size_t)n;
	if (s->proof_len < sizeof(s->proof))
		return 0;
	return uk_ss_proof_check(&s->ss, s->proof) ? 1 : -1;
}

struct seal_dl {
	char req[UK_SS_REQ_MAX];
	struct uk_ss ss;
	uint8_t *raw; /* sealed bytes read, not yet opened */
	size_t raw_len, raw_off;
	const uint8_t *plain; /* opened bytes not yet taken */
	size_t plain_len;
	bool proved;
};

struct seal_dl *seal_dl_new(const uint8_t *key, const char *req, size_t req_len, char *frame,
			    size_t cap, size_t *frame_len)
{
	uint8_t rc[UK_SS_RANDOM_LEN];
	struct seal_dl *d = calloc(1, sizeof(*d));
	long n;

	if (!d || req_len > sizeof(d->req))
		goto fail;
	memcpy(d->req, req, req_len);
	n = uk_ss_request_seal(key, req, req_len, rc, (uint8_t *)frame, cap);
	if (n < 0 || uk_ss_open_init(&d->ss, key, rc, d->req, req_len) < 0)
		goto fail;
	d->raw = malloc(UK_SS_FRAME_MAX);
	if (!d->raw)
		goto fail;
	*frame_len = (size_t)n;
	return d;
fail:
	seal_dl_free(d);
	return NULL;
}

void seal_dl_free(struct seal_dl *d)
{
	if (!d)
		return;
	uk_ss_free(&d->ss);
	free(d->raw);
	free(d);
}

bool seal_dl_pending(const struct seal_dl *d)
{
	return d->plain_len > 0 || d->raw_off < d->raw_len;
}

/* Once FINAL opened and every opened byte was taken: the proof, 32 bytes
 * into an empty send buffer, which go at once. */
static void prove(struct seal_dl *d, int fd)
{
	uint8_t p[UK_SS_PROOF_LEN];
	if (d->proved || !d->ss.final || d->plain_len)
		return;
	uk_ss_proof(&d->ss, p);
	(void)!send(fd, p, sizeof(p), MSG_NOSIGNAL);
	d->proved = true;
}

ssize_t seal_dl_recv(struct seal_dl *d, int fd, void *buf, size_t cap)
{
	while (d->plain_len == 0) {
		if (d->ss.final) {
			prove(d, fd);
			return 0;
		}
		if (d->raw_off == d->raw_len) {
			ssize_t n = recv(fd, d->raw, UK_SS_FRAME_MAX, 0);
			if (n <= 0)
				return n;
			d->raw_len = (size_t)n;
			d->raw_off = 0;
		}
		while (d->raw_off < d->raw_len && d->plain_len == 0 && !d->ss.final) {
			size_t used;
			long m = uk_ss_open_feed(&d->ss, d->raw + d->raw_off,
						 d->raw_len - d->raw_off, &used, &d->plain);
			if (m < 0) {
				errno = EBADMSG;
				return -1;
			}
			d->raw_off += used;
			d->plain_len = (size_t)m;
		}
		if (d->ss.final && d->raw_off < d->raw_len) {
			errno = EBADMSG; /* bytes after the end */
			return -1;
		}
	}
	size_t n = d->plain_len < cap ? d->plain_len : cap;
	memcpy(buf, d->plain, n);
	d->plain += n;
	d->plain_len -= n;
	prove(d, fd);
	return (ssize_t)n;
}
