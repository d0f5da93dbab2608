/* Fuzz target: names from the network (lib/fname.c). A name that passes
 * holds no separator, control byte or "..", and its numbered and partial
 * forms pass too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "udpkit/fname.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1);
	char out[UK_FNAME_MAX + 1];
	int n;

	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	if (uk_fname_check(copy, size) == UK_FNAME_OK) {
		if (size == 0 || size > UK_FNAME_MAX || memchr(copy, '/', size) ||
		    memchr(copy, '\\', size) || memchr(copy, 0, size) ||
		    (size == 2 && memcmp(copy, "..", 2) == 0))
			abort();
		for (unsigned k = 1; k < 1000; k *= 7) {
			n = uk_fname_numbered(copy, size, k, out, sizeof(out));
			if (n <= 0 || uk_fname_check(out, (size_t)n) != UK_FNAME_OK)
				abort();
		}
		n = uk_fname_partial(copy, size, 1, 2, out, sizeof(out));
		if (n != 29 || uk_fname_check(out, (size_t)n) != UK_FNAME_OK)
			abort();
	}
	(void)uk_fname_reason(uk_fname_check(copy, size));
	free(copy);
	return 0;
}
