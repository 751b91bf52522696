/*
 * spool_store - the classic spool backend: open, recovery, scans, claims and
 * checkins (administration and transfer are in spool_admin.c and
 * spool_transfer.c).  See store.h for the contracts and spool.h for the
 * layout.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "msg.h"
#include "queue_id.h"
#include "spool.h"
#include "xalloc.h"

typedef struct SPOOL_SCAN {
    STORE_SCAN scan; /* must be first */
    SPOOL_WALK *walk;
} SPOOL_SCAN;

static const char *const spool_dirs[] = {
    "incoming", "active", "deferred", "hold", "corrupt",
    "defer",    "bounce", "trace",    NULL,
};

/* Helpers shared with the other files of the backend. */

int
spool_file_ready(const struct stat *st)
{
    return S_ISREG(st->st_mode) && (st->st_mode & S_IRWXU) == S_IRWXU;
}

int
spool_mode_flags(const struct stat *st)
{
    int flags = 0;

    if (st->st_mode & S_IRGRP)
        flags |= STORE_MSG_UNTHROTTLE;
    if (st->st_mode & S_IXGRP)
        flags |= STORE_MSG_EXPIRE;
    return flags;
}

int
spool_set_times(const char *path, time_t when)
{
    struct timeval tv[2];

    tv[0].tv_sec = tv[1].tv_sec = when;
    tv[0].tv_usec = tv[1].tv_usec = 0;
    return utimes(path, tv);
}

static SPOOL_STORE *
spool_of(STORE *store)
{
    return (SPOOL_STORE *) store;
}

/* Recovery: stranded active files, left-over import temporaries. */

static void
recover_active(SPOOL_STORE *sp, time_t now)
{
    SPOOL_WALK *walk = spool_walk_open(sp, "active");
    const char *name;

    while ((name = spool_walk_next(walk, NULL)) != NULL) {
        if (!queue_id_ok(name)) {
            msg_warn("qmgr_move: ignored: queue active id %s", name);
            continue;
        }
        store_fault_point("spool:recover:utime");
        if (spool_set_times(strbuf_str(walk->entry), now) < 0 &&
            errno != ENOENT)
            msg_warn("set time stamps of %s: %m", strbuf_str(walk->entry));
        store_fault_point("spool:recover:rename");
        if (spool_rename(sp, "active", "incoming", name) < 0 && errno != ENOENT)
            msg_warn("move %s from active to incoming: %m", name);
    }
    spool_walk_close(walk);
}

/* Import temporaries are "<pid>.<serial>.pqimport" in incoming/. */
static void
recover_temporaries(SPOOL_STORE *sp)
{
    SPOOL_WALK *walk = spool_walk_open(sp, "incoming");
    const char *name;
    const char *suffix;
    long pid;

    while ((name = spool_walk_next(walk, NULL)) != NULL) {
        if ((suffix = strstr(name, ".pqimport")) == NULL || suffix[9] != 0)
            continue;
        pid = strtol(name, NULL, 10);
        if (pid > 0 && pid != (long) getpid() && kill((pid_t) pid, 0) == 0)
            continue;
        if (unlink(strbuf_str(walk->entry)) == 0)
            msg_info("removed unfinished import %s", strbuf_str(walk->entry));
    }
    spool_walk_close(walk);
}

/*
 * Logs whose message is in no queue: a delete or removal cut short after
 * the message file went, an import cut short before it came, or what
 * postsuper -r leaves behind once pickup has taken the message.  A file
 * moving between queues is always in one of them, but the queues are looked
 * at one after another, so a log is removed only when two looks miss it.
 */
static void
recover_orphan_logs(SPOOL_STORE *sp)
{
    static const char *const log_queues[] = {"defer", "bounce", "trace"};

    for (int i = 0; i < 3; i++) {
        SPOOL_WALK *walk = spool_walk_open(sp, log_queues[i]);
        const char *name;

        while ((name = spool_walk_next(walk, NULL)) != NULL) {
            if (!queue_id_ok(name) ||
                spool_locate(sp, name, STORE_Q_ALL, 0) != 0 ||
                spool_locate(sp, name, STORE_Q_ALL, 0) != 0)
                continue;
            store_fault_point("spool:recover:unlink-log");
            if (unlink(strbuf_str(walk->entry)) == 0)
                msg_info("%s: removed %s log without a message", name,
                         log_queues[i]);
        }
        spool_walk_close(walk);
    }
}

static STORE_STATUS
spool_recover(STORE *store)
{
    SPOOL_STORE *sp = spool_of(store);

    recover_active(sp, time(NULL));
    recover_temporaries(sp);
    recover_orphan_logs(sp);
    return STORE_OK;
}

/* Ingest: files in incoming/ are already in the store. */

