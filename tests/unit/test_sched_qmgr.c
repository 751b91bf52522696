/*
 * test_sched_qmgr - the qmgr(8) ("nqmgr") policy of the scheduling model
 * against ../shared/spec/postfix-scheduling.md sections 1.6-1.8, 2.6,
 * 2.10, 3.4-3.6, 4.5 and 6: FIFO job order by activation time, round robin
 * over a job's peers, blockers, preemption with the slot arithmetic of
 * 3.5 computed by hand, recipient slot pools and refills, and the effect
 * of every qmgr-only parameter.
 *
 * The fake daemon of sched_fake.h drives the model (a fake clock, a timer
 * table, recorders for the callbacks); here it has fake queue files too,
 * read in batches of sched_batch_limit() recipients, from the synchronous
 * refill callback and from the completion pipeline, as the daemon does.  The
 * tests look at the policy's internal state (sched_qmgr.h) where the spec gives
 * numbers: slot counters, pools, recipient limits.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched_fake.h"
#include "sched_qmgr.h"
#include "xalloc.h"

#define MAX_FILES 64
#define MAX_READS 64
#define MAX_BUSY  1024
#define SEQ_LEN   8192

/* A queue file: recipients with the transport each resolves to. */
typedef struct FAKE_FILE {
    char id[32];
    SCHED_MESSAGE *m; /* NULL before activation and after free */
    char **addrs;
    char **xports;
    int count;
    int alloc;
    int next; /* first recipient not read yet */
    int single_rcpt;
    int reads[MAX_READS]; /* batch sizes read */
    int nreads;
    int freed;
} FAKE_FILE;

/* The queue files and busy entries; the rest is in sched_fake. */
static struct {
    FAKE_FILE files[MAX_FILES];
    int nfiles;
    SCHED_ENTRY *busy[MAX_BUSY];
    int nbusy;
    const char *probe_xport; /* record this pool when a refill starts */
    int probe_pool;
    int probe_msg_limit;
} fk;

/*
 * Read the next batch of a file, as the daemon does: at most limit
 * recipients, sort, bind each to its transport with its domain as
 * nexthop, report what is left unread, assign.
 */
static void
read_batch(FAKE_FILE *f, int limit)
{
    SCHED_BATCH *b = sched_batch_create(sched_fake.s, f->m);
    int n = f->count - f->next;
    int left;

    ck_assert_int_gt(limit, 0);
    if (n > limit)
        n = limit;
    for (int i = 0; i < n; i++) {
        SCHED_RCPT r = {.offset = f->next + i + 1,
                        .dsn_notify = 0,
                        .address = f->addrs[f->next + i],
                        .orig_addr = f->addrs[f->next + i],
                        .dsn_orcpt = ""};

        sched_batch_add(b, &r);
    }
    sched_batch_sort(b);
    for (int i = 0; i < sched_batch_count(b); i++) {
        const SCHED_RCPT *r = sched_batch_rcpt(b, i);

        sched_batch_bind(b, i, f->xports[r->offset - 1],
                         sched_fake_domain_of(r->address));
    }
    f->next += n;
    left = f->count - f->next;
    sched_message_set_unread(f->m, left > 0);
    sched_message_set_rcpt_unread(f->m, left);
    ck_assert_int_lt(f->nreads, MAX_READS);
    f->reads[f->nreads++] = n;
    sched_batch_assign(b, sched_fake.now);
}

/* The refill callback: read the next batch of the message's file. */
static void
file_refill(SCHED_MESSAGE *m)
{
    FAKE_FILE *f = m->context;

    if (fk.probe_xport != NULL) {
        SCHED_TRANSPORT *t = sched_transport_find(sched_fake.s, fk.probe_xport);

        fk.probe_pool = ((SCHED_QMGR_XPORT *) t->policy_data)->rcpt_unused;
        fk.probe_msg_limit = ((SCHED_QMGR_MSG *) m->policy_data)->rcpt_limit;
    }
    read_batch(f, sched_batch_limit(sched_fake.s, m));
}

/* Harness helpers. */

static void
setup(void)
{
    sched_fake_setup();
    sched_fake.refill_hook = file_refill;
    memset(&fk, 0, sizeof(fk));
}

static void
teardown(void)
{
    sched_fake_teardown();
    for (int i = 0; i < fk.nfiles; i++) {
        FAKE_FILE *f = fk.files + i;

        for (int j = 0; j < f->count; j++) {
            xfree(f->addrs[j]);
            xfree(f->xports[j]);
        }
        xfree(f->addrs);
        xfree(f->xports);
    }
}

/*
 * A transport whose destinations never limit the tests: windows of 1000,
 * no concurrency limit; 50 recipients per delivery.
 */
static SCHED_TRANSPORT_PARAMS *
wide_params(const char *name)
{
    SCHED_TRANSPORT_PARAMS *p = sched_fake_xport_params(name);

    p->init_dest_concurrency = 1000;
    p->dest_concurrency_limit = 0;
    return p;
}

static SCHED *
start_sched(const SCHED_GLOBALS *globals)
{
    return sched_fake_start(globals, "qmgr");
}

/* Small globals: first reads of 10 recipients while the core is empty. */
static SCHED *
start_small(int minimum)
{
    SCHED_GLOBALS g;

    sched_globals_default(&g);
    g.active_limit = 10;
    g.recipient_limit = 10;
    g.recipient_minimum = minimum;
    g.clog_warn_time = 0; /* active limit / 5 would warn all the time */
    return start_sched(&g);
}

static FAKE_FILE *
new_file(const char *id)
{
    FAKE_FILE *f;

    ck_assert_int_lt(fk.nfiles, MAX_FILES);
    f = fk.files + fk.nfiles++;
    snprintf(f->id, sizeof(f->id), "%s", id);
    return f;
}

/* Append count recipients "<prefix><n>@<domain>" for transport xport. */
static void
file_add(FAKE_FILE *f, const char *xport, int count, const char *fmt, ...)
{
    char buf[128];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    for (int i = 0; i < count; i++) {
        char addr[160];
        const char *at = strchr(buf, '@');

        if (f->count == f->alloc) {
            f->alloc = f->alloc ? 2 * f->alloc : 16;
            f->addrs = xrealloc(f->addrs, f->alloc * sizeof(char *));
            f->xports = xrealloc(f->xports, f->alloc * sizeof(char *));
        }
        /* "%d" in the local part or domain: numbered by position. */
        snprintf(addr, sizeof(addr), "%.*s%03d%s", (int) (at - buf), buf,
                 f->count, at);
        f->addrs[f->count] = xstrdup(addr);
        f->xports[f->count] = xstrdup(xport);
        f->count++;
    }
}

/* Activate a file now: first read with sched_batch_limit(s, NULL). */
static SCHED_MESSAGE *
activate(FAKE_FILE *f)
{
    int limit = sched_batch_limit(sched_fake.s, NULL);
    SCHED_MESSAGE_INFO info = {
        .context = f,
        .queue_id = f->id,
        .sender = "sender@example.org",
        .create_time = sched_fake.now,
        .warn_time = 0,
        .qflags = 0,
        .single_rcpt = f->single_rcpt,
        .trace_wanted = 0,
    };

    f->m = sched_message_create(sched_fake.s, &info);
    read_batch(f, limit);
    if (f->m->refcount == 0)
        sched_fake_done(f->m);
    return f->m;
}

/* A file with count recipients at one domain, activated now. */
static FAKE_FILE *
send_msg(const char *id, const char *xport, int count, const char *domain)
{
    FAKE_FILE *f = new_file(id);

    file_add(f, xport, count, "u@%s", domain);
    activate(f);
    return f;
}

