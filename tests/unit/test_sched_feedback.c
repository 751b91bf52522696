/*
 * test_sched_feedback - the scheduler's building blocks in isolation:
 * feedback syntax and window arithmetic (spec 3.7), the hash table and the
 * intrusive lists.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sched_htable.h"
#include "sched_impl.h"
#include "sched_list.h"

static SCHED_FEEDBACK neg_feedback;
static SCHED_FEEDBACK pos_feedback;

static void
params(void *ctx, const char *name, SCHED_TRANSPORT_PARAMS *p)
{
    (void) ctx;
    (void) name;
    p->init_dest_concurrency = 50;
    p->dest_concurrency_limit = 0;
    p->fail_cohort_limit = 0;
    p->neg_feedback = neg_feedback;
    p->pos_feedback = pos_feedback;
}

/* A scheduler with one READY queue of transport "fake". */
static SCHED_QUEUE *
make_queue(SCHED **sp, int window)
{
    SCHED_GLOBALS g;
    SCHED_OPS ops = {.get_transport_params = params};
    SCHED_QUEUE *q;

    sched_globals_default(&g);
    *sp = sched_create(&g, &ops, "oqmgr");
    q = sched_queue_create(*sp, sched_transport_obtain(*sp, "fake"), "d", "d");
    q->window = window;
    return q;
}

/* Constant 1/4 from 8: decreases on failure 1, 4, 8, 12. */
START_TEST(test_negative_constant_quarter)
{
    static const int expect[] = {7, 7, 7, 6, 6, 6, 6, 5, 5, 5, 5, 4};
    SCHED *s;
    SCHED_QUEUE *q;

    neg_feedback = (SCHED_FEEDBACK){1, 4, 0};
    pos_feedback = (SCHED_FEEDBACK){1, 1, 0};
    q = make_queue(&s, 8);
    for (int i = 0; i < 12; i++) {
        ck_assert_int_eq(sched_feedback_negative(s, q), 0);
        ck_assert_int_eq(q->window, expect[i]);
    }
    sched_destroy(s);
}
END_TEST

/* Constant 1: the first failure takes 2, each later one 1; floor 1. */
START_TEST(test_negative_constant_one)
{
    static const int expect[] = {8, 7, 6, 5, 4, 3, 2, 1, 1};
    SCHED *s;
    SCHED_QUEUE *q;

    neg_feedback = (SCHED_FEEDBACK){1, 1, 0};
    pos_feedback = (SCHED_FEEDBACK){1, 1, 0};
    q = make_queue(&s, 10);
    for (int i = 0; i < 9; i++) {
        sched_feedback_negative(s, q);
        ck_assert_int_eq(q->window, expect[i]);
    }
    /* An increase resets "failure": the next failure takes 2 again. */
    sched_feedback_positive(s, q);
    ck_assert_int_eq(q->window, 2);
    ck_assert_int_eq(q->fail_cohorts, 0);
    q->window = 9;
    q->failure = 0;
    sched_feedback_negative(s, q);
    ck_assert_int_eq(q->window, 7);
    sched_destroy(s);
}
END_TEST

/* Constant positive 1/4: +1 at the end of every 4 successes. */
START_TEST(test_positive_constant_quarter)
{
    SCHED *s;
    SCHED_QUEUE *q;

    neg_feedback = (SCHED_FEEDBACK){1, 1, 0};
    pos_feedback = (SCHED_FEEDBACK){1, 4, 0};
    q = make_queue(&s, 5);
    for (int i = 1; i <= 12; i++) {
        sched_feedback_positive(s, q);
        ck_assert_int_eq(q->window, 5 + i / 4);
    }
    sched_destroy(s);
}
END_TEST

/* Positive 1/concurrency: W -> W+1 after W successes. */
START_TEST(test_positive_per_concurrency)
{
    SCHED *s;
    SCHED_QUEUE *q;
    int successes = 0;

    neg_feedback = (SCHED_FEEDBACK){1, 1, 0};
    pos_feedback = (SCHED_FEEDBACK){1, 0, 1};
    q = make_queue(&s, 2);
    while (q->window < 10) {
        sched_feedback_positive(s, q);
        successes++;
    }
    ck_assert_int_eq(successes, 44);
    sched_destroy(s);
}
END_TEST

