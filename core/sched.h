/*
 * sched - the in-memory scheduling model of Postfix's queue manager.
 *
 * A pure library: no I/O, no clock, no event loop, no configuration files.
 * The daemon feeds it messages and resolved recipients, asks it which
 * transport to connect to and which delivery to send, reports agent
 * replies, and runs the timers it asks for.  The model decides everything
 * the queue manager decides in memory: transports and destination queues,
 * concurrency windows (slow start, feedback, dead destinations), rate
 * delays, round robin, recipient limits, per-recipient queues,
 * defer_transports, transport death, the "F" flush, clogging warnings, and
 * the completion decisions (backoff, expiry, delay warning).  Facts:
 * ../shared/spec/postfix-scheduling.md; the section numbers below refer to
 * it.  docs/scheduler.md explains how the daemon drives this interface.
 *
 * The selection policy is chosen by name at creation: "oqmgr" (round robin
 * over destinations, FIFO within one) or "qmgr" (alias "nqmgr": the
 * preemptive job scheduler with per-transport jobs, peers, blockers and
 * recipient slot pools, sections 1.6, 1.7, 3.4-3.6), behind the same
 * interface.  Marks: [oqmgr] and [qmgr] say which policy a statement is
 * about.
 *
 * OBJECTS (all owned by the model; fields are read-only for the daemon
 * except where marked "daemon")
 *
 *  SCHED_TRANSPORT  one per delivery service name (smtp, local, retry, ...)
 *  SCHED_QUEUE      one per destination of a transport; its window encodes
 *                   its state: > 0 READY, 0 THROTTLED (dead), -1 SUSPENDED
 *  SCHED_ENTRY      one delivery request: recipients of one message for one
 *                   queue, waiting (todo) or handed to an agent (busy)
 *  SCHED_MESSAGE    one queue file in active/; refcount counts its entries
 *
 * TIME
 *  The model never reads the clock.  Calls that need the time take "now"
 *  (the event loop's cached time, seconds).  Timers are requested through
 *  ops.set_timer(kind, object, seconds) and withdrawn with
 *  ops.cancel_timer(kind, object); at most one timer of a kind exists per
 *  object (a new request replaces the old one).  When one expires the
 *  daemon calls sched_timer_expired(sched, kind, object).
 *
 * CALLBACKS (SCHED_OPS)
 *  get_transport_params(ctx, name, params)  fill the transport's main.cf
 *      settings ("T_" parameters); params arrive preset to Postfix's
 *      built-in defaults (sched_transport_params_default).  Optional.
 *  set_timer / cancel_timer                 see TIME.
 *  defer_recipients(ctx, message, rcpts, count, status, reason)
 *      synchronous defer(8) append for each recipient ("defer
 *      synchronously", used only when the retry transport or queue is
 *      itself dead).  The message is marked for deferral (flags); the
 *      returned status is OR-ed in too.  Must not call back into the
 *      scheduler.
 *  message_refill(ctx, message)             read the next recipient batch
 *      now (sched_batch_limit, the batch functions up to and including
 *      sched_batch_assign, sched_message_set_unread and
 *      sched_message_set_rcpt_unread).  Optional: without it every later
 *      batch is read by the completion pipeline instead.
 *      [oqmgr] an entry completed while the in-core recipient count is
 *      low (section 4.5 step 9); called when the outermost call returns.
 *      [qmgr] the refill rules of section 3.6 (a) and (b) hold while
 *      sched_choose_entry() looks at a job of the message; called
 *      synchronously from inside sched_choose_entry() (the model is
 *      consistent at that point), because the entry choice depends on
 *      what was read.  The callback must not free the message or call
 *      other scheduler functions than those named above; if the file
 *      cannot be read it may set message->flags and call
 *      sched_message_set_unread(message, 0).
 *  message_done(ctx, message)               the message's last entry is
 *      gone (refcount 0): run the completion pipeline (sched_done_next).
 *  message_done, and [oqmgr] message_refill, are called only when the
 *  outermost scheduler call returns, with the model consistent, so they
 *  may call any scheduler function.
 *
 * CREATION
 *  sched_globals_default(&g)            Postfix 3.7 defaults for SCHED_GLOBALS
 *  sched_transport_params_default(&p)   defaults for one transport
 *  sched_create(&globals, &ops, policy) policy "oqmgr" (NULL = "oqmgr"),
 *      "qmgr" or "nqmgr"; returns NULL for an unknown policy.  Globals are
 *      copied and sanitized as qmgr does at start-up (recipient limit
 *      raised to the active limit, bounce lifetime lowered to the maximal
 *      lifetime, each with a warning).
 *  sched_destroy(sched)                 free everything, cancel its timers
 *
 * INPUT SIDE (sections 2.3, 2.6, 2.7, 2.9, 2.10)
 *  sched_can_admit(sched)               may another message be imported now
 *      (message count < active limit; [oqmgr] and recipient count <
 *      recipient limit)
 *  sched_batch_limit(sched, message)    how many recipients one read of
 *      the queue file should collect.  [oqmgr] the fudged recipient
 *      limit.  [qmgr] message NULL (the first read, before the message
 *      exists) or a message that never had a batch assigned:
 *      max(recipient limit - in-core recipients, recipient minimum),
 *      at most 5000; later reads: the message's free recipient slots
 *      (rcpt_limit - rcpt_count), at most 5000 and at least 1.
 *  sched_message_create(sched, &info)   a new in-core message (refcount 0)
 *  sched_message_set_unread(message, n) daemon: the queue file still has
 *      unread recipients (n != 0) or not (rcpt_offset > 0 in Postfix).
 *      Set it before sched_batch_assign() of each batch.
 *  sched_message_set_rcpt_unread(message, n)  daemon [qmgr]: Postfix's
 *      rcpt_unread estimate, the size record's recipient count minus the
 *      recipient records (R, D, /) read so far (the reader's "recipient
 *      count check" resets it to 0 when the file is fully read).  It
 *      enters the preemption arithmetic as MAX(job) = entries read +
 *      rcpt_unread (section 3.5).  Default 0; negative values count as 0.
 *  sched_message_free(sched, message)   at the end of the completion
 *      pipeline (refcount must be 0)
 *  sched_batch_create(sched, message)   collect one batch of recipients
 *  sched_batch_add(batch, &rcpt)        copy one recipient into the batch
 *  sched_batch_count(batch), sched_batch_rcpt(batch, i)
 *  sched_batch_set_address(batch, i, address)  the resolver rewrote it
 *  sched_batch_sort(batch)              the section 2.7 order
 *  sched_batch_bind(batch, i, transport, nexthop)  after the daemon has
 *      resolved recipient i (steps 1-6, 8 are the daemon's: a redirect to
 *      retry/error is passed as transport "retry"/"error" with nexthop
 *      "<status> <reason>"), apply steps 7 and 9-12: defer_transports,
 *      transport and queue lookup, FLUSH_EACH revival, dead transport or
 *      queue redirect to retry, per-recipient queue names.  Returns
 *      SCHED_BIND_QUEUED (bound to a queue, maybe a retry queue) or
 *      SCHED_BIND_DEFERRED (retry itself dead: deferred synchronously
 *      through ops.defer_recipients).  A recipient never bound is dropped
 *      at assignment (double-bounce discard, redirect).
 *  sched_batch_queue(batch, i)          the queue recipient i is bound to
 *  sched_batch_assign(batch, now)       sort again and build entries
 *      ([oqmgr] a new entry when the queue changes, the entry is full or
 *      the message is single-recipient; [qmgr] jobs and peers, the
 *      recipient joins the last unselected entry of its peer unless that
 *      is full or the message is single-recipient; the message's first
 *      assignment takes now as its activation time, which orders jobs),
 *      then free the batch.  Returns the number of recipients placed in
 *      entries.  If message->refcount is 0 afterwards, the daemon runs the
 *      completion pipeline itself.
 *  sched_batch_free(batch)              discard a batch without assigning
 *
 * OUTPUT SIDE (sections 3.1-3.3, 3.11)
 *  sched_select_transport(sched)        choose a transport that needs
 *      another agent connection (round robin, <= 2 pending, the "need"
 *      test), or NULL; the choice is already counted as pending and, with
 *      a transport rate delay, rate-locked.  Call it until it returns NULL.
 *  sched_transport_connected(sched, transport)   the connection completed
 *      (pending - 1).  With a transport rate delay the daemon waits
 *      transport->params.transport_rate_delay seconds before choosing.
 *  sched_transport_connect_failed(sched, transport, now)  it failed
 *      (pending - 1, then the transport dies, see sched_transport_broken)
 *  sched_choose_entry(sched, transport, now)     late binding: the entry to
 *      send on a ready connection, moved to its queue's busy list, or NULL
 *      (close the connection).  The request uses entry->queue->nexthop,
 *      entry->rcpts and sched_entry_flags(entry) (connection-cache hints).
 *      [qmgr] now is also the "stime" of job ages and refill delays (the
 *      daemon's event time; Postfix's sanitized clock differs only after
 *      the clock jumps backward).
 *  sched_entry_unselect(sched, entry)   the request could not be written:
 *      put the entry back (then call sched_transport_broken); [oqmgr] it
 *      is handed out last, [qmgr] it is its peer's next entry
 *
 * COMPLETION (sections 4.1-4.5, 3.7-3.9)
 *  sched_delivery_done(sched, entry, &reply, now)  the agent replied (or
 *      crashed): flags, negative feedback / death and deferral of the todo
 *      list, transport unthrottle, positive feedback / revival, rate-delay
 *      suspension, entry and queue clean-up, message refcount.  The entry
 *      is freed.
 *  sched_transport_broken(sched, transport, status, reason, now)  no agent
 *      (connect failure, bad greeting, write error): the transport dies for
 *      transport_retry_time and all its todo entries go to retry.  NULL
 *      status/reason mean "4.3.0" "mail transport unavailable".
 *  sched_flush_dead(sched)              "F": revive every dead transport
 *      and dead queue now, discard empty queues
 *  sched_timer_expired(sched, kind, object)  a requested timer went off
 *
 * MESSAGE COMPLETION DECISIONS (sections 4.6-4.9)
 *  sched_done_next(sched, message, now) the next step of the completion
 *      pipeline (SCHED_DONE_*), see below
 *  sched_done_status(message, step, status)  the result of that step
 *  sched_backoff_delay(sched, create_time, now)  seconds until the next
 *      attempt of a deferred message
 *  sched_expired(sched, message, now)   SCHED_NOT_EXPIRED, SCHED_EXPIRED
 *      or SCHED_FORCE_EXPIRED
 *  sched_warning_due(message, now)      a delay warning is due
 *  sched_is_double_bounce(sched, address)  local part equals
 *      double_bounce_sender (the daemon also checks the local class)
 *
 * FEEDBACK SYNTAX
 *  sched_feedback_parse(name, value, &fb)  parse "x", "x/y" or
 *      "x/concurrency"; a malformed or out-of-range value logs Postfix's
 *      warning and yields 1.  Returns 0 on success, -1 after the warning.
 *
 * COUNTERS
 *  sched_message_count, sched_recipient_count, sched_queue_count
 *  sched_transport_find(sched, name), sched_queue_find(transport, name)
 */
