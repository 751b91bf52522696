/*
 * e2e_support - sandbox Postfix instances, SMTP sink, injection and log
 * inspection for the end-to-end tests (e2e_support.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "e2e_support.h"
#include "record.h"
#include "strbuf.h"

#define E2E_SANDBOX_SCRIPT "tests/sandbox/pf-sandbox"
#define E2E_SINK_SCRIPT    "tests/tools/smtp-sink.py"
#define E2E_SMTP_TIMEOUT   30

struct E2E_SMTP {
    int fd;
    char buf[4096]; /* unread reply bytes */
    size_t len;
    char last[1024]; /* the last reply line */
};

static const char *const e2e_queues[] = {"incoming", "active",  "deferred",
                                         "hold",     "corrupt", "maildrop"};

double
e2e_now(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (double) tv.tv_sec + (double) tv.tv_usec / 1e6;
}

static void
e2e_sleep(double seconds)
{
    struct timespec ts;

    ts.tv_sec = (time_t) seconds;
    ts.tv_nsec = (long) ((seconds - (double) ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
}

int
e2e_sh(const char *fmt, ...)
{
    STRBUF *cmd = strbuf_alloc(256);
    va_list ap;
    int status;

    va_start(ap, fmt);
    strbuf_vaddf(cmd, fmt, ap);
    va_end(ap);
    fflush(NULL);
    status = system(strbuf_str(cmd));
    strbuf_free(cmd);
    if (status == -1 || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

static int
e2e_write_file(const char *path, const char *text, const char *mode)
{
    FILE *fp = fopen(path, mode);

    if (fp == NULL)
        return -1;
    fputs(text, fp);
    return fclose(fp) == 0 ? 0 : -1;
}

int
e2e_rules(const E2E_BOX *box, const char *text)
{
    char tmp[E2E_PATH_MAX + 8];

    /* Rename into place: the sink never reads half a file. */
    snprintf(tmp, sizeof(tmp), "%s.new", box->rules);
    if (e2e_write_file(tmp, text, "w") < 0)
        return -1;
    return rename(tmp, box->rules);
}

/* A loopback TCP port that was free a moment ago. */
static int
e2e_free_port(void)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int port = -1;

    if (fd < 0)
        return -1;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *) &sin, sizeof(sin)) == 0 &&
        getsockname(fd, (struct sockaddr *) &sin, &len) == 0)
        port = ntohs(sin.sin_port);
    close(fd);
    return port;
}

static int
e2e_tcp_connect(int port)
{
    struct sockaddr_in sin;
    struct timeval tv = {E2E_SMTP_TIMEOUT, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0)
        return -1;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons((unsigned short) port);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *) &sin, sizeof(sin)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int
e2e_wait_port(int port, double seconds)
{
    double end = e2e_now() + seconds;
    int fd;

    do {
        if ((fd = e2e_tcp_connect(port)) >= 0) {
            close(fd);
            return 0;
        }
        e2e_sleep(0.05);
    } while (e2e_now() < end);
    return -1;
}

static const char *
e2e_top(void)
{
    static char top[PATH_MAX];
    const char *env = getenv("PQ_TOP");

    if (top[0] == 0 && realpath(env ? env : ".", top) == NULL)
        snprintf(top, sizeof(top), "%s", env ? env : ".");
    return top;
}

/* The queue-manager program: $E2E_QMGR, or a private copy of ours. */
static int
e2e_qmgr_program(E2E_BOX *box, char *path, size_t len)
{
    const char *env = getenv("E2E_QMGR");
    const char *build = getenv("PQ_BUILD");

    if (env && *env) {
        snprintf(path, len, "%s", env);
        return 0;
    }
    if (build == NULL || *build == 0)
        build = "build";
    snprintf(path, len, "%s/pqmgr", box->base);
    if (e2e_sh("cp '%s%s%s/pqmgr' '%s'", *build == '/' ? "" : e2e_top(),
               *build == '/' ? "" : "/", build, path) != 0) {
        snprintf(box->why, sizeof(box->why), "cannot copy %s/pqmgr", build);
        return -1;
    }
    return 0;
}

const char *e2e_store_kind = "spool";

