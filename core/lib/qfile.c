/*
 * qfile - reading a queue file's envelope with qmgr's semantics, in-place
 * updates, and writing whole queue files (interface in qfile.h).
 *
 * The reader follows qmgr_message_read() of Postfix 3.7: one record loop from
 * offset 0 (or from where the previous recipient batch stopped), pointer
 * records followed by hand, the message content skipped with one seek, the
 * extracted segment read by the same loop until 'E'.  Every line qmgr would
 * log goes to the caller's log function, in qmgr's order.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"
#include "qfile.h"
#include "xalloc.h"

#define STR(sb) strbuf_str(sb)

/* Per-call state of qfile_read(). */
typedef struct READ_STATE {
    QFILE_MSG *msg;
    REC_STREAM *rs;
    STRBUF *buf;      /* payload of the current record */
    int limit;        /* recipients per batch, <= 0 no limit */
    long curr_offset; /* offset of the current record */
    int type;         /* its type, after attribute mapping */
    char *start;      /* its payload, or the attribute value */
    char *name;       /* attribute name of an 'A' record */
    char *value;      /* attribute value of an 'A' record */
    char *orig_rcpt;  /* pending 'O' */
    char *dsn_orcpt;  /* pending 'o' */
    int dsn_notify;   /* pending 'n' */
    int have_log_client_attr;
} READ_STATE;

/* What a record handler tells the loop. */
#define NEXT_RECORD 0 /* read the next record */
#define STOP_OK     1 /* stop reading, nothing wrong so far */
#define STOP_ERROR  2 /* stop reading, the file is corrupt */

/* qf_event - hand one event to the caller, or to msg_warn() */

static void
qf_event(QFILE_MSG *msg, int event, const char *text)
{
    if (msg->log_fn != NULL)
        msg->log_fn(msg->log_context, event, text);
    else if (event == QFILE_EV_WARN)
        msg_warn("%s", text);
}

static void __attribute__((format(printf, 2, 3)))
qf_warn(QFILE_MSG *msg, const char *fmt, ...)
{
    STRBUF *text = strbuf_alloc(100);
    va_list ap;

    va_start(ap, fmt);
    strbuf_vaddf(text, fmt, ap);
    va_end(ap);
    qf_event(msg, QFILE_EV_WARN, STR(text));
    strbuf_free(text);
}

/* qf_reject - log the queue manager's line for a corrupt file */

static int __attribute__((format(printf, 3, 4)))
qf_reject(QFILE_MSG *msg, QFILE_STATUS status, const char *fmt, ...)
{
    STRBUF *text = strbuf_alloc(100);
    va_list ap;

    va_start(ap, fmt);
    strbuf_vaddf(text, fmt, ap);
    va_end(ap);
    qf_event(msg, QFILE_EV_WARN, STR(text));
    xfree(msg->err_text);
    msg->err_text = strbuf_steal(text);
    msg->status = status;
    return STOP_ERROR;
}

/* qf_record_error - log the record reader's line for a bad record */

static void
qf_record_error(QFILE_MSG *msg, REC_STREAM *rs)
{
    qf_event(msg, QFILE_EV_WARN, rec_error(rs));
    xfree(msg->err_record);
    msg->err_record = xstrdup(rec_error(rs));
    msg->status = rec_io_failed(rs) ? QFILE_ERR_IO : QFILE_ERR_RECORD;
}

static void
qf_set(char **dst, const char *src)
{
    xfree(*dst);
    *dst = src ? xstrdup(src) : NULL;
}

static void
qf_default(char **dst, const char *value)
{
    if (*dst == NULL)
        *dst = xstrdup(value);
}

static int
qf_alldig(const char *cp)
{
    if (*cp == 0)
        return 0;
    for (; *cp; cp++)
        if (*cp < '0' || *cp > '9')
            return 0;
    return 1;
}

static int
qf_isspace(int ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' ||
           ch == '\v';
}

/* qf_skip_space - the first character that is not white space */

static char *
qf_skip_space(char *cp)
{
    while (*cp && qf_isspace((unsigned char) *cp))
        cp++;
    return cp;
}

/* qf_split_attr - split "name = value" in place, or say what is wrong */

static const char *
qf_split_attr(char *buf, char **name, char **value)
{
    char *np, *ep, *cp, *vp, *end;

    np = qf_skip_space(buf);
    if (*np == 0 || *np == '=')
        return "missing attribute name";
    ep = np;
    while (*ep && !qf_isspace((unsigned char) *ep) && *ep != '=')
        ep++;
    cp = qf_skip_space(ep);
    if (*cp != '=')
        return "missing '=' after attribute name";
    *ep = 0;
    vp = qf_skip_space(cp + 1);
    end = vp + strlen(vp);
    while (end > vp && qf_isspace((unsigned char) end[-1]))
        end--;
    *end = 0;
    *name = np;
    *value = vp;
    return NULL;
}

/* qf_attr_type - the pseudo record type of a named attribute, or 0 */

