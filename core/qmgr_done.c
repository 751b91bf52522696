/*
 * qmgr_done - the message completion pipeline (postfix-scheduling.md 4.6)
 * and the checkin of a message's outcome into the store.
 *
 *	qmgr_done_run(m)	run the pipeline from where it stands: ask
 *		bounce(8) for a non-delivery report when the bounce log is not
 *		empty, move a file an agent marked corrupt aside, read the
 *		next recipient batch, ask trace(8) for a report, return an
 *		expired message or send a delay warning through defer(8), and
 *		finally defer the file (next attempt after the backoff) or
 *		remove it.  The asynchronous steps resume the pipeline from
 *		their completion callback.
 *	qmgr_done_callback(q, sm)	SCHED_OPS.message_done
 *	qmgr_defer_recipients(...)	SCHED_OPS.defer_recipients: one
 *		synchronous defer(8) append per recipient
 *	qmgr_checkin(m, action, when)	record the outcome in the store
 *	qmgr_save_corrupt(m)	log, move to corrupt/, forget the message
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "msg.h"
#include "qmgr.h"

void
qmgr_checkin(QMGR_MESSAGE *m, STORE_ACTION action, time_t when)
{
    STORE_OUTCOME outcome;
    STORE_STATUS status;

    outcome.action = action;
    outcome.next_attempt = when;
    /* Like Postfix's qmgr: by the time a message is removed, bounce(8) has
     * deleted the logs it sent reports from and the defer log went at
     * activation (start-up recovery removes any orphan left by a crash). */
    outcome.logs_gone = action == STORE_REMOVE;
    status = store_checkin(m->qmgr->store, m->claim, &outcome);
    if (status != STORE_OK && status != STORE_GONE)
        msg_warn("%s: cannot record outcome: %s", m->claim->id,
                 store_error(m->qmgr->store));
}

void
qmgr_save_corrupt(QMGR_MESSAGE *m)
{
    msg_warn("saving corrupt file \"%s\" from queue \"%s\" to queue \"%s\"",
             m->claim->id, "active", "corrupt");
    qmgr_checkin(m, STORE_TO_CORRUPT, 0);
    qmgr_message_free(m);
}

static void
fill_stats(QMGR_MESSAGE *m, LOG_STATUS_STATS *stats)
{
    memset(stats, 0, sizeof(*stats));
    stats->incoming_arrival.tv_sec = m->qf->arrival_sec;
    stats->incoming_arrival.tv_usec = m->qf->arrival_usec;
    stats->active_arrival = m->active_time;
}

int
qmgr_defer_recipients(void *context, SCHED_MESSAGE *sm, const SCHED_RCPT *rcpts,
                      int count, const char *status, const char *reason)
{
    QMGR_MESSAGE *m = sm->context;
    LOG_STATUS_STATS stats;
    BOUNCE_DSN dsn;
    int result = 0;

    fill_stats(m, &stats);
    memset(&dsn, 0, sizeof(dsn));
    dsn.status = status;
    dsn.reason = reason;
    for (int i = 0; i < count; i++) {
        BOUNCE_RCPT rcpt;

        rcpt.orig_addr = rcpts[i].orig_addr;
        rcpt.address = rcpts[i].address;
        rcpt.offset = rcpts[i].offset;
        rcpt.dsn_orcpt = rcpts[i].dsn_orcpt;
        rcpt.dsn_notify = rcpts[i].dsn_notify;
        result |= bounce_clnt_defer_append(m->qf->tflags, m->claim->id, &stats,
                                           &rcpt, "none", &dsn);
    }
    return result;
}

static void
fill_notice(QMGR_MESSAGE *m, BOUNCE_NOTICE *notice, int flags)
{
    memset(notice, 0, sizeof(*notice));
    notice->flags = flags;
    notice->queue_name = "active";
    notice->queue_id = m->claim->id;
    notice->encoding = m->qf->encoding;
    notice->smtputf8 = m->qf->smtputf8;
    notice->sender = m->qf->sender;
    notice->dsn_envid = m->qf->dsn_envid;
    notice->dsn_ret = m->qf->dsn_ret;
    notice->verp_delims = m->qf->verp_delims;
}

/* After a successful trace report the "sendmail -v" record is killed. */
static void
kill_trace_record(QMGR_MESSAGE *m)
{
    int fd;

    if (m->qf->tflags_offset <= 0 || m->qf->tflags != QFILE_TRACE_RECORD)
        return;
    if ((fd = open(m->claim->path, O_RDWR)) < 0 ||
        qfile_kill_record(fd, m->qf->tflags_offset) < 0)
        msg_warn("%s: update trace flags record: %m", m->claim->path);
    if (fd >= 0)
        close(fd);
}

/* After a successful delay warning the W record says -1. */
static void
mark_warning_sent(QMGR_MESSAGE *m)
{
    int fd;

    if ((fd = open(m->claim->path, O_RDWR)) < 0 ||
        qfile_update_warn(fd, m->qf->warn_offset, -1) < 0)
        msg_warn("%s: update delay warning record: %m", m->claim->path);
    if (fd >= 0)
        close(fd);
    m->sm->warn_time = -1;
    m->qf->warn_time = -1;
    if (m->qmgr->set.confirm_delay_cleared)
        m->qf->tflags |= QFILE_TRACE_REC_DLY_SENT;
}