static STORE_STATUS
spool_ingest(STORE *store, int max, int *count)
{
    *count = 0;
    return STORE_OK;
}

/* Scans. */

static STORE_SCAN *
spool_scan_open(STORE *store, int queue, int flags)
{
    SPOOL_SCAN *scan;

    if (queue != STORE_Q_INCOMING && queue != STORE_Q_DEFERRED) {
        store_set_error(store, STORE_INVALID, "cannot scan queue %s",
                        store_queue_name(queue));
        return NULL;
    }
    scan = xcalloc(1, sizeof(*scan));
    scan->scan.store = store;
    scan->scan.queue = queue;
    scan->scan.flags = flags;
    scan->walk = spool_walk_open(spool_of(store), store_queue_name(queue));
    return &scan->scan;
}

static int
candidate_due(const STORE_SCAN *scan, const struct stat *st, time_t now)
{
    return (scan->flags & STORE_SCAN_ALL) || st->st_mtime <= now + 1;
}

static STORE_STATUS
spool_scan_next(STORE_SCAN *base, STORE_CAND *cand, int max, int *count)
{
    SPOOL_SCAN *scan = (SPOOL_SCAN *) base;
    time_t now = time(NULL);
    struct stat st;
    const char *name;

    *count = 0;
    while (*count < max && (name = spool_walk_next(scan->walk, &st)) != NULL) {
        if (!queue_id_ok(name) || !spool_file_ready(&st) ||
            !candidate_due(base, &st, now))
            continue;
        STORE_CAND *c = &cand[(*count)++];

        snprintf(c->id, sizeof(c->id), "%s", name);
        c->queue = base->queue;
        c->next_attempt = st.st_mtime;
    }
    return STORE_OK;
}

static void
spool_scan_close(STORE_SCAN *base)
{
    SPOOL_SCAN *scan = (SPOOL_SCAN *) base;

    spool_walk_close(scan->walk);
    xfree(scan);
}

/* Claims and checkins. */

static STORE_STATUS
spool_claim(STORE *store, const STORE_CAND *cand, STORE_CLAIM **claimp)
{
    SPOOL_STORE *sp = spool_of(store);
    const char *from = store_queue_name(cand->queue);
    STORE_CLAIM *claim;
    struct stat st;

    if (!queue_id_ok(cand->id) ||
        (cand->queue != STORE_Q_INCOMING && cand->queue != STORE_Q_DEFERRED))
        return store_set_error(store, STORE_INVALID, "bad candidate %s/%s",
                               from, cand->id);
    store_fault_point("spool:claim:rename");
    if (spool_rename(sp, from, "active", cand->id) < 0) {
        if (errno == ENOENT)
            return store_set_error(store, STORE_GONE, "%s: no longer in %s",
                                   cand->id, from);
        return store_set_error(store, STORE_UNAVAIL,
                               "move %s from %s to active: %m", cand->id, from);
    }
    claim = xcalloc(1, sizeof(*claim));
    snprintf(claim->id, sizeof(claim->id), "%s", cand->id);
    claim->from_queue = cand->queue;
    spool_path(sp, "active", cand->id, sp->path_a);
    if (lstat(strbuf_str(sp->path_a), &st) == 0)
        claim->flags = spool_mode_flags(&st);
    claim->path =
        xstrdup(strbuf_str(sp->path_a) + strlen(store->env.queue_dir) + 1);
    snprintf(claim->lease.id, sizeof(claim->lease.id), "%s", cand->id);
    snprintf(claim->lease.owner, sizeof(claim->lease.owner), "%s",
             store->env.node_name ? store->env.node_name : "");
    claim->lease.epoch = 1;
    claim->lease.expiry = 0;
    *claimp = claim;
    return STORE_OK;
}

static STORE_STATUS
spool_renew(STORE *store, STORE_LEASE *leases, int count)
{
    return STORE_OK;
}

static STORE_STATUS
checkin_move(SPOOL_STORE *sp, STORE_CLAIM *claim, const char *to, time_t when,
             int set_time)
{
    if (set_time) {
        spool_path(sp, "active", claim->id, sp->path_a);
        store_fault_point("spool:checkin:utime");
        if (spool_set_times(strbuf_str(sp->path_a), when) < 0) {
            if (errno == ENOENT)
                return store_set_error(&sp->store, STORE_GONE,
                                       "%s: no longer active", claim->id);
            return store_set_error(&sp->store, STORE_UNAVAIL,
                                   "set time of %s: %m", claim->id);
        }
    }
    store_fault_point("spool:checkin:rename");
    if (spool_rename(sp, "active", to, claim->id) < 0) {
        if (errno == ENOENT)
            return store_set_error(&sp->store, STORE_GONE,
                                   "%s: no longer active", claim->id);
        return store_set_error(&sp->store, STORE_UNAVAIL,
                               "move %s from active to %s: %m", claim->id, to);
    }
    return STORE_OK;
}

