/*
 * qmgr - the daemon's state, shared by the files that make up the daemon.
 *
 * The daemon is the glue between master(8) (master_io, trigger_server), the
 * queue store (store.h), the scheduling model (sched.h) and the clients of
 * Postfix's daemons (resolve_clnt, deliver_clnt, bounce_clnt).  Its parts:
 *
 *	qmgr_config.c	main.cf parameters into QMGR_SETTINGS, the scheduler's
 *			globals and per-transport parameters
 *	qmgr_feed.c	the main-loop step: drain, import at most one message
 *			(leaky bucket, incoming/deferred fairness), flow tokens
 *	qmgr_message.c	activation of one message: claim, lock, read, the
 *			"from=" line, corrupt and locked files, recipient
 *			batches
 *	qmgr_resolve.c	the per-recipient resolution pipeline (redirect,
 *			content filter, trivial-rewrite, error and retry
 *			redirects, double-bounce discard)
 *	qmgr_deliver.c	agent connections and delivery requests
 *	qmgr_done.c	the message completion pipeline and checkin
 *	qmgr_timer.c	the scheduler's timers and the deferred-scan heartbeat
 *			on libevent
 *	pqmgr.c		main(): options, configuration, privileges, start-up
 *
 * Each file's functions that others call are declared here.
 */
#ifndef PQ_QMGR_H
#define PQ_QMGR_H

#include <sys/time.h>
#include <time.h>

#include "bounce_clnt.h"
#include "conf.h"
#include "qfile.h"
#include "resolve_clnt.h"
#include "scan_ctl.h"
#include "sched.h"
#include "store.h"
#include "strbuf.h"

struct event_base;
struct event;

/* Parameters the daemon itself uses (the scheduler has its own copy). */
typedef struct QMGR_SETTINGS {
    int queue_run_delay;
    int in_flow_delay;
    int process_limit; /* default_process_limit: flow-token target */
    int ipc_timeout;   /* qmgr_ipc_timeout */
    int watchdog;      /* qmgr_daemon_timeout */
    int agent_timeout; /* daemon_timeout */
    int confirm_delay_cleared;
    int disable_verp_bounces;
    int smtputf8_enable;
    int verify_pending_limit;
    char *myhostname;
    char *double_bounce_sender;
    char *default_filter_nexthop;
    char *verp_filter; /* verp_delimiter_filter */
    char *hash_queues; /* hash_queue_names */
    int hash_depth;    /* hash_queue_depth */
    char *rewrite_service;
    char *queue_service;
} QMGR_SETTINGS;

typedef struct QMGR {
    struct event_base *base;
    CF *cf;
    QMGR_SETTINGS set;
    STORE *store;
    SCHED *sched;
    RESOLVE_CLNT *resolver;
    SCAN_CTL scan[2];   /* QMGR_INCOMING, QMGR_DEFERRED */
    int first_scan;     /* fairness cursor */
    int fed_incoming;   /* this pass imported from incoming */
    time_t now;         /* cached event time */
    int verify_pending; /* in-core address-verification probes */
    struct event *heartbeat;
    struct event *resolver_idle;
    STRBUF *path; /* scratch */
} QMGR;

#define QMGR_INCOMING 0
#define QMGR_DEFERRED 1

/* One message in the active queue, as the daemon sees it. */
typedef struct QMGR_MESSAGE {
    QMGR *qmgr;
    STORE_CLAIM *claim;
    SCHED_MESSAGE *sm;
    QFILE_MSG *qf; /* envelope and the current batch */
    int fd;        /* queue file, open while a batch is read */
    struct timeval active_time;
    BOUNCE_REQ *notice;   /* asynchronous notice in progress */
    SCHED_DONE_STEP step; /* the pipeline step it waits for */
} QMGR_MESSAGE;

/* qmgr_config.c */
int qmgr_config_load(QMGR *q);
void qmgr_config_free(QMGR *q);
int qmgr_sched_globals(QMGR *q, SCHED_GLOBALS *g);
void qmgr_transport_params(void *context, const char *name,
                           SCHED_TRANSPORT_PARAMS *params);

/* qmgr_feed.c */
int qmgr_loop_step(QMGR *q);
void qmgr_request_scan(QMGR *q, int which, int flags);
void qmgr_trigger(const char *buf, size_t len, void *context);

/* qmgr_message.c */
int qmgr_message_activate(QMGR *q, const STORE_CAND *cand, int scan_flags);
int qmgr_message_refill(QMGR_MESSAGE *m);
void qmgr_refill_callback(void *context, SCHED_MESSAGE *sm);
void qmgr_message_free(QMGR_MESSAGE *m);
void qmgr_message_path(QMGR *q, const char *queue, const char *id, STRBUF *out);

/* qmgr_resolve.c */
int qmgr_resolve_batch(QMGR_MESSAGE *m, SCHED_BATCH *batch);

/* qmgr_deliver.c */
void qmgr_deliver_drain(QMGR *q);

/* qmgr_done.c */
void qmgr_done_run(QMGR_MESSAGE *m);
void qmgr_done_callback(void *context, SCHED_MESSAGE *sm);
int qmgr_defer_recipients(void *context, SCHED_MESSAGE *sm,
                          const SCHED_RCPT *rcpts, int count,
                          const char *status, const char *reason);
void qmgr_checkin(QMGR_MESSAGE *m, STORE_ACTION action, time_t when);
void qmgr_save_corrupt(QMGR_MESSAGE *m);

/* qmgr_timer.c */
void qmgr_timer_init(QMGR *q);
void qmgr_timer_free(void);
void qmgr_set_timer(void *context, SCHED_TIMER_KIND kind, void *object,
                    int seconds);
void qmgr_cancel_timer(void *context, SCHED_TIMER_KIND kind, void *object);
void qmgr_heartbeat_start(QMGR *q);

#endif
