/*
 * test_sched - the oqmgr scheduling model against the worked examples and
 * behaviours of ../shared/spec/postfix-scheduling.md.
 *
 * The fake daemon of sched_fake.h drives the model: a fake clock, a timer
 * table that fires due timers in time order, per-transport parameters, and
 * recorders for the synchronous-defer, refill and done callbacks.  Here
 * messages get their recipients in one batch each.  Logging goes to a
 * temporary file where a test wants to read it.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sched_fake.h"

/* Harness helpers. */

static int msg_seq; /* numbers the messages of send_one() */

static void
setup(void)
{
    sched_fake_setup();
    msg_seq = 0;
}

static void
teardown(void)
{
    sched_fake_teardown();
}

static SCHED *
start_sched(const SCHED_GLOBALS *globals)
{
    return sched_fake_start(globals, "oqmgr");
}

static SCHED_MESSAGE *
new_message(const char *id, const char *sender, int qflags)
{
    SCHED_MESSAGE_INFO info = {
        .context = NULL,
        .queue_id = id,
        .sender = sender,
        .create_time = sched_fake.now,
        .warn_time = 0,
        .qflags = qflags,
        .single_rcpt = 0,
        .trace_wanted = 0,
    };

    return sched_message_create(sched_fake.s, &info);
}

static void
fill_batch(SCHED_BATCH *b, const char *const *addrs, int n)
{
    for (int i = 0; i < n; i++) {
        SCHED_RCPT r = {.offset = 100 * (i + 1),
                        .dsn_notify = 0,
                        .address = addrs[i],
                        .orig_addr = addrs[i],
                        .dsn_orcpt = ""};

        sched_batch_add(b, &r);
    }
}

/*
 * One batch: sort, "resolve" every address to transport with nexthop
 * (NULL: the address's domain), bind, assign.  Returns the number of
 * recipients that went into entries.
 */
static int
assign_rcpts(SCHED_MESSAGE *m, const char *transport, const char *nexthop,
             const char *const *addrs, int n)
{
    SCHED_BATCH *b = sched_batch_create(sched_fake.s, m);

    fill_batch(b, addrs, n);
    sched_batch_sort(b);
    for (int i = 0; i < sched_batch_count(b); i++) {
        const char *addr = sched_batch_rcpt(b, i)->address;

        sched_batch_bind(b, i, transport,
                         nexthop ? nexthop : sched_fake_domain_of(addr));
    }
    return sched_batch_assign(b, sched_fake.now);
}

/* A new one-recipient message; returns it. */
static SCHED_MESSAGE *
send_one(const char *transport, const char *addr)
{
    char id[32];
    const char *addrs[1] = {addr};
    SCHED_MESSAGE *m;

    snprintf(id, sizeof(id), "M%04d", ++msg_seq);
    m = new_message(id, "sender@example.org", 0);
    assign_rcpts(m, transport, NULL, addrs, 1);
    return m;
}

static void
send_many(int count, const char *transport, const char *addr)
{
    for (int i = 0; i < count; i++)
        send_one(transport, addr);
}

static SCHED_QUEUE *
queue(const char *xport, const char *name)
{
    SCHED_TRANSPORT *t = sched_transport_find(sched_fake.s, xport);

    return t ? sched_queue_find(t, name) : NULL;
}

/* Choose entries of a transport until none is left; returns how many. */
static int
choose_all(const char *xport, SCHED_ENTRY **out, int max)
{
    SCHED_ENTRY *e;
    int n = 0;

    while (n < max && (e = sched_fake_choose(xport)) != NULL)
        out[n++] = e;
    return n;
}

static void
reply_ok(SCHED_ENTRY *e)
{
    sched_fake_reply(e, 0, 0, "", "");
}

static void
reply_hop_failure(SCHED_ENTRY *e)
{
    sched_fake_reply(e, 1, 0, "4.4.1",
                     "connect to mx.d.example: Connection refused");
}

#define HOP_RETRY_QUEUE                                                        \
    "4.4.1 delivery temporarily suspended: connect to mx.d.example: "          \
    "Connection refused"

static int
todo_count(const SCHED_QUEUE *q)
{
    return sched_list_count(&q->todo);
}

static int
busy_count(const SCHED_QUEUE *q)
{
    return sched_list_count(&q->busy);
}

/* Capture what msg_* writes to standard error. */
static char capture_path[64];
static int saved_stderr = -1;

static void
capture_start(void)
{
    FILE *fp;

    snprintf(capture_path, sizeof(capture_path), "/tmp/pq-test-sched.%ld",
             (long) getpid());
    fflush(stderr);
    saved_stderr = dup(2);
    fp = fopen(capture_path, "w");
    ck_assert_ptr_nonnull(fp);
    dup2(fileno(fp), 2);
    fclose(fp);
}

/* Stop capturing; returns the text (static buffer). */
static const char *
capture_stop(void)
{
    static char text[16384];
    FILE *fp;
    size_t len;

    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    fp = fopen(capture_path, "r");
    ck_assert_ptr_nonnull(fp);
    len = fread(text, 1, sizeof(text) - 1, fp);
    text[len] = 0;
    fclose(fp);
    unlink(capture_path);
    return text;
}

