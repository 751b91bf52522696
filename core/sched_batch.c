/*
 * sched_batch - one batch of recipients read from a queue file: sorting,
 * binding to queues, assignment (spec 2.7, 2.9 steps 7 and 9-12, 2.10).
 *
 * The public functions are documented in sched.h.  Internally:
 *
 *  sched_batch_sort_items(batch)  stable sort by: bound before unbound,
 *      transport name, queue name, recipient domain (case-insensitive, no
 *      domain last), address (policy: oqmgr case-insensitive)
 *
 * A bound recipient holds a reference on its queue (bind_count), so the
 * queue cannot be discarded before the batch is assigned or freed.
 */
#include <string.h>
#include <strings.h>

#include "msg.h"
#include "strbuf.h"
#include "xalloc.h"
#include "sched_impl.h"

#define DEFERRED_TRANSPORT_STATUS "4.3.2"
#define DEFERRED_TRANSPORT_REASON "deferred transport"

SCHED_BATCH *
sched_batch_create(SCHED *s, SCHED_MESSAGE *m)
{
    SCHED_BATCH *b = xcalloc(1, sizeof(*b));

    b->sched = s;
    b->message = m;
    return b;
}

void
sched_batch_add(SCHED_BATCH *b, const SCHED_RCPT *rcpt)
{
    SCHED_BATCH_RCPT *item;

    if (b->count == b->alloc) {
        b->alloc = b->alloc ? 2 * b->alloc : 16;
        b->items = xrealloc(b->items, b->alloc * sizeof(*b->items));
    }
    item = b->items + b->count;
    sched_rcpt_copy(&item->rcpt, rcpt);
    item->queue = NULL;
    item->seq = b->count++;
}

int
sched_batch_count(const SCHED_BATCH *b)
{
    return b->count;
}

static SCHED_BATCH_RCPT *
batch_item(const SCHED_BATCH *b, int index)
{
    if (index < 0 || index >= b->count)
        msg_panic("sched_batch: index %d out of range 0..%d", index,
                  b->count - 1);
    return b->items + index;
}

const SCHED_RCPT *
sched_batch_rcpt(const SCHED_BATCH *b, int index)
{
    return &batch_item(b, index)->rcpt;
}

void
sched_batch_set_address(SCHED_BATCH *b, int index, const char *address)
{
    sched_rcpt_set_address(&batch_item(b, index)->rcpt, address);
}

SCHED_QUEUE *
sched_batch_queue(const SCHED_BATCH *b, int index)
{
    return batch_item(b, index)->queue;
}

/* Sorting (2.7). */

static int
compare_domain(const char *addr1, const char *addr2)
{
    const char *at1 = strrchr(addr1, '@');
    const char *at2 = strrchr(addr2, '@');

    if (at1 == NULL && at2 != NULL)
        return 1;
    if (at1 != NULL && at2 == NULL)
        return -1;
    if (at1 == NULL)
        return 0;
    return strcasecmp(at1, at2);
}

static int
compare_items(const SCHED_POLICY *policy, const SCHED_BATCH_RCPT *a,
              const SCHED_BATCH_RCPT *b)
{
    int result;

    if (a->queue != NULL && b->queue == NULL)
        return -1;
    if (a->queue == NULL && b->queue != NULL)
        return 1;
    if (a->queue != NULL) {
        if ((result = strcmp(a->queue->transport->name,
                             b->queue->transport->name)) != 0)
            return result;
        if ((result = strcmp(a->queue->name, b->queue->name)) != 0)
            return result;
    }
    if ((result = compare_domain(a->rcpt.address, b->rcpt.address)) != 0)
        return result;
    if ((result = policy->compare_address(a->rcpt.address, b->rcpt.address)) !=
        0)
        return result;
    return a->seq - b->seq;
}

/* Merge sort of items[lo, hi) using tmp as scratch space. */
static void
merge_sort(const SCHED_POLICY *policy, SCHED_BATCH_RCPT *items,
           SCHED_BATCH_RCPT *tmp, int lo, int hi)
{
    int mid;
    int i;
    int j;
    int k;

    if (hi - lo < 2)
        return;
    mid = lo + (hi - lo) / 2;
    merge_sort(policy, items, tmp, lo, mid);
    merge_sort(policy, items, tmp, mid, hi);
    for (i = lo, j = mid, k = lo; k < hi; k++) {
        if (j >= hi ||
            (i < mid && compare_items(policy, items + i, items + j) <= 0))
            tmp[k] = items[i++];
        else
            tmp[k] = items[j++];
    }
    memcpy(items + lo, tmp + lo, (hi - lo) * sizeof(*items));
}

void
sched_batch_sort_items(SCHED_BATCH *b)
{
    SCHED_BATCH_RCPT *tmp;

    if (b->count < 2)
        return;
    tmp = xmalloc(b->count * sizeof(*tmp));
    merge_sort(b->sched->policy, b->items, tmp, 0, b->count);
    xfree(tmp);
    for (int i = 0; i < b->count; i++)
        b->items[i].seq = i;
}

void
sched_batch_sort(SCHED_BATCH *b)
{
    sched_batch_sort_items(b);
}

/* Binding (2.9). */

static void
bind_item(SCHED_BATCH_RCPT *item, SCHED_QUEUE *q)
{
    item->queue = q;
    q->bind_count++;
}