static int
e2e_sandbox_create(E2E_BOX *box, const E2E_OPTS *opts, const char *qmgr)
{
    STRBUF *cmd = strbuf_alloc(512);
    int status;

    strbuf_addf(cmd, "'%s/%s' create '%s' --qmgr '%s'", e2e_top(),
                E2E_SANDBOX_SCRIPT, box->dir, qmgr);
    if (box->smtpd_port > 0)
        strbuf_addf(cmd, " --smtpd-port %d", box->smtpd_port);
    for (int i = 0; i < E2E_MAX_SETS && opts->sets[i]; i++)
        strbuf_addf(cmd, " --set '%s'", opts->sets[i]);
    if (strcmp(e2e_store_kind, "lmdb") == 0)
        strbuf_addf(cmd, " --set 'pqmgr_queue_store=lmdb:%s/data/pqmgr-index'",
                    box->dir);
    strbuf_addstr(cmd, " >/dev/null");
    status = e2e_sh("%s", strbuf_str(cmd));
    strbuf_free(cmd);
    box->made = 1;
    if (status != 0)
        snprintf(box->why, sizeof(box->why), "pf-sandbox create failed (%d)",
                 status);
    return status == 0 ? 0 : -1;
}

static int
e2e_configure(E2E_BOX *box, const E2E_OPTS *opts)
{
    char path[E2E_PATH_MAX + 64];
    STRBUF *text = strbuf_alloc(256);
    int rc = 0;

    strbuf_addf(text, "sink.test smtp:[127.0.0.1]:%d\n", box->sink_port);
    strbuf_addf(text, "other.test smtp:[127.0.0.1]:%d\n", box->sink_port);
    if (opts->transport)
        strbuf_addstr(text, opts->transport);
    snprintf(path, sizeof(path), "%s/transport", box->etc);
    rc |= e2e_write_file(path, strbuf_str(text), "w");
    strbuf_free(text);
    if (opts->master_cf) {
        snprintf(path, sizeof(path), "%s/master.cf", box->etc);
        rc |= e2e_write_file(path, opts->master_cf, "a");
    }
    if (opts->program_name) {
        snprintf(path, sizeof(path), "%s/libexec/%s", box->dir,
                 opts->program_name);
        rc |= e2e_write_file(path, opts->program_text, "w");
        rc |= chmod(path, 0755);
    }
    rc |= e2e_write_file(box->rules, "", "w");
    rc |= e2e_write_file(box->sinklog, "", "w");
    if (rc != 0)
        snprintf(box->why, sizeof(box->why), "cannot configure %s: %s",
                 box->dir, strerror(errno));
    return rc ? -1 : 0;
}

static int
e2e_start_sink(E2E_BOX *box)
{
    char script[PATH_MAX + 64];
    char port[16];
    char out[E2E_PATH_MAX + 16];
    pid_t pid;
    int fd;

    snprintf(script, sizeof(script), "%s/%s", e2e_top(), E2E_SINK_SCRIPT);
    snprintf(port, sizeof(port), "%d", box->sink_port);
    snprintf(out, sizeof(out), "%s/sink.out", box->base);
    fflush(NULL);
    if ((pid = fork()) < 0) {
        snprintf(box->why, sizeof(box->why), "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        if ((fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644)) >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execlp("python3", "python3", script, "--port", port, "--rules",
               box->rules, "--log", box->sinklog, (char *) NULL);
        _exit(127);
    }
    box->sink_pid = pid;
    if (e2e_wait_port(box->sink_port, 10) < 0) {
        snprintf(box->why, sizeof(box->why),
                 "the SMTP sink did not listen on port %d", box->sink_port);
        return -1;
    }
    return 0;
}

static int
e2e_start_postfix(E2E_BOX *box)
{
    char path[E2E_PATH_MAX + 32];
    int status = e2e_sh("'%s/%s' start '%s' >/dev/null 2>&1", e2e_top(),
                        E2E_SANDBOX_SCRIPT, box->dir);

    if (status != 0) {
        snprintf(box->why, sizeof(box->why), "pf-sandbox start failed (%d)",
                 status);
        return -1;
    }
    if (e2e_wait_qmgr(box, 15, 0) == 0) {
        snprintf(box->why, sizeof(box->why), "no queue manager in %s",
                 box->dir);
        return -1;
    }
    snprintf(path, sizeof(path), "%s/public/qmgr", box->spool);
    for (int i = 0; i < 100 && access(path, F_OK) < 0; i++)
        e2e_sleep(0.1);
    if (box->smtpd_port > 0 && e2e_wait_port(box->smtpd_port, 10) < 0) {
        snprintf(box->why, sizeof(box->why), "smtpd is not listening on %d",
                 box->smtpd_port);
        return -1;
    }
    return 0;
}

