/* Fuzz target: GETFILEDATA/GETDIRFILES requests (lib/filereq.c) and the
 * offer lookup behind them (lib/offer.c). Never reads past the input; a
 * complete request has its NUL where the length says; a request that
 * parses is rebuilt and parses to the same numbers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "udpkit/filereq.h"
#include "udpkit/offer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char peer[4] = {127, 0, 0, 1};
	uint8_t *copy = malloc(size ? size : 1);
	struct uk_filereq r, r2;
	struct uk_ipmsg_ident id;
	struct uk_offer o;
	char buf[256];
	int n, m;

	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	n = uk_filereq_parse(copy, size, &r);
	if (n > 0) {
		if ((size_t)n > size || copy[n - 1] != 0 || (size_t)n > UK_FILEREQ_MAX)
			abort();
		uk_ipmsg_ident_set(&id, "u", "h", "n", "");
		m = uk_filereq_build(buf, sizeof(buf), &id, 1, r.mode, 0, r.offer_no, r.id_hex,
				     r.offset);
		if (m <= 0 || uk_filereq_parse(buf, (size_t)m, &r2) != m ||
		    r2.offer_no != r.offer_no || r2.id_hex != r.id_hex || r2.offset != r.offset)
			abort();
		uk_offer_init(&o, r.offer_no, peer, 4, 0, 0);
		uk_offer_add(&o, r.id_hex, 100, r.mode == UK_FILEREQ_GETDIRFILES);
		m = uk_offer_find(&o, &r, peer, 4);
		if (m != 0 && !(r.offset > 100 && m < 0))
			abort();
	} else if (n == 0 && size >= UK_FILEREQ_MAX) {
		abort();
	}
	free(copy);
	return 0;
}
