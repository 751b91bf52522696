/*
 * sched_message - in-core messages and the notification list (spec 1.5,
 * 4.5 steps 9-10).
 *
 *  sched_message_create(s, &info)  a new message, counted in the leaky
 *      bucket (sched.h)
 *  sched_message_set_unread(m, n)  the file has more recipients to read
 *  sched_message_set_rcpt_unread(m, n)  [qmgr] the unread-recipient
 *      estimate (negative counts as 0)
 *  sched_message_free(s, m)        forget a message whose refcount is 0
 *  sched_message_notify(s, m)      queue m for its callbacks (refill
 *      and/or done); queued once however often it is asked
 *  sched_message_run_notifications(s)  call them, oldest first: first
 *      ops.message_refill when a refill was wanted and the file has unread
 *      recipients, then ops.message_done when the refcount is (still) 0.
 *      Runs until the list is empty, so callbacks may queue more.
 *  sched_message_free_all(s)       scheduler destruction
 */
#include "msg.h"
#include "xalloc.h"
#include "sched_impl.h"

SCHED_MESSAGE *
sched_message_create(SCHED *s, const SCHED_MESSAGE_INFO *info)
{
    SCHED_MESSAGE *m = xcalloc(1, sizeof(*m));

    m->context = info->context;
    m->queue_id = xstrdup(info->queue_id ? info->queue_id : "");
    m->sender = xstrdup(info->sender ? info->sender : "");
    m->create_time = info->create_time;
    m->warn_time = info->warn_time;
    m->qflags = info->qflags;
    m->single_rcpt = info->single_rcpt;
    m->trace_wanted = info->trace_wanted;
    sched_list_append(&s->message_list, &m->all_link, m);
    s->message_count++;
    return m;
}

void
sched_message_set_unread(SCHED_MESSAGE *m, int unread)
{
    m->unread = unread != 0;
}

void
sched_message_set_rcpt_unread(SCHED_MESSAGE *m, int count)
{
    m->rcpt_unread = count > 0 ? count : 0;
}

static void
message_release(SCHED *s, SCHED_MESSAGE *m)
{
    if (m->notify_pending) {
        sched_list_unlink(&s->notify_list, &m->notify_link);
        m->notify_pending = 0;
    }
    if (s->policy->message_free)
        s->policy->message_free(s, m);
    sched_list_unlink(&s->message_list, &m->all_link);
    s->message_count--;
    xfree(m->queue_id);
    xfree(m->sender);
    xfree(m);
}

void
sched_message_free(SCHED *s, SCHED_MESSAGE *m)
{
    if (m->refcount != 0)
        msg_panic("sched_message_free: %s: refcount %d", m->queue_id,
                  m->refcount);
    message_release(s, m);
}

void
sched_message_free_all(SCHED *s)
{
    SCHED_MESSAGE *m;

    while ((m = sched_list_first(&s->message_list)) != NULL)
        message_release(s, m);
}

void
sched_message_notify(SCHED *s, SCHED_MESSAGE *m)
{
    if (m->notify_pending)
        return;
    sched_list_append(&s->notify_list, &m->notify_link, m);
    m->notify_pending = 1;
}

static void
notify_one(SCHED *s, SCHED_MESSAGE *m)
{
    if (m->refill_wanted) {
        m->refill_wanted = 0;
        if (m->unread && s->ops.message_refill)
            s->ops.message_refill(s->ops.context, m);
    }
    if (m->refcount == 0) {
        m->done_stage = 0;
        if (s->ops.message_done)
            s->ops.message_done(s->ops.context, m);
    }
}

void
sched_message_run_notifications(SCHED *s)
{
    SCHED_MESSAGE *m;

    while ((m = sched_list_first(&s->notify_list)) != NULL) {
        sched_list_unlink(&s->notify_list, &m->notify_link);
        m->notify_pending = 0;
        notify_one(s, m);
    }
}
