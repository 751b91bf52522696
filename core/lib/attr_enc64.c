/*
 * attr_enc64 - the base64 attribute encoding (Postfix's attr_print64 and
 * attr_scan64; no 3.7 daemon uses it, it exists for other languages).
 *
 *	list	= *( b64(name) ":" b64(value) LF / b64("{") LF *pair b64("}") LF
 *) LF
 *
 * Names and values are base64-encoded separately, with padding; numbers are
 * formatted in decimal first.  DATA is base64 of the raw bytes, so the
 * decoded value already is the data.  The terminator is an empty line.  A
 * name that ends the line has no value: that is a group marker, or else an
 * error ("missing value") where a value is wanted; a second ":" in a
 * wanted value is an error ("multiple values").  An unwanted attribute is
 * skipped up to the end of its line.  Names compare up to their first NUL
 * byte, as in Postfix.
 *
 * Interface: the ATTR_CODEC attr_codec64 (attr_impl.h).
 */
#include <string.h>

#include "attr_impl.h"

static int
put_pair64(STRBUF *out, const char *name, const char *value, size_t len)
{
    attr_base64_encode(out, name, strlen(name));
    strbuf_addch(out, ':');
    attr_base64_encode(out, value, len);
    strbuf_addch(out, '\n');
    return 0;
}

static void
put_marker64(STRBUF *out, const char *marker)
{
    attr_base64_encode(out, marker, strlen(marker));
    strbuf_addch(out, '\n');
}

static void
put_end64(STRBUF *out)
{
    strbuf_addch(out, '\n');
}

/* get_token64 - base64 text up to ":" or LF, decoded into buf */

static int
get_token64(ATTR_CURSOR *cur, STRBUF *buf, ATTR_TOKEN *tok, int *stop)
{
    const char *raw = cur->buf + cur->pos;
    char q[120];
    size_t end;
    int ret;

    if ((ret = attr_cursor_find(cur, ':', '\n', &end)) != ATTR_SCAN_DONE)
        return ret;
    if (attr_base64_decode(buf, raw, end - cur->pos) < 0) {
        attr_cursor_error(cur, "malformed base64 data: %s",
                          attr_quote(q, sizeof(q), raw, end - cur->pos));
        return ATTR_SCAN_ERROR;
    }
    *stop = cur->buf[end];
    cur->pos = end + 1;
    tok->ptr = strbuf_str(buf);
    tok->len = strbuf_len(buf);
    return ATTR_SCAN_DONE;
}

static int
get_name64(ATTR_CURSOR *cur, ATTR_TOKEN *tok)
{
    size_t start = cur->pos;
    const char *nul;
    int stop;
    int ret;

    if ((ret = get_token64(cur, cur->name_buf, tok, &stop)) != ATTR_SCAN_DONE)
        return ret;
    if (stop == '\n' && cur->pos - start == 1) {
        tok->sep = ATTR_SEP_END;
        return ATTR_SCAN_DONE;
    }
    if ((nul = memchr(tok->ptr, 0, tok->len)) != NULL)
        tok->len = (size_t) (nul - tok->ptr);
    tok->sep = (stop == ':') ? ATTR_SEP_VALUE : ATTR_SEP_NONE;
    return ATTR_SCAN_DONE;
}

static int
get_value64(ATTR_CURSOR *cur, ATTR_TOKEN *tok)
{
    int stop;
    int ret;

    if ((ret = get_token64(cur, cur->value_buf, tok, &stop)) != ATTR_SCAN_DONE)
        return ret;
    if (stop == ':') {
        attr_cursor_error(cur, "multiple values for one attribute");
        return ATTR_SCAN_ERROR;
    }
    return ATTR_SCAN_DONE;
}

static int
skip_value64(ATTR_CURSOR *cur)
{
    size_t end;
    int ret;

    if ((ret = attr_cursor_find(cur, '\n', '\n', &end)) == ATTR_SCAN_DONE)
        cur->pos = end + 1;
    return ret;
}

const ATTR_CODEC attr_codec64 = {
    .name = "attr64",
    .put_pair = put_pair64,
    .put_marker = put_marker64,
    .put_end = put_end64,
    .get_name = get_name64,
    .get_value = get_value64,
    .skip_value = skip_value64,
    .data_is_text = 0,
};
