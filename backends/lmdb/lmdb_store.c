/*
 * lmdb_store - the LMDB index backend: open, close, recovery, ingest,
 * claims and checkins (scans in lmdb_scan.c, administration and transfer in
 * lmdb_admin.c; the design in lmdb_store.h).
 *
 * Every file operation is the spool backend's own, called through a private
 * spool store (store_claim(lm->spool, ...)), so the files end up exactly
 * where and how the spool backend (and Postfix) put them.  Around it, each
 * call notes the stamps of the directories the move touches, then commits
 * the index change and the new stamps in one write transaction.  When the
 * file operation worked but the index update did not, the call still
 * succeeds (the spool is the truth) and the index is repaired by the next
 * reconcile, because the stamps it did not store no longer match.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lmdb_store.h"
#include "msg.h"
#include "queue_id.h"
#include "xalloc.h"

/* Errors. */

STORE_STATUS
lmdb_copy_error(LMDB_STORE *lm, STORE_STATUS status)
{
    return store_set_error(&lm->store, status, "%s", store_error(lm->spool));
}

STORE_STATUS
lmdb_fail(LMDB_STORE *lm, int rc, const char *what)
{
    if (lmdb_env_is_damage(rc)) {
        lm->need_rebuild = 1;
        return store_set_error(&lm->store, STORE_RETRY,
                               "%s %s: %s: the index will be rebuilt", what,
                               lm->dir, mdb_strerror(rc));
    }
    return store_set_error(&lm->store, STORE_UNAVAIL, "%s %s: %s", what,
                           lm->dir, mdb_strerror(rc));
}

/* Warn about an index update that failed after the file operation. */
static void
commit_or_warn(LMDB_STORE *lm, LMDB_BATCH *batch, const char *step)
{
    if (lmdb_batch_commit(lm, batch, step) != STORE_OK)
        msg_warn("%s", store_error(&lm->store));
    lmdb_batch_free(batch);
}

/*
 * Before every call: an environment of this process (a child of fork()
 * opens its own), and a rebuild when LMDB reported damage.
 */
STORE_STATUS
lmdb_ready(LMDB_STORE *lm)
{
    STRBUF *why;
    STORE_STATUS status = STORE_OK;

    if (lm->env == NULL || lm->env->pid != getpid()) {
        why = strbuf_alloc(100);
        if (lm->env && lm->env->pid != getpid())
            lm->sweep.walk = NULL; /* the parent's directory stream */
        lm->env = lmdb_env_acquire(lm->dir, &lm->store.env, why);
        if (lm->env == NULL)
            status = store_set_error(&lm->store, STORE_UNAVAIL, "%s",
                                     strbuf_str(why));
        strbuf_free(why);
        if (status != STORE_OK)
            return status;
    }
    lm->env->counters = &lm->counters;
    if (lm->need_rebuild) {
        why = strbuf_alloc(100);
        lmdb_sweep_close(&lm->sweep);
        if (lmdb_env_reset(lm->env, &lm->store.env, why) != 0)
            status = store_set_error(&lm->store, STORE_UNAVAIL, "%s",
                                     strbuf_str(why));
        else
            status = lmdb_rebuild(lm, "LMDB reported damage");
        strbuf_free(why);
        lm->need_rebuild = status != STORE_OK;
    }
    return status;
}

static LMDB_STORE *
lmdb_of(STORE *store)
{
    return (LMDB_STORE *) store;
}

/* Recovery: the spool's, then a merge of every directory that changed. */

static STORE_STATUS
lmdb_recover(STORE *store)
{
    LMDB_STORE *lm = lmdb_of(store);
    STORE_STATUS status;
    int dead = 0;

    if ((status = lmdb_ready(lm)) != STORE_OK)
        return status;
    if (mdb_reader_check(lm->env->env, &dead) == 0 && dead > 0)
        msg_info("queue index %s: cleared %d stale reader slot%s", lm->dir,
                 dead, dead == 1 ? "" : "s");
    if ((status = store_recover(lm->spool)) != STORE_OK)
        msg_warn("queue recovery: %s", store_error(lm->spool));
    return lmdb_reconcile(lm, LMDB_INDEXED, 0);
}

/* Ingest: index ready files in incoming/ that the index does not know. */

