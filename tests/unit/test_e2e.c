/*
 * test_e2e - pqmgr end to end, as the queue manager of a real Postfix 3.7.
 *
 * Each test case builds its own throwaway Postfix instance (e2e_support.h:
 * tests/sandbox/pf-sandbox, loopback only, own configuration, queue and
 * log) whose qmgr service runs pqmgr on the spool store next to Postfix's
 * own cleanup, trivial-rewrite, smtp, local, error, discard, bounce, flush
 * and pickup daemons, plus a scripted SMTP sink (tests/tools/smtp-sink.py)
 * that sink.test and other.test are routed to.  The instance and the sink
 * are made and destroyed in unchecked fixtures, so they go away even when a
 * test fails or times out.
 *
 *	deliver		sendmail and SMTP injection reach the sink; the log
 *			lines per queue id; the spool ends empty
 *	backoff		tempfail: every deferral sets the file's mtime to
 *			now + clamp(age, min, max) (all three regimes seen),
 *			no retry before that time, delivery once the sink
 *			recovers
 *	flush		postqueue -f, -s site and -i id each deliver a
 *			deferred message at once, and only what they name
 *	bounce		reject -> non-delivery report delivered locally;
 *			lifetime expiry -> "status=expired, returned to
 *			sender" and the report; double-bounce discarded
 *	admin		postsuper -h/-H, -d, -r with pqmgr running
 *	robust		corrupt files go to corrupt/; garbage on the trigger
 *			socket; a delivery agent that dies mid-request
 *	kill9		kill -9 of pqmgr in a busy run: master restarts it,
 *			nothing lost, nothing delivered twice
 * Where the test knows the counts, pflogsumm must report the same.
 */
#include <check.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "e2e_support.h"
#include "record.h"
#include "strbuf.h"

static E2E_BOX box;

/* ---------------------------------------------------------------- helpers */

/* printf into one of a few rotating buffers (for regular expressions). */
static const char *
rx(const char *fmt, ...)
{
    static char bufs[8][1024];
    static int next;
    char *buf = bufs[next++ % 8];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(bufs[0]), fmt, ap);
    va_end(ap);
    return buf;
}

/* An address or id quoted for use inside a POSIX ERE. */
static const char *
rq(const char *text)
{
    static char bufs[8][256];
    static int next;
    char *buf = bufs[next++ % 8];
    size_t n = 0;

    for (; *text && n < sizeof(bufs[0]) - 3; text++) {
        if (strchr(".[]()*+?{}|^$\\", *text))
            buf[n++] = '\\';
        buf[n++] = *text;
    }
    buf[n] = 0;
    return buf;
}

static void
box_ready(void)
{
    ck_assert_msg(box.ok, "sandbox: %s", box.why);
}

static void
box_setup(const E2E_OPTS *opts)
{
    if (e2e_box_create(&box, opts) < 0)
        fprintf(stderr, "test_e2e: sandbox: %s\n", box.why);
}

static void
box_teardown(void)
{
    e2e_box_destroy(&box);
}

static int
maillog_count(const char *ere)
{
    return e2e_count(box.maillog, ere);
}

static int
maillog_wait(const char *ere, int min, double seconds)
{
    return e2e_wait_count(box.maillog, ere, min, seconds);
}

/* Sink deliveries of rcpt (from sender, when not NULL). */
static int
sink_count(const char *sender, const char *rcpt)
{
    return e2e_count(box.sinklog, rx(" DELIVERED %s %s$",
                                     sender ? rq(sender) : "[^ ]*", rq(rcpt)));
}

static int
sink_wait(const char *sender, const char *rcpt, int min, double seconds)
{
    return e2e_wait_count(
        box.sinklog,
        rx(" DELIVERED %s %s$", sender ? rq(sender) : "[^ ]*", rq(rcpt)), min,
        seconds);
}

/* The time the sink logged rcpt's first delivery, or -1. */
static long
sink_time(const char *rcpt)
{
    char when[32];

    if (e2e_first_match(box.sinklog,
                        rx("^([0-9]+) DELIVERED [^ ]* %s$", rq(rcpt)), when,
                        sizeof(when)) < 0)
        return -1;
    return atol(when);
}

/* The queue id of the first status line for rcpt. */
static void
qid_of(const char *rcpt, char *qid, size_t len)
{
    ck_assert_msg(e2e_first_match(box.maillog,
                                  rx("\\]: ([0-9A-Za-z]+): to=<%s>,", rq(rcpt)),
                                  qid, len) == 0,
                  "no status line for %s in %s", rcpt, box.maillog);
}

/* Wait until the queue file id is in queue; its mtime, or -1. */
static time_t
wait_in_queue(const char *id, const char *queue, double seconds)
{
    double end = e2e_now() + seconds;
    char path[E2E_PATH_MAX * 2];
    const char *where;
    struct stat st;

    do {
        if (e2e_find_queue_file(&box, id, &where, path, sizeof(path)) == 0 &&
            strcmp(where, queue) == 0 && stat(path, &st) == 0)
            return st.st_mtime;
        usleep(50000);
    } while (e2e_now() < end);
    return -1;
}

static int
deferrals_of(const char *id, const char *rcpt)
{
    return maillog_count(
        rx("\\]: %s: to=<%s>, .*status=deferred", rq(id), rq(rcpt)));
}

static void
wait_deferrals(const char *id, const char *rcpt, int n)
{
    ck_assert_int_eq(
        maillog_wait(
            rx("\\]: %s: to=<%s>, .*status=deferred", rq(id), rq(rcpt)), n, 20),
        n);
    ck_assert_int_ne(wait_in_queue(id, "deferred", 10), -1);
}

static void
wait_spool_empty(double seconds)
{
    double end = e2e_now() + seconds;

    while (e2e_queued_total(&box) > 0 && e2e_now() < end)
        usleep(100000);
    ck_assert_msg(e2e_queued_total(&box) == 0,
                  "%d file(s) left in the queue of %s", e2e_queued_total(&box),
                  box.spool);
}

/* pqmgr never died: same pid, no fatal or panic, no exit seen by master. */
static void
assert_qmgr_alive(pid_t pid)
{
    ck_assert_int_eq(e2e_qmgr_pid(&box), pid);
    ck_assert_int_eq(maillog_count("postfix/qmgr\\[[0-9]+\\]: (fatal|panic):"),
                     0);
    ck_assert_int_eq(
        maillog_count("master\\[[0-9]+\\]: warning: .*/qmgr pid [0-9]+ "
                      "(exit status|killed)"),
        0);
}