static void
notice_done(int status, void *context)
{
    QMGR_MESSAGE *m = context;

    m->notice = NULL;
    m->qmgr->now = time(NULL);
    if (status == 0 && m->step == SCHED_DONE_TRACE)
        kill_trace_record(m);
    if (status == 0 && m->step == SCHED_DONE_WARN)
        mark_warning_sent(m);
    sched_done_status(m->sm, m->step, status);
    qmgr_done_run(m);
}

static int
verp_report(const QMGR_MESSAGE *m)
{
    return m->qf->verp_delims && !m->qmgr->set.disable_verp_bounces;
}

/* Start an asynchronous notice for step; returns 1 when one is pending. */
static int
start_notice(QMGR_MESSAGE *m, SCHED_DONE_STEP step)
{
    QMGR *q = m->qmgr;
    BOUNCE_NOTICE notice;

    m->step = step;
    switch (step) {
        case SCHED_DONE_BOUNCE:
            fill_notice(m, &notice, BOUNCE_FLAG_NONE);
            m->notice =
                verp_report(m)
                    ? bounce_clnt_flush_verp(q->base, &notice, notice_done, m)
                    : bounce_clnt_flush(q->base, &notice, notice_done, m);
            break;
        case SCHED_DONE_TRACE:
            fill_notice(m, &notice, m->qf->tflags);
            m->notice =
                bounce_clnt_trace_flush(q->base, &notice, notice_done, m);
            break;
        case SCHED_DONE_EXPIRE:
            fill_notice(m, &notice, BOUNCE_FLAG_NONE);
            m->notice =
                verp_report(m)
                    ? bounce_clnt_defer_flush_verp(q->base, &notice,
                                                   notice_done, m)
                    : bounce_clnt_defer_flush(q->base, &notice, notice_done, m);
            break;
        case SCHED_DONE_WARN:
            fill_notice(m, &notice, BOUNCE_FLAG_NONE);
            m->notice =
                bounce_clnt_defer_warn(q->base, &notice, notice_done, m);
            break;
        default:
            msg_panic("start_notice: step %d", (int) step);
    }
    return m->notice != NULL;
}

/* Step 1: a bounce log that is not empty means a non-delivery report. */
static int
bounce_log_pending(QMGR_MESSAGE *m)
{
    QMGR *q = m->qmgr;
    struct stat st;

    qmgr_message_path(q, "bounce", m->claim->id, q->path);
    if (stat(strbuf_str(q->path), &st) < 0)
        return 0;
    if (st.st_size > 0)
        return 1;
    if (unlink(strbuf_str(q->path)) < 0 && errno != ENOENT)
        msg_warn("remove %s: %m", strbuf_str(q->path));
    return 0;
}

/* Step 2: an agent marks a file corrupt by taking its owner bits away. */
static int
file_still_usable(QMGR_MESSAGE *m)
{
    struct stat st;

    return stat(m->claim->path, &st) == 0 && S_ISREG(st.st_mode) &&
           (st.st_mode & S_IRWXU) == S_IRWXU;
}

static void
finish(QMGR_MESSAGE *m, SCHED_DONE_STEP step)
{
    QMGR *q = m->qmgr;

    if (step == SCHED_DONE_DEFER) {
        qmgr_checkin(
            m, STORE_DEFER,
            q->now + sched_backoff_delay(q->sched, m->sm->create_time, q->now));
    } else {
        qmgr_checkin(m, STORE_REMOVE, 0);
        msg_info("%s: removed", m->claim->id);
    }
    qmgr_message_free(m);
}

void
qmgr_done_run(QMGR_MESSAGE *m)
{
    QMGR *q = m->qmgr;
    SCHED_DONE_STEP step;

    for (;;) {
        step = sched_done_next(q->sched, m->sm, q->now);
        switch (step) {
            case SCHED_DONE_BOUNCE:
                if (bounce_log_pending(m) && start_notice(m, step))
                    return;
                sched_done_status(m->sm, step, 0);
                break;
            case SCHED_DONE_CORRUPT_CHECK:
                if (!file_still_usable(m)) {
                    qmgr_save_corrupt(m);
                    return;
                }
                break;
            case SCHED_DONE_REFILL:
                if (qmgr_message_refill(m) < 0) {
                    qmgr_save_corrupt(m);
                    return;
                }
                if (m->sm->refcount > 0)
                    return;
                break;
            case SCHED_DONE_TRACE:
            case SCHED_DONE_EXPIRE:
            case SCHED_DONE_WARN:
                if (start_notice(m, step))
                    return;
                sched_done_status(m->sm, step, -1);
                break;
            case SCHED_DONE_DEFER:
            case SCHED_DONE_REMOVE:
                finish(m, step);
                return;
        }
    }
}

void
qmgr_done_callback(void *context, SCHED_MESSAGE *sm)
{
    QMGR_MESSAGE *m = sm->context;

    m->qmgr->now = time(NULL);
    qmgr_done_run(m);
}
