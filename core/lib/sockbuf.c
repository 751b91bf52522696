/*
 * sockbuf - buffered, non-blocking I/O of attribute lists on a socket
 * (see sockbuf.h).
 *
 * Input accumulates in one buffer; consumed bytes are dropped from its
 * front before the next read.  Output accumulates in another and leaves
 * with send(MSG_NOSIGNAL), so a peer that went away gives EPIPE instead of
 * a signal.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sockbuf.h"
#include "xalloc.h"

#define SOCKBUF_READ_SIZE 16384
#define SOCKBUF_MIN_ROOM  256

struct SOCKBUF {
    int fd;
    size_t max_input;
    STRBUF *in;
    size_t in_head; /* consumed bytes at the front of in */
    int eof;
    STRBUF *out;
    size_t out_head; /* written bytes at the front of out */
};

int
sockbuf_connect_unix(const char *path)
{
    struct sockaddr_un sun;
    int fd;

    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sun.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(sun.sun_path, path);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) <
        0)
        return -1;
    if (connect(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0 &&
        errno != EINPROGRESS) {
        int saved = errno;

        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

SOCKBUF *
sockbuf_create(int fd, size_t max_input)
{
    SOCKBUF *sb = xcalloc(1, sizeof(*sb));
    int fl = fcntl(fd, F_GETFL);

    if (fl >= 0)
        (void) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    sb->fd = fd;
    sb->max_input = max_input ? max_input : ATTR_LIST_MAX;
    sb->in = strbuf_alloc(1024);
    sb->out = strbuf_alloc(1024);
    return sb;
}

void
sockbuf_free(SOCKBUF *sb)
{
    if (sb == NULL)
        return;
    if (sb->fd >= 0)
        close(sb->fd);
    strbuf_free(sb->in);
    strbuf_free(sb->out);
    xfree(sb);
}

int
sockbuf_fd(const SOCKBUF *sb)
{
    return sb->fd;
}

size_t
sockbuf_input_len(const SOCKBUF *sb)
{
    return strbuf_len(sb->in) - sb->in_head;
}

int
sockbuf_eof(const SOCKBUF *sb)
{
    return sb->eof;
}

/* drop_consumed_input - move the unread input to the front */

static void
drop_consumed_input(SOCKBUF *sb)
{
    size_t left = sockbuf_input_len(sb);

    if (sb->in_head == 0)
        return;
    memmove(sb->in->data, sb->in->data + sb->in_head, left);
    sb->in_head = 0;
    strbuf_truncate(sb->in, left);
}

ssize_t
sockbuf_fill(SOCKBUF *sb)
{
    size_t room;
    ssize_t got;

    drop_consumed_input(sb);
    if (strbuf_len(sb->in) >= sb->max_input) {
        errno = ENOBUFS;
        return -1;
    }
    /* Read into the room there is; grow only when it runs short (replies
     * are small: reserving a whole read size each time costs a malloc). */
    room = sb->in->cap - sb->in->len - 1;
    if (room < SOCKBUF_MIN_ROOM) {
        strbuf_reserve(sb->in, SOCKBUF_READ_SIZE);
        room = sb->in->cap - sb->in->len - 1;
    }
    if (room > sb->max_input - strbuf_len(sb->in))
        room = sb->max_input - strbuf_len(sb->in);
    do {
        got = read(sb->fd, sb->in->data + sb->in->len, room);
    } while (got < 0 && errno == EINTR);
    if (got < 0)
        return -1;
    if (got == 0)
        sb->eof = 1;
    sb->in->len += (size_t) got;
    sb->in->data[sb->in->len] = 0;
    return got;
}

/* consume - drop used bytes from the input after a complete scan */

static int
consume(SOCKBUF *sb, const ATTR_SCAN_RESULT *res)
{
    if (res->status == ATTR_SCAN_DONE)
        sb->in_head += res->used;
    return res->status;
}

static int
input_flags(const SOCKBUF *sb, int flags)
{
    return sb->eof ? (flags | ATTR_FLAG_EOF) : flags;
}

int
sockbuf_scan(SOCKBUF *sb, ATTR_ENCODING enc, int flags, const ATTR_SPEC *want,
             const ATTR_LIMITS *limits, ATTR_SCAN_RESULT *res)
{
    attr_scan(enc, sb->in->data + sb->in_head, sockbuf_input_len(sb),
              input_flags(sb, flags), want, limits, res);
    return consume(sb, res);
}

int
sockbuf_scan_announcement(SOCKBUF *sb, ATTR_ENCODING enc, const char *protocol,
                          ATTR_SCAN_RESULT *res)
{
    attr_scan_announcement(enc, sb->in->data + sb->in_head,
                           sockbuf_input_len(sb), input_flags(sb, 0), protocol,
                           res);
    return consume(sb, res);
}

STRBUF *
sockbuf_out(SOCKBUF *sb)
{
    return sb->out;
}

size_t
sockbuf_pending(const SOCKBUF *sb)
{
    return strbuf_len(sb->out) - sb->out_head;
}

int
sockbuf_flush(SOCKBUF *sb)
{
    ssize_t sent;

    while (sockbuf_pending(sb) > 0) {
        sent = send(sb->fd, sb->out->data + sb->out_head, sockbuf_pending(sb),
                    MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent < 0)
            return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
        sb->out_head += (size_t) sent;
    }
    strbuf_reset(sb->out);
    sb->out_head = 0;
    return 1;
}

/* Blocking helpers. */

static long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* wait_for - poll for events until deadline; 1 ready, -1 (errno) */

static int
wait_for(SOCKBUF *sb, short events, long deadline)
{
    struct pollfd pfd = {sb->fd, events, 0};
    long left;
    int ret;

    for (;;) {
        if ((left = deadline - now_ms()) <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        ret = poll(&pfd, 1, (int) left);
        if (ret > 0)
            return 1;
        if (ret < 0 && errno != EINTR)
            return -1;
    }
}

int
sockbuf_write_wait(SOCKBUF *sb, int timeout_ms)
{
    long deadline = now_ms() + timeout_ms;
    int ret;

    while ((ret = sockbuf_flush(sb)) == 0)
        if (wait_for(sb, POLLOUT, deadline) < 0)
            return -1;
    return ret > 0 ? 0 : -1;
}

/* A scan to repeat as input arrives: a wish list or an announcement. */
typedef struct SCAN_REQ {
    ATTR_ENCODING enc;
    int flags;
    const ATTR_SPEC *want;
    const ATTR_LIMITS *limits;
    const char *protocol;
} SCAN_REQ;

static int
scan_req(SOCKBUF *sb, const SCAN_REQ *req, ATTR_SCAN_RESULT *res)
{
    if (req->protocol)
        return sockbuf_scan_announcement(sb, req->enc, req->protocol, res);
    return sockbuf_scan(sb, req->enc, req->flags, req->want, req->limits, res);
}

static int
read_failed(ATTR_SCAN_RESULT *res, const char *what)
{
    snprintf(res->why, sizeof(res->why), "%s: %s", what, strerror(errno));
    return res->status = ATTR_SCAN_ERROR;
}

static int
read_wait(SOCKBUF *sb, const SCAN_REQ *req, ATTR_SCAN_RESULT *res,
          int timeout_ms)
{
    long deadline = now_ms() + timeout_ms;

    while (scan_req(sb, req, res) == ATTR_SCAN_AGAIN) {
        if (wait_for(sb, POLLIN, deadline) < 0)
            return read_failed(res, "waiting for input");
        if (sockbuf_fill(sb) < 0 && errno != EAGAIN)
            return read_failed(res, "read");
    }
    return res->status;
}

int
sockbuf_read_wait(SOCKBUF *sb, ATTR_ENCODING enc, int flags,
                  const ATTR_SPEC *want, const ATTR_LIMITS *limits,
                  ATTR_SCAN_RESULT *res, int timeout_ms)
{
    SCAN_REQ req = {enc, flags, want, limits, NULL};

    return read_wait(sb, &req, res, timeout_ms);
}

int
sockbuf_announcement_wait(SOCKBUF *sb, ATTR_ENCODING enc, const char *protocol,
                          ATTR_SCAN_RESULT *res, int timeout_ms)
{
    SCAN_REQ req = {enc, 0, NULL, NULL, protocol};

    return read_wait(sb, &req, res, timeout_ms);
}