START_TEST(test_feedback_value)
{
    SCHED_FEEDBACK fb = {1, 0, 1};

    ck_assert(sched_feedback_value(&fb, 4) == 0.25);
    fb = (SCHED_FEEDBACK){3, 4, 0};
    ck_assert(sched_feedback_value(&fb, 100) == 0.75);
    /* Unreasonable values count as 1. */
    fb = (SCHED_FEEDBACK){2, 1, 0};
    ck_assert(sched_feedback_value(&fb, 3) == 1);
    fb = (SCHED_FEEDBACK){-1, 1, 1};
    ck_assert(sched_feedback_value(&fb, 3) == 1.0 / 3);
}
END_TEST

static char capture_path[64];

static int
parse_quietly(const char *value, SCHED_FEEDBACK *fb, char *log, size_t len)
{
    int saved = dup(2);
    FILE *fp;
    int result;
    size_t got;

    snprintf(capture_path, sizeof(capture_path), "/tmp/pq-test-fb.%ld",
             (long) getpid());
    fflush(stderr);
    fp = fopen(capture_path, "w+");
    dup2(fileno(fp), 2);
    result = sched_feedback_parse("fake_destination_concurrency_"
                                  "negative_feedback",
                                  value, fb);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(fp);
    got = fread(log, 1, len - 1, fp);
    log[got] = 0;
    fclose(fp);
    unlink(capture_path);
    return result;
}

START_TEST(test_feedback_parse)
{
    static const char *bad[] = {"2",   "1/0", "x",        "1/sqrt_concurrency",
                                "3/2", "1/",  "1/4 junk", "-1"};
    SCHED_FEEDBACK fb;
    char log[1000];

    ck_assert_int_eq(parse_quietly("1", &fb, log, sizeof(log)), 0);
    ck_assert(fb.numerator == 1 && !fb.per_concurrency);
    ck_assert_str_eq(log, "");
    ck_assert_int_eq(parse_quietly("1/8", &fb, log, sizeof(log)), 0);
    ck_assert(sched_feedback_value(&fb, 7) == 0.125);
    ck_assert_int_eq(parse_quietly("1 / concurrency", &fb, log, sizeof(log)),
                     0);
    ck_assert(fb.per_concurrency && sched_feedback_value(&fb, 5) == 0.2);
    ck_assert_int_eq(parse_quietly("0.5", &fb, log, sizeof(log)), 0);
    ck_assert(sched_feedback_value(&fb, 5) == 0.5);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char expect[200];

        ck_assert_int_eq(parse_quietly(bad[i], &fb, log, sizeof(log)), -1);
        ck_assert(sched_feedback_value(&fb, 5) == 1);
        snprintf(expect, sizeof(expect),
                 "warning: fake_destination_concurrency_negative_feedback: "
                 "ignoring malformed or unreasonable feedback: %s\n",
                 bad[i]);
        ck_assert_msg(strstr(log, expect) != NULL, "%s: got '%s'", bad[i], log);
    }
}
END_TEST

/* destination_concurrency_feedback_debug output, none for retry/error. */
START_TEST(test_feedback_debug_log)
{
    SCHED_GLOBALS g;
    SCHED_OPS ops = {.get_transport_params = params};
    SCHED *s;
    SCHED_QUEUE *q;
    SCHED_QUEUE *retry;
    char log[2000];
    int saved = dup(2);
    FILE *fp;
    size_t got;

    neg_feedback = (SCHED_FEEDBACK){1, 1, 0};
    pos_feedback = (SCHED_FEEDBACK){1, 1, 0};
    sched_globals_default(&g);
    g.feedback_debug = 1;
    s = sched_create(&g, &ops, "oqmgr");
    q = sched_queue_create(s, sched_transport_obtain(s, "fake"), "d", "d");
    retry = sched_queue_create(s, sched_transport_obtain(s, "retry"), "r", "r");
    q->window = 10;
    snprintf(capture_path, sizeof(capture_path), "/tmp/pq-test-fbd.%ld",
             (long) getpid());
    fflush(stderr);
    fp = fopen(capture_path, "w+");
    dup2(fileno(fp), 2);
    sched_feedback_negative(s, q);
    sched_feedback_positive(s, q);
    sched_feedback_negative(s, retry);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(fp);
    got = fread(log, 1, sizeof(log) - 1, fp);
    log[got] = 0;
    fclose(fp);
    unlink(capture_path);
    ck_assert_ptr_nonnull(strstr(log, ": qmgr_queue_throttle: feedback 1\n"));
    ck_assert_ptr_nonnull(
        strstr(log, ": qmgr_queue_throttle: queue d: limit 0 window 8 success "
                    "0 failure 1 fail_cohorts 0.1\n"));
    ck_assert_ptr_nonnull(
        strstr(log, ": qmgr_queue_unthrottle: queue d: limit 0 window 9 "
                    "success 0 failure 0 fail_cohorts 0\n"));
    ck_assert_ptr_null(strstr(log, "queue r:"));
    sched_destroy(s);
}
END_TEST

