/* Fuzz target: the chat UI's line layout (cmd/chat/tui.c): UTF-8 from the
 * network to the wide characters drawn (to_wide), and how a line is cut
 * into rows of a pane cols wide (row_end, rows_of). These are static and
 * pure (no curses call), so this file includes tui.c to fuzz exactly the
 * code the UI runs. Checked: only printable characters of known width
 * reach the screen ('?' otherwise, and one final '…' when cut); every row
 * makes progress; a row is never wider than the pane unless it holds one
 * character wider than the pane; a zero-width character never starts a
 * row after the first (combining marks stay with their base); rows_of
 * counts the rows the walk finds.
 *
 * Input: byte 0 = pane width (1..200), byte 1 = the character limit
 * (x 32, 0 = LINE_MAX_CHARS), the rest = the line's bytes. */
/* NOLINTNEXTLINE(bugprone-suspicious-include): its layout functions are static */
#include "chat/tui.c"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* As uk_tui_open() does: widths need a UTF-8 LC_CTYPE. */
	if (!setlocale(LC_CTYPE, "C.UTF-8") || strcmp(nl_langinfo(CODESET), "UTF-8") != 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pane_line l;
	size_t max, rows = 0;
	int cols;

	if (size < 2)
		return 0;
	cols = data[0] % 200 + 1;
	max = data[1] ? (size_t)data[1] * 32 : LINE_MAX_CHARS;
	l.text = to_wide((const char *)data + 2, size - 2, max, &l.len);
	if (!l.text)
		abort();
	if (l.len > max + 1 || l.text[l.len] != L'\0')
		abort();
	for (size_t i = 0; i < l.len; i++) {
		wchar_t c = l.text[i];
		if (c == L'\x2026' && i == l.len - 1)
			continue;
		if (c != L'?' && (!iswprint((wint_t)c) || wcwidth(c) < 0))
			abort();
	}
	for (size_t start = 0; start < l.len; rows++) {
		size_t end = row_end(l.text, l.len, start, cols);
		int width = 0, first = char_width(l.text[start]);
		if (end <= start || end > l.len)
			abort();
		if (start > 0 && wcwidth(l.text[start]) == 0)
			abort();
		for (size_t i = start; i < end; i++)
			width += char_width(l.text[i]);
		if (width > cols && width != first)
			abort();
		start = end;
	}
	if (rows_of(&l, cols) != (l.len ? rows : 1))
		abort();
	free(l.text);
	return 0;
}
