/*
 * bounce_clnt - bounce/defer/trace clients and the status library
 * (bounce_clnt.h).
 *
 * Asynchronous notices: one async_xchg exchange per request (connect,
 * announcement, request, reply, each phase with its own deadline).
 * Synchronous reports: the SOCKBUF blocking helpers.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "async_xchg.h"
#include "attr.h"
#include "bounce_clnt.h"
#include "deliver_clnt.h"
#include "log_status.h"
#include "msg.h"
#include "sockbuf.h"
#include "xalloc.h"

/* Replies are one small list; anything bigger is garbage. */
#define REPLY_STRING_MAX 1024
#define REPLY_LIST_MAX   4096

static const ATTR_LIMITS reply_limits = {REPLY_STRING_MAX, REPLY_LIST_MAX,
                                         ATTR_HASH_MAX};

static BOUNCE_CLNT_CONF conf = {
    .bounce_service = "bounce",
    .defer_service = "defer",
    .trace_service = "trace",
    .verify_service = "verify",
    .flush_service = "flush",
    .ipc_timeout_ms = BOUNCE_CLNT_IPC_TIMEOUT_MS,
    .async_timeout_ms = BOUNCE_CLNT_ASYNC_TIMEOUT_MS,
    .verify_neg_cache = 1,
    .fast_flush_domains = NULL,
};

void
bounce_clnt_conf_default(BOUNCE_CLNT_CONF *c)
{
    c->bounce_service = "bounce";
    c->defer_service = "defer";
    c->trace_service = "trace";
    c->verify_service = "verify";
    c->flush_service = "flush";
    c->ipc_timeout_ms = BOUNCE_CLNT_IPC_TIMEOUT_MS;
    c->async_timeout_ms = BOUNCE_CLNT_ASYNC_TIMEOUT_MS;
    c->verify_neg_cache = 1;
    c->fast_flush_domains = NULL;
    c->sendopts = 0;
}

/* Owned copies of the configured service names. */
static char *owned_names[6];

static const char *
set_name(int slot, const char *value, const char *dflt)
{
    xfree(owned_names[slot]);
    owned_names[slot] = xstrdup(value ? value : dflt);
    return owned_names[slot];
}

void
bounce_clnt_config(const BOUNCE_CLNT_CONF *c)
{
    conf.bounce_service = set_name(0, c->bounce_service, "bounce");
    conf.defer_service = set_name(1, c->defer_service, "defer");
    conf.trace_service = set_name(2, c->trace_service, "trace");
    conf.verify_service = set_name(3, c->verify_service, "verify");
    conf.flush_service = set_name(4, c->flush_service, "flush");
    conf.ipc_timeout_ms =
        c->ipc_timeout_ms > 0 ? c->ipc_timeout_ms : BOUNCE_CLNT_IPC_TIMEOUT_MS;
    conf.async_timeout_ms = c->async_timeout_ms > 0
                                ? c->async_timeout_ms
                                : BOUNCE_CLNT_ASYNC_TIMEOUT_MS;
    conf.verify_neg_cache = c->verify_neg_cache;
    conf.sendopts = c->sendopts;
    conf.fast_flush_domains =
        c->fast_flush_domains ? set_name(5, c->fast_flush_domains, "") : NULL;
}

static const char *
str_or(const char *str, const char *dflt)
{
    return str ? str : dflt;
}

/* Encoders. */

static void
add_notice(ATTR_LIST *l, int command, const BOUNCE_NOTICE *n)
{
    attr_list_add_int(l, "nrequest", (unsigned) command);
    attr_list_add_int(l, "flags", (unsigned) n->flags);
    attr_list_add_str(l, "queue_name", str_or(n->queue_name, "active"));
    attr_list_add_str(l, "queue_id", str_or(n->queue_id, ""));
    attr_list_add_str(l, "encoding", str_or(n->encoding, ""));
    attr_list_add_int(l, conf.sendopts ? "sendopts" : "smtputf8",
                      (unsigned) n->smtputf8);
    attr_list_add_str(l, "sender", str_or(n->sender, ""));
    attr_list_add_str(l, "envelope_id", str_or(n->dsn_envid, ""));
    attr_list_add_int(l, "ret_flags", (unsigned) n->dsn_ret);
    if (command == BOUNCE_CMD_VERP)
        attr_list_add_str(l, "verp_delimiters", str_or(n->verp_delims, ""));
}

