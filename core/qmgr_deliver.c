/*
 * qmgr_deliver - agent connections and delivery requests.
 *
 *	qmgr_deliver_drain(q)	while the scheduler finds a transport that
 *		needs another agent connection, open one.  When the agent has
 *		announced itself, the entry to send is chosen at that moment
 *		(late binding) and the request built from the message's
 *		envelope; when the agent replies (or fails) the scheduler
 *		learns the outcome: feedback, throttling, deferral of the
 *		transport's waiting mail, and completion of the entry.
 *		With $<transport>_transport_rate_delay the connection is
 *		opened only after the delay (Postfix connects first and waits
 *		before choosing; either way the request goes out no earlier,
 *		and the transport is rate-locked meanwhile).
 */
#include <string.h>

#include <event2/event.h>

#include "deliver_clnt.h"
#include "msg.h"
#include "qmgr.h"
#include "verp_sender.h"
#include "xalloc.h"

typedef struct DELIVERY {
    QMGR *qmgr;
    struct event *delay;
    SCHED_TRANSPORT *transport;
    SCHED_ENTRY *entry;
    DELIVER_REQUEST req;
    DELIVER_RCPT *rcpts;
    char *verp_sender; /* VERP: this request's sender */
} DELIVERY;

/* SMTPUTF8 bits the queue manager adds per request (postfix-ipc.md 3.6). */
#define SMTPUTF8_FLAG_SENDER    4
#define SMTPUTF8_FLAG_RECIPIENT 8

