/*
 * sched_entry - queue entries: one delivery request each (spec 1.4, 3.2,
 * 3.9, 3.11, 4.5).
 *
 *  sched_entry_create(s, q, m)   new entry at the tail of q's todo list;
 *      the message's refcount goes up; clogging check (4.11).  q must not
 *      be dead.
 *  sched_entry_add_rcpt(s, e, rcpt)  move a recipient into the entry (its
 *      strings now belong to the entry; *rcpt is cleared) and count it
 *  sched_entry_full(e)           the entry holds the transport's recipient
 *      limit (0 = unlimited)
 *  sched_entry_select(s, e)      todo -> busy, with the connection-cache
 *      hint update of 3.11 (uses s->now)
 *  sched_entry_put_back(s, e)    busy -> todo, handed out last
 *  sched_entry_done(s, e, which) finish an entry from the todo or busy list
 *      (4.5): counts, rate-delay suspension, policy hook, last_done, queue
 *      clean-up (dead-cache bound), message refcount and notifications.
 *      The entry is freed.
 *  sched_entry_move_todo(s, e, dst)  move a todo entry's recipients to a
 *      new entry of dst (the retry queue), tell the policy, then finish e;
 *      the recipient limit is not re-applied
 *  sched_entry_destroy(e)        free an unlinked entry, no bookkeeping
 *  sched_rcpt_copy(dst, src), sched_rcpt_set_address(r, address),
 *  sched_rcpt_free(r)            recipient storage: the three strings live
 *      in one allocation that starts at address
 */
#include <string.h>

#include "msg.h"
#include "xalloc.h"
#include "sched_impl.h"

/* Store three strings in one block; the block starts at rcpt->address. */
static void
rcpt_store(SCHED_RCPT *rcpt, const char *address, const char *orig_addr,
           const char *dsn_orcpt)
{
    size_t alen = strlen(address) + 1;
    size_t olen = strlen(orig_addr) + 1;
    size_t dlen = strlen(dsn_orcpt) + 1;
    char *block = xmalloc(alen + olen + dlen);

    memcpy(block, address, alen);
    memcpy(block + alen, orig_addr, olen);
    memcpy(block + alen + olen, dsn_orcpt, dlen);
    rcpt->address = block;
    rcpt->orig_addr = block + alen;
    rcpt->dsn_orcpt = block + alen + olen;
}

void
sched_rcpt_copy(SCHED_RCPT *dst, const SCHED_RCPT *src)
{
    dst->offset = src->offset;
    dst->dsn_notify = src->dsn_notify;
    rcpt_store(dst, src->address ? src->address : "",
               src->orig_addr ? src->orig_addr : "",
               src->dsn_orcpt ? src->dsn_orcpt : "");
}

void
sched_rcpt_set_address(SCHED_RCPT *rcpt, const char *address)
{
    char *old = (char *) rcpt->address;

    rcpt_store(rcpt, address, rcpt->orig_addr, rcpt->dsn_orcpt);
    xfree(old);
}

void
sched_rcpt_free(SCHED_RCPT *rcpt)
{
    xfree((char *) rcpt->address);
    memset(rcpt, 0, sizeof(*rcpt));
}

SCHED_ENTRY *
sched_entry_create(SCHED *s, SCHED_QUEUE *q, SCHED_MESSAGE *m)
{
    SCHED_ENTRY *e;

    if (SCHED_QUEUE_THROTTLED(q))
        msg_panic("sched_entry_create: dead queue: %s", q->name);
    e = xcalloc(1, sizeof(*e));
    e->message = m;
    e->queue = q;
    m->refcount++;
    sched_list_append(&q->todo, &e->peers, e);
    if (s->policy->entry_created)
        s->policy->entry_created(s, e);
    sched_clog_check(s, q);
    return e;
}

void
sched_entry_add_rcpt(SCHED *s, SCHED_ENTRY *e, SCHED_RCPT *rcpt)
{
    if (e->rcpt_count == e->rcpt_alloc) {
        e->rcpt_alloc = e->rcpt_alloc ? 2 * e->rcpt_alloc : 4;
        e->rcpts = xrealloc(e->rcpts, e->rcpt_alloc * sizeof(SCHED_RCPT));
    }
    e->rcpts[e->rcpt_count++] = *rcpt;
    memset(rcpt, 0, sizeof(*rcpt));
    e->message->rcpt_count++;
    s->recipient_count++;
}

int
sched_entry_full(const SCHED_ENTRY *e)
{
    int limit = e->queue->transport->params.dest_recipient_limit;

    return limit > 0 && e->rcpt_count >= limit;
}