static int
qf_attr_type(const char *name)
{
    static const struct {
        const char *name;
        int type;
    } map[] = {
        {"dsn_orig_rcpt", REC_TYPE_DSN_ORCPT},
        {"notify_flags", REC_TYPE_DSN_NOTIFY},
        {"envelope_id", REC_TYPE_DSN_ENVID},
        {"ret_flags", REC_TYPE_DSN_RET},
        {"create_time", REC_TYPE_CTIME},
    };

    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(name, map[i].name) == 0)
            return map[i].type;
    return 0;
}

static int
qf_dsn_notify_ok(int n)
{
    return n == QFILE_DSN_NOTIFY_NEVER ||
           (n != 0 && (n & ~QFILE_DSN_NOTIFY_ANY) == 0);
}

static int
qf_dsn_ret_ok(int n)
{
    return n == QFILE_DSN_RET_FULL || n == QFILE_DSN_RET_HDRS;
}

/* qf_add_off - offset + size without overflow (saturates) */

static long
qf_add_off(long offset, long size)
{
    const long max = (long) ((~0UL) >> 1);

    return size > max - offset ? max : offset + size;
}

QFILE_MSG *
qfile_msg_alloc(const char *queue_id)
{
    QFILE_MSG *msg = xcalloc(1, sizeof(*msg));

    msg->queue_id = xstrdup(queue_id);
    msg->verp_filter = "-=+";
    msg->read_flags = QFILE_FLAG_DEFAULT;
    return msg;
}

void
qfile_rcpt_reset(QFILE_MSG *msg)
{
    for (int i = 0; i < msg->rcpt_count; i++) {
        xfree(msg->rcpt[i].address);
        xfree(msg->rcpt[i].orig_rcpt);
        xfree(msg->rcpt[i].dsn_orcpt);
    }
    msg->rcpt_count = 0;
}

/* qf_clear_envelope - forget everything a previous read found */

static void
qf_clear_envelope(QFILE_MSG *msg)
{
    char **strings[] = {
        &msg->sender,       &msg->encoding,        &msg->dsn_envid,
        &msg->filter_xport, &msg->inspect_xport,   &msg->redirect_addr,
        &msg->verp_delims,  &msg->client_name,     &msg->client_addr,
        &msg->client_port,  &msg->client_proto,    &msg->client_helo,
        &msg->sasl_method,  &msg->sasl_username,   &msg->sasl_sender,
        &msg->log_ident,    &msg->rewrite_context,
    };

    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        xfree(*strings[i]);
        *strings[i] = NULL;
    }
    qfile_rcpt_reset(msg);
    msg->data_size = msg->data_offset = msg->cont_length = 0;
    msg->nrcpt = msg->rcpt_unread = msg->smtputf8 = 0;
    msg->read_flags = QFILE_FLAG_DEFAULT;
    msg->arrival_sec = msg->arrival_usec = msg->create_time = 0;
    msg->warn_time = msg->warn_offset = 0;
    msg->dsn_ret = msg->tflags = 0;
    msg->tflags_offset = 0;
    msg->rcpt_offset = 0;
    msg->seen_all_non_rcpt = 0;
    msg->jump_target = 0;
    msg->reverse_jumps = 0;
}

void
qfile_msg_free(QFILE_MSG *msg)
{
    if (msg == NULL)
        return;
    qf_clear_envelope(msg);
    xfree(msg->rcpt);
    xfree(msg->err_record);
    xfree(msg->err_text);
    xfree(msg->queue_id);
    xfree(msg);
}

const char *
qfile_status_name(QFILE_STATUS status)
{
    switch (status) {
        case QFILE_OK:
            return "ok";
        case QFILE_ERR_RECORD:
            return "bad record";
        case QFILE_ERR_NO_END:
            return "missing end record";
        case QFILE_ERR_UNEXPECTED:
            return "unexpected record type";
        case QFILE_ERR_BAD_ATTR:
            return "bad attribute record";
        case QFILE_ERR_INVALID_SIZE:
            return "invalid size record";
        case QFILE_ERR_SIZE_FLAGS:
            return "invalid flags in size record";
        case QFILE_ERR_WEIRD_SIZE:
            return "weird size record";
        case QFILE_ERR_OLD_LAYOUT:
            return "envelope records out of order";
        case QFILE_ERR_NO_TIME:
            return "missing arrival time record";
        case QFILE_ERR_NO_SENDER:
            return "missing sender record";
        case QFILE_ERR_NO_SIZE:
            return "missing size record";
        case QFILE_ERR_IO:
            return "read error";
    }
    return "unknown";
}

/* qf_add_rcpt - append a recipient to the batch */

static void
qf_add_rcpt(READ_STATE *st)
{
    QFILE_MSG *msg = st->msg;
    QFILE_RCPT *rcpt;

    if (msg->rcpt_count == msg->rcpt_alloc) {
        msg->rcpt_alloc = msg->rcpt_alloc ? 2 * msg->rcpt_alloc : 16;
        msg->rcpt = xrealloc(msg->rcpt, msg->rcpt_alloc * sizeof(*msg->rcpt));
    }
    rcpt = msg->rcpt + msg->rcpt_count++;
    rcpt->offset = st->curr_offset;
    rcpt->address = xstrdup(st->start);
    rcpt->orig_rcpt = xstrdup(st->orig_rcpt ? st->orig_rcpt : "");
    rcpt->dsn_orcpt = xstrdup(st->dsn_orcpt ? st->dsn_orcpt : "");
    rcpt->dsn_notify = st->dsn_notify;
}

