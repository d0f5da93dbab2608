/* Unit tests for lib/conf.c, the strict configuration reader: what it
 * accepts, and that every malformed line is refused with its number. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "udpkit/conf.h"

static void test_accepts_keys_values_comments(void **state)
{
	(void)state;
	struct uk_conf c;
	const char *text = "# udpkit chat\n"
			   "\n"
			   "nick = 小王\n"
			   "   group=ops team   \r\n"
			   "peer = 10.0.0.5:2425 charset=gbk\n"
			   "peer = 10.0.0.6\n"
			   "  # indented comment\n"
			   "history = \"/tmp/with # hash and \\\"quotes\\\" \"\n"
			   "color =\n"
			   "port = 2425";
	assert_int_equal(uk_conf_parse(&c, text, strlen(text)), 0);
	assert_int_equal(c.count, 7);
	assert_string_equal(c.entries[0].key, "nick");
	assert_string_equal(c.entries[0].value, "小王");
	assert_int_equal(c.entries[0].line, 3);
	assert_string_equal(c.entries[1].key, "group");
	assert_string_equal(c.entries[1].value, "ops team");
	assert_string_equal(c.entries[2].value, "10.0.0.5:2425 charset=gbk");
	assert_string_equal(c.entries[3].key, "peer");
	assert_string_equal(c.entries[4].value, "/tmp/with # hash and \"quotes\" ");
	assert_int_equal(c.entries[4].line, 8);
	assert_string_equal(c.entries[5].key, "color");
	assert_string_equal(c.entries[5].value, "");
	assert_string_equal(c.entries[6].key, "port");
	assert_string_equal(c.entries[6].value, "2425");
	assert_int_equal(c.entries[6].line, 10);
	uk_conf_free(&c);
	assert_int_equal(uk_conf_parse(&c, text, 0), 0);
	assert_int_equal(c.count, 0);
	uk_conf_free(&c);
}

static void refused(const char *text, size_t len, unsigned line)
{
	struct uk_conf c;
	assert_int_equal(uk_conf_parse(&c, text, len), -EINVAL);
	assert_int_equal(c.error_line, line);
	assert_non_null(c.error);
	uk_conf_free(&c);
}

static void test_refuses_malformed_with_line(void **state)
{
	(void)state;
	refused("nick = a\njust words\n", 20, 2);
	refused("nick a\n", 7, 1);
	refused("Nick = a\n", 9, 1);
	refused("= a\n", 4, 1);
	refused("a\n\nnick_name = x\n", 17, 1);
	refused("nick = \"open\n", 13, 1);
	refused("nick = \"a\" b\n", 13, 1);
	refused("nick = \"a\\n\"\n", 13, 1);
	refused("nick = a\0b\n", 11, 0);
	refused("nick = \xff\xfe\n", 10, 0);
	char big[UK_CONF_MAX_VALUE + 16];
	memset(big, 'x', sizeof(big));
	memcpy(big, "k = ", 4);
	refused(big, sizeof(big), 1);
	/* The same bounds inside quotes, and on the key. */
	big[4] = '"';
	big[sizeof(big) - 2] = '"';
	big[sizeof(big) - 1] = '\n';
	refused(big, sizeof(big), 1);
	char key[UK_CONF_MAX_KEY + 8];
	memset(key, 'k', sizeof(key));
	memcpy(key + sizeof(key) - 4, "=1\n", 3);
	refused(key, sizeof(key) - 1, 1);
	/* A key exactly as long as allowed is fine. */
	memset(key, 'k', UK_CONF_MAX_KEY);
	memcpy(key + UK_CONF_MAX_KEY, "=1\n", 3);
	struct uk_conf c;
	assert_int_equal(uk_conf_parse(&c, key, UK_CONF_MAX_KEY + 3), 0);
	assert_int_equal(strlen(c.entries[0].key), UK_CONF_MAX_KEY);
	uk_conf_free(&c);
}

/* Many entries: the table grows past its first allocation. */
static void test_many_entries(void **state)
{
	(void)state;
	char *text = malloc(1000 * 24);
	size_t len = 0;
	struct uk_conf c;
	assert_non_null(text);
	for (int i = 0; i < 1000; i++)
		len += (size_t)sprintf(text + len, "peer = 10.0.%d.%d\n", i / 250, i % 250);
	assert_int_equal(uk_conf_parse(&c, text, len), 0);
	assert_int_equal(c.count, 1000);
	assert_string_equal(c.entries[999].value, "10.0.3.249");
	assert_int_equal(c.entries[999].line, 1000);
	uk_conf_free(&c);
	free(text);
}

static void test_load_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/udpkit-conf-XXXXXX", path[64], link[64];
	struct uk_conf c;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/chat.conf", dir);
	snprintf(link, sizeof(link), "%s/link.conf", dir);
	assert_int_equal(uk_conf_load(&c, path), -ENOENT);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("nick = bob\nport = 2425\n", f);
	fclose(f);
	assert_int_equal(uk_conf_load(&c, path), 0);
	assert_int_equal(c.count, 2);
	assert_string_equal(c.entries[1].value, "2425");
	uk_conf_free(&c);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(uk_conf_load(&c, link), -ELOOP);
	assert_string_equal(c.error, "is a symbolic link");
	assert_int_equal(uk_conf_load(&c, dir), -EINVAL);
	assert_string_equal(c.error, "is not a regular file");
	assert_int_equal(truncate(path, UK_CONF_MAX_BYTES + 1), 0);
	assert_int_equal(uk_conf_load(&c, path), -EFBIG);
	unlink(link);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accepts_keys_values_comments),
	    cmocka_unit_test(test_refuses_malformed_with_line),
	    cmocka_unit_test(test_load_file),
	    cmocka_unit_test(test_many_entries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
