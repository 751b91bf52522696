/*
 * scan_bench - fill a deferred queue fast, and time one deferred scan of a
 * queue store (the driver of bench/deferred-scan).
 *
 *	scan_bench fill QUEUE_DIR N [--later SECONDS] [--depth D]
 *			[--owner USER]
 *		Put N messages into QUEUE_DIR/deferred/ (hashed, depth D,
 *		default 1) whose next attempt is SECONDS (default 86400) from
 *		now, so that none is due.  Each file is a real queue file
 *		from the queue-file writer; to be fast, one file is written
 *		per 60000 messages and the others are hard links to it under
 *		generated long queue ids (so all share its mtime).  With
 *		--owner the files and directories are given to USER, as
 *		cleanup(8) would leave them.
 *	scan_bench scan SPEC QUEUE_DIR [--repeat R] [--depth D]
 *			[--sweep NAMES,ENTRIES]
 *		Open the store SPEC ("spool", "lmdb:/dir", ...) on QUEUE_DIR
 *		(timed: an LMDB index that is missing is built here), then
 *		run R (default 2) deferred scans, each one store_scan_open()
 *		plus store_scan_next() until it says the walk is done.  For
 *		lmdb, --sweep sets the background sweep's budget.
 *	scan_bench cycle SPEC QUEUE_DIR M
 *		Write M distinct ready messages into QUEUE_DIR/incoming/
 *		(untimed), open the store, then time one incoming scan that
 *		claims each candidate and checks it in as deferred for an hour:
 *		what each delivery attempt costs the store.
 *
 * Output: one line per measurement, "key=value" fields:
 *	open wall=S cpu=S user=S sys=S [rebuilds=N]
 *	scan N wall=S cpu=S user=S sys=S candidates=N [lstats=N names=N
 *	    dir_stats=N parsed=N]
 *	cycle wall=S cpu=S user=S sys=S messages=N [commits=N]
 * cpu is user + system time of this process from getrusage(), wall from
 * CLOCK_MONOTONIC.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "lmdb/lmdb_store.h"
#include "msg.h"
#include "qfile.h"
#include "queue_id.h"
#include "queue_path.h"
#include "store.h"
#include "strbuf.h"

#define LINKS_PER_FILE 60000 /* ext4 allows 65000 links per inode */
#define HASH_QUEUES    "deferred, defer"

typedef struct CLOCKS {
    double wall, user, sys;
} CLOCKS;

static void
now(CLOCKS *c)
{
    struct timespec ts;
    struct rusage ru;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    getrusage(RUSAGE_SELF, &ru);
    c->wall = ts.tv_sec + ts.tv_nsec / 1e9;
    c->user = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
    c->sys = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void
print_delta(const CLOCKS *a, const CLOCKS *b)
{
    printf(" wall=%.6f cpu=%.6f user=%.6f sys=%.6f", b->wall - a->wall,
           (b->user - a->user) + (b->sys - a->sys), b->user - a->user,
           b->sys - a->sys);
}

static void
usage(void)
{
    fprintf(stderr,
            "usage: scan_bench fill QUEUE_DIR N [--later S] [--depth D] "
            "[--owner USER]\n"
            "       scan_bench scan SPEC QUEUE_DIR [--repeat R] [--depth D] "
            "[--sweep NAMES,ENTRIES]\n"
            "       scan_bench cycle SPEC QUEUE_DIR M\n");
    exit(2);
}

/* Filling. */

typedef struct FILL {
    const char *queue_dir;
    int depth;
    long uid, gid;
    time_t when;
} FILL;

static void
make_dirs(const FILL *f, const char *path)
{
    char copy[4096];

    snprintf(copy, sizeof(copy), "%s", path);
    for (char *slash = strchr(copy + strlen(f->queue_dir) + 1, '/'); slash;
         slash = strchr(slash + 1, '/')) {
        *slash = 0;
        if (mkdir(copy, 0700) == 0) {
            if (f->uid >= 0 && chown(copy, (uid_t) f->uid, (gid_t) f->gid) < 0)
                msg_fatal("chown %s: %m", copy);
        } else if (errno != EEXIST) {
            msg_fatal("mkdir %s: %m", copy);
        }
        *slash = '/';
    }
}

static void
write_template(const FILL *f, const char *path, const STRBUF *bytes)
{
    struct timeval tv[2] = {{f->when, 0}, {f->when, 0}};
    int fd;

    make_dirs(f, path);
    if ((fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0600)) < 0)
        msg_fatal("create %s: %m", path);
    if (write(fd, strbuf_str(bytes), strbuf_len(bytes)) !=
        (ssize_t) strbuf_len(bytes))
        msg_fatal("write %s: %m", path);
    if (f->uid >= 0 && fchown(fd, (uid_t) f->uid, (gid_t) f->gid) < 0)
        msg_fatal("chown %s: %m", path);
    if (fchmod(fd, 0700) < 0 || futimes(fd, tv) < 0 || close(fd) < 0)
        msg_fatal("finish %s: %m", path);
}