#ifndef PQ_SCHED_H
#define PQ_SCHED_H

#include <time.h>

#include "sched_list.h"

typedef struct SCHED SCHED;
typedef struct SCHED_TRANSPORT SCHED_TRANSPORT;
typedef struct SCHED_QUEUE SCHED_QUEUE;
typedef struct SCHED_ENTRY SCHED_ENTRY;
typedef struct SCHED_MESSAGE SCHED_MESSAGE;
typedef struct SCHED_BATCH SCHED_BATCH;

/* Internal transport names (MAIL_SERVICE_RETRY, MAIL_SERVICE_ERROR). */
#define SCHED_RETRY_TRANSPORT "retry"
#define SCHED_ERROR_TRANSPORT "error"

/* Pending connections per transport (QMGR_TRANSPORT_MAX_PEND). */
#define SCHED_MAX_PENDING 2

/*
 * Concurrency feedback, as parsed from
 * T_destination_concurrency_{positive,negative}_feedback.
 */
typedef struct SCHED_FEEDBACK {
    double numerator;
    double denominator;  /* ignored when per_concurrency */
    int per_concurrency; /* "x/concurrency": numerator / window */
} SCHED_FEEDBACK;

int sched_feedback_parse(const char *name, const char *value,
                         SCHED_FEEDBACK *fb);

