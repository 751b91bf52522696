/*
 * sched_transport - delivery transports (spec 1.2, 3.1, 4.3).
 *
 *  sched_transport_params_default(&p)  Postfix's built-in defaults
 *  sched_transport_obtain(s, name)     find, or create with the daemon's
 *      parameters: inserted at the head of the round-robin list, never
 *      destroyed before the scheduler
 *  sched_transport_free(s, t)          at scheduler destruction only
 *  sched_transport_throttle(s, t, status, reason)  declare it dead and
 *      start the transport_retry_time revive timer; a dead transport is
 *      left alone (the timer is not restarted)
 *  sched_transport_unthrottle(s, t)    revive it (cancel the timer) and
 *      clear RATE_LOCK
 *  sched_transport_select(s)           the round-robin choice of 3.1, or
 *      NULL; the chosen transport becomes the tail of the list
 *  sched_error_transport(s, service)   the retry/error transport, created
 *      as needed, or NULL when it is dead
 *  sched_is_error_transport(t)         t is "retry" or "error"
 */
#include <string.h>

#include "msg.h"
#include "xalloc.h"
#include "sched_impl.h"

void
sched_transport_params_default(SCHED_TRANSPORT_PARAMS *p)
{
    static const SCHED_FEEDBACK one = {1, 1, 0};

    memset(p, 0, sizeof(*p));
    p->dest_concurrency_limit = 20;
    p->init_dest_concurrency = 5;
    p->dest_recipient_limit = 50;
    p->dest_rate_delay = 0;
    p->transport_rate_delay = 0;
    p->pos_feedback = one;
    p->neg_feedback = one;
    p->fail_cohort_limit = 1;
    p->delivery_slot_cost = 5;
    p->delivery_slot_loan = 3;
    p->delivery_slot_discount = 50;
    p->minimum_delivery_slots = 3;
    p->recipient_limit = 20000;
    p->extra_recipient_limit = 1000;
    p->recipient_refill_limit = 100;
    p->recipient_refill_delay = 5;
}

/* Apply the minimums and the interactions of 1.2 (and 8.1 for qmgr). */
static void
normalize_params(SCHED_TRANSPORT_PARAMS *p)
{
    if (p->dest_concurrency_limit < 0)
        p->dest_concurrency_limit = 0;
    if (p->init_dest_concurrency < 1)
        p->init_dest_concurrency = 1;
    if (p->dest_recipient_limit < 0)
        p->dest_recipient_limit = 0;
    if (p->dest_rate_delay < 0)
        p->dest_rate_delay = 0;
    if (p->transport_rate_delay < 0)
        p->transport_rate_delay = 0;
    if (p->fail_cohort_limit < 0)
        p->fail_cohort_limit = 0;
    if (p->dest_rate_delay > 0)
        p->dest_concurrency_limit = 1;
    if (p->dest_concurrency_limit > 0 &&
        p->init_dest_concurrency > p->dest_concurrency_limit)
        p->init_dest_concurrency = p->dest_concurrency_limit;
    /* [qmgr] the ranges of section 8.1. */
    if (p->delivery_slot_cost < 0)
        p->delivery_slot_cost = 0;
    if (p->delivery_slot_loan < 0)
        p->delivery_slot_loan = 0;
    if (p->delivery_slot_discount < 0)
        p->delivery_slot_discount = 0;
    if (p->delivery_slot_discount > 100)
        p->delivery_slot_discount = 100;
    if (p->minimum_delivery_slots < 0)
        p->minimum_delivery_slots = 0;
    if (p->recipient_limit < 0)
        p->recipient_limit = 0;
    if (p->extra_recipient_limit < 0)
        p->extra_recipient_limit = 0;
    if (p->recipient_refill_limit < 1)
        p->recipient_refill_limit = 1;
    if (p->recipient_refill_delay < 1)
        p->recipient_refill_delay = 1;
}

static SCHED_TRANSPORT *
transport_create(SCHED *s, const char *name)
{
    SCHED_TRANSPORT *t = xcalloc(1, sizeof(*t));

    t->name = xstrdup(name);
    sched_transport_params_default(&t->params);
    if (s->ops.get_transport_params)
        s->ops.get_transport_params(s->ops.context, name, &t->params);
    normalize_params(&t->params);
    sched_list_init(&t->queue_list);
    t->queue_byname = sched_htable_create(16);
    sched_htable_enter(s->transport_byname, t->name, t);
    sched_list_prepend(&s->transport_list, &t->peers, t);
    return t;
}

