/*
 * qmgr_resolve - the per-recipient resolution pipeline of Postfix's queue
 * manager (postfix-scheduling.md 2.9 steps 1-6 and 8; the scheduler does
 * steps 7 and 9-12 in sched_batch_bind()).
 *
 *	qmgr_resolve_batch(m, batch)	sort the batch, then for each
 *		recipient: the redirect record (only the first recipient is
 *		kept, rewritten to the redirect address), the content filter,
 *		or trivial-rewrite; failures and bad addresses are redirected
 *		to the retry or error transport with Postfix's texts; forced
 *		expiry goes to retry; the double-bounce address is discarded
 *		(logged "sent", marked done in the file); then the recipient is
 *		bound to its transport and queue.  Returns the number bound.
 */
#include <string.h>

#include "msg.h"
#include "qmgr.h"
#include "xalloc.h"

typedef struct ROUTE {
    STRBUF *transport;
    STRBUF *nexthop;
} ROUTE;

static void
route_to(ROUTE *rt, const char *transport, const char *nexthop)
{
    strbuf_setstr(rt->transport, transport);
    strbuf_setstr(rt->nexthop, nexthop);
}

static const char *
domain_of(const char *address)
{
    const char *at = strrchr(address, '@');

    return at && at[1] ? at + 1 : NULL;
}

/* Step 2: the content filter "transport[:nexthop]". */
static void
route_by_filter(QMGR_MESSAGE *m, const char *address, ROUTE *rt)
{
    const char *filter = m->qf->filter_xport;
    const char *colon = strchr(filter, ':');
    const char *nexthop = colon ? colon + 1 : "";

    strbuf_setmem(rt->transport, filter,
                  colon ? (size_t) (colon - filter) : strlen(filter));
    if (*nexthop == 0)
        nexthop = m->qmgr->set.default_filter_nexthop;
    if (*nexthop == 0)
        nexthop = domain_of(address);
    if (nexthop == NULL)
        nexthop = m->qmgr->set.myhostname;
    strbuf_setstr(rt->nexthop, nexthop);
}

/* Step 3: ask trivial-rewrite; returns the resolve flags. */
static int
route_by_resolver(QMGR_MESSAGE *m, SCHED_BATCH *batch, int i, ROUTE *rt)
{
    QMGR *q = m->qmgr;
    const char *class = (m->qf->tflags & QFILE_TRACE_MTA_VRFY)
                            ? RESOLVE_VERIFY
                            : RESOLVE_REGULAR;
    const char *address = sched_batch_rcpt(batch, i)->address;
    RESOLVE_REPLY reply;
    int flags;

    resolve_reply_init(&reply);
    if (resolve_clnt_resolve(q->resolver, class, m->qf->sender, address, q->now,
                             &reply) < 0 ||
        (reply.flags & RESOLVE_FLAG_FAIL)) {
        route_to(rt, SCHED_RETRY_TRANSPORT, "4.3.0 address resolver failure");
        flags = RESOLVE_FLAG_FAIL;
    } else if (reply.flags & RESOLVE_FLAG_ERROR) {
        route_to(rt, SCHED_ERROR_TRANSPORT, "5.1.3 bad address syntax");
        flags = reply.flags;
    } else {
        route_to(rt, strbuf_str(reply.transport), strbuf_str(reply.nexthop));
        if (strcmp(strbuf_str(reply.recipient), address) != 0)
            sched_batch_set_address(batch, i, strbuf_str(reply.recipient));
        flags = reply.flags;
    }
    resolve_reply_free(&reply);
    return flags;
}

/* Step 1: the whole message goes to the redirect address, once. */
static void
apply_redirect(QMGR_MESSAGE *m, SCHED_BATCH *batch)
{
    STRBUF *canonical = strbuf_alloc(100);

    if (resolve_clnt_rewrite(m->qmgr->resolver, REWRITE_LOCAL,
                             m->qf->redirect_addr, m->qmgr->now, canonical) < 0)
        strbuf_setstr(canonical, m->qf->redirect_addr);
    sched_batch_set_address(batch, 0, strbuf_str(canonical));
    strbuf_free(canonical);
    m->qf->rcpt_offset = 0;
}

