/* Fuzz target: the IPMsg attachment-list parser (lib/attach.c). Never
 * reads past the input; counts add up; names are NUL-ended and bounded. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "udpkit/attach.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uk_attach a[4];
	size_t total = 0, bad = 0;
	/* A copy of exactly size bytes, so ASan sees any over-read. */
	uint8_t *copy = malloc(size ? size : 1);
	size_t n;

	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	n = uk_attach_parse(copy, size, a, 4, &total, &bad);
	if (n > 4 || n > total || (total < 4 && n != total))
		abort();
	for (size_t i = 0; i < n; i++)
		if (a[i].name_len == 0 || a[i].name_len > UK_ATTACH_NAME_MAX ||
		    a[i].name[a[i].name_len] != 0)
			abort();
	free(copy);
	return 0;
}
