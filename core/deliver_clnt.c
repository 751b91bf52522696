/*
 * deliver_clnt - asynchronous delivery agent client (deliver_clnt.h).
 *
 * The exchange itself (connect, announcement, request, reply, deadlines)
 * is async_xchg's; this file builds the request, names the reply's
 * attributes, and turns the way an exchange ended into a DELIVER_OUTCOME
 * and Postfix's warning texts.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "async_xchg.h"
#include "attr.h"
#include "deliver_clnt.h"
#include "msg.h"
#include "xalloc.h"

/* The hop status run of the reply: status, diag_type, diag_text,
 * mta_type, mta_mname, action, reason (dsn_print order). */
#define HOP_FIELDS 7

struct DELIVER_CONN {
    char *transport;
    char *path; /* service_dir/transport */
    DELIVER_READY_FN ready;
    DELIVER_DONE_FN done;
    void *context;
    ASYNC_XCHG *xchg;
    ASYNC_XCHG_OPS ops;
    char *queue_id;

    /* The reply's wish list and the result being built. */
    unsigned status;
    STRBUF *hop[HOP_FIELDS];
    ATTR_SPEC dsn[HOP_FIELDS + 1];
    ATTR_SPEC want[3];
    STRBUF *why;
};

static const ATTR_LIMITS reply_limits = {DELIVER_STRING_MAX, DELIVER_LIST_MAX,
                                         ATTR_HASH_MAX};

static int live_connections;
static int use_sendopts;

/* Attribute 8: its name and the bits each format knows. */
#define SMTPUTF8_MASK_37  0x0f
#define SENDOPTS_MASK_310 0x3f

void
deliver_clnt_sendopts(int on)
{
    use_sendopts = on;
}

const char *
deliver_outcome_name(DELIVER_OUTCOME outcome)
{
    switch (outcome) {
        case DELIVER_OK:
            return "ok";
        case DELIVER_DEFER:
            return "defer";
        case DELIVER_CRASH:
            return "crash";
        case DELIVER_UNAVAILABLE:
            return "unavailable";
        case DELIVER_WRITE_FAILED:
            return "write failed";
        case DELIVER_DECLINED:
            return "declined";
    }
    return "unknown";
}

int
deliver_clnt_count(void)
{
    return live_connections;
}

/* Encoding. */

static const char *
str_or(const char *str, const char *dflt)
{
    return str ? str : dflt;
}

/* put_timeval - store a struct timeval at offset in the wire image */

static void
put_timeval(unsigned char *image, size_t offset, long sec, long usec)
{
    struct timeval tv;

    memset(&tv, 0, sizeof(tv));
    tv.tv_sec = (time_t) sec;
    tv.tv_usec = (suseconds_t) usec;
    memcpy(image + offset, &tv, sizeof(tv));
}

/* The native layout of Postfix's MSG_STATS. */
typedef struct WIRE_MSG_STATS {
    struct timeval incoming_arrival;
    struct timeval active_arrival;
    struct timeval agent_handoff;
    struct timeval conn_setup_done;
    struct timeval deliver_done;
    int reuse_count;
} WIRE_MSG_STATS;

static void
add_msg_stats(ATTR_LIST *list, const DELIVER_REQUEST *req)
{
    unsigned char image[sizeof(WIRE_MSG_STATS)];

    memset(image, 0, sizeof(image));
    put_timeval(image, offsetof(WIRE_MSG_STATS, incoming_arrival),
                req->arrival_sec, req->arrival_usec);
    put_timeval(image, offsetof(WIRE_MSG_STATS, active_arrival),
                req->active_sec, req->active_usec);
    attr_list_add_data(list, "time", image, sizeof(image));
}

static void
add_header(ATTR_LIST *l, const DELIVER_REQUEST *req)
{
    attr_list_add_int(l, "flags", (unsigned) req->flags);
    attr_list_add_str(l, "queue_name", str_or(req->queue_name, "active"));
    attr_list_add_str(l, "queue_id", req->queue_id);
    attr_list_add_long(l, "offset", (unsigned long) req->data_offset);
    attr_list_add_long(l, "size", (unsigned long) req->data_size);
    attr_list_add_str(l, "nexthop", str_or(req->nexthop, ""));
    attr_list_add_str(l, "encoding", str_or(req->encoding, ""));
    if (use_sendopts)
        attr_list_add_int(l, "sendopts",
                          (unsigned) req->smtputf8 & SENDOPTS_MASK_310);
    else
        attr_list_add_int(l, "smtputf8",
                          (unsigned) req->smtputf8 & SMTPUTF8_MASK_37);
    attr_list_add_str(l, "sender", str_or(req->sender, ""));
    attr_list_add_str(l, "envelope_id", str_or(req->dsn_envid, ""));
    attr_list_add_int(l, "ret_flags", (unsigned) req->dsn_ret);
    add_msg_stats(l, req);
    attr_list_add_str(l, "log_client_name", str_or(req->client_name, ""));
    attr_list_add_str(l, "log_client_address", str_or(req->client_addr, ""));
    attr_list_add_str(l, "log_client_port", str_or(req->client_port, ""));
    attr_list_add_str(l, "log_protocol_name", str_or(req->client_proto, ""));
    attr_list_add_str(l, "log_helo_name", str_or(req->client_helo, ""));
    attr_list_add_str(l, "sasl_method", str_or(req->sasl_method, ""));
    attr_list_add_str(l, "sasl_username", str_or(req->sasl_username, ""));
    attr_list_add_str(l, "sasl_sender", str_or(req->sasl_sender, ""));
    attr_list_add_str(l, "log_ident", str_or(req->log_ident, ""));
    attr_list_add_str(l, "rewrite_context",
                      str_or(req->rewrite_context, "local"));
    attr_list_add_int(l, "recipient_count", (unsigned) req->rcpt_count);
}

