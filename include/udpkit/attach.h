/* attach.h: the attachment list of an IPMsg SENDMSG with FILEATTACHOPT,
 * which follows the text's NUL. Each entry is
 *   fileID:name:size:mtime:attr[:ext-attr...]:
 * ended by BEL (0x07); fileID is decimal, size, mtime and attr are hex,
 * and "::" stands for one ':' in the name (IP Messenger's protocol.txt;
 * iptux sends "10000:report.txt:12:6b0d8a30:1:\a"). File transfer (TCP,
 * issue 8) builds on this; for now the chat shows the offer and declines
 * it. Pure and bounds-checked: any bytes in, entries or UK_EPARSE out. */
#ifndef UDPKIT_ATTACH_H
#define UDPKIT_ATTACH_H

#include <stddef.h>
#include <stdint.h>

#define UK_ATTACH_NAME_MAX 255 /* bytes of a name kept (longer: malformed) */
#define UK_ATTACH_MAX 16       /* entries one offer shows */

/* File attribute type (low byte of attr). */
#define UK_ATTACH_REGULAR 0x1
#define UK_ATTACH_DIR 0x2

struct uk_attach {
	uint64_t file_id;
	char name[UK_ATTACH_NAME_MAX + 1]; /* "::" unescaped, the peer's charset, NUL-ended */
	size_t name_len;		   /* may hold NUL bytes: use the length */
	uint64_t size;			   /* bytes */
	uint64_t mtime;			   /* seconds since the epoch */
	uint32_t attr;
};

/* Parses the list in data (len bytes; a NUL or the end ends it). Stores at
 * most max well-formed entries in out and returns their number; *total
 * gets how many well-formed entries the list holds and *bad how many
 * entries did not parse (either may be NULL). Empty entries (a trailing
 * BEL) are skipped. */
size_t uk_attach_parse(const void *data, size_t len, struct uk_attach *out, size_t max,
		       size_t *total, size_t *bad);

#endif
