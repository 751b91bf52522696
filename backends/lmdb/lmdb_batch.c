/*
 * lmdb_batch - index changes collected in memory, then applied in one write
 * transaction (lmdb_store.h).
 *
 * A store call first does its file operations and decides what the index
 * must say, then commits all of it at once: one write transaction per call,
 * never one per recipient or per file.  Because a batch is plain data,
 * lmdb_env_write() can run it again from the start after growing the map.
 *
 *	put(rec)	message rec is now at rec->relpath: its old due key and
 *			directory key (read in the same transaction) go, the new
 *			record, directory key and (deferred only) due key come
 *	del(id)		forget the message and its keys
 *	del_key(db, key)	drop a due or directory key whose message
 *			record does not point to it
 *	stamp(dir, s)	the directory was reconciled as of stamp s
 *	unstamp(dir)	forget the stamp (the directory is gone)
 *	stamp_if(dir, before, after)
 *			an own move changed the directory from before to after:
 *			store after only if the stored stamp is before (clean),
 *			otherwise someone else changed it too and the directory
 *			must be merged at the next check
 *	meta(key, value)	any "meta" entry
 *	drop_all()	empty every database (rebuild)
 */
#include <errno.h>
#include <string.h>

#include "lmdb_store.h"
#include "xalloc.h"

typedef enum {
    CH_PUT,
    CH_DEL,
    CH_DEL_KEY,
    CH_STAMP,
    CH_UNSTAMP,
    CH_STAMP_IF,
    CH_META,
    CH_DROP_ALL,
} CHANGE_KIND;

struct LMDB_CHANGE {
    CHANGE_KIND kind;
    char *key;      /* id, directory, meta key */
    size_t key_len; /* for CH_DEL_KEY (binary) */
    char *value;    /* encoded record, meta value */
    size_t value_len;
    int queue;     /* CH_PUT; CH_DEL_KEY: LMDB_DB_* */
    int64_t when;  /* CH_PUT: next attempt */
    char *relpath; /* CH_PUT */
    LMDB_STAMP before, after;
    int before_exists;
};

void
lmdb_batch_init(LMDB_BATCH *batch)
{
    memset(batch, 0, sizeof(*batch));
}

static void
reset(LMDB_BATCH *batch)
{
    for (size_t i = 0; i < batch->count; i++) {
        xfree(batch->changes[i].key);
        xfree(batch->changes[i].value);
        xfree(batch->changes[i].relpath);
    }
    batch->count = 0;
}

void
lmdb_batch_free(LMDB_BATCH *batch)
{
    reset(batch);
    xfree(batch->changes);
    lmdb_batch_init(batch);
}

static LMDB_CHANGE *
add(LMDB_BATCH *batch, CHANGE_KIND kind, const char *key)
{
    LMDB_CHANGE *ch;

    if (batch->count == batch->alloc) {
        batch->alloc = batch->alloc ? 2 * batch->alloc : 16;
        batch->changes =
            xrealloc(batch->changes, batch->alloc * sizeof(*batch->changes));
    }
    ch = &batch->changes[batch->count++];
    memset(ch, 0, sizeof(*ch));
    ch->kind = kind;
    if (key) {
        ch->key = xstrdup(key);
        ch->key_len = strlen(key);
    }
    return ch;
}

void
lmdb_batch_put(LMDB_BATCH *batch, const LMDB_REC *rec)
{
    LMDB_CHANGE *ch = add(batch, CH_PUT, rec->id);
    STRBUF *buf = strbuf_alloc(128);

    lmdb_rec_encode(rec, buf);
    ch->value_len = strbuf_len(buf);
    ch->value = strbuf_steal(buf);
    ch->queue = rec->queue;
    ch->when = rec->next_attempt;
    ch->relpath = xstrdup(rec->relpath);
}

void
lmdb_batch_del(LMDB_BATCH *batch, const char *id)
{
    add(batch, CH_DEL, id);
}

void
lmdb_batch_del_key(LMDB_BATCH *batch, int db, const void *key, size_t len)
{
    LMDB_CHANGE *ch = add(batch, CH_DEL_KEY, NULL);

    ch->key = xmemdup(key, len);
    ch->key_len = len;
    ch->queue = db;
}

