/* err.h: the library's one error contract.
 * Every library function returns >= 0 on success and a negative code on
 * failure: -errno for system errors, or one of the UK_E* codes below for
 * errors of our own. uk_strerror() turns either kind into text. */
#ifndef UDPKIT_ERR_H
#define UDPKIT_ERR_H

enum {
	UK_EPARSE = -10001,  /* text that does not parse (address, number, packet) */
	UK_ERANGE_ = -10002, /* a number outside its allowed range */
	/* -10003 and -10004 were never returned and are retired. */
	UK_ENOSPACE = -10005,	  /* an output buffer is too small */
	UK_EFAMILY = -10006,	  /* the host has no address of the family asked for (-4 ::1) */
	UK_ENOTFOUND = -10007,	  /* a name that does not resolve: no such host */
	UK_ENAMESERVICE = -10008, /* the name service (DNS) did not answer */
	UK_EAMBIGUOUS = -10009	  /* text with two readings ("::1:8080") */
};

/* Returns a static, human-readable string for err (negative); never NULL,
 * thread-safe ("unknown error" for a number without a message). */
const char *uk_strerror(int err);

#endif
