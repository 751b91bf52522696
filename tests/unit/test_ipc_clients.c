/*
 * test_ipc_clients - the queue manager's clients of its peers: trivial-
 * rewrite (resolve_clnt), the delivery agents (deliver_clnt), bounce/defer/
 * trace/flush (bounce_clnt), and the status line (log_status).
 *
 * Suites:
 *   format	log_status_delay() on Postfix's format_tv test vectors, whole
 *		status lines, address quoting
 *   encode	requests re-encoded from the values of the captured vectors in
 *		tests/data/attr (delivery, defer append, resolve, rewrite) and
 *		the bounce flush of spec 5.4, compared byte for byte
 *   live	a throwaway Postfix instance (pf-sandbox create --no-qmgr)
 *		with transport_maps entries for discard.test and error.test;
 *		the test process works in DIR/spool like the daemon: resolve
 *		and rewrite through the real trivial-rewrite, deliveries of a
 *		real queue file through the real discard and error agents, a
 *		bounce flush that produces a non-delivery notice, defer_append
 *		and sent through the real defer/trace services (log files and
 *		status lines), async failures; misbehaving fake peers (a
 *		listening socket in private/ served by a forked child): agents
 *		that close, announce garbage, crash, reply with garbage or too
 *		much, never reply; a rewrite server that goes away or answers
 *		garbage.  The sandbox is destroyed in an unchecked fixture, so
 *		also when a test fails.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "addr_quote.h"
#include "attr.h"
#include "bounce_clnt.h"
#include "deliver_clnt.h"
#include "log_status.h"
#include "qfile.h"
#include "queue_id.h"
#include "record.h"
#include "resolve_clnt.h"
#include "status_log.h"
#include "strbuf.h"
#include "xalloc.h"

/* ---------------------------------------------------------------- helpers */

static const char *
top_dir(void)
{
    const char *top = getenv("PQ_TOP");

    return top ? top : ".";
}

/* read_file - the whole file, or NULL */

static STRBUF *
read_file(const char *path)
{
    STRBUF *sb;
    char buf[4096];
    ssize_t got;
    int fd;

    if ((fd = open(path, O_RDONLY)) < 0)
        return NULL;
    sb = strbuf_alloc(1024);
    while ((got = read(fd, buf, sizeof(buf))) > 0)
        strbuf_addmem(sb, buf, (size_t) got);
    close(fd);
    return sb;
}

static STRBUF *
read_vector(const char *name)
{
    char path[1024];
    STRBUF *sb;

    snprintf(path, sizeof(path), "%s/tests/data/attr/%s.bin", top_dir(), name);
    sb = read_file(path);
    ck_assert_msg(sb != NULL, "cannot read %s", path);
    return sb;
}

static void
assert_same_bytes(const STRBUF *got, const STRBUF *want, const char *what)
{
    size_t i, n = strbuf_len(got) < strbuf_len(want) ? strbuf_len(got)
                                                     : strbuf_len(want);

    for (i = 0; i < n && got->data[i] == want->data[i]; i++)
        continue;
    ck_assert_msg(strbuf_len(got) == strbuf_len(want) && i == n,
                  "%s: %zu bytes encoded, %zu expected, first difference at "
                  "%zu",
                  what, strbuf_len(got), strbuf_len(want), i);
}

static int
count_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *d;
    int n = 0;

    if (dir == NULL)
        return -1;
    while ((d = readdir(dir)) != NULL)
        if (d->d_name[0] != '.')
            n++;
    closedir(dir);
    return n;
}

/* Capturing what msg_*() writes to standard error. */
typedef struct CAPTURE {
    int saved_fd;
    char path[64];
} CAPTURE;

static void
capture_start(CAPTURE *cap)
{
    int fd;

    snprintf(cap->path, sizeof(cap->path), "/tmp/pq-ipc-log.XXXXXX");
    fd = mkstemp(cap->path);
    ck_assert_int_ge(fd, 0);
    fflush(stderr);
    cap->saved_fd = dup(2);
    dup2(fd, 2);
    close(fd);
}

static STRBUF *
capture_end(CAPTURE *cap)
{
    STRBUF *text;

    fflush(stderr);
    dup2(cap->saved_fd, 2);
    close(cap->saved_fd);
    text = read_file(cap->path);
    unlink(cap->path);
    ck_assert_ptr_nonnull(text);
    fputs(strbuf_str(text), stderr); /* still visible in the test output */
    return text;
}

static void
assert_contains(const STRBUF *text, const char *needle)
{
    ck_assert_msg(strstr(strbuf_str(text), needle) != NULL,
                  "log lacks \"%s\":\n%s", needle, strbuf_str(text));
}

/* ---------------------------------------------------------------- format */

typedef struct DELAY_CASE {
    long sec, usec;
    int sig, max;
    const char *want;
} DELAY_CASE;

START_TEST(test_delay_format_tv_vectors)
{
    /* Postfix's format_tv.ref, plus the default 2/2 of the status line. */
    static const DELAY_CASE cases[] = {
        {1110, 0, 2, 6, "1110"},   {111, 0, 2, 6, "111"},
        {11, 100000, 2, 6, "11"},  {1, 110000, 2, 6, "1.1"},
        {0, 111000, 2, 6, "0.11"}, {0, 11100, 2, 6, "0.011"},
        {0, 1110, 2, 6, "0.0011"}, {0, 111, 2, 6, "0.00011"},
        {0, 11, 2, 6, "0.000011"}, {1000, 0, 2, 6, "1000"},
        {10, 0, 2, 6, "10"},       {1, 0, 2, 6, "1"},
        {0, 100000, 2, 6, "0.1"},  {0, 10000, 2, 6, "0.01"},
        {0, 1, 2, 6, "0.000001"},  {996, 0, 2, 6, "996"},
        {99, 600000, 2, 6, "100"}, {9, 960000, 2, 6, "10"},
        {0, 996000, 2, 6, "1"},    {0, 99600, 2, 6, "0.1"},
        {0, 9960, 2, 6, "0.01"},   {0, 996, 2, 6, "0.001"},
        {1, 110000, 1, 6, "1"},    {0, 111000, 1, 6, "0.1"},
        {0, 11100, 1, 6, "0.01"},  {0, 11, 1, 6, "0.00001"},
        {99, 600000, 1, 6, "100"}, {0, 996000, 1, 6, "1"},
        {0, 0, 2, 2, "0"},         {0, 4000, 2, 2, "0"},
        {0, 5000, 2, 2, "0.01"},   {0, 40000, 2, 2, "0.04"},
        {1, 250000, 2, 2, "1.3"},  {9, 940000, 2, 2, "9.9"},
        {41, 300000, 2, 2, "41"},  {459, 0, 2, 2, "459"},
        {0, 123456, 2, 0, "0"},    {0, 600000, 2, 0, "1"},
        {-5, 0, 2, 2, "0"},
    };
    STRBUF *out = strbuf_alloc(20);
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        strbuf_reset(out);
        log_status_delay(out, cases[i].sec, cases[i].usec, cases[i].sig,
                         cases[i].max);
        ck_assert_msg(strcmp(strbuf_str(out), cases[i].want) == 0,
                      "%ld.%06ld %d/%d: got %s, want %s", cases[i].sec,
                      cases[i].usec, cases[i].sig, cases[i].max,
                      strbuf_str(out), cases[i].want);
    }
    strbuf_free(out);
}
END_TEST

static LOG_STATUS_STATS
stats_at(long arrival_sec, long arrival_usec, long active_sec, long active_usec)
{
    LOG_STATUS_STATS st;

    memset(&st, 0, sizeof(st));
    st.incoming_arrival.tv_sec = arrival_sec;
    st.incoming_arrival.tv_usec = arrival_usec;
    st.active_arrival.tv_sec = active_sec;
    st.active_arrival.tv_usec = active_usec;
    return st;
}