static int
count_substr(const char *text, const char *needle)
{
    int n = 0;

    for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/*
 * 3.7 worked examples: concurrency feedback.
 */

/* Window 10, five hop failures: 10 -> 8 -> 7 -> 6 -> 5 -> 4. */
START_TEST(test_negative_feedback_default)
{
    SCHED_TRANSPORT_PARAMS *p = sched_fake_xport_params("fake");
    SCHED_ENTRY *busy[20];
    SCHED_QUEUE *q;
    static const int expect[] = {8, 7, 6, 5, 4};

    p->init_dest_concurrency = 10;
    p->dest_concurrency_limit = 20;
    p->fail_cohort_limit = 100;
    start_sched(NULL);
    send_many(12, "fake", "u@d.example");
    ck_assert_int_eq(choose_all("fake", busy, 20), 10);
    q = queue("fake", "d.example");
    ck_assert_int_eq(q->window, 10);
    for (int i = 0; i < 5; i++) {
        reply_hop_failure(busy[i]);
        ck_assert_int_eq(q->window, expect[i]);
    }
    /* busy 5 > window 4: nothing more is handed out. */
    ck_assert_ptr_null(sched_fake_choose("fake"));
    ck_assert_int_eq(todo_count(q), 2);
}
END_TEST

/* Window 7 after two increases from 5, then one failure: 7 -> 5. */
START_TEST(test_negative_after_increase)
{
    SCHED_ENTRY *busy[20];
    SCHED_QUEUE *q;
    int n;

    start_sched(NULL);
    send_many(10, "fake", "u@d.example");
    n = choose_all("fake", busy, 20);
    ck_assert_int_eq(n, 5);
    q = queue("fake", "d.example");
    reply_ok(busy[0]);
    ck_assert_int_eq(q->window, 6);
    n = choose_all("fake", busy, 20);
    ck_assert_int_eq(n, 2);
    reply_ok(busy[0]);
    ck_assert_int_eq(q->window, 7);
    reply_hop_failure(busy[1]);
    ck_assert_int_eq(q->window, 5);
}
END_TEST

/* Negative feedback 1/concurrency: 10 -> 9, then 9 until the 9th failure. */
START_TEST(test_negative_feedback_per_concurrency)
{
    SCHED_TRANSPORT_PARAMS *p = sched_fake_xport_params("fake");
    SCHED_ENTRY *busy[20];
    SCHED_QUEUE *q;

    p->init_dest_concurrency = 10;
    p->fail_cohort_limit = 100;
    p->neg_feedback.numerator = 1;
    p->neg_feedback.per_concurrency = 1;
    start_sched(NULL);
    send_many(10, "fake", "u@d.example");
    ck_assert_int_eq(choose_all("fake", busy, 20), 10);
    q = queue("fake", "d.example");
    reply_hop_failure(busy[0]);
    ck_assert_int_eq(q->window, 9);
    for (int i = 1; i < 8; i++) {
        reply_hop_failure(busy[i]);
        ck_assert_int_eq(q->window, 9);
    }
    reply_hop_failure(busy[8]);
    ck_assert_int_eq(q->window, 8);
}
END_TEST

/* Cohort limit 0: never dead, the window bottoms out at 1. */
START_TEST(test_cohort_limit_disabled)
{
    SCHED_TRANSPORT_PARAMS *p = sched_fake_xport_params("fake");
    SCHED_ENTRY *busy[20];
    SCHED_QUEUE *q;

    p->fail_cohort_limit = 0;
    start_sched(NULL);
    send_many(12, "fake", "u@d.example");
    ck_assert_int_eq(choose_all("fake", busy, 20), 5);
    q = queue("fake", "d.example");
    for (int i = 0; i < 5; i++)
        reply_hop_failure(busy[i]);
    ck_assert_int_eq(q->window, 1);
    ck_assert_ptr_eq(queue("fake", "d.example"), q);
    for (int i = 0; i < 7; i++) {
        SCHED_ENTRY *e = sched_fake_choose("fake");

        ck_assert_ptr_nonnull(e);
        ck_assert_ptr_null(sched_fake_choose("fake"));
        reply_hop_failure(e);
        if (i < 6)
            ck_assert_int_eq(q->window, 1);
    }
    /* Still alive: the empty queue was discarded, not kept as dead. */
    ck_assert_ptr_null(queue("fake", "d.example"));
    ck_assert_ptr_null(sched_transport_find(sched_fake.s, "retry"));
}
END_TEST

/* Slow start: initial 2, limit 10: outstanding = min(10, 2 + k). */
START_TEST(test_slow_start_growth)
{
    SCHED_TRANSPORT_PARAMS *p = sched_fake_xport_params("fake");
    SCHED_ENTRY *busy[64];
    int nbusy;
    SCHED_QUEUE *q;

    p->init_dest_concurrency = 2;
    p->dest_concurrency_limit = 10;
    start_sched(NULL);
    send_many(50, "fake", "u@d.example");
    nbusy = choose_all("fake", busy, 64);
    ck_assert_int_eq(nbusy, 2);
    q = queue("fake", "d.example");
    for (int k = 1; k <= 12; k++) {
        reply_ok(busy[0]);
        memmove(busy, busy + 1, --nbusy * sizeof(*busy));
        nbusy += choose_all("fake", busy + nbusy, 64 - nbusy);
        ck_assert_int_eq(nbusy, k + 2 < 10 ? k + 2 : 10);
        ck_assert_int_eq(busy_count(q), nbusy);
    }
    ck_assert_int_eq(q->window, 10);
}
END_TEST

/* One delivery at a time: the window stops at busy (1) + initial (5). */
START_TEST(test_slow_start_cap)
{
    SCHED_QUEUE *q;

    start_sched(NULL);
    send_many(20, "fake", "u@d.example");
    q = queue("fake", "d.example");
    for (int i = 0; i < 10; i++) {
        SCHED_ENTRY *e = sched_fake_choose("fake");

        ck_assert_ptr_nonnull(e);
        reply_ok(e);
        ck_assert_int_eq(q->window, 6);
    }
}
END_TEST

/* Positive feedback 1/concurrency: 2 -> 10 takes 44 successes. */
START_TEST(test_slow_start_per_concurrency)
{
    SCHED_TRANSPORT_PARAMS *p = sched_fake_xport_params("fake");
    SCHED_ENTRY *busy[64];
    int nbusy;
    int successes = 0;
    SCHED_QUEUE *q;

    p->init_dest_concurrency = 2;
    p->dest_concurrency_limit = 10;
    p->pos_feedback.numerator = 1;
    p->pos_feedback.per_concurrency = 1;
    start_sched(NULL);
    send_many(100, "fake", "u@d.example");
    q = queue("fake", "d.example");
    nbusy = choose_all("fake", busy, 64);
    while (q->window < 10) {
        int before = q->window;

        reply_ok(busy[0]);
        successes++;
        memmove(busy, busy + 1, --nbusy * sizeof(*busy));
        nbusy += choose_all("fake", busy + nbusy, 64 - nbusy);
        if (q->window != before)
            ck_assert_int_eq(q->window, before + 1);
        if (before == 2 && q->window == 3)
            ck_assert_int_eq(successes, 2);
        if (before == 3 && q->window == 4)
            ck_assert_int_eq(successes, 5);
    }
    ck_assert_int_eq(successes, 44);
}
END_TEST

/*
 * 3.8: dead destinations and the status cache.
 */

/* Defaults, 5 in flight: dead after the 3rd failure; todo to retry. */
START_TEST(test_dead_after_third_failure)
{
    SCHED_ENTRY *busy[20];
    SCHED_QUEUE *q;
    SCHED_QUEUE *retry;
    SCHED_MESSAGE *m;
    const char *addrs[1] = {"v@d.example"};

    start_sched(NULL);
    send_many(25, "fake", "u@d.example");
    ck_assert_int_eq(choose_all("fake", busy, 20), 5);
    q = queue("fake", "d.example");
    reply_hop_failure(busy[0]);
    ck_assert_int_eq(q->window, 3);
    ck_assert(q->fail_cohorts > 0.199 && q->fail_cohorts < 0.201);
    reply_hop_failure(busy[1]);
    ck_assert_int_eq(q->window, 2);
    reply_hop_failure(busy[2]);
    ck_assert(SCHED_QUEUE_THROTTLED(q));
    ck_assert_str_eq(q->dsn_status, "4.4.1");
    ck_assert_str_eq(q->dsn_reason, "delivery temporarily suspended: "
                                    "connect to mx.d.example: Connection "
                                    "refused");
    ck_assert_int_eq(sched_fake_timer_due(SCHED_TIMER_QUEUE_REVIVE, q),
                     sched_fake.now + 300);
    /* The whole backlog went to retry at once, under the exact reason. */
    ck_assert_int_eq(todo_count(q), 0);
    retry = queue("retry", HOP_RETRY_QUEUE);
    ck_assert_ptr_nonnull(retry);
    ck_assert_int_eq(todo_count(retry), 20);
    ck_assert_str_eq(retry->nexthop, HOP_RETRY_QUEUE);
    /* The remaining in-flight failures change nothing. */
    reply_hop_failure(busy[3]);
    reply_hop_failure(busy[4]);
    ck_assert_ptr_eq(queue("fake", "d.example"), q);
    ck_assert(SCHED_QUEUE_THROTTLED(q));
    ck_assert_int_eq(busy_count(q), 0);
    /* New mail is deferred through retry without an attempt. */
    m = new_message("NEW1", "s@example.org", 0);
    assign_rcpts(m, "fake", NULL, addrs, 1);
    ck_assert_int_eq(todo_count(retry), 21);
    ck_assert_int_eq(todo_count(q), 0);
    ck_assert_int_eq(sched_fake.sync_defers, 0);
    /* The dead state lasts minimal_backoff_time. */
    sched_fake_advance(299);
    ck_assert(SCHED_QUEUE_THROTTLED(queue("fake", "d.example")));
    sched_fake_advance(1);
    ck_assert_ptr_null(queue("fake", "d.example"));
    m = new_message("NEW2", "s@example.org", 0);
    assign_rcpts(m, "fake", NULL, addrs, 1);
    q = queue("fake", "d.example");
    ck_assert_ptr_nonnull(q);
    ck_assert_int_eq(q->window, 5);
    ck_assert_int_eq(todo_count(q), 1);
}
END_TEST

/* Initial concurrency 1: a single failure kills the destination. */
START_TEST(test_window_one_death)
{
    SCHED_TRANSPORT_PARAMS *p = sched_fake_xport_params("fake");
    SCHED_ENTRY *e;
    SCHED_QUEUE *q;

    p->init_dest_concurrency = 1;
    start_sched(NULL);
    send_many(3, "fake", "u@d.example");
    e = sched_fake_choose("fake");
    q = e->queue;
    reply_hop_failure(e);
    ck_assert(SCHED_QUEUE_THROTTLED(q));
    ck_assert_int_eq(todo_count(queue("retry", HOP_RETRY_QUEUE)), 2);
}
END_TEST

/* fail, fail (dead), then the third in-flight delivery succeeds. */
START_TEST(test_revival_by_in_flight_success)
{
    SCHED_TRANSPORT_PARAMS *p = sched_fake_xport_params("fake");
    SCHED_ENTRY *busy[3];
    SCHED_QUEUE *q;

    p->init_dest_concurrency = 3;
    start_sched(NULL);
    send_many(3, "fake", "u@d.example");
    ck_assert_int_eq(choose_all("fake", busy, 3), 3);
    q = queue("fake", "d.example");
    reply_hop_failure(busy[0]);
    ck_assert_int_eq(q->window, 1);
    reply_hop_failure(busy[1]);
    ck_assert(SCHED_QUEUE_THROTTLED(q));
    ck_assert_int_ne(sched_fake_timer_due(SCHED_TIMER_QUEUE_REVIVE, q), -1);
    reply_ok(busy[2]);
    /* Revived (timer cancelled), then discarded because it is empty. */
    ck_assert_int_eq(sched_fake_timer_due(SCHED_TIMER_QUEUE_REVIVE, q), -1);
    ck_assert_ptr_null(queue("fake", "d.example"));
    send_one("fake", "u@d.example");
    ck_assert_ptr_nonnull(queue("fake", "d.example"));
    ck_assert_ptr_nonnull(sched_fake_choose("fake"));
}
END_TEST

/* Revival sets window = busy when deliveries are still in flight. */
START_TEST(test_revival_window_is_busy)
{
    SCHED_ENTRY *busy[5];
    SCHED_QUEUE *q;

    start_sched(NULL);
    send_many(5, "fake", "u@d.example");
    ck_assert_int_eq(choose_all("fake", busy, 5), 5);
    q = queue("fake", "d.example");
    for (int i = 0; i < 3; i++)
        reply_hop_failure(busy[i]);
    ck_assert(SCHED_QUEUE_THROTTLED(q));
    sched_flush_dead(sched_fake.s);
    ck_assert_int_eq(q->window, 2);
    ck_assert_int_eq(q->fail_cohorts, 0);
    ck_assert_ptr_null(q->dsn_reason);
    ck_assert_int_eq(sched_fake_timer_due(SCHED_TIMER_QUEUE_REVIVE, q), -1);
}
END_TEST

/* Dead queues are dropped early once there are > 2 x recipient limit. */
START_TEST(test_dead_cache_bound)
{
    SCHED_GLOBALS g;
    SCHED_TRANSPORT_PARAMS *p = sched_fake_xport_params("fake");
    const char *others[] = {"a@a.example", "b@b.example", "c@c.example",
                            "d@d.example", "e@e.example"};
    SCHED_ENTRY *e;
    SCHED_QUEUE *x;

    p->init_dest_concurrency = 1;
    sched_globals_default(&g);
    g.active_limit = 2;
    g.recipient_limit = 2;
    g.helpful_warnings = 0;
    start_sched(&g);

    /* Few queues: the dead queue stays as the status cache. */
    send_one("fake", "u@x.example");
    e = sched_fake_choose("fake");
    x = e->queue;
    reply_hop_failure(e);
    ck_assert_ptr_eq(queue("fake", "x.example"), x);
    ck_assert(SCHED_QUEUE_THROTTLED(x));
    sched_flush_dead(sched_fake.s);
    ck_assert_ptr_null(queue("fake", "x.example"));

    /* Five other destinations held in flight, then X dies: dropped. */
    for (int i = 0; i < 5; i++) {
        send_one("fake", others[i]);
        ck_assert_ptr_nonnull(sched_fake_choose("fake"));
    }
    send_one("fake", "u@x.example");
    e = sched_fake_choose("fake");
    x = e->queue;
    ck_assert_str_eq(x->name, "x.example");
    ck_assert_int_eq(sched_queue_count(sched_fake.s), 6);
    reply_hop_failure(e);
    ck_assert_ptr_null(queue("fake", "x.example"));
    ck_assert_int_eq(sched_queue_count(sched_fake.s), 5);
    ck_assert_int_eq(sched_fake_timer_due(SCHED_TIMER_QUEUE_REVIVE, x), -1);
    send_one("fake", "u@x.example");
    ck_assert_int_eq(todo_count(queue("fake", "x.example")), 1);
}
END_TEST

/* A per-message flush revives the dead queue for that message. */
START_TEST(test_flush_each_revives_queue)
{
    SCHED_TRANSPORT_PARAMS *p = sched_fake_xport_params("fake");
    SCHED_ENTRY *e;
    SCHED_QUEUE *q;
    SCHED_MESSAGE *m;
    const char *addrs[1] = {"u@d.example"};

    p->init_dest_concurrency = 1;
    start_sched(NULL);
    send_many(2, "fake", "u@d.example");
    e = sched_fake_choose("fake");
    q = e->queue;
    reply_hop_failure(e);
    ck_assert(SCHED_QUEUE_THROTTLED(q));
    m = new_message("FLUSHED", "s@example.org", SCHED_FLUSH_EACH);
    assign_rcpts(m, "fake", NULL, addrs, 1);
    ck_assert_ptr_eq(queue("fake", "d.example"), q);
    ck_assert_int_eq(q->window, 1);
    ck_assert_int_eq(todo_count(q), 1);
}
END_TEST

/* The retry transport itself dead: new recipients are deferred at once. */
START_TEST(test_dead_retry_defers_synchronously)
{
    SCHED_TRANSPORT_PARAMS *p = sched_fake_xport_params("fake");
    SCHED_ENTRY *e;
    SCHED_MESSAGE *m;
    SCHED_BATCH *b;
    const char *addrs[1] = {"v@d.example"};

    p->init_dest_concurrency = 1;
    start_sched(NULL);
    send_many(2, "fake", "u@d.example");
    e = sched_fake_choose("fake");
    reply_hop_failure(e);
    /* The retry agent is unavailable too: its todo is deferred now. */
    sched_transport_broken(sched_fake.s, sched_fake_transport("retry"), NULL,
                           NULL, sched_fake.now);
    ck_assert_int_eq(sched_fake_transport("retry")->flags &
                         SCHED_TRANSPORT_DEAD,
                     SCHED_TRANSPORT_DEAD);
    ck_assert_int_eq(sched_fake.sync_defers, 1);
    m = new_message("SYNC", "s@example.org", 0);
    b = sched_batch_create(sched_fake.s, m);
    fill_batch(b, addrs, 1);
    ck_assert_int_eq(sched_batch_bind(b, 0, "fake", "d.example"),
                     SCHED_BIND_DEFERRED);
    ck_assert_ptr_null(sched_batch_queue(b, 0));
    ck_assert_int_eq(sched_batch_assign(b, sched_fake.now), 0);
    ck_assert_int_eq(sched_fake.sync_defers, 2);
    ck_assert_str_eq(sched_fake.sync_status, "4.4.1");
    ck_assert_str_eq(sched_fake.sync_reason,
                     "delivery temporarily suspended: connect "
                     "to mx.d.example: Connection refused");
    ck_assert_int_ne(m->flags, 0);
    ck_assert_int_eq(m->refcount, 0);
}
END_TEST

/*
 * 3.1: transport selection.
 */

START_TEST(test_transport_round_robin)
{
    SCHED_TRANSPORT *a;
    SCHED_TRANSPORT *b;

    start_sched(NULL);
    send_many(3, "fakeA", "u@a.example");
    send_many(3, "fakeB", "u@b.example");
    a = sched_fake_transport("fakeA");
    b = sched_fake_transport("fakeB");
    /* New transports go to the head: fakeB was created last. */
    ck_assert_ptr_eq(sched_select_transport(sched_fake.s), b);
    ck_assert_ptr_eq(sched_select_transport(sched_fake.s), a);
    ck_assert_ptr_eq(sched_select_transport(sched_fake.s), b);
    ck_assert_ptr_eq(sched_select_transport(sched_fake.s), a);
    /* Two pending connections each: nothing more. */
    ck_assert_int_eq(a->pending, 2);
    ck_assert_ptr_null(sched_select_transport(sched_fake.s));
    sched_transport_connected(sched_fake.s, b);
    ck_assert_int_eq(b->pending, 1);
    ck_assert_ptr_eq(sched_select_transport(sched_fake.s), b);
}
END_TEST

START_TEST(test_transport_need)
{
    SCHED_TRANSPORT_PARAMS *p = sched_fake_xport_params("fake");
    SCHED_ENTRY *busy[20];
    SCHED_TRANSPORT *t;

    p->init_dest_concurrency = 10;
    p->fail_cohort_limit = 100;
    start_sched(NULL);
    ck_assert_ptr_null(sched_select_transport(sched_fake.s));
    send_one("fake", "u@y.example");
    t = sched_fake_transport("fake");
    /* One startable entry: one connection, not two. */
    ck_assert_ptr_eq(sched_select_transport(sched_fake.s), t);
    ck_assert_ptr_null(sched_select_transport(sched_fake.s));
    sched_transport_connected(sched_fake.s, t);
    ck_assert_ptr_nonnull(sched_fake_choose("fake"));
    ck_assert_ptr_null(sched_select_transport(sched_fake.s));

    /* Queue x: window shrinks below busy, which counts against need. */
    send_many(10, "fake", "u@x.example");
    ck_assert_int_eq(choose_all("fake", busy, 20), 10);
    reply_hop_failure(busy[0]);
    reply_hop_failure(busy[1]);
    ck_assert_int_eq(queue("fake", "x.example")->window, 7);
    ck_assert_int_eq(busy_count(queue("fake", "x.example")), 8);
    send_one("fake", "v@z.example");
    ck_assert_ptr_null(sched_select_transport(sched_fake.s));
    reply_ok(busy[2]);
    ck_assert_int_eq(queue("fake", "x.example")->window, 8);
    ck_assert_ptr_eq(sched_select_transport(sched_fake.s), t);
}
END_TEST

/*
 * 3.3: oqmgr entry choice.
 */

static const char *
entry_id(const SCHED_ENTRY *e)
{
    return e->message->queue_id;
}

/* Round robin across destinations, FIFO within one; messages don't matter. */
START_TEST(test_oqmgr_round_robin)
{
    static const char *expect[] = {"A1", "B1", "A2", "B2", "A3", "B3"};
    char id[16];
    const char *a[1] = {"u@a.example"};
    const char *b[1] = {"u@b.example"};

    start_sched(NULL);
    for (int i = 1; i <= 3; i++) {
        snprintf(id, sizeof(id), "A%d", i);
        assign_rcpts(new_message(id, "s@x", 0), "fake", NULL, a, 1);
    }
    for (int i = 1; i <= 3; i++) {
        snprintf(id, sizeof(id), "B%d", i);
        assign_rcpts(new_message(id, "s@x", 0), "fake", NULL, b, 1);
    }
    for (int i = 0; i < 6; i++)
        ck_assert_str_eq(entry_id(sched_fake_choose("fake")), expect[i]);
    ck_assert_ptr_null(sched_fake_choose("fake"));
}
END_TEST

/* One message, recipient limit 2, 4 rcpts in a and 4 in b: a, b, a, b. */
START_TEST(test_oqmgr_round_robin_one_message)
{
    SCHED_TRANSPORT_PARAMS *p = sched_fake_xport_params("fake");
    const char *addrs[] = {"a1@a.example", "b1@b.example", "a2@a.example",
                           "b2@b.example", "a3@a.example", "b3@b.example",
                           "a4@a.example", "b4@b.example"};
    static const char *expect[][2] = {{"a1@a.example", "a2@a.example"},
                                      {"b1@b.example", "b2@b.example"},
                                      {"a3@a.example", "a4@a.example"},
                                      {"b3@b.example", "b4@b.example"}};
    SCHED_MESSAGE *m;

    p->dest_recipient_limit = 2;
    start_sched(NULL);
    m = new_message("LIST", "s@x", 0);
    ck_assert_int_eq(assign_rcpts(m, "fake", NULL, addrs, 8), 8);
    ck_assert_int_eq(m->refcount, 4);
    ck_assert_int_eq(m->rcpt_count, 8);
    ck_assert_int_eq(sched_recipient_count(sched_fake.s), 8);
    for (int i = 0; i < 4; i++) {
        SCHED_ENTRY *e = sched_fake_choose("fake");

        ck_assert_int_eq(e->rcpt_count, 2);
        ck_assert_str_eq(e->rcpts[0].address, expect[i][0]);
        ck_assert_str_eq(e->rcpts[1].address, expect[i][1]);
    }
}
END_TEST

/* An unselected entry is handed out last. */
START_TEST(test_unselect_goes_last)
{
    SCHED_ENTRY *e;

    start_sched(NULL);
    for (int i = 0; i < 3; i++)
        send_one("fake", "u@a.example");
    e = sched_fake_choose("fake");
    ck_assert_str_eq(entry_id(e), "M0001");
    sched_entry_unselect(sched_fake.s, e);
    ck_assert_int_eq(busy_count(e->queue), 0);
    ck_assert_str_eq(entry_id(sched_fake_choose("fake")), "M0002");
    ck_assert_str_eq(entry_id(sched_fake_choose("fake")), "M0003");
    ck_assert_str_eq(entry_id(sched_fake_choose("fake")), "M0001");
}
END_TEST

/* 3.11: connection-cache hints. */
START_TEST(test_connection_cache_hints)
{
    SCHED_ENTRY *e;
    SCHED_QUEUE *q;

    start_sched(NULL);
    send_many(10, "fake", "u@d.example");
    e = sched_fake_choose("fake");
    q = e->queue;
    ck_assert_int_eq(sched_entry_flags(e), 0);
    reply_ok(e);
    /* Back to back (last completion <= 1 s ago): load and store. */
    sched_fake_advance(1);
    e = sched_fake_choose("fake");
    ck_assert_int_eq(sched_entry_flags(e), SCHED_CONN_LOAD | SCHED_CONN_STORE);
    reply_ok(e);
    /* Not back to back, not concurrent: store off, load stays. */
    sched_fake_advance(10);
    e = sched_fake_choose("fake");
    ck_assert_int_eq(sched_entry_flags(e), SCHED_CONN_LOAD);
    /* Back to back again (store was off): both on. */
    reply_ok(e);
    e = sched_fake_choose("fake");
    ck_assert_int_eq(q->dflags, SCHED_CONN_LOAD | SCHED_CONN_STORE);
    /* Store stays on while deliveries are concurrent. */
    sched_fake_advance(10);
    ck_assert_int_eq(sched_entry_flags(sched_fake_choose("fake")),
                     SCHED_CONN_LOAD | SCHED_CONN_STORE);
    /* Death clears the hints. */
    reply_hop_failure(e);
    while (SCHED_QUEUE_READY(q) && (e = sched_fake_choose("fake")) != NULL)
        reply_hop_failure(e);
    ck_assert(SCHED_QUEUE_THROTTLED(q));
    ck_assert_int_eq(q->dflags, 0);
}
END_TEST

/*
 * 3.10, 2.9 step 10: recipient limits and per-recipient queues.
 */

START_TEST(test_recipient_limit)
{
    const char *addrs[] = {"g@d.example", "c@d.example", "a@d.example",
                           "f@d.example", "b@d.example", "e@d.example",
                           "d@d.example"};
    static const char *first[] = {"a@d.example", "d@d.example", "g@d.example"};
    static const int sizes[] = {3, 3, 1};
    SCHED_MESSAGE *m;

    sched_fake_xport_params("fake")->dest_recipient_limit = 3;
    start_sched(NULL);
    m = new_message("SEVEN", "s@x", 0);
    assign_rcpts(m, "fake", NULL, addrs, 7);
    ck_assert_int_eq(m->refcount, 3);
    for (int i = 0; i < 3; i++) {
        SCHED_ENTRY *e = sched_fake_choose("fake");

        ck_assert_int_eq(e->rcpt_count, sizes[i]);
        ck_assert_str_eq(e->rcpts[0].address, first[i]);
        ck_assert_str_eq(e->rcpts[0].orig_addr, first[i]);
    }
}
END_TEST

START_TEST(test_recipient_limit_unlimited_and_verp)
{
    char *addrs[120];
    SCHED_MESSAGE *m;
    SCHED_MESSAGE_INFO info = {.queue_id = "VERP", .sender = "s@x"};
    SCHED_ENTRY *e;

    sched_fake_xport_params("fake")->dest_recipient_limit = 0;
    start_sched(NULL);
    for (int i = 0; i < 120; i++) {
        addrs[i] = malloc(32);
        snprintf(addrs[i], 32, "user%03d@d.example", i);
    }
    m = new_message("BIG", "s@x", 0);
    assign_rcpts(m, "fake", NULL, (const char *const *) addrs, 120);
    ck_assert_int_eq(m->refcount, 1);
    e = sched_fake_choose("fake");
    ck_assert_int_eq(e->rcpt_count, 120);
    ck_assert_str_eq(e->rcpts[0].address, "user000@d.example");
    ck_assert_str_eq(e->rcpts[119].address, "user119@d.example");
    ck_assert_int_eq(e->rcpts[0].offset, 100);

    /* VERP: one recipient per entry, whatever the limit. */
    info.single_rcpt = 1;
    m = sched_message_create(sched_fake.s, &info);
    assign_rcpts(m, "fake", NULL, (const char *const *) addrs, 3);
    ck_assert_int_eq(m->refcount, 3);
    for (int i = 0; i < 120; i++)
        free(addrs[i]);
}
END_TEST

START_TEST(test_per_recipient_queues)
{
    SCHED_GLOBALS g;
    SCHED_TRANSPORT_PARAMS *p = sched_fake_xport_params("fake");
    const char *addrs[] = {"User+a@D.example", "user+b@d.example",
                           "other@d.example"};
    SCHED_MESSAGE *m;
    SCHED_BATCH *b;
    SCHED_QUEUE *user;

    p->dest_recipient_limit = 1;
    p->dest_concurrency_limit = 1;
    sched_globals_default(&g);
    g.recipient_delimiter = "+";
    start_sched(&g);
    for (int round = 0; round < 2; round++) {
        m = new_message(round ? "M2" : "M1", "s@x", 0);
        b = sched_batch_create(sched_fake.s, m);
        fill_batch(b, addrs, 3);
        for (int i = 0; i < 3; i++)
            sched_batch_bind(b, i, "fake", "D.example");
        ck_assert_ptr_eq(sched_batch_queue(b, 0), sched_batch_queue(b, 1));
        ck_assert_ptr_ne(sched_batch_queue(b, 0), sched_batch_queue(b, 2));
        sched_batch_assign(b, sched_fake.now);
    }
    user = queue("fake", "user@d.example");
    ck_assert_ptr_nonnull(user);
    /* The agent gets the nexthop as resolved, not the address. */
    ck_assert_str_eq(user->nexthop, "D.example");
    ck_assert_int_eq(todo_count(user), 4);
    ck_assert_int_eq(todo_count(queue("fake", "other@d.example")), 2);
    /* user+a and user+b share one delivery at a time; other runs too. */
    ck_assert_ptr_eq(sched_fake_choose("fake")->queue, user);
    ck_assert_str_eq(sched_fake_choose("fake")->queue->name, "other@d.example");
    ck_assert_ptr_null(sched_fake_choose("fake"));
}
END_TEST

START_TEST(test_per_recipient_queue_names)
{
    SCHED_GLOBALS g;
    SCHED_TRANSPORT_PARAMS *p = sched_fake_xport_params("local");
    static const char *cases[][2] = {
        {"joe-ext@h", "joe@h"},
        {"owner-list@h", "owner-list@h"},
        {"list-request@h", "list-request@h"},
        {"-lead@h", "-lead@h"},
        {"Postmaster@h", "postmaster@h"},
        {"double-bounce@h", "double-bounce@h"},
        {"plain", "plain@h"},
        {"a+b-c@h", "a@h"},
    };
    SCHED_MESSAGE *m;
    SCHED_BATCH *b;

    p->dest_recipient_limit = 1;
    sched_fake_xport_params("retry")->dest_recipient_limit = 1;
    sched_globals_default(&g);
    g.recipient_delimiter = "-+";
    start_sched(&g);
    m = new_message("NAMES", "s@x", 0);
    b = sched_batch_create(sched_fake.s, m);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        SCHED_RCPT r = {.address = cases[i][0]};

        sched_batch_add(b, &r);
        sched_batch_bind(b, (int) i, "local", "h");
        ck_assert_str_eq(sched_batch_queue(b, (int) i)->name, cases[i][1]);
    }
    /* retry and error never get per-recipient queues. */
    sched_batch_bind(b, 0, "retry", "4.3.0 Resolver Failure");
    ck_assert_str_eq(sched_batch_queue(b, 0)->name, "4.3.0 resolver failure");
    ck_assert_str_eq(sched_batch_queue(b, 0)->nexthop,
                     "4.3.0 Resolver Failure");
    sched_batch_free(b);
    /* Unassigned bindings leave no empty queues behind. */
    ck_assert_int_eq(sched_queue_count(sched_fake.s), 0);
}
END_TEST

