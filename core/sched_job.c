/*
 * sched_job - [qmgr] per-transport jobs: the scheduler list and the by-time
 * list, retirement, the preemption stack, recipient slot pools, blockers
 * and the entry choice (spec 1.6, 1.8, 3.4, 3.5, 3.6).  Interface in
 * sched_qmgr.h.
 *
 * Terms of section 3.5 for a job J: MIN(J) = entries read, MAX(J) =
 * entries read + the message's unread-recipient estimate; slots count
 * delivery requests, not recipients.  Integer division is C's (truncating),
 * the right side of the preemption test is real-valued.
 *
 * The recipient slot pool of a transport is conserved: the pool plus the
 * rcpt_limit of its jobs always equals T_recipient_limit, so the pool is
 * back at its start value once every job is freed.
 */
#include "msg.h"
#include "xalloc.h"
#include "sched_qmgr.h"

static void job_pop(SCHED_JOB *job);

static int
min_entries(const SCHED_JOB *job)
{
    return job->read_entries;
}

static int
max_entries(const SCHED_JOB *job)
{
    return job->read_entries + job->message->rcpt_unread;
}

static time_t
queued_time(const SCHED_JOB *job)
{
    return ((SCHED_QMGR_MSG *) job->message->policy_data)->queued_time;
}

static SCHED_QMGR_XPORT *
job_xport(const SCHED_JOB *job)
{
    return job->transport->policy_data;
}

static int
is_blocker(const SCHED_JOB *job, const SCHED_QMGR_XPORT *xp)
{
    return job->blocker_tag == xp->blocker_tag;
}

void
sched_job_reset_candidates(SCHED_QMGR_XPORT *xp)
{
    xp->candidate_cache_current = NULL;
}

/* Slots move between a job (and its message) and the pool. */
static void
give_slots(SCHED_JOB *job, int slots)
{
    SCHED_QMGR_MSG *qm = job->message->policy_data;

    job->rcpt_limit += slots;
    qm->rcpt_limit += slots;
    job_xport(job)->rcpt_unused -= slots;
}

static SCHED_JOB *
job_create(SCHED *s, SCHED_MESSAGE *m, SCHED_TRANSPORT *t)
{
    SCHED_QMGR_MSG *qm = sched_qmgr_msg(s, m);
    SCHED_JOB *job = xcalloc(1, sizeof(*job));

    (void) sched_qmgr_xport(t);
    job->message = m;
    job->transport = t;
    sched_list_append(&qm->job_list, &job->message_link, job);
    sched_list_init(&job->stack_children);
    job->stack_level = -1;
    job->peer_byname = sched_htable_create(4);
    sched_list_init(&job->peer_list);
    return job;
}

SCHED_JOB *
sched_job_find(SCHED_MESSAGE *m, SCHED_TRANSPORT *t)
{
    SCHED_QMGR_MSG *qm = m->policy_data;
    SCHED_JOB *job;

    if (qm == NULL)
        return NULL;
    for (job = sched_list_first(&qm->job_list); job;
         job = sched_list_next(&qm->job_list, &job->message_link))
        if (job->transport == t)
            return job;
    return NULL;
}

/*
 * Link a new or retired job (3.6 "Linking a job"): after the last job
 * without a stack parent that was activated no later, in both lists;
 * adjust the current and next-unread pointers; take the whole pool.
 */
static void
job_link(SCHED_JOB *job)
{
    SCHED_QMGR_XPORT *xp = job_xport(job);
    time_t queued = queued_time(job);
    SCHED_JOB *current = xp->job_current;
    SCHED_JOB *unread = xp->job_next_unread;
    SCHED_JOB *prev;

    if (job->stack_level >= 0)
        msg_panic("job_link: %s: already linked (level %d)",
                  job->message->queue_id, job->stack_level);
    for (prev = sched_list_last(&xp->job_list); prev;
         prev = sched_list_prev(&xp->job_list, &prev->transport_link)) {
        if (prev->stack_parent == NULL && queued_time(prev) <= queued)
            break;
        if (prev == current)
            current = NULL;
    }
    sched_list_insert_after(&xp->job_list, prev ? &prev->transport_link : NULL,
                            &job->transport_link, job);
    for (prev = sched_list_last(&xp->job_bytime); prev;
         prev = sched_list_prev(&xp->job_bytime, &prev->time_link)) {
        if (queued_time(prev) <= queued)
            break;
        if (prev == unread)
            unread = NULL;
    }
    sched_list_insert_after(&xp->job_bytime, prev ? &prev->time_link : NULL,
                            &job->time_link, job);
    job->stack_level = 0;
    if (current == NULL)
        xp->job_current = job;
    if (unread == NULL) {
        unread = xp->job_next_unread;
        xp->job_next_unread = job;
        if (unread != NULL)
            sched_job_move_limits(unread);
    }
    if (xp->rcpt_unused > 0)
        give_slots(job, xp->rcpt_unused);
}

