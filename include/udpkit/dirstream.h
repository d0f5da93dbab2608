/* dirstream.h: the folder stream, the reply to GETDIRFILES. The sender
 * walks the folder and writes, per entry, a header
 *   hhhh:name:size:attr:14=mtime:16=ctime:
 * (hhhh = the header's own length in 4 hex digits, counting itself and
 * the final ':'; name with ':' doubled; the numbers hex; 14 and 16 are IP
 * Messenger's MTIME and CREATETIME keys; we send the mtime in both, see
 * cmd/chat/files.c) followed, for a regular file, by exactly size bytes
 * of data. Entering a directory is a header with attr
 * 2 (DIR), leaving it one with name ".", size 0, attr 3 (RETPARENT). The
 * first entry is the offered folder itself; the stream ends with the
 * RETPARENT that leaves it (iptux's SendDirFiles; ipmsg protocol.txt).
 * uk_dirwalk follows the depth and the limits on the receiving side.
 * Pure: bytes in, headers and decisions out. */
#ifndef UDPKIT_DIRSTREAM_H
#define UDPKIT_DIRSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "udpkit/attach.h"

#define UK_DIRHDR_MAX 0xffff /* what 4 hex digits can count */

struct uk_dirhdr {
	char name[UK_ATTACH_NAME_MAX + 1]; /* "::" unescaped, peer's charset, NUL-ended */
	size_t name_len;
	uint64_t size;	/* data bytes that follow (regular files) */
	uint32_t attr;	/* UK_ATTACH_REGULAR, _DIR, _RETPARENT in the low byte */
	uint64_t mtime; /* key 14, 0 when absent */
	uint64_t ctime; /* key 16, 0 when absent */
	/* A regular file's SHA-256 between two udpkit: the extended attribute
	 * UK_ATTACH_EXT_SHA256=<64 hex digits> after keys 14 and 16 (iptux
	 * reads the first six fields and skips the rest of the header);
	 * a malformed value is ignored, as unknown keys are. */
	bool has_sha256;
	uint8_t sha256[UK_ATTACH_SHA256_BYTES];
};

/* Parses the header at the start of buf (len bytes so far). Returns the
 * header's length when it is complete and valid, 0 when more bytes are
 * needed, UK_EPARSE when it is malformed (a length field that is not 4 hex
 * digits and ':', shorter than its fields or longer than UK_DIRHDR_MAX,
 * an empty or too long name, a bad number). Pure. */
int uk_dirhdr_parse(const void *buf, size_t len, struct uk_dirhdr *h);

/* Builds a header as iptux does (size with at least 9 digits, keys 14
 * and 16), then the SHA-256 attribute when h->has_sha256. Returns its length or UK_ENOSPACE,
 * UK_EPARSE for an empty name or one holding NUL. Pure. */
int uk_dirhdr_build(void *out, size_t cap, const struct uk_dirhdr *h);

/* The receiving side's bookkeeping over a folder stream. */
struct uk_dirwalk {
	unsigned depth;	    /* directories entered and not left */
	uint64_t entries;   /* headers seen */
	uint64_t bytes;	    /* file bytes announced so far */
	unsigned max_depth; /* limits, set before the first header */
	uint64_t max_entries;
	uint64_t max_bytes;
	uint64_t max_file; /* per file */
	bool done;	   /* the top folder was left: the stream is over */
};

enum uk_dirwalk_action {
	UK_DIRWALK_ENTER = 1, /* create (or open) directory h->name and go in */
	UK_DIRWALK_FILE,      /* h->size bytes of file h->name follow */
	UK_DIRWALK_LEAVE,     /* back to the parent */
	UK_DIRWALK_SKIP,      /* an entry of another kind: h->size bytes to discard */
	UK_DIRWALK_END	      /* left the top folder: the stream is complete */
};

/* Sets the limits; zeroes the rest. */
void uk_dirwalk_init(struct uk_dirwalk *w, unsigned max_depth, uint64_t max_entries,
		     uint64_t max_bytes, uint64_t max_file);

/* What to do with header h. The first header must enter a directory; a
 * header after the end, a RETPARENT that would climb above the top, a
 * level deeper than max_depth, more entries, bytes or a bigger file than
 * allowed are refused: UK_EPARSE (malformed stream) or UK_ERANGE_ (a limit),
 * and the caller drops the connection. Names are not checked here (see
 * uk_fname_check()). Pure. */
int uk_dirwalk_header(struct uk_dirwalk *w, const struct uk_dirhdr *h);

#endif
