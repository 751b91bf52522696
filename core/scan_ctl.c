/*
 * scan_ctl - one queue scan and its pending requests (scan_ctl.h).
 */
#include <string.h>

#include "msg.h"
#include "scan_ctl.h"
#include "trigger.h"

void
scan_ctl_init(SCAN_CTL *ctl, STORE *store, int queue)
{
    memset(ctl, 0, sizeof(*ctl));
    ctl->store = store;
    ctl->queue = queue;
}

static void
start_walk(SCAN_CTL *ctl)
{
    int store_flags;

    ctl->flags = ctl->nflags & ~SCAN_START;
    ctl->nflags = 0;
    store_flags = (ctl->flags & SCAN_ALL) ? STORE_SCAN_ALL : 0;
    ctl->batch_len = ctl->batch_pos = 0;
    ctl->walk = store_scan_open(ctl->store, ctl->queue, store_flags);
    if (ctl->walk == NULL)
        msg_warn("cannot scan queue %s: %s", store_queue_name(ctl->queue),
                 store_error(ctl->store));
}

static void
end_walk(SCAN_CTL *ctl)
{
    store_scan_close(ctl->walk);
    ctl->walk = NULL;
    ctl->batch_len = ctl->batch_pos = 0;
}

void
scan_ctl_request(SCAN_CTL *ctl, int flags)
{
    if (ctl->walk) {
        ctl->flags |= flags & (SCAN_ALL | SCAN_FLUSH_DFXP);
        if (flags & SCAN_ALL)
            store_scan_add_flags(ctl->walk, STORE_SCAN_ALL);
    }
    ctl->nflags |= flags;
    if (ctl->walk == NULL && (ctl->nflags & SCAN_START))
        start_walk(ctl);
}

/* Refill the batch; returns 0 when the walk has nothing more. */
static int
refill(SCAN_CTL *ctl)
{
    STORE_STATUS status;
    int count = 0;

    status = store_scan_next(ctl->walk, ctl->batch, SCAN_CTL_BATCH, &count);
    if (status != STORE_OK) {
        msg_warn("scan of queue %s: %s", store_queue_name(ctl->queue),
                 store_error(ctl->store));
        return 0;
    }
    ctl->batch_len = count;
    ctl->batch_pos = 0;
    return count > 0;
}

int
scan_ctl_next(SCAN_CTL *ctl, STORE_CAND *cand)
{
    while (ctl->walk) {
        if (ctl->batch_pos < ctl->batch_len || refill(ctl)) {
            *cand = ctl->batch[ctl->batch_pos++];
            return 1;
        }
        end_walk(ctl);
        if (ctl->nflags & SCAN_START)
            start_walk(ctl);
    }
    return 0;
}

int
scan_ctl_busy(const SCAN_CTL *ctl)
{
    return ctl->walk != NULL;
}

int
scan_ctl_flags(const SCAN_CTL *ctl)
{
    return ctl->flags;
}

void
scan_ctl_free(SCAN_CTL *ctl)
{
    if (ctl->walk)
        end_walk(ctl);
}