START_TEST(test_htable)
{
    SCHED_HTABLE *t = sched_htable_create(0);
    static char keys[5000][16];

    for (int i = 0; i < 5000; i++) {
        snprintf(keys[i], sizeof(keys[i]), "key%d", i);
        sched_htable_enter(t, keys[i], keys[i]);
    }
    ck_assert_uint_eq(sched_htable_count(t), 5000);
    for (int i = 0; i < 5000; i += 2)
        sched_htable_delete(t, keys[i]);
    ck_assert_uint_eq(sched_htable_count(t), 2500);
    for (int i = 0; i < 5000; i++) {
        char probe[16];

        snprintf(probe, sizeof(probe), "key%d", i);
        if (i % 2)
            ck_assert_ptr_eq(sched_htable_find(t, probe), keys[i]);
        else
            ck_assert_ptr_null(sched_htable_find(t, probe));
    }
    for (int i = 0; i < 5000; i += 2)
        sched_htable_enter(t, keys[i], keys[i]);
    for (int i = 0; i < 5000; i++)
        ck_assert_ptr_eq(sched_htable_find(t, keys[i]), keys[i]);
    ck_assert_ptr_null(sched_htable_find(t, "absent"));
    sched_htable_free(t);
}
END_TEST

typedef struct ITEM {
    int id;
    SCHED_LINK link;
} ITEM;

static void
assert_order(SCHED_LIST *list, const int *ids, int n)
{
    ITEM *it = sched_list_first(list);

    ck_assert_int_eq(sched_list_count(list), n);
    for (int i = 0; i < n; i++, it = sched_list_next(list, &it->link)) {
        ck_assert_ptr_nonnull(it);
        ck_assert_int_eq(it->id, ids[i]);
    }
    ck_assert_ptr_null(it);
}

START_TEST(test_list_rotation)
{
    SCHED_LIST list;
    ITEM items[4] = {{1, {0}}, {2, {0}}, {3, {0}}, {4, {0}}};
    static const int start[] = {1, 2, 3, 4};
    static const int rot2[] = {3, 4, 1, 2};
    static const int rot4[] = {3, 4, 1, 2};
    static const int less[] = {3, 1, 2};
    static const int front[] = {4, 3, 1, 2};

    sched_list_init(&list);
    ck_assert_ptr_null(sched_list_first(&list));
    for (int i = 0; i < 4; i++)
        sched_list_append(&list, &items[i].link, &items[i]);
    assert_order(&list, start, 4);
    sched_list_rotate(&list, &items[1].link);
    assert_order(&list, rot2, 4);
    sched_list_rotate(&list, &items[1].link);
    assert_order(&list, rot4, 4);
    ck_assert_ptr_eq(sched_list_last(&list), &items[1]);
    sched_list_unlink(&list, &items[3].link);
    assert_order(&list, less, 3);
    sched_list_prepend(&list, &items[3].link, &items[3]);
    assert_order(&list, front, 4);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("sched_feedback");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_negative_constant_quarter);
    tcase_add_test(tc, test_negative_constant_one);
    tcase_add_test(tc, test_positive_constant_quarter);
    tcase_add_test(tc, test_positive_per_concurrency);
    tcase_add_test(tc, test_feedback_value);
    tcase_add_test(tc, test_feedback_parse);
    tcase_add_test(tc, test_feedback_debug_log);
    tcase_add_test(tc, test_htable);
    tcase_add_test(tc, test_list_rotation);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