/* Run the completion pipeline of every message whose last entry is gone. */
static void
process_done(void)
{
    for (int i = 0; i < sched_fake.ndone; i++) {
        SCHED_MESSAGE *m = sched_fake.done[i];
        FAKE_FILE *f = m->context;

        for (;;) {
            SCHED_DONE_STEP step =
                sched_done_next(sched_fake.s, m, sched_fake.now);

            if (step == SCHED_DONE_REFILL) {
                read_batch(f, sched_batch_limit(sched_fake.s, m));
                if (m->refcount > 0)
                    break;
            } else if (step == SCHED_DONE_DEFER || step == SCHED_DONE_REMOVE) {
                sched_message_free(sched_fake.s, m);
                f->m = NULL;
                f->freed = 1;
                break;
            } else {
                sched_done_status(m, step, 0);
            }
        }
    }
    sched_fake.ndone = 0;
}

static SCHED_QMGR_XPORT *
xport_state(const char *name)
{
    SCHED_QMGR_XPORT *xp = sched_fake_transport(name)->policy_data;

    ck_assert_msg(xp != NULL, "transport %s has no jobs", name);
    return xp;
}

static SCHED_JOB *
job_of(FAKE_FILE *f, const char *xport)
{
    SCHED_JOB *job;

    ck_assert_ptr_nonnull(f->m);
    job = sched_job_find(f->m, sched_fake_transport(xport));
    ck_assert_msg(job != NULL, "%s has no job on %s", f->id, xport);
    return job;
}

static SCHED_QMGR_MSG *
msg_state(FAKE_FILE *f)
{
    ck_assert_ptr_nonnull(f->m);
    return f->m->policy_data;
}

static SCHED_ENTRY *
choose(const char *xport)
{
    SCHED_ENTRY *e = sched_fake_choose(xport);

    if (e != NULL) {
        ck_assert_int_lt(fk.nbusy, MAX_BUSY);
        fk.busy[fk.nbusy++] = e;
    }
    return e;
}

/*
 * Choose up to n entries (n < 0: until none) and return the message ids,
 * or "<queue>" names with by_queue, separated by spaces.
 */
static const char *
choose_seq_how(const char *xport, int n, int by_queue)
{
    static char seq[SEQ_LEN];
    SCHED_ENTRY *e;
    size_t len = 0;

    seq[0] = 0;
    for (int i = 0; n < 0 || i < n; i++) {
        if ((e = choose(xport)) == NULL)
            break;
        len += snprintf(seq + len, sizeof(seq) - len, "%s%s", len ? " " : "",
                        by_queue ? e->queue->name : e->message->queue_id);
        ck_assert_int_lt(len, sizeof(seq) - 1);
    }
    return seq;
}

static const char *
choose_seq(const char *xport, int n)
{
    return choose_seq_how(xport, n, 0);
}

/* "A B×3 C" style expectations: word repeated count times. */
static void
seq_add(char *buf, size_t size, const char *word, int count)
{
    for (int i = 0; i < count; i++) {
        size_t len = strlen(buf);

        snprintf(buf + len, size - len, "%s%s", len ? " " : "", word);
    }
}

static void
unbusy(SCHED_ENTRY *e)
{
    for (int i = 0; i < fk.nbusy; i++) {
        if (fk.busy[i] == e) {
            memmove(fk.busy + i, fk.busy + i + 1,
                    (fk.nbusy - i - 1) * sizeof(fk.busy[0]));
            fk.nbusy--;
            return;
        }
    }
    ck_abort_msg("entry is not busy");
}

static void
reply(SCHED_ENTRY *e, int status, const char *hop_status,
      const char *hop_reason)
{
    unbusy(e);
    sched_fake_reply(e, status, 0, hop_status, hop_reason);
}

static void
reply_ok(SCHED_ENTRY *e)
{
    reply(e, 0, NULL, NULL);
}

/* Complete every busy entry (oldest first), then run the pipelines. */
static void
complete_all(void)
{
    while (fk.nbusy > 0)
        reply_ok(fk.busy[0]);
    process_done();
}

/*
 * The pool invariants: per transport, pool + the limits of its jobs =
 * T_recipient_limit; per message, rcpt_limit = minimum + its jobs'.
 */
static void
check_pools(void)
{
    SCHED *s = sched_fake.s;
    SCHED_TRANSPORT *t;
    SCHED_MESSAGE *m;
    SCHED_JOB *job;

    for (t = sched_list_first(&s->transport_list); t;
         t = sched_list_next(&s->transport_list, &t->peers)) {
        SCHED_QMGR_XPORT *xp = t->policy_data;
        long sum;

        if (xp == NULL)
            continue;
        sum = xp->rcpt_unused;
        for (m = sched_list_first(&s->message_list); m;
             m = sched_list_next(&s->message_list, &m->all_link)) {
            SCHED_QMGR_MSG *qm = m->policy_data;

            if (qm == NULL)
                continue;
            for (job = sched_list_first(&qm->job_list); job;
                 job = sched_list_next(&qm->job_list, &job->message_link))
                if (job->transport == t)
                    sum += job->rcpt_limit;
        }
        ck_assert_int_eq(sum, t->params.recipient_limit);
    }
    for (m = sched_list_first(&s->message_list); m;
         m = sched_list_next(&s->message_list, &m->all_link)) {
        SCHED_QMGR_MSG *qm = m->policy_data;
        long sum;

        if (qm == NULL)
            continue;
        sum = s->globals.recipient_minimum;
        for (job = sched_list_first(&qm->job_list); job;
             job = sched_list_next(&qm->job_list, &job->message_link))
            sum += job->rcpt_limit;
        ck_assert_int_eq(sum, qm->rcpt_limit);
    }
}

/* Everything delivered: pools at their start values, nothing in core. */
static void
check_drained(void)
{
    SCHED_TRANSPORT *t;

    ck_assert_int_eq(sched_message_count(sched_fake.s), 0);
    ck_assert_int_eq(sched_recipient_count(sched_fake.s), 0);
    for (t = sched_list_first(&sched_fake.s->transport_list); t;
         t = sched_list_next(&sched_fake.s->transport_list, &t->peers)) {
        SCHED_QMGR_XPORT *xp = t->policy_data;

        if (xp == NULL)
            continue;
        ck_assert_int_eq(xp->rcpt_unused, t->params.recipient_limit);
        ck_assert_int_eq(sched_list_count(&xp->job_list), 0);
        ck_assert_int_eq(sched_list_count(&xp->job_bytime), 0);
        ck_assert_ptr_null(xp->job_current);
        ck_assert_ptr_null(xp->job_next_unread);
    }
}

/* Destroy the scheduler in the middle of a test, to start another. */
static void
restart(void)
{
    sched_destroy(sched_fake.s);
    sched_fake.s = NULL;
    fk.nbusy = 0;
    sched_fake.ndone = 0;
    sched_fake.ntimers = 0;
    sched_fake.refills = 0;
}

/* Choose everything on every transport, complete, repeat until empty. */
static void
drain(void)
{
    for (int round = 0; round < 10000 && sched_message_count(sched_fake.s) > 0;
         round++) {
        SCHED_TRANSPORT *t;

        for (t = sched_list_first(&sched_fake.s->transport_list); t;
             t = sched_list_next(&sched_fake.s->transport_list, &t->peers))
            while (choose(t->name) != NULL)
                check_pools();
        complete_all();
        check_pools();
        sched_fake_advance(1);
    }
    check_drained();
}

/* Policies. */

START_TEST(test_policy_names)
{
    SCHED_GLOBALS g;
    SCHED *s;

    sched_globals_default(&g);
    s = sched_create(&g, NULL, "qmgr");
    ck_assert_ptr_nonnull(s);
    sched_destroy(s);
    s = sched_create(&g, NULL, "nqmgr");
    ck_assert_ptr_nonnull(s);
    sched_destroy(s);
    ck_assert_ptr_null(sched_create(&g, NULL, "pqmgr"));
}
END_TEST