/* qf_clear_pending - drop per-recipient information read so far */

static void
qf_clear_pending(READ_STATE *st)
{
    xfree(st->orig_rcpt);
    xfree(st->dsn_orcpt);
    st->orig_rcpt = st->dsn_orcpt = NULL;
    st->dsn_notify = 0;
}

/* qf_recipient - 'R': take it unless this batch is full */

static int
qf_recipient(READ_STATE *st)
{
    QFILE_MSG *msg = st->msg;

    if (msg->rcpt_offset != 0)
        return NEXT_RECORD;
    msg->rcpt_unread--;
    qf_add_rcpt(st);
    qf_clear_pending(st);
    if (st->limit <= 0 || msg->rcpt_count < st->limit)
        return NEXT_RECORD;
    msg->rcpt_offset = (long) rec_tell(st->rs);
    if (msg->seen_all_non_rcpt)
        return STOP_OK;
    if (msg->read_flags & QFILE_FLAG_MIXED_RCPT_OTHER)
        return NEXT_RECORD;
    /* "Pure recipient" sections: skip to the extracted segment. */
    if (st->curr_offset > msg->data_offset) {
        msg->seen_all_non_rcpt = 1;
        return STOP_OK;
    }
    rec_seek(st->rs, msg->data_offset);
    return NEXT_RECORD;
}

/* qf_done_recipient - 'D' or '/': count it */

static int
qf_done_recipient(READ_STATE *st)
{
    if (st->msg->rcpt_offset == 0) {
        st->msg->rcpt_unread--;
        qf_clear_pending(st);
    }
    return NEXT_RECORD;
}

static int
qf_dsn_orcpt(READ_STATE *st)
{
    if (st->dsn_orcpt != NULL) {
        qf_warn(st->msg,
                "%s: ignoring out-of-order DSN original recipient address "
                "<%.200s>",
                st->msg->queue_id, st->dsn_orcpt);
        xfree(st->dsn_orcpt);
        st->dsn_orcpt = NULL;
    }
    if (st->msg->rcpt_offset == 0)
        st->dsn_orcpt = xstrdup(st->start);
    return NEXT_RECORD;
}

static int
qf_dsn_notify(READ_STATE *st)
{
    int n;

    if (st->dsn_notify != 0) {
        qf_warn(st->msg, "%s: ignoring out-of-order DSN notify flags <%d>",
                st->msg->queue_id, st->dsn_notify);
        st->dsn_notify = 0;
    }
    if (st->msg->rcpt_offset == 0) {
        if (!qf_alldig(st->start) || (n = atoi(st->start)) == 0 ||
            !qf_dsn_notify_ok(n))
            qf_warn(st->msg, "%s: ignoring malformed DSN notify flags <%.200s>",
                    st->msg->queue_id, st->start);
        else
            st->dsn_notify = n;
    }
    return NEXT_RECORD;
}

static int
qf_orig_rcpt(READ_STATE *st)
{
    if (st->orig_rcpt != NULL) {
        qf_warn(st->msg,
                "%s: ignoring out-of-order original recipient <%.200s>",
                st->msg->queue_id, st->orig_rcpt);
        xfree(st->orig_rcpt);
        st->orig_rcpt = NULL;
    }
    if (st->msg->rcpt_offset == 0)
        st->orig_rcpt = xstrdup(st->start);
    return NEXT_RECORD;
}

/*
 * qf_oldstyle_scan - a pre-2001 file: its size record holds only the offset
 * of the extracted segment.  Count the recipients and find the content from
 * the 'M' record, like qmgr does (where a failure is fatal).
 */
static int
qf_oldstyle_scan(READ_STATE *st)
{
    QFILE_MSG *msg = st->msg;
    STRBUF *buf = strbuf_alloc(100);
    off_t orig_offset = rec_tell(st->rs);
    long extra_offset;
    int type;

    rec_seek(st->rs, 0);
    msg->rcpt_unread = 0;
    while ((type = rec_get(st->rs, buf)) > 0 && type != REC_TYPE_END) {
        if (type == REC_TYPE_DONE || type == REC_TYPE_RCPT ||
            type == REC_TYPE_DRCP) {
            msg->rcpt_unread++;
        } else if (type == REC_TYPE_MESG && msg->data_offset == 0) {
            msg->data_offset = (long) rec_tell(st->rs);
            if ((extra_offset = atol(STR(buf))) <= msg->data_offset) {
                qf_reject(msg, QFILE_ERR_OLD_LAYOUT,
                          "bad extra offset %s file %s", STR(buf),
                          msg->queue_id);
                strbuf_free(buf);
                return STOP_ERROR;
            }
            rec_seek(st->rs, extra_offset);
            msg->data_size = extra_offset - msg->data_offset;
        }
    }
    strbuf_free(buf);
    rec_seek(st->rs, orig_offset);
    if (msg->data_offset == 0 || type != REC_TYPE_END)
        return qf_reject(msg, QFILE_ERR_OLD_LAYOUT,
                         "%s: envelope records out of order", msg->queue_id);
    return NEXT_RECORD;
}

