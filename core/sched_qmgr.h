/*
 * sched_qmgr - internal interface of the qmgr(8) ("nqmgr") policy: jobs,
 * peers and the per-transport and per-message scheduling state (spec 1.2,
 * 1.5-1.8, 3.4-3.6).  Not for the daemon; sched.h is the contract.
 *
 * OBJECTS
 *  SCHED_QMGR_XPORT  transport->policy_data: the scheduler job list, the
 *                    by-time job list, the current job, the next-unread
 *                    job, the candidate cache, the blocker tag (odd,
 *                    starts at 1) and the recipient slot pool rcpt_unused
 *                    (signed, starts at T_recipient_limit).  Created with
 *                    the transport's first job.
 *  SCHED_QMGR_MSG    message->policy_data: activation time (queued_time),
 *                    time of the last read (refill_time), rcpt_limit
 *                    (recipient minimum + the sum of its jobs' limits) and
 *                    its jobs.  Created by the message's first assignment.
 *  SCHED_JOB         one message as seen by one transport (1.6)
 *  SCHED_PEER        one job's entries for one queue (1.7); entry->
 *                    policy_data points to it, entry->policy_link links the
 *                    entry into the peer's todo list while it is todo.
 *
 * Times ("stime" in the spec) are the scheduler's s->now: the "now" the
 * daemon passed to the current call.
 *
 * sched_qmgr.c
 *  sched_qmgr_xport(t)      the transport's state, created on first use
 *  sched_qmgr_msg(s, m)     the message's state, created on first use
 *  sched_qmgr_refill(s, m)  read the next batch now (ops.message_refill,
 *                           synchronous); nothing without the callback
 *
 * sched_job.c (preemption arithmetic: section 3.5)
 *  sched_job_obtain(s, m, t)     find or create m's job on t; (re)link a new
 *      or retired job (it takes the whole positive pool), reset the
 *      candidate cache, un-block a blocker job (current = list head)
 *  sched_job_find(m, t)          m's job on t, or NULL
 *  sched_job_move_limits(job)    return the job's unused recipient slots
 *      to the pool and pass the whole pool to the next-unread job
 *  sched_job_free(job)           at message free: pop, return slots,
 *      unlink, forget (its peers must be gone)
 *  sched_job_discard(job)        scheduler destruction: free job and
 *      peers without bookkeeping
 *  sched_job_entry_select(s, t)  the entry choice of 3.4 with preemption,
 *      refill and blockers; the entry is selected (todo -> busy)
 *  sched_job_blocker_update(q)   an entry left blocker queue q, or q
 *      resumed: un-block all (tag + 2) when q can take a delivery now
 *  sched_job_reset_candidates(xp) forget the cached candidate
 *
 * sched_peer.c
 *  sched_peer_find(job, q), sched_peer_obtain(job, q)  by queue name; a new
 *      peer is appended to the job's peer list
 *  sched_peer_release(peer)      one of its entries is gone (refcount - 1);
 *      the peer is freed at 0
 *  sched_peer_select(job)        the first peer whose queue has
 *      window > busy and a todo entry for this job; the peer list is
 *      rotated so that it becomes the tail (round robin)
 *  sched_peer_append(peer, e)    a new todo entry: it points to the peer,
 *      refcount + 1
 *  sched_peer_prepend(peer, e)   an unselected entry goes first
 *  sched_peer_unlink(peer, e)    the entry leaves the peer's todo list
 *  sched_peer_first(peer), sched_peer_last(peer)  its todo entries
 */
#ifndef PQ_SCHED_QMGR_H
#define PQ_SCHED_QMGR_H

#include "sched_impl.h"

typedef struct SCHED_JOB SCHED_JOB;
typedef struct SCHED_PEER SCHED_PEER;