START_TEST(test_status_line)
{
    LOG_STATUS_STATS st = stats_at(1000, 0, 1000, 250000);
    struct timeval now = {1003, 500000};
    LOG_STATUS ls = {
        "4D335A7C8AA", "user@example.com",          NULL, "none", &st, "4.3.0",
        "deferred",    "mail transport unavailable"};
    STRBUF *out = strbuf_alloc(100);

    log_status_config(2, 1);
    log_status_format(out, &ls, &now);
    ck_assert_str_eq(strbuf_str(out),
                     "4D335A7C8AA: to=<user@example.com>, relay=none, "
                     "delay=3.5, delays=0.25/3.3/0/0, dsn=4.3.0, "
                     "status=deferred (mail transport unavailable)");

    /* orig_to only when it differs other than in case. */
    ls.orig_rcpt = "USER@Example.COM";
    log_status_format(out, &ls, &now);
    ck_assert_ptr_null(strstr(strbuf_str(out), "orig_to"));
    ls.orig_rcpt = "alias@example.com";
    log_status_format(out, &ls, &now);
    ck_assert_ptr_nonnull(strstr(strbuf_str(out),
                                 "to=<user@example.com>, "
                                 "orig_to=<alias@example.com>, relay=none, "));

    /* External form, empty address, conn_use, an agent's time stamps. */
    ls.recipient = "a b@example.com";
    ls.orig_rcpt = "";
    st.reuse_count = 2;
    st.agent_handoff.tv_sec = 1001;
    st.conn_setup_done.tv_sec = 1002;
    st.conn_setup_done.tv_usec = 500000;
    ls.dsn_status = "2.0.0";
    ls.status = "sent";
    ls.reason = "250 ok";
    ls.relay = "mx[192.0.2.1]:25";
    log_status_format(out, &ls, &now);
    ck_assert_str_eq(strbuf_str(out),
                     "4D335A7C8AA: to=<\"a b\"@example.com>, "
                     "relay=mx[192.0.2.1]:25, conn_use=3, delay=3.5, "
                     "delays=0.25/0.75/1.5/1, dsn=2.0.0, status=sent (250 ok)");
    ls.recipient = "";
    log_status_format(out, &ls, &now);
    ck_assert_ptr_nonnull(strstr(strbuf_str(out), ": to=<>, relay="));

    /* Internal form and resolution 0; a clock that went back. */
    log_status_config(0, 0);
    ls.recipient = "a b@example.com";
    st = stats_at(1000, 0, 1000, 250000);
    log_status_format(out, &ls, &now);
    ck_assert_ptr_nonnull(
        strstr(strbuf_str(out), "to=<a b@example.com>, relay=mx[192.0.2.1]:25, "
                                "delay=4, delays=0/3/0/0, "));
    now.tv_sec = 900;
    log_status_format(out, &ls, &now);
    ck_assert_ptr_nonnull(strstr(strbuf_str(out), "delay=0, delays=0/0/0/0"));
    log_status_config(2, 1);
    strbuf_free(out);
}
END_TEST

START_TEST(test_addr_quote)
{
    static const char *const cases[][2] = {
        {"user@example.com", "user@example.com"},
        {"first.last@example.com", "first.last@example.com"},
        {"a b@example.com", "\"a b\"@example.com"},
        {"a..b@example.com", "\"a..b\"@example.com"},
        {".a@example.com", "\".a\"@example.com"},
        {"a\"q@example.com", "\"a\\\"q\"@example.com"},
        {"x@y@example.com", "\"x@y\"@example.com"},
        {"user", "user"},
        {"", "\"\""},
        {"@example.com", "\"\"@example.com"},
    };
    STRBUF *q = strbuf_alloc(50), *u = strbuf_alloc(50);
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        addr_quote(q, cases[i][0]);
        ck_assert_str_eq(strbuf_str(q), cases[i][1]);
        addr_unquote(u, strbuf_str(q));
        ck_assert_str_eq(strbuf_str(u), cases[i][0]);
    }
    addr_unquote(u, "\"a\\");
    ck_assert_str_eq(strbuf_str(u), "a");
    strbuf_free(q);
    strbuf_free(u);
}
END_TEST

/* ---------------------------------------------------------------- encode */

/* The values of a captured delivery request, scanned from its bytes. */
typedef struct CAPTURED_REQUEST {
    unsigned flags, smtputf8, ret, rcpt_count, notify;
    unsigned long offset, size, rcpt_offset;
    STRBUF *s[16];
    STRBUF *time;
} CAPTURED_REQUEST;

enum {
    S_QNAME,
    S_QID,
    S_NEXTHOP,
    S_ENC,
    S_SENDER,
    S_ENVID,
    S_CNAME,
    S_CADDR,
    S_CPORT,
    S_CPROTO,
    S_CHELO,
    S_SMETHOD,
    S_SUSER,
    S_SSENDER,
    S_IDENT,
    S_CONTEXT,
    S_COUNT
};

static void
scan_captured_request(const STRBUF *hdr, const STRBUF *rcpt,
                      CAPTURED_REQUEST *c, STRBUF *orig, STRBUF *addr,
                      STRBUF *orcpt)
{
    const ATTR_SPEC want[] = {
        ATTR_WANT_INT("flags", &c->flags),
        ATTR_WANT_STR("queue_name", c->s[S_QNAME]),
        ATTR_WANT_STR("queue_id", c->s[S_QID]),
        ATTR_WANT_LONG("offset", &c->offset),
        ATTR_WANT_LONG("size", &c->size),
        ATTR_WANT_STR("nexthop", c->s[S_NEXTHOP]),
        ATTR_WANT_STR("encoding", c->s[S_ENC]),
        ATTR_WANT_INT("smtputf8", &c->smtputf8),
        ATTR_WANT_STR("sender", c->s[S_SENDER]),
        ATTR_WANT_STR("envelope_id", c->s[S_ENVID]),
        ATTR_WANT_INT("ret_flags", &c->ret),
        ATTR_WANT_DATA("time", c->time),
        ATTR_WANT_STR("log_client_name", c->s[S_CNAME]),
        ATTR_WANT_STR("log_client_address", c->s[S_CADDR]),
        ATTR_WANT_STR("log_client_port", c->s[S_CPORT]),
        ATTR_WANT_STR("log_protocol_name", c->s[S_CPROTO]),
        ATTR_WANT_STR("log_helo_name", c->s[S_CHELO]),
        ATTR_WANT_STR("sasl_method", c->s[S_SMETHOD]),
        ATTR_WANT_STR("sasl_username", c->s[S_SUSER]),
        ATTR_WANT_STR("sasl_sender", c->s[S_SSENDER]),
        ATTR_WANT_STR("log_ident", c->s[S_IDENT]),
        ATTR_WANT_STR("rewrite_context", c->s[S_CONTEXT]),
        ATTR_WANT_INT("recipient_count", &c->rcpt_count),
        ATTR_WANT_END,
    };
    const ATTR_SPEC rwant[] = {
        ATTR_WANT_STR("original_recipient", orig),
        ATTR_WANT_STR("recipient", addr),
        ATTR_WANT_LONG("offset", &c->rcpt_offset),
        ATTR_WANT_STR("dsn_orig_rcpt", orcpt),
        ATTR_WANT_INT("notify_flags", &c->notify),
        ATTR_WANT_END,
    };
    ATTR_SCAN_RESULT res;

    ck_assert_int_eq(
        attr_scan0(hdr->data, hdr->len, ATTR_FLAG_STRICT, want, NULL, &res),
        ATTR_SCAN_DONE);
    ck_assert_int_eq(res.count, 23);
    ck_assert_uint_eq(res.used, hdr->len);
    ck_assert_int_eq(
        attr_scan0(rcpt->data, rcpt->len, ATTR_FLAG_STRICT, rwant, NULL, &res),
        ATTR_SCAN_DONE);
    ck_assert_int_eq(res.count, 5);
}

static void
check_delivery_vector(const char *name)
{
    char hname[100], rname[100];
    STRBUF *hdr, *rcpt, *want, *got = strbuf_alloc(600);
    STRBUF *orig = strbuf_alloc(50), *addr = strbuf_alloc(50),
           *orcpt = strbuf_alloc(50);
    CAPTURED_REQUEST c;
    DELIVER_REQUEST req;
    DELIVER_RCPT r;
    struct timeval tv[2];
    int i;

    snprintf(hname, sizeof(hname), "%s.request", name);
    snprintf(rname, sizeof(rname), "%s.recipient", name);
    hdr = read_vector(hname);
    rcpt = read_vector(rname);
    memset(&c, 0, sizeof(c));
    for (i = 0; i < S_COUNT; i++)
        c.s[i] = strbuf_alloc(20);
    c.time = strbuf_alloc(100);
    scan_captured_request(hdr, rcpt, &c, orig, addr, orcpt);
    ck_assert_uint_eq(strbuf_len(c.time), 88);
    memcpy(tv, c.time->data, sizeof(tv));

    memset(&req, 0, sizeof(req));
    req.flags = (int) c.flags;
    req.queue_name = strbuf_str(c.s[S_QNAME]);
    req.queue_id = strbuf_str(c.s[S_QID]);
    req.data_offset = (long) c.offset;
    req.data_size = (long) c.size;
    req.nexthop = strbuf_str(c.s[S_NEXTHOP]);
    req.encoding = strbuf_str(c.s[S_ENC]);
    req.smtputf8 = (int) c.smtputf8;
    req.sender = strbuf_str(c.s[S_SENDER]);
    req.dsn_envid = strbuf_str(c.s[S_ENVID]);
    req.dsn_ret = (int) c.ret;
    req.arrival_sec = tv[0].tv_sec;
    req.arrival_usec = tv[0].tv_usec;
    req.active_sec = tv[1].tv_sec;
    req.active_usec = tv[1].tv_usec;
    req.client_name = strbuf_str(c.s[S_CNAME]);
    req.client_addr = strbuf_str(c.s[S_CADDR]);
    req.client_port = strbuf_str(c.s[S_CPORT]);
    req.client_proto = strbuf_str(c.s[S_CPROTO]);
    req.client_helo = strbuf_str(c.s[S_CHELO]);
    req.sasl_method = strbuf_str(c.s[S_SMETHOD]);
    req.sasl_username = strbuf_str(c.s[S_SUSER]);
    req.sasl_sender = strbuf_str(c.s[S_SSENDER]);
    req.log_ident = strbuf_str(c.s[S_IDENT]);
    req.rewrite_context = strbuf_str(c.s[S_CONTEXT]);
    r.offset = (long) c.rcpt_offset;
    r.dsn_orcpt = strbuf_str(orcpt);
    r.dsn_notify = (int) c.notify;
    r.orig_addr = strbuf_str(orig);
    r.address = strbuf_str(addr);
    req.rcpt = &r;
    req.rcpt_count = (int) c.rcpt_count;

    ck_assert_int_eq(deliver_clnt_encode(got, &req), 0);
    want = strbuf_alloc(600);
    strbuf_addmem(want, hdr->data, hdr->len);
    strbuf_addmem(want, rcpt->data, rcpt->len);
    assert_same_bytes(got, want, name);

    /* NULL strings go out as "" ("local" for the context). */
    req.log_ident = NULL;
    req.sasl_method = NULL;
    req.rewrite_context = NULL;
    strbuf_reset(got);
    ck_assert_int_eq(deliver_clnt_encode(got, &req), 0);
    assert_same_bytes(got, want, name);

    /* Refused: no recipient; out unchanged. */
    req.rcpt_count = 0;
    ck_assert_int_eq(deliver_clnt_encode(got, &req), -1);
    ck_assert_uint_eq(strbuf_len(got), strbuf_len(want));

    for (i = 0; i < S_COUNT; i++)
        strbuf_free(c.s[i]);
    strbuf_free(c.time);
    strbuf_free(orig);
    strbuf_free(addr);
    strbuf_free(orcpt);
    strbuf_free(hdr);
    strbuf_free(rcpt);
    strbuf_free(want);
    strbuf_free(got);
}

