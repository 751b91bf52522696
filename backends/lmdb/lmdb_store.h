/*
 * lmdb_store - internal interface of the LMDB index backend
 * ("pqmgr_queue_store = lmdb:/var/lib/postfix/pqmgr").
 *
 * WHAT IT IS.  The queue itself stays exactly where and how the spool
 * backend keeps it (backends/spool): Postfix's own files in incoming/,
 * active/, deferred/, hold/, corrupt/, the next-attempt time in the file's
 * mtime, so that postqueue, postsuper, postcat and Postfix's own qmgr still
 * work.  Every file operation is done by the spool backend itself, through a
 * private spool store handle (lm->spool) and the spool helpers of spool.h.
 * On top of that, an LMDB environment in the store's directory (the name
 * part of the spec) keeps an index:
 *	"msg"	queue id -> metadata record (queue, path, next attempt,
 *		arrival, size, inode, mode flags, sender, recipients still
 *		to do, per destination domain)
 *	"due"	big-endian next-attempt time + queue id -> "" (deferred
 *		messages only): the deferred scan is a cursor over the keys
 *		that are due, O(due) instead of O(all)
 *	"dir"	"<directory>:<queue id>" -> "": the index entries of one
 *		directory, for reconciling that directory
 *	"meta"	"format" (format version, queue layout), "stamp:<dir>"
 *		(the directory's inode, mtime and ctime as last reconciled)
 *
 * THE INDEX IS A CACHE OF THE SPOOL'S TRUTH.  Every call first does the
 * file operation exactly as the spool backend does, then updates the index
 * in one write transaction (one per store call, never one per recipient).
 * Whatever happens behind the index's back is found again:
 *	- a directory whose stamp (inode, mtime, ctime) differs from the one
 *	  stored is listed again and merged with its index entries (files that
 *	  appeared are indexed, entries whose file vanished are looked for in
 *	  the other queues or dropped, files whose mtime, inode or size changed
 *	  are read again).  Stamps are checked at every deferred scan, at every
 *	  counts call and at recovery: one stat() per queue directory.  The
 *	  backend's own moves update the stamps of the directories they touch
 *	  in the same transaction as the index, but only when the stamp seen
 *	  just before the move was the stored one (otherwise something else
 *	  changed the directory too, and it is merged at the next check).
 *	- a scan checks each due candidate with one lstat() before returning
 *	  it (a vanished file is looked for elsewhere or dropped; a file whose
 *	  mtime differs is re-keyed); a claim of a vanished file fixes the
 *	  index and says STORE_GONE.
 *	- a slow background sweep, at every deferred scan, reads a bounded
 *	  number of names from deferred/, hold/, corrupt/ (looking up each, an
 *	  lstat() only for names the index does not know) and checks a bounded
 *	  number of index entries with lstat(), continuing where the previous
 *	  call stopped; it catches what the stamps cannot see (a file touched
 *	  in place, a foreign move in the same instant as one of ours).
 *	- a crash between a file operation and its index update leaves a
 *	  directory whose stamp no longer matches: recovery merges it.
 *	- an index that is missing, of another format version or queue
 *	  layout, or that LMDB reports damaged, is rebuilt from the
 *	  directories (logged).
 *
 * INTERFACE (files of this backend)
 *	lmdb_env.c	one MDB_env per environment directory and process,
 *			shared by the store handles of that process and reopened
 *			after fork(); directory and file modes and owner; damage
 *			detection and reset; write transactions with map growth
 *			on MDB_MAP_FULL and retry
 *	lmdb_record.c	the metadata record and the keys, byte for byte
 *	lmdb_parse.c	a queue file read into a record (qfile.h)
 *	lmdb_batch.c	index changes collected in memory and applied in
 *			one write transaction (replayable after a map growth)
 *	lmdb_reconcile.c  directory stamps, merging a directory with its
 *			entries, relocation of vanished files, rebuild, sweep
 *	lmdb_scan.c	incoming (directory walk) and deferred (due cursor)
 *scans lmdb_store.c	open, close, recovery, ingest, claim, checkin
 *	lmdb_admin.c	hold, release, delete, requeue, list, counts, export,
 *			import
 *
 * TEST HOOKS
 *	lmdb_store_counters(store)	work counters (below): lstat() of
 *				message files, stat() of directories, names read
 *				from directories, files parsed, commits, map
 *				growths, rebuilds, repairs.  Timing-free
 *evidence of what a call touched. lmdb_store_set_sweep(store, names, entries)
 *				budget of the background sweep per call (default
 *				LMDB_SWEEP_NAMES, LMDB_SWEEP_ENTRIES; 0
 *disables) lmdb_store_set_initial_mapsize(bytes) map size of environments
 *opened from now on (default LMDB_INITIAL_MAPSIZE); the map grows on demand
 *whatever this is
 *
 * CAVEATS
 *	- One MDB_env per environment file per process: all store handles of
 *	  a process that name the same directory share one environment (by
 *	  device and inode).  After fork() the child never touches the
 *	  parent's environment: the first call in the child opens its own.
 *	  Do not open the directory with other LMDB programs in the same
 *	  process; other processes (mdb_stat, pqctl) are fine.
 *	- Transactions never outlive a store call, so scans that stay open
 *	  between calls do not pin old pages, and mdb_env_set_mapsize() is only
 *	  called with no transaction open in this process.
 *	- The environment directory is made 0700 and data.mdb/lock.mdb 0600
 *	  (with the umask applied), owned by env->owner_uid/gid when set, else
 *	  by the owner of the queue's deferred/ directory when running as root.
 *	  Everything that opens the store must run as that user (pqmgr runs as
 *	  $mail_owner), because LMDB readers write to the lock file.
 *	- With a chroot'ed pqmgr (master.cf chroot = y) an absolute directory
 *	  is looked up inside the chroot; a relative name is relative to the
 *	  queue directory, which works both ways.
 *	- LMDB does not checksum its pages: damage that leaves the meta pages
 *	  valid may go unnoticed or crash the reader.  The index holds nothing
 *	  that is not in the spool: removing the directory is always safe
 *	  (the index is rebuilt at the next open).
 *	- Each commit costs one fdatasync() (MDB_NOMETASYNC: a system crash
 *	  may undo the last commit, which recovery repairs like a crash before
 *	  the commit).  A delivery attempt is two commits (claim, checkin) that
 *	  the spool backend does not make.
 *	- Do not put the directory on NFS (LMDB's locking and mmap need a
 *	  local file system).  One index directory per queue directory (the
 *	  format entry names the queue; another queue means a rebuild).
 *	- A message that moves behind the index's back is noticed at the next
 *	  stamp check (deferred scan), so a message released with
 *	  postsuper -H is scanned with the next deferred scan, as with Postfix.
 *	  A file whose mtime is changed in place (touch) without any directory
 *	  change is re-keyed when its old time comes, or by the sweep.
 */
