/*
 * test_store_lmdb - the store conformance suite on the LMDB index backend,
 * and what only that backend promises (backends/lmdb/lmdb_store.h):
 *	- the index is rebuilt from the spool when its directory is deleted,
 *	  when data.mdb or lock.mdb hold garbage, when its format differs;
 *	- files moved, deleted, added or re-timed behind its back (by hand, by
 *	  the installed Postfix's postsuper, as Postfix's own qmgr would) are
 *	  found or forgotten; a crash between a file operation and its index
 *	  update is repaired;
 *	- the map grows from a tiny initial size under thousands of messages;
 *	- the environment directory is 0700 and its files 0600 whatever the
 *	  umask;
 *	- a deferred scan over 10000 messages that are not due does no lstat()
 *	  of them and reads no directory (counted by the backend's work
 *	  counters, no timing);
 *	- a store handle keeps working in a child after fork(), and two handles
 *	  on one directory share one environment.
 * The oracle for "the index is right" is the spool backend opened on the
 * same queue: its listing is the truth the index must agree with (per-queue
 * message counts, per-domain counts, the set of deferred messages).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lmdb/lmdb_store.h"
#include "qfile.h"
#include "queue_id.h"
#include "queue_path.h"
#include "store.h"
#include "store_conformance.h"
#include "store_fault.h"
#include "strbuf.h"
#include "xalloc.h"

/*
 * The conformance suite's backend description.
 */

static int
lmdb_make_store(const STORE_CONFORMANCE_BACKEND *be, const char *dir,
                STORE_ENV *env, char *spec, size_t spec_len)
{
    snprintf(spec, spec_len, "lmdb:%s/index", dir);
    return 0;
}

static const STORE_CONFORMANCE_BACKEND lmdb_backend = {
    .type = "lmdb",
    .caps = STORE_CAP_POSTFIX | STORE_CAP_DUE_INDEX,
    .bad_name_spec = "lmdb:",
    .make_store = lmdb_make_store,
    .make_peer = NULL,
    .destroy_store = NULL,
    .context = NULL,
};

/*
 * A queue of our own for the lmdb-specific tests.
 */

static char base_dir[PATH_MAX - 512];
static pid_t base_owner;
static unsigned serial;

typedef struct Q {
    char dir[PATH_MAX - 64];
    char queue_dir[PATH_MAX];
    char index_dir[PATH_MAX];
    char spec[PATH_MAX + 8];
    STORE_ENV env;
    STORE *store;
} Q;

static Q q; /* the queue of the fixture */

static const char *const queue_dirs[] = {
    "incoming", "active", "deferred", "hold",  "corrupt", "maildrop",
    "defer",    "bounce", "trace",    "saved", NULL,
};

static void
remove_base(void)
{
    if (getpid() == base_owner)
        store_conformance_remove_tree(base_dir);
}

static void
q_prepare(Q *c, const char *hash_queues, int depth)
{
    char path[PATH_MAX + 32];

    memset(c, 0, sizeof(*c));
    snprintf(c->dir, sizeof(c->dir), "%s/q%ld.%u", base_dir, (long) getpid(),
             serial++);
    snprintf(c->queue_dir, sizeof(c->queue_dir), "%s/queue", c->dir);
    snprintf(c->index_dir, sizeof(c->index_dir), "%s/index", c->dir);
    snprintf(c->spec, sizeof(c->spec), "lmdb:%s", c->index_dir);
    ck_assert_int_eq(mkdir(c->dir, 0700), 0);
    ck_assert_int_eq(mkdir(c->queue_dir, 0700), 0);
    for (int i = 0; queue_dirs[i]; i++) {
        snprintf(path, sizeof(path), "%s/%s", c->queue_dir, queue_dirs[i]);
        ck_assert_int_eq(mkdir(path, 0700), 0);
    }
    c->env.queue_dir = c->queue_dir;
    c->env.hash_queues = hash_queues;
    c->env.hash_depth = depth;
    c->env.node_name = "node-a.example";
    c->env.lease_time = 60;
    c->env.timeout = 10;
    c->env.config_dir = c->dir;
    c->env.owner_uid = -1;
    c->env.owner_gid = -1;
}

static STORE *
open_spec(const Q *c, const char *spec)
{
    STORE_STATUS status;
    STORE *store = store_open(spec, &c->env, &status);

    ck_assert_msg(store != NULL, "store_open(%s): %s: %s", spec,
                  store_status_name(status), store_open_error());
    return store;
}

static void
q_open(Q *c)
{
    c->store = open_spec(c, c->spec);
}

static void
q_close(Q *c)
{
    store_close(c->store);
    c->store = NULL;
}

static void
setup(void)
{
    q_prepare(&q, "deferred, defer", 1);
}

static void
teardown(void)
{
    q_close(&q);
    store_conformance_remove_tree(q.dir);
}

static const LMDB_COUNTERS *
counters(const Q *c)
{
    const LMDB_COUNTERS *k = lmdb_store_counters(c->store);

    ck_assert_ptr_nonnull(k);
    return k;
}

/*
 * Queue files, written straight into a queue directory (as they would be
 * after Postfix's own tools put them there): a real file from the queue
 * file writer, a made-up short id, a given mtime.
 */

static const char *const one_rcpt[] = {"a@example.net", NULL};

static void
make_id(char *buf, size_t len, unsigned n)
{
    /* microseconds spread over all 16 hash directories */
    queue_id_short(buf, len, (long) ((n * 7919u + 12345u) % 1000000u),
                   0xA00000ul + n);
}

static void
file_path(const Q *c, const char *queue, const char *id, char *buf, size_t len)
{
    STRBUF *rel = strbuf_alloc(64);

    queue_path(rel, c->env.hash_queues, c->env.hash_depth, queue, id);
    snprintf(buf, len, "%s/%s", c->queue_dir, strbuf_str(rel));
    strbuf_free(rel);
}

