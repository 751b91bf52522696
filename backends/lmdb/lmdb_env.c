/*
 * lmdb_env - the LMDB environment of an index directory (lmdb_store.h).
 *
 * LMDB allows one MDB_env per environment file and process (closing a
 * second one would drop the first one's fcntl() locks), and an MDB_env must
 * not be used after fork().  So environments live in a process-wide list
 * keyed by the directory's device and inode, shared by reference count, and
 * each remembers the process that opened it: a child of fork() never uses or
 * closes an inherited one, it opens its own.
 *
 * The directory is made mode 0700 and the LMDB files mode 0600, owned by the
 * queue's owner, so the lock file (which every reader writes) is not
 * world-writable.  An environment LMDB reports damaged at open (not an LMDB
 * file, wrong version, corrupted) is removed and made again, empty: the index
 * is then rebuilt from the spool by the caller.
 *
 * Commits are durable with one fdatasync() each (MDB_NOMETASYNC: the data
 * pages of a transaction are synced at its commit, its meta page with the
 * next commit).  A system crash may therefore undo the last commit, but never
 * leaves the environment inconsistent; an undone commit is the same as a
 * crash between a file operation and its index update, which the directory
 * stamps find and repair (lmdb_reconcile.c).
 *
 * Writes run a caller's function in a write transaction; on MDB_MAP_FULL
 * (from a put or from the commit) the transaction is aborted, the map is
 * doubled with mdb_env_set_mapsize() (no transaction of this process is open
 * then: transactions never outlive a store call) and the function runs again
 * from the start, so it must only depend on its context.  MDB_MAP_RESIZED
 * (another process grew the map) adopts the new size and retries.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lmdb_store.h"
#include "msg.h"
#include "xalloc.h"

#define MAX_GROWTHS    48
#define MAX_MAPSIZE    ((size_t) 1 << 40)
#define LMDB_FILE_MODE 0600

static LMDB_ENV *env_list;
static size_t initial_mapsize = LMDB_INITIAL_MAPSIZE;

void
lmdb_set_initial_mapsize(size_t bytes)
{
    long page = sysconf(_SC_PAGESIZE);

    if (page <= 0)
        page = 4096;
    if (bytes < (size_t) page * 4)
        bytes = (size_t) page * 4;
    initial_mapsize = (bytes + (size_t) page - 1) / (size_t) page * page;
}

int
lmdb_env_is_damage(int rc)
{
    return rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH ||
           rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND ||
           rc == MDB_INCOMPATIBLE || rc == MDB_PANIC;
}

/* Who should own the directory and files: -1 for "leave as made". */
void
lmdb_env_owner(const STORE_ENV *senv, long *uid, long *gid)
{
    char path[4096];
    struct stat st;

    *uid = senv->owner_uid;
    *gid = senv->owner_gid;
    if (*uid >= 0 || geteuid() != 0)
        return;
    snprintf(path, sizeof(path), "%s/deferred", senv->queue_dir);
    if (stat(path, &st) == 0 && st.st_uid != 0) {
        *uid = (long) st.st_uid;
        *gid = (long) st.st_gid;
    }
}

static void
give_to_owner(const char *path, long uid, long gid)
{
    if (uid >= 0 && chown(path, (uid_t) uid, (gid_t) gid) < 0 &&
        errno != ENOENT)
        msg_warn("chown %s: %m", path);
}

static int
make_directory(const char *dir, long uid, long gid, struct stat *st,
               STRBUF *why)
{
    if (mkdir(dir, 0700) == 0) {
        give_to_owner(dir, uid, gid);
    } else if (errno != EEXIST) {
        strbuf_addf(why, "create index directory %s: %m", dir);
        return -1;
    }
    if (stat(dir, st) < 0) {
        strbuf_addf(why, "index directory %s: %m", dir);
        return -1;
    }
    if (!S_ISDIR(st->st_mode)) {
        strbuf_addf(why, "index directory %s: not a directory", dir);
        return -1;
    }
    if ((st->st_mode & 077) != 0) {
        if (st->st_uid == geteuid() && chmod(dir, 0700) == 0)
            msg_warn("index directory %s was accessible by others: "
                     "mode set to 0700",
                     dir);
        else
            msg_warn("index directory %s is accessible by others", dir);
    }
    return 0;
}

static void
file_path(const LMDB_ENV *e, const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", e->dir, name);
}

static void
remove_files(LMDB_ENV *e)
{
    char path[4096];

    file_path(e, "data.mdb", path, sizeof(path));
    if (unlink(path) < 0 && errno != ENOENT)
        msg_warn("remove %s: %m", path);
    file_path(e, "lock.mdb", path, sizeof(path));
    if (unlink(path) < 0 && errno != ENOENT)
        msg_warn("remove %s: %m", path);
}

static void
refresh_mapsize(LMDB_ENV *e)
{
    MDB_envinfo info;

    if (mdb_env_info(e->env, &info) == 0)
        e->mapsize = info.me_mapsize;
}

static int
open_databases(LMDB_ENV *e, MDB_txn *txn, void *context)
{
    int rc;

    if ((rc = mdb_dbi_open(txn, "msg", MDB_CREATE, &e->msg)) != 0 ||
        (rc = mdb_dbi_open(txn, "due", MDB_CREATE, &e->due)) != 0 ||
        (rc = mdb_dbi_open(txn, "dir", MDB_CREATE, &e->dir_db)) != 0 ||
        (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &e->meta)) != 0)
        return rc;
    return 0;
}