#ifndef PQ_LMDB_STORE_H
#define PQ_LMDB_STORE_H

#include <lmdb.h>
#include <stdint.h>
#include <sys/stat.h>

#include "spool/spool.h"
#include "store_backend.h"
#include "strbuf.h"

#define LMDB_FORMAT_VERSION  1
#define LMDB_INITIAL_MAPSIZE (64UL << 20)
#define LMDB_SWEEP_NAMES     1000
#define LMDB_SWEEP_ENTRIES   100
#define LMDB_BATCH_LIMIT     4000 /* changes per transaction in big merges */
#define LMDB_PATH_MAX        (STORE_ID_MAX + 64)

/* The queues whose messages are in the index. */
#define LMDB_INDEXED                                                           \
    (STORE_Q_INCOMING | STORE_Q_ACTIVE | STORE_Q_DEFERRED | STORE_Q_HOLD |     \
     STORE_Q_CORRUPT)

typedef struct LMDB_COUNTERS {
    unsigned long file_lstats;  /* lstat() of message files */
    unsigned long dir_stats;    /* stat() of queue directories */
    unsigned long dir_reads;    /* directories listed */
    unsigned long names_read;   /* names those listings returned */
    unsigned long files_parsed; /* queue files read to index them */
    unsigned long commits;      /* write transactions committed */
    unsigned long map_growths;  /* mdb_env_set_mapsize() after MAP_FULL */
    unsigned long rebuilds;     /* whole index rebuilt */
    unsigned long repairs;      /* entries fixed behind the index's back */
} LMDB_COUNTERS;

/* One environment, shared by the store handles of one process. */
typedef struct LMDB_ENV {
    char *dir;
    dev_t dev;
    ino_t ino;
    pid_t pid; /* the process that opened it */
    int refs;
    MDB_env *env;
    MDB_dbi msg, due, dir_db, meta;
    size_t mapsize;
    LMDB_COUNTERS *counters; /* of the handle using it right now */
    struct LMDB_ENV *next;
} LMDB_ENV;

/* A destination domain of a message and its recipients still to do. */
typedef struct LMDB_DOMAIN {
    char *name;
    uint32_t rcpts;
} LMDB_DOMAIN;