void
lmdb_batch_stamp(LMDB_BATCH *batch, const char *reldir, const LMDB_STAMP *stamp)
{
    add(batch, CH_STAMP, reldir)->after = *stamp;
}

void
lmdb_batch_unstamp(LMDB_BATCH *batch, const char *reldir)
{
    add(batch, CH_UNSTAMP, reldir);
}

void
lmdb_batch_stamp_if(LMDB_BATCH *batch, const char *reldir,
                    const LMDB_STAMP *before, int before_exists,
                    const LMDB_STAMP *after)
{
    LMDB_CHANGE *ch = add(batch, CH_STAMP_IF, reldir);

    ch->before = *before;
    ch->before_exists = before_exists;
    ch->after = *after;
}

void
lmdb_batch_meta(LMDB_BATCH *batch, const char *key, const void *value,
                size_t len)
{
    LMDB_CHANGE *ch = add(batch, CH_META, key);

    ch->value = xmemdup(value, len);
    ch->value_len = len;
}

void
lmdb_batch_drop_all(LMDB_BATCH *batch)
{
    add(batch, CH_DROP_ALL, NULL);
}

/* Applying a batch inside a write transaction. */

typedef struct APPLY {
    LMDB_BATCH *batch;
    STRBUF *key; /* scratch */
} APPLY;