/* qf_size - 'C': sizes, recipient count, flags, content length */

static int
qf_size(READ_STATE *st)
{
    QFILE_MSG *msg = st->msg;
    int count;

    if (msg->data_offset == 0) {
        count = sscanf(st->start, "%ld %ld %d %d %ld %d", &msg->data_size,
                       &msg->data_offset, &msg->rcpt_unread, &msg->read_flags,
                       &msg->cont_length, &msg->smtputf8);
        if (count >= 3) {
            msg->nrcpt = msg->rcpt_unread;
            if (msg->data_offset <= 0 || msg->data_size <= 0)
                return qf_reject(msg, QFILE_ERR_INVALID_SIZE,
                                 "%s: invalid size record: %.100s",
                                 msg->queue_id, st->start);
            if (msg->read_flags & ~QFILE_FLAG_USER)
                return qf_reject(msg, QFILE_ERR_SIZE_FLAGS,
                                 "%s: invalid flags in size record: %.100s",
                                 msg->queue_id, st->start);
        } else if (count == 1) {
            if (qf_oldstyle_scan(st) == STOP_ERROR)
                return STOP_ERROR;
            msg->nrcpt = msg->rcpt_unread;
        } else {
            return qf_reject(msg, QFILE_ERR_WEIRD_SIZE,
                             "%s: message rejected: weird size record",
                             msg->queue_id);
        }
    }
    if (msg->cont_length == 0)
        msg->cont_length = msg->data_size;
    else if (msg->cont_length < 0)
        return qf_reject(msg, QFILE_ERR_INVALID_SIZE,
                         "%s: invalid size record: %.100s", msg->queue_id,
                         st->start);
    return NEXT_RECORD;
}

/* qf_time - 'T': "seconds[ microseconds]", first non-zero wins */

static int
qf_time(READ_STATE *st)
{
    const char *cp = st->start;

    if (st->msg->arrival_sec == 0) {
        st->msg->arrival_sec = atol(cp);
        while (*cp >= '0' && *cp <= '9')
            cp++;
        st->msg->arrival_usec = atol(cp);
    }
    return NEXT_RECORD;
}

static int
qf_sender(READ_STATE *st)
{
    if (st->msg->sender == NULL) {
        st->msg->sender = xstrdup(st->start);
        qf_event(st->msg, QFILE_EV_SENDER, st->msg->sender);
    }
    return NEXT_RECORD;
}

static int
qf_dsn_ret(READ_STATE *st)
{
    int n;

    if (!qf_alldig(st->start) || (n = atoi(st->start)) == 0 ||
        !qf_dsn_ret_ok(n))
        qf_warn(st->msg,
                "%s: ignoring malformed DSN RET flags in queue file "
                "record:%.100s",
                st->msg->queue_id, st->start);
    else
        st->msg->dsn_ret = n;
    return NEXT_RECORD;
}

static int
qf_warn_time(READ_STATE *st)
{
    if (st->msg->warn_offset == 0) {
        st->msg->warn_offset = st->curr_offset;
        st->msg->warn_time = atol(st->start);
    }
    return NEXT_RECORD;
}

/* qf_verp_bad - why VERP delimiters are not acceptable, or NULL */

static const char *
qf_verp_bad(const char *delims, const char *filter)
{
    if (strlen(delims) != 2)
        return "bad VERP delimiter character count";
    if (strchr(filter, delims[0]) == NULL)
        return "bad first VERP delimiter character";
    if (strchr(filter, delims[1]) == NULL)
        return "bad second VERP delimiter character";
    return NULL;
}

static int
qf_verp(READ_STATE *st)
{
    QFILE_MSG *msg = st->msg;

    if (msg->verp_delims != NULL)
        return NEXT_RECORD;
    if (msg->sender == NULL || msg->sender[0] == 0)
        qf_warn(msg, "%s: ignoring VERP request for null sender",
                msg->queue_id);
    else if (qf_verp_bad(st->start, msg->verp_filter) != NULL)
        qf_warn(msg, "%s: ignoring bad VERP request: \"%.100s\"", msg->queue_id,
                st->start);
    else
        msg->verp_delims = xstrdup(st->start);
    return NEXT_RECORD;
}

/* qf_first_wins - set a first-wins attribute, warn about a repeat */

static void
qf_first_wins(READ_STATE *st, char **dst)
{
    if (*dst == NULL)
        *dst = xstrdup(st->value);
    else
        qf_warn(st->msg, "%s: ignoring multiple %s attribute: %s",
                st->msg->queue_id, st->name, st->value);
}

/* qf_client_attr - log_* (modern) and legacy client_* attributes */

