/*
 * bounce_clnt - the queue manager's clients of bounce(8) in its bounce,
 * defer and trace roles (spec postfix-ipc.md section 5), with the parts of
 * Postfix's status library that run in the caller's process: logging,
 * trace and verify diversions, and flush(8) notification (spec 5.5, 6.1,
 * 6.3).
 *
 * Paths are relative to the working directory (the queue directory):
 * "private/<service>" for bounce, defer, trace and verify, "public/<flush
 * service>" for flush.  The service names and time-outs are process-wide
 * (bounce_clnt_config()).
 *
 * ASYNCHRONOUS NOTICES (the message completion pipeline, spec 5.6)
 *	bounce_clnt_flush(base, notice, done, context)	 FLUSH on bounce
 *	bounce_clnt_flush_verp(base, notice, done, context) VERP on bounce
 *	bounce_clnt_defer_flush(...)		FLUSH on defer, flags |= DELRCPT
 *	bounce_clnt_defer_flush_verp(...)	VERP on defer, flags |= DELRCPT
 *	bounce_clnt_defer_warn(...)		WARN on defer
 *	bounce_clnt_trace_flush(...)		TRACE on trace
 *	bounce_clnt_request(base, service, command, notice, done, context)
 *		the general form.
 *	Each returns a handle and calls done(status, context) exactly once
 *	(unless cancelled), always from the event loop, never before
 *	returning.  status is the server's reply: 0 success, non-zero (-1)
 *	failure; every client-side failure is -1: connect error, missing or
 *	bad announcement, write error, EOF, a malformed reply, or a time-out
 *	(opts async_timeout_ms, default 1000 s, for each of the announcement,
 *	the write and the reply).  On failure the client logs a warning with
 *	the detail, then, unless notice->flags has BOUNCE_FLAG_CLEAN, the
 *	info line "<id>: status=deferred (bounce failed)" ("delay warning",
 *	"verp", "trace" for WARN, VERP, TRACE), as Postfix's abounce does.
 *	The request is FLUSH/WARN/VERP/TRACE's list of spec 5.3, in that
 *	order: nrequest, flags, queue_name, queue_id, encoding, smtputf8,
 *	sender, envelope_id, ret_flags [, verp_delimiters]; the reply is
 *	read STRICT, exactly one INT "status".
 *	bounce_clnt_cancel(req)	forget a request without calling done.
 *	bounce_clnt_pending()	requests not yet completed (tests).
 *
 * SYNCHRONOUS STATUS REPORTS (what the queue manager settles itself)
 *	bounce_clnt_defer_append(flags, id, stats, rcpt, relay, dsn)
 *		Postfix's defer_append(): the status must be 4.x.y (else a
 *		warning 'defer_append: ignoring dsn code "..."' and 4.0.0).
 *		MTA_VRFY in flags: a verify(8) update (action undeliverable)
 *		instead; USR_VRFY: a trace append instead.  Otherwise: action
 *		"delayed", APPEND to defer ("<id>: defer service failure" when
 *		that fails), the status line "... status=deferred (<reason>)"
 *		(log_status.h) in any case, a trace append too with RECORD,
 *		and flush_add(<domain of the recipient>, id) ("<id>: flush
 *		service failure" unless OK or DENY).  Returns -1 (the
 *		recipient is not done), or the verify/trace result for probes.
 *	bounce_clnt_sent(flags, id, stats, rcpt, relay, dsn)
 *		Postfix's sent(): status forced to 2.x.y ('sent: ignoring dsn
 *		code'); MTA_VRFY: verify update (deliverable); USR_VRFY: trace
 *		append (deliverable); otherwise action "delivered" (unless
 *		set), a trace append for RECORD or REC_DLY_SENT (recipient
 *		NOTIFY 0 or DELAY), another for NOTIFY=SUCCESS, and the line
 *		"status=sent (<reason>)"; 0.  When a trace append fails: a
 *		defer_append with 4.3.0 "<id>: trace service failed" (-1).
 *	bounce_clnt_trace_append(flags, id, stats, rcpt, relay, dsn)
 *		APPEND to trace with the reason prefixed "delivery via
 *		<relay>: " unless relay is "none"; logs the status line (status
 *		= dsn->action) only for USR_VRFY; 0 or -1.
 *	bounce_clnt_flush_add(site, id)	request=add to public/flush:
 *		FLUSH_STAT_OK, _DENY (site not eligible), _BAD, or _FAIL
 *		(also for any client-side failure).  Best effort.  Postfix's
 *		client matches the site against $fast_flush_domains first;
 *		this one only knows whether that list is empty (conf
 *		fast_flush_domains = "": DENY without asking) and otherwise
 *		lets flush(8), which applies the same list, decide.
 *	Each synchronous exchange connects, checks the announcement, writes,
 *	reads one reply and closes, with opts ipc_timeout_ms
 *	($qmgr_ipc_timeout, 60 s) for each step, giving up on the first
 *	failure ("warning: <path>: <why>").  stats supplies the times of the
 *	status line (NULL: all unset).
 *
 * Not implemented (documented deviations): $default_delivery_status_filter
 * (the DSN filter of the status library; Postfix's default is empty), and
 * bounce_append()/bounce_one(), which the 3.7 queue manager never calls.
 *
 * Encoders, exposed for byte-level tests:
 *	bounce_clnt_encode_notice(out, command, notice)	FLUSH/WARN/VERP/TRACE
 *	bounce_clnt_encode_append(out, flags, id, rcpt, dsn)	APPEND
 */
