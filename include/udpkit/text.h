/* text.h: bytes from the network made safe to show, and back.
 * The escaped form is reversible: valid, printable UTF-8 passes through;
 * a backslash becomes "\\"; \n \r \t \e stand for themselves; other C0
 * bytes, DEL and bytes that are not valid UTF-8 become "\xHH"; C1 controls
 * and bidirectional overrides (U+202A-U+202E, U+2066-U+2069, U+200E,
 * U+200F, U+061C) become "\uHHHH". Nothing escaped can move the cursor,
 * change colours or reorder the text around it.
 *
 * Invisible characters (format characters, Cf, and default-ignorable
 * code points: U+00AD, U+034F, U+115F, U+200B, U+2060, U+FFF9, the tag
 * characters U+E0000-U+E007F...) become "\uHHHH", or "\UHHHHHHHH" above
 * U+FFFF, so "bo\u200bb" cannot pass for "bob". In message text the
 * joiners and variation selectors (U+200C, U+200D, U+FE00-U+FE0F,
 * U+E0100-U+E01EF) stay, as they shape emoji and scripts; in names
 * (uk_text_escape_name) they are escaped too: a name identifies. */
#ifndef UDPKIT_TEXT_H
#define UDPKIT_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Output room that always suffices for n input bytes, with the NUL. */
#define UK_ESCAPE_SIZE(n) ((n)*4 + 1)

/* Escapes n bytes of in into out (cap bytes, NUL-terminated).
 * Returns the length written, or UK_ENOSPACE (out then holds a
 * NUL-terminated prefix cut at an escape boundary). */
int uk_text_escape(const void *in, size_t n, char *out, size_t cap);

/* As uk_text_escape(), for nicknames, group, user and host names: every
 * invisible character escaped, joiners and variation selectors included. */
int uk_text_escape_name(const void *in, size_t n, char *out, size_t cap);

/* Reverses uk_text_escape() and uk_text_escape_name(). Returns bytes written to out, or UK_EPARSE
 * for a malformed escape, UK_ENOSPACE when out is too small. */
int uk_text_unescape(const char *in, size_t n, void *out, size_t cap);

/* Writes s as the body of a JSON string (without the quotes): ", \ and
 * control characters escaped. s must be valid UTF-8 (escape it first).
 * Returns the length written or UK_ENOSPACE. Room: 6 * n + 1 suffices. */
int uk_json_escape(const char *s, size_t n, char *out, size_t cap);

/* Length of the valid UTF-8 sequence at p (1-4), or 0 if invalid; the
 * code point goes to *cp. Overlongs, surrogates and > U+10FFFF are invalid. */
size_t uk_utf8_decode(const unsigned char *p, size_t n, uint32_t *cp);

/* True when all n bytes are valid UTF-8. */
bool uk_utf8_valid(const void *p, size_t n);

#endif
