/* files_seal.h: a room's file transfers sealed on the wire (files_seal.c,
 * over lib/sealstream.c): the server's and the downloader's ends of one TCP
 * connection, as byte pipes that files.c writes plain bytes into and reads
 * plain bytes from. Outside rooms none of this is used. */
#ifndef UDPKIT_CHAT_FILES_SEAL_H
#define UDPKIT_CHAT_FILES_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "udpkit/sealstream.h"

/* ---- serving ---- */
struct seal_srv;
struct seal_srv *seal_srv_new(const uint8_t *key);
void seal_srv_free(struct seal_srv *s);
/* Where the next chunk's plain bytes are gathered (UK_SS_CHUNK bytes), to
 * be passed to seal_srv_write. */
uint8_t *seal_srv_buf(struct seal_srv *s);
/* Reads the sealed request off fd: 1 with the plain request in req
 * (*req_len), 0 when more is to come, -1 when it is not a member's sealed
 * request (cut off, nothing is sent), -2 when the socket failed or closed. */
int seal_srv_request(struct seal_srv *s, int fd, char *req, size_t cap, size_t *req_len);
/* True when the sealed bytes of the last chunk wait to be sent: no new
 * plain bytes are taken until they are out. */
bool seal_srv_busy(const struct seal_srv *s);
/* Seals plain (<= UK_SS_CHUNK bytes) as the next chunk, the last one when
 * final, and sends what the socket takes: 0, or -1 when the socket failed.
 * With plain NULL, only sends what waits. */
int seal_srv_write(struct seal_srv *s, int fd, const void *plain, size_t len, bool final);
/* After the last chunk went out: reads the client's proof. 1: it proves
 * the client opened the whole stream, 0: not yet, -1: missing or wrong. */
int seal_srv_proof(struct seal_srv *s, int fd);
bool seal_srv_final_sent(const struct seal_srv *s);

/* ---- downloading ---- */
struct seal_dl;
/* Seals req into frame (cap >= UK_SS_REQ_FRAME_MAX); NULL on failure. */
struct seal_dl *seal_dl_new(const uint8_t *key, const char *req, size_t req_len, char *frame,
			    size_t cap, size_t *frame_len);
void seal_dl_free(struct seal_dl *d);
/* recv() of the opened stream: > 0 bytes, 0 at its sealed end (or a cut:
 * see seal_dl_whole), -1 with errno (EAGAIN; EBADMSG when it does not
 * authenticate). Sends the proof once the FINAL chunk opened. */
ssize_t seal_dl_recv(struct seal_dl *d, int fd, void *buf, size_t cap);
/* Opened bytes wait in memory (poll would not wake for them). */
bool seal_dl_pending(const struct seal_dl *d);

#endif
