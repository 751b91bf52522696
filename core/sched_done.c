/*
 * sched_done - message completion decisions (spec 4.6-4.10).  The public
 * functions are documented in sched.h.
 *
 *  sched_backoff_delay  age since create time, clamped to the maximum
 *      first and then to the minimum (the minimum wins when min > max);
 *      the minimum when there is no create time
 *  sched_expired        FORCE_EXPIRE, or now >= create_time + lifetime,
 *      where the lifetime is bounce_queue_lifetime for an empty sender
 *  sched_warning_due    W > 0 and now >= W - 1
 *  sched_done_next / sched_done_status  the completion pipeline as a
 *      state machine over message->done_stage; it logs Postfix's
 *      "ID: from=<sender>, status=expired, returned to sender" line when it
 *      decides on expiry
 *  sched_is_double_bounce  whole local part equals double_bounce_sender,
 *      case-insensitively, any domain
 */
#include <string.h>
#include <strings.h>

#include "msg.h"
#include "sched_impl.h"

/* Pipeline cursor values (message->done_stage). */
#define STAGE_BOUNCE   0
#define STAGE_CORRUPT  1
#define STAGE_REFILL   2
#define STAGE_TRACE    3
#define STAGE_EXPIRE   4
#define STAGE_FINAL    5
#define STAGE_FINISHED 6

int
sched_backoff_delay(SCHED *s, time_t create_time, time_t now)
{
    const SCHED_GLOBALS *g = &s->globals;
    time_t delay;

    if (create_time <= 0)
        return g->min_backoff_time;
    delay = now - create_time;
    if (delay > g->max_backoff_time)
        delay = g->max_backoff_time;
    if (delay < g->min_backoff_time)
        delay = g->min_backoff_time;
    return (int) delay;
}

int
sched_expired(SCHED *s, const SCHED_MESSAGE *m, time_t now)
{
    int lifetime;

    if (m->qflags & SCHED_FORCE_EXPIRE)
        return SCHED_FORCE_EXPIRED;
    lifetime = *m->sender ? s->globals.max_queue_lifetime
                          : s->globals.bounce_queue_lifetime;
    if (now >= m->create_time + lifetime)
        return SCHED_EXPIRED;
    return SCHED_NOT_EXPIRED;
}

int
sched_warning_due(const SCHED_MESSAGE *m, time_t now)
{
    return m->warn_time > 0 && now >= m->warn_time - 1;
}

int
sched_is_double_bounce(SCHED *s, const char *address)
{
    const char *at = strrchr(address, '@');
    size_t len = at ? (size_t) (at - address) : strlen(address);
    const char *dbs = s->globals.double_bounce_sender;

    return strlen(dbs) == len && strncasecmp(address, dbs, len) == 0;
}

/* Step 5: expiry wins over a delay warning; both need a deferral. */
static int
expire_or_warn(SCHED *s, SCHED_MESSAGE *m, time_t now, SCHED_DONE_STEP *step)
{
    int expired;

    if (m->flags == 0)
        return 0;
    if ((expired = sched_expired(s, m, now)) != SCHED_NOT_EXPIRED) {
        msg_info("%s: from=<%s>, status=%s, returned to sender", m->queue_id,
                 m->sender,
                 expired == SCHED_FORCE_EXPIRED ? "force-expired" : "expired");
        *step = SCHED_DONE_EXPIRE;
        return 1;
    }
    if (sched_warning_due(m, now)) {
        *step = SCHED_DONE_WARN;
        return 1;
    }
    return 0;
}

SCHED_DONE_STEP
sched_done_next(SCHED *s, SCHED_MESSAGE *m, time_t now)
{
    SCHED_DONE_STEP step;

    if (m->refcount != 0)
        msg_panic("sched_done_next: %s: refcount %d", m->queue_id, m->refcount);
    for (;;) {
        switch (m->done_stage) {
            case STAGE_BOUNCE:
                m->done_stage = STAGE_CORRUPT;
                return SCHED_DONE_BOUNCE;
            case STAGE_CORRUPT:
                m->done_stage = STAGE_REFILL;
                if (m->flags != 0)
                    return SCHED_DONE_CORRUPT_CHECK;
                break;
            case STAGE_REFILL:
                if (m->unread) {
                    m->done_stage = STAGE_BOUNCE;
                    return SCHED_DONE_REFILL;
                }
                m->done_stage = STAGE_TRACE;
                break;
            case STAGE_TRACE:
                m->done_stage = STAGE_EXPIRE;
                if (m->trace_wanted)
                    return SCHED_DONE_TRACE;
                break;
            case STAGE_EXPIRE:
                m->done_stage = STAGE_FINAL;
                if (expire_or_warn(s, m, now, &step))
                    return step;
                break;
            case STAGE_FINAL:
                m->done_stage = STAGE_FINISHED;
                return m->flags ? SCHED_DONE_DEFER : SCHED_DONE_REMOVE;
            default:
                msg_panic("sched_done_next: %s: pipeline already finished",
                          m->queue_id);
        }
    }
}

void
sched_done_status(SCHED_MESSAGE *m, SCHED_DONE_STEP step, int status)
{
    switch (step) {
        case SCHED_DONE_BOUNCE:
        case SCHED_DONE_TRACE:
            m->flags |= status;
            break;
        case SCHED_DONE_EXPIRE:
            m->flags = status;
            break;
        default:
            break;
    }
}
