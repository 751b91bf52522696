/*
 * test_spool_interop - the spool store on a queue that the installed
 * Postfix 3.7 writes, reads and finally delivers.
 *
 * One throwaway instance (tests/sandbox/pf-sandbox, --no-qmgr, so mail
 * waits in incoming/) is made for the whole program, five messages are
 * injected with sendmail(1), and the tests run in order on that queue:
 *	1. what cleanup(8) wrote is scanned, listed as postcat(1) shows it,
 *	   and claimed;
 *	2. the store defers, holds, removes and keeps a message active, and
 *	   postqueue -p / -j and postcat -q see exactly that; postsuper -h,
 *	   -H, -d and -r act on those files and the store's listing follows;
 *	   pickup(8) re-injects what postsuper -r and store_requeue() put in
 *	   maildrop/;
 *	3. Postfix's own qmgr takes the queue over (transport discard:) and
 *	   delivers every message, as its log shows.
 * The instance lives in a fresh directory under /tmp and is destroyed at
 * the end, also when a test failed.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "strbuf.h"
#include "xalloc.h"

#define MESSAGES         5
#define SETTLE_SECONDS   20 /* pickup, cleanup: a few seconds at most */
#define TAKEOVER_SECONDS 30

static char tool[PATH_MAX];         /* pf-sandbox */
static char sandbox[PATH_MAX - 64]; /* the instance's directory */
static char setup_error[1024];      /* why the instance is not usable */
static char hash_queues[256];
static int hash_depth;

/*
 * Commands.
 */

