/*
 * store - the queue store API: where pqmgr's queue state lives.
 *
 * The scheduler reads and changes queue state only through this interface,
 * so that the classic spool, LMDB, PostgreSQL and Redis are interchangeable.
 * A store is opened from the pqmgr_queue_store parameter in Postfix's own
 * "type:name" form ("spool", "lmdb:/var/lib/postfix/pqmgr",
 * "pgsql:/etc/postfix/pqmgr-pgsql.cf", "redis:/etc/postfix/pqmgr-redis.cf"),
 * as Postfix opens its lookup tables: a base structure of function pointers
 * (STORE_OPS) per backend, and a registry of types.
 *
 * THE ONE IDEA.  A message that is being delivered is always an ordinary
 * Postfix queue file in the local active/ directory, because delivery agents
 * open and rewrite it themselves.  A store's job is everything outside the
 * active set: new mail (incoming), deferred mail, held mail, corrupt mail,
 * and the per-message defer/bounce/trace logs while the message is not
 * active.
 *
 * Every call returns a STORE_STATUS; STORE_OK is 0.  On any other status
 * store_error(store) describes the failure in one line fit for a log.
 * The scheduler acts on the status:
 *	STORE_RETRY	temporary trouble (a lock, a transaction conflict):
 *			try the same call later.
 *	STORE_GONE	the message is not (or no longer) where the call
 *			expected it: someone else removed, held or moved it.
 *			Forget it; nothing to undo.
 *	STORE_UNAVAIL	the store cannot be reached (database down,
 *			timeout).  Keep delivering what is already active;
 *			retry the store later.  Never fatal.
 *	STORE_CORRUPT	the message's data is damaged; the call has already
 *			moved it aside (to corrupt/) where that is possible.
 *	STORE_FENCED	a shared store refused a checkin or renewal because
 *			this host no longer holds the lease (owner or epoch
 *			mismatch).  Drop the local copy; another host owns
 *			the message now.
 *	STORE_EXISTS	import: the queue id is taken by a different message
 *			(see store_import for how collisions are resolved).
 *	STORE_INVALID	the caller passed something impossible (a bad queue
 *			id, an unknown queue name).
 *
 * OPENING
 *	STORE *store_open(const char *spec, const STORE_ENV *env,
 *			  STORE_STATUS *status)
 *		spec is "type" or "type:name".  env carries what every backend
 *		needs from main.cf (queue directory, hashing, node name, lease
 *		time, timeouts).  Returns NULL with *status and a message in
 *		store_open_error() when the type is unknown or the name is
 *		not one the backend accepts (STORE_INVALID), or when the
 *		backend cannot start: queue directory missing, database
 *		unreachable (STORE_UNAVAIL).  The store does NOT chdir; all
 *		paths are relative to env->queue_dir.
 *	void store_close(STORE *)
 *	const char *store_type(STORE *)	"spool", "lmdb", ...
 *	int store_caps(STORE *)		STORE_CAP_* bits below.
 *
 * RECOVERY (once at start-up, before any scan)
 *	store_recover(store)
 *		Put back what a crash left half-done.  All backends: every
 *		file left in local active/ goes back to the store as new mail
 *		with next attempt "now" (exactly as Postfix's qmgr moves
 *		active/ to incoming/ at start-up); a backend's own half-done
 *		steps are repaired (an index entry without a file, a
 *		temporary file never renamed, a lease held by this node from a
 *		previous life, status logs left without their message by a
 *		delete, removal or import that was cut short).
 *
 * INGEST
 *	store_ingest(store, max, &count)
 *		Take over up to max files that cleanup(8) left ready (mode
 *		0700) in local incoming/.  spool: nothing to do, they are
 *		already in the store.  lmdb: index them.  pgsql, redis: import
 *		each in one transaction, then unlink the local file.  *count
 *		tells how many were taken.  A file that is not ready (mode
 *		0600, still being written) is left alone.
 *
 * SCAN
 *	STORE_SCAN *store_scan_open(store, queue, flags)
 *		Start a walk over STORE_Q_INCOMING or STORE_Q_DEFERRED (NULL,
 *		with store_error(), for another queue or when the store is
 *		unavailable).  flags: STORE_SCAN_ALL ignores next-attempt
 *		times (the A trigger).
 *		A walk sees a consistent-enough snapshot: messages added
 *		during the walk may or may not be returned, as with readdir.
 *	store_scan_next(scan, cand, max, &count)
 *		Fill cand[0..max) with messages that are due (next attempt <=
 *		now + 1, or all with STORE_SCAN_ALL) and ready.  count 0 means
 *		the walk is finished.  Order: spool and lmdb return the
 *		directory order Postfix's scan would see (readdir, one-char
 *		subdirectories depth first); lmdb's deferred walk returns
 *		due-time order; shared stores return due-time order.
 *	store_scan_add_flags(scan, flags)
 *		Add STORE_SCAN_* modifiers to a walk in progress (an A trigger
 *		that arrives during a scan applies to the rest of it).
 *	store_scan_close(scan)
 *
 * CLAIM
 *	store_claim(store, cand, &claim)
 *		Make a scanned candidate active: afterwards the file exists as
 *		local active/<id> (claim->path) and the store remembers that
 *		this node holds it.  spool, lmdb: rename into active/.
 *		pgsql, redis: take a lease (owner = node name, epoch + 1,
 *		expiry = now + lease time) and write the queue file, with
 *		recipients already done marked done, plus its defer/bounce/
 *		trace logs into local active/, defer/, bounce/, trace/.
 *		claim->flags reports the per-message requests carried by the
 *		file mode on the spool: STORE_MSG_UNTHROTTLE (group-read bit,
 *		"postqueue -i") and STORE_MSG_EXPIRE (group-execute bit,
 *		"postsuper -e").  STORE_GONE when the candidate vanished.
 *	store_renew(store, leases, count)
 *		Extend the expiry of leases this node holds, in one call.
 *		Leases that were lost come back with lease.epoch = 0 (the
 *		caller must stop using those messages).  spool and lmdb: a
 *		no-op.
 *
 * CHECKIN
 *	store_checkin(store, claim, outcome)
 *		Record the outcome of an activation.  The recipients done are
 *		read back from the done marks in the local active file.
 *		outcome->action:
 *		STORE_REMOVE	  all recipients done: delete the message and
 *				  its logs (or save it with dont_remove).
 *		STORE_DEFER	  some recipient deferred: next attempt at
 *				  outcome->next_attempt.
 *		STORE_BACK	  return unprocessed to new mail with next
 *				  attempt outcome->next_attempt (a message
 *				  found locked: now + 60 s).
 *		STORE_HOLD	  put on hold.
 *		STORE_TO_CORRUPT  move aside as corrupt.
 *		Shared stores check the lease first: a checkin whose owner or
 *		epoch is not current is refused with STORE_FENCED.  After a
 *		successful checkin the local file is gone from active/ (spool,
 *		lmdb: moved; pgsql, redis: deleted along with the local logs).
 *		The claim is then finished; store_claim_free() releases it.
 *
 * ADMINISTRATION (pqctl, and Postfix-like reports)
 *	store_list(store, queues, callback, context)
 *		Call back once per message in the queues named by the
 *		STORE_Q_* bit mask, with a STORE_MSG_INFO (queue, id, arrival,
 *		next attempt, size, sender, recipients still to do and their
 *		deferral reasons when known).  The callback returns non-zero
 *		to stop.
 *	store_hold(store, id), store_release(store, id)
 *		Like "postsuper -h" (incoming, active or deferred -> hold;
 *		never maildrop) and "postsuper -H" (hold -> deferred, next
 *		attempt unchanged).
 *	store_delete(store, id)
 *		Like "postsuper -d": the message and its logs are removed.
 *	store_requeue(store, id)
 *		Like "postsuper -r": the message goes back through cleanup(8)
 *		(spool, lmdb: to maildrop/ with time stamps "now", logs kept;
 *		shared stores: to local maildrop of the node that runs the
 *		command).
 *		These four act only on complete messages (a file cleanup is
 *		still writing is not one); STORE_GONE when there is no such
 *		message in a queue the call applies to, STORE_INVALID for a
 *		malformed id.
 *	store_counts(store, &counts)
 *		Messages per queue; recipients per destination domain (for
 *		qshape-style reports).
 *
 * EXPORT AND IMPORT (migration between stores and hosts)
 *	store_export(store, id, &msg)
 *		The whole message in the neutral form STORE_EXPORT: the Postfix
 *		queue file bytes exactly, its state (queue, arrival, next
 *		attempt, the mode request bits), and its defer/bounce/trace
 *		logs.  A message that is active is not exported (STORE_RETRY).
 *	store_import(store, msg, new_id, new_id_len)
 *		Add a message in the same state (queue incoming, deferred,
 *		hold or corrupt; STORE_INVALID otherwise).  The id it gets is
 *		written to new_id.  If its queue id is already used by another
 *		message, the message gets a fresh long-form queue id and the
 *		import succeeds; a re-import of the identical message under
 *		its id is STORE_EXISTS.  A backend may also rename to keep its
 *		own id rules (spool: a short id must name the file's inode, so
 *		it becomes its first five characters plus the new inode, as
 *		postsuper would rename it); a long id is kept when free.  A
 *		message imported under another id is not recognised by a
 *		later import of the same export: a caller that may repeat an
 *		import (a resumed migration) must remember new_id.
 *	store_export_free(msg)
 *
 * ACCOUNTING
 *	Every call through this interface is counted and timed once, here,
 *	above the backends (store_stats()), for metrics and benchmarks.
 *
 * CAVEATS
 *	spool: the classic directories are shared with Postfix's own tools;
 *	postsuper may move or delete files at any time, so every call must
 *	accept that a file vanished (STORE_GONE), as Postfix's qmgr does.
 *	Durable steps are renames and utime(); Postfix itself does not fsync
 *	directories and neither does this backend for moves between queues
 *	(a crash leaves the file in one of the two directories); imports
 *	fsync the file and its directory before they report success.
 *	Other backends document their caveats in their own headers.
 */