START_TEST(test_encode_delivery_requests)
{
    check_delivery_vector("deliver-discard");
    check_delivery_vector("deliver-error");
    check_delivery_vector("deliver-retry");
}
END_TEST

/* Postfix 3.10 renamed attribute 8 and widened its bits. */
START_TEST(test_encode_sendopts)
{
    static const char smtputf8_37[] = "smtputf8\0"
                                      "15\0";
    static const char sendopts_310[] = "sendopts\0"
                                       "63\0";
    DELIVER_RCPT r = {100, "", 0, "", "a@example.net"};
    DELIVER_REQUEST req;
    STRBUF *got = strbuf_alloc(600);

    memset(&req, 0, sizeof(req));
    req.queue_id = "ABCDEF";
    req.smtputf8 = 0xff;
    req.rcpt = &r;
    req.rcpt_count = 1;
    ck_assert_int_eq(deliver_clnt_encode(got, &req), 0);
    ck_assert_ptr_nonnull(
        memmem(got->data, got->len, smtputf8_37, sizeof(smtputf8_37) - 1));
    ck_assert_ptr_null(memmem(got->data, got->len, "sendopts", 8));
    deliver_clnt_sendopts(1);
    strbuf_reset(got);
    ck_assert_int_eq(deliver_clnt_encode(got, &req), 0);
    deliver_clnt_sendopts(0);
    ck_assert_ptr_nonnull(
        memmem(got->data, got->len, sendopts_310, sizeof(sendopts_310) - 1));
    ck_assert_ptr_null(memmem(got->data, got->len, "smtputf8", 8));
    strbuf_free(got);
}
END_TEST

START_TEST(test_encode_defer_append)
{
    /* Values of defer-append.txt. */
    BOUNCE_RCPT rcpt = {"z@retrydom.example", "z@retrydom.example", 403,
                        "rfc822;z@retrydom.example", 0};
    BOUNCE_DSN dsn = {"4.4.1", "", "", "", "", "delayed", "test defer"};
    STRBUF *want = read_vector("defer-append.request");
    STRBUF *got = strbuf_alloc(300);

    bounce_clnt_encode_append(got, 0, "9F3D6A72184", &rcpt, &dsn);
    assert_same_bytes(got, want, "defer-append");
    strbuf_free(want);
    strbuf_free(got);
}
END_TEST

START_TEST(test_encode_bounce_flush)
{
    /* Spec 5.4: the 127 bytes the real queue manager sent. */
    static const char spec[] = "nrequest\0"
                               "1\0"
                               "flags\0"
                               "0\0"
                               "queue_name\0"
                               "active\0"
                               "queue_id\0"
                               "4D335A7C8AA\0"
                               "encoding\0"
                               "\0"
                               "smtputf8\0"
                               "0\0"
                               "sender\0"
                               "s2@example.org\0"
                               "envelope_id\0"
                               "\0"
                               "ret_flags\0"
                               "0\0"
                               "\0";
    BOUNCE_NOTICE n = {0,  "active", "4D335A7C8AA", "", 0, "s2@example.org",
                       "", 0,        NULL};
    STRBUF *want = strbuf_alloc(200), *got = strbuf_alloc(200);

    strbuf_addmem(want, spec, sizeof(spec) - 1);
    ck_assert_uint_eq(strbuf_len(want), 127);
    bounce_clnt_encode_notice(got, BOUNCE_CMD_FLUSH, &n);
    assert_same_bytes(got, want, "bounce flush");

    /* VERP appends verp_delimiters before the terminator. */
    strbuf_reset(got);
    n.verp_delims = "+=";
    bounce_clnt_encode_notice(got, BOUNCE_CMD_VERP, &n);
    ck_assert_uint_eq(strbuf_len(got), 127 + sizeof("verp_delimiters\0+="));
    ck_assert_int_eq(memcmp(got->data + 126, "verp_delimiters\0+=\0\0", 20), 0);
    ck_assert_int_eq(got->data[9], '3');
    strbuf_free(want);
    strbuf_free(got);
}
END_TEST

START_TEST(test_encode_resolve_rewrite)
{
    static const char *const resolves[][4] = {
        {"resolve-local", "resolve", "", "user@mx.example.test"},
        {"resolve-remote", "resolve", "sender@example.org",
         "someone@remote.example"},
        {"resolve-bare", "resolve", "", "user"},
        {"resolve-verify", "verify", "double-bounce@mx.example.test",
         "y@special.example"},
    };
    STRBUF *got = strbuf_alloc(100), *want;
    char name[100];
    size_t i;

    for (i = 0; i < sizeof(resolves) / sizeof(resolves[0]); i++) {
        snprintf(name, sizeof(name), "%s.request", resolves[i][0]);
        want = read_vector(name);
        strbuf_reset(got);
        resolve_clnt_encode_resolve(got, resolves[i][1], resolves[i][2],
                                    resolves[i][3]);
        assert_same_bytes(got, want, name);
        strbuf_free(want);
    }
    want = read_vector("rewrite-local.request");
    strbuf_reset(got);
    resolve_clnt_encode_rewrite(got, REWRITE_LOCAL, "user");
    assert_same_bytes(got, want, "rewrite-local");
    strbuf_free(want);
    strbuf_free(got);
}
END_TEST

/* ---------------------------------------------------------------- sandbox */

static char sandbox_dir[64];
static char spool_dir[128];
static int sandbox_state; /* 0 none, 1 running, -1 no Postfix, -2 failed */

static int
run_sandbox(const char *verb, const char *extra)
{
    char cmd[1024];

    snprintf(cmd, sizeof(cmd), "%s/tests/sandbox/pf-sandbox %s %s %s",
             top_dir(), verb, sandbox_dir, extra);
    return system(cmd);
}

static int
write_transport_map(void)
{
    char path[128];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/etc/transport", sandbox_dir);
    if ((fp = fopen(path, "w")) == NULL)
        return -1;
    fputs("discard.test discard:\nerror.test error:bounce me\n", fp);
    return fclose(fp);
}

static int
wait_for_path(const char *path, int seconds)
{
    int i;

    for (i = 0; i < seconds * 10; i++) {
        if (access(path, F_OK) == 0)
            return 0;
        usleep(100000);
    }
    return -1;
}

static void
live_setup(void)
{
    char path[256];

    if (access("/usr/sbin/postfix", X_OK) != 0 ||
        access("/usr/lib/postfix/sbin/trivial-rewrite", X_OK) != 0) {
        fprintf(stderr, "test_ipc_clients: SKIP live tests: Postfix is not "
                        "installed\n");
        sandbox_state = -1;
        return;
    }
    snprintf(sandbox_dir, sizeof(sandbox_dir), "/tmp/pq-test-ipc.XXXXXX");
    if (mkdtemp(sandbox_dir) == NULL) {
        sandbox_state = -2;
        return;
    }
    snprintf(spool_dir, sizeof(spool_dir), "%s/spool", sandbox_dir);
    sandbox_state = 1;
    if (run_sandbox("create", "--no-qmgr") != 0 || write_transport_map() < 0 ||
        run_sandbox("start", "") != 0) {
        sandbox_state = -2;
        return;
    }
    snprintf(path, sizeof(path), "%s/private/rewrite", spool_dir);
    if (wait_for_path(path, 10) < 0)
        sandbox_state = -2;
}