int
e2e_box_create(E2E_BOX *box, const E2E_OPTS *opts)
{
    char qmgr[E2E_PATH_MAX + 16];

    memset(box, 0, sizeof(*box));
    if (access("/usr/sbin/postfix", X_OK) < 0 ||
        access("/usr/lib/postfix/sbin/trivial-rewrite", X_OK) < 0) {
        snprintf(box->why, sizeof(box->why), "Postfix is not installed");
        return -1;
    }
    snprintf(box->base, sizeof(box->base), "/tmp/pq-e2e.XXXXXX");
    if (mkdtemp(box->base) == NULL || chmod(box->base, 0755) < 0) {
        snprintf(box->why, sizeof(box->why), "mkdtemp: %s", strerror(errno));
        box->base[0] = 0;
        return -1;
    }
    snprintf(box->dir, sizeof(box->dir), "%.200s/pf", box->base);
    snprintf(box->etc, sizeof(box->etc), "%.200s/etc", box->dir);
    snprintf(box->spool, sizeof(box->spool), "%.200s/spool", box->dir);
    snprintf(box->maillog, sizeof(box->maillog), "%.200s/maillog", box->dir);
    snprintf(box->mailbox, sizeof(box->mailbox), "%.200s/mail/postfix",
             box->dir);
    snprintf(box->rules, sizeof(box->rules), "%.200s/sink.rules", box->base);
    snprintf(box->sinklog, sizeof(box->sinklog), "%.200s/sink.log", box->base);
    box->sink_port = e2e_free_port();
    box->smtpd_port = opts->smtpd ? e2e_free_port() : 0;
    if (box->sink_port < 0 || box->smtpd_port < 0) {
        snprintf(box->why, sizeof(box->why), "no free port");
        return -1;
    }
    if (e2e_qmgr_program(box, qmgr, sizeof(qmgr)) < 0 ||
        e2e_sandbox_create(box, opts, qmgr) < 0 ||
        e2e_configure(box, opts) < 0 || e2e_start_sink(box) < 0 ||
        e2e_start_postfix(box) < 0)
        return -1;
    box->ok = 1;
    return 0;
}

static void
e2e_stop_sink(E2E_BOX *box)
{
    int status;

    if (box->sink_pid <= 0)
        return;
    kill(box->sink_pid, SIGTERM);
    for (int i = 0; i < 40; i++) {
        if (waitpid(box->sink_pid, &status, WNOHANG) != 0) {
            box->sink_pid = 0;
            return;
        }
        e2e_sleep(0.05);
    }
    kill(box->sink_pid, SIGKILL);
    waitpid(box->sink_pid, &status, 0);
    box->sink_pid = 0;
}

void
e2e_box_destroy(E2E_BOX *box)
{
    const char *keep = getenv("E2E_KEEP");

    e2e_stop_sink(box);
    if (box->made)
        (void) e2e_sh("'%s/%s' %s '%s' >/dev/null 2>&1", e2e_top(),
                      E2E_SANDBOX_SCRIPT, keep && *keep ? "stop" : "destroy",
                      box->dir);
    box->made = 0;
    if (keep && *keep && box->base[0])
        fprintf(stderr, "e2e: kept %s\n", box->base);
    else if (strncmp(box->base, "/tmp/pq-e2e.", 12) == 0)
        (void) e2e_sh("rm -rf '%s'", box->base);
    box->base[0] = 0;
    box->ok = 0;
}

/* ---------------------------------------------------------------- inject */

int
e2e_sendmail(const E2E_BOX *box, const char *sender, const char *rcpts,
             const char *tag)
{
    return e2e_sh("printf 'From: %s\\nSubject: e2e %s\\n\\nbody of %s\\n' | "
                  "/usr/sbin/sendmail -C '%s' -f '%s' %s",
                  sender, tag, tag, box->etc, sender, rcpts) == 0
               ? 0
               : -1;
}

