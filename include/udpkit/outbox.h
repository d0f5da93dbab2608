/* outbox.h: messages that wait for a receipt. Each one is retransmitted
 * with exponential backoff until its receipt (IPMsg RECVMSG) arrives or
 * the try budget is spent, and then reported as given up, so no message
 * is ever silently lost. Pure: the caller sends, reads the clock and
 * passes now_ns; the outbox only decides. Bounded: a full outbox refuses
 * new messages (the chat then stops reading input until one settles).
 *
 * The default budget (16 tries, 250 ms doubling to 2 s, about 29 s in all)
 * is sized so that 20% loss in each direction fails fewer than 1 message
 * in 10^6: a try succeeds when the message and its receipt both get
 * through, 0.8 * 0.8 = 0.64, receivers re-acknowledge duplicates, so all
 * 16 tries fail with probability 0.36^16 = 7.9e-8 (docs/chat.md). */
#ifndef UDPKIT_OUTBOX_H
#define UDPKIT_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "udpkit/addr.h"

struct uk_outbox_cfg {
	uint64_t rto_first_ns; /* wait before the first retransmission */
	uint64_t rto_max_ns;   /* the backoff stops doubling here */
	unsigned max_tries;    /* transmissions in all, the first included */
	size_t capacity;       /* messages in flight at most */
};

#define UK_OUTBOX_DEFAULT_RTO_FIRST_NS (250ull * 1000000ull)
#define UK_OUTBOX_DEFAULT_RTO_MAX_NS (2000ull * 1000000ull)
#define UK_OUTBOX_DEFAULT_TRIES 16
#define UK_OUTBOX_DEFAULT_CAPACITY 256

struct uk_outbox_item {
	bool used;
	struct uk_addr peer;
	uint64_t packet_no;
	void *user;	     /* the caller's, handed back when the item settles */
	unsigned tries;	     /* transmissions so far */
	uint64_t first_ns;   /* first transmission */
	uint64_t next_ns;    /* next retransmission or give-up */
	unsigned char *data; /* the datagram, owned */
	size_t len;
};

struct uk_outbox {
	struct uk_outbox_cfg cfg;
	struct uk_outbox_item *items;
	size_t count;
	uint64_t retransmits, delivered, given_up;
};

/* What uk_outbox_poll() asks the caller to do. */
enum uk_outbox_do { UK_OUTBOX_RESEND = 1, UK_OUTBOX_GIVE_UP = 2 };

struct uk_outbox_action {
	enum uk_outbox_do what;
	struct uk_addr peer; /* a copy */
	uint64_t packet_no;
	const unsigned char *data; /* RESEND: the bytes to send again */
	size_t len;
	void *user; /* GIVE_UP: the item's user pointer, now the caller's */
	unsigned tries;
};

/* A zero field in cfg takes the default. Returns 0 or -ENOMEM. */
int uk_outbox_init(struct uk_outbox *ob, const struct uk_outbox_cfg *cfg);
/* Frees everything; user pointers still inside are passed to drop(). */
void uk_outbox_free(struct uk_outbox *ob, void (*drop)(void *user));

/* Takes a message the caller has just sent for the first time (a copy of
 * data is kept). Returns 0, -ENOSPC when full, -EEXIST when packet_no is
 * already waiting, or -ENOMEM. */
int uk_outbox_add(struct uk_outbox *ob, const struct uk_addr *peer, uint64_t packet_no,
		  const void *data, size_t len, void *user, uint64_t now_ns);

/* A receipt for packet_no from peer: the address and port the message
 * went to. Every IPMsg implementation sends its receipt from the one
 * socket it receives on (iptux 0.8.3 sends it *to* port 2425 whatever our
 * port, but *from* its own port, the one we sent to), so a receipt from
 * another port is forged. Returns 1 and the settled item's user
 * pointer, tries and first_ns when it matched, 0 when nothing waited for
 * it (a duplicate or forged receipt). */
int uk_outbox_ack(struct uk_outbox *ob, const struct uk_addr *peer, uint64_t packet_no, void **user,
		  unsigned *tries, uint64_t *first_ns);

/* The earliest time something is due, or UINT64_MAX when empty. */
uint64_t uk_outbox_deadline(const struct uk_outbox *ob);

/* Returns 1 and fills act with one due action, or 0 when nothing is due.
 * Call it until it returns 0. */
int uk_outbox_poll(struct uk_outbox *ob, uint64_t now_ns, struct uk_outbox_action *act);

/* Takes every waiting item out at once (on quit), as GIVE_UP actions:
 * returns 1 and fills act while there are items left. */
int uk_outbox_drain(struct uk_outbox *ob, struct uk_outbox_action *act);

#endif