/*
 * 3.9: rate delays.
 */

START_TEST(test_destination_rate_delay)
{
    SCHED_TRANSPORT_PARAMS *p = sched_fake_xport_params("fake");
    SCHED_ENTRY *a;
    SCHED_ENTRY *b;
    SCHED_QUEUE *qa;

    p->dest_rate_delay = 3;
    start_sched(NULL);
    send_many(2, "fake", "u@a.example");
    send_many(2, "fake", "u@b.example");
    ck_assert_int_eq(
        sched_fake_transport("fake")->params.dest_concurrency_limit, 1);
    ck_assert_int_eq(sched_fake_transport("fake")->params.init_dest_concurrency,
                     1);
    a = sched_fake_choose("fake");
    b = sched_fake_choose("fake");
    qa = a->queue;
    ck_assert_str_eq(qa->name, "a.example");
    ck_assert_str_eq(b->queue->name, "b.example");
    ck_assert_ptr_null(sched_fake_choose("fake"));
    reply_ok(a);
    ck_assert(SCHED_QUEUE_SUSPENDED(qa));
    ck_assert_int_eq(sched_fake_timer_due(SCHED_TIMER_QUEUE_RESUME, qa),
                     sched_fake.now + 3);
    ck_assert_ptr_null(sched_fake_choose("fake"));
    sched_fake_advance(2);
    ck_assert_ptr_null(sched_fake_choose("fake"));
    sched_fake_advance(1);
    ck_assert_int_eq(qa->window, 1);
    a = sched_fake_choose("fake");
    ck_assert_ptr_eq(a->queue, qa);
    reply_ok(a);
    /* Suspended even when empty; discarded when the delay ends. */
    ck_assert_ptr_eq(queue("fake", "a.example"), qa);
    sched_fake_advance(3);
    ck_assert_ptr_null(queue("fake", "a.example"));
    ck_assert_ptr_nonnull(queue("fake", "b.example"));
}
END_TEST

