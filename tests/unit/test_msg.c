/*
 * test_msg - the logging ladder and Postfix's postlog line format.
 *
 * A datagram socket stands in for postlogd(8): the test binds it, points
 * msg_to_postlog() at it and checks each datagram byte for byte (apart from
 * the time stamp, which is checked against its strftime shape).
 */
#include <check.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "msg.h"

static char sock_path[108];
static int sink_fd = -1;

static void
open_sink(void)
{
    struct sockaddr_un sun;

    snprintf(sock_path, sizeof(sock_path), "/tmp/pq-test-msg.%ld",
             (long) getpid());
    unlink(sock_path);
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    strcpy(sun.sun_path, sock_path);
    sink_fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    ck_assert_int_ge(sink_fd, 0);
    ck_assert_int_eq(bind(sink_fd, (struct sockaddr *) &sun, sizeof(sun)), 0);
    msg_init("qmgr", "postfix");
    ck_assert_int_eq(msg_to_postlog(sock_path, "mx.example.test"), 0);
}

static void
close_sink(void)
{
    msg_close();
    close(sink_fd);
    unlink(sock_path);
}

static void
read_line(char *buf, size_t len)
{
    ssize_t got = recv(sink_fd, buf, len - 1, 0);

    ck_assert_int_gt(got, 0);
    buf[got] = 0;
}

/* Check that line is "<Mon dd hh:mm:ss> mx postfix/qmgr[<pid>]: <rest>". */
static void
assert_postlog_line(const char *line, const char *rest)
{
    char expect[4096];
    regex_t re;

    ck_assert_int_eq(regcomp(&re,
                             "^[A-Z][a-z][a-z] [0-3][0-9] [0-2][0-9]:[0-5][0-9]"
                             ":[0-6][0-9] ",
                             REG_NOSUB),
                     0);
    ck_assert_msg(regexec(&re, line, 0, NULL, 0) == 0, "bad stamp in '%s'",
                  line);
    regfree(&re);
    snprintf(expect, sizeof(expect), "mx postfix/qmgr[%ld]: %s",
             (long) getpid(), rest);
    ck_assert_str_eq(line + 16, expect);
}

START_TEST(test_levels_and_prefixes)
{
    char line[4096];

    open_sink();
    msg_info("97C44A74B27: removed");
    read_line(line, sizeof(line));
    assert_postlog_line(line, "97C44A74B27: removed");
    msg_warn("saving corrupt file \"%s\" from queue \"%s\" to queue \"%s\"",
             "ABC", "active", "corrupt");
    read_line(line, sizeof(line));
    assert_postlog_line(line, "warning: saving corrupt file \"ABC\" from queue "
                              "\"active\" to queue \"corrupt\"");
    msg_error("bad %s", "thing");
    read_line(line, sizeof(line));
    assert_postlog_line(line, "error: bad thing");
    close_sink();
}
END_TEST

START_TEST(test_text_is_truncated)
{
    char line[8192];
    char big[3000];

    open_sink();
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    msg_info("%s", big);
    read_line(line, sizeof(line));
    ck_assert_uint_eq(strlen(strstr(line, "]: ") + 3), MSG_TEXT_LIMIT);
    close_sink();
}
END_TEST

START_TEST(test_newlines_become_spaces)
{
    char line[4096];

    open_sink();
    msg_info("one\ntwo\rthree");
    read_line(line, sizeof(line));
    assert_postlog_line(line, "one two three");
    close_sink();
}
END_TEST

START_TEST(test_syslog_name_from_environment)
{
    setenv("MAIL_LOGTAG", "postfix-out", 1);
    msg_init("/usr/lib/postfix/sbin/qmgr", NULL);
    ck_assert_str_eq(msg_tag(), "postfix-out/qmgr");
    unsetenv("MAIL_LOGTAG");
    msg_init("qmgr", NULL);
    ck_assert_str_eq(msg_tag(), "postfix/qmgr");
    msg_init("qmgr", "other");
    ck_assert_str_eq(msg_tag(), "other/qmgr");
}
END_TEST

static int hook_ran;

static void
fatal_hook(void)
{
    char line[4096];

    read_line(line, sizeof(line));
    assert_postlog_line(line, "fatal: cannot go on: 42");
    hook_ran = 1;
    close_sink();
    _exit(hook_ran ? 7 : 8);
}

START_TEST(test_fatal_runs_hook_and_exits)
{
    open_sink();
    msg_set_fatal_hook(fatal_hook);
    msg_fatal("cannot go on: %d", 42);
}
END_TEST

START_TEST(test_fatal_exit_status)
{
    msg_init("qmgr", "postfix");
    msg_to_stderr(1);
    msg_fatal("plain fatal");
}
END_TEST

START_TEST(test_error_limit_is_fatal)
{
    msg_init("qmgr", "postfix");
    for (int i = 0; i < MSG_ERROR_LIMIT - 1; i++)
        msg_error("error %d", i);
    ck_assert(1);
    msg_error("the last straw");
    ck_abort_msg("msg_error did not terminate after %d errors",
                 MSG_ERROR_LIMIT);
}
END_TEST

START_TEST(test_panic_aborts)
{
    msg_init("qmgr", "postfix");
    msg_panic("impossible state %d", 3);
}
END_TEST

START_TEST(test_facility_names)
{
    ck_assert_int_eq(msg_syslog_facility("mail"), 2 << 3);
    ck_assert_int_eq(msg_syslog_facility("LOCAL0"), 16 << 3);
    ck_assert_int_eq(msg_syslog_facility("nonsense"), -1);
}
END_TEST

static Suite *
msg_suite(void)
{
    Suite *s = suite_create("msg");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_levels_and_prefixes);
    tcase_add_test(tc, test_text_is_truncated);
    tcase_add_test(tc, test_newlines_become_spaces);
    tcase_add_test(tc, test_syslog_name_from_environment);
    tcase_add_exit_test(tc, test_fatal_runs_hook_and_exits, 7);
    tcase_add_exit_test(tc, test_fatal_exit_status, 1);
    tcase_add_exit_test(tc, test_error_limit_is_fatal, 1);
    tcase_add_test_raise_signal(tc, test_panic_aborts, SIGABRT);
    tcase_add_test(tc, test_facility_names);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(msg_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