static void
make_parents(const char *path)
{
    char copy[PATH_MAX + 64];

    snprintf(copy, sizeof(copy), "%s", path);
    for (char *slash = strchr(copy + 1, '/'); slash;
         slash = strchr(slash + 1, '/')) {
        *slash = 0;
        if (mkdir(copy, 0700) < 0)
            ck_assert_int_eq(errno, EEXIST);
        *slash = '/';
    }
}

static void
set_mtime(const char *path, time_t when)
{
    struct timeval tv[2] = {{when, 0}, {when, 0}};

    ck_assert_int_eq(utimes(path, tv), 0);
}

/* A message file in queue with mtime when; the sender names the id. */
static void
put_file(const Q *c, const char *queue, const char *id, time_t when,
         const char *const *rcpts)
{
    static const char body[] = "Subject: lmdb\n\nbody\n";
    char path[PATH_MAX + 64];
    char sender[STORE_ID_MAX + 32];
    QFILE_OUT_RCPT r[8];
    QFILE_ENVELOPE e;
    STRBUF *out = strbuf_alloc(1024);
    size_t n;
    int fd;

    if (rcpts == NULL)
        rcpts = one_rcpt;
    for (n = 0; rcpts[n] && n < 8; n++) {
        memset(&r[n], 0, sizeof(r[n]));
        r[n].address = rcpts[n];
        r[n].orig_rcpt = rcpts[n];
    }
    snprintf(sender, sizeof(sender), "%s@example.org", id);
    memset(&e, 0, sizeof(e));
    e.arrival_sec = (long) time(NULL) - 600;
    e.sender = sender;
    e.rcpts = r;
    e.rcpt_count = n;
    e.content = body;
    e.content_len = sizeof(body) - 1;
    qfile_make(&e, out);
    file_path(c, queue, id, path, sizeof(path));
    make_parents(path);
    ck_assert_int_ge(fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0700), 0);
    ck_assert_int_eq(write(fd, strbuf_str(out), strbuf_len(out)),
                     (ssize_t) strbuf_len(out));
    ck_assert_int_eq(fchmod(fd, 0700), 0);
    ck_assert_int_eq(close(fd), 0);
    set_mtime(path, when);
    strbuf_free(out);
}

/* Move a file between queue directories as postsuper would. */
static void
move_file(const Q *c, const char *from, const char *to, const char *id)
{
    char a[PATH_MAX + 64], b[PATH_MAX + 64];

    file_path(c, from, id, a, sizeof(a));
    file_path(c, to, id, b, sizeof(b));
    make_parents(b);
    ck_assert_msg(rename(a, b) == 0, "rename %s %s: %s", a, b, strerror(errno));
}

/*
 * What Postfix's own qmgr does to a deferred message it tries again:
 * deferred -> active, new mtime, active -> deferred.
 */
static void
redefer_file(const Q *c, const char *id, time_t when)
{
    char path[PATH_MAX + 64];

    move_file(c, "deferred", "active", id);
    file_path(c, "active", id, path, sizeof(path));
    set_mtime(path, when);
    move_file(c, "active", "deferred", id);
}

/*
 * Scans, counts and the oracle.
 */

typedef struct IDS {
    char (*v)[STORE_ID_MAX];
    int n;
    int alloc;
} IDS;

static void
set_id(char *dst, const char *src)
{
    size_t len = strnlen(src, STORE_ID_MAX - 1);

    memcpy(dst, src, len);
    dst[len] = 0;
}

static void
ids_add(IDS *ids, const char *id)
{
    if (ids->n == ids->alloc) {
        ids->alloc = ids->alloc ? 2 * ids->alloc : 64;
        ids->v = xrealloc(ids->v, (size_t) ids->alloc * sizeof(*ids->v));
    }
    set_id(ids->v[ids->n++], id);
}

static int
ids_count(const IDS *ids, const char *id)
{
    int k = 0;

    for (int i = 0; i < ids->n; i++)
        k += strcmp(ids->v[i], id) == 0;
    return k;
}

static void
ids_free(IDS *ids)
{
    xfree(ids->v);
    memset(ids, 0, sizeof(*ids));
}

static void
scan_ids(STORE *store, int queue, int flags, IDS *ids)
{
    STORE_SCAN *scan = store_scan_open(store, queue, flags);
    STORE_CAND cand[64];
    int count;

    memset(ids, 0, sizeof(*ids));
    ck_assert_msg(scan != NULL, "scan: %s", store_error(store));
    while (store_scan_next(scan, cand, 64, &count) == STORE_OK && count > 0)
        for (int i = 0; i < count; i++) {
            ck_assert_int_eq(cand[i].queue, queue);
            ids_add(ids, cand[i].id);
        }
    store_scan_close(scan);
}

static long
count_of(const STORE_COUNTS *counts, int queue)
{
    return counts->messages[store_queue_index(queue)];
}

static const STORE_DEST_COUNT *
dest_of(const STORE_COUNTS *counts, const char *domain)
{
    for (size_t i = 0; i < counts->dest_count; i++)
        if (strcmp(counts->dests[i].domain, domain) == 0)
            return &counts->dests[i];
    return NULL;
}

static void
get_counts(STORE *store, STORE_COUNTS *counts)
{
    ck_assert_msg(store_counts(store, counts) == STORE_OK, "counts: %s",
                  store_error(store));
}

typedef struct TRUTH {
    IDS deferred;
} TRUTH;

static int
collect_deferred(const STORE_MSG_INFO *info, void *context)
{
    ids_add(context, info->id);
    return 0;
}

/*
 * The index agrees with the files: the spool backend on the same queue
 * counts the same messages per queue and per domain, and the index's
 * deferred walk (STORE_SCAN_ALL) returns exactly the deferred files.
 */
