/*
 * sink - the benchmarks' SMTP sink: accepts every message on any number of
 * loopback addresses (one listening socket each, same port) and counts what
 * it accepted.  Built and run by bench/run; not part of pqmgr.
 *
 * Usage: sink STATUS_FILE PORT ADDR_FILE
 *
 * ADDR_FILE lists the IPv4 loopback addresses to listen on, one a line.
 *
 * Postfix's smtp-sink listens on one address only, and the benchmarks need
 * many next-hops (Postfix's queue managers keep one queue per next-hop), so
 * the "1000 destinations" scenario routes each domain to its own loopback
 * address (127.0.x.y: Linux delivers all of 127/8 locally).
 *
 * Every completed transaction (the final "." of DATA) adds one message and
 * the number of recipients accepted in it.  The counters are written to
 * STATUS_FILE as one line "messages recipients sessions\n" (rewritten in
 * place at most every 10 ms while they change, and on SIGTERM/SIGINT, after
 * which the sink exits).  It speaks just enough ESMTP for Postfix's smtp(8):
 * EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT, with PIPELINING.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IN_SIZE  65536
#define OUT_SIZE 16384
#define GREETING "220 sink.bench.test ESMTP\r\n"

typedef struct CONN {
    int fd;
    int listener; /* 1 for a listening socket */
    int in_data;  /* inside DATA */
    int quitting; /* close once the output is written */
    long rcpts;   /* recipients in the current transaction */
    size_t in_len;
    size_t out_len;
    char in[IN_SIZE];
    char out[OUT_SIZE];
} CONN;

static volatile sig_atomic_t stop;
static long n_messages, n_recipients, n_sessions;

static void
on_signal(int sig)
{
    (void) sig;
    stop = 1;
}

static long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
write_status(int fd)
{
    char buf[96];
    int len = snprintf(buf, sizeof(buf), "%ld %ld %ld\n", n_messages,
                       n_recipients, n_sessions);

    /* No truncation needed: the counters, and so the line, only grow. */
    if (pwrite(fd, buf, (size_t) len, 0) != len)
        perror("sink: write status");
}

static void
reply(CONN *c, const char *text)
{
    size_t len = strlen(text);

    if (c->out_len + len <= OUT_SIZE) {
        memcpy(c->out + c->out_len, text, len);
        c->out_len += len;
    }
}

static void
command(CONN *c, char *line)
{
    if (strncasecmp(line, "EHLO", 4) == 0)
        reply(c, "250-sink.bench.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
                 "250 SIZE 0\r\n");
    else if (strncasecmp(line, "HELO", 4) == 0)
        reply(c, "250 sink.bench.test\r\n");
    else if (strncasecmp(line, "MAIL", 4) == 0) {
        c->rcpts = 0;
        reply(c, "250 2.1.0 Ok\r\n");
    } else if (strncasecmp(line, "RCPT", 4) == 0) {
        c->rcpts++;
        reply(c, "250 2.1.5 Ok\r\n");
    } else if (strncasecmp(line, "DATA", 4) == 0) {
        c->in_data = 1;
        reply(c, "354 End data with <CR><LF>.<CR><LF>\r\n");
    } else if (strncasecmp(line, "RSET", 4) == 0) {
        c->rcpts = 0;
        reply(c, "250 2.0.0 Ok\r\n");
    } else if (strncasecmp(line, "NOOP", 4) == 0)
        reply(c, "250 2.0.0 Ok\r\n");
    else if (strncasecmp(line, "QUIT", 4) == 0) {
        reply(c, "221 2.0.0 Bye\r\n");
        c->quitting = 1;
    } else
        reply(c, "502 5.5.2 Error: command not recognized\r\n");
}

/* Handle every complete line in the input buffer. */
static void
process_input(CONN *c)
{
    size_t start = 0;
    char *nl;

    while (!c->quitting &&
           (nl = memchr(c->in + start, '\n', c->in_len - start)) != NULL) {
        char *line = c->in + start;
        size_t len = (size_t) (nl - line);

        if (len > 0 && line[len - 1] == '\r')
            len--;
        if (c->in_data) {
            if (len == 1 && line[0] == '.') {
                c->in_data = 0;
                n_messages++;
                n_recipients += c->rcpts;
                c->rcpts = 0;
                reply(c, "250 2.0.0 Ok: queued\r\n");
            }
        } else {
            line[len] = '\0';
            command(c, line);
        }
        start = (size_t) (nl - c->in) + 1;
    }
    memmove(c->in, c->in + start, c->in_len - start);
    c->in_len -= start;
    /* A line longer than the buffer: drop it (only message text can be). */
    if (c->in_len == IN_SIZE)
        c->in_len = 0;
}

