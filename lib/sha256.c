/* sha256.c: SHA-256 through OpenSSL's EVP interface (EVP_sha256), the
 * only file that uses OpenSSL (include/udpkit/sha256.h says why).
 *
 * libcrypto is loaded (dlopen) on the first hash, not linked: linked, it
 * made every udpkit process (an echo server, a ping) about 1.8 MB larger
 * in resident memory (its relocated data and pages touched at load) for
 * code only the chat's file transfers run (bench/README.md, memory). */
#include "udpkit/sha256.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/evp.h>

_Static_assert(UK_SHA256_BYTES == 32, "SHA-256 gives 32 bytes");

/* Debian 12's libssl3 (the package's Depends names it). */
#define LIBCRYPTO "libcrypto.so.3"

static struct {
	EVP_MD_CTX *(*ctx_new)(void);
	void (*ctx_free)(EVP_MD_CTX *ctx);
	const EVP_MD *(*sha256)(void);
	int (*init)(EVP_MD_CTX *ctx, const EVP_MD *type, ENGINE *impl);
	int (*update)(EVP_MD_CTX *ctx, const void *d, size_t cnt);
	int (*final)(EVP_MD_CTX *ctx, unsigned char *md, unsigned int *s);
	int (*digest)(const void *data, size_t count, unsigned char *md, unsigned int *size,
		      const EVP_MD *type, ENGINE *impl);
	bool ok;
} C;
static pthread_once_t C_once = PTHREAD_ONCE_INIT;

static void load(void)
{
	void *h = dlopen(LIBCRYPTO, RTLD_NOW | RTLD_LOCAL);

	if (!h)
		return;
	/* POSIX's way to take a function from dlsym(). */
	*(void **)&C.ctx_new = dlsym(h, "EVP_MD_CTX_new");
	*(void **)&C.ctx_free = dlsym(h, "EVP_MD_CTX_free");
	*(void **)&C.sha256 = dlsym(h, "EVP_sha256");
	*(void **)&C.init = dlsym(h, "EVP_DigestInit_ex");
	*(void **)&C.update = dlsym(h, "EVP_DigestUpdate");
	*(void **)&C.final = dlsym(h, "EVP_DigestFinal_ex");
	*(void **)&C.digest = dlsym(h, "EVP_Digest");
	C.ok = C.ctx_new && C.ctx_free && C.sha256 && C.init && C.update && C.final && C.digest;
}

/* True when libcrypto is there (loaded on first use). */
static bool loaded(void)
{
	pthread_once(&C_once, load);
	return C.ok;
}

int uk_sha256_init(struct uk_sha256 *s)
{
	if (!loaded()) {
		s->err = -ENOSYS;
		return s->err;
	}
	if (!s->ctx)
		s->ctx = C.ctx_new();
	s->err = 0;
	if (!s->ctx || C.init(s->ctx, C.sha256(), NULL) != 1)
		s->err = -ENOMEM;
	return s->err;
}

void uk_sha256_update(struct uk_sha256 *s, const void *p, size_t n)
{
	if (s->err || !n)
		return;
	/* EVP_DigestUpdate fails only on a context without a digest. */
	if (!s->ctx || C.update(s->ctx, p, n) != 1)
		s->err = -EIO;
}

int uk_sha256_final(struct uk_sha256 *s, uint8_t out[UK_SHA256_BYTES])
{
	unsigned int len = 0;

	if (!s->err && (!s->ctx || C.final(s->ctx, out, &len) != 1 || len != UK_SHA256_BYTES))
		s->err = -EIO;
	if (s->err)
		memset(out, 0, UK_SHA256_BYTES);
	return s->err;
}

void uk_sha256_free(struct uk_sha256 *s)
{
	if (s->ctx) /* a context exists only once libcrypto is loaded */
		C.ctx_free(s->ctx);
	s->ctx = NULL;
	s->err = 0;
}

int uk_sha256(const void *p, size_t n, uint8_t out[UK_SHA256_BYTES])
{
	unsigned int len = 0;

	if (!loaded() || C.digest(p, n, out, &len, C.sha256(), NULL) != 1 ||
	    len != UK_SHA256_BYTES) {
		memset(out, 0, UK_SHA256_BYTES);
		return -EIO;
	}
	return 0;
}