/* Non-ASCII and valid UTF-8 (no overlong forms, no surrogates). */
static int
utf8_non_ascii(const char *text)
{
    const unsigned char *cp = (const unsigned char *) text;
    int non_ascii = 0;

    while (*cp) {
        int len = *cp < 0x80             ? 1
                  : (*cp & 0xe0) == 0xc0 ? 2
                  : (*cp & 0xf0) == 0xe0 ? 3
                  : (*cp & 0xf8) == 0xf0 ? 4
                                         : 0;
        unsigned code;

        if (len == 0 || (len == 2 && *cp < 0xc2) || *cp > 0xf4)
            return 0;
        code = len == 1 ? *cp : *cp & (0x7f >> len);
        for (int i = 1; i < len; i++) {
            if ((cp[i] & 0xc0) != 0x80)
                return 0;
            code = (code << 6) | (cp[i] & 0x3f);
        }
        if ((len == 3 && code < 0x800) || (len == 4 && code < 0x10000) ||
            (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff)
            return 0;
        non_ascii |= len > 1;
        cp += len;
    }
    return non_ascii;
}

static int
smtputf8_bits(const QMGR_MESSAGE *m, const SCHED_ENTRY *entry)
{
    int bits = m->qf->smtputf8;

    if (!m->qmgr->set.smtputf8_enable)
        return bits;
    for (int i = 0; i < entry->rcpt_count; i++) {
        if (utf8_non_ascii(entry->rcpts[i].address)) {
            bits |= SMTPUTF8_FLAG_RECIPIENT;
            if (m->qf->verp_delims)
                bits |= SMTPUTF8_FLAG_SENDER;
            break;
        }
    }
    return bits;
}

static int
request_flags(const QMGR_MESSAGE *m, const SCHED_ENTRY *entry)
{
    int flags =
        m->qf->tflags & (DEL_REQ_FLAG_MTA_VRFY | DEL_REQ_FLAG_USR_VRFY |
                         DEL_REQ_FLAG_RECORD | DEL_REQ_FLAG_REC_DLY_SENT);

    flags |= sched_entry_flags(entry);
    flags |= m->qf->inspect_xport ? DEL_REQ_FLAG_BOUNCE : DEL_REQ_FLAG_DEFAULT;
    return flags;
}

static void
build_request(DELIVERY *d)
{
    SCHED_ENTRY *entry = d->entry;
    QMGR_MESSAGE *m = entry->message->context;
    QFILE_MSG *qf = m->qf;
    DELIVER_REQUEST *r = &d->req;

    memset(r, 0, sizeof(*r));
    r->flags = request_flags(m, entry);
    r->queue_name = "active";
    r->queue_id = m->claim->id;
    r->data_offset = qf->data_offset;
    r->data_size = qf->cont_length;
    r->nexthop = entry->queue->nexthop;
    r->encoding = qf->encoding;
    r->smtputf8 = smtputf8_bits(m, entry);
    r->sender = qf->sender;
    if (qf->verp_delims != NULL && *qf->sender && entry->rcpt_count > 0) {
        /* one recipient per request with VERP (the scheduler sees to it) */
        const SCHED_RCPT *rc = &entry->rcpts[0];

        d->verp_sender = verp_sender(
            qf->verp_delims, qf->sender,
            rc->orig_addr && *rc->orig_addr ? rc->orig_addr : rc->address);
        r->sender = d->verp_sender;
    }
    r->dsn_envid = qf->dsn_envid;
    r->dsn_ret = qf->dsn_ret;
    r->arrival_sec = qf->arrival_sec;
    r->arrival_usec = qf->arrival_usec;
    r->active_sec = m->active_time.tv_sec;
    r->active_usec = m->active_time.tv_usec;
    r->client_name = qf->client_name;
    r->client_addr = qf->client_addr;
    r->client_port = qf->client_port;
    r->client_proto = qf->client_proto;
    r->client_helo = qf->client_helo;
    r->sasl_method = qf->sasl_method;
    r->sasl_username = qf->sasl_username;
    r->sasl_sender = qf->sasl_sender;
    r->log_ident = qf->log_ident;
    r->rewrite_context = qf->rewrite_context;
    d->rcpts = xcalloc((size_t) entry->rcpt_count, sizeof(*d->rcpts));
    for (int i = 0; i < entry->rcpt_count; i++) {
        d->rcpts[i].offset = entry->rcpts[i].offset;
        d->rcpts[i].dsn_orcpt = entry->rcpts[i].dsn_orcpt;
        d->rcpts[i].dsn_notify = entry->rcpts[i].dsn_notify;
        d->rcpts[i].orig_addr = entry->rcpts[i].orig_addr;
        d->rcpts[i].address = entry->rcpts[i].address;
    }
    r->rcpt = d->rcpts;
    r->rcpt_count = entry->rcpt_count;
}

static const DELIVER_REQUEST *
agent_ready(DELIVER_CONN *conn, void *context)
{
    DELIVERY *d = context;
    QMGR *q = d->qmgr;

    q->now = time(NULL);
    sched_transport_connected(q->sched, d->transport);
    if ((d->entry = sched_choose_entry(q->sched, d->transport, q->now)) == NULL)
        return NULL;
    build_request(d);
    return &d->req;
}

static void
agent_done(const DELIVER_RESULT *result, void *context)
{
    DELIVERY *d = context;
    QMGR *q = d->qmgr;
    SCHED_REPLY reply;

    q->now = time(NULL);
    switch (result->outcome) {
        case DELIVER_OK:
        case DELIVER_DEFER:
        case DELIVER_CRASH:
            reply.status = result->outcome == DELIVER_OK ? 0 : 1;
            reply.crashed = result->outcome == DELIVER_CRASH;
            reply.hop_status = result->hop_status;
            reply.hop_reason = result->hop_reason;
            sched_delivery_done(q->sched, d->entry, &reply, q->now);
            break;
        case DELIVER_UNAVAILABLE:
            sched_transport_connect_failed(q->sched, d->transport, q->now);
            break;
        case DELIVER_WRITE_FAILED:
            sched_entry_unselect(q->sched, d->entry);
            sched_transport_broken(q->sched, d->transport, NULL, NULL, q->now);
            break;
        case DELIVER_DECLINED:
            break;
    }
    xfree(d->rcpts);
    xfree(d->verp_sender);
    if (d->delay)
        event_free(d->delay);
    xfree(d);
}

static void
open_connection(DELIVERY *d)
{
    QMGR *q = d->qmgr;
    DELIVER_CLNT_OPTS opts;

    memset(&opts, 0, sizeof(opts));
    opts.service_dir = "private";
    opts.write_ms = q->set.ipc_timeout * 1000;
    opts.announce_ms = opts.reply_ms = q->set.agent_timeout * 1000;
    (void) deliver_clnt_open(q->base, d->transport->name, &opts, agent_ready,
                             agent_done, d);
}

static void
rate_delay_over(evutil_socket_t fd, short what, void *arg)
{
    open_connection(arg);
}

void
qmgr_deliver_drain(QMGR *q)
{
    SCHED_TRANSPORT *transport;

    while ((transport = sched_select_transport(q->sched)) != NULL) {
        DELIVERY *d = xcalloc(1, sizeof(*d));
        struct timeval tv = {transport->params.transport_rate_delay, 0};

        d->qmgr = q;
        d->transport = transport;
        if (tv.tv_sec > 0) {
            d->delay = evtimer_new(q->base, rate_delay_over, d);
            evtimer_add(d->delay, &tv);
        } else {
            open_connection(d);
        }
    }
}