static void
close_conn(int ep, CONN *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c);
}

/* Write pending output; 0 when done, 1 when some is left, -1 on error. */
static int
flush_output(CONN *c)
{
    size_t done = 0;

    while (done < c->out_len) {
        ssize_t n = write(c->fd, c->out + done, c->out_len - done);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                break;
            return -1;
        }
        done += (size_t) n;
    }
    memmove(c->out, c->out + done, c->out_len - done);
    c->out_len -= done;
    return c->out_len > 0;
}

static void
watch(int ep, CONN *c, unsigned events, int op)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};

    if (epoll_ctl(ep, op, c->fd, &ev) < 0) {
        perror("sink: epoll_ctl");
        exit(1);
    }
}

static void
accept_all(int ep, CONN *l)
{
    for (;;) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        CONN *c;

        if (fd < 0)
            return;
        c = calloc(1, sizeof(*c));
        if (c == NULL) {
            close(fd);
            return;
        }
        c->fd = fd;
        n_sessions++;
        reply(c, GREETING);
        watch(ep, c, EPOLLIN, EPOLL_CTL_ADD);
        if (flush_output(c) < 0)
            close_conn(ep, c);
    }
}

static void
serve(int ep, CONN *c, unsigned events)
{
    int left;

    if (events & EPOLLIN) {
        ssize_t n = read(c->fd, c->in + c->in_len, IN_SIZE - c->in_len);

        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            close_conn(ep, c);
            return;
        }
        if (n > 0) {
            c->in_len += (size_t) n;
            process_input(c);
        }
    }
    left = flush_output(c);
    if (left < 0 || (left == 0 && c->quitting)) {
        close_conn(ep, c);
        return;
    }
    watch(ep, c, left ? EPOLLIN | EPOLLOUT : EPOLLIN, EPOLL_CTL_MOD);
}

static int
listen_on(const char *addr, int port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET,
                              .sin_port = htons((unsigned short) port)};
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0 || inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
        fprintf(stderr, "sink: bad address %s\n", addr);
        exit(1);
    }
    if ((ntohl(sin.sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "sink: %s is not a loopback address\n", addr);
        exit(1);
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *) &sin, sizeof(sin)) < 0 ||
        listen(fd, 1024) < 0) {
        fprintf(stderr, "sink: listen on %s:%d: %s\n", addr, port,
                strerror(errno));
        exit(1);
    }
    return fd;
}

int
main(int argc, char **argv)
{
    struct rlimit rl;
    struct sigaction sa;
    struct epoll_event evs[256];
    long last_messages = -1, last_sessions = -1, last_write = 0;
    char line[64];
    FILE *addrs;
    int status_fd, ep, port, i;

    if (argc != 4) {
        fprintf(stderr, "usage: sink STATUS_FILE PORT ADDR_FILE\n");
        return 2;
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    status_fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (status_fd < 0) {
        perror(argv[1]);
        return 1;
    }
    port = atoi(argv[2]);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if ((addrs = fopen(argv[3], "r")) == NULL) {
        perror(argv[3]);
        return 1;
    }
    while (fgets(line, sizeof(line), addrs) != NULL) {
        CONN *l;

        line[strcspn(line, " \t\r\n")] = '\0';
        if (line[0] == '\0')
            continue;
        if ((l = calloc(1, sizeof(*l))) == NULL)
            return 1;
        l->fd = listen_on(line, port);
        l->listener = 1;
        watch(ep, l, EPOLLIN, EPOLL_CTL_ADD);
    }
    fclose(addrs);
    write_status(status_fd);

    while (!stop) {
        int n = epoll_wait(ep, evs, 256, 10);

        for (i = 0; i < n; i++) {
            CONN *c = evs[i].data.ptr;

            if (c->listener)
                accept_all(ep, c);
            else
                serve(ep, c, evs[i].events);
        }
        if ((n_messages != last_messages || n_sessions != last_sessions) &&
            now_ms() - last_write >= 10) {
            write_status(status_fd);
            last_write = now_ms();
            last_messages = n_messages;
            last_sessions = n_sessions;
        }
    }
    write_status(status_fd);
    return 0;
}
