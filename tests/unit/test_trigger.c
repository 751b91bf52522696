/*
 * test_trigger - trigger batches and generic daemon options.
 */
#include <check.h>
#include <string.h>

#include "daemon_opts.h"
#include "trigger.h"

START_TEST(test_postqueue_flush_batch)
{
    TRIGGER_BATCH b;

    /* postqueue -f sends "FADI" in one write; order does not matter. */
    ck_assert_int_eq(trigger_decode("FADI", 4, &b), 4);
    ck_assert_int_eq(b.incoming,
                     SCAN_START | SCAN_ALL | SCAN_FLUSH_ONCE | SCAN_FLUSH_DFXP);
    ck_assert_int_eq(b.deferred,
                     SCAN_START | SCAN_ALL | SCAN_FLUSH_ONCE | SCAN_FLUSH_DFXP);
    trigger_decode("IDAF", 4, &b);
    ck_assert_int_eq(b.incoming,
                     SCAN_START | SCAN_ALL | SCAN_FLUSH_ONCE | SCAN_FLUSH_DFXP);
}
END_TEST

START_TEST(test_wakeup_with_nul_and_garbage)
{
    TRIGGER_BATCH b;
    const char garbage[] = "W\0xyz\377\n";

    ck_assert_int_eq(trigger_decode(garbage, sizeof(garbage) - 1, &b), 1);
    ck_assert_int_eq(b.incoming, SCAN_START);
    ck_assert_int_eq(b.deferred, 0);
    ck_assert_int_eq(trigger_decode("", 0, &b), 0);
    ck_assert_int_eq(b.incoming | b.deferred, 0);
}
END_TEST

START_TEST(test_duplicates_collapse)
{
    TRIGGER_BATCH b;

    trigger_decode("DDDDA", 5, &b);
    ck_assert_int_eq(b.incoming, SCAN_ALL);
    ck_assert_int_eq(b.deferred, SCAN_START | SCAN_ALL);
}
END_TEST

START_TEST(test_master_argv)
{
    char *argv[] = {"qmgr", "-l", "-t", "unix",
                    "-u",   "-v", "-o", "queue_run_delay=2s",
                    NULL};
    DAEMON_OPTS o;
    char err[100];

    ck_assert_int_eq(daemon_opts_parse(8, argv, &o, err, sizeof(err)), 0);
    ck_assert(o.solitary && o.unprivileged);
    ck_assert_int_eq(o.verbose, 1);
    ck_assert_str_eq(o.endpoint_type, "unix");
    ck_assert_uint_eq(o.override_count, 1);
    ck_assert_str_eq(o.overrides[0], "queue_run_delay=2s");
    ck_assert_ptr_null(o.service_name);
    daemon_opts_free(&o);
}
END_TEST

START_TEST(test_master_argv_oqmgr_form)
{
    char *argv[] = {"oqmgr", "-l",   "-n", "qmgr",
                    "-t",    "fifo", "-o", "{ name = two words }",
                    NULL};
    DAEMON_OPTS o;
    char err[100];

    ck_assert_int_eq(daemon_opts_parse(8, argv, &o, err, sizeof(err)), 0);
    ck_assert_str_eq(o.service_name, "qmgr");
    ck_assert_str_eq(o.endpoint_type, "fifo");
    ck_assert_str_eq(o.overrides[0], "name=two words");
    daemon_opts_free(&o);
}
END_TEST

START_TEST(test_master_argv_errors)
{
    char *bad_opt[] = {"qmgr", "-x", NULL};
    char *missing[] = {"qmgr", "-t", NULL};
    char *extra[] = {"qmgr", "-l", "stray", NULL};
    DAEMON_OPTS o;
    char err[100];

    ck_assert_int_eq(daemon_opts_parse(2, bad_opt, &o, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "invalid option: -x");
    daemon_opts_free(&o);
    ck_assert_int_eq(daemon_opts_parse(2, missing, &o, err, sizeof(err)), -1);
    ck_assert_str_eq(err, "option requires an argument: -t");
    daemon_opts_free(&o);
    ck_assert_int_eq(daemon_opts_parse(3, extra, &o, err, sizeof(err)), -1);
    daemon_opts_free(&o);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("trigger");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_postqueue_flush_batch);
    tcase_add_test(tc, test_wakeup_with_nul_and_garbage);
    tcase_add_test(tc, test_duplicates_collapse);
    tcase_add_test(tc, test_master_argv);
    tcase_add_test(tc, test_master_argv_oqmgr_form);
    tcase_add_test(tc, test_master_argv_errors);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
