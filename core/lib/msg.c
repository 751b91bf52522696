/*
 * msg - logging with Postfix's message ladder and line format (see msg.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "msg.h"

/*
 * Like Postfix's msg_logger, a blocking send: postlogd's queue holds only
 * net.unix.max_dgram_qlen (often 10) datagrams, and a non-blocking send
 * loses lines in every burst.  The time-out bounds the wait for a postlogd
 * that is stuck.
 */
#define POSTLOG_SEND_TIMEOUT 2

enum msg_level { MSG_INFO, MSG_WARN, MSG_ERROR, MSG_FATAL, MSG_PANIC };

int msg_verbose;

static char msg_tag_buf[256] = "postfix/pqmgr";
static int use_stderr;
static int use_syslog;
static int postlog_fd = -1;
static char postlog_host[256];
static int error_count;
static void (*fatal_hook)(void);

static const char *const level_prefix[] = {
    "", "warning: ", "error: ", "fatal: ", "panic: "};
static const int level_priority[] = {LOG_INFO, LOG_WARNING, LOG_ERR, LOG_CRIT,
                                     LOG_CRIT};

void
msg_init(const char *process_name, const char *syslog_name)
{
    const char *slash = strrchr(process_name, '/');

    if (slash)
        process_name = slash + 1;
    if (syslog_name == NULL || *syslog_name == 0)
        syslog_name = getenv("MAIL_LOGTAG");
    if (syslog_name == NULL || *syslog_name == 0)
        syslog_name = "postfix";
    snprintf(msg_tag_buf, sizeof(msg_tag_buf), "%s/%s", syslog_name,
             process_name);
    if (use_syslog) {
        closelog();
        openlog(msg_tag_buf, LOG_PID | LOG_NDELAY, use_syslog);
    }
}

const char *
msg_tag(void)
{
    return msg_tag_buf;
}

void
msg_to_stderr(int on)
{
    use_stderr = on;
}

void
msg_to_syslog(int facility)
{
    use_syslog = facility;
    openlog(msg_tag_buf, LOG_PID | LOG_NDELAY, facility);
}

int
msg_to_postlog(const char *socket_path, const char *hostname)
{
    struct sockaddr_un sun;
    struct timeval send_timeout = {POSTLOG_SEND_TIMEOUT, 0};
    size_t label_len = strcspn(hostname, ".");
    int fd;

    if (strlen(socket_path) >= sizeof(sun.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    strcpy(sun.sun_path, socket_path);
    if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
        return -1;
    (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout,
                      sizeof(send_timeout));
    if (connect(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0) {
        close(fd);
        return -1;
    }
    if (postlog_fd >= 0)
        close(postlog_fd);
    postlog_fd = fd;
    if (label_len >= sizeof(postlog_host))
        label_len = sizeof(postlog_host) - 1;
    memcpy(postlog_host, hostname, label_len);
    postlog_host[label_len] = 0;
    return 0;
}

void
msg_close(void)
{
    if (postlog_fd >= 0)
        close(postlog_fd);
    postlog_fd = -1;
    if (use_syslog)
        closelog();
    use_syslog = 0;
}

int
msg_syslog_facility(const char *name)
{
    static const struct {
        const char *name;
        int facility;
    } table[] = {
        {"mail", LOG_MAIL},     {"user", LOG_USER},     {"daemon", LOG_DAEMON},
        {"auth", LOG_AUTH},     {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1},
        {"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4},
        {"local5", LOG_LOCAL5}, {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
    };

    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (strcasecmp(name, table[i].name) == 0)
            return table[i].facility;
    return -1;
}

void
msg_set_fatal_hook(void (*hook)(void))
{
    fatal_hook = hook;
}

static void
send_postlog(const char *prefix, const char *text)
{
    char line[MSG_TEXT_LIMIT + 512];
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    int len;

    localtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%b %d %H:%M:%S", &tm);
    len = snprintf(line, sizeof(line), "%s %s %s[%ld]: %s%s", stamp,
                   postlog_host, msg_tag_buf, (long) getpid(), prefix, text);
    if (len > 0)
        (void) send(
            postlog_fd, line,
            (size_t) len < sizeof(line) ? (size_t) len : sizeof(line) - 1, 0);
}

static void
msg_vlog(enum msg_level level, const char *fmt, va_list ap)
{
    char text[MSG_TEXT_LIMIT + 1];
    int saved_errno = errno;

    vsnprintf(text, sizeof(text), fmt, ap);
    for (char *cp = text; *cp; cp++)
        if (*cp == '\n' || *cp == '\r')
            *cp = ' ';
    if (use_syslog)
        syslog(level_priority[level], "%s%s", level_prefix[level], text);
    if (postlog_fd >= 0)
        send_postlog(level_prefix[level], text);
    if (use_stderr || (!use_syslog && postlog_fd < 0))
        fprintf(stderr, "%s: %s%s\n", msg_tag_buf, level_prefix[level], text);
    errno = saved_errno;
}

void
msg_info(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    msg_vlog(MSG_INFO, fmt, ap);
    va_end(ap);
}

void
msg_warn(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    msg_vlog(MSG_WARN, fmt, ap);
    va_end(ap);
}

void
msg_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    msg_vlog(MSG_ERROR, fmt, ap);
    va_end(ap);
    if (++error_count >= MSG_ERROR_LIMIT)
        msg_fatal("too many errors - program terminated");
}

void
msg_fatal(const char *fmt, ...)
{
    static int dying;
    va_list ap;

    va_start(ap, fmt);
    msg_vlog(MSG_FATAL, fmt, ap);
    va_end(ap);
    if (!dying++ && fatal_hook)
        fatal_hook();
    exit(1);
}

void
msg_panic(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    msg_vlog(MSG_PANIC, fmt, ap);
    va_end(ap);
    abort();
}
