/*
 * test_bench_smoke - the benchmark harness still works: one short round of
 * "bench/run --smoke" (Postfix's qmgr, Postfix's oqmgr and pqmgr each drain
 * the same small queue under a real Postfix), which fails when any run lost
 * a recipient.  Figures are not checked here: no timing assertions in tests.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

START_TEST(test_smoke_run)
{
    const char *top = getenv("PQ_TOP");
    const char *build = getenv("PQ_BUILD");
    char cmd[1024];

    snprintf(cmd, sizeof(cmd),
             "cd '%s' && bench/run --smoke --pqmgr '%s/%s/pqmgr' "
             ">build/bench-smoke.log 2>&1",
             top ? top : ".", top ? top : ".", build ? build : "build");
    ck_assert_msg(system(cmd) == 0, "bench/run --smoke failed: see "
                                    "build/bench-smoke.log");
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("bench smoke");
    TCase *tc = tcase_create("smoke");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_smoke_run);
    tcase_set_timeout(tc, 300);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
