/*
 * store_conformance - the queue store contract of store.h as one Check
 * suite that runs against any backend (see store_conformance.h).
 *
 * Layout of this file: the per-test store (CTX), messages written the way
 * cleanup(8) writes them, listings, then the tests grouped as store.h
 * groups the calls: opening, scans, claims and checkins, administration,
 * export and import, recovery, crashes at every durable step, leases and
 * accounting.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#include "qfile.h"
#include "queue_id.h"
#include "queue_path.h"
#include "store_conformance.h"
#include "store_fault.h"
#include "strbuf.h"
#include "xalloc.h"

#define NODE_A "node-a.example"
#define NODE_B "node-b.example"

#define MSG_BYTES_MAX    4096 /* our test messages are small */
#define LOG_BYTES_MAX    2048
#define FOUND_RCPT_MAX   8
#define CRASH_POINTS_MAX 100 /* an operation with more is a runaway */

static const STORE_CONFORMANCE_BACKEND *be;
static char base_dir[PATH_MAX - 64];
static pid_t base_owner;
static unsigned serial;

/* The local queue directories every store gets, as postfix check makes. */
static const char *const local_dirs[] = {
    "incoming", "active", "deferred", "hold",  "corrupt", "maildrop",
    "defer",    "bounce", "trace",    "saved", NULL,
};
static const char *const log_kinds[] = {"defer", "bounce", "trace"};

/*
 * Files and directories.
 */

static int
remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void) st;
    (void) ftw;
    if (type == FTW_DP)
        return rmdir(path);
    return unlink(path);
}