/* Rate delay + hop failure: backlog deferred, dead only for the delay. */
START_TEST(test_rate_delay_failure)
{
    SCHED_ENTRY *e;
    SCHED_QUEUE *q;

    sched_fake_xport_params("fake")->dest_rate_delay = 3;
    start_sched(NULL);
    send_many(5, "fake", "u@d.example");
    e = sched_fake_choose("fake");
    q = e->queue;
    reply_hop_failure(e);
    ck_assert_int_eq(todo_count(queue("retry", HOP_RETRY_QUEUE)), 4);
    ck_assert(SCHED_QUEUE_SUSPENDED(q));
    ck_assert_ptr_null(q->dsn_reason);
    ck_assert_int_eq(sched_fake_timer_due(SCHED_TIMER_QUEUE_REVIVE, q), -1);
    ck_assert_int_eq(sched_fake_timer_due(SCHED_TIMER_QUEUE_RESUME, q),
                     sched_fake.now + 3);
    sched_fake_advance(4);
    ck_assert_ptr_null(queue("fake", "d.example"));
    send_one("fake", "u@d.example");
    ck_assert_ptr_nonnull(sched_fake_choose("fake"));
}
END_TEST

/* Transport rate delay: one delivery at a time, lock cleared by a reply. */
START_TEST(test_transport_rate_delay)
{
    SCHED_TRANSPORT *t;
    SCHED_ENTRY *e;

    sched_fake_xport_params("fake")->transport_rate_delay = 2;
    start_sched(NULL);
    send_one("fake", "u@a.example");
    send_one("fake", "u@b.example");
    send_one("fake", "u@c.example");
    t = sched_fake_transport("fake");
    ck_assert_ptr_eq(sched_select_transport(sched_fake.s), t);
    ck_assert_int_eq(t->flags & SCHED_TRANSPORT_RATE_LOCK,
                     SCHED_TRANSPORT_RATE_LOCK);
    ck_assert_ptr_null(sched_select_transport(sched_fake.s));
    sched_transport_connected(sched_fake.s, t);
    ck_assert_ptr_null(sched_select_transport(sched_fake.s));
    e = sched_fake_choose("fake");
    reply_ok(e);
    ck_assert_int_eq(t->flags & SCHED_TRANSPORT_RATE_LOCK, 0);
    ck_assert_ptr_eq(sched_select_transport(sched_fake.s), t);
    sched_transport_connected(sched_fake.s, t);
    /* Crash: the lock is cleared too (documented deviation). */
    sched_fake_reply(sched_fake_choose("fake"), 1, 1, NULL, NULL);
    ck_assert_int_eq(t->flags & SCHED_TRANSPORT_RATE_LOCK, 0);
    /* No entry for a connection: cleared (documented deviation). */
    ck_assert_ptr_eq(sched_select_transport(sched_fake.s), t);
    sched_transport_connected(sched_fake.s, t);
    ck_assert_ptr_nonnull(sched_fake_choose("fake"));
    ck_assert_ptr_null(sched_select_transport(sched_fake.s));
    ck_assert_ptr_null(sched_fake_choose("fake"));
    ck_assert_int_eq(t->flags & SCHED_TRANSPORT_RATE_LOCK, 0);
}
END_TEST

