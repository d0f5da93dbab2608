/* i18n.c: the locale and the message catalogue (see udpkit/i18n.h). */
#include <locale.h>
#include <stdlib.h>

#include "udpkit/i18n.h"

#ifndef UK_LOCALEDIR
#define UK_LOCALEDIR "/usr/local/share/locale"
#endif

const char *uk_gettext(const char *text)
{
	const char *t = gettext(text);

	return t != text ? t : dgettext("libc", text);
}

void uk_i18n_init(void)
{
	const char *dir = getenv("UDPKIT_LOCALEDIR");

	/* An unknown locale leaves "C": English, as it should. */
	(void)setlocale(LC_ALL, "");
	/* Numbers are printed and parsed in "C" whatever the locale: the
	 * figures people compare, --json and the history file. */
	(void)setlocale(LC_NUMERIC, "C");
	(void)bindtextdomain(UK_TEXTDOMAIN, dir && *dir ? dir : UK_LOCALEDIR);
	(void)textdomain(UK_TEXTDOMAIN);
}
