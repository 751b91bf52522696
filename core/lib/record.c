/*
 * record - Postfix queue-file records: reading a record stream, writing
 * records (interface in record.h).
 *
 * A stream over a file descriptor keeps one buffer of REC_BUFSIZE bytes and
 * fills it with pread(2) at the read position, so that reading an envelope
 * and skipping the message content costs a few system calls and seeks inside
 * the buffer cost none.  A memory stream reads the caller's bytes directly.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "record.h"
#include "xalloc.h"

#define REC_BUFSIZE 8192
#define REC_OFF_MAX ((off_t) (((uintmax_t) 1 << (8 * sizeof(off_t) - 1)) - 1))

/* Results of rec_getc() besides a byte value. */
#define GETC_EOF   (-1)
#define GETC_ERROR (-2)

struct REC_STREAM {
    int fd;                   /* -1 for a memory stream */
    const unsigned char *mem; /* memory stream: the bytes */
    size_t mem_len;
    unsigned char *buf; /* fd stream: read buffer */
    size_t buf_len;     /* valid bytes in buf */
    off_t buf_start;    /* file offset of buf[0] */
    off_t pos;          /* read position */
    off_t rec_off;      /* type byte of the last record */
    int stopped;        /* 'E' seen with REC_FLAG_STOP_AT_END */
    off_t jump_target;  /* last pointer target */
    int reverse_jumps;  /* jumps not beyond the last target */
    int io_failed;      /* last error was a read failure */
    char *path;
    STRBUF *err;
};

/* rec_stream_new - common part of the constructors */

static REC_STREAM *
rec_stream_new(const char *path)
{
    REC_STREAM *rs = xcalloc(1, sizeof(*rs));

    rs->path = xstrdup(path ? path : "(queue file)");
    rs->err = strbuf_alloc(100);
    return rs;
}

REC_STREAM *
rec_stream_fd(int fd, const char *path)
{
    REC_STREAM *rs = rec_stream_new(path);

    rs->fd = fd;
    rs->buf = xmalloc(REC_BUFSIZE);
    return rs;
}

REC_STREAM *
rec_stream_mem(const void *data, size_t len, const char *path)
{
    REC_STREAM *rs = rec_stream_new(path);

    rs->fd = -1;
    rs->mem = data;
    rs->mem_len = len;
    return rs;
}

void
rec_stream_free(REC_STREAM *rs)
{
    if (rs == NULL)
        return;
    xfree(rs->buf);
    xfree(rs->path);
    strbuf_free(rs->err);
    xfree(rs);
}

int
rec_seek(REC_STREAM *rs, off_t offset)
{
    if (offset < 0)
        return -1;
    rs->pos = offset;
    rs->stopped = 0;
    return 0;
}

off_t
rec_tell(const REC_STREAM *rs)
{
    return rs->pos;
}

off_t
rec_offset(const REC_STREAM *rs)
{
    return rs->rec_off;
}

const char *
rec_error(const REC_STREAM *rs)
{
    return strbuf_str(rs->err);
}

int
rec_io_failed(const REC_STREAM *rs)
{
    return rs->io_failed;
}

/* rec_fail - remember an error text, return REC_TYPE_ERROR */

static int __attribute__((format(printf, 2, 3)))
rec_fail(REC_STREAM *rs, const char *fmt, ...)
{
    va_list ap;

    strbuf_reset(rs->err);
    strbuf_addf(rs->err, "%s: ", rs->path);
    va_start(ap, fmt);
    strbuf_vaddf(rs->err, fmt, ap);
    va_end(ap);
    return REC_TYPE_ERROR;
}

/* rec_fill - make the buffer of an fd stream start at the read position */

static int
rec_fill(REC_STREAM *rs)
{
    const off_t max = REC_OFF_MAX;
    size_t want = REC_BUFSIZE;
    ssize_t got;

    if (max - rs->pos < (off_t) want)
        want = (size_t) (max - rs->pos);
    do {
        got = pread(rs->fd, rs->buf, want, rs->pos);
    } while (got < 0 && errno == EINTR);
    rs->buf_start = rs->pos;
    if (got < 0) {
        rs->buf_len = 0;
        rs->io_failed = 1;
        rec_fail(rs, "read error: %s", strerror(errno));
        return GETC_ERROR;
    }
    rs->buf_len = (size_t) got;
    return got == 0 ? GETC_EOF : 0;
}

