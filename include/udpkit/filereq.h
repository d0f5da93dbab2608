/* filereq.h: the request that opens a file transfer over TCP. The
 * receiver of an offer connects to the sender's TCP port and writes one
 * IPMsg header, NUL-ended:
 *   Ver:PacketNo:User:Host:Command:offerNo:fileID:offset
 * with Command GETFILEDATA (0x60; iptux adds FILEATTACHOPT) and the three
 * numbers in hex ("1_iptux 0.8.3:5:u:h:2097248:5f1:2710:0"), or
 * GETDIRFILES (0x62) with "offerNo:fileID" (iptux adds ":0"). The sender
 * answers a file with its bytes from offset to the end, a folder with the
 * folder stream (dirstream.h). Pure: bytes in, a request out. */
#ifndef UDPKIT_FILEREQ_H
#define UDPKIT_FILEREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "udpkit/ipmsg.h"

enum { UK_FILEREQ_GETFILEDATA = 0x60, UK_FILEREQ_GETDIRFILES = 0x62 };

/* The most bytes a request may take, its NUL included: a header with
 * bounded user and host plus three numbers fits in a quarter of it. */
#define UK_FILEREQ_MAX 1024

struct uk_filereq {
	uint32_t mode;	   /* UK_FILEREQ_GETFILEDATA or UK_FILEREQ_GETDIRFILES */
	uint32_t command;  /* as sent, options included */
	uint64_t offer_no; /* the offer's packet number */
	uint64_t id_hex;   /* the file ID read as hex (IP Messenger, iptux) */
	uint64_t id_dec;   /* ... and as decimal, when id_dec_ok */
	bool id_dec_ok;	   /* all digits were decimal */
	uint64_t offset;   /* GETFILEDATA: first byte wanted; 0 otherwise */
	bool iptux;	   /* the version field names iptux */
};

/* Parses a request in buf (len bytes received so far). Returns the
 * request's length (its NUL included) when it is complete and valid, 0
 * when more bytes are needed, UK_EPARSE when it is malformed or no NUL
 * came within UK_FILEREQ_MAX bytes. Pure. */
int uk_filereq_parse(const void *buf, size_t len, struct uk_filereq *r);

/* Builds a request (with its NUL) for file file_id of offer offer_no:
 * mode GETFILEDATA with offset, or GETDIRFILES; opts are added to the
 * command (FILEATTACHOPT, as iptux sends it). Returns the length or
 * UK_ENOSPACE. */
int uk_filereq_build(void *out, size_t cap, const struct uk_ipmsg_ident *id, uint64_t packet_no,
		     uint32_t mode, uint32_t opts, uint64_t offer_no, uint64_t file_id,
		     uint64_t offset);

/* The file ID the request names among ids[0..n), read as iptux reads it:
 * as hex first, then as decimal. Returns the index or -1. Pure. */
int uk_filereq_match(const struct uk_filereq *r, const uint64_t *ids, size_t n);

#endif