static STORE_STATUS
lmdb_ingest(STORE *store, int max, int *count)
{
    LMDB_STORE *lm = lmdb_of(store);
    SPOOL_WALK *walk;
    STORE_STATUS status;
    LMDB_BATCH batch;
    const char *name;
    MDB_txn *txn;
    struct stat st;
    int rc;

    *count = 0;
    if ((status = lmdb_ready(lm)) != STORE_OK)
        return status;
    if ((rc = lmdb_env_read(lm->env, &txn)) != 0)
        return lmdb_fail(lm, rc, "read queue index");
    lmdb_batch_init(&batch);
    walk = spool_walk_open(lm->sp, "incoming");
    while (*count < max && (name = spool_walk_next(walk, &st)) != NULL) {
        lm->counters.names_read++;
        lm->counters.file_lstats++;
        if (queue_id_ok(name) && spool_file_ready(&st))
            *count += lmdb_index_seen(lm, txn, &batch, STORE_Q_INCOMING, name,
                                      strbuf_str(walk->entry), &st);
    }
    spool_walk_close(walk);
    mdb_txn_abort(txn);
    status = lmdb_batch_commit(lm, &batch, "lmdb:ingest:commit");
    lmdb_batch_free(&batch);
    if (status != STORE_OK)
        *count = 0;
    return status;
}

/* Claims and checkins. */

int
lmdb_lookup(LMDB_STORE *lm, const char *id, LMDB_REC *rec)
{
    MDB_txn *txn;
    int found;

    lmdb_rec_init(rec);
    if (lmdb_env_read(lm->env, &txn) != 0)
        return 0;
    found = lmdb_rec_get(lm->env, txn, id, rec);
    mdb_txn_abort(txn);
    if (found < 0)
        lmdb_fail(lm, found, "read queue index");
    return found > 0;
}

/* Index id as it now lies in queue (old: its previous record, or NULL). */
static void
refile(LMDB_STORE *lm, LMDB_BATCH *batch, int queue, const char *id,
       const LMDB_REC *old)
{
    LMDB_REC rec;

    if (lmdb_rec_from_file(lm, queue, id, old, &rec) == 0) {
        lmdb_batch_put(batch, &rec);
        lmdb_rec_free(&rec);
    } else {
        lmdb_relocate(lm, batch, old, id);
    }
}

static STORE_STATUS
lmdb_claim(STORE *store, const STORE_CAND *cand, STORE_CLAIM **claimp)
{
    LMDB_STORE *lm = lmdb_of(store);
    LMDB_TRACK from, to;
    STORE_STATUS status;
    LMDB_BATCH batch;
    LMDB_REC old;
    int found;

    if ((status = lmdb_ready(lm)) != STORE_OK)
        return status;
    if (!queue_id_ok(cand->id) ||
        (cand->queue != STORE_Q_INCOMING && cand->queue != STORE_Q_DEFERRED))
        return store_set_error(store, STORE_INVALID, "bad candidate %s/%s",
                               store_queue_name(cand->queue), cand->id);
    found = lmdb_lookup(lm, cand->id, &old);
    lmdb_track_begin(lm, &from, cand->queue, cand->id);
    lmdb_track_begin(lm, &to, STORE_Q_ACTIVE, cand->id);
    status = store_claim(lm->spool, cand, claimp);
    lmdb_batch_init(&batch);
    if (status == STORE_OK)
        refile(lm, &batch, STORE_Q_ACTIVE, cand->id, found ? &old : NULL);
    else if (status == STORE_GONE && found)
        lmdb_relocate(lm, &batch, &old, cand->id);
    lmdb_track_end(lm, &from, &batch);
    lmdb_track_end(lm, &to, &batch);
    commit_or_warn(lm, &batch, "lmdb:claim:commit");
    lmdb_rec_free(&old);
    return status == STORE_OK ? STORE_OK : lmdb_copy_error(lm, status);
}

static STORE_STATUS
lmdb_renew(STORE *store, STORE_LEASE *leases, int count)
{
    return STORE_OK;
}

static int
checkin_target(const STORE_OUTCOME *outcome)
{
    switch (outcome->action) {
        case STORE_DEFER:
            return STORE_Q_DEFERRED;
        case STORE_BACK:
            return STORE_Q_INCOMING;
        case STORE_HOLD:
            return STORE_Q_HOLD;
        case STORE_TO_CORRUPT:
            return STORE_Q_CORRUPT;
        case STORE_REMOVE:
            break;
    }
    return 0;
}