/* Step 6: discard mail to the double-bounce address. */
static void
discard_double_bounce(QMGR_MESSAGE *m, const SCHED_RCPT *r)
{
    LOG_STATUS_STATS stats;
    BOUNCE_RCPT rcpt;
    BOUNCE_DSN dsn;

    memset(&stats, 0, sizeof(stats));
    stats.incoming_arrival.tv_sec = m->qf->arrival_sec;
    stats.incoming_arrival.tv_usec = m->qf->arrival_usec;
    stats.active_arrival = m->active_time;
    rcpt.orig_addr = r->orig_addr;
    rcpt.address = r->address;
    rcpt.offset = r->offset;
    rcpt.dsn_orcpt = r->dsn_orcpt;
    rcpt.dsn_notify = r->dsn_notify;
    memset(&dsn, 0, sizeof(dsn));
    dsn.status = "2.0.0";
    dsn.reason = "undeliverable postmaster notification discarded";
    if (bounce_clnt_sent(m->qf->tflags, m->claim->id, &stats, &rcpt, "none",
                         &dsn) == 0) {
        if (qfile_mark_done(m->fd, r->offset) < 0)
            msg_warn("%s: mark recipient done: %m", m->claim->path);
    } else {
        m->sm->flags |= 1;
    }
}

/* The route for recipient i; 0 when it is not to be bound. */
static int
route_recipient(QMGR_MESSAGE *m, SCHED_BATCH *batch, int i, ROUTE *rt)
{
    QMGR *q = m->qmgr;
    int flags = 0;

    if (m->qf->redirect_addr && i > 0)
        return 0;
    if (m->qf->redirect_addr)
        apply_redirect(m, batch);
    if (m->qf->filter_xport && !m->qf->redirect_addr &&
        !(m->qf->tflags & (QFILE_TRACE_MTA_VRFY | QFILE_TRACE_USR_VRFY)))
        route_by_filter(m, sched_batch_rcpt(batch, i)->address, rt);
    else
        flags = route_by_resolver(m, batch, i, rt);
    if (*sched_batch_rcpt(batch, i)->address == 0)
        route_to(rt, SCHED_ERROR_TRANSPORT, "5.1.3 null recipient address");
    if (m->sm->qflags & SCHED_FORCE_EXPIRE)
        route_to(rt, SCHED_RETRY_TRANSPORT,
                 "4.7.0 message is administratively expired");
    else if ((flags & RESOLVE_CLASS_LOCAL) &&
             sched_is_double_bounce(q->sched,
                                    sched_batch_rcpt(batch, i)->address)) {
        discard_double_bounce(m, sched_batch_rcpt(batch, i));
        return 0;
    } else if ((m->qf->tflags & QFILE_TRACE_MTA_VRFY) &&
               q->verify_pending > q->set.verify_pending_limit)
        route_to(rt, SCHED_RETRY_TRANSPORT,
                 "4.3.2 Too many address verification requests");
    return 1;
}

int
qmgr_resolve_batch(QMGR_MESSAGE *m, SCHED_BATCH *batch)
{
    ROUTE rt;
    int bound = 0;

    rt.transport = strbuf_alloc(32);
    rt.nexthop = strbuf_alloc(64);
    sched_batch_sort(batch);
    for (int i = 0; i < sched_batch_count(batch); i++) {
        if (!route_recipient(m, batch, i, &rt))
            continue;
        sched_batch_bind(batch, i, strbuf_str(rt.transport),
                         strbuf_str(rt.nexthop));
        bound++;
    }
    strbuf_free(rt.transport);
    strbuf_free(rt.nexthop);
    return bound;
}