#ifndef PQ_STORE_H
#define PQ_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef enum STORE_STATUS {
    STORE_OK = 0,
    STORE_RETRY,
    STORE_GONE,
    STORE_UNAVAIL,
    STORE_CORRUPT,
    STORE_FENCED,
    STORE_EXISTS,
    STORE_INVALID,
} STORE_STATUS;

/* Queues, as bits so that list calls can name several. */
#define STORE_Q_INCOMING (1 << 0)
#define STORE_Q_ACTIVE   (1 << 1)
#define STORE_Q_DEFERRED (1 << 2)
#define STORE_Q_HOLD     (1 << 3)
#define STORE_Q_CORRUPT  (1 << 4)
#define STORE_Q_MAILDROP (1 << 5)
#define STORE_Q_ALL      0x3f

/* Scan flags. */
#define STORE_SCAN_ALL (1 << 0)

/* Per-message request bits (from the spool file mode). */
#define STORE_MSG_UNTHROTTLE (1 << 0)
#define STORE_MSG_EXPIRE     (1 << 1)

/* Capabilities. */
#define STORE_CAP_SHARED    (1 << 0) /* several hosts, leases matter */
#define STORE_CAP_POSTFIX   (1 << 1) /* postqueue/postsuper see the queue */
#define STORE_CAP_DUE_INDEX (1 << 2) /* deferred scans are O(due) */