static STORE_STATUS
lmdb_checkin(STORE *store, STORE_CLAIM *claim, const STORE_OUTCOME *outcome)
{
    LMDB_STORE *lm = lmdb_of(store);
    int target = checkin_target(outcome);
    LMDB_TRACK from, to;
    STORE_STATUS status;
    LMDB_BATCH batch;
    LMDB_REC old;
    int found;

    if ((status = lmdb_ready(lm)) != STORE_OK)
        return status;
    found = lmdb_lookup(lm, claim->id, &old);
    lmdb_track_begin(lm, &from, STORE_Q_ACTIVE, claim->id);
    if (target)
        lmdb_track_begin(lm, &to, target, claim->id);
    status = store_checkin(lm->spool, claim, outcome);
    lmdb_batch_init(&batch);
    if (status == STORE_OK && target)
        refile(lm, &batch, target, claim->id, NULL); /* recipients changed */
    else if (status == STORE_OK)
        lmdb_batch_del(&batch, claim->id);
    else if (status == STORE_GONE)
        lmdb_relocate(lm, &batch, found ? &old : NULL, claim->id);
    lmdb_track_end(lm, &from, &batch);
    if (target)
        lmdb_track_end(lm, &to, &batch);
    commit_or_warn(lm, &batch, "lmdb:checkin:commit");
    lmdb_rec_free(&old);
    return status == STORE_OK ? STORE_OK : lmdb_copy_error(lm, status);
}

/* Open and close. */

static void
lmdb_close(STORE *store)
{
    LMDB_STORE *lm = lmdb_of(store);

    if (lm->env && lm->env->pid == getpid())
        lmdb_sweep_close(&lm->sweep);
    lmdb_env_release(lm->env);
    store_close(lm->spool);
    strbuf_free(lm->path);
    strbuf_free(lm->path2);
    xfree(lm->dir);
    store_free_common(store);
}

static const STORE_OPS lmdb_ops = {
    .type = "lmdb",
    .caps = STORE_CAP_POSTFIX | STORE_CAP_DUE_INDEX,
    .close = lmdb_close,
    .recover = lmdb_recover,
    .ingest = lmdb_ingest,
    .scan_open = lmdb_scan_open,
    .scan_next = lmdb_scan_next,
    .scan_close = lmdb_scan_close,
    .claim = lmdb_claim,
    .renew = lmdb_renew,
    .checkin = lmdb_checkin,
    .list = lmdb_list,
    .hold = lmdb_hold,
    .release = lmdb_release,
    .delete_msg = lmdb_delete,
    .requeue = lmdb_requeue,
    .counts = lmdb_counts,
    .export_msg = lmdb_export,
    .import_msg = lmdb_import,
};

static char *
index_directory(const char *name, const STORE_ENV *env)
{
    STRBUF *buf;

    if (*name == '/')
        return xstrdup(name);
    buf = strbuf_alloc(100);
    strbuf_addf(buf, "%s/%s", env->queue_dir, name);
    return strbuf_steal(buf);
}

STORE *
lmdb_store_open(const char *name, const STORE_ENV *env, STORE_STATUS *status,
                STRBUF *why)
{
    LMDB_STORE *lm;
    STORE *spool;
    LMDB_ENV *e;
    char *dir;

    if (*name == 0) {
        strbuf_addf(why, "the lmdb store needs a directory: "
                         "\"lmdb:/var/lib/postfix/pqmgr\"");
        *status = STORE_INVALID;
        return NULL;
    }
    if ((spool = spool_store_open("", env, status, why)) == NULL)
        return NULL;
    dir = index_directory(name, env);
    if ((e = lmdb_env_acquire(dir, env, why)) == NULL) {
        xfree(dir);
        store_close(spool);
        *status = STORE_UNAVAIL;
        return NULL;
    }
    lm = (LMDB_STORE *) store_alloc(&lmdb_ops, sizeof(*lm), env);
    lm->spool = spool;
    lm->sp = (SPOOL_STORE *) spool;
    lm->env = e;
    lm->dir = dir;
    lm->path = strbuf_alloc(256);
    lm->path2 = strbuf_alloc(256);
    lm->sweep_names = LMDB_SWEEP_NAMES;
    lm->sweep_entries = LMDB_SWEEP_ENTRIES;
    e->counters = &lm->counters;
    *status = lmdb_check_format(lm);
    if (*status != STORE_OK && lm->need_rebuild)
        *status = lmdb_ready(lm);
    if (*status != STORE_OK) {
        strbuf_addstr(why, store_error(&lm->store));
        lmdb_close(&lm->store);
        return NULL;
    }
    return &lm->store;
}

/* Test hooks. */

const LMDB_COUNTERS *
lmdb_store_counters(const STORE *store)
{
    if (strcmp(store_type(store), "lmdb") != 0)
        return NULL;
    return &((const LMDB_STORE *) store)->counters;
}

void
lmdb_store_set_sweep(STORE *store, int names, int entries)
{
    if (strcmp(store_type(store), "lmdb") != 0)
        return;
    lmdb_of(store)->sweep_names = names;
    lmdb_of(store)->sweep_entries = entries;
}

void
lmdb_store_set_initial_mapsize(size_t bytes)
{
    lmdb_set_initial_mapsize(bytes);
}
