/*
 * xalloc - memory allocation that never returns NULL (see xalloc.h).
 */
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "xalloc.h"

static void
out_of_memory(size_t len)
{
    msg_fatal("out of memory allocating %zu bytes", len);
}

void *
xmalloc(size_t len)
{
    void *ptr = malloc(len ? len : 1);

    if (ptr == NULL)
        out_of_memory(len);
    return ptr;
}

void *
xcalloc(size_t count, size_t len)
{
    void *ptr = calloc(count ? count : 1, len ? len : 1);

    if (ptr == NULL)
        out_of_memory(count * len);
    return ptr;
}

void *
xrealloc(void *ptr, size_t len)
{
    void *grown = realloc(ptr, len ? len : 1);

    if (grown == NULL)
        out_of_memory(len);
    return grown;
}

char *
xstrdup(const char *str)
{
    return xmemdup(str, strlen(str) + 1);
}

char *
xstrndup(const char *str, size_t len)
{
    size_t have = strnlen(str, len);
    char *copy = xmalloc(have + 1);

    memcpy(copy, str, have);
    copy[have] = 0;
    return copy;
}

void *
xmemdup(const void *data, size_t len)
{
    void *copy = xmalloc(len);

    memcpy(copy, data, len);
    return copy;
}

void
xfree(void *ptr)
{
    free(ptr);
}