static void
postfix_cmd(const char *cmd, const char *args)
{
    ck_assert_msg(e2e_sh("/usr/sbin/%s -c '%s' %s >/dev/null 2>&1", cmd,
                         box.etc, args) == 0,
                  "%s %s failed", cmd, args);
}

static void
assert_totals(int delivered, int deferred, int deferrals, int bounced)
{
    E2E_TOTALS t;

    ck_assert_int_eq(e2e_pflogsumm(&box, &t), 0);
    ck_assert_int_eq(t.delivered, delivered);
    ck_assert_int_eq(t.deferred, deferred);
    ck_assert_int_eq(t.deferrals, deferrals);
    ck_assert_int_eq(t.bounced, bounced);
}

/* ---------------------------------------------------------------- deliver */

static const E2E_OPTS deliver_opts = {.smtpd = 1};

static void
deliver_setup(void)
{
    box_setup(&deliver_opts);
}

START_TEST(test_deliver)
{
    static const char *const alice_rcpts[] = {"s1@sink.test", "s2@sink.test",
                                              "s3@sink.test"};
    static const char *const bob_rcpts[] = {"t1@sink.test", "t2@sink.test",
                                            "t3@sink.test", "t4@other.test"};
    const char *alice = "alice@mx.example.test";
    const char *bob = "bob@client.e2e.test";
    char qid[3][32], sid[2][32], other[32];
    E2E_SMTP *s;
    E2E_TOTALS t;
    pid_t pid;

    box_ready();
    pid = e2e_qmgr_pid(&box);
    ck_assert_int_eq(e2e_sendmail(&box, alice, "s1@sink.test", "sm1"), 0);
    ck_assert_int_eq(
        e2e_sendmail(&box, alice, "s2@sink.test s3@sink.test", "sm2"), 0);
    ck_assert_ptr_nonnull(s = e2e_smtp_open(box.smtpd_port));
    ck_assert_int_eq(
        e2e_smtp_send(s, bob, "t1@sink.test", "smtp1", qid[0], sizeof(qid[0])),
        0);
    ck_assert_int_eq(e2e_smtp_send(s, bob, "t2@sink.test t3@sink.test", "smtp2",
                                   qid[1], sizeof(qid[1])),
                     0);
    ck_assert_int_eq(
        e2e_smtp_send(s, bob, "t4@other.test", "smtp3", qid[2], sizeof(qid[2])),
        0);
    e2e_smtp_close(s);

    ck_assert_int_eq(e2e_wait_count(box.sinklog, " DELIVERED ", 7, 30), 7);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(sink_count(alice, alice_rcpts[i]), 1);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(sink_count(bob, bob_rcpts[i]), 1);

    /* The SMTP messages, by the queue ids smtpd gave. */
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(maillog_wait(rx("\\]: %s: removed$", qid[i]), 1, 10),
                         1);
        ck_assert_int_eq(maillog_count(rx("qmgr\\[[0-9]+\\]: %s: from=<%s>, "
                                          "size=[0-9]+, nrcpt=%d \\(queue "
                                          "active\\)$",
                                          qid[i], rq(bob), i == 1 ? 2 : 1)),
                         1);
    }
    ck_assert_int_eq(
        maillog_count(rx("smtp\\[[0-9]+\\]: %s: to=<t1@sink\\.test>, "
                         "relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:%d, .*"
                         "dsn=2\\.0\\.0, status=sent \\(250 ",
                         qid[0], box.sink_port)),
        1);
    ck_assert_int_eq(
        maillog_count(
            rx("\\]: %s: to=<t[23]@sink\\.test>, .*status=sent ", qid[1])),
        2);
    qid_of("t4@other.test", other, sizeof(other));
    ck_assert_str_eq(other, qid[2]);

    /* The sendmail messages: one with one recipient, one with two. */
    qid_of("s1@sink.test", sid[0], sizeof(sid[0]));
    qid_of("s2@sink.test", sid[1], sizeof(sid[1]));
    qid_of("s3@sink.test", other, sizeof(other));
    ck_assert_str_eq(other, sid[1]);
    ck_assert_str_ne(sid[0], sid[1]);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(maillog_wait(rx("\\]: %s: removed$", sid[i]), 1, 10),
                         1);
        ck_assert_int_eq(
            maillog_count(rx("\\]: %s: to=<.*status=sent", sid[i])), i + 1);
    }
    ck_assert_int_eq(maillog_count("status=(deferred|bounced)"), 0);
    wait_spool_empty(10);
    assert_qmgr_alive(pid);

    ck_assert_int_eq(e2e_pflogsumm(&box, &t), 0);
    ck_assert_int_eq(t.received, 5);
    ck_assert_int_eq(t.delivered, 7);
    ck_assert_int_eq(t.deferred, 0);
    ck_assert_int_eq(t.bounced, 0);
}
END_TEST

/* ---------------------------------------------------------------- backoff */

#define MIN_BACKOFF 4
#define MAX_BACKOFF 10

static const E2E_OPTS backoff_opts = {.sets = {"minimal_backoff_time=4s",
                                               "maximal_backoff_time=10s",
                                               "queue_run_delay=1s"}};

static void
backoff_setup(void)
{
    box_setup(&backoff_opts);
}

static long
clamp_backoff(long age)
{
    return age < MIN_BACKOFF ? MIN_BACKOFF
                             : (age > MAX_BACKOFF ? MAX_BACKOFF : age);
}

/*
 * One deferral seen at time seen: find the queue manager's "now" (at most
 * 3 s before) for which mtime = now + clamp(now - create); return its age
 * (now - create), or -1 when there is none.
 */
static long
deferral_age(time_t mtime, time_t create, time_t seen)
{
    for (time_t now = seen; now >= seen - 3; now--)
        if (mtime == now + clamp_backoff(now - create))
            return now - create;
    return -1;
}

