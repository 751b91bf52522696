/*
 * queue_path - paths of queue files and logs (queue_path.h).
 */
#include <string.h>
#include <strings.h>

#include "queue_id.h"
#include "queue_path.h"

#define SEPARATORS ", \t\r\n"

int
queue_path_hashed(const char *hash_queues, const char *queue)
{
    size_t len = strlen(queue);

    if (hash_queues == NULL)
        return 0;
    while (*hash_queues) {
        size_t span;

        hash_queues += strspn(hash_queues, SEPARATORS);
        span = strcspn(hash_queues, SEPARATORS);
        if (span == len && strncasecmp(hash_queues, queue, len) == 0)
            return 1;
        hash_queues += span;
    }
    return 0;
}

void
queue_path(STRBUF *out, const char *hash_queues, int depth, const char *queue,
           const char *id)
{
    char hash[64];

    strbuf_reset(out);
    strbuf_addstr(out, queue);
    strbuf_addch(out, '/');
    if (depth > 0 && queue_path_hashed(hash_queues, queue) &&
        queue_id_hash(hash, sizeof(hash), id, depth))
        strbuf_addstr(out, hash);
    strbuf_addstr(out, id);
}
