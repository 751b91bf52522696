/*
 * sched_oqmgr - the oqmgr(8) selection policy (spec 2.3, 2.6, 2.7, 2.10,
 * 3.3, 4.5 step 9, 6).
 *
 *  sched_policy_oqmgr()  the policy table:
 *   admission     message count < qmgr_message_active_limit and recipient
 *                 count < qmgr_message_recipient_limit
 *   batch size    ceil(qmgr_message_recipient_limit * qmgr_fudge_factor /
 *                 100), no 5000 cap
 *   sort          addresses compared case-insensitively
 *   assignment    a new entry whenever the queue differs from the previous
 *                 recipient's, the entry holds the recipient limit, or the
 *                 message is single-recipient; never across batches
 *   entry choice  the first queue (list order) with window > busy and a
 *                 todo entry becomes the tail of the list; its oldest entry
 *                 goes: round robin across destinations, FIFO within one
 *   unselect      back to the end of the todo list (handed out last)
 *   refill        after any entry completes, when the message has unread
 *                 recipients and the global recipient count is below
 *                 limit * fudge / 100 - 100
 */
#include <strings.h>

#include "sched_impl.h"

static double
fudged_limit(SCHED *s)
{
    return s->globals.recipient_limit * (s->globals.fudge_factor / 100.0);
}

static int
oqmgr_can_admit(SCHED *s)
{
    return s->message_count < s->globals.active_limit &&
           s->recipient_count < s->globals.recipient_limit;
}

static int
oqmgr_batch_limit(SCHED *s, SCHED_MESSAGE *m)
{
    long product = (long) s->globals.recipient_limit * s->globals.fudge_factor;

    (void) m;
    return (int) ((product + 99) / 100);
}

static int
oqmgr_compare_address(const char *a, const char *b)
{
    return strcasecmp(a, b);
}

static void
oqmgr_assign(SCHED *s, SCHED_BATCH *b)
{
    SCHED_MESSAGE *m = b->message;
    SCHED_ENTRY *e = NULL;

    for (int i = 0; i < b->count; i++) {
        SCHED_BATCH_RCPT *item = b->items + i;
        SCHED_QUEUE *q = item->queue;

        if (q == NULL)
            continue;
        if (m->single_rcpt || e == NULL || e->queue != q || sched_entry_full(e))
            e = sched_entry_create(s, q, m);
        sched_entry_add_rcpt(s, e, &item->rcpt);
    }
}

static SCHED_ENTRY *
oqmgr_choose_entry(SCHED *s, SCHED_TRANSPORT *t)
{
    SCHED_QUEUE *q;
    SCHED_ENTRY *e;

    for (q = sched_list_first(&t->queue_list); q;
         q = sched_list_next(&t->queue_list, &q->peers)) {
        if (q->window > sched_list_count(&q->busy) &&
            !sched_list_empty(&q->todo)) {
            sched_list_rotate(&t->queue_list, &q->peers);
            e = sched_list_first(&q->todo);
            sched_entry_select(s, e);
            return e;
        }
    }
    return NULL;
}

static void
oqmgr_unselect_entry(SCHED *s, SCHED_ENTRY *e)
{
    sched_entry_put_back(s, e);
}

static int
oqmgr_refill_wanted(SCHED *s, SCHED_MESSAGE *m)
{
    return m->unread && s->recipient_count < fudged_limit(s) - 100;
}

static const SCHED_POLICY oqmgr_policy = {
    .name = "oqmgr",
    .can_admit = oqmgr_can_admit,
    .batch_limit = oqmgr_batch_limit,
    .compare_address = oqmgr_compare_address,
    .assign = oqmgr_assign,
    .choose_entry = oqmgr_choose_entry,
    .unselect_entry = oqmgr_unselect_entry,
    .entry_created = NULL,
    .entry_done = NULL,
    .refill_wanted = oqmgr_refill_wanted,
    .queue_resumed = NULL,
    .message_free = NULL,
    .entry_moved = NULL,
    .destroy = NULL,
};

const SCHED_POLICY *
sched_policy_oqmgr(void)
{
    return &oqmgr_policy;
}
