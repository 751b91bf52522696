/*
 * async_xchg - one asynchronous request/reply exchange (async_xchg.h).
 *
 * One libevent event per exchange, re-armed for each wait with what is left
 * of the phase's deadline.  The input side is a SOCKBUF whose attribute
 * scanner reports AGAIN until a whole list has arrived.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "async_xchg.h"
#include "sockbuf.h"
#include "xalloc.h"

struct ASYNC_XCHG {
    struct event_base *base;
    char *protocol;
    ASYNC_XCHG_LIMITS limits;
    const ASYNC_XCHG_OPS *ops;
    void *context;
    SOCKBUF *sb;
    struct event *ev;
    short armed; /* EV_READ or EV_WRITE */
    ASYNC_XCHG_PHASE phase;
    long deadline; /* of the current phase, monotonic ms */
    ASYNC_XCHG_RESULT result;
    STRBUF *why;
};

static int live_exchanges;

int
async_xchg_count(void)
{
    return live_exchanges;
}

static long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void xchg_event(evutil_socket_t fd, short what, void *arg);

/*
 * Wait for what on the socket until the phase deadline.  The event is
 * persistent and re-assigned only when what changes, so that re-arming for
 * more input or a new deadline costs no epoll_ctl() and no allocation.
 */
static void
arm(ASYNC_XCHG *x, short what)
{
    long left = x->deadline - now_ms();
    struct timeval tv;

    if (left < 0)
        left = 0;
    tv.tv_sec = left / 1000;
    tv.tv_usec = (left % 1000) * 1000;
    if (x->ev == NULL) {
        x->ev = event_new(x->base, sockbuf_fd(x->sb), what | EV_PERSIST,
                          xchg_event, x);
    } else if (x->armed != what) {
        event_del(x->ev);
        event_assign(x->ev, x->base, sockbuf_fd(x->sb), what | EV_PERSIST,
                     xchg_event, x);
    }
    x->armed = what;
    event_add(x->ev, &tv);
}

static void
start_phase(ASYNC_XCHG *x, ASYNC_XCHG_PHASE phase, int timeout_ms, short what)
{
    x->phase = phase;
    x->deadline = now_ms() + timeout_ms;
    arm(x, what);
}

static void
xchg_free(ASYNC_XCHG *x)
{
    if (x->ev)
        event_free(x->ev);
    sockbuf_free(x->sb);
    xfree(x->protocol);
    strbuf_free(x->why);
    xfree(x);
    live_exchanges--;
}

void
async_xchg_abort(ASYNC_XCHG *x)
{
    if (x != NULL)
        xchg_free(x);
}

/* Close, tell the client, forget. */
static void
finish(ASYNC_XCHG *x, ASYNC_XCHG_PHASE phase, ASYNC_XCHG_PROBLEM problem,
       const char *why)
{
    if (x->ev) {
        event_free(x->ev);
        x->ev = NULL;
    }
    sockbuf_free(x->sb);
    x->sb = NULL;
    if (why != strbuf_str(x->why))
        strbuf_setstr(x->why, why);
    x->result.phase = phase;
    x->result.problem = problem;
    x->result.why = strbuf_str(x->why);
    x->ops->done(x->context, &x->result);
    xchg_free(x);
}

/* Read what is there: 1 scan, FILL_FULL scan (buffer full), 0 wait, -1. */
#define FILL_FULL 2

static int
fill_input(ASYNC_XCHG *x)
{
    if (sockbuf_fill(x->sb) >= 0)
        return 1;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return 0;
    return errno == ENOBUFS ? FILL_FULL : -1;
}

/* Common start of a read phase; returns the fill result, or -2 when done. */
static int
read_step(ASYNC_XCHG *x, short what)
{
    int got;

    if (!(what & EV_READ)) {
        finish(x, x->phase, AX_TIMEOUT, "timed out");
        return -2;
    }
    if ((got = fill_input(x)) == 0) {
        arm(x, EV_READ);
        return -2;
    }
    if (got < 0) {
        finish(x, x->phase, AX_IO, strerror(errno));
        return -2;
    }
    return got;
}

/* Write what the socket takes now; wait for room only if it is full. */
static void
write_request(ASYNC_XCHG *x)
{
    int ret;

    if ((ret = sockbuf_flush(x->sb)) < 0)
        finish(x, AX_WRITE, AX_IO, strerror(errno));
    else if (ret == 0)
        start_phase(x, AX_WRITE, x->limits.write_ms, EV_WRITE);
    else
        start_phase(x, AX_REPLY, x->limits.reply_ms, EV_READ);
}

