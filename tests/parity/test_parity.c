/*
 * test_parity - behaviour parity of pqmgr with Postfix's own queue managers.
 *
 * Each test case runs one scenario of tests/parity/run (docs/parity.md):
 * the same queue and main.cf under Postfix's qmgr and oqmgr and under
 * pqmgr with pqmgr_scheduler = nqmgr and oqmgr, each in a fresh pf-sandbox
 * instance with the scripted delivery agent tests/tools/script-agent.py,
 * then the traces are compared (pqmgr/nqmgr against qmgr, pqmgr/oqmgr
 * against oqmgr).  The runner prints one PASS, FAIL or DIFFERS line per
 * compared property; every FAIL line fails the case, and a case with no
 * PASS line fails too.
 *
 * The runner runs in its own session (setsid) with its pid in the work
 * directory; the unchecked teardown, which runs in the parent even when
 * the case timed out, stops that process group and then has the runner
 * stop every agent and instance under the work directory and remove it.
 * $PARITY_KEEP keeps the work directory of failed cases.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static const char *const scenarios[] = {
    "rcpt_limit_default",
    "rcpt_limit_small",
    "per_recipient_queues",
    "concurrency",
    "order",
    "dead_destination",
    "defer_retry",
    "defer_transports",
    "hold",
    "expiry",
    "bounce",
};
#define NSCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

static char workdir[256];

static void
parity_setup(void)
{
    snprintf(workdir, sizeof(workdir), "/tmp/pq-parity.XXXXXX");
    /* 0755: master opens the instances' data/ as the mail owner */
    if (mkdtemp(workdir) == NULL || chmod(workdir, 0755) != 0)
        workdir[0] = 0;
}

static pid_t
runner_pid(void)
{
    char path[300];
    FILE *fp;
    long pid = 0;

    snprintf(path, sizeof(path), "%s/runner.pid", workdir);
    if ((fp = fopen(path, "r")) != NULL) {
        if (fscanf(fp, "%ld", &pid) != 1)
            pid = 0;
        fclose(fp);
    }
    return (pid_t) pid;
}

static void
parity_teardown(void)
{
    char cmd[600];
    pid_t pid;

    if (workdir[0] == 0)
        return;
    if ((pid = runner_pid()) > 1 && kill(-pid, SIGTERM) == 0) {
        for (int i = 0; i < 100 && kill(-pid, 0) == 0; i++)
            usleep(100000);
        kill(-pid, SIGKILL);
    }
    if (getenv("PARITY_KEEP") == NULL) {
        snprintf(cmd, sizeof(cmd), "tests/parity/run --cleanup '%s'", workdir);
        if (system(cmd) != 0)
            fprintf(stderr, "test_parity: cleanup of %s failed\n", workdir);
    }
    workdir[0] = 0;
}

START_TEST(test_scenario)
{
    const char *name = scenarios[_i];
    char cmd[1200], out[300], line[2048];
    int status, passes = 0, fails = 0;
    FILE *fp;

    ck_assert_msg(workdir[0] != 0, "no work directory");
    snprintf(out, sizeof(out), "%s/out.txt", workdir);
    snprintf(
        cmd, sizeof(cmd),
        "setsid tests/parity/run --only %s --workdir '%s' %s > '%s' 2>&1 & "
        "echo $! > '%s/runner.pid'; wait $!",
        name, workdir, getenv("PARITY_KEEP") ? "--keep" : "", out, workdir);
    status = system(cmd);
    ck_assert_msg((fp = fopen(out, "r")) != NULL, "no runner output");
    while (fgets(line, sizeof(line), fp) != NULL) {
        fputs(line, stdout);
        if (strncmp(line, "PASS ", 5) == 0)
            passes++;
        else if (strncmp(line, "FAIL ", 5) == 0) {
            fails++;
            fprintf(stderr, "parity: %s", line);
        }
    }
    fclose(fp);
    fflush(stdout);
    ck_assert_msg(fails == 0, "%s: %d compared properties differ", name, fails);
    ck_assert_msg(passes > 0, "%s: nothing was compared", name);
    ck_assert_msg(status == 0, "%s: runner exit status %d", name, status);
}
END_TEST

static Suite *
parity_suite(void)
{
    Suite *s = suite_create("parity");

    for (size_t i = 0; i < NSCENARIOS; i++) {
        TCase *tc = tcase_create(scenarios[i]);

        tcase_add_unchecked_fixture(tc, parity_setup, parity_teardown);
        tcase_add_loop_test(tc, test_scenario, (int) i, (int) i + 1);
        tcase_set_timeout(tc, 150);
        suite_add_tcase(s, tc);
    }
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(parity_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