static void
unbind_item(SCHED *s, SCHED_BATCH_RCPT *item)
{
    SCHED_QUEUE *q = item->queue;

    if (q == NULL)
        return;
    item->queue = NULL;
    q->bind_count--;
    if (SCHED_QUEUE_READY(q) && sched_queue_idle(q))
        sched_queue_done(s, q);
}

/* Step 7: is this transport listed in defer_transports for m? */
static int
transport_deferred(SCHED *s, SCHED_MESSAGE *m, const char *transport)
{
    if (m->qflags & SCHED_FLUSH_DFXP)
        return 0;
    for (int i = 0; i < s->defer_xport_count; i++)
        if (strcmp(s->defer_xport_argv[i], transport) == 0)
            return 1;
    return 0;
}

/* Step 11: a dead queue redirects to retry, or defers synchronously. */
static int
bind_past_dead_queue(SCHED *s, SCHED_BATCH *b, SCHED_BATCH_RCPT *item,
                     SCHED_QUEUE *q)
{
    SCHED_QUEUE *retry = sched_error_queue(s, SCHED_RETRY_TRANSPORT,
                                           q->dsn_status, q->dsn_reason);

    if (retry == NULL) {
        sched_defer_sync(s, b->message, &item->rcpt, 1, q->dsn_status,
                         q->dsn_reason);
        return SCHED_BIND_DEFERRED;
    }
    bind_item(item, retry);
    return SCHED_BIND_QUEUED;
}

static int
bind_one(SCHED *s, SCHED_BATCH *b, SCHED_BATCH_RCPT *item,
         const char *xport_name, const char *nexthop)
{
    SCHED_MESSAGE *m = b->message;
    SCHED_TRANSPORT *t;
    SCHED_QUEUE *q;
    STRBUF *error_nexthop = NULL;
    char *queue_name;

    if (transport_deferred(s, m, xport_name)) {
        xport_name = SCHED_RETRY_TRANSPORT;
        nexthop = DEFERRED_TRANSPORT_STATUS " " DEFERRED_TRANSPORT_REASON;
    }
    t = sched_transport_obtain(s, xport_name);
    if ((m->qflags & SCHED_FLUSH_EACH) && (t->flags & SCHED_TRANSPORT_DEAD))
        sched_transport_unthrottle(s, t);
    if (t->flags & SCHED_TRANSPORT_DEAD) {
        SCHED_TRANSPORT *retry =
            sched_error_transport(s, SCHED_RETRY_TRANSPORT);

        if (retry == NULL) {
            sched_defer_sync(s, m, &item->rcpt, 1, t->dsn_status,
                             t->dsn_reason);
            return SCHED_BIND_DEFERRED;
        }
        error_nexthop = strbuf_alloc(64);
        strbuf_addf(error_nexthop, "%s %s", t->dsn_status, t->dsn_reason);
        nexthop = strbuf_str(error_nexthop);
        t = retry;
    }
    queue_name = sched_queue_name(s, t, item->rcpt.address, nexthop);
    q = sched_queue_obtain(s, t, queue_name, nexthop);
    xfree(queue_name);
    strbuf_free(error_nexthop);
    if ((m->qflags & SCHED_FLUSH_EACH) && SCHED_QUEUE_THROTTLED(q))
        sched_queue_unthrottle(s, q);
    if (SCHED_QUEUE_THROTTLED(q))
        return bind_past_dead_queue(s, b, item, q);
    bind_item(item, q);
    return SCHED_BIND_QUEUED;
}

int
sched_batch_bind(SCHED_BATCH *b, int index, const char *transport,
                 const char *nexthop)
{
    SCHED *s = b->sched;
    SCHED_BATCH_RCPT *item = batch_item(b, index);
    int result;

    sched_enter(s);
    unbind_item(s, item);
    result = bind_one(s, b, item, transport, nexthop);
    sched_leave(s);
    return result;
}

/*
 * A queue that died between binding and assignment (not in the normal
 * flow) is handled as if it had been dead at binding time.
 */
static void
rebind_dead_queues(SCHED *s, SCHED_BATCH *b)
{
    for (int i = 0; i < b->count; i++) {
        SCHED_BATCH_RCPT *item = b->items + i;
        SCHED_QUEUE *q = item->queue;

        if (q == NULL || !SCHED_QUEUE_THROTTLED(q))
            continue;
        item->queue = NULL;
        q->bind_count--;
        bind_past_dead_queue(s, b, item, q);
    }
}

static void
batch_release(SCHED *s, SCHED_BATCH *b)
{
    for (int i = 0; i < b->count; i++) {
        unbind_item(s, b->items + i);
        sched_rcpt_free(&b->items[i].rcpt);
    }
    xfree(b->items);
    xfree(b);
}

int
sched_batch_assign(SCHED_BATCH *b, time_t now)
{
    SCHED *s = b->sched;
    int before = b->message->rcpt_count;
    int assigned;

    sched_enter(s);
    s->now = now;
    rebind_dead_queues(s, b);
    sched_batch_sort_items(b);
    s->policy->assign(s, b);
    assigned = b->message->rcpt_count - before;
    batch_release(s, b);
    sched_leave(s);
    return assigned;
}

void
sched_batch_free(SCHED_BATCH *b)
{
    SCHED *s;

    if (b == NULL)
        return;
    s = b->sched;
    sched_enter(s);
    batch_release(s, b);
    sched_leave(s);
}
