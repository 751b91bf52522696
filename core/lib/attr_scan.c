/*
 * attr_scan - Postfix's receiver semantics over any encoding (see attr.h).
 *
 * One scan walks the caller's wish list in order and reads the input
 * forwards through the encoding's tokenizer (attr_impl.h).  The scan keeps
 * no state between calls: when the bytes end inside the list it reports
 * ATTR_SCAN_AGAIN and the caller repeats the whole scan with more bytes.
 * Work per call is bounded by limits->list_max, and the only memory it
 * allocates is bounded by limits->string_max (scratch and destinations) and
 * limits->hash_max (hash entries).
 *
 * Steps return STEP_NEXT (go on with the wish list), STEP_STOP (the list
 * terminator was consumed: the scan is over, possibly with fewer
 * conversions than wanted), ATTR_SCAN_AGAIN or ATTR_SCAN_ERROR.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "attr.h"
#include "attr_impl.h"
#include "msg.h"

#define STEP_NEXT ATTR_SCAN_DONE
#define STEP_STOP 2

#define QUOTE_LEN 120

typedef struct SCAN {
    const ATTR_CODEC *codec;
    ATTR_CURSOR cur;
    STRBUF *key;   /* hash entry name, NUL-terminated */
    STRBUF *value; /* hash entry value, NUL-terminated */
    int count;     /* conversions so far */
} SCAN;

/* attr_cursor_error - record why the input is unacceptable */

void
attr_cursor_error(ATTR_CURSOR *cur, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cur->why, ATTR_WHY_LEN, fmt, ap);
    va_end(ap);
}

/* attr_quote - printable, shortened copy of input bytes for messages */

const char *
attr_quote(char *buf, size_t size, const char *ptr, size_t len)
{
    size_t room = size - 4; /* "..." and NUL */
    size_t n = len < room ? len : room;

    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char) ptr[i];

        buf[i] = (ch < 0x20 || ch >= 0x7f) ? '?' : (char) ch;
    }
    if (n < len)
        memcpy(buf + n, "...", 3), n += 3;
    buf[n] = 0;
    return buf;
}

/* cursor_out_of_bytes - the token continues past the usable bytes */

static int
cursor_out_of_bytes(ATTR_CURSOR *cur)
{
    if (cur->at_limit) {
        attr_cursor_error(cur, "attribute list longer than %zu bytes",
                          cur->limits->list_max);
        return ATTR_SCAN_ERROR;
    }
    if (cur->eof) {
        attr_cursor_error(cur, "premature end of input inside a list");
        return ATTR_SCAN_ERROR;
    }
    return ATTR_SCAN_AGAIN;
}

int
attr_cursor_find(ATTR_CURSOR *cur, int stop1, int stop2, size_t *end)
{
    size_t max = cur->limits->string_max;
    size_t avail = cur->len - cur->pos;
    size_t window = avail <= max ? avail : max + 1;
    const unsigned char *p = (const unsigned char *) cur->buf + cur->pos;

    for (size_t i = 0; i < window; i++) {
        if (p[i] == stop1 || p[i] == stop2) {
            *end = cur->pos + i;
            return ATTR_SCAN_DONE;
        }
    }
    if (avail > max) {
        attr_cursor_error(cur, "string longer than %zu bytes", max);
        return ATTR_SCAN_ERROR;
    }
    return cursor_out_of_bytes(cur);
}

/* token_is - does the token spell exactly this string? */

static int
token_is(const ATTR_TOKEN *tok, const char *str)
{
    size_t len = strlen(str);

    return tok->len == len && memcmp(tok->ptr, str, len) == 0;
}

/* is_marker - a group marker: the name alone, without a value */

static int
is_marker(const ATTR_TOKEN *tok, const char *marker)
{
    return tok->sep != ATTR_SEP_VALUE && token_is(tok, marker);
}

static int
next_name(SCAN *sc, ATTR_TOKEN *name)
{
    return sc->codec->get_name(&sc->cur, name);
}

static int
skip_value(SCAN *sc, const ATTR_TOKEN *name)
{
    if (name->sep == ATTR_SEP_NONE)
        return ATTR_SCAN_DONE;
    return sc->codec->skip_value(&sc->cur);
}

/* read_value - the value of a wanted attribute */

