/*
 * qmgr_message - activate one message and read its recipient batches.
 *
 *	qmgr_message_activate(q, cand, scan_flags)
 *		claim a scanned candidate from the store (it becomes
 *		active/<id>), lock it, read its envelope and first recipient
 *		batch as Postfix's qmgr does, log the "from=" line, hand the
 *		recipients to the resolver and the scheduler, and release the
 *		lock before any agent is contacted.  A locked file goes back
 *		to incoming/ for 60 s ("skipped, still being delivered"); a
 *		corrupt one to corrupt/.  Returns 1 when the message is now
 *		in the active queue, 0 when it was skipped.
 *	qmgr_message_refill(m)	read the next recipient batch (no lock); 0,
 *		or -1 when the file turned out unreadable (the caller moves
 *		it aside)
 *	qmgr_refill_callback(q, sm)	SCHED_OPS.message_refill: read the
 *		next batch while the message has entries in flight; a file
 *		that became unreadable stops further reads and leaves the
 *		message to be deferred
 *	qmgr_message_free(m)	forget the message (its file has been
 *		checked in)
 *	qmgr_message_path(q, queue, id, out)	queue or log file path
 *		relative to the queue directory
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr_quote.h"
#include "msg.h"
#include "qmgr.h"
#include "queue_path.h"
#include "trigger.h"
#include "xalloc.h"

#define LOCKED_RETRY_DELAY 60

void
qmgr_message_path(QMGR *q, const char *queue, const char *id, STRBUF *out)
{
    queue_path(out, q->set.hash_queues, q->set.hash_depth, queue, id);
}

/* What the queue-file reader wants logged, as Postfix's qmgr logs it. */
static void
log_read_event(void *context, int event, const char *text)
{
    QMGR_MESSAGE *m = context;
    STRBUF *quoted;

    if (event == QFILE_EV_WARN) {
        msg_warn("%s", text);
        return;
    }
    quoted = strbuf_alloc(100);
    if (*text)
        addr_quote(quoted, text);
    msg_info("%s: from=<%s>, size=%ld, nrcpt=%d (queue active)", m->claim->id,
             strbuf_str(quoted), m->qf->cont_length, m->qf->nrcpt);
    strbuf_free(quoted);
}

static QMGR_MESSAGE *
message_alloc(QMGR *q, STORE_CLAIM *claim)
{
    QMGR_MESSAGE *m = xcalloc(1, sizeof(*m));

    m->qmgr = q;
    m->claim = claim;
    gettimeofday(&m->active_time, NULL);
    m->qf = qfile_msg_alloc(claim->id);
    m->qf->verp_filter = q->set.verp_filter;
    m->qf->log_fn = log_read_event;
    m->qf->log_context = m;
    return m;
}

void
qmgr_message_free(QMGR_MESSAGE *m)
{
    if (m->sm) {
        if (m->qf->tflags & QFILE_TRACE_MTA_VRFY)
            m->qmgr->verify_pending--;
        sched_message_free(m->qmgr->sched, m->sm);
    }
    qfile_msg_free(m->qf);
    store_claim_free(m->claim);
    xfree(m);
}

/* Read one batch from the open file; 0 or -1 (corrupt, already logged). */
static int
read_batch(QMGR_MESSAGE *m, int fd, int limit)
{
    REC_STREAM *rs = rec_stream_fd(fd, m->claim->path);
    QFILE_STATUS status = qfile_read(m->qf, rs, limit);

    rec_stream_free(rs);
    if (status == QFILE_ERR_IO) {
        msg_warn("%s: read error: %m", m->claim->path);
        return -1;
    }
    return status == QFILE_OK ? 0 : -1;
}

/* Resolve and assign the recipients of the batch just read. */
static void
schedule_batch(QMGR_MESSAGE *m, int fd)
{
    SCHED_BATCH *batch = sched_batch_create(m->qmgr->sched, m->sm);
    QFILE_MSG *qf = m->qf;

    for (int i = 0; i < qf->rcpt_count; i++) {
        SCHED_RCPT r;

        r.offset = qf->rcpt[i].offset;
        r.dsn_notify = qf->rcpt[i].dsn_notify;
        r.address = qf->rcpt[i].address;
        r.orig_addr = qf->rcpt[i].orig_rcpt;
        r.dsn_orcpt = qf->rcpt[i].dsn_orcpt;
        sched_batch_add(batch, &r);
    }
    m->fd = fd;
    qmgr_resolve_batch(m, batch);
    m->fd = -1;
    sched_message_set_unread(m->sm, qf->rcpt_offset != 0);
    sched_message_set_rcpt_unread(m->sm, qf->rcpt_unread);
    sched_batch_assign(batch, m->qmgr->now);
}

static int
message_qflags(const STORE_CLAIM *claim, int scan_flags)
{
    int qflags = 0;

    if (scan_flags & SCAN_FLUSH_DFXP)
        qflags |= SCHED_FLUSH_DFXP;
    if (claim->flags & STORE_MSG_UNTHROTTLE)
        qflags |= SCHED_FLUSH_EACH | SCHED_FLUSH_DFXP;
    if (claim->flags & STORE_MSG_EXPIRE)
        qflags |= SCHED_FORCE_EXPIRE;
    return qflags;
}

