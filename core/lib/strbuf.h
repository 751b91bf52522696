/*
 * strbuf - a growable byte buffer that is always NUL-terminated.
 *
 * A STRBUF holds len bytes of data (which may include NUL bytes) followed by
 * a terminating NUL that is not counted.  Appending never fails (memory
 * exhaustion is fatal, see xalloc.h).
 *
 *	strbuf_alloc(hint)	a new empty buffer
 *	strbuf_free(sb)		release it (NULL is accepted)
 *	strbuf_reset(sb)	make it empty, keep the memory
 *	strbuf_truncate(sb, n)	keep the first n bytes
 *	strbuf_addmem/addstr/addch	append bytes
 *	strbuf_addf/vaddf	append printf-style
 *	strbuf_setstr/setmem	replace the content
 *	strbuf_str(sb), strbuf_len(sb)	the content and its length
 *	strbuf_steal(sb)	return the content as a malloc'd string, free sb
 */
#ifndef PQ_STRBUF_H
#define PQ_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct STRBUF {
    char *data;
    size_t len;
    size_t cap;
} STRBUF;

STRBUF *strbuf_alloc(size_t hint);
void strbuf_free(STRBUF *sb);
void strbuf_reset(STRBUF *sb);
void strbuf_truncate(STRBUF *sb, size_t len);
void strbuf_reserve(STRBUF *sb, size_t extra);
void strbuf_addmem(STRBUF *sb, const void *data, size_t len);
void strbuf_addstr(STRBUF *sb, const char *str);
void strbuf_addch(STRBUF *sb, int ch);
void strbuf_addf(STRBUF *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void strbuf_vaddf(STRBUF *sb, const char *fmt, va_list ap);
void strbuf_setstr(STRBUF *sb, const char *str);
void strbuf_setmem(STRBUF *sb, const void *data, size_t len);
char *strbuf_steal(STRBUF *sb);

#define strbuf_str(sb) ((sb)->data)
#define strbuf_len(sb) ((sb)->len)

#endif
