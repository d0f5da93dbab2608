/* priv.c: dropping root or capabilities after binding (see
 * include/udpkit/priv.h). Capabilities go through the raw capget/capset
 * system calls (capget(2)): two words per set, no library needed for
 * "none at all". */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "udpkit/err.h"
#include "udpkit/priv.h"

/* True when the process holds any permitted or effective capability. */
static bool holds_caps(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) < 0)
		return false;
	for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		if (d[i].permitted || d[i].effective)
			return true;
	return false;
}

static int clear_caps(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	memset(d, 0, sizeof(d));
	return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

static int become(const char *user, struct uk_priv_result *out)
{
	struct passwd pw, *found = NULL;
	long size = sysconf(_SC_GETPW_R_SIZE_MAX);
	char *buf;
	int rc;

	buf = malloc(size > 0 ? (size_t)size : 16384);
	if (!buf)
		return -ENOMEM;
	rc = getpwnam_r(user, &pw, buf, size > 0 ? (size_t)size : 16384, &found);
	if (rc != 0 || !found) {
		rc = rc ? -rc : UK_ENOTFOUND;
		goto fail;
	}
	if (pw.pw_uid == 0) {
		rc = -EPERM; /* "dropping" to root keeps everything */
		goto fail;
	}
	/* Groups first: once the uid is gone, they can no longer be changed. */
	if (setgroups(0, NULL) < 0 || setgid(pw.pw_gid) < 0 || setuid(pw.pw_uid) < 0) {
		rc = -errno;
		goto fail;
	}
	if (setuid(0) == 0 || geteuid() == 0) {
		rc = -EPERM;
		goto fail;
	}
	out->switched = true;
	out->uid = (unsigned)pw.pw_uid;
	out->gid = (unsigned)pw.pw_gid;
	rc = 0;
fail:
	free(buf);
	return rc;
}

int uk_priv_drop(const char *user, struct uk_priv_result *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (geteuid() == 0) {
		rc = become(user ? user : UK_PRIV_DEFAULT_USER, out);
	} else {
		/* Not root: only capabilities to lose (e.g. cap_net_bind_service
		 * on the binary). A sandbox that forbids capset leaves us none
		 * anyway, so ask first. */
		rc = 0;
		if (holds_caps()) {
			rc = clear_caps();
			out->caps_dropped = rc == 0;
		}
	}
	if (rc == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		rc = -errno;
	return rc;
}