#ifndef PQ_BOUNCE_CLNT_H
#define PQ_BOUNCE_CLNT_H

#include "log_status.h"
#include "strbuf.h"

struct event_base;

/* nrequest values (spec 5.2). */
#define BOUNCE_CMD_APPEND 0
#define BOUNCE_CMD_FLUSH  1
#define BOUNCE_CMD_WARN   2
#define BOUNCE_CMD_VERP   3
#define BOUNCE_CMD_ONE    4
#define BOUNCE_CMD_TRACE  5

#define BOUNCE_FLAG_NONE    0
#define BOUNCE_FLAG_CLEAN   1
#define BOUNCE_FLAG_DELRCPT 2

/* flush(8) reply codes. */
#define FLUSH_STAT_OK   0
#define FLUSH_STAT_FAIL (-1)
#define FLUSH_STAT_BAD  3
#define FLUSH_STAT_DENY 4

/* verify(8) recipient status values. */
#define DEL_RCPT_STAT_OK     0
#define DEL_RCPT_STAT_DEFER  1
#define DEL_RCPT_STAT_BOUNCE 2

typedef struct BOUNCE_CLNT_CONF {
    const char *bounce_service;     /* $bounce_service_name: "bounce" */
    const char *defer_service;      /* $defer_service_name: "defer" */
    const char *trace_service;      /* $trace_service_name: "trace" */
    const char *verify_service;     /* $address_verify_service_name */
    const char *flush_service;      /* $flush_service_name: "flush" */
    int ipc_timeout_ms;             /* synchronous steps: $qmgr_ipc_timeout */
    int async_timeout_ms;           /* asynchronous steps: 1000 s */
    int verify_neg_cache;           /* $address_verify_negative_cache */
    int sendopts;                   /* 3.10+ servers: "sendopts" */
    const char *fast_flush_domains; /* NULL: let flush(8) decide */
} BOUNCE_CLNT_CONF;

#define BOUNCE_CLNT_IPC_TIMEOUT_MS   (60 * 1000)
#define BOUNCE_CLNT_ASYNC_TIMEOUT_MS (1000 * 1000)

