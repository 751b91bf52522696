/*
 * deliver_clnt - asynchronous delivery agent client (deliver_clnt.h).
 *
 * A connection moves through phases; each phase arms one libevent event
 * on the socket with the time left until that phase's deadline:
 *	ANNOUNCE  readable: fill, scan the announcement; then ask ready()
 *	WRITE     writable: flush the encoded request
 *	REPLY     readable: fill, scan the reply
 *	REPORT    no socket: call done() from the loop (immediate connect
 *		  failure only; the other phases report from their callback)
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <event2/event.h>

#include "attr.h"
#include "deliver_clnt.h"
#include "msg.h"
#include "sockbuf.h"
#include "xalloc.h"

typedef enum PHASE {
    PHASE_ANNOUNCE,
    PHASE_WRITE,
    PHASE_REPLY,
    PHASE_REPORT,
} PHASE;

/* The hop status run of the reply: status, diag_type, diag_text,
 * mta_type, mta_mname, action, reason (dsn_print order). */
#define HOP_FIELDS 7

struct DELIVER_CONN {
    struct event_base *base;
    char *transport;
    char *path; /* service_dir/transport */
    DELIVER_CLNT_OPTS opts;
    DELIVER_READY_FN ready;
    DELIVER_DONE_FN done;
    void *context;
    SOCKBUF *sb;
    struct event *ev;
    PHASE phase;
    long deadline; /* of the current phase, monotonic ms */
    char *queue_id;

    /* The result being built. */
    DELIVER_OUTCOME outcome;
    unsigned status;
    STRBUF *hop[HOP_FIELDS];
    STRBUF *why;
};

static const ATTR_LIMITS reply_limits = {DELIVER_STRING_MAX, DELIVER_LIST_MAX,
                                         ATTR_HASH_MAX};

static int live_connections;

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
    attr_list_add_int(l, "smtputf8", (unsigned) req->smtputf8);
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

static long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void conn_event(evutil_socket_t fd, short what, void *arg);

/* arm - wait for what on the socket until the phase deadline */

static void
arm(DELIVER_CONN *conn, short what)
{
    long left = conn->deadline - now_ms();
    struct timeval tv;

    if (left < 0)
        left = 0;
    tv.tv_sec = left / 1000;
    tv.tv_usec = (left % 1000) * 1000;
    if (conn->ev)
        event_free(conn->ev);
    conn->ev =
        event_new(conn->base, sockbuf_fd(conn->sb), what, conn_event, conn);
    event_add(conn->ev, &tv);
}

static void
start_phase(DELIVER_CONN *conn, PHASE phase, int timeout_ms, short what)
{
    conn->phase = phase;
    conn->deadline = now_ms() + timeout_ms;
    arm(conn, what);
}

static void
conn_free(DELIVER_CONN *conn)
{
    int i;

    if (conn->ev)
        event_free(conn->ev);
    sockbuf_free(conn->sb);
    xfree(conn->transport);
    xfree(conn->path);
    xfree(conn->queue_id);
    for (i = 0; i < HOP_FIELDS; i++)
        strbuf_free(conn->hop[i]);
    strbuf_free(conn->why);
    xfree(conn);
    live_connections--;
}

void
deliver_clnt_abort(DELIVER_CONN *conn)
{
    if (conn != NULL)
        conn_free(conn);
}

/* report - close the socket, tell the caller, forget the connection */

static void
report(DELIVER_CONN *conn)
{
    DELIVER_RESULT res;

    if (conn->ev) {
        event_free(conn->ev);
        conn->ev = NULL;
    }
    sockbuf_free(conn->sb);
    conn->sb = NULL;
    memset(&res, 0, sizeof(res));
    res.outcome = conn->outcome;
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

static void
reset_hop(DELIVER_CONN *conn)
{
    int i;

    for (i = 0; i < HOP_FIELDS; i++)
        strbuf_reset(conn->hop[i]);
}

/* fail - finish with a failure outcome, logging why */

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
    conn->outcome = outcome;
    reset_hop(conn);
    strbuf_setstr(conn->hop[0], "4.3.0");
    strbuf_setstr(conn->hop[6], outcome == DELIVER_CRASH
                                    ? "unknown mail transport error"
                                    : "mail transport unavailable");
    report(conn);
}

/*
 * fill_input - read what is there: 1 go on scanning, 2 the buffer is full
 * (scan what is there), 0 wait, -1 error
 */
