/*
 * lmdb_admin - administration and transfer for the LMDB index backend:
 * hold, release, delete, requeue, list, counts, export, import (store.h).
 *
 * Hold, release, delete, requeue and import are the spool backend's own
 * operations (same effect as postsuper -h, -H, -d, -r), followed in the same
 * call by one index update: the message re-filed under its new queue
 * (release puts it back on the due cursor with its unchanged mtime), or
 * forgotten (delete; requeue sends it to maildrop/, which is not indexed).
 * A message the spool says is gone is looked for and re-filed, or dropped.
 *
 * Listing shows what postqueue -p shows, so it reads the files themselves
 * (the recipients and their deferral reasons live there): it is the spool's
 * listing.  Counts come from the index alone for incoming, deferred, hold
 * and corrupt (after a stamp check, so that moves behind the index's back
 * are counted where they are now), and from the files for active/ (whose
 * recipients change while they are delivered) and maildrop/ (not indexed):
 * no queue file of the big queues is opened.  Export is the spool's.
 */
#include <stdio.h>
#include <string.h>

#include "lmdb_store.h"
#include "msg.h"
#include "queue_id.h"
#include "xalloc.h"

#define HOLDABLE (STORE_Q_INCOMING | STORE_Q_ACTIVE | STORE_Q_DEFERRED)
#define REQUEUEABLE                                                            \
    (STORE_Q_INCOMING | STORE_Q_ACTIVE | STORE_Q_DEFERRED | STORE_Q_HOLD)

typedef STORE_STATUS (*SPOOL_ADMIN_FN)(STORE *store, const char *id);

/* Run a spool operation that moves id from a queue of from_mask to queue
 * to (0: out of the index), then update the index. */
static STORE_STATUS
admin_move(STORE *store, const char *id, int from_mask, int to,
           SPOOL_ADMIN_FN spool_fn, const char *step)
{
    LMDB_STORE *lm = (LMDB_STORE *) store;
    LMDB_TRACK track_from, track_to;
    STORE_STATUS status;
    LMDB_BATCH batch;
    LMDB_REC old, rec;
    int found;
    int from;

    if ((status = lmdb_ready(lm)) != STORE_OK)
        return status;
    if (!queue_id_ok(id))
        return lmdb_copy_error(lm, spool_fn(lm->spool, id));
    from = spool_locate(lm->sp, id, from_mask, 1);
    found = lmdb_lookup(lm, id, &old);
    if (from)
        lmdb_track_begin(lm, &track_from, from, id);
    if (to)
        lmdb_track_begin(lm, &track_to, to, id);
    status = spool_fn(lm->spool, id);
    lmdb_batch_init(&batch);
    if (status == STORE_OK && to) {
        if (lmdb_rec_from_file(lm, to, id, found ? &old : NULL, &rec) == 0) {
            lmdb_batch_put(&batch, &rec);
            lmdb_rec_free(&rec);
        } else {
            lmdb_relocate(lm, &batch, found ? &old : NULL, id);
        }
    } else if (status == STORE_OK) {
        lmdb_batch_del(&batch, id);
    } else if (status == STORE_GONE && found) {
        lmdb_relocate(lm, &batch, &old, id);
    }
    if (from)
        lmdb_track_end(lm, &track_from, &batch);
    if (to)
        lmdb_track_end(lm, &track_to, &batch);
    if (lmdb_batch_commit(lm, &batch, step) != STORE_OK)
        msg_warn("%s", store_error(store));
    lmdb_batch_free(&batch);
    lmdb_rec_free(&old);
    return status == STORE_OK ? STORE_OK : lmdb_copy_error(lm, status);
}

STORE_STATUS
lmdb_hold(STORE *store, const char *id)
{
    return admin_move(store, id, HOLDABLE, STORE_Q_HOLD, store_hold,
                      "lmdb:hold:commit");
}

STORE_STATUS
lmdb_release(STORE *store, const char *id)
{
    return admin_move(store, id, STORE_Q_HOLD, STORE_Q_DEFERRED, store_release,
                      "lmdb:release:commit");
}