static void
live_teardown(void)
{
    if (sandbox_state == 1 || sandbox_state == -2)
        if (sandbox_dir[0] && run_sandbox("destroy", "") != 0)
            fprintf(stderr, "test_ipc_clients: could not destroy %s\n",
                    sandbox_dir);
    sandbox_state = 0;
}

/* enter_spool - each live test works in the queue directory */

static int
enter_spool(void)
{
    if (sandbox_state == -1)
        return 0;
    ck_assert_msg(sandbox_state == 1, "the sandbox in %s did not start",
                  sandbox_dir);
    ck_assert_int_eq(chdir(spool_dir), 0);
    return 1;
}

/* ---------------------------------------------------------------- resolve */

static RESOLVE_CLNT *
live_resolver(int tries)
{
    RESOLVE_CLNT_OPTS opts;

    resolve_clnt_opts_default(&opts);
    opts.timeout_ms = 5000;
    opts.max_tries = tries;
    opts.retry_delay_ms = 10;
    return resolve_clnt_create(&opts);
}

static void
expect_resolve(RESOLVE_CLNT *rc, const char *class, const char *sender,
               const char *addr, const char *transport, const char *nexthop,
               const char *recipient, int flags)
{
    RESOLVE_REPLY reply;

    resolve_reply_init(&reply);
    ck_assert_int_eq(
        resolve_clnt_resolve(rc, class, sender, addr, time(NULL), &reply), 0);
    ck_assert_str_eq(strbuf_str(reply.transport), transport);
    if (nexthop)
        ck_assert_str_eq(strbuf_str(reply.nexthop), nexthop);
    ck_assert_str_eq(strbuf_str(reply.recipient), recipient);
    ck_assert_int_eq(reply.flags, flags);
    resolve_reply_free(&reply);
}

START_TEST(test_live_resolve)
{
    RESOLVE_CLNT *rc;
    STRBUF *out;

    if (!enter_spool())
        return;
    rc = live_resolver(2);
    expect_resolve(rc, RESOLVE_REGULAR, "", "user@mx.example.test", "local",
                   "mx.example.test", "user@mx.example.test",
                   RESOLVE_CLASS_LOCAL);
    expect_resolve(rc, RESOLVE_REGULAR, "sender@example.org",
                   "someone@remote.example", "smtp", "remote.example",
                   "someone@remote.example", RESOLVE_CLASS_DEFAULT);
    expect_resolve(rc, RESOLVE_REGULAR, "", "y@error.test", "error",
                   "bounce me", "y@error.test", RESOLVE_CLASS_DEFAULT);
    expect_resolve(rc, RESOLVE_REGULAR, "", "x@discard.test", "discard",
                   "discard.test", "x@discard.test", RESOLVE_CLASS_DEFAULT);
    expect_resolve(rc, RESOLVE_VERIFY, "", "x@discard.test", "discard",
                   "discard.test", "x@discard.test", RESOLVE_CLASS_DEFAULT);
    expect_resolve(rc, RESOLVE_REGULAR, "", "user", "local", "mx.example.test",
                   "user@mx.example.test", RESOLVE_CLASS_LOCAL);
    expect_resolve(rc, RESOLVE_REGULAR, "", "bad@[300.1.2.3]",
                   "CHANNEL NOT UPDATED", NULL, "bad@[300.1.2.3]",
                   RESOLVE_CLASS_DEFAULT | RESOLVE_FLAG_ERROR);
    expect_resolve(rc, RESOLVE_REGULAR, "", "", "local", "mx.example.test",
                   "MAILER-DAEMON@mx.example.test", RESOLVE_CLASS_LOCAL);
    ck_assert(resolve_clnt_connected(rc));

    /* Rewrite: internal form in and out, quoting on the wire. */
    out = strbuf_alloc(50);
    ck_assert_int_eq(
        resolve_clnt_rewrite(rc, REWRITE_LOCAL, "user", time(NULL), out), 0);
    ck_assert_str_eq(strbuf_str(out), "user@mx.example.test");
    ck_assert_int_eq(
        resolve_clnt_rewrite(rc, REWRITE_LOCAL, "a b", time(NULL), out), 0);
    ck_assert_str_eq(strbuf_str(out), "a b@mx.example.test");
    ck_assert_int_eq(
        resolve_clnt_rewrite(rc, REWRITE_REMOTE, "user", time(NULL), out), 0);
    ck_assert_str_eq(strbuf_str(out), "user");
    ck_assert_int_eq(
        resolve_clnt_rewrite(rc, REWRITE_LOCAL, "", time(NULL), out), 0);
    ck_assert_str_eq(strbuf_str(out), "");

    /* Idle closing, and a fresh connection afterwards. */
    resolve_clnt_idle(rc, time(NULL));
    ck_assert(resolve_clnt_connected(rc));
    resolve_clnt_idle(rc, time(NULL) + RESOLVE_CLNT_IDLE);
    ck_assert(!resolve_clnt_connected(rc));
    expect_resolve(rc, RESOLVE_REGULAR, "", "x@discard.test", "discard",
                   "discard.test", "x@discard.test", RESOLVE_CLASS_DEFAULT);
    strbuf_free(out);
    resolve_clnt_free(rc);
}
END_TEST

START_TEST(test_resolve_no_service)
{
    RESOLVE_CLNT_OPTS opts;
    RESOLVE_CLNT *rc;
    RESOLVE_REPLY reply;
    struct timeval t0, t1;
    CAPTURE cap;
    STRBUF *log;

    if (!enter_spool())
        return;
    resolve_clnt_opts_default(&opts);
    opts.service_path = "private/no-such-rewrite";
    opts.max_tries = 3;
    opts.retry_delay_ms = 50;
    rc = resolve_clnt_create(&opts);
    resolve_reply_init(&reply);
    gettimeofday(&t0, NULL);
    capture_start(&cap);
    ck_assert_int_eq(resolve_clnt_resolve(rc, RESOLVE_REGULAR, "", "u@x.test",
                                          time(NULL), &reply),
                     -1);
    log = capture_end(&cap);
    gettimeofday(&t1, NULL);
    /* Three tries, two pauses: bounded, not forever. */
    ck_assert_int_ge(
        (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_usec - t0.tv_usec) / 1000, 100);
    assert_contains(log, "warning: problem talking to service "
                         "no-such-rewrite: connect: No such file or "
                         "directory");
    assert_contains(log, "giving up after 3 tries");
    strbuf_free(log);
    resolve_reply_free(&reply);
    resolve_clnt_free(rc);
}
END_TEST

/* ---------------------------------------------------------------- fakes */

/* listen_at - a listening UNIX socket at path (replacing any old one) */

static int
listen_at(const char *path)
{
    struct sockaddr_un sun;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    ck_assert_int_ge(fd, 0);
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    unlink(path);
    ck_assert_int_eq(bind(fd, (struct sockaddr *) &sun, sizeof(sun)), 0);
    ck_assert_int_eq(listen(fd, 5), 0);
    return fd;
}

static void
write_all(int fd, const void *data, size_t len)
{
    const char *cp = data;
    ssize_t n;

    while (len > 0 && (n = write(fd, cp, len)) > 0) {
        cp += n;
        len -= (size_t) n;
    }
}

/* read_lists - read until count complete lists arrived: 0, or -1 at EOF */

static int
read_lists(int fd, int count, STRBUF *got)
{
    const ATTR_SPEC any[] = {ATTR_WANT_END};
    ATTR_SCAN_RESULT res;
    char buf[4096];
    size_t used;
    ssize_t n;
    int lists;

    for (;;) {
        for (lists = 0, used = 0; lists < count; lists++, used += res.used)
            if (attr_scan0(got->data + used, got->len - used, ATTR_FLAG_NONE,
                           any, NULL, &res) != ATTR_SCAN_DONE)
                break;
        if (lists == count)
            return 0;
        if ((n = read(fd, buf, sizeof(buf))) <= 0)
            return -1;
        strbuf_addmem(got, buf, (size_t) n);
    }
}

/* wait_eof - wait for the peer to close; 0 if it sent nothing more */

static int
wait_eof(int fd)
{
    char buf[100];
    ssize_t n, total = 0;

    while ((n = read(fd, buf, sizeof(buf))) > 0)
        total += n;
    return total == 0 ? 0 : 1;
}

typedef enum FAKE_AGENT {
    AGENT_CLOSE,          /* close at once, no announcement */
    AGENT_BAD_ANNOUNCE,   /* announce another protocol */
    AGENT_NO_ANNOUNCE,    /* say nothing until the client goes */
    AGENT_EXTRA_ANNOUNCE, /* announcement plus junk */
    AGENT_CRASH,          /* read the request, close without reply */
    AGENT_GARBAGE_REPLY,  /* a reply with a non-numeric status */
    AGENT_SHORT_REPLY,    /* a well-formed list without the status */
    AGENT_HUGE_REPLY,     /* a 100 KB reason */
    AGENT_SILENT,         /* read the request, never reply */
    AGENT_HOP_DEFER,      /* a valid reply with hop status, status -1 */
    AGENT_EXPECT_NOTHING, /* the client declines: expect EOF, no bytes */
} FAKE_AGENT;