/* rec_avail - bytes readable at the read position without a system call */

static int
rec_avail(REC_STREAM *rs, const unsigned char **data, size_t *len)
{
    int status;

    if (rs->fd < 0) {
        if ((uintmax_t) rs->pos >= rs->mem_len)
            return GETC_EOF;
        *data = rs->mem + rs->pos;
        *len = rs->mem_len - (size_t) rs->pos;
        return 0;
    }
    if (rs->pos < rs->buf_start ||
        rs->pos >= rs->buf_start + (off_t) rs->buf_len) {
        if ((status = rec_fill(rs)) != 0)
            return status;
    }
    *data = rs->buf + (rs->pos - rs->buf_start);
    *len = rs->buf_len - (size_t) (rs->pos - rs->buf_start);
    return 0;
}

/* rec_getc - one byte, GETC_EOF or GETC_ERROR */

static int
rec_getc(REC_STREAM *rs)
{
    const unsigned char *data;
    size_t len;
    int status;

    if ((status = rec_avail(rs, &data, &len)) != 0)
        return status;
    rs->pos++;
    return data[0];
}

/* rec_read_payload - append len bytes at the read position to buf */

static int
rec_read_payload(REC_STREAM *rs, STRBUF *buf, size_t len)
{
    const unsigned char *data;
    size_t avail;
    int status;

    if (rs->fd < 0 && ((uintmax_t) rs->pos > rs->mem_len ||
                       len > rs->mem_len - (size_t) rs->pos))
        return GETC_EOF;
    while (len > 0) {
        if ((status = rec_avail(rs, &data, &avail)) != 0)
            return status;
        if (avail > len)
            avail = len;
        strbuf_addmem(buf, data, avail);
        rs->pos += (off_t) avail;
        len -= avail;
    }
    return 0;
}

/* rec_read_length - decode the base-128 length of a record of this type */

static int
rec_read_length(REC_STREAM *rs, int type, size_t *lenp)
{
    size_t len = 0;
    unsigned shift;
    int byte;

    for (shift = 0;; shift += 7) {
        if (shift >= 7 * REC_LEN_MAX_BYTES)
            return rec_fail(rs, "too many length bits, record type %d", type);
        if ((byte = rec_getc(rs)) < 0) {
            if (byte == GETC_ERROR)
                return REC_TYPE_ERROR;
            return rec_fail(rs, "unexpected EOF reading length, record type %d",
                            type);
        }
        len |= (size_t) (byte & 0177) << shift;
        if ((byte & 0200) == 0)
            break;
    }
    *lenp = len;
    return 0;
}

/* rec_get_one - read one record without any transparency */

static int
rec_get_one(REC_STREAM *rs, STRBUF *buf, size_t maxsize)
{
    size_t len = 0;
    int type;
    int status;

    rs->io_failed = 0;
    rs->rec_off = rs->pos;
    strbuf_reset(buf);
    if (rs->stopped)
        return REC_TYPE_EOF;
    if ((type = rec_getc(rs)) < 0)
        return type == GETC_EOF ? REC_TYPE_EOF : REC_TYPE_ERROR;
    if (rec_read_length(rs, type, &len) < 0)
        return REC_TYPE_ERROR;
    if (maxsize > 0 && len > maxsize) {
        rs->pos = REC_OFF_MAX - rs->pos < (off_t) len ? REC_OFF_MAX
                                                      : rs->pos + (off_t) len;
        return rec_fail(rs, "illegal length %ld, record type %d", (long) len,
                        type);
    }
    if ((status = rec_read_payload(rs, buf, len)) < 0) {
        if (status == GETC_ERROR)
            return REC_TYPE_ERROR;
        return rec_fail(rs, "unexpected EOF in data, record type %d length %ld",
                        type, (long) len);
    }
    return type;
}