SCHED_JOB *
sched_job_obtain(SCHED *s, SCHED_MESSAGE *m, SCHED_TRANSPORT *t)
{
    SCHED_JOB *job = sched_job_find(m, t);
    SCHED_QMGR_XPORT *xp;

    if (job == NULL)
        job = job_create(s, m, t);
    if (job->stack_level < 0)
        job_link(job);
    xp = job_xport(job);
    sched_job_reset_candidates(xp);
    if (is_blocker(job, xp)) {
        job->blocker_tag = 0;
        xp->job_current = sched_list_first(&xp->job_list);
    }
    return job;
}

void
sched_job_move_limits(SCHED_JOB *job)
{
    SCHED_QMGR_XPORT *xp = job_xport(job);
    SCHED_MESSAGE *m = job->message;
    SCHED_QMGR_MSG *qm = m->policy_data;
    SCHED_JOB *next = xp->job_next_unread;
    int unused;
    int msg_unused;

    /* The next-unread pointer moves along the by-time list. */
    if (job == next) {
        for (next = sched_list_next(&xp->job_bytime, &next->time_link); next;
             next = sched_list_next(&xp->job_bytime, &next->time_link))
            if (next->message->unread)
                break;
        xp->job_next_unread = next;
    }
    unused = job->rcpt_limit - job->rcpt_count;
    msg_unused = qm->rcpt_limit - m->rcpt_count;
    if (msg_unused < unused)
        unused = msg_unused;
    if (unused <= 0)
        return;
    give_slots(job, -unused);
    if (next != NULL && xp->rcpt_unused > 0)
        give_slots(next, xp->rcpt_unused);
}

/* Children of a job leaving its stack go to its parent, or are orphaned. */
static void
job_parent_gone(SCHED_JOB *job, SCHED_JOB *parent)
{
    SCHED_JOB *child;

    while ((child = sched_list_first(&job->stack_children)) != NULL) {
        sched_list_unlink(&job->stack_children, &child->stack_link);
        if (parent != NULL)
            sched_list_append(&parent->stack_children, &child->stack_link,
                              child);
        child->stack_parent = parent;
    }
}

static void
job_unlink(SCHED_JOB *job)
{
    SCHED_QMGR_XPORT *xp = job_xport(job);

    if (job->stack_level != 0)
        msg_panic("job_unlink: %s: stack level %d", job->message->queue_id,
                  job->stack_level);
    if (job->stack_parent != NULL)
        msg_panic("job_unlink: %s: parent present", job->message->queue_id);
    job_parent_gone(job, NULL);
    if (xp->job_current == job)
        xp->job_current = sched_list_next(&xp->job_list, &job->transport_link);
    if (job == xp->candidate_cache || job == xp->candidate_cache_current)
        sched_job_reset_candidates(xp);
    sched_list_unlink(&xp->job_list, &job->transport_link);
    sched_list_unlink(&xp->job_bytime, &job->time_link);
    job->stack_level = -1;
}

/*
 * Retire: off the lists, slots back to the pool; the job stays with its
 * message and keeps its slot counters (sched_job_obtain relinks it).
 */
static void
job_retire(SCHED_JOB *job)
{
    if (job->stack_level > 0)
        job_pop(job);
    sched_job_move_limits(job);
    job_unlink(job);
}

static void
job_destroy(SCHED_JOB *job)
{
    sched_htable_free(job->peer_byname);
    xfree(job);
}

void
sched_job_free(SCHED_JOB *job)
{
    SCHED_QMGR_MSG *qm = job->message->policy_data;

    if (job->rcpt_count != 0)
        msg_panic("sched_job_free: %s: recipient count %d",
                  job->message->queue_id, job->rcpt_count);
    if (!sched_list_empty(&job->peer_list))
        msg_panic("sched_job_free: %s: peers remain", job->message->queue_id);
    if (job->stack_level > 0)
        job_pop(job);
    sched_job_move_limits(job);
    if (job->rcpt_limit != 0)
        msg_panic("sched_job_free: %s: recipient slots leak (%d)",
                  job->message->queue_id, job->rcpt_limit);
    if (job->stack_level >= 0)
        job_unlink(job);
    sched_list_unlink(&qm->job_list, &job->message_link);
    job_destroy(job);
}