/* The file goes first, then its logs (see spool_delete()). */
static STORE_STATUS
checkin_remove(SPOOL_STORE *sp, STORE_CLAIM *claim, int logs_gone)
{
    STORE_STATUS status;

    if (sp->store.env.dont_remove) {
        if ((status = checkin_move(sp, claim, "saved", 0, 0)) != STORE_OK)
            return status;
    } else {
        spool_path(sp, "active", claim->id, sp->path_a);
        store_fault_point("spool:checkin:unlink");
        if (unlink(strbuf_str(sp->path_a)) < 0) {
            if (errno == ENOENT)
                return store_set_error(&sp->store, STORE_GONE,
                                       "%s: no longer active", claim->id);
            return store_set_error(&sp->store, STORE_UNAVAIL, "remove %s: %m",
                                   strbuf_str(sp->path_a));
        }
    }
    if (!logs_gone &&
        spool_remove_logs(sp, claim->id, "spool:checkin:unlink-log") < 0)
        return store_set_error(&sp->store, STORE_UNAVAIL, "remove %s: %m",
                               strbuf_str(sp->path_a));
    return STORE_OK;
}

static STORE_STATUS
spool_checkin(STORE *store, STORE_CLAIM *claim, const STORE_OUTCOME *outcome)
{
    SPOOL_STORE *sp = spool_of(store);

    switch (outcome->action) {
        case STORE_REMOVE:
            return checkin_remove(sp, claim, outcome->logs_gone);
        case STORE_DEFER:
            return checkin_move(sp, claim, "deferred", outcome->next_attempt,
                                1);
        case STORE_BACK:
            return checkin_move(sp, claim, "incoming", outcome->next_attempt,
                                1);
        case STORE_HOLD:
            return checkin_move(sp, claim, "hold", 0, 0);
        case STORE_TO_CORRUPT:
            return checkin_move(sp, claim, "corrupt", 0, 0);
    }
    return store_set_error(store, STORE_INVALID, "bad checkin action %d",
                           (int) outcome->action);
}

/* Open and close. */

static void
spool_close(STORE *store)
{
    SPOOL_STORE *sp = spool_of(store);

    strbuf_free(sp->path_a);
    strbuf_free(sp->path_b);
    store_free_common(store);
}

static const STORE_OPS spool_ops = {
    .type = "spool",
    .caps = STORE_CAP_POSTFIX,
    .close = spool_close,
    .recover = spool_recover,
    .ingest = spool_ingest,
    .scan_open = spool_scan_open,
    .scan_next = spool_scan_next,
    .scan_close = spool_scan_close,
    .claim = spool_claim,
    .renew = spool_renew,
    .checkin = spool_checkin,
    .list = spool_list,
    .hold = spool_hold,
    .release = spool_release,
    .delete_msg = spool_delete,
    .requeue = spool_requeue,
    .counts = spool_counts,
    .export_msg = spool_export,
    .import_msg = spool_import,
};

static int
make_queue_dirs(const STORE_ENV *env, STRBUF *why)
{
    STRBUF *path = strbuf_alloc(256);
    int ok = 1;

    for (int i = 0; ok && spool_dirs[i]; i++) {
        strbuf_reset(path);
        strbuf_addf(path, "%s/%s", env->queue_dir, spool_dirs[i]);
        if (spool_make_dir(env, strbuf_str(path)) < 0) {
            strbuf_addf(why, "create %s: %m", strbuf_str(path));
            ok = 0;
        }
    }
    strbuf_free(path);
    return ok ? 0 : -1;
}

STORE *
spool_store_open(const char *name, const STORE_ENV *env, STORE_STATUS *status,
                 STRBUF *why)
{
    SPOOL_STORE *sp;
    struct stat st;

    if (*name) {
        strbuf_addf(why, "the spool store takes no name: \"spool:%s\"", name);
        *status = STORE_INVALID;
        return NULL;
    }
    if (env->queue_dir == NULL || *env->queue_dir == 0) {
        strbuf_addf(why, "queue directory not configured");
        *status = STORE_INVALID;
        return NULL;
    }
    if (stat(env->queue_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        strbuf_addf(why, "queue directory %s: %s", env->queue_dir,
                    access(env->queue_dir, F_OK) < 0 ? strerror(errno)
                                                     : "not a directory");
        *status = STORE_UNAVAIL;
        return NULL;
    }
    if (make_queue_dirs(env, why) < 0) {
        *status = STORE_UNAVAIL;
        return NULL;
    }
    sp = (SPOOL_STORE *) store_alloc(&spool_ops, sizeof(*sp), env);
    sp->path_a = strbuf_alloc(256);
    sp->path_b = strbuf_alloc(256);
    *status = STORE_OK;
    return &sp->store;
}