static void
send_request(ASYNC_XCHG *x)
{
    switch (x->ops->request(x->context, sockbuf_out(x->sb))) {
        case AX_SEND:
            write_request(x);
            return;
        case AX_DECLINE:
            finish(x, AX_DECLINED, AX_NO_PROBLEM, "");
            return;
        default:
            finish(x, AX_WRITE, AX_MALFORMED, "cannot encode the request");
            return;
    }
}

static void
on_announce(ASYNC_XCHG *x, short what)
{
    ATTR_SCAN_RESULT res;
    int got;

    if ((got = read_step(x, what)) == -2)
        return;
    switch (sockbuf_scan_announcement(x->sb, ATTR_ENC_0, x->protocol, &res)) {
        case ATTR_SCAN_AGAIN:
            if (got != FILL_FULL) {
                arm(x, EV_READ);
                return;
            }
            strcpy(res.why, "announcement too long");
            break;
        case ATTR_SCAN_DONE:
            if (sockbuf_input_len(x->sb) == 0) {
                send_request(x);
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
    finish(x, AX_ANNOUNCE, AX_MALFORMED, res.why);
}

static void
on_writable(ASYNC_XCHG *x, short what)
{
    if (!(what & EV_WRITE)) {
        finish(x, AX_WRITE, AX_TIMEOUT, strerror(ETIMEDOUT));
        return;
    }
    write_request(x);
}

static void
on_reply(ASYNC_XCHG *x, short what)
{
    ATTR_SCAN_RESULT res;
    int got;

    if ((got = read_step(x, what)) == -2)
        return;
    switch (sockbuf_scan(x->sb, ATTR_ENC_0, ATTR_FLAG_STRICT, x->ops->reply,
                         x->limits.scan, &res)) {
        case ATTR_SCAN_AGAIN:
            if (got != FILL_FULL) {
                arm(x, EV_READ);
                return;
            }
            strcpy(res.why, "reply too long");
            break;
        case ATTR_SCAN_DONE:
            if (res.count == x->ops->reply_count) {
                finish(x, AX_DONE, AX_NO_PROBLEM, "");
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
    finish(x, AX_REPLY, AX_MALFORMED, res.why);
}

static void
xchg_event(evutil_socket_t fd, short what, void *arg)
{
    ASYNC_XCHG *x = arg;

    switch (x->phase) {
        case AX_ANNOUNCE:
            on_announce(x, what);
            break;
        case AX_WRITE:
            on_writable(x, what);
            break;
        case AX_REPLY:
            on_reply(x, what);
            break;
        default:
            finish(x, AX_CONNECT, AX_IO, strbuf_str(x->why));
            break;
    }
}

static ASYNC_XCHG *
xchg_alloc(struct event_base *base, const ASYNC_XCHG_OPS *ops, void *context)
{
    ASYNC_XCHG *x = xcalloc(1, sizeof(*x));

    live_exchanges++;
    x->base = base;
    x->ops = ops;
    x->context = context;
    x->why = strbuf_alloc(100);
    return x;
}

ASYNC_XCHG *
async_xchg_refuse(struct event_base *base, const char *why,
                  const ASYNC_XCHG_OPS *ops, void *context)
{
    ASYNC_XCHG *x = xchg_alloc(base, ops, context);

    x->phase = AX_CONNECT;
    strbuf_setstr(x->why, why);
    x->ev = event_new(base, -1, 0, xchg_event, x);
    event_active(x->ev, EV_TIMEOUT, 0);
    return x;
}

ASYNC_XCHG *
async_xchg_open(struct event_base *base, const char *path, const char *protocol,
                const ASYNC_XCHG_LIMITS *limits, const ASYNC_XCHG_OPS *ops,
                void *context)
{
    ASYNC_XCHG *x;
    int fd;

    if ((fd = sockbuf_connect_unix(path)) < 0)
        return async_xchg_refuse(base, strerror(errno), ops, context);
    x = xchg_alloc(base, ops, context);
    x->protocol = xstrdup(protocol);
    x->limits = *limits;
    x->sb = sockbuf_create(fd, limits->input_max);
    start_phase(x, AX_ANNOUNCE, limits->announce_ms, EV_READ);
    return x;
}