/* 2.3: no recipient test in the leaky bucket. */
START_TEST(test_admission)
{
    SCHED_GLOBALS g;

    sched_globals_default(&g);
    g.active_limit = 3;
    g.recipient_limit = 3;
    start_sched(&g);
    send_msg("M1", "fake", 10, "d.example");
    ck_assert_int_eq(sched_recipient_count(sched_fake.s), 10);
    ck_assert(sched_can_admit(sched_fake.s));
    send_msg("M2", "fake", 1, "d.example");
    ck_assert(sched_can_admit(sched_fake.s));
    send_msg("M3", "fake", 1, "d.example");
    ck_assert(!sched_can_admit(sched_fake.s));
}
END_TEST

/* 2.7: the address tie-break is case-sensitive (oqmgr: insensitive). */
START_TEST(test_sort_case_sensitive)
{
    static const char *const policies[] = {"qmgr", "oqmgr"};
    static const char *const first[] = {"B@x.example", "a@x.example"};

    for (int i = 0; i < 2; i++) {
        SCHED_MESSAGE_INFO info = {.queue_id = "S", .sender = "s@x"};
        SCHED_RCPT a = {.offset = 1, .address = "a@x.example"};
        SCHED_RCPT b = {.offset = 2, .address = "B@x.example"};
        SCHED_BATCH *batch;

        sched_fake_start(NULL, policies[i]);
        batch = sched_batch_create(sched_fake.s,
                                   sched_message_create(sched_fake.s, &info));
        sched_batch_add(batch, &a);
        sched_batch_add(batch, &b);
        sched_batch_sort(batch);
        ck_assert_str_eq(sched_batch_rcpt(batch, 0)->address, first[i]);
        sched_batch_free(batch);
        restart();
    }
}
END_TEST

/* 2.6: batch sizes. */
START_TEST(test_batch_limits)
{
    FAKE_FILE *f;

    /* Defaults: 20000 - 0 in core, capped at 5000; later reads too. */
    start_sched(NULL);
    ck_assert_int_eq(sched_batch_limit(sched_fake.s, NULL), 5000);
    f = new_file("BIG");
    file_add(f, "fake", 6000, "u@d.example");
    activate(f);
    ck_assert_int_eq(f->nreads, 1);
    ck_assert_int_eq(f->reads[0], 5000);
    /* The job took the whole pool: 10 + 20000 slots, 5000 used. */
    ck_assert_int_eq(msg_state(f)->rcpt_limit, 20010);
    ck_assert_int_eq(sched_batch_limit(sched_fake.s, f->m), 5000);
    choose("fake");
    ck_assert_int_eq(f->nreads, 2);
    ck_assert_int_eq(f->reads[1], 1000);
    restart();

    /* qmgr_message_recipient_minimum: the floor of a first read. */
    start_small(3);
    ck_assert_int_eq(sched_batch_limit(sched_fake.s, NULL), 10);
    send_msg("M1", "fake", 9, "d.example");
    ck_assert_int_eq(sched_batch_limit(sched_fake.s, NULL), 3);
    f = new_file("M2");
    file_add(f, "fake", 20, "u@e.example");
    activate(f);
    ck_assert_int_eq(f->reads[0], 3);
    restart();
    start_small(10);
    send_msg("M1", "fake", 9, "d.example");
    ck_assert_int_eq(sched_batch_limit(sched_fake.s, NULL), 10);
}
END_TEST

/* The minimum is also each message's base slot allowance (3.6). */
START_TEST(test_recipient_minimum_allowance)
{
    FAKE_FILE *f;

    wide_params("fake")->recipient_limit = 0; /* no pool */
    start_small(4);
    f = new_file("M1");
    file_add(f, "fake", 20, "u@d.example");
    activate(f);
    ck_assert_int_eq(f->reads[0], 10);
    ck_assert_int_eq(msg_state(f)->rcpt_limit, 4);
    ck_assert_int_eq(job_of(f, "fake")->rcpt_limit, 0);
    /* Over its allowance: no refill while its entry waits. */
    choose("fake");
    ck_assert_int_eq(f->nreads, 1);
    complete_all();
    /* Pipeline refill: the allowance of 4. */
    ck_assert_int_eq(f->nreads, 2);
    ck_assert_int_eq(f->reads[1], 4);
    drain();
    ck_assert(f->freed);
}
END_TEST

/* Ordering without preemption (3.4 "Effective order"). */

/*
 * FIFO by activation time within a transport; oqmgr serves the same
 * work round robin over destinations.
 */
START_TEST(test_fifo_by_activation)
{
    static const char *const policies[] = {"qmgr", "oqmgr"};
    static const char *const expect[] = {"M1 M1 M1 M2 M3 M3 M4 M5",
                                         "M1 M2 M4 M1 M5 M1 M3 M3"};

    for (int i = 0; i < 2; i++) {
        SCHED_TRANSPORT_PARAMS *p = wide_params("fake");

        p->dest_recipient_limit = 2;
        p->delivery_slot_cost = 0;
        sched_fake_start(NULL, policies[i]);
        send_msg("M1", "fake", 6, "a.example");
        sched_fake_advance(1);
        send_msg("M2", "fake", 2, "b.example");
        sched_fake_advance(1);
        send_msg("M3", "fake", 4, "a.example");
        sched_fake_advance(1);
        /* Same second: the order of activation. */
        send_msg("M4", "fake", 1, "c.example");
        send_msg("M5", "fake", 1, "c.example");
        ck_assert_str_eq(choose_seq("fake", -1), expect[i]);
        restart();
    }
}
END_TEST

/*
 * A job created long after its message was activated (a later batch
 * reaches another transport) is still placed by activation time, and
 * becomes the current job when it lands before it.
 */
START_TEST(test_job_link_by_activation_time)
{
    FAKE_FILE *f;

    wide_params("fake")->delivery_slot_cost = 0;
    wide_params("other")->delivery_slot_cost = 0;
    start_small(10);
    f = new_file("M1");
    file_add(f, "fake", 10, "u@d.example");
    file_add(f, "other", 5, "u@o.example");
    activate(f);
    ck_assert_ptr_null(sched_transport_find(sched_fake.s, "other"));
    sched_fake_advance(5);
    send_msg("M2", "other", 3, "p.example");
    ck_assert_ptr_eq(xport_state("other")->job_current,
                     job_of(fk.files + 1, "other"));
    /* The refill reads M1's recipients for "other". */
    choose("fake");
    ck_assert_int_eq(f->nreads, 2);
    ck_assert_ptr_eq(xport_state("other")->job_current, job_of(f, "other"));
    ck_assert_ptr_eq(sched_list_first(&xport_state("other")->job_list),
                     job_of(f, "other"));
    ck_assert_str_eq(choose_seq("other", -1), "M1 M2");
}
END_TEST

/* Round robin over a job's destinations (peers), FIFO within one. */
START_TEST(test_peer_round_robin)
{
    FAKE_FILE *f;
    SCHED_TRANSPORT_PARAMS *p = wide_params("fake");

    p->dest_recipient_limit = 2;
    start_sched(NULL);
    f = new_file("M1");
    file_add(f, "fake", 4, "u@c.example");
    file_add(f, "fake", 4, "u@a.example");
    file_add(f, "fake", 4, "u@b.example");
    activate(f);
    ck_assert_int_eq(job_of(f, "fake")->read_entries, 6);
    ck_assert_int_eq(sched_list_count(&job_of(f, "fake")->peer_list), 3);
    ck_assert_str_eq(choose_seq_how("fake", -1, 1),
                     "a.example b.example c.example "
                     "a.example b.example c.example");
}
END_TEST

/* An unselected entry is its peer's next entry (oqmgr: handed out last). */
START_TEST(test_unselect_goes_first)
{
    SCHED_ENTRY *e;
    SCHED_ENTRY *again;
    FAKE_FILE *f;

    wide_params("fake")->dest_recipient_limit = 2;
    start_sched(NULL);
    f = send_msg("M1", "fake", 6, "d.example");
    e = choose("fake");
    ck_assert_int_eq(job_of(f, "fake")->selected_entries, 1);
    unbusy(e);
    sched_entry_unselect(sched_fake.s, e);
    ck_assert_int_eq(job_of(f, "fake")->selected_entries, 0);
    ck_assert_int_eq(e->busy, 0);
    again = choose("fake");
    ck_assert_ptr_eq(again, e);
    drain();
}
END_TEST

