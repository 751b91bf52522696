/*
 * resolve_clnt - synchronous trivial-rewrite client (resolve_clnt.h).
 *
 * I/O goes through a SOCKBUF and its blocking helpers (poll with a total
 * time-out per step); every reply is scanned STRICT with bounded limits, so
 * a misbehaving server costs at most a time-out and a warning.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "addr_quote.h"
#include "attr.h"
#include "msg.h"
#include "resolve_clnt.h"
#include "sockbuf.h"
#include "xalloc.h"

/* Bounds on what the server may send us. */
#define RESOLVE_STRING_MAX (64 * 1024)
#define RESOLVE_LIST_MAX   (256 * 1024)

static const ATTR_LIMITS reply_limits = {RESOLVE_STRING_MAX, RESOLVE_LIST_MAX,
                                         ATTR_HASH_MAX};

struct RESOLVE_CLNT {
    RESOLVE_CLNT_OPTS opts;
    char *service;    /* last path component, for log lines */
    SOCKBUF *conn;    /* NULL when closed */
    time_t opened;    /* when conn was made */
    time_t last_used; /* end of the last request on conn */

    /* The one-entry cache. */
    int cached;
    time_t cache_expire;
    STRBUF *cache_class;
    STRBUF *cache_sender;
    STRBUF *cache_addr;
    RESOLVE_REPLY cache_reply;
};

/* One exchange: the encoded request and where the reply goes. */
typedef struct EXCHANGE {
    STRBUF *request;
    const ATTR_SPEC *want;
    int expect_count;
    unsigned *server_flags;
} EXCHANGE;

void
resolve_clnt_opts_default(RESOLVE_CLNT_OPTS *opts)
{
    opts->service_path = "private/rewrite";
    opts->timeout_ms = RESOLVE_CLNT_TIMEOUT_MS;
    opts->idle_limit = RESOLVE_CLNT_IDLE;
    opts->ttl_limit = RESOLVE_CLNT_TTL;
    opts->max_tries = RESOLVE_CLNT_TRIES;
    opts->retry_delay_ms = RESOLVE_CLNT_RETRY_DELAY;
    opts->cache_ttl = RESOLVE_CLNT_CACHE_TTL;
}

void
resolve_reply_init(RESOLVE_REPLY *reply)
{
    reply->transport = strbuf_alloc(20);
    reply->nexthop = strbuf_alloc(100);
    reply->recipient = strbuf_alloc(100);
    reply->flags = 0;
}

void
resolve_reply_free(RESOLVE_REPLY *reply)
{
    strbuf_free(reply->transport);
    strbuf_free(reply->nexthop);
    strbuf_free(reply->recipient);
    reply->transport = reply->nexthop = reply->recipient = NULL;
}

static void
reply_copy(RESOLVE_REPLY *to, const RESOLVE_REPLY *from)
{
    strbuf_setmem(to->transport, strbuf_str(from->transport),
                  strbuf_len(from->transport));
    strbuf_setmem(to->nexthop, strbuf_str(from->nexthop),
                  strbuf_len(from->nexthop));
    strbuf_setmem(to->recipient, strbuf_str(from->recipient),
                  strbuf_len(from->recipient));
    to->flags = from->flags;
}

RESOLVE_CLNT *
resolve_clnt_create(const RESOLVE_CLNT_OPTS *opts)
{
    RESOLVE_CLNT *rc = xcalloc(1, sizeof(*rc));
    RESOLVE_CLNT_OPTS defaults;
    const char *slash;

    if (opts == NULL) {
        resolve_clnt_opts_default(&defaults);
        opts = &defaults;
    }
    rc->opts = *opts;
    if (rc->opts.max_tries < 1)
        rc->opts.max_tries = 1;
    if (rc->opts.retry_delay_ms < 0)
        rc->opts.retry_delay_ms = 0;
    if (rc->opts.timeout_ms <= 0)
        rc->opts.timeout_ms = RESOLVE_CLNT_TIMEOUT_MS;
    if (rc->opts.service_path == NULL)
        rc->opts.service_path = "private/rewrite";
    rc->opts.service_path = xstrdup(rc->opts.service_path);
    slash = strrchr(rc->opts.service_path, '/');
    rc->service = xstrdup(slash ? slash + 1 : rc->opts.service_path);
    rc->cache_class = strbuf_alloc(10);
    rc->cache_sender = strbuf_alloc(100);
    rc->cache_addr = strbuf_alloc(100);
    resolve_reply_init(&rc->cache_reply);
    return rc;
}