static int
del_ignoring_absent(MDB_txn *txn, MDB_dbi dbi, MDB_val *key)
{
    int rc = mdb_del(txn, dbi, key, NULL);

    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Remove the due and directory keys of the record stored for id. */
static int
forget_keys(LMDB_ENV *e, MDB_txn *txn, const char *id, STRBUF *scratch,
            int *found)
{
    unsigned char due[8 + STORE_ID_MAX];
    LMDB_REC old;
    MDB_val key;
    int rc;

    if ((rc = lmdb_rec_get(e, txn, id, &old)) <= 0) {
        *found = 0;
        return rc;
    }
    *found = 1;
    rc = 0;
    if (old.queue == STORE_Q_DEFERRED) {
        key.mv_data = due;
        key.mv_size = lmdb_due_key(due, old.next_attempt, id);
        rc = del_ignoring_absent(txn, e->due, &key);
    }
    if (rc == 0) {
        lmdb_dir_key(scratch, old.relpath);
        key.mv_data = strbuf_str(scratch);
        key.mv_size = strbuf_len(scratch);
        rc = del_ignoring_absent(txn, e->dir_db, &key);
    }
    lmdb_rec_free(&old);
    return rc;
}

static int
apply_put(LMDB_ENV *e, MDB_txn *txn, const LMDB_CHANGE *ch, STRBUF *scratch)
{
    unsigned char due[8 + STORE_ID_MAX];
    MDB_val key = {ch->key_len, ch->key};
    MDB_val val = {ch->value_len, ch->value};
    MDB_val empty = {0, ""};
    int found;
    int rc;

    if ((rc = forget_keys(e, txn, ch->key, scratch, &found)) != 0)
        return rc;
    if ((rc = mdb_put(txn, e->msg, &key, &val, 0)) != 0)
        return rc;
    lmdb_dir_key(scratch, ch->relpath);
    key.mv_data = strbuf_str(scratch);
    key.mv_size = strbuf_len(scratch);
    if ((rc = mdb_put(txn, e->dir_db, &key, &empty, 0)) != 0)
        return rc;
    if (ch->queue != STORE_Q_DEFERRED)
        return 0;
    key.mv_data = due;
    key.mv_size = lmdb_due_key(due, ch->when, ch->key);
    return mdb_put(txn, e->due, &key, &empty, 0);
}

static int
apply_del(LMDB_ENV *e, MDB_txn *txn, const LMDB_CHANGE *ch, STRBUF *scratch)
{
    MDB_val key = {ch->key_len, ch->key};
    int found;
    int rc;

    if ((rc = forget_keys(e, txn, ch->key, scratch, &found)) != 0 || !found)
        return rc;
    return del_ignoring_absent(txn, e->msg, &key);
}

static void
stamp_key(STRBUF *out, const char *reldir)
{
    strbuf_reset(out);
    strbuf_addf(out, "stamp:%s", reldir);
}

static int
apply_stamp(LMDB_ENV *e, MDB_txn *txn, const LMDB_CHANGE *ch, STRBUF *scratch)
{
    unsigned char buf[41];
    LMDB_STAMP stored;
    MDB_val key, val;
    int rc;

    stamp_key(scratch, ch->key);
    key.mv_data = strbuf_str(scratch);
    key.mv_size = strbuf_len(scratch);
    if (ch->kind == CH_UNSTAMP)
        return del_ignoring_absent(txn, e->meta, &key);
    if (ch->kind == CH_STAMP_IF) {
        rc = mdb_get(txn, e->meta, &key, &val);
        if (rc != 0 && rc != MDB_NOTFOUND)
            return rc;
        if (rc == 0 && lmdb_stamp_decode(val.mv_data, val.mv_size, &stored) < 0)
            return MDB_CORRUPTED;
        if (ch->before_exists ? (rc != 0 || stored.dirty ||
                                 !lmdb_stamp_same(&stored, &ch->before))
                              : rc == 0)
            return 0;
    }
    lmdb_stamp_encode(&ch->after, buf);
    val.mv_data = buf;
    val.mv_size = sizeof(buf);
    return mdb_put(txn, e->meta, &key, &val, 0);
}

static int
apply_one(LMDB_ENV *e, MDB_txn *txn, const LMDB_CHANGE *ch, STRBUF *scratch)
{
    MDB_val key, val;
    int rc;

    switch (ch->kind) {
        case CH_PUT:
            return apply_put(e, txn, ch, scratch);
        case CH_DEL:
            return apply_del(e, txn, ch, scratch);
        case CH_DEL_KEY:
            key.mv_data = ch->key;
            key.mv_size = ch->key_len;
            return del_ignoring_absent(
                txn, ch->queue == LMDB_DB_DUE ? e->due : e->dir_db, &key);
        case CH_STAMP:
        case CH_UNSTAMP:
        case CH_STAMP_IF:
            return apply_stamp(e, txn, ch, scratch);
        case CH_META:
            key.mv_data = ch->key;
            key.mv_size = ch->key_len;
            val.mv_data = ch->value;
            val.mv_size = ch->value_len;
            return mdb_put(txn, e->meta, &key, &val, 0);
        case CH_DROP_ALL:
            if ((rc = mdb_drop(txn, e->msg, 0)) != 0 ||
                (rc = mdb_drop(txn, e->due, 0)) != 0 ||
                (rc = mdb_drop(txn, e->dir_db, 0)) != 0)
                return rc;
            return mdb_drop(txn, e->meta, 0);
    }
    return EINVAL;
}

static int
apply_batch(LMDB_ENV *e, MDB_txn *txn, void *context)
{
    APPLY *ap = context;
    int rc;

    for (size_t i = 0; i < ap->batch->count; i++)
        if ((rc = apply_one(e, txn, &ap->batch->changes[i], ap->key)) != 0)
            return rc;
    return 0;
}

STORE_STATUS
lmdb_batch_commit(LMDB_STORE *lm, LMDB_BATCH *batch, const char *fault_step)
{
    APPLY ap;
    int rc;

    if (batch->count == 0)
        return STORE_OK;
    ap.batch = batch;
    ap.key = strbuf_alloc(64);
    rc = lmdb_env_write(lm->env, apply_batch, &ap, fault_step);
    strbuf_free(ap.key);
    reset(batch);
    return rc == 0 ? STORE_OK : lmdb_fail(lm, rc, "update queue index");
}

STORE_STATUS
lmdb_batch_flush_if_full(LMDB_STORE *lm, LMDB_BATCH *batch)
{
    if (batch->count < LMDB_BATCH_LIMIT)
        return STORE_OK;
    return lmdb_batch_commit(lm, batch, "lmdb:reconcile:commit");
}