/*
 * 4.3, 4.4: transport death and revival.
 */

START_TEST(test_transport_death)
{
    SCHED_TRANSPORT *t;
    SCHED_QUEUE *retry;
    const char *addrs[1] = {"v@d.example"};
    SCHED_MESSAGE *m;

    start_sched(NULL);
    send_many(3, "fake", "u@d.example");
    t = sched_fake_transport("fake");
    ck_assert_ptr_eq(sched_select_transport(sched_fake.s), t);
    sched_transport_connect_failed(sched_fake.s, t, sched_fake.now);
    ck_assert_int_eq(t->pending, 0);
    ck_assert_int_eq(t->flags & SCHED_TRANSPORT_DEAD, SCHED_TRANSPORT_DEAD);
    ck_assert_str_eq(t->dsn_status, "4.3.0");
    ck_assert_str_eq(t->dsn_reason, "mail transport unavailable");
    ck_assert_int_eq(sched_fake_timer_due(SCHED_TIMER_TRANSPORT_REVIVE, t),
                     sched_fake.now + 60);
    ck_assert_ptr_null(queue("fake", "d.example"));
    retry = queue("retry", "4.3.0 mail transport unavailable");
    ck_assert_int_eq(todo_count(retry), 3);
    /* The dead transport is never selected; retry is. */
    ck_assert_ptr_eq(sched_select_transport(sched_fake.s),
                     sched_fake_transport("retry"));
    ck_assert_ptr_eq(sched_select_transport(sched_fake.s),
                     sched_fake_transport("retry"));
    ck_assert_ptr_null(sched_select_transport(sched_fake.s));
    /* New recipients go straight to retry. */
    m = new_message("LATE", "s@x", 0);
    assign_rcpts(m, "fake", NULL, addrs, 1);
    ck_assert_int_eq(todo_count(retry), 4);
    ck_assert_int_eq(sched_queue_count(sched_fake.s), 1);
    /* Calling it again changes nothing, the timer keeps its time. */
    sched_fake_advance(30);
    sched_transport_broken(sched_fake.s, t, NULL, NULL, sched_fake.now);
    ck_assert_int_eq(sched_fake_timer_due(SCHED_TIMER_TRANSPORT_REVIVE, t),
                     sched_fake.now + 30);
    sched_fake_advance(30);
    ck_assert_int_eq(t->flags & SCHED_TRANSPORT_DEAD, 0);
    ck_assert_ptr_null(t->dsn_reason);
    send_one("fake", "u@d.example");
    ck_assert_int_eq(todo_count(queue("fake", "d.example")), 1);
}
END_TEST

START_TEST(test_transport_revival_paths)
{
    SCHED_TRANSPORT *t;
    SCHED_ENTRY *e;
    SCHED_ENTRY *e2;

    start_sched(NULL);
    send_many(3, "fake", "u@d.example");
    t = sched_fake_transport("fake");
    /* "F" revives a dead transport and cancels its timer. */
    sched_transport_broken(sched_fake.s, t, "4.3.0", "bad greeting",
                           sched_fake.now);
    ck_assert_str_eq(t->dsn_reason, "bad greeting");
    ck_assert_int_eq(todo_count(queue("retry", "4.3.0 bad greeting")), 3);
    sched_flush_dead(sched_fake.s);
    ck_assert_int_eq(t->flags & SCHED_TRANSPORT_DEAD, 0);
    ck_assert_int_eq(sched_fake_timer_due(SCHED_TIMER_TRANSPORT_REVIVE, t), -1);

    /* An in-flight delivery that completes without a crash revives it. */
    send_many(2, "fake", "u@d.example");
    e = sched_fake_choose("fake");
    e2 = sched_fake_choose("fake");
    sched_transport_broken(sched_fake.s, t, NULL, NULL, sched_fake.now);
    sched_fake_reply(e, 1, 1, NULL, NULL);
    ck_assert_int_eq(t->flags & SCHED_TRANSPORT_DEAD, SCHED_TRANSPORT_DEAD);
    sched_fake_reply(e2, 1, 0, "", "");
    ck_assert_int_eq(t->flags & SCHED_TRANSPORT_DEAD, 0);
    ck_assert_int_eq(sched_fake_timer_due(SCHED_TIMER_TRANSPORT_REVIVE, t), -1);
}
END_TEST

/* FLUSH_EACH revives a dead transport for that message's recipients. */
START_TEST(test_flush_each_revives_transport)
{
    SCHED_TRANSPORT *t;
    SCHED_MESSAGE *m;
    const char *addrs[1] = {"u@d.example"};

    start_sched(NULL);
    send_one("fake", "u@d.example");
    t = sched_fake_transport("fake");
    sched_transport_broken(sched_fake.s, t, NULL, NULL, sched_fake.now);
    m = new_message("FLUSH", "s@x", SCHED_FLUSH_EACH | SCHED_FLUSH_DFXP);
    assign_rcpts(m, "fake", NULL, addrs, 1);
    ck_assert_int_eq(t->flags & SCHED_TRANSPORT_DEAD, 0);
    ck_assert_int_eq(todo_count(queue("fake", "d.example")), 1);
}
END_TEST

/* Transport death while retry is dead: synchronous deferral. */
START_TEST(test_transport_death_retry_dead)
{
    SCHED_MESSAGE *m;

    start_sched(NULL);
    m = send_one("fake", "u@d.example");
    send_one("fake", "v@d.example");
    sched_transport_broken(sched_fake.s,
                           sched_transport_find(sched_fake.s, "fake"), NULL,
                           NULL, sched_fake.now);
    /* Retry gets the work; then retry itself dies: deferred now. */
    sched_transport_broken(sched_fake.s, sched_fake_transport("retry"), NULL,
                           NULL, sched_fake.now);
    ck_assert_int_eq(sched_fake.sync_defers, 2);
    ck_assert_str_eq(sched_fake.sync_reason, "mail transport unavailable");
    ck_assert_int_ne(m->flags, 0);
    ck_assert_int_eq(m->refcount, 0);
    ck_assert_int_eq(sched_fake.ndone, 2);
    ck_assert_ptr_eq(sched_fake.done[0], m);
    ck_assert_int_eq(sched_recipient_count(sched_fake.s), 0);
    ck_assert_int_eq(sched_queue_count(sched_fake.s), 0);
}
END_TEST

/* "F" leaves suspended queues alone and discards idle revived ones. */
START_TEST(test_flush_dead)
{
    SCHED_TRANSPORT_PARAMS *p = sched_fake_xport_params("slow");
    SCHED_ENTRY *e;
    SCHED_QUEUE *dead;

    p->dest_rate_delay = 10;
    sched_fake_xport_params("fake")->init_dest_concurrency = 1;
    start_sched(NULL);
    send_one("slow", "u@s.example");
    send_one("slow", "v@s.example");
    reply_ok(sched_fake_choose("slow"));
    ck_assert(SCHED_QUEUE_SUSPENDED(queue("slow", "s.example")));
    send_one("fake", "u@d.example");
    e = sched_fake_choose("fake");
    dead = e->queue;
    reply_hop_failure(e);
    ck_assert(SCHED_QUEUE_THROTTLED(dead));
    sched_flush_dead(sched_fake.s);
    ck_assert_ptr_null(queue("fake", "d.example"));
    ck_assert_int_eq(sched_fake_timer_due(SCHED_TIMER_QUEUE_REVIVE, dead), -1);
    ck_assert(SCHED_QUEUE_SUSPENDED(queue("slow", "s.example")));
}
END_TEST