static int
qf_client_attr(READ_STATE *st)
{
    static const char *log_names[] = {"log_client_name", "log_client_address",
                                      "log_client_port", "log_protocol_name",
                                      "log_helo_name"};
    static const char *legacy_names[] = {"client_name", "client_address",
                                         "client_port", "protocol_name",
                                         "helo_name"};
    QFILE_MSG *msg = st->msg;
    char **fields[] = {&msg->client_name, &msg->client_addr, &msg->client_port,
                       &msg->client_proto, &msg->client_helo};

    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (strcmp(st->name, log_names[i]) == 0) {
            qf_set(fields[i], st->value);
            st->have_log_client_attr = 1;
            return 1;
        }
        if (strcmp(st->name, legacy_names[i]) == 0) {
            if (st->have_log_client_attr == 0 && *fields[i] == NULL)
                *fields[i] = xstrdup(st->value);
            return 1;
        }
    }
    return 0;
}

static void
qf_trace_flags(READ_STATE *st)
{
    QFILE_MSG *msg = st->msg;

    if (msg->tflags != 0)
        return;
    msg->tflags = atoi(st->value) & QFILE_TRACE_MASK;
    msg->tflags_offset =
        msg->tflags == QFILE_TRACE_RECORD ? st->curr_offset : 0;
}

/* qf_attribute - an 'A' record that is not mapped to a record type */

static int
qf_attribute(READ_STATE *st)
{
    QFILE_MSG *msg = st->msg;
    const char *name = st->name;

    if (strcmp(name, "encoding") == 0)
        qf_set(&msg->encoding, st->value);
    else if (qf_client_attr(st))
        /* done */;
    else if (strcmp(name, "sasl_method") == 0)
        qf_first_wins(st, &msg->sasl_method);
    else if (strcmp(name, "sasl_username") == 0)
        qf_first_wins(st, &msg->sasl_username);
    else if (strcmp(name, "sasl_sender") == 0)
        qf_first_wins(st, &msg->sasl_sender);
    else if (strcmp(name, "log_ident") == 0)
        qf_first_wins(st, &msg->log_ident);
    else if (strcmp(name, "rewrite_context") == 0)
        qf_first_wins(st, &msg->rewrite_context);
    else if (strcmp(name, "trace_flags") == 0)
        qf_trace_flags(st);
    return NEXT_RECORD;
}

/* qf_non_recipient - records other than R, D, /, O, o, n */

static int
qf_non_recipient(READ_STATE *st)
{
    QFILE_MSG *msg = st->msg;

    if (msg->seen_all_non_rcpt)
        return NEXT_RECORD;
    switch (st->type) {
        case REC_TYPE_SIZE:
            return qf_size(st);
        case REC_TYPE_TIME:
            return qf_time(st);
        case REC_TYPE_CTIME:
            if (msg->create_time == 0)
                msg->create_time = atol(st->start);
            return NEXT_RECORD;
        case REC_TYPE_FILT:
            qf_set(&msg->filter_xport, st->start);
            return NEXT_RECORD;
        case REC_TYPE_INSP:
            qf_set(&msg->inspect_xport, st->start);
            return NEXT_RECORD;
        case REC_TYPE_RDR:
            qf_set(&msg->redirect_addr, st->start);
            return NEXT_RECORD;
        case REC_TYPE_FROM:
            return qf_sender(st);
        case REC_TYPE_DSN_ENVID:
            qf_set(&msg->dsn_envid, st->start);
            return NEXT_RECORD;
        case REC_TYPE_DSN_RET:
            return qf_dsn_ret(st);
        case REC_TYPE_ATTR:
            return qf_attribute(st);
        case REC_TYPE_WARN:
            return qf_warn_time(st);
        case REC_TYPE_VERP:
            return qf_verp(st);
        default:
            return NEXT_RECORD;
    }
}

/* qf_dispatch - act on one record of an allowed type */

static int
qf_dispatch(READ_STATE *st)
{
    const char *why;
    int mapped;

    if (st->type == REC_TYPE_END) {
        st->msg->seen_all_non_rcpt = 1;
        return STOP_OK;
    }
    if (st->type == REC_TYPE_ATTR) {
        if ((why = qf_split_attr(st->start, &st->name, &st->value)) != NULL)
            return qf_reject(st->msg, QFILE_ERR_BAD_ATTR,
                             "%s: bad attribute record: %s: %.200s",
                             st->msg->queue_id, why, st->start);
        if ((mapped = qf_attr_type(st->name)) != 0) {
            st->type = mapped;
            st->start = st->value;
        }
    }
    switch (st->type) {
        case REC_TYPE_RCPT:
            return qf_recipient(st);
        case REC_TYPE_DONE:
        case REC_TYPE_DRCP:
            return qf_done_recipient(st);
        case REC_TYPE_DSN_ORCPT:
            return qf_dsn_orcpt(st);
        case REC_TYPE_DSN_NOTIFY:
            return qf_dsn_notify(st);
        case REC_TYPE_ORCP:
            return qf_orig_rcpt(st);
        default:
            return qf_non_recipient(st);
    }
}