void
store_conformance_remove_tree(const char *path)
{
    if (path[0] && access(path, F_OK) == 0)
        (void) nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
remove_base(void)
{
    if (getpid() == base_owner)
        store_conformance_remove_tree(base_dir);
}

/* mkdir every missing directory on the way to the file named by path. */
static int
make_parents(const char *path)
{
    char copy[PATH_MAX];

    snprintf(copy, sizeof(copy), "%s", path);
    for (char *slash = strchr(copy + 1, '/'); slash;
         slash = strchr(slash + 1, '/')) {
        *slash = 0;
        if (mkdir(copy, 0700) < 0 && errno != EEXIST)
            return -1;
        *slash = '/';
    }
    return 0;
}

/* Read a whole file into buf (at most len bytes); its length or -1. */
static long
read_file(const char *path, char *buf, size_t len)
{
    size_t done = 0;
    ssize_t n;
    int fd;

    if ((fd = open(path, O_RDONLY)) < 0)
        return -1;
    while (done < len && (n = read(fd, buf + done, len - done)) > 0)
        done += (size_t) n;
    close(fd);
    return (long) done;
}

static int
write_file(const char *path, const void *data, size_t len, int flags,
           mode_t mode)
{
    int fd;
    int ok;

    if (make_parents(path) < 0 ||
        (fd = open(path, O_WRONLY | O_CREAT | flags, mode)) < 0)
        return -1;
    ok = write(fd, data, len) == (ssize_t) len;
    return close(fd) == 0 && ok ? 0 : -1;
}

/*
 * The store of one test.
 */

typedef struct CTX {
    char dir[PATH_MAX - 32];
    char queue_dir[PATH_MAX];
    STORE_ENV env;
    char spec[STORE_CONFORMANCE_SPEC_MAX];
    STORE *store;
    int made; /* make_store succeeded: destroy_store at the end */
} CTX;

typedef struct CTX_OPTS {
    const char *hash_queues;
    int hash_depth;
    int long_ids;
    int lease_time;
    int dont_remove;
} CTX_OPTS;

static const CTX_OPTS default_opts = {"deferred, defer", 1, 0, 60, 0};

static CTX T; /* the store of the fixture */

static void
ctx_open(CTX *c)
{
    STORE_STATUS status;

    c->store = store_open(c->spec, &c->env, &status);
    ck_assert_msg(c->store != NULL, "store_open(\"%s\"): %s: %s", c->spec,
                  store_status_name(status), store_open_error());
}

static void
ctx_close(CTX *c)
{
    store_close(c->store);
    c->store = NULL;
}

static void
ctx_reopen(CTX *c)
{
    ctx_close(c);
    ctx_open(c);
}

/* A fresh directory with Postfix's queue subdirectories, and its env. */
static void
ctx_prepare(CTX *c, const CTX_OPTS *o, const char *node)
{
    char path[PATH_MAX + 32];

    memset(c, 0, sizeof(*c));
    snprintf(c->dir, sizeof(c->dir), "%s/t%ld.%u", base_dir, (long) getpid(),
             serial++);
    snprintf(c->queue_dir, sizeof(c->queue_dir), "%s/queue", c->dir);
    ck_assert_int_eq(mkdir(c->dir, 0700), 0);
    ck_assert_int_eq(mkdir(c->queue_dir, 0700), 0);
    for (int i = 0; local_dirs[i]; i++) {
        snprintf(path, sizeof(path), "%s/%s", c->queue_dir, local_dirs[i]);
        ck_assert_int_eq(mkdir(path, 0700), 0);
    }
    c->env.queue_dir = c->queue_dir;
    c->env.hash_queues = o->hash_queues;
    c->env.hash_depth = o->hash_depth;
    c->env.long_queue_ids = o->long_ids;
    c->env.node_name = node;
    c->env.lease_time = o->lease_time;
    c->env.timeout = 10;
    c->env.dont_remove = o->dont_remove;
    c->env.config_dir = c->dir;
    c->env.owner_uid = -1;
    c->env.owner_gid = -1;
}

static void
ctx_make(CTX *c, const CTX_OPTS *o)
{
    ctx_prepare(c, o, NODE_A);
    ck_assert_msg(
        be->make_store(be, c->dir, &c->env, c->spec, sizeof(c->spec)) == 0,
        "make_store for %s failed", be->type);
    c->made = 1;
    ctx_open(c);
}

/* Another host's view of the shared store of first. */
static void
ctx_make_peer(CTX *c, const CTX *first)
{
    CTX_OPTS o = default_opts;

    o.hash_queues = first->env.hash_queues;
    o.hash_depth = first->env.hash_depth;
    o.long_ids = first->env.long_queue_ids;
    o.lease_time = first->env.lease_time;
    ctx_prepare(c, &o, NODE_B);
    ck_assert_ptr_nonnull(be->make_peer);
    ck_assert_msg(be->make_peer(be, first->spec, c->dir, &c->env, c->spec,
                                sizeof(c->spec)) == 0,
                  "make_peer for %s failed", be->type);
    ctx_open(c);
}

static void
ctx_free(CTX *c)
{
    ctx_close(c);
    if (c->made && be->destroy_store)
        be->destroy_store(be, c->dir, c->spec);
    c->made = 0;
    store_conformance_remove_tree(c->dir);
}

static void
fixture_setup(void)
{
    ctx_make(&T, &default_opts);
}

static void
fixture_teardown(void)
{
    ctx_free(&T);
}

static int
postfix_layout(void)
{
    return (be->caps & STORE_CAP_POSTFIX) != 0;
}

/* "<queue_dir>/<queue>/<hash>/<id>" with the store's hashing. */
static void
local_path(const CTX *c, const char *queue, const char *id, char *buf,
           size_t len)
{
    STRBUF *rel = strbuf_alloc(64);

    queue_path(rel, c->env.hash_queues, c->env.hash_depth, queue, id);
    snprintf(buf, len, "%s/%s", c->queue_dir, strbuf_str(rel));
    strbuf_free(rel);
}

static int
local_exists(const CTX *c, const char *queue, const char *id)
{
    char path[PATH_MAX + 64];
    struct stat st;

    local_path(c, queue, id, path, sizeof(path));
    return lstat(path, &st) == 0;
}

static time_t
local_mtime(const CTX *c, const char *queue, const char *id)
{
    char path[PATH_MAX + 64];
    struct stat st;

    local_path(c, queue, id, path, sizeof(path));
    return lstat(path, &st) == 0 ? st.st_mtime : (time_t) -1;
}

static void
expect_status(const CTX *c, STORE_STATUS got, STORE_STATUS want,
              const char *what, const char *id)
{
    ck_assert_msg(got == want, "%s %s: got \"%s\" (%s), want \"%s\"", what,
                  id ? id : "", store_status_name(got),
                  got == STORE_OK ? "" : store_error(c->store),
                  store_status_name(want));
}

/*
 * Messages, written as cleanup(8) writes them into local incoming/: a
 * temporary name, O_EXCL, mode 0600; the queue id from the time and the
 * inode; rename; the records; then mode 0700 (plus request bits) when done.
 */

typedef struct MSG {
    char id[STORE_ID_MAX];
    char sender[64];
    long arrival;
    char bytes[MSG_BYTES_MAX];
    size_t len;
} MSG;

static const char *const one_rcpt[] = {"a@example.net", NULL};

static void
make_bytes(MSG *m, const char *const *rcpts, long sec, long usec)
{
    QFILE_OUT_RCPT r[FOUND_RCPT_MAX];
    QFILE_ENVELOPE e;
    STRBUF *out = strbuf_alloc(1024);
    static const char body[] = "Subject: store conformance\n"
                               "\n"
                               "a line of text\n"
                               "another line\n";
    size_t n;

    for (n = 0; rcpts[n] && n < FOUND_RCPT_MAX; n++) {
        memset(&r[n], 0, sizeof(r[n]));
        r[n].address = rcpts[n];
        r[n].orig_rcpt = rcpts[n];
    }
    snprintf(m->sender, sizeof(m->sender), "s%ld.%u@example.org",
             (long) getpid(), serial++);
    memset(&e, 0, sizeof(e));
    e.arrival_sec = sec;
    e.arrival_usec = usec;
    e.sender = m->sender;
    e.rcpts = r;
    e.rcpt_count = n;
    e.content = body;
    e.content_len = sizeof(body) - 1;
    qfile_make(&e, out);
    ck_assert_uint_le(strbuf_len(out), sizeof(m->bytes));
    memcpy(m->bytes, strbuf_str(out), strbuf_len(out));
    m->len = strbuf_len(out);
    m->arrival = sec;
    strbuf_free(out);
}

/* Write a message file into local incoming/; mode 0600 unless ready. */
static void
make_file(CTX *c, MSG *m, const char *const *rcpts, mode_t extra, int ready)
{
    char temp[PATH_MAX + 64];
    char final[PATH_MAX + 64];
    struct timeval tv;
    struct stat st;
    int fd;

    memset(m, 0, sizeof(*m));
    gettimeofday(&tv, NULL);
    make_bytes(m, rcpts, (long) tv.tv_sec, (long) tv.tv_usec);
    snprintf(temp, sizeof(temp), "%s/incoming/%ld.%ld", c->queue_dir,
             (long) tv.tv_usec, (long) getpid());
    fd = open(temp, O_CREAT | O_EXCL | O_RDWR, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fstat(fd, &st), 0);
    if (c->env.long_queue_ids)
        queue_id_long(m->id, sizeof(m->id), (long) tv.tv_sec, (long) tv.tv_usec,
                      (unsigned long) st.st_ino);
    else
        queue_id_short(m->id, sizeof(m->id), (long) tv.tv_usec,
                       (unsigned long) st.st_ino);
    local_path(c, "incoming", m->id, final, sizeof(final));
    ck_assert_int_eq(make_parents(final), 0);
    ck_assert_int_eq(rename(temp, final), 0);
    ck_assert_int_eq(write(fd, m->bytes, m->len), (ssize_t) m->len);
    if (ready)
        ck_assert_int_eq(fchmod(fd, 0700 | extra), 0);
    ck_assert_int_eq(close(fd), 0);
}

static void
ingest(CTX *c)
{
    int count;

    expect_status(c, store_ingest(c->store, 1000, &count), STORE_OK, "ingest",
                  NULL);
}

/* A new message that the store has taken over from local incoming/. */
static void
new_msg(CTX *c, MSG *m, const char *const *rcpts, mode_t extra)
{
    make_file(c, m, rcpts ? rcpts : one_rcpt, extra, 1);
    ingest(c);
}

/* Walk queue with STORE_SCAN_ALL until id comes by; 1 when found. */
static int
find_cand(CTX *c, int queue, const char *id, STORE_CAND *out)
{
    STORE_SCAN *scan = store_scan_open(c->store, queue, STORE_SCAN_ALL);
    STORE_CAND cand[16];
    int count;
    int found = 0;

    if (scan == NULL)
        return 0;
    while (!found && store_scan_next(scan, cand, 16, &count) == STORE_OK &&
           count > 0)
        for (int i = 0; i < count && !found; i++)
            if (strcmp(cand[i].id, id) == 0) {
                *out = cand[i];
                found = 1;
            }
    store_scan_close(scan);
    return found;
}

static STORE_CLAIM *
claim_msg(CTX *c, int queue, const char *id)
{
    STORE_CLAIM *claim;
    STORE_CAND cand;

    ck_assert_msg(find_cand(c, queue, id, &cand), "%s not found in %s", id,
                  store_queue_name(queue));
    expect_status(c, store_claim(c->store, &cand, &claim), STORE_OK, "claim",
                  id);
    ck_assert_ptr_nonnull(claim);
    return claim;
}

/* Check in with action; frees the claim; returns the status. */
static STORE_STATUS
checkin(CTX *c, STORE_CLAIM *claim, STORE_ACTION action, time_t next)
{
    STORE_OUTCOME outcome;
    STORE_STATUS status;

    memset(&outcome, 0, sizeof(outcome));
    outcome.action = action;
    outcome.next_attempt = next;
    status = store_checkin(c->store, claim, &outcome);
    store_claim_free(claim);
    return status;
}

/* Move a message from queue by an activation with the given outcome. */
static void
move_msg(CTX *c, const char *id, int from, STORE_ACTION action, time_t next)
{
    STORE_CLAIM *claim = claim_msg(c, from, id);

    expect_status(c, checkin(c, claim, action, next), STORE_OK, "checkin", id);
}

/*
 * Status logs as bounce(8) writes them (postfix-ipc.md 5.7): appended to
 * local defer/, bounce/ or trace/ while the message is active.
 */

static void
log_entry(STRBUF *out, const char *ext_address, const char *status,
          const char *action, const char *reason)
{
    strbuf_addf(out, "\n<%s>: %s\n", ext_address, reason);
    strbuf_addf(out, "recipient=%s\n", ext_address);
    strbuf_addf(out, "offset=%d\n", 400);
    strbuf_addf(out, "dsn_orig_rcpt=rfc822;%s\n", ext_address);
    strbuf_addf(out, "notify_flags=%d\n", 0);
    strbuf_addf(out, "status=%s\n", status);
    strbuf_addf(out, "action=%s\n", action);
    strbuf_addf(out, "reason=%s\n\n", reason);
}

static void
append_log(CTX *c, const char *kind, const char *id, const STRBUF *text)
{
    char path[PATH_MAX + 64];

    local_path(c, kind, id, path, sizeof(path));
    ck_assert_int_eq(
        write_file(path, strbuf_str(text), strbuf_len(text), O_APPEND, 0600),
        0);
}

/* One entry in each of the three logs of an active message. */
static void
write_all_logs(CTX *c, const char *id)
{
    STRBUF *text = strbuf_alloc(256);

    for (int i = 0; i < 3; i++) {
        strbuf_reset(text);
        log_entry(text, "a@example.net", i == 1 ? "5.1.1" : "4.4.1",
                  i == 1 ? "failed" : "delayed", log_kinds[i]);
        append_log(c, log_kinds[i], id, text);
    }
    strbuf_free(text);
}

/*
 * Listings.
 */

typedef struct FOUND {
    char id[STORE_ID_MAX];
    int queue;
    int flags;
    time_t arrival;
    time_t next_attempt;
    long size;
    char sender[128];
    size_t rcpt_count;
    char rcpt[FOUND_RCPT_MAX][128];
    char reason[FOUND_RCPT_MAX][256];
    int has_reason[FOUND_RCPT_MAX];
} FOUND;

typedef struct LISTING {
    FOUND *items;
    int count;
    int alloc;
    int stop_after; /* callback returns non-zero after this many; 0 never */
} LISTING;

static int
collect(const STORE_MSG_INFO *info, void *context)
{
    LISTING *l = context;
    FOUND *f;

    if (l->count == l->alloc) {
        l->alloc = l->alloc ? 2 * l->alloc : 16;
        l->items = xrealloc(l->items, (size_t) l->alloc * sizeof(*l->items));
    }
    f = &l->items[l->count++];
    memset(f, 0, sizeof(*f));
    snprintf(f->id, sizeof(f->id), "%s", info->id);
    f->queue = info->queue;
    f->flags = info->flags;
    f->arrival = info->arrival;
    f->next_attempt = info->next_attempt;
    f->size = info->size;
    snprintf(f->sender, sizeof(f->sender), "%s",
             info->sender ? info->sender : "(null)");
    f->rcpt_count = info->rcpt_count;
    for (size_t i = 0; i < info->rcpt_count && i < FOUND_RCPT_MAX; i++) {
        snprintf(f->rcpt[i], sizeof(f->rcpt[i]), "%s", info->rcpts[i].address);
        if (info->rcpts[i].reason) {
            snprintf(f->reason[i], sizeof(f->reason[i]), "%s",
                     info->rcpts[i].reason);
            f->has_reason[i] = 1;
        }
    }
    return l->stop_after > 0 && l->count >= l->stop_after;
}

static void
listing_take(CTX *c, int queues, LISTING *l)
{
    memset(l, 0, sizeof(*l));
    expect_status(c, store_list(c->store, queues, collect, l), STORE_OK, "list",
                  NULL);
}

static void
listing_free(LISTING *l)
{
    xfree(l->items);
    memset(l, 0, sizeof(*l));
}

static const FOUND *
listing_find(const LISTING *l, const char *id)
{
    for (int i = 0; i < l->count; i++)
        if (strcmp(l->items[i].id, id) == 0)
            return &l->items[i];
    return NULL;
}

static int
listing_count_id(const LISTING *l, const char *id)
{
    int n = 0;

    for (int i = 0; i < l->count; i++)
        n += strcmp(l->items[i].id, id) == 0;
    return n;
}

static int
listing_count_sender(const LISTING *l, const char *sender)
{
    int n = 0;

    for (int i = 0; i < l->count; i++)
        n += strcmp(l->items[i].sender, sender) == 0;
    return n;
}

/* The queue that holds id (listed exactly once), or 0 when none does. */
static int
where(CTX *c, const char *id)
{
    LISTING l;
    const FOUND *f;
    int n;
    int queue;

    listing_take(c, STORE_Q_ALL, &l);
    n = listing_count_id(&l, id);
    f = listing_find(&l, id);
    queue = f ? f->queue : 0;
    listing_free(&l);
    ck_assert_msg(n <= 1, "%s listed %d times", id, n);
    return queue;
}

/* A copy of what the listing says about id; the test fails without it. */
static void
info_of(CTX *c, const char *id, FOUND *out)
{
    LISTING l;
    const FOUND *f;

    listing_take(c, STORE_Q_ALL, &l);
    f = listing_find(&l, id);
    if (f)
        *out = *f;
    listing_free(&l);
    ck_assert_msg(f != NULL, "%s is not listed", id);
}

static void
set_id(char *dst, const char *src)
{
    size_t len = strnlen(src, STORE_ID_MAX - 1);

    memcpy(dst, src, len);
    dst[len] = 0;
}

/* A scan's ids, max per call; returns how many came back. */
static int
scan_all(CTX *c, int queue, int flags, int max, char (*ids)[STORE_ID_MAX],
         int room)
{
    STORE_SCAN *scan = store_scan_open(c->store, queue, flags);
    STORE_CAND cand[64];
    int total = 0;
    int count;

    ck_assert_msg(scan != NULL, "scan %s: %s", store_queue_name(queue),
                  store_error(c->store));
    ck_assert_int_le(max, 64);
    for (;;) {
        expect_status(c, store_scan_next(scan, cand, max, &count), STORE_OK,
                      "scan", NULL);
        ck_assert_int_le(count, max);
        if (count == 0)
            break;
        for (int i = 0; i < count; i++) {
            ck_assert_int_eq(cand[i].queue, queue);
            ck_assert_int_lt(total, room);
            set_id(ids[total++], cand[i].id);
        }
    }
    store_scan_close(scan);
    return total;
}

static int
count_in(char (*ids)[STORE_ID_MAX], int n, const char *id)
{
    int k = 0;

    for (int i = 0; i < n; i++)
        k += strcmp(ids[i], id) == 0;
    return k;
}

/*
 * Opening.
 */

START_TEST(test_open_unknown_type)
{
    STORE_STATUS status = STORE_OK;

    ck_assert_ptr_null(store_open("no-such-store:x", &T.env, &status));
    ck_assert_int_eq(status, STORE_INVALID);
    ck_assert_ptr_nonnull(strstr(store_open_error(), "no-such-store"));
    status = STORE_OK;
    ck_assert_ptr_null(store_open("", &T.env, &status));
    ck_assert_int_eq(status, STORE_INVALID);
}
END_TEST

START_TEST(test_open_bad_name)
{
    STORE_STATUS status = STORE_OK;

    if (be->bad_name_spec == NULL)
        return;
    ck_assert_ptr_null(store_open(be->bad_name_spec, &T.env, &status));
    ck_assert_int_eq(status, STORE_INVALID);
    ck_assert_str_ne(store_open_error(), "");
}
END_TEST

START_TEST(test_open_missing_queue_dir)
{
    char missing[PATH_MAX];
    STORE_ENV env = T.env;
    STORE_STATUS status = STORE_OK;

    snprintf(missing, sizeof(missing), "%s/no-such-dir", T.dir);
    env.queue_dir = missing;
    ck_assert_ptr_null(store_open(T.spec, &env, &status));
    ck_assert_int_eq(status, STORE_UNAVAIL);
    ck_assert_ptr_nonnull(strstr(store_open_error(), "no-such-dir"));
    ck_assert_int_ne(access(missing, F_OK), 0); /* not made behind our back */
}
END_TEST

START_TEST(test_open_type_and_caps)
{
    static const STORE_STATUS all[] = {
        STORE_OK,      STORE_RETRY,  STORE_GONE,   STORE_UNAVAIL,
        STORE_CORRUPT, STORE_FENCED, STORE_EXISTS, STORE_INVALID,
    };

    ck_assert_str_eq(store_type(T.store), be->type);
    ck_assert_int_eq(store_caps(T.store), be->caps);
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(store_status_name(all[i]),
                             store_status_name(all[j]));
    for (int q = STORE_Q_INCOMING; q <= STORE_Q_MAILDROP; q <<= 1)
        ck_assert_int_eq(store_queue_bit(store_queue_name(q)), q);
    ck_assert_int_eq(store_queue_bit("nonsense"), 0);
}
END_TEST

/*
 * Scans.
 */

START_TEST(test_scan_incoming_due)
{
    char ids[8][STORE_ID_MAX];
    MSG m[3];
    int n;

    for (int i = 0; i < 3; i++)
        new_msg(&T, &m[i], NULL, 0);
    n = scan_all(&T, STORE_Q_INCOMING, 0, 16, ids, 8);
    ck_assert_int_eq(n, 3);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(count_in(ids, n, m[i].id), 1);
    /* A scan only looks: a second walk sees the same. */
    ck_assert_int_eq(scan_all(&T, STORE_Q_INCOMING, 0, 16, ids, 8), 3);
}
END_TEST

/* Files cleanup is still writing and names that are no queue ids. */
START_TEST(test_scan_skips_unready_and_invalid)
{
    static const char *const bad_names[] = {"1234.5678", "bad-name", "ABC DEF",
                                            NULL};
    char ids[8][STORE_ID_MAX];
    char path[PATH_MAX + 64];
    MSG ready;
    MSG unready;
    int n;

    make_file(&T, &unready, one_rcpt, 0, 0);
    for (int i = 0; bad_names[i]; i++) {
        snprintf(path, sizeof(path), "%s/incoming/%s", T.queue_dir,
                 bad_names[i]);
        ck_assert_int_eq(write_file(path, "", 0, O_EXCL, 0700), 0);
        if (postfix_layout()) {
            snprintf(path, sizeof(path), "%s/deferred/%s", T.queue_dir,
                     bad_names[i]);
            ck_assert_int_eq(write_file(path, "x", 1, O_EXCL, 0700), 0);
        }
    }
    new_msg(&T, &ready, NULL, 0);
    n = scan_all(&T, STORE_Q_INCOMING, STORE_SCAN_ALL, 16, ids, 8);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(ids[0], ready.id);
    ck_assert_int_eq(scan_all(&T, STORE_Q_DEFERRED, STORE_SCAN_ALL, 16, ids, 8),
                     0);
    /* The unready file is left alone, still 0600 where cleanup put it. */
    local_path(&T, "incoming", unready.id, path, sizeof(path));
    ck_assert_int_eq(access(path, F_OK), 0);
    ck_assert_int_eq(where(&T, unready.id), 0);
    /* Once cleanup is done with it, it is mail like any other. */
    ck_assert_int_eq(chmod(path, 0700), 0);
    ingest(&T);
    n = scan_all(&T, STORE_Q_INCOMING, 0, 16, ids, 8);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(count_in(ids, n, unready.id), 1);
}
END_TEST

START_TEST(test_scan_deferred_due)
{
    char ids[8][STORE_ID_MAX];
    time_t now = time(NULL);
    MSG past, edge, future;
    int n;

    new_msg(&T, &past, NULL, 0);
    new_msg(&T, &edge, NULL, 0);
    new_msg(&T, &future, NULL, 0);
    move_msg(&T, past.id, STORE_Q_INCOMING, STORE_DEFER, now - 100);
    move_msg(&T, edge.id, STORE_Q_INCOMING, STORE_DEFER, now + 1);
    move_msg(&T, future.id, STORE_Q_INCOMING, STORE_DEFER, now + 3600);
    n = scan_all(&T, STORE_Q_DEFERRED, 0, 16, ids, 8);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(count_in(ids, n, past.id), 1);
    ck_assert_int_eq(count_in(ids, n, edge.id), 1);
    n = scan_all(&T, STORE_Q_DEFERRED, STORE_SCAN_ALL, 16, ids, 8);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(count_in(ids, n, future.id), 1);
    /* Deferred mail never shows up in an incoming scan. */
    ck_assert_int_eq(scan_all(&T, STORE_Q_INCOMING, STORE_SCAN_ALL, 16, ids, 8),
                     0);
}
END_TEST

/* A message sent back to incoming for later (found locked) waits too. */
START_TEST(test_scan_incoming_not_yet_due)
{
    char ids[8][STORE_ID_MAX];
    MSG m;

    new_msg(&T, &m, NULL, 0);
    move_msg(&T, m.id, STORE_Q_INCOMING, STORE_BACK, time(NULL) + 60);
    ck_assert_int_eq(scan_all(&T, STORE_Q_INCOMING, 0, 16, ids, 8), 0);
    ck_assert_int_eq(scan_all(&T, STORE_Q_INCOMING, STORE_SCAN_ALL, 16, ids, 8),
                     1);
    ck_assert_str_eq(ids[0], m.id);
}
END_TEST

/*
 * An A trigger during a walk: after store_scan_add_flags(ALL) the rest of
 * the walk returns messages that are not due as well.  The walk order is
 * whatever the backend's is; the reference is a walk with ALL from the
 * start, so the expected set is: the due message, and every message that
 * comes after it in that order.
 */
START_TEST(test_scan_add_flags_mid_walk)
{
    enum { N = 8 };
    char order[N][STORE_ID_MAX];
    char seen[N][STORE_ID_MAX];
    char due_id[STORE_ID_MAX];
    time_t now = time(NULL);
    STORE_SCAN *scan;
    STORE_CAND cand[N];
    MSG m[N];
    int total = 0;
    int count;
    int due_at = -1;

    for (int i = 0; i < N; i++) {
        new_msg(&T, &m[i], NULL, 0);
        move_msg(&T, m[i].id, STORE_Q_INCOMING, STORE_DEFER, now + 3600);
    }
    ck_assert_int_eq(
        scan_all(&T, STORE_Q_DEFERRED, STORE_SCAN_ALL, 1, order, N), N);
    /* Make the first message of the walk due; where is it now? */
    snprintf(due_id, sizeof(due_id), "%s", order[0]);
    move_msg(&T, due_id, STORE_Q_DEFERRED, STORE_DEFER, now - 10);
    ck_assert_int_eq(
        scan_all(&T, STORE_Q_DEFERRED, STORE_SCAN_ALL, 1, order, N), N);
    for (int i = 0; i < N && due_at < 0; i++)
        if (strcmp(order[i], due_id) == 0)
            due_at = i;
    ck_assert_int_ge(due_at, 0);
    ck_assert_msg(due_at < N - 1, "the due message came last in the walk");

    scan = store_scan_open(T.store, STORE_Q_DEFERRED, 0);
    ck_assert_ptr_nonnull(scan);
    expect_status(&T, store_scan_next(scan, cand, 1, &count), STORE_OK, "scan",
                  NULL);
    ck_assert_int_eq(count, 1);
    ck_assert_str_eq(cand[0].id, order[due_at]);
    store_scan_add_flags(scan, STORE_SCAN_ALL);
    while (store_scan_next(scan, cand, N, &count) == STORE_OK && count > 0)
        for (int i = 0; i < count; i++) {
            ck_assert_int_lt(total, N);
            set_id(seen[total++], cand[i].id);
        }
    store_scan_close(scan);
    ck_assert_int_eq(total, N - 1 - due_at);
    for (int i = due_at + 1; i < N; i++)
        ck_assert_int_eq(count_in(seen, total, order[i]), 1);
}
END_TEST

/* Hashed subdirectories: incoming, deferred and hold hashed, depth d. */
static void
check_hashed(int depth)
{
    CTX_OPTS o = default_opts;
    char ids[8][STORE_ID_MAX];
    char path[PATH_MAX + 64];
    MSG m[3];
    CTX c;
    int n;

    o.hash_queues = "incoming deferred, defer hold bounce";
    o.hash_depth = depth;
    ctx_make(&c, &o);
    for (int i = 0; i < 3; i++)
        new_msg(&c, &m[i], NULL, 0);
    n = scan_all(&c, STORE_Q_INCOMING, 0, 16, ids, 8);
    ck_assert_int_eq(n, 3);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(count_in(ids, n, m[i].id), 1);
    move_msg(&c, m[0].id, STORE_Q_INCOMING, STORE_DEFER, time(NULL) - 10);
    move_msg(&c, m[1].id, STORE_Q_INCOMING, STORE_HOLD, 0);
    n = scan_all(&c, STORE_Q_DEFERRED, 0, 16, ids, 8);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(ids[0], m[0].id);
    ck_assert_int_eq(where(&c, m[1].id), STORE_Q_HOLD);
    if (postfix_layout()) {
        /* deferred/c1[/c2]/id, as Postfix's own tools look for it. */
        local_path(&c, "deferred", m[0].id, path, sizeof(path));
        ck_assert_int_eq(access(path, F_OK), 0);
        ck_assert_int_eq(local_exists(&c, "hold", m[1].id), 1);
        snprintf(path, sizeof(path), "%s/deferred/%.30s", c.queue_dir, m[0].id);
        ck_assert_int_ne(access(path, F_OK), 0);
    }
    move_msg(&c, m[0].id, STORE_Q_DEFERRED, STORE_REMOVE, 0);
    move_msg(&c, m[2].id, STORE_Q_INCOMING, STORE_REMOVE, 0);
    ck_assert_int_eq(where(&c, m[0].id), 0);
    ck_assert_int_eq(where(&c, m[2].id), 0);
    ctx_free(&c);
}

START_TEST(test_scan_hashed_depth_1)
{
    check_hashed(1);
}
END_TEST

START_TEST(test_scan_hashed_depth_2)
{
    check_hashed(2);
}
END_TEST

START_TEST(test_scan_limit_per_call)
{
    STORE_SCAN *scan;
    STORE_CAND cand[8];
    int expect[] = {3, 3, 1, 0, 0};
    MSG m;
    int count;

    for (int i = 0; i < 7; i++)
        new_msg(&T, &m, NULL, 0);
    scan = store_scan_open(T.store, STORE_Q_INCOMING, 0);
    ck_assert_ptr_nonnull(scan);
    for (int i = 0; i < 5; i++) {
        expect_status(&T, store_scan_next(scan, cand, 3, &count), STORE_OK,
                      "scan", NULL);
        ck_assert_int_eq(count, expect[i]);
    }
    store_scan_close(scan);
}
END_TEST

START_TEST(test_scan_other_queues_refused)
{
    static const int queues[] = {STORE_Q_ACTIVE, STORE_Q_HOLD, STORE_Q_CORRUPT,
                                 STORE_Q_MAILDROP};

    for (size_t i = 0; i < sizeof(queues) / sizeof(queues[0]); i++) {
        ck_assert_ptr_null(store_scan_open(T.store, queues[i], 0));
        ck_assert_str_ne(store_error(T.store), "");
    }
}
END_TEST

/*
 * Every due message exactly once per walk, while the walk's caller does
 * what the scheduler does: claims each candidate as it comes and checks it
 * in again (deferred to later, or removed).
 */
START_TEST(test_scan_every_message_once)
{
    enum { N = 24 };
    char ids[2 * N][STORE_ID_MAX];
    time_t now = time(NULL);
    STORE_SCAN *scan;
    STORE_CAND cand[5];
    MSG in[N], def[N];
    int total;
    int count;

    for (int i = 0; i < N; i++) {
        new_msg(&T, &def[i], NULL, 0);
        move_msg(&T, def[i].id, STORE_Q_INCOMING, STORE_DEFER, now - i);
        new_msg(&T, &in[i], NULL, 0);
    }
    for (int q = 0; q < 2; q++) {
        int queue = q ? STORE_Q_DEFERRED : STORE_Q_INCOMING;
        MSG *m = q ? def : in;

        total = 0;
        scan = store_scan_open(T.store, queue, 0);
        ck_assert_ptr_nonnull(scan);
        while (store_scan_next(scan, cand, 5, &count) == STORE_OK && count) {
            for (int i = 0; i < count; i++) {
                STORE_CLAIM *claim;

                ck_assert_int_lt(total, 2 * N);
                set_id(ids[total++], cand[i].id);
                expect_status(&T, store_claim(T.store, &cand[i], &claim),
                              STORE_OK, "claim", cand[i].id);
                expect_status(&T,
                              checkin(&T, claim,
                                      i % 2 ? STORE_REMOVE : STORE_DEFER,
                                      now + 3600),
                              STORE_OK, "checkin", cand[i].id);
            }
        }
        store_scan_close(scan);
        ck_assert_int_eq(total, N);
        for (int i = 0; i < N; i++)
            ck_assert_int_eq(count_in(ids, total, m[i].id), 1);
    }
}
END_TEST

/*
 * Claims and checkins.
 */

/* The local active file that delivery agents will open. */
static void
assert_active_file(CTX *c, const STORE_CLAIM *claim, const MSG *m)
{
    char path[PATH_MAX + 64];
    char expect[STORE_ID_MAX + 16];
    char data[MSG_BYTES_MAX];
    long len;

    snprintf(expect, sizeof(expect), "active/%s", m->id);
    if (c->env.hash_depth == 0 ||
        !queue_path_hashed(c->env.hash_queues, "active"))
        ck_assert_str_eq(claim->path, expect);
    snprintf(path, sizeof(path), "%s/%s", c->queue_dir, claim->path);
    len = read_file(path, data, sizeof(data));
    ck_assert_int_eq(len, (long) m->len);
    ck_assert_int_eq(memcmp(data, m->bytes, m->len), 0);
}

START_TEST(test_claim_moves_to_active)
{
    STORE_CLAIM *claim;
    MSG m;

    new_msg(&T, &m, NULL, 0);
    claim = claim_msg(&T, STORE_Q_INCOMING, m.id);
    ck_assert_str_eq(claim->id, m.id);
    ck_assert_int_eq(claim->from_queue, STORE_Q_INCOMING);
    ck_assert_int_eq(claim->flags, 0);
    assert_active_file(&T, claim, &m);
    ck_assert_int_eq(where(&T, m.id), STORE_Q_ACTIVE);
    if (postfix_layout())
        ck_assert_int_eq(local_exists(&T, "incoming", m.id), 0);
    expect_status(&T, checkin(&T, claim, STORE_DEFER, time(NULL) - 1), STORE_OK,
                  "checkin", m.id);
    claim = claim_msg(&T, STORE_Q_DEFERRED, m.id);
    ck_assert_int_eq(claim->from_queue, STORE_Q_DEFERRED);
    assert_active_file(&T, claim, &m);
    expect_status(&T, checkin(&T, claim, STORE_REMOVE, 0), STORE_OK, "checkin",
                  m.id);
}
END_TEST

/* postqueue -i sets the group read bit, postsuper -e the group execute bit. */
START_TEST(test_claim_flags_from_mode)
{
    static const struct {
        mode_t extra;
        int flags;
    } cases[] = {
        {0, 0},
        {0040, STORE_MSG_UNTHROTTLE},
        {0010, STORE_MSG_EXPIRE},
        {0050, STORE_MSG_UNTHROTTLE | STORE_MSG_EXPIRE},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        STORE_CLAIM *claim;
        FOUND f;
        MSG m;

        new_msg(&T, &m, NULL, cases[i].extra);
        info_of(&T, m.id, &f);
        ck_assert_int_eq(f.flags, cases[i].flags);
        claim = claim_msg(&T, STORE_Q_INCOMING, m.id);
        ck_assert_int_eq(claim->flags, cases[i].flags);
        expect_status(&T, checkin(&T, claim, STORE_DEFER, time(NULL)), STORE_OK,
                      "checkin", m.id);
    }
}
END_TEST

START_TEST(test_claim_vanished)
{
    STORE_CLAIM *claim = NULL;
    STORE_CAND cand;
    char path[PATH_MAX + 64];
    MSG m;

    /* Deleted (postsuper -d) between the scan and the claim. */
    new_msg(&T, &m, NULL, 0);
    ck_assert(find_cand(&T, STORE_Q_INCOMING, m.id, &cand));
    expect_status(&T, store_delete(T.store, m.id), STORE_OK, "delete", m.id);
    expect_status(&T, store_claim(T.store, &cand, &claim), STORE_GONE, "claim",
                  m.id);
    ck_assert_ptr_null(claim);
    ck_assert_str_ne(store_error(T.store), "");

    /* Put on hold between the scan and the claim: stays on hold. */
    new_msg(&T, &m, NULL, 0);
    ck_assert(find_cand(&T, STORE_Q_INCOMING, m.id, &cand));
    expect_status(&T, store_hold(T.store, m.id), STORE_OK, "hold", m.id);
    expect_status(&T, store_claim(T.store, &cand, &claim), STORE_GONE, "claim",
                  m.id);
    ck_assert_int_eq(where(&T, m.id), STORE_Q_HOLD);

    /* Removed by hand from the spool directory. */
    if (postfix_layout()) {
        new_msg(&T, &m, NULL, 0);
        ck_assert(find_cand(&T, STORE_Q_INCOMING, m.id, &cand));
        local_path(&T, "incoming", m.id, path, sizeof(path));
        ck_assert_int_eq(unlink(path), 0);
        expect_status(&T, store_claim(T.store, &cand, &claim), STORE_GONE,
                      "claim", m.id);
    }
}
END_TEST

/* Where each outcome puts the message, with its next attempt. */
START_TEST(test_checkin_actions)
{
    static const struct {
        STORE_ACTION action;
        int queue;
        int offset; /* next attempt, relative to now */
        int scanned;
    } cases[] = {
        {STORE_DEFER, STORE_Q_DEFERRED, 3600, 0},
        {STORE_DEFER, STORE_Q_DEFERRED, -50, 1},
        {STORE_BACK, STORE_Q_INCOMING, 60, 0},
        {STORE_BACK, STORE_Q_INCOMING, 0, 1},
        {STORE_HOLD, STORE_Q_HOLD, 0, 0},
        {STORE_TO_CORRUPT, STORE_Q_CORRUPT, 0, 0},
    };
    static const char *const dir_of[] = {"incoming", "active",  "deferred",
                                         "hold",     "corrupt", "maildrop"};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char ids[8][STORE_ID_MAX];
        time_t next = time(NULL) + cases[i].offset;
        STORE_CLAIM *claim;
        FOUND f;
        MSG m;
        int n;

        new_msg(&T, &m, NULL, 0);
        claim = claim_msg(&T, STORE_Q_INCOMING, m.id);
        expect_status(&T, checkin(&T, claim, cases[i].action, next), STORE_OK,
                      "checkin", m.id);
        info_of(&T, m.id, &f);
        ck_assert_int_eq(f.queue, cases[i].queue);
        if (cases[i].action == STORE_DEFER || cases[i].action == STORE_BACK)
            ck_assert_int_eq(f.next_attempt, next);
        if (postfix_layout()) {
            const char *dir = dir_of[store_queue_index(cases[i].queue)];

            ck_assert_int_eq(local_exists(&T, dir, m.id), 1);
            ck_assert_int_eq(local_exists(&T, "active", m.id), 0);
            if (cases[i].action == STORE_DEFER || cases[i].action == STORE_BACK)
                ck_assert_int_eq(local_mtime(&T, dir, m.id), next);
        }
        if (cases[i].queue == STORE_Q_INCOMING ||
            cases[i].queue == STORE_Q_DEFERRED) {
            n = scan_all(&T, cases[i].queue, 0, 8, ids, 8);
            ck_assert_int_eq(count_in(ids, n, m.id), cases[i].scanned);
        }
        expect_status(&T, store_delete(T.store, m.id), STORE_OK, "delete",
                      m.id);
    }
}
END_TEST