/* Per-transport settings ("T_" parameters, section 1.2). */
typedef struct SCHED_TRANSPORT_PARAMS {
    int dest_concurrency_limit; /* 0 = unlimited */
    int init_dest_concurrency;  /* >= 1 */
    int dest_recipient_limit;   /* 0 = unlimited; 1 = per-rcpt queues */
    int dest_rate_delay;        /* seconds; > 0 forces limit 1 */
    int transport_rate_delay;   /* seconds */
    SCHED_FEEDBACK pos_feedback;
    SCHED_FEEDBACK neg_feedback;
    int fail_cohort_limit; /* 0 = never declare dead */
    /* [qmgr] only; unused by oqmgr. */
    int delivery_slot_cost;
    int delivery_slot_loan;
    int delivery_slot_discount;
    int minimum_delivery_slots;
    int recipient_limit;
    int extra_recipient_limit;
    int recipient_refill_limit;
    int recipient_refill_delay;
} SCHED_TRANSPORT_PARAMS;

void sched_transport_params_default(SCHED_TRANSPORT_PARAMS *params);

/* Global settings (section 8). Strings are copied by sched_create(). */
typedef struct SCHED_GLOBALS {
    int active_limit;             /* qmgr_message_active_limit */
    int recipient_limit;          /* qmgr_message_recipient_limit */
    int recipient_minimum;        /* qmgr_message_recipient_minimum [qmgr] */
    int fudge_factor;             /* qmgr_fudge_factor, 10..100 [oqmgr] */
    int min_backoff_time;         /* minimal_backoff_time */
    int max_backoff_time;         /* maximal_backoff_time */
    int max_queue_lifetime;       /* maximal_queue_lifetime */
    int bounce_queue_lifetime;    /* bounce_queue_lifetime */
    int transport_retry_time;     /* transport_retry_time */
    int clog_warn_time;           /* qmgr_clog_warn_time, 0 = off */
    int helpful_warnings;         /* helpful_warnings */
    int feedback_debug;           /* destination_concurrency_feedback_debug */
    int owner_request_special;    /* owner_request_special */
    const char *defer_transports; /* defer_transports */
    const char *double_bounce_sender; /* double_bounce_sender */
    const char *recipient_delimiter;  /* recipient_delimiter */
} SCHED_GLOBALS;

