/*
 * sched_peer - [qmgr] peers: the todo entries of one job for one queue
 * (spec 1.7, 1.8, 3.4 "peer choice").  Interface in sched_qmgr.h.
 *
 * A peer's todo list is FIFO: new entries at the tail, selection from the
 * head, an unselected entry back at the head.  Its reference count counts
 * its entries, busy ones included, so that the queue (which holds those
 * entries) outlives the peer and the queue name can key the job's hash.
 */
#include "msg.h"
#include "xalloc.h"
#include "sched_qmgr.h"

SCHED_PEER *
sched_peer_find(SCHED_JOB *job, SCHED_QUEUE *q)
{
    return sched_htable_find(job->peer_byname, q->name);
}

static SCHED_PEER *
peer_create(SCHED_JOB *job, SCHED_QUEUE *q)
{
    SCHED_PEER *peer = xcalloc(1, sizeof(*peer));

    peer->job = job;
    peer->queue = q;
    sched_list_init(&peer->entry_list);
    sched_list_append(&job->peer_list, &peer->link, peer);
    sched_htable_enter(job->peer_byname, q->name, peer);
    return peer;
}

SCHED_PEER *
sched_peer_obtain(SCHED_JOB *job, SCHED_QUEUE *q)
{
    SCHED_PEER *peer = sched_peer_find(job, q);

    return peer ? peer : peer_create(job, q);
}

void
sched_peer_release(SCHED_PEER *peer)
{
    SCHED_JOB *job = peer->job;

    if (peer->refcount <= 0)
        msg_panic("sched_peer_release: %s: refcount %d", peer->queue->name,
                  peer->refcount);
    if (--peer->refcount > 0)
        return;
    if (!sched_list_empty(&peer->entry_list))
        msg_panic("sched_peer_release: %s: todo list not empty",
                  peer->queue->name);
    sched_list_unlink(&job->peer_list, &peer->link);
    sched_htable_delete(job->peer_byname, peer->queue->name);
    xfree(peer);
}

SCHED_PEER *
sched_peer_select(SCHED_JOB *job)
{
    SCHED_PEER *peer;

    for (peer = sched_list_first(&job->peer_list); peer;
         peer = sched_list_next(&job->peer_list, &peer->link)) {
        SCHED_QUEUE *q = peer->queue;

        if (q->window > sched_list_count(&q->busy) &&
            !sched_list_empty(&peer->entry_list)) {
            sched_list_rotate(&job->peer_list, &peer->link);
            return peer;
        }
    }
    return NULL;
}

void
sched_peer_append(SCHED_PEER *peer, SCHED_ENTRY *e)
{
    e->policy_data = peer;
    sched_list_append(&peer->entry_list, &e->policy_link, e);
    peer->refcount++;
}

void
sched_peer_prepend(SCHED_PEER *peer, SCHED_ENTRY *e)
{
    sched_list_prepend(&peer->entry_list, &e->policy_link, e);
}

void
sched_peer_unlink(SCHED_PEER *peer, SCHED_ENTRY *e)
{
    sched_list_unlink(&peer->entry_list, &e->policy_link);
}

SCHED_ENTRY *
sched_peer_first(const SCHED_PEER *peer)
{
    return sched_list_first(&peer->entry_list);
}

SCHED_ENTRY *
sched_peer_last(const SCHED_PEER *peer)
{
    return sched_list_last(&peer->entry_list);
}