static int
open_once(LMDB_ENV *e, long uid, long gid)
{
    char path[4096];
    int rc;

    if ((rc = mdb_env_create(&e->env)) != 0)
        return rc;
    if ((rc = mdb_env_set_maxdbs(e->env, 8)) != 0 ||
        (rc = mdb_env_set_mapsize(e->env, initial_mapsize)) != 0 ||
        (rc = mdb_env_open(e->env, e->dir, MDB_NOTLS | MDB_NOMETASYNC,
                           LMDB_FILE_MODE)) != 0)
        goto fail;
    refresh_mapsize(e);
    if ((rc = lmdb_env_write(e, open_databases, NULL, NULL)) != 0)
        goto fail;
    file_path(e, "data.mdb", path, sizeof(path));
    give_to_owner(path, uid, gid);
    file_path(e, "lock.mdb", path, sizeof(path));
    give_to_owner(path, uid, gid);
    return 0;

fail:
    mdb_env_close(e->env);
    e->env = NULL;
    return rc;
}

/* Open, and once more from scratch when LMDB says the files are damaged. */
static int
open_or_remake(LMDB_ENV *e, const STORE_ENV *senv, STRBUF *why)
{
    long uid, gid;
    int rc;

    lmdb_env_owner(senv, &uid, &gid);
    if ((rc = open_once(e, uid, gid)) != 0 && lmdb_env_is_damage(rc)) {
        msg_warn("queue index %s is damaged (%s): removing it; it will be "
                 "rebuilt from the queue",
                 e->dir, mdb_strerror(rc));
        remove_files(e);
        rc = open_once(e, uid, gid);
    }
    if (rc != 0)
        strbuf_addf(why, "open queue index %s: %s", e->dir, mdb_strerror(rc));
    return rc;
}

LMDB_ENV *
lmdb_env_acquire(const char *dir, const STORE_ENV *senv, STRBUF *why)
{
    LMDB_ENV *e;
    struct stat st;
    long uid, gid;

    lmdb_env_owner(senv, &uid, &gid);
    if (make_directory(dir, uid, gid, &st, why) < 0)
        return NULL;
    for (e = env_list; e; e = e->next) {
        if (e->dev == st.st_dev && e->ino == st.st_ino && e->pid == getpid() &&
            e->env != NULL) {
            e->refs++;
            return e;
        }
    }
    e = xcalloc(1, sizeof(*e));
    e->dir = xstrdup(dir);
    e->dev = st.st_dev;
    e->ino = st.st_ino;
    e->pid = getpid();
    e->refs = 1;
    if (open_or_remake(e, senv, why) != 0) {
        xfree(e->dir);
        xfree(e);
        return NULL;
    }
    e->next = env_list;
    env_list = e;
    return e;
}

static void
unlink_from_list(LMDB_ENV *e)
{
    for (LMDB_ENV **pp = &env_list; *pp; pp = &(*pp)->next) {
        if (*pp == e) {
            *pp = e->next;
            return;
        }
    }
}

/*
 * An environment inherited through fork() is the parent's: the child leaves
 * it alone (its memory is the parent's copy, so it is simply forgotten).
 */
void
lmdb_env_release(LMDB_ENV *e)
{
    if (e == NULL || e->pid != getpid())
        return;
    if (--e->refs > 0)
        return;
    unlink_from_list(e);
    if (e->env)
        mdb_env_close(e->env);
    xfree(e->dir);
    xfree(e);
}

/* Remove the files and start an empty environment in place. */
int
lmdb_env_reset(LMDB_ENV *e, const STORE_ENV *senv, STRBUF *why)
{
    long uid, gid;
    int rc;

    if (e->env) {
        mdb_env_close(e->env);
        e->env = NULL;
    }
    remove_files(e);
    lmdb_env_owner(senv, &uid, &gid);
    if ((rc = open_once(e, uid, gid)) != 0)
        strbuf_addf(why, "open queue index %s: %s", e->dir, mdb_strerror(rc));
    return rc;
}

static int
grow_map(LMDB_ENV *e)
{
    size_t want = e->mapsize * 2;
    int rc;

    if (want > MAX_MAPSIZE)
        return -1;
    if ((rc = mdb_env_set_mapsize(e->env, want)) != 0) {
        msg_warn("queue index %s: grow map to %zu bytes: %s", e->dir, want,
                 mdb_strerror(rc));
        return -1;
    }
    refresh_mapsize(e);
    if (e->counters)
        e->counters->map_growths++;
    if (msg_verbose)
        msg_info("queue index %s: map grown to %zu bytes", e->dir, e->mapsize);
    return 0;
}

static int
begin(LMDB_ENV *e, unsigned flags, MDB_txn **txn)
{
    int rc;

    for (int tries = 0; tries < 3; tries++) {
        rc = mdb_txn_begin(e->env, NULL, flags, txn);
        if (rc != MDB_MAP_RESIZED)
            return rc;
        if ((rc = mdb_env_set_mapsize(e->env, 0)) != 0)
            return rc;
        refresh_mapsize(e);
    }
    return MDB_MAP_RESIZED;
}

int
lmdb_env_read(LMDB_ENV *e, MDB_txn **txn)
{
    return begin(e, MDB_RDONLY, txn);
}

int
lmdb_env_write(LMDB_ENV *e, LMDB_APPLY_FN apply, void *context,
               const char *fault_step)
{
    MDB_txn *txn;
    int rc;

    for (int growths = 0;; growths++) {
        if ((rc = begin(e, 0, &txn)) != 0)
            return rc;
        if ((rc = apply(e, txn, context)) == 0) {
            if (fault_step)
                store_fault_point(fault_step);
            rc = mdb_txn_commit(txn);
        } else {
            mdb_txn_abort(txn);
        }
        if (rc == 0) {
            if (e->counters)
                e->counters->commits++;
            return 0;
        }
        if (rc != MDB_MAP_FULL || growths >= MAX_GROWTHS || grow_map(e) < 0)
            return rc;
    }
}