static int
read_value(SCAN *sc, const ATTR_TOKEN *name, ATTR_TOKEN *value)
{
    char q[QUOTE_LEN];
    char why[ATTR_WHY_LEN];
    int ret;

    if (name->sep == ATTR_SEP_NONE) {
        attr_cursor_error(&sc->cur, "missing value for attribute %s",
                          attr_quote(q, sizeof(q), name->ptr, name->len));
        return ATTR_SCAN_ERROR;
    }
    ret = sc->codec->get_value(&sc->cur, value);
    if (ret == ATTR_SCAN_ERROR) {
        memcpy(why, sc->cur.why, sizeof(why));
        attr_cursor_error(&sc->cur, "%.120s (value of %s)", why,
                          attr_quote(q, sizeof(q), name->ptr, name->len));
    }
    return ret;
}

/* missing - the terminator came before the wanted attribute */

static int
missing(SCAN *sc, int flags, const char *wanted)
{
    if (flags & ATTR_FLAG_MISSING) {
        attr_cursor_error(&sc->cur, "missing attribute %s", wanted);
        return ATTR_SCAN_ERROR;
    }
    return STEP_STOP;
}

static int
unexpected(SCAN *sc, const ATTR_TOKEN *name, const char *wanted)
{
    char q[QUOTE_LEN];

    attr_cursor_error(&sc->cur, "unexpected attribute %s (expecting: %s)",
                      attr_quote(q, sizeof(q), name->ptr, name->len), wanted);
    return ATTR_SCAN_ERROR;
}

/* locate - read input names up to the wanted one, skipping others */

static int
locate(SCAN *sc, int flags, const char *wanted, ATTR_TOKEN *name)
{
    int ret;

    for (;;) {
        if ((ret = next_name(sc, name)) != ATTR_SCAN_DONE)
            return ret;
        if (name->sep == ATTR_SEP_END)
            return missing(sc, flags, wanted);
        if (token_is(name, wanted))
            return STEP_NEXT;
        if (flags & ATTR_FLAG_EXTRA)
            return unexpected(sc, name, wanted);
        if ((ret = skip_value(sc, name)) != ATTR_SCAN_DONE)
            return ret;
    }
}

/* parse_number - 1 or more decimal digits, at most max */

static int
parse_number(SCAN *sc, const char *name, const ATTR_TOKEN *val,
             unsigned long max, unsigned long *out)
{
    unsigned long num = 0;
    char q[QUOTE_LEN];

    for (size_t i = 0; i < val->len; i++) {
        unsigned digit = (unsigned char) val->ptr[i] - '0';

        if (digit > 9 || num > (max - digit) / 10)
            goto bad;
        num = num * 10 + digit;
    }
    if (val->len > 0) {
        *out = num;
        return ATTR_SCAN_DONE;
    }
bad:
    attr_cursor_error(&sc->cur, "malformed numerical data for %s: %s", name,
                      attr_quote(q, sizeof(q), val->ptr, val->len));
    return ATTR_SCAN_ERROR;
}

static int
store_number(SCAN *sc, const ATTR_SPEC *want, const ATTR_TOKEN *val)
{
    unsigned long max = want->type == ATTR_TYPE_INT ? UINT_MAX : ULONG_MAX;
    unsigned long num;

    if (parse_number(sc, want->name, val, max, &num) != ATTR_SCAN_DONE)
        return ATTR_SCAN_ERROR;
    if (want->type == ATTR_TYPE_INT && want->to.num)
        *want->to.num = (unsigned) num;
    if (want->type == ATTR_TYPE_LONG && want->to.lnum)
        *want->to.lnum = num;
    return ATTR_SCAN_DONE;
}

static int
store_string(SCAN *sc, const ATTR_SPEC *want, const ATTR_TOKEN *val)
{
    if (memchr(val->ptr, 0, val->len) != NULL) {
        attr_cursor_error(&sc->cur, "NUL byte in the value of %s", want->name);
        return ATTR_SCAN_ERROR;
    }
    if (want->to.str)
        strbuf_setmem(want->to.str, val->ptr, val->len);
    return ATTR_SCAN_DONE;
}

static int
store_data(SCAN *sc, const ATTR_SPEC *want, const ATTR_TOKEN *val)
{
    STRBUF *dest = want->to.str ? want->to.str : sc->value;
    char q[QUOTE_LEN];

    if (!sc->codec->data_is_text) {
        strbuf_setmem(dest, val->ptr, val->len);
        return ATTR_SCAN_DONE;
    }
    if (attr_base64_decode(dest, val->ptr, val->len) < 0) {
        attr_cursor_error(&sc->cur, "malformed base64 data for %s: %s",
                          want->name,
                          attr_quote(q, sizeof(q), val->ptr, val->len));
        return ATTR_SCAN_ERROR;
    }
    return ATTR_SCAN_DONE;
}

