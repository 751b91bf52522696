/*
 * scan_ctl - the state of one queue scan (incoming or deferred), with
 * Postfix's rules for requests that arrive while a scan runs.
 *
 * A scan has the modifiers of the walk in progress (flags) and the requests
 * for the next walk (nflags).  A scan is never cut short: a start request
 * during a walk is remembered and the walk restarts once when it ends.
 *
 *	scan_ctl_init(ctl, store, queue)	idle scan of STORE_Q_INCOMING or
 *						STORE_Q_DEFERRED
 *	scan_ctl_request(ctl, flags)		apply a request (trigger.h
 *bits): SCAN_ALL and SCAN_FLUSH_DFXP join the walk in progress; every bit is
 *						remembered for the next walk; a
 *						SCAN_START with no walk running
 *						starts one now.  The caller
 *handles SCAN_FLUSH_ONCE (revive dead transports) BEFORE calling this.
 *	scan_ctl_next(ctl, cand)		next due candidate, or 0 when
 *						the walk is over (a remembered
 *						start begins the next walk at
 *once) scan_ctl_busy(ctl)			a walk is in progress
 *	scan_ctl_flags(ctl)			modifiers of the walk in
 *progress scan_ctl_free(ctl)
 */
#ifndef PQ_SCAN_CTL_H
#define PQ_SCAN_CTL_H

#include "store.h"

#define SCAN_CTL_BATCH 64

typedef struct SCAN_CTL {
    STORE *store;
    int queue;
    int flags;        /* modifiers of the walk in progress */
    int nflags;       /* requests for the next walk */
    STORE_SCAN *walk; /* NULL when idle */
    STORE_CAND batch[SCAN_CTL_BATCH];
    int batch_len;
    int batch_pos;
} SCAN_CTL;

void scan_ctl_init(SCAN_CTL *ctl, STORE *store, int queue);
void scan_ctl_request(SCAN_CTL *ctl, int flags);
int scan_ctl_next(SCAN_CTL *ctl, STORE_CAND *cand);
int scan_ctl_busy(const SCAN_CTL *ctl);
int scan_ctl_flags(const SCAN_CTL *ctl);
void scan_ctl_free(SCAN_CTL *ctl);

#endif