static void
assert_index_true(Q *c)
{
    STORE *spool = open_spec(c, "spool");
    STORE_COUNTS want, got;
    IDS truth = {0}, walk;

    get_counts(spool, &want);
    get_counts(c->store, &got);
    for (int bit = 1; bit <= STORE_Q_MAILDROP; bit <<= 1)
        ck_assert_msg(count_of(&want, bit) == count_of(&got, bit),
                      "%s: index counts %ld, spool %ld", store_queue_name(bit),
                      count_of(&got, bit), count_of(&want, bit));
    ck_assert_uint_eq(want.dest_count, got.dest_count);
    for (size_t i = 0; i < want.dest_count; i++) {
        const STORE_DEST_COUNT *d = dest_of(&got, want.dests[i].domain);

        ck_assert_msg(d != NULL, "domain %s missing", want.dests[i].domain);
        ck_assert_int_eq(d->recipients, want.dests[i].recipients);
        ck_assert_int_eq(d->messages, want.dests[i].messages);
    }
    ck_assert_int_eq(
        store_list(spool, STORE_Q_DEFERRED, collect_deferred, &truth),
        STORE_OK);
    scan_ids(c->store, STORE_Q_DEFERRED, STORE_SCAN_ALL, &walk);
    ck_assert_int_eq(walk.n, truth.n);
    for (int i = 0; i < truth.n; i++)
        ck_assert_msg(ids_count(&walk, truth.v[i]) == 1,
                      "deferred %s: walked %d times", truth.v[i],
                      ids_count(&walk, truth.v[i]));
    ids_free(&truth);
    ids_free(&walk);
    store_counts_free(&want);
    store_counts_free(&got);
    store_close(spool);
}

/* A small mixed queue: ids[0..4] deferred due, [5..7] deferred later,
 * [8..9] hold, [10] incoming, [11] corrupt. */
#define MIXED 12
static char mixed[MIXED][STORE_ID_MAX];

static void
make_mixed(const Q *c)
{
    static const char *const two[] = {"x@one.example", "y@two.example", NULL};
    time_t now = time(NULL);

    for (unsigned i = 0; i < MIXED; i++) {
        make_id(mixed[i], sizeof(mixed[i]), 1000 + serial++);
        put_file(c,
                 i < 8    ? "deferred"
                 : i < 10 ? "hold"
                 : i < 11 ? "incoming"
                          : "corrupt",
                 mixed[i], i < 5 ? now - 100 - i : now + 3600 + i,
                 i % 2 ? two : NULL);
    }
}

static void
assert_due(Q *c, int expect_n, const char *const *expect_ids)
{
    IDS ids;

    scan_ids(c->store, STORE_Q_DEFERRED, 0, &ids);
    ck_assert_int_eq(ids.n, expect_n);
    for (int i = 0; i < expect_n; i++)
        ck_assert_msg(ids_count(&ids, expect_ids[i]) == 1,
                      "%s not scanned once", expect_ids[i]);
    ids_free(&ids);
}

static void
assert_mixed_due(Q *c)
{
    const char *due[5];

    for (int i = 0; i < 5; i++)
        due[i] = mixed[i];
    assert_due(c, 5, due);
}

/*
 * Rebuild.
 */

START_TEST(test_rebuild_when_missing)
{
    make_mixed(&q);
    q_open(&q);
    ck_assert_uint_eq(counters(&q)->rebuilds, 1);
    assert_mixed_due(&q);
    assert_index_true(&q);
    q_close(&q);

    /* A complete index is used as it is: nothing is read again. */
    q_open(&q);
    ck_assert_uint_eq(counters(&q)->rebuilds, 0);
    ck_assert_uint_eq(counters(&q)->files_parsed, 0);
    assert_mixed_due(&q);
    ck_assert_uint_eq(counters(&q)->files_parsed, 0);
    q_close(&q);

    /* The directory removed: made again and rebuilt. */
    store_conformance_remove_tree(q.index_dir);
    q_open(&q);
    ck_assert_uint_eq(counters(&q)->rebuilds, 1);
    assert_mixed_due(&q);
    assert_index_true(&q);
}
END_TEST

static void
scribble(const char *path, off_t offset, size_t len)
{
    unsigned char *junk = xmalloc(len);
    int fd;

    for (size_t i = 0; i < len; i++)
        junk[i] = (unsigned char) (i * 131 + 7 + (i >> 8));
    ck_assert_int_ge(fd = open(path, O_WRONLY), 0);
    ck_assert_int_eq(pwrite(fd, junk, len, offset), (ssize_t) len);
    ck_assert_int_eq(close(fd), 0);
    xfree(junk);
}

START_TEST(test_rebuild_when_garbage)
{
    static const struct {
        const char *file;
        off_t offset;
        size_t len;
        int truncate;
        int rebuilds; /* the lock file is reset by its first opener */
    } damage[] = {
        {"data.mdb", 0, 16384, 0, 1}, /* both meta pages */
        {"data.mdb", 0, 0, 1, 1},     /* empty file */
        {"lock.mdb", 0, 4096, 0, 0},  /* the lock file's header */
    };
    char path[PATH_MAX + 16];
    struct stat st;

    make_mixed(&q);
    for (size_t i = 0; i < sizeof(damage) / sizeof(damage[0]); i++) {
        q_open(&q);
        assert_mixed_due(&q);
        q_close(&q);
        snprintf(path, sizeof(path), "%s/%s", q.index_dir, damage[i].file);
        ck_assert_int_eq(stat(path, &st), 0);
        if (damage[i].truncate)
            ck_assert_int_eq(truncate(path, 0), 0);
        else
            scribble(path, damage[i].offset, damage[i].len);
        q_open(&q);
        ck_assert_msg(counters(&q)->rebuilds == (unsigned) damage[i].rebuilds,
                      "%s damage %zu: %lu rebuilds", damage[i].file, i,
                      counters(&q)->rebuilds);
        assert_mixed_due(&q);
        assert_index_true(&q);
        q_close(&q);
    }
}
END_TEST

