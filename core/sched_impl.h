/*
 * sched_impl - internal interface shared by the scheduler's sched_*.c files.
 *
 * Not for the daemon: sched.h is the contract.  This header declares the
 * SCHED structure, the selection-policy seam (SCHED_POLICY) and the
 * internal operations of each concept, one group per file:
 *
 *  sched.c           creation, counters, notifications, timers, "F"
 *  sched_feedback.c  window arithmetic: slow start and feedback (3.7, 3.8)
 *  sched_transport.c transports: lookup, death and revival, round robin
 *  sched_queue.c     queues: lookup, naming, death, revival, rate delay
 *  sched_entry.c     entries: creation, selection, completion, moving
 *  sched_clog.c      clogging warnings (4.11)
 *  sched_message.c   messages and the deferred notification list
 *  sched_defer.c     deferring todo lists through retry (4.2)
 *  sched_batch.c     recipient batches: sort, bind (2.7, 2.9)
 *  sched_deliver.c   connection bookkeeping and delivery completion (4.1)
 *  sched_done.c      backoff, expiry, warnings, pipeline (4.6-4.9)
 *  sched_oqmgr.c     the oqmgr policy: admission, assignment, entry choice
 *  sched_qmgr.c      the qmgr policy: the hooks below, per-message slot
 *                    state, refill (sched_qmgr.h)
 *  sched_job.c       [qmgr] jobs: lists, preemption, slot pools, blockers
 *  sched_peer.c      [qmgr] peers: a job's entries for one queue
 *
 * NOTIFICATIONS
 *  Callbacks that may re-enter the scheduler (message_refill,
 *  message_done) are not called from deep inside an operation.  Each
 *  public entry point brackets its work with sched_enter()/sched_leave();
 *  sched_leave() of the outermost call runs the queued notifications.
 *  sched_message_notify() queues one.  One exception: the qmgr policy
 *  calls message_refill synchronously from its choose_entry hook
 *  (sched_qmgr_refill), between two steps of the entry choice, where the
 *  model is consistent; the nested batch calls queue their notifications
 *  as usual.
 *
 * POLICY SEAM
 *  A SCHED_POLICY decides what differs between oqmgr and qmgr (spec
 *  section 6); everything else (queues, feedback, dead destinations, rate
 *  delays, deferral, completion) is shared.  The first six are required;
 *  the hooks from entry_created on may be NULL.
 *   can_admit(s)             leaky-bucket admission test (2.3)
 *   batch_limit(s, m)        recipients per queue-file read (2.6)
 *   compare_address(a, b)    last sort key (2.7): oqmgr case-insensitive,
 *                            qmgr case-sensitive
 *   assign(s, batch)         build entries from a sorted, bound batch
 *                            (2.10); qmgr: jobs, peers, entry reuse
 *   choose_entry(s, t)       pick the next entry of a transport and
 *                            select it with sched_entry_select() (3.3/3.4)
 *   unselect_entry(s, e)     put a busy entry back on its todo list
 *   entry_created(s, e)      after an entry joined its queue's todo list;
 *                            qmgr: link it to its job's peer
 *   entry_done(s, e, busy)   an entry left its queue (before it is freed,
 *                            after the rate-delay step); qmgr: slots,
 *                            blockers, peer reference counts
 *   refill_wanted(s, m)      read more recipients now, after an entry of m
 *                            completed (4.5 step 9)
 *   queue_resumed(s, q)      a suspended non-empty queue resumed; qmgr:
 *                            blocker re-evaluation
 *   message_free(s, m)       release policy data (qmgr: jobs)
 *   entry_moved(s, from, to) sched_entry_move_todo() moved the recipients
 *                            of todo entry "from" into the new entry "to"
 *                            (of the retry queue; entry_created has run for
 *                            it); called before "from" is finished with
 *                            entry_done.  qmgr: the recipients change jobs
 *   destroy(s)               the scheduler is being destroyed, entries,
 *                            queues, transports and messages still exist:
 *                            release all policy data without bookkeeping
 *                            (the objects are then freed without hooks,
 *                            except message_free, which must cope with
 *                            released data)
 */
#ifndef PQ_SCHED_IMPL_H
#define PQ_SCHED_IMPL_H

#include "sched.h"
#include "sched_htable.h"

typedef struct SCHED_BATCH_RCPT {
    SCHED_RCPT rcpt;
    SCHED_QUEUE *queue; /* NULL: not bound (dropped at assignment) */
    int seq;            /* position when added: stable sort tie-break */
} SCHED_BATCH_RCPT;

struct SCHED_BATCH {
    SCHED *sched;
    SCHED_MESSAGE *message;
    SCHED_BATCH_RCPT *items;
    int count;
    int alloc;
};

typedef struct SCHED_POLICY {
    const char *name;
    int (*can_admit)(SCHED *s);
    int (*batch_limit)(SCHED *s, SCHED_MESSAGE *m);
    int (*compare_address)(const char *a, const char *b);
    void (*assign)(SCHED *s, SCHED_BATCH *batch);
    SCHED_ENTRY *(*choose_entry)(SCHED *s, SCHED_TRANSPORT *t);
    void (*unselect_entry)(SCHED *s, SCHED_ENTRY *e);
    void (*entry_created)(SCHED *s, SCHED_ENTRY *e);
    void (*entry_done)(SCHED *s, SCHED_ENTRY *e, int was_busy);
    int (*refill_wanted)(SCHED *s, SCHED_MESSAGE *m);
    void (*queue_resumed)(SCHED *s, SCHED_QUEUE *q);
    void (*message_free)(SCHED *s, SCHED_MESSAGE *m);
    void (*entry_moved)(SCHED *s, SCHED_ENTRY *from, SCHED_ENTRY *to);
    void (*destroy)(SCHED *s);
} SCHED_POLICY;