/*
 * qf_next_record - read the next record the way qmgr does: skip the content
 * when the read position reaches data_offset (then only 'X' may follow),
 * follow pointer records.  Returns NEXT_RECORD with st->type etc. set for a
 * record to dispatch, or STOP_ERROR.
 */
static int
qf_next_record(READ_STATE *st)
{
    static const char env_types[] = REC_TYPE_ENVELOPE REC_TYPE_EXTRACT;
    static const char xtra_type[] = {REC_TYPE_XTRA, 0};
    QFILE_MSG *msg = st->msg;
    const char *expected;

    for (;;) {
        expected = env_types;
        st->curr_offset = (long) rec_tell(st->rs);
        if (st->curr_offset == msg->data_offset && st->curr_offset > 0) {
            st->curr_offset = qf_add_off(st->curr_offset, msg->data_size);
            rec_seek(st->rs, st->curr_offset);
            expected = xtra_type;
        }
        st->type = rec_get_raw(st->rs, st->buf, 0, REC_FLAG_NONE);
        st->start = STR(st->buf);
        if (st->type == REC_TYPE_PTR) {
            if (rec_goto(st->rs, st->start) == REC_TYPE_ERROR) {
                qf_record_error(msg, st->rs);
                return STOP_ERROR;
            }
            continue;
        }
        if (st->type == REC_TYPE_ERROR)
            qf_record_error(msg, st->rs);
        if (st->type == REC_TYPE_ERROR && msg->status == QFILE_ERR_IO)
            return STOP_ERROR;
        if (st->type <= 0)
            return qf_reject(msg,
                             st->type == REC_TYPE_ERROR ? QFILE_ERR_RECORD
                                                        : QFILE_ERR_NO_END,
                             "%s: message rejected: missing end record",
                             msg->queue_id);
        if (strchr(expected, st->type) == NULL)
            return qf_reject(msg, QFILE_ERR_UNEXPECTED,
                             "Unexpected record type '%c' at offset %ld",
                             st->type, st->curr_offset);
        return NEXT_RECORD;
    }
}

/* qf_finish_read - qmgr's checks after the record loop */

static void
qf_finish_read(READ_STATE *st, int how)
{
    QFILE_MSG *msg = st->msg;

    if (how != STOP_ERROR && st->dsn_orcpt != NULL)
        qf_warn(msg,
                "%s: ignoring out-of-order DSN original recipient <%.200s>",
                msg->queue_id, st->dsn_orcpt);
    if (how != STOP_ERROR && st->orig_rcpt != NULL)
        qf_warn(msg, "%s: ignoring out-of-order original recipient <%.200s>",
                msg->queue_id, st->orig_rcpt);
    qf_clear_pending(st);
    qf_default(&msg->dsn_envid, "");
    qf_default(&msg->encoding, "");
    qf_default(&msg->client_name, "");
    qf_default(&msg->client_addr, "");
    qf_default(&msg->client_port, "");
    qf_default(&msg->client_proto, "");
    qf_default(&msg->client_helo, "");
    qf_default(&msg->sasl_method, "");
    qf_default(&msg->sasl_username, "");
    qf_default(&msg->sasl_sender, "");
    qf_default(&msg->log_ident, "");
    qf_default(&msg->rewrite_context, "local");
    if (msg->create_time == 0)
        msg->create_time = msg->arrival_sec;
    if (msg->rcpt_unread < 0 ||
        (msg->rcpt_offset == 0 && msg->rcpt_unread != 0)) {
        qf_warn(msg, "%s: rcpt count mismatch (%d)", msg->queue_id,
                msg->rcpt_unread);
        msg->rcpt_unread = 0;
    }
    if (how == STOP_ERROR)
        return;
    if (msg->arrival_sec == 0)
        qf_reject(msg, QFILE_ERR_NO_TIME,
                  "%s: message rejected: missing arrival time record",
                  msg->queue_id);
    else if (msg->sender == NULL)
        qf_reject(msg, QFILE_ERR_NO_SENDER,
                  "%s: message rejected: missing sender record", msg->queue_id);
    else if (msg->data_offset == 0)
        qf_reject(msg, QFILE_ERR_NO_SIZE,
                  "%s: message rejected: missing size record", msg->queue_id);
}

/* qf_save_jumps - keep the pointer-loop state for the next batch */

static void
qf_save_jumps(QFILE_MSG *msg, REC_STREAM *rs)
{
    off_t target;

    rec_jumps(rs, &target, &msg->reverse_jumps);
    msg->jump_target = (long) target;
}

