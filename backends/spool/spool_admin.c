/*
 * spool_admin - hold, release, delete and requeue on the spool, with the
 * same effect as Postfix's postsuper -h, -H, -d and -r (see store.h).
 *
 * Like postsuper, these act only on ready files (a file cleanup is still
 * writing is not a message yet) and never put maildrop mail on hold (it has
 * not been through cleanup yet).  Requeue keeps the status logs, as
 * postsuper -r does; delete removes them.
 */
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "queue_id.h"
#include "spool.h"

#define HOLDABLE (STORE_Q_INCOMING | STORE_Q_ACTIVE | STORE_Q_DEFERRED)
#define REQUEUEABLE                                                            \
    (STORE_Q_INCOMING | STORE_Q_ACTIVE | STORE_Q_DEFERRED | STORE_Q_HOLD)

static const char *const log_queues[] = {"defer", "bounce", "trace", NULL};

static STORE_STATUS
check_id(STORE *store, const char *id)
{
    if (!queue_id_ok(id))
        return store_set_error(store, STORE_INVALID, "invalid queue id: %s",
                               id);
    return STORE_OK;
}

static STORE_STATUS
move_message(SPOOL_STORE *sp, const char *id, int from_mask, const char *to,
             const char *step)
{
    STORE_STATUS status;
    int from;

    if ((status = check_id(&sp->store, id)) != STORE_OK)
        return status;
    if ((from = spool_locate(sp, id, from_mask, 1)) == 0)
        return store_set_error(&sp->store, STORE_GONE, "%s: no such message",
                               id);
    store_fault_point(step);
    if (spool_rename(sp, store_queue_name(from), to, id) < 0) {
        if (errno == ENOENT)
            return store_set_error(&sp->store, STORE_GONE,
                                   "%s: no such message", id);
        return store_set_error(&sp->store, STORE_UNAVAIL,
                               "move %s from %s to %s: %m", id,
                               store_queue_name(from), to);
    }
    return STORE_OK;
}

STORE_STATUS
spool_hold(STORE *store, const char *id)
{
    return move_message((SPOOL_STORE *) store, id, HOLDABLE, "hold",
                        "spool:hold:rename");
}

STORE_STATUS
spool_release(STORE *store, const char *id)
{
    return move_message((SPOOL_STORE *) store, id, STORE_Q_HOLD, "deferred",
                        "spool:release:rename");
}

STORE_STATUS
spool_requeue(STORE *store, const char *id)
{
    SPOOL_STORE *sp = (SPOOL_STORE *) store;
    STORE_STATUS status;
    int from;

    if ((status = check_id(store, id)) != STORE_OK)
        return status;
    if ((from = spool_locate(sp, id, REQUEUEABLE, 1)) == 0)
        return store_set_error(store, STORE_GONE, "%s: no such message", id);
    spool_path(sp, store_queue_name(from), id, sp->path_a);
    store_fault_point("spool:requeue:utime");
    if (spool_set_times(strbuf_str(sp->path_a), time(NULL)) < 0)
        return store_set_error(store,
                               errno == ENOENT ? STORE_GONE : STORE_UNAVAIL,
                               "%s: set time: %m", id);
    return move_message(sp, id, 1 << store_queue_index(from), "maildrop",
                        "spool:requeue:rename");
}

/* Remove the defer/bounce/trace logs of id; -1 + errno on failure. */
int
spool_remove_logs(SPOOL_STORE *sp, const char *id, const char *step)
{
    for (int i = 0; log_queues[i]; i++) {
        spool_path(sp, log_queues[i], id, sp->path_a);
        store_fault_point(step);
        if (unlink(strbuf_str(sp->path_a)) < 0 && errno != ENOENT)
            return -1;
    }
    return 0;
}

/*
 * The message file goes first, so that a crash never leaves a message
 * without its logs; it may leave logs without a message, which recovery
 * removes (spool_store.c).
 */
STORE_STATUS
spool_delete(STORE *store, const char *id)
{
    SPOOL_STORE *sp = (SPOOL_STORE *) store;
    STORE_STATUS status;
    int from;

    if ((status = check_id(store, id)) != STORE_OK)
        return status;
    if ((from = spool_locate(sp, id, STORE_Q_ALL, 1)) == 0)
        return store_set_error(store, STORE_GONE, "%s: no such message", id);
    spool_path(sp, store_queue_name(from), id, sp->path_a);
    store_fault_point("spool:delete:unlink");
    if (unlink(strbuf_str(sp->path_a)) < 0)
        return store_set_error(store,
                               errno == ENOENT ? STORE_GONE : STORE_UNAVAIL,
                               "remove %s: %m", strbuf_str(sp->path_a));
    if (spool_remove_logs(sp, id, "spool:delete:unlink-log") < 0)
        return store_set_error(store, STORE_UNAVAIL, "remove %s: %m",
                               strbuf_str(sp->path_a));
    return STORE_OK;
}