static const char announce_delivery[] = "protocol\0delivery_request_protocol"
                                        "\0";

static void
fake_agent_reply(int fd, FAKE_AGENT mode)
{
    static const char hop[] = "status\0"
                              "4.4.1\0"
                              "diag_type\0\0"
                              "diag_text\0\0"
                              "mta_type\0\0"
                              "mta_mname\0\0"
                              "action\0\0"
                              "reason\0"
                              "connect to x: refused\0"
                              "status\0"
                              "4294967295\0";
    static const char garbage[] = "status\0\0diag_type\0\0diag_text\0\0"
                                  "mta_type\0\0mta_mname\0\0action\0\0"
                                  "reason\0\0status\0zero\0";
    static const char short_reply[] = "status\0\0diag_type\0\0";
    STRBUF *big;

    switch (mode) {
        case AGENT_GARBAGE_REPLY:
            write_all(fd, garbage, sizeof(garbage));
            break;
        case AGENT_SHORT_REPLY:
            write_all(fd, short_reply, sizeof(short_reply));
            break;
        case AGENT_HOP_DEFER:
            write_all(fd, hop, sizeof(hop));
            break;
        case AGENT_HUGE_REPLY:
            big = strbuf_alloc(110000);
            strbuf_addmem(big, garbage, 59); /* the six empty hop strings */
            strbuf_addmem(big, "reason\0", 7);
            while (strbuf_len(big) < 100000)
                strbuf_addch(big, 'x');
            strbuf_addmem(big,
                          "\0status\0"
                          "0\0",
                          11);
            write_all(fd, big->data, big->len + 1);
            strbuf_free(big);
            break;
        default:
            break;
    }
}

/* fake_agent_serve - the child: one connection, then exit */

static int
fake_agent_serve(int lfd, FAKE_AGENT mode)
{
    STRBUF *got = strbuf_alloc(1000);
    int fd = accept(lfd, NULL, NULL);

    signal(SIGPIPE, SIG_IGN);
    if (fd < 0)
        return 2;
    switch (mode) {
        case AGENT_CLOSE:
            return 0;
        case AGENT_BAD_ANNOUNCE:
            write_all(fd, "protocol\0trivial_rewrite_protocol\0", 35);
            return wait_eof(fd);
        case AGENT_NO_ANNOUNCE:
            return wait_eof(fd);
        case AGENT_EXTRA_ANNOUNCE: /* one write, so that it arrives at once */
            strbuf_addmem(got, announce_delivery, sizeof(announce_delivery));
            strbuf_addstr(got, "junk");
            write_all(fd, got->data, got->len);
            return wait_eof(fd);
        case AGENT_EXPECT_NOTHING:
            write_all(fd, announce_delivery, sizeof(announce_delivery));
            return wait_eof(fd);
        default:
            break;
    }
    write_all(fd, announce_delivery, sizeof(announce_delivery));
    if (read_lists(fd, 2, got) < 0)
        return 3;
    if (mode == AGENT_CRASH)
        return 0;
    if (mode == AGENT_SILENT)
        return wait_eof(fd);
    fake_agent_reply(fd, mode);
    wait_eof(fd);
    return 0;
}

static pid_t
start_fake_agent(const char *path, FAKE_AGENT mode)
{
    int lfd = listen_at(path);
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(fake_agent_serve(lfd, mode));
    close(lfd);
    return pid;
}

static int
child_status(pid_t pid)
{
    int status;

    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

/* One delivery through deliver_clnt, with its result copied. */
typedef struct DELIVERY {
    const DELIVER_REQUEST *req; /* NULL: decline */
    int ready_calls;
    int done_calls;
    DELIVER_OUTCOME outcome;
    unsigned status;
    char hop_status[64];
    char hop_reason[256];
    char why[512];
} DELIVERY;

static const DELIVER_REQUEST *
delivery_ready(DELIVER_CONN *conn, void *context)
{
    DELIVERY *d = context;

    d->ready_calls++;
    return d->req;
}

static void
delivery_done(const DELIVER_RESULT *res, void *context)
{
    DELIVERY *d = context;

    d->done_calls++;
    d->outcome = res->outcome;
    d->status = res->status;
    snprintf(d->hop_status, sizeof(d->hop_status), "%s", res->hop_status);
    snprintf(d->hop_reason, sizeof(d->hop_reason), "%s", res->hop_reason);
    snprintf(d->why, sizeof(d->why), "%s", res->why);
}

static void
run_delivery(const char *transport, const DELIVER_REQUEST *req, int reply_ms,
             DELIVERY *d)
{
    struct event_base *base = event_base_new();
    DELIVER_CLNT_OPTS opts = {NULL, reply_ms, reply_ms, reply_ms};

    memset(d, 0, sizeof(*d));
    d->req = req;
    deliver_clnt_open(base, transport, &opts, delivery_ready, delivery_done, d);
    ck_assert_int_eq(d->done_calls, 0); /* never before returning */
    event_base_dispatch(base);
    event_base_free(base);
    ck_assert_int_eq(d->done_calls, 1);
    ck_assert_int_eq(deliver_clnt_count(), 0);
}

/* A small request for fake agents. */
static const DELIVER_RCPT fake_rcpt = {317, "rfc822;y@example.test", 0,
                                       "y@example.test", "y@example.test"};
static const DELIVER_REQUEST fake_request = {
    .flags = DEL_REQ_FLAG_DEFAULT,
    .queue_name = "active",
    .queue_id = "4D335A7C8AA",
    .data_offset = 421,
    .data_size = 269,
    .nexthop = "example.test",
    .sender = "s@example.org",
    .arrival_sec = 1795342467,
    .arrival_usec = 306144,
    .active_sec = 1795342467,
    .active_usec = 324401,
    .rcpt = &fake_rcpt,
    .rcpt_count = 1,
};

typedef struct AGENT_CASE {
    FAKE_AGENT mode;
    const DELIVER_REQUEST *req;
    DELIVER_OUTCOME outcome;
    int ready_calls;
    const char *why; /* substring of the warning */
} AGENT_CASE;

START_TEST(test_fake_agents)
{
    static const AGENT_CASE cases[] = {
        {AGENT_CLOSE, &fake_request, DELIVER_UNAVAILABLE, 0,
         "private/fake socket: malformed response"},
        {AGENT_BAD_ANNOUNCE, &fake_request, DELIVER_UNAVAILABLE, 0,
         "private/fake socket: malformed response"},
        {AGENT_EXTRA_ANNOUNCE, &fake_request, DELIVER_UNAVAILABLE, 0,
         "unexpected data after the announcement"},
        {AGENT_NO_ANNOUNCE, &fake_request, DELIVER_UNAVAILABLE, 0,
         "timeout connecting to transport: fake"},
        {AGENT_CRASH, &fake_request, DELIVER_CRASH, 1,
         "private/fake socket: malformed response"},
        {AGENT_GARBAGE_REPLY, &fake_request, DELIVER_CRASH, 1,
         "private/fake socket: malformed response"},
        {AGENT_SHORT_REPLY, &fake_request, DELIVER_CRASH, 1,
         "private/fake socket: malformed response"},
        {AGENT_HUGE_REPLY, &fake_request, DELIVER_CRASH, 1,
         "private/fake socket: malformed response (string longer than 65536 "
         "bytes"},
        {AGENT_SILENT, &fake_request, DELIVER_CRASH, 1,
         "4D335A7C8AA: timeout receiving delivery status from transport: "
         "fake"},
        {AGENT_HOP_DEFER, &fake_request, DELIVER_DEFER, 1, ""},
        {AGENT_EXPECT_NOTHING, NULL, DELIVER_DECLINED, 1, ""},
    };
    int fds_before;
    size_t i;
    DELIVERY d;
    pid_t pid;

    if (!enter_spool())
        return;
    fds_before = count_fds();
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pid = start_fake_agent("private/fake", cases[i].mode);
        run_delivery("fake", cases[i].req, 700, &d);
        ck_assert_msg(d.outcome == cases[i].outcome,
                      "case %zu: outcome %s, want %s (%s)", i,
                      deliver_outcome_name(d.outcome),
                      deliver_outcome_name(cases[i].outcome), d.why);
        ck_assert_int_eq(d.ready_calls, cases[i].ready_calls);
        ck_assert_msg(strstr(d.why, cases[i].why) != NULL,
                      "case %zu: why \"%s\" lacks \"%s\"", i, d.why,
                      cases[i].why);
        if (d.outcome == DELIVER_CRASH) {
            ck_assert_str_eq(d.hop_status, "4.3.0");
            ck_assert_str_eq(d.hop_reason, "unknown mail transport error");
        } else if (d.outcome == DELIVER_UNAVAILABLE) {
            ck_assert_str_eq(d.hop_status, "4.3.0");
            ck_assert_str_eq(d.hop_reason, "mail transport unavailable");
        } else if (d.outcome == DELIVER_DEFER) {
            ck_assert_uint_eq(d.status, 4294967295U);
            ck_assert_str_eq(d.hop_status, "4.4.1");
            ck_assert_str_eq(d.hop_reason, "connect to x: refused");
        }
        /* Every fake saw the client close; the declined one got nothing. */
        ck_assert_msg(child_status(pid) == 0, "case %zu: fake agent status", i);
        ck_assert_int_eq(count_fds(), fds_before);
    }
    unlink("private/fake");
}
END_TEST