void
sched_job_discard(SCHED_JOB *job)
{
    SCHED_PEER *peer;

    while ((peer = sched_list_first(&job->peer_list)) != NULL) {
        sched_list_unlink(&job->peer_list, &peer->link);
        xfree(peer);
    }
    job_destroy(job);
}

/* Slot accrual: every selected entry earns its job one slot. */
static void
job_count_slots(SCHED_JOB *job)
{
    SCHED_QMGR_XPORT *xp = job_xport(job);

    job->slots_available++;
    job->slots_used++;
    if (job != xp->candidate_cache_current)
        sched_job_reset_candidates(xp);
}

/*
 * The best job to preempt current with: among the jobs after it that are
 * no stack parents and no blockers and whose remaining entries fit in the
 * slots current can still earn, the highest age / MAX(J), the earliest
 * on a tie.  Cached per current job and second; a "none" stays valid
 * until the cache is reset.
 */
static SCHED_JOB *
job_candidate(SCHED_JOB *current, time_t now)
{
    SCHED_QMGR_XPORT *xp = job_xport(current);
    int cost = current->transport->params.delivery_slot_cost;
    SCHED_JOB *job;
    SCHED_JOB *best_job = NULL;
    double best_score = 0.0;
    int max_slots;

    if (xp->candidate_cache_current == current &&
        (xp->candidate_cache_time == now || xp->candidate_cache == NULL))
        return xp->candidate_cache;
    max_slots = (min_entries(current) - current->selected_entries +
                 current->slots_available) /
                cost;
    if (max_slots > 0) {
        for (job = sched_list_next(&xp->job_list, &current->transport_link);
             job; job = sched_list_next(&xp->job_list, &job->transport_link)) {
            int total;
            int needed;
            long age;

            if (!sched_list_empty(&job->stack_children) || is_blocker(job, xp))
                continue;
            total = max_entries(job);
            needed = total - job->selected_entries;
            age = (long) (now - queued_time(job)) + 1;
            if (needed > 0 && needed <= max_slots) {
                double score = (double) age / total;

                if (score > best_score) {
                    best_score = score;
                    best_job = job;
                }
            }
            if (age <= best_score && job->stack_level == 0)
                break;
        }
    }
    xp->candidate_cache = best_job;
    xp->candidate_cache_current = current;
    xp->candidate_cache_time = now;
    return best_job;
}

/* Preemption (3.5): returns the job to serve, current or a new child. */
static SCHED_JOB *
job_preempt(SCHED_JOB *current, time_t now)
{
    SCHED_QMGR_XPORT *xp = job_xport(current);
    const SCHED_TRANSPORT_PARAMS *p = &current->transport->params;
    int cost = p->delivery_slot_cost;
    int factor = 100 - p->delivery_slot_discount;
    SCHED_JOB *job;
    SCHED_JOB *prev;
    int expected;

    if (current->slots_available <= 0 ||
        max_entries(current) < p->minimum_delivery_slots * cost)
        return current;
    if ((job = job_candidate(current, now)) == NULL)
        return current;
    if (job == current || !sched_list_empty(&job->stack_children) ||
        job->stack_level < 0)
        msg_panic("job_preempt: %s: bad candidate %s (level %d)",
                  current->message->queue_id, job->message->queue_id,
                  job->stack_level);
    expected = max_entries(job) - job->selected_entries;
    if (current->slots_available / cost + p->delivery_slot_loan <
        expected * factor / 100.0)
        return current;

    if (job->stack_level > 0)
        job_pop(job);
    sched_list_unlink(&xp->job_list, &job->transport_link);
    prev = sched_list_prev(&xp->job_list, &current->transport_link);
    sched_list_insert_after(&xp->job_list, prev ? &prev->transport_link : NULL,
                            &job->transport_link, job);
    job->stack_parent = current;
    sched_list_append(&current->stack_children, &job->stack_link, job);
    job->stack_level = current->stack_level + 1;
    xp->job_current = job;
    sched_job_reset_candidates(xp);

    /* Pay in advance; job_pop() refunds what the child did not use. */
    current->slots_available -= expected * cost;
    job->slots_used = -expected;

    /* Half of the extra pool helps a preempting job read its recipients. */
    if (job->message->unread)
        give_slots(job, (xp->rcpt_per_stack + xp->rcpt_unused + 1) / 2);
    return job;
}