void
bounce_clnt_encode_notice(STRBUF *out, int command, const BOUNCE_NOTICE *n)
{
    ATTR_LIST *list = attr_list_create();

    add_notice(list, command, n);
    attr_print0(out, ATTR_FLAG_NONE, list);
    attr_list_free(list);
}

static void
add_rcpt(ATTR_LIST *l, const BOUNCE_RCPT *rcpt)
{
    attr_list_add_str(l, "original_recipient", str_or(rcpt->orig_addr, ""));
    attr_list_add_str(l, "recipient", str_or(rcpt->address, ""));
    attr_list_add_long(l, "offset", (unsigned long) rcpt->offset);
    attr_list_add_str(l, "dsn_orig_rcpt", str_or(rcpt->dsn_orcpt, ""));
    attr_list_add_int(l, "notify_flags", (unsigned) rcpt->dsn_notify);
}

static void
add_dsn(ATTR_LIST *l, const BOUNCE_DSN *dsn)
{
    attr_list_add_str(l, "status", str_or(dsn->status, ""));
    attr_list_add_str(l, "diag_type", str_or(dsn->diag_type, ""));
    attr_list_add_str(l, "diag_text", str_or(dsn->diag_text, ""));
    attr_list_add_str(l, "mta_type", str_or(dsn->mta_type, ""));
    attr_list_add_str(l, "mta_mname", str_or(dsn->mta_mname, ""));
    attr_list_add_str(l, "action", str_or(dsn->action, ""));
    attr_list_add_str(l, "reason", str_or(dsn->reason, ""));
}

void
bounce_clnt_encode_append(STRBUF *out, int flags, const char *id,
                          const BOUNCE_RCPT *rcpt, const BOUNCE_DSN *dsn)
{
    ATTR_LIST *list = attr_list_create();

    attr_list_add_int(list, "nrequest", BOUNCE_CMD_APPEND);
    attr_list_add_int(list, "flags", (unsigned) flags);
    attr_list_add_str(list, "queue_id", id);
    add_rcpt(list, rcpt);
    add_dsn(list, dsn);
    attr_print0(out, ATTR_FLAG_NONE, list);
    attr_list_free(list);
}

/* ---------------------------------------------------------------- async */

struct BOUNCE_REQ {
    char *path;
    char *queue_id;
    int command;
    int flags;
    STRBUF *request;
    BOUNCE_DONE_FN done;
    void *context;
    ASYNC_XCHG *xchg;
    ASYNC_XCHG_OPS ops;
    unsigned status;
    ATTR_SPEC want[2];
};

static int pending_requests;

int
bounce_clnt_pending(void)
{
    return pending_requests;
}

static const char *
command_text(int command)
{
    switch (command) {
        case BOUNCE_CMD_FLUSH:
            return "bounce";
        case BOUNCE_CMD_WARN:
            return "delay warning";
        case BOUNCE_CMD_VERP:
            return "verp";
        case BOUNCE_CMD_TRACE:
            return "trace";
        default:
            return "whatever";
    }
}

static void
req_free(BOUNCE_REQ *req)
{
    strbuf_free(req->request);
    xfree(req->path);
    xfree(req->queue_id);
    xfree(req);
    pending_requests--;
}

void
bounce_clnt_cancel(BOUNCE_REQ *req)
{
    if (req == NULL)
        return;
    async_xchg_abort(req->xchg);
    req_free(req);
}

static const char *
phase_text(ASYNC_XCHG_PHASE phase)
{
    switch (phase) {
        case AX_ANNOUNCE:
            return "reading the announcement";
        case AX_WRITE:
            return "writing the request";
        default:
            return "reading the reply";
    }
}

static int
req_request(void *context, STRBUF *out)
{
    BOUNCE_REQ *req = context;

    strbuf_addmem(out, strbuf_str(req->request), strbuf_len(req->request));
    return AX_SEND;
}

