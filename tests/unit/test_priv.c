/* Unit tests for lib/priv.c, dropping privileges once bound. Each case runs
 * in a child process (the credentials it changes are the process's own);
 * the child reports by its exit status. The root cases skip when the tests
 * do not run as root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "udpkit/err.h"
#include "udpkit/priv.h"

/* Runs fn in a child; returns its exit status (0 = every check held). */
static int in_child(int (*fn)(void))
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		exit(fn()); /* exit, not _exit: coverage data is written at exit */
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* Root to nobody: the ids change, root cannot be had back, no_new_privs
 * is set; and a second call, no longer as root, has nothing to drop. */
static int drop_to_nobody(void)
{
	struct uk_priv_result r;
	const struct passwd *pw = getpwnam(UK_PRIV_DEFAULT_USER);

	if (!pw || uk_priv_drop(NULL, &r) != 0)
		return 1;
	if (!r.switched || r.caps_dropped || r.uid != (unsigned)pw->pw_uid ||
	    r.gid != (unsigned)pw->pw_gid)
		return 2;
	if (getuid() != pw->pw_uid || geteuid() != pw->pw_uid || getgid() != pw->pw_gid)
		return 3;
	if (setuid(0) == 0 || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 4;
	if (uk_priv_drop(NULL, &r) != 0 || r.switched || r.caps_dropped)
		return 5;
	return 0;
}

static int unknown_user(void)
{
	struct uk_priv_result r;
	int rc = uk_priv_drop("udpkit-no-such-user", &r);
	/* Refused, and still root. */
	return rc == UK_ENOTFOUND && !r.switched && geteuid() == 0 ? 0 : 1;
}

static int root_is_no_drop(void)
{
	struct uk_priv_result r;
	return uk_priv_drop("root", &r) == -EPERM && !r.switched && geteuid() == 0 ? 0 : 1;
}

static void test_as_root(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(in_child(drop_to_nobody), 0);
	assert_int_equal(in_child(unknown_user), 0);
	assert_int_equal(in_child(root_is_no_drop), 0);
}

/* Not root (in a child that became nobody by hand): nothing to drop, only
 * no_new_privs set. */
static int not_root(void)
{
	struct uk_priv_result r;
	const struct passwd *pw = getpwnam(UK_PRIV_DEFAULT_USER);

	if (geteuid() == 0 && (!pw || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0))
		return 1;
	if (uk_priv_drop("root", &r) != 0 || r.switched || r.caps_dropped)
		return 2;
	return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? 0 : 3;
}

static void test_not_root(void **state)
{
	(void)state;
	assert_int_equal(in_child(not_root), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_as_root),
	    cmocka_unit_test(test_not_root),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