START_TEST(test_checkin_remove)
{
    STORE_CLAIM *claim;
    MSG m;

    new_msg(&T, &m, NULL, 0);
    claim = claim_msg(&T, STORE_Q_INCOMING, m.id);
    write_all_logs(&T, m.id);
    expect_status(&T, checkin(&T, claim, STORE_REMOVE, 0), STORE_OK, "checkin",
                  m.id);
    ck_assert_int_eq(where(&T, m.id), 0);
    ck_assert_int_eq(local_exists(&T, "active", m.id), 0);
    for (int i = 0; i < 3; i++)
        ck_assert_msg(!local_exists(&T, log_kinds[i], m.id),
                      "%s log left after removal", log_kinds[i]);
    expect_status(&T, store_export(T.store, m.id, &(STORE_EXPORT *){0}),
                  STORE_GONE, "export", m.id);
}
END_TEST

/* Recipients marked done in the active file are not listed any more. */
START_TEST(test_checkin_keeps_done_marks)
{
    static const char *const rcpts[] = {"a@example.net", "b@example.net",
                                        "c@example.net", NULL};
    char path[PATH_MAX + 64];
    STORE_CLAIM *claim;
    QFILE_MSG *qm;
    REC_STREAM *rs;
    FOUND f;
    MSG m;
    int fd;

    new_msg(&T, &m, rcpts, 0);
    claim = claim_msg(&T, STORE_Q_INCOMING, m.id);
    snprintf(path, sizeof(path), "%s/%s", T.queue_dir, claim->path);
    ck_assert_int_ge(fd = open(path, O_RDWR), 0);
    qm = qfile_msg_alloc(m.id);
    rs = rec_stream_fd(fd, path);
    ck_assert_int_eq(qfile_read(qm, rs, 0), QFILE_OK);
    ck_assert_int_eq(qm->rcpt_count, 3);
    ck_assert_int_eq(qfile_mark_done(fd, qm->rcpt[1].offset), 0);
    rec_stream_free(rs);
    qfile_msg_free(qm);
    close(fd);
    expect_status(&T, checkin(&T, claim, STORE_DEFER, time(NULL) + 600),
                  STORE_OK, "checkin", m.id);
    info_of(&T, m.id, &f);
    ck_assert_uint_eq(f.rcpt_count, 2);
    ck_assert_str_eq(f.rcpt[0], "a@example.net");
    ck_assert_str_eq(f.rcpt[1], "c@example.net");
}
END_TEST

