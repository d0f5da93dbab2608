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
	if (err < 0 && err > -4096)
		return strerror(-err);
	return "unknown error";
}