#define FILL_FULL 2

static int
fill_input(DELIVER_CONN *conn)
{
    if (sockbuf_fill(conn->sb) >= 0)
        return 1;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return 0;
    return errno == ENOBUFS ? FILL_FULL : -1;
}

static void
send_request(DELIVER_CONN *conn)
{
    const DELIVER_REQUEST *req;

    if ((req = conn->ready(conn, conn->context)) == NULL) {
        conn->outcome = DELIVER_DECLINED;
        report(conn);
        return;
    }
    conn->queue_id = xstrdup(req->queue_id ? req->queue_id : "");
    if (deliver_clnt_encode(sockbuf_out(conn->sb), req) < 0) {
        fail(conn, DELIVER_WRITE_FAILED,
             "write to process (%s): cannot encode the request for %s",
             conn->transport, conn->queue_id);
        return;
    }
    start_phase(conn, PHASE_WRITE, conn->opts.write_ms, EV_WRITE);
}

static void
on_announce(DELIVER_CONN *conn, short what)
{
    ATTR_SCAN_RESULT res;
    int got;

    if (!(what & EV_READ)) {
        fail(conn, DELIVER_UNAVAILABLE, "timeout connecting to transport: %s",
             conn->transport);
        return;
    }
    if ((got = fill_input(conn)) == 0) {
        arm(conn, EV_READ);
        return;
    }
    if (got < 0) {
        fail(conn, DELIVER_UNAVAILABLE, "%s socket: premature disconnect: %s",
             conn->path, strerror(errno));
        return;
    }
    switch (sockbuf_scan_announcement(conn->sb, ATTR_ENC_0, ATTR_PROTO_DELIVERY,
                                      &res)) {
        case ATTR_SCAN_AGAIN:
            if (got != FILL_FULL) {
                arm(conn, EV_READ);
                return;
            }
            strcpy(res.why, "announcement too long");
            break;
        case ATTR_SCAN_DONE:
            if (sockbuf_input_len(conn->sb) == 0) {
                send_request(conn);
                return;
            }
            strcpy(res.why, "unexpected data after the announcement");
            break;
        case ATTR_SCAN_EOF:
            strcpy(res.why, "connection closed");
            break;
        default:
            break;
    }
    fail(conn, DELIVER_UNAVAILABLE, "%s socket: malformed response (%s)",
         conn->path, res.why);
}

static void
on_writable(DELIVER_CONN *conn, short what)
{
    int ret;

    if (!(what & EV_WRITE)) {
        fail(conn, DELIVER_WRITE_FAILED, "write to process (%s): %s",
             conn->transport, strerror(ETIMEDOUT));
        return;
    }
    if ((ret = sockbuf_flush(conn->sb)) < 0) {
        fail(conn, DELIVER_WRITE_FAILED, "write to process (%s): %s",
             conn->transport, strerror(errno));
        return;
    }
    if (ret == 0) {
        arm(conn, EV_WRITE);
        return;
    }
    start_phase(conn, PHASE_REPLY, conn->opts.reply_ms, EV_READ);
}

static void
take_reply(DELIVER_CONN *conn, unsigned status)
{
    conn->status = status;
    conn->outcome = status == 0 ? DELIVER_OK : DELIVER_DEFER;
    strbuf_reset(conn->why);
    report(conn);
}

static void
on_reply(DELIVER_CONN *conn, short what)
{
    const ATTR_SPEC dsn[] = {
        ATTR_WANT_STR("status", conn->hop[0]),
        ATTR_WANT_STR("diag_type", conn->hop[1]),
        ATTR_WANT_STR("diag_text", conn->hop[2]),
        ATTR_WANT_STR("mta_type", conn->hop[3]),
        ATTR_WANT_STR("mta_mname", conn->hop[4]),
        ATTR_WANT_STR("action", conn->hop[5]),
        ATTR_WANT_STR("reason", conn->hop[6]),
        ATTR_WANT_END,
    };
    unsigned status = 0;
    const ATTR_SPEC want[] = {
        ATTR_WANT_RUN(dsn),
        ATTR_WANT_INT("status", &status),
        ATTR_WANT_END,
    };
    ATTR_SCAN_RESULT res;
    int got;

    if (!(what & EV_READ)) {
        fail(conn, DELIVER_CRASH,
             "%s: timeout receiving delivery status from transport: %s",
             conn->queue_id, conn->transport);
        return;
    }
    if ((got = fill_input(conn)) == 0) {
        arm(conn, EV_READ);
        return;
    }
    if (got < 0) {
        fail(conn, DELIVER_CRASH, "%s socket: malformed response (%s)",
             conn->path, strerror(errno));
        return;
    }
    switch (sockbuf_scan(conn->sb, ATTR_ENC_0, ATTR_FLAG_STRICT, want,
                         &reply_limits, &res)) {
        case ATTR_SCAN_AGAIN:
            if (got != FILL_FULL) {
                arm(conn, EV_READ);
                return;
            }
            strcpy(res.why, "reply too long");
            break;
        case ATTR_SCAN_DONE:
            if (res.count == 2) {
                take_reply(conn, status);
                return;
            }
            snprintf(res.why, sizeof(res.why), "%d attributes", res.count);
            break;
        case ATTR_SCAN_EOF:
            strcpy(res.why, "connection closed");
            break;
        default:
            break;
    }
    fail(conn, DELIVER_CRASH, "%s socket: malformed response (%s)", conn->path,
         res.why);
}

