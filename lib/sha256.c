/* sha256.c: SHA-256 through OpenSSL's EVP interface (EVP_sha256), the
 * only file that includes OpenSSL (include/udpkit/sha256.h says why). */
#include "udpkit/sha256.h"

#include <errno.h>
#include <string.h>

#include <openssl/evp.h>

_Static_assert(UK_SHA256_BYTES == 32, "SHA-256 gives 32 bytes");

int uk_sha256_init(struct uk_sha256 *s)
{
	if (!s->ctx)
		s->ctx = EVP_MD_CTX_new();
	s->err = 0;
	if (!s->ctx || EVP_DigestInit_ex(s->ctx, EVP_sha256(), NULL) != 1)
		s->err = -ENOMEM;
	return s->err;
}

void uk_sha256_update(struct uk_sha256 *s, const void *p, size_t n)
{
	if (s->err || !n)
		return;
	/* EVP_DigestUpdate fails only on a context without a digest. */
	if (!s->ctx || EVP_DigestUpdate(s->ctx, p, n) != 1)
		s->err = -EIO;
}

int uk_sha256_final(struct uk_sha256 *s, uint8_t out[UK_SHA256_BYTES])
{
	unsigned int len = 0;

	if (!s->err &&
	    (!s->ctx || EVP_DigestFinal_ex(s->ctx, out, &len) != 1 || len != UK_SHA256_BYTES))
		s->err = -EIO;
	if (s->err)
		memset(out, 0, UK_SHA256_BYTES);
	return s->err;
}

void uk_sha256_free(struct uk_sha256 *s)
{
	EVP_MD_CTX_free(s->ctx);
	s->ctx = NULL;
	s->err = 0;
}

int uk_sha256(const void *p, size_t n, uint8_t out[UK_SHA256_BYTES])
{
	unsigned int len = 0;

	if (EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) != 1 || len != UK_SHA256_BYTES) {
		memset(out, 0, UK_SHA256_BYTES);
		return -EIO;
	}
	return 0;
}