static void
create_sched_message(QMGR_MESSAGE *m, int scan_flags)
{
    QMGR *q = m->qmgr;
    QFILE_MSG *qf = m->qf;
    SCHED_MESSAGE_INFO info;

    if (q->set.confirm_delay_cleared && qf->warn_time < 0)
        qf->tflags |= QFILE_TRACE_REC_DLY_SENT;
    memset(&info, 0, sizeof(info));
    info.context = m;
    info.queue_id = m->claim->id;
    info.sender = qf->sender;
    info.create_time = qf->create_time;
    info.warn_time = qf->warn_time;
    info.qflags = message_qflags(m->claim, scan_flags);
    info.single_rcpt = qf->verp_delims != NULL;
    info.trace_wanted =
        (qf->tflags & (QFILE_TRACE_USR_VRFY | QFILE_TRACE_RECORD |
                       QFILE_TRACE_REC_DLY_SENT)) ||
        (qf->read_flags & QFILE_FLAG_NOTIFY_SUCCESS);
    m->sm = sched_message_create(q->sched, &info);
    if (qf->tflags & QFILE_TRACE_MTA_VRFY)
        q->verify_pending++;
}

/* Forced expiry with a defer log: no delivery, return the log as is. */
static int
expire_with_log(QMGR_MESSAGE *m)
{
    struct stat st;

    qmgr_message_path(m->qmgr, "defer", m->claim->id, m->qmgr->path);
    return (m->sm->qflags & SCHED_FORCE_EXPIRE) &&
           stat(strbuf_str(m->qmgr->path), &st) == 0 && st.st_size > 0;
}

static void
remove_defer_log(QMGR_MESSAGE *m)
{
    qmgr_message_path(m->qmgr, "defer", m->claim->id, m->qmgr->path);
    if (unlink(strbuf_str(m->qmgr->path)) < 0 && errno != ENOENT)
        msg_warn("remove %s: %m", strbuf_str(m->qmgr->path));
}

static int
open_locked(QMGR_MESSAGE *m, int *fd)
{
    if ((*fd = open(m->claim->path, O_RDWR)) < 0) {
        msg_warn("open %s: %m", m->claim->path);
        return -1;
    }
    if (flock(*fd, LOCK_EX | LOCK_NB) < 0) {
        msg_info("%s: skipped, still being delivered", m->claim->id);
        close(*fd);
        *fd = -1;
        return 0;
    }
    return 1;
}

static void
clear_unthrottle_bit(QMGR_MESSAGE *m, int fd)
{
    struct stat st;

    if ((m->claim->flags & STORE_MSG_UNTHROTTLE) && fstat(fd, &st) == 0 &&
        fchmod(fd, st.st_mode & ~S_IRGRP & 07777) < 0)
        msg_warn("%s: clear unthrottle bit: %m", m->claim->path);
}

int
qmgr_message_activate(QMGR *q, const STORE_CAND *cand, int scan_flags)
{
    STORE_CLAIM *claim;
    STORE_STATUS status;
    QMGR_MESSAGE *m;
    int fd;
    int locked;

    if ((status = store_claim(q->store, cand, &claim)) != STORE_OK) {
        if (status != STORE_GONE)
            msg_warn("%s: cannot activate: %s", cand->id,
                     store_error(q->store));
        return 0;
    }
    m = message_alloc(q, claim);
    if ((locked = open_locked(m, &fd)) <= 0) {
        if (locked == 0) {
            qmgr_checkin(m, STORE_BACK, time(NULL) + LOCKED_RETRY_DELAY);
            qmgr_message_free(m);
        } else {
            qmgr_save_corrupt(m);
        }
        return 0;
    }
    if (read_batch(m, fd, sched_batch_limit(q->sched, NULL)) < 0) {
        close(fd);
        qmgr_save_corrupt(m);
        return 0;
    }
    clear_unthrottle_bit(m, fd);
    create_sched_message(m, scan_flags);
    if (expire_with_log(m)) {
        m->sm->flags = 1;
        sched_message_set_unread(m->sm, 0);
    } else {
        remove_defer_log(m);
        schedule_batch(m, fd);
    }
    close(fd);
    if (m->sm->refcount == 0)
        qmgr_done_run(m);
    return 1;
}

int
qmgr_message_refill(QMGR_MESSAGE *m)
{
    int fd;

    if ((fd = open(m->claim->path, O_RDWR)) < 0) {
        msg_warn("open %s: %m", m->claim->path);
        return -1;
    }
    if (read_batch(m, fd, sched_batch_limit(m->qmgr->sched, m->sm)) < 0) {
        close(fd);
        return -1;
    }
    schedule_batch(m, fd);
    close(fd);
    return 0;
}

void
qmgr_refill_callback(void *context, SCHED_MESSAGE *sm)
{
    QMGR_MESSAGE *m = sm->context;

    if (qmgr_message_refill(m) < 0) {
        sm->flags = 1;
        sched_message_set_unread(sm, 0);
    }
}