/*
 * 2.9 step 7: defer_transports.
 */

START_TEST(test_defer_transports)
{
    SCHED_GLOBALS g;
    SCHED_MESSAGE *m;
    const char *addrs[1] = {"u@d.example"};
    SCHED_QUEUE *retry;

    sched_globals_default(&g);
    g.defer_transports = "other, fake\tthird";
    start_sched(&g);
    m = new_message("DFX", "s@x", 0);
    assign_rcpts(m, "fake", NULL, addrs, 1);
    retry = queue("retry", "4.3.2 deferred transport");
    ck_assert_ptr_nonnull(retry);
    ck_assert_int_eq(todo_count(retry), 1);
    ck_assert_ptr_null(sched_transport_find(sched_fake.s, "fake"));
    /* Exact names only. */
    assign_rcpts(new_message("DFX2", "s@x", 0), "fake2", NULL, addrs, 1);
    ck_assert_int_eq(todo_count(queue("fake2", "d.example")), 1);
    /* FLUSH_DFXP (from "F" or a per-message flush) overrides the list. */
    m = new_message("DFX3", "s@x", SCHED_FLUSH_DFXP);
    assign_rcpts(m, "fake", NULL, addrs, 1);
    ck_assert_int_eq(todo_count(queue("fake", "d.example")), 1);
    ck_assert_int_eq(todo_count(retry), 1);
}
END_TEST

/*
 * 2.3, 2.6: admission and batch size.
 */

START_TEST(test_admission)
{
    SCHED_GLOBALS g;
    char *addrs[60];
    SCHED_MESSAGE *m;

    sched_globals_default(&g);
    g.active_limit = 100;
    g.recipient_limit = 100;
    sched_fake_xport_params("fake")->dest_recipient_limit = 1000;
    start_sched(&g);
    ck_assert_int_eq(sched_batch_limit(sched_fake.s, NULL), 100);
    for (int i = 0; i < 60; i++) {
        addrs[i] = malloc(32);
        snprintf(addrs[i], 32, "u%02d@d.example", i);
    }
    ck_assert(sched_can_admit(sched_fake.s));
    m = new_message("R60a", "s@x", 0);
    assign_rcpts(m, "fake", NULL, (const char *const *) addrs, 60);
    ck_assert(sched_can_admit(sched_fake.s));
    m = new_message("R60b", "s@x", 0);
    assign_rcpts(m, "fake", NULL, (const char *const *) addrs, 60);
    ck_assert_int_eq(sched_recipient_count(sched_fake.s), 120);
    ck_assert(!sched_can_admit(sched_fake.s));
    for (int i = 0; i < 60; i++)
        free(addrs[i]);
}
END_TEST

START_TEST(test_admission_active_limit_and_fudge)
{
    SCHED_GLOBALS g;

    sched_globals_default(&g);
    g.active_limit = 2;
    g.recipient_limit = 20000;
    g.fudge_factor = 33;
    start_sched(&g);
    /* ceil(20000 * 33 / 100) */
    ck_assert_int_eq(sched_batch_limit(sched_fake.s, NULL), 6600);
    new_message("A", "s@x", 0);
    ck_assert(sched_can_admit(sched_fake.s));
    new_message("B", "s@x", 0);
    ck_assert_int_eq(sched_message_count(sched_fake.s), 2);
    ck_assert(!sched_can_admit(sched_fake.s));
}
END_TEST

/* Start-up sanity: limits adjusted with qmgr's warnings. */
START_TEST(test_globals_sanitized)
{
    SCHED_GLOBALS g;
    const char *log;

    sched_globals_default(&g);
    g.active_limit = 500;
    g.recipient_limit = 100;
    g.bounce_queue_lifetime = 10 * 86400;
    capture_start();
    start_sched(&g);
    log = capture_stop();
    ck_assert_ptr_nonnull(strstr(log, "warning: qmgr_message_recipient_limit "
                                      "is smaller than "
                                      "qmgr_message_active_limit - adjusting "
                                      "qmgr_message_recipient_limit"));
    ck_assert_ptr_nonnull(strstr(log, "warning: bounce_queue_lifetime is "
                                      "larger than maximal_queue_lifetime - "
                                      "adjusting bounce_queue_lifetime"));
    ck_assert_int_eq(sched_batch_limit(sched_fake.s, NULL), 500);
    ck_assert_ptr_null(sched_create(&g, NULL, "nqmgr-not-yet"));
}
END_TEST

/*
 * 2.7: sort order.
 */

START_TEST(test_sort_order)
{
    const char *addrs[] = {"b@Y.example", "a@y.example", "noat",
                           "A@y.example", "c@x.example", "z@a.example"};
    static const char *unbound[] = {"z@a.example", "c@x.example", "a@y.example",
                                    "A@y.example", "b@Y.example", "noat"};
    static const char *bound[] = {"A@y.example", "z@a.example", "c@x.example",
                                  "a@y.example", "b@Y.example", "noat"};
    SCHED_MESSAGE *m;
    SCHED_BATCH *b;
    int i;

    start_sched(NULL);
    m = new_message("SORT", "s@x", 0);
    b = sched_batch_create(sched_fake.s, m);
    fill_batch(b, addrs, 6);
    sched_batch_sort(b);
    for (i = 0; i < 6; i++)
        ck_assert_str_eq(sched_batch_rcpt(b, i)->address, unbound[i]);

    /*
     * Bind: A@y to alpha/q1, z@a and c@x to beta/q0, a@y and b@Y to
     * beta/q1 (nexthop case does not matter); noat stays unbound.  Then
     * sort again: alpha before beta, q0 before q1, then domain, address.
     */
    sched_batch_bind(b, 0, "beta", "q0");  /* z@a */
    sched_batch_bind(b, 1, "beta", "q0");  /* c@x */
    sched_batch_bind(b, 2, "beta", "Q1");  /* a@y */
    sched_batch_bind(b, 3, "alpha", "q1"); /* A@y */
    sched_batch_bind(b, 4, "beta", "q1");  /* b@Y */
    sched_batch_sort(b);
    for (i = 0; i < 6; i++)
        ck_assert_str_eq(sched_batch_rcpt(b, i)->address, bound[i]);
    ck_assert_ptr_null(sched_batch_queue(b, 5));
    sched_batch_set_address(b, 5, "rewritten@x.example");
    ck_assert_str_eq(sched_batch_rcpt(b, 5)->address, "rewritten@x.example");
    ck_assert_str_eq(sched_batch_rcpt(b, 5)->orig_addr, "noat");
    ck_assert_int_eq(sched_batch_assign(b, sched_fake.now), 5);
    ck_assert_int_eq(m->refcount, 3);
}
END_TEST

/*
 * 4.11: clogging warnings.
 */

START_TEST(test_clog_warning)
{
    SCHED_GLOBALS g;
    const char *log;

    sched_globals_default(&g);
    g.active_limit = 10;
    g.recipient_limit = 10;
    start_sched(&g);
    capture_start();
    send_many(2, "fake", "u@d.example");
    log = capture_stop();
    ck_assert_str_eq(log, "");

    capture_start();
    send_many(2, "fake", "u@d.example");
    log = capture_stop();
    ck_assert_int_eq(count_substr(log, "warning: "), 9);
    ck_assert_ptr_nonnull(strstr(log, "warning: mail for d.example is using "
                                      "up 3 of 3 active queue entries\n"));
    ck_assert_ptr_null(strstr(log, "this may slow down other mail"));
    ck_assert_ptr_nonnull(
        strstr(log, "warning: you may need to reduce fake connect and helo "
                    "timeouts\n"));
    ck_assert_ptr_nonnull(
        strstr(log, "warning: you may need to increase the main.cf "
                    "minimal_backoff_time and maximal_backoff_time\n"));
    ck_assert_ptr_nonnull(strstr(log, "warning: you may need to increase the "
                                      "master.cf fake process limit\n"));
    ck_assert_ptr_nonnull(strstr(log, "warning: please avoid flushing the "
                                      "whole queue when you have\n"));
    ck_assert_ptr_nonnull(strstr(log, "warning: lots of deferred mail, that "
                                      "is bad for performance\n"));
    ck_assert_ptr_nonnull(strstr(log, "warning: to turn off these warnings "
                                      "specify: qmgr_clog_warn_time = 0\n"));

    /* Not again before qmgr_clog_warn_time has passed. */
    sched_fake_advance(299);
    capture_start();
    send_one("fake", "u@d.example");
    log = capture_stop();
    ck_assert_str_eq(log, "");
    sched_fake_advance(1);
    capture_start();
    send_one("other", "u@o.example");
    send_one("fake", "u@e.example");
    send_one("fake", "u@d.example");
    log = capture_stop();
    ck_assert_ptr_nonnull(strstr(log, "mail for d.example is using up 6 of 8 "
                                      "active queue entries"));
    ck_assert_ptr_nonnull(strstr(log, "this may slow down other mail "
                                      "deliveries"));
    ck_assert_ptr_nonnull(strstr(log, "warning: you may need a separate "
                                      "master.cf transport for d.example\n"));
}
END_TEST

START_TEST(test_clog_warning_hints)
{
    SCHED_GLOBALS g;
    const char *log;

    sched_globals_default(&g);
    g.active_limit = 10;
    g.recipient_limit = 10;
    sched_fake_xport_params("fake")->dest_concurrency_limit = 2;
    sched_fake_xport_params("wide")->init_dest_concurrency = 8;
    start_sched(&g);
    send_many(2, "fake", "u@d.example");
    sched_fake_choose("fake");
    capture_start();
    send_one("fake", "u@d.example");
    log = capture_stop();
    ck_assert_ptr_nonnull(
        strstr(log, "warning: you may need to increase the main.cf "
                    "fake_destination_concurrency_limit from 2\n"));

    send_one("other", "u@o.example");
    send_many(2, "wide", "u@w.example");
    capture_start();
    send_one("wide", "u@w.example");
    log = capture_stop();
    /* window 8 > 10 * 3/7 */
    ck_assert_ptr_nonnull(
        strstr(log, "warning: you may need to increase the main.cf "
                    "qmgr_message_active_limit from 10\n"));
}
END_TEST