/* The message a notice is about (spec 5.3). */
typedef struct BOUNCE_NOTICE {
    int flags;              /* BOUNCE_FLAG_*, or trace flags for TRACE */
    const char *queue_name; /* "active" */
    const char *queue_id;
    const char *encoding; /* "" if none */
    int smtputf8;
    const char *sender; /* "" = null sender */
    const char *dsn_envid;
    int dsn_ret;
    const char *verp_delims; /* VERP only: 2 characters */
} BOUNCE_NOTICE;

/* Postfix's RECIPIENT. */
typedef struct BOUNCE_RCPT {
    const char *orig_addr; /* "" if none */
    const char *address;
    long offset; /* of the 'R' record */
    const char *dsn_orcpt;
    int dsn_notify;
} BOUNCE_RCPT;

/* Postfix's DSN (spec 7.3). */
typedef struct BOUNCE_DSN {
    const char *status; /* "4.3.0" */
    const char *diag_type;
    const char *diag_text;
    const char *mta_type;
    const char *mta_mname;
    const char *action; /* filled in by the functions above */
    const char *reason;
} BOUNCE_DSN;

typedef struct BOUNCE_REQ BOUNCE_REQ;
typedef void (*BOUNCE_DONE_FN)(int status, void *context);

void bounce_clnt_conf_default(BOUNCE_CLNT_CONF *conf);
void bounce_clnt_config(const BOUNCE_CLNT_CONF *conf);

BOUNCE_REQ *bounce_clnt_request(struct event_base *base, const char *service,
                                int command, const BOUNCE_NOTICE *notice,
                                BOUNCE_DONE_FN done, void *context);
BOUNCE_REQ *bounce_clnt_flush(struct event_base *base,
                              const BOUNCE_NOTICE *notice, BOUNCE_DONE_FN done,
                              void *context);
BOUNCE_REQ *bounce_clnt_flush_verp(struct event_base *base,
                                   const BOUNCE_NOTICE *notice,
                                   BOUNCE_DONE_FN done, void *context);
BOUNCE_REQ *bounce_clnt_defer_flush(struct event_base *base,
                                    const BOUNCE_NOTICE *notice,
                                    BOUNCE_DONE_FN done, void *context);
BOUNCE_REQ *bounce_clnt_defer_flush_verp(struct event_base *base,
                                         const BOUNCE_NOTICE *notice,
                                         BOUNCE_DONE_FN done, void *context);
BOUNCE_REQ *bounce_clnt_defer_warn(struct event_base *base,
                                   const BOUNCE_NOTICE *notice,
                                   BOUNCE_DONE_FN done, void *context);
BOUNCE_REQ *bounce_clnt_trace_flush(struct event_base *base,
                                    const BOUNCE_NOTICE *notice,
                                    BOUNCE_DONE_FN done, void *context);
void bounce_clnt_cancel(BOUNCE_REQ *req);
int bounce_clnt_pending(void);

int bounce_clnt_defer_append(int flags, const char *id,
                             const LOG_STATUS_STATS *stats,
                             const BOUNCE_RCPT *rcpt, const char *relay,
                             const BOUNCE_DSN *dsn);
int bounce_clnt_sent(int flags, const char *id, const LOG_STATUS_STATS *stats,
                     const BOUNCE_RCPT *rcpt, const char *relay,
                     const BOUNCE_DSN *dsn);
int bounce_clnt_trace_append(int flags, const char *id,
                             const LOG_STATUS_STATS *stats,
                             const BOUNCE_RCPT *rcpt, const char *relay,
                             const BOUNCE_DSN *dsn);
int bounce_clnt_flush_add(const char *site, const char *id);

void bounce_clnt_encode_notice(STRBUF *out, int command,
                               const BOUNCE_NOTICE *notice);
void bounce_clnt_encode_append(STRBUF *out, int flags, const char *id,
                               const BOUNCE_RCPT *rcpt, const BOUNCE_DSN *dsn);

#endif
