/*
 * lmdb_reconcile - keeping the index true to the spool (lmdb_store.h).
 *
 * STAMPS.  For every queue directory (and each hash subdirectory) the index
 * stores the stamp it was last reconciled at: inode, mtime and ctime with
 * nanoseconds.  Adding, removing or renaming a file changes its directory's
 * mtime and ctime, so a check costs one stat() per directory.  A directory
 * whose stamp matches is trusted without reading it; its known
 * subdirectories are checked the same way.  A directory whose stamp differs
 * (or that was never seen) is listed and merged:
 *	- a name the index lacks (or has in another place) is indexed;
 *	- a name the index has is lstat()ed: a changed inode, size or mtime
 *	  (Postfix's own qmgr deferred it again, say) is read again;
 *	- an entry whose file is not there any more is looked for in the
 *	  other queues (postsuper -h, -H, a crash between a move and its index
 *	  update) and re-filed, or dropped;
 *	- a file that is not ready yet (cleanup writes hold mail in place)
 *	  marks the stamp dirty, so that the directory is listed again next
 *	  time;
 *	- files in a hash directory their id does not hash to are left out, as
 *	  Postfix's qmgr cannot see them either.
 * The stamp stored is the one taken before the listing: a change during it
 * shows at the next check.  Own moves keep stamps current through
 * lmdb_track_begin/end (see lmdb_batch.c, stamp_if).
 *
 * REBUILD is reconciling an empty index: every directory is new.  It
 * commits in chunks of LMDB_BATCH_LIMIT changes, writes the format entry
 * last (an interrupted rebuild starts over), and holds an flock() on
 * <dir>/rebuild.lock so that two processes do not rebuild at once.
 *
 * SWEEP.  Stamps miss a file whose mtime is changed in place, and a
 * foreign move into a directory in the same instant as one of ours.  So
 * each deferred scan also reads a bounded number of names from deferred/,
 * hold/ and corrupt/ (continuing a walk kept open between calls; an lstat()
 * only for names the index does not have there) and lstat()s a bounded
 * number of index entries (continuing after the id where the last call
 * stopped).  Both positions live in the store handle: a new process starts
 * from the beginning, and a sweep that finds nothing writes nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "lmdb_store.h"
#include "msg.h"
#include "queue_id.h"
#include "xalloc.h"

#define MAX_DEPTH 8

static const int queue_order[] = {STORE_Q_INCOMING, STORE_Q_ACTIVE,
                                  STORE_Q_DEFERRED, STORE_Q_HOLD,
                                  STORE_Q_CORRUPT};

/* A read transaction opened on demand and closed around every commit. */
typedef struct READER {
    LMDB_STORE *lm;
    MDB_txn *txn;
} READER;

static int
reader_txn(READER *r, MDB_txn **txn)
{
    int rc = 0;

    if (r->txn == NULL)
        rc = lmdb_env_read(r->lm->env, &r->txn);
    *txn = r->txn;
    return rc;
}

static void
reader_close(READER *r)
{
    if (r->txn)
        mdb_txn_abort(r->txn);
    r->txn = NULL;
}

static int
reader_get(READER *r, const char *id, LMDB_REC *rec)
{
    MDB_txn *txn;
    int rc;

    lmdb_rec_init(rec);
    if ((rc = reader_txn(r, &txn)) != 0)
        return rc;
    return lmdb_rec_get(r->lm->env, txn, id, rec);
}

static STORE_STATUS
flush_if_full(READER *r, LMDB_BATCH *batch)
{
    if (batch->count < LMDB_BATCH_LIMIT)
        return STORE_OK;
    reader_close(r);
    return lmdb_batch_commit(r->lm, batch, "lmdb:reconcile:commit");
}

/* String arrays. */

typedef struct NAMES {
    char **v;
    size_t n, alloc;
} NAMES;

static void
names_add(NAMES *names, const char *name)
{
    if (names->n == names->alloc) {
        names->alloc = names->alloc ? 2 * names->alloc : 64;
        names->v = xrealloc(names->v, names->alloc * sizeof(*names->v));
    }
    names->v[names->n++] = xstrdup(name);
}