START_TEST(test_clog_warning_disabled)
{
    SCHED_GLOBALS g;
    const char *log;

    sched_globals_default(&g);
    g.active_limit = 10;
    g.recipient_limit = 10;
    g.helpful_warnings = 0;
    start_sched(&g);
    capture_start();
    send_many(5, "fake", "u@d.example");
    log = capture_stop();
    ck_assert_str_eq(log, "");
    sched_destroy(sched_fake.s);
    g.helpful_warnings = 1;
    g.clog_warn_time = 0;
    start_sched(&g);
    capture_start();
    send_many(5, "fake", "u@d.example");
    log = capture_stop();
    ck_assert_str_eq(log, "");
}
END_TEST

/*
 * 4.1, 4.5: completion bookkeeping and notifications.
 */

START_TEST(test_message_done_notification)
{
    SCHED_MESSAGE *m;
    SCHED_ENTRY *a;
    SCHED_ENTRY *b;
    const char *addrs[2] = {"u@a.example", "u@b.example"};

    start_sched(NULL);
    m = new_message("TWO", "s@x", 0);
    assign_rcpts(m, "fake", NULL, addrs, 2);
    ck_assert_int_eq(m->refcount, 2);
    a = sched_fake_choose("fake");
    b = sched_fake_choose("fake");
    reply_ok(a);
    ck_assert_int_eq(sched_fake.ndone, 0);
    ck_assert_int_eq(m->flags, 0);
    sched_fake_reply(b, 1, 0, "", "");
    ck_assert_int_eq(sched_fake.ndone, 1);
    ck_assert_ptr_eq(sched_fake.done[0], m);
    ck_assert_int_eq(m->refcount, 0);
    ck_assert_int_ne(m->flags, 0);
    ck_assert_int_eq(sched_recipient_count(sched_fake.s), 0);
    ck_assert_int_eq(m->rcpt_count, 0);
    /* Both queues went away with their last entry. */
    ck_assert_int_eq(sched_queue_count(sched_fake.s), 0);
    sched_message_free(sched_fake.s, m);
    ck_assert_int_eq(sched_message_count(sched_fake.s), 0);
}
END_TEST

/*
 * A crash only defers the message: no feedback for the destination and no
 * throttling, as Postfix 3.7.11's binaries do (parity scenario agent_crash).
 */
START_TEST(test_agent_crash)
{
    SCHED_MESSAGE *m;
    SCHED_ENTRY *busy[5];
    SCHED_QUEUE *q;

    start_sched(NULL);
    m = send_one("fake", "u@d.example");
    send_many(4, "fake", "u@d.example");
    ck_assert_int_eq(choose_all("fake", busy, 5), 5);
    q = queue("fake", "d.example");
    sched_fake_reply(busy[0], 0, 1, NULL, NULL);
    ck_assert_int_ne(m->flags, 0);
    ck_assert_int_eq(q->window, 5);
    sched_fake_reply(busy[1], 0, 1, NULL, NULL);
    sched_fake_reply(busy[2], 0, 1, NULL, NULL);
    ck_assert(!SCHED_QUEUE_THROTTLED(q));
    ck_assert_int_eq(q->window, 5);
    ck_assert_ptr_null(q->dsn_status);
}
END_TEST

/* An invalid hop status becomes 4.0.0, an empty reason "unknown error". */
START_TEST(test_hop_status_sanitized)
{
    SCHED_ENTRY *e;
    SCHED_QUEUE *q;

    sched_fake_xport_params("fake")->init_dest_concurrency = 1;
    start_sched(NULL);
    send_one("fake", "u@d.example");
    e = sched_fake_choose("fake");
    q = e->queue;
    sched_fake_reply(e, 1, 0, "x.y", "");
    ck_assert(SCHED_QUEUE_THROTTLED(q));
    ck_assert_str_eq(q->dsn_status, "4.0.0");
    ck_assert_str_eq(q->dsn_reason,
                     "delivery temporarily suspended: unknown error");
}
END_TEST

/* Status 0 with a hop reason: neither negative nor positive feedback. */
START_TEST(test_hop_reason_without_deferral)
{
    SCHED_ENTRY *busy[5];
    SCHED_QUEUE *q;

    start_sched(NULL);
    send_many(5, "fake", "u@d.example");
    choose_all("fake", busy, 5);
    q = queue("fake", "d.example");
    sched_fake_reply(busy[0], 0, 0, "4.4.1", "something");
    ck_assert_int_eq(q->window, 5);
    sched_fake_reply(busy[1], 0, 0, "", "");
    ck_assert_int_eq(q->window, 6);
}
END_TEST

/* oqmgr refill: after an entry completes while few recipients are in core. */
static SCHED_MESSAGE *refill_target;

static void
refill_more(SCHED_MESSAGE *m)
{
    const char *addrs[1] = {"next@d.example"};

    ck_assert_ptr_eq(m, refill_target);
    sched_message_set_unread(m, 0);
    assign_rcpts(m, "fake", NULL, addrs, 1);
}

START_TEST(test_refill_after_entry)
{
    SCHED_GLOBALS g;
    SCHED_MESSAGE *m;
    SCHED_ENTRY *e;
    const char *addrs[2] = {"a@d.example", "b@e.example"};

    sched_globals_default(&g);
    g.active_limit = 150;
    g.recipient_limit = 150; /* refill below 150 - 100 = 50 in core */
    start_sched(&g);
    m = new_message("BIG", "s@x", 0);
    refill_target = m;
    sched_fake.refill_hook = refill_more;
    assign_rcpts(m, "fake", NULL, addrs, 2);
    sched_message_set_unread(m, 1);
    e = sched_fake_choose("fake");
    reply_ok(e);
    ck_assert_int_eq(sched_fake.refills, 1);
    ck_assert_int_eq(sched_fake.ndone, 0);
    ck_assert_int_eq(m->refcount, 2);
    /* No more unread recipients: no refill, and done at the end. */
    reply_ok(sched_fake_choose("fake"));
    reply_ok(sched_fake_choose("fake"));
    ck_assert_int_eq(sched_fake.refills, 1);
    ck_assert_int_eq(sched_fake.ndone, 1);
}
END_TEST

START_TEST(test_refill_threshold)
{
    SCHED_GLOBALS g;
    SCHED_MESSAGE *m;
    const char *addrs[2] = {"a@d.example", "b@e.example"};

    sched_globals_default(&g);
    g.active_limit = 100;
    g.recipient_limit = 100; /* threshold 0: never from entry completion */
    start_sched(&g);
    m = new_message("BIG", "s@x", 0);
    assign_rcpts(m, "fake", NULL, addrs, 2);
    sched_message_set_unread(m, 1);
    reply_ok(sched_fake_choose("fake"));
    ck_assert_int_eq(sched_fake.refills, 0);
    reply_ok(sched_fake_choose("fake"));
    /* Last entry: the pipeline reads the next batch instead. */
    ck_assert_int_eq(sched_fake.refills, 0);
    ck_assert_int_eq(sched_fake.ndone, 1);
    ck_assert_int_eq(sched_done_next(sched_fake.s, m, sched_fake.now),
                     SCHED_DONE_BOUNCE);
    sched_done_status(m, SCHED_DONE_BOUNCE, 0);
    ck_assert_int_eq(sched_done_next(sched_fake.s, m, sched_fake.now),
                     SCHED_DONE_REFILL);
}
END_TEST

/*
 * 4.6-4.9: completion decisions.
 */

START_TEST(test_backoff)
{
    SCHED_GLOBALS g;
    time_t now = sched_fake.now;

    start_sched(NULL);
    ck_assert_int_eq(sched_backoff_delay(sched_fake.s, now - 10, now), 300);
    ck_assert_int_eq(sched_backoff_delay(sched_fake.s, now - 1000, now), 1000);
    ck_assert_int_eq(sched_backoff_delay(sched_fake.s, now - 10000, now), 4000);
    ck_assert_int_eq(sched_backoff_delay(sched_fake.s, 0, now), 300);
    sched_destroy(sched_fake.s);
    sched_globals_default(&g);
    g.min_backoff_time = 600;
    g.max_backoff_time = 300;
    start_sched(&g);
    ck_assert_int_eq(sched_backoff_delay(sched_fake.s, now - 10000, now), 600);
    ck_assert_int_eq(sched_backoff_delay(sched_fake.s, now - 10, now), 600);
    ck_assert_int_eq(sched_backoff_delay(sched_fake.s, 0, now), 600);
}
END_TEST

START_TEST(test_expiry)
{
    SCHED_GLOBALS g;
    SCHED_MESSAGE *m;
    SCHED_MESSAGE *bounce;
    SCHED_MESSAGE *forced;

    sched_globals_default(&g);
    g.max_queue_lifetime = 1000;
    g.bounce_queue_lifetime = 100;
    start_sched(&g);
    m = new_message("NORMAL", "s@x", 0);
    bounce = new_message("BOUNCE", "", 0);
    forced = new_message("FORCED", "s@x", SCHED_FORCE_EXPIRE);
    ck_assert_int_eq(sched_expired(sched_fake.s, m, sched_fake.now + 999),
                     SCHED_NOT_EXPIRED);
    ck_assert_int_eq(sched_expired(sched_fake.s, m, sched_fake.now + 1000),
                     SCHED_EXPIRED);
    ck_assert_int_eq(sched_expired(sched_fake.s, bounce, sched_fake.now + 99),
                     SCHED_NOT_EXPIRED);
    ck_assert_int_eq(sched_expired(sched_fake.s, bounce, sched_fake.now + 100),
                     SCHED_EXPIRED);
    ck_assert_int_eq(sched_expired(sched_fake.s, forced, sched_fake.now),
                     SCHED_FORCE_EXPIRED);
    sched_destroy(sched_fake.s);
    g.max_queue_lifetime = 0;
    g.bounce_queue_lifetime = 0;
    start_sched(&g);
    m = new_message("ZERO", "s@x", 0);
    ck_assert_int_eq(sched_expired(sched_fake.s, m, sched_fake.now),
                     SCHED_EXPIRED);
}
END_TEST