static void
conn_event(evutil_socket_t fd, short what, void *arg)
{
    DELIVER_CONN *conn = arg;

    switch (conn->phase) {
        case PHASE_ANNOUNCE:
            on_announce(conn, what);
            break;
        case PHASE_WRITE:
            on_writable(conn, what);
            break;
        case PHASE_REPLY:
            on_reply(conn, what);
            break;
        case PHASE_REPORT:
            report(conn);
            break;
    }
}

static int
opt_ms(int value, int dflt)
{
    return value > 0 ? value : dflt;
}

/* report_later - an outcome known before the loop ran: report from it */

static void
report_later(DELIVER_CONN *conn)
{
    conn->phase = PHASE_REPORT;
    conn->ev = event_new(conn->base, -1, 0, conn_event, conn);
    event_active(conn->ev, EV_TIMEOUT, 0);
}

static void
set_unavailable(DELIVER_CONN *conn, const char *fmt, const char *a,
                const char *b)
{
    strbuf_reset(conn->why);
    strbuf_addf(conn->why, fmt, a, b);
    msg_warn("%s", strbuf_str(conn->why));
    conn->outcome = DELIVER_UNAVAILABLE;
    strbuf_setstr(conn->hop[0], "4.3.0");
    strbuf_setstr(conn->hop[6], "mail transport unavailable");
}

DELIVER_CONN *
deliver_clnt_open(struct event_base *base, const char *transport,
                  const DELIVER_CLNT_OPTS *opts, DELIVER_READY_FN ready,
                  DELIVER_DONE_FN done, void *context)
{
    static const DELIVER_CLNT_OPTS defaults;
    DELIVER_CONN *conn = xcalloc(1, sizeof(*conn));
    int i, fd;

    if (opts == NULL)
        opts = &defaults;

    live_connections++;
    conn->base = base;
    conn->transport = xstrdup(transport);
    conn->opts.service_dir = NULL;
    conn->opts.announce_ms = opt_ms(opts->announce_ms, DELIVER_ANNOUNCE_MS);
    conn->opts.write_ms = opt_ms(opts->write_ms, DELIVER_WRITE_MS);
    conn->opts.reply_ms = opt_ms(opts->reply_ms, DELIVER_REPLY_MS);
    conn->ready = ready;
    conn->done = done;
    conn->context = context;
    for (i = 0; i < HOP_FIELDS; i++)
        conn->hop[i] = strbuf_alloc(16);
    conn->why = strbuf_alloc(100);
    conn->path = xmalloc(strlen(str_or(opts->service_dir, "private")) +
                         strlen(transport) + 2);
    sprintf(conn->path, "%s/%s", str_or(opts->service_dir, "private"),
            transport);

    if (*transport == 0 || strchr(transport, '/') != NULL) {
        set_unavailable(conn, "connect to transport %s: %s", conn->path,
                        "invalid transport name");
    } else if ((fd = sockbuf_connect_unix(conn->path)) < 0) {
        set_unavailable(conn, "connect to transport %s: %s", conn->path,
                        strerror(errno));
    } else {
        conn->sb = sockbuf_create(fd, DELIVER_LIST_MAX);
        start_phase(conn, PHASE_ANNOUNCE, conn->opts.announce_ms, EV_READ);
        return conn;
    }
    report_later(conn);
    return conn;
}
