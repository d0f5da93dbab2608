/* fname.h: file names that come from the network. A name in a file offer
 * or a folder stream is one path component chosen by a peer that may be
 * hostile, so before it names anything on disk it must pass
 * uk_fname_check(); the receiver then writes to a partial name and, when
 * the final name is taken, to a numbered one. Pure: no file system here. */
#ifndef UDPKIT_FNAME_H
#define UDPKIT_FNAME_H

#include <stddef.h>
#include <stdint.h>

/* Longest name accepted, in bytes: NAME_MAX of Linux file systems. */
#define UK_FNAME_MAX 255

enum uk_fname_verdict {
	UK_FNAME_OK = 0,
	UK_FNAME_EMPTY,	    /* "" */
	UK_FNAME_DOT,	    /* "." */
	UK_FNAME_DOTDOT,    /* ".." or a ".." component ("../x", "a\..\b") */
	UK_FNAME_ABSOLUTE,  /* "/x", "\x", "C:\x", "C:/x" */
	UK_FNAME_SLASH,	    /* '/' inside */
	UK_FNAME_BACKSLASH, /* '\' inside (a path separator on Windows) */
	UK_FNAME_CONTROL,   /* a byte below 0x20, DEL, or a C1 control */
	UK_FNAME_TOO_LONG,  /* more than UK_FNAME_MAX bytes */
	UK_FNAME_NOT_UTF8,  /* not well-formed UTF-8 */
	UK_FNAME_BIDI	    /* a bidi override (U+202A..E, U+2066..9): hides the real extension */
};

/* Checks name (len bytes, UTF-8 after the charset decoding) as a single
 * path component to create under a directory we chose. Returns the first
 * reason that refuses it, or UK_FNAME_OK. Pure. */
enum uk_fname_verdict uk_fname_check(const char *name, size_t len);

/* A short English reason for a verdict ("contains '/'"); never NULL. */
const char *uk_fname_reason(enum uk_fname_verdict v);

/* The n-th alternative of a taken name: "report (n).txt" for
 * "report.txt", "archive (n).tar.gz", "dir (n)", ".bashrc (n)"; the stem is
 * cut at a UTF-8 boundary so the result stays within UK_FNAME_MAX bytes.
 * n = 0 copies name. Returns the length or UK_ENOSPACE. Pure. */
int uk_fname_numbered(const char *name, size_t len, unsigned n, char *out, size_t cap);

/* The partial (temporary) name of a download:
 * ".udpkit-<16 hex>.part", the hex a hash of (name, size, mtime), so a
 * download of the same file offered again finds what an interrupted one
 * left and resumes. Always 29 bytes + NUL (cap >= 30). Returns 29 or
 * UK_ENOSPACE. Pure. */
int uk_fname_partial(const char *name, size_t len, uint64_t size, uint64_t mtime, char *out,
		     size_t cap);

#endif
