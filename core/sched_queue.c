/*
 * sched_queue - per-destination queues (spec 1.3, 2.9 steps 10-11, 3.8,
 * 3.9, 4.2).
 *
 *  sched_queue_create(s, t, name, nexthop)  new READY queue, window =
 *      initial concurrency, appended at the tail of t's queue list
 *  sched_queue_find(t, name)          lookup by (lower-cased) name
 *  sched_queue_obtain(s, t, name, nexthop)  find or create
 *  sched_queue_idle(q)                no todo, no busy, no batch binding
 *  sched_queue_done(s, q)             destroy an idle READY queue
 *  sched_queue_free(s, q)             scheduler destruction only
 *  sched_queue_throttle(s, q, status, reason)  negative feedback on a READY
 *      queue; when that kills it: keep the reason, clear the cache hints,
 *      start the minimal_backoff_time revive timer
 *  sched_queue_unthrottle(s, q)       a dead queue is revived (window =
 *      busy, or the initial concurrency; accumulators zeroed); a READY one
 *      gets positive feedback; a suspended one is left alone
 *  sched_queue_suspend(s, q, delay)   rate delay: window -1 and a timer
 *  sched_queue_resume(s, q)           the rate delay is over: window 1;
 *      destroyed when idle, otherwise the policy is told
 *  sched_queue_revive_timer(s, q)     the dead timer went off: revive,
 *      destroy when idle
 *  sched_queue_enable(s, q)           "F" for one queue: revive a dead
 *      one, destroy an idle READY one
 *  sched_queue_name(s, t, address, nexthop)  step 10 naming: nexthop, or
 *      localpart@nexthop (extension stripped at recipient_delimiter) for
 *      a transport with recipient limit 1 other than retry/error; always
 *      lower-cased.  Returns a new string.
 *  sched_error_queue(s, service, status, reason)  the retry/error queue
 *      named "<status> <reason>" (not lower-cased), created as needed, or
 *      NULL when that transport or queue is dead
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "msg.h"
#include "strbuf.h"
#include "xalloc.h"
#include "sched_impl.h"

SCHED_QUEUE *
sched_queue_create(SCHED *s, SCHED_TRANSPORT *t, const char *name,
                   const char *nexthop)
{
    SCHED_QUEUE *q = xcalloc(1, sizeof(*q));

    q->name = xstrdup(name);
    q->nexthop = xstrdup(nexthop);
    q->transport = t;
    q->window = t->params.init_dest_concurrency;
    sched_list_init(&q->todo);
    sched_list_init(&q->busy);
    sched_list_append(&t->queue_list, &q->peers, q);
    sched_htable_enter(t->queue_byname, q->name, q);
    s->queue_count++;
    return q;
}

SCHED_QUEUE *
sched_queue_find(SCHED_TRANSPORT *t, const char *name)
{
    return sched_htable_find(t->queue_byname, name);
}

SCHED_QUEUE *
sched_queue_obtain(SCHED *s, SCHED_TRANSPORT *t, const char *name,
                   const char *nexthop)
{
    SCHED_QUEUE *q = sched_queue_find(t, name);

    return q ? q : sched_queue_create(s, t, name, nexthop);
}

int
sched_queue_idle(const SCHED_QUEUE *q)
{
    return sched_list_empty(&q->todo) && sched_list_empty(&q->busy) &&
           q->bind_count == 0;
}

static void
clear_reason(SCHED_QUEUE *q)
{
    xfree(q->dsn_status);
    xfree(q->dsn_reason);
    q->dsn_status = q->dsn_reason = NULL;
}

static void
unlink_and_free(SCHED *s, SCHED_QUEUE *q)
{
    SCHED_TRANSPORT *t = q->transport;

    sched_list_unlink(&t->queue_list, &q->peers);
    sched_htable_delete(t->queue_byname, q->name);
    s->queue_count--;
    clear_reason(q);
    xfree(q->name);
    xfree(q->nexthop);
    xfree(q);
}

void
sched_queue_done(SCHED *s, SCHED_QUEUE *q)
{
    if (!sched_queue_idle(q))
        msg_panic("sched_queue_done: queue %s is in use", q->name);
    if (!SCHED_QUEUE_READY(q))
        msg_panic("sched_queue_done: queue %s: window %d", q->name, q->window);
    unlink_and_free(s, q);
}

void
sched_queue_free(SCHED *s, SCHED_QUEUE *q)
{
    SCHED_ENTRY *e;

    while ((e = sched_list_first(&q->todo)) != NULL) {
        sched_list_unlink(&q->todo, &e->peers);
        sched_entry_destroy(e);
    }
    while ((e = sched_list_first(&q->busy)) != NULL) {
        sched_list_unlink(&q->busy, &e->peers);
        sched_entry_destroy(e);
    }
    if (SCHED_QUEUE_THROTTLED(q))
        sched_cancel_timer(s, SCHED_TIMER_QUEUE_REVIVE, q);
    else if (SCHED_QUEUE_SUSPENDED(q))
        sched_cancel_timer(s, SCHED_TIMER_QUEUE_RESUME, q);
    unlink_and_free(s, q);
}

void
sched_queue_throttle(SCHED *s, SCHED_QUEUE *q, const char *status,
                     const char *reason)
{
    if (!SCHED_QUEUE_READY(q))
        msg_panic("sched_queue_throttle: queue %s: window %d", q->name,
                  q->window);
    if (sched_feedback_negative(s, q)) {
        q->dsn_status = xstrdup(status);
        q->dsn_reason = xstrdup(reason);
        q->dflags = 0;
        sched_request_timer(s, SCHED_TIMER_QUEUE_REVIVE, q,
                            s->globals.min_backoff_time);
    }
}

/* Bring a dead queue back (3.8 "Revival"). */
static void
revive(SCHED *s, SCHED_QUEUE *q)
{
    int busy = sched_list_count(&q->busy);

    sched_cancel_timer(s, SCHED_TIMER_QUEUE_REVIVE, q);
    clear_reason(q);
    q->window = busy > 0 ? busy : q->transport->params.init_dest_concurrency;
    q->success = q->failure = q->fail_cohorts = 0;
    sched_feedback_log_window(s, q, "qmgr_queue_unthrottle");
}

