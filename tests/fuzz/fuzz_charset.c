/* Fuzz target: the charset guesser (lib/charset.c). Whatever it returns
 * fits the documented room, and anything but RAW is valid UTF-8. */
#include <stdint.h>
#include <stdlib.h>

#include "udpkit/charset.h"
#include "udpkit/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct uk_charset c;
	static bool ready;
	size_t cap = UK_CHARSET_OUT_SIZE(size), len = 0;
	char *out = malloc(cap);
	int kind;

	if (!ready) {
		uk_charset_init(&c);
		ready = true;
	}
	if (!out)
		return 0;
	kind = uk_charset_decode(&c, data, size, size && data[0] == 0xEF, out, cap, &len);
	if (kind < 0 || len >= cap || out[len] != 0)
		abort();
	if ((kind == UK_CHARSET_GB18030 || kind == UK_CHARSET_CP932) && !uk_utf8_valid(out, len))
		abort();
	free(out);
	return 0;
}
