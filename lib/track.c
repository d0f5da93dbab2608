/* track.c: the in-flight probe table (see include/udpkit/track.h). */
#include <errno.h>
#include <stdlib.h>

#include "udpkit/track.h"

enum { EMPTY, WAITING, ANSWERED, LOST };

int uk_track_init(struct uk_track *t, size_t size)
{
	size_t n = 1;
	while (n < size)
		n <<= 1;
	t->slots = calloc(n, sizeof(*t->slots));
	if (!t->slots)
		return -ENOMEM;
	t->size = n;
	t->next_seq = 1;
	t->highest_answered = 0;
	t->oldest_waiting = 1;
	t->waiting = 0;
	return 0;
}

void uk_track_free(struct uk_track *t)
{
	free(t->slots);
	t->slots = NULL;
}

uint64_t uk_track_sent(struct uk_track *t, uint64_t now_ns, bool *evicted)
{
	uint64_t seq = t->next_seq++;
	struct uk_track_slot *s = &t->slots[seq & (t->size - 1)];

	if (evicted)
		*evicted = false;
	if (s->state == WAITING) {
		t->waiting--;
		if (evicted)
			*evicted = true;
	}
	s->seq = seq;
	s->sent_ns = now_ns;
	s->state = WAITING;
	t->waiting++;
	return seq;
}

uint64_t uk_track_unsend(struct uk_track *t, uint64_t n)
{
	uint64_t done = 0;

	/* Only the newest probes can be taken back, newest first, and only
	 * while their slots still hold them. */
	for (; done < n && t->next_seq > 1; done++) {
		struct uk_track_slot *s = &t->slots[(t->next_seq - 1) & (t->size - 1)];
		if (s->seq != t->next_seq - 1 || s->state != WAITING)
			break;
		s->state = EMPTY;
		s->seq = 0;
		t->waiting--;
		t->next_seq--;
	}
	if (t->oldest_waiting > t->next_seq)
		t->oldest_waiting = t->next_seq;
	return done;
}

struct uk_track_result uk_track_reply(struct uk_track *t, uint64_t seq, uint64_t now_ns)
{
	struct uk_track_result r = {.kind = UK_TRACK_UNKNOWN};
	struct uk_track_slot *s = &t->slots[seq & (t->size - 1)];

	if (seq == 0 || seq >= t->next_seq || s->seq != seq || s->state == EMPTY)
		return r;
	r.rtt_ns = now_ns >= s->sent_ns ? now_ns - s->sent_ns : 0;
	switch (s->state) {
	case WAITING:
		r.kind = UK_TRACK_NEW;
		r.reordered = seq < t->highest_answered;
		s->state = ANSWERED;
		t->waiting--;
		if (seq > t->highest_answered)
			t->highest_answered = seq;
		break;
	case ANSWERED:
		r.kind = UK_TRACK_DUP;
		break;
	default:
		r.kind = UK_TRACK_LATE;
		break;
	}
	return r;
}

uint64_t uk_track_expire(struct uk_track *t, uint64_t now_ns, uint64_t timeout_ns)
{
	uint64_t lost = 0;

	if (t->oldest_waiting + t->size < t->next_seq)
		t->oldest_waiting = t->next_seq - t->size;
	while (t->oldest_waiting < t->next_seq) {
		struct uk_track_slot *s = &t->slots[t->oldest_waiting & (t->size - 1)];
		if (s->seq == t->oldest_waiting && s->state == WAITING) {
			if (now_ns < s->sent_ns + timeout_ns)
				break;
			s->state = LOST;
			t->waiting--;
			lost++;
		}
		t->oldest_waiting++;
	}
	return lost;
}

uint64_t uk_track_next_deadline(const struct uk_track *t, uint64_t timeout_ns)
{
	for (uint64_t q = t->oldest_waiting; q < t->next_seq; q++) {
		const struct uk_track_slot *s = &t->slots[q & (t->size - 1)];
		if (s->seq == q && s->state == WAITING)
			return s->sent_ns + timeout_ns;
	}
	return UINT64_MAX;
}