START_TEST(test_agent_unavailable)
{
    DELIVERY d;
    DELIVER_REQUEST bad = fake_request;

    if (!enter_spool())
        return;
    run_delivery("no-such-agent", &fake_request, 1000, &d);
    ck_assert_int_eq(d.outcome, DELIVER_UNAVAILABLE);
    ck_assert_int_eq(d.ready_calls, 0);
    ck_assert_str_eq(d.why, "connect to transport private/no-such-agent: No "
                            "such file or directory");
    run_delivery("../etc", &fake_request, 1000, &d);
    ck_assert_int_eq(d.outcome, DELIVER_UNAVAILABLE);

    /* A request that cannot be encoded is a write failure. */
    bad.rcpt_count = 0;
    start_fake_agent("private/fake", AGENT_CRASH);
    run_delivery("fake", &bad, 1000, &d);
    ck_assert_int_eq(d.outcome, DELIVER_WRITE_FAILED);
    ck_assert_int_eq(d.ready_calls, 1);
    wait(NULL);
    unlink("private/fake");
}
END_TEST

/* A rewrite server that answers count requests, then goes away. */
static void
fake_rewrite_serve(int lfd, int connections, const STRBUF *reply)
{
    STRBUF *got = strbuf_alloc(200);
    int i, fd;

    signal(SIGPIPE, SIG_IGN);
    for (i = 0; i < connections; i++) {
        if ((fd = accept(lfd, NULL, NULL)) < 0)
            _exit(2);
        write_all(fd, "protocol\0trivial_rewrite_protocol\0", 35);
        strbuf_reset(got);
        if (read_lists(fd, 1, got) == 0)
            write_all(fd, reply->data, reply->len);
        close(fd);
    }
    _exit(0);
}

static pid_t
start_fake_rewrite(const char *path, int connections, const STRBUF *reply)
{
    int lfd = listen_at(path);
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        fake_rewrite_serve(lfd, connections, reply);
    close(lfd);
    return pid;
}

START_TEST(test_resolve_cache_and_fake_servers)
{
    static const char garbage[] = "flags\0"
                                  "0\0"
                                  "transport\0"
                                  "local\0"
                                  "flags\0"
                                  "x";
    static const char no_transport[] = "flags\0"
                                       "0\0"
                                       "transport\0\0"
                                       "nexthop\0"
                                       "x\0"
                                       "recipient\0"
                                       "a@b.test\0"
                                       "flags\0"
                                       "0\0";
    RESOLVE_CLNT_OPTS opts;
    RESOLVE_CLNT *rc;
    RESOLVE_REPLY reply;
    STRBUF *good = read_vector("resolve-local.reply");
    STRBUF *bad = strbuf_alloc(100);
    time_t t = 1000000;
    pid_t pid;

    if (!enter_spool())
        return;
    resolve_clnt_opts_default(&opts);
    opts.service_path = "private/fake-rewrite";
    opts.timeout_ms = 2000;
    opts.max_tries = 2;
    opts.retry_delay_ms = 10;
    rc = resolve_clnt_create(&opts);
    resolve_reply_init(&reply);

    /* One answer (the captured bytes), then the server is gone. */
    pid = start_fake_rewrite(opts.service_path, 1, good);
    ck_assert_int_eq(resolve_clnt_resolve(rc, RESOLVE_REGULAR, "",
                                          "user@mx.example.test", t, &reply),
                     0);
    ck_assert_int_eq(child_status(pid), 0);
    ck_assert_str_eq(strbuf_str(reply.transport), "local");
    ck_assert_int_eq(reply.flags, RESOLVE_CLASS_LOCAL);

    /* The cache answers the same question for 30 s, nothing else. */
    strbuf_reset(reply.transport);
    ck_assert_int_eq(resolve_clnt_resolve(rc, RESOLVE_REGULAR, "",
                                          "user@mx.example.test", t + 29,
                                          &reply),
                     0);
    ck_assert_str_eq(strbuf_str(reply.transport), "local");
    ck_assert_str_eq(strbuf_str(reply.recipient), "user@mx.example.test");
    ck_assert_int_eq(resolve_clnt_resolve(rc, RESOLVE_VERIFY, "",
                                          "user@mx.example.test", t + 29,
                                          &reply),
                     -1);
    ck_assert_int_eq(resolve_clnt_resolve(rc, RESOLVE_REGULAR, "s@x",
                                          "user@mx.example.test", t + 29,
                                          &reply),
                     -1);
    ck_assert_int_eq(resolve_clnt_resolve(rc, RESOLVE_REGULAR, "",
                                          "user@mx.example.test", t + 30,
                                          &reply),
                     -1);

    /* Garbage replies: each try fails, no crash. */
    strbuf_addmem(bad, garbage, sizeof(garbage));
    pid = start_fake_rewrite(opts.service_path, 2, bad);
    ck_assert_int_eq(resolve_clnt_resolve(rc, RESOLVE_REGULAR, "", "a@b.test",
                                          t + 100, &reply),
                     -1);
    ck_assert_int_eq(child_status(pid), 0);
    ck_assert(!resolve_clnt_connected(rc));

    /* An empty transport is a failure too (Postfix retries on it). */
    strbuf_reset(bad);
    strbuf_addmem(bad, no_transport, sizeof(no_transport));
    pid = start_fake_rewrite(opts.service_path, 2, bad);
    ck_assert_int_eq(resolve_clnt_resolve(rc, RESOLVE_REGULAR, "", "a@b.test",
                                          t + 200, &reply),
                     -1);
    ck_assert_int_eq(child_status(pid), 0);

    /* A server with the wrong announcement gets no request. */
    pid = start_fake_agent(opts.service_path, AGENT_EXPECT_NOTHING);
    ck_assert_int_eq(resolve_clnt_resolve(rc, RESOLVE_REGULAR, "", "a@b.test",
                                          t + 300, &reply),
                     -1);
    ck_assert_int_eq(child_status(pid), 0);
    unlink(opts.service_path);
    strbuf_free(good);
    strbuf_free(bad);
    resolve_reply_free(&reply);
    resolve_clnt_free(rc);
}
END_TEST

/* ---------------------------------------------------------------- deliveries
 */

/* submit - queue one message with sendmail; return its queue id */

static int
is_complete_file(const char *queue, const char *name)
{
    char path[512];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", queue, name);
    return name[0] != '.' && stat(path, &st) == 0 && (st.st_mode & 0100);
}

/* list_incoming - the names of complete files in incoming/, one per line */

static STRBUF *
list_incoming(void)
{
    STRBUF *names = strbuf_alloc(100);
    struct dirent *d;
    DIR *dir;

    ck_assert_ptr_nonnull(dir = opendir("incoming"));
    strbuf_addch(names, '\n');
    while ((d = readdir(dir)) != NULL)
        if (is_complete_file("incoming", d->d_name))
            strbuf_addf(names, "%s\n", d->d_name);
    closedir(dir);
    return names;
}

static int
listed(const STRBUF *names, const char *name)
{
    char line[300];

    snprintf(line, sizeof(line), "\n%s\n", name);
    return strstr(strbuf_str(names), line) != NULL;
}

static char *
submit(const char *sender, const char *rcpts)
{
    char cmd[1024];
    STRBUF *before = list_incoming(), *now;
    char *id = NULL, *cp, *end;
    int i;

    snprintf(cmd, sizeof(cmd),
             "printf 'From: %s\\nSubject: ipc clients\\n\\ntest\\n' | "
             "/usr/sbin/sendmail -C %s/etc -f %s %s",
             sender, sandbox_dir, sender, rcpts);
    ck_assert_int_eq(system(cmd), 0);
    for (i = 0; i < 100 && id == NULL; i++) {
        now = list_incoming();
        for (cp = strbuf_str(now) + 1; *cp && id == NULL; cp = end + 1) {
            end = strchr(cp, '\n');
            *end = 0;
            if (!listed(before, cp))
                id = xstrdup(cp);
        }
        strbuf_free(now);
        if (id == NULL)
            usleep(100000);
    }
    strbuf_free(before);
    ck_assert_msg(id != NULL, "the message did not reach incoming/");
    return id;
}

static QFILE_MSG *
read_queue_file(const char *path, const char *id)
{
    int fd = open(path, O_RDONLY);
    REC_STREAM *rs;
    QFILE_MSG *msg;

    ck_assert_int_ge(fd, 0);
    rs = rec_stream_fd(fd, path);
    msg = qfile_msg_alloc(id);
    ck_assert_int_eq(qfile_read(msg, rs, 0), QFILE_OK);
    rec_stream_free(rs);
    close(fd);
    return msg;
}

