/* history_file.h: where the chat history lives and how it is opened. By
 * default $XDG_STATE_HOME/udpkit/chat.txt (~/.local/state/udpkit/chat.txt),
 * its directory created 0700 and the file 0600. The file holds what the
 * network sent, so it is only used when it cannot be turned against its
 * owner: opened with O_NOFOLLOW, a regular file of ours with no access for
 * others, in a directory nobody else can write, already in our format. */
#ifndef UDPKIT_HISTORY_FILE_H
#define UDPKIT_HISTORY_FILE_H

#include <stdbool.h>
#include <stddef.h>

/* Why a history file was refused (the call returns -EPERM, or -errno for
 * a system error with UK_HISTF_OK). */
enum uk_history_problem {
	UK_HISTF_OK,
	UK_HISTF_SYMLINK,     /* the path is a symbolic link */
	UK_HISTF_NOT_REGULAR, /* a directory, FIFO, device... */
	UK_HISTF_OWNER,	      /* the file belongs to another user */
	UK_HISTF_MODE,	      /* group or others may read or write it */
	UK_HISTF_DIR,	      /* its directory is writable by others */
	UK_HISTF_FOREIGN      /* it is not a udpkit chat history */
};

/* One sentence on the problem and what to do, for an error message. */
const char *uk_history_problem_text(enum uk_history_problem p);

/* The default path from the values of XDG_STATE_HOME and HOME (either may
 * be NULL or empty; a relative XDG_STATE_HOME is ignored, as the XDG spec
 * says). Pure. Returns the length, UK_ENOSPACE, or -ENOENT with no home. */
int uk_history_default_path(const char *xdg_state_home, const char *home, char *out, size_t cap);

/* Creates the directories leading to path that do not exist, mode 0700.
 * Returns 0 or -errno. */
int uk_history_make_dirs(const char *path);

/* Opens path for appending, creating it 0600 with UK_HISTORY_HEADER when
 * missing, and checks it as above (own_dir: the directory is the user's
 * own state directory, trusted when owned by the user whatever its mode).
 * A file that ends in a torn line (a crash in mid-write) gets a '\n' so
 * the next line starts on its own. Returns the descriptor, or -EPERM with
 * *why set, or -errno. Never follows a symbolic link in the last part. */
int uk_history_file_open(const char *path, bool own_dir, enum uk_history_problem *why);

/* The rotated file: path with ".1" appended. Returns the length or
 * UK_ENOSPACE. */
int uk_history_rotated_path(const char *path, char *out, size_t cap);

#endif