struct SCHED {
    SCHED_GLOBALS globals;  /* strings point into the copies below */
    char *defer_transports; /* copies */
    char *double_bounce_sender;
    char *recipient_delimiter;
    char **defer_xport_argv; /* defer_transports split */
    int defer_xport_count;
    SCHED_OPS ops;
    const SCHED_POLICY *policy;
    SCHED_HTABLE *transport_byname;
    SCHED_LIST transport_list; /* round-robin order */
    SCHED_LIST message_list;   /* every in-core message */
    SCHED_LIST notify_list;    /* messages with callbacks due */
    int message_count;
    int recipient_count;
    int queue_count;
    time_t now; /* time of the latest call that passed one */
    int depth;  /* nesting of public calls */
};

/* Entry "which list" arguments. */
#define SCHED_ENTRY_TODO 0
#define SCHED_ENTRY_BUSY 1

/* sched.c */
void sched_enter(SCHED *s);
void sched_leave(SCHED *s);
void sched_request_timer(SCHED *s, SCHED_TIMER_KIND kind, void *object,
                         int seconds);
void sched_cancel_timer(SCHED *s, SCHED_TIMER_KIND kind, void *object);
const SCHED_POLICY *sched_policy_oqmgr(void);
const SCHED_POLICY *sched_policy_qmgr(void);

/* sched_feedback.c */
double sched_feedback_value(const SCHED_FEEDBACK *fb, int window);
void sched_feedback_positive(SCHED *s, SCHED_QUEUE *q);
int sched_feedback_negative(SCHED *s, SCHED_QUEUE *q);
void sched_feedback_log_window(SCHED *s, SCHED_QUEUE *q, const char *myname);

/* sched_transport.c */
SCHED_TRANSPORT *sched_transport_obtain(SCHED *s, const char *name);
void sched_transport_free(SCHED *s, SCHED_TRANSPORT *t);
void sched_transport_throttle(SCHED *s, SCHED_TRANSPORT *t, const char *status,
                              const char *reason);
void sched_transport_unthrottle(SCHED *s, SCHED_TRANSPORT *t);
SCHED_TRANSPORT *sched_transport_select(SCHED *s);
SCHED_TRANSPORT *sched_error_transport(SCHED *s, const char *service);
int sched_is_error_transport(const SCHED_TRANSPORT *t);

/* sched_queue.c */
SCHED_QUEUE *sched_queue_create(SCHED *s, SCHED_TRANSPORT *t, const char *name,
                                const char *nexthop);
SCHED_QUEUE *sched_queue_obtain(SCHED *s, SCHED_TRANSPORT *t, const char *name,
                                const char *nexthop);
void sched_queue_done(SCHED *s, SCHED_QUEUE *q);
void sched_queue_free(SCHED *s, SCHED_QUEUE *q);
int sched_queue_idle(const SCHED_QUEUE *q);
void sched_queue_throttle(SCHED *s, SCHED_QUEUE *q, const char *status,
                          const char *reason);
void sched_queue_unthrottle(SCHED *s, SCHED_QUEUE *q);
void sched_queue_suspend(SCHED *s, SCHED_QUEUE *q, int delay);
void sched_queue_resume(SCHED *s, SCHED_QUEUE *q);
void sched_queue_revive_timer(SCHED *s, SCHED_QUEUE *q);
void sched_queue_enable(SCHED *s, SCHED_QUEUE *q);
char *sched_queue_name(SCHED *s, const SCHED_TRANSPORT *t, const char *address,
                       const char *nexthop);
SCHED_QUEUE *sched_error_queue(SCHED *s, const char *service,
                               const char *status, const char *reason);

/* sched_entry.c */
SCHED_ENTRY *sched_entry_create(SCHED *s, SCHED_QUEUE *q, SCHED_MESSAGE *m);
void sched_entry_add_rcpt(SCHED *s, SCHED_ENTRY *e, SCHED_RCPT *rcpt);
int sched_entry_full(const SCHED_ENTRY *e);
void sched_entry_select(SCHED *s, SCHED_ENTRY *e);
void sched_entry_put_back(SCHED *s, SCHED_ENTRY *e);
void sched_entry_done(SCHED *s, SCHED_ENTRY *e, int which);
void sched_entry_move_todo(SCHED *s, SCHED_ENTRY *e, SCHED_QUEUE *dst);
void sched_entry_destroy(SCHED_ENTRY *e);
void sched_rcpt_copy(SCHED_RCPT *dst, const SCHED_RCPT *src);
void sched_rcpt_set_address(SCHED_RCPT *rcpt, const char *address);
void sched_rcpt_free(SCHED_RCPT *rcpt);

/* sched_clog.c */
void sched_clog_check(SCHED *s, SCHED_QUEUE *q);

/* sched_message.c */
void sched_message_notify(SCHED *s, SCHED_MESSAGE *m);
void sched_message_run_notifications(SCHED *s);
void sched_message_free_all(SCHED *s);

/* sched_defer.c */
void sched_defer_todo(SCHED *s, SCHED_QUEUE *q, const char *status,
                      const char *reason);
void sched_defer_transport(SCHED *s, SCHED_TRANSPORT *t, const char *status,
                           const char *reason);
void sched_defer_sync(SCHED *s, SCHED_MESSAGE *m, const SCHED_RCPT *rcpts,
                      int count, const char *status, const char *reason);

/* sched_batch.c */
void sched_batch_sort_items(SCHED_BATCH *batch);

#endif