static void
add_recipient(ATTR_LIST *l, const DELIVER_RCPT *rcpt)
{
    attr_list_add_str(l, "original_recipient", str_or(rcpt->orig_addr, ""));
    attr_list_add_str(l, "recipient", str_or(rcpt->address, ""));
    attr_list_add_long(l, "offset", (unsigned long) rcpt->offset);
    attr_list_add_str(l, "dsn_orig_rcpt", str_or(rcpt->dsn_orcpt, ""));
    attr_list_add_int(l, "notify_flags", (unsigned) rcpt->dsn_notify);
}

int
deliver_clnt_encode(STRBUF *out, const DELIVER_REQUEST *req)
{
    size_t start = strbuf_len(out);
    ATTR_LIST *list;
    int i, status = 0;

    if (req->rcpt_count < 1 || req->rcpt == NULL || req->queue_id == NULL ||
        *req->queue_id == 0)
        return -1;
    list = attr_list_create();
    add_header(list, req);
    status |= attr_print0(out, ATTR_FLAG_NONE, list);
    for (i = 0; i < req->rcpt_count && status == 0; i++) {
        attr_list_reset(list);
        add_recipient(list, req->rcpt + i);
        status |= attr_print0(out, ATTR_FLAG_NONE, list);
    }
    attr_list_free(list);
    if (status != 0)
        strbuf_truncate(out, start);
    return status ? -1 : 0;
}

/* Connection life. */

static void
conn_free(DELIVER_CONN *conn)
{
    xfree(conn->transport);
    xfree(conn->path);
    xfree(conn->queue_id);
    for (int i = 0; i < HOP_FIELDS; i++)
        strbuf_free(conn->hop[i]);
    strbuf_free(conn->why);
    xfree(conn);
    live_connections--;
}

void
deliver_clnt_abort(DELIVER_CONN *conn)
{
    if (conn == NULL)
        return;
    async_xchg_abort(conn->xchg);
    conn_free(conn);
}

/* Tell the caller, forget the connection. */
static void
report(DELIVER_CONN *conn, DELIVER_OUTCOME outcome)
{
    DELIVER_RESULT res;

    memset(&res, 0, sizeof(res));
    res.outcome = outcome;
    res.transport = conn->transport;
    res.status = conn->status;
    res.hop_status = strbuf_str(conn->hop[0]);
    res.hop_diag_type = strbuf_str(conn->hop[1]);
    res.hop_diag_text = strbuf_str(conn->hop[2]);
    res.hop_mta_type = strbuf_str(conn->hop[3]);
    res.hop_mta_mname = strbuf_str(conn->hop[4]);
    res.hop_action = strbuf_str(conn->hop[5]);
    res.hop_reason = strbuf_str(conn->hop[6]);
    res.why = strbuf_str(conn->why);
    conn->done(&res, conn->context);
    conn_free(conn);
}

/* Finish with a failure outcome, logging why. */
static void fail(DELIVER_CONN *conn, DELIVER_OUTCOME outcome, const char *fmt,
                 ...) __attribute__((format(printf, 3, 4)));

static void
fail(DELIVER_CONN *conn, DELIVER_OUTCOME outcome, const char *fmt, ...)
{
    va_list ap;

    strbuf_reset(conn->why);
    va_start(ap, fmt);
    strbuf_vaddf(conn->why, fmt, ap);
    va_end(ap);
    msg_warn("%s", strbuf_str(conn->why));
    for (int i = 0; i < HOP_FIELDS; i++)
        strbuf_reset(conn->hop[i]);
    strbuf_setstr(conn->hop[0], "4.3.0");
    strbuf_setstr(conn->hop[6], outcome == DELIVER_CRASH
                                    ? "unknown mail transport error"
                                    : "mail transport unavailable");
    report(conn, outcome);
}

static int
conn_request(void *context, STRBUF *out)
{
    DELIVER_CONN *conn = context;
    const DELIVER_REQUEST *req;

    if ((req = conn->ready(conn, conn->context)) == NULL)
        return AX_DECLINE;
    conn->queue_id = xstrdup(req->queue_id ? req->queue_id : "");
    return deliver_clnt_encode(out, req) < 0 ? AX_NOT_ENCODED : AX_SEND;
}