STORE_STATUS
lmdb_delete(STORE *store, const char *id)
{
    return admin_move(store, id, STORE_Q_ALL, 0, store_delete,
                      "lmdb:delete:commit");
}

STORE_STATUS
lmdb_requeue(STORE *store, const char *id)
{
    return admin_move(store, id, REQUEUEABLE, 0, store_requeue,
                      "lmdb:requeue:commit");
}

/* Listing and export: the spool's. */

STORE_STATUS
lmdb_list(STORE *store, int queues, STORE_LIST_FN callback, void *context)
{
    LMDB_STORE *lm = (LMDB_STORE *) store;
    STORE_STATUS status = store_list(lm->spool, queues, callback, context);

    return status == STORE_OK ? STORE_OK : lmdb_copy_error(lm, status);
}

STORE_STATUS
lmdb_export(STORE *store, const char *id, STORE_EXPORT **msg)
{
    LMDB_STORE *lm = (LMDB_STORE *) store;
    STORE_STATUS status = store_export(lm->spool, id, msg);

    return status == STORE_OK ? STORE_OK : lmdb_copy_error(lm, status);
}

/* Import: the spool's, then the new file is indexed. */

static void
dir_of_message(LMDB_STORE *lm, int queue, const char *id, char *buf, size_t len)
{
    char *slash;

    lmdb_relpath(lm, queue, id, buf, len);
    if ((slash = strrchr(buf, '/')) != NULL)
        *slash = 0;
}

STORE_STATUS
lmdb_import(STORE *store, const STORE_EXPORT *msg, char *new_id,
            size_t new_id_len)
{
    LMDB_STORE *lm = (LMDB_STORE *) store;
    char before[LMDB_PATH_MAX], after[LMDB_PATH_MAX];
    STORE_STATUS status;
    LMDB_TRACK track;
    LMDB_BATCH batch;
    int indexed;

    if ((status = lmdb_ready(lm)) != STORE_OK)
        return status;
    indexed = queue_id_ok(msg->id) && (msg->queue & LMDB_INDEXED) != 0;
    if (indexed)
        lmdb_track_begin(lm, &track, msg->queue, msg->id);
    status = store_import(lm->spool, msg, new_id, new_id_len);
    if (status != STORE_OK)
        return lmdb_copy_error(lm, status);
    lmdb_batch_init(&batch);
    if (indexed) {
        LMDB_REC rec;

        if (lmdb_rec_from_file(lm, msg->queue, new_id, NULL, &rec) == 0) {
            lmdb_batch_put(&batch, &rec);
            lmdb_rec_free(&rec);
        }
        dir_of_message(lm, msg->queue, msg->id, before, sizeof(before));
        dir_of_message(lm, msg->queue, new_id, after, sizeof(after));
        if (strcmp(before, after) == 0)
            lmdb_track_end(lm, &track, &batch);
    }
    if (lmdb_batch_commit(lm, &batch, "lmdb:import:commit") != STORE_OK)
        msg_warn("%s", store_error(store));
    lmdb_batch_free(&batch);
    return STORE_OK;
}

/* Counts. */

typedef struct DOMAIN_TABLE {
    STORE_COUNTS *counts;
    size_t alloc;  /* of counts->dests */
    size_t *slots; /* index + 1 into counts->dests, 0 = empty */
    size_t nslots; /* power of two */
} DOMAIN_TABLE;

static size_t
hash_name(const char *name)
{
    size_t h = 2166136261u;

    for (; *name; name++)
        h = (h ^ (unsigned char) *name) * 16777619u;
    return h;
}

static void
table_grow(DOMAIN_TABLE *t)
{
    size_t nslots = t->nslots ? 2 * t->nslots : 64;

    xfree(t->slots);
    t->slots = xcalloc(nslots, sizeof(*t->slots));
    t->nslots = nslots;
    for (size_t i = 0; i < t->counts->dest_count; i++) {
        size_t h = hash_name(t->counts->dests[i].domain) & (nslots - 1);

        while (t->slots[h])
            h = (h + 1) & (nslots - 1);
        t->slots[h] = i + 1;
    }
}

