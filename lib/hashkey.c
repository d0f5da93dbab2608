/* hashkey.c: the process's hash key and random bytes (see
 * include/udpkit/hashkey.h). libsodium is initialised once, here. */
#include <pthread.h>
#include <string.h>
#include <sys/random.h>

#include <sodium.h>

#include "udpkit/hashkey.h"

static unsigned char key[crypto_shorthash_KEYBYTES];
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int sodium_ok;

_Static_assert(crypto_shorthash_KEYBYTES == UK_HASHKEY_BYTES, "SipHash takes a 16-byte key");
_Static_assert(crypto_shorthash_BYTES == 8, "SipHash gives 8 bytes");

static void kernel_random(void *p, size_t n)
{
	unsigned char *b = p;

	/* getrandom() blocks only until the pool is initialised at boot. */
	while (n > 0) {
		ssize_t k = getrandom(b, n, 0);
		if (k <= 0)
			continue;
		b += k;
		n -= (size_t)k;
	}
}

static void init_once(void)
{
	/* sodium_init() returns 1 when already initialised by someone else. */
	sodium_ok = sodium_init() >= 0;
	if (sodium_ok)
		randombytes_buf(key, sizeof(key));
	else
		kernel_random(key, sizeof(key));
}

uint64_t uk_hash(const void *p, size_t n)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h;

	pthread_once(&once, init_once);
	crypto_shorthash(out, p, n, key);
	memcpy(&h, out, sizeof(h));
	return h;
}

uint64_t uk_hash2(uint64_t a, uint64_t b)
{
	uint64_t v[2] = {a, b};
	return uk_hash(v, sizeof(v));
}

void uk_hashkey_set(const unsigned char k[UK_HASHKEY_BYTES])
{
	pthread_once(&once, init_once);
	memcpy(key, k, sizeof(key));
}

void uk_random_bytes(void *p, size_t n)
{
	pthread_once(&once, init_once);
	if (sodium_ok)
		randombytes_buf(p, n);
	else
		kernel_random(p, n);
}