static void
announce_failed(DELIVER_CONN *conn, const ASYNC_XCHG_RESULT *r)
{
    if (r->problem == AX_TIMEOUT)
        fail(conn, DELIVER_UNAVAILABLE, "timeout connecting to transport: %s",
             conn->transport);
    else if (r->problem == AX_IO)
        fail(conn, DELIVER_UNAVAILABLE, "%s socket: premature disconnect: %s",
             conn->path, r->why);
    else
        fail(conn, DELIVER_UNAVAILABLE, "%s socket: malformed response (%s)",
             conn->path, r->why);
}

static void
reply_failed(DELIVER_CONN *conn, const ASYNC_XCHG_RESULT *r)
{
    if (r->problem == AX_TIMEOUT)
        fail(conn, DELIVER_CRASH,
             "%s: timeout receiving delivery status from transport: %s",
             conn->queue_id, conn->transport);
    else
        fail(conn, DELIVER_CRASH, "%s socket: malformed response (%s)",
             conn->path, r->why);
}

static void
conn_done(void *context, const ASYNC_XCHG_RESULT *r)
{
    DELIVER_CONN *conn = context;

    conn->xchg = NULL;
    switch (r->phase) {
        case AX_DONE:
            strbuf_reset(conn->why);
            report(conn, conn->status == 0 ? DELIVER_OK : DELIVER_DEFER);
            break;
        case AX_DECLINED:
            report(conn, DELIVER_DECLINED);
            break;
        case AX_CONNECT:
            fail(conn, DELIVER_UNAVAILABLE, "connect to transport %s: %s",
                 conn->path, r->why);
            break;
        case AX_ANNOUNCE:
            announce_failed(conn, r);
            break;
        case AX_WRITE:
            if (r->problem == AX_MALFORMED)
                fail(conn, DELIVER_WRITE_FAILED,
                     "write to process (%s): cannot encode the request for %s",
                     conn->transport, conn->queue_id);
            else
                fail(conn, DELIVER_WRITE_FAILED, "write to process (%s): %s",
                     conn->transport, r->why);
            break;
        case AX_REPLY:
            reply_failed(conn, r);
            break;
    }
}

static int
opt_ms(int value, int dflt)
{
    return value > 0 ? value : dflt;
}

static void
set_wish_list(DELIVER_CONN *conn)
{
    static const char *const names[HOP_FIELDS] = {
        "status",    "diag_type", "diag_text", "mta_type",
        "mta_mname", "action",    "reason",
    };

    for (int i = 0; i < HOP_FIELDS; i++) {
        conn->hop[i] = strbuf_alloc(16);
        conn->dsn[i] = (ATTR_SPEC) ATTR_WANT_STR(names[i], conn->hop[i]);
    }
    conn->dsn[HOP_FIELDS] = (ATTR_SPEC) ATTR_WANT_END;
    conn->want[0] = (ATTR_SPEC) ATTR_WANT_RUN(conn->dsn);
    conn->want[1] = (ATTR_SPEC) ATTR_WANT_INT("status", &conn->status);
    conn->want[2] = (ATTR_SPEC) ATTR_WANT_END;
    conn->ops.request = conn_request;
    conn->ops.reply = conn->want;
    conn->ops.reply_count = 2;
    conn->ops.done = conn_done;
}

DELIVER_CONN *
deliver_clnt_open(struct event_base *base, const char *transport,
                  const DELIVER_CLNT_OPTS *opts, DELIVER_READY_FN ready,
                  DELIVER_DONE_FN done, void *context)
{
    static const DELIVER_CLNT_OPTS defaults;
    DELIVER_CONN *conn = xcalloc(1, sizeof(*conn));
    const char *dir;
    ASYNC_XCHG_LIMITS limits;

    if (opts == NULL)
        opts = &defaults;
    live_connections++;
    conn->transport = xstrdup(transport);
    conn->ready = ready;
    conn->done = done;
    conn->context = context;
    conn->why = strbuf_alloc(100);
    set_wish_list(conn);
    dir = str_or(opts->service_dir, "private");
    conn->path = xmalloc(strlen(dir) + strlen(transport) + 2);
    sprintf(conn->path, "%s/%s", dir, transport);
    limits.announce_ms = opt_ms(opts->announce_ms, DELIVER_ANNOUNCE_MS);
    limits.write_ms = opt_ms(opts->write_ms, DELIVER_WRITE_MS);
    limits.reply_ms = opt_ms(opts->reply_ms, DELIVER_REPLY_MS);
    limits.input_max = DELIVER_LIST_MAX;
    limits.scan = &reply_limits;
    if (*transport == 0 || strchr(transport, '/') != NULL)
        conn->xchg =
            async_xchg_refuse(base, "invalid transport name", &conn->ops, conn);
    else
        conn->xchg = async_xchg_open(base, conn->path, ATTR_PROTO_DELIVERY,
                                     &limits, &conn->ops, conn);
    return conn;
}
