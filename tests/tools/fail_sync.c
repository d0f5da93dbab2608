/* fail_sync.so: an LD_PRELOAD shim for tests. fdatasync() fails with EIO
 * while the file named by $UK_FAIL_SYNC exists, as on a disk that stopped
 * taking writes (writes still land in the page cache, the sync reports
 * the error): the chat's --sync failure path without a failing device. */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

int fdatasync(int fd)
{
	static int (*real)(int);
	const char *flag = getenv("UK_FAIL_SYNC");

	if (flag && access(flag, F_OK) == 0) {
		errno = EIO;
		return -1;
	}
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "fdatasync");
	return real ? real(fd) : 0;
}