int
rec_get_raw(REC_STREAM *rs, STRBUF *buf, size_t maxsize, int flags)
{
    int type;

    for (;;) {
        type = rec_get_one(rs, buf, maxsize);
        if (type == REC_TYPE_PTR && (flags & REC_FLAG_FOLLOW_PTR)) {
            if (rec_goto(rs, strbuf_str(buf)) == REC_TYPE_ERROR)
                return REC_TYPE_ERROR;
            continue;
        }
        if (type == REC_TYPE_DTXT && (flags & REC_FLAG_SKIP_DTXT))
            continue;
        if (type == REC_TYPE_END && (flags & REC_FLAG_STOP_AT_END))
            rs->stopped = 1;
        return type;
    }
}

int
rec_get(REC_STREAM *rs, STRBUF *buf)
{
    return rec_get_raw(rs, buf, 0, REC_FLAG_DEFAULT);
}

/* rec_parse_offset - a non-negative decimal number, digits only, or -1 */

static off_t
rec_parse_offset(const char *cp)
{
    const off_t max = REC_OFF_MAX;
    off_t result = 0;
    int digit;

    for (; *cp; cp++) {
        if (*cp < '0' || *cp > '9')
            return -1;
        digit = *cp - '0';
        if (result > (max - digit) / 10)
            return -1;
        result = result * 10 + digit;
    }
    return result;
}

static int
rec_isspace(int ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' ||
           ch == '\v';
}

int
rec_goto(REC_STREAM *rs, const char *payload)
{
    const char *cp = payload;
    off_t offset;

    while (rec_isspace((unsigned char) *cp))
        cp++;
    if ((offset = rec_parse_offset(cp)) < 0)
        return rec_fail(rs, "malformed pointer record value: %s", cp);
    if (offset == 0)
        return 0;
    if (offset <= rs->jump_target &&
        ++rs->reverse_jumps > REC_REVERSE_JUMP_LIMIT)
        return rec_fail(rs, "too many reverse jump records");
    rs->jump_target = offset;
    rs->pos = offset;
    return 0;
}

void
rec_jumps(const REC_STREAM *rs, off_t *target, int *count)
{
    *target = rs->jump_target;
    *count = rs->reverse_jumps;
}

void
rec_set_jumps(REC_STREAM *rs, off_t target, int count)
{
    rs->jump_target = target;
    rs->reverse_jumps = count;
}

size_t
rec_header(unsigned char *hdr, int type, size_t len)
{
    size_t n = 0;

    hdr[n++] = (unsigned char) type;
    do {
        hdr[n] = len & 0177;
        len >>= 7;
        if (len != 0)
            hdr[n] |= 0200;
        n++;
    } while (len != 0);
    return n;
}

size_t
rec_size(size_t len)
{
    unsigned char hdr[16];

    return rec_header(hdr, 0, len) + len;
}

void
rec_put(STRBUF *sb, int type, const void *data, size_t len)
{
    unsigned char hdr[16];

    strbuf_addmem(sb, hdr, rec_header(hdr, type, len));
    if (len > 0)
        strbuf_addmem(sb, data, len);
}

void
rec_putf(STRBUF *sb, int type, const char *fmt, ...)
{
    STRBUF *payload = strbuf_alloc(100);
    va_list ap;

    va_start(ap, fmt);
    strbuf_vaddf(payload, fmt, ap);
    va_end(ap);
    rec_put(sb, type, strbuf_str(payload), strbuf_len(payload));
    strbuf_free(payload);
}

int
rec_put_type(int fd, off_t offset, int type)
{
    unsigned char ch = (unsigned char) type;
    ssize_t done;

    if (offset < 0 || type < 0 || type > 255) {
        errno = EINVAL;
        return -1;
    }
    do {
        done = pwrite(fd, &ch, 1, offset);
    } while (done < 0 && errno == EINTR);
    if (done == 1)
        return 0;
    if (done >= 0)
        errno = EIO;
    return -1;
}