static void
disconnect(RESOLVE_CLNT *rc)
{
    sockbuf_free(rc->conn);
    rc->conn = NULL;
}

void
resolve_clnt_free(RESOLVE_CLNT *rc)
{
    if (rc == NULL)
        return;
    disconnect(rc);
    xfree((char *) rc->opts.service_path);
    xfree(rc->service);
    strbuf_free(rc->cache_class);
    strbuf_free(rc->cache_sender);
    strbuf_free(rc->cache_addr);
    resolve_reply_free(&rc->cache_reply);
    xfree(rc);
}

int
resolve_clnt_connected(const RESOLVE_CLNT *rc)
{
    return rc->conn != NULL;
}

static int
expired(const RESOLVE_CLNT *rc, time_t now)
{
    return now - rc->last_used >= rc->opts.idle_limit ||
           now - rc->opened >= rc->opts.ttl_limit;
}

/* peer_has_spoken - the server closed (or sent junk) while we were idle */

static int
peer_has_spoken(const RESOLVE_CLNT *rc)
{
    struct pollfd pfd = {sockbuf_fd(rc->conn), POLLIN, 0};

    return poll(&pfd, 1, 0) != 0 || sockbuf_input_len(rc->conn) > 0;
}

void
resolve_clnt_idle(RESOLVE_CLNT *rc, time_t now)
{
    if (rc->conn && expired(rc, now)) {
        if (msg_verbose)
            msg_info("resolve_clnt: closing idle connection to %s",
                     rc->opts.service_path);
        disconnect(rc);
    }
}

static int
fail(char *why, size_t len, const char *fmt, const char *arg)
{
    snprintf(why, len, fmt, arg);
    return -1;
}

/* open_connection - connect and check the announcement */

static int
open_connection(RESOLVE_CLNT *rc, time_t now, char *why, size_t len)
{
    ATTR_SCAN_RESULT res;
    int fd;

    if ((fd = sockbuf_connect_unix(rc->opts.service_path)) < 0)
        return fail(why, len, "connect: %s", strerror(errno));
    rc->conn = sockbuf_create(fd, RESOLVE_LIST_MAX);
    if (sockbuf_announcement_wait(rc->conn, ATTR_ENC_0, ATTR_PROTO_REWRITE,
                                  &res,
                                  rc->opts.timeout_ms) != ATTR_SCAN_DONE) {
        disconnect(rc);
        return fail(why, len, "bad announcement: %s", res.why);
    }
    rc->opened = rc->last_used = now;
    return 0;
}

/* exchange - one request and its reply on the current connection */

static int
exchange(RESOLVE_CLNT *rc, const EXCHANGE *ex, char *why, size_t len)
{
    ATTR_SCAN_RESULT res;

    strbuf_addmem(sockbuf_out(rc->conn), strbuf_str(ex->request),
                  strbuf_len(ex->request));
    if (sockbuf_write_wait(rc->conn, rc->opts.timeout_ms) < 0)
        return fail(why, len, "write: %s", strerror(errno));
    if (sockbuf_read_wait(rc->conn, ATTR_ENC_0, ATTR_FLAG_STRICT, ex->want,
                          &reply_limits, &res,
                          rc->opts.timeout_ms) != ATTR_SCAN_DONE)
        return fail(why, len, "reading reply: %s",
                    res.status == ATTR_SCAN_EOF ? "connection closed"
                                                : res.why);
    if (res.count != ex->expect_count)
        return fail(why, len, "%s", "malformed reply");
    if (sockbuf_input_len(rc->conn) > 0)
        return fail(why, len, "%s", "unexpected data after the reply");
    return 0;
}

