/*
 * strbuf - a growable, always NUL-terminated byte buffer (see strbuf.h).
 */
#include <stdio.h>
#include <string.h>

#include "strbuf.h"
#include "xalloc.h"

STRBUF *
strbuf_alloc(size_t hint)
{
    STRBUF *sb = xmalloc(sizeof(*sb));

    sb->cap = hint < 16 ? 16 : hint;
    sb->data = xmalloc(sb->cap);
    sb->data[0] = 0;
    sb->len = 0;
    return sb;
}

void
strbuf_free(STRBUF *sb)
{
    if (sb == NULL)
        return;
    xfree(sb->data);
    xfree(sb);
}

void
strbuf_reset(STRBUF *sb)
{
    sb->len = 0;
    sb->data[0] = 0;
}

void
strbuf_truncate(STRBUF *sb, size_t len)
{
    if (len < sb->len) {
        sb->len = len;
        sb->data[len] = 0;
    }
}

void
strbuf_reserve(STRBUF *sb, size_t extra)
{
    size_t need = sb->len + extra + 1;

    if (need <= sb->cap)
        return;
    while (sb->cap < need)
        sb->cap *= 2;
    sb->data = xrealloc(sb->data, sb->cap);
}

void
strbuf_addmem(STRBUF *sb, const void *data, size_t len)
{
    strbuf_reserve(sb, len);
    memcpy(sb->data + sb->len, data, len);
    sb->len += len;
    sb->data[sb->len] = 0;
}

void
strbuf_addstr(STRBUF *sb, const char *str)
{
    strbuf_addmem(sb, str, strlen(str));
}

void
strbuf_addch(STRBUF *sb, int ch)
{
    strbuf_reserve(sb, 1);
    sb->data[sb->len++] = (char) ch;
    sb->data[sb->len] = 0;
}

void
strbuf_vaddf(STRBUF *sb, const char *fmt, va_list ap)
{
    va_list again;
    int need;

    va_copy(again, ap);
    need = vsnprintf(sb->data + sb->len, sb->cap - sb->len, fmt, ap);
    if (need < 0) {
        va_end(again);
        return;
    }
    if ((size_t) need >= sb->cap - sb->len) {
        strbuf_reserve(sb, (size_t) need);
        vsnprintf(sb->data + sb->len, sb->cap - sb->len, fmt, again);
    }
    va_end(again);
    sb->len += (size_t) need;
}

void
strbuf_addf(STRBUF *sb, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    strbuf_vaddf(sb, fmt, ap);
    va_end(ap);
}

void
strbuf_setstr(STRBUF *sb, const char *str)
{
    strbuf_setmem(sb, str, strlen(str));
}

void
strbuf_setmem(STRBUF *sb, const void *data, size_t len)
{
    strbuf_reset(sb);
    strbuf_addmem(sb, data, len);
}

char *
strbuf_steal(STRBUF *sb)
{
    char *data = sb->data;

    xfree(sb);
    return data;
}