/*
 * Opportunistic connection caching (3.11): switch it on for back-to-back
 * deliveries; switch "store" off again once neither concurrency nor
 * back-to-back delivery continues ("load" stays on).
 */
static void
update_cache_hints(SCHED *s, SCHED_QUEUE *q)
{
    int back_to_back = q->last_done + 1 >= s->now;
    int concurrent = sched_list_count(&q->busy) > 1;

    if ((q->dflags & SCHED_CONN_STORE) == 0) {
        if (back_to_back)
            q->dflags |= SCHED_CONN_LOAD | SCHED_CONN_STORE;
    } else if (!concurrent && !back_to_back) {
        q->dflags &= ~SCHED_CONN_STORE;
    }
}

void
sched_entry_select(SCHED *s, SCHED_ENTRY *e)
{
    SCHED_QUEUE *q = e->queue;

    if (e->busy)
        msg_panic("sched_entry_select: entry is busy");
    sched_list_unlink(&q->todo, &e->peers);
    sched_list_append(&q->busy, &e->peers, e);
    e->busy = 1;
    update_cache_hints(s, q);
}

void
sched_entry_put_back(SCHED *s, SCHED_ENTRY *e)
{
    SCHED_QUEUE *q = e->queue;

    (void) s;
    if (!e->busy)
        msg_panic("sched_entry_put_back: entry is not busy");
    sched_list_unlink(&q->busy, &e->peers);
    sched_list_append(&q->todo, &e->peers, e);
    e->busy = 0;
}

void
sched_entry_destroy(SCHED_ENTRY *e)
{
    for (int i = 0; i < e->rcpt_count; i++)
        sched_rcpt_free(e->rcpts + i);
    xfree(e->rcpts);
    xfree(e);
}

/* A destination rate delay suspends the queue after each delivery. */
static void
apply_rate_delay(SCHED *s, SCHED_QUEUE *q)
{
    int delay = q->transport->params.dest_rate_delay;

    if (delay <= 0)
        return;
    if (SCHED_QUEUE_THROTTLED(q))
        sched_queue_unthrottle(s, q);
    if (SCHED_QUEUE_READY(q))
        sched_queue_suspend(s, q, delay);
}

/*
 * An empty READY queue goes away.  An empty dead queue stays as the
 * destination status cache, unless there are too many queues.
 */
static void
maybe_discard_queue(SCHED *s, SCHED_QUEUE *q)
{
    if (!sched_queue_idle(q))
        return;
    if (SCHED_QUEUE_THROTTLED(q) &&
        s->queue_count > 2 * s->globals.recipient_limit)
        sched_queue_unthrottle(s, q);
    if (SCHED_QUEUE_READY(q))
        sched_queue_done(s, q);
}

static void
release_message(SCHED *s, SCHED_MESSAGE *m)
{
    m->refcount--;
    if (s->policy->refill_wanted && s->policy->refill_wanted(s, m))
        m->refill_wanted = 1;
    if (m->refill_wanted || m->refcount == 0)
        sched_message_notify(s, m);
}

void
sched_entry_done(SCHED *s, SCHED_ENTRY *e, int which)
{
    SCHED_QUEUE *q = e->queue;
    SCHED_MESSAGE *m = e->message;
    int was_busy = (which == SCHED_ENTRY_BUSY);

    if (e->busy != was_busy)
        msg_panic("sched_entry_done: entry is not on the %s list",
                  was_busy ? "busy" : "todo");
    sched_list_unlink(was_busy ? &q->busy : &q->todo, &e->peers);
    s->recipient_count -= e->rcpt_count;
    m->rcpt_count -= e->rcpt_count;
    if (was_busy)
        apply_rate_delay(s, q);
    if (s->policy->entry_done)
        s->policy->entry_done(s, e, was_busy);
    sched_entry_destroy(e);
    if (was_busy)
        q->last_done = s->now;
    maybe_discard_queue(s, q);
    release_message(s, m);
}

void
sched_entry_move_todo(SCHED *s, SCHED_ENTRY *e, SCHED_QUEUE *dst)
{
    SCHED_ENTRY *moved = sched_entry_create(s, dst, e->message);

    moved->rcpts = e->rcpts;
    moved->rcpt_count = e->rcpt_count;
    moved->rcpt_alloc = e->rcpt_alloc;
    e->rcpts = NULL;
    e->rcpt_count = e->rcpt_alloc = 0;
    if (s->policy->entry_moved)
        s->policy->entry_moved(s, e, moved);
    sched_entry_done(s, e, SCHED_ENTRY_TODO);
}
