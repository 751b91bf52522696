/*
 * spool_path - queue file paths, hashing and moves for the spool backend.
 *
 * A message "id" in queue "q" lives at <queue_dir>/q/<c1>/.../<cN>/id when q
 * is named in $hash_queue_names (N = $hash_queue_depth, the characters from
 * queue_id_hash()), else at <queue_dir>/q/id.  Moves are rename(2); when the
 * target's hash subdirectory is missing it is made (mode 0700) and the rename
 * is tried once more, as Postfix does.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>

#include "queue_id.h"
#include "spool.h"

int
spool_is_hashed(SPOOL_STORE *sp, const char *queue)
{
    const char *list = sp->store.env.hash_queues;
    size_t len = strlen(queue);

    if (list == NULL || sp->store.env.hash_depth <= 0)
        return 0;
    while (*list) {
        size_t span;

        list += strspn(list, ", \t\r\n");
        span = strcspn(list, ", \t\r\n");
        if (span == len && strncasecmp(list, queue, len) == 0)
            return 1;
        list += span;
    }
    return 0;
}

void
spool_path(SPOOL_STORE *sp, const char *queue, const char *id, STRBUF *buf)
{
    char hash[64];

    strbuf_reset(buf);
    strbuf_addf(buf, "%s/%s/", sp->store.env.queue_dir, queue);
    if (spool_is_hashed(sp, queue) &&
        queue_id_hash(hash, sizeof(hash), id, sp->store.env.hash_depth))
        strbuf_addstr(buf, hash);
    strbuf_addstr(buf, id);
}

/* Make every missing directory on the way to the file named by path. */
static int
make_parents(const char *path)
{
    char copy[4096];
    char *slash;

    if (strlen(path) >= sizeof(copy)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(copy, path);
    for (slash = strchr(copy + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = 0;
        if (mkdir(copy, 0700) < 0 && errno != EEXIST)
            return -1;
        *slash = '/';
    }
    return 0;
}

int
spool_rename(SPOOL_STORE *sp, const char *from, const char *to, const char *id)
{
    spool_path(sp, from, id, sp->path_a);
    spool_path(sp, to, id, sp->path_b);
    if (rename(strbuf_str(sp->path_a), strbuf_str(sp->path_b)) == 0)
        return 0;
    if (errno != ENOENT)
        return -1;
    if (access(strbuf_str(sp->path_a), F_OK) < 0)
        return -1;
    if (make_parents(strbuf_str(sp->path_b)) < 0)
        return -1;
    return rename(strbuf_str(sp->path_a), strbuf_str(sp->path_b));
}

int
spool_locate(SPOOL_STORE *sp, const char *id, int mask)
{
    struct stat st;

    for (int bit = 1; bit <= STORE_Q_MAILDROP; bit <<= 1) {
        if ((mask & bit) == 0)
            continue;
        spool_path(sp, store_queue_name(bit), id, sp->path_a);
        if (lstat(strbuf_str(sp->path_a), &st) == 0 && S_ISREG(st.st_mode))
            return bit;
    }
    return 0;
}
