/*
 * sched_feedback - concurrency window arithmetic (spec 3.7, 3.8).
 *
 * Pure arithmetic on a queue's window and its accumulators; the side
 * effects of a window reaching 0 (reason, timer, deferral) belong to
 * sched_queue.c.
 *
 *  sched_feedback_parse(name, value, &fb)  main.cf syntax "x", "x/y",
 *      "x/concurrency" (see sched.h)
 *  sched_feedback_value(&fb, window)  the feedback amount at this window;
 *      an unreasonable setting counts as 1
 *  sched_feedback_positive(s, q)      a delivery completed without a
 *      hop-level problem: slow start, capped by busy + initial concurrency
 *      and by the concurrency limit; fail cohorts reset
 *  sched_feedback_negative(s, q)      a hop-level failure: add 1/window to
 *      the fail cohorts; returns 1 when that declares the queue dead
 *      (window 0), else lowers the window (never below 1) and returns 0
 *
 *  sched_feedback_log_window(s, q, myname)  with
 *      destination_concurrency_feedback_debug, log the queue's window and
 *      accumulators as Postfix does (not for retry and error)
 *
 * Both loops keep Postfix's half-feedback slack: with feedback 1 and
 * failure 0, the first failure lowers the window by 2.  The hysteresis is
 * fixed at 1.
 */
#include <stdio.h>
#include <string.h>

#include "feedback.h"
#include "msg.h"
#include "sched_impl.h"

#define FEEDBACK_HYSTERESIS 1.0

/* The syntax is main.cf's; conf/feedback.c parses it for both. */
int
sched_feedback_parse(const char *name, const char *value, SCHED_FEEDBACK *fb)
{
    CF_FEEDBACK parsed;
    int ret = cf_feedback_parse(value, &parsed);

    if (ret < 0)
        msg_warn("%s: ignoring malformed or unreasonable feedback: %s", name,
                 value);
    fb->numerator = parsed.base;
    fb->denominator = 1;
    fb->per_concurrency = parsed.per_concurrency;
    return ret;
}

/* The configured base value, or 1 when it is not in [0,1]. */
static double
feedback_base(const SCHED_FEEDBACK *fb)
{
    double base;

    if (fb->per_concurrency || fb->denominator == 0)
        base = fb->numerator;
    else
        base = fb->numerator / fb->denominator;
    return base >= 0 && base <= 1 ? base : 1;
}

double
sched_feedback_value(const SCHED_FEEDBACK *fb, int window)
{
    double base = feedback_base(fb);

    if (fb->per_concurrency && window > 0)
        return base / window;
    return base;
}

/* Feedback debug logging is not done for the retry and error transports. */
static int
debug_wanted(SCHED *s, SCHED_QUEUE *q)
{
    return s->globals.feedback_debug && !sched_is_error_transport(q->transport);
}

static void
log_feedback(SCHED *s, SCHED_QUEUE *q, const char *myname, double feedback)
{
    if (debug_wanted(s, q))
        msg_info("%s: feedback %g", myname, feedback);
}

void
sched_feedback_log_window(SCHED *s, SCHED_QUEUE *q, const char *myname)
{
    if (debug_wanted(s, q))
        msg_info("%s: queue %s: limit %d window %d success %g failure %g "
                 "fail_cohorts %g",
                 myname, q->name, q->transport->params.dest_concurrency_limit,
                 q->window, q->success, q->failure, q->fail_cohorts);
}

void
sched_feedback_positive(SCHED *s, SCHED_QUEUE *q)
{
    static const char myname[] = "qmgr_queue_unthrottle";
    const SCHED_TRANSPORT_PARAMS *p = &q->transport->params;
    int busy = sched_list_count(&q->busy);
    double feedback;

    if ((p->dest_concurrency_limit == 0 ||
         q->window < p->dest_concurrency_limit) &&
        q->window < busy + p->init_dest_concurrency) {
        feedback = sched_feedback_value(&p->pos_feedback, q->window);
        log_feedback(s, q, myname, feedback);
        q->success += feedback;
        while (q->success + feedback / 2 >= FEEDBACK_HYSTERESIS) {
            q->window += 1;
            q->success -= FEEDBACK_HYSTERESIS;
            q->failure = 0;
        }
        if (p->dest_concurrency_limit > 0 &&
            q->window > p->dest_concurrency_limit)
            q->window = p->dest_concurrency_limit;
    }
    q->fail_cohorts = 0;
    sched_feedback_log_window(s, q, myname);
}

int
sched_feedback_negative(SCHED *s, SCHED_QUEUE *q)
{
    static const char myname[] = "qmgr_queue_throttle";
    const SCHED_TRANSPORT_PARAMS *p = &q->transport->params;
    double feedback = sched_feedback_value(&p->neg_feedback, q->window);
    int dead = 0;

    q->fail_cohorts += 1.0 / q->window;
    if (p->fail_cohort_limit > 0 && q->fail_cohorts >= p->fail_cohort_limit) {
        q->window = SCHED_QUEUE_STAT_THROTTLED;
        dead = 1;
    } else {
        log_feedback(s, q, myname, feedback);
        q->failure -= feedback;
        while (q->failure - feedback / 2 < 0) {
            q->window -= 1;
            q->success = 0;
            q->failure += FEEDBACK_HYSTERESIS;
        }
        if (q->window < 1)
            q->window = 1;
    }
    sched_feedback_log_window(s, q, myname);
    return dead;
}