void sched_globals_default(SCHED_GLOBALS *globals);

/* Timers the model asks for (section 5.2). */
typedef enum SCHED_TIMER_KIND {
    SCHED_TIMER_QUEUE_REVIVE,     /* object: SCHED_QUEUE, dead destination */
    SCHED_TIMER_QUEUE_RESUME,     /* object: SCHED_QUEUE, rate delay over */
    SCHED_TIMER_TRANSPORT_REVIVE, /* object: SCHED_TRANSPORT, dead transport */
} SCHED_TIMER_KIND;

/* One recipient (section 1.4); strings are copied by the model. */
typedef struct SCHED_RCPT {
    long offset;           /* file offset of its R record */
    int dsn_notify;        /* DSN NOTIFY bits */
    const char *address;   /* after resolution */
    const char *orig_addr; /* O record */
    const char *dsn_orcpt; /* DSN ORCPT */
} SCHED_RCPT;

typedef struct SCHED_OPS {
    void *context;
    void (*get_transport_params)(void *context, const char *name,
                                 SCHED_TRANSPORT_PARAMS *params);
    void (*set_timer)(void *context, SCHED_TIMER_KIND kind, void *object,
                      int seconds);
    void (*cancel_timer)(void *context, SCHED_TIMER_KIND kind, void *object);
    int (*defer_recipients)(void *context, SCHED_MESSAGE *message,
                            const SCHED_RCPT *rcpts, int count,
                            const char *status, const char *reason);
    void (*message_refill)(void *context, SCHED_MESSAGE *message);
    void (*message_done)(void *context, SCHED_MESSAGE *message);
} SCHED_OPS;

/* Transport flags. */
#define SCHED_TRANSPORT_DEAD      (1 << 0) /* throttled, revive timer set */
#define SCHED_TRANSPORT_RATE_LOCK (1 << 1) /* transport rate delay active */

struct SCHED_TRANSPORT {
    char *name;
    SCHED_TRANSPORT_PARAMS params; /* normalized at creation */
    int flags;                     /* SCHED_TRANSPORT_* */
    int pending;                   /* connections requested, not ready */
    char *dsn_status;              /* why dead (only while DEAD) */
    char *dsn_reason;
    SCHED_LIST queue_list; /* round-robin order of its queues */
    struct SCHED_HTABLE *queue_byname;
    SCHED_LINK peers;  /* link in the transport list */
    void *policy_data; /* [qmgr] jobs and the like */
};

/* Queue states encoded in window (section 1.3). */
#define SCHED_QUEUE_STAT_THROTTLED 0
#define SCHED_QUEUE_STAT_SUSPENDED (-1)
#define SCHED_QUEUE_READY(q)       ((q)->window > 0)
#define SCHED_QUEUE_THROTTLED(q)   ((q)->window == SCHED_QUEUE_STAT_THROTTLED)
#define SCHED_QUEUE_SUSPENDED(q)   ((q)->window == SCHED_QUEUE_STAT_SUSPENDED)

