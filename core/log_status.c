/*
 * log_status - per-recipient status lines (log_status.h).
 */
#include <stddef.h>
#include <strings.h>

#include "addr_quote.h"
#include "log_status.h"
#include "msg.h"

#define MILLION 1000000L

static int max_resolution = LOG_STATUS_DEFAULT_MAXRES;
static int external_addresses = 1;

/* A time difference; signed, so that a clock jump back can be seen. */
typedef struct DELTA {
    long sec;
    long usec;
} DELTA;

void
log_status_config(int resolution_limit, int external_form)
{
    if (resolution_limit < 0)
        resolution_limit = 0;
    if (resolution_limit > 6)
        resolution_limit = 6;
    max_resolution = resolution_limit;
    external_addresses = external_form != 0;
}

static int
clamp(int value, int low, int high)
{
    return value < low ? low : value > high ? high : value;
}

/* digits_resolution - microseconds per last digit worth printing */

static long
digits_resolution(long sec, long usec, long wid, long res)
{
    long n;

    if (res >= MILLION)
        return res;
    if (sec > 0) {
        /* n = 10^(number of integer digits), capped at wid / 10 * 10 */
        for (n = 1; sec >= n && n <= wid / 10; n *= 10)
            continue;
        return (MILLION / wid) * n;
    }
    while (usec >= wid * res)
        res *= 10;
    return res;
}

void
log_status_delay(STRBUF *out, long sec, long usec, int sig_digits,
                 int max_digits)
{
    static const long pow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
    long res, n, rem;

    sig_digits = clamp(sig_digits, 1, 6);
    max_digits = clamp(max_digits, 0, 6);
    if (sec < 0 || usec < 0)
        sec = usec = 0;
    if (usec >= MILLION) {
        sec += usec / MILLION;
        usec %= MILLION;
    }
    res = digits_resolution(sec, usec, pow10[sig_digits],
                            MILLION / pow10[max_digits]);
    if (res > 1) {
        usec += res / 2;
        if (usec >= MILLION) {
            sec += 1;
            usec -= MILLION;
        }
    }
    strbuf_addf(out, "%ld", sec);
    if (usec < res)
        return;
    strbuf_addch(out, '.');
    for (rem = usec, n = MILLION / 10; rem >= res && n > 0; n /= 10) {
        strbuf_addch(out, (int) ('0' + rem / n));
        rem %= n;
    }
}

static int
stamped(const struct timeval *tv)
{
    return tv->tv_sec > 0;
}

static DELTA
delta(const struct timeval *later, const struct timeval *earlier)
{
    DELTA d = {(long) (later->tv_sec - earlier->tv_sec),
               (long) (later->tv_usec - earlier->tv_usec)};

    while (d.usec < 0) {
        d.usec += MILLION;
        d.sec -= 1;
    }
    while (d.usec >= MILLION) {
        d.usec -= MILLION;
        d.sec += 1;
    }
    if (d.sec < 0)
        d.sec = d.usec = 0;
    return d;
}

static void
add_delay(STRBUF *out, const char *label, DELTA d)
{
    strbuf_addstr(out, label);
    log_status_delay(out, d.sec, d.usec, LOG_STATUS_SIG_DIGITS, max_resolution);
}

static void
add_address(STRBUF *out, const char *addr)
{
    STRBUF *quoted;

    if (*addr == 0 || !external_addresses) {
        strbuf_addstr(out, addr);
        return;
    }
    quoted = strbuf_alloc(100);
    addr_quote(quoted, addr);
    strbuf_addmem(out, strbuf_str(quoted), strbuf_len(quoted));
    strbuf_free(quoted);
}

static void
add_delays(STRBUF *out, const LOG_STATUS_STATS *st, const struct timeval *now)
{
    DELTA zero = {0, 0};
    DELTA total, before, in_qmgr = zero, setup = zero, xfer = zero;

    total = delta(now, &st->incoming_arrival);
    if (stamped(&st->active_arrival)) {
        before = delta(&st->active_arrival, &st->incoming_arrival);
        if (stamped(&st->agent_handoff)) {
            in_qmgr = delta(&st->agent_handoff, &st->active_arrival);
            if (stamped(&st->conn_setup_done)) {
                setup = delta(&st->conn_setup_done, &st->agent_handoff);
                xfer = delta(now, &st->conn_setup_done);
            } else {
                xfer = delta(now, &st->agent_handoff);
            }
        } else {
            in_qmgr = delta(now, &st->active_arrival);
        }
    } else {
        before = delta(now, &st->incoming_arrival);
    }
    add_delay(out, ", delay=", total);
    add_delay(out, ", delays=", before);
    add_delay(out, "/", in_qmgr);
    add_delay(out, "/", setup);
    add_delay(out, "/", xfer);
}

void
log_status_format(STRBUF *out, const LOG_STATUS *ls, const struct timeval *now)
{
    static const LOG_STATUS_STATS no_stats;
    const LOG_STATUS_STATS *st = ls->stats ? ls->stats : &no_stats;
    const char *rcpt = ls->recipient ? ls->recipient : "";
    const char *orig = ls->orig_rcpt ? ls->orig_rcpt : "";

    if (stamped(&st->deliver_done))
        now = &st->deliver_done;
    strbuf_reset(out);
    strbuf_addf(out, "%s: to=<", ls->queue_id);
    add_address(out, rcpt);
    strbuf_addch(out, '>');
    if (*orig && strcasecmp(rcpt, orig) != 0) {
        strbuf_addstr(out, ", orig_to=<");
        add_address(out, orig);
        strbuf_addch(out, '>');
    }
    strbuf_addf(out, ", relay=%s", ls->relay ? ls->relay : "none");
    if (st->reuse_count > 0)
        strbuf_addf(out, ", conn_use=%d", st->reuse_count + 1);
    add_delays(out, st, now);
    strbuf_addf(out, ", dsn=%s, status=%s (%s)",
                ls->dsn_status ? ls->dsn_status : "",
                ls->status ? ls->status : "", ls->reason ? ls->reason : "");
}

void
log_status(const LOG_STATUS *ls)
{
    STRBUF *line = strbuf_alloc(200);
    struct timeval now;

    gettimeofday(&now, NULL);
    log_status_format(line, ls, &now);
    msg_info("%s", strbuf_str(line));
    strbuf_free(line);
}
