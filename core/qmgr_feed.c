/*
 * qmgr_feed - the queue manager's main-loop step and its triggers.
 *
 *	qmgr_loop_step(q)	run before every wait for events: drain (open
 *				agent connections while some transport needs
 *				one), import at most one message into the
 *				active queue, alternating between the incoming
 *				and deferred scans while there is room in the
 *				leaky bucket (new mail first when it was
 *				full), then produce flow-control tokens.
 *				Returns 1 when the caller should poll (a scan
 *				produced a name), 0 to wait for events.
 *	qmgr_request_scan(q, which, flags)  apply a scan request (trigger.h
 *				bits); SCAN_FLUSH_ONCE revives dead transports
 *				and destinations first.
 *	qmgr_trigger(buf, len, q)	the trigger server's service routine:
 *one batch of trigger bytes.
 */
#include "master_io.h"
#include "msg.h"
#include "qmgr.h"
#include "trigger.h"

void
qmgr_request_scan(QMGR *q, int which, int flags)
{
    if (flags & SCAN_FLUSH_ONCE)
        sched_flush_dead(q->sched);
    scan_ctl_request(&q->scan[which], flags & ~SCAN_FLUSH_ONCE);
}

void
qmgr_trigger(const char *buf, size_t len, void *context)
{
    QMGR *q = context;
    TRIGGER_BATCH batch;

    if (trigger_decode(buf, len, &batch) == 0 && msg_verbose)
        msg_info("ignoring %zu trigger byte(s) without a request", len);
    if (batch.incoming)
        qmgr_request_scan(q, QMGR_INCOMING, batch.incoming);
    if (batch.deferred)
        qmgr_request_scan(q, QMGR_DEFERRED, batch.deferred);
}

/* Try to import one message; returns 1 when a scan produced a name. */
static int
import_one(QMGR *q)
{
    STORE_CAND cand;
    int produced = 0;
    int last = q->first_scan;

    q->fed_incoming = 0;
    for (int i = 0; i < 2 && sched_can_admit(q->sched); i++) {
        int which = (q->first_scan + i) % 2;

        last = which;
        if (!scan_ctl_next(&q->scan[which], &cand))
            continue;
        produced = 1;
        if (qmgr_message_activate(q, &cand, scan_ctl_flags(&q->scan[which]))) {
            q->fed_incoming = (which == QMGR_INCOMING);
            break;
        }
    }
    if (sched_can_admit(q->sched))
        q->first_scan = (last + 1) % 2;
    else
        q->first_scan = QMGR_INCOMING;
    return produced;
}

int
qmgr_loop_step(QMGR *q)
{
    int poll;

    q->now = time(NULL);
    qmgr_deliver_drain(q);
    poll = import_one(q);
    if (q->set.in_flow_delay > 0)
        master_io_flow_step(q->fed_incoming,
                            scan_ctl_busy(&q->scan[QMGR_INCOMING]),
                            q->set.process_limit);
    return poll;
}