START_TEST(test_backoff)
{
    const char *rcpt = "slow@sink.test";
    char id[32], path[E2E_PATH_MAX * 2];
    time_t last_mtime = 0, create = 0, prev_now = 0;
    int events = 0, regimes = 0;
    double deadline;
    const char *queue;
    struct stat st;
    pid_t pid;

    box_ready();
    pid = e2e_qmgr_pid(&box);
    ck_assert_int_eq(e2e_rules(&box, "slow@sink.test tempfail\n"), 0);
    ck_assert_int_eq(e2e_sendmail(&box, "carol@mx.example.test", rcpt, "bo"),
                     0);
    ck_assert_int_eq(
        maillog_wait("to=<slow@sink\\.test>, .*status=deferred", 1, 15), 1);
    qid_of(rcpt, id, sizeof(id));

    /*
     * Watch the deferred file until deferrals in all three regimes were
     * seen: age below the minimum (bit 1), between the limits (2), above
     * the maximum (4).
     */
    deadline = e2e_now() + 45;
    while (regimes != 7 && e2e_now() < deadline) {
        time_t seen = time(NULL);
        long age;

        if (e2e_find_queue_file(&box, id, &queue, path, sizeof(path)) < 0 ||
            strcmp(queue, "deferred") != 0 || stat(path, &st) < 0 ||
            st.st_mtime == last_mtime) {
            usleep(100000);
            continue;
        }
        if (create == 0)
            create = e2e_create_time(path);
        ck_assert_int_gt(create, 0);
        age = deferral_age(st.st_mtime, create, seen);
        ck_assert_msg(age >= 0,
                      "deferral %d: mtime %ld is not now + clamp(now - %ld, "
                      "%d, %d) for now in [%ld, %ld]",
                      events + 1, (long) st.st_mtime, (long) create,
                      MIN_BACKOFF, MAX_BACKOFF, (long) seen - 3, (long) seen);
        /* A scan takes a deferred file once mtime <= now + 1. */
        ck_assert_msg(events == 0 || create + age >= last_mtime - 1,
                      "deferral %d at %ld, but the previous one said not "
                      "before %ld",
                      events + 1, (long) (create + age), (long) last_mtime);
        ck_assert_msg(events == 0 || create + age > prev_now,
                      "two deferrals at the same second");
        prev_now = create + age;
        regimes |= age < MIN_BACKOFF ? 1 : age > MAX_BACKOFF ? 4 : 2;
        last_mtime = st.st_mtime;
        events++;
    }
    ck_assert_msg(regimes == 7,
                  "deferral regimes seen: %d (1 below min, 2 between, 4 "
                  "above max) in %d deferrals",
                  regimes, events);
    ck_assert_int_eq(sink_count(NULL, rcpt), 0);

    /* The sink recovers: delivered at the next retry, not before. */
    ck_assert_int_eq(e2e_rules(&box, ""), 0);
    ck_assert_int_eq(sink_wait(NULL, rcpt, 1, MAX_BACKOFF + 10), 1);
    ck_assert_int_ge(sink_time(rcpt), (long) last_mtime - 1);
    ck_assert_int_eq(maillog_wait(rx("\\]: %s: removed$", id), 1, 10), 1);
    ck_assert_int_eq(deferrals_of(id, rcpt), events);
    ck_assert_int_eq(
        maillog_count(rx("\\]: %s: to=<%s>, .*status=sent", id, rq(rcpt))), 1);
    wait_spool_empty(5);
    assert_qmgr_alive(pid);
    assert_totals(1, 1, events, 0);
}
END_TEST

/* ---------------------------------------------------------------- flush */

static const E2E_OPTS flush_opts = {
    .sets = {"minimal_backoff_time=30s", "maximal_backoff_time=60s",
             "queue_run_delay=30s", "fast_flush_domains=sink.test"}};

static void
flush_setup(void)
{
    box_setup(&flush_opts);
}

/* rcpt delivered within 10 s, and before the backoff would have let it. */
static void
assert_flushed(const char *rcpt, time_t mtime)
{
    ck_assert_int_eq(sink_wait(NULL, rcpt, 1, 10), 1);
    ck_assert_msg(sink_time(rcpt) < (long) mtime - 1,
                  "%s delivered at %ld, its retry time was %ld", rcpt,
                  sink_time(rcpt), (long) mtime);
}

START_TEST(test_flush)
{
    static const char *const rcpts[] = {"q1@sink.test", "q2@sink.test",
                                        "q3@sink.test", "o1@other.test"};
    const char *sender = "dave@mx.example.test";
    char id[4][32], arg[64];
    time_t mtime;
    pid_t pid;

    box_ready();
    pid = e2e_qmgr_pid(&box);
    ck_assert_int_eq(e2e_rules(&box, "q1@sink.test tempfail\n"
                                     "q2@sink.test tempfail\n"
                                     "q3@sink.test tempfail\n"
                                     "o1@other.test tempfail\n"),
                     0);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(e2e_sendmail(&box, sender, rcpts[i], rcpts[i]), 0);
        ck_assert_int_eq(
            maillog_wait(rx("to=<%s>, .*status=deferred", rq(rcpts[i])), 1, 15),
            1);
        qid_of(rcpts[i], id[i], sizeof(id[i]));
        wait_deferrals(id[i], rcpts[i], 1);
    }

    /* postqueue -f: everything is tried again; q1 now goes through. */
    ck_assert_int_eq(e2e_rules(&box, "q2@sink.test tempfail\n"
                                     "q3@sink.test tempfail\n"
                                     "o1@other.test tempfail\n"),
                     0);
    ck_assert_int_ne(mtime = wait_in_queue(id[0], "deferred", 1), -1);
    postfix_cmd("postqueue", "-f");
    assert_flushed(rcpts[0], mtime);
    for (int i = 1; i < 4; i++)
        wait_deferrals(id[i], rcpts[i], 2);

    /* postqueue -s sink.test: q2 and q3, not o1 at other.test. */
    ck_assert_int_eq(e2e_rules(&box, "q3@sink.test tempfail\n"), 0);
    ck_assert_int_ne(mtime = wait_in_queue(id[1], "deferred", 1), -1);
    postfix_cmd("postqueue", "-s sink.test");
    assert_flushed(rcpts[1], mtime);
    wait_deferrals(id[2], rcpts[2], 3);
    sleep(2);
    ck_assert_int_eq(sink_count(NULL, rcpts[3]), 0);
    ck_assert_int_eq(deferrals_of(id[3], rcpts[3]), 2);
    ck_assert_int_ne(wait_in_queue(id[3], "deferred", 1), -1);

    /* postqueue -i: that message only. */
    ck_assert_int_eq(e2e_rules(&box, ""), 0);
    ck_assert_int_ne(mtime = wait_in_queue(id[2], "deferred", 1), -1);
    snprintf(arg, sizeof(arg), "-i %s", id[2]);
    postfix_cmd("postqueue", arg);
    assert_flushed(rcpts[2], mtime);
    sleep(2);
    ck_assert_int_eq(sink_count(NULL, rcpts[3]), 0);
    ck_assert_int_eq(deferrals_of(id[3], rcpts[3]), 2);

    /* And a last flush for o1. */
    ck_assert_int_ne(mtime = wait_in_queue(id[3], "deferred", 1), -1);
    postfix_cmd("postqueue", "-f");
    assert_flushed(rcpts[3], mtime);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(sink_count(sender, rcpts[i]), 1);
        ck_assert_int_eq(maillog_wait(rx("\\]: %s: removed$", id[i]), 1, 10),
                         1);
    }
    wait_spool_empty(5);
    assert_qmgr_alive(pid);
    /* deferrals: 4 at first, 3 after -f, 1 (q3) after -s */
    assert_totals(4, 4, 8, 0);
}
END_TEST

