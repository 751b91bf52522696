/*
 * store - open a queue store by "type:name" and dispatch to its backend,
 * timing and counting every operation once, above all backends (store.h).
 */
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "store_backend.h"
#include "xalloc.h"

static const struct {
    const char *type;
    STORE_OPEN_FN open;
} store_types[] = {
    {"spool", spool_store_open},
    {"lmdb", lmdb_store_open},
};

static STRBUF *open_error;

static const char *const op_names[STORE_OP_COUNT] = {
    "recover", "ingest", "scan",   "claim",  "renew",  "checkin",
    "list",    "admin",  "counts", "export", "import",
};

static const char *const queue_names[] = {
    "incoming", "active", "deferred", "hold", "corrupt", "maildrop",
};

/* Timing of one call. */

static double
now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static STORE_STATUS
account(STORE *store, STORE_OP op, double started, STORE_STATUS status)
{
    STORE_OP_STATS *st = &store->stats[op];
    double spent = now_seconds() - started;

    st->calls++;
    st->seconds += spent;
    if (spent > st->max_seconds)
        st->max_seconds = spent;
    if (status != STORE_OK && status != STORE_GONE)
        st->failures++;
    return status;
}

/* Opening and closing. */

STORE *
store_open(const char *spec, const STORE_ENV *env, STORE_STATUS *status)
{
    const char *colon = strchr(spec, ':');
    size_t type_len = colon ? (size_t) (colon - spec) : strlen(spec);
    const char *name = colon ? colon + 1 : "";

    if (open_error == NULL)
        open_error = strbuf_alloc(100);
    strbuf_reset(open_error);
    for (size_t i = 0; i < sizeof(store_types) / sizeof(store_types[0]); i++) {
        if (strlen(store_types[i].type) == type_len &&
            strncmp(store_types[i].type, spec, type_len) == 0) {
            *status = STORE_OK;
            return store_types[i].open(name, env, status, open_error);
        }
    }
    strbuf_addf(open_error, "unsupported queue store type: \"%.*s\"",
                (int) type_len, spec);
    *status = STORE_INVALID;
    return NULL;
}

const char *
store_open_error(void)
{
    return open_error ? strbuf_str(open_error) : "";
}

static char *
copy_or_null(const char *str)
{
    return str ? xstrdup(str) : NULL;
}

STORE *
store_alloc(const STORE_OPS *ops, size_t size, const STORE_ENV *env)
{
    STORE *store = xcalloc(1, size);

    store->ops = ops;
    store->env = *env;
    store->env.queue_dir = copy_or_null(env->queue_dir);
    store->env.hash_queues = copy_or_null(env->hash_queues);
    store->env.node_name = copy_or_null(env->node_name);
    store->env.config_dir = copy_or_null(env->config_dir);
    store->error = strbuf_alloc(100);
    return store;
}

void
store_free_common(STORE *store)
{
    xfree((char *) store->env.queue_dir);
    xfree((char *) store->env.hash_queues);
    xfree((char *) store->env.node_name);
    xfree((char *) store->env.config_dir);
    strbuf_free(store->error);
    xfree(store);
}

void
store_close(STORE *store)
{
    if (store)
        store->ops->close(store);
}

const char *
store_type(const STORE *store)
{
    return store->ops->type;
}

int
store_caps(const STORE *store)
{
    return store->ops->caps;
}

const char *
store_error(const STORE *store)
{
    return strbuf_str(store->error);
}

STORE_STATUS
store_set_error(STORE *store, STORE_STATUS status, const char *fmt, ...)
{
    va_list ap;

    strbuf_reset(store->error);
    va_start(ap, fmt);
    strbuf_vaddf(store->error, fmt, ap);
    va_end(ap);
    return status;
}

const char *
store_status_name(STORE_STATUS status)
{
    static const char *const names[] = {
        "ok",      "retry later", "message gone",   "store unavailable",
        "corrupt", "lease lost",  "already exists", "invalid request",
    };

    if ((unsigned) status < sizeof(names) / sizeof(names[0]))
        return names[status];
    return "unknown status";
}

/* Dispatch with accounting. */

STORE_STATUS
store_recover(STORE *store)
{
    double t = now_seconds();

    return account(store, STORE_OP_RECOVER, t, store->ops->recover(store));
}

STORE_STATUS
store_ingest(STORE *store, int max, int *count)
{
    double t = now_seconds();

    *count = 0;
    return account(store, STORE_OP_INGEST, t,
                   store->ops->ingest(store, max, count));
}

STORE_SCAN *
store_scan_open(STORE *store, int queue, int flags)
{
    double t = now_seconds();
    STORE_SCAN *scan = store->ops->scan_open(store, queue, flags);

    account(store, STORE_OP_SCAN, t, scan ? STORE_OK : STORE_UNAVAIL);
    return scan;
}