#define STORE_ID_MAX   256 /* queue id plus NUL, Postfix's limit */
#define STORE_NODE_MAX 256

/* What every backend needs from the configuration. */
typedef struct STORE_ENV {
    const char *queue_dir;   /* $queue_directory */
    const char *hash_queues; /* $hash_queue_names */
    int hash_depth;          /* $hash_queue_depth */
    int long_queue_ids;      /* $enable_long_queue_ids */
    const char *node_name;   /* $pqmgr_node_name */
    int lease_time;          /* $pqmgr_lease_time, seconds */
    int timeout;             /* $pqmgr_store_timeout, seconds */
    int dont_remove;         /* $dont_remove */
    const char *config_dir;  /* for relative .cf names */
    long owner_uid;          /* chown new files to this uid; -1: don't */
    long owner_gid;          /* ... and to this gid; -1: don't */
} STORE_ENV;

/* A lease on a message (shared stores); trivially satisfied elsewhere. */
typedef struct STORE_LEASE {
    char id[STORE_ID_MAX];
    char owner[STORE_NODE_MAX];
    uint64_t epoch; /* fencing token; 0 = no lease / lost */
    time_t expiry;
} STORE_LEASE;

/* A scan candidate. */
typedef struct STORE_CAND {
    char id[STORE_ID_MAX];
    int queue; /* STORE_Q_INCOMING or STORE_Q_DEFERRED */
    time_t next_attempt;
} STORE_CAND;

/* An active message this node holds. */
typedef struct STORE_CLAIM {
    char id[STORE_ID_MAX];
    int from_queue; /* where it was claimed from */
    int flags;      /* STORE_MSG_* */
    char *path;     /* "active/<id>" relative to queue_dir */
    STORE_LEASE lease;
    void *backend_data;        /* private to the backend */
    void (*free_data)(void *); /* releases backend_data, or NULL */
} STORE_CLAIM;

typedef enum STORE_ACTION {
    STORE_REMOVE,
    STORE_DEFER,
    STORE_BACK,
    STORE_HOLD,
    STORE_TO_CORRUPT,
} STORE_ACTION;

typedef struct STORE_OUTCOME {
    STORE_ACTION action;
    time_t next_attempt; /* STORE_DEFER, STORE_BACK */
    int logs_gone;       /* STORE_REMOVE: the caller knows that no defer,
                          * bounce or trace log is left, so the store need
                          * not look for them; 0 = remove any there are */
} STORE_OUTCOME;

