/*
 * async_xchg - one asynchronous request/reply exchange with a Postfix
 * service over a UNIX-domain socket, on libevent.
 *
 * Every asynchronous conversation the queue manager has with Postfix's
 * daemons (a delivery agent, bounce/defer/trace) has the same shape: connect
 * without blocking, wait for the server's announcement "protocol=<name>",
 * write one request, read one attribute-list reply, close.  This module runs
 * those phases, each with its own deadline, with bounded buffers, and ends
 * every exchange with exactly one call of ops->done; the clients supply the
 * request and the reply's wish list and turn the result into their own
 * outcomes and log lines.
 *
 *	async_xchg_open(base, path, protocol, limits, ops, context)
 *		connect to path (relative to the working directory) and start.
 *		Never calls back before returning: even an immediate connect
 *		failure is reported from the event loop.
 *	async_xchg_refuse(base, why, ops, context)
 *		an exchange that fails at once in the connect phase with why
 *		(for a service name the client will not use), reported from the
 *		event loop like a connect failure
 *	async_xchg_abort(x)	stop and forget, without calling done
 *	async_xchg_count()	exchanges not yet reported (leak checks)
 *
 * ops (the client's side):
 *	request(context, out)	the announcement was right: append the
 *		encoded request to out and return AX_SEND, or return
 *		AX_DECLINE (close quietly: the server takes that as "nothing
 *		to do") or AX_NOT_ENCODED (the request cannot be sent)
 *	reply, reply_count	the wish list of the reply, read STRICT; a good
 *		reply converts exactly reply_count attributes.  The wish list's
 *		destinations belong to the client and must live until done.
 *	done(context, result)	exactly once, after the socket is closed
 *
 * result->phase says where the exchange ended (AX_DONE for a good reply,
 * AX_DECLINED), result->problem what went wrong there (AX_TIMEOUT, AX_IO:
 * a system call failed, AX_MALFORMED: the peer sent something unacceptable
 * or closed early), result->why the detail in words ("" for AX_DONE and
 * AX_DECLINED).
 */
#ifndef PQ_ASYNC_XCHG_H
#define PQ_ASYNC_XCHG_H

#include <stddef.h>

#include "attr.h"
#include "strbuf.h"

struct event_base;

typedef enum ASYNC_XCHG_PHASE {
    AX_CONNECT,
    AX_ANNOUNCE,
    AX_WRITE,
    AX_REPLY,
    AX_DONE,
    AX_DECLINED,
} ASYNC_XCHG_PHASE;

typedef enum ASYNC_XCHG_PROBLEM {
    AX_NO_PROBLEM,
    AX_TIMEOUT,
    AX_IO,
    AX_MALFORMED,
} ASYNC_XCHG_PROBLEM;

/* request() results. */
#define AX_SEND        0
#define AX_DECLINE     1
#define AX_NOT_ENCODED (-1)

typedef struct ASYNC_XCHG_RESULT {
    ASYNC_XCHG_PHASE phase;
    ASYNC_XCHG_PROBLEM problem;
    const char *why;
} ASYNC_XCHG_RESULT;

typedef struct ASYNC_XCHG_OPS {
    int (*request)(void *context, STRBUF *out);
    const ATTR_SPEC *reply;
    int reply_count;
    void (*done)(void *context, const ASYNC_XCHG_RESULT *result);
} ASYNC_XCHG_OPS;

typedef struct ASYNC_XCHG_LIMITS {
    int announce_ms;         /* wait for the announcement */
    int write_ms;            /* write the request */
    int reply_ms;            /* wait for the reply */
    size_t input_max;        /* most bytes buffered from the peer */
    const ATTR_LIMITS *scan; /* limits for scanning the reply */
} ASYNC_XCHG_LIMITS;

typedef struct ASYNC_XCHG ASYNC_XCHG;

ASYNC_XCHG *async_xchg_open(struct event_base *base, const char *path,
                            const char *protocol,
                            const ASYNC_XCHG_LIMITS *limits,
                            const ASYNC_XCHG_OPS *ops, void *context);
ASYNC_XCHG *async_xchg_refuse(struct event_base *base, const char *why,
                              const ASYNC_XCHG_OPS *ops, void *context);
void async_xchg_abort(ASYNC_XCHG *x);
int async_xchg_count(void);

#endif
