/*
 * spool_path - queue file paths, hashing and moves for the spool backend.
 *
 * A message "id" in queue "q" lives at <queue_dir>/q/<c1>/.../<cN>/id when q
 * is named in $hash_queue_names (N = $hash_queue_depth, the characters from
 * queue_id_hash()), else at <queue_dir>/q/id.  Moves are rename(2); when the
 * target's hash subdirectory is missing it is made (mode 0700) and the rename
 * is tried once more, as Postfix does.  Directories this backend makes are
 * given to $mail_owner (env owner_uid/owner_gid) so that Postfix's daemons,
 * which run as that user, can still read them when the store runs as root.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "queue_id.h"
#include "queue_path.h"
#include "spool.h"

int
spool_is_hashed(SPOOL_STORE *sp, const char *queue)
{
    return sp->store.env.hash_depth > 0 &&
           queue_path_hashed(sp->store.env.hash_queues, queue);
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

int
spool_make_dir(const STORE_ENV *env, const char *path)
{
    if (mkdir(path, 0700) < 0)
        return errno == EEXIST ? 0 : -1;
    if (env->owner_uid >= 0 &&
        chown(path, (uid_t) env->owner_uid, (gid_t) env->owner_gid) < 0)
        return -1;
    return 0;
}

int
spool_make_parents(SPOOL_STORE *sp, const char *path)
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
        if (spool_make_dir(&sp->store.env, copy) < 0)
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
    if (spool_make_parents(sp, strbuf_str(sp->path_b)) < 0)
        return -1;
    return rename(strbuf_str(sp->path_a), strbuf_str(sp->path_b));
}

/*
 * A file "is" a message for the administrative calls only when it is ready,
 * as Postfix's mail_open_ok() demands: a file that cleanup is still writing
 * (mode 0600) must not be moved under it.  Corrupt files count whatever
 * their mode (a delivery agent may have made them 0400).
 */
int
spool_locate(SPOOL_STORE *sp, const char *id, int mask, int ready_only)
{
    struct stat st;

    for (int bit = 1; bit <= STORE_Q_MAILDROP; bit <<= 1) {
        if ((mask & bit) == 0)
            continue;
        spool_path(sp, store_queue_name(bit), id, sp->path_a);
        if (lstat(strbuf_str(sp->path_a), &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (ready_only && bit != STORE_Q_CORRUPT && !spool_file_ready(&st))
            continue;
        return bit;
    }
    return 0;
}
