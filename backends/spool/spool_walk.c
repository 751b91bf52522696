/*
 * spool_walk - walk one queue directory the way Postfix's scans do.
 *
 * Names come back in readdir() order.  "." and ".." are skipped; a name of
 * exactly one character is a hash subdirectory and is walked depth first
 * (whatever the hash settings, as Postfix does); every other name is
 * returned, valid queue id or not: the caller decides.  A subdirectory that
 * cannot be opened is skipped with a warning (Postfix's qmgr would exit;
 * pqmgr keeps delivering the rest).
 */
#include <errno.h>
#include <string.h>

#include "msg.h"
#include "spool.h"
#include "xalloc.h"

static int
walk_push(SPOOL_WALK *walk)
{
    DIR *dir;

    if (walk->depth + 1 >= SPOOL_WALK_DEPTH)
        return -1;
    if ((dir = opendir(strbuf_str(walk->dir))) == NULL) {
        if (errno != ENOENT)
            msg_warn("open directory %s: %m", strbuf_str(walk->dir));
        return -1;
    }
    walk->depth++;
    walk->stack[walk->depth] = dir;
    walk->dir_len[walk->depth] = strbuf_len(walk->dir);
    return 0;
}

static void
walk_pop(SPOOL_WALK *walk)
{
    closedir(walk->stack[walk->depth]);
    walk->depth--;
    if (walk->depth >= 0)
        strbuf_truncate(walk->dir, walk->dir_len[walk->depth]);
}

SPOOL_WALK *
spool_walk_open(SPOOL_STORE *sp, const char *queue)
{
    SPOOL_WALK *walk = xcalloc(1, sizeof(*walk));

    walk->dir = strbuf_alloc(256);
    walk->entry = strbuf_alloc(256);
    walk->depth = -1;
    strbuf_addf(walk->dir, "%s/%s", sp->store.env.queue_dir, queue);
    (void) walk_push(walk);
    return walk;
}

const char *
spool_walk_next(SPOOL_WALK *walk, struct stat *st)
{
    struct dirent *dp;

    while (walk->depth >= 0) {
        if ((dp = readdir(walk->stack[walk->depth])) == NULL) {
            walk_pop(walk);
            continue;
        }
        if (strcmp(dp->d_name, ".") == 0 || strcmp(dp->d_name, "..") == 0)
            continue;
        if (dp->d_name[1] == 0) {
            strbuf_addch(walk->dir, '/');
            strbuf_addstr(walk->dir, dp->d_name);
            if (walk_push(walk) < 0)
                strbuf_truncate(walk->dir, walk->dir_len[walk->depth]);
            continue;
        }
        strbuf_setmem(walk->entry, strbuf_str(walk->dir),
                      strbuf_len(walk->dir));
        strbuf_addch(walk->entry, '/');
        strbuf_addstr(walk->entry, dp->d_name);
        if (st && lstat(strbuf_str(walk->entry), st) < 0)
            continue;
        return dp->d_name;
    }
    return NULL;
}

void
spool_walk_close(SPOOL_WALK *walk)
{
    if (walk == NULL)
        return;
    while (walk->depth >= 0)
        walk_pop(walk);
    strbuf_free(walk->dir);
    strbuf_free(walk->entry);
    xfree(walk);
}