/* Connection-cache hints, same bits as DEL_REQ_FLAG_CONN_LOAD/STORE. */
#define SCHED_CONN_LOAD  0x0800
#define SCHED_CONN_STORE 0x1000

struct SCHED_QUEUE {
    char *name;    /* lower-cased nexthop or localpart@nexthop */
    char *nexthop; /* as resolved; sent to the agent */
    SCHED_TRANSPORT *transport;
    int window;     /* concurrency window and state */
    double success; /* feedback accumulators (section 3.7) */
    double failure;
    double fail_cohorts;
    SCHED_LIST todo;  /* entries waiting, oldest first */
    SCHED_LIST busy;  /* entries handed to agents */
    int bind_count;   /* batch recipients bound, not yet assigned */
    char *dsn_status; /* why dead (only while THROTTLED) */
    char *dsn_reason;
    int dflags;       /* SCHED_CONN_* hints */
    time_t last_done; /* when the last busy entry completed */
    time_t clog_time_to_warn;
    int blocker_tag;  /* [qmgr] blocks jobs when equal to the transport's */
    SCHED_LINK peers; /* link in transport->queue_list */
    void *policy_data;
};

struct SCHED_ENTRY {
    SCHED_MESSAGE *message;
    SCHED_QUEUE *queue;
    SCHED_RCPT *rcpts;
    int rcpt_count;
    int rcpt_alloc;
    int busy;               /* on the busy list */
    void *context;          /* daemon: e.g. the agent stream */
    SCHED_LINK peers;       /* link in queue->todo or queue->busy */
    SCHED_LINK policy_link; /* [qmgr] link in its peer's todo list */
    void *policy_data;      /* [qmgr] its peer */
};

/* Message qflags (section 1.5). */
#define SCHED_FLUSH_EACH   (1 << 0) /* per-message flush (group-read bit) */
#define SCHED_FORCE_EXPIRE (1 << 1) /* postsuper -e/-f (group-exec bit) */
#define SCHED_FLUSH_DFXP   (1 << 2) /* ignore defer_transports */

typedef struct SCHED_MESSAGE_INFO {
    void *context; /* daemon's pointer, returned in callbacks */
    const char *queue_id;
    const char *sender; /* "" for a bounce */
    time_t create_time; /* create_time attribute or arrival seconds */
    long warn_time;     /* W record; 0 = none, -1 = already warned */
    int qflags;         /* SCHED_FLUSH_EACH | ... */
    int single_rcpt;    /* VERP: one recipient per delivery */
    int trace_wanted;   /* trace flush needed at completion (4.6 step 4) */
} SCHED_MESSAGE_INFO;

struct SCHED_MESSAGE {
    void *context; /* daemon */
    char *queue_id;
    char *sender;
    time_t create_time;
    long warn_time; /* daemon: set -1 after a warning was sent */
    int qflags;
    int single_rcpt;
    int trace_wanted;   /* daemon may update */
    int flags;          /* failure indicator: non-zero = defer the file */
    int refcount;       /* live entries */
    int rcpt_count;     /* in-core recipients */
    int unread;         /* daemon: the file has unread recipients */
    int rcpt_unread;    /* daemon [qmgr]: estimate of unread recipients */
    int done_stage;     /* completion pipeline cursor */
    int refill_wanted;  /* [oqmgr] read more after an entry completed */
    int notify_pending; /* on the notification list */
    SCHED_LINK notify_link;
    SCHED_LINK all_link;
    void *policy_data;
};

/* Agent reply (section 4.1). */
typedef struct SCHED_REPLY {
    int status;             /* 0: nothing to retry; else some deferred */
    int crashed;            /* malformed reply or connection lost */
    const char *hop_status; /* DSN status of a destination-wide problem */
    const char *hop_reason; /* its text; "" or NULL when none */
} SCHED_REPLY;

/* sched_batch_bind() results. */
#define SCHED_BIND_QUEUED   1
#define SCHED_BIND_DEFERRED 2

/* sched_expired() results. */
#define SCHED_NOT_EXPIRED   0
#define SCHED_EXPIRED       1
#define SCHED_FORCE_EXPIRED 2

/*
 * Completion pipeline steps (section 4.6), in order.  The daemon loops:
 * step = sched_done_next(); perform it (waiting for async replies); report
 * sched_done_status(message, step, status); until DEFER or REMOVE (then
 * sched_message_free).  CORRUPT_CHECK: if the file is no longer usable,
 * move it to corrupt/ and free the message (stop).  REFILL: read the next
 * batch; the message lives on, and if no entry resulted (refcount still
 * 0) call sched_done_next() again, which restarts at BOUNCE.
 */