SCHED_TRANSPORT *
sched_transport_find(SCHED *s, const char *name)
{
    return sched_htable_find(s->transport_byname, name);
}

SCHED_TRANSPORT *
sched_transport_obtain(SCHED *s, const char *name)
{
    SCHED_TRANSPORT *t = sched_transport_find(s, name);

    return t ? t : transport_create(s, name);
}

static void
clear_reason(SCHED_TRANSPORT *t)
{
    xfree(t->dsn_status);
    xfree(t->dsn_reason);
    t->dsn_status = t->dsn_reason = NULL;
}

void
sched_transport_free(SCHED *s, SCHED_TRANSPORT *t)
{
    SCHED_QUEUE *q;

    while ((q = sched_list_first(&t->queue_list)) != NULL)
        sched_queue_free(s, q);
    if (t->flags & SCHED_TRANSPORT_DEAD)
        sched_cancel_timer(s, SCHED_TIMER_TRANSPORT_REVIVE, t);
    sched_list_unlink(&s->transport_list, &t->peers);
    sched_htable_delete(s->transport_byname, t->name);
    sched_htable_free(t->queue_byname);
    clear_reason(t);
    xfree(t->name);
    xfree(t);
}

void
sched_transport_throttle(SCHED *s, SCHED_TRANSPORT *t, const char *status,
                         const char *reason)
{
    if (t->flags & SCHED_TRANSPORT_DEAD)
        return;
    t->dsn_status = xstrdup(status);
    t->dsn_reason = xstrdup(reason);
    t->flags |= SCHED_TRANSPORT_DEAD;
    sched_request_timer(s, SCHED_TIMER_TRANSPORT_REVIVE, t,
                        s->globals.transport_retry_time);
}

void
sched_transport_unthrottle(SCHED *s, SCHED_TRANSPORT *t)
{
    if (t->flags & SCHED_TRANSPORT_DEAD) {
        sched_cancel_timer(s, SCHED_TIMER_TRANSPORT_REVIVE, t);
        clear_reason(t);
        t->flags &= ~SCHED_TRANSPORT_DEAD;
    }
    t->flags &= ~SCHED_TRANSPORT_RATE_LOCK;
}

/*
 * Would another connection for t find work?  need starts at pending + 1
 * and each READY queue takes off what it could start now; the term is
 * negative when a window shrank below its busy count.
 */
static int
transport_needs_connection(const SCHED_TRANSPORT *t)
{
    int need = t->pending + 1;
    SCHED_QUEUE *q;

    for (q = sched_list_first(&t->queue_list); q;
         q = sched_list_next(&t->queue_list, &q->peers)) {
        int room;
        int todo;

        if (!SCHED_QUEUE_READY(q))
            continue;
        room = q->window - sched_list_count(&q->busy);
        todo = sched_list_count(&q->todo);
        need -= room < todo ? room : todo;
        if (need <= 0)
            return 1;
    }
    return 0;
}

SCHED_TRANSPORT *
sched_transport_select(SCHED *s)
{
    SCHED_TRANSPORT *t;

    for (t = sched_list_first(&s->transport_list); t;
         t = sched_list_next(&s->transport_list, &t->peers)) {
        if (t->flags & (SCHED_TRANSPORT_DEAD | SCHED_TRANSPORT_RATE_LOCK))
            continue;
        if (t->pending >= SCHED_MAX_PENDING)
            continue;
        if (transport_needs_connection(t)) {
            sched_list_rotate(&s->transport_list, &t->peers);
            return t;
        }
    }
    return NULL;
}

SCHED_TRANSPORT *
sched_error_transport(SCHED *s, const char *service)
{
    SCHED_TRANSPORT *t = sched_transport_obtain(s, service);

    return (t->flags & SCHED_TRANSPORT_DEAD) ? NULL : t;
}

int
sched_is_error_transport(const SCHED_TRANSPORT *t)
{
    return strcmp(t->name, SCHED_RETRY_TRANSPORT) == 0 ||
           strcmp(t->name, SCHED_ERROR_TRANSPORT) == 0;
}
