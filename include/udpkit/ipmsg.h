/* ipmsg.h: the text-chat subset of the IP Messenger protocol (IPMsg,
 * 飞鸽传书), as spoken by IP Messenger for Windows/macOS, FeiQ and iptux:
 * "Ver:PacketNo:User:Host:Command:Extra" in one UDP datagram. This file
 * classifies datagrams (IPMsg or plain text), parses them with bounds
 * checks and builds the packets we send. Byte-level notes: docs/chat.md. */
#ifndef UDPKIT_IPMSG_H
#define UDPKIT_IPMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UK_IPMSG_PORT 2425
/* iptux reads at most 8192 bytes; larger datagrams are cut by it. */
#define UK_IPMSG_MAX_PACKET 8191

/* Command modes: the low 8 bits of Command (shirouzu/ipmsg src/ipmsg.h). */
enum {
	UK_IPMSG_NOOPERATION = 0x00,
	UK_IPMSG_BR_ENTRY = 0x01,
	UK_IPMSG_BR_EXIT = 0x02,
	UK_IPMSG_ANSENTRY = 0x03,
	UK_IPMSG_BR_ABSENCE = 0x04,
	UK_IPMSG_SENDMSG = 0x20,
	UK_IPMSG_RECVMSG = 0x21,
	UK_IPMSG_READMSG = 0x30,	/* a sealed message was opened */
	UK_IPMSG_DELMSG = 0x31,		/* a sealed message was discarded */
	UK_IPMSG_ANSREADMSG = 0x32,	/* answer to READMSG with READCHECKOPT */
	UK_IPMSG_GETINFO = 0x40,	/* asks our version */
	UK_IPMSG_SENDINFO = 0x41,	/* the version string */
	UK_IPMSG_GETABSENCEINFO = 0x50, /* asks our away text */
	UK_IPMSG_SENDABSENCEINFO = 0x51,
	UK_IPMSG_RELEASEFILES = 0x61 /* an offered attachment is declined */
};

/* What IP Messenger answers GETABSENCEINFO with when not away. */
#define UK_IPMSG_NOT_ABSENT "Not absence mode"

/* Option flags: the high 24 bits. Values are reused per command. */
#define UK_IPMSG_ABSENCEOPT 0x00000100u	  /* entry: sender is away */
#define UK_IPMSG_DIALUPOPT 0x00010000u	  /* entry: answer me by unicast */
#define UK_IPMSG_SENDCHECKOPT 0x00000100u /* SENDMSG: please send RECVMSG */
#define UK_IPMSG_SECRETOPT 0x00000200u	  /* SENDMSG: sealed */
#define UK_IPMSG_BROADCASTOPT 0x00000400u /* SENDMSG: broadcast, never ack */
#define UK_IPMSG_MULTICASTOPT 0x00000800u /* SENDMSG: several recipients */
#define UK_IPMSG_AUTORETOPT 0x00002000u	  /* SENDMSG: automatic reply, never ack */
#define UK_IPMSG_NOLOGOPT 0x00020000u	  /* SENDMSG: please do not log */
#define UK_IPMSG_READCHECKOPT 0x00100000u /* SENDMSG: answer READMSG with ANSREADMSG */
#define UK_IPMSG_FILEATTACHOPT 0x00200000u
#define UK_IPMSG_ENCRYPTOPT 0x00400000u
#define UK_IPMSG_UTF8OPT 0x00800000u	/* this packet's text is UTF-8 */
#define UK_IPMSG_CAPUTF8OPT 0x01000000u /* entry: sender understands UTF8OPT */

#define UK_IPMSG_MODE(cmd) ((cmd)&0xffu)
#define UK_IPMSG_OPTS(cmd) ((cmd)&0xffffff00u)

/* Bounds on header fields; longer ones make the packet malformed. */
#define UK_IPMSG_VERSION_MAX 64
#define UK_IPMSG_NAME_MAX 127 /* user, host, nick, group (bytes) */
#define UK_IPMSG_MAX_PARTS 8  /* NUL-separated sections of Extra kept */

/* A view into the datagram: not NUL-terminated, may hold any bytes. */
struct uk_ipmsg_field {
	const unsigned char *p;
	size_t len;
};

struct uk_ipmsg {
	struct uk_ipmsg_field version, user, host;
	uint64_t packet_no;
	uint32_t command;
	struct uk_ipmsg_field extra;			 /* everything after Command */
	struct uk_ipmsg_field parts[UK_IPMSG_MAX_PARTS]; /* extra split on NUL */
	size_t nparts;					 /* at least 1 */
};

/* True when data looks like IPMsg, i.e. matches
 * ^[0-9][^:]*:[0-9]+:[^:]*:[^:]*:[0-9]+: (ipmsg.md §0). Everything else is
 * a plain-text message, as the tutorial's chat sends them. Pure. */
bool uk_ipmsg_classify(const void *data, size_t len);

/* Parses an IPMsg datagram. Views in m point into data. Numbers must be
 * plain decimal without sign or spaces (PacketNo < 2^64, Command < 2^32);
 * Ver must be "1" optionally followed by a non-digit ("1_iptux 0.8.3"),
 * as IP Messenger requires atoi(Ver) == 1; User and Host at most
 * UK_IPMSG_NAME_MAX bytes. Returns 0 or UK_EPARSE. */