static void
fill(const FILL *f, long n)
{
    static const QFILE_OUT_RCPT rcpt = {"user@dest.example", "", NULL, 0};
    static const char body[] = "Subject: deferred-scan benchmark\n\nbody\n";
    STRBUF *bytes = strbuf_alloc(1024);
    STRBUF *rel = strbuf_alloc(128);
    char template[4096], path[4096];
    char id[QUEUE_ID_BUFSIZE];
    QFILE_ENVELOPE e;
    long sec = (long) time(NULL);

    memset(&e, 0, sizeof(e));
    e.arrival_sec = sec - 3600;
    e.sender = "sender@origin.example";
    e.rcpts = &rcpt;
    e.rcpt_count = 1;
    e.content = body;
    e.content_len = sizeof(body) - 1;
    qfile_make(&e, bytes);
    for (long i = 0; i < n; i++) {
        queue_id_long(id, sizeof(id), sec, (i * 7919L + 17) % 1000000L,
                      (unsigned long) i + 1);
        queue_path(rel, HASH_QUEUES, f->depth, "deferred", id);
        snprintf(path, sizeof(path), "%s/%s", f->queue_dir, strbuf_str(rel));
        if (i % LINKS_PER_FILE == 0) {
            write_template(f, path, bytes);
            snprintf(template, sizeof(template), "%s", path);
            continue;
        }
        if (link(template, path) < 0) {
            make_dirs(f, path);
            if (link(template, path) < 0)
                msg_fatal("link %s %s: %m", template, path);
        }
    }
    strbuf_free(bytes);
    strbuf_free(rel);
}

static int
fill_main(int argc, char **argv)
{
    FILL f = {NULL, 1, -1, -1, 0};
    long later = 86400;
    long n;

    if (argc < 4)
        usage();
    f.queue_dir = argv[2];
    n = atol(argv[3]);
    for (int i = 4; i < argc; i++) {
        if (strcmp(argv[i], "--later") == 0 && i + 1 < argc) {
            later = atol(argv[++i]);
        } else if (strcmp(argv[i], "--depth") == 0 && i + 1 < argc) {
            f.depth = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--owner") == 0 && i + 1 < argc) {
            struct passwd *pw = getpwnam(argv[++i]);

            if (pw == NULL)
                msg_fatal("unknown user %s", argv[i]);
            f.uid = (long) pw->pw_uid;
            f.gid = (long) pw->pw_gid;
        } else {
            usage();
        }
    }
    f.when = time(NULL) + later;
    fill(&f, n);
    return 0;
}

/* Scanning. */

static long
one_scan(STORE *store)
{
    STORE_CAND cand[1000];
    STORE_SCAN *scan;
    long total = 0;
    int count;

    if ((scan = store_scan_open(store, STORE_Q_DEFERRED, 0)) == NULL)
        msg_fatal("scan: %s", store_error(store));
    while (store_scan_next(scan, cand, 1000, &count) == STORE_OK && count > 0)
        total += count;
    store_scan_close(scan);
    return total;
}

static void
bench_env(STORE_ENV *env, const char *queue_dir, int depth)
{
    memset(env, 0, sizeof(*env));
    env->queue_dir = queue_dir;
    env->hash_queues = HASH_QUEUES;
    env->hash_depth = depth;
    env->long_queue_ids = 1;
    env->node_name = "bench";
    env->lease_time = 300;
    env->timeout = 10;
    env->owner_uid = env->owner_gid = -1;
}