/* An index of another format version is dropped and rebuilt. */
START_TEST(test_rebuild_when_format_differs)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta;
    MDB_val key = {6, "format"}, val = {14, "pqmgr-lmdb 0 x"};

    make_mixed(&q);
    q_open(&q);
    q_close(&q);
    /* The store is closed: this process may open the environment. */
    ck_assert_int_eq(mdb_env_create(&env), 0);
    ck_assert_int_eq(mdb_env_set_maxdbs(env, 8), 0);
    ck_assert_int_eq(mdb_env_open(env, q.index_dir, 0, 0600), 0);
    ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    ck_assert_int_eq(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    ck_assert_int_eq(mdb_put(txn, meta, &key, &val, 0), 0);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    q_open(&q);
    ck_assert_uint_eq(counters(&q)->rebuilds, 1);
    assert_mixed_due(&q);
    assert_index_true(&q);
}
END_TEST

/*
 * A record LMDB reads back fine but that does not decode: damage found in
 * operation.  The call says STORE_RETRY; the next call rebuilds the index.
 */
START_TEST(test_rebuild_when_record_damaged)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi msg;
    MDB_val key, val = {5, "junk!"};
    STORE_SCAN *scan;
    STORE_CAND cand[16];
    int count;

    make_mixed(&q);
    q_open(&q);
    q_close(&q);
    ck_assert_int_eq(mdb_env_create(&env), 0);
    ck_assert_int_eq(mdb_env_set_maxdbs(env, 8), 0);
    ck_assert_int_eq(mdb_env_open(env, q.index_dir, 0, 0600), 0);
    ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    ck_assert_int_eq(mdb_dbi_open(txn, "msg", 0, &msg), 0);
    key.mv_data = mixed[0];
    key.mv_size = strlen(mixed[0]);
    ck_assert_int_eq(mdb_put(txn, msg, &key, &val, 0), 0);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);

    q_open(&q);
    ck_assert_uint_eq(counters(&q)->rebuilds, 0);
    lmdb_store_set_sweep(q.store, 0, 0);
    ck_assert_ptr_nonnull(scan = store_scan_open(q.store, STORE_Q_DEFERRED, 0));
    ck_assert_int_eq(store_scan_next(scan, cand, 16, &count), STORE_RETRY);
    ck_assert_ptr_nonnull(strstr(store_error(q.store), "rebuilt"));
    store_scan_close(scan);
    assert_mixed_due(&q);
    ck_assert_uint_eq(counters(&q)->rebuilds, 1);
    assert_index_true(&q);
}
END_TEST

/*
 * Behind the index's back.
 */

START_TEST(test_moves_behind_its_back)
{
    time_t now = time(NULL);
    char fresh[STORE_ID_MAX], held[STORE_ID_MAX];
    const char *due[5];

    make_mixed(&q);
    make_id(held, sizeof(held), 77);
    put_file(&q, "hold", held, now - 30, NULL);
    q_open(&q);
    lmdb_store_set_sweep(q.store, 0, 0); /* the stamps alone must do it */
    assert_mixed_due(&q);

    move_file(&q, "deferred", "hold", mixed[0]); /* postsuper -h */
    {
        char path[PATH_MAX + 64];

        file_path(&q, "deferred", mixed[1], path, sizeof(path));
        ck_assert_int_eq(unlink(path), 0); /* postsuper -d */
    }
    make_id(fresh, sizeof(fresh), 78);
    put_file(&q, "deferred", fresh, now - 5, NULL); /* qmgr deferred it */
    move_file(&q, "hold", "deferred", held);        /* postsuper -H */
    redefer_file(&q, mixed[5], now - 1);            /* later -> due */
    redefer_file(&q, mixed[2], now + 7200);         /* due -> later */

    due[0] = mixed[3];
    due[1] = mixed[4];
    due[2] = fresh;
    due[3] = held;
    due[4] = mixed[5];
    assert_due(&q, 5, due);
    assert_index_true(&q);

    /* Moved into incoming and into corrupt by hand; maildrop (-r). */
    move_file(&q, "deferred", "incoming", mixed[3]);
    move_file(&q, "deferred", "corrupt", mixed[4]);
    move_file(&q, "deferred", "maildrop", fresh);
    due[0] = held;
    due[1] = mixed[5];
    assert_due(&q, 2, due);
    assert_index_true(&q);
}
END_TEST

/*
 * Changes between the stamp check (scan open) and the walk: only the
 * scan's lstat() of each candidate can notice them.  The same for a claim.
 */
START_TEST(test_scan_checks_each_candidate)
{
    time_t now = time(NULL);
    char path[PATH_MAX + 64];
    STORE_CLAIM *claim;
    STORE_CAND cand[16];
    STORE_SCAN *scan;
    unsigned long repairs;
    IDS got = {0};
    int count;

    make_mixed(&q);
    q_open(&q);
    lmdb_store_set_sweep(q.store, 0, 0);
    ck_assert_ptr_nonnull(scan = store_scan_open(q.store, STORE_Q_DEFERRED, 0));
    repairs = counters(&q)->repairs;
    file_path(&q, "deferred", mixed[0], path, sizeof(path));
    ck_assert_int_eq(unlink(path), 0); /* gone */
    file_path(&q, "deferred", mixed[1], path, sizeof(path));
    set_mtime(path, now + 900);                  /* later, in place */
    move_file(&q, "deferred", "hold", mixed[2]); /* held */
    while (store_scan_next(scan, cand, 16, &count) == STORE_OK && count > 0)
        for (int i = 0; i < count; i++)
            ids_add(&got, cand[i].id);
    store_scan_close(scan);
    ck_assert_int_eq(got.n, 2);
    ck_assert_int_eq(ids_count(&got, mixed[3]), 1);
    ck_assert_int_eq(ids_count(&got, mixed[4]), 1);
    ids_free(&got);
    ck_assert_uint_eq(counters(&q)->repairs - repairs, 3);
    assert_index_true(&q);

    /* A claim of a candidate that vanished says GONE and re-files it. */
    ck_assert_ptr_nonnull(scan = store_scan_open(q.store, STORE_Q_DEFERRED, 0));
    ck_assert_int_eq(store_scan_next(scan, cand, 16, &count), STORE_OK);
    ck_assert_int_eq(count, 2);
    store_scan_close(scan);
    move_file(&q, "deferred", "hold", cand[0].id);
    repairs = counters(&q)->repairs;
    ck_assert_int_eq(store_claim(q.store, &cand[0], &claim), STORE_GONE);
    ck_assert_uint_eq(counters(&q)->repairs - repairs, 1);
    assert_index_true(&q);
}
END_TEST

