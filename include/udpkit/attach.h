/* attach.h: the attachment list of an IPMsg SENDMSG with FILEATTACHOPT,
 * which follows the text's NUL. Each entry is
 *   fileID:name:size:mtime:attr[:ext-attr...]:
 * ended by BEL (0x07); fileID is decimal, size, mtime and attr are hex,
 * and "::" stands for one ':' in the name (IP Messenger's protocol.txt;
 * iptux sends "10000:report.txt:12:6b0d8a30:1:\a"). Between two udpkit an
 * extended attribute UK_ATTACH_EXT_SHA256=<64 hex digits> carries the
 * file's SHA-256; other clients skip attributes they do not know. Pure and
 * bounds-checked: any bytes in, entries or UK_EPARSE out. */
#ifndef UDPKIT_ATTACH_H
#define UDPKIT_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UK_ATTACH_NAME_MAX 255 /* bytes of a name kept (longer: malformed) */
#define UK_ATTACH_MAX 16       /* entries one offer shows */

/* File attribute type (low byte of attr). */
#define UK_ATTACH_REGULAR 0x1
#define UK_ATTACH_DIR 0x2
#define UK_ATTACH_RETPARENT 0x3 /* folder stream only: leave the directory */

/* Our extended attribute key (hex, as IPMsg's keys are): far above the
 * keys IP Messenger defines (0x1..0x21 and 0x10000.. for macOS forks), so
 * no client gives it a meaning of its own. */
#define UK_ATTACH_EXT_SHA256 "75d256"
#define UK_ATTACH_SHA256_BYTES 32

struct uk_attach {
	uint64_t file_id;
	char name[UK_ATTACH_NAME_MAX + 1]; /* "::" unescaped, the peer's charset, NUL-ended */
	size_t name_len;		   /* may hold NUL bytes: use the length */
	uint64_t size;			   /* bytes */
	uint64_t mtime;			   /* seconds since the epoch */
	uint32_t attr;
	bool has_sha256; /* the UK_ATTACH_EXT_SHA256 attribute was there */
	uint8_t sha256[UK_ATTACH_SHA256_BYTES];
};

/* Parses the list in data (len bytes; a NUL or the end ends it). Stores at
 * most max well-formed entries in out and returns their number; *total
 * gets how many well-formed entries the list holds and *bad how many
 * entries did not parse (either may be NULL). Empty entries (a trailing
 * BEL) are skipped. */
size_t uk_attach_parse(const void *data, size_t len, struct uk_attach *out, size_t max,
		       size_t *total, size_t *bad);

/* Appends one entry to out (cap bytes, len used so far):
 * "id:name:size:mtime:attr:" with id decimal, the rest hex, ':' in the
 * name doubled, then "75d256=<hex>:" when has_sha256, then BEL. The name
 * is sent as it is (the caller converts it to the peer's charset); a name
 * that is empty or holds NUL or BEL cannot be sent (UK_EPARSE). Returns the
 * new length or UK_ENOSPACE (out is then unchanged up to len). Pure. */
int uk_attach_encode(char *out, size_t cap, size_t len, const struct uk_attach *a);

#endif
