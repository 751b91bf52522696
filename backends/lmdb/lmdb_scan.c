/*
 * lmdb_scan - scans of the LMDB index backend (store_scan_* in store.h).
 *
 * Incoming mail is few files: its scan walks incoming/ exactly like the
 * spool backend (readdir order, depth first into one-character
 * subdirectories, lstat() of each name, only ready files whose mtime is due),
 * and indexes on the way the files the index does not know yet (one write
 * transaction per scan_next call).
 *
 * The deferred scan is a cursor over the "due" keys in time order, from the
 * oldest to the first one that is not due yet (or to the end with
 * STORE_SCAN_ALL): its cost grows with the messages that are due, not with
 * the deferred queue.  Opening it first checks the directory stamps and runs
 * the bounded background sweep (lmdb_reconcile.c), so that files that
 * arrived behind the index's back are found.  Every candidate is checked with
 * one lstat() before it is returned:
 *	- no file there: looked for in the other queues and re-filed, or
 *	  dropped from the index; not returned;
 *	- not a ready file: left alone, not returned;
 *	- mtime (or inode, size) differs from the index: re-keyed (read again
 *	  when its inode or size changed), and returned now when the new time
 *	  is due; a message returned that way is skipped when the cursor meets
 *	  its new key later in the same walk.
 * No transaction stays open between calls: each scan_next call reads in one
 * read transaction, remembers the last key it passed, and commits its
 * repairs in one write transaction.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lmdb_store.h"
#include "msg.h"
#include "queue_id.h"
#include "xalloc.h"

typedef struct LMDB_SCAN {
    STORE_SCAN scan; /* must be first */
    SPOOL_WALK *walk;
    unsigned char pos[8 + STORE_ID_MAX];
    size_t pos_len;
    int exhausted;
    char **early; /* ids returned ahead of their new due key */
    size_t early_count;
} LMDB_SCAN;

STORE_SCAN *
lmdb_scan_open(STORE *store, int queue, int flags)
{
    LMDB_STORE *lm = (LMDB_STORE *) store;
    LMDB_SCAN *scan;

    if (queue != STORE_Q_INCOMING && queue != STORE_Q_DEFERRED) {
        store_set_error(store, STORE_INVALID, "cannot scan queue %s",
                        store_queue_name(queue));
        return NULL;
    }
    if (lmdb_ready(lm) != STORE_OK)
        return NULL;
    /* A failed reconcile leaves the index as it was: scan what it has. */
    if (queue == STORE_Q_DEFERRED &&
        lmdb_reconcile(lm, LMDB_INDEXED, 1) != STORE_OK)
        msg_warn("%s", store_error(store));
    scan = xcalloc(1, sizeof(*scan));
    scan->scan.store = store;
    scan->scan.queue = queue;
    scan->scan.flags = flags;
    if (queue == STORE_Q_INCOMING)
        scan->walk = spool_walk_open(lm->sp, "incoming");
    return &scan->scan;
}

void
lmdb_scan_close(STORE_SCAN *base)
{
    LMDB_SCAN *scan = (LMDB_SCAN *) base;

    spool_walk_close(scan->walk);
    for (size_t i = 0; i < scan->early_count; i++)
        xfree(scan->early[i]);
    xfree(scan->early);
    xfree(scan);
}

static void
add_candidate(STORE_CAND *cand, int *count, const char *id, int queue,
              time_t when)
{
    STORE_CAND *c = &cand[(*count)++];

    snprintf(c->id, sizeof(c->id), "%s", id);
    c->queue = queue;
    c->next_attempt = when;
}

static STORE_STATUS
commit_repairs(LMDB_STORE *lm, LMDB_BATCH *batch)
{
    /* The index is a cache: candidates stay valid when it cannot be
     * updated; what it missed is found again by the reconcile. */
    if (lmdb_batch_commit(lm, batch, "lmdb:scan:commit") != STORE_OK)
        msg_warn("%s", store_error(&lm->store));
    return STORE_OK;
}

/* Incoming: the spool's walk, indexing what is new. */

static STORE_STATUS
scan_incoming(LMDB_SCAN *scan, STORE_CAND *cand, int max, int *count)
{
    LMDB_STORE *lm = (LMDB_STORE *) scan->scan.store;
    time_t now = time(NULL);
    MDB_txn *txn = NULL;
    LMDB_BATCH batch;
    const char *name;
    struct stat st;

    if (lmdb_env_read(lm->env, &txn) != 0)
        txn = NULL;
    lmdb_batch_init(&batch);
    while (*count < max && (name = spool_walk_next(scan->walk, &st)) != NULL) {
        lm->counters.names_read++;
        lm->counters.file_lstats++;
        if (!queue_id_ok(name) || !spool_file_ready(&st))
            continue;
        (void) lmdb_index_seen(lm, txn, &batch, STORE_Q_INCOMING, name,
                               strbuf_str(scan->walk->entry), &st);
        if ((scan->scan.flags & STORE_SCAN_ALL) || st.st_mtime <= now + 1)
            add_candidate(cand, count, name, STORE_Q_INCOMING, st.st_mtime);
    }
    if (txn)
        mdb_txn_abort(txn);
    commit_repairs(lm, &batch);
    lmdb_batch_free(&batch);
    return STORE_OK;
}

/* Deferred: the due cursor. */

static int
take_early(LMDB_SCAN *scan, const char *id)
{
    for (size_t i = 0; i < scan->early_count; i++) {
        if (strcmp(scan->early[i], id) == 0) {
            xfree(scan->early[i]);
            scan->early[i] = scan->early[--scan->early_count];
            return 1;
        }
    }
    return 0;
}