static void
req_done(void *context, const ASYNC_XCHG_RESULT *r)
{
    BOUNCE_REQ *req = context;
    int status = r->phase == AX_DONE ? (int) req->status : -1;

    req->xchg = NULL;
    if (r->phase == AX_CONNECT)
        msg_warn("%s: connect to %s: %s", req->queue_id, req->path, r->why);
    else if (r->phase != AX_DONE)
        msg_warn("%s: %s: %s: %s", req->queue_id, req->path,
                 phase_text(r->phase), r->why);
    if (status != 0 && (req->flags & BOUNCE_FLAG_CLEAN) == 0)
        msg_info("%s: status=deferred (%s failed)", req->queue_id,
                 command_text(req->command));
    req->done(status, req->context);
    req_free(req);
}

BOUNCE_REQ *
bounce_clnt_request(struct event_base *base, const char *service, int command,
                    const BOUNCE_NOTICE *notice, BOUNCE_DONE_FN done,
                    void *context)
{
    BOUNCE_REQ *req = xcalloc(1, sizeof(*req));
    ASYNC_XCHG_LIMITS limits;

    pending_requests++;
    req->path = xmalloc(strlen(service) + sizeof("private/"));
    sprintf(req->path, "private/%s", service);
    req->queue_id = xstrdup(str_or(notice->queue_id, ""));
    req->command = command;
    req->flags = notice->flags;
    req->done = done;
    req->context = context;
    req->request = strbuf_alloc(256);
    bounce_clnt_encode_notice(req->request, command, notice);
    req->want[0] = (ATTR_SPEC) ATTR_WANT_INT("status", &req->status);
    req->want[1] = (ATTR_SPEC) ATTR_WANT_END;
    req->ops.request = req_request;
    req->ops.reply = req->want;
    req->ops.reply_count = 1;
    req->ops.done = req_done;
    limits.announce_ms = limits.write_ms = limits.reply_ms =
        conf.async_timeout_ms;
    limits.input_max = REPLY_LIST_MAX;
    limits.scan = &reply_limits;
    if (strchr(service, '/') != NULL)
        req->xchg =
            async_xchg_refuse(base, "invalid service name", &req->ops, req);
    else
        req->xchg = async_xchg_open(base, req->path, ATTR_PROTO_STATUS, &limits,
                                    &req->ops, req);
    return req;
}

static BOUNCE_REQ *
request_flags(struct event_base *base, const char *service, int command,
              int extra_flags, const BOUNCE_NOTICE *notice, BOUNCE_DONE_FN done,
              void *context)
{
    BOUNCE_NOTICE copy = *notice;

    copy.flags |= extra_flags;
    return bounce_clnt_request(base, service, command, &copy, done, context);
}

BOUNCE_REQ *
bounce_clnt_flush(struct event_base *base, const BOUNCE_NOTICE *notice,
                  BOUNCE_DONE_FN done, void *context)
{
    return request_flags(base, conf.bounce_service, BOUNCE_CMD_FLUSH, 0, notice,
                         done, context);
}

BOUNCE_REQ *
bounce_clnt_flush_verp(struct event_base *base, const BOUNCE_NOTICE *notice,
                       BOUNCE_DONE_FN done, void *context)
{
    return request_flags(base, conf.bounce_service, BOUNCE_CMD_VERP, 0, notice,
                         done, context);
}

BOUNCE_REQ *
bounce_clnt_defer_flush(struct event_base *base, const BOUNCE_NOTICE *notice,
                        BOUNCE_DONE_FN done, void *context)
{
    return request_flags(base, conf.defer_service, BOUNCE_CMD_FLUSH,
                         BOUNCE_FLAG_DELRCPT, notice, done, context);
}

BOUNCE_REQ *
bounce_clnt_defer_flush_verp(struct event_base *base,
                             const BOUNCE_NOTICE *notice, BOUNCE_DONE_FN done,
                             void *context)
{
    return request_flags(base, conf.defer_service, BOUNCE_CMD_VERP,
                         BOUNCE_FLAG_DELRCPT, notice, done, context);
}

BOUNCE_REQ *
bounce_clnt_defer_warn(struct event_base *base, const BOUNCE_NOTICE *notice,
                       BOUNCE_DONE_FN done, void *context)
{
    return request_flags(base, conf.defer_service, BOUNCE_CMD_WARN, 0, notice,
                         done, context);
}