/* One recipient in a listing. */
typedef struct STORE_RCPT_INFO {
    const char *address;
    const char *reason; /* last deferral reason, or NULL */
} STORE_RCPT_INFO;

/* One message in a listing. */
typedef struct STORE_MSG_INFO {
    const char *id;
    int queue; /* STORE_Q_* */
    int flags; /* STORE_MSG_* */
    time_t arrival;
    time_t next_attempt;
    long size; /* content size as postqueue -p shows it */
    const char *sender;
    size_t rcpt_count;
    const STORE_RCPT_INFO *rcpts;
    const char *owner; /* lease owner (shared stores) or NULL */
} STORE_MSG_INFO;

typedef int (*STORE_LIST_FN)(const STORE_MSG_INFO *info, void *context);

/* Per-destination counts for reports. */
typedef struct STORE_DEST_COUNT {
    char *domain;
    long recipients;
    long messages;
} STORE_DEST_COUNT;

typedef struct STORE_COUNTS {
    long messages[6]; /* indexed by store_queue_index() */
    size_t dest_count;
    STORE_DEST_COUNT *dests;
} STORE_COUNTS;

/* The neutral form of a whole message. */
typedef struct STORE_EXPORT {
    char id[STORE_ID_MAX];
    int queue; /* STORE_Q_* (never ACTIVE) */
    int flags; /* STORE_MSG_* */
    time_t arrival;
    time_t next_attempt;
    unsigned char *file; /* the queue file, byte for byte */
    size_t file_len;
    unsigned char *logs[3]; /* defer, bounce, trace log, or NULL */
    size_t log_len[3];
} STORE_EXPORT;

#define STORE_LOG_DEFER  0
#define STORE_LOG_BOUNCE 1
#define STORE_LOG_TRACE  2

typedef struct STORE STORE;
typedef struct STORE_SCAN STORE_SCAN;

/* Operation numbers, for accounting. */
typedef enum STORE_OP {
    STORE_OP_RECOVER,
    STORE_OP_INGEST,
    STORE_OP_SCAN,
    STORE_OP_CLAIM,
    STORE_OP_RENEW,
    STORE_OP_CHECKIN,
    STORE_OP_LIST,
    STORE_OP_ADMIN,
    STORE_OP_COUNTS,
    STORE_OP_EXPORT,
    STORE_OP_IMPORT,
    STORE_OP_COUNT
} STORE_OP;

typedef struct STORE_OP_STATS {
    unsigned long calls;
    unsigned long failures; /* status other than OK and GONE */
    double seconds;         /* wall time spent in the backend */
    double max_seconds;
} STORE_OP_STATS;

STORE *store_open(const char *spec, const STORE_ENV *env, STORE_STATUS *status);
const char *store_open_error(void);
void store_close(STORE *store);
const char *store_type(const STORE *store);
int store_caps(const STORE *store);
const char *store_error(const STORE *store);
const char *store_status_name(STORE_STATUS status);

STORE_STATUS store_recover(STORE *store);
STORE_STATUS store_ingest(STORE *store, int max, int *count);

STORE_SCAN *store_scan_open(STORE *store, int queue, int flags);
STORE_STATUS store_scan_next(STORE_SCAN *scan, STORE_CAND *cand, int max,
                             int *count);
void store_scan_add_flags(STORE_SCAN *scan, int flags);
void store_scan_close(STORE_SCAN *scan);

STORE_STATUS store_claim(STORE *store, const STORE_CAND *cand,
                         STORE_CLAIM **claim);
STORE_STATUS store_renew(STORE *store, STORE_LEASE *leases, int count);
STORE_STATUS store_checkin(STORE *store, STORE_CLAIM *claim,
                           const STORE_OUTCOME *outcome);
void store_claim_free(STORE_CLAIM *claim);

STORE_STATUS store_list(STORE *store, int queues, STORE_LIST_FN callback,
                        void *context);
STORE_STATUS store_hold(STORE *store, const char *id);
STORE_STATUS store_release(STORE *store, const char *id);
STORE_STATUS store_delete(STORE *store, const char *id);
STORE_STATUS store_requeue(STORE *store, const char *id);
STORE_STATUS store_counts(STORE *store, STORE_COUNTS *counts);
void store_counts_free(STORE_COUNTS *counts);

STORE_STATUS store_export(STORE *store, const char *id, STORE_EXPORT **msg);
STORE_STATUS store_import(STORE *store, const STORE_EXPORT *msg, char *new_id,
                          size_t new_id_len);
void store_export_free(STORE_EXPORT *msg);

const STORE_OP_STATS *store_stats(const STORE *store);
const char *store_op_name(STORE_OP op);

/* Queue names and bits. */
const char *store_queue_name(int queue);
int store_queue_bit(const char *name);
int store_queue_index(int queue);

#endif