/* VERP: one recipient per entry, also across batches. */
START_TEST(test_single_recipient)
{
    FAKE_FILE *f;

    wide_params("fake");
    start_small(10);
    f = new_file("V1");
    f->single_rcpt = 1;
    file_add(f, "fake", 13, "u@d.example");
    activate(f);
    ck_assert_int_eq(job_of(f, "fake")->read_entries, 10);
    choose("fake");
    ck_assert_int_eq(f->nreads, 2);
    ck_assert_int_eq(job_of(f, "fake")->read_entries, 13);
    drain();
}
END_TEST

/* Blockers (3.4). */

/*
 * A job whose destinations are all at their window is passed over and
 * marked, with its queue; a slot freeing on that queue un-blocks every
 * job of the transport (tag + 2) and restarts at the list head.
 */
START_TEST(test_blocker_skipped_and_unblocked)
{
    SCHED_TRANSPORT_PARAMS *p = sched_fake_xport_params("fake");
    SCHED_QMGR_XPORT *xp;
    SCHED_QUEUE *slow;
    SCHED_ENTRY *e1;
    SCHED_ENTRY *e2;
    SCHED_ENTRY *e3;
    FAKE_FILE *m1;
    FAKE_FILE *m4;

    p->init_dest_concurrency = 1;
    p->dest_concurrency_limit = 1;
    p->dest_recipient_limit = 2;
    p->delivery_slot_cost = 0;
    start_sched(NULL);
    m1 = send_msg("M1", "fake", 4, "slow.example");
    send_msg("M2", "fake", 1, "fast.example");
    xp = xport_state("fake");
    slow = sched_queue_find(sched_fake_transport("fake"), "slow.example");
    ck_assert_int_eq(xp->blocker_tag, 1);

    e1 = choose("fake");
    ck_assert_str_eq(e1->message->queue_id, "M1");
    e2 = choose("fake");
    ck_assert_str_eq(e2->message->queue_id, "M2");
    ck_assert_int_eq(job_of(m1, "fake")->blocker_tag, 1);
    ck_assert_int_eq(slow->blocker_tag, 1);
    ck_assert_ptr_null(choose("fake"));
    ck_assert_ptr_null(xp->job_current);

    /* New work for the full queue blocks too, behind M1. */
    sched_fake_advance(1);
    m4 = send_msg("M4", "fake", 1, "slow.example");
    ck_assert_ptr_null(choose("fake"));
    ck_assert_int_eq(job_of(m4, "fake")->blocker_tag, 1);

    /* A slot frees on the blocker queue: everything is reconsidered. */
    reply_ok(e1);
    ck_assert_int_eq(xp->blocker_tag, 3);
    ck_assert_int_eq(slow->blocker_tag, 0);
    ck_assert_ptr_eq(xp->job_current, job_of(m1, "fake"));
    e3 = choose("fake");
    ck_assert_str_eq(e3->message->queue_id, "M1");
    ck_assert_ptr_null(choose("fake"));
    ck_assert_int_eq(job_of(m4, "fake")->blocker_tag, 3);
    reply_ok(e3);
    ck_assert_int_eq(xp->blocker_tag, 5);
    ck_assert_str_eq(choose_seq("fake", -1), "M4");
    drain();
}
END_TEST

/* New recipients for a blocker job clear its mark (2.10, 3.4). */
START_TEST(test_blocker_cleared_by_new_recipients)
{
    SCHED_TRANSPORT_PARAMS *p = sched_fake_xport_params("fake");
    SCHED_QMGR_XPORT *xp;
    FAKE_FILE *f;

    p->init_dest_concurrency = 1;
    p->dest_concurrency_limit = 1;
    p->dest_recipient_limit = 5;
    p->delivery_slot_cost = 0;
    sched_fake.no_refill_callback = 1;
    start_small(10);
    f = new_file("M1");
    file_add(f, "fake", 10, "u@slow.example");
    file_add(f, "fake", 1, "u@fast.example");
    activate(f);
    xp = xport_state("fake");
    ck_assert_str_eq(choose_seq("fake", -1), "M1");
    ck_assert_int_eq(job_of(f, "fake")->blocker_tag, xp->blocker_tag);
    /* The daemon reads the rest (as its refill callback would). */
    read_batch(f, sched_batch_limit(sched_fake.s, f->m));
    ck_assert_int_eq(job_of(f, "fake")->blocker_tag, 0);
    ck_assert_int_eq(xp->blocker_tag, 1);
    ck_assert_str_eq(choose_seq_how("fake", -1, 1), "fast.example");
    drain();
}
END_TEST

/*
 * A rate-delayed queue is suspended after each delivery: the blockers
 * are re-evaluated when it resumes, not when the entry completes.
 */
START_TEST(test_blocker_rate_delay_resume)
{
    SCHED_TRANSPORT_PARAMS *p = sched_fake_xport_params("fake");
    SCHED_QMGR_XPORT *xp;
    SCHED_ENTRY *e;

    p->dest_rate_delay = 5;
    p->dest_recipient_limit = 2;
    p->delivery_slot_cost = 0;
    start_sched(NULL);
    send_msg("M1", "fake", 4, "d.example");
    xp = xport_state("fake");
    e = choose("fake");
    ck_assert_ptr_null(choose("fake"));
    ck_assert_int_eq(xp->blocker_tag, 1);
    reply_ok(e);
    ck_assert_int_eq(xp->blocker_tag, 1);
    ck_assert_ptr_null(choose("fake"));
    sched_fake_advance(5);
    ck_assert_int_eq(xp->blocker_tag, 3);
    ck_assert_str_eq(choose_seq("fake", -1), "M1");
    drain();
}
END_TEST

/* Preemption (3.5). */

/* A file of count one-recipient deliveries, each its own queue. */
static FAKE_FILE *
send_entries(const char *id, int count, const char *domain)
{
    return send_msg(id, "fake", count, domain);
}

/*
 * Per-recipient queues (recipient limit 1), windows that never fill:
 * every recipient is one entry, and only the job order matters.
 */
static SCHED_TRANSPORT_PARAMS *
preempt_params(void)
{
    SCHED_TRANSPORT_PARAMS *p = wide_params("fake");

    p->dest_recipient_limit = 1;
    return p;
}

/*
 * The worked example with the defaults (cost 5, loan 3, discount 50,
 * minimum 3): M1 = 100 entries, then S1..S4 of one entry each:
 * M1 S1 M1x5 S2 M1x5 S3 M1x5 S4 M1...
 */
