/* charset.c: incoming IPMsg text to UTF-8 with glibc's iconv. A converter
 * must consume every byte without EILSEQ/EINVAL to be accepted, so text in
 * one charset is never half-converted by another. */
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <string.h>

#include "udpkit/charset.h"
#include "udpkit/err.h"
#include "udpkit/text.h"

/* iconv_open() reports failure as (iconv_t)-1: NULL here instead. */
static void *opened(iconv_t cd)
{
	/* NOLINTNEXTLINE(performance-no-int-to-ptr): iconv's own failure value */
	return cd == (iconv_t)-1 ? NULL : cd;
}

int uk_charset_init(struct uk_charset *c)
{
	c->gb18030 = opened(iconv_open("UTF-8", "GB18030"));
	c->cp932 = opened(iconv_open("UTF-8", "CP932"));
	return 0;
}

void uk_charset_free(struct uk_charset *c)
{
	if (c->gb18030)
		iconv_close((iconv_t)c->gb18030);
	if (c->cp932)
		iconv_close((iconv_t)c->cp932);
	c->gb18030 = c->cp932 = NULL;
}

/* Converts all of in, or fails. The result must also be valid UTF-8 (it
 * is, from glibc; checked because the display relies on it). */
static bool convert(void *cd, const void *in, size_t n, char *out, size_t cap, size_t *out_len)
{
	/* iconv() takes its input as char ** but never writes through it. */
	char *ip = (char *)in, *op = out;
	size_t il = n, ol = cap - 1;

	if (!cd)
		return false;
	iconv((iconv_t)cd, NULL, NULL, NULL, NULL); /* reset shift state */
	if (iconv((iconv_t)cd, &ip, &il, &op, &ol) == (size_t)-1 || il != 0)
		return false;
	if (iconv((iconv_t)cd, NULL, NULL, &op, &ol) == (size_t)-1)
		return false;
	*op = 0;
	*out_len = (size_t)(op - out);
	return uk_utf8_valid(out, *out_len);
}

int uk_charset_decode(struct uk_charset *c, const void *in, size_t n, bool utf8_flag, char *out,
		      size_t cap, size_t *out_len)
{
	if (cap < n + 1)
		return UK_ENOSPACE;
	if (utf8_flag || uk_utf8_valid(in, n)) {
		memcpy(out, in, n);
		out[n] = 0;
		*out_len = n;
		return UK_CHARSET_UTF8;
	}
	if (convert(c->gb18030, in, n, out, cap, out_len))
		return UK_CHARSET_GB18030;
	if (convert(c->cp932, in, n, out, cap, out_len))
		return UK_CHARSET_CP932;
	memcpy(out, in, n);
	out[n] = 0;
	*out_len = n;
	return UK_CHARSET_RAW;
}