typedef struct SCHED_QMGR_XPORT {
    SCHED_LIST job_list;   /* scheduler order (changed by preemption) */
    SCHED_LIST job_bytime; /* activation order, never reordered */
    SCHED_JOB *job_current;
    SCHED_JOB *job_next_unread;
    SCHED_JOB *candidate_cache;
    SCHED_JOB *candidate_cache_current; /* NULL: the cache is invalid */
    time_t candidate_cache_time;
    int blocker_tag;    /* odd; + 2 un-blocks every job and queue */
    int rcpt_unused;    /* recipient slot pool; may go negative */
    int rcpt_per_stack; /* T_extra_recipient_limit */
} SCHED_QMGR_XPORT;

typedef struct SCHED_QMGR_MSG {
    time_t queued_time; /* activation: orders jobs */
    time_t refill_time; /* after the last batch was assigned */
    int rcpt_limit;     /* recipient slots this message may hold */
    SCHED_LIST job_list;
} SCHED_QMGR_MSG;

struct SCHED_JOB {
    SCHED_MESSAGE *message;
    SCHED_TRANSPORT *transport;
    SCHED_LINK transport_link; /* in xport->job_list */
    SCHED_LINK time_link;      /* in xport->job_bytime */
    SCHED_LINK message_link;   /* in msg->job_list */
    SCHED_JOB *stack_parent;
    SCHED_LIST stack_children;
    SCHED_LINK stack_link; /* in the parent's children */
    int stack_level;       /* -1 retired, 0 ordinary, > 0 preempting */
    int blocker_tag;
    SCHED_HTABLE *peer_byname; /* by queue name */
    SCHED_LIST peer_list;      /* round-robin order */
    int slots_used;
    int slots_available;
    int selected_entries; /* selected, or taken off todo */
    int read_entries;     /* created */
    int rcpt_count;
    int rcpt_limit;
};

struct SCHED_PEER {
    SCHED_JOB *job;
    SCHED_QUEUE *queue;
    SCHED_LINK link;       /* in job->peer_list */
    SCHED_LIST entry_list; /* todo entries, FIFO */
    int refcount;          /* entries, todo and busy */
};

/* The job has entries not yet selected. */
#define SCHED_JOB_HAS_ENTRIES(job)                                             \
    ((job)->selected_entries < (job)->read_entries)

/* sched_qmgr.c */
SCHED_QMGR_XPORT *sched_qmgr_xport(SCHED_TRANSPORT *t);
SCHED_QMGR_MSG *sched_qmgr_msg(SCHED *s, SCHED_MESSAGE *m);
void sched_qmgr_refill(SCHED *s, SCHED_MESSAGE *m);

/* sched_job.c */
SCHED_JOB *sched_job_find(SCHED_MESSAGE *m, SCHED_TRANSPORT *t);
SCHED_JOB *sched_job_obtain(SCHED *s, SCHED_MESSAGE *m, SCHED_TRANSPORT *t);
void sched_job_move_limits(SCHED_JOB *job);
void sched_job_free(SCHED_JOB *job);
void sched_job_discard(SCHED_JOB *job);
SCHED_ENTRY *sched_job_entry_select(SCHED *s, SCHED_TRANSPORT *t);
void sched_job_blocker_update(SCHED_QUEUE *q);
void sched_job_reset_candidates(SCHED_QMGR_XPORT *xp);

/* sched_peer.c */
SCHED_PEER *sched_peer_find(SCHED_JOB *job, SCHED_QUEUE *q);
SCHED_PEER *sched_peer_obtain(SCHED_JOB *job, SCHED_QUEUE *q);
void sched_peer_release(SCHED_PEER *peer);
SCHED_PEER *sched_peer_select(SCHED_JOB *job);
void sched_peer_append(SCHED_PEER *peer, SCHED_ENTRY *e);
void sched_peer_prepend(SCHED_PEER *peer, SCHED_ENTRY *e);
void sched_peer_unlink(SCHED_PEER *peer, SCHED_ENTRY *e);
SCHED_ENTRY *sched_peer_first(const SCHED_PEER *peer);
SCHED_ENTRY *sched_peer_last(const SCHED_PEER *peer);

#endif
