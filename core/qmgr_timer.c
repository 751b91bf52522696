/*
 * qmgr_timer - the scheduler's timers and the deferred-scan heartbeat, on
 * libevent.
 *
 *	qmgr_timer_init(q)	start the table of timers
 *	qmgr_set_timer(q, kind, object, seconds)	SCHED_OPS.set_timer: at
 *		most one timer per (kind, object); a new request replaces the
 *		old one.  When it fires, sched_timer_expired() is called.
 *	qmgr_cancel_timer(q, kind, object)	SCHED_OPS.cancel_timer
 *	qmgr_heartbeat_start(q)	request a deferred scan now and then every
 *		$queue_run_delay seconds (a fixed period: triggers do not
 *		reset it)
 *	qmgr_timer_free()	cancel everything (exit, tests)
 *
 * Timers live in a hash table keyed by (kind, object), chained, so that
 * thousands of dead destinations cost O(1) each.
 */
#include <stdint.h>

#include <event2/event.h>

#include "msg.h"
#include "qmgr.h"
#include "trigger.h"
#include "xalloc.h"

typedef struct QMGR_TIMER {
    SCHED_TIMER_KIND kind;
    void *object;
    struct event *ev;
    struct QMGR_TIMER *next;
} QMGR_TIMER;

#define TIMER_BUCKETS 4096

static QMGR_TIMER *buckets[TIMER_BUCKETS];
static QMGR *timer_qmgr;

static unsigned
bucket_of(SCHED_TIMER_KIND kind, const void *object)
{
    uintptr_t key = (uintptr_t) object;

    return (unsigned) (((key >> 4) ^ (key >> 16) ^ (uintptr_t) kind) %
                       TIMER_BUCKETS);
}

static QMGR_TIMER **
find_slot(SCHED_TIMER_KIND kind, const void *object)
{
    QMGR_TIMER **slot = &buckets[bucket_of(kind, object)];

    while (*slot && ((*slot)->kind != kind || (*slot)->object != object))
        slot = &(*slot)->next;
    return slot;
}

static void
unlink_timer(QMGR_TIMER **slot)
{
    QMGR_TIMER *t = *slot;

    *slot = t->next;
    event_free(t->ev);
    xfree(t);
}

static void
timer_fired(evutil_socket_t fd, short what, void *arg)
{
    QMGR_TIMER *t = arg;
    SCHED_TIMER_KIND kind = t->kind;
    void *object = t->object;

    unlink_timer(find_slot(kind, object));
    timer_qmgr->now = time(NULL);
    sched_timer_expired(timer_qmgr->sched, kind, object);
}

void
qmgr_timer_init(QMGR *q)
{
    timer_qmgr = q;
}

void
qmgr_set_timer(void *context, SCHED_TIMER_KIND kind, void *object, int seconds)
{
    QMGR *q = context;
    QMGR_TIMER **slot = find_slot(kind, object);
    struct timeval tv = {seconds > 0 ? seconds : 0, 0};
    QMGR_TIMER *t;

    if (*slot)
        unlink_timer(slot);
    t = xcalloc(1, sizeof(*t));
    t->kind = kind;
    t->object = object;
    t->ev = evtimer_new(q->base, timer_fired, t);
    t->next = buckets[bucket_of(kind, object)];
    buckets[bucket_of(kind, object)] = t;
    evtimer_add(t->ev, &tv);
}

void
qmgr_cancel_timer(void *context, SCHED_TIMER_KIND kind, void *object)
{
    QMGR_TIMER **slot = find_slot(kind, object);

    if (*slot)
        unlink_timer(slot);
}

void
qmgr_timer_free(void)
{
    for (int i = 0; i < TIMER_BUCKETS; i++)
        while (buckets[i])
            unlink_timer(&buckets[i]);
}

static void
heartbeat(evutil_socket_t fd, short what, void *arg)
{
    QMGR *q = arg;

    qmgr_request_scan(q, QMGR_DEFERRED, SCAN_START);
}

void
qmgr_heartbeat_start(QMGR *q)
{
    struct timeval tv = {q->set.queue_run_delay, 0};

    q->heartbeat = event_new(q->base, -1, EV_PERSIST, heartbeat, q);
    event_add(q->heartbeat, &tv);
    qmgr_request_scan(q, QMGR_DEFERRED, SCAN_START);
}