static void
job_pop(SCHED_JOB *job)
{
    SCHED_QMGR_XPORT *xp = job_xport(job);
    SCHED_JOB *parent = job->stack_parent;

    if (job->stack_level <= 0)
        msg_panic("job_pop: %s: not on a stack (level %d)",
                  job->message->queue_id, job->stack_level);
    if (parent != NULL && job->stack_level == parent->stack_level + 1)
        parent->slots_available -=
            job->slots_used * job->transport->params.delivery_slot_cost;
    if (parent != NULL) {
        sched_list_unlink(&parent->stack_children, &job->stack_link);
        job->stack_parent = NULL;
    }
    job_parent_gone(job, parent);
    job->stack_level = 0;
    sched_job_reset_candidates(xp);
}

/* Refill rule (a): enough free slots, or a free slot and enough time. */
static int
refill_due(SCHED *s, SCHED_JOB *job)
{
    SCHED_MESSAGE *m = job->message;
    SCHED_QMGR_MSG *qm = m->policy_data;
    const SCHED_TRANSPORT_PARAMS *p = &job->transport->params;
    int free_slots = qm->rcpt_limit - m->rcpt_count;

    if (!m->unread || m->refcount <= 0)
        return 0;
    return free_slots >= p->recipient_refill_limit ||
           (free_slots > 0 &&
            s->now - qm->refill_time >= p->recipient_refill_delay);
}

/* Refill rule (b): no selectable peer, and a free slot. */
static int
refill_possible(SCHED_JOB *job)
{
    SCHED_MESSAGE *m = job->message;
    SCHED_QMGR_MSG *qm = m->policy_data;

    return m->unread && m->refcount > 0 && qm->rcpt_limit > m->rcpt_count;
}

static SCHED_PEER *
job_peer_select(SCHED *s, SCHED_JOB *job)
{
    SCHED_PEER *peer;

    if (refill_due(s, job))
        sched_qmgr_refill(s, job->message);
    if (SCHED_JOB_HAS_ENTRIES(job) && (peer = sched_peer_select(job)) != NULL)
        return peer;
    if (refill_possible(job)) {
        sched_qmgr_refill(s, job->message);
        if (SCHED_JOB_HAS_ENTRIES(job))
            return sched_peer_select(job);
    }
    return NULL;
}

/* Select a peer's first entry (3.2). */
static SCHED_ENTRY *
peer_entry_select(SCHED *s, SCHED_PEER *peer)
{
    SCHED_ENTRY *e = sched_peer_first(peer);

    sched_peer_unlink(peer, e);
    peer->job->selected_entries++;
    sched_entry_select(s, e);
    return e;
}

/* Mark a job whose queues are all full, and those queues. */
static void
job_block(SCHED_JOB *job, SCHED_QMGR_XPORT *xp)
{
    SCHED_PEER *peer;

    job->blocker_tag = xp->blocker_tag;
    for (peer = sched_list_first(&job->peer_list); peer;
         peer = sched_list_next(&job->peer_list, &peer->link))
        if (!sched_list_empty(&peer->entry_list))
            peer->queue->blocker_tag = xp->blocker_tag;
}

SCHED_ENTRY *
sched_job_entry_select(SCHED *s, SCHED_TRANSPORT *t)
{
    SCHED_QMGR_XPORT *xp = t->policy_data;
    SCHED_JOB *job;
    SCHED_JOB *next;
    SCHED_PEER *peer;
    SCHED_ENTRY *e;

    if (xp == NULL || (job = xp->job_current) == NULL)
        return NULL;
    if (t->params.delivery_slot_cost >= 2)
        job = job_preempt(job, s->now);
    for (; job != NULL; job = next) {
        next = sched_list_next(&xp->job_list, &job->transport_link);
        if (is_blocker(job, xp))
            continue;
        if ((peer = job_peer_select(s, job)) != NULL) {
            e = peer_entry_select(s, peer);
            job_count_slots(job);
            xp->job_current = job;
            if (!SCHED_JOB_HAS_ENTRIES(job) && !job->message->unread)
                job_retire(job);
            return e;
        }
        if (SCHED_JOB_HAS_ENTRIES(job))
            job_block(job, xp);
        else
            job_retire(job); /* stalled */
    }
    xp->job_current = NULL;
    return NULL;
}

void
sched_job_blocker_update(SCHED_QUEUE *q)
{
    SCHED_QMGR_XPORT *xp = q->transport->policy_data;
    int room;

    if (xp == NULL || q->blocker_tag != xp->blocker_tag)
        return;
    room = q->window > sched_list_count(&q->busy);
    if (room && !sched_list_empty(&q->todo)) {
        xp->blocker_tag += 2;
        xp->job_current = sched_list_first(&xp->job_list);
        sched_job_reset_candidates(xp);
    }
    if (room || SCHED_QUEUE_THROTTLED(q))
        q->blocker_tag = 0;
}
