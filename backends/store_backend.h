/*
 * store_backend - what a queue store backend implements (see store.h).
 *
 * A backend is a folder under backends/ that provides one STORE_OPS table
 * and an open function.  Its own handle embeds STORE as the first member;
 * store_alloc() makes it and fills in the common part.  The functions of
 * STORE_OPS have the contracts documented in store.h; they are called only
 * through store.c, which times and counts them.  A backend reports a
 * failure by returning a status and setting a message with store_set_error().
 *
 * Durable steps: right before each step that changes what a crash would
 * leave behind (a rename, an unlink, a utime, an fsync, a commit), a backend
 * calls store_fault_point("backend:operation:step") so that the conformance
 * suite can simulate a crash there (see store_fault.h).
 */
#ifndef PQ_STORE_BACKEND_H
#define PQ_STORE_BACKEND_H

#include "store.h"
#include "store_fault.h"
#include "strbuf.h"

typedef struct STORE_OPS {
    const char *type;
    int caps;
    void (*close)(STORE *store);
    STORE_STATUS (*recover)(STORE *store);
    STORE_STATUS (*ingest)(STORE *store, int max, int *count);
    STORE_SCAN *(*scan_open)(STORE *store, int queue, int flags);
    STORE_STATUS(*scan_next)
    (STORE_SCAN *scan, STORE_CAND *cand, int max, int *count);
    void (*scan_close)(STORE_SCAN *scan);
    STORE_STATUS(*claim)
    (STORE *store, const STORE_CAND *cand, STORE_CLAIM **claim);
    STORE_STATUS (*renew)(STORE *store, STORE_LEASE *leases, int count);
    STORE_STATUS(*checkin)
    (STORE *store, STORE_CLAIM *claim, const STORE_OUTCOME *outcome);
    STORE_STATUS(*list)
    (STORE *store, int queues, STORE_LIST_FN callback, void *context);
    STORE_STATUS (*hold)(STORE *store, const char *id);
    STORE_STATUS (*release)(STORE *store, const char *id);
    STORE_STATUS (*delete_msg)(STORE *store, const char *id);
    STORE_STATUS (*requeue)(STORE *store, const char *id);
    STORE_STATUS (*counts)(STORE *store, STORE_COUNTS *counts);
    STORE_STATUS(*export_msg)
    (STORE *store, const char *id, STORE_EXPORT **msg);
    STORE_STATUS(*import_msg)
    (STORE *store, const STORE_EXPORT *msg, char *new_id, size_t new_id_len);
} STORE_OPS;

/* The common part of every store handle. */
struct STORE {
    const STORE_OPS *ops;
    STORE_ENV env; /* private copies of the strings */
    STRBUF *error;
    STORE_OP_STATS stats[STORE_OP_COUNT];
};

/* The common part of every scan handle. */
struct STORE_SCAN {
    STORE *store;
    int queue;
    int flags;
};

/* Backend open functions: name is the part after "type:" (may be ""). */
typedef STORE *(*STORE_OPEN_FN)(const char *name, const STORE_ENV *env,
                                STORE_STATUS *status, STRBUF *why);

STORE *store_alloc(const STORE_OPS *ops, size_t size, const STORE_ENV *env);
void store_free_common(STORE *store);
STORE_STATUS store_set_error(STORE *store, STORE_STATUS status, const char *fmt,
                             ...) __attribute__((format(printf, 3, 4)));

/* Registered backends. */
STORE *spool_store_open(const char *name, const STORE_ENV *env,
                        STORE_STATUS *status, STRBUF *why);
STORE *lmdb_store_open(const char *name, const STORE_ENV *env,
                       STORE_STATUS *status, STRBUF *why);

#endif
