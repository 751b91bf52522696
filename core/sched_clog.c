/*
 * sched_clog - "clogging" warnings (spec 4.11).
 *
 *  sched_clog_check(s, q)  called when an entry is added to q.  With
 *      helpful_warnings and qmgr_clog_warn_time > 0: when q holds more than
 *      qmgr_message_active_limit / 5 entries (todo + busy) and its next
 *      warning time has come, log Postfix's warning, one hint, and the
 *      closing lines, then hold further warnings for q until
 *      now + qmgr_clog_warn_time.
 */
#include "msg.h"
#include "sched_impl.h"

/* The one hint that best explains why q backs up. */
static void
warn_hint(SCHED *s, SCHED_QUEUE *q, double active_share)
{
    SCHED_TRANSPORT *t = q->transport;
    int limit = t->params.dest_concurrency_limit;

    if (limit > 0 && limit <= sched_list_count(&q->busy) + 1) {
        msg_warn("you may need to increase the main.cf %s%s from %d", t->name,
                 "_destination_concurrency_limit", limit);
    } else if (q->window > s->globals.active_limit * active_share) {
        msg_warn("you may need to increase the main.cf %s from %d",
                 "qmgr_message_active_limit", s->globals.active_limit);
    } else if (sched_list_count(&t->queue_list) > 1) {
        msg_warn("you may need a separate master.cf transport for %s",
                 q->nexthop);
    } else {
        msg_warn("you may need to reduce %s connect and helo timeouts",
                 t->name);
        msg_warn("so that Postfix quickly skips unavailable hosts");
        msg_warn("you may need to increase the main.cf %s and %s",
                 "minimal_backoff_time", "maximal_backoff_time");
        msg_warn("so that Postfix wastes less time on undeliverable mail");
        msg_warn("you may need to increase the master.cf %s process limit",
                 t->name);
    }
}

void
sched_clog_check(SCHED *s, SCHED_QUEUE *q)
{
    const SCHED_GLOBALS *g = &s->globals;
    int length;
    double active_share;

    if (!g->helpful_warnings || g->clog_warn_time <= 0)
        return;
    length = sched_list_count(&q->todo) + sched_list_count(&q->busy);
    if (length <= g->active_limit / 5 || s->now < q->clog_time_to_warn)
        return;
    active_share =
        length / (double) (s->message_count > 0 ? s->message_count : 1);
    msg_warn("mail for %s is using up %d of %d active queue entries",
             q->nexthop, length, s->message_count);
    if (active_share < 0.9)
        msg_warn("this may slow down other mail deliveries");
    warn_hint(s, q, active_share);
    msg_warn("please avoid flushing the whole queue when you have");
    msg_warn("lots of deferred mail, that is bad for performance");
    msg_warn("to turn off these warnings specify: %s = 0",
             "qmgr_clog_warn_time");
    q->clog_time_to_warn = s->now + g->clog_warn_time;
}
