/* replay.c: the sliding anti-replay window (see replay.h). Bit i of the
 * bitmap stands for sequence number top - i; sliding the window forward
 * shifts the bitmap, clearing the numbers it passes over. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "udpkit/replay.h"

int uk_replay_init(struct uk_replay *r, size_t cap)
{
	r->s = calloc(cap ? cap : 1, sizeof(*r->s));
	r->cap = cap ? cap : 1;
	return r->s ? 0 : -ENOMEM;
}

void uk_replay_free(struct uk_replay *r)
{
	free(r->s);
	r->s = NULL;
	r->cap = 0;
}

static struct uk_replay_session *find(const struct uk_replay *r,
				      const uint8_t id[UK_ROOM_SESSION_LEN])
{
	for (size_t i = 0; i < r->cap; i++)
		if (r->s[i].top && memcmp(r->s[i].id, id, UK_ROOM_SESSION_LEN) == 0)
			return &r->s[i];
	return NULL;
}

/* A free slot, else the least recently heard session's. */
static struct uk_replay_session *take_slot(struct uk_replay *r)
{
	struct uk_replay_session *oldest = &r->s[0];
	for (size_t i = 0; i < r->cap; i++) {
		if (!r->s[i].top)
			return &r->s[i];
		if (r->s[i].last_ns < oldest->last_ns)
			oldest = &r->s[i];
	}
	return oldest;
}

static int test_bit(const uint64_t *bits, uint64_t i)
{
	return (int)((bits[i / 64] >> (i % 64)) & 1u);
}

static void set_bit(uint64_t *bits, uint64_t i)
{
	bits[i / 64] |= (uint64_t)1 << (i % 64);
}

/* Moves the window up by n numbers: bit i becomes bit i + n. */
static void slide(uint64_t *bits, uint64_t n)
{
	if (n >= UK_REPLAY_WINDOW) {
		memset(bits, 0, UK_REPLAY_WORDS * sizeof(*bits));
		return;
	}
	size_t words = (size_t)(n / 64), shift = (size_t)(n % 64);
	for (size_t w = UK_REPLAY_WORDS; w-- > 0;) {
		uint64_t v = 0;
		if (w >= words) {
			v = bits[w - words] << shift;
			if (shift && w > words)
				v |= bits[w - words - 1] >> (64 - shift);
		}
		bits[w] = v;
	}
}

enum uk_replay_verdict uk_replay_check(struct uk_replay *r, const uint8_t id[UK_ROOM_SESSION_LEN],
				       uint64_t seq, uint64_t now_ns)
{
	struct uk_replay_session *s;

	if (seq == 0)
		return UK_REPLAY_BAD_SEQ;
	s = find(r, id);
	if (!s) {
		s = take_slot(r);
		memset(s, 0, sizeof(*s));
		memcpy(s->id, id, UK_ROOM_SESSION_LEN);
		s->top = seq;
		set_bit(s->bits, 0);
		s->last_ns = now_ns;
		return UK_REPLAY_FRESH;
	}
	if (seq > s->top) {
		slide(s->bits, seq - s->top);
		s->top = seq;
		set_bit(s->bits, 0);
	} else {
		uint64_t back = s->top - seq;
		if (back >= UK_REPLAY_WINDOW)
			return UK_REPLAY_TOO_OLD;
		if (test_bit(s->bits, back))
			return UK_REPLAY_DUPLICATE;
		set_bit(s->bits, back);
	}
	s->last_ns = now_ns;
	return UK_REPLAY_FRESH;
}

int uk_replay_known(const struct uk_replay *r, const uint8_t id[UK_ROOM_SESSION_LEN])
{
	return find(r, id) != NULL;
}

enum uk_replay_verdict uk_replay_check_at(struct uk_replay *r,
					  const uint8_t id[UK_ROOM_SESSION_LEN], uint64_t seq,
					  uint64_t sent_ms, uint64_t now_ns)
{
	struct uk_replay_session *s = find(r, id);
	enum uk_replay_verdict v;

	if (s && sent_ms + UK_REPLAY_MAX_AGE_MS < s->newest_ms)
		return UK_REPLAY_STALE;
	v = uk_replay_check(r, id, seq, now_ns);
	if (v == UK_REPLAY_FRESH) {
		s = find(r, id);
		if (s && sent_ms > s->newest_ms)
			s->newest_ms = sent_ms;
	}
	return v;
}

void uk_replay_start(struct uk_replay *r, const uint8_t id[UK_ROOM_SESSION_LEN], uint64_t top,
		     uint64_t sent_ms, uint64_t now_ns)
{
	struct uk_replay_session *s = find(r, id);

	if (!top)
		return;
	if (!s)
		s = take_slot(r);
	memset(s, 0, sizeof(*s));
	memcpy(s->id, id, UK_ROOM_SESSION_LEN);
	s->top = top;
	memset(s->bits, 0xff, sizeof(s->bits));
	s->last_ns = now_ns;
	s->newest_ms = sent_ms;
}