/* Only the sweep sees a file whose mtime is changed in place. */
START_TEST(test_sweep_finds_touched_file)
{
    char path[PATH_MAX + 64];
    const char *due[6];
    const LMDB_COUNTERS *k;
    unsigned long before;

    make_mixed(&q);
    q_open(&q);
    lmdb_store_set_sweep(q.store, 0, 0);
    file_path(&q, "deferred", mixed[6], path, sizeof(path));
    set_mtime(path, time(NULL) - 5);
    assert_mixed_due(&q); /* not yet: its index time is an hour ahead */
    lmdb_store_set_sweep(q.store, 100, 3);
    k = counters(&q);
    before = k->file_lstats;
    for (int i = 0; i < 5; i++)
        due[i] = mixed[i];
    due[5] = mixed[6];
    /* Three entries per scan: within a few scans the sweep gets there. */
    for (int round = 0; round < 5; round++) {
        IDS ids;
        int found;

        scan_ids(q.store, STORE_Q_DEFERRED, 0, &ids);
        found = ids_count(&ids, mixed[6]);
        ids_free(&ids);
        if (found)
            break;
        ck_assert_int_lt(round, 4);
    }
    assert_due(&q, 6, due);
    /* Bounded: at most 3 entries, plus the due candidates, per scan. */
    ck_assert_uint_le(k->file_lstats - before, 6 * (3 + 6));
}
END_TEST

