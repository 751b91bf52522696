/*
 * sched_defer - deferring work that cannot be attempted (spec 4.2, 4.3).
 *
 *  sched_defer_todo(s, q, status, reason)  every todo entry of q moves to
 *      the retry queue "<status> <reason>" (the retry(8) agent defers its
 *      recipients asynchronously), or, when retry itself is dead, is
 *      deferred synchronously and finished.  Busy entries stay.
 *  sched_defer_transport(s, t, status, reason)  the same for every queue
 *      of t
 *  sched_defer_sync(s, m, rcpts, count, status, reason)  ops.
 *      defer_recipients; the message is marked for deferral and the
 *      callback's status is OR-ed into m->flags as well
 *
 * Entries and queues may disappear while this runs; messages whose last
 * entry went away are notified when the public call returns.
 */
#include "xalloc.h"
#include "sched_impl.h"

void
sched_defer_sync(SCHED *s, SCHED_MESSAGE *m, const SCHED_RCPT *rcpts, int count,
                 const char *status, const char *reason)
{
    m->flags |= 1;
    if (s->ops.defer_recipients)
        m->flags |= s->ops.defer_recipients(s->ops.context, m, rcpts, count,
                                            status, reason);
}

void
sched_defer_todo(SCHED *s, SCHED_QUEUE *q, const char *status,
                 const char *reason)
{
    char *saved_status = xstrdup(status);
    char *saved_reason = xstrdup(reason);
    SCHED_QUEUE *retry = NULL;
    SCHED_ENTRY *e;
    SCHED_ENTRY *next;

    /* The retry queue is looked up (and created) only when needed. */
    if (!sched_list_empty(&q->todo))
        retry = sched_error_queue(s, SCHED_RETRY_TRANSPORT, saved_status,
                                  saved_reason);
    for (e = sched_list_first(&q->todo); e; e = next) {
        next = sched_list_next(&q->todo, &e->peers);
        if (retry) {
            sched_entry_move_todo(s, e, retry);
        } else {
            sched_defer_sync(s, e->message, e->rcpts, e->rcpt_count,
                             saved_status, saved_reason);
            sched_entry_done(s, e, SCHED_ENTRY_TODO);
        }
    }
    xfree(saved_status);
    xfree(saved_reason);
}

void
sched_defer_transport(SCHED *s, SCHED_TRANSPORT *t, const char *status,
                      const char *reason)
{
    SCHED_QUEUE *q;
    SCHED_QUEUE *next;

    for (q = sched_list_first(&t->queue_list); q; q = next) {
        next = sched_list_next(&t->queue_list, &q->peers);
        sched_defer_todo(s, q, status, reason);
    }
}
