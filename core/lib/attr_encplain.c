/*
 * attr_encplain - the plain-text attribute encoding (Postfix's
 * attr_print_plain and attr_scan_plain; anvil(8) and policy servers).
 *
 *	list	= *( name "=" value LF / "{" LF *pair "}" LF ) LF
 *
 * No escaping: a name cannot contain "=" or LF and a value cannot contain
 * LF (the printer refuses those).  DATA is base64 text, numbers are
 * decimal, the terminator is an empty line.  A name that ends the line has
 * no value: a group marker, or else an error where a value is wanted.  An
 * unwanted attribute is skipped up to the end of its line.  Names compare
 * up to their first NUL byte, so the markers "{" NUL LF that 3.7's printer
 * writes are understood as well as "{" LF (which this printer writes).
 *
 * Interface: the ATTR_CODEC attr_codec_plain (attr_impl.h).
 */
#include <string.h>

#include "attr_impl.h"

static int
put_pair_plain(STRBUF *out, const char *name, const char *value, size_t len)
{
    if (*name == 0 || strpbrk(name, "=\n") != NULL ||
        memchr(value, '\n', len) != NULL || memchr(value, 0, len) != NULL)
        return -1;
    strbuf_addstr(out, name);
    strbuf_addch(out, '=');
    strbuf_addmem(out, value, len);
    strbuf_addch(out, '\n');
    return 0;
}

static void
put_marker_plain(STRBUF *out, const char *marker)
{
    strbuf_addstr(out, marker);
    strbuf_addch(out, '\n');
}

static void
put_end_plain(STRBUF *out)
{
    strbuf_addch(out, '\n');
}

static int
get_name_plain(ATTR_CURSOR *cur, ATTR_TOKEN *tok)
{
    const char *nul;
    size_t end;
    int ret;

    if ((ret = attr_cursor_find(cur, '=', '\n', &end)) != ATTR_SCAN_DONE)
        return ret;
    tok->ptr = cur->buf + cur->pos;
    tok->len = end - cur->pos;
    cur->pos = end + 1;
    if (cur->buf[end] == '\n' && tok->len == 0) {
        tok->sep = ATTR_SEP_END;
        return ATTR_SCAN_DONE;
    }
    if ((nul = memchr(tok->ptr, 0, tok->len)) != NULL)
        tok->len = (size_t) (nul - tok->ptr);
    tok->sep = (cur->buf[end] == '=') ? ATTR_SEP_VALUE : ATTR_SEP_NONE;
    return ATTR_SCAN_DONE;
}

/* get_value_plain - the rest of the line; it may contain "=" */

static int
get_value_plain(ATTR_CURSOR *cur, ATTR_TOKEN *tok)
{
    size_t end;
    int ret;

    if ((ret = attr_cursor_find(cur, '\n', '\n', &end)) != ATTR_SCAN_DONE)
        return ret;
    tok->ptr = cur->buf + cur->pos;
    tok->len = end - cur->pos;
    tok->sep = ATTR_SEP_VALUE;
    cur->pos = end + 1;
    return ATTR_SCAN_DONE;
}

static int
skip_value_plain(ATTR_CURSOR *cur)
{
    ATTR_TOKEN tok;

    return get_value_plain(cur, &tok);
}

const ATTR_CODEC attr_codec_plain = {
    .name = "plain",
    .put_pair = put_pair_plain,
    .put_marker = put_marker_plain,
    .put_end = put_end_plain,
    .get_name = get_name_plain,
    .get_value = get_value_plain,
    .skip_value = skip_value_plain,
    .data_is_text = 1,
};