START_TEST(test_preempt_default_example)
{
    char expect[SEQ_LEN] = "";
    FAKE_FILE *m1;
    FAKE_FILE *s1;
    SCHED_JOB *big;
    SCHED_JOB *small;

    preempt_params();
    start_sched(NULL);
    m1 = send_entries("M1", 100, "big.example");
    sched_fake_advance(1);
    s1 = send_entries("S1", 1, "small.example");
    send_entries("S2", 1, "small.example");
    send_entries("S3", 1, "small.example");
    send_entries("S4", 1, "small.example");
    big = job_of(m1, "fake");
    small = job_of(s1, "fake");

    /* No slots yet: M1 is served and earns one. */
    ck_assert_str_eq(choose_seq("fake", 1), "M1");
    ck_assert_int_eq(big->slots_available, 1);
    ck_assert_int_eq(big->slots_used, 1);
    ck_assert_int_eq(big->selected_entries, 1);

    /*
     * max_slots = (100 - 1 + 1) div 5 = 20 >= 1 needed; 1 div 5 + 3 = 3 >=
     * 1 * 50 / 100: S1 preempts, M1 pays 1 * 5 in advance.
     */
    ck_assert_str_eq(choose_seq("fake", 1), "S1");
    ck_assert_int_eq(big->slots_available, 1 - 5);
    ck_assert_int_eq(big->stack_level, 0);
    ck_assert_int_eq(sched_list_count(&big->stack_children), 0);
    /* S1 ran its one entry (slots_used -1 + 1) and retired: no refund. */
    ck_assert_int_eq(small->stack_level, -1);
    ck_assert_int_eq(small->slots_used, 0);
    ck_assert_int_eq(small->slots_available, 1);
    ck_assert_ptr_null(small->stack_parent);
    ck_assert_ptr_eq(xport_state("fake")->job_current, big);

    /* -4 -> 1 takes five more M1 deliveries, then S2 preempts. */
    ck_assert_str_eq(choose_seq("fake", 5), "M1 M1 M1 M1 M1");
    ck_assert_int_eq(big->slots_available, 1);
    ck_assert_int_eq(big->slots_used, 6);
    ck_assert_str_eq(choose_seq("fake", 1), "S2");
    ck_assert_int_eq(big->slots_available, -4);

    seq_add(expect, sizeof(expect), "M1", 5);
    seq_add(expect, sizeof(expect), "S3", 1);
    seq_add(expect, sizeof(expect), "M1", 5);
    seq_add(expect, sizeof(expect), "S4", 1);
    seq_add(expect, sizeof(expect), "M1", 100 - 16);
    ck_assert_str_eq(choose_seq("fake", -1), expect);
    drain();
}
END_TEST

/* Cost 0 or 1 disables preemption: FIFO over jobs; cost 2: 1 in 2. */
START_TEST(test_preempt_slot_cost)
{
    static const int costs[] = {0, 1, 2};

    for (int i = 0; i < 3; i++) {
        char expect[SEQ_LEN] = "";

        preempt_params()->delivery_slot_cost = costs[i];
        start_sched(NULL);
        send_entries("M1", 100, "big.example");
        sched_fake_advance(1);
        send_entries("S1", 1, "small.example");
        send_entries("S2", 1, "small.example");
        send_entries("S3", 1, "small.example");
        if (costs[i] < 2) {
            seq_add(expect, sizeof(expect), "M1", 100);
            seq_add(expect, sizeof(expect), "S1 S2 S3", 1);
        } else {
            /* 1 - 2 = -1 after each preemption: two M1 in between. */
            seq_add(expect, sizeof(expect), "M1 S1 M1 M1 S2 M1 M1 S3", 1);
            seq_add(expect, sizeof(expect), "M1", 100 - 5);
        }
        ck_assert_str_eq(choose_seq("fake", -1), expect);
        drain();
        restart();
    }
}
END_TEST

/*
 * A 20-entry job against a 200-entry job: it starts when
 * avail div 5 + loan >= 20 * (100 - discount) / 100:
 * defaults 35 (7 + 3 >= 10), loan 0: 50, discount 0: 85 (17 + 3 >= 20),
 * both 0: 100.  The preemption pays 20 * 5 and the child's unused slots
 * come back when it retires (here none: it used all 20).
 */
START_TEST(test_preempt_loan_and_discount)
{
    static const struct {
        int loan;
        int discount;
        int before;
    } cases[] = {{3, 50, 35}, {0, 50, 50}, {3, 0, 85}, {0, 0, 100}};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char expect[SEQ_LEN] = "";
        SCHED_TRANSPORT_PARAMS *p = preempt_params();
        FAKE_FILE *big;
        FAKE_FILE *mid;

        p->delivery_slot_loan = cases[i].loan;
        p->delivery_slot_discount = cases[i].discount;
        start_sched(NULL);
        big = send_entries("M1", 200, "big.example");
        sched_fake_advance(1);
        mid = send_entries("M2", 20, "mid.example");
        seq_add(expect, sizeof(expect), "M1", cases[i].before);
        ck_assert_str_eq(choose_seq("fake", cases[i].before), expect);
        ck_assert_int_eq(job_of(big, "fake")->slots_available, cases[i].before);
        ck_assert_str_eq(choose_seq("fake", 1), "M2");
        ck_assert_int_eq(job_of(mid, "fake")->stack_level, 1);
        ck_assert_ptr_eq(job_of(mid, "fake")->stack_parent,
                         job_of(big, "fake"));
        ck_assert_int_eq(job_of(mid, "fake")->slots_used, -20 + 1);
        ck_assert_int_eq(job_of(big, "fake")->slots_available,
                         cases[i].before - 20 * 5);
        expect[0] = 0;
        seq_add(expect, sizeof(expect), "M2", 19);
        seq_add(expect, sizeof(expect), "M1", 200 - cases[i].before);
        ck_assert_str_eq(choose_seq("fake", -1), expect);
        ck_assert_int_eq(job_of(big, "fake")->slots_available,
                         cases[i].before - 100 + 200 - cases[i].before);
        drain();
        restart();
    }
}
END_TEST

/* A job with MAX < minimum slots * cost is never preempted. */
START_TEST(test_preempt_minimum_slots)
{
    static const struct {
        int min_slots;
        const char *expect;
    } cases[] = {
        {3, "M1 M1 M1 M1 M1 M1 M1 M1 M1 M1 M1 M1 M1 M1 S1"},
        {2, "M1 S1 M1 M1 M1 M1 M1 M1 M1 M1 M1 M1 M1 M1 M1"},
    };

    for (int i = 0; i < 2; i++) {
        preempt_params()->minimum_delivery_slots = cases[i].min_slots;
        start_sched(NULL);
        send_entries("M1", 14, "big.example");
        sched_fake_advance(1);
        send_entries("S1", 1, "small.example");
        ck_assert_str_eq(choose_seq("fake", -1), cases[i].expect);
        drain();
        restart();
    }
}
END_TEST

/*
 * Candidate score age / MAX: an older 2-entry job against a newer 1-entry
 * job.  M2 is activated at t0, M3 at t0 + d3, the choice is made at
 * t0 + now; ages are now - activation + 1.
 */
START_TEST(test_preempt_candidate_score)
{
    static const struct {
        int d3;
        int now;
        const char *winner;
    } cases[] = {
        {10, 20, "M3"}, /* 21 / 2 = 10.5 < 11 / 1 */
        {10, 19, "M2"}, /* 20 / 2 = 10 = 10 / 1: the earlier job */
        {15, 20, "M2"}, /* 21 / 2 > 6 / 1 */
    };

    for (int i = 0; i < 3; i++) {
        preempt_params();
        start_sched(NULL);
        send_entries("M1", 100, "big.example");
        ck_assert_str_eq(choose_seq("fake", 1), "M1");
        send_entries("M2", 2, "two.example");
        sched_fake_advance(cases[i].d3);
        send_entries("M3", 1, "one.example");
        sched_fake_advance(cases[i].now - cases[i].d3);
        ck_assert_str_eq(choose_seq("fake", 1), cases[i].winner);
        drain();
        restart();
    }
}
END_TEST

/*
 * Nested preemption: M3 (1 entry) preempts M1 first (best score); M2 (30
 * entries) needs avail div 5 + 3 >= 15, i.e. 60 slots, which M1 reaches
 * 64 deliveries after paying for M3 (-4).  While M2 runs at level 1, M4
 * arrives and preempts M2 at level 2.  Each child used exactly what it was
 * expected to use, so the pops refund nothing.
 */
