/*
 * trigger_server - receive triggers on the master endpoint (trigger_server.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "master_io.h"
#include "msg.h"
#include "trigger_server.h"
#include "xalloc.h"

typedef struct TRIGGER_CLIENT {
    int fd;
    struct event *ev;
} TRIGGER_CLIENT;

static struct event *listen_ev;
static struct event *master_ev;
static struct event_base *server_base;
static TRIGGER_SERVICE_FN service_fn;
static void *service_context;
static void (*disconnect_fn)(void);

static void
serve(const char *buf, size_t len)
{
    if (master_io_taken() < 0 && msg_verbose)
        msg_info("cannot send status to master: %m");
    service_fn(buf, len, service_context);
    if (master_io_available() < 0 && errno != EBADF)
        msg_fatal("master status update failed: %m -- exiting");
}

static void
client_read(evutil_socket_t fd, short what, void *arg)
{
    TRIGGER_CLIENT *client = arg;
    char buf[TRIGGER_BUF_SIZE];
    ssize_t len = 0;

    if (what & EV_READ) {
        len = read(fd, buf, sizeof(buf));
        if (len > 0)
            serve(buf, (size_t) len);
        else if (len < 0 && msg_verbose)
            msg_info("trigger read: %m");
    } else if (msg_verbose) {
        msg_info("trigger client sent nothing within %d seconds",
                 TRIGGER_READ_TIMEOUT);
    }
    event_free(client->ev);
    close(client->fd);
    xfree(client);
}

static void
unix_accept(evutil_socket_t fd, short what, void *arg)
{
    struct timeval timeout = {TRIGGER_READ_TIMEOUT, 0};
    TRIGGER_CLIENT *client;
    int client_fd;

    if ((client_fd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) <
        0) {
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
            msg_warn("accept connection: %m");
        return;
    }
    client = xmalloc(sizeof(*client));
    client->fd = client_fd;
    client->ev =
        event_new(server_base, client_fd, EV_READ, client_read, client);
    event_add(client->ev, &timeout);
}

static void
fifo_read(evutil_socket_t fd, short what, void *arg)
{
    char buf[TRIGGER_BUF_SIZE];
    ssize_t len = read(fd, buf, sizeof(buf));

    if (len > 0)
        serve(buf, (size_t) len);
    else if (len < 0 && errno != EAGAIN && errno != EINTR)
        msg_warn("read trigger fifo: %m");
}

int
trigger_server_start(struct event_base *base, int fd, const char *type,
                     TRIGGER_SERVICE_FN service, void *context)
{
    event_callback_fn handler;

    if (strcmp(type, "unix") == 0 || strcmp(type, "pass") == 0)
        handler = unix_accept;
    else if (strcmp(type, "fifo") == 0)
        handler = fifo_read;
    else
        return -1;
    server_base = base;
    service_fn = service;
    service_context = context;
    evutil_make_socket_nonblocking(fd);
    listen_ev = event_new(base, fd, EV_READ | EV_PERSIST, handler, NULL);
    event_add(listen_ev, NULL);
    return 0;
}

void
trigger_server_stop(void)
{
    if (listen_ev)
        event_free(listen_ev);
    listen_ev = NULL;
    if (master_ev)
        event_free(master_ev);
    master_ev = NULL;
}

static void
master_gone(evutil_socket_t fd, short what, void *arg)
{
    if (msg_verbose)
        msg_info("master disconnect -- exiting");
    if (disconnect_fn)
        disconnect_fn();
    exit(0);
}

void
trigger_server_watch_master(struct event_base *base,
                            void (*on_disconnect)(void))
{
    disconnect_fn = on_disconnect;
    master_ev = event_new(base, MASTER_STATUS_FD, EV_READ, master_gone, NULL);
    event_add(master_ev, NULL);
}
