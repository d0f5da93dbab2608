/* err.c: text for the library's error codes (see include/udpkit/err.h). */
#include <string.h>

#include "udpkit/err.h"
#include "udpkit/i18n.h"

const char *uk_strerror(int err)
{
	switch (err) {
	case UK_EPARSE:
		return N_("cannot parse");
	case UK_ERANGE_:
		return N_("value out of range");
	case UK_ENOSPACE:
		return N_("no space left in the output buffer");
	case UK_EFAMILY:
		return N_("address family does not match");
	case UK_ENOTFOUND:
		return N_("no such host");
	case UK_ENAMESERVICE:
		return N_("name service unreachable (no answer from the DNS servers)");
	case UK_EAMBIGUOUS:
		return N_("ambiguous: an IPv6 address with a port needs brackets, [ADDR]:PORT");
	default:
		break;
	}
	/* strerrordesc_np, not strerror: its text is static (strerror's for an
	 * unknown number is a buffer the next call frees) and thread-safe. */
	if (err < 0 && err > -4096) {
		const char *s = strerrordesc_np(-err);
		if (s)
			return s;
	}
	return N_("unknown error");
}
