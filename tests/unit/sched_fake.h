#ifndef SCHED_FAKE_H
#define SCHED_FAKE_H

/*
 * sched_fake - the fake daemon that drives the scheduling model in the
 * unit tests (test_sched.c, test_sched_qmgr.c): a fake clock, a timer
 * table that fires due timers in time order, per-transport parameters,
 * and recorders for the synchronous-defer, refill and done callbacks.
 *
 * All state is in the global sched_fake; a test reads it directly (the
 * clock, the recorded callbacks) and may set refill_hook and
 * no_refill_callback before it starts the scheduler.
 *
 *	sched_fake_setup()	forget everything; the clock at 1000000.
 *		For a Check fixture's setup.
 *	sched_fake_teardown()	destroy the scheduler (if any).
 *	sched_fake_xport_params(name)	the parameters the fake hands out
 *		for transport name, preset to the defaults on first use;
 *		change them before the scheduler first asks.
 *	sched_fake_start(globals, policy)	create the scheduler with the
 *		named policy ("oqmgr", "qmgr") and the fake's callbacks;
 *		globals NULL: the defaults.  The message_refill callback is
 *		left out when no_refill_callback is set.
 *	sched_fake_timer_due(kind, object)	due time of a timer, or -1
 *		when there is none.
 *	sched_fake_advance(seconds)	move the clock, firing due timers
 *		in time order.
 *	sched_fake_domain_of(addr)	the domain of an address, or
 *		"localhost" when it has none.
 *	sched_fake_transport(name)	an existing transport; the test
 *		fails when there is none.
 *	sched_fake_choose(xport)	sched_choose_entry() on transport
 *		xport, now.
 *	sched_fake_reply(e, status, crashed, hop_status, hop_reason)
 *		sched_delivery_done() of entry e, now.
 *	sched_fake_done(m)	record m in done[], as the message_done
 *		callback does; for a daemon step that finds a message done
 *		without the model's help.
 */
#include <time.h>

#include "sched.h"

#define SCHED_FAKE_MAX_TIMERS 256
#define SCHED_FAKE_MAX_PARAMS 16
#define SCHED_FAKE_MAX_DONE   1024

typedef struct SCHED_FAKE_TIMER {
    SCHED_TIMER_KIND kind;
    void *object;
    time_t due;
} SCHED_FAKE_TIMER;

typedef struct SCHED_FAKE_PARAMS {
    char name[32];
    SCHED_TRANSPORT_PARAMS params;
} SCHED_FAKE_PARAMS;

typedef struct SCHED_FAKE {
    SCHED *s;
    time_t now; /* the fake clock */
    SCHED_FAKE_TIMER timers[SCHED_FAKE_MAX_TIMERS];
    int ntimers;
    SCHED_FAKE_PARAMS params[SCHED_FAKE_MAX_PARAMS];
    int nparams;
    /* defer_recipients: calls, recipients, last status and reason */
    int sync_defers;
    int sync_defer_rcpts;
    char sync_status[64];
    char sync_reason[256];
    /* message_done: the messages, in order */
    SCHED_MESSAGE *done[SCHED_FAKE_MAX_DONE];
    int ndone;
    /* message_refill: calls; each also calls refill_hook (if any) */
    int refills;
    void (*refill_hook)(SCHED_MESSAGE *m);
    int no_refill_callback; /* start without a message_refill callback */
} SCHED_FAKE;

extern SCHED_FAKE sched_fake;

extern void sched_fake_setup(void);
extern void sched_fake_teardown(void);
extern SCHED_TRANSPORT_PARAMS *sched_fake_xport_params(const char *name);
extern SCHED *sched_fake_start(const SCHED_GLOBALS *globals,
                               const char *policy);
extern time_t sched_fake_timer_due(SCHED_TIMER_KIND kind, void *object);
extern void sched_fake_advance(int seconds);
extern const char *sched_fake_domain_of(const char *addr);
extern SCHED_TRANSPORT *sched_fake_transport(const char *name);
extern SCHED_ENTRY *sched_fake_choose(const char *xport);
extern void sched_fake_reply(SCHED_ENTRY *e, int status, int crashed,
                             const char *hop_status, const char *hop_reason);
extern void sched_fake_done(SCHED_MESSAGE *m);

#endif