BOUNCE_REQ *
bounce_clnt_trace_flush(struct event_base *base, const BOUNCE_NOTICE *notice,
                        BOUNCE_DONE_FN done, void *context)
{
    return request_flags(base, conf.trace_service, BOUNCE_CMD_TRACE, 0, notice,
                         done, context);
}

/* ----------------------------------------------------------------- sync */

/*
 * command_client - one synchronous exchange with path: announcement
 * protocol, the request in out, a reply per want with the expected count
 * and flags.  0, or -1 after a warning.
 */
static int
command_client(const char *path, const char *protocol, const STRBUF *request,
               int scan_flags, const ATTR_SPEC *want, int expect)
{
    ATTR_SCAN_RESULT res;
    SOCKBUF *sb;
    const char *problem = NULL;
    int fd;

    if ((fd = sockbuf_connect_unix(path)) < 0) {
        msg_warn("connect to %s: %s", path, strerror(errno));
        return -1;
    }
    sb = sockbuf_create(fd, REPLY_LIST_MAX);
    if (sockbuf_announcement_wait(sb, ATTR_ENC_0, protocol, &res,
                                  conf.ipc_timeout_ms) != ATTR_SCAN_DONE) {
        problem = res.status == ATTR_SCAN_EOF ? "connection closed" : res.why;
    } else {
        strbuf_addmem(sockbuf_out(sb), strbuf_str(request),
                      strbuf_len(request));
        if (sockbuf_write_wait(sb, conf.ipc_timeout_ms) < 0)
            problem = strerror(errno);
        else if (sockbuf_read_wait(sb, ATTR_ENC_0, scan_flags, want,
                                   &reply_limits, &res,
                                   conf.ipc_timeout_ms) != ATTR_SCAN_DONE)
            problem =
                res.status == ATTR_SCAN_EOF ? "connection closed" : res.why;
        else if (res.count != expect)
            problem = "malformed reply";
    }
    if (problem)
        msg_warn("%s: %s", path, problem);
    sockbuf_free(sb);
    return problem ? -1 : 0;
}

/* status_request - send request to class/service, read "status" */

static int
status_request(const char *class, const char *service, const char *protocol,
               const STRBUF *request, int scan_flags, int *status)
{
    char path[256];
    unsigned value = 0;
    const ATTR_SPEC want[] = {ATTR_WANT_INT("status", &value), ATTR_WANT_END};

    if (strchr(service, '/') != NULL ||
        snprintf(path, sizeof(path), "%s/%s", class, service) >=
            (int) sizeof(path)) {
        msg_warn("invalid service name: %s", service);
        return -1;
    }
    if (command_client(path, protocol, request, scan_flags, want, 1) < 0)
        return -1;
    *status = (int) value;
    return 0;
}

/* append_request - APPEND to a bounce(8) service: 0 or -1 */

static int
append_request(const char *service, int flags, const char *id,
               const BOUNCE_RCPT *rcpt, const BOUNCE_DSN *dsn)
{
    STRBUF *request = strbuf_alloc(300);
    int status = -1;

    bounce_clnt_encode_append(request, flags, id, rcpt, dsn);
    if (status_request("private", service, ATTR_PROTO_STATUS, request,
                       ATTR_FLAG_STRICT, &status) < 0)
        status = -1;
    strbuf_free(request);
    return status == 0 ? 0 : -1;
}

int
bounce_clnt_flush_add(const char *site, const char *id)
{
    STRBUF *request = strbuf_alloc(100);
    ATTR_LIST *list = attr_list_create();
    int status = FLUSH_STAT_FAIL;

    if (conf.fast_flush_domains != NULL && *conf.fast_flush_domains == 0) {
        attr_list_free(list);
        strbuf_free(request);
        return FLUSH_STAT_DENY; /* no site is eligible */
    }
    attr_list_add_str(list, "request", "add");
    attr_list_add_str(list, "site", site);
    attr_list_add_str(list, "queue_id", id);
    attr_print0(request, ATTR_FLAG_NONE, list);
    attr_list_free(list);
    if (status_request("public", conf.flush_service, ATTR_PROTO_FLUSH, request,
                       ATTR_FLAG_STRICT, &status) < 0)
        status = FLUSH_STAT_FAIL;
    strbuf_free(request);
    return status;
}

/* verify_update - one request=update to verify(8); 0 or -1 */