/* ---------------------------------------------------------------- bounce */

#define LIFETIME 5

static const E2E_OPTS bounce_opts = {
    .sets = {"maximal_queue_lifetime=5s", "minimal_backoff_time=2s",
             "maximal_backoff_time=2s", "queue_run_delay=1s"}};

static void
bounce_setup(void)
{
    box_setup(&bounce_opts);
}

/* The report about id was made and delivered to postfix's mailbox. */
static void
assert_report_delivered(const char *id)
{
    char report[32];

    ck_assert_int_eq(
        maillog_wait(rx("bounce\\[[0-9]+\\]: %s: sender non-delivery "
                        "notification: ",
                        id),
                     1, 15),
        1);
    ck_assert_int_eq(
        e2e_first_match(box.maillog,
                        rx("\\]: %s: sender non-delivery notification: "
                           "([0-9A-Za-z]+)$",
                           id),
                        report, sizeof(report)),
        0);
    ck_assert_int_eq(
        maillog_wait(rx("local\\[[0-9]+\\]: %s: to=<postfix@mx\\.example\\."
                        "test>, relay=local, .*status=sent \\(delivered to "
                        "mailbox\\)",
                        report),
                     1, 15),
        1);
    ck_assert_int_eq(
        maillog_count(rx("qmgr\\[[0-9]+\\]: %s: from=<>, size=", report)), 1);
}

START_TEST(test_bounce)
{
    const char *sender = "postfix@mx.example.test";
    char id[4][32], seen_id[32];
    time_t start;
    double expired_at;
    int deferrals;
    pid_t pid;

    box_ready();
    pid = e2e_qmgr_pid(&box);
    ck_assert_int_eq(e2e_rules(&box, "rej@sink.test reject\n"
                                     "rej2@sink.test reject\n"
                                     "exp@sink.test tempfail\n"),
                     0);
    start = time(NULL);
    ck_assert_int_eq(e2e_sendmail(&box, sender, "rej@sink.test", "b1"), 0);
    ck_assert_int_eq(e2e_sendmail(&box, sender, "exp@sink.test", "b2"), 0);
    ck_assert_int_eq(
        e2e_sendmail(&box, sender, "double-bounce@mx.example.test", "b3"), 0);
    ck_assert_int_eq(
        e2e_sendmail(&box, sender, "ok@sink.test rej2@sink.test", "b4"), 0);

    /* A reject: bounced by smtp, the report delivered locally. */
    ck_assert_int_eq(
        maillog_wait("to=<rej@sink\\.test>, .*status=bounced", 1, 15), 1);
    qid_of("rej@sink.test", id[0], sizeof(id[0]));
    ck_assert_int_eq(
        maillog_count(rx("smtp\\[[0-9]+\\]: %s: to=<rej@sink\\.test>, "
                         ".*dsn=5\\.1\\.1, status=bounced ",
                         id[0])),
        1);
    assert_report_delivered(id[0]);
    ck_assert_int_eq(maillog_wait(rx("\\]: %s: removed$", id[0]), 1, 10), 1);

    /* Mixed: one recipient delivered, one bounced, one report. */
    ck_assert_int_eq(sink_wait(sender, "ok@sink.test", 1, 15), 1);
    ck_assert_int_eq(
        maillog_wait("to=<rej2@sink\\.test>, .*status=bounced", 1, 15), 1);
    qid_of("rej2@sink.test", id[3], sizeof(id[3]));
    qid_of("ok@sink.test", seen_id, sizeof(seen_id));
    ck_assert_str_eq(seen_id, id[3]);
    assert_report_delivered(id[3]);

    /* The double bounce: discarded by the queue manager itself. */
    ck_assert_int_eq(
        maillog_wait("qmgr\\[[0-9]+\\]: [0-9A-Za-z]+: "
                     "to=<double-bounce@mx\\.example\\.test>, relay=none, .*"
                     "dsn=2\\.0\\.0, status=sent \\(undeliverable postmaster "
                     "notification discarded\\)$",
                     1, 15),
        1);
    qid_of("double-bounce@mx.example.test", id[2], sizeof(id[2]));
    ck_assert_int_eq(maillog_wait(rx("\\]: %s: removed$", id[2]), 1, 10), 1);

    /* The tempfail: deferred until the lifetime is over, then returned. */
    ck_assert_int_eq(
        maillog_wait("qmgr\\[[0-9]+\\]: [0-9A-Za-z]+: from=<postfix@mx\\."
                     "example\\.test>, status=expired, returned to sender$",
                     1, 30),
        1);
    expired_at = e2e_now();
    qid_of("exp@sink.test", id[1], sizeof(id[1]));
    ck_assert_int_eq(maillog_count(rx("\\]: %s: from=<%s>, status=expired, "
                                      "returned to sender$",
                                      id[1], rq(sender))),
                     1);
    ck_assert_msg(expired_at >= (double) (start + LIFETIME),
                  "expired %.1f s after submission, lifetime %d s",
                  expired_at - (double) start, LIFETIME);
    deferrals = deferrals_of(id[1], "exp@sink.test");
    ck_assert_int_ge(deferrals, 1);
    assert_report_delivered(id[1]);
    ck_assert_int_eq(maillog_wait(rx("\\]: %s: removed$", id[1]), 1, 10), 1);

    /* Three reports in the mailbox, none about the double bounce. */
    wait_spool_empty(10);
    ck_assert_int_eq(e2e_count(box.mailbox, "^From MAILER-DAEMON "), 3);
    ck_assert_int_eq(
        e2e_count(box.mailbox, "^Subject: Undelivered Mail Returned to Sender"),
        3);
    ck_assert_int_ge(e2e_count(box.mailbox, "<rej@sink\\.test>"), 1);
    ck_assert_int_ge(e2e_count(box.mailbox, "<rej2@sink\\.test>"), 1);
    ck_assert_int_ge(e2e_count(box.mailbox, "<exp@sink\\.test>"), 1);
    ck_assert_int_ge(
        e2e_count(box.mailbox, "Recipient temporarily unavailable"), 1);
    ck_assert_int_eq(e2e_count(box.mailbox, "double-bounce"), 0);
    ck_assert_int_eq(e2e_queue_files(&box, "bounce"), 0);
    ck_assert_int_eq(e2e_queue_files(&box, "defer"), 0);
    ck_assert_int_eq(sink_count(NULL, "rej@sink.test"), 0);
    ck_assert_int_eq(sink_count(NULL, "exp@sink.test"), 0);
    assert_qmgr_alive(pid);
    /* delivered: ok, the discard, three reports */
    assert_totals(5, 1, deferrals, 2);
}
END_TEST

