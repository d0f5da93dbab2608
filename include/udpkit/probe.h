/* probe.h: the datagrams `udpkit ping` and `udpkit bench` send, and the
 * sockperf header they carry (documented byte by byte in docs/wire.md).
 *
 * A probe is a sockperf message (so `sockperf server` answers it) whose
 * every byte is 7-bit ASCII when its size fits (so servers that decode
 * text, like the tutorial's, answer it too). Replies are recognised as the
 * probe at the end of the reply: a pure echo returns it as is, a stamping
 * server puts a prefix in front, sockperf clears the CLIENT flag. */
#ifndef UDPKIT_PROBE_H
#define UDPKIT_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UK_SOCKPERF_HEADER 14
#define UK_SOCKPERF_CLIENT 0x0001
#define UK_SOCKPERF_PONG_REQUEST 0x0002

/* Server side: if buf is a sockperf message asking for a reply (PONG_REQUEST
 * set, length field equal to len), clears its CLIENT flag in place and
 * returns true; otherwise returns false and leaves buf alone. */
bool uk_sockperf_make_reply(unsigned char *buf, size_t len);

#define UK_PROBE_TOKEN_LEN 8
#define UK_PROBE_MIN_SIZE (UK_SOCKPERF_HEADER + 2 + UK_PROBE_TOKEN_LEN)
#define UK_PROBE_SEQ_BITS 56

struct uk_probe_fmt {
	size_t size;			/* whole datagram, bytes */
	char token[UK_PROBE_TOKEN_LEN]; /* per run, rejects others' replies */
};

/* Sets up probes of size bytes (UK_PROBE_MIN_SIZE..65507) with a token
 * derived from seed. Returns 0 or UK_ERANGE_. */
int uk_probe_init(struct uk_probe_fmt *f, size_t size, uint64_t seed);

/* True when every byte of a probe of this size is 7-bit. */
bool uk_probe_is_ascii(const struct uk_probe_fmt *f);

/* Writes probe seq into out (f->size bytes). */
void uk_probe_build(const struct uk_probe_fmt *f, uint64_t seq, unsigned char *out);

/* Rewrites the sequence number (its low UK_PROBE_SEQ_BITS bits) of a probe
 * that uk_probe_build wrote into out: nothing else in a probe depends on it,
 * so a load generator builds each slot once and then stamps 8 bytes. */
void uk_probe_set_seq(uint64_t seq, unsigned char *out);

/* uk_probe_parse with tmpl, a probe of this format built by uk_probe_build
 * (any sequence number), as the pattern: the same answer, with one memcmp
 * instead of a byte-by-byte walk. */
int uk_probe_match(const struct uk_probe_fmt *f, const unsigned char *tmpl,
		   const unsigned char *reply, size_t len, uint64_t *seq);

/* Finds our probe at the end of a reply, every byte checked but the
 * CLIENT flag (servers may clear it) and the prefix; stores its sequence number (the
 * low UK_PROBE_SEQ_BITS bits) in *seq. Returns 0 or UK_EPARSE. */
int uk_probe_parse(const struct uk_probe_fmt *f, const unsigned char *reply, size_t len,
		   uint64_t *seq);

/* Finds the start of our probe in a reply shorter than the probe: a server
 * that cut the datagram (inetd's echo keeps 4096 bytes). Every byte that
 * is there is checked. Returns 0 (and *seq) or UK_EPARSE. */
int uk_probe_parse_cut(const struct uk_probe_fmt *f, const unsigned char *reply, size_t len,
		       uint64_t *seq);

/* The full sequence number for seq56 nearest to reference (the highest
 * number sent), so 64-bit counters survive the 56 bits on the wire. */
uint64_t uk_probe_unwrap(uint64_t seq56, uint64_t reference);

#endif
