/* Fuzz target: the per-peer charset decision and the encoder
 * (lib/charset.c). The first byte picks the default and the peer's memory
 * (as a run of datagrams from one peer would leave it); the rest is the
 * text, decoded and then re-encoded. Whatever comes back fits the
 * documented room, anything but RAW is valid UTF-8, the memory stays in
 * range, and encoding never grows the text nor drops a character. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "udpkit/charset.h"
#include "udpkit/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct uk_charset c;
	static bool ready;
	struct uk_charset_memo memo = {0};
	enum uk_charset_kind dflt;
	size_t cap, len = 0, replaced = 0;
	char *out, *enc;
	int kind, n;

	if (!ready) {
		uk_charset_init(&c);
		ready = true;
	}
	if (size < 1)
		return 0;
	dflt = (enum uk_charset_kind)(data[0] % UK_CHARSET_KINDS);
	if (data[0] & 0x04)
		uk_charset_announce(&memo, (enum uk_charset_kind)((data[0] >> 3) % 3));
	memo.utf8_cap = (data[0] & 0x80) != 0;
	data++;
	size--;
	cap = UK_CHARSET_OUT_SIZE(size);
	out = malloc(cap);
	enc = malloc(cap);
	if (!out || !enc)
		abort();
	/* Twice, as two datagrams from one peer: the second sees the first's proof. */
	for (int round = 0; round < 2; round++) {
		kind = uk_charset_decode_peer(&c, &memo, dflt, data, size,
					      size && (data[0] & 1) && round, out, cap, &len);
		if (kind < 0 || len >= cap || out[len] != 0)
			abort();
		if ((kind == UK_CHARSET_GB18030 || kind == UK_CHARSET_CP932) &&
		    !uk_utf8_valid(out, len))
			abort();
		if (memo.kind >= UK_CHARSET_KINDS || memo.source > UK_CHARSET_SRC_ANNOUNCED ||
		    memo.evidence > 15)
			abort();
	}
	for (int k = 0; k < UK_CHARSET_KINDS; k++) {
		n = uk_charset_encode(&c, (enum uk_charset_kind)k, out, len, enc, len + 1,
				      &replaced);
		if (n < 0 || (size_t)n > len || enc[n] != 0 || replaced > len)
			abort();
	}
	(void)uk_charset_for_peer(&memo, dflt);
	free(out);
	free(enc);
	return 0;
}