START_TEST(test_preempt_stack_levels)
{
    char expect[SEQ_LEN] = "";
    FAKE_FILE *m1;
    FAKE_FILE *m2;
    FAKE_FILE *m4;

    preempt_params();
    start_sched(NULL);
    m1 = send_entries("M1", 200, "big.example");
    sched_fake_advance(1);
    m2 = send_entries("M2", 30, "mid.example");
    send_entries("M3", 1, "one.example");
    seq_add(expect, sizeof(expect), "M1 M3", 1);
    seq_add(expect, sizeof(expect), "M1", 64);
    seq_add(expect, sizeof(expect), "M2", 1);
    ck_assert_str_eq(choose_seq("fake", 67), expect);
    ck_assert_int_eq(job_of(m1, "fake")->slots_available, 60 - 30 * 5);
    ck_assert_int_eq(job_of(m2, "fake")->stack_level, 1);

    sched_fake_advance(1);
    m4 = send_entries("M4", 1, "one.example");
    ck_assert_str_eq(choose_seq("fake", 1), "M4");
    /* M4 retired at once; while it ran it sat at level 2 under M2. */
    ck_assert_int_eq(job_of(m4, "fake")->stack_level, -1);
    ck_assert_int_eq(job_of(m2, "fake")->slots_available, 1 - 5);
    ck_assert_ptr_eq(job_of(m2, "fake")->stack_parent, job_of(m1, "fake"));

    expect[0] = 0;
    seq_add(expect, sizeof(expect), "M2", 29);
    seq_add(expect, sizeof(expect), "M1", 200 - 65);
    ck_assert_str_eq(choose_seq("fake", -1), expect);
    ck_assert_int_eq(job_of(m2, "fake")->stack_level, -1);
    ck_assert_int_eq(job_of(m1, "fake")->slots_available, 60 - 150 + 135);
    drain();
}
END_TEST

/*
 * The right side of the preemption test is real: a 3-entry candidate
 * with loan 0 needs avail div 5 >= 1.5, i.e. 10 slots (not 5).
 */
START_TEST(test_preempt_real_threshold)
{
    char expect[SEQ_LEN] = "";

    preempt_params()->delivery_slot_loan = 0;
    start_sched(NULL);
    send_entries("M1", 100, "big.example");
    sched_fake_advance(1);
    send_entries("T", 3, "three.example");
    seq_add(expect, sizeof(expect), "M1", 10);
    seq_add(expect, sizeof(expect), "T", 3);
    seq_add(expect, sizeof(expect), "M1", 90);
    ck_assert_str_eq(choose_seq("fake", -1), expect);
    drain();
}
END_TEST

/*
 * MAX(J) counts unread recipients as entries: J (1 entry read, 10
 * recipients unread, all for one destination) is expected to need 11
 * slots, so it waits for avail div 5 + 3 >= 5.5 (15 slots).  Its unread
 * recipients join its one entry, so it uses 1: the pop refunds
 * (11 - 1) * 5 = 50 slots to M1.
 */
START_TEST(test_preempt_refund)
{
    char expect[SEQ_LEN] = "";
    SCHED_JOB *big;
    FAKE_FILE *m1;
    FAKE_FILE *j;

    wide_params("fake");
    start_small(10);
    m1 = new_file("M1");
    for (int d = 0; d < 200; d++)
        file_add(m1, "fake", 1, "u@d%d.example", d);
    activate(m1);
    ck_assert_str_eq(choose_seq("fake", 1), "M1");
    ck_assert_int_eq(m1->nreads, 2);
    big = job_of(m1, "fake");
    sched_fake_advance(1);
    j = new_file("J");
    file_add(j, "fake", 20, "u@j.example");
    activate(j);
    ck_assert_int_eq(j->reads[0], 10);
    ck_assert_int_eq(job_of(j, "fake")->read_entries, 1);
    ck_assert_int_eq(j->m->rcpt_unread, 10);
    seq_add(expect, sizeof(expect), "M1", 14);
    ck_assert_str_eq(choose_seq("fake", 14), expect);
    ck_assert_int_eq(big->slots_available, 15);
    ck_assert_str_eq(choose_seq("fake", 1), "J");
    ck_assert_int_eq(j->nreads, 2);
    ck_assert_int_eq(job_of(j, "fake")->read_entries, 1);
    ck_assert_int_eq(job_of(j, "fake")->stack_level, -1);
    ck_assert_int_eq(job_of(j, "fake")->slots_used, -11 + 1);
    ck_assert_int_eq(big->slots_available, 15 - 11 * 5 + 10 * 5);
    drain();
}
END_TEST

/* Recipient slot pools and refill (3.6). */

/*
 * 200 recipients, 5 per delivery; first read 10 (small globals).  The job
 * takes the whole pool (T_recipient_limit 50): message limit 10 + 50.
 * Rule (a): a refill when at least T_recipient_refill_limit slots are
 * free, or one slot is free and T_recipient_refill_delay has passed.
 */
START_TEST(test_refill_limit_and_delay)
{
    SCHED_TRANSPORT_PARAMS *p = wide_params("fake");
    SCHED_QMGR_XPORT *xp;
    SCHED_ENTRY *first;
    FAKE_FILE *f;

    p->recipient_limit = 50;
    p->recipient_refill_limit = 30;
    p->recipient_refill_delay = 5;
    p->dest_recipient_limit = 4;
    start_small(10);
    f = new_file("M1");
    file_add(f, "fake", 200, "u@d.example");
    activate(f);
    xp = xport_state("fake");
    ck_assert_int_eq(f->reads[0], 10);
    ck_assert_int_eq(job_of(f, "fake")->read_entries, 3); /* 4 4 2 */
    ck_assert_int_eq(job_of(f, "fake")->rcpt_limit, 50);
    ck_assert_int_eq(msg_state(f)->rcpt_limit, 60);
    ck_assert_int_eq(xp->rcpt_unused, 0);
    ck_assert_ptr_eq(xp->job_next_unread, job_of(f, "fake"));

    /* 50 free >= 30: read 50 before the choice; 2 fill the third entry. */
    first = choose("fake");
    ck_assert_int_eq(f->nreads, 2);
    ck_assert_int_eq(f->reads[1], 50);
    ck_assert_int_eq(f->m->rcpt_count, 60);
    ck_assert_int_eq(job_of(f, "fake")->read_entries, 3 + 12);
    ck_assert_int_eq(job_of(f, "fake")->rcpt_count, 60);
    ck_assert_int_eq(f->m->rcpt_unread, 140);

    /* No free slot: no read. */
    choose("fake");
    ck_assert_int_eq(f->nreads, 2);
    reply_ok(first);
    ck_assert_int_eq(f->m->rcpt_count, 56);
    /* 4 free < 30, and no time has passed. */
    choose("fake");
    ck_assert_int_eq(f->nreads, 2);
    sched_fake_advance(4);
    choose("fake");
    ck_assert_int_eq(f->nreads, 2);
    /* The refill delay has passed since the last read. */
    sched_fake_advance(1);
    choose("fake");
    ck_assert_int_eq(f->nreads, 3);
    ck_assert_int_eq(f->reads[2], 4);
    check_pools();
    drain();
    ck_assert(f->freed);
}
END_TEST

/*
 * T_recipient_refill_limit 100 > 50 free: no early read; rule (b) reads
 * once the job has no entry left to select.
 */
START_TEST(test_refill_when_out_of_entries)
{
    SCHED_TRANSPORT_PARAMS *p = wide_params("fake");
    FAKE_FILE *f;

    p->recipient_limit = 50;
    p->recipient_refill_limit = 100;
    p->dest_recipient_limit = 5;
    start_small(10);
    f = new_file("M1");
    file_add(f, "fake", 200, "u@d.example");
    activate(f);
    ck_assert_str_eq(choose_seq("fake", 2), "M1 M1");
    ck_assert_int_eq(f->nreads, 1);
    ck_assert_int_eq(job_of(f, "fake")->selected_entries, 2);
    choose("fake");
    ck_assert_int_eq(f->nreads, 2);
    ck_assert_int_eq(f->reads[1], 50);
    ck_assert_int_eq(job_of(f, "fake")->selected_entries, 3);
    drain();
}
END_TEST

