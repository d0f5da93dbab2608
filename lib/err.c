/* err.c: text for the library's error codes (see include/udpkit/err.h). */
#include <string.h>

#include "udpkit/err.h"

const char *uk_strerror(int err)
{
	switch (err) {
	case UK_EPARSE:
		return "cannot parse";
	case UK_ERANGE_:
		return "value out of range";
	case UK_ENOSPACE:
		return "no space left in the output buffer";
	case UK_ENOTFOUND:
		return "host not found";
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
	return "unknown error";
}