QFILE_STATUS
qfile_read(QFILE_MSG *msg, REC_STREAM *rs, int rcpt_limit)
{
    READ_STATE st;
    long save_offset = msg->rcpt_offset;
    int save_unread = msg->rcpt_unread;
    int how;

    memset(&st, 0, sizeof(st));
    st.msg = msg;
    st.rs = rs;
    st.buf = strbuf_alloc(256);
    st.limit = rcpt_limit;
    msg->status = QFILE_OK;
    xfree(msg->err_record);
    xfree(msg->err_text);
    msg->err_record = msg->err_text = NULL;

    if (msg->rcpt_offset != 0) {
        qfile_rcpt_reset(msg);
        rec_seek(rs, msg->rcpt_offset);
        msg->rcpt_offset = 0;
    } else {
        qf_clear_envelope(msg);
        save_unread = 0;
        rec_seek(rs, 0);
    }
    rec_set_jumps(rs, msg->jump_target, msg->reverse_jumps);
    do {
        how = qf_next_record(&st);
        if (how == NEXT_RECORD)
            how = qf_dispatch(&st);
    } while (how == NEXT_RECORD);
    qf_finish_read(&st, how);
    qf_save_jumps(msg, rs);
    strbuf_free(st.buf);
    if (msg->status != QFILE_OK) {
        msg->rcpt_offset = save_offset;
        msg->rcpt_unread = save_unread;
        qfile_rcpt_reset(msg);
    }
    return msg->status;
}

/*
 * In-place updates.
 */

int
qfile_mark_done(int fd, long offset)
{
    if (offset <= 0) {
        errno = EINVAL;
        return -1;
    }
    return rec_put_type(fd, offset, REC_TYPE_DONE);
}

int
qfile_kill_record(int fd, long offset)
{
    if (offset <= 0) {
        errno = EINVAL;
        return -1;
    }
    return rec_put_type(fd, offset, REC_TYPE_KILL);
}

int
qfile_update_warn(int fd, long offset, long when)
{
    unsigned char old[2];
    char rec[2 + REC_PTR_PAYLOAD + 1];
    ssize_t got;

    do {
        got = pread(fd, old, sizeof(old), offset);
    } while (got < 0 && errno == EINTR);
    if (got < 0)
        return -1;
    if (offset <= 0 || got != 2 || old[0] != REC_TYPE_WARN ||
        old[1] != REC_PTR_PAYLOAD) {
        errno = EINVAL;
        return -1;
    }
    snprintf(rec, sizeof(rec), "%c%c%15ld", REC_TYPE_WARN, REC_PTR_PAYLOAD,
             when);
    if (strlen(rec + 2) != REC_PTR_PAYLOAD) {
        errno = ERANGE;
        return -1;
    }
    do {
        got = pwrite(fd, rec, 2 + REC_PTR_PAYLOAD, offset);
    } while (got < 0 && errno == EINTR);
    if (got == 2 + REC_PTR_PAYLOAD)
        return 0;
    if (got >= 0)
        errno = EIO;
    return -1;
}

/*
 * Writer.
 */

QFILE_WRITER *
qfile_writer_alloc(void)
{
    QFILE_WRITER *w = xcalloc(1, sizeof(*w));

    w->buf = strbuf_alloc(4096);
    rec_putf(w->buf, REC_TYPE_SIZE, "%15ld %15ld %15ld %15ld %15ld %15ld", 0L,
             0L, 0L, 0L, 0L, 0L);
    return w;
}

void
qfile_writer_free(QFILE_WRITER *w)
{
    if (w == NULL)
        return;
    strbuf_free(w->buf);
    xfree(w);
}

/* qf_is_rcpt_group_attr - A records that belong to a recipient group */

static int
qf_is_rcpt_group_attr(const char *data, size_t len)
{
    static const char *names[] = {"notify_flags=", "dsn_orig_rcpt="};

    for (size_t i = 0; i < 2; i++)
        if (len >= strlen(names[i]) &&
            memcmp(data, names[i], strlen(names[i])) == 0)
            return 1;
    return 0;
}

void
qfile_put(QFILE_WRITER *w, int type, const void *data, size_t len)
{
    if (type == REC_TYPE_RCPT || type == REC_TYPE_DONE ||
        type == REC_TYPE_DRCP) {
        w->rcpt_count++;
        w->in_rcpt = 1;
    } else if (w->in_rcpt && strchr("MEXDRO/Konpw", type) == NULL &&
               !(type == REC_TYPE_ATTR && qf_is_rcpt_group_attr(data, len))) {
        w->flags |= QFILE_FLAG_MIXED_RCPT_OTHER;
    }
    rec_put(w->buf, type, data, len);
}

void
qfile_putf(QFILE_WRITER *w, int type, const char *fmt, ...)
{
    STRBUF *payload = strbuf_alloc(100);
    va_list ap;

    va_start(ap, fmt);
    strbuf_vaddf(payload, fmt, ap);
    va_end(ap);
    qfile_put(w, type, STR(payload), strbuf_len(payload));
    strbuf_free(payload);
}

void
qfile_put_attr(QFILE_WRITER *w, const char *name, const char *value)
{
    qfile_putf(w, REC_TYPE_ATTR, "%s=%s", name, value);
}

void
qfile_put_time(QFILE_WRITER *w, long sec, long usec)
{
    qfile_putf(w, REC_TYPE_TIME, "%ld %ld", sec, usec);
}

void
qfile_put_warn(QFILE_WRITER *w, long when)
{
    qfile_putf(w, REC_TYPE_WARN, "%15ld", when);
}