/* T_recipient_limit is the pool, hence the size of the refill. */
START_TEST(test_refill_pool_size)
{
    static const int pools[] = {50, 20};

    for (int i = 0; i < 2; i++) {
        SCHED_TRANSPORT_PARAMS *p = wide_params("fake");
        FAKE_FILE *f;

        p->recipient_limit = pools[i];
        p->recipient_refill_limit = 10;
        start_small(10);
        f = new_file("M1");
        file_add(f, "fake", 200, "u@d.example");
        activate(f);
        ck_assert_int_eq(msg_state(f)->rcpt_limit, 10 + pools[i]);
        choose("fake");
        ck_assert_int_eq(f->reads[1], pools[i]);
        drain();
        restart();
    }
}
END_TEST

/* A longer T_recipient_refill_delay postpones the timed refill. */
START_TEST(test_refill_delay)
{
    static const int delays[] = {5, 10};

    for (int i = 0; i < 2; i++) {
        SCHED_TRANSPORT_PARAMS *p = wide_params("fake");
        FAKE_FILE *f;

        p->recipient_limit = 50;
        p->recipient_refill_limit = 30;
        p->recipient_refill_delay = delays[i];
        p->dest_recipient_limit = 5;
        start_small(10);
        f = new_file("M1");
        file_add(f, "fake", 200, "u@d.example");
        activate(f);
        reply_ok(choose("fake")); /* reads 50, then 5 free */
        ck_assert_int_eq(f->nreads, 2);
        sched_fake_advance(5);
        choose("fake");
        ck_assert_int_eq(f->nreads, i == 0 ? 3 : 2);
        sched_fake_advance(5);
        choose("fake");
        ck_assert_int_eq(f->nreads, 3);
        drain();
        restart();
    }
}
END_TEST

/*
 * A retired ("stalled") job returns its spare slots; without a refill
 * callback the pipeline reads the next batch once the last entry is done
 * (rule c), sized by the message's remaining slots.
 */
START_TEST(test_stalled_job_and_pipeline_refill)
{
    SCHED_QMGR_XPORT *xp;
    FAKE_FILE *f;
    SCHED_ENTRY *e;

    wide_params("fake")->recipient_limit = 30;
    sched_fake.no_refill_callback = 1;
    start_small(10);
    f = new_file("M1");
    file_add(f, "fake", 25, "u@d.example");
    activate(f);
    xp = xport_state("fake");
    ck_assert_int_eq(msg_state(f)->rcpt_limit, 40);
    e = choose("fake");
    ck_assert_int_eq(job_of(f, "fake")->stack_level, 0);
    ck_assert_ptr_null(choose("fake"));
    /* Stalled: retired, 20 of its 30 slots back in the pool. */
    ck_assert_int_eq(job_of(f, "fake")->stack_level, -1);
    ck_assert_int_eq(xp->rcpt_unused, 20);
    ck_assert_int_eq(job_of(f, "fake")->rcpt_limit, 10);
    ck_assert_int_eq(msg_state(f)->rcpt_limit, 20);
    check_pools();
    reply_ok(e);
    process_done();
    /* Read 15 (of 20 allowed); the relinked job took the pool again. */
    ck_assert_int_eq(f->nreads, 2);
    ck_assert_int_eq(f->reads[1], 15);
    ck_assert_int_eq(job_of(f, "fake")->stack_level, 0);
    check_pools();
    drain();
}
END_TEST

/*
 * T_extra_recipient_limit: a preempting job whose message has unread
 * recipients gets (extra + pool + 1) div 2 slots; the pool goes negative.
 */
START_TEST(test_extra_recipient_limit)
{
    static const int extras[] = {1000, 0};

    for (int i = 0; i < 2; i++) {
        SCHED_TRANSPORT_PARAMS *p = wide_params("fake");
        SCHED_QMGR_XPORT *xp;
        FAKE_FILE *big;
        FAKE_FILE *small;
        int slots = (extras[i] + 0 + 1) / 2;

        p->extra_recipient_limit = extras[i];
        start_small(10);
        big = new_file("M1");
        for (int d = 0; d < 100; d++)
            file_add(big, "fake", 1, "u@d%d.example", d);
        activate(big);
        xp = xport_state("fake");
        /* The refill reads all 100: the pool gets all but 100 back. */
        ck_assert_str_eq(choose_seq("fake", 1), "M1");
        ck_assert_int_eq(big->nreads, 2);
        ck_assert_int_eq(xp->rcpt_unused, 20000 - 100);
        sched_fake_advance(1);
        small = new_file("M2");
        file_add(small, "fake", 12, "u@s.example");
        activate(small);
        ck_assert_int_eq(small->reads[0], 10);
        /* M2 is the next unread job: it took the whole pool. */
        ck_assert_ptr_eq(xp->job_next_unread, job_of(small, "fake"));
        ck_assert_int_eq(job_of(small, "fake")->rcpt_limit, 20000 - 100);
        ck_assert_int_eq(xp->rcpt_unused, 0);
        /*
         * MAX(M2) = 1 entry + 2 unread = 3; 1 div 5 + 3 >= 3 * 0.5:
         * preempt.  When M2 reads its last 2 recipients, the pool is
         * -slots and M2's message holds them.
         */
        fk.probe_xport = "fake";
        ck_assert_str_eq(choose_seq("fake", 1), "M2");
        fk.probe_xport = NULL;
        ck_assert_int_eq(small->nreads, 2);
        ck_assert_int_eq(fk.probe_pool, -slots);
        ck_assert_int_eq(fk.probe_msg_limit, 10 + 20000 - 100 + slots);
        /* Fully read: all of M2's spare slots went back. */
        ck_assert_int_eq(job_of(small, "fake")->stack_level, -1);
        ck_assert_int_eq(xp->rcpt_unused, 20000 - 100 - 12);
        check_pools();
        drain();
        restart();
    }
}
END_TEST

/*
 * A job linked before the next-unread job (by activation time) displaces
 * it: the old one returns its spare slots, which go to the new one; once
 * the new job's message is fully read the pool moves on to the old one.
 */
START_TEST(test_next_unread_displaced)
{
    FAKE_FILE *m1;
    FAKE_FILE *m2;
    SCHED_QMGR_XPORT *xp;

    wide_params("other")->recipient_limit = 100;
    start_small(10);
    m1 = new_file("M1");
    file_add(m1, "fake", 10, "u@d.example");
    file_add(m1, "other", 5, "u@o.example");
    activate(m1);
    sched_fake_advance(5);
    m2 = new_file("M2");
    file_add(m2, "other", 15, "u@p.example");
    activate(m2);
    xp = xport_state("other");
    ck_assert_ptr_eq(xp->job_next_unread, job_of(m2, "other"));
    ck_assert_int_eq(job_of(m2, "other")->rcpt_limit, 100);
    /* M1's refill creates its older job on "other". */
    choose("fake");
    ck_assert_int_eq(m1->nreads, 2);
    /* M2 gave back 90, M1's job took them, kept 5, passed 85 back. */
    ck_assert_ptr_eq(xp->job_next_unread, job_of(m2, "other"));
    ck_assert_int_eq(job_of(m1, "other")->rcpt_limit, 5);
    ck_assert_int_eq(job_of(m2, "other")->rcpt_limit, 10 + 85);
    ck_assert_int_eq(xp->rcpt_unused, 0);
    check_pools();
    drain();
}
END_TEST

/*
 * Spare slots of a retired job of a message that is still being read go
 * back when any other entry of the message completes (4.5 step 3).
 */