/* ---------------------------------------------------------------- admin */

static const E2E_OPTS admin_opts = {.sets = {"minimal_backoff_time=60s",
                                             "maximal_backoff_time=120s",
                                             "queue_run_delay=60s"}};

static void
admin_setup(void)
{
    box_setup(&admin_opts);
}

START_TEST(test_admin)
{
    const char *sender = "erin@mx.example.test";
    const char *hold = "hold@sink.test", *del = "del@sink.test",
               *req = "req@sink.test";
    char idh[32], idd[32], idr[32], idn[32], arg[64], path[E2E_PATH_MAX * 2];
    const char *queue;
    pid_t pid;

    box_ready();
    pid = e2e_qmgr_pid(&box);
    ck_assert_int_eq(e2e_rules(&box, "hold@sink.test tempfail\n"
                                     "del@sink.test tempfail\n"
                                     "req@sink.test tempfail\n"),
                     0);
    ck_assert_int_eq(e2e_sendmail(&box, sender, hold, "hold"), 0);
    ck_assert_int_eq(e2e_sendmail(&box, sender, del, "del"), 0);
    ck_assert_int_eq(e2e_sendmail(&box, sender, req, "req"), 0);
    ck_assert_int_eq(maillog_wait("to=<hold@sink\\.test>, .*deferred", 1, 15),
                     1);
    ck_assert_int_eq(maillog_wait("to=<del@sink\\.test>, .*deferred", 1, 15),
                     1);
    ck_assert_int_eq(maillog_wait("to=<req@sink\\.test>, .*deferred", 1, 15),
                     1);
    qid_of(hold, idh, sizeof(idh));
    qid_of(del, idd, sizeof(idd));
    qid_of(req, idr, sizeof(idr));
    wait_deferrals(idh, hold, 1);
    wait_deferrals(idd, del, 1);
    wait_deferrals(idr, req, 1);

    /* -h: a flush does not touch held mail. */
    snprintf(arg, sizeof(arg), "-h %s", idh);
    postfix_cmd("postsuper", arg);
    ck_assert_int_ne(wait_in_queue(idh, "hold", 5), -1);
    ck_assert_int_eq(maillog_count(rx("postsuper\\[[0-9]+\\]: %s: placed on "
                                      "hold$",
                                      idh)),
                     1);
    ck_assert_int_eq(e2e_rules(&box, "del@sink.test tempfail\n"
                                     "req@sink.test tempfail\n"),
                     0);
    postfix_cmd("postqueue", "-f");
    wait_deferrals(idd, del, 2);
    wait_deferrals(idr, req, 2);
    ck_assert_int_eq(sink_count(NULL, hold), 0);
    ck_assert_int_ne(wait_in_queue(idh, "hold", 1), -1);
    ck_assert_int_eq(deferrals_of(idh, hold), 1);

    /* -H: back to deferred/, the next flush delivers it. */
    snprintf(arg, sizeof(arg), "-H %s", idh);
    postfix_cmd("postsuper", arg);
    ck_assert_int_ne(wait_in_queue(idh, "deferred", 5), -1);
    ck_assert_int_eq(maillog_count(rx("postsuper\\[[0-9]+\\]: %s: released "
                                      "from hold$",
                                      idh)),
                     1);
    postfix_cmd("postqueue", "-f");
    ck_assert_int_eq(sink_wait(sender, hold, 1, 10), 1);
    ck_assert_int_eq(maillog_wait(rx("\\]: %s: removed$", idh), 1, 10), 1);
    wait_deferrals(idd, del, 3);
    wait_deferrals(idr, req, 3);

    /* -d: gone, with its defer log; a flush cannot deliver it. */
    snprintf(arg, sizeof(arg), "-d %s", idd);
    postfix_cmd("postsuper", arg);
    ck_assert_int_eq(
        maillog_count(rx("postsuper\\[[0-9]+\\]: %s: removed$", idd)), 1);
    ck_assert_int_eq(e2e_find_queue_file(&box, idd, &queue, path, sizeof(path)),
                     -1);
    snprintf(path, sizeof(path), "%s/defer/%c/%s", box.spool, idd[0], idd);
    ck_assert_int_ne(access(path, F_OK), 0);
    ck_assert_int_eq(e2e_rules(&box, "req@sink.test tempfail\n"), 0);
    postfix_cmd("postqueue", "-f");
    wait_deferrals(idr, req, 4);
    ck_assert_int_eq(sink_count(NULL, del), 0);
    ck_assert_int_eq(deferrals_of(idd, del), 3);

    /* -r: requeued through pickup under a new id, then delivered. */
    ck_assert_int_eq(e2e_rules(&box, ""), 0);
    snprintf(arg, sizeof(arg), "-r %s", idr);
    postfix_cmd("postsuper", arg);
    ck_assert_int_eq(
        maillog_count(rx("postsuper\\[[0-9]+\\]: %s: requeued$", idr)), 1);
    postfix_cmd("postqueue", "-f");
    ck_assert_int_eq(sink_wait(sender, req, 1, 15), 1);
    ck_assert_int_eq(
        e2e_first_match(
            box.maillog,
            rx("\\]: ([0-9A-Za-z]+): to=<%s>, .*status=sent", rq(req)), idn,
            sizeof(idn)),
        0);
    ck_assert_str_ne(idn, idr);
    ck_assert_int_eq(maillog_wait(rx("\\]: %s: removed$", idn), 1, 10), 1);

    wait_spool_empty(10);
    ck_assert_int_eq(sink_count(NULL, hold), 1);
    ck_assert_int_eq(sink_count(NULL, req), 1);
    assert_qmgr_alive(pid);
    /* deferrals: hold 1, del 3, req 4 */
    assert_totals(2, 3, 8, 0);
}
END_TEST