static int
e2e_smtp_write(E2E_SMTP *s, const char *text)
{
    size_t len = strlen(text);
    size_t done = 0;
    ssize_t n;

    while (done < len) {
        if ((n = send(s->fd, text + done, len - done, MSG_NOSIGNAL)) <= 0)
            return -1;
        done += (size_t) n;
    }
    return 0;
}

/* Read one reply (all its lines); its code, or -1. */
static int
e2e_smtp_reply(E2E_SMTP *s)
{
    char *nl;
    ssize_t n;

    for (;;) {
        while ((nl = memchr(s->buf, '\n', s->len)) != NULL) {
            size_t line_len = (size_t) (nl - s->buf) + 1;
            size_t copy =
                line_len < sizeof(s->last) ? line_len : sizeof(s->last) - 1;
            int last_line;

            memcpy(s->last, s->buf, copy);
            s->last[copy] = 0;
            s->last[strcspn(s->last, "\r\n")] = 0;
            memmove(s->buf, nl + 1, s->len - line_len);
            s->len -= line_len;
            last_line = strlen(s->last) < 4 || s->last[3] != '-';
            if (last_line)
                return atoi(s->last);
        }
        if (s->len == sizeof(s->buf))
            return -1;
        if ((n = recv(s->fd, s->buf + s->len, sizeof(s->buf) - s->len, 0)) <= 0)
            return -1;
        s->len += (size_t) n;
    }
}

static int
e2e_smtp_cmd(E2E_SMTP *s, const char *text, int want)
{
    if (e2e_smtp_write(s, text) < 0)
        return -1;
    return e2e_smtp_reply(s) / 100 == want ? 0 : -1;
}

E2E_SMTP *
e2e_smtp_open(int port)
{
    E2E_SMTP *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    if ((s->fd = e2e_tcp_connect(port)) < 0) {
        free(s);
        return NULL;
    }
    if (e2e_smtp_reply(s) / 100 != 2 ||
        e2e_smtp_cmd(s, "EHLO client.e2e.test\r\n", 2) < 0) {
        close(s->fd);
        free(s);
        return NULL;
    }
    return s;
}

int
e2e_smtp_send(E2E_SMTP *s, const char *sender, const char *rcpts,
              const char *tag, char *qid, size_t qid_len)
{
    STRBUF *cmd = strbuf_alloc(256);
    char *copy = strdup(rcpts);
    char *save = NULL;
    const char *cp;
    int rc = 0;

    strbuf_addf(cmd, "MAIL FROM:<%s>\r\n", sender);
    rc |= e2e_smtp_cmd(s, strbuf_str(cmd), 2);
    for (char *r = strtok_r(copy, " ", &save); rc == 0 && r;
         r = strtok_r(NULL, " ", &save)) {
        strbuf_reset(cmd);
        strbuf_addf(cmd, "RCPT TO:<%s>\r\n", r);
        rc |= e2e_smtp_cmd(s, strbuf_str(cmd), 2);
    }
    free(copy);
    if (rc == 0)
        rc |= e2e_smtp_cmd(s, "DATA\r\n", 3);
    if (rc == 0) {
        strbuf_reset(cmd);
        strbuf_addf(cmd,
                    "From: <%s>\r\nSubject: e2e %s\r\n\r\nbody of %s\r\n"
                    ".\r\n",
                    sender, tag, tag);
        rc |= e2e_smtp_cmd(s, strbuf_str(cmd), 2);
    }
    strbuf_free(cmd);
    if (rc == 0 && qid) {
        if ((cp = strstr(s->last, "queued as ")) == NULL)
            return -1;
        snprintf(qid, qid_len, "%s", cp + 10);
        qid[strcspn(qid, " \r\n")] = 0;
    }
    return rc ? -1 : 0;
}

void
e2e_smtp_close(E2E_SMTP *s)
{
    if (s == NULL)
        return;
    (void) e2e_smtp_cmd(s, "QUIT\r\n", 2);
    close(s->fd);
    free(s);
}

/* ---------------------------------------------------------------- logs */