static int
check_value(SCAN *sc, const ATTR_SPEC *want, const ATTR_TOKEN *val)
{
    char q[QUOTE_LEN];

    if (token_is(val, want->to.expect) && !memchr(val->ptr, 0, val->len))
        return ATTR_SCAN_DONE;
    attr_cursor_error(&sc->cur, "unexpected %s %s (expected: %s)", want->name,
                      attr_quote(q, sizeof(q), val->ptr, val->len),
                      want->to.expect);
    return ATTR_SCAN_ERROR;
}

static int
convert(SCAN *sc, const ATTR_SPEC *want, const ATTR_TOKEN *val)
{
    switch (want->type) {
        case ATTR_TYPE_INT:
        case ATTR_TYPE_LONG:
            return store_number(sc, want, val);
        case ATTR_TYPE_STR:
            return store_string(sc, want, val);
        case ATTR_TYPE_DATA:
            return store_data(sc, want, val);
        default:
            return check_value(sc, want, val);
    }
}

/* scan_simple - one wanted INT, LONG, STR, DATA or STREQ */

static int
scan_simple(SCAN *sc, int flags, const ATTR_SPEC *want)
{
    ATTR_TOKEN name;
    ATTR_TOKEN value;
    int ret;

    if (want->name == NULL || *want->name == 0)
        msg_panic("attr_scan: wanted attribute without a name");
    if ((ret = locate(sc, flags, want->name, &name)) != STEP_NEXT)
        return ret;
    if ((ret = read_value(sc, &name, &value)) != ATTR_SCAN_DONE)
        return ret;
    if ((ret = convert(sc, want, &value)) != ATTR_SCAN_DONE)
        return ret;
    if (want->type != ATTR_TYPE_STREQ)
        sc->count++;
    return STEP_NEXT;
}

/* store_entry - one input attribute into a hash table */

static int
store_entry(SCAN *sc, int flags, ATTR_LIST *table, const ATTR_TOKEN *name)
{
    ATTR_TOKEN value;
    char q[QUOTE_LEN];
    int ret;

    if (name->len == 0) {
        attr_cursor_error(&sc->cur, "empty attribute name in a hash");
        return ATTR_SCAN_ERROR;
    }
    strbuf_setmem(sc->key, name->ptr, name->len);
    if ((ret = read_value(sc, name, &value)) != ATTR_SCAN_DONE)
        return ret;
    if (memchr(value.ptr, 0, value.len) != NULL) {
        attr_cursor_error(&sc->cur, "NUL byte in the value of %s",
                          attr_quote(q, sizeof(q), name->ptr, name->len));
        return ATTR_SCAN_ERROR;
    }
    if (attr_list_find(table, strbuf_str(sc->key)) != NULL) {
        if ((flags & ATTR_FLAG_EXTRA) == 0)
            return ATTR_SCAN_DONE;
        attr_cursor_error(&sc->cur, "duplicate attribute %s in a hash",
                          attr_quote(q, sizeof(q), name->ptr, name->len));
        return ATTR_SCAN_ERROR;
    }
    if (table->count >= sc->cur.limits->hash_max) {
        attr_cursor_error(&sc->cur, "more than %zu attributes in a hash",
                          sc->cur.limits->hash_max);
        return ATTR_SCAN_ERROR;
    }
    strbuf_setmem(sc->value, value.ptr, value.len);
    attr_list_add_str(table, strbuf_str(sc->key), strbuf_str(sc->value));
    sc->count++;
    return ATTR_SCAN_DONE;
}

/* scan_group - hash entries after "{", up to and including "}" */

static int
scan_group(SCAN *sc, int flags, ATTR_LIST *table)
{
    ATTR_TOKEN name;
    int ret;

    for (;;) {
        if ((ret = next_name(sc, &name)) != ATTR_SCAN_DONE)
            return ret;
        if (name.sep == ATTR_SEP_END)
            return missing(sc, flags, "}");
        if (is_marker(&name, "}"))
            return STEP_NEXT;
        if ((ret = store_entry(sc, flags, table, &name)) != ATTR_SCAN_DONE)
            return ret;
    }
}

/*
 * scan_hash - a group "{" ... "}", or else every remaining attribute up to
 * the terminator.
 */
static int
scan_hash(SCAN *sc, int flags, ATTR_LIST *table)
{
    ATTR_TOKEN name;
    int ret;

    if (table == NULL)
        msg_panic("attr_scan: hash without a table");
    attr_list_reset(table);
    if ((ret = next_name(sc, &name)) != ATTR_SCAN_DONE)
        return ret;
    if (name.sep == ATTR_SEP_END)
        return STEP_STOP;
    if (is_marker(&name, "{"))
        return scan_group(sc, flags, table);
    for (;;) {
        if ((ret = store_entry(sc, flags, table, &name)) != ATTR_SCAN_DONE)
            return ret;
        if ((ret = next_name(sc, &name)) != ATTR_SCAN_DONE)
            return ret;
        if (name.sep == ATTR_SEP_END)
            return STEP_STOP;
    }
}

