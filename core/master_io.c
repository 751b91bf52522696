/*
 * master_io - the child side of master(8)'s process protocol (master_io.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "master_io.h"

/* The status record, as master reads it. */
typedef struct MASTER_STATUS {
    int pid;
    unsigned int gen;
    int avail;
} MASTER_STATUS;

static int flow_read_fd = MASTER_FLOW_READ;
static int flow_write_fd = MASTER_FLOW_WRITE;
static int status_fd = MASTER_STATUS_FD;
static unsigned int generation;

void
master_io_init(void)
{
    const char *gen = getenv("GENERATION");

    generation = gen ? (unsigned int) strtoul(gen, NULL, 8) : 0;
}

void
master_io_set_fds(int flow_read, int flow_write, int status)
{
    flow_read_fd = flow_read;
    flow_write_fd = flow_write;
    status_fd = status;
}

static int
send_status(int avail)
{
    MASTER_STATUS st;

    memset(&st, 0, sizeof(st));
    st.pid = (int) getpid();
    st.gen = generation;
    st.avail = avail;
    return write(status_fd, &st, sizeof(st)) == (ssize_t) sizeof(st) ? 0 : -1;
}

int
master_io_taken(void)
{
    return send_status(0);
}

int
master_io_available(void)
{
    return send_status(1);
}

int
master_io_tokens(void)
{
    int count;

    if (ioctl(flow_read_fd, FIONREAD, &count) < 0)
        return -1;
    return count;
}

int
master_io_put_tokens(int count)
{
    char buf[1024];
    int done = 0;
    ssize_t n;

    memset(buf, 0, sizeof(buf));
    while (done < count) {
        size_t chunk = (size_t) (count - done) < sizeof(buf)
                           ? (size_t) (count - done)
                           : sizeof(buf);

        if ((n = write(flow_write_fd, buf, chunk)) <= 0)
            break;
        done += (int) n;
    }
    return done;
}

int
master_io_get_tokens(int count)
{
    char buf[1024];
    int done = 0;
    ssize_t n;

    while (done < count) {
        size_t chunk = (size_t) (count - done) < sizeof(buf)
                           ? (size_t) (count - done)
                           : sizeof(buf);

        if ((n = read(flow_read_fd, buf, chunk)) <= 0)
            break;
        done += (int) n;
    }
    return done;
}

void
master_io_flow_step(int fed_incoming, int incoming_scan_busy, int limit)
{
    int tokens = master_io_tokens();

    if (tokens < 0)
        return;
    if (tokens < limit) {
        if (fed_incoming)
            master_io_put_tokens(1);
        else if (!incoming_scan_busy)
            master_io_put_tokens(limit - tokens);
    } else if (tokens > limit) {
        master_io_get_tokens(tokens - limit);
    }
}