/* A message deleted or held behind our back while it was active. */
START_TEST(test_checkin_gone)
{
    static const STORE_ACTION actions[] = {
        STORE_REMOVE, STORE_DEFER, STORE_BACK, STORE_HOLD, STORE_TO_CORRUPT};

    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        for (int how = 0; how < 3; how++) {
            char path[PATH_MAX + 64];
            STORE_CLAIM *claim;
            MSG m;

            if (how == 2 && !postfix_layout())
                continue;
            new_msg(&T, &m, NULL, 0);
            claim = claim_msg(&T, STORE_Q_INCOMING, m.id);
            if (how == 0) {
                expect_status(&T, store_delete(T.store, m.id), STORE_OK,
                              "delete", m.id);
            } else if (how == 1) {
                expect_status(&T, store_hold(T.store, m.id), STORE_OK, "hold",
                              m.id);
            } else {
                snprintf(path, sizeof(path), "%s/%s", T.queue_dir, claim->path);
                ck_assert_int_eq(unlink(path), 0);
            }
            expect_status(&T, checkin(&T, claim, actions[i], time(NULL) + 60),
                          STORE_GONE, "checkin", m.id);
            ck_assert_int_eq(where(&T, m.id), how == 1 ? STORE_Q_HOLD : 0);
            if (how == 1)
                expect_status(&T, store_delete(T.store, m.id), STORE_OK,
                              "delete", m.id);
        }
    }
}
END_TEST

/*
 * Administration.
 */

/* The C record's first field, as showq prints it. */
static long
data_size_of(const MSG *m)
{
    REC_STREAM *rs = rec_stream_mem(m->bytes, m->len, m->id);
    QFILE_MSG *qm = qfile_msg_alloc(m->id);
    long size;

    qm->log_fn = NULL;
    ck_assert_int_eq(qfile_read(qm, rs, 0), QFILE_OK);
    size = qm->data_size;
    qfile_msg_free(qm);
    rec_stream_free(rs);
    return size;
}

START_TEST(test_list_fields)
{
    static const char *const rcpts[] = {"a@example.net",
                                        "john smith@example.net",
                                        "c@example.net", "d@example.net", NULL};
    time_t next = time(NULL) + 900;
    STRBUF *log = strbuf_alloc(512);
    STORE_CLAIM *claim;
    char path[PATH_MAX + 64];
    QFILE_MSG *qm;
    REC_STREAM *rs;
    FOUND f;
    MSG m;
    int fd;

    new_msg(&T, &m, rcpts, 0);
    info_of(&T, m.id, &f);
    ck_assert_int_eq(f.queue, STORE_Q_INCOMING);
    ck_assert_str_eq(f.sender, m.sender);
    ck_assert_int_eq(f.arrival, m.arrival);
    ck_assert_int_eq(f.size, data_size_of(&m));
    ck_assert_uint_eq(f.rcpt_count, 4);
    for (int i = 0; i < 4; i++) {
        ck_assert_str_eq(f.rcpt[i], rcpts[i]);
        ck_assert_int_eq(f.has_reason[i], 0);
    }

    /*
     * One delivery attempt: d@ delivered (done mark), the others deferred
     * with reasons in the defer log in bounce(8)'s format; the second entry
     * for a@ is the latest and wins; the quoted local part is written in
     * external form.
     */
    claim = claim_msg(&T, STORE_Q_INCOMING, m.id);
    snprintf(path, sizeof(path), "%s/%s", T.queue_dir, claim->path);
    ck_assert_int_ge(fd = open(path, O_RDWR), 0);
    qm = qfile_msg_alloc(m.id);
    rs = rec_stream_fd(fd, path);
    ck_assert_int_eq(qfile_read(qm, rs, 0), QFILE_OK);
    ck_assert_int_eq(qfile_mark_done(fd, qm->rcpt[3].offset), 0);
    rec_stream_free(rs);
    qfile_msg_free(qm);
    close(fd);
    log_entry(log, "a@example.net", "4.4.1", "delayed",
              "connect to mx.example.net: Connection timed out");
    log_entry(log, "\"john smith\"@example.net", "4.2.2", "delayed",
              "host mx.example.net said: 452 mailbox full");
    log_entry(log, "a@example.net", "4.4.2", "delayed",
              "lost connection with mx.example.net");
    append_log(&T, "defer", m.id, log);
    expect_status(&T, checkin(&T, claim, STORE_DEFER, next), STORE_OK,
                  "checkin", m.id);

    info_of(&T, m.id, &f);
    ck_assert_int_eq(f.queue, STORE_Q_DEFERRED);
    ck_assert_int_eq(f.next_attempt, next);
    ck_assert_int_eq(f.arrival, m.arrival);
    ck_assert_int_eq(f.size, data_size_of(&m));
    ck_assert_str_eq(f.sender, m.sender);
    ck_assert_uint_eq(f.rcpt_count, 3);
    ck_assert_str_eq(f.rcpt[0], "a@example.net");
    ck_assert(f.has_reason[0]);
    ck_assert_str_eq(f.reason[0], "lost connection with mx.example.net");
    ck_assert_str_eq(f.rcpt[1], "john smith@example.net");
    ck_assert(f.has_reason[1]);
    ck_assert_str_eq(f.reason[1], "host mx.example.net said: 452 mailbox full");
    ck_assert_str_eq(f.rcpt[2], "c@example.net");
    ck_assert(!f.has_reason[2]);
    strbuf_free(log);
}
END_TEST

START_TEST(test_list_queues_and_stop)
{
    LISTING l;
    MSG a, b, c;

    new_msg(&T, &a, NULL, 0);
    new_msg(&T, &b, NULL, 0);
    new_msg(&T, &c, NULL, 0);
    move_msg(&T, b.id, STORE_Q_INCOMING, STORE_DEFER, time(NULL) + 60);
    move_msg(&T, c.id, STORE_Q_INCOMING, STORE_HOLD, 0);
    listing_take(&T, STORE_Q_DEFERRED | STORE_Q_HOLD, &l);
    ck_assert_int_eq(l.count, 2);
    ck_assert_ptr_nonnull(listing_find(&l, b.id));
    ck_assert_ptr_nonnull(listing_find(&l, c.id));
    listing_free(&l);
    listing_take(&T, STORE_Q_INCOMING, &l);
    ck_assert_int_eq(l.count, 1);
    ck_assert_str_eq(l.items[0].id, a.id);
    listing_free(&l);
    memset(&l, 0, sizeof(l));
    l.stop_after = 1;
    expect_status(&T, store_list(T.store, STORE_Q_ALL, collect, &l), STORE_OK,
                  "list", NULL);
    ck_assert_int_eq(l.count, 1);
    listing_free(&l);
}
END_TEST