START_TEST(test_sponsor_slots_returned)
{
    SCHED_ENTRY *ex;
    SCHED_ENTRY *ey;
    FAKE_FILE *f;

    wide_params("fake")->recipient_limit = 30;
    wide_params("other")->recipient_limit = 30;
    sched_fake.no_refill_callback = 1;
    start_small(10);
    f = new_file("M1");
    file_add(f, "fake", 5, "u@x.example");
    file_add(f, "other", 25, "u@y.example");
    activate(f);
    ck_assert_int_eq(msg_state(f)->rcpt_limit, 10 + 30 + 30);
    ex = choose("fake");
    ck_assert_ptr_null(choose("fake"));
    /* Stalled and retired: min(30 - 5, 70 - 10) = 25 back. */
    ck_assert_int_eq(job_of(f, "fake")->stack_level, -1);
    ck_assert_int_eq(xport_state("fake")->rcpt_unused, 25);
    /* Its own entry completing does not return the other 5 ... */
    reply_ok(ex);
    ck_assert_int_eq(job_of(f, "fake")->rcpt_limit, 5);
    ck_assert_int_eq(xport_state("fake")->rcpt_unused, 25);
    /* ... another entry of the message does. */
    ey = choose("other");
    reply_ok(ey);
    ck_assert_int_eq(xport_state("fake")->rcpt_unused, 30);
    ck_assert_int_eq(job_of(f, "fake")->rcpt_limit, 0);
    check_pools();
    process_done();
    drain();
}
END_TEST

/* Shared mechanics under qmgr: deferral through retry moves jobs. */
START_TEST(test_dead_queue_moves_to_retry_job)
{
    SCHED_TRANSPORT_PARAMS *p = sched_fake_xport_params("fake");
    FAKE_FILE *f;
    SCHED_ENTRY *e;

    p->init_dest_concurrency = 1;
    p->dest_recipient_limit = 2;
    start_sched(NULL);
    f = send_msg("M1", "fake", 6, "d.example");
    e = choose("fake");
    reply(e, 1, "4.4.1", "connection refused");
    /* d.example died; its two todo entries went to retry. */
    ck_assert_int_eq(job_of(f, "fake")->rcpt_count, 0);
    ck_assert_int_eq(job_of(f, "fake")->selected_entries, 3);
    ck_assert_int_eq(job_of(f, "fake")->read_entries, 3);
    ck_assert_int_eq(job_of(f, "retry")->rcpt_count, 4);
    ck_assert_int_eq(job_of(f, "retry")->read_entries, 2);
    ck_assert_int_eq(f->m->rcpt_count, 4);
    check_pools();
    ck_assert_str_eq(choose_seq("retry", -1), "M1 M1");
    ck_assert_ptr_null(choose("fake"));
    drain();
    ck_assert(f->freed);
}
END_TEST

/* An entry that could not be sent goes back, then to retry. */
START_TEST(test_unselect_then_transport_broken)
{
    FAKE_FILE *f;
    SCHED_ENTRY *e;

    wide_params("fake")->dest_recipient_limit = 1;
    start_sched(NULL);
    f = send_msg("M1", "fake", 3, "d.example");
    e = choose("fake");
    unbusy(e);
    sched_entry_unselect(sched_fake.s, e);
    sched_transport_broken(sched_fake.s, sched_fake_transport("fake"), NULL,
                           NULL, sched_fake.now);
    ck_assert_int_eq(job_of(f, "retry")->rcpt_count, 3);
    ck_assert_int_eq(job_of(f, "fake")->rcpt_count, 0);
    check_pools();
    drain();
}
END_TEST

/*
 * Many messages over two transports, read in batches, preempting each
 * other, completed out of order, some deferred: the pool invariants hold
 * at every step and the pools return to their start values.
 */
START_TEST(test_pools_return_to_start)
{
    static const char *const xports[] = {"fake", "other"};
    unsigned seed = 12345;

    for (int i = 0; i < 2; i++) {
        SCHED_TRANSPORT_PARAMS *p = wide_params(xports[i]);

        p->recipient_limit = 40;
        p->extra_recipient_limit = 10;
        p->recipient_refill_limit = 5;
        p->recipient_refill_delay = 2;
        p->dest_recipient_limit = 3;
        p->init_dest_concurrency = 2;
        p->dest_concurrency_limit = 4;
    }
    start_small(4);
    for (int n = 0; n < 12; n++) {
        char id[16];
        FAKE_FILE *f;

        snprintf(id, sizeof(id), "M%d", n);
        f = new_file(id);
        for (int r = 0; r < 5 + 7 * n; r++)
            file_add(f, xports[(r + n) % 3 == 0], 1, "u@d%d.example",
                     (r * 7 + n) % 6);
        activate(f);
        check_pools();
        /* Deliver a little, completing busy entries out of order. */
        for (int step = 0; step < 3; step++) {
            for (int x = 0; x < 2; x++)
                while (choose(xports[x]) != NULL)
                    check_pools();
            for (int k = fk.nbusy / 2; k > 0 && fk.nbusy > 0; k--) {
                seed = seed * 1103515245 + 12345;
                reply(fk.busy[(seed >> 8) % fk.nbusy], (seed >> 20) % 5 == 0,
                      NULL, NULL);
                check_pools();
            }
            process_done();
            check_pools();
            sched_fake_advance(1);
        }
    }
    drain();
    for (int n = 0; n < 12; n++)
        ck_assert(fk.files[n].freed);
}
END_TEST

/* Destroying a scheduler with jobs, peers and stacks in flight. */
START_TEST(test_destroy_with_state)
{
    FAKE_FILE *f;

    preempt_params();
    start_small(10);
    send_entries("M1", 100, "big.example");
    choose_seq("fake", 3);
    sched_fake_advance(1);
    f = new_file("M2");
    file_add(f, "fake", 30, "u@s.example");
    file_add(f, "other", 30, "u@o.example");
    activate(f);
    choose_seq("fake", 2);
    ck_assert_int_gt(sched_message_count(sched_fake.s), 0);
    /* teardown destroys it; ASan reports any leak. */
}
END_TEST

static Suite *
sched_qmgr_suite(void)
{
    Suite *s = suite_create("sched_qmgr");
    TCase *input = tcase_create("input");
    TCase *order = tcase_create("order");
    TCase *block = tcase_create("blockers");
    TCase *preempt = tcase_create("preemption");
    TCase *pools = tcase_create("pools");
    TCase *all[] = {input, order, block, preempt, pools};

    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        tcase_add_checked_fixture(all[i], setup, teardown);
        suite_add_tcase(s, all[i]);
    }
    tcase_add_test(input, test_policy_names);
    tcase_add_test(input, test_admission);
    tcase_add_test(input, test_sort_case_sensitive);
    tcase_add_test(input, test_batch_limits);
    tcase_add_test(input, test_recipient_minimum_allowance);
    tcase_add_test(input, test_single_recipient);

    tcase_add_test(order, test_fifo_by_activation);
    tcase_add_test(order, test_job_link_by_activation_time);
    tcase_add_test(order, test_peer_round_robin);
    tcase_add_test(order, test_unselect_goes_first);

    tcase_add_test(block, test_blocker_skipped_and_unblocked);
    tcase_add_test(block, test_blocker_cleared_by_new_recipients);
    tcase_add_test(block, test_blocker_rate_delay_resume);

    tcase_add_test(preempt, test_preempt_default_example);
    tcase_add_test(preempt, test_preempt_slot_cost);
    tcase_add_test(preempt, test_preempt_loan_and_discount);
    tcase_add_test(preempt, test_preempt_minimum_slots);
    tcase_add_test(preempt, test_preempt_candidate_score);
    tcase_add_test(preempt, test_preempt_stack_levels);
    tcase_add_test(preempt, test_preempt_real_threshold);
    tcase_add_test(preempt, test_preempt_refund);

    tcase_add_test(pools, test_refill_limit_and_delay);
    tcase_add_test(pools, test_refill_when_out_of_entries);
    tcase_add_test(pools, test_refill_pool_size);
    tcase_add_test(pools, test_refill_delay);
    tcase_add_test(pools, test_stalled_job_and_pipeline_refill);
    tcase_add_test(pools, test_extra_recipient_limit);
    tcase_add_test(pools, test_next_unread_displaced);
    tcase_add_test(pools, test_sponsor_slots_returned);
    tcase_add_test(pools, test_dead_queue_moves_to_retry_job);
    tcase_add_test(pools, test_unselect_then_transport_broken);
    tcase_add_test(pools, test_pools_return_to_start);
    tcase_add_test(pools, test_destroy_with_state);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(sched_qmgr_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
