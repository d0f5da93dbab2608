/* i18n.h: gettext for the messages a person reads (docs/i18n.md).
 * _("text") translates now; N_("text") only marks a literal for xgettext,
 * for tables and for the library, which never prints: its texts (error
 * strings, parser complaints) are marked with N_() and translated by the
 * front-end that prints them. Machine-readable output (JSON, line-mode
 * event names, "bound on ADDR PORT", the history file) is never wrapped. */
#ifndef UDPKIT_I18N_H
#define UDPKIT_I18N_H

#include <libintl.h>

#define UK_TEXTDOMAIN "udpkit"

/* _() is gettext's convention, the keyword xgettext and translators expect:
 * the reserved-identifier checks are silenced for it alone. */
/* NOLINTNEXTLINE(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
#define _(text) uk_gettext(text)
#define N_(text) (text)

/* gettext(text) in udpkit's catalogue, else in glibc's (libc-l10n): the
 * system error texts (strerror's, which uk_strerror() gives untranslated)
 * are translated there. */
const char *uk_gettext(const char *text) __attribute__((format_arg(1)));

/* Sets the locale from the environment (LANG, LC_ALL, LC_MESSAGES) for
 * everything but LC_NUMERIC, which stays "C" so figures, JSON and the
 * history never change with the locale, and binds the message catalogue
 * (UK_LOCALEDIR, or $UDPKIT_LOCALEDIR for tests run from the build tree). */
void uk_i18n_init(void);

#endif
