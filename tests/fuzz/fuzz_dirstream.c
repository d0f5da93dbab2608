/* Fuzz target: the folder stream as a receiver reads it (lib/dirstream.c):
 * headers one after the other, file data skipped by its size, the walk's
 * depth and limits, every name through uk_fname_check(). Never reads past
 * the input; a header that parses is rebuilt and parses the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "udpkit/dirstream.h"
#include "udpkit/fname.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	struct uk_dirwalk w;
	struct uk_dirhdr h, g;
	size_t off = 0;
	char buf[1024];

	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	uk_dirwalk_init(&w, 8, 64, 1u << 20, 1u << 16);
	while (off < size) {
		int n = uk_dirhdr_parse(copy + off, size - off, &h), a, m;
		if (n <= 0)
			break;
		if ((size_t)n > size - off || h.name_len == 0 || h.name_len > UK_ATTACH_NAME_MAX ||
		    h.name[h.name_len] != 0)
			abort();
		m = uk_dirhdr_build(buf, sizeof(buf), &h);
		if (m > 0 && (uk_dirhdr_parse(buf, (size_t)m, &g) != m || g.size != h.size ||
			      g.name_len != h.name_len || memcmp(g.name, h.name, h.name_len) != 0))
			abort();
		(void)uk_fname_check(h.name, h.name_len);
		a = uk_dirwalk_header(&w, &h);
		if (a < 0 || a == UK_DIRWALK_END)
			break;
		if (w.depth > 8 || w.entries > 64 || w.bytes > (1u << 20))
			abort();
		off += (size_t)n;
		if (a == UK_DIRWALK_FILE || a == UK_DIRWALK_SKIP) {
			if (h.size > size - off)
				break;
			off += h.size;
		}
	}
	free(copy);
	return 0;
}