static int
verify_update(const char *address, int rcpt_status, const char *reason)
{
    STRBUF *request = strbuf_alloc(100);
    ATTR_LIST *list = attr_list_create();
    int status = -1;

    attr_list_add_str(list, "request", "update");
    attr_list_add_str(list, "address", address);
    attr_list_add_int(list, "recipient_status", (unsigned) rcpt_status);
    attr_list_add_str(list, "reason", reason);
    attr_print0(request, ATTR_FLAG_NONE, list);
    attr_list_free(list);
    if (status_request("private", conf.verify_service, ATTR_PROTO_VERIFY,
                       request, ATTR_FLAG_MISSING, &status) < 0)
        status = -1;
    strbuf_free(request);
    return status == 0 ? 0 : -1;
}

static void
log_line(const char *id, const LOG_STATUS_STATS *stats, const BOUNCE_RCPT *rcpt,
         const char *relay, const BOUNCE_DSN *dsn, const char *status)
{
    LOG_STATUS ls;

    ls.queue_id = id;
    ls.recipient = rcpt->address;
    ls.orig_rcpt = rcpt->orig_addr;
    ls.relay = relay;
    ls.stats = stats;
    ls.dsn_status = dsn->status;
    ls.status = status;
    ls.reason = str_or(dsn->reason, "");
    log_status(&ls);
}

/* verify_append - report a probe result to verify(8) (spec 6.1 step 7) */

static int
verify_append(const char *id, const LOG_STATUS_STATS *stats,
              const BOUNCE_RCPT *rcpt, const char *relay, const BOUNCE_DSN *dsn,
              int rcpt_status)
{
    const char *orig = str_or(rcpt->orig_addr, "");
    const char *action = dsn->action;
    int status = 0;

    if (conf.verify_neg_cache || rcpt_status == DEL_RCPT_STAT_OK) {
        if (*orig)
            status = verify_update(orig, rcpt_status, str_or(dsn->reason, ""));
        if (status == 0 && strcmp(rcpt->address, orig) != 0)
            status = verify_update(rcpt->address, rcpt_status,
                                   str_or(dsn->reason, ""));
    } else {
        action = "undeliverable-but-not-cached";
    }
    if (status != 0) {
        msg_warn("%s: %s service failure", id, conf.verify_service);
        return -1;
    }
    log_line(id, stats, rcpt, relay, dsn, action);
    return 0;
}

int
bounce_clnt_trace_append(int flags, const char *id,
                         const LOG_STATUS_STATS *stats, const BOUNCE_RCPT *rcpt,
                         const char *relay, const BOUNCE_DSN *dsn)
{
    STRBUF *why = strbuf_alloc(100);
    BOUNCE_DSN my_dsn = *dsn;
    int status;

    if (strcmp(relay, "none") != 0)
        strbuf_addf(why, "delivery via %s: ", relay);
    strbuf_addstr(why, str_or(dsn->reason, ""));
    my_dsn.reason = strbuf_str(why);
    if (append_request(conf.trace_service, flags, id, rcpt, &my_dsn) < 0) {
        msg_warn("%s: %s service failure", id, conf.trace_service);
        status = -1;
    } else {
        if (flags & DEL_REQ_FLAG_USR_VRFY)
            log_line(id, stats, rcpt, relay, dsn, str_or(dsn->action, ""));
        status = 0;
    }
    strbuf_free(why);
    return status;
}

/* dsn_valid - d.ddd.ddd with class 2, 4 or 5, ended by NUL or space */

static int
dsn_valid(const char *text)
{
    const unsigned char *cp = (const unsigned char *) text;
    int part, len;

    if (text == NULL || (*cp != '2' && *cp != '4' && *cp != '5') ||
        cp[1] != '.')
        return 0;
    cp += 2;
    for (part = 0; part < 2; part++) {
        for (len = 0; isdigit(*cp); cp++)
            len++;
        if (len < 1 || len > 3)
            return 0;
        if (part == 0 && *cp++ != '.')
            return 0;
    }
    return *cp == 0 || isspace(*cp);
}

