/*
 * attr_enc0 - the NUL-terminated attribute encoding (Postfix's attr_print0
 * and attr_scan0), the one every queue-manager peer speaks.
 *
 *	list	= *( name NUL value NUL / "{" NUL *pair "}" NUL ) NUL
 *
 * Every string ends in a NUL byte; the terminator is an empty name, so a
 * list always ends in two NUL bytes.  DATA values are base64 text.  A
 * group marker has no value: whether a name "{" or "}" is one depends on
 * what the receiver wants, so names come out as ATTR_SEP_MAYBE.
 *
 * Interface: the ATTR_CODEC attr_codec0 (attr_impl.h).
 */
#include <string.h>

#include "attr_impl.h"

static int
put_pair0(STRBUF *out, const char *name, const char *value, size_t len)
{
    if (*name == 0 || memchr(value, 0, len) != NULL)
        return -1;
    strbuf_addmem(out, name, strlen(name) + 1);
    strbuf_addmem(out, value, len);
    strbuf_addch(out, 0);
    return 0;
}

static void
put_marker0(STRBUF *out, const char *marker)
{
    strbuf_addmem(out, marker, strlen(marker) + 1);
}

static void
put_end0(STRBUF *out)
{
    strbuf_addch(out, 0);
}

/* get_string0 - the bytes up to the next NUL, which is consumed */

static int
get_string0(ATTR_CURSOR *cur, ATTR_TOKEN *tok)
{
    size_t end;
    int ret;

    if ((ret = attr_cursor_find(cur, 0, 0, &end)) != ATTR_SCAN_DONE)
        return ret;
    tok->ptr = cur->buf + cur->pos;
    tok->len = end - cur->pos;
    tok->sep = ATTR_SEP_VALUE;
    cur->pos = end + 1;
    return ATTR_SCAN_DONE;
}

static int
get_name0(ATTR_CURSOR *cur, ATTR_TOKEN *tok)
{
    int ret = get_string0(cur, tok);

    if (ret == ATTR_SCAN_DONE)
        tok->sep = tok->len ? ATTR_SEP_MAYBE : ATTR_SEP_END;
    return ret;
}

static int
skip_value0(ATTR_CURSOR *cur)
{
    ATTR_TOKEN tok;

    return get_string0(cur, &tok);
}

const ATTR_CODEC attr_codec0 = {
    .name = "attr0",
    .put_pair = put_pair0,
    .put_marker = put_marker0,
    .put_end = put_end0,
    .get_name = get_name0,
    .get_value = get_string0,
    .skip_value = skip_value0,
    .data_is_text = 1,
};