static int
e2e_scan(const char *path, const char *ere, char *out, size_t len)
{
    regex_t re;
    regmatch_t match[2];
    FILE *fp;
    char *line = NULL;
    size_t cap = 0;
    int count = 0;

    if (regcomp(&re, ere, REG_EXTENDED) != 0)
        return -1;
    if ((fp = fopen(path, "r")) != NULL) {
        while (getline(&line, &cap, fp) > 0) {
            line[strcspn(line, "\n")] = 0;
            if (regexec(&re, line, 2, match, 0) != 0)
                continue;
            if (out && count == 0 && match[1].rm_so >= 0) {
                size_t n = (size_t) (match[1].rm_eo - match[1].rm_so);

                if (n >= len)
                    n = len - 1;
                memcpy(out, line + match[1].rm_so, n);
                out[n] = 0;
            }
            count++;
            if (out)
                break;
        }
        fclose(fp);
    }
    free(line);
    regfree(&re);
    return count;
}

int
e2e_count(const char *path, const char *ere)
{
    return e2e_scan(path, ere, NULL, 0);
}

int
e2e_wait_count(const char *path, const char *ere, int min, double seconds)
{
    double end = e2e_now() + seconds;
    int count;

    while ((count = e2e_count(path, ere)) < min && e2e_now() < end)
        e2e_sleep(0.05);
    return count;
}

int
e2e_first_match(const char *path, const char *ere, char *out, size_t len)
{
    return e2e_scan(path, ere, out, len) > 0 ? 0 : -1;
}

/* ---------------------------------------------------------------- processes */

static pid_t
e2e_master_pid(const E2E_BOX *box)
{
    char path[E2E_PATH_MAX + 32];
    FILE *fp;
    long pid = 0;

    snprintf(path, sizeof(path), "%s/pid/master.pid", box->spool);
    if ((fp = fopen(path, "r")) == NULL)
        return 0;
    if (fscanf(fp, "%ld", &pid) != 1)
        pid = 0;
    fclose(fp);
    return (pid_t) pid;
}

pid_t
e2e_qmgr_pid(const E2E_BOX *box)
{
    pid_t master = e2e_master_pid(box);
    pid_t found = 0;
    struct dirent *de;
    DIR *dir;

    if (master <= 0 || (dir = opendir("/proc")) == NULL)
        return 0;
    while (found == 0 && (de = readdir(dir)) != NULL) {
        char path[300], stat_line[512], comm[64];
        long ppid;
        char state;
        FILE *fp;

        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
        if ((fp = fopen(path, "r")) == NULL)
            continue;
        if (fgets(stat_line, sizeof(stat_line), fp) &&
            sscanf(stat_line, "%*d (%63[^)]) %c %ld", comm, &state, &ppid) ==
                3 &&
            ppid == master && state != 'Z' && strcmp(comm, "qmgr") == 0)
            found = (pid_t) atol(de->d_name);
        fclose(fp);
    }
    closedir(dir);
    return found;
}

pid_t
e2e_wait_qmgr(const E2E_BOX *box, double seconds, pid_t not_pid)
{
    double end = e2e_now() + seconds;
    pid_t pid;

    do {
        if ((pid = e2e_qmgr_pid(box)) > 0 && pid != not_pid)
            return pid;
        e2e_sleep(0.05);
    } while (e2e_now() < end);
    return 0;
}

/* ---------------------------------------------------------------- queues */

int
e2e_find_queue_file(const E2E_BOX *box, const char *id, const char **queue,
                    char *path, size_t len)
{
    struct stat st;

    for (size_t q = 0; q < sizeof(e2e_queues) / sizeof(e2e_queues[0]); q++) {
        char dir[E2E_PATH_MAX + 32];
        struct dirent *de;
        DIR *dp;

        snprintf(dir, sizeof(dir), "%s/%s", box->spool, e2e_queues[q]);
        snprintf(path, len, "%s/%s", dir, id);
        if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            *queue = e2e_queues[q];
            return 0;
        }
        if ((dp = opendir(dir)) == NULL)
            continue;
        while ((de = readdir(dp)) != NULL) {
            if (strlen(de->d_name) != 1)
                continue;
            snprintf(path, len, "%s/%s/%s", dir, de->d_name, id);
            if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                *queue = e2e_queues[q];
                closedir(dp);
                return 0;
            }
        }
        closedir(dp);
    }
    *queue = NULL;
    return -1;
}