static void
flush_notify(const char *id, const char *address)
{
    const char *domain = strrchr(address, '@');

    if (domain == NULL || *++domain == 0)
        return;
    switch (bounce_clnt_flush_add(domain, id)) {
        case FLUSH_STAT_OK:
        case FLUSH_STAT_DENY:
            break;
        default:
            msg_warn("%s: %s service failure", id, conf.flush_service);
            break;
    }
}

int
bounce_clnt_defer_append(int flags, const char *id,
                         const LOG_STATUS_STATS *stats, const BOUNCE_RCPT *rcpt,
                         const char *relay, const BOUNCE_DSN *dsn)
{
    BOUNCE_DSN my_dsn = *dsn;

    if (dsn->status == NULL || dsn->status[0] != '4' ||
        !dsn_valid(dsn->status)) {
        msg_warn("defer_append: ignoring dsn code \"%s\"",
                 str_or(dsn->status, ""));
        my_dsn.status = "4.0.0";
    }
    if (flags & DEL_REQ_FLAG_MTA_VRFY) {
        my_dsn.action = "undeliverable";
        return verify_append(id, stats, rcpt, relay, &my_dsn,
                             DEL_RCPT_STAT_DEFER);
    }
    if (flags & DEL_REQ_FLAG_USR_VRFY) {
        my_dsn.action = "undeliverable";
        return bounce_clnt_trace_append(flags, id, stats, rcpt, relay, &my_dsn);
    }
    my_dsn.action = "delayed";
    if (append_request(conf.defer_service, flags, id, rcpt, &my_dsn) < 0)
        msg_warn("%s: %s service failure", id, conf.defer_service);
    log_line(id, stats, rcpt, relay, &my_dsn, "deferred");
    if ((flags & DEL_REQ_FLAG_RECORD) &&
        bounce_clnt_trace_append(flags, id, stats, rcpt, relay, &my_dsn) != 0)
        msg_warn("%s: %s service failure", id, conf.trace_service);
    flush_notify(id, rcpt->address);
    return -1;
}

/* record_delayed_sent - REC_DLY_SENT applies to this recipient */

static int
record_delayed_sent(int flags, const BOUNCE_RCPT *rcpt)
{
    return (flags & DEL_REQ_FLAG_REC_DLY_SENT) &&
           (rcpt->dsn_notify == 0 || (rcpt->dsn_notify & 8 /* DELAY */));
}

int
bounce_clnt_sent(int flags, const char *id, const LOG_STATUS_STATS *stats,
                 const BOUNCE_RCPT *rcpt, const char *relay,
                 const BOUNCE_DSN *dsn)
{
    BOUNCE_DSN my_dsn = *dsn;
    STRBUF *why;
    int status;

    if (dsn->status == NULL || dsn->status[0] != '2' ||
        !dsn_valid(dsn->status)) {
        msg_warn("sent: ignoring dsn code \"%s\"", str_or(dsn->status, ""));
        my_dsn.status = "2.0.0";
    }
    if (flags & DEL_REQ_FLAG_MTA_VRFY) {
        my_dsn.action = "deliverable";
        return verify_append(id, stats, rcpt, relay, &my_dsn, DEL_RCPT_STAT_OK);
    }
    if (flags & DEL_REQ_FLAG_USR_VRFY) {
        my_dsn.action = "deliverable";
        return bounce_clnt_trace_append(flags, id, stats, rcpt, relay, &my_dsn);
    }
    if (my_dsn.action == NULL || *my_dsn.action == 0)
        my_dsn.action = "delivered";
    if ((!(flags & DEL_REQ_FLAG_RECORD) && !record_delayed_sent(flags, rcpt)) ||
        bounce_clnt_trace_append(flags, id, stats, rcpt, relay, &my_dsn) == 0) {
        if ((rcpt->dsn_notify & 2 /* SUCCESS */) == 0 ||
            bounce_clnt_trace_append(flags, id, stats, rcpt, relay, &my_dsn) ==
                0) {
            log_line(id, stats, rcpt, relay, &my_dsn, "sent");
            return 0;
        }
    }
    why = strbuf_alloc(100);
    strbuf_addf(why, "%s: %s service failed", id, conf.trace_service);
    my_dsn.reason = strbuf_str(why);
    my_dsn.status = "4.3.0";
    status = bounce_clnt_defer_append(flags, id, stats, rcpt, relay, &my_dsn);
    strbuf_free(why);
    return status;
}