int uk_ipmsg_parse(const void *data, size_t len, struct uk_ipmsg *m);

/* The nickname and group of an entry packet (BR_ENTRY, ANSENTRY,
 * BR_ABSENCE): Extra is "nick\0group\0" and, from IP Messenger for
 * Windows, a "\nUN:user\nHN:host\nNN:nick\nGN:group" block that holds them
 * in UTF-8 (the first two parts are then CP932). *utf8 tells whether the
 * values are known to be UTF-8 (from that block or UTF8OPT). Views point
 * into the packet; either may be empty. */
void uk_ipmsg_entry_names(const struct uk_ipmsg *m, struct uk_ipmsg_field *nick,
			  struct uk_ipmsg_field *group, bool *utf8);

/* The packet number a RECVMSG acknowledges (decimal, up to a NUL).
 * Returns 0 or UK_EPARSE. */
int uk_ipmsg_recv_packet_no(const struct uk_ipmsg *m, uint64_t *packet_no);

/* Who we are on the wire. user and host must not hold ':' and should be
 * ASCII (peers key on them); uk_ipmsg_ident_set() cleans them. */
struct uk_ipmsg_ident {
	char user[UK_IPMSG_NAME_MAX + 1];
	char host[UK_IPMSG_NAME_MAX + 1];
	char nick[UK_IPMSG_NAME_MAX + 1];  /* UTF-8 */
	char group[UK_IPMSG_NAME_MAX + 1]; /* UTF-8 */
};

/* Copies the names into id: ':' becomes ';' (IPMsg spec 4.2) in all four,
 * control bytes and NULs become '_', user and host are cut to ASCII
 * printable bytes, nick and group are cut at a UTF-8 boundary. Empty user
 * or host become "user"/"host". Pure. */
void uk_ipmsg_ident_set(struct uk_ipmsg_ident *id, const char *user, const char *host,
			const char *nick, const char *group);

/* Builds "1:packet_no:user:host:command:" followed by extra (extra_len
 * bytes, copied as is) into out. Returns the length or UK_ENOSPACE. */
int uk_ipmsg_build(void *out, size_t cap, const struct uk_ipmsg_ident *id, uint64_t packet_no,
		   uint32_t command, const void *extra, size_t extra_len);

/* An entry packet: command is BR_ENTRY, ANSENTRY or BR_ABSENCE; CAPUTF8OPT
 * is added, and Extra is "nick\0group\0\nUN:user\nHN:host\nNN:nick\nGN:group"
 * (the form IP Messenger for Windows sends and iptux accepts). BR_EXIT gets
 * "nick\0group\0". Returns the length or UK_ENOSPACE. */
int uk_ipmsg_build_entry(void *out, size_t cap, const struct uk_ipmsg_ident *id, uint64_t packet_no,
			 uint32_t mode);

/* The same with the first two parts given (nick and group already in the
 * receiver's charset; the NN:/GN: block stays UTF-8 from id) and opts
 * added to the command (ABSENCEOPT when we are away). */
int uk_ipmsg_build_entry_names(void *out, size_t cap, const struct uk_ipmsg_ident *id,
			       uint64_t packet_no, uint32_t mode, uint32_t opts, const char *nick,
			       const char *group);

/* SENDMSG|SENDCHECKOPT|UTF8OPT with text (UTF-8, no NUL) and a closing NUL.
 * Returns the length, UK_ENOSPACE, or UK_EPARSE when text holds a NUL. */
int uk_ipmsg_build_sendmsg(void *out, size_t cap, const struct uk_ipmsg_ident *id,
			   uint64_t packet_no, const void *text, size_t len);

/* RECVMSG acknowledging acked_no ("acked_no\0"). Returns the length or
 * UK_ENOSPACE. */
int uk_ipmsg_build_recvmsg(void *out, size_t cap, const struct uk_ipmsg_ident *id,
			   uint64_t packet_no, uint64_t acked_no);

/* Bytes an IPMsg header of id takes before Extra (to size text chunks). */
size_t uk_ipmsg_header_len(const struct uk_ipmsg_ident *id);

/* Packet numbers: unique per sender, increasing, and below 2^32 because
 * iptux keeps them in 32 bits and drops a SENDMSG whose number is not
 * above the last one it saw from that peer. Like IP Messenger we start
 * from the wall clock in seconds and add one per packet; floor carries a
 * number used before (e.g. the last one in the history file), so numbers
 * keep increasing across restarts even after bursts faster than 1/s. */
struct uk_ipmsg_seq {
	uint64_t last;
};

/* Starts the sequence after max(wall_ns in seconds, floor). Pure. */
void uk_ipmsg_seq_init(struct uk_ipmsg_seq *s, uint64_t wall_ns, uint64_t floor);

/* The next packet number: last + 1, wrapping from 2^32 - 1 to 1. */
uint64_t uk_ipmsg_seq_next(struct uk_ipmsg_seq *s);

/* The next packet number: last + step (0 counts as 1); when that would
 * reach 2^32 - 1, step itself. The chat passes random steps, so a number
 * seen once does not tell the next ones (forged receipts). Pure. */
uint64_t uk_ipmsg_seq_advance(struct uk_ipmsg_seq *s, uint32_t step);

#endif