void
sched_queue_unthrottle(SCHED *s, SCHED_QUEUE *q)
{
    if (SCHED_QUEUE_THROTTLED(q))
        revive(s, q);
    else if (SCHED_QUEUE_READY(q))
        sched_feedback_positive(s, q);
}

void
sched_queue_suspend(SCHED *s, SCHED_QUEUE *q, int delay)
{
    if (!SCHED_QUEUE_READY(q))
        msg_panic("sched_queue_suspend: queue %s: window %d", q->name,
                  q->window);
    q->window = SCHED_QUEUE_STAT_SUSPENDED;
    sched_request_timer(s, SCHED_TIMER_QUEUE_RESUME, q, delay);
}

void
sched_queue_resume(SCHED *s, SCHED_QUEUE *q)
{
    if (!SCHED_QUEUE_SUSPENDED(q))
        msg_panic("sched_queue_resume: queue %s: window %d", q->name,
                  q->window);
    q->window = 1;
    if (sched_queue_idle(q))
        sched_queue_done(s, q);
    else if (s->policy->queue_resumed)
        s->policy->queue_resumed(s, q);
}

void
sched_queue_revive_timer(SCHED *s, SCHED_QUEUE *q)
{
    sched_queue_unthrottle(s, q);
    if (SCHED_QUEUE_READY(q) && sched_queue_idle(q))
        sched_queue_done(s, q);
}

void
sched_queue_enable(SCHED *s, SCHED_QUEUE *q)
{
    if (SCHED_QUEUE_THROTTLED(q))
        sched_queue_unthrottle(s, q);
    if (SCHED_QUEUE_READY(q) && sched_queue_idle(q))
        sched_queue_done(s, q);
}

/*
 * Cut an address extension off a local part, like Postfix's split_addr():
 * reserved names and (with owner_request_special and "-" as a delimiter)
 * owner-foo and foo-request stay whole, and so does a local part that
 * would become empty.
 */
static void
strip_extension(SCHED *s, char *localpart)
{
    const char *delims = s->globals.recipient_delimiter;
    size_t len;

    if (strcasecmp(localpart, "postmaster") == 0 ||
        strcasecmp(localpart, "MAILER-DAEMON") == 0 ||
        strcasecmp(localpart, s->globals.double_bounce_sender) == 0)
        return;
    if (strchr(delims, '-') != NULL && s->globals.owner_request_special) {
        len = strlen(localpart);
        if (strncasecmp(localpart, "owner-", 6) == 0)
            return;
        if (len > 8 && strcasecmp(localpart + len - 8, "-request") == 0)
            return;
    }
    len = strcspn(localpart, delims);
    if (len > 0 && localpart[len] != 0)
        localpart[len] = 0;
}

static void
lowercase(char *str)
{
    for (; *str; str++)
        *str = (char) tolower((unsigned char) *str);
}

char *
sched_queue_name(SCHED *s, const SCHED_TRANSPORT *t, const char *address,
                 const char *nexthop)
{
    STRBUF *name = strbuf_alloc(64);

    if (!sched_is_error_transport(t) && t->params.dest_recipient_limit == 1) {
        const char *at = strrchr(address, '@');
        char *localpart =
            xstrndup(address, at ? (size_t) (at - address) : strlen(address));

        if (*s->globals.recipient_delimiter)
            strip_extension(s, localpart);
        strbuf_addstr(name, localpart);
        strbuf_addch(name, '@');
        xfree(localpart);
    }
    strbuf_addstr(name, nexthop);
    lowercase(strbuf_str(name));
    return strbuf_steal(name);
}

SCHED_QUEUE *
sched_error_queue(SCHED *s, const char *service, const char *status,
                  const char *reason)
{
    SCHED_TRANSPORT *t = sched_error_transport(s, service);
    SCHED_QUEUE *q;
    STRBUF *nexthop;

    if (t == NULL)
        return NULL;
    nexthop = strbuf_alloc(64);
    strbuf_addf(nexthop, "%s %s", status, reason);
    q = sched_queue_obtain(s, t, strbuf_str(nexthop), strbuf_str(nexthop));
    strbuf_free(nexthop);
    return SCHED_QUEUE_THROTTLED(q) ? NULL : q;
}
