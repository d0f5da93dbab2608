/* Fuzz target: uk_conf_parse(), the configuration reader. Any input is
 * either refused with a line number inside the input, or parsed into
 * entries whose keys are non-empty [a-z0-9-] words and whose values are
 * within bounds and NUL-free, in increasing line order. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "udpkit/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uk_conf c;
	size_t lines = 1;

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	if (uk_conf_parse(&c, (const char *)data, size) == 0) {
		unsigned last = 0;
		for (size_t i = 0; i < c.count; i++) {
			const struct uk_conf_entry *e = &c.entries[i];
			size_t k = strlen(e->key);
			if (k == 0 || k > UK_CONF_MAX_KEY ||
			    strspn(e->key, "abcdefghijklmnopqrstuvwxyz0123456789-") != k)
				abort();
			if (strlen(e->value) > UK_CONF_MAX_VALUE || e->line <= last ||
			    e->line > lines)
				abort();
			last = e->line;
		}
	} else if (!c.error || c.error_line > lines) {
		abort();
	}
	uk_conf_free(&c);
	return 0;
}