/* ---------------------------------------------------------------- robust */

/*
 * A delivery agent that dies mid-request: master runs it for the "crash"
 * service; it announces itself, reads what the queue manager sends, notes
 * how much, and exits without a reply.
 */
static const char crash_agent[] =
    "#!/usr/bin/python3\n"
    "import os, socket\n"
    "lsock = socket.socket(fileno=6)\n"
    "lsock.setblocking(True)\n"
    "conn, _ = lsock.accept()\n"
    "conn.sendall(b'protocol\\0delivery_request_protocol\\0\\0')\n"
    "conn.settimeout(5)\n"
    "got = b''\n"
    "try:\n"
    "    while len(got) < 65536:\n"
    "        data = conn.recv(65536)\n"
    "        if not data:\n"
    "            break\n"
    "        got += data\n"
    "        conn.settimeout(0.5)\n"
    "except OSError:\n"
    "    pass\n"
    "with open('../crash-agent.log', 'a') as fp:\n"
    "    fp.write('read %d bytes %s\\n' % (len(got), b'crash.test' in got))\n"
    "os._exit(0)\n";

static const E2E_OPTS robust_opts = {
    .transport = "crash.test crash:\n",
    .master_cf = "crash     unix  -       n       n       -       -       "
                 "crash-agent\n",
    .program_name = "crash-agent",
    .program_text = crash_agent,
};

static void
robust_setup(void)
{
    box_setup(&robust_opts);
}

/* A queue file with mode 0600 until complete, as cleanup makes them. */
static void
put_incoming(const char *id, const void *data, size_t len)
{
    char path[E2E_PATH_MAX + 64];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/incoming/%s", box.spool, id);
    ck_assert_ptr_nonnull(fp = fopen(path, "w"));
    ck_assert_int_eq(fchmod(fileno(fp), 0600), 0);
    ck_assert_int_eq(fwrite(data, 1, len, fp), len);
    ck_assert_int_eq(fclose(fp), 0);
    ck_assert_int_eq(e2e_sh("chown postfix '%s'", path), 0);
    ck_assert_int_eq(chmod(path, 0700), 0);
}

/*
 * A well-formed envelope and content that stop where the extracted segment
 * and the end record should follow (cleanup died half-way, a disk filled).
 */
static STRBUF *
truncated_queue_file(void)
{
    STRBUF *env = strbuf_alloc(256);
    STRBUF *body = strbuf_alloc(64);
    STRBUF *sb = strbuf_alloc(256);
    long now = (long) time(NULL);
    long data_offset;

    rec_putf(env, REC_TYPE_TIME, "%ld 0", now);
    rec_putf(env, REC_TYPE_ATTR, "create_time=%ld", now);
    rec_putf(env, REC_TYPE_FROM, "mallory@mx.example.test");
    rec_putf(env, REC_TYPE_ORCP, "victim@sink.test");
    rec_putf(env, REC_TYPE_RCPT, "victim@sink.test");
    rec_put(env, REC_TYPE_MESG, "", 0);
    rec_putf(body, REC_TYPE_NORM, "Subject: truncated");
    rec_put(body, REC_TYPE_NORM, "", 0);
    rec_putf(body, REC_TYPE_NORM, "no end record follows");
    data_offset = (long) rec_size(95) + (long) strbuf_len(env);
    rec_putf(sb, REC_TYPE_SIZE, "%15ld %15ld %15ld %15ld %15ld %15ld",
             (long) strbuf_len(body), data_offset, 1L, 0L,
             (long) strbuf_len(body), 0L);
    strbuf_addmem(sb, strbuf_str(env), strbuf_len(env));
    strbuf_addmem(sb, strbuf_str(body), strbuf_len(body));
    strbuf_free(env);
    strbuf_free(body);
    return sb;
}

static void
assert_still_delivering(pid_t pid, const char *rcpt)
{
    ck_assert_int_eq(e2e_sendmail(&box, "frank@mx.example.test", rcpt, rcpt),
                     0);
    ck_assert_int_eq(sink_wait(NULL, rcpt, 1, 15), 1);
    assert_qmgr_alive(pid);
}