static int
e2e_count_files(const char *dir, int depth)
{
    struct dirent *de;
    struct stat st;
    DIR *dp;
    int count = 0;

    if ((dp = opendir(dir)) == NULL)
        return 0;
    while ((de = readdir(dp)) != NULL) {
        char path[E2E_PATH_MAX * 2];

        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (lstat(path, &st) < 0)
            continue;
        if (S_ISDIR(st.st_mode) && depth > 0)
            count += e2e_count_files(path, depth - 1);
        else if (S_ISREG(st.st_mode))
            count++;
    }
    closedir(dp);
    return count;
}

int
e2e_queue_files(const E2E_BOX *box, const char *queue)
{
    char dir[E2E_PATH_MAX + 32];

    snprintf(dir, sizeof(dir), "%s/%s", box->spool, queue);
    return e2e_count_files(dir, 2);
}

int
e2e_queued_total(const E2E_BOX *box)
{
    return e2e_queue_files(box, "incoming") + e2e_queue_files(box, "active") +
           e2e_queue_files(box, "deferred") + e2e_queue_files(box, "hold") +
           e2e_queue_files(box, "maildrop");
}

time_t
e2e_create_time(const char *path)
{
    STRBUF *buf = strbuf_alloc(100);
    REC_STREAM *rs;
    long arrival = -1, create = -1;
    int fd, type;

    if ((fd = open(path, O_RDONLY)) < 0) {
        strbuf_free(buf);
        return -1;
    }
    rs = rec_stream_fd(fd, path);
    while ((type = rec_get(rs, buf)) >= 0 && type != REC_TYPE_MESG) {
        if (type == REC_TYPE_TIME)
            arrival = atol(strbuf_str(buf));
        else if (type == REC_TYPE_ATTR &&
                 strncmp(strbuf_str(buf), "create_time=", 12) == 0)
            create = atol(strbuf_str(buf) + 12);
    }
    rec_stream_free(rs);
    close(fd);
    strbuf_free(buf);
    return (time_t) (create > 0 ? create : arrival);
}

/* ---------------------------------------------------------------- triggers */

int
e2e_trigger_connect(const E2E_BOX *box)
{
    struct sockaddr_un sun;
    char path[E2E_PATH_MAX + 16];
    int fd;

    snprintf(path, sizeof(path), "%s/public/qmgr", box->spool);
    if (strlen(path) >= sizeof(sun.sun_path) ||
        (fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
        return -1;
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, strlen(path) + 1);
    if (connect(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int
e2e_trigger(const E2E_BOX *box, const void *bytes, size_t len)
{
    int fd = e2e_trigger_connect(box);
    int rc = 0;

    if (fd < 0)
        return -1;
    if (len > 0 && send(fd, bytes, len, MSG_NOSIGNAL) < 0)
        rc = -1;
    close(fd);
    return rc;
}

/* ---------------------------------------------------------------- pflogsumm */

int
e2e_pflogsumm(const E2E_BOX *box, E2E_TOTALS *t)
{
    char cmd[E2E_PATH_MAX + 64];
    char line[512], word[64];
    FILE *fp;
    int n, seen = 0;
    const char *cp;

    memset(t, 0, sizeof(*t));
    snprintf(cmd, sizeof(cmd), "pflogsumm '%s' 2>/dev/null", box->maillog);
    fflush(NULL);
    if ((fp = popen(cmd, "r")) == NULL)
        return -1;
    while (fgets(line, sizeof(line), fp)) {
        if (seen == 5 || sscanf(line, " %d%63s", &n, word) != 2)
            continue;
        if (strcmp(word, "received") == 0)
            t->received = n, seen |= 1;
        else if (strcmp(word, "delivered") == 0)
            t->delivered = n;
        else if (strcmp(word, "deferred") == 0) {
            t->deferred = n;
            if ((cp = strchr(line, '(')) != NULL)
                t->deferrals = atoi(cp + 1);
        } else if (strcmp(word, "bounced") == 0)
            t->bounced = n, seen |= 4;
    }
    return pclose(fp) == 0 && seen == 5 ? 0 : -1;
}
