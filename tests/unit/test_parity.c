/*
 * test_parity - behaviour parity of pqmgr with Postfix's own queue managers.
 *
 * tests/parity/run (docs/parity.md) runs each scenario on the same queue
 * and main.cf under Postfix's qmgr and oqmgr and under pqmgr with
 * pqmgr_scheduler = nqmgr and oqmgr, each in a fresh pf-sandbox instance
 * with the scripted delivery agent tests/tools/script-agent.py, and
 * compares the traces (pqmgr/nqmgr against qmgr, pqmgr/oqmgr against
 * oqmgr).  It prints a "== NAME" header per scenario and one PASS, FAIL
 * or DIFFERS line per compared property.
 *
 * The unchecked fixture runs the runner once over every scenario, two at
 * a time ($PARITY_JOBS), in its own session with its pid in the work
 * directory (the runner bounds each scenario's time itself).  Then there
 * is one test per scenario, as listed by "tests/parity/run --list", so a
 * new scenario needs no change here: it fails when the scenario has a FAIL
 * line, no PASS line or no report at all.  The teardown stops whatever is
 * left of the runner's session and has the runner stop every agent and
 * instance under the work directory and remove it; $PARITY_KEEP keeps
 * them for a post-mortem, $PARITY_ONLY (NAME,NAME) runs only those.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define MAX_SCENARIOS 128

static char *scenarios[MAX_SCENARIOS];
static int nscenarios;

static char workdir[256];
static char outfile[300];
static int runner_status = -1;

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
parity_setup(void)
{
    const char *jobs = getenv("PARITY_JOBS");
    const char *only = getenv("PARITY_ONLY");
    char cmd[1400];

    snprintf(workdir, sizeof(workdir), "/tmp/pq-parity.XXXXXX");
    /* 0755: master opens the instances' data/ as the mail owner */
    if (mkdtemp(workdir) == NULL || chmod(workdir, 0755) != 0) {
        workdir[0] = 0;
        return;
    }
    snprintf(outfile, sizeof(outfile), "%s/out.txt", workdir);
    snprintf(cmd, sizeof(cmd),
             "setsid tests/parity/run --jobs %s %s%s --workdir '%s' %s "
             "> '%s' 2>&1 & echo $! > '%s/runner.pid'; wait $!",
             jobs ? jobs : "2", only ? "--only " : "", only ? only : "",
             workdir, getenv("PARITY_KEEP") ? "--keep" : "", outfile, workdir);
    runner_status = system(cmd);
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

/* Does LINE report on scenario NAME? */
static int
line_is_about(const char *line, const char *name)
{
    size_t len = strlen(name);
    const char *p = strchr(line, ' ');

    if (p == NULL || strncmp(p + 1, name, len) != 0)
        return 0;
    return p[1 + len] == '/' || p[1 + len] == ' ' || p[1 + len] == ':';
}

START_TEST(test_scenario)
{
    const char *name = scenarios[_i];
    char line[4096];
    int header = 0, passes = 0, fails = 0;
    FILE *fp;

    ck_assert_msg(workdir[0] != 0, "no work directory");
    if (getenv("PARITY_ONLY") && strstr(getenv("PARITY_ONLY"), name) == NULL)
        return;
    ck_assert_msg((fp = fopen(outfile, "r")) != NULL, "no runner output");
    while (fgets(line, sizeof(line), fp) != NULL) {
        if (!line_is_about(line, name))
            continue;
        if (strncmp(line, "== ", 3) == 0)
            header = 1;
        else if (strncmp(line, "PASS ", 5) == 0)
            passes++;
        else if (strncmp(line, "FAIL ", 5) == 0) {
            fails++;
            fprintf(stderr, "parity: %s", line);
        }
        fputs(line, stdout);
    }
    fclose(fp);
    fflush(stdout);
    ck_assert_msg(header, "%s: no report (runner status %d)", name,
                  runner_status);
    ck_assert_msg(fails == 0, "%s: %d compared properties differ", name, fails);
    ck_assert_msg(passes > 0, "%s: nothing was compared", name);
}
END_TEST

static int
load_scenarios(void)
{
    char line[256];
    FILE *fp;

    if ((fp = popen("tests/parity/run --list", "r")) == NULL)
        return -1;
    while (nscenarios < MAX_SCENARIOS &&
           fgets(line, sizeof(line), fp) != NULL) {
        line[strcspn(line, "\n")] = 0;
        if (line[0] != 0)
            scenarios[nscenarios++] = strdup(line);
    }
    return pclose(fp) == 0 && nscenarios > 0 ? 0 : -1;
}

static Suite *
parity_suite(void)
{
    Suite *s = suite_create("parity");
    TCase *tc = tcase_create("scenarios");

    tcase_add_unchecked_fixture(tc, parity_setup, parity_teardown);
    tcase_add_loop_test(tc, test_scenario, 0, nscenarios);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr;
    int failed;

    if (load_scenarios() != 0) {
        fprintf(stderr, "test_parity: tests/parity/run --list failed\n");
        return 1;
    }
    sr = srunner_create(parity_suite());
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    for (int i = 0; i < nscenarios; i++)
        free(scenarios[i]);
    return failed ? 1 : 0;
}
