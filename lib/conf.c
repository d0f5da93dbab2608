/* conf.c: a strict `key = value` reader (see conf.h). Strict because a
 * configuration that is silently half-read is worse than one refused: a
 * typo in a key, a missing '=', an unterminated quote, a NUL byte or
 * invalid UTF-8 all stop the program with the line that is wrong. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "udpkit/conf.h"
#include "udpkit/i18n.h"
#include "udpkit/text.h"

static int fail(struct uk_conf *c, unsigned line, const char *why)
{
	c->error_line = line;
	c->error = why;
	return -EINVAL;
}

static int is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static int is_key_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
}

static int add(struct uk_conf *c, size_t *cap)
{
	if (c->count == *cap) {
		size_t n = *cap ? *cap * 2 : 16;
		struct uk_conf_entry *e = realloc(c->entries, n * sizeof(*e));
		if (!e)
			return -ENOMEM;
		c->entries = e;
		*cap = n;
	}
	memset(&c->entries[c->count], 0, sizeof(c->entries[0]));
	c->count++;
	return 0;
}

/* A quoted value: "..." with \" and \\; nothing but blanks may follow. */
static int unquote(struct uk_conf *c, unsigned line, const char *p, const char *end, char *out)
{
	size_t n = 0;

	for (p++; p < end && *p != '"'; p++) {
		if (*p == '\\') {
			if (++p == end || (*p != '"' && *p != '\\'))
				return fail(c, line,
					    N_("only \\\" and \\\\ may follow a backslash"));
		}
		if (n == UK_CONF_MAX_VALUE)
			return fail(c, line, N_("value too long"));
		out[n++] = *p;
	}
	if (p == end)
		return fail(c, line, N_("unterminated quote"));
	for (p++; p < end; p++)
		if (!is_blank(*p))
			return fail(c, line, N_("text after the closing quote"));
	out[n] = '\0';
	return 0;
}

static int parse_line(struct uk_conf *c, size_t *cap, unsigned line, const char *p, const char *end)
{
	const char *key, *key_end;
	struct uk_conf_entry *e;
	int rc;

	while (p < end && is_blank(*p))
		p++;
	while (end > p && (is_blank(end[-1]) || end[-1] == '\r'))
		end--;
	if (p == end || *p == '#')
		return 0;
	key = p;
	while (p < end && is_key_char(*p))
		p++;
	key_end = p;
	if (key_end == key)
		return fail(c, line, N_("expected a key (lower-case letters, digits, '-')"));
	if ((size_t)(key_end - key) > UK_CONF_MAX_KEY)
		return fail(c, line, N_("key too long"));
	while (p < end && is_blank(*p))
		p++;
	if (p == end || *p != '=')
		return fail(c, line, N_("expected '=' after the key"));
	for (p++; p < end && is_blank(*p);)
		p++;
	if ((rc = add(c, cap)) < 0)
		return rc;
	e = &c->entries[c->count - 1];
	e->line = line;
	memcpy(e->key, key, (size_t)(key_end - key));
	if (p < end && *p == '"')
		return unquote(c, line, p, end, e->value);
	if ((size_t)(end - p) > UK_CONF_MAX_VALUE)
		return fail(c, line, N_("value too long"));
	memcpy(e->value, p, (size_t)(end - p));
	return 0;
}

int uk_conf_parse(struct uk_conf *c, const char *text, size_t len)
{
	size_t cap = 0;
	unsigned line = 1;
	const char *p = text, *end = text + len;

	memset(c, 0, sizeof(*c));
	if (memchr(text, '\0', len))
		return fail(c, 0, N_("contains a NUL byte: not a text file"));
	if (!uk_utf8_valid((const unsigned char *)text, len))
		return fail(c, 0, N_("not valid UTF-8"));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		int rc = parse_line(c, &cap, line, p, eol);
		if (rc < 0)
			return rc;
		p = nl ? nl + 1 : end;
		line++;
	}
	return 0;
}

int uk_conf_load(struct uk_conf *c, const char *path)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	size_t got = 0;
	int fd, rc;

	memset(c, 0, sizeof(*c));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		c->error = rc == -ELOOP ? N_("is a symbolic link") : N_("cannot be opened");
		return rc;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		c->error = N_("cannot be read");
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		c->error = N_("is not a regular file");
		goto out;
	}
	if (st.st_size > (off_t)UK_CONF_MAX_BYTES) {
		rc = -EFBIG;
		c->error = N_("is larger than 64 KiB");
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	/* Read to EOF, but never past the size checked: a file growing while
	 * read is cut at that size. */
	while (got < (size_t)st.st_size &&
	       (n = read(fd, buf + got, (size_t)st.st_size - got)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			c->error = N_("cannot be read");
			goto out;
		}
		got += (size_t)n;
	}
	rc = uk_conf_parse(c, buf, got);
out:
	free(buf);
	close(fd);
	return rc;
}

void uk_conf_free(struct uk_conf *c)
{
	free(c->entries);
	c->entries = NULL;
	c->count = 0;
}