/* attempt - one try: (re)connect if needed, exchange; 0 or -1 */

static int
attempt(RESOLVE_CLNT *rc, const EXCHANGE *ex, time_t now, int *reused,
        char *why, size_t len)
{
    *reused = 0;
    if (rc->conn && (expired(rc, now) || peer_has_spoken(rc)))
        disconnect(rc);
    if (rc->conn)
        *reused = 1;
    else if (open_connection(rc, now, why, len) < 0)
        return -1;
    if (exchange(rc, ex, why, len) < 0) {
        disconnect(rc);
        return -1;
    }
    rc->last_used = now;
    if (*ex->server_flags != 0)
        disconnect(rc); /* the server asks us to reconnect */
    return 0;
}

static void
pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        continue;
}

/*
 * run - up to max_tries tries; check(context) vets a well-formed reply
 * (NULL: fine, else the warning text).
 */
typedef const char *(*CHECK_FN)(void *context, char *buf, size_t len);

static int
run(RESOLVE_CLNT *rc, const EXCHANGE *ex, time_t now, CHECK_FN check,
    void *context)
{
    char why[ATTR_WHY_LEN + 100];
    const char *problem;
    int tries = 0, reused;

    while (tries < rc->opts.max_tries) {
        if (attempt(rc, ex, now, &reused, why, sizeof(why)) == 0) {
            if ((problem = check(context, why, sizeof(why))) == NULL)
                return 0;
            msg_warn("resolve_clnt: %s", problem);
            disconnect(rc);
        } else if (reused) {
            if (msg_verbose)
                msg_info("resolve_clnt: kept connection failed (%s), "
                         "reconnecting",
                         why);
            continue; /* a stale connection does not count as a try */
        } else {
            msg_warn("problem talking to service %s: %s", rc->service, why);
        }
        if (++tries < rc->opts.max_tries)
            pause_ms(rc->opts.retry_delay_ms);
    }
    msg_warn("problem talking to service %s: giving up after %d tr%s",
             rc->service, tries, tries == 1 ? "y" : "ies");
    return -1;
}

void
resolve_clnt_encode_resolve(STRBUF *out, const char *class, const char *sender,
                            const char *addr)
{
    ATTR_LIST *list = attr_list_create();

    attr_list_add_str(list, "request", class);
    attr_list_add_str(list, "sender", sender);
    attr_list_add_str(list, "address", addr);
    attr_print0(out, ATTR_FLAG_NONE, list);
    attr_list_free(list);
}

void
resolve_clnt_encode_rewrite(STRBUF *out, const char *rule,
                            const char *external_addr)
{
    ATTR_LIST *list = attr_list_create();

    attr_list_add_str(list, "request", "rewrite");
    attr_list_add_str(list, "rule", rule);
    attr_list_add_str(list, "address", external_addr);
    attr_print0(out, ATTR_FLAG_NONE, list);
    attr_list_free(list);
}

/* Resolve reply checks (what Postfix retries on). */
typedef struct RESOLVE_CHECK {
    const char *addr;
    const RESOLVE_REPLY *reply;
} RESOLVE_CHECK;

static const char *
check_resolve(void *context, char *buf, size_t len)
{
    RESOLVE_CHECK *rc = context;

    if (strbuf_len(rc->reply->transport) == 0) {
        snprintf(buf, len, "null transport result for: <%s>", rc->addr);
        return buf;
    }
    if (strbuf_len(rc->reply->recipient) == 0 && *rc->addr) {
        snprintf(buf, len, "null recipient result for: <%s>", rc->addr);
        return buf;
    }
    return NULL;
}