STORE_STATUS
store_scan_next(STORE_SCAN *scan, STORE_CAND *cand, int max, int *count)
{
    double t = now_seconds();

    *count = 0;
    return account(scan->store, STORE_OP_SCAN, t,
                   scan->store->ops->scan_next(scan, cand, max, count));
}

void
store_scan_add_flags(STORE_SCAN *scan, int flags)
{
    scan->flags |= flags;
}

void
store_scan_close(STORE_SCAN *scan)
{
    if (scan)
        scan->store->ops->scan_close(scan);
}

STORE_STATUS
store_claim(STORE *store, const STORE_CAND *cand, STORE_CLAIM **claim)
{
    double t = now_seconds();

    *claim = NULL;
    return account(store, STORE_OP_CLAIM, t,
                   store->ops->claim(store, cand, claim));
}

STORE_STATUS
store_renew(STORE *store, STORE_LEASE *leases, int count)
{
    double t = now_seconds();

    return account(store, STORE_OP_RENEW, t,
                   store->ops->renew(store, leases, count));
}

STORE_STATUS
store_checkin(STORE *store, STORE_CLAIM *claim, const STORE_OUTCOME *outcome)
{
    double t = now_seconds();

    return account(store, STORE_OP_CHECKIN, t,
                   store->ops->checkin(store, claim, outcome));
}

void
store_claim_free(STORE_CLAIM *claim)
{
    if (claim == NULL)
        return;
    if (claim->free_data)
        claim->free_data(claim->backend_data);
    xfree(claim->path);
    xfree(claim);
}

STORE_STATUS
store_list(STORE *store, int queues, STORE_LIST_FN callback, void *context)
{
    double t = now_seconds();

    return account(store, STORE_OP_LIST, t,
                   store->ops->list(store, queues, callback, context));
}

STORE_STATUS
store_hold(STORE *store, const char *id)
{
    double t = now_seconds();

    return account(store, STORE_OP_ADMIN, t, store->ops->hold(store, id));
}

STORE_STATUS
store_release(STORE *store, const char *id)
{
    double t = now_seconds();

    return account(store, STORE_OP_ADMIN, t, store->ops->release(store, id));
}

STORE_STATUS
store_delete(STORE *store, const char *id)
{
    double t = now_seconds();

    return account(store, STORE_OP_ADMIN, t, store->ops->delete_msg(store, id));
}

STORE_STATUS
store_requeue(STORE *store, const char *id)
{
    double t = now_seconds();

    return account(store, STORE_OP_ADMIN, t, store->ops->requeue(store, id));
}

STORE_STATUS
store_counts(STORE *store, STORE_COUNTS *counts)
{
    double t = now_seconds();

    memset(counts, 0, sizeof(*counts));
    return account(store, STORE_OP_COUNTS, t,
                   store->ops->counts(store, counts));
}

void
store_counts_free(STORE_COUNTS *counts)
{
    for (size_t i = 0; i < counts->dest_count; i++)
        xfree(counts->dests[i].domain);
    xfree(counts->dests);
    counts->dests = NULL;
    counts->dest_count = 0;
}

STORE_STATUS
store_export(STORE *store, const char *id, STORE_EXPORT **msg)
{
    double t = now_seconds();

    *msg = NULL;
    return account(store, STORE_OP_EXPORT, t,
                   store->ops->export_msg(store, id, msg));
}

STORE_STATUS
store_import(STORE *store, const STORE_EXPORT *msg, char *new_id,
             size_t new_id_len)
{
    double t = now_seconds();

    return account(store, STORE_OP_IMPORT, t,
                   store->ops->import_msg(store, msg, new_id, new_id_len));
}

void
store_export_free(STORE_EXPORT *msg)
{
    if (msg == NULL)
        return;
    xfree(msg->file);
    for (int i = 0; i < 3; i++)
        xfree(msg->logs[i]);
    xfree(msg);
}

/* Accounting and names. */

const STORE_OP_STATS *
store_stats(const STORE *store)
{
    return store->stats;
}

const char *
store_op_name(STORE_OP op)
{
    return (unsigned) op < STORE_OP_COUNT ? op_names[op] : "unknown";
}

int
store_queue_index(int queue)
{
    for (int i = 0; i < 6; i++)
        if (queue == (1 << i))
            return i;
    return -1;
}

const char *
store_queue_name(int queue)
{
    int index = store_queue_index(queue);

    return index < 0 ? "unknown" : queue_names[index];
}

int
store_queue_bit(const char *name)
{
    for (int i = 0; i < 6; i++)
        if (strcmp(name, queue_names[i]) == 0)
            return 1 << i;
    return 0;
}