static void
names_free(NAMES *names)
{
    for (size_t i = 0; i < names->n; i++)
        xfree(names->v[i]);
    xfree(names->v);
    memset(names, 0, sizeof(*names));
}

static int
compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static void
names_sort(NAMES *names)
{
    if (names->n > 1)
        qsort(names->v, names->n, sizeof(*names->v), compare_names);
}

/* Directories. */

static int
stat_dir(LMDB_STORE *lm, const char *reldir, struct stat *st)
{
    strbuf_reset(lm->path);
    strbuf_addf(lm->path, "%s/%s", lm->store.env.queue_dir, reldir);
    lm->counters.dir_stats++;
    return stat(strbuf_str(lm->path), st);
}

static void
dir_of(const char *relpath, char *buf, size_t len)
{
    const char *slash = strrchr(relpath, '/');
    size_t n = slash ? (size_t) (slash - relpath) : 0;

    if (n >= len)
        n = len - 1;
    memcpy(buf, relpath, n);
    buf[n] = 0;
}

/* The stored stamp of reldir (1 found, 0 not, < 0 error) and the names of
 * the subdirectories the index knows for it. */
static int
stored_state(READER *r, const char *reldir, LMDB_STAMP *stamp, NAMES *children)
{
    LMDB_ENV *e = r->lm->env;
    STRBUF *prefix = strbuf_alloc(64);
    MDB_cursor *cur;
    MDB_txn *txn;
    MDB_val key, val;
    int found = 0;
    int rc;

    if ((rc = reader_txn(r, &txn)) != 0)
        goto done;
    strbuf_addf(prefix, "stamp:%s", reldir);
    key.mv_data = strbuf_str(prefix);
    key.mv_size = strbuf_len(prefix);
    rc = mdb_get(txn, e->meta, &key, &val);
    if (rc == 0) {
        if (lmdb_stamp_decode(val.mv_data, val.mv_size, stamp) < 0) {
            rc = MDB_CORRUPTED;
            goto done;
        }
        found = 1;
    } else if (rc != MDB_NOTFOUND) {
        goto done;
    }
    strbuf_addch(prefix, '/');
    if ((rc = mdb_cursor_open(txn, e->meta, &cur)) != 0)
        goto done;
    key.mv_data = strbuf_str(prefix);
    key.mv_size = strbuf_len(prefix);
    rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
    while (rc == 0 && key.mv_size > strbuf_len(prefix) &&
           memcmp(key.mv_data, strbuf_str(prefix), strbuf_len(prefix)) == 0) {
        if (key.mv_size == strbuf_len(prefix) + 1) {
            char name[2] = {((char *) key.mv_data)[key.mv_size - 1], 0};

            names_add(children, name);
        }
        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    rc = rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;

done:
    strbuf_free(prefix);
    return rc != 0 ? rc : found;
}

/* The ids the index files under reldir, sorted. */
static int
indexed_ids(READER *r, const char *reldir, NAMES *ids)
{
    LMDB_ENV *e = r->lm->env;
    STRBUF *prefix = strbuf_alloc(64);
    MDB_cursor *cur;
    MDB_txn *txn;
    MDB_val key, val;
    int rc;

    if ((rc = reader_txn(r, &txn)) != 0 ||
        (rc = mdb_cursor_open(txn, e->dir_db, &cur)) != 0) {
        strbuf_free(prefix);
        return rc;
    }
    strbuf_addf(prefix, "%s:", reldir);
    key.mv_data = strbuf_str(prefix);
    key.mv_size = strbuf_len(prefix);
    rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
    while (rc == 0 && key.mv_size > strbuf_len(prefix) &&
           key.mv_size - strbuf_len(prefix) < STORE_ID_MAX &&
           memcmp(key.mv_data, strbuf_str(prefix), strbuf_len(prefix)) == 0) {
        char id[STORE_ID_MAX];
        size_t len = key.mv_size - strbuf_len(prefix);

        memcpy(id, (char *) key.mv_data + strbuf_len(prefix), len);
        id[len] = 0;
        names_add(ids, id);
        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    strbuf_free(prefix);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* List reldir: message names (sorted) and one-character subdirectories. */
static int
list_dir(LMDB_STORE *lm, const char *reldir, NAMES *files, NAMES *subdirs)
{
    struct dirent *dp;
    DIR *dir;

    strbuf_reset(lm->path);
    strbuf_addf(lm->path, "%s/%s", lm->store.env.queue_dir, reldir);
    if ((dir = opendir(strbuf_str(lm->path))) == NULL)
        return -1;
    lm->counters.dir_reads++;
    while ((dp = readdir(dir)) != NULL) {
        if (strcmp(dp->d_name, ".") == 0 || strcmp(dp->d_name, "..") == 0)
            continue;
        lm->counters.names_read++;
        if (dp->d_name[1] == 0)
            names_add(subdirs, dp->d_name);
        else if (queue_id_ok(dp->d_name))
            names_add(files, dp->d_name);
    }
    closedir(dir);
    names_sort(files);
    return 0;
}

/* Relocation: where is a message whose file is not where the index says? */

static int
find_file(LMDB_STORE *lm, const char *id, const LMDB_REC *old, LMDB_REC *rec)
{
    for (size_t i = 0; i < sizeof(queue_order) / sizeof(queue_order[0]); i++)
        if (lmdb_rec_from_file(lm, queue_order[i], id, old, rec) == 0)
            return 1;
    return 0;
}

void
lmdb_relocate(LMDB_STORE *lm, LMDB_BATCH *batch, const LMDB_REC *old,
              const char *id)
{
    LMDB_REC rec;

    lm->counters.repairs++;
    if (find_file(lm, id, old, &rec)) {
        lmdb_batch_put(batch, &rec);
        lmdb_rec_free(&rec);
    } else {
        lmdb_batch_del(batch, id);
    }
}

/* Merging one listed directory with its index entries. */

typedef struct MERGE {
    LMDB_STORE *lm;
    READER *reader;
    LMDB_BATCH *batch;
    int queue;
    const char *reldir;
    int dirty;
} MERGE;

/* A name found in the directory. */
static int
merge_name(MERGE *m, const char *id)
{
    char relpath[LMDB_PATH_MAX];
    size_t n = strlen(m->reldir);
    LMDB_REC old, rec;
    struct stat st;
    int found;

    lmdb_relpath(m->lm, m->queue, id, relpath, sizeof(relpath));
    if (strncmp(relpath, m->reldir, n) != 0 || relpath[n] != '/' ||
        strcmp(relpath + n + 1, id) != 0)
        return 0; /* not where its id hashes to: invisible, as to qmgr */
    if ((found = reader_get(m->reader, id, &old)) < 0)
        return found;
    if (found && old.queue == m->queue && strcmp(old.relpath, relpath) == 0 &&
        lmdb_lstat(m->lm, relpath, &st) == 0 && lmdb_same_file(&old, &st)) {
        lmdb_rec_free(&old);
        return 0;
    }
    switch (
        lmdb_rec_from_file(m->lm, m->queue, id, found ? &old : NULL, &rec)) {
        case 0:
            if (found && old.next_attempt != rec.next_attempt) {
                /* mtime changed behind our back: read the envelope again */
                lmdb_rec_free(&rec);
                if (lmdb_rec_from_file(m->lm, m->queue, id, NULL, &rec) != 0)
                    break;
            }
            m->lm->counters.repairs++;
            lmdb_batch_put(m->batch, &rec);
            lmdb_rec_free(&rec);
            break;
        case 1:
            m->dirty = 1; /* not ready yet: look again next time */
            if (found && old.queue == m->queue)
                lmdb_batch_del(m->batch, id);
            break;
        default:
            if (found)
                lmdb_relocate(m->lm, m->batch, &old, id);
            break;
    }
    lmdb_rec_free(&old);
    return 0;
}

/* An index entry whose name is not in the directory. */
static int
merge_entry(MERGE *m, const char *id)
{
    char reldir[LMDB_PATH_MAX];
    STRBUF *key;
    LMDB_REC old;
    int found;

    if ((found = reader_get(m->reader, id, &old)) < 0)
        return found;
    if (found)
        dir_of(old.relpath, reldir, sizeof(reldir));
    if (!found || strcmp(reldir, m->reldir) != 0) {
        /* a directory key without a record that points here */
        key = strbuf_alloc(64);
        strbuf_addf(key, "%s:%s", m->reldir, id);
        lmdb_batch_del_key(m->batch, LMDB_DB_DIR, strbuf_str(key),
                           strbuf_len(key));
        strbuf_free(key);
    }
    if (found)
        lmdb_relocate(m->lm, m->batch, &old, id);
    lmdb_rec_free(&old);
    return 0;
}

static STORE_STATUS
merge(MERGE *m, const NAMES *files, const NAMES *ids)
{
    size_t i = 0, j = 0;
    STORE_STATUS status;
    int rc = 0;

    while (rc == 0 && (i < files->n || j < ids->n)) {
        int cmp = i >= files->n ? 1
                  : j >= ids->n ? -1
                                : strcmp(files->v[i], ids->v[j]);

        if (cmp <= 0)
            rc = merge_name(m, files->v[i]);
        else
            rc = merge_entry(m, ids->v[j]);
        i += cmp <= 0;
        j += cmp >= 0;
        if (rc == 0 &&
            (status = flush_if_full(m->reader, m->batch)) != STORE_OK)
            return status;
    }
    return rc == 0 ? STORE_OK : lmdb_fail(m->lm, rc, "read queue index");
}

/* Reconciling a tree of directories. */

typedef struct RECONCILE {
    LMDB_STORE *lm;
    READER reader;
    LMDB_BATCH batch;
} RECONCILE;

static STORE_STATUS reconcile_dir(RECONCILE *ctx, int queue, const char *reldir,
                                  int depth);

static STORE_STATUS
reconcile_children(RECONCILE *ctx, int queue, const char *reldir,
                   NAMES *children, int depth)
{
    STORE_STATUS status = STORE_OK;
    char child[LMDB_PATH_MAX];

    names_sort(children);
    for (size_t i = 0; status == STORE_OK && i < children->n; i++) {
        if (i > 0 && strcmp(children->v[i], children->v[i - 1]) == 0)
            continue;
        snprintf(child, sizeof(child), "%s/%s", reldir, children->v[i]);
        status = reconcile_dir(ctx, queue, child, depth + 1);
    }
    return status;
}

static STORE_STATUS
merge_dir(RECONCILE *ctx, int queue, const char *reldir, const struct stat *st,
          int exists, NAMES *children, int depth)
{
    MERGE m = {ctx->lm, &ctx->reader, &ctx->batch, queue, reldir, 0};
    NAMES files = {0}, ids = {0};
    LMDB_STAMP stamp;
    STORE_STATUS status;
    int err;

    if (exists && list_dir(ctx->lm, reldir, &files, children) < 0) {
        if (errno != ENOENT)
            msg_warn("open directory %s: %m", strbuf_str(ctx->lm->path));
        exists = 0;
    }
    if ((err = indexed_ids(&ctx->reader, reldir, &ids)) != 0) {
        status = lmdb_fail(ctx->lm, err, "read queue index");
    } else if ((status = reconcile_children(ctx, queue, reldir, children,
                                            depth)) == STORE_OK &&
               (status = merge(&m, &files, &ids)) == STORE_OK) {
        if (exists) {
            lmdb_stamp_from_stat(st, &stamp);
            stamp.dirty = m.dirty;
            lmdb_batch_stamp(&ctx->batch, reldir, &stamp);
        } else {
            lmdb_batch_unstamp(&ctx->batch, reldir);
        }
    }
    names_free(&files);
    names_free(&ids);
    return status;
}

static STORE_STATUS
reconcile_dir(RECONCILE *ctx, int queue, const char *reldir, int depth)
{
    LMDB_STAMP stored, now;
    NAMES children = {0};
    STORE_STATUS status;
    struct stat st;
    int exists;
    int found;

    if (depth > MAX_DEPTH)
        return STORE_OK;
    exists = stat_dir(ctx->lm, reldir, &st) == 0 && S_ISDIR(st.st_mode);
    if ((found = stored_state(&ctx->reader, reldir, &stored, &children)) < 0) {
        names_free(&children);
        return lmdb_fail(ctx->lm, found, "read queue index");
    }
    if (exists)
        lmdb_stamp_from_stat(&st, &now);
    if (exists && found && !stored.dirty && lmdb_stamp_same(&stored, &now))
        status = reconcile_children(ctx, queue, reldir, &children, depth);
    else if (!exists && !found && depth > 0)
        status = STORE_OK; /* never seen, not there */
    else
        status = merge_dir(ctx, queue, reldir, &st, exists, &children, depth);
    names_free(&children);
    return status;
}

/* The background sweep. */

void
lmdb_sweep_close(LMDB_SWEEP *sweep)
{
    spool_walk_close(sweep->walk);
    sweep->walk = NULL;
}

static int
next_sweep_queue(int queue)
{
    switch (queue) {
        case STORE_Q_DEFERRED:
            return STORE_Q_HOLD;
        case STORE_Q_HOLD:
            return STORE_Q_CORRUPT;
        default:
            return STORE_Q_DEFERRED;
    }
}

/* Names from the directories: those the index does not have there. */
static STORE_STATUS
sweep_names(RECONCILE *ctx, int budget)
{
    LMDB_STORE *lm = ctx->lm;
    LMDB_SWEEP *sw = &lm->sweep;
    char relpath[LMDB_PATH_MAX];
    STORE_STATUS status = STORE_OK;
    int switches = 0;
    const char *name;
    LMDB_REC old, rec;
    int found;

    while (budget > 0 && status == STORE_OK && switches <= 3) {
        if (sw->walk == NULL) {
            sw->queue = next_sweep_queue(sw->queue);
            sw->walk = spool_walk_open(lm->sp, store_queue_name(sw->queue));
            switches++;
        }
        if ((name = spool_walk_next(sw->walk, NULL)) == NULL) {
            lmdb_sweep_close(sw);
            continue;
        }
        budget--;
        lm->counters.names_read++;
        if (!queue_id_ok(name))
            continue;
        lmdb_relpath(lm, sw->queue, name, relpath, sizeof(relpath));
        if (strcmp(strbuf_str(sw->walk->entry) +
                       strlen(lm->store.env.queue_dir) + 1,
                   relpath) != 0)
            continue;
        if ((found = reader_get(&ctx->reader, name, &old)) < 0)
            return lmdb_fail(lm, found, "read queue index");
        if (!found || old.queue != sw->queue) {
            if (lmdb_rec_from_file(lm, sw->queue, name, found ? &old : NULL,
                                   &rec) == 0) {
                lm->counters.repairs++;
                lmdb_batch_put(&ctx->batch, &rec);
                lmdb_rec_free(&rec);
            }
        }
        lmdb_rec_free(&old);
        status = flush_if_full(&ctx->reader, &ctx->batch);
    }
    return status;
}

/* Index entries, continuing after the id where the last call stopped. */
static STORE_STATUS
sweep_entries(RECONCILE *ctx, int budget)
{
    LMDB_STORE *lm = ctx->lm;
    char *last = lm->sweep.last_id;
    LMDB_REC *recs = xcalloc((size_t) budget, sizeof(*recs));
    MDB_cursor *cur = NULL;
    MDB_val key, val;
    MDB_txn *txn;
    int n = 0;
    int rc;

    if ((rc = reader_txn(&ctx->reader, &txn)) != 0 ||
        (rc = mdb_cursor_open(txn, lm->env->msg, &cur)) != 0)
        goto done;
    key.mv_data = last;
    key.mv_size = strlen(last);
    rc = mdb_cursor_get(cur, &key, &val, *last ? MDB_SET_RANGE : MDB_FIRST);
    if (rc == 0 && *last && key.mv_size == strlen(last) &&
        memcmp(key.mv_data, last, key.mv_size) == 0)
        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    while (rc == 0 && n < budget) {
        char id[STORE_ID_MAX];

        if (key.mv_size == 0 || key.mv_size >= sizeof(id)) {
            rc = MDB_CORRUPTED;
            break;
        }
        memcpy(id, key.mv_data, key.mv_size);
        id[key.mv_size] = 0;
        if (lmdb_rec_decode(val.mv_data, val.mv_size, id, &recs[n]) < 0) {
            rc = MDB_CORRUPTED;
            break;
        }
        n++;
        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    }
    if (rc == MDB_NOTFOUND)
        rc = 0;

done:
    if (cur)
        mdb_cursor_close(cur);
    reader_close(&ctx->reader);
    for (int i = 0; rc == 0 && i < n; i++) {
        struct stat st;

        if (lmdb_lstat(lm, recs[i].relpath, &st) < 0 ||
            !lmdb_same_file(&recs[i], &st))
            lmdb_relocate(lm, &ctx->batch, &recs[i], recs[i].id);
    }
    /* the next call goes on after the last entry seen, or starts over */
    snprintf(last, sizeof(lm->sweep.last_id), "%s",
             rc == 0 && n == budget ? recs[n - 1].id : "");
    for (int i = 0; i < n; i++)
        lmdb_rec_free(&recs[i]);
    xfree(recs);
    return rc == 0 ? STORE_OK : lmdb_fail(lm, rc, "read queue index");
}

/* Entry points. */

STORE_STATUS
lmdb_reconcile(LMDB_STORE *lm, int queues, int sweep)
{
    RECONCILE ctx;
    STORE_STATUS status = STORE_OK;

    memset(&ctx, 0, sizeof(ctx));
    ctx.lm = lm;
    ctx.reader.lm = lm;
    lmdb_batch_init(&ctx.batch);
    for (size_t i = 0;
         status == STORE_OK && i < sizeof(queue_order) / sizeof(queue_order[0]);
         i++)
        if (queues & queue_order[i])
            status = reconcile_dir(&ctx, queue_order[i],
                                   store_queue_name(queue_order[i]), 0);
    if (status == STORE_OK && sweep && lm->sweep_names > 0)
        status = sweep_names(&ctx, lm->sweep_names);
    if (status == STORE_OK && sweep && lm->sweep_entries > 0)
        status = sweep_entries(&ctx, lm->sweep_entries);
    reader_close(&ctx.reader);
    if (status == STORE_OK)
        status = lmdb_batch_commit(lm, &ctx.batch, "lmdb:reconcile:commit");
    lmdb_batch_free(&ctx.batch);
    return status;
}

/* Format and rebuild. */

static void
format_string(LMDB_STORE *lm, STRBUF *out)
{
    struct stat st;
    int hashed = 0;

    for (size_t i = 0; i < sizeof(queue_order) / sizeof(queue_order[0]); i++)
        if (spool_is_hashed(lm->sp, store_queue_name(queue_order[i])))
            hashed |= queue_order[i];
    if (stat(lm->store.env.queue_dir, &st) < 0)
        memset(&st, 0, sizeof(st));
    strbuf_reset(out);
    strbuf_addf(out, "pqmgr-lmdb %d queue=%lu:%lu hashed=%d depth=%d",
                LMDB_FORMAT_VERSION, (unsigned long) st.st_dev,
                (unsigned long) st.st_ino, hashed,
                hashed ? lm->store.env.hash_depth : 0);
}

/* 1: the index has this format, 0: missing, -1: other (why says). */
static int
format_matches(LMDB_STORE *lm, STRBUF *why)
{
    STRBUF *want = strbuf_alloc(100);
    MDB_val key = {6, "format"}, val;
    MDB_txn *txn;
    int rc;

    format_string(lm, want);
    if ((rc = lmdb_env_read(lm->env, &txn)) != 0) {
        strbuf_addf(why, "%s", mdb_strerror(rc));
        strbuf_free(want);
        return lmdb_env_is_damage(rc) ? -2 : -3;
    }
    rc = mdb_get(txn, lm->env->meta, &key, &val);
    if (rc == MDB_NOTFOUND) {
        strbuf_addstr(why, "new or incomplete index");
        rc = 0;
    } else if (rc != 0) {
        strbuf_addf(why, "%s", mdb_strerror(rc));
        rc = lmdb_env_is_damage(rc) ? -2 : -3;
    } else if (val.mv_size == strbuf_len(want) &&
               memcmp(val.mv_data, strbuf_str(want), val.mv_size) == 0) {
        rc = 1;
    } else {
        strbuf_addf(why, "index format \"%.*s\", want \"%s\"",
                    (int) (val.mv_size > 200 ? 200 : val.mv_size),
                    (char *) val.mv_data, strbuf_str(want));
        rc = -1;
    }
    mdb_txn_abort(txn);
    strbuf_free(want);
    return rc;
}

static int
lock_rebuild(LMDB_STORE *lm)
{
    char path[4096];
    long uid, gid;
    int fd;

    snprintf(path, sizeof(path), "%s/rebuild.lock", lm->dir);
    if ((fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600)) < 0)
        return -1;
    lmdb_env_owner(&lm->store.env, &uid, &gid);
    if (uid >= 0 && fchown(fd, (uid_t) uid, (gid_t) gid) < 0)
        msg_warn("chown %s: %m", path);
    while (flock(fd, LOCK_EX) < 0 && errno == EINTR)
        continue;
    return fd;
}

static STORE_STATUS
rebuild_locked(LMDB_STORE *lm, const char *why)
{
    LMDB_BATCH batch;
    STRBUF *format = strbuf_alloc(100);
    STORE_STATUS status;

    msg_info("queue index %s: %s: indexing queue %s", lm->dir, why,
             lm->store.env.queue_dir);
    lm->counters.rebuilds++;
    lmdb_sweep_close(&lm->sweep);
    lmdb_batch_init(&batch);
    lmdb_batch_drop_all(&batch);
    status = lmdb_batch_commit(lm, &batch, "lmdb:rebuild:drop");
    if (status == STORE_OK)
        status = lmdb_reconcile(lm, LMDB_INDEXED, 0);
    if (status == STORE_OK) {
        format_string(lm, format);
        lmdb_batch_meta(&batch, "format", strbuf_str(format),
                        strbuf_len(format));
        status = lmdb_batch_commit(lm, &batch, "lmdb:rebuild:commit");
    }
    lmdb_batch_free(&batch);
    strbuf_free(format);
    return status;
}

STORE_STATUS
lmdb_rebuild(LMDB_STORE *lm, const char *why)
{
    STORE_STATUS status;
    int fd = lock_rebuild(lm);

    status = rebuild_locked(lm, why);
    if (fd >= 0)
        close(fd);
    return status;
}

/* At open: rebuild unless the index is complete and of this format. */
STORE_STATUS
lmdb_check_format(LMDB_STORE *lm)
{
    STRBUF *why = strbuf_alloc(100);
    STORE_STATUS status = STORE_OK;
    int fd = -1;
    int match;

    if ((match = format_matches(lm, why)) != 1) {
        fd = lock_rebuild(lm);
        strbuf_reset(why);
        /* another process may have finished a rebuild meanwhile */
        if ((match = format_matches(lm, why)) == -3)
            status =
                store_set_error(&lm->store, STORE_UNAVAIL, "queue index %s: %s",
                                lm->dir, strbuf_str(why));
        else if (match == -2)
            status = lmdb_fail(lm, MDB_CORRUPTED, "read queue index");
        else if (match != 1)
            status = rebuild_locked(lm, strbuf_str(why));
    }
    if (fd >= 0)
        close(fd);
    strbuf_free(why);
    return status;
}

/* Own moves: the directory's stamp before and after. */

void
lmdb_track_begin(LMDB_STORE *lm, LMDB_TRACK *track, int queue, const char *id)
{
    char relpath[LMDB_PATH_MAX];
    struct stat st;

    lmdb_relpath(lm, queue, id, relpath, sizeof(relpath));
    dir_of(relpath, track->reldir, sizeof(track->reldir));
    track->exists = stat_dir(lm, track->reldir, &st) == 0;
    if (track->exists)
        lmdb_stamp_from_stat(&st, &track->before);
    else
        memset(&track->before, 0, sizeof(track->before));
}

void
lmdb_track_end(LMDB_STORE *lm, LMDB_TRACK *track, LMDB_BATCH *batch)
{
    LMDB_STAMP after;
    struct stat st;

    if (stat_dir(lm, track->reldir, &st) < 0)
        return;
    lmdb_stamp_from_stat(&st, &after);
    lmdb_batch_stamp_if(batch, track->reldir, &track->before, track->exists,
                        &after);
}