START_TEST(test_robust)
{
    static const char garbage_id[] = "0BAD0C0FFE1";
    static const char truncated_id[] = "0BAD1C0FFE2";
    static const char junk[] = "this is not a queue file\n";
    char random_bytes[1000], idc[32], path[E2E_PATH_MAX * 2];
    char *long_junk;
    time_t mtime;
    int idle[10];
    STRBUF *qf;
    pid_t pid;

    box_ready();
    pid = e2e_qmgr_pid(&box);

    /* Corrupt files in incoming/ go to corrupt/ on the next scan. */
    put_incoming(garbage_id, junk, sizeof(junk) - 1);
    qf = truncated_queue_file();
    put_incoming(truncated_id, strbuf_str(qf), strbuf_len(qf));
    strbuf_free(qf);
    ck_assert_int_eq(e2e_trigger(&box, "I", 1), 0);
    ck_assert_int_ne(wait_in_queue(garbage_id, "corrupt", 10), -1);
    ck_assert_int_ne(wait_in_queue(truncated_id, "corrupt", 10), -1);
    ck_assert_int_eq(
        maillog_count(rx("qmgr\\[[0-9]+\\]: warning: saving corrupt file "
                         "\"%s\" from queue \"active\" to queue \"corrupt\"",
                         garbage_id)),
        1);
    ck_assert_int_eq(
        maillog_count(rx("qmgr\\[[0-9]+\\]: warning: saving corrupt file "
                         "\"%s\" from queue \"active\" to queue \"corrupt\"",
                         truncated_id)),
        1);
    ck_assert_int_eq(maillog_count(rx("qmgr\\[[0-9]+\\]: warning: %s: message "
                                      "rejected: missing end record$",
                                      truncated_id)),
                     1);
    assert_still_delivering(pid, "after-corrupt@sink.test");
    ck_assert_int_eq(sink_count(NULL, "victim@sink.test"), 0);

    /* Garbage on the trigger socket. */
    srand(42);
    for (int i = 0; i < 20; i++) {
        for (size_t j = 0; j < sizeof(random_bytes); j++)
            random_bytes[j] = (char) (rand() & 0xff);
        ck_assert_int_eq(e2e_trigger(&box, random_bytes, sizeof(random_bytes)),
                         0);
    }
    long_junk = malloc(200000);
    ck_assert_ptr_nonnull(long_junk);
    for (int i = 0; i < 200000; i++)
        long_junk[i] = (char) ('!' + i % 90);
    (void) e2e_trigger(&box, long_junk, 200000);
    free(long_junk);
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(e2e_trigger(&box, "", 0), 0);
    ck_assert_int_eq(e2e_trigger(&box, "\0\0\0\0", 4), 0);
    /* Clients that connect and say nothing while mail keeps flowing. */
    for (int i = 0; i < 10; i++)
        ck_assert_int_ge(idle[i] = e2e_trigger_connect(&box), 0);
    ck_assert_int_eq(write(idle[0], "x", 1), 1);
    assert_still_delivering(pid, "after-garbage@sink.test");
    for (int i = 0; i < 10; i++)
        close(idle[i]);

    /*
     * A delivery agent that dies mid-request costs a deferral.  As in
     * Postfix 3.7 (qmgr_deliver_update), the queue manager logs a warning
     * and defers the message without a defer log or a status line: the
     * recipient stays to do in the queue file.
     */
    ck_assert_int_eq(e2e_sendmail(&box, "crash-test@mx.example.test",
                                  "victim@crash.test", "crash"),
                     0);
    ck_assert_int_eq(maillog_wait("qmgr\\[[0-9]+\\]: warning: private/crash "
                                  "socket: malformed response",
                                  1, 20),
                     1);
    ck_assert_int_eq(
        e2e_first_match(box.maillog,
                        "qmgr\\[[0-9]+\\]: ([0-9A-Za-z]+): "
                        "from=<crash-test@mx\\.example\\.test>, size=",
                        idc, sizeof(idc)),
        0);
    mtime = wait_in_queue(idc, "deferred", 10);
    ck_assert_int_ne(mtime, -1);
    /* default minimal_backoff_time: 300 s */
    ck_assert_int_ge(mtime, time(NULL) + 290);
    snprintf(path, sizeof(path), "%s/crash-agent.log", box.dir);
    ck_assert_int_eq(e2e_count(path, "^read [1-9][0-9]* bytes True$"), 1);
    ck_assert_int_eq(maillog_count(rx("\\]: %s: to=<", idc)), 0);
    assert_still_delivering(pid, "after-crash@sink.test");

    /* Nothing was lost: routed to the sink instead, it is delivered. */
    snprintf(path, sizeof(path), "%s/transport", box.etc);
    ck_assert_int_eq(
        e2e_sh("sed -i 's/^crash\\.test .*/crash.test smtp:[127.0.0.1]:%d/' "
               "'%s'",
               box.sink_port, path),
        0);
    ck_assert_int_eq(e2e_sh("'%s/tests/sandbox/pf-sandbox' reload '%s'",
                            getenv("PQ_TOP") ? getenv("PQ_TOP") : ".", box.dir),
                     0);
    ck_assert_int_ne(e2e_wait_qmgr(&box, 15, pid), 0);
    postfix_cmd("postqueue", "-f");
    ck_assert_int_eq(
        sink_wait("crash-test@mx.example.test", "victim@crash.test", 1, 15), 1);
    ck_assert_int_eq(maillog_wait(rx("\\]: %s: removed$", idc), 1, 10), 1);
    wait_spool_empty(10);
}
END_TEST

/* ---------------------------------------------------------------- kill -9 */

#define BUSY_MESSAGES 300
#define KILL_AFTER    30

static const E2E_OPTS kill9_opts = {.smtpd = 1};

static void
kill9_setup(void)
{
    box_setup(&kill9_opts);
}

/*
 * The one way a message may end without "removed": the killed queue manager
 * had removed its file but not yet logged that (Postfix's order too).  Then
 * only the killed process ever activated it.
 */
static int
killed_window(const char *id, pid_t killed)
{
    int by_killed =
        maillog_count(rx("qmgr\\[%ld\\]: %s: from=<", (long) killed, id));
    int by_any = maillog_count(rx("qmgr\\[[0-9]+\\]: %s: from=<", id));

    return by_killed > 0 && by_killed == by_any;
}