START_TEST(test_hold_release)
{
    time_t past = time(NULL) - 300;
    STORE_CLAIM *claim;
    FOUND f;
    MSG in, def, act;

    new_msg(&T, &in, NULL, 0);
    new_msg(&T, &def, NULL, 0);
    new_msg(&T, &act, NULL, 0);
    move_msg(&T, def.id, STORE_Q_INCOMING, STORE_DEFER, past);
    claim = claim_msg(&T, STORE_Q_INCOMING, act.id);

    /* Hold from incoming, deferred and active. */
    expect_status(&T, store_hold(T.store, in.id), STORE_OK, "hold", in.id);
    expect_status(&T, store_hold(T.store, def.id), STORE_OK, "hold", def.id);
    expect_status(&T, store_hold(T.store, act.id), STORE_OK, "hold", act.id);
    ck_assert_int_eq(where(&T, in.id), STORE_Q_HOLD);
    ck_assert_int_eq(where(&T, def.id), STORE_Q_HOLD);
    ck_assert_int_eq(where(&T, act.id), STORE_Q_HOLD);
    expect_status(&T, checkin(&T, claim, STORE_DEFER, past), STORE_GONE,
                  "checkin", act.id);
    expect_status(&T, store_hold(T.store, in.id), STORE_GONE, "hold", in.id);

    /* Release: to deferred, next attempt unchanged. */
    expect_status(&T, store_release(T.store, def.id), STORE_OK, "release",
                  def.id);
    info_of(&T, def.id, &f);
    ck_assert_int_eq(f.queue, STORE_Q_DEFERRED);
    ck_assert_int_eq(f.next_attempt, past);
    if (postfix_layout())
        ck_assert_int_eq(local_mtime(&T, "deferred", def.id), past);
    expect_status(&T, store_release(T.store, def.id), STORE_GONE, "release",
                  def.id);
    expect_status(&T, store_release(T.store, in.id), STORE_OK, "release",
                  in.id);
    ck_assert_int_eq(where(&T, in.id), STORE_Q_DEFERRED);
}
END_TEST

START_TEST(test_delete_removes_logs)
{
    STORE_CLAIM *claim;
    MSG m;

    for (int i = 0; i < 4; i++) {
        static const STORE_ACTION to[] = {STORE_DEFER, STORE_HOLD,
                                          STORE_TO_CORRUPT, STORE_BACK};

        new_msg(&T, &m, NULL, 0);
        claim = claim_msg(&T, STORE_Q_INCOMING, m.id);
        write_all_logs(&T, m.id);
        expect_status(&T, checkin(&T, claim, to[i], time(NULL) + 60), STORE_OK,
                      "checkin", m.id);
        if (postfix_layout())
            for (int j = 0; j < 3; j++)
                ck_assert_int_eq(local_exists(&T, log_kinds[j], m.id), 1);
        expect_status(&T, store_delete(T.store, m.id), STORE_OK, "delete",
                      m.id);
        ck_assert_int_eq(where(&T, m.id), 0);
        for (int j = 0; j < 3; j++)
            ck_assert_msg(!local_exists(&T, log_kinds[j], m.id),
                          "%s log left after delete", log_kinds[j]);
        expect_status(&T, store_delete(T.store, m.id), STORE_GONE, "delete",
                      m.id);
    }
}
END_TEST

/* postsuper -r: to maildrop, time stamps now, logs kept. */
START_TEST(test_requeue)
{
    time_t future = time(NULL) + 7200;
    STORE_CLAIM *claim;
    time_t before;
    FOUND f;
    MSG m, h;

    new_msg(&T, &m, NULL, 0);
    claim = claim_msg(&T, STORE_Q_INCOMING, m.id);
    write_all_logs(&T, m.id);
    expect_status(&T, checkin(&T, claim, STORE_DEFER, future), STORE_OK,
                  "checkin", m.id);
    before = time(NULL);
    expect_status(&T, store_requeue(T.store, m.id), STORE_OK, "requeue", m.id);
    info_of(&T, m.id, &f);
    ck_assert_int_eq(f.queue, STORE_Q_MAILDROP);
    ck_assert_int_ge(f.next_attempt, before);
    ck_assert_int_le(f.next_attempt, time(NULL) + 1);
    if (postfix_layout()) {
        char path[PATH_MAX + 64];
        char data[MSG_BYTES_MAX];

        local_path(&T, "maildrop", m.id, path, sizeof(path));
        ck_assert_int_eq(read_file(path, data, sizeof(data)), (long) m.len);
        ck_assert_int_eq(memcmp(data, m.bytes, m.len), 0);
        ck_assert_int_le(local_mtime(&T, "maildrop", m.id), time(NULL) + 1);
        for (int j = 0; j < 3; j++)
            ck_assert_msg(local_exists(&T, log_kinds[j], m.id),
                          "%s log removed by requeue", log_kinds[j]);
    }
    /* Maildrop mail has not been through cleanup: never held, requeued. */
    expect_status(&T, store_hold(T.store, m.id), STORE_GONE, "hold", m.id);
    expect_status(&T, store_requeue(T.store, m.id), STORE_GONE, "requeue",
                  m.id);

    /* From hold too. */
    new_msg(&T, &h, NULL, 0);
    expect_status(&T, store_hold(T.store, h.id), STORE_OK, "hold", h.id);
    expect_status(&T, store_requeue(T.store, h.id), STORE_OK, "requeue", h.id);
    ck_assert_int_eq(where(&T, h.id), STORE_Q_MAILDROP);
}
END_TEST

START_TEST(test_admin_errors)
{
    static const char *const invalid[] = {"",        "../etc", "a.b",
                                          "ABC DEF", "x/y",    NULL};
    STORE_EXPORT *exp = NULL;
    const char *missing = "ABCDE12345";
    MSG unready;

    expect_status(&T, store_hold(T.store, missing), STORE_GONE, "hold",
                  missing);
    expect_status(&T, store_release(T.store, missing), STORE_GONE, "release",
                  missing);
    expect_status(&T, store_delete(T.store, missing), STORE_GONE, "delete",
                  missing);
    expect_status(&T, store_requeue(T.store, missing), STORE_GONE, "requeue",
                  missing);
    expect_status(&T, store_export(T.store, missing, &exp), STORE_GONE,
                  "export", missing);
    ck_assert_ptr_null(exp);
    for (int i = 0; invalid[i]; i++) {
        expect_status(&T, store_hold(T.store, invalid[i]), STORE_INVALID,
                      "hold", invalid[i]);
        expect_status(&T, store_release(T.store, invalid[i]), STORE_INVALID,
                      "release", invalid[i]);
        expect_status(&T, store_delete(T.store, invalid[i]), STORE_INVALID,
                      "delete", invalid[i]);
        expect_status(&T, store_requeue(T.store, invalid[i]), STORE_INVALID,
                      "requeue", invalid[i]);
        expect_status(&T, store_export(T.store, invalid[i], &exp),
                      STORE_INVALID, "export", invalid[i]);
        ck_assert_str_ne(store_error(T.store), "");
    }

    /* A file cleanup is still writing is not a message yet. */
    make_file(&T, &unready, one_rcpt, 0, 0);
    ingest(&T);
    ck_assert_int_eq(where(&T, unready.id), 0);
    expect_status(&T, store_hold(T.store, unready.id), STORE_GONE, "hold",
                  unready.id);
    expect_status(&T, store_delete(T.store, unready.id), STORE_GONE, "delete",
                  unready.id);
    expect_status(&T, store_requeue(T.store, unready.id), STORE_GONE, "requeue",
                  unready.id);
    expect_status(&T, store_export(T.store, unready.id, &exp), STORE_GONE,
                  "export", unready.id);
    ck_assert_int_eq(local_exists(&T, "incoming", unready.id), 1);
}
END_TEST

static const STORE_DEST_COUNT *
dest_of(const STORE_COUNTS *counts, const char *domain)
{
    for (size_t i = 0; i < counts->dest_count; i++)
        if (strcmp(counts->dests[i].domain, domain) == 0)
            return &counts->dests[i];
    return NULL;
}

START_TEST(test_counts)
{
    static const char *const r_in[] = {"a@example.net", "b@Example.NET",
                                       "x@example.org", NULL};
    static const char *const r_def[] = {"c@example.org", "d@example.net", NULL};
    static const char *const r_hold[] = {"e@example.org", NULL};
    static const char *const r_cor[] = {"f@example.com", NULL};
    const STORE_DEST_COUNT *d;
    STORE_COUNTS counts;
    MSG in, def, hold, cor, act;
    STORE_CLAIM *claim;

    new_msg(&T, &in, r_in, 0);
    new_msg(&T, &def, r_def, 0);
    new_msg(&T, &hold, r_hold, 0);
    new_msg(&T, &cor, r_cor, 0);
    new_msg(&T, &act, r_cor, 0);
    move_msg(&T, def.id, STORE_Q_INCOMING, STORE_DEFER, time(NULL) + 60);
    move_msg(&T, hold.id, STORE_Q_INCOMING, STORE_HOLD, 0);
    move_msg(&T, cor.id, STORE_Q_INCOMING, STORE_TO_CORRUPT, 0);
    claim = claim_msg(&T, STORE_Q_INCOMING, act.id);
    expect_status(&T, store_counts(T.store, &counts), STORE_OK, "counts", NULL);
    ck_assert_int_eq(counts.messages[store_queue_index(STORE_Q_INCOMING)], 1);
    ck_assert_int_eq(counts.messages[store_queue_index(STORE_Q_ACTIVE)], 1);
    ck_assert_int_eq(counts.messages[store_queue_index(STORE_Q_DEFERRED)], 1);
    ck_assert_int_eq(counts.messages[store_queue_index(STORE_Q_HOLD)], 1);
    ck_assert_int_eq(counts.messages[store_queue_index(STORE_Q_CORRUPT)], 1);
    ck_assert_int_eq(counts.messages[store_queue_index(STORE_Q_MAILDROP)], 0);
    ck_assert_uint_eq(counts.dest_count, 3);
    ck_assert_ptr_nonnull(d = dest_of(&counts, "example.net"));
    ck_assert_int_eq(d->recipients, 3);
    ck_assert_int_eq(d->messages, 2);
    ck_assert_ptr_nonnull(d = dest_of(&counts, "example.org"));
    ck_assert_int_eq(d->recipients, 3);
    ck_assert_int_eq(d->messages, 3);
    ck_assert_ptr_nonnull(d = dest_of(&counts, "example.com"));
    ck_assert_int_eq(d->recipients, 2);
    ck_assert_int_eq(d->messages, 2);
    store_counts_free(&counts);
    ck_assert_uint_eq(counts.dest_count, 0);
    expect_status(&T, checkin(&T, claim, STORE_REMOVE, 0), STORE_OK, "checkin",
                  act.id);
}
END_TEST

/*
 * Export and import.
 */

static STORE_EXPORT *
export_ok(CTX *c, const char *id)
{
    STORE_EXPORT *exp = NULL;

    expect_status(c, store_export(c->store, id, &exp), STORE_OK, "export", id);
    ck_assert_ptr_nonnull(exp);
    return exp;
}

/* Two exports describe the same message in the same state. */
static void
assert_same_export(const STORE_EXPORT *a, const STORE_EXPORT *b)
{
    ck_assert_int_eq(a->queue, b->queue);
    ck_assert_int_eq(a->flags, b->flags);
    ck_assert_int_eq(a->arrival, b->arrival);
    ck_assert_int_eq(a->next_attempt, b->next_attempt);
    ck_assert_uint_eq(a->file_len, b->file_len);
    ck_assert_int_eq(memcmp(a->file, b->file, a->file_len), 0);
    for (int i = 0; i < 3; i++) {
        ck_assert_msg((a->logs[i] == NULL) == (b->logs[i] == NULL),
                      "%s log present in one export only", log_kinds[i]);
        if (a->logs[i] == NULL)
            continue;
        ck_assert_uint_eq(a->log_len[i], b->log_len[i]);
        ck_assert_int_eq(memcmp(a->logs[i], b->logs[i], a->log_len[i]), 0);
    }
}

/* A message in queue with all three logs and request bits. */
static void
msg_in_state(CTX *c, MSG *m, int queue, time_t next)
{
    STORE_CLAIM *claim;

    new_msg(c, m, NULL, 0010);
    if (queue == STORE_Q_INCOMING && next == 0)
        return;
    claim = claim_msg(c, STORE_Q_INCOMING, m->id);
    write_all_logs(c, m->id);
    expect_status(c,
                  checkin(c, claim,
                          queue == STORE_Q_DEFERRED  ? STORE_DEFER
                          : queue == STORE_Q_HOLD    ? STORE_HOLD
                          : queue == STORE_Q_CORRUPT ? STORE_TO_CORRUPT
                                                     : STORE_BACK,
                          next),
                  STORE_OK, "checkin", m->id);
}