/* scan_to_end - skip (or, with EXTRA, refuse) attributes up to the end */

static int
scan_to_end(SCAN *sc, int flags)
{
    ATTR_TOKEN name;
    int ret;

    for (;;) {
        if ((ret = next_name(sc, &name)) != ATTR_SCAN_DONE)
            return ret;
        if (name.sep == ATTR_SEP_END)
            return STEP_STOP;
        if (flags & ATTR_FLAG_EXTRA)
            return unexpected(sc, &name, "list terminator");
        if ((ret = skip_value(sc, &name)) != ATTR_SCAN_DONE)
            return ret;
    }
}

/* scan_run - a wish list; a nested run counts as one conversion */

static int
scan_run(SCAN *sc, int flags, const ATTR_SPEC *want)
{
    int before;
    int ret;

    for (; want->type != ATTR_TYPE_END; want++) {
        switch (want->type) {
            case ATTR_TYPE_RUN:
                before = sc->count;
                ret = scan_run(sc, flags | ATTR_FLAG_MORE, want->to.run);
                sc->count = before + (ret == STEP_NEXT);
                break;
            case ATTR_TYPE_HASH:
                ret = scan_hash(sc, flags, want->to.hash);
                break;
            case ATTR_TYPE_INT:
            case ATTR_TYPE_LONG:
            case ATTR_TYPE_STR:
            case ATTR_TYPE_DATA:
            case ATTR_TYPE_STREQ:
                ret = scan_simple(sc, flags, want);
                break;
            default:
                msg_panic("attr_scan: unknown type %d", want->type);
        }
        if (ret != STEP_NEXT)
            return ret;
    }
    return (flags & ATTR_FLAG_MORE) ? STEP_NEXT : scan_to_end(sc, flags);
}

static void
scan_init(SCAN *sc, ATTR_ENCODING enc, const char *buf, size_t len, int flags,
          const ATTR_LIMITS *limits, char *why)
{
    memset(sc, 0, sizeof(*sc));
    sc->codec = attr_codec(enc);
    sc->cur.buf = buf;
    sc->cur.limits = limits ? limits : &attr_default_limits;
    sc->cur.at_limit = len >= sc->cur.limits->list_max;
    sc->cur.len = sc->cur.at_limit ? sc->cur.limits->list_max : len;
    sc->cur.eof = (flags & ATTR_FLAG_EOF) != 0;
    sc->cur.name_buf = strbuf_alloc(64);
    sc->cur.value_buf = strbuf_alloc(64);
    sc->cur.why = why;
    sc->key = strbuf_alloc(64);
    sc->value = strbuf_alloc(64);
}

static void
scan_done(SCAN *sc)
{
    strbuf_free(sc->cur.name_buf);
    strbuf_free(sc->cur.value_buf);
    strbuf_free(sc->key);
    strbuf_free(sc->value);
}

int
attr_scan(ATTR_ENCODING enc, const char *buf, size_t len, int flags,
          const ATTR_SPEC *want, const ATTR_LIMITS *limits,
          ATTR_SCAN_RESULT *res)
{
    SCAN sc;
    int ret;

    if (flags & ~(ATTR_FLAG_STRICT | ATTR_FLAG_MORE | ATTR_FLAG_EOF))
        msg_panic("attr_scan: bad flags 0x%x", (unsigned) flags);
    memset(res, 0, sizeof(*res));
    if (len == 0 && (flags & ATTR_FLAG_EOF)) {
        snprintf(res->why, sizeof(res->why), "end of input before a list");
        return res->status = ATTR_SCAN_EOF;
    }
    scan_init(&sc, enc, buf, len, flags, limits, res->why);
    ret = scan_run(&sc, flags & (ATTR_FLAG_STRICT | ATTR_FLAG_MORE), want);
    if (ret == STEP_NEXT || ret == STEP_STOP) {
        res->status = ATTR_SCAN_DONE;
        res->count = sc.count;
        res->used = sc.cur.pos;
    } else {
        res->status = ret;
    }
    scan_done(&sc);
    return res->status;
}

int
attr_scan0(const char *buf, size_t len, int flags, const ATTR_SPEC *want,
           const ATTR_LIMITS *limits, ATTR_SCAN_RESULT *res)
{
    return attr_scan(ATTR_ENC_0, buf, len, flags, want, limits, res);
}