static int
scan_main(int argc, char **argv)
{
    const LMDB_COUNTERS *k;
    LMDB_COUNTERS before;
    STORE_STATUS status;
    STORE_ENV env;
    CLOCKS a, b;
    STORE *store;
    int repeat = 2;
    int depth = 1;
    int sweep_names = -1, sweep_entries = -1;

    if (argc < 4)
        usage();
    for (int i = 4; i < argc; i++) {
        if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else if (strcmp(argv[i], "--depth") == 0 && i + 1 < argc)
            depth = atoi(argv[++i]);
        else if (strcmp(argv[i], "--sweep") == 0 && i + 1 < argc &&
                 sscanf(argv[i + 1], "%d,%d", &sweep_names, &sweep_entries) ==
                     2)
            i++;
        else
            usage();
    }
    bench_env(&env, argv[3], depth);
    now(&a);
    if ((store = store_open(argv[2], &env, &status)) == NULL)
        msg_fatal("open %s: %s", argv[2], store_open_error());
    now(&b);
    k = lmdb_store_counters(store);
    printf("open");
    print_delta(&a, &b);
    if (k)
        printf(" rebuilds=%lu", k->rebuilds);
    printf("\n");
    if (k && sweep_names >= 0)
        lmdb_store_set_sweep(store, sweep_names, sweep_entries);
    for (int r = 1; r <= repeat; r++) {
        long found;

        if (k)
            before = *k;
        now(&a);
        found = one_scan(store);
        now(&b);
        printf("scan %d", r);
        print_delta(&a, &b);
        printf(" candidates=%ld", found);
        if (k)
            printf(" lstats=%lu names=%lu dir_stats=%lu parsed=%lu",
                   k->file_lstats - before.file_lstats,
                   k->names_read - before.names_read,
                   k->dir_stats - before.dir_stats,
                   k->files_parsed - before.files_parsed);
        printf("\n");
        fflush(stdout);
    }
    store_close(store);
    return 0;
}

/* Delivery attempts: claim and check in as deferred. */

static void
write_incoming(const char *queue_dir, long m)
{
    static const QFILE_OUT_RCPT rcpt = {"user@dest.example", "", NULL, 0};
    static const char body[] = "Subject: claim/checkin benchmark\n\nbody\n";
    FILL f = {queue_dir, 0, -1, -1, time(NULL) - 10};
    STRBUF *bytes = strbuf_alloc(1024);
    char id[QUEUE_ID_BUFSIZE], path[4096];
    QFILE_ENVELOPE e;
    long sec = (long) time(NULL);

    memset(&e, 0, sizeof(e));
    e.arrival_sec = sec - 60;
    e.sender = "sender@origin.example";
    e.rcpts = &rcpt;
    e.rcpt_count = 1;
    e.content = body;
    e.content_len = sizeof(body) - 1;
    qfile_make(&e, bytes);
    for (long i = 0; i < m; i++) {
        queue_id_long(id, sizeof(id), sec, (i * 7919L + 3) % 1000000L,
                      (unsigned long) (i + 5000000));
        snprintf(path, sizeof(path), "%s/incoming/%s", queue_dir, id);
        write_template(&f, path, bytes);
    }
    strbuf_free(bytes);
}

static int
cycle_main(int argc, char **argv)
{
    const LMDB_COUNTERS *k;
    unsigned long commits = 0;
    STORE_STATUS status;
    STORE_CAND cand[100];
    STORE_OUTCOME outcome = {STORE_DEFER, 0, 0};
    STORE_SCAN *scan;
    STORE_ENV env;
    CLOCKS a, b;
    STORE *store;
    long done = 0;
    int count;

    if (argc != 5)
        usage();
    write_incoming(argv[3], atol(argv[4]));
    bench_env(&env, argv[3], 1);
    if ((store = store_open(argv[2], &env, &status)) == NULL)
        msg_fatal("open %s: %s", argv[2], store_open_error());
    k = lmdb_store_counters(store);
    if (k)
        commits = k->commits;
    outcome.next_attempt = time(NULL) + 3600;
    now(&a);
    if ((scan = store_scan_open(store, STORE_Q_INCOMING, 0)) == NULL)
        msg_fatal("scan: %s", store_error(store));
    while (store_scan_next(scan, cand, 100, &count) == STORE_OK && count > 0) {
        for (int i = 0; i < count; i++) {
            STORE_CLAIM *claim;

            if (store_claim(store, &cand[i], &claim) != STORE_OK)
                msg_fatal("claim %s: %s", cand[i].id, store_error(store));
            if (store_checkin(store, claim, &outcome) != STORE_OK)
                msg_fatal("checkin %s: %s", cand[i].id, store_error(store));
            store_claim_free(claim);
            done++;
        }
    }
    store_scan_close(scan);
    now(&b);
    printf("cycle");
    print_delta(&a, &b);
    printf(" messages=%ld", done);
    if (k)
        printf(" commits=%lu", k->commits - commits);
    printf("\n");
    store_close(store);
    return 0;
}

int
main(int argc, char **argv)
{
    msg_init("scan_bench", NULL);
    if (argc < 2)
        usage();
    if (strcmp(argv[1], "fill") == 0)
        return fill_main(argc, argv);
    if (strcmp(argv[1], "scan") == 0)
        return scan_main(argc, argv);
    if (strcmp(argv[1], "cycle") == 0)
        return cycle_main(argc, argv);
    usage();
}