/* One message in the index. */
typedef struct LMDB_REC {
    char id[STORE_ID_MAX];
    int queue;                   /* STORE_Q_* */
    char relpath[LMDB_PATH_MAX]; /* "deferred/A/<id>", from the queue dir */
    int flags;                   /* STORE_MSG_* from the mode */
    int64_t next_attempt;        /* the file's mtime */
    int64_t arrival;
    int64_t size; /* content size, as postqueue shows it */
    uint64_t ino;
    int64_t file_size;
    char *sender;
    uint32_t rcpt_count; /* recipients still to do */
    LMDB_DOMAIN *domains;
    size_t domain_count;
} LMDB_REC;

/* A directory stamp. */
typedef struct LMDB_STAMP {
    uint64_t ino;
    int64_t mtime_sec, mtime_nsec;
    int64_t ctime_sec, ctime_nsec;
    int dirty; /* held a file that was not ready: look again */
} LMDB_STAMP;

/* Index changes collected in memory (lmdb_batch.c). */
typedef struct LMDB_CHANGE LMDB_CHANGE;
typedef struct LMDB_BATCH {
    LMDB_CHANGE *changes;
    size_t count;
    size_t alloc;
} LMDB_BATCH;

/* Own-move tracking: a directory's stamp just before the move. */
typedef struct LMDB_TRACK {
    char reldir[LMDB_PATH_MAX];
    LMDB_STAMP before;
    int exists;
} LMDB_TRACK;

/* The dir-side sweep walks these queues in turn. */
typedef struct LMDB_SWEEP {
    SPOOL_WALK *walk;
    int queue;                  /* STORE_Q_* being walked, 0 before the first */
    char last_id[STORE_ID_MAX]; /* index entries: go on after this id */
} LMDB_SWEEP;

typedef struct LMDB_STORE {
    STORE store;      /* must be first */
    STORE *spool;     /* does every file operation */
    SPOOL_STORE *sp;  /* the same, for the path helpers */
    LMDB_ENV *env;    /* NULL after a failed reopen */
    char *dir;        /* environment directory */
    STRBUF *path;     /* scratch */
    STRBUF *path2;    /* scratch */
    int need_rebuild; /* LMDB said damaged: rebuild at the next call */
    int sweep_names;  /* budgets of the background sweep */
    int sweep_entries;
    LMDB_SWEEP sweep;
    LMDB_COUNTERS counters;
} LMDB_STORE;

/* lmdb_env.c */
LMDB_ENV *lmdb_env_acquire(const char *dir, const STORE_ENV *senv, STRBUF *why);
void lmdb_env_release(LMDB_ENV *env);
void lmdb_env_owner(const STORE_ENV *senv, long *uid, long *gid);
int lmdb_env_reset(LMDB_ENV *env, const STORE_ENV *senv, STRBUF *why);
int lmdb_env_is_damage(int rc);
typedef int (*LMDB_APPLY_FN)(LMDB_ENV *env, MDB_txn *txn, void *context);
int lmdb_env_write(LMDB_ENV *env, LMDB_APPLY_FN apply, void *context,
                   const char *fault_step);
int lmdb_env_read(LMDB_ENV *env, MDB_txn **txn);
void lmdb_set_initial_mapsize(size_t bytes);

/* lmdb_record.c */
void lmdb_rec_init(LMDB_REC *rec);
void lmdb_rec_free(LMDB_REC *rec);
void lmdb_rec_copy(LMDB_REC *to, const LMDB_REC *from);
void lmdb_rec_encode(const LMDB_REC *rec, STRBUF *out);
int lmdb_rec_decode(const void *data, size_t len, const char *id,
                    LMDB_REC *rec);
size_t lmdb_due_key(unsigned char *buf, int64_t when, const char *id);
int lmdb_due_key_split(const void *key, size_t len, int64_t *when, char *id,
                       size_t id_len);
void lmdb_dir_key(STRBUF *out, const char *relpath);
void lmdb_stamp_encode(const LMDB_STAMP *stamp, unsigned char buf[41]);
int lmdb_stamp_decode(const void *data, size_t len, LMDB_STAMP *stamp);
void lmdb_stamp_from_stat(const struct stat *st, LMDB_STAMP *stamp);
int lmdb_stamp_same(const LMDB_STAMP *a, const LMDB_STAMP *b);
int lmdb_rec_get(LMDB_ENV *env, MDB_txn *txn, const char *id, LMDB_REC *rec);