START_TEST(test_kill9)
{
    static char ids[BUSY_MESSAGES][32];
    const char *sender = "bulk@mx.example.test";
    char rcpt[64], tag[32];
    int delivered_at_kill = 0, queued_at_kill = 0, killed_after = -1;
    int lost = 0, twice = 0, removed;
    double deadline, next_flush;
    E2E_SMTP *s;
    E2E_TOTALS t;
    pid_t pid, pid2;

    box_ready();
    pid = e2e_qmgr_pid(&box);

    /*
     * Inject over SMTP; once the sink has 30 deliveries, kill the queue
     * manager in the middle of the run, and go on injecting (cleanup's
     * wakeup triggers make master start a new one).
     */
    ck_assert_ptr_nonnull(s = e2e_smtp_open(box.smtpd_port));
    for (int i = 0; i < BUSY_MESSAGES; i++) {
        snprintf(rcpt, sizeof(rcpt), "k%d@sink.test", i);
        snprintf(tag, sizeof(tag), "busy %d", i);
        ck_assert_int_eq(
            e2e_smtp_send(s, sender, rcpt, tag, ids[i], sizeof(ids[i])), 0);
        if (killed_after < 0 &&
            e2e_count(box.sinklog, " DELIVERED ") >= KILL_AFTER) {
            ck_assert_int_eq(kill(pid, SIGKILL), 0);
            killed_after = i + 1;
            delivered_at_kill = e2e_count(box.sinklog, " DELIVERED ");
            queued_at_kill = e2e_queued_total(&box);
        }
    }
    e2e_smtp_close(s);
    if (killed_after < 0) {
        /* A slow machine: the sink had not caught up yet. */
        e2e_wait_count(box.sinklog, " DELIVERED ", KILL_AFTER, 30);
        ck_assert_int_eq(kill(pid, SIGKILL), 0);
        killed_after = BUSY_MESSAGES;
        delivered_at_kill = e2e_count(box.sinklog, " DELIVERED ");
        queued_at_kill = e2e_queued_total(&box);
    }
    ck_assert_msg(delivered_at_kill < BUSY_MESSAGES &&
                      delivered_at_kill >= KILL_AFTER && queued_at_kill > 0,
                  "no kill in a busy run (after %d messages, %d delivered, "
                  "%d queued)",
                  killed_after, delivered_at_kill, queued_at_kill);
    ck_assert_int_eq(
        maillog_wait(rx("master\\[[0-9]+\\]: warning: .*/qmgr pid %ld killed "
                        "by signal 9",
                        (long) pid),
                     1, 10),
        1);

    /* A trigger makes master start a new one; it finishes the job. */
    postfix_cmd("postqueue", "-f");
    pid2 = e2e_wait_qmgr(&box, 10, pid);
    ck_assert_int_ne(pid2, 0);
    deadline = e2e_now() + 90;
    next_flush = e2e_now() + 10;
    while (e2e_count(box.sinklog, " DELIVERED ") < BUSY_MESSAGES &&
           e2e_now() < deadline) {
        /* Files an agent still held were put off by 60 s: flush them. */
        if (e2e_now() > next_flush) {
            postfix_cmd("postqueue", "-f");
            next_flush = e2e_now() + 10;
        }
        usleep(100000);
    }
    wait_spool_empty(15);
    for (int i = 0; i < BUSY_MESSAGES; i++) {
        int n;

        snprintf(rcpt, sizeof(rcpt), "k%d@sink.test", i);
        n = sink_count(sender, rcpt);
        lost += n == 0;
        twice += n > 1;
        ck_assert_msg(maillog_count(rx("\\]: %s: to=<%s>, .*status=sent",
                                       ids[i], rq(rcpt))) == n,
                      "%s (%s): %d sink deliveries, not as many status=sent",
                      ids[i], rcpt, n);
        removed = maillog_count(rx("\\]: %s: removed$", ids[i]));
        ck_assert_msg(removed == 1 ||
                          (removed == 0 && killed_window(ids[i], pid)),
                      "%s: logged \"removed\" %d times", ids[i], removed);
    }
    ck_assert_msg(lost == 0 && twice == 0,
                  "%d message(s) lost, %d delivered twice (killed after %d "
                  "messages, %d delivered, %d queued)",
                  lost, twice, killed_after, delivered_at_kill, queued_at_kill);
    ck_assert_int_eq(e2e_queue_files(&box, "corrupt"), 0);
    ck_assert_int_eq(e2e_qmgr_pid(&box), pid2);
    ck_assert_int_eq(e2e_pflogsumm(&box, &t), 0);
    ck_assert_int_eq(t.received, BUSY_MESSAGES);
    ck_assert_int_eq(t.delivered, BUSY_MESSAGES);
    ck_assert_int_eq(t.deferred, 0);
    ck_assert_int_eq(t.bounced, 0);
}
END_TEST

/* ---------------------------------------------------------------- fifo */

/*
 * The fifo form of the master.cf entry: master opens public/qmgr as a FIFO
 * and pqmgr reads triggers from it (-t fifo) instead of accepting
 * connections.
 */
static int
public_qmgr_is_fifo(void)
{
    char path[E2E_PATH_MAX + 16];
    struct stat st;

    snprintf(path, sizeof(path), "%s/public/qmgr", box.spool);
    return stat(path, &st) == 0 && S_ISFIFO(st.st_mode);
}

static void
fifo_setup(void)
{
    box_setup(&deliver_opts);
    if (box.ok &&
        e2e_sh("sed -i 's/^qmgr\\( *\\)unix /qmgr\\1fifo /' %s/master.cf"
               " && /usr/sbin/postfix -c %s reload >/dev/null 2>&1",
               box.etc, box.etc) != 0) {
        box.ok = 0;
        snprintf(box.why, sizeof(box.why), "cannot switch qmgr to fifo");
    }
    for (int i = 0; box.ok && i < 100 && !public_qmgr_is_fifo(); i++)
        usleep(100000);
}

START_TEST(test_fifo)
{
    pid_t pid;

    box_ready();
    ck_assert_msg(public_qmgr_is_fifo(), "public/qmgr is not a FIFO");
    ck_assert_int_eq(e2e_sendmail(&box, "alice@mx.example.test",
                                  "f1@sink.test f2@sink.test", "fifo"),
                     0);
    ck_assert_int_eq(e2e_wait_count(box.sinklog, " DELIVERED ", 2, 30), 2);
    pid = e2e_qmgr_pid(&box);
    ck_assert_int_gt(pid, 0);
    ck_assert_int_eq(e2e_sh("/usr/sbin/postqueue -c %s -f", box.etc), 0);
    ck_assert_int_eq(
        e2e_sendmail(&box, "alice@mx.example.test", "f3@sink.test", "fifo 2"),
        0);
    ck_assert_int_eq(e2e_wait_count(box.sinklog, " DELIVERED ", 3, 30), 3);
    ck_assert_int_eq(e2e_qmgr_pid(&box), pid);
    ck_assert_int_eq(maillog_count("qmgr\\[[0-9]+\\]: (fatal|panic):"), 0);
}
END_TEST

/* ---------------------------------------------------------------- suite */

static void
add_case(Suite *s, const char *name, void (*setup)(void), const TTest *test,
         double timeout)
{
    TCase *tc = tcase_create(name);

    tcase_add_unchecked_fixture(tc, setup, box_teardown);
    tcase_add_test(tc, test);
    tcase_set_timeout(tc, timeout);
    suite_add_tcase(s, tc);
}

static Suite *
e2e_suite(const char *name)
{
    Suite *s = suite_create(name);

    add_case(s, "deliver", deliver_setup, test_deliver, 60);
    add_case(s, "backoff", backoff_setup, test_backoff, 90);
    add_case(s, "flush", flush_setup, test_flush, 90);
    add_case(s, "bounce", bounce_setup, test_bounce, 90);
    add_case(s, "admin", admin_setup, test_admin, 90);
    add_case(s, "robust", robust_setup, test_robust, 90);
    add_case(s, "kill9", kill9_setup, test_kill9, 150);
    add_case(s, "fifo", fifo_setup, test_fifo, 60);
    return s;
}

/* The whole suite once per queue store that keeps Postfix's files. */
int
main(void)
{
    static const char *const stores[] = {"spool", "lmdb"};
    int failed = 0;

    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < sizeof(stores) / sizeof(stores[0]); i++) {
        char name[32];
        SRunner *sr;

        snprintf(name, sizeof(name), "e2e on %s", stores[i]);
        e2e_store_kind = stores[i];
        sr = srunner_create(e2e_suite(name));
        srunner_run_all(sr, CK_ENV);
        failed += srunner_ntests_failed(sr);
        srunner_free(sr);
    }
    return failed ? 1 : 0;
}