typedef enum SCHED_DONE_STEP {
    SCHED_DONE_BOUNCE,        /* bounce/ID: empty: unlink; else send NDR */
    SCHED_DONE_CORRUPT_CHECK, /* flags != 0: is the file still usable? */
    SCHED_DONE_REFILL,        /* read the next recipient batch */
    SCHED_DONE_TRACE,         /* trace(8) flush */
    SCHED_DONE_EXPIRE,        /* return the defer log (expired) */
    SCHED_DONE_WARN,          /* send a delay warning, then W = -1 */
    SCHED_DONE_DEFER,         /* to deferred/, mtime now + backoff */
    SCHED_DONE_REMOVE,        /* unlink, log "ID: removed" */
} SCHED_DONE_STEP;

/* Creation. */
SCHED *sched_create(const SCHED_GLOBALS *globals, const SCHED_OPS *ops,
                    const char *policy);
void sched_destroy(SCHED *sched);

/* Input side. */
int sched_can_admit(SCHED *sched);
int sched_batch_limit(SCHED *sched, SCHED_MESSAGE *message);
SCHED_MESSAGE *sched_message_create(SCHED *sched,
                                    const SCHED_MESSAGE_INFO *info);
void sched_message_set_unread(SCHED_MESSAGE *message, int unread);
void sched_message_set_rcpt_unread(SCHED_MESSAGE *message, int count);
void sched_message_free(SCHED *sched, SCHED_MESSAGE *message);

SCHED_BATCH *sched_batch_create(SCHED *sched, SCHED_MESSAGE *message);
void sched_batch_add(SCHED_BATCH *batch, const SCHED_RCPT *rcpt);
int sched_batch_count(const SCHED_BATCH *batch);
const SCHED_RCPT *sched_batch_rcpt(const SCHED_BATCH *batch, int index);
void sched_batch_set_address(SCHED_BATCH *batch, int index,
                             const char *address);
void sched_batch_sort(SCHED_BATCH *batch);
int sched_batch_bind(SCHED_BATCH *batch, int index, const char *transport,
                     const char *nexthop);
SCHED_QUEUE *sched_batch_queue(const SCHED_BATCH *batch, int index);
int sched_batch_assign(SCHED_BATCH *batch, time_t now);
void sched_batch_free(SCHED_BATCH *batch);

/* Output side. */
SCHED_TRANSPORT *sched_select_transport(SCHED *sched);
void sched_transport_connected(SCHED *sched, SCHED_TRANSPORT *transport);
void sched_transport_connect_failed(SCHED *sched, SCHED_TRANSPORT *transport,
                                    time_t now);
SCHED_ENTRY *sched_choose_entry(SCHED *sched, SCHED_TRANSPORT *transport,
                                time_t now);
int sched_entry_flags(const SCHED_ENTRY *entry);
void sched_entry_unselect(SCHED *sched, SCHED_ENTRY *entry);

/* Completion. */
void sched_delivery_done(SCHED *sched, SCHED_ENTRY *entry,
                         const SCHED_REPLY *reply, time_t now);
void sched_transport_broken(SCHED *sched, SCHED_TRANSPORT *transport,
                            const char *status, const char *reason, time_t now);
void sched_flush_dead(SCHED *sched);
void sched_timer_expired(SCHED *sched, SCHED_TIMER_KIND kind, void *object);

/* Message completion decisions. */
SCHED_DONE_STEP sched_done_next(SCHED *sched, SCHED_MESSAGE *message,
                                time_t now);
void sched_done_status(SCHED_MESSAGE *message, SCHED_DONE_STEP step,
                       int status);
int sched_backoff_delay(SCHED *sched, time_t create_time, time_t now);
int sched_expired(SCHED *sched, const SCHED_MESSAGE *message, time_t now);
int sched_warning_due(const SCHED_MESSAGE *message, time_t now);
int sched_is_double_bounce(SCHED *sched, const char *address);

/* Counters and lookups. */
int sched_message_count(const SCHED *sched);
int sched_recipient_count(const SCHED *sched);
int sched_queue_count(const SCHED *sched);
SCHED_TRANSPORT *sched_transport_find(SCHED *sched, const char *name);
SCHED_QUEUE *sched_queue_find(SCHED_TRANSPORT *transport, const char *name);

#endif