START_TEST(test_warning_due)
{
    SCHED_MESSAGE *m;

    start_sched(NULL);
    m = new_message("W", "s@x", 0);
    m->warn_time = sched_fake.now + 10;
    ck_assert(!sched_warning_due(m, sched_fake.now + 8));
    ck_assert(sched_warning_due(m, sched_fake.now + 9));
    m->warn_time = -1;
    ck_assert(!sched_warning_due(m, sched_fake.now + 100000));
    m->warn_time = 0;
    ck_assert(!sched_warning_due(m, sched_fake.now + 100000));
}
END_TEST

START_TEST(test_done_pipeline)
{
    SCHED_MESSAGE *m;
    const char *log;

    start_sched(NULL);
    /* Delivered: bounce log check, then remove. */
    m = new_message("OK", "s@x", 0);
    ck_assert_int_eq(sched_done_next(sched_fake.s, m, sched_fake.now),
                     SCHED_DONE_BOUNCE);
    sched_done_status(m, SCHED_DONE_BOUNCE, 0);
    ck_assert_int_eq(sched_done_next(sched_fake.s, m, sched_fake.now),
                     SCHED_DONE_REMOVE);

    /* A failed bounce flush makes it a deferral. */
    m = new_message("NDR", "s@x", 0);
    m->trace_wanted = 1;
    ck_assert_int_eq(sched_done_next(sched_fake.s, m, sched_fake.now),
                     SCHED_DONE_BOUNCE);
    sched_done_status(m, SCHED_DONE_BOUNCE, 1);
    ck_assert_int_eq(sched_done_next(sched_fake.s, m, sched_fake.now),
                     SCHED_DONE_CORRUPT_CHECK);
    ck_assert_int_eq(sched_done_next(sched_fake.s, m, sched_fake.now),
                     SCHED_DONE_TRACE);
    sched_done_status(m, SCHED_DONE_TRACE, 0);
    ck_assert_int_eq(sched_done_next(sched_fake.s, m, sched_fake.now),
                     SCHED_DONE_DEFER);

    /* Deferred with a warning due: warn, flags unchanged, defer. */
    m = new_message("WARN", "s@x", 0);
    m->flags = 1;
    m->warn_time = sched_fake.now;
    ck_assert_int_eq(sched_done_next(sched_fake.s, m, sched_fake.now),
                     SCHED_DONE_BOUNCE);
    ck_assert_int_eq(sched_done_next(sched_fake.s, m, sched_fake.now),
                     SCHED_DONE_CORRUPT_CHECK);
    ck_assert_int_eq(sched_done_next(sched_fake.s, m, sched_fake.now),
                     SCHED_DONE_WARN);
    sched_done_status(m, SCHED_DONE_WARN, 0);
    ck_assert_int_eq(sched_done_next(sched_fake.s, m, sched_fake.now),
                     SCHED_DONE_DEFER);

    /* Expired: logged, status assigned, returned and removed. */
    m = new_message("EXP", "", SCHED_FORCE_EXPIRE);
    m->flags = 1;
    m->warn_time = sched_fake.now;
    ck_assert_int_eq(sched_done_next(sched_fake.s, m, sched_fake.now),
                     SCHED_DONE_BOUNCE);
    ck_assert_int_eq(sched_done_next(sched_fake.s, m, sched_fake.now),
                     SCHED_DONE_CORRUPT_CHECK);
    capture_start();
    ck_assert_int_eq(sched_done_next(sched_fake.s, m, sched_fake.now),
                     SCHED_DONE_EXPIRE);
    log = capture_stop();
    ck_assert_ptr_nonnull(
        strstr(log, ": EXP: from=<>, status=force-expired, returned to "
                    "sender\n"));
    sched_done_status(m, SCHED_DONE_EXPIRE, 0);
    ck_assert_int_eq(m->flags, 0);
    ck_assert_int_eq(sched_done_next(sched_fake.s, m, sched_fake.now),
                     SCHED_DONE_REMOVE);

    /* Unread recipients: refill, then the pipeline starts over. */
    m = new_message("MORE", "s@x", 0);
    sched_message_set_unread(m, 1);
    ck_assert_int_eq(sched_done_next(sched_fake.s, m, sched_fake.now),
                     SCHED_DONE_BOUNCE);
    ck_assert_int_eq(sched_done_next(sched_fake.s, m, sched_fake.now),
                     SCHED_DONE_REFILL);
    sched_message_set_unread(m, 0);
    ck_assert_int_eq(sched_done_next(sched_fake.s, m, sched_fake.now),
                     SCHED_DONE_BOUNCE);
    ck_assert_int_eq(sched_done_next(sched_fake.s, m, sched_fake.now),
                     SCHED_DONE_REMOVE);
}
END_TEST

START_TEST(test_double_bounce)
{
    start_sched(NULL);
    ck_assert(
        sched_is_double_bounce(sched_fake.s, "double-bounce@host.example"));
    ck_assert(sched_is_double_bounce(sched_fake.s, "Double-Bounce@other"));
    ck_assert(sched_is_double_bounce(sched_fake.s, "double-bounce"));
    ck_assert(!sched_is_double_bounce(sched_fake.s, "double-bouncer@host"));
    ck_assert(!sched_is_double_bounce(sched_fake.s, "double@host"));
}
END_TEST

/* Destroying a scheduler with work in flight cancels its timers. */
START_TEST(test_destroy_with_state)
{
    SCHED_ENTRY *e;

    sched_fake_xport_params("fake")->init_dest_concurrency = 1;
    sched_fake_xport_params("slow")->dest_rate_delay = 5;
    start_sched(NULL);
    send_many(3, "fake", "u@d.example");
    send_many(2, "slow", "u@s.example");
    e = sched_fake_choose("fake");
    reply_hop_failure(e);
    reply_ok(sched_fake_choose("slow"));
    sched_fake_choose("retry");
    sched_transport_broken(sched_fake.s, sched_fake_transport("fake"), NULL,
                           NULL, sched_fake.now);
    ck_assert_int_gt(sched_fake.ntimers, 0);
    sched_destroy(sched_fake.s);
    sched_fake.s = NULL;
    ck_assert_int_eq(sched_fake.ntimers, 0);
}
END_TEST

static Suite *
sched_suite(void)
{
    Suite *s = suite_create("sched");
    TCase *feedback = tcase_create("feedback");
    TCase *dead = tcase_create("dead");
    TCase *drain = tcase_create("drain");
    TCase *input = tcase_create("input");
    TCase *rate = tcase_create("rate");
    TCase *xport = tcase_create("transport");
    TCase *done = tcase_create("completion");
    TCase *all[] = {feedback, dead, drain, input, rate, xport, done};

    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        tcase_add_checked_fixture(all[i], setup, teardown);
        suite_add_tcase(s, all[i]);
    }
    tcase_add_test(feedback, test_negative_feedback_default);
    tcase_add_test(feedback, test_negative_after_increase);
    tcase_add_test(feedback, test_negative_feedback_per_concurrency);
    tcase_add_test(feedback, test_cohort_limit_disabled);
    tcase_add_test(feedback, test_slow_start_growth);
    tcase_add_test(feedback, test_slow_start_cap);
    tcase_add_test(feedback, test_slow_start_per_concurrency);
    tcase_add_test(feedback, test_hop_status_sanitized);
    tcase_add_test(feedback, test_hop_reason_without_deferral);
    tcase_add_test(feedback, test_agent_crash);

    tcase_add_test(dead, test_dead_after_third_failure);
    tcase_add_test(dead, test_window_one_death);
    tcase_add_test(dead, test_revival_by_in_flight_success);
    tcase_add_test(dead, test_revival_window_is_busy);
    tcase_add_test(dead, test_dead_cache_bound);
    tcase_add_test(dead, test_flush_each_revives_queue);
    tcase_add_test(dead, test_dead_retry_defers_synchronously);
    tcase_add_test(dead, test_flush_dead);

    tcase_add_test(drain, test_transport_round_robin);
    tcase_add_test(drain, test_transport_need);
    tcase_add_test(drain, test_oqmgr_round_robin);
    tcase_add_test(drain, test_oqmgr_round_robin_one_message);
    tcase_add_test(drain, test_unselect_goes_last);
    tcase_add_test(drain, test_connection_cache_hints);

    tcase_add_test(input, test_recipient_limit);
    tcase_add_test(input, test_recipient_limit_unlimited_and_verp);
    tcase_add_test(input, test_per_recipient_queues);
    tcase_add_test(input, test_per_recipient_queue_names);
    tcase_add_test(input, test_defer_transports);
    tcase_add_test(input, test_admission);
    tcase_add_test(input, test_admission_active_limit_and_fudge);
    tcase_add_test(input, test_globals_sanitized);
    tcase_add_test(input, test_sort_order);
    tcase_add_test(input, test_clog_warning);
    tcase_add_test(input, test_clog_warning_hints);
    tcase_add_test(input, test_clog_warning_disabled);

    tcase_add_test(rate, test_destination_rate_delay);
    tcase_add_test(rate, test_rate_delay_failure);
    tcase_add_test(rate, test_transport_rate_delay);

    tcase_add_test(xport, test_transport_death);
    tcase_add_test(xport, test_transport_revival_paths);
    tcase_add_test(xport, test_flush_each_revives_transport);
    tcase_add_test(xport, test_transport_death_retry_dead);

    tcase_add_test(done, test_message_done_notification);
    tcase_add_test(done, test_refill_after_entry);
    tcase_add_test(done, test_refill_threshold);
    tcase_add_test(done, test_backoff);
    tcase_add_test(done, test_expiry);
    tcase_add_test(done, test_warning_due);
    tcase_add_test(done, test_done_pipeline);
    tcase_add_test(done, test_double_bounce);
    tcase_add_test(done, test_destroy_with_state);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(sched_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