START_TEST(test_export_fields)
{
    time_t next = time(NULL) + 1234;
    STORE_EXPORT *exp;
    STORE_CLAIM *claim;
    char text[LOG_BYTES_MAX];
    char path[PATH_MAX + 64];
    MSG m;

    msg_in_state(&T, &m, STORE_Q_DEFERRED, next);
    exp = export_ok(&T, m.id);
    ck_assert_str_eq(exp->id, m.id);
    ck_assert_int_eq(exp->queue, STORE_Q_DEFERRED);
    ck_assert_int_eq(exp->flags, STORE_MSG_EXPIRE);
    ck_assert_int_eq(exp->arrival, m.arrival);
    ck_assert_int_eq(exp->next_attempt, next);
    ck_assert_uint_eq(exp->file_len, m.len);
    ck_assert_int_eq(memcmp(exp->file, m.bytes, m.len), 0);
    for (int i = 0; i < 3; i++) {
        STRBUF *want = strbuf_alloc(256);

        log_entry(want, "a@example.net", i == 1 ? "5.1.1" : "4.4.1",
                  i == 1 ? "failed" : "delayed", log_kinds[i]);
        ck_assert_ptr_nonnull(exp->logs[i]);
        ck_assert_uint_eq(exp->log_len[i], strbuf_len(want));
        ck_assert_int_eq(
            memcmp(exp->logs[i], strbuf_str(want), strbuf_len(want)), 0);
        if (postfix_layout()) {
            local_path(&T, log_kinds[i], m.id, path, sizeof(path));
            ck_assert_int_eq(read_file(path, text, sizeof(text)),
                             (long) strbuf_len(want));
        }
        strbuf_free(want);
    }
    store_export_free(exp);

    /* Without logs; and an active message is not exported. */
    new_msg(&T, &m, NULL, 0);
    exp = export_ok(&T, m.id);
    ck_assert_int_eq(exp->queue, STORE_Q_INCOMING);
    for (int i = 0; i < 3; i++)
        ck_assert_ptr_null(exp->logs[i]);
    store_export_free(exp);
    claim = claim_msg(&T, STORE_Q_INCOMING, m.id);
    exp = NULL;
    expect_status(&T, store_export(T.store, m.id, &exp), STORE_RETRY, "export",
                  m.id);
    ck_assert_ptr_null(exp);
    expect_status(&T, checkin(&T, claim, STORE_REMOVE, 0), STORE_OK, "checkin",
                  m.id);
}
END_TEST

START_TEST(test_import_refuses_bad_state)
{
    static const int queues[] = {STORE_Q_ACTIVE, STORE_Q_MAILDROP, 0, 0x40};
    char new_id[STORE_ID_MAX];
    STORE_EXPORT *exp;
    MSG m;

    msg_in_state(&T, &m, STORE_Q_DEFERRED, time(NULL));
    exp = export_ok(&T, m.id);
    expect_status(&T, store_delete(T.store, m.id), STORE_OK, "delete", m.id);
    for (size_t i = 0; i < sizeof(queues) / sizeof(queues[0]); i++) {
        exp->queue = queues[i];
        expect_status(&T, store_import(T.store, exp, new_id, sizeof(new_id)),
                      STORE_INVALID, "import", m.id);
    }
    exp->queue = STORE_Q_DEFERRED;
    snprintf(exp->id, sizeof(exp->id), "bad.id");
    expect_status(&T, store_import(T.store, exp, new_id, sizeof(new_id)),
                  STORE_INVALID, "import", exp->id);
    ck_assert_int_eq(where(&T, "bad"), 0);
    store_export_free(exp);
}
END_TEST

/*
 * Export, delete, import into the same store: same bytes, logs and state.
 * Importing the message while it is still there is STORE_EXISTS.
 */
START_TEST(test_import_same_store_round_trip)
{
    static const int queues[] = {STORE_Q_INCOMING, STORE_Q_DEFERRED,
                                 STORE_Q_HOLD, STORE_Q_CORRUPT};

    for (size_t i = 0; i < sizeof(queues) / sizeof(queues[0]); i++) {
        char new_id[STORE_ID_MAX];
        STORE_EXPORT *exp, *again;
        LISTING l;
        MSG m;

        msg_in_state(&T, &m, queues[i], time(NULL) + 100 * (long) i);
        exp = export_ok(&T, m.id);
        ck_assert_int_eq(exp->queue, queues[i]);
        expect_status(&T, store_import(T.store, exp, new_id, sizeof(new_id)),
                      STORE_EXISTS, "import", m.id);
        listing_take(&T, STORE_Q_ALL, &l);
        ck_assert_int_eq(listing_count_sender(&l, m.sender), 1);
        listing_free(&l);

        expect_status(&T, store_delete(T.store, m.id), STORE_OK, "delete",
                      m.id);
        new_id[0] = 0;
        expect_status(&T, store_import(T.store, exp, new_id, sizeof(new_id)),
                      STORE_OK, "import", m.id);
        ck_assert(queue_id_ok(new_id));
        if (queue_id_is_long(m.id))
            ck_assert_str_eq(new_id, m.id);
        again = export_ok(&T, new_id);
        assert_same_export(exp, again);
        ck_assert_int_eq(where(&T, new_id), queues[i]);
        store_export_free(again);
        store_export_free(exp);
    }
}
END_TEST

/*
 * An id already used by a different message: the import gets another id
 * (a fresh long id when the id was long); the other message is untouched.
 */
static void
check_id_collision(int long_ids)
{
    CTX_OPTS o = default_opts;
    char new_id[STORE_ID_MAX];
    STORE_EXPORT *exp, *mine, *theirs;
    CTX c;
    MSG a, b;

    o.long_ids = long_ids;
    ctx_make(&c, &o);
    msg_in_state(&c, &a, STORE_Q_DEFERRED, time(NULL) + 60);
    msg_in_state(&c, &b, STORE_Q_HOLD, 0);
    ck_assert_int_eq(queue_id_is_long(a.id), long_ids);
    theirs = export_ok(&c, a.id);
    exp = export_ok(&c, b.id);
    expect_status(&c, store_delete(c.store, b.id), STORE_OK, "delete", b.id);
    snprintf(exp->id, sizeof(exp->id), "%s", a.id); /* b's bytes, a's id */
    expect_status(&c, store_import(c.store, exp, new_id, sizeof(new_id)),
                  STORE_OK, "import", exp->id);
    ck_assert_str_ne(new_id, a.id);
    ck_assert(queue_id_ok(new_id));
    if (long_ids)
        ck_assert(queue_id_is_long(new_id));
    mine = export_ok(&c, new_id);
    assert_same_export(exp, mine);
    store_export_free(mine);
    mine = export_ok(&c, a.id);
    assert_same_export(theirs, mine);
    store_export_free(mine);
    store_export_free(theirs);
    store_export_free(exp);
    ctx_free(&c);
}

START_TEST(test_import_id_collision_short)
{
    check_id_collision(0);
}
END_TEST

START_TEST(test_import_id_collision_long)
{
    check_id_collision(1);
}
END_TEST

/* Everything from one store into a second, empty one; long ids are kept. */
static void
check_second_store(int long_ids)
{
    static const int queues[] = {STORE_Q_INCOMING, STORE_Q_DEFERRED,
                                 STORE_Q_HOLD, STORE_Q_CORRUPT,
                                 STORE_Q_DEFERRED};
    enum { N = sizeof(queues) / sizeof(queues[0]) };
    CTX_OPTS o = default_opts;
    char new_id[N][STORE_ID_MAX];
    char again_id[STORE_ID_MAX];
    STORE_EXPORT *exp[N];
    CTX a, b;
    MSG m[N];

    o.long_ids = long_ids;
    ctx_make(&a, &o);
    ctx_make(&b, &o);
    for (int i = 0; i < N; i++) {
        msg_in_state(&a, &m[i], queues[i], time(NULL) - 1000 + 600 * i);
        exp[i] = export_ok(&a, m[i].id);
    }
    for (int i = 0; i < N; i++) {
        expect_status(
            &b, store_import(b.store, exp[i], new_id[i], sizeof(new_id[i])),
            STORE_OK, "import", m[i].id);
        if (long_ids)
            ck_assert_str_eq(new_id[i], m[i].id);
    }
    for (int i = 0; i < N; i++) {
        STORE_EXPORT *got = export_ok(&b, new_id[i]);

        assert_same_export(exp[i], got);
        store_export_free(got);
        if (strcmp(new_id[i], m[i].id) == 0)
            expect_status(
                &b, store_import(b.store, exp[i], again_id, sizeof(again_id)),
                STORE_EXISTS, "re-import", m[i].id);
        store_export_free(exp[i]);
    }
    /* The imported messages work: deferred ones are scanned when due. */
    move_msg(&b, new_id[1], STORE_Q_DEFERRED, STORE_REMOVE, 0);
    ck_assert_int_eq(where(&b, new_id[1]), 0);
    ctx_free(&a);
    ctx_free(&b);
}

START_TEST(test_import_second_store_short_ids)
{
    check_second_store(0);
}
END_TEST

START_TEST(test_import_second_store_long_ids)
{
    check_second_store(1);
}
END_TEST

/*
 * Recovery.
 */