static int
cache_hit(const RESOLVE_CLNT *rc, const char *class, const char *sender,
          const char *addr, time_t now)
{
    return rc->cached && *addr && now < rc->cache_expire &&
           strcmp(addr, strbuf_str(rc->cache_addr)) == 0 &&
           strcmp(sender, strbuf_str(rc->cache_sender)) == 0 &&
           strcmp(class, strbuf_str(rc->cache_class)) == 0;
}

static void
cache_store(RESOLVE_CLNT *rc, const char *class, const char *sender,
            const char *addr, const RESOLVE_REPLY *reply, time_t now)
{
    if (rc->opts.cache_ttl <= 0 || *addr == 0)
        return;
    strbuf_setstr(rc->cache_class, class);
    strbuf_setstr(rc->cache_sender, sender);
    strbuf_setstr(rc->cache_addr, addr);
    reply_copy(&rc->cache_reply, reply);
    rc->cache_expire = now + rc->opts.cache_ttl;
    rc->cached = 1;
}

int
resolve_clnt_resolve(RESOLVE_CLNT *rc, const char *class, const char *sender,
                     const char *addr, time_t now, RESOLVE_REPLY *reply)
{
    unsigned server_flags = 0, flags = 0;
    const ATTR_SPEC want[] = {
        ATTR_WANT_INT("flags", &server_flags),
        ATTR_WANT_STR("transport", reply->transport),
        ATTR_WANT_STR("nexthop", reply->nexthop),
        ATTR_WANT_STR("recipient", reply->recipient),
        ATTR_WANT_INT("flags", &flags),
        ATTR_WANT_END,
    };
    EXCHANGE ex = {strbuf_alloc(100), want, 5, &server_flags};
    RESOLVE_CHECK check = {addr, reply};
    int status;

    if (cache_hit(rc, class, sender, addr, now)) {
        reply_copy(reply, &rc->cache_reply);
        strbuf_free(ex.request);
        return 0;
    }
    resolve_clnt_encode_resolve(ex.request, class, sender, addr);
    status = run(rc, &ex, now, check_resolve, &check);
    strbuf_free(ex.request);
    if (status < 0)
        return -1;
    reply->flags = (int) flags;
    if (msg_verbose)
        msg_info("resolve_clnt: %s `%s' -> transp=`%s' host=`%s' rcpt=`%s' "
                 "flags=0x%x",
                 class, addr, strbuf_str(reply->transport),
                 strbuf_str(reply->nexthop), strbuf_str(reply->recipient),
                 reply->flags);
    cache_store(rc, class, sender, addr, reply, now);
    return 0;
}

static const char *
check_nothing(void *context, char *buf, size_t len)
{
    return NULL;
}

int
resolve_clnt_rewrite(RESOLVE_CLNT *rc, const char *rule, const char *addr,
                     time_t now, STRBUF *result)
{
    unsigned server_flags = 0;
    STRBUF *external = strbuf_alloc(100);
    const ATTR_SPEC want[] = {
        ATTR_WANT_INT("flags", &server_flags),
        ATTR_WANT_STR("address", external),
        ATTR_WANT_END,
    };
    EXCHANGE ex = {strbuf_alloc(100), want, 2, &server_flags};
    int status;

    if (*addr == 0) { /* never rewritten; "" would quote as "\"\"" */
        strbuf_reset(result);
        strbuf_free(external);
        strbuf_free(ex.request);
        return 0;
    }
    addr_quote(external, addr);
    resolve_clnt_encode_rewrite(ex.request, rule, strbuf_str(external));
    status = run(rc, &ex, now, check_nothing, NULL);
    if (status == 0)
        addr_unquote(result, strbuf_str(external));
    strbuf_free(external);
    strbuf_free(ex.request);
    return status;
}
