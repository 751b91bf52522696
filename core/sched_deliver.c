/*
 * sched_deliver - agent connections and delivery completion (spec 3.1,
 * 3.2, 4.1, 4.3).  The public functions are documented in sched.h.
 *
 * An agent that crashes (no reply, or a malformed one) only marks the
 * message for deferral: no feedback for the destination, no throttling of
 * the transport.  That is what Postfix 3.7.11's binaries do (tested by the
 * parity scenario agent_crash); spec 4.1 describes a negative feedback
 * with "4.3.0 unknown mail transport error" that they do not apply.
 *
 * Deviation from Postfix (spec 3.9, "uncertain, apparent latent defect"):
 * RATE_LOCK is also cleared when a connection finds no entry to deliver
 * and when an agent crashes.  Postfix leaves the transport frozen until a
 * later revival in those two cases.
 */
#include <ctype.h>
#include <string.h>

#include "msg.h"
#include "strbuf.h"
#include "xalloc.h"
#include "sched_impl.h"

#define UNAVAILABLE_STATUS "4.3.0"
#define UNAVAILABLE_REASON "mail transport unavailable"
#define SUSPENDED_PREFIX   "delivery temporarily suspended: "

SCHED_TRANSPORT *
sched_select_transport(SCHED *s)
{
    SCHED_TRANSPORT *t;

    sched_enter(s);
    if ((t = sched_transport_select(s)) != NULL) {
        if (t->params.transport_rate_delay > 0)
            t->flags |= SCHED_TRANSPORT_RATE_LOCK;
        t->pending++;
    }
    sched_leave(s);
    return t;
}

static void
connection_ended(SCHED_TRANSPORT *t)
{
    if (t->pending <= 0)
        msg_panic("transport %s: no connection is pending", t->name);
    t->pending--;
}

void
sched_transport_connected(SCHED *s, SCHED_TRANSPORT *t)
{
    sched_enter(s);
    connection_ended(t);
    sched_leave(s);
}

static void
transport_broken(SCHED *s, SCHED_TRANSPORT *t, const char *status,
                 const char *reason)
{
    if (status == NULL || *status == 0)
        status = UNAVAILABLE_STATUS;
    if (reason == NULL || *reason == 0)
        reason = UNAVAILABLE_REASON;
    sched_transport_throttle(s, t, status, reason);
    sched_defer_transport(s, t, status, reason);
}

void
sched_transport_connect_failed(SCHED *s, SCHED_TRANSPORT *t, time_t now)
{
    sched_enter(s);
    s->now = now;
    connection_ended(t);
    transport_broken(s, t, NULL, NULL);
    sched_leave(s);
}

void
sched_transport_broken(SCHED *s, SCHED_TRANSPORT *t, const char *status,
                       const char *reason, time_t now)
{
    sched_enter(s);
    s->now = now;
    transport_broken(s, t, status, reason);
    sched_leave(s);
}

SCHED_ENTRY *
sched_choose_entry(SCHED *s, SCHED_TRANSPORT *t, time_t now)
{
    SCHED_ENTRY *e;

    sched_enter(s);
    s->now = now;
    if ((e = s->policy->choose_entry(s, t)) == NULL)
        t->flags &= ~SCHED_TRANSPORT_RATE_LOCK; /* deviation, see above */
    sched_leave(s);
    return e;
}

int
sched_entry_flags(const SCHED_ENTRY *e)
{
    return e->queue->dflags;
}

void
sched_entry_unselect(SCHED *s, SCHED_ENTRY *e)
{
    sched_enter(s);
    s->policy->unselect_entry(s, e);
    sched_leave(s);
}

/* Postfix's dsn_valid(): "[245].d{1,3}.d{1,3}" at the start of text. */
static int
dsn_status_valid(const char *text)
{
    const unsigned char *cp = (const unsigned char *) text;
    int len;

    if (*cp != '2' && *cp != '4' && *cp != '5')
        return 0;
    if (*++cp != '.')
        return 0;
    for (len = 0, cp++; isdigit(*cp); cp++)
        len++;
    if (len == 0 || len > 3 || *cp != '.')
        return 0;
    for (len = 0, cp++; isdigit(*cp); cp++)
        len++;
    return len > 0 && len <= 3;
}

/*
 * A hop-level problem: sanitize the agent's status, prefix its reason,
 * give negative feedback, and defer the todo list if the queue died.
 * Returns the new (non-empty) reason, which the caller frees.
 */
static char *
hop_failure(SCHED *s, SCHED_QUEUE *q, const char *status, const char *reason)
{
    STRBUF *full = strbuf_alloc(100);

    if (!dsn_status_valid(status))
        status = "4.0.0";
    if (reason == NULL || *reason == 0)
        reason = "unknown error";
    strbuf_addf(full, "%s%s", SUSPENDED_PREFIX, reason);
    if (SCHED_QUEUE_READY(q)) {
        sched_queue_throttle(s, q, status, strbuf_str(full));
        if (SCHED_QUEUE_THROTTLED(q))
            sched_defer_todo(s, q, q->dsn_status, q->dsn_reason);
    }
    return strbuf_steal(full);
}

void
sched_delivery_done(SCHED *s, SCHED_ENTRY *e, const SCHED_REPLY *reply,
                    time_t now)
{
    SCHED_QUEUE *q = e->queue;
    SCHED_TRANSPORT *t = q->transport;
    const char *status = reply->hop_status ? reply->hop_status : "";
    const char *reason = reply->hop_reason ? reply->hop_reason : "";
    char *new_reason = NULL;

    sched_enter(s);
    s->now = now;
    if (!e->busy)
        msg_panic("sched_delivery_done: entry of %s is not busy", q->name);
    if (reply->crashed || reply->status != 0)
        e->message->flags |= 1;
    if (!reply->crashed && reply->status != 0 && *status)
        reason = new_reason = hop_failure(s, q, status, reason);
    if (!reply->crashed) {
        sched_transport_unthrottle(s, t);
        if (*reason == 0)
            sched_queue_unthrottle(s, q);
    } else {
        t->flags &= ~SCHED_TRANSPORT_RATE_LOCK; /* deviation, see above */
    }
    xfree(new_reason);
    sched_entry_done(s, e, SCHED_ENTRY_BUSY);
    sched_leave(s);
}
