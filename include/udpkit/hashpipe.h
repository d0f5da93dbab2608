/* hashpipe.h: SHA-256 of a stream on a worker thread, beside the I/O that
 * produces the bytes. A receiving chat that recv()s, write()s and hashes
 * in one thread spends half its CPU hashing (perf, bench/README.md) and
 * is slower than the sender; with the hash on a second core the receive
 * loop runs at the speed of its copies. Two ways in: bytes fed (copied
 * into one of four 256 KiB slots; a hash shorter than one slot is done in
 * the caller's thread at the end, so many small files never wait for the
 * worker), or a file the caller writes itself, which the worker hashes
 * from the page cache as far as it is written (file mode: no copy at
 * all, for a download spliced from its socket). One feeder thread per
 * pipe. */
#ifndef UDPKIT_HASHPIPE_H
#define UDPKIT_HASHPIPE_H

#include <stddef.h>
#include <stdint.h>

#include "udpkit/sha256.h"

struct uk_hashpipe;

/* A pipe and its worker thread (idle until fed). Returns 0 and *out, or
 * -ENOMEM / -EAGAIN (no thread). Free it with uk_hashpipe_free. */
int uk_hashpipe_new(struct uk_hashpipe **out);

/* Stops and joins the worker, dropping a hash in progress; frees p.
 * NULL is fine. */
void uk_hashpipe_free(struct uk_hashpipe *p);

/* Starts a hash (dropping one not ended). Returns 0 or -ENOMEM; an error
 * is also returned by uk_hashpipe_end. */
int uk_hashpipe_begin(struct uk_hashpipe *p);

/* Adds n bytes (copied: buf is the caller's again on return). Blocks
 * only while every slot waits for the worker: at most the time to hash
 * 1 MiB. */
void uk_hashpipe_feed(struct uk_hashpipe *p, const void *buf, size_t n);

/* File mode, for a caller that writes the bytes into a file itself (by
 * splice(), so they never come into user space): begins a hash of fd's
 * bytes from offset 0, which the worker reads from the page cache through
 * a read-only mapping (fd must be open for reading; the pipe keeps its own
 * duplicate until the end, so the caller may close fd at any time).
 * uk_hashpipe_written says how far the file is written: bytes before
 * there must not change. The hash is uk_hashpipe_end's; a begin or
 * uk_hashpipe_free drops it. Returns 0, -ENOMEM or -errno (no descriptor). */
int uk_hashpipe_begin_file(struct uk_hashpipe *p, int fd);
void uk_hashpipe_written(struct uk_hashpipe *p, uint64_t written);

/* Waits until every byte fed is hashed, writes the digest. Returns 0 or
 * the error of the hash (out zeroed). The pipe is ready for a begin. */
int uk_hashpipe_end(struct uk_hashpipe *p, uint8_t out[UK_SHA256_BYTES]);

#endif