/* The installed Postfix's postsuper moves files; the index follows. */
static int run_quiet(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static int
run_quiet(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    int status;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    strncat(cmd, " >/dev/null 2>&1", sizeof(cmd) - strlen(cmd) - 1);
    status = system(cmd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * The instance is made and destroyed by the test case's unchecked fixture,
 * in the test program's own process, so that it goes away also when an
 * assertion ends the test's child process.
 */
static char sandbox_root[PATH_MAX - 1024];
static char sandbox[PATH_MAX - 512]; /* the instance: <root>/pf */
static char sandbox_tool[PATH_MAX];
static char sandbox_error[256];

static void
make_sandbox(void)
{
    const char *top = getenv("PQ_TOP");

    sandbox_error[0] = 0;
    if (access("/usr/sbin/postsuper", X_OK) < 0 || geteuid() != 0) {
        snprintf(sandbox_error, sizeof(sandbox_error),
                 "no /usr/sbin/postsuper, or not root");
        return;
    }
    snprintf(sandbox_tool, sizeof(sandbox_tool), "%s/tests/sandbox/pf-sandbox",
             top ? top : ".");
    /* postsuper runs as $mail_owner: the instance must be reachable */
    snprintf(sandbox_root, sizeof(sandbox_root), "/tmp/pq-lmdb-pf.XXXXXX");
    if (mkdtemp(sandbox_root) == NULL || chmod(sandbox_root, 0755) < 0) {
        snprintf(sandbox_error, sizeof(sandbox_error), "mkdtemp: %s",
                 strerror(errno));
        sandbox_root[0] = 0;
        return;
    }
    snprintf(sandbox, sizeof(sandbox), "%s/pf", sandbox_root);
    if (run_quiet("%s create %s --no-qmgr", sandbox_tool, sandbox) != 0)
        snprintf(sandbox_error, sizeof(sandbox_error),
                 "pf-sandbox create failed");
}

static void
destroy_sandbox(void)
{
    if (sandbox_root[0] == 0)
        return;
    (void) run_quiet("%s destroy %s", sandbox_tool, sandbox);
    store_conformance_remove_tree(sandbox_root);
    sandbox_root[0] = 0;
}

START_TEST(test_postsuper_behind_its_back)
{
    time_t now = time(NULL);
    char id[4][STORE_ID_MAX];
    Q c;

    ck_assert_msg(sandbox_error[0] == 0, "Postfix instance: %s", sandbox_error);
    memset(&c, 0, sizeof(c));
    snprintf(c.dir, sizeof(c.dir), "%s", sandbox);
    snprintf(c.queue_dir, sizeof(c.queue_dir), "%s/spool", sandbox);
    snprintf(c.index_dir, sizeof(c.index_dir), "%s/data/pqmgr-index", sandbox);
    snprintf(c.spec, sizeof(c.spec), "lmdb:%s", c.index_dir);
    c.env.queue_dir = c.queue_dir;
    c.env.hash_queues = "deferred, defer"; /* Postfix's default */
    c.env.hash_depth = 1;
    c.env.node_name = "node-a.example";
    c.env.owner_uid = c.env.owner_gid = -1;
    for (unsigned i = 0; i < 4; i++) {
        make_id(id[i], sizeof(id[i]), 500 + i);
        put_file(&c, "deferred", id[i], now - 60, NULL);
    }
    /* as cleanup(8) would have left them: owned by $mail_owner */
    ck_assert_int_eq(run_quiet("chown -R postfix %s/spool/deferred %s/maillog",
                               sandbox, sandbox),
                     0);
    q_open(&c);
    lmdb_store_set_sweep(c.store, 0, 0);
    assert_due(&c, 4, (const char *const[]){id[0], id[1], id[2], id[3]});
    ck_assert_int_eq(
        run_quiet("/usr/sbin/postsuper -c %s/etc -h %s", sandbox, id[0]), 0);
    ck_assert_int_eq(
        run_quiet("/usr/sbin/postsuper -c %s/etc -d %s", sandbox, id[1]), 0);
    ck_assert_int_eq(
        run_quiet("/usr/sbin/postsuper -c %s/etc -r %s", sandbox, id[2]), 0);
    assert_due(&c, 1, (const char *const[]){id[3]});
    assert_index_true(&c);
    ck_assert_int_eq(
        run_quiet("/usr/sbin/postsuper -c %s/etc -H %s", sandbox, id[0]), 0);
    assert_due(&c, 2, (const char *const[]){id[0], id[3]});
    assert_index_true(&c);
    q_close(&c);
    {
        struct stat st;

        /* root made the index for the queue's owner */
        ck_assert_int_eq(stat(c.index_dir, &st), 0);
        ck_assert_int_ne(st.st_uid, 0);
    }
}
END_TEST

/*
 * A crash between a file operation and its index update: the child dies
 * right before the index commit (the operation's last durable step, checked
 * by a dry run first); recovery in the parent repairs the index.
 */
static char crash_id[STORE_ID_MAX];

static void
op_claim(Q *c)
{
    STORE_CLAIM *claim;
    STORE_CAND cand;

    snprintf(cand.id, sizeof(cand.id), "%s", crash_id);
    cand.queue = STORE_Q_DEFERRED;
    cand.next_attempt = 0;
    if (store_claim(c->store, &cand, &claim) != STORE_OK)
        _exit(2);
    store_claim_free(claim);
}

static void
op_claim_defer(Q *c)
{
    STORE_CLAIM *claim;
    STORE_CAND cand;
    STORE_OUTCOME outcome = {STORE_DEFER, 0, 0};

    snprintf(cand.id, sizeof(cand.id), "%s", crash_id);
    cand.queue = STORE_Q_DEFERRED;
    cand.next_attempt = 0;
    if (store_claim(c->store, &cand, &claim) != STORE_OK)
        _exit(2);
    outcome.next_attempt = time(NULL) - 3;
    if (store_checkin(c->store, claim, &outcome) != STORE_OK)
        _exit(2);
    store_claim_free(claim);
}

static void
op_hold(Q *c)
{
    if (store_hold(c->store, crash_id) != STORE_OK)
        _exit(2);
}

static void
op_release(Q *c)
{
    if (store_hold(c->store, crash_id) != STORE_OK)
        _exit(2);
    if (store_release(c->store, crash_id) != STORE_OK)
        _exit(2);
}

/* Run op in a child with the fault shim armed at k (0: not armed). */
static int
run_child(Q *c, void (*op)(Q *c), int k, const char *last)
{
    pid_t pid;
    int status;

    fflush(stdout);
    ck_assert_int_ge(pid = fork(), 0);
    if (pid == 0) {
        c->store = open_spec(c, c->spec);
        lmdb_store_set_sweep(c->store, 0, 0);
        store_fault_arm(k);
        op(c);
        if (k == 0)
            _exit(strcmp(store_fault_last(), last) == 0
                      ? 100 + store_fault_count()
                      : 1);
        _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    return WEXITSTATUS(status);
}

START_TEST(test_crash_between_file_and_index)
{
    static const struct {
        const char *last; /* the operation's last durable step */
        void (*op)(Q *c);
    } cases[] = {
        {"lmdb:claim:commit", op_claim},
        {"lmdb:checkin:commit", op_claim_defer},
        {"lmdb:hold:commit", op_hold},
        {"lmdb:release:commit", op_release},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int points;

        q_prepare(&q, "deferred, defer", 1);
        make_mixed(&q);
        snprintf(crash_id, sizeof(crash_id), "%s", mixed[6]); /* later */
        q_open(&q);
        q_close(&q);
        /* A dry run counts the points; the file is back where it was. */
        points = run_child(&q, cases[i].op, 0, cases[i].last) - 100;
        ck_assert_msg(points > 0, "%s: not the last step", cases[i].last);
        store_conformance_remove_tree(q.dir);

        q_prepare(&q, "deferred, defer", 1);
        make_mixed(&q);
        snprintf(crash_id, sizeof(crash_id), "%s", mixed[6]);
        q_open(&q);
        q_close(&q);
        ck_assert_int_eq(run_child(&q, cases[i].op, points, cases[i].last),
                         STORE_FAULT_EXIT);
        q_open(&q);
        lmdb_store_set_sweep(q.store, 0, 0);
        ck_assert_int_eq(store_recover(q.store), STORE_OK);
        assert_index_true(&q);
        q_close(&q);
        store_conformance_remove_tree(q.dir);
    }
}
END_TEST

/*
 * Map growth, lock file modes.
 */

START_TEST(test_map_grows)
{
    enum { N = 3000 };
    time_t later = time(NULL) + 86400;
    char id[STORE_ID_MAX];
    char path[PATH_MAX + 16];
    STORE_COUNTS counts;
    struct stat st;
    IDS ids;

    for (unsigned i = 0; i < N; i++) {
        make_id(id, sizeof(id), 20000 + i);
        put_file(&q, "deferred", id, later + i, NULL);
    }
    lmdb_store_set_initial_mapsize(16 * 4096);
    q_open(&q);
    lmdb_store_set_initial_mapsize(LMDB_INITIAL_MAPSIZE);
    ck_assert_uint_gt(counters(&q)->map_growths, 0);
    get_counts(q.store, &counts);
    ck_assert_int_eq(count_of(&counts, STORE_Q_DEFERRED), N);
    store_counts_free(&counts);
    scan_ids(q.store, STORE_Q_DEFERRED, STORE_SCAN_ALL, &ids);
    ck_assert_int_eq(ids.n, N);
    ids_free(&ids);
    snprintf(path, sizeof(path), "%s/data.mdb", q.index_dir);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_gt(st.st_size, 16 * 4096);
    /* A reopened environment takes the size the file has. */
    q_close(&q);
    lmdb_store_set_initial_mapsize(16 * 4096);
    q_open(&q);
    lmdb_store_set_initial_mapsize(LMDB_INITIAL_MAPSIZE);
    for (unsigned i = 0; i < 50; i++) {
        make_id(id, sizeof(id), 30000 + i);
        put_file(&q, "deferred", id, later, NULL);
    }
    assert_index_true(&q);
}
END_TEST

START_TEST(test_lock_file_modes)
{
    static const char *const files[] = {"data.mdb", "lock.mdb"};
    char path[PATH_MAX + 16];
    struct stat st;
    mode_t old = umask(0);

    q_open(&q);
    umask(old);
    ck_assert_int_eq(stat(q.index_dir, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0700);
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/%s", q.index_dir, files[i]);
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_msg((st.st_mode & 07777) == 0600, "%s mode %o", files[i],
                      (unsigned) (st.st_mode & 07777));
    }
    q_close(&q);
    /* A directory someone made world-writable is closed again. */
    ck_assert_int_eq(chmod(q.index_dir, 0777), 0);
    q_open(&q);
    ck_assert_int_eq(stat(q.index_dir, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0700);
}
END_TEST

/*
 * O(due): a deferred scan with 10000 messages that are not due.
 */

START_TEST(test_deferred_scan_is_o_due)
{
    enum { N = 10000, DUE = 7 };
    time_t later = time(NULL) + 86400;
    char ids[DUE][STORE_ID_MAX];
    LMDB_COUNTERS before;
    const LMDB_COUNTERS *k;
    IDS got;

    for (unsigned i = 0; i < N; i++) {
        char id[STORE_ID_MAX];

        make_id(id, sizeof(id), 40000 + i);
        put_file(&q, "deferred", id, later + (time_t) (i % 977), NULL);
        if (i < DUE)
            snprintf(ids[i], sizeof(ids[i]), "%s", id);
    }
    q_open(&q);
    k = counters(&q);
    lmdb_store_set_sweep(q.store, 0, 0);

    /* None due: not one message file is looked at, no directory read. */
    before = *k;
    scan_ids(q.store, STORE_Q_DEFERRED, 0, &got);
    ck_assert_int_eq(got.n, 0);
    ids_free(&got);
    ck_assert_uint_eq(k->file_lstats - before.file_lstats, 0);
    ck_assert_uint_eq(k->dir_reads - before.dir_reads, 0);
    ck_assert_uint_eq(k->names_read - before.names_read, 0);
    ck_assert_uint_eq(k->files_parsed - before.files_parsed, 0);
    ck_assert_uint_eq(k->commits - before.commits, 0);
    /* one stat() per queue directory and hash subdirectory */
    ck_assert_uint_le(k->dir_stats - before.dir_stats, 5 + 16);

    /* The store's own moves keep the stamps: DUE messages made due by a
     * claim and a checkin cost exactly DUE lstat()s in the next scan. */
    for (int i = 0; i < DUE; i++) {
        STORE_CAND cand;
        STORE_CLAIM *claim;
        STORE_OUTCOME outcome = {STORE_DEFER, time(NULL) - 10, 0};

        set_id(cand.id, ids[i]);
        cand.queue = STORE_Q_DEFERRED;
        cand.next_attempt = later;
        ck_assert_int_eq(store_claim(q.store, &cand, &claim), STORE_OK);
        ck_assert_int_eq(store_checkin(q.store, claim, &outcome), STORE_OK);
        store_claim_free(claim);
    }
    before = *k;
    scan_ids(q.store, STORE_Q_DEFERRED, 0, &got);
    ck_assert_int_eq(got.n, DUE);
    for (int i = 0; i < DUE; i++)
        ck_assert_int_eq(ids_count(&got, ids[i]), 1);
    ids_free(&got);
    ck_assert_uint_eq(k->file_lstats - before.file_lstats, DUE);
    ck_assert_uint_eq(k->dir_reads - before.dir_reads, 0);

    /* With the background sweep on, the work is bounded by its budget. */
    lmdb_store_set_sweep(q.store, 500, 50);
    before = *k;
    scan_ids(q.store, STORE_Q_DEFERRED, 0, &got);
    ck_assert_int_eq(got.n, DUE);
    ids_free(&got);
    ck_assert_uint_le(k->file_lstats - before.file_lstats, DUE + 50);
    ck_assert_uint_le(k->names_read - before.names_read, 500);

    /* STORE_SCAN_ALL is a walk of everything, as it should be. */
    scan_ids(q.store, STORE_Q_DEFERRED, STORE_SCAN_ALL, &got);
    ck_assert_int_eq(got.n, N);
    ids_free(&got);
}
END_TEST

/* counts come from the index: no deferred file is opened. */
START_TEST(test_counts_from_index)
{
    const LMDB_COUNTERS *k;
    LMDB_COUNTERS before;
    STORE_COUNTS counts;
    const STORE_DEST_COUNT *d;

    make_mixed(&q);
    q_open(&q);
    k = counters(&q);
    before = *k;
    get_counts(q.store, &counts);
    ck_assert_uint_eq(k->files_parsed - before.files_parsed, 0);
    ck_assert_uint_eq(k->file_lstats - before.file_lstats, 0);
    ck_assert_int_eq(count_of(&counts, STORE_Q_DEFERRED), 8);
    ck_assert_int_eq(count_of(&counts, STORE_Q_HOLD), 2);
    ck_assert_int_eq(count_of(&counts, STORE_Q_INCOMING), 1);
    ck_assert_int_eq(count_of(&counts, STORE_Q_CORRUPT), 1);
    ck_assert_ptr_nonnull(d = dest_of(&counts, "one.example"));
    ck_assert_int_eq(d->messages, 6);
    ck_assert_int_eq(d->recipients, 6);
    ck_assert_ptr_nonnull(d = dest_of(&counts, "example.net"));
    ck_assert_int_eq(d->messages, 6);
    store_counts_free(&counts);
    assert_index_true(&q);
}
END_TEST

/*
 * fork() and two handles.
 */

START_TEST(test_handle_used_after_fork)
{
    pid_t pid;
    int status;

    make_mixed(&q);
    q_open(&q);
    assert_mixed_due(&q);
    fflush(stdout);
    ck_assert_int_ge(pid = fork(), 0);
    if (pid == 0) {
        /* The child uses the parent's handle: it must open its own env. */
        STORE_CLAIM *claim;
        STORE_CAND cand;
        STORE_OUTCOME outcome = {STORE_DEFER, time(NULL) + 7200, 0};
        IDS ids;

        scan_ids(q.store, STORE_Q_DEFERRED, 0, &ids);
        if (ids.n != 5)
            _exit(2);
        set_id(cand.id, ids.v[0]);
        cand.queue = STORE_Q_DEFERRED;
        cand.next_attempt = 0;
        if (store_claim(q.store, &cand, &claim) != STORE_OK ||
            store_checkin(q.store, claim, &outcome) != STORE_OK)
            _exit(3);
        store_claim_free(claim);
        store_close(q.store);
        _exit(0);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "child status %#x", status);
    /* The parent's environment still works and sees the child's commit. */
    {
        IDS ids;

        scan_ids(q.store, STORE_Q_DEFERRED, 0, &ids);
        ck_assert_int_eq(ids.n, 4);
        ids_free(&ids);
    }
    assert_index_true(&q);
}
END_TEST

START_TEST(test_two_handles_share_env)
{
    STORE *other;
    STORE_CLAIM *claim;
    STORE_CAND cand;
    STORE_OUTCOME outcome = {STORE_DEFER, 0, 0};
    IDS ids;

    make_mixed(&q);
    q_open(&q);
    other = open_spec(&q, q.spec);
    snprintf(cand.id, sizeof(cand.id), "%s", mixed[0]);
    cand.queue = STORE_Q_DEFERRED;
    cand.next_attempt = 0;
    ck_assert_int_eq(store_claim(other, &cand, &claim), STORE_OK);
    outcome.next_attempt = time(NULL) + 600;
    ck_assert_int_eq(store_checkin(other, claim, &outcome), STORE_OK);
    store_claim_free(claim);
    scan_ids(q.store, STORE_Q_DEFERRED, 0, &ids);
    ck_assert_int_eq(ids.n, 4);
    ids_free(&ids);
    store_close(other);
    scan_ids(q.store, STORE_Q_DEFERRED, 0, &ids);
    ck_assert_int_eq(ids.n, 4);
    ids_free(&ids);
    assert_index_true(&q);
}
END_TEST

/* Ingest indexes what cleanup left in incoming/, once. */
START_TEST(test_ingest_indexes_incoming)
{
    char id[3][STORE_ID_MAX];
    int count;

    q_open(&q);
    for (unsigned i = 0; i < 3; i++) {
        make_id(id[i], sizeof(id[i]), 900 + i);
        put_file(&q, "incoming", id[i], time(NULL), NULL);
    }
    ck_assert_int_eq(store_ingest(q.store, 2, &count), STORE_OK);
    ck_assert_int_eq(count, 2);
    ck_assert_int_eq(store_ingest(q.store, 10, &count), STORE_OK);
    ck_assert_int_eq(count, 1);
    ck_assert_int_eq(store_ingest(q.store, 10, &count), STORE_OK);
    ck_assert_int_eq(count, 0);
    assert_index_true(&q);
}
END_TEST

/* A relative name is relative to the queue directory. */
START_TEST(test_relative_name)
{
    char path[PATH_MAX + 32];

    snprintf(q.spec, sizeof(q.spec), "lmdb:pqmgr-index");
    q_open(&q);
    snprintf(path, sizeof(path), "%s/pqmgr-index/data.mdb", q.queue_dir);
    ck_assert_int_eq(access(path, F_OK), 0);
}
END_TEST

static Suite *
lmdb_suite(void)
{
    Suite *s = suite_create("lmdb index");
    TCase *tc = tcase_create("lmdb");

    if (base_dir[0] == 0) {
        snprintf(base_dir, sizeof(base_dir), "/tmp/pq-lmdb.XXXXXX");
        if (mkdtemp(base_dir) == NULL) {
            perror(base_dir);
            exit(1);
        }
        base_owner = getpid();
        atexit(remove_base);
    }
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_rebuild_when_missing);
    tcase_add_test(tc, test_rebuild_when_garbage);
    tcase_add_test(tc, test_rebuild_when_format_differs);
    tcase_add_test(tc, test_rebuild_when_record_damaged);
    tcase_add_test(tc, test_moves_behind_its_back);
    tcase_add_test(tc, test_scan_checks_each_candidate);
    tcase_add_test(tc, test_sweep_finds_touched_file);
    tcase_add_test(tc, test_crash_between_file_and_index);
    tcase_add_test(tc, test_map_grows);
    tcase_add_test(tc, test_lock_file_modes);
    tcase_add_test(tc, test_deferred_scan_is_o_due);
    tcase_add_test(tc, test_counts_from_index);
    tcase_add_test(tc, test_handle_used_after_fork);
    tcase_add_test(tc, test_two_handles_share_env);
    tcase_add_test(tc, test_ingest_indexes_incoming);
    tcase_add_test(tc, test_relative_name);
    suite_add_tcase(s, tc);

    tc = tcase_create("postfix");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_unchecked_fixture(tc, make_sandbox, destroy_sandbox);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_postsuper_behind_its_back);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(store_conformance_suite(&lmdb_backend));
    int failed;

    srunner_add_suite(sr, lmdb_suite());
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
