/*
 * deliver_clnt - the queue manager's asynchronous client of the delivery
 * agents (spec postfix-ipc.md section 3): one connection carries one
 * delivery request for 1..n recipients of one message to one nexthop.
 *
 *	deliver_clnt_open(base, transport, opts, ready, done, context)
 *		connect non-blocking to <opts->service_dir>/<transport>
 *		("private/smtp", relative to the working directory, the queue
 *		directory) and return the connection handle.  Never blocks
 *		and never calls a callback before returning: even an
 *		immediate connect failure is reported from the event loop.
 *	ready(conn, context)	the agent announced exactly
 *		protocol=delivery_request_protocol.  Return the request to
 *		send (it is encoded at once; the strings need not outlive the
 *		call), or NULL to decline: the connection is then closed
 *		without a word, which the agent takes quietly.  ready must not
 *		call deliver_clnt_abort() on conn.
 *	done(result, context)	called exactly once per connection (unless
 *		aborted), from the event loop, after the connection is
 *		closed.  result and its strings are valid during the call
 *		only.  done may open new connections.
 *	deliver_clnt_abort(conn)	close now, without calling done (for
 *		shutdown).
 *	deliver_clnt_count()	connections open or waiting to report (tests,
 *		leak checks).
 *	deliver_clnt_encode(out, req)	append the encoded request to out:
 *		the header list and one list per recipient; 0, or -1 (out
 *		unchanged) when it cannot be sent: no recipients or no queue
 *		id.  Other NULL strings go out as "" (rewrite_context as
 *		"local").  The "time" attribute is Postfix's MSG_STATS in the
 *		native layout (88 bytes on x86-64 Linux: five struct timeval
 *		and an int, zero-filled), base64: incoming_arrival and
 *		active_arrival from the request, everything else 0.  The
 *		agents are built for the same ABI (spec 3.4).  Exposed for
 *		byte-level tests.
 *	deliver_outcome_name(outcome)	"ok", "defer", "crash", ... (logs)
 *	deliver_clnt_sendopts(on)	speak to Postfix 3.10 and later agents:
 *		attribute 8 is "sendopts" (bits 0x3f) instead of 3.7's
 *		"smtputf8" (bits 0x0f).  Agents scan the header STRICT, so the
 *		format must match the installed Postfix ($pqmgr_agent_protocol).
 *
 * OUTCOMES (result->outcome) and what the caller does:
 *	DELIVER_OK		well-formed reply, request status 0
 *	DELIVER_DEFER		well-formed reply, request status != 0 (some
 *				recipient must be tried again)
 *		For both, result->hop_* hold the hop status (7 strings; status
 *		and reason are "" unless the agent wants the destination
 *		treated as failing, spec 3.9).
 *	DELIVER_CRASH		EOF or a malformed reply after the request was
 *				written, or no reply within opts->reply_ms:
 *				"warning: private/T socket: malformed
 *				response" (or "<id>: timeout receiving
 *				delivery status from transport: T").  hop_status
 *				"4.3.0", hop_reason "unknown mail transport
 *				error".  The message is deferred; no feedback.
 *	DELIVER_UNAVAILABLE	connect failure ("connect to transport
 *				private/T: <error>"), EOF, garbage or a read
 *				error instead of the announcement ("private/T
 *				socket: malformed response"), or no announcement
 *				within opts->announce_ms ("timeout connecting to
 *				transport: T").  ready was not called.
 *				hop_status "4.3.0", hop_reason "mail transport
 *				unavailable": throttle the transport.
 *	DELIVER_WRITE_FAILED	ready returned a request that could not be
 *				written (error, or opts->write_ms time-out:
 *				"write to process (T): <error>").  Put the
 *				entry back and throttle the transport (same hop
 *				fields).
 *	DELIVER_DECLINED	ready returned NULL.
 * result->why says what went wrong in words (the warning that was logged),
 * "" for OK, DEFER and DECLINED.
 *
 * TIME-OUTS (milliseconds; 0 means the default; opts NULL: all defaults,
 * service_dir "private"):
 *	announce_ms	wait for the announcement; Postfix: $daemon_timeout
 *			(18000 s) and then a fatal exit
 *	write_ms	write the request; $qmgr_ipc_timeout (60 s)
 *	reply_ms	wait for the reply; Postfix: $daemon_timeout and then a
 *			fatal exit
 * Deviation from Postfix: both $daemon_timeout watchdogs become outcomes
 * (UNAVAILABLE, CRASH) instead of ending the queue manager.
 *
 * The reply is read STRICT with bounded limits (DELIVER_STRING_MAX per
 * value, DELIVER_LIST_MAX per list): the DSN run of 7 strings, then the
 * INT "status"; the count must be 2.  The connection is closed as soon as
 * the reply is read (the agent waits for that EOF).
 *
 * Implementation: plain libevent events (one per connection, re-armed per
 * phase) over a SOCKBUF, whose attr_scan() reports AGAIN until the whole
 * list has arrived.
 */