/* Run a shell command, output (stdout and stderr) into out; exit status. */
static int
run(STRBUF *out, const char *fmt, ...)
{
    STRBUF *cmd = strbuf_alloc(256);
    char chunk[4096];
    va_list ap;
    FILE *fp;
    size_t n;
    int status;

    va_start(ap, fmt);
    strbuf_vaddf(cmd, fmt, ap);
    va_end(ap);
    strbuf_addstr(cmd, " 2>&1");
    if (out)
        strbuf_reset(out);
    if ((fp = popen(strbuf_str(cmd), "r")) == NULL) {
        strbuf_free(cmd);
        return -1;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        if (out)
            strbuf_addmem(out, chunk, n);
    status = pclose(fp);
    strbuf_free(cmd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The end of a long output, short enough for a Check failure message. */
static const char *
tail(const STRBUF *out)
{
    size_t len = strbuf_len(out);

    return strbuf_str(out) + (len > 1500 ? len - 1500 : 0);
}

/* The value of a main.cf parameter of the instance, without newline. */
static int
postconf(const char *name, char *buf, size_t len)
{
    STRBUF *out = strbuf_alloc(100);
    int status = run(out, "/usr/sbin/postconf -c %s/etc -h %s", sandbox, name);

    snprintf(buf, len, "%.*s", (int) strcspn(strbuf_str(out), "\n"),
             strbuf_str(out));
    strbuf_free(out);
    return status;
}

/*
 * The store on the instance's queue directory, as pqmgr would open it.
 */

static void
make_env(STORE_ENV *env, char *queue_dir, size_t len)
{
    struct passwd *pw = getpwnam("postfix");

    snprintf(queue_dir, len, "%s/spool", sandbox);
    memset(env, 0, sizeof(*env));
    env->queue_dir = queue_dir;
    env->hash_queues = hash_queues;
    env->hash_depth = hash_depth;
    env->node_name = "interop.example";
    env->lease_time = 60;
    env->timeout = 10;
    env->owner_uid = pw ? (long) pw->pw_uid : -1;
    env->owner_gid = pw ? (long) pw->pw_gid : -1;
}

static STORE *
open_store(void)
{
    static char queue_dir[PATH_MAX];
    STORE_STATUS status;
    STORE_ENV env;
    STORE *store;

    ck_assert_msg(setup_error[0] == 0, "no Postfix instance: %s", setup_error);
    make_env(&env, queue_dir, sizeof(queue_dir));
    store = store_open("spool", &env, &status);
    ck_assert_msg(store != NULL, "open spool store: %s", store_open_error());
    return store;
}

/* One message of the listing, found by its (only) recipient. */
typedef struct FOUND {
    const char *want_rcpt; /* NULL: count everything */
    int count;             /* messages listed (with want_rcpt, if set) */
    char id[STORE_ID_MAX];
    int queue;
    time_t next_attempt;
    long size;
    char sender[256];
    char rcpts[1024]; /* "a,b,c" */
} FOUND;

static int
find_by_rcpt(const STORE_MSG_INFO *info, void *context)
{
    FOUND *f = context;

    if (f->want_rcpt && (info->rcpt_count < 1 ||
                         strcmp(info->rcpts[0].address, f->want_rcpt) != 0))
        return 0;
    f->count++;
    snprintf(f->id, sizeof(f->id), "%s", info->id);
    f->queue = info->queue;
    f->next_attempt = info->next_attempt;
    f->size = info->size;
    snprintf(f->sender, sizeof(f->sender), "%s", info->sender);
    f->rcpts[0] = 0;
    for (size_t i = 0; i < info->rcpt_count; i++) {
        size_t used = strlen(f->rcpts);

        snprintf(f->rcpts + used, sizeof(f->rcpts) - used, "%s%s", i ? "," : "",
                 info->rcpts[i].address);
    }
    return 0;
}

/* Where message n (recipient m<n>@example.net) is; f->count 0: nowhere. */
static void
locate(STORE *store, int n, FOUND *f, char *rcpt, size_t len)
{
    snprintf(rcpt, len, "m%d@example.net", n);
    memset(f, 0, sizeof(*f));
    f->want_rcpt = rcpt;
    ck_assert_int_eq(store_list(store, STORE_Q_ALL, find_by_rcpt, f), STORE_OK);
    ck_assert_msg(f->count <= 1, "message %d listed %d times", n, f->count);
}

static int
count_messages(STORE *store, int queues)
{
    FOUND f;

    memset(&f, 0, sizeof(f));
    ck_assert_int_eq(store_list(store, queues, find_by_rcpt, &f), STORE_OK);
    return f.count;
}

static STORE_CLAIM *
claim_id(STORE *store, int queue, const char *id)
{
    STORE_SCAN *scan = store_scan_open(store, queue, STORE_SCAN_ALL);
    STORE_CLAIM *claim = NULL;
    STORE_CAND cand[32];
    int count;

    ck_assert_ptr_nonnull(scan);
    while (claim == NULL &&
           store_scan_next(scan, cand, 32, &count) == STORE_OK && count > 0)
        for (int i = 0; i < count && claim == NULL; i++)
            if (strcmp(cand[i].id, id) == 0)
                ck_assert_msg(store_claim(store, &cand[i], &claim) == STORE_OK,
                              "claim %s: %s", id, store_error(store));
    store_scan_close(scan);
    ck_assert_msg(claim != NULL, "%s not found in %s", id,
                  store_queue_name(queue));
    return claim;
}

static STORE_STATUS
checkin(STORE *store, STORE_CLAIM *claim, STORE_ACTION action, time_t next)
{
    STORE_OUTCOME outcome = {action, next, 0};
    STORE_STATUS status = store_checkin(store, claim, &outcome);

    store_claim_free(claim);
    return status;
}

/*
 * What Postfix's tools say.
 */

/* postcat -q: the envelope's sender and recipients ("a,b,c"). */
static void
postcat_envelope(const char *id, char *sender, size_t slen, char *rcpts,
                 size_t rlen)
{
    STRBUF *out = strbuf_alloc(2048);
    char *line, *save = NULL;
    int status;

    status = run(out, "/usr/sbin/postcat -c %s/etc -q %s", sandbox, id);
    ck_assert_msg(status == 0, "postcat -q %s: %s", id, tail(out));
    sender[0] = rcpts[0] = 0;
    for (line = strtok_r(strbuf_str(out), "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "*** MESSAGE CONTENTS", 20) == 0)
            break;
        if (strncmp(line, "sender: ", 8) == 0)
            snprintf(sender, slen, "%s", line + 8);
        if (strncmp(line, "recipient: ", 11) == 0) {
            size_t used = strlen(rcpts);

            snprintf(rcpts + used, rlen - used, "%s%s", used ? "," : "",
                     line + 11);
        }
    }
    strbuf_free(out);
}

/*
 * postqueue -p: the status character after the id ('*' active, '!' hold,
 * ' ' otherwise) and the size column; 0 when the id is not shown.
 */
static int
postqueue_mark(const STRBUF *listing, const char *id, long *size)
{
    size_t len = strlen(id);

    for (const char *line = strbuf_str(listing); line && *line;) {
        if (strncmp(line, id, len) == 0 && strchr("*! ", line[len]) != NULL) {
            *size = strtol(line + len + 1, NULL, 10);
            return line[len];
        }
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    return 0;
}

/* postqueue -j: the queue_name of the record for id, "" when none. */
static void
postqueue_json_queue(const STRBUF *json, const char *id, char *queue,
                     size_t len)
{
    char key[STORE_ID_MAX + 20];
    const char *hit;
    const char *line;
    const char *name;

    queue[0] = 0;
    snprintf(key, sizeof(key), "\"queue_id\": \"%s\"", id);
    if ((hit = strstr(strbuf_str(json), key)) == NULL)
        return;
    for (line = hit; line > strbuf_str(json) && line[-1] != '\n'; line--)
        continue;
    if ((name = strstr(line, "\"queue_name\": \"")) == NULL || name > hit)
        return;
    name += 15;
    snprintf(queue, len, "%.*s", (int) strcspn(name, "\""), name);
}

static void
postsuper(const char *option, const char *id)
{
    STRBUF *out = strbuf_alloc(256);
    int status;

    status =
        run(out, "/usr/sbin/postsuper -c %s/etc %s %s", sandbox, option, id);
    ck_assert_msg(status == 0, "postsuper %s %s: %s", option, id, tail(out));
    strbuf_free(out);
}

/*
 * postqueue -f; right after a reload the queue manager's endpoint may not
 * be there yet (postqueue then says the mail system is down): try again.
 */
static void
flush_queue(void)
{
    STRBUF *out = strbuf_alloc(256);
    int status = -1;

    for (int tries = 0; status != 0 && tries < 50; tries++) {
        if (tries)
            usleep(100000);
        status = run(out, "/usr/sbin/postqueue -c %s/etc -f", sandbox);
    }
    ck_assert_msg(status == 0, "postqueue -f: %s", tail(out));
    strbuf_free(out);
}

/* Tell pickup(8) to look at maildrop/ now (postsuper -r does not). */
static void
kick_pickup(void)
{
    STRBUF *out = strbuf_alloc(256);
    int status;

    status = run(out, "/usr/sbin/postkick -c %s/etc public pickup W", sandbox);
    ck_assert_msg(status == 0, "postkick: %s", tail(out));
    strbuf_free(out);
}

/* Wait until message n is in incoming/ under an id other than old_id. */
static void
wait_reinjected(STORE *store, int n, const char *old_id, FOUND *f)
{
    char rcpt[64];

    for (int tries = 0; tries < SETTLE_SECONDS * 10; tries++) {
        locate(store, n, f, rcpt, sizeof(rcpt));
        if (f->count == 1 && f->queue == STORE_Q_INCOMING &&
            strcmp(f->id, old_id) != 0)
            return;
        if (tries % 20 == 10)
            kick_pickup();
        usleep(100000);
    }
    ck_abort_msg("message %d (was %s) not re-injected by pickup", n, old_id);
}

/*
 * The instance: made, started and filled once, destroyed at the end.  This
 * runs outside the tests (unchecked fixture): failures are recorded in
 * setup_error and reported by every test.
 */

static void
sandbox_up(void)
{
    const char *top = getenv("PQ_TOP");
    STRBUF *out = strbuf_alloc(1024);
    STORE_STATUS status;
    char queue_dir[PATH_MAX];
    char depth[32];
    STORE_ENV env;
    STORE *store;
    int ready = 0;

    snprintf(tool, sizeof(tool), "%s/tests/sandbox/pf-sandbox",
             top ? top : ".");
    snprintf(sandbox, sizeof(sandbox), "/tmp/pq-interop.XXXXXX");
    if (getuid() != 0) {
        snprintf(setup_error, sizeof(setup_error), "must run as root");
    } else if (mkdtemp(sandbox) == NULL) {
        snprintf(setup_error, sizeof(setup_error), "mkdtemp: %s",
                 strerror(errno));
        sandbox[0] = 0;
    } else if (run(out, "%s create %s --no-qmgr", tool, sandbox) != 0 ||
               run(out, "%s start %s", tool, sandbox) != 0) {
        snprintf(setup_error, sizeof(setup_error), "pf-sandbox: %s",
                 strbuf_str(out));
    } else if (postconf("hash_queue_names", hash_queues, sizeof(hash_queues)) !=
                   0 ||
               postconf("hash_queue_depth", depth, sizeof(depth)) != 0) {
        snprintf(setup_error, sizeof(setup_error), "postconf failed");
    }
    hash_depth = atoi(depth);
    for (int n = 1; setup_error[0] == 0 && n <= MESSAGES; n++)
        if (run(out,
                "printf 'Subject: interop %d\\n\\nbody of message %d\\n' | "
                "/usr/sbin/sendmail -C %s/etc -f s%d@example.org "
                "m%d@example.net",
                n, n, sandbox, n, n) != 0)
            snprintf(setup_error, sizeof(setup_error), "sendmail: %s",
                     strbuf_str(out));
    /* Wait until cleanup has made all of them (ready files in incoming/). */
    make_env(&env, queue_dir, sizeof(queue_dir));
    for (int tries = 0; setup_error[0] == 0 && ready < MESSAGES; tries++) {
        FOUND f;

        memset(&f, 0, sizeof(f));
        if ((store = store_open("spool", &env, &status)) != NULL) {
            store_list(store, STORE_Q_INCOMING, find_by_rcpt, &f);
            store_close(store);
        }
        ready = f.count;
        if (tries > SETTLE_SECONDS * 10)
            snprintf(setup_error, sizeof(setup_error),
                     "only %d of %d messages arrived", ready, MESSAGES);
        else if (ready < MESSAGES)
            usleep(100000);
    }
    strbuf_free(out);
}

static void
sandbox_down(void)
{
    if (sandbox[0] == 0)
        return;
    (void) run(NULL, "%s destroy %s", tool, sandbox);
    (void) run(NULL, "rm -rf %s", sandbox);
}

/*
 * 1. A queue written by cleanup(8).
 */

START_TEST(test_real_queue_scan_list_claim)
{
    STORE *store = open_store();
    STORE_CAND cand[16];
    STORE_CLAIM *claim;
    STORE_SCAN *scan;
    STRBUF *out = strbuf_alloc(2048);
    char path[PATH_MAX + 64];
    char sender[256], rcpts[1024], queue[32], rcpt[64];
    FOUND f;
    int count;

    scan = store_scan_open(store, STORE_Q_INCOMING, 0);
    ck_assert_ptr_nonnull(scan);
    ck_assert_int_eq(store_scan_next(scan, cand, 16, &count), STORE_OK);
    ck_assert_int_eq(count, MESSAGES);
    store_scan_close(scan);

    for (int n = 1; n <= MESSAGES; n++) {
        char want[64];

        locate(store, n, &f, rcpt, sizeof(rcpt));
        ck_assert_int_eq(f.count, 1);
        ck_assert_int_eq(f.queue, STORE_Q_INCOMING);
        postcat_envelope(f.id, sender, sizeof(sender), rcpts, sizeof(rcpts));
        snprintf(want, sizeof(want), "s%d@example.org", n);
        ck_assert_str_eq(f.sender, want);
        ck_assert_str_eq(f.sender, sender);
        ck_assert_str_eq(f.rcpts, rcpts);
    }

    /* Claim message 1: the active file is where delivery agents look. */
    locate(store, 1, &f, rcpt, sizeof(rcpt));
    claim = claim_id(store, STORE_Q_INCOMING, f.id);
    snprintf(path, sizeof(path), "%s/spool/%s", sandbox, claim->path);
    ck_assert_int_eq(access(path, R_OK), 0);
    ck_assert_int_eq(claim->flags, 0);
    ck_assert_int_eq(run(out, "/usr/sbin/postqueue -c %s/etc -j", sandbox), 0);
    postqueue_json_queue(out, f.id, queue, sizeof(queue));
    ck_assert_str_eq(queue, "active");
    postcat_envelope(f.id, sender, sizeof(sender), rcpts, sizeof(rcpts));
    ck_assert_str_eq(sender, "s1@example.org");
    ck_assert_int_eq(checkin(store, claim, STORE_BACK, time(NULL)), STORE_OK);
    ck_assert_int_eq(run(out, "/usr/sbin/postqueue -c %s/etc -j", sandbox), 0);
    postqueue_json_queue(out, f.id, queue, sizeof(queue));
    ck_assert_str_eq(queue, "incoming");
    strbuf_free(out);
    store_close(store);
}
END_TEST

/*
 * 2. The store's changes as Postfix's tools see them, and the other way.
 */

START_TEST(test_postfix_tools_and_store_agree)
{
    static const struct {
        int mark;
        const char *queue;
    } expect[MESSAGES + 1] = {
        {0, NULL}, {' ', "deferred"}, {'!', "hold"},
        {0, ""},   {'*', "active"},   {' ', "incoming"},
    };
    STORE *store = open_store();
    STRBUF *out = strbuf_alloc(4096);
    STRBUF *json = strbuf_alloc(4096);
    time_t later = time(NULL) + 3600;
    STORE_CLAIM *claim[MESSAGES + 1];
    char id[MESSAGES + 1][STORE_ID_MAX];
    char sender[256], rcpts[1024], queue[32], rcpt[64];
    FOUND f;

    for (int n = 1; n <= MESSAGES; n++) {
        locate(store, n, &f, rcpt, sizeof(rcpt));
        ck_assert_int_eq(f.count, 1);
        snprintf(id[n], sizeof(id[n]), "%s", f.id);
    }
    for (int n = 1; n <= 4; n++)
        claim[n] = claim_id(store, STORE_Q_INCOMING, id[n]);
    ck_assert_int_eq(checkin(store, claim[1], STORE_DEFER, later), STORE_OK);
    ck_assert_int_eq(checkin(store, claim[2], STORE_HOLD, 0), STORE_OK);
    ck_assert_int_eq(checkin(store, claim[3], STORE_REMOVE, 0), STORE_OK);

    ck_assert_int_eq(run(out, "/usr/sbin/postqueue -c %s/etc -p", sandbox), 0);
    ck_assert_int_eq(run(json, "/usr/sbin/postqueue -c %s/etc -j", sandbox), 0);
    for (int n = 1; n <= MESSAGES; n++) {
        long size = -1;
        int mark = postqueue_mark(out, id[n], &size);

        ck_assert_msg(mark == expect[n].mark,
                      "postqueue -p: message %d (%s): mark '%c', want '%c'\n%s",
                      n, id[n], mark ? mark : '0',
                      expect[n].mark ? expect[n].mark : '0', tail(out));
        postqueue_json_queue(json, id[n], queue, sizeof(queue));
        ck_assert_str_eq(queue, expect[n].queue);
        if (mark) {
            locate(store, n, &f, rcpt, sizeof(rcpt));
            ck_assert_int_eq(f.size, size);
        }
    }
    /* postcat finds the deferred (hashed) and the held file. */
    postcat_envelope(id[1], sender, sizeof(sender), rcpts, sizeof(rcpts));
    ck_assert_str_eq(sender, "s1@example.org");
    postcat_envelope(id[2], sender, sizeof(sender), rcpts, sizeof(rcpts));
    ck_assert_str_eq(rcpts, "m2@example.net");

    /* postsuper -h / -H on the deferred message; the time stamp stays. */
    postsuper("-h", id[1]);
    locate(store, 1, &f, rcpt, sizeof(rcpt));
    ck_assert_int_eq(f.queue, STORE_Q_HOLD);
    postsuper("-H", id[1]);
    locate(store, 1, &f, rcpt, sizeof(rcpt));
    ck_assert_int_eq(f.queue, STORE_Q_DEFERRED);
    ck_assert_int_eq(f.next_attempt, later);

    /* postsuper -h on the active message: our checkin finds it gone. */
    postsuper("-h", id[4]);
    locate(store, 4, &f, rcpt, sizeof(rcpt));
    ck_assert_int_eq(f.queue, STORE_Q_HOLD);
    ck_assert_int_eq(checkin(store, claim[4], STORE_DEFER, later), STORE_GONE);
    locate(store, 4, &f, rcpt, sizeof(rcpt));
    ck_assert_int_eq(f.queue, STORE_Q_HOLD);

    /* postsuper -d on the held message. */
    postsuper("-d", id[2]);
    locate(store, 2, &f, rcpt, sizeof(rcpt));
    ck_assert_int_eq(f.count, 0);

    /* postsuper -r, and our own requeue: pickup re-injects both. */
    postsuper("-r", id[5]);
    ck_assert_int_eq(store_requeue(store, id[4]), STORE_OK);
    kick_pickup();
    wait_reinjected(store, 5, id[5], &f);
    wait_reinjected(store, 4, id[4], &f);
    ck_assert_int_eq(count_messages(store, STORE_Q_MAILDROP), 0);
    ck_assert_int_eq(run(json, "/usr/sbin/postqueue -c %s/etc -j", sandbox), 0);
    postqueue_json_queue(json, f.id, queue, sizeof(queue));
    ck_assert_str_eq(queue, "incoming");
    strbuf_free(out);
    strbuf_free(json);
    store_close(store);
}
END_TEST

/*
 * 3. Postfix's own queue manager takes over and delivers everything.
 */

static int
log_shows_sent(const STRBUF *log, const char *id, const char *rcpt)
{
    char key[STORE_ID_MAX + 100];
    const char *hit;

    snprintf(key, sizeof(key), "%s: to=<%s>,", id, rcpt);
    for (hit = strstr(strbuf_str(log), key); hit; hit = strstr(hit + 1, key)) {
        const char *end = strchr(hit, '\n');
        const char *sent = strstr(hit, "status=sent");

        if (sent && (end == NULL || sent < end))
            return 1;
    }
    return 0;
}

typedef struct LEFT {
    int count;
    char id[16][STORE_ID_MAX];
    char rcpt[16][128];
} LEFT;

static int
collect_left(const STORE_MSG_INFO *info, void *context)
{
    LEFT *left = context;

    if (left->count < 16) {
        snprintf(left->id[left->count], STORE_ID_MAX, "%s", info->id);
        snprintf(left->rcpt[left->count], 128, "%s",
                 info->rcpt_count ? info->rcpts[0].address : "");
    }
    left->count++;
    return 0;
}

START_TEST(test_postfix_qmgr_takes_over)
{
    STORE *store = open_store();
    STRBUF *out = strbuf_alloc(8192);
    char path[PATH_MAX + 64];
    LEFT left, now;
    FILE *fp;
    int done = 0;

    /* What pqmgr does at start-up, then release everything held. */
    ck_assert_int_eq(store_recover(store), STORE_OK);
    memset(&left, 0, sizeof(left));
    ck_assert_int_eq(store_list(store, STORE_Q_HOLD, collect_left, &left),
                     STORE_OK);
    for (int i = 0; i < left.count && i < 16; i++)
        ck_assert_int_eq(store_release(store, left.id[i]), STORE_OK);
    memset(&left, 0, sizeof(left));
    ck_assert_int_eq(store_list(store, STORE_Q_ALL, collect_left, &left),
                     STORE_OK);
    ck_assert_int_ge(left.count, 1);
    ck_assert_int_le(left.count, 16);

    snprintf(path, sizeof(path), "%s/etc/transport", sandbox);
    ck_assert_ptr_nonnull(fp = fopen(path, "w"));
    fputs("example.net discard:\n", fp);
    ck_assert_int_eq(fclose(fp), 0);
    ck_assert_int_eq(run(out, "%s enable-qmgr %s", tool, sandbox), 0);
    flush_queue();

    for (int tries = 0; !done && tries < TAKEOVER_SECONDS * 10; tries++) {
        usleep(100000);
        memset(&now, 0, sizeof(now));
        ck_assert_int_eq(store_list(store, STORE_Q_ALL, collect_left, &now),
                         STORE_OK);
        snprintf(path, sizeof(path), "%s/maillog", sandbox);
        ck_assert_int_eq(run(out, "cat %s", path), 0);
        done = now.count == 0;
        for (int i = 0; done && i < left.count; i++)
            done = log_shows_sent(out, left.id[i], left.rcpt[i]);
    }
    ck_assert_msg(done, "queue not delivered by Postfix's qmgr in %d s:\n%s",
                  TAKEOVER_SECONDS, tail(out));
    strbuf_free(out);
    store_close(store);
}
END_TEST

static Suite *
interop_suite(void)
{
    Suite *s = suite_create("spool store and Postfix 3.7");
    TCase *tc = tcase_create("sandbox");

    tcase_add_unchecked_fixture(tc, sandbox_up, sandbox_down);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_real_queue_scan_list_claim);
    tcase_add_test(tc, test_postfix_tools_and_store_agree);
    tcase_add_test(tc, test_postfix_qmgr_takes_over);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(interop_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