static int
type_at(const char *path, long offset)
{
    unsigned char ch = 0;
    int fd = open(path, O_RDONLY);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, &ch, 1, offset), 1);
    close(fd);
    return ch;
}

static const QFILE_RCPT *
find_rcpt(const QFILE_MSG *msg, const char *address)
{
    int i;

    for (i = 0; i < msg->rcpt_count; i++)
        if (strcmp(msg->rcpt[i].address, address) == 0)
            return msg->rcpt + i;
    ck_abort_msg("no recipient %s", address);
    return NULL;
}

static void
request_for(DELIVER_REQUEST *req, DELIVER_RCPT *r, const QFILE_MSG *msg,
            const QFILE_RCPT *rcpt, const char *nexthop)
{
    struct timeval now;

    gettimeofday(&now, NULL);
    memset(req, 0, sizeof(*req));
    req->flags = DEL_REQ_FLAG_DEFAULT | msg->tflags;
    req->queue_name = "active";
    req->queue_id = msg->queue_id;
    req->data_offset = msg->data_offset;
    req->data_size = msg->cont_length;
    req->nexthop = nexthop;
    req->encoding = msg->encoding;
    req->smtputf8 = msg->smtputf8;
    req->sender = msg->sender;
    req->dsn_envid = msg->dsn_envid;
    req->dsn_ret = msg->dsn_ret;
    req->arrival_sec = msg->arrival_sec;
    req->arrival_usec = msg->arrival_usec;
    req->active_sec = now.tv_sec;
    req->active_usec = now.tv_usec;
    req->client_name = msg->client_name;
    req->client_addr = msg->client_addr;
    req->client_port = msg->client_port;
    req->client_proto = msg->client_proto;
    req->client_helo = msg->client_helo;
    req->sasl_method = msg->sasl_method;
    req->sasl_username = msg->sasl_username;
    req->sasl_sender = msg->sasl_sender;
    req->log_ident = msg->log_ident;
    req->rewrite_context = msg->rewrite_context;
    r->offset = rcpt->offset;
    r->dsn_orcpt = rcpt->dsn_orcpt;
    r->dsn_notify = rcpt->dsn_notify;
    r->orig_addr = rcpt->orig_rcpt;
    r->address = rcpt->address;
    req->rcpt = r;
    req->rcpt_count = 1;
}

/* Async bounce completion. */
typedef struct NOTICE_DONE {
    int calls;
    int status;
} NOTICE_DONE;

static void
notice_done(int status, void *context)
{
    NOTICE_DONE *nd = context;

    nd->calls++;
    nd->status = status;
}

static int
run_notice(BOUNCE_REQ *(*fn)(struct event_base *, const BOUNCE_NOTICE *,
                             BOUNCE_DONE_FN, void *),
           struct event_base *base, const BOUNCE_NOTICE *n)
{
    NOTICE_DONE nd = {0, 0};

    fn(base, n, notice_done, &nd);
    ck_assert_int_eq(nd.calls, 0);
    event_base_dispatch(base);
    ck_assert_int_eq(nd.calls, 1);
    ck_assert_int_eq(bounce_clnt_pending(), 0);
    return nd.status;
}

/* find_bounce - a new queue file in incoming/ other than skip, with <> */

static int
find_null_sender_message(const char *skip)
{
    DIR *dir;
    struct dirent *d;
    char path[512];
    int i, found = 0;

    for (i = 0; i < 50 && !found; i++) {
        ck_assert_ptr_nonnull(dir = opendir("incoming"));
        while (!found && (d = readdir(dir)) != NULL) {
            snprintf(path, sizeof(path), "incoming/%s", d->d_name);
            if (strcmp(d->d_name, skip) == 0 ||
                !is_complete_file("incoming", d->d_name))
                continue;
            QFILE_MSG *msg = read_queue_file(path, d->d_name);

            found = strcmp(msg->sender, "") == 0;
            qfile_msg_free(msg);
        }
        closedir(dir);
        if (!found)
            usleep(100000);
    }
    return found;
}

START_TEST(test_live_deliveries)
{
    char *id;
    char incoming[256], active[256];
    QFILE_MSG *msg;
    const QFILE_RCPT *x, *y;
    DELIVER_REQUEST req;
    DELIVER_RCPT r;
    DELIVERY d;
    BOUNCE_NOTICE n;
    STATUS_LOG *log;
    struct event_base *base;

    if (!enter_spool())
        return;
    id = submit("sender@example.org", "x@discard.test y@error.test");
    snprintf(incoming, sizeof(incoming), "incoming/%s", id);
    snprintf(active, sizeof(active), "active/%s", id);
    ck_assert_int_eq(rename(incoming, active), 0);
    msg = read_queue_file(active, id);
    ck_assert_int_eq(msg->rcpt_count, 2);
    x = find_rcpt(msg, "x@discard.test");
    y = find_rcpt(msg, "y@error.test");

    /* discard(8): status 0, recipient marked done. */
    request_for(&req, &r, msg, x, "discard.test");
    run_delivery("discard", &req, 20000, &d);
    ck_assert_msg(d.outcome == DELIVER_OK, "discard: %s (%s)",
                  deliver_outcome_name(d.outcome), d.why);
    ck_assert_str_eq(d.hop_status, "");
    ck_assert_int_eq(type_at(active, x->offset), 'D');
    ck_assert_int_eq(type_at(active, y->offset), 'R');

    /* error(8): bounced, which is final (status 0), logged in bounce/. */
    request_for(&req, &r, msg, y, "bounce me");
    run_delivery("error", &req, 20000, &d);
    ck_assert_msg(d.outcome == DELIVER_OK, "error: %s (%s)",
                  deliver_outcome_name(d.outcome), d.why);
    ck_assert_int_eq(type_at(active, y->offset), 'D');
    snprintf(incoming, sizeof(incoming), "bounce/%s", id);
    ck_assert_ptr_nonnull(log = status_log_read(incoming));
    ck_assert_uint_eq(log->count, 1);
    ck_assert_str_eq(log->entries[0].recipient, "y@error.test");
    ck_assert_str_eq(log->entries[0].status, "5.0.0");
    ck_assert_str_eq(log->entries[0].action, "failed");
    ck_assert_str_eq(log->entries[0].reason, "bounce me");
    status_log_free(log);

    /* A bounce flush sends the notice and deletes the log. */
    base = event_base_new();
    memset(&n, 0, sizeof(n));
    n.queue_name = "active";
    n.queue_id = id;
    n.encoding = msg->encoding;
    n.smtputf8 = msg->smtputf8;
    n.sender = msg->sender;
    n.dsn_envid = msg->dsn_envid;
    n.dsn_ret = msg->dsn_ret;
    ck_assert_int_eq(run_notice(bounce_clnt_flush, base, &n), 0);
    ck_assert_int_ne(access(incoming, F_OK), 0);
    ck_assert_msg(find_null_sender_message(id),
                  "no non-delivery notice in incoming/");

    /* A trace flush without a trace log succeeds too (spec 5.7). */
    ck_assert_int_eq(run_notice(bounce_clnt_trace_flush, base, &n), 0);
    event_base_free(base);
    qfile_msg_free(msg);
    xfree(id);
}
END_TEST