#ifndef PQ_DELIVER_CLNT_H
#define PQ_DELIVER_CLNT_H

#include <stddef.h>

#include "strbuf.h"

struct event_base;

/* Delivery request flags (spec 3.5). */
#define DEL_REQ_FLAG_SUCCESS      0x0001
#define DEL_REQ_FLAG_BOUNCE       0x0002
#define DEL_REQ_FLAG_MTA_VRFY     0x0100
#define DEL_REQ_FLAG_USR_VRFY     0x0200
#define DEL_REQ_FLAG_RECORD       0x0400
#define DEL_REQ_FLAG_CONN_LOAD    0x0800
#define DEL_REQ_FLAG_CONN_STORE   0x1000
#define DEL_REQ_FLAG_REC_DLY_SENT 0x2000
#define DEL_REQ_FLAG_DEFAULT      (DEL_REQ_FLAG_SUCCESS | DEL_REQ_FLAG_BOUNCE)
#define DEL_REQ_TRACE_FLAGS(f)    ((f) &0x2700)
#define DEL_REQ_TRACE_ONLY(f)     ((f) &0x0300)

/* One recipient list (spec 3.7). */
typedef struct DELIVER_RCPT {
    long offset;           /* of the 'R' record */
    const char *dsn_orcpt; /* "type;address" or "" */
    int dsn_notify;        /* DSN NOTIFY bits, 0 = not specified */
    const char *orig_addr; /* 'O' record or "" */
    const char *address;   /* as resolved, internal form */
} DELIVER_RCPT;

/* The header list (spec 3.3), in wire order. */
typedef struct DELIVER_REQUEST {
    int flags;              /* DEL_REQ_FLAG_* */
    const char *queue_name; /* "active" */
    const char *queue_id;
    long data_offset;     /* size record field 2 */
    long data_size;       /* content length (field 5, else field 1) */
    const char *nexthop;  /* original case */
    const char *encoding; /* "" if none */
    int smtputf8;         /* size record field 6 plus per-request bits */
    const char *sender;   /* internal form; "" = null sender */
    const char *dsn_envid;
    int dsn_ret;
    long arrival_sec; /* MSG_STATS incoming_arrival: the 'T' record */
    long arrival_usec;
    long active_sec; /* MSG_STATS active_arrival: activation time */
    long active_usec;
    const char *client_name; /* log_client_name (or legacy) */
    const char *client_addr;
    const char *client_port;
    const char *client_proto;
    const char *client_helo;
    const char *sasl_method;
    const char *sasl_username;
    const char *sasl_sender;
    const char *log_ident;
    const char *rewrite_context; /* "local" when absent */
    const DELIVER_RCPT *rcpt;
    int rcpt_count; /* >= 1 */
} DELIVER_REQUEST;

typedef enum DELIVER_OUTCOME {
    DELIVER_OK,
    DELIVER_DEFER,
    DELIVER_CRASH,
    DELIVER_UNAVAILABLE,
    DELIVER_WRITE_FAILED,
    DELIVER_DECLINED,
} DELIVER_OUTCOME;

typedef struct DELIVER_RESULT {
    DELIVER_OUTCOME outcome;
    const char *transport;
    unsigned status;        /* request status as received (OK, DEFER) */
    const char *hop_status; /* the hop DSN (never NULL) */
    const char *hop_diag_type;
    const char *hop_diag_text;
    const char *hop_mta_type;
    const char *hop_mta_mname;
    const char *hop_action;
    const char *hop_reason;
    const char *why; /* the problem, "" if none */
} DELIVER_RESULT;

typedef struct DELIVER_CLNT_OPTS {
    const char *service_dir; /* "private" */
    int announce_ms;
    int write_ms;
    int reply_ms;
} DELIVER_CLNT_OPTS;

#define DELIVER_ANNOUNCE_MS (18000 * 1000)
#define DELIVER_WRITE_MS    (60 * 1000)
#define DELIVER_REPLY_MS    (18000 * 1000)
#define DELIVER_STRING_MAX  (64 * 1024)
#define DELIVER_LIST_MAX    (256 * 1024)

typedef struct DELIVER_CONN DELIVER_CONN;

typedef const DELIVER_REQUEST *(*DELIVER_READY_FN)(DELIVER_CONN *conn,
                                                   void *context);
typedef void (*DELIVER_DONE_FN)(const DELIVER_RESULT *result, void *context);

DELIVER_CONN *deliver_clnt_open(struct event_base *base, const char *transport,
                                const DELIVER_CLNT_OPTS *opts,
                                DELIVER_READY_FN ready, DELIVER_DONE_FN done,
                                void *context);
void deliver_clnt_abort(DELIVER_CONN *conn);
int deliver_clnt_count(void);
int deliver_clnt_encode(STRBUF *out, const DELIVER_REQUEST *req);
const char *deliver_outcome_name(DELIVER_OUTCOME outcome);
void deliver_clnt_sendopts(int on);

#endif
