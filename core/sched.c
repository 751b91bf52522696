/*
 * sched - scheduler creation, counters, notifications, timers and the "F"
 * flush (sched.h, sched_impl.h).
 */
#include <string.h>

#include "msg.h"
#include "xalloc.h"
#include "sched_impl.h"

void
sched_globals_default(SCHED_GLOBALS *g)
{
    memset(g, 0, sizeof(*g));
    g->active_limit = 20000;
    g->recipient_limit = 20000;
    g->recipient_minimum = 10;
    g->fudge_factor = 100;
    g->min_backoff_time = 300;
    g->max_backoff_time = 4000;
    g->max_queue_lifetime = 5 * 86400;
    g->bounce_queue_lifetime = 5 * 86400;
    g->transport_retry_time = 60;
    g->clog_warn_time = 300;
    g->helpful_warnings = 1;
    g->feedback_debug = 0;
    g->owner_request_special = 1;
    g->defer_transports = "";
    g->double_bounce_sender = "double-bounce";
    g->recipient_delimiter = "";
}

static char *
copy_or_empty(const char *str)
{
    return xstrdup(str ? str : "");
}

/* Split defer_transports on commas and white space (2.9 step 7). */
static void
split_defer_transports(SCHED *s)
{
    static const char sep[] = " \t\r\n,";
    char *copy = xstrdup(s->defer_transports);
    char *save = NULL;
    int alloc = 4;

    s->defer_xport_argv = xmalloc(alloc * sizeof(char *));
    s->defer_xport_count = 0;
    for (char *tok = strtok_r(copy, sep, &save); tok;
         tok = strtok_r(NULL, sep, &save)) {
        if (s->defer_xport_count == alloc) {
            alloc *= 2;
            s->defer_xport_argv =
                xrealloc(s->defer_xport_argv, alloc * sizeof(char *));
        }
        s->defer_xport_argv[s->defer_xport_count++] = xstrdup(tok);
    }
    xfree(copy);
}

/* The start-up sanity adjustments of qmgr (1.9). */
static void
sanitize_globals(SCHED_GLOBALS *g)
{
    if (g->active_limit < 1)
        g->active_limit = 1;
    if (g->recipient_limit < g->active_limit) {
        msg_warn("%s is smaller than %s - adjusting %s",
                 "qmgr_message_recipient_limit", "qmgr_message_active_limit",
                 "qmgr_message_recipient_limit");
        g->recipient_limit = g->active_limit;
    }
    if (g->bounce_queue_lifetime > g->max_queue_lifetime) {
        msg_warn("%s is larger than %s - adjusting %s", "bounce_queue_lifetime",
                 "maximal_queue_lifetime", "bounce_queue_lifetime");
        g->bounce_queue_lifetime = g->max_queue_lifetime;
    }
    if (g->fudge_factor < 10)
        g->fudge_factor = 10;
    if (g->fudge_factor > 100)
        g->fudge_factor = 100;
}

static const SCHED_POLICY *
find_policy(const char *name)
{
    if (name == NULL || strcmp(name, "oqmgr") == 0)
        return sched_policy_oqmgr();
    if (strcmp(name, "qmgr") == 0 || strcmp(name, "nqmgr") == 0)
        return sched_policy_qmgr();
    return NULL;
}

SCHED *
sched_create(const SCHED_GLOBALS *globals, const SCHED_OPS *ops,
             const char *policy_name)
{
    const SCHED_POLICY *policy = find_policy(policy_name);
    SCHED *s;

    if (policy == NULL)
        return NULL;
    s = xcalloc(1, sizeof(*s));
    s->globals = *globals;
    s->defer_transports = copy_or_empty(globals->defer_transports);
    s->double_bounce_sender = copy_or_empty(globals->double_bounce_sender);
    s->recipient_delimiter = copy_or_empty(globals->recipient_delimiter);
    s->globals.defer_transports = s->defer_transports;
    s->globals.double_bounce_sender = s->double_bounce_sender;
    s->globals.recipient_delimiter = s->recipient_delimiter;
    sanitize_globals(&s->globals);
    split_defer_transports(s);
    if (ops)
        s->ops = *ops;
    s->policy = policy;
    s->transport_byname = sched_htable_create(16);
    sched_list_init(&s->transport_list);
    sched_list_init(&s->message_list);
    sched_list_init(&s->notify_list);
    return s;
}

void
sched_destroy(SCHED *s)
{
    SCHED_TRANSPORT *t;

    if (s == NULL)
        return;
    if (s->policy->destroy)
        s->policy->destroy(s);
    while ((t = sched_list_first(&s->transport_list)) != NULL)
        sched_transport_free(s, t);
    sched_message_free_all(s);
    sched_htable_free(s->transport_byname);
    for (int i = 0; i < s->defer_xport_count; i++)
        xfree(s->defer_xport_argv[i]);
    xfree(s->defer_xport_argv);
    xfree(s->defer_transports);
    xfree(s->double_bounce_sender);
    xfree(s->recipient_delimiter);
    xfree(s);
}

/*
 * Public calls nest (a callback may call back in); notifications run when
 * the outermost call is about to return.
 */
void
sched_enter(SCHED *s)
{
    s->depth++;
}

void
sched_leave(SCHED *s)
{
    if (s->depth <= 0)
        msg_panic("sched_leave: unbalanced call");
    if (s->depth == 1)
        sched_message_run_notifications(s);
    s->depth--;
}

void
sched_request_timer(SCHED *s, SCHED_TIMER_KIND kind, void *object, int seconds)
{
    if (s->ops.set_timer)
        s->ops.set_timer(s->ops.context, kind, object, seconds);
}

void
sched_cancel_timer(SCHED *s, SCHED_TIMER_KIND kind, void *object)
{
    if (s->ops.cancel_timer)
        s->ops.cancel_timer(s->ops.context, kind, object);
}

void
sched_timer_expired(SCHED *s, SCHED_TIMER_KIND kind, void *object)
{
    sched_enter(s);
    switch (kind) {
        case SCHED_TIMER_QUEUE_REVIVE:
            sched_queue_revive_timer(s, object);
            break;
        case SCHED_TIMER_QUEUE_RESUME:
            sched_queue_resume(s, object);
            break;
        case SCHED_TIMER_TRANSPORT_REVIVE:
            sched_transport_unthrottle(s, object);
            break;
        default:
            msg_panic("sched_timer_expired: unknown timer kind %d", (int) kind);
    }
    sched_leave(s);
}

/* "F": revive every dead transport and queue, drop empty queues (4.4). */
void
sched_flush_dead(SCHED *s)
{
    SCHED_TRANSPORT *t;
    SCHED_QUEUE *q;
    SCHED_QUEUE *next;

    sched_enter(s);
    for (t = sched_list_first(&s->transport_list); t;
         t = sched_list_next(&s->transport_list, &t->peers)) {
        if (t->flags & SCHED_TRANSPORT_DEAD)
            sched_transport_unthrottle(s, t);
        for (q = sched_list_first(&t->queue_list); q; q = next) {
            next = sched_list_next(&t->queue_list, &q->peers);
            sched_queue_enable(s, q);
        }
    }
    sched_leave(s);
}

int
sched_message_count(const SCHED *s)
{
    return s->message_count;
}

int
sched_recipient_count(const SCHED *s)
{
    return s->recipient_count;
}

int
sched_queue_count(const SCHED *s)
{
    return s->queue_count;
}

int
sched_can_admit(SCHED *s)
{
    return s->policy->can_admit(s);
}

int
sched_batch_limit(SCHED *s, SCHED_MESSAGE *m)
{
    return s->policy->batch_limit(s, m);
}
