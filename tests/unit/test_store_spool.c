/*
 * test_store_spool - the store conformance suite on the classic spool
 * backend, and what only the spool promises: Postfix's own names for
 * imported files, the saved/ directory, recovery's care with files that are
 * not its own.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qfile.h"
#include "queue_id.h"
#include "queue_path.h"
#include "store.h"
#include "store_conformance.h"
#include "strbuf.h"

static int
spool_make_store(const STORE_CONFORMANCE_BACKEND *be, const char *dir,
                 STORE_ENV *env, char *spec, size_t spec_len)
{
    snprintf(spec, spec_len, "spool");
    return 0;
}

static const STORE_CONFORMANCE_BACKEND spool_backend = {
    .type = "spool",
    .caps = STORE_CAP_POSTFIX,
    .bad_name_spec = "spool:/var/lib/elsewhere",
    .make_store = spool_make_store,
    .make_peer = NULL,
    .destroy_store = NULL,
    .context = NULL,
};

/*
 * A spool of one test: a temporary queue directory with Postfix's
 * subdirectories and default hashing.
 */

typedef struct SPOOL_T {
    char dir[256];
    char queue_dir[300];
    STORE_ENV env;
    STORE *store;
} SPOOL_T;

static void
spool_up(SPOOL_T *t, long owner)
{
    static const char *const dirs[] = {
        "incoming", "active", "deferred", "hold",     "corrupt",
        "defer",    "bounce", "trace",    "maildrop", NULL};
    char path[400];
    STORE_STATUS status;

    memset(t, 0, sizeof(*t));
    snprintf(t->dir, sizeof(t->dir), "/tmp/pq-spool-test.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(t->dir));
    snprintf(t->queue_dir, sizeof(t->queue_dir), "%s/queue", t->dir);
    ck_assert_int_eq(mkdir(t->queue_dir, 0755), 0);
    for (int i = 0; dirs[i]; i++) {
        snprintf(path, sizeof(path), "%s/%s", t->queue_dir, dirs[i]);
        ck_assert_int_eq(mkdir(path, 0700), 0);
    }
    t->env.queue_dir = t->queue_dir;
    t->env.hash_queues = "deferred, defer";
    t->env.hash_depth = 1;
    t->env.node_name = "node-a.example";
    t->env.lease_time = 60;
    t->env.timeout = 10;
    t->env.owner_uid = owner;
    t->env.owner_gid = owner;
    t->store = store_open("spool", &t->env, &status);
    ck_assert_msg(t->store != NULL, "%s", store_open_error());
}

static void
spool_down(SPOOL_T *t)
{
    store_close(t->store);
    store_conformance_remove_tree(t->dir);
}

static void
path_of(const SPOOL_T *t, const char *queue, const char *id, char *buf,
        size_t len)
{
    STRBUF *rel = strbuf_alloc(64);

    queue_path(rel, t->env.hash_queues, t->env.hash_depth, queue, id);
    snprintf(buf, len, "%s/%s", t->queue_dir, strbuf_str(rel));
    strbuf_free(rel);
}

/* A ready message file in incoming/, named as cleanup names it. */
static void
put_message(SPOOL_T *t, char *id, size_t id_len, STRBUF *bytes)
{
    static const QFILE_OUT_RCPT rcpt = {"a@example.net", "a@example.net", NULL,
                                        0};
    char temp[400], final[400];
    QFILE_ENVELOPE e;
    struct timeval tv;
    struct stat st;
    int fd;

    gettimeofday(&tv, NULL);
    memset(&e, 0, sizeof(e));
    e.arrival_sec = tv.tv_sec;
    e.arrival_usec = tv.tv_usec;
    e.sender = "s@example.org";
    e.rcpts = &rcpt;
    e.rcpt_count = 1;
    e.content = "Subject: x\n\nbody\n";
    e.content_len = strlen(e.content);
    qfile_make(&e, bytes);
    snprintf(temp, sizeof(temp), "%s/incoming/%ld.%ld", t->queue_dir,
             (long) tv.tv_usec, (long) getpid());
    ck_assert_int_ge(fd = open(temp, O_CREAT | O_EXCL | O_WRONLY, 0600), 0);
    ck_assert_int_eq(fstat(fd, &st), 0);
    queue_id_short(id, id_len, (long) tv.tv_usec, (unsigned long) st.st_ino);
    path_of(t, "incoming", id, final, sizeof(final));
    ck_assert_int_eq(rename(temp, final), 0);
    ck_assert_int_eq(write(fd, strbuf_str(bytes), strbuf_len(bytes)),
                     (ssize_t) strbuf_len(bytes));
    ck_assert_int_eq(fchmod(fd, 0700), 0);
    ck_assert_int_eq(close(fd), 0);
}

static STORE_CLAIM *
claim(SPOOL_T *t, int queue, const char *id)
{
    STORE_CAND cand;
    STORE_CLAIM *c = NULL;

    memset(&cand, 0, sizeof(cand));
    snprintf(cand.id, sizeof(cand.id), "%s", id);
    cand.queue = queue;
    ck_assert_int_eq(store_claim(t->store, &cand, &c), STORE_OK);
    return c;
}

static void
check_in(SPOOL_T *t, STORE_CLAIM *c, STORE_ACTION action, time_t next)
{
    STORE_OUTCOME outcome = {action, next, 0};

    ck_assert_int_eq(store_checkin(t->store, c, &outcome), STORE_OK);
    store_claim_free(c);
}

/* dont_remove: "removed" mail is kept in saved/, its logs go. */
START_TEST(test_dont_remove_saves)
{
    char id[64], path[400], log[400];
    STRBUF *bytes = strbuf_alloc(512);
    STORE_STATUS status;
    SPOOL_T t;

    spool_up(&t, -1);
    store_close(t.store);
    t.env.dont_remove = 1;
    ck_assert_ptr_nonnull(t.store = store_open("spool", &t.env, &status));
    put_message(&t, id, sizeof(id), bytes);
    path_of(&t, "bounce", id, log, sizeof(log));
    ck_assert_int_ge(creat(log, 0600), 0);
    check_in(&t, claim(&t, STORE_Q_INCOMING, id), STORE_REMOVE, 0);
    snprintf(path, sizeof(path), "%s/saved/%s", t.queue_dir, id);
    ck_assert_int_eq(access(path, F_OK), 0);
    path_of(&t, "active", id, path, sizeof(path));
    ck_assert_int_ne(access(path, F_OK), 0);
    ck_assert_int_ne(access(log, F_OK), 0);
    strbuf_free(bytes);
    spool_down(&t);
}
END_TEST

/* Recovery leaves what is not its own: bad names, live imports. */
START_TEST(test_recover_leaves_foreign_files)
{
    char path[400], live[400], dead[400], mine[400];
    SPOOL_T t;
    pid_t pid;

    spool_up(&t, -1);
    snprintf(path, sizeof(path), "%s/active/not.a.queue.id", t.queue_dir);
    ck_assert_int_ge(creat(path, 0700), 0);
    /* Temporaries of a live importer, a dead one and this process. */
    snprintf(live, sizeof(live), "%s/incoming/%ld.0.pqimport", t.queue_dir,
             (long) getppid());
    ck_assert_int_ge(pid = fork(), 0);
    if (pid == 0)
        _exit(0);
    ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
    snprintf(dead, sizeof(dead), "%s/incoming/%ld.3.pqimport", t.queue_dir,
             (long) pid);
    snprintf(mine, sizeof(mine), "%s/incoming/%ld.7.pqimport", t.queue_dir,
             (long) getpid());
    ck_assert_int_ge(creat(live, 0600), 0);
    ck_assert_int_ge(creat(dead, 0600), 0);
    ck_assert_int_ge(creat(mine, 0600), 0);
    ck_assert_int_eq(store_recover(t.store), STORE_OK);
    ck_assert_int_eq(access(path, F_OK), 0);
    ck_assert_int_eq(access(live, F_OK), 0);
    ck_assert_int_ne(access(dead, F_OK), 0);
    ck_assert_int_ne(access(mine, F_OK), 0);
    spool_down(&t);
}
END_TEST

/*
 * Imported files follow Postfix's rules: a short id names the new inode
 * (first five characters kept), mode 0700 plus the request bits, mtime the
 * next attempt, owner $mail_owner; new hash directories belong to it too.
 */
START_TEST(test_import_postfix_names_and_modes)
{
    struct passwd *pw = getpwnam("nobody");
    long owner = pw ? (long) pw->pw_uid : 65534;
    STRBUF *bytes = strbuf_alloc(512);
    char id[64], new_id[STORE_ID_MAX], want[STORE_ID_MAX], path[400];
    time_t next = time(NULL) + 5000;
    STORE_EXPORT *exp;
    struct stat st;
    SPOOL_T t;

    spool_up(&t, owner);
    put_message(&t, id, sizeof(id), bytes);
    check_in(&t, claim(&t, STORE_Q_INCOMING, id), STORE_DEFER, next);
    ck_assert_int_eq(store_export(t.store, id, &exp), STORE_OK);
    exp->flags = STORE_MSG_UNTHROTTLE | STORE_MSG_EXPIRE;
    ck_assert_int_eq(store_delete(t.store, id), STORE_OK);
    /* Remove the hash directory so that the import has to make it. */
    path_of(&t, "deferred", id, path, sizeof(path));
    *strrchr(path, '/') = 0;
    ck_assert_int_eq(rmdir(path), 0);
    ck_assert_int_eq(store_import(t.store, exp, new_id, sizeof(new_id)),
                     STORE_OK);
    path_of(&t, "deferred", new_id, path, sizeof(path));
    ck_assert_int_eq(lstat(path, &st), 0);
    snprintf(want, sizeof(want), "%.5s%lX", id, (unsigned long) st.st_ino);
    ck_assert_str_eq(new_id, want);
    ck_assert_int_eq(st.st_mode & 07777, 0750);
    ck_assert_int_eq(st.st_mtime, next);
    ck_assert_int_eq((long) st.st_uid, owner);
    *strrchr(path, '/') = 0;
    ck_assert_int_eq(lstat(path, &st), 0);
    ck_assert_int_eq((long) st.st_uid, owner);
    ck_assert_int_eq(st.st_mode & 07777, 0700);
    store_export_free(exp);
    strbuf_free(bytes);
    spool_down(&t);
}
END_TEST

/* What cannot be read is still listed (and exported byte for byte). */
START_TEST(test_corrupt_file_listed)
{
    static const char garbage[] = "this is not a queue file\n";
    char path[400];
    STORE_EXPORT *exp;
    STORE_COUNTS counts;
    SPOOL_T t;
    int fd;

    spool_up(&t, -1);
    snprintf(path, sizeof(path), "%s/corrupt/ABCDEF123", t.queue_dir);
    ck_assert_int_ge(fd = open(path, O_CREAT | O_WRONLY, 0400), 0);
    ck_assert_int_eq(write(fd, garbage, sizeof(garbage) - 1),
                     (ssize_t) sizeof(garbage) - 1);
    close(fd);
    ck_assert_int_eq(store_counts(t.store, &counts), STORE_OK);
    ck_assert_int_eq(counts.messages[store_queue_index(STORE_Q_CORRUPT)], 1);
    ck_assert_uint_eq(counts.dest_count, 0);
    store_counts_free(&counts);
    ck_assert_int_eq(store_export(t.store, "ABCDEF123", &exp), STORE_OK);
    ck_assert_int_eq(exp->queue, STORE_Q_CORRUPT);
    ck_assert_uint_eq(exp->file_len, sizeof(garbage) - 1);
    ck_assert_int_eq(memcmp(exp->file, garbage, exp->file_len), 0);
    store_export_free(exp);
    ck_assert_int_eq(store_delete(t.store, "ABCDEF123"), STORE_OK);
    ck_assert_int_ne(access(path, F_OK), 0);
    spool_down(&t);
}
END_TEST

/* A one-character regular file in a queue directory is skipped. */
START_TEST(test_scan_survives_odd_entries)
{
    STRBUF *bytes = strbuf_alloc(512);
    char id[64], path[400];
    STORE_CAND cand[4];
    STORE_SCAN *scan;
    SPOOL_T t;
    int count;

    spool_up(&t, -1);
    put_message(&t, id, sizeof(id), bytes);
    snprintf(path, sizeof(path), "%s/incoming/X", t.queue_dir);
    ck_assert_int_ge(creat(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/incoming/Y", t.queue_dir);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    ck_assert_ptr_nonnull(scan = store_scan_open(t.store, STORE_Q_INCOMING, 0));
    ck_assert_int_eq(store_scan_next(scan, cand, 4, &count), STORE_OK);
    ck_assert_int_eq(count, 1);
    ck_assert_str_eq(cand[0].id, id);
    store_scan_close(scan);
    strbuf_free(bytes);
    spool_down(&t);
}
END_TEST

/* Opening makes missing queue directories, owned by $mail_owner. */
START_TEST(test_open_makes_directories)
{
    struct passwd *pw = getpwnam("nobody");
    long owner = pw ? (long) pw->pw_uid : 65534;
    STORE_STATUS status;
    char path[400];
    struct stat st;
    SPOOL_T t;

    spool_up(&t, -1);
    store_close(t.store);
    snprintf(path, sizeof(path), "%s/hold", t.queue_dir);
    ck_assert_int_eq(rmdir(path), 0);
    t.env.owner_uid = t.env.owner_gid = owner;
    ck_assert_ptr_nonnull(t.store = store_open("spool", &t.env, &status));
    ck_assert_int_eq(lstat(path, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    ck_assert_int_eq(st.st_mode & 07777, 0700);
    ck_assert_int_eq((long) st.st_uid, owner);
    t.env.queue_dir = "";
    ck_assert_ptr_null(store_open("spool", &t.env, &status));
    ck_assert_int_eq(status, STORE_INVALID);
    t.env.queue_dir = t.queue_dir;
    spool_down(&t);
}
END_TEST

static Suite *
spool_suite(void)
{
    Suite *s = suite_create("spool only");
    TCase *tc = tcase_create("spool");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_dont_remove_saves);
    tcase_add_test(tc, test_recover_leaves_foreign_files);
    tcase_add_test(tc, test_import_postfix_names_and_modes);
    tcase_add_test(tc, test_corrupt_file_listed);
    tcase_add_test(tc, test_scan_survives_odd_entries);
    tcase_add_test(tc, test_open_makes_directories);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(store_conformance_suite(&spool_backend));
    int failed;

    srunner_add_suite(sr, spool_suite());
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
