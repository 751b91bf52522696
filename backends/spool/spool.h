/*
 * spool - internal interface of the classic spool backend.
 *
 * The spool backend keeps queue state exactly where and how Postfix keeps
 * it: one file per message in incoming/, active/, deferred/, hold/,
 * corrupt/ (and maildrop/ for requeued mail), hashed subdirectories for the
 * queues in $hash_queue_names, the next-attempt time in the file's mtime,
 * the "ready" state in the owner permission bits, and the per-message
 * requests in the group bits.  See store.h for the operations.
 *
 *	spool_path(sp, queue, id, buf)	"<queue_dir>/<queue>/<hash>/<id>"
 *	spool_rename(sp, from, to, id)	move a message (or log) between
 *					directories, creating missing hash
 *					subdirectories; -1 + errno on failure
 *	spool_make_dir(env, path)	mkdir 0700 (EEXIST is fine), owned by
 *					env->owner_uid/gid when those are set
 *	spool_make_parents(sp, path)	spool_make_dir() for every directory
 *					on the way to path
 *	spool_locate(sp, id, mask, ready)  which queue of mask holds a regular
 *					file named id, or 0; with ready set,
 *					only a ready file (mode 0700; any mode
 *					in corrupt/) counts
 *	spool_walk_open/next/close	readdir-order walk of one directory,
 *					depth first into one-character
 *					subdirectories; returns every other
 *					name (walk->entry is its path), with
 *					lstat() results when st is not NULL
 */
#ifndef PQ_SPOOL_H
#define PQ_SPOOL_H

#include <dirent.h>
#include <sys/stat.h>

#include "store_backend.h"
#include "strbuf.h"

typedef struct SPOOL_STORE {
    STORE store;    /* must be first */
    STRBUF *path_a; /* scratch paths */
    STRBUF *path_b;
} SPOOL_STORE;

#define SPOOL_WALK_DEPTH 8

typedef struct SPOOL_WALK {
    STRBUF *dir;   /* path of the directory being read */
    STRBUF *entry; /* path of the last name returned */
    DIR *stack[SPOOL_WALK_DEPTH];
    size_t dir_len[SPOOL_WALK_DEPTH];
    int depth; /* -1: finished */
} SPOOL_WALK;

/* Message queues by name (log queues are "defer", "bounce", "trace"). */
void spool_path(SPOOL_STORE *sp, const char *queue, const char *id,
                STRBUF *buf);
int spool_rename(SPOOL_STORE *sp, const char *from, const char *to,
                 const char *id);
int spool_make_dir(const STORE_ENV *env, const char *path);
int spool_make_parents(SPOOL_STORE *sp, const char *path);
int spool_locate(SPOOL_STORE *sp, const char *id, int mask, int ready_only);
int spool_is_hashed(SPOOL_STORE *sp, const char *queue);

SPOOL_WALK *spool_walk_open(SPOOL_STORE *sp, const char *queue);
const char *spool_walk_next(SPOOL_WALK *walk, struct stat *st);
void spool_walk_close(SPOOL_WALK *walk);

/* Operations implemented in other files of this backend. */
STORE_STATUS spool_list(STORE *store, int queues, STORE_LIST_FN callback,
                        void *context);
STORE_STATUS spool_hold(STORE *store, const char *id);
STORE_STATUS spool_release(STORE *store, const char *id);
STORE_STATUS spool_delete(STORE *store, const char *id);
STORE_STATUS spool_requeue(STORE *store, const char *id);
STORE_STATUS spool_counts(STORE *store, STORE_COUNTS *counts);
STORE_STATUS spool_export(STORE *store, const char *id, STORE_EXPORT **msg);
STORE_STATUS spool_import(STORE *store, const STORE_EXPORT *msg, char *new_id,
                          size_t new_id_len);

/* Helpers shared by those files. */
int spool_file_ready(const struct stat *st);
int spool_mode_flags(const struct stat *st);
int spool_set_times(const char *path, time_t when);
int spool_remove_logs(SPOOL_STORE *sp, const char *id, const char *step);

#endif