/* Every regular file in the local queue directories has a queue id name. */
static void
assert_no_strays(const char *dir, int depth)
{
    char path[PATH_MAX + 300];
    struct dirent *dp;
    struct stat st;
    DIR *d;

    ck_assert_ptr_nonnull(d = opendir(dir));
    while ((dp = readdir(d)) != NULL) {
        if (strcmp(dp->d_name, ".") == 0 || strcmp(dp->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, dp->d_name);
        ck_assert_int_eq(lstat(path, &st), 0);
        if (S_ISDIR(st.st_mode) && dp->d_name[1] == 0 && depth < 8)
            assert_no_strays(path, depth + 1);
        else
            ck_assert_msg(S_ISREG(st.st_mode) && queue_id_ok(dp->d_name),
                          "stray file %s", path);
    }
    closedir(d);
}

static int
count_files(const char *dir)
{
    char path[PATH_MAX + 300];
    struct dirent *dp;
    struct stat st;
    int n = 0;
    DIR *d;

    if ((d = opendir(dir)) == NULL)
        return 0;
    while ((dp = readdir(d)) != NULL) {
        if (strcmp(dp->d_name, ".") == 0 || strcmp(dp->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, dp->d_name);
        if (lstat(path, &st) == 0)
            n += S_ISDIR(st.st_mode) ? count_files(path) : 1;
    }
    closedir(d);
    return n;
}

static void
assert_clean_local_dirs(CTX *c)
{
    char path[PATH_MAX + 32];

    for (int i = 0; local_dirs[i]; i++) {
        if (strcmp(local_dirs[i], "saved") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", c->queue_dir, local_dirs[i]);
        assert_no_strays(path, 0);
    }
    snprintf(path, sizeof(path), "%s/active", c->queue_dir);
    ck_assert_msg(count_files(path) == 0, "files left in %s", path);
}

/* What a queue manager that died mid-delivery leaves: active files. */
START_TEST(test_recover_active)
{
    STORE_CLAIM *claim[2];
    time_t before;
    FOUND f;
    MSG m[3];

    for (int i = 0; i < 3; i++)
        new_msg(&T, &m[i], NULL, 0);
    move_msg(&T, m[1].id, STORE_Q_INCOMING, STORE_DEFER, time(NULL) + 3600);
    claim[0] = claim_msg(&T, STORE_Q_INCOMING, m[0].id);
    claim[1] = claim_msg(&T, STORE_Q_DEFERRED, m[1].id);
    store_claim_free(claim[0]); /* the process dies: no checkin */
    store_claim_free(claim[1]);
    ctx_reopen(&T);
    before = time(NULL);
    expect_status(&T, store_recover(T.store), STORE_OK, "recover", NULL);
    for (int i = 0; i < 2; i++) {
        info_of(&T, m[i].id, &f);
        ck_assert_int_eq(f.queue, STORE_Q_INCOMING);
        ck_assert_int_ge(f.next_attempt, before);
        ck_assert_int_le(f.next_attempt, time(NULL) + 1);
        if (postfix_layout())
            ck_assert_int_eq(local_mtime(&T, "incoming", m[i].id),
                             f.next_attempt);
    }
    ck_assert_int_eq(where(&T, m[2].id), STORE_Q_INCOMING);
    assert_clean_local_dirs(&T);
    /* Recovery twice changes nothing. */
    expect_status(&T, store_recover(T.store), STORE_OK, "recover", NULL);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(where(&T, m[i].id), STORE_Q_INCOMING);
}
END_TEST

/* Logs without a message go; logs with one stay (Postfix layout only). */
START_TEST(test_recover_orphan_logs)
{
    STRBUF *text = strbuf_alloc(256);
    MSG m;

    if (!postfix_layout()) {
        strbuf_free(text);
        return;
    }
    msg_in_state(&T, &m, STORE_Q_DEFERRED, time(NULL) + 60);
    log_entry(text, "x@example.net", "4.4.1", "delayed", "orphan");
    append_log(&T, "defer", "ABCDE12345", text);
    append_log(&T, "bounce", "ABCDE12345", text);
    append_log(&T, "trace", "4jXP8N4vSQz1bcqF", text);
    expect_status(&T, store_recover(T.store), STORE_OK, "recover", NULL);
    ck_assert_int_eq(local_exists(&T, "defer", "ABCDE12345"), 0);
    ck_assert_int_eq(local_exists(&T, "bounce", "ABCDE12345"), 0);
    ck_assert_int_eq(local_exists(&T, "trace", "4jXP8N4vSQz1bcqF"), 0);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(local_exists(&T, log_kinds[i], m.id), 1);
    strbuf_free(text);
}
END_TEST

/*
 * Crashes at every durable step.  For each operation: k = 1, 2, ...: a
 * fresh store with the message prepared; a child opens the store, does
 * what must happen before the operation (a claim), arms the fault shim at
 * the k-th durable step and runs the operation; the parent reopens the
 * store, recovers and checks.  The loop ends when a child completes.
 */

typedef struct CRASH CRASH;

typedef struct CRASH_STATE {
    const CRASH *crash;
    MSG msg;
    STORE_EXPORT *orig; /* the message before the operation, as exported */
    STORE_CAND cand;    /* child: the candidate to claim */
    STORE_CLAIM *claim; /* child: the claim to check in */
} CRASH_STATE;

struct CRASH {
    const char *name;
    int allowed;    /* queues the message may be in after a crash */
    int final;      /* where it is when the operation completed; 0 = gone */
    int may_vanish; /* delete, remove: entirely gone is fine */
    void (*prepare)(CTX *c, CRASH_STATE *s);
    int (*child_pre)(CTX *c, CRASH_STATE *s); /* 0 = ok */
    STORE_STATUS (*op)(CTX *c, CRASH_STATE *s);
    STORE_ACTION action; /* checkin */
};

/* The message in deferred, due, with all three logs. */
static void
prepare_deferred(CTX *c, CRASH_STATE *s)
{
    msg_in_state(c, &s->msg, STORE_Q_DEFERRED, time(NULL) - 100);
    s->orig = export_ok(c, s->msg.id);
}

static void
prepare_held(CTX *c, CRASH_STATE *s)
{
    msg_in_state(c, &s->msg, STORE_Q_HOLD, 0);
    s->orig = export_ok(c, s->msg.id);
}

/* Exported, then deleted: the import brings it back. */
static void
prepare_import(CTX *c, CRASH_STATE *s)
{
    prepare_deferred(c, s);
    expect_status(c, store_delete(c->store, s->msg.id), STORE_OK, "delete",
                  s->msg.id);
}

/* Claimed by a queue manager that then died; plus an orphan log. */
static void
prepare_stranded(CTX *c, CRASH_STATE *s)
{
    STRBUF *text = strbuf_alloc(256);

    prepare_deferred(c, s);
    store_claim_free(claim_msg(c, STORE_Q_DEFERRED, s->msg.id));
    if (postfix_layout()) {
        log_entry(text, "x@example.net", "4.4.1", "delayed", "orphan");
        append_log(c, "defer", "ABCDE12345", text);
    }
    strbuf_free(text);
}

/* Child side: no Check assertions here, only exit codes. */
static int
pre_find(CTX *c, CRASH_STATE *s)
{
    return find_cand(c, STORE_Q_DEFERRED, s->msg.id, &s->cand) ? 0 : -1;
}

static int
pre_claim(CTX *c, CRASH_STATE *s)
{
    if (pre_find(c, s) < 0 ||
        store_claim(c->store, &s->cand, &s->claim) != STORE_OK)
        return -1;
    return 0;
}

static STORE_STATUS
op_claim(CTX *c, CRASH_STATE *s)
{
    return store_claim(c->store, &s->cand, &s->claim);
}

static STORE_STATUS
op_checkin(CTX *c, CRASH_STATE *s)
{
    STORE_OUTCOME outcome;

    memset(&outcome, 0, sizeof(outcome));
    outcome.action = s->crash->action;
    outcome.next_attempt =
        time(NULL) + (outcome.action == STORE_BACK ? 60 : 3600);
    return store_checkin(c->store, s->claim, &outcome);
}

static STORE_STATUS
op_hold(CTX *c, CRASH_STATE *s)
{
    return store_hold(c->store, s->msg.id);
}

static STORE_STATUS
op_release(CTX *c, CRASH_STATE *s)
{
    return store_release(c->store, s->msg.id);
}

static STORE_STATUS
op_delete(CTX *c, CRASH_STATE *s)
{
    return store_delete(c->store, s->msg.id);
}

static STORE_STATUS
op_requeue(CTX *c, CRASH_STATE *s)
{
    return store_requeue(c->store, s->msg.id);
}

static STORE_STATUS
op_import(CTX *c, CRASH_STATE *s)
{
    char new_id[STORE_ID_MAX];

    return store_import(c->store, s->orig, new_id, sizeof(new_id));
}

static STORE_STATUS
op_recover(CTX *c, CRASH_STATE *s)
{
    return store_recover(c->store);
}

#define Q_IN  STORE_Q_INCOMING
#define Q_DEF STORE_Q_DEFERRED

static const CRASH crashes[] = {
    {"claim", Q_DEF | Q_IN, Q_IN, 0, prepare_deferred, pre_find, op_claim, 0},
    {"checkin-remove", Q_IN, 0, 1, prepare_deferred, pre_claim, op_checkin,
     STORE_REMOVE},
    {"checkin-defer", Q_IN | Q_DEF, Q_DEF, 0, prepare_deferred, pre_claim,
     op_checkin, STORE_DEFER},
    {"checkin-back", Q_IN, Q_IN, 0, prepare_deferred, pre_claim, op_checkin,
     STORE_BACK},
    {"checkin-hold", Q_IN | STORE_Q_HOLD, STORE_Q_HOLD, 0, prepare_deferred,
     pre_claim, op_checkin, STORE_HOLD},
    {"checkin-corrupt", Q_IN | STORE_Q_CORRUPT, STORE_Q_CORRUPT, 0,
     prepare_deferred, pre_claim, op_checkin, STORE_TO_CORRUPT},
    {"hold", Q_DEF | STORE_Q_HOLD, STORE_Q_HOLD, 0, prepare_deferred, NULL,
     op_hold, 0},
    {"release", STORE_Q_HOLD | Q_DEF, Q_DEF, 0, prepare_held, NULL, op_release,
     0},
    {"delete", Q_DEF, 0, 1, prepare_deferred, NULL, op_delete, 0},
    {"requeue", Q_DEF | STORE_Q_MAILDROP, STORE_Q_MAILDROP, 0, prepare_deferred,
     NULL, op_requeue, 0},
    {"import", Q_DEF, Q_DEF, 1, prepare_import, NULL, op_import, 0},
    {"recover", Q_IN, Q_IN, 0, prepare_stranded, NULL, op_recover, 0},
};

/*
 * What the child holds when it "crashes", kept reachable from static
 * storage so that a leak checker that runs at _exit() (valgrind does, in
 * every forked child) does not count it as lost.  What the backend holds
 * in its own variables at the crash is abandoned by design, as a power cut
 * abandons it; valgrind may report that and replace the child's exit status
 * with its --error-exitcode (see crashed()).
 */
#define CHILD_OPEN_FAILED 10
#define CHILD_PRE_FAILED  11
#define CHILD_OP_FAILED   12

static struct {
    STORE *store;
    STORE_EXPORT *orig;
    STORE_CLAIM *claim;
} child_holds;

static _Noreturn void
crash_child(CTX *c, CRASH_STATE *s, int k)
{
    STORE_STATUS status;

    child_holds.orig = s->orig;
    if ((c->store = store_open(c->spec, &c->env, &status)) == NULL)
        _exit(CHILD_OPEN_FAILED);
    child_holds.store = c->store;
    if (s->crash->child_pre && s->crash->child_pre(c, s) < 0)
        _exit(CHILD_PRE_FAILED);
    child_holds.claim = s->claim;
    store_fault_arm(k);
    status = s->crash->op(c, s);
    store_fault_arm(0);
    _exit(status == STORE_OK ? 0 : CHILD_OP_FAILED);
}

/*
 * Did the child end at the armed fault point?  Under valgrind a child that
 * abandoned memory there exits with valgrind's error status instead of
 * STORE_FAULT_EXIT; any status that is not one of the child's own counts.
 */
static int
crashed(int code)
{
    if (code == STORE_FAULT_EXIT)
        return 1;
    return RUNNING_ON_VALGRIND && code != 0 && code != CHILD_OPEN_FAILED &&
           code != CHILD_PRE_FAILED && code != CHILD_OP_FAILED;
}

/* A maildrop file is outside the store proper: compare the local bytes. */
static void
assert_maildrop_copy(CTX *c, const CRASH_STATE *s, const char *id)
{
    char path[PATH_MAX + 64];
    char data[MSG_BYTES_MAX];

    local_path(c, "maildrop", id, path, sizeof(path));
    ck_assert_int_eq(read_file(path, data, sizeof(data)), (long) s->msg.len);
    ck_assert_int_eq(memcmp(data, s->msg.bytes, s->msg.len), 0);
}

static void
crash_check(CTX *c, const CRASH_STATE *s, int k, int completed)
{
    const CRASH *cr = s->crash;
    const FOUND *f;
    LISTING l;
    int n;

    ctx_open(c);
    expect_status(c, store_recover(c->store), STORE_OK, "recover", NULL);
    listing_take(c, STORE_Q_ALL, &l);
    n = listing_count_sender(&l, s->msg.sender);
    ck_assert_msg(n <= 1, "%s, crash at step %d: %d copies", cr->name, k, n);
    if (n == 0) {
        ck_assert_msg(cr->may_vanish, "%s, crash at step %d (%s): message lost",
                      cr->name, k, completed ? "completed" : "crashed");
        if (postfix_layout())
            for (int i = 0; i < 3; i++) {
                char path[PATH_MAX + 32];

                snprintf(path, sizeof(path), "%s/%s", c->queue_dir,
                         log_kinds[i]);
                ck_assert_msg(count_files(path) == 0,
                              "%s, crash at step %d: %s log without message",
                              cr->name, k, log_kinds[i]);
            }
    } else {
        f = NULL;
        for (int i = 0; i < l.count; i++)
            if (strcmp(l.items[i].sender, s->msg.sender) == 0)
                f = &l.items[i];
        ck_assert_msg(completed ? f->queue == cr->final
                                : (f->queue & cr->allowed) != 0,
                      "%s, crash at step %d: message in %s", cr->name, k,
                      store_queue_name(f->queue));
        if (f->queue == STORE_Q_MAILDROP) {
            assert_maildrop_copy(c, s, f->id);
        } else {
            STORE_EXPORT *now = export_ok(c, f->id);

            ck_assert_uint_eq(now->file_len, s->msg.len);
            ck_assert_msg(memcmp(now->file, s->msg.bytes, s->msg.len) == 0,
                          "%s, crash at step %d: queue file changed", cr->name,
                          k);
            for (int i = 0; i < 3; i++)
                ck_assert_msg(now->logs[i] && s->orig->logs[i] &&
                                  now->log_len[i] == s->orig->log_len[i] &&
                                  memcmp(now->logs[i], s->orig->logs[i],
                                         now->log_len[i]) == 0,
                              "%s, crash at step %d: %s log lost or changed",
                              cr->name, k, log_kinds[i]);
            if (cr->op == op_release && f->queue == STORE_Q_DEFERRED)
                ck_assert_int_eq(now->next_attempt, s->orig->next_attempt);
            store_export_free(now);
        }
    }
    ck_assert_msg(!completed || cr->final != 0 || n == 0,
                  "%s completed but the message is still there", cr->name);
    listing_free(&l);
    assert_clean_local_dirs(c);
    if (postfix_layout() && cr->op == op_recover)
        ck_assert_int_eq(local_exists(c, "defer", "ABCDE12345"), 0);
}

/* Run one operation to completion through all its crash points. */
static int
crash_points(const CRASH *cr)
{
    for (int k = 1; k <= CRASH_POINTS_MAX; k++) {
        CRASH_STATE s;
        CTX c;
        pid_t pid;
        int status;
        int code;

        memset(&s, 0, sizeof(s));
        s.crash = cr;
        ctx_make(&c, &default_opts);
        cr->prepare(&c, &s);
        ctx_close(&c);
        fflush(stdout);
        fflush(stderr);
        ck_assert_int_ge(pid = fork(), 0);
        if (pid == 0)
            crash_child(&c, &s, k);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status), "%s: child died with status %#x",
                      cr->name, status);
        code = WEXITSTATUS(status);
        ck_assert_msg(code == 0 || crashed(code),
                      "%s: child exit %d at step %d", cr->name, code, k);
        crash_check(&c, &s, k, code == 0);
        store_export_free(s.orig);
        ctx_free(&c);
        if (code == 0)
            return k - 1;
    }
    ck_abort_msg("%s: still crashing after %d steps", cr->name,
                 CRASH_POINTS_MAX);
    return -1;
}

START_TEST(test_crash)
{
    const CRASH *cr = &crashes[_i];
    int points = crash_points(cr);

    printf("store conformance (%s): %s: %d crash points\n", be->type, cr->name,
           points);
    fflush(stdout);
    ck_assert_msg(points > 0, "%s: no durable step announced", cr->name);
}
END_TEST

/*
 * Leases.
 */

START_TEST(test_claim_lease)
{
    STORE_CLAIM *claim;
    STORE_LEASE lease;
    time_t before = time(NULL);
    MSG m;

    new_msg(&T, &m, NULL, 0);
    claim = claim_msg(&T, STORE_Q_INCOMING, m.id);
    ck_assert_str_eq(claim->lease.id, m.id);
    ck_assert_str_eq(claim->lease.owner, NODE_A);
    ck_assert_uint_ne(claim->lease.epoch, 0);
    if (be->caps & STORE_CAP_SHARED)
        ck_assert_int_ge(claim->lease.expiry, before + T.env.lease_time - 1);
    lease = claim->lease;
    expect_status(&T, store_renew(T.store, &lease, 1), STORE_OK, "renew", m.id);
    ck_assert_uint_ne(lease.epoch, 0);
    ck_assert_str_eq(lease.owner, NODE_A);
    expect_status(&T, store_renew(T.store, NULL, 0), STORE_OK, "renew", NULL);
    expect_status(&T, checkin(&T, claim, STORE_REMOVE, 0), STORE_OK, "checkin",
                  m.id);
}
END_TEST

/*
 * Fencing between hosts (STORE_CAP_SHARED): a checkin or renewal with a
 * stale epoch is refused; after node A's lease expired node B takes the
 * message over with a higher epoch, and A's late checkin is refused.
 */
START_TEST(test_shared_fencing)
{
    CTX_OPTS o = default_opts;
    STORE_CLAIM *a_claim, *b_claim;
    STORE_OUTCOME outcome = {0};
    STORE_LEASE lease;
    STORE_CAND cand;
    uint64_t epoch;
    CTX a, b;
    MSG m;

    if ((be->caps & STORE_CAP_SHARED) == 0) {
        printf("store conformance (%s): shared-store lease tests skipped: "
               "no STORE_CAP_SHARED\n",
               be->type);
        fflush(stdout);
        return;
    }
    o.lease_time = 2;
    ctx_make(&a, &o);
    ctx_make_peer(&b, &a);
    new_msg(&a, &m, NULL, 0);
    a_claim = claim_msg(&a, STORE_Q_INCOMING, m.id);
    epoch = a_claim->lease.epoch;

    /* A stale epoch is refused, the right one accepted. */
    outcome.action = STORE_DEFER;
    outcome.next_attempt = time(NULL) - 1;
    a_claim->lease.epoch = epoch + 1000;
    expect_status(&a, store_checkin(a.store, a_claim, &outcome), STORE_FENCED,
                  "checkin", m.id);
    lease = a_claim->lease;
    expect_status(&a, store_renew(a.store, &lease, 1), STORE_OK, "renew", m.id);
    ck_assert_uint_eq(lease.epoch, 0);
    a_claim->lease.epoch = epoch;
    lease = a_claim->lease;
    expect_status(&a, store_renew(a.store, &lease, 1), STORE_OK, "renew", m.id);
    ck_assert_uint_eq(lease.epoch, epoch);

    /* A stops renewing; B takes over after the lease expired. */
    sleep((unsigned) o.lease_time + 2);
    ck_assert_msg(find_cand(&b, STORE_Q_INCOMING, m.id, &cand) ||
                      find_cand(&b, STORE_Q_DEFERRED, m.id, &cand),
                  "node B does not see %s after A's lease expired", m.id);
    expect_status(&b, store_claim(b.store, &cand, &b_claim), STORE_OK, "claim",
                  m.id);
    ck_assert_str_eq(b_claim->lease.owner, NODE_B);
    ck_assert_uint_gt(b_claim->lease.epoch, epoch);
    lease = a_claim->lease;
    expect_status(&a, store_renew(a.store, &lease, 1), STORE_OK, "renew", m.id);
    ck_assert_uint_eq(lease.epoch, 0);
    expect_status(&a, store_checkin(a.store, a_claim, &outcome), STORE_FENCED,
                  "checkin", m.id);
    store_claim_free(a_claim);
    expect_status(&b, checkin(&b, b_claim, STORE_REMOVE, 0), STORE_OK,
                  "checkin", m.id);
    ck_assert_int_eq(where(&a, m.id), 0);
    ctx_free(&b);
    ctx_free(&a);
}
END_TEST

/*
 * Accounting: every call counted once, above the backend.
 */

START_TEST(test_stats)
{
    STORE_OP_STATS before[STORE_OP_COUNT];
    const STORE_OP_STATS *now;
    static const unsigned long expect_calls[STORE_OP_COUNT] = {
        [STORE_OP_RECOVER] = 1, [STORE_OP_INGEST] = 1, [STORE_OP_SCAN] = 3,
        [STORE_OP_CLAIM] = 1,   [STORE_OP_RENEW] = 1,  [STORE_OP_CHECKIN] = 1,
        [STORE_OP_LIST] = 1,    [STORE_OP_ADMIN] = 5,  [STORE_OP_COUNTS] = 1,
        [STORE_OP_EXPORT] = 1,  [STORE_OP_IMPORT] = 1,
    };
    static const unsigned long expect_failures[STORE_OP_COUNT] = {
        [STORE_OP_ADMIN] = 1, [STORE_OP_IMPORT] = 1};
    char new_id[STORE_ID_MAX];
    STORE_CAND cand[4];
    STORE_CLAIM *claim;
    STORE_COUNTS counts;
    STORE_EXPORT *exp;
    STORE_SCAN *scan;
    LISTING l;
    MSG m;
    int count;

    make_file(&T, &m, one_rcpt, 0, 1);
    memcpy(before, store_stats(T.store), sizeof(before));
    expect_status(&T, store_recover(T.store), STORE_OK, "recover", NULL);
    expect_status(&T, store_ingest(T.store, 10, &count), STORE_OK, "ingest",
                  NULL);
    ck_assert_ptr_nonnull(scan = store_scan_open(T.store, STORE_Q_INCOMING, 0));
    expect_status(&T, store_scan_next(scan, cand, 4, &count), STORE_OK, "scan",
                  NULL);
    ck_assert_int_eq(count, 1);
    expect_status(&T, store_scan_next(scan, cand, 4, &count), STORE_OK, "scan",
                  NULL);
    store_scan_close(scan);
    expect_status(&T, store_claim(T.store, &cand[0], &claim), STORE_OK, "claim",
                  m.id);
    expect_status(&T, store_renew(T.store, &claim->lease, 1), STORE_OK, "renew",
                  m.id);
    expect_status(&T, checkin(&T, claim, STORE_DEFER, time(NULL)), STORE_OK,
                  "checkin", m.id);
    listing_take(&T, STORE_Q_ALL, &l);
    listing_free(&l);
    expect_status(&T, store_hold(T.store, m.id), STORE_OK, "hold", m.id);
    expect_status(&T, store_release(T.store, m.id), STORE_OK, "release", m.id);
    expect_status(&T, store_release(T.store, m.id), STORE_GONE, "release",
                  m.id);
    expect_status(&T, store_hold(T.store, "bad.id"), STORE_INVALID, "hold",
                  NULL);
    expect_status(&T, store_counts(T.store, &counts), STORE_OK, "counts", NULL);
    store_counts_free(&counts);
    exp = export_ok(&T, m.id);
    exp->queue = STORE_Q_ACTIVE;
    expect_status(&T, store_import(T.store, exp, new_id, sizeof(new_id)),
                  STORE_INVALID, "import", m.id);
    store_export_free(exp);
    expect_status(&T, store_delete(T.store, m.id), STORE_OK, "delete", m.id);

    now = store_stats(T.store);
    for (int op = 0; op < STORE_OP_COUNT; op++) {
        ck_assert_msg(now[op].calls - before[op].calls == expect_calls[op],
                      "%s: %lu calls, expected %lu",
                      store_op_name((STORE_OP) op),
                      now[op].calls - before[op].calls, expect_calls[op]);
        ck_assert_msg(
            now[op].failures - before[op].failures == expect_failures[op],
            "%s: %lu failures, expected %lu", store_op_name((STORE_OP) op),
            now[op].failures - before[op].failures, expect_failures[op]);
        ck_assert(now[op].seconds >= before[op].seconds);
        ck_assert(now[op].max_seconds <= now[op].seconds + 1e-9 ||
                  now[op].calls == 0);
    }
    ck_assert_str_eq(store_op_name(STORE_OP_CHECKIN), "checkin");
    ck_assert_str_eq(store_op_name(STORE_OP_COUNT), "unknown");
}
END_TEST

/*
 * The suite.
 */

static TCase *
tcase(Suite *s, const char *name, int timeout)
{
    TCase *tc = tcase_create(name);

    tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
    tcase_set_timeout(tc, timeout);
    suite_add_tcase(s, tc);
    return tc;
}

Suite *
store_conformance_suite(const STORE_CONFORMANCE_BACKEND *backend)
{
    static char name[100]; /* Check keeps the pointer */
    Suite *s;
    TCase *tc;

    be = backend;
    if (base_dir[0] == 0) {
        snprintf(base_dir, sizeof(base_dir), "/tmp/pq-store-%s.XXXXXX",
                 be->type);
        if (mkdtemp(base_dir) == NULL) {
            perror(base_dir);
            exit(1);
        }
        base_owner = getpid();
        atexit(remove_base);
    }
    snprintf(name, sizeof(name), "store conformance (%s)", be->type);
    s = suite_create(name);

    tc = tcase(s, "open", 30);
    tcase_add_test(tc, test_open_unknown_type);
    tcase_add_test(tc, test_open_bad_name);
    tcase_add_test(tc, test_open_missing_queue_dir);
    tcase_add_test(tc, test_open_type_and_caps);

    tc = tcase(s, "scan", 60);
    tcase_add_test(tc, test_scan_incoming_due);
    tcase_add_test(tc, test_scan_skips_unready_and_invalid);
    tcase_add_test(tc, test_scan_deferred_due);
    tcase_add_test(tc, test_scan_incoming_not_yet_due);
    tcase_add_test(tc, test_scan_add_flags_mid_walk);
    tcase_add_test(tc, test_scan_hashed_depth_1);
    tcase_add_test(tc, test_scan_hashed_depth_2);
    tcase_add_test(tc, test_scan_limit_per_call);
    tcase_add_test(tc, test_scan_other_queues_refused);
    tcase_add_test(tc, test_scan_every_message_once);

    tc = tcase(s, "claim and checkin", 60);
    tcase_add_test(tc, test_claim_moves_to_active);
    tcase_add_test(tc, test_claim_flags_from_mode);
    tcase_add_test(tc, test_claim_vanished);
    tcase_add_test(tc, test_checkin_actions);
    tcase_add_test(tc, test_checkin_remove);
    tcase_add_test(tc, test_checkin_keeps_done_marks);
    tcase_add_test(tc, test_checkin_gone);

    tc = tcase(s, "administration", 60);
    tcase_add_test(tc, test_list_fields);
    tcase_add_test(tc, test_list_queues_and_stop);
    tcase_add_test(tc, test_hold_release);
    tcase_add_test(tc, test_delete_removes_logs);
    tcase_add_test(tc, test_requeue);
    tcase_add_test(tc, test_admin_errors);
    tcase_add_test(tc, test_counts);

    tc = tcase(s, "export and import", 60);
    tcase_add_test(tc, test_export_fields);
    tcase_add_test(tc, test_import_refuses_bad_state);
    tcase_add_test(tc, test_import_same_store_round_trip);
    tcase_add_test(tc, test_import_id_collision_short);
    tcase_add_test(tc, test_import_id_collision_long);
    tcase_add_test(tc, test_import_second_store_short_ids);
    tcase_add_test(tc, test_import_second_store_long_ids);

    tc = tcase(s, "recovery", 60);
    tcase_add_test(tc, test_recover_active);
    tcase_add_test(tc, test_recover_orphan_logs);

    tc = tcase(s, "crash safety", 300);
    tcase_add_loop_test(tc, test_crash, 0,
                        (int) (sizeof(crashes) / sizeof(crashes[0])));

    tc = tcase(s, "leases", 60);
    tcase_add_test(tc, test_claim_lease);
    tcase_add_test(tc, test_shared_fencing);

    tc = tcase(s, "accounting", 30);
    tcase_add_test(tc, test_stats);
    return s;
}
