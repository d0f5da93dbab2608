/* Fuzz target: uk_text_escape()/uk_text_unescape(), the one door from
 * network bytes to a terminal. Escaping any input with the documented room
 * must succeed, leave no control byte, C1 control or bidi override in the
 * output, and unescape back to the input exactly; a short buffer yields a
 * prefix that is itself a valid escape of a prefix of the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "udpkit/err.h"
#include "udpkit/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The checks are not instrumented: they are much of the work of each run
 * and their branches are no coverage of the code under test. */
#define MODEL __attribute__((no_sanitize("coverage"), noinline))

MODEL static void check_escaped(const char *esc, size_t n)
{
	size_t i = 0;

	/* The escaped form is valid UTF-8 made of printable characters. */
	for (size_t j = 0; j < n; j++)
		if ((unsigned char)esc[j] < 0x20)
			abort();
	while (i < n) {
		uint32_t cp;
		size_t k = uk_utf8_decode((const unsigned char *)esc + i, n - i, &cp);
		if (k == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
		    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
		    cp == 0x200e || cp == 0x200f || cp == 0x061c)
			abort();
		i += k;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cap = UK_ESCAPE_SIZE(size);
	char *esc = malloc(cap), *json = NULL;
	unsigned char *back = malloc(size ? size : 1);
	int n, m;

	if (!esc || !back)
		goto done;
	n = uk_text_escape(data, size, esc, cap);
	if (n < 0 || (size_t)n >= cap || strlen(esc) != (size_t)n)
		abort();
	check_escaped(esc, (size_t)n);
	m = uk_text_unescape(esc, (size_t)n, back, size);
	if (m != (int)size || (size && memcmp(back, data, size) != 0))
		abort();
	/* The escaped text is fit for JSON with the documented room. */
	json = malloc(6 * (size_t)n + 1);
	if (json && uk_json_escape(esc, (size_t)n, json, 6 * (size_t)n + 1) < 0)
		abort();

	/* A buffer too small: a NUL-terminated prefix, cut between escapes,
	 * that unescapes to a prefix of the input. */
	if (size > 0) {
		size_t small = 1 + (size_t)data[0] % ((size_t)n + 1);
		int p = uk_text_escape(data, size, esc, small);
		size_t plen = strlen(esc);
		if (p >= 0 ? (size_t)p != plen : (p != UK_ENOSPACE || plen >= small))
			abort();
		m = uk_text_unescape(esc, plen, back, size);
		if (m < 0 || (size_t)m > size || memcmp(back, data, (size_t)m) != 0)
			abort();
	}

	/* Arbitrary text into the unescaper: it may refuse, never overrun. */
	m = uk_text_unescape((const char *)data, size, back, size);
	if (m != UK_EPARSE && m != UK_ENOSPACE && (m < 0 || (size_t)m > size))
		abort();
done:
	free(esc);
	free(back);
	free(json);
	return 0;
}
