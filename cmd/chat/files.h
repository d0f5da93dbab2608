/* files.h: the chat's file transfer (files.c), called from the poll loop
 * (main.c), the events (show.c) and the commands (commands.c). */
#ifndef UDPKIT_CHAT_FILES_H
#define UDPKIT_CHAT_FILES_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct app;
struct uk_addr;
struct uk_chat_event;

/* Sockets files.c may poll at once: listener, clients, fetches. */
#define FILES_POLL_MAX 16

/* Opens the TCP listener on the chat's address and port; a failure is
 * reported and file sending is off. Returns 0 or -ENOMEM. */
int files_init(struct app *a);
void files_close(struct app *a);

/* Offers paths (files and folders) to to with text (may be NULL); script:
 * from --send-file, its outcome sets the exit status. */
int files_offer(struct app *a, const struct uk_addr *to, char **paths, size_t n, const char *text,
		bool script);
/* "/all /file": one offer of paths to each IPMsg peer known, each served
 * to its own peer only; each outcome is reported on its own. Returns the
 * number of offers sent, or -ENOENT when no IPMsg peer is known. */
int files_offer_all(struct app *a, char **paths, size_t n, const char *text);
/* /accept [N] [DIR] (0: the newest waiting), /decline [N]. */
int files_accept(struct app *a, unsigned num, const char *dir);
int files_decline(struct app *a, unsigned num);

/* A RECV event with files; a RELEASED event. */
void files_on_offer(struct app *a, const struct uk_chat_event *ev);
void files_on_released(struct app *a, const struct uk_chat_event *ev);

/* The loop: fills p (at most max), handles what poll() returned. */
size_t files_poll(struct app *a, struct pollfd *p, size_t max);
void files_on_poll(struct app *a, const struct pollfd *p, size_t n);
void files_tick(struct app *a, uint64_t now);
uint64_t files_deadline(const struct app *a);
/* True while a --send-file offer or a fetch is under way. */
bool files_busy(const struct app *a);

#endif
