/*
 * sched_qmgr - the qmgr(8) ("nqmgr") selection policy: the preemptive job
 * scheduler (spec 2.3, 2.6, 2.7, 2.10, 3.4-3.6, 4.5, 6).  Jobs and peers
 * live in sched_job.c and sched_peer.c (sched_qmgr.h); this file holds the
 * policy table, the per-transport and per-message state and the refill.
 *
 *  sched_policy_qmgr()  the policy table:
 *   admission     message count < qmgr_message_active_limit (recipients
 *                 are bounded by the slot pools instead)
 *   batch size    first read: max(qmgr_message_recipient_limit - in-core
 *                 recipients, qmgr_message_recipient_minimum); later reads:
 *                 the message's free slots (rcpt_limit - rcpt_count); at
 *                 most 5000 per read, at least 1
 *   sort          addresses compared case-sensitively
 *   assignment    per recipient: the job of (message, transport), the peer
 *                 of (job, queue), the peer's last unselected entry unless
 *                 it is full or the message is single-recipient (so
 *                 entries grow across batches); then the candidate caches
 *                 of the message's transports are reset, and when the
 *                 message is fully read every job returns its spare slots
 *   entry choice  sched_job_entry_select(): current job, preemption,
 *                 refill, round robin over the job's peers, blockers
 *   unselect      back to the end of the queue's todo list and the head
 *                 of its peer's list (its peer's next entry)
 *   entry done    peer and job bookkeeping, spare slots of the message's
 *                 jobs back to the pool (4.5 step 3), blocker re-evaluation
 *                 (step 5, after the rate-delay step), peer reference
 *   queue resumed blocker re-evaluation
 *   refill        only from the entry choice (synchronous
 *                 ops.message_refill) and the completion pipeline; never
 *                 "after any entry" as oqmgr does
 */
#include <string.h>

#include "msg.h"
#include "xalloc.h"
#include "sched_qmgr.h"

/* Recipients per queue-file read at most ("interrupt latency"). */
#define QMGR_READ_MAX 5000

SCHED_QMGR_XPORT *
sched_qmgr_xport(SCHED_TRANSPORT *t)
{
    SCHED_QMGR_XPORT *xp = t->policy_data;

    if (xp == NULL) {
        xp = xcalloc(1, sizeof(*xp));
        sched_list_init(&xp->job_list);
        sched_list_init(&xp->job_bytime);
        xp->blocker_tag = 1;
        xp->rcpt_unused = t->params.recipient_limit;
        xp->rcpt_per_stack = t->params.extra_recipient_limit;
        t->policy_data = xp;
    }
    return xp;
}

/* The first assignment is the message's activation time. */
SCHED_QMGR_MSG *
sched_qmgr_msg(SCHED *s, SCHED_MESSAGE *m)
{
    SCHED_QMGR_MSG *qm = m->policy_data;

    if (qm == NULL) {
        qm = xcalloc(1, sizeof(*qm));
        qm->queued_time = s->now;
        qm->refill_time = 0;
        qm->rcpt_limit = s->globals.recipient_minimum;
        sched_list_init(&qm->job_list);
        m->policy_data = qm;
    }
    return qm;
}

void
sched_qmgr_refill(SCHED *s, SCHED_MESSAGE *m)
{
    if (s->ops.message_refill)
        s->ops.message_refill(s->ops.context, m);
}

static int
qmgr_can_admit(SCHED *s)
{
    return s->message_count < s->globals.active_limit;
}

static int
qmgr_batch_limit(SCHED *s, SCHED_MESSAGE *m)
{
    SCHED_QMGR_MSG *qm = m ? m->policy_data : NULL;
    int limit;

    if (qm == NULL) {
        limit = s->globals.recipient_limit - s->recipient_count;
        if (limit < s->globals.recipient_minimum)
            limit = s->globals.recipient_minimum;
    } else {
        limit = qm->rcpt_limit - m->rcpt_count;
    }
    if (limit > QMGR_READ_MAX)
        limit = QMGR_READ_MAX;
    if (limit < 1)
        limit = 1;
    return limit;
}

static int
qmgr_compare_address(const char *a, const char *b)
{
    return strcmp(a, b);
}

/* After assignment: jobs that may have become candidates (2.10). */
static void
reset_candidate_caches(SCHED_QMGR_MSG *qm)
{
    SCHED_JOB *job;

    for (job = sched_list_first(&qm->job_list); job;
         job = sched_list_next(&qm->job_list, &job->message_link)) {
        SCHED_QMGR_XPORT *xp = job->transport->policy_data;

        if (SCHED_JOB_HAS_ENTRIES(job) && job->blocker_tag != xp->blocker_tag)
            sched_job_reset_candidates(xp);
    }
}

static void
move_all_limits(SCHED_QMGR_MSG *qm)
{
    SCHED_JOB *job;

    for (job = sched_list_first(&qm->job_list); job;
         job = sched_list_next(&qm->job_list, &job->message_link))
        sched_job_move_limits(job);
}