/* lmdb_parse.c */
void lmdb_parse_file(LMDB_STORE *lm, const char *path, LMDB_REC *rec);
void lmdb_count_domains(const char *const *addresses, size_t n, LMDB_REC *rec);
int lmdb_rec_from_file(LMDB_STORE *lm, int queue, const char *id,
                       const LMDB_REC *old, LMDB_REC *rec);
void lmdb_relpath(LMDB_STORE *lm, int queue, const char *id, char *buf,
                  size_t len);
int lmdb_lstat(LMDB_STORE *lm, const char *relpath, struct stat *st);
int lmdb_same_file(const LMDB_REC *rec, const struct stat *st);
int lmdb_index_seen(LMDB_STORE *lm, MDB_txn *txn, LMDB_BATCH *batch, int queue,
                    const char *id, const char *entry, const struct stat *st);

/* lmdb_batch.c */
void lmdb_batch_init(LMDB_BATCH *batch);
void lmdb_batch_free(LMDB_BATCH *batch);
void lmdb_batch_put(LMDB_BATCH *batch, const LMDB_REC *rec);
void lmdb_batch_del(LMDB_BATCH *batch, const char *id);
#define LMDB_DB_DUE 1
#define LMDB_DB_DIR 2
void lmdb_batch_del_key(LMDB_BATCH *batch, int db, const void *key, size_t len);
void lmdb_batch_stamp(LMDB_BATCH *batch, const char *reldir,
                      const LMDB_STAMP *stamp);
void lmdb_batch_unstamp(LMDB_BATCH *batch, const char *reldir);
void lmdb_batch_stamp_if(LMDB_BATCH *batch, const char *reldir,
                         const LMDB_STAMP *before, int before_exists,
                         const LMDB_STAMP *after);
void lmdb_batch_meta(LMDB_BATCH *batch, const char *key, const void *value,
                     size_t len);
void lmdb_batch_drop_all(LMDB_BATCH *batch);
STORE_STATUS lmdb_batch_commit(LMDB_STORE *lm, LMDB_BATCH *batch,
                               const char *fault_step);
STORE_STATUS lmdb_batch_flush_if_full(LMDB_STORE *lm, LMDB_BATCH *batch);

/* lmdb_reconcile.c */
STORE_STATUS lmdb_reconcile(LMDB_STORE *lm, int queues, int sweep);
STORE_STATUS lmdb_rebuild(LMDB_STORE *lm, const char *why);
STORE_STATUS lmdb_check_format(LMDB_STORE *lm);
void lmdb_relocate(LMDB_STORE *lm, LMDB_BATCH *batch, const LMDB_REC *old,
                   const char *id);
void lmdb_track_begin(LMDB_STORE *lm, LMDB_TRACK *track, int queue,
                      const char *id);
void lmdb_track_end(LMDB_STORE *lm, LMDB_TRACK *track, LMDB_BATCH *batch);
void lmdb_sweep_close(LMDB_SWEEP *sweep);

/* lmdb_scan.c */
STORE_SCAN *lmdb_scan_open(STORE *store, int queue, int flags);
STORE_STATUS lmdb_scan_next(STORE_SCAN *scan, STORE_CAND *cand, int max,
                            int *count);
void lmdb_scan_close(STORE_SCAN *scan);

/* lmdb_store.c */
STORE_STATUS lmdb_ready(LMDB_STORE *lm);
STORE_STATUS lmdb_fail(LMDB_STORE *lm, int rc, const char *what);
STORE_STATUS lmdb_copy_error(LMDB_STORE *lm, STORE_STATUS status);
int lmdb_lookup(LMDB_STORE *lm, const char *id, LMDB_REC *rec);

/* lmdb_admin.c */
STORE_STATUS lmdb_list(STORE *store, int queues, STORE_LIST_FN callback,
                       void *context);
STORE_STATUS lmdb_hold(STORE *store, const char *id);
STORE_STATUS lmdb_release(STORE *store, const char *id);
STORE_STATUS lmdb_delete(STORE *store, const char *id);
STORE_STATUS lmdb_requeue(STORE *store, const char *id);
STORE_STATUS lmdb_counts(STORE *store, STORE_COUNTS *counts);
STORE_STATUS lmdb_export(STORE *store, const char *id, STORE_EXPORT **msg);
STORE_STATUS lmdb_import(STORE *store, const STORE_EXPORT *msg, char *new_id,
                         size_t new_id_len);

/* Test hooks. */
const LMDB_COUNTERS *lmdb_store_counters(const STORE *store);
void lmdb_store_set_sweep(STORE *store, int names, int entries);
void lmdb_store_set_initial_mapsize(size_t bytes);

#endif