START_TEST(test_live_defer_append_and_sent)
{
    char *id;
    char incoming[256], active[256], path[256], hash[16];
    QFILE_MSG *msg;
    const QFILE_RCPT *z;
    LOG_STATUS_STATS st;
    BOUNCE_RCPT rcpt;
    BOUNCE_DSN dsn = {
        "4.3.0", "", "", "", "", "", "mail transport unavailable"};
    BOUNCE_DSN bad = {"5.1.1", "", "", "", "", "", "no such thing"};
    BOUNCE_DSN ok = {"2.0.0",
                     "",
                     "",
                     "",
                     "",
                     "",
                     "undeliverable postmaster notification discarded"};
    STATUS_LOG *log;
    CAPTURE cap;
    STRBUF *text;
    char line[256];

    if (!enter_spool())
        return;
    id = submit("sender@example.org", "z@remote.example");
    snprintf(incoming, sizeof(incoming), "incoming/%s", id);
    snprintf(active, sizeof(active), "active/%s", id);
    ck_assert_int_eq(rename(incoming, active), 0);
    msg = read_queue_file(active, id);
    z = find_rcpt(msg, "z@remote.example");
    memset(&st, 0, sizeof(st));
    st.incoming_arrival.tv_sec = msg->arrival_sec;
    st.incoming_arrival.tv_usec = msg->arrival_usec;
    gettimeofday(&st.active_arrival, NULL);
    rcpt.orig_addr = z->orig_rcpt;
    rcpt.address = z->address;
    rcpt.offset = z->offset;
    rcpt.dsn_orcpt = z->dsn_orcpt;
    rcpt.dsn_notify = z->dsn_notify;

    /* defer_append: a defer log record, the status line, -1. */
    capture_start(&cap);
    ck_assert_int_eq(bounce_clnt_defer_append(0, id, &st, &rcpt, "none", &dsn),
                     -1);
    /* A bad code becomes 4.0.0, with a warning. */
    ck_assert_int_eq(bounce_clnt_defer_append(0, id, &st, &rcpt, "none", &bad),
                     -1);
    text = capture_end(&cap);
    snprintf(line, sizeof(line),
             "%s: to=<z@remote.example>, relay=none, delay=", id);
    assert_contains(text, line);
    assert_contains(text, ", dsn=4.3.0, status=deferred (mail transport "
                          "unavailable)");
    assert_contains(text, "warning: defer_append: ignoring dsn code "
                          "\"5.1.1\"");
    assert_contains(text, ", dsn=4.0.0, status=deferred (no such thing)");
    ck_assert_ptr_null(strstr(strbuf_str(text), "service failure"));
    strbuf_free(text);

    ck_assert_ptr_nonnull(queue_id_hash(hash, sizeof(hash), id, 1));
    snprintf(path, sizeof(path), "defer/%s%s", hash, id);
    ck_assert_ptr_nonnull(log = status_log_read(path));
    ck_assert_uint_eq(log->count, 2);
    ck_assert_str_eq(log->entries[0].recipient, "z@remote.example");
    ck_assert_int_eq(log->entries[0].offset, z->offset);
    ck_assert_str_eq(log->entries[0].status, "4.3.0");
    ck_assert_str_eq(log->entries[0].action, "delayed");
    ck_assert_str_eq(log->entries[0].reason, "mail transport unavailable");
    ck_assert_str_eq(log->entries[1].status, "4.0.0");
    status_log_free(log);
    /* remote.example is no fast-flush domain: DENY, not a failure. */
    ck_assert_int_eq(bounce_clnt_flush_add("remote.example", id),
                     FLUSH_STAT_DENY);

    /* sent: only the status line; with RECORD also a trace record. */
    capture_start(&cap);
    ck_assert_int_eq(bounce_clnt_sent(0, id, &st, &rcpt, "none", &ok), 0);
    ck_assert_int_eq(
        bounce_clnt_sent(DEL_REQ_FLAG_RECORD, id, &st, &rcpt, "none", &ok), 0);
    text = capture_end(&cap);
    assert_contains(text, ", dsn=2.0.0, status=sent (undeliverable postmaster "
                          "notification discarded)");
    strbuf_free(text);
    snprintf(path, sizeof(path), "trace/%s", id);
    ck_assert_ptr_nonnull(log = status_log_read(path));
    ck_assert_uint_eq(log->count, 1);
    ck_assert_str_eq(log->entries[0].action, "delivered");
    ck_assert_str_eq(log->entries[0].status, "2.0.0");
    status_log_free(log);

    qfile_msg_free(msg);
    xfree(id);
}
END_TEST

START_TEST(test_status_services_down)
{
    BOUNCE_CLNT_CONF conf;
    BOUNCE_RCPT rcpt = {"", "u@remote.example", 100, "", 0};
    BOUNCE_DSN dsn = {
        "4.3.0", "", "", "", "", "", "mail transport unavailable"};
    BOUNCE_DSN ok = {"2.0.0", "", "", "", "", "", "discarded"};
    BOUNCE_NOTICE n = {0,  "active", "ABCDEF", "", 0, "s@example.org",
                       "", 0,        NULL};
    struct event_base *base;
    CAPTURE cap;
    STRBUF *text;
    int fds_before;

    if (!enter_spool())
        return;
    fds_before = count_fds();
    bounce_clnt_conf_default(&conf);
    conf.bounce_service = "no-bounce";
    conf.defer_service = "no-defer";
    conf.trace_service = "no-trace";
    conf.flush_service = "no-flush";
    conf.ipc_timeout_ms = 2000;
    conf.async_timeout_ms = 2000;
    bounce_clnt_config(&conf);

    capture_start(&cap);
    ck_assert_int_eq(
        bounce_clnt_defer_append(0, "ABCDEF", NULL, &rcpt, "none", &dsn), -1);
    /* sent with RECORD: trace fails, so it becomes a deferral. */
    ck_assert_int_eq(bounce_clnt_sent(DEL_REQ_FLAG_RECORD, "ABCDEF", NULL,
                                      &rcpt, "none", &ok),
                     -1);
    base = event_base_new();
    ck_assert_int_eq(run_notice(bounce_clnt_flush, base, &n), -1);
    ck_assert_int_eq(run_notice(bounce_clnt_defer_warn, base, &n), -1);
    n.flags = BOUNCE_FLAG_CLEAN;
    ck_assert_int_eq(run_notice(bounce_clnt_trace_flush, base, &n), -1);
    event_base_free(base);
    text = capture_end(&cap);
    assert_contains(text, "warning: connect to private/no-defer: No such file");
    assert_contains(text, "warning: ABCDEF: no-defer service failure");
    assert_contains(text, "status=deferred (mail transport unavailable)");
    assert_contains(text, "warning: ABCDEF: no-flush service failure");
    assert_contains(text, "warning: ABCDEF: no-trace service failure");
    assert_contains(text, "dsn=4.3.0, status=deferred (ABCDEF: no-trace "
                          "service failed)");
    assert_contains(text, "ABCDEF: status=deferred (bounce failed)");
    assert_contains(text, "ABCDEF: status=deferred (delay warning failed)");
    ck_assert_ptr_null(strstr(strbuf_str(text), "(trace failed)"));
    strbuf_free(text);

    /* With an empty $fast_flush_domains nothing is asked. */
    conf.fast_flush_domains = "";
    bounce_clnt_config(&conf);
    capture_start(&cap);
    ck_assert_int_eq(bounce_clnt_flush_add("remote.example", "ABCDEF"),
                     FLUSH_STAT_DENY);
    ck_assert_int_eq(
        bounce_clnt_defer_append(0, "ABCDEF", NULL, &rcpt, "none", &dsn), -1);
    text = capture_end(&cap);
    ck_assert_ptr_null(strstr(strbuf_str(text), "flush"));
    strbuf_free(text);
    ck_assert_int_eq(count_fds(), fds_before);

    bounce_clnt_conf_default(&conf);
    bounce_clnt_config(&conf);
}
END_TEST

/* A bounce server that announces and then never answers. */
START_TEST(test_bounce_silent_server)
{
    BOUNCE_CLNT_CONF conf;
    BOUNCE_NOTICE n = {0,  "active", "ABCDEF", "", 0, "s@example.org",
                       "", 0,        NULL};
    struct event_base *base;
    int lfd;
    pid_t pid;

    if (!enter_spool())
        return;
    bounce_clnt_conf_default(&conf);
    conf.bounce_service = "fake-bounce";
    conf.async_timeout_ms = 500;
    bounce_clnt_config(&conf);
    lfd = listen_at("private/fake-bounce");
    if ((pid = fork()) == 0) {
        int fd = accept(lfd, NULL, NULL);
        STRBUF *got = strbuf_alloc(100);

        write_all(fd, "protocol\0delivery_status_protocol\0", 35);
        _exit(read_lists(fd, 1, got) == 0 ? wait_eof(fd) : 3);
    }
    close(lfd);
    base = event_base_new();
    ck_assert_int_eq(run_notice(bounce_clnt_flush, base, &n), -1);
    event_base_free(base);
    ck_assert_int_eq(child_status(pid), 0);
    unlink("private/fake-bounce");
    bounce_clnt_conf_default(&conf);
    bounce_clnt_config(&conf);
}
END_TEST

static Suite *
ipc_suite(void)
{
    Suite *s = suite_create("ipc_clients");
    TCase *tc;

    tc = tcase_create("format");
    tcase_add_test(tc, test_delay_format_tv_vectors);
    tcase_add_test(tc, test_status_line);
    tcase_add_test(tc, test_addr_quote);
    suite_add_tcase(s, tc);

    tc = tcase_create("encode");
    tcase_add_test(tc, test_encode_delivery_requests);
    tcase_add_test(tc, test_encode_sendopts);
    tcase_add_test(tc, test_encode_defer_append);
    tcase_add_test(tc, test_encode_bounce_flush);
    tcase_add_test(tc, test_encode_resolve_rewrite);
    suite_add_tcase(s, tc);

    tc = tcase_create("live");
    tcase_add_unchecked_fixture(tc, live_setup, live_teardown);
    tcase_add_test(tc, test_live_resolve);
    tcase_add_test(tc, test_resolve_no_service);
    tcase_add_test(tc, test_resolve_cache_and_fake_servers);
    tcase_add_test(tc, test_fake_agents);
    tcase_add_test(tc, test_agent_unavailable);
    tcase_add_test(tc, test_live_deliveries);
    tcase_add_test(tc, test_live_defer_append_and_sent);
    tcase_add_test(tc, test_status_services_down);
    tcase_add_test(tc, test_bounce_silent_server);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(ipc_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