static void
qmgr_assign(SCHED *s, SCHED_BATCH *b)
{
    SCHED_MESSAGE *m = b->message;
    SCHED_QMGR_MSG *qm = sched_qmgr_msg(s, m);
    SCHED_JOB *job = NULL;
    SCHED_PEER *peer = NULL;

    for (int i = 0; i < b->count; i++) {
        SCHED_BATCH_RCPT *item = b->items + i;
        SCHED_QUEUE *q = item->queue;
        SCHED_ENTRY *e;

        if (q == NULL)
            continue;
        if (job == NULL || job->transport != q->transport) {
            job = sched_job_obtain(s, m, q->transport);
            peer = NULL;
        }
        if (peer == NULL || peer->queue != q)
            peer = sched_peer_obtain(job, q);
        e = sched_peer_last(peer);
        if (m->single_rcpt || e == NULL || sched_entry_full(e))
            e = sched_entry_create(s, q, m);
        sched_entry_add_rcpt(s, e, &item->rcpt);
        job->rcpt_count++;
    }
    qm->refill_time = s->now;
    reset_candidate_caches(qm);
    if (!m->unread)
        move_all_limits(qm);
}

static SCHED_ENTRY *
qmgr_choose_entry(SCHED *s, SCHED_TRANSPORT *t)
{
    return sched_job_entry_select(s, t);
}

static void
qmgr_unselect_entry(SCHED *s, SCHED_ENTRY *e)
{
    SCHED_PEER *peer = e->policy_data;

    sched_entry_put_back(s, e);
    sched_peer_prepend(peer, e);
    peer->job->selected_entries--;
}

/* Every entry belongs to a peer of its message's job on its transport. */
static void
qmgr_entry_created(SCHED *s, SCHED_ENTRY *e)
{
    SCHED_JOB *job = sched_job_obtain(s, e->message, e->queue->transport);

    sched_peer_append(sched_peer_obtain(job, e->queue), e);
    job->read_entries++;
}

static void
qmgr_entry_moved(SCHED *s, SCHED_ENTRY *from, SCHED_ENTRY *to)
{
    SCHED_PEER *src = from->policy_data;
    SCHED_PEER *dst = to->policy_data;

    (void) s;
    src->job->rcpt_count -= to->rcpt_count;
    dst->job->rcpt_count += to->rcpt_count;
}

/*
 * Spare slots go back (3.6): jobs of the message that are retired, or all
 * of them once the message is fully read; then the entry's own job.
 */
static void
return_spare_slots(SCHED_MESSAGE *m, SCHED_JOB *job)
{
    SCHED_QMGR_MSG *qm = m->policy_data;
    SCHED_JOB *sponsor;

    for (sponsor = sched_list_first(&qm->job_list); sponsor;
         sponsor = sched_list_next(&qm->job_list, &sponsor->message_link)) {
        if (sponsor == job || sponsor->rcpt_count >= sponsor->rcpt_limit)
            continue;
        if (sponsor->stack_level < 0 || !m->unread)
            sched_job_move_limits(sponsor);
    }
    if (!m->unread)
        sched_job_move_limits(job);
}

static void
qmgr_entry_done(SCHED *s, SCHED_ENTRY *e, int was_busy)
{
    SCHED_PEER *peer = e->policy_data;
    SCHED_JOB *job = peer->job;
    SCHED_QUEUE *q = e->queue;
    SCHED_QMGR_XPORT *xp = job->transport->policy_data;

    (void) s;
    if (!was_busy) {
        sched_peer_unlink(peer, e);
        job->selected_entries++;
    }
    job->rcpt_count -= e->rcpt_count;
    return_spare_slots(e->message, job);
    if (!SCHED_QUEUE_SUSPENDED(q) && q->blocker_tag == xp->blocker_tag)
        sched_job_blocker_update(q);
    e->policy_data = NULL;
    sched_peer_release(peer);
}

static void
qmgr_queue_resumed(SCHED *s, SCHED_QUEUE *q)
{
    (void) s;
    sched_job_blocker_update(q);
}

static void
qmgr_message_free(SCHED *s, SCHED_MESSAGE *m)
{
    SCHED_QMGR_MSG *qm = m->policy_data;
    SCHED_JOB *job;

    (void) s;
    if (qm == NULL)
        return;
    while ((job = sched_list_first(&qm->job_list)) != NULL)
        sched_job_free(job);
    xfree(qm);
    m->policy_data = NULL;
}

static void
qmgr_destroy(SCHED *s)
{
    SCHED_MESSAGE *m;
    SCHED_TRANSPORT *t;
    SCHED_JOB *job;

    for (m = sched_list_first(&s->message_list); m;
         m = sched_list_next(&s->message_list, &m->all_link)) {
        SCHED_QMGR_MSG *qm = m->policy_data;

        if (qm == NULL)
            continue;
        while ((job = sched_list_first(&qm->job_list)) != NULL) {
            sched_list_unlink(&qm->job_list, &job->message_link);
            sched_job_discard(job);
        }
        xfree(qm);
        m->policy_data = NULL;
    }
    for (t = sched_list_first(&s->transport_list); t;
         t = sched_list_next(&s->transport_list, &t->peers)) {
        xfree(t->policy_data);
        t->policy_data = NULL;
    }
}

static const SCHED_POLICY qmgr_policy = {
    .name = "qmgr",
    .can_admit = qmgr_can_admit,
    .batch_limit = qmgr_batch_limit,
    .compare_address = qmgr_compare_address,
    .assign = qmgr_assign,
    .choose_entry = qmgr_choose_entry,
    .unselect_entry = qmgr_unselect_entry,
    .entry_created = qmgr_entry_created,
    .entry_done = qmgr_entry_done,
    .refill_wanted = NULL,
    .queue_resumed = qmgr_queue_resumed,
    .message_free = qmgr_message_free,
    .entry_moved = qmgr_entry_moved,
    .destroy = qmgr_destroy,
};

const SCHED_POLICY *
sched_policy_qmgr(void)
{
    return &qmgr_policy;
}