static void
add_early(LMDB_SCAN *scan, const char *id)
{
    scan->early =
        xrealloc(scan->early, (scan->early_count + 1) * sizeof(*scan->early));
    scan->early[scan->early_count++] = xstrdup(id);
}

/* Check one due entry; 1 when it is a candidate (*when: its due time). */
static int
check_entry(LMDB_SCAN *scan, const LMDB_REC *rec, LMDB_BATCH *batch,
            time_t limit, time_t *when)
{
    LMDB_STORE *lm = (LMDB_STORE *) scan->scan.store;
    int all = scan->scan.flags & STORE_SCAN_ALL;
    LMDB_REC fresh;
    struct stat st;
    int same_content;

    if (lmdb_lstat(lm, rec->relpath, &st) < 0 || !S_ISREG(st.st_mode)) {
        lmdb_relocate(lm, batch, rec, rec->id);
        return 0;
    }
    if (!spool_file_ready(&st))
        return 0;
    *when = st.st_mtime;
    if (lmdb_same_file(rec, &st))
        return 1;
    lm->counters.repairs++;
    same_content = rec->ino == (uint64_t) st.st_ino &&
                   rec->file_size == (int64_t) st.st_size;
    if (lmdb_rec_from_file(lm, STORE_Q_DEFERRED, rec->id,
                           same_content ? rec : NULL, &fresh) != 0) {
        lmdb_relocate(lm, batch, rec, rec->id);
        return 0;
    }
    lmdb_batch_put(batch, &fresh);
    lmdb_rec_free(&fresh);
    if (st.st_mtime == rec->next_attempt)
        return 1;
    if (!all && st.st_mtime > limit)
        return 0;
    if (st.st_mtime > rec->next_attempt)
        add_early(scan, rec->id); /* its new key is still ahead */
    return 1;
}

static int
seek(LMDB_SCAN *scan, MDB_cursor *cur, MDB_val *key, MDB_val *val)
{
    int rc;

    if (scan->pos_len == 0)
        return mdb_cursor_get(cur, key, val, MDB_FIRST);
    key->mv_data = scan->pos;
    key->mv_size = scan->pos_len;
    rc = mdb_cursor_get(cur, key, val, MDB_SET_RANGE);
    if (rc == 0 && key->mv_size == scan->pos_len &&
        memcmp(key->mv_data, scan->pos, scan->pos_len) == 0)
        rc = mdb_cursor_get(cur, key, val, MDB_NEXT);
    return rc;
}

static int
walk_due(LMDB_SCAN *scan, MDB_txn *txn, LMDB_BATCH *batch, STORE_CAND *cand,
         int max, int *count)
{
    LMDB_STORE *lm = (LMDB_STORE *) scan->scan.store;
    time_t limit = time(NULL) + 1;
    MDB_cursor *cur;
    MDB_val key, val;
    int rc;

    if ((rc = mdb_cursor_open(txn, lm->env->due, &cur)) != 0)
        return rc;
    for (rc = seek(scan, cur, &key, &val); rc == 0 && *count < max;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        char id[STORE_ID_MAX];
        int64_t due;
        time_t when;
        LMDB_REC rec;
        int found;

        if (lmdb_due_key_split(key.mv_data, key.mv_size, &due, id, sizeof(id)) <
            0) {
            lmdb_batch_del_key(batch, LMDB_DB_DUE, key.mv_data, key.mv_size);
            continue;
        }
        if (!(scan->scan.flags & STORE_SCAN_ALL) && due > (int64_t) limit)
            break;
        memcpy(scan->pos, key.mv_data, key.mv_size);
        scan->pos_len = key.mv_size;
        if (take_early(scan, id))
            continue;
        if ((found = lmdb_rec_get(lm->env, txn, id, &rec)) < 0) {
            rc = found;
            break;
        }
        if (!found || rec.queue != STORE_Q_DEFERRED ||
            rec.next_attempt != due) {
            lmdb_batch_del_key(batch, LMDB_DB_DUE, key.mv_data, key.mv_size);
        } else if (check_entry(scan, &rec, batch, limit, &when)) {
            add_candidate(cand, count, id, STORE_Q_DEFERRED, when);
        }
        lmdb_rec_free(&rec);
    }
    if (rc == MDB_NOTFOUND) {
        scan->exhausted = 1;
        rc = 0;
    }
    mdb_cursor_close(cur);
    return rc;
}

static STORE_STATUS
scan_deferred(LMDB_SCAN *scan, STORE_CAND *cand, int max, int *count)
{
    LMDB_STORE *lm = (LMDB_STORE *) scan->scan.store;
    LMDB_BATCH batch;
    MDB_txn *txn;
    int rc;

    if (scan->exhausted)
        return STORE_OK;
    if ((rc = lmdb_env_read(lm->env, &txn)) != 0)
        return lmdb_fail(lm, rc, "read queue index");
    lmdb_batch_init(&batch);
    rc = walk_due(scan, txn, &batch, cand, max, count);
    mdb_txn_abort(txn);
    commit_repairs(lm, &batch);
    lmdb_batch_free(&batch);
    return rc == 0 ? STORE_OK : lmdb_fail(lm, rc, "read queue index");
}

STORE_STATUS
lmdb_scan_next(STORE_SCAN *base, STORE_CAND *cand, int max, int *count)
{
    LMDB_SCAN *scan = (LMDB_SCAN *) base;
    LMDB_STORE *lm = (LMDB_STORE *) base->store;
    STORE_STATUS status;

    *count = 0;
    if ((status = lmdb_ready(lm)) != STORE_OK)
        return status;
    if (base->queue == STORE_Q_INCOMING)
        return scan_incoming(scan, cand, max, count);
    return scan_deferred(scan, cand, max, count);
}