static STORE_DEST_COUNT *
table_find(DOMAIN_TABLE *t, const char *domain)
{
    STORE_COUNTS *c = t->counts;
    size_t h;

    if (2 * (c->dest_count + 1) > t->nslots)
        table_grow(t);
    for (h = hash_name(domain) & (t->nslots - 1); t->slots[h];
         h = (h + 1) & (t->nslots - 1))
        if (strcmp(c->dests[t->slots[h] - 1].domain, domain) == 0)
            return &c->dests[t->slots[h] - 1];
    if (c->dest_count == t->alloc) {
        t->alloc = t->alloc ? 2 * t->alloc : 16;
        c->dests = xrealloc(c->dests, t->alloc * sizeof(*c->dests));
    }
    memset(&c->dests[c->dest_count], 0, sizeof(*c->dests));
    c->dests[c->dest_count].domain = xstrdup(domain);
    t->slots[h] = ++c->dest_count;
    return &c->dests[c->dest_count - 1];
}

/* rec's domains are distinct: each counts the message once. */
static void
count_record(DOMAIN_TABLE *t, const LMDB_REC *rec)
{
    t->counts->messages[store_queue_index(rec->queue)]++;
    for (size_t i = 0; i < rec->domain_count; i++) {
        STORE_DEST_COUNT *dc = table_find(t, rec->domains[i].name);

        dc->recipients += rec->domains[i].rcpts;
        dc->messages++;
    }
}

static int
count_listed(const STORE_MSG_INFO *info, void *context)
{
    const char **addresses = xcalloc(info->rcpt_count + 1, sizeof(*addresses));
    LMDB_REC rec;

    lmdb_rec_init(&rec);
    rec.queue = info->queue;
    for (size_t i = 0; i < info->rcpt_count; i++)
        addresses[i] = info->rcpts[i].address;
    lmdb_count_domains(addresses, info->rcpt_count, &rec);
    count_record(context, &rec);
    lmdb_rec_free(&rec);
    xfree(addresses);
    return 0;
}

static int
count_index(LMDB_STORE *lm, DOMAIN_TABLE *t)
{
    MDB_cursor *cur;
    MDB_val key, val;
    MDB_txn *txn;
    int rc;

    if ((rc = lmdb_env_read(lm->env, &txn)) != 0)
        return rc;
    if ((rc = mdb_cursor_open(txn, lm->env->msg, &cur)) != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        char id[STORE_ID_MAX];
        LMDB_REC rec;

        if (key.mv_size == 0 || key.mv_size >= sizeof(id)) {
            rc = MDB_CORRUPTED;
            break;
        }
        memcpy(id, key.mv_data, key.mv_size);
        id[key.mv_size] = 0;
        if (lmdb_rec_decode(val.mv_data, val.mv_size, id, &rec) < 0) {
            rc = MDB_CORRUPTED;
            break;
        }
        if (rec.queue != STORE_Q_ACTIVE)
            count_record(t, &rec);
        lmdb_rec_free(&rec);
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

STORE_STATUS
lmdb_counts(STORE *store, STORE_COUNTS *counts)
{
    LMDB_STORE *lm = (LMDB_STORE *) store;
    DOMAIN_TABLE table = {counts, 0, NULL, 0};
    STORE_STATUS status;
    int rc;

    if ((status = lmdb_ready(lm)) != STORE_OK ||
        (status = lmdb_reconcile(lm, LMDB_INDEXED, 0)) != STORE_OK)
        return status;
    if ((rc = count_index(lm, &table)) != 0) {
        status = lmdb_fail(lm, rc, "read queue index");
    } else {
        status = store_list(lm->spool, STORE_Q_ACTIVE | STORE_Q_MAILDROP,
                            count_listed, &table);
        if (status != STORE_OK)
            lmdb_copy_error(lm, status);
    }
    xfree(table.slots);
    return status;
}
