/*
 * xalloc - memory allocation that never returns NULL.
 *
 * xmalloc(), xcalloc(), xrealloc() and xstrdup()/xstrndup() behave like
 * their C library counterparts, but an allocation failure is logged with
 * msg_fatal() and ends the process: callers never check for NULL.
 * xfree() accepts NULL.
 */
#ifndef PQ_XALLOC_H
#define PQ_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t len);
void *xcalloc(size_t count, size_t len);
void *xrealloc(void *ptr, size_t len);
char *xstrdup(const char *str);
char *xstrndup(const char *str, size_t len);
void *xmemdup(const void *data, size_t len);
void xfree(void *ptr);

#endif