void
qfile_put_rcpt(QFILE_WRITER *w, const QFILE_OUT_RCPT *rcpt)
{
    const char *orig = rcpt->orig_rcpt ? rcpt->orig_rcpt : "";

    if (rcpt->dsn_notify != 0) {
        qfile_putf(w, REC_TYPE_ATTR, "notify_flags=%d", rcpt->dsn_notify);
        w->flags |= (rcpt->dsn_notify << 1) & QFILE_FLAG_USER;
    }
    if (rcpt->dsn_orcpt != NULL && *rcpt->dsn_orcpt != 0)
        qfile_put_attr(w, "dsn_orig_rcpt", rcpt->dsn_orcpt);
    qfile_put(w, REC_TYPE_ORCP, orig, strlen(orig));
    qfile_put(w, REC_TYPE_RCPT, rcpt->address, strlen(rcpt->address));
}

/* qf_put_line - one text line: 'L' pieces of QFILE_LINE_LIMIT, then 'N' */

static void
qf_put_line(QFILE_WRITER *w, const char *line, size_t len)
{
    while (len >= QFILE_LINE_LIMIT) {
        rec_put(w->buf, REC_TYPE_CONT, line, QFILE_LINE_LIMIT);
        line += QFILE_LINE_LIMIT;
        len -= QFILE_LINE_LIMIT;
    }
    rec_put(w->buf, REC_TYPE_NORM, line, len);
}

void
qfile_put_content(QFILE_WRITER *w, const char *text, size_t len)
{
    const char *end = text + len;
    const char *nl;

    rec_put(w->buf, REC_TYPE_MESG, "", 0);
    w->data_offset = (long) strbuf_len(w->buf);
    while (text < end) {
        if ((nl = memchr(text, '\n', (size_t) (end - text))) == NULL)
            nl = end;
        qf_put_line(w, text, (size_t) (nl - text));
        text = nl < end ? nl + 1 : end;
    }
    w->xtra_offset = (long) strbuf_len(w->buf);
    rec_put(w->buf, REC_TYPE_XTRA, "", 0);
    w->in_rcpt = 0;
}

const STRBUF *
qfile_writer_finish(QFILE_WRITER *w)
{
    char size[2 + 6 * 16];
    long data_size;

    if (w->data_offset == 0)
        qfile_put_content(w, "", 0);
    rec_put(w->buf, REC_TYPE_END, "", 0);
    data_size = w->xtra_offset - w->data_offset;
    snprintf(size, sizeof(size), "%15ld %15ld %15ld %15ld %15ld %15ld",
             data_size, w->data_offset, (long) w->rcpt_count, (long) w->flags,
             w->cont_length ? w->cont_length : data_size, (long) w->smtputf8);
    if (strlen(size) == QFILE_SIZE_RECORD_LEN - 2)
        memcpy(STR(w->buf) + 2, size, QFILE_SIZE_RECORD_LEN - 2);
    else
        msg_panic("qfile_writer_finish: size record does not fit: %s", size);
    return w->buf;
}

static void
qf_put_attr_list(QFILE_WRITER *w, const char *const *attrs)
{
    for (; attrs != NULL && *attrs != NULL; attrs++)
        qfile_put(w, REC_TYPE_ATTR, *attrs, strlen(*attrs));
}

void
qfile_make(const QFILE_ENVELOPE *env, STRBUF *out)
{
    QFILE_WRITER *w = qfile_writer_alloc();
    const STRBUF *bytes;

    if (env->content_filter != NULL)
        qfile_put(w, REC_TYPE_FILT, env->content_filter,
                  strlen(env->content_filter));
    qfile_put_time(w, env->arrival_sec, env->arrival_usec);
    qfile_putf(w, REC_TYPE_ATTR, "create_time=%ld",
               env->create_time ? env->create_time : env->arrival_sec);
    qf_put_attr_list(w, env->pre_attrs);
    if (env->fullname != NULL)
        qfile_put(w, REC_TYPE_FULL, env->fullname, strlen(env->fullname));
    qfile_put(w, REC_TYPE_FROM, env->sender, strlen(env->sender));
    if (env->verp_delims != NULL)
        qfile_put(w, REC_TYPE_VERP, env->verp_delims, strlen(env->verp_delims));
    qf_put_attr_list(w, env->post_attrs);
    if (env->warn_time > 0)
        qfile_put_warn(w, env->warn_time);
    for (size_t i = 0; i < env->rcpt_count; i++)
        qfile_put_rcpt(w, env->rcpts + i);
    qfile_put_content(w, env->content ? env->content : "", env->content_len);
    qf_put_attr_list(w, env->extracted_attrs);
    for (size_t i = 0; i < env->extracted_rcpt_count; i++)
        qfile_put_rcpt(w, env->extracted_rcpts + i);
    w->smtputf8 = env->smtputf8;
    bytes = qfile_writer_finish(w);
    strbuf_setmem(out, STR(bytes), strbuf_len(bytes));
    qfile_writer_free(w);
}
