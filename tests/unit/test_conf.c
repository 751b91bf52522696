/*
 * test_conf - main.cf reading, $name expansion, typed values, per-transport
 * fallbacks and startup validation, checked against the installed Postfix.
 *
 * Three oracles besides hand-written expectations:
 *  - "postconf -d" for every default in the parameter table;
 *  - "postconf -c <dir> -x -h <name>" for expansions (postconf prints
 *    values with runs of whitespace squeezed, so those comparisons squeeze
 *    both sides);
 *  - the installed qmgr(8)/oqmgr(8), run with "-S" on a main.cf whose
 *    queue_directory does not exist: it either refuses the configuration
 *    (its fatal message must start our first error) or gets as far as
 *    chdir() (and we must accept the configuration too).  Its message
 *    "bad numerical configuration: <name> = <value>" also shows the exact
 *    expansion of a value, whitespace included.
 * Tests that need a Postfix program skip themselves when it is missing.
 */
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "expand.h"
#include "feedback.h"
#include "maincf.h"
#include "msg.h"
#include "params.h"
#include "strbuf.h"
#include "values.h"
#include "xalloc.h"

#define POSTCONF "/usr/sbin/postconf"
#define QMGR     "/usr/lib/postfix/sbin/qmgr"
#define OQMGR    "/usr/lib/postfix/sbin/oqmgr"
#define LABEL    "/test/main.cf"

/* Helpers: files, commands, captured stderr. */

static char *
make_config_dir(const char *maincf)
{
    char *dir = xstrdup("/tmp/pq-test-conf.XXXXXX");
    STRBUF *path = strbuf_alloc(100);
    FILE *fp;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    strbuf_addf(path, "%s/main.cf", dir);
    ck_assert_ptr_nonnull(fp = fopen(strbuf_str(path), "w"));
    fputs(maincf, fp);
    ck_assert_int_eq(fclose(fp), 0);
    /* postconf complains about a missing master.cf; keep it quiet. */
    strbuf_reset(path);
    strbuf_addf(path, "%s/master.cf", dir);
    ck_assert_ptr_nonnull(fp = fopen(strbuf_str(path), "w"));
    fclose(fp);
    strbuf_free(path);
    return dir;
}

static void
remove_config_dir(char *dir)
{
    STRBUF *path = strbuf_alloc(100);

    strbuf_addf(path, "%s/main.cf", dir);
    unlink(strbuf_str(path));
    strbuf_reset(path);
    strbuf_addf(path, "%s/master.cf", dir);
    unlink(strbuf_str(path));
    rmdir(dir);
    strbuf_free(path);
    xfree(dir);
}

static char *
read_whole_file(const char *path)
{
    STRBUF *sb = strbuf_alloc(4096);
    char buf[4096];
    size_t got;
    FILE *fp = fopen(path, "r");

    ck_assert_msg(fp != NULL, "open %s: %s", path, strerror(errno));
    while ((got = fread(buf, 1, sizeof(buf), fp)) > 0)
        strbuf_addmem(sb, buf, got);
    fclose(fp);
    return strbuf_steal(sb);
}

/* command_output - stdout of a shell command, without the last newline */

static char *
command_output(const char *cmd)
{
    STRBUF *sb = strbuf_alloc(4096);
    char buf[4096];
    size_t got;
    FILE *fp = popen(cmd, "r");

    ck_assert_msg(fp != NULL, "popen %s: %s", cmd, strerror(errno));
    while ((got = fread(buf, 1, sizeof(buf), fp)) > 0)
        strbuf_addmem(sb, buf, got);
    pclose(fp);
    if (strbuf_len(sb) > 0 && strbuf_str(sb)[strbuf_len(sb) - 1] == '\n')
        strbuf_truncate(sb, strbuf_len(sb) - 1);
    return strbuf_steal(sb);
}

static char *
postconf_value(const char *dir, const char *options, const char *name)
{
    STRBUF *cmd = strbuf_alloc(200);
    char *out;

    strbuf_addf(cmd, "%s -c %s %s -h %s 2>/dev/null", POSTCONF, dir, options,
                name);
    out = command_output(strbuf_str(cmd));
    strbuf_free(cmd);
    return out;
}

/* squeeze - runs of whitespace as one space, none at the ends */

static char *
squeeze(const char *text)
{
    STRBUF *sb = strbuf_alloc(strlen(text) + 1);
    int space = 0;

    for (; *text; text++) {
        if (isspace((unsigned char) *text)) {
            space = 1;
            continue;
        }
        if (space && strbuf_len(sb) > 0)
            strbuf_addch(sb, ' ');
        space = 0;
        strbuf_addch(sb, *text);
    }
    return strbuf_steal(sb);
}

static int saved_stderr = -1;
static char capture_path[64];

static void
capture_start(void)
{
    int fd;

    snprintf(capture_path, sizeof(capture_path), "/tmp/pq-test-conf-%ld.err",
             (long) getpid());
    fd = open(capture_path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    ck_assert_int_ge(fd, 0);
    fflush(stderr);
    saved_stderr = dup(2);
    dup2(fd, 2);
    close(fd);
}

static char *
capture_end(void)
{
    char *text;

    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    text = read_whole_file(capture_path);
    unlink(capture_path);
    return text;
}

static CF *
open_text(const char *text)
{
    char *why = NULL;
    CF *cf = cf_open_buffer(LABEL, text, strlen(text), &why);

    ck_assert_msg(cf != NULL, "cf_open_buffer: %s", why ? why : "?");
    return cf;
}

static void
assert_value(CF *cf, const char *name, const char *expect)
{
    const char *got = cf_get_str(cf, name);

    ck_assert_msg(got != NULL, "%s: error: %s", name, cf_error(cf));
    ck_assert_msg(strcmp(got, expect) == 0, "%s: got \"%s\", want \"%s\"", name,
                  got, expect);
}

static void
assert_error_is(CF *cf, const char *expect)
{
    ck_assert_msg(strcmp(cf_error(cf), expect) == 0,
                  "error: got \"%s\", want \"%s\"", cf_error(cf), expect);
}

static int
have_program(const char *path)
{
    return access(path, X_OK) == 0;
}

/* Syntax. */

START_TEST(test_syntax_logical_lines)
{
    CF *cf = open_text("# comment\n"
                       "   # indented comment\n"
                       "a = 1\n"
                       "  continued\n"
                       "\n"
                       "# a comment between continuation lines\n"
                       " \t\n"
                       "\tmore # not a comment\n"
                       "b=2\n"
                       "c =   spaced value \t \n"
                       "d =\n"
                       "e= x = y\n"
                       "f = crlf\r\n"
                       "g = last line without newline");

    ck_assert_str_eq(cf_raw(cf, "a"), "1  continued\tmore # not a comment");
    ck_assert_str_eq(cf_raw(cf, "b"), "2");
    ck_assert_str_eq(cf_raw(cf, "c"), "spaced value");
    ck_assert_str_eq(cf_raw(cf, "d"), "");
    ck_assert_str_eq(cf_raw(cf, "e"), "x = y");
    ck_assert_str_eq(cf_raw(cf, "f"), "crlf");
    ck_assert_str_eq(cf_raw(cf, "g"), "last line without newline");
    ck_assert_ptr_null(cf_raw(cf, "comment"));
    ck_assert_str_eq(cf_where(cf, "a"), LABEL ", line 3");
    ck_assert_str_eq(cf_where(cf, "b"), LABEL ", line 9");
    ck_assert_str_eq(cf_where(cf, "qmgr_fudge_factor"), "default");
    cf_free(cf);
}
END_TEST

START_TEST(test_syntax_last_entry_wins)
{
    CF *cf;
    char *err;

    capture_start();
    cf = open_text("b = 2\n"
                   "x = same\n"
                   "b = 3\n"
                   "x = same\n"
                   "b = 3\n"
                   "  more\n");
    err = capture_end();
    ck_assert_str_eq(cf_raw(cf, "b"), "3  more");
    ck_assert_str_eq(cf_where(cf, "b"), LABEL ", line 5");
    ck_assert_msg(strstr(err, "warning: " LABEL
                              ", line 3: overriding earlier entry: b=2\n"),
                  "%s", err);
    ck_assert_msg(strstr(err, "warning: " LABEL
                              ", line 5: overriding earlier entry: b=3\n"),
                  "%s", err);
    /* An identical value draws no warning. */
    ck_assert_ptr_null(strstr(err, "x=same"));
    xfree(err);
    cf_free(cf);
}
END_TEST

START_TEST(test_syntax_leading_whitespace)
{
    CF *cf;
    char *err;

    capture_start();
    cf = open_text("  lead = 1 and a very long line that goes on\n"
                   "  continued\n"
                   "b = 1\n");
    err = capture_end();
    ck_assert_ptr_null(cf_raw(cf, "lead"));
    ck_assert_str_eq(cf_raw(cf, "b"), "1");
    ck_assert_msg(strstr(err, "warning: " LABEL ": logical line must not "
                              "start with whitespace: \"  lead = 1 and a "
                              "very long lin...\""),
                  "%s", err);
    xfree(err);
    cf_free(cf);
}
END_TEST

static void
assert_open_fails(const char *text, const char *expect)
{
    char *why = NULL;
    CF *cf = cf_open_buffer(LABEL, text, strlen(text), &why);

    ck_assert_ptr_null(cf);
    ck_assert_ptr_nonnull(why);
    ck_assert_str_eq(why, expect);
    xfree(why);
}

START_TEST(test_syntax_errors)
{
    assert_open_fails("a = 1\nc\n", LABEL ", line 2: missing '=' after "
                                          "attribute name: \"c\"");
    assert_open_fails("a = 1\n\nc\n  more\n",
                      LABEL ", line 3: missing '=' after attribute name: "
                            "\"c  more\"");
    assert_open_fails("a b = 1\n", LABEL ", line 1: missing '=' after "
                                         "attribute name: \"a b = 1\"");
    assert_open_fails("# x\n= 2\n", LABEL ", line 2: missing attribute "
                                          "name: \"= 2\"");
}
END_TEST

START_TEST(test_open_directory)
{
    char *dir = make_config_dir("queue_run_delay = 7\n");
    char *why = NULL;
    CF *cf;
    int secs;

    cf = cf_open(dir, &why);
    ck_assert_msg(cf != NULL, "%s", why);
    ck_assert_str_eq(cf_config_dir(cf), dir);
    assert_value(cf, "config_directory", dir);
    ck_assert_int_eq(cf_get_time(cf, "queue_run_delay", &secs), 0);
    ck_assert_int_eq(secs, 7);
    cf_free(cf);

    /* $MAIL_CONFIG names the directory when the caller does not. */
    setenv("MAIL_CONFIG", dir, 1);
    cf = cf_open(NULL, &why);
    ck_assert_msg(cf != NULL, "%s", why);
    ck_assert_str_eq(cf_config_dir(cf), dir);
    cf_free(cf);
    unsetenv("MAIL_CONFIG");
    remove_config_dir(dir);

    cf = cf_open("/nonexistent/pq-conf", &why);
    ck_assert_ptr_null(cf);
    ck_assert_str_eq(why, "open /nonexistent/pq-conf/main.cf: No such file "
                          "or directory");
    xfree(why);
}
END_TEST

START_TEST(test_override_options)
{
    CF *cf = open_text("qmgr_message_active_limit = 100\n"
                       "a = from main.cf\n");
    int value;

    ck_assert_int_eq(cf_get_int(cf, "qmgr_message_active_limit", &value), 0);
    ck_assert_int_eq(value, 100);
    ck_assert_int_eq(cf_override(cf, "qmgr_message_active_limit= 7"), 0);
    ck_assert_int_eq(cf_get_int(cf, "qmgr_message_active_limit", &value), 0);
    ck_assert_int_eq(value, 7);
    ck_assert_str_eq(cf_where(cf, "qmgr_message_active_limit"), "-o option");
    ck_assert_int_eq(cf_override(cf, "b = $a, and more = signs"), 0);
    assert_value(cf, "b", "from main.cf, and more = signs");
    ck_assert_int_eq(cf_override(cf, "syslog_name=postfix-out"), 0);
    assert_value(cf, "syslog_name", "postfix-out");

    /* Postfix 3.7 daemons take no "{ name = value }" form. */
    ck_assert_int_eq(cf_override(cf, "{ a = 1 }"), -1);
    assert_error_is(cf, "invalid \"-o { a = 1 }\" option value: missing '=' "
                        "after attribute name");
    ck_assert_int_eq(cf_override(cf, "novalue"), -1);
    assert_error_is(cf, "invalid \"-o novalue\" option value: missing '=' "
                        "after attribute name");
    ck_assert_int_eq(cf_override(cf, "=x"), -1);
    assert_error_is(cf, "invalid \"-o =x\" option value: missing attribute "
                        "name");

    /* A bad -o value names the option. */
    ck_assert_int_eq(cf_override(cf, "queue_run_delay=5q"), 0);
    ck_assert_int_eq(cf_get_time(cf, "queue_run_delay", &value), -1);
    assert_error_is(cf, "parameter queue_run_delay: bad time value or unit: "
                        "5q (-o option)");

    /* Run-time values win over everything. */
    cf_set(cf, "process_name", "qmgr");
    assert_value(cf, "process_name", "qmgr");
    ck_assert_str_eq(cf_where(cf, "process_name"), "set at run time");
    cf_free(cf);
}
END_TEST

/* A string handed out earlier stays valid until the next change. */
START_TEST(test_changes_refresh_expansions)
{
    CF *cf = open_text("a = $b\nb = one\n");

    assert_value(cf, "a", "one");
    ck_assert_int_eq(cf_override(cf, "b=two"), 0);
    assert_value(cf, "a", "two");
    cf_set(cf, "b", "three");
    assert_value(cf, "a", "three");
    cf_free(cf);
}
END_TEST

/* Expansion. */

static const struct {
    const char *value;
    const char *expect;
} expand_cases[] = {
    {"$word", "bar"},
    {"${word}", "bar"},
    {"$(word)", "bar"},
    {"x$word.y", "xbar.y"},
    {"$$word", "$word"},
    {"$$$word$$", "$bar$"},
    {"cost: $$5", "cost: $5"},
    {"$undefined_name", ""},
    {"${word?set}", "set"},
    {"${empty?set}", ""},
    {"${undefined_name?set}", ""},
    {"${word:unset}", ""},
    {"${empty:unset}", "unset"},
    {"${undefined_name:unset}", "unset"},
    {"${word?{ in braces }}", " in braces "},
    {"${empty:{ in braces }}", " in braces "},
    {"${word? {x}}", "x"},
    {"${word? x}", " x"},
    {"${ word ? {yes} : {no} }", "yes"},
    {"${empty?{yes}:{no}}", "no"},
    {"${empty?{yes}:no and more}", "no and more"},
    {"${word?{yes}: no}", "yes"},
    {"${word??foo:{b}ar}", "?foo:{b}ar"},
    {"${word?a:b}", "a:b"},
    {"${word?$word}", "bar"},
    {"${word?{${empty?{x}:{$word$word}}}}", "barbar"},
    {"${word?{$$}}", "$"},
    {"$(word?{a})", "a"},
    {"${word?(x)}", "(x)"},
    {"${{$word} == {bar}}", "true"},
    {"${{$word} != {bar}}", ""},
    {"${{$word} == {bar} ? {eq} : {ne}}", "eq"},
    {"${{$word}=={baz}?{eq}:{ne}}", "ne"},
    {"${{9} < {10} ? {t} : {f}}", "t"},
    {"${{9} > {10} ? {t} : {f}}", "f"},
    {"${{9x} < {10x} ? {t} : {f}}", "f"},
    {"${{abc} < {abd} ? {t} : {f}}", "t"},
    {"${{10} <= {10} ? {t} : {f}}", "t"},
    {"${{11} <= {10} ? {t} : {f}}", "f"},
    {"${{007} >= {7} ? {t} : {f}}", "t"},
    {"${{} == {} ? {t} : {f}}", "t"},
    {"${{b} > {a}:{false}}", ""},
    {"${{a} > {b}:{false}}", "false"},
    {"${{3.9} <level {3.10} ? {t} : {f}}", "t"},
    {"${{3.10} <level {3.9} ? {t} : {f}}", "f"},
    {"${{3} ==level {3.0.0} ? {t} : {f}}", "t"},
    {"${{2} <=level {2} ? {t} : {f}}", "t"},
    {"${{3.6.1} >level {3.6} ? {t} : {f}}", "t"},
    {"${{3.6} >=level {3.6.1} ? {t} : {f}}", "f"},
    {"${{1} !=level {2} ? {t} : {f}}", "t"},
    {"${{$level} <level {1} ? {no} : {yes}}", "yes"},
    {"<$chain1>", "<<<end>>>"},
};

START_TEST(test_expand_forms)
{
    CF *cf = open_text("word = bar\n"
                       "empty =\n"
                       "level = 3.6\n"
                       "chain1 = <$chain2>\n"
                       "chain2 = <$chain3>\n"
                       "chain3 = end\n");
    STRBUF *result = strbuf_alloc(100);

    for (size_t i = 0; i < sizeof(expand_cases) / sizeof(expand_cases[0]);
         i++) {
        ck_assert_msg(cf_expand_text(cf, expand_cases[i].value, result) == 0,
                      "%s: %s", expand_cases[i].value, cf_error(cf));
        ck_assert_msg(strcmp(strbuf_str(result), expand_cases[i].expect) == 0,
                      "%s: got \"%s\", want \"%s\"", expand_cases[i].value,
                      strbuf_str(result), expand_cases[i].expect);
    }
    strbuf_free(result);
    cf_free(cf);
}
END_TEST

static const struct {
    const char *value;
    const char *error;
} expand_errors[] = {
    {"${word", "truncated macro reference: \"${word\""},
    {"$(word", "truncated macro reference: \"$(word\""},
    {"$", "empty macro name: \"$\""},
    {"3$", "empty macro name: \"3$\""},
    {"$-x", "empty macro name: \"$-x\""},
    {"${}", "empty macro name: \"${}\""},
    {"${na me}", "attribute name syntax error at: \"...na>>> me\""},
    {"${a-b}", "attribute name syntax error at: \"...a>>>-b\""},
    {"${word?{x}junk}", "\":\" expected at: \"...x}>>>junk\""},
    {"${word?{x}:{y}junk}", "unexpected input at: \"...y}>>>junk\""},
    {"${word?{x}", "truncated macro reference: \"${word?{x}\""},
    {"${word?{x}}}", NULL}, /* "}" after a reference is literal text */
    {"${word?{x}:{y}", "truncated macro reference: \"${word?{x}:{y}\""},
    {"${{a} = {b}}", "expected at: \"...a}>>>= {b}\""},
    {"${{a} =< {b}}", "expected at: \"...a}>>>=< {b}\""},
    {"${{a} == b}", "\"{expression}\" expected at: \"...{a} ==>>> b\""},
    {"${{a} <leve {b}}", "bad operator suffix at: \"...<>>>leve\""},
    {"${{a} <levels {b}}", "bad operator suffix at: \"...<>>>levels\""},
    {"${{x} <level {1}}", "malformed compatibility level syntax: \"x\""},
    {"${{1.1024} <level {1}}",
     "malformed compatibility level syntax: \"1.1024\""},
    {"${{1} <level {1.2.3.4}}",
     "malformed compatibility level syntax: \"1.2.3.4\""},
    {"${{a} == {b} junk}", "\"?\" or \":\" expected at: \"...}>>>junk\""},
    {"$(word?{a)})", "unbalanced {} in attribute expression: \"{a\""},
    {"${{99999999999999999999} < {1}}",
     "mac_exp_eval: bad conversion: 99999999999999999999"},
    {"${{a} == {b}", "truncated macro reference"},
    {"$loop_a", "unreasonable macro call nesting: "},
    {"$self", "unreasonable macro call nesting: "},
    {"${loop_a?x}", NULL}, /* only tested, not expanded */
    {"${{$loop_a} == {x}}", "unreasonable macro call nesting: "},
};

START_TEST(test_expand_errors)
{
    CF *cf = open_text("word = bar\n"
                       "loop_a = ($loop_b)\n"
                       "loop_b = ($loop_a)\n"
                       "self = $self\n");
    STRBUF *result = strbuf_alloc(100);

    for (size_t i = 0; i < sizeof(expand_errors) / sizeof(expand_errors[0]);
         i++) {
        int status = cf_expand_text(cf, expand_errors[i].value, result);

        if (expand_errors[i].error == NULL) {
            ck_assert_msg(status == 0, "%s: %s", expand_errors[i].value,
                          cf_error(cf));
            continue;
        }
        ck_assert_msg(status == -1, "%s: no error, result \"%s\"",
                      expand_errors[i].value, strbuf_str(result));
        ck_assert_msg(strstr(cf_error(cf), expand_errors[i].error) != NULL,
                      "%s: got \"%s\", want \"%s\"", expand_errors[i].value,
                      cf_error(cf), expand_errors[i].error);
    }
    strbuf_free(result);
    cf_free(cf);
}
END_TEST

/* An error in a parameter's value names the parameter and where it is. */
START_TEST(test_expand_error_in_parameter)
{
    CF *cf = open_text("a = $b\nb = $a\nqueue_run_delay = ${x\n");
    int secs;

    ck_assert_ptr_null(cf_get_str(cf, "a"));
    ck_assert_msg(strstr(cf_error(cf), "parameter a: unreasonable macro call "
                                       "nesting: ") == cf_error(cf),
                  "%s", cf_error(cf));
    ck_assert_msg(strstr(cf_error(cf), "(" LABEL ", line 1)"), "%s",
                  cf_error(cf));
    ck_assert_int_eq(cf_get_time(cf, "queue_run_delay", &secs), -1);
    assert_error_is(cf, "parameter queue_run_delay: truncated macro "
                        "reference: \"${x\" (" LABEL ", line 3)");
    cf_free(cf);
}
END_TEST

/* The nesting limit is Postfix's: 100 levels of $name work, 101 do not. */
static CF *
open_chain(int length)
{
    STRBUF *text = strbuf_alloc(4096);
    char *why = NULL;
    CF *cf;

    strbuf_addstr(text, "top = $p0\n");
    for (int i = 0; i < length; i++)
        strbuf_addf(text, "p%d = $p%d\n", i, i + 1);
    strbuf_addf(text, "p%d = 5\n", length);
    cf = cf_open_buffer(LABEL, strbuf_str(text), strbuf_len(text), &why);
    ck_assert_ptr_nonnull(cf);
    strbuf_free(text);
    return cf;
}

START_TEST(test_expand_depth_limit)
{
    CF *cf = open_chain(99);

    assert_value(cf, "top", "5");
    cf_free(cf);
    cf = open_chain(100);
    ck_assert_ptr_null(cf_get_str(cf, "top"));
    ck_assert_msg(strstr(cf_error(cf), "unreasonable macro call nesting: "
                                       "\"5\""),
                  "%s", cf_error(cf));
    cf_free(cf);
    cf = open_chain(101);
    ck_assert_ptr_null(cf_get_str(cf, "top"));
    ck_assert_msg(strstr(cf_error(cf), "unreasonable macro call nesting: "
                                       "\"p101\""),
                  "%s", cf_error(cf));
    cf_free(cf);
}
END_TEST

/* Values that grow exponentially without looping are cut off. */
static CF *
open_doubling(const char *first, const char *step, const char *last, int n)
{
    STRBUF *text = strbuf_alloc(4096);
    char *why = NULL;
    CF *cf;

    strbuf_addf(text, "top = %s\n", first);
    for (int i = 0; i < n; i++) {
        strbuf_addf(text, "d%d = ", i);
        strbuf_addf(text, step, i + 1, i + 1);
        strbuf_addch(text, '\n');
    }
    strbuf_addf(text, "d%d = %s\n", n, last);
    cf = cf_open_buffer(LABEL, strbuf_str(text), strbuf_len(text), &why);
    ck_assert_ptr_nonnull(cf);
    strbuf_free(text);
    return cf;
}

START_TEST(test_expand_size_limits)
{
    char big[2001];
    CF *cf;

    /* 2^40 references, little output. */
    cf = open_doubling("$d0", "$d%d$d%d", "", 40);
    ck_assert_ptr_null(cf_get_str(cf, "top"));
    ck_assert_msg(strstr(cf_error(cf), "expansion too large: more than "
                                       "100000 literals and references"),
                  "%s", cf_error(cf));
    cf_free(cf);
    /* The same through relational operands, with no output at all. */
    cf = open_doubling("$d0", "${{$d%d} == {$d%d}}", "x", 40);
    ck_assert_ptr_null(cf_get_str(cf, "top"));
    ck_assert_msg(strstr(cf_error(cf), "expansion too large"), "%s",
                  cf_error(cf));
    cf_free(cf);
    /* Few references, a lot of output. */
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    cf = open_doubling("$d0", "$d%d$d%d", big, 20);
    ck_assert_ptr_null(cf_get_str(cf, "top"));
    ck_assert_msg(strstr(cf_error(cf), "expansion too large: more than "
                                       "1048576 bytes"),
                  "%s", cf_error(cf));
    /* Below the limits all is well. */
    ck_assert_uint_eq(strlen(cf_get_str(cf, "d19")), 4000);
    cf_free(cf);
    cf = open_doubling("$d0", "$d%d$d%d", "x", 10);
    ck_assert_uint_eq(strlen(cf_get_str(cf, "top")), 1024);
    cf_free(cf);
}
END_TEST

/* Loops through computed defaults end too. */
START_TEST(test_expand_default_loops)
{
    CF *cf = open_text("myhostname = $mydomain\n");

    ck_assert_ptr_null(cf_get_str(cf, "myhostname"));
    ck_assert_msg(strstr(cf_error(cf), "unreasonable macro call nesting"), "%s",
                  cf_error(cf));
    ck_assert_ptr_null(cf_get_str(cf, "mydomain"));
    cf_free(cf);
}
END_TEST

START_TEST(test_expand_defaults)
{
    CF *cf = open_text("a = [$queue_directory|$qmgr_fudge_factor|"
                       "$not_a_parameter|$syslog_name]\n");

    assert_value(cf, "a", "[/var/spool/postfix|100||postfix]");
    assert_value(cf, "not_a_parameter", "");
    ck_assert_ptr_null(cf_raw(cf, "not_a_parameter"));
    ck_assert_str_eq(cf_raw(cf, "qmgr_fudge_factor"), "100");
    ck_assert_int_eq(cf_override(cf, "multi_instance_name=postfix-b"), 0);
    assert_value(cf, "syslog_name", "postfix-b");
    cf_free(cf);
}
END_TEST

START_TEST(test_smtputf8_default_follows_compatibility_level)
{
    static const struct {
        const char *maincf;
        int expect;
    } cases[] = {
        {"", 0},
        {"compatibility_level = 0\n", 0},
        {"compatibility_level = 1\n", 1},
        {"compatibility_level = 2\n", 1},
        {"compatibility_level = 3.6\n", 1},
        {"compatibility_level = 3.6\nsmtputf8_enable = NO\n", 0},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CF *cf = open_text(cases[i].maincf);
        int value = -1;

        ck_assert_msg(cf_get_bool(cf, "smtputf8_enable", &value) == 0, "%s",
                      cf_error(cf));
        ck_assert_msg(value == cases[i].expect, "%s: smtputf8_enable = %d",
                      cases[i].maincf, value);
        cf_free(cf);
    }
}
END_TEST

/* Host-dependent defaults, computed as postconf computes them. */
START_TEST(test_hostname_defaults)
{
    CF *cf = open_text("");
    char host[256];
    char *expect;

    gethostname(host, sizeof(host));
    if (have_program(POSTCONF)) {
        expect = command_output(POSTCONF " -d -h myhostname 2>/dev/null");
        assert_value(cf, "myhostname", expect);
        xfree(expect);
        expect = command_output(POSTCONF " -d -h mydomain 2>/dev/null");
        assert_value(cf, "mydomain", expect);
        xfree(expect);
    }
    cf_free(cf);

    cf = open_text("myhostname = mail.example.com\n");
    assert_value(cf, "mydomain", "example.com");
    assert_value(cf, "mydestination",
                 "mail.example.com, localhost.example.com, localhost");
    cf_free(cf);
    cf = open_text("myhostname = example.com\n");
    assert_value(cf, "mydomain", "com");
    cf_free(cf);
    cf = open_text("myhostname = host\n");
    assert_value(cf, "mydomain", "localdomain");
    cf_free(cf);
    if (strchr(host, '.') == NULL) {
        cf = open_text("mydomain = $d\nd = example.net\n");
        expect = xmalloc(strlen(host) + 20);
        sprintf(expect, "%s.example.net", host);
        assert_value(cf, "myhostname", expect);
        xfree(expect);
        cf_free(cf);
    }
}
END_TEST

/* Expansions of a fixture of tricky forms, as postconf expands them. */
START_TEST(test_expand_matches_postconf)
{
    char *text;
    char *dir;
    char *why = NULL;
    CF *cf;
    STRBUF *failures;
    const char *cp;
    int compared = 0;

    if (!have_program(POSTCONF))
        return;
    text = read_whole_file("tests/data/conf/tricky-main.cf");
    dir = make_config_dir(text);
    cf = cf_open(dir, &why);
    ck_assert_msg(cf != NULL, "%s", why);
    failures = strbuf_alloc(100);
    for (cp = text; (cp = strstr(cp, "\nx_")) != NULL; cp++) {
        char name[64];
        char *theirs;
        char *ours_squeezed;
        char *theirs_squeezed;
        const char *ours;

        sscanf(cp + 1, "%63[a-z0-9_]", name);
        if (strcmp(name, "x_refs") == 0) /* unused: postconf won't show it */
            continue;
        ours = cf_get_str(cf, name);
        ck_assert_msg(ours != NULL, "%s: %s", name, cf_error(cf));
        theirs = postconf_value(dir, "-x", name);
        ours_squeezed = squeeze(ours);
        theirs_squeezed = squeeze(theirs);
        if (strcmp(ours_squeezed, theirs_squeezed) != 0)
            strbuf_addf(failures, "\n%s: ours \"%s\", postconf \"%s\"", name,
                        ours, theirs);
        compared++;
        xfree(theirs);
        xfree(ours_squeezed);
        xfree(theirs_squeezed);
    }
    ck_assert_int_ge(compared, 40);
    ck_assert_msg(strbuf_len(failures) == 0, "differences:%s",
                  strbuf_str(failures));
    strbuf_free(failures);
    cf_free(cf);
    remove_config_dir(dir);
    xfree(text);
}
END_TEST

/* Typed values. */

START_TEST(test_time_units)
{
    CF *cf = open_text("maximal_queue_lifetime = 2\n"
                       "bounce_queue_lifetime = 3h\n"
                       "queue_run_delay = 2\n"
                       "minimal_backoff_time = 10m\n"
                       "maximal_backoff_time = 1w\n"
                       "transport_retry_time = 10s # comment\n"
                       "delay_warning_time = 4\n"
                       "qmgr_clog_warn_time = 0\n"
                       "trigger_timeout = +5\n"
                       "my_time = 3\n");
    int secs;

    ck_assert_int_eq(cf_get_time(cf, "maximal_queue_lifetime", &secs), 0);
    ck_assert_int_eq(secs, 2 * 86400);
    ck_assert_int_eq(cf_get_time(cf, "bounce_queue_lifetime", &secs), 0);
    ck_assert_int_eq(secs, 3 * 3600);
    ck_assert_int_eq(cf_get_time(cf, "queue_run_delay", &secs), 0);
    ck_assert_int_eq(secs, 2);
    ck_assert_int_eq(cf_get_time(cf, "minimal_backoff_time", &secs), 0);
    ck_assert_int_eq(secs, 600);
    ck_assert_int_eq(cf_get_time(cf, "maximal_backoff_time", &secs), 0);
    ck_assert_int_eq(secs, 7 * 86400);
    ck_assert_int_eq(cf_get_time(cf, "transport_retry_time", &secs), 0);
    ck_assert_int_eq(secs, 10);
    ck_assert_int_eq(cf_get_time(cf, "delay_warning_time", &secs), 0);
    ck_assert_int_eq(secs, 4 * 3600);
    ck_assert_int_eq(cf_get_time(cf, "qmgr_clog_warn_time", &secs), 0);
    ck_assert_int_eq(secs, 0);
    ck_assert_int_eq(cf_get_time(cf, "trigger_timeout", &secs), 0);
    ck_assert_int_eq(secs, 5);
    ck_assert_int_eq(cf_get_time(cf, "my_time", &secs), 0);
    ck_assert_int_eq(secs, 3);
    ck_assert_int_eq(cf_get_time(cf, "ipc_timeout", &secs), 0);
    ck_assert_int_eq(secs, 3600);
    cf_free(cf);
}
END_TEST

START_TEST(test_time_errors)
{
    CF *cf = open_text("queue_run_delay = 5x\n"
                       "minimal_backoff_time = 0\n"
                       "maximal_queue_lifetime = 101\n"
                       "bounce_queue_lifetime = 8640001\n"
                       "in_flow_delay = 11\n"
                       "transport_retry_time = -1\n"
                       "ipc_timeout = 5S\n"
                       "trigger_timeout =\n"
                       "max_idle = 99999999999\n");
    int secs;

    ck_assert_int_eq(cf_get_time(cf, "queue_run_delay", &secs), -1);
    assert_error_is(cf, "parameter queue_run_delay: bad time value or unit: "
                        "5x (" LABEL ", line 1)");
    ck_assert_int_eq(cf_get_time(cf, "minimal_backoff_time", &secs), -1);
    assert_error_is(cf, "invalid minimal_backoff_time: 0 (min 1) (" LABEL
                        ", line 2)");
    ck_assert_int_eq(cf_get_time(cf, "maximal_queue_lifetime", &secs), -1);
    assert_error_is(cf, "invalid maximal_queue_lifetime: 8726400 (max "
                        "8640000) (" LABEL ", line 3)");
    ck_assert_int_eq(cf_get_time(cf, "bounce_queue_lifetime", &secs), -1);
    assert_error_is(cf, "parameter bounce_queue_lifetime: bad time value or "
                        "unit: 8640001 (" LABEL ", line 4)");
    ck_assert_int_eq(cf_get_time(cf, "in_flow_delay", &secs), -1);
    assert_error_is(cf,
                    "invalid in_flow_delay: 11 (max 10) (" LABEL ", line 5)");
    ck_assert_int_eq(cf_get_time(cf, "transport_retry_time", &secs), -1);
    ck_assert_int_eq(cf_get_time(cf, "ipc_timeout", &secs), -1);
    ck_assert_int_eq(cf_get_time(cf, "trigger_timeout", &secs), -1);
    ck_assert_int_eq(cf_get_time(cf, "max_idle", &secs), -1);
    cf_free(cf);
}
END_TEST

START_TEST(test_int_values)
{
    CF *cf = open_text("qmgr_message_active_limit = +5\n"
                       "qmgr_message_recipient_limit = 0x10\n"
                       "initial_destination_concurrency = 0\n"
                       "default_delivery_slot_discount = 101\n"
                       "qmgr_fudge_factor = 9\n"
                       "default_delivery_slot_cost = -4\n"
                       "hash_queue_depth = 5 x\n"
                       "default_process_limit = 99999999999\n"
                       "qmgr_message_recipient_minimum =\n");
    int value;

    ck_assert_int_eq(cf_get_int(cf, "qmgr_message_active_limit", &value), 0);
    ck_assert_int_eq(value, 5);
    ck_assert_int_eq(cf_get_int(cf, "qmgr_message_recipient_limit", &value),
                     -1);
    assert_error_is(cf,
                    "bad numerical configuration: "
                    "qmgr_message_recipient_limit = 0x10 (" LABEL ", line 2)");
    ck_assert_int_eq(cf_get_int(cf, "initial_destination_concurrency", &value),
                     -1);
    assert_error_is(cf, "invalid initial_destination_concurrency parameter "
                        "value 0 < 1 (" LABEL ", line 3)");
    ck_assert_int_eq(cf_get_int(cf, "default_delivery_slot_discount", &value),
                     -1);
    assert_error_is(cf, "invalid default_delivery_slot_discount parameter "
                        "value 101 > 100 (" LABEL ", line 4)");
    ck_assert_int_eq(cf_get_int(cf, "qmgr_fudge_factor", &value), -1);
    assert_error_is(cf,
                    "invalid qmgr_fudge_factor parameter value 9 < 10 (" LABEL
                    ", line 5)");
    /* A minimum of 0 is no minimum, as in Postfix. */
    ck_assert_int_eq(cf_get_int(cf, "default_delivery_slot_cost", &value), 0);
    ck_assert_int_eq(value, -4);
    ck_assert_int_eq(cf_get_int(cf, "hash_queue_depth", &value), -1);
    ck_assert_int_eq(cf_get_int(cf, "default_process_limit", &value), -1);
    ck_assert_int_eq(cf_get_int(cf, "qmgr_message_recipient_minimum", &value),
                     -1);
    assert_error_is(cf,
                    "bad numerical configuration: "
                    "qmgr_message_recipient_minimum =  (" LABEL ", line 9)");
    ck_assert_int_eq(cf_get_int(cf, "default_recipient_limit", &value), 0);
    ck_assert_int_eq(value, 20000);
    cf_free(cf);
}
END_TEST

START_TEST(test_bool_values)
{
    CF *cf = open_text("helpful_warnings = NO\n"
                       "enable_long_queue_ids = Yes\n"
                       "confirm_delay_cleared = true\n"
                       "disable_verp_bounces = $x\n"
                       "x = yes\n");
    int value;

    ck_assert_int_eq(cf_get_bool(cf, "helpful_warnings", &value), 0);
    ck_assert_int_eq(value, 0);
    ck_assert_int_eq(cf_get_bool(cf, "enable_long_queue_ids", &value), 0);
    ck_assert_int_eq(value, 1);
    ck_assert_int_eq(cf_get_bool(cf, "confirm_delay_cleared", &value), -1);
    assert_error_is(cf, "bad boolean configuration: confirm_delay_cleared = "
                        "true (" LABEL ", line 3)");
    ck_assert_int_eq(cf_get_bool(cf, "disable_verp_bounces", &value), 0);
    ck_assert_int_eq(value, 1);
    ck_assert_int_eq(
        cf_get_bool(cf, "destination_concurrency_feedback_debug", &value), 0);
    ck_assert_int_eq(value, 0);
    cf_free(cf);
}
END_TEST

START_TEST(test_strings_and_lists)
{
    CF *cf = open_text("mail_owner =\n"
                       "defer_transports = smtp, relay\tlocal ,,\n"
                       "x = a\n");
    CF_LIST *list;

    ck_assert_ptr_null(cf_get_str(cf, "mail_owner"));
    assert_error_is(cf, "bad string length 0 < 1: mail_owner =  (" LABEL
                        ", line 1)");
    /* Integer ranges are not string lengths. */
    ck_assert_int_eq(cf_override(cf, "qmgr_message_active_limit="), 0);
    assert_value(cf, "qmgr_message_active_limit", "");
    ck_assert_int_eq(cf_get_list(cf, "defer_transports", &list), 0);
    ck_assert_int_eq(list->argc, 3);
    ck_assert_str_eq(list->argv[0], "smtp");
    ck_assert_str_eq(list->argv[1], "relay");
    ck_assert_str_eq(list->argv[2], "local");
    ck_assert_ptr_null(list->argv[3]);
    cf_list_free(list);
    ck_assert_int_eq(cf_get_list(cf, "hash_queue_names", &list), 0);
    ck_assert_int_eq(list->argc, 2);
    ck_assert_str_eq(list->argv[0], "deferred");
    ck_assert_str_eq(list->argv[1], "defer");
    cf_list_free(list);
    ck_assert_int_eq(cf_get_list(cf, "empty_list", &list), 0);
    ck_assert_int_eq(list->argc, 0);
    ck_assert_ptr_null(list->argv[0]);
    cf_list_free(list);
    cf_free(cf);
}
END_TEST

START_TEST(test_wrong_type_panics)
{
    CF *cf = open_text("");
    int value;

    cf_get_int(cf, "queue_run_delay", &value);
}
END_TEST

START_TEST(test_values_conversions)
{
    int v;
    long level, other;

    ck_assert_int_eq(cf_convert_int(" 12", &v), 0);
    ck_assert_int_eq(v, 12);
    ck_assert_int_eq(cf_convert_int("-2147483648", &v), 0);
    ck_assert_int_eq(v, -2147483647 - 1);
    ck_assert_int_eq(cf_convert_int("2147483648", &v), -1);
    ck_assert_int_eq(cf_convert_int("", &v), -1);
    ck_assert_int_eq(cf_convert_time("1", 'w', &v), 0);
    ck_assert_int_eq(v, 604800);
    ck_assert_int_eq(cf_convert_time("2147483647", 's', &v), 0);
    ck_assert_int_eq(cf_convert_time("3549", 'w', &v), 0);
    ck_assert_int_eq(cf_convert_time("3550", 'w', &v), -1);
    ck_assert_int_eq(cf_convert_time("10sx", 'd', &v), 0);
    ck_assert_int_eq(v, 10);
    ck_assert_int_eq(cf_convert_time("10", 'x', &v), -1);
    ck_assert_int_eq(cf_convert_bool("nO", &v), 0);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(cf_convert_bool("y", &v), -1);
    ck_assert_int_eq(cf_convert_level("3.10", &level), 0);
    ck_assert_int_eq(cf_convert_level("3.9", &other), 0);
    ck_assert(level > other);
    ck_assert_int_eq(cf_convert_level("3.1023.1023", &level), 0);
    ck_assert_int_eq(cf_convert_level("3.1024", &level), -1);
    ck_assert_int_eq(cf_convert_level("3.", &level), -1);
    ck_assert_int_eq(cf_convert_level("", &level), -1);
    ck_assert_int_eq(cf_convert_level("-1", &level), -1);
}
END_TEST

/* Feedback. */

START_TEST(test_feedback_syntax)
{
    static const struct {
        const char *text;
        int status;
        double base;
        int per_concurrency;
    } cases[] = {
        {"1", 0, 1, 0},
        {"0", 0, 0, 0},
        {"0.25", 0, 0.25, 0},
        {"1/8", 0, 0.125, 0},
        {"1 / 4", 0, 0.25, 0},
        {"2/4", 0, 0.5, 0},
        {"1/concurrency", 0, 1, 1},
        {"0.5/concurrency", 0, 0.5, 1},
        {"0.5 extra", 0, 0.5, 0},
        {"2", -1, 1, 0},
        {"-0.5", -1, 1, 0},
        {"2/concurrency", -1, 1, 0},
        {"1/sqrt_concurrency", -1, 1, 0},
        {"1/0", -1, 1, 0},
        {"1/8 ", -1, 1, 0},
        {"1/8x", -1, 1, 0},
        {"1/", -1, 1, 0},
        {"x", -1, 1, 0},
        {"", -1, 1, 0},
        {"nan", -1, 1, 0},
        {"1/1234567890123456789012345678901", -1, 1, 0},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CF_FEEDBACK fb = {-7, -7};
        int status = cf_feedback_parse(cases[i].text, &fb);

        ck_assert_msg(status == cases[i].status, "\"%s\": status %d",
                      cases[i].text, status);
        ck_assert_msg(fb.base == cases[i].base &&
                          fb.per_concurrency == cases[i].per_concurrency,
                      "\"%s\": base %g per_concurrency %d", cases[i].text,
                      fb.base, fb.per_concurrency);
    }
    {
        CF_FEEDBACK fb = {1, 1};

        ck_assert(cf_feedback_value(&fb, 4) == 0.25);
        fb.per_concurrency = 0;
        ck_assert(cf_feedback_value(&fb, 4) == 1);
    }
}
END_TEST

/* The installed qmgr has no "sqrt_concurrency" feedback, so neither do we. */
START_TEST(test_feedback_no_sqrt_in_postfix)
{
    char *out;

    if (!have_program(QMGR))
        return;
    out = command_output("grep -c -a sqrt_concurrency " QMGR);
    ck_assert_str_eq(out, "0");
    xfree(out);
    out = command_output("grep -c -a 'ignoring malformed or unreasonable "
                         "feedback' " QMGR);
    ck_assert_str_eq(out, "1");
    xfree(out);
}
END_TEST

/* Per transport. */

START_TEST(test_transport_fallbacks)
{
    CF *cf = open_text("default_destination_concurrency_limit = 10\n"
                       "relay_destination_concurrency_limit = 3\n"
                       "default_destination_rate_delay = 1m\n"
                       "slow_destination_rate_delay = 5\n"
                       "slower_destination_rate_delay = 2h\n"
                       "smtp_initial_destination_concurrency = 0\n"
                       "lmtp_destination_recipient_limit = x\n"
                       "local_destination_recipient_limit = $r\n"
                       "r = 4\n"
                       "smtp_recipient_refill_delay = 2\n");
    int value;

    ck_assert_int_eq(cf_get_transport_int(
                         cf, "smtp", "destination_concurrency_limit", &value),
                     0);
    ck_assert_int_eq(value, 10);
    ck_assert_int_eq(cf_get_transport_int(
                         cf, "relay", "destination_concurrency_limit", &value),
                     0);
    ck_assert_int_eq(value, 3);
    /* local_destination_concurrency_limit is a real parameter: 2. */
    ck_assert_int_eq(cf_get_transport_int(
                         cf, "local", "destination_concurrency_limit", &value),
                     0);
    ck_assert_int_eq(value, 2);
    ck_assert_int_eq(cf_get_transport_int(
                         cf, "local", "destination_recipient_limit", &value),
                     0);
    ck_assert_int_eq(value, 4);
    ck_assert_int_eq(
        cf_get_transport_int(cf, "smtp", "destination_recipient_limit", &value),
        0);
    ck_assert_int_eq(value, 50);
    ck_assert_int_eq(cf_get_transport_int(cf, "relay",
                                          "initial_destination_concurrency",
                                          &value),
                     0);
    ck_assert_int_eq(value, 5);
    ck_assert_int_eq(cf_get_transport_int(
                         cf, "smtp", "initial_destination_concurrency", &value),
                     -1);
    assert_error_is(cf, "invalid smtp_initial_destination_concurrency "
                        "parameter value 0 < 1 (" LABEL ", line 6)");
    ck_assert_int_eq(
        cf_get_transport_int(cf, "lmtp", "destination_recipient_limit", &value),
        -1);
    assert_error_is(cf,
                    "bad numerical configuration: "
                    "lmtp_destination_recipient_limit = x (" LABEL ", line 7)");
    ck_assert_int_eq(
        cf_get_transport_int(cf, "smtp", "delivery_slot_discount", &value), 0);
    ck_assert_int_eq(value, 50);
    ck_assert_int_eq(
        cf_get_transport_int(cf, "smtp", "recipient_refill_limit", &value), 0);
    ck_assert_int_eq(value, 100);

    ck_assert_int_eq(
        cf_get_transport_time(cf, "smtp", "destination_rate_delay", &value), 0);
    ck_assert_int_eq(value, 60);
    ck_assert_int_eq(
        cf_get_transport_time(cf, "slow", "destination_rate_delay", &value), 0);
    ck_assert_int_eq(value, 5);
    ck_assert_int_eq(
        cf_get_transport_time(cf, "slower", "destination_rate_delay", &value),
        0);
    ck_assert_int_eq(value, 7200);
    ck_assert_int_eq(
        cf_get_transport_time(cf, "smtp", "transport_rate_delay", &value), 0);
    ck_assert_int_eq(value, 0);
    ck_assert_int_eq(
        cf_get_transport_time(cf, "smtp", "recipient_refill_delay", &value), 0);
    ck_assert_int_eq(value, 2);
    ck_assert_int_eq(
        cf_get_transport_time(cf, "relay", "recipient_refill_delay", &value),
        0);
    ck_assert_int_eq(value, 5);
    cf_free(cf);
}
END_TEST

START_TEST(test_transport_feedback)
{
    CF *cf = open_text("default_destination_concurrency_negative_feedback = "
                       "1/concurrency\n"
                       "smtp_destination_concurrency_positive_feedback = "
                       "1/4\n"
                       "relay_destination_concurrency_positive_feedback = "
                       "bogus\n"
                       "default_destination_concurrency_positive_feedback = "
                       "$p\n"
                       "p = 0.5\n"
                       "lmtp_destination_concurrency_positive_feedback = "
                       "$p\n"
                       "local_destination_concurrency_positive_feedback =\n");
    CF_FEEDBACK fb;
    char *err;

    ck_assert_int_eq(
        cf_get_transport_feedback(
            cf, "smtp", "destination_concurrency_negative_feedback", &fb),
        0);
    ck_assert(fb.base == 1 && fb.per_concurrency == 1);
    ck_assert_int_eq(
        cf_get_transport_feedback(
            cf, "smtp", "destination_concurrency_positive_feedback", &fb),
        0);
    ck_assert(fb.base == 0.25 && fb.per_concurrency == 0);
    ck_assert_int_eq(
        cf_get_transport_feedback(
            cf, "virtual", "destination_concurrency_positive_feedback", &fb),
        0);
    ck_assert(fb.base == 0.5 && fb.per_concurrency == 0);

    /* Malformed: a warning, and 1; named as Postfix names it. */
    capture_start();
    ck_assert_int_eq(
        cf_get_transport_feedback(
            cf, "relay", "destination_concurrency_positive_feedback", &fb),
        0);
    err = capture_end();
    ck_assert(fb.base == 1 && fb.per_concurrency == 0);
    ck_assert_msg(strstr(err, "warning: relay_destination_concurrency_"
                              "positive_feedback: ignoring malformed or "
                              "unreasonable feedback: bogus\n"),
                  "%s", err);
    xfree(err);
    ck_assert_int_eq(
        cf_get_transport_feedback(
            cf, "lmtp", "destination_concurrency_positive_feedback", &fb),
        0);
    ck_assert(fb.base == 0.5);

    /* Empty: Postfix's string length check. */
    ck_assert_int_eq(
        cf_get_transport_feedback(
            cf, "local", "destination_concurrency_positive_feedback", &fb),
        -1);
    assert_error_is(cf, "bad string length 0 < 1: local_destination_"
                        "concurrency_positive_feedback =  (" LABEL ", line 7)");
    cf_free(cf);
}
END_TEST

START_TEST(test_transport_unknown_suffix_panics)
{
    CF *cf = open_text("");
    int value;

    cf_get_transport_int(cf, "smtp", "no_such_suffix", &value);
}
END_TEST

/* Validation. */

static void
count_report(const char *why, void *context)
{
    STRBUF *all = context;

    strbuf_addf(all, "%s\n", why);
}

START_TEST(test_validate)
{
    CF *cf = open_text("");
    STRBUF *all = strbuf_alloc(100);

    ck_assert_int_eq(cf_validate(cf, NULL, NULL), 0);
    cf_free(cf);

    /* qmgr ignores qmgr_fudge_factor; oqmgr checks it. */
    cf = open_text("qmgr_fudge_factor = 5\n");
    ck_assert_int_eq(cf_validate(cf, NULL, NULL), 0);
    ck_assert_int_eq(cf_override(cf, "pqmgr_scheduler=oqmgr"), 0);
    ck_assert_int_eq(cf_validate(cf, NULL, NULL), 1);
    assert_error_is(cf,
                    "invalid qmgr_fudge_factor parameter value 5 < 10 (" LABEL
                    ", line 1)");
    ck_assert_int_eq(cf_override(cf, "pqmgr_scheduler=fast"), 0);
    ck_assert_int_eq(cf_validate(cf, NULL, NULL), 1);
    assert_error_is(cf, "parameter pqmgr_scheduler: unknown scheduler: fast "
                        "(expected nqmgr or oqmgr) (-o option)");
    cf_free(cf);

    cf = open_text("queue_run_delay = 0\n"
                   "helpful_warnings = maybe\n"
                   "compatibility_level = 3.x\n"
                   "syslog_facility = nowhere\n"
                   "myhostname = bad..name\n"
                   "maillog_file = /tmp/log\n"
                   "default_recipient_refill_delay = 0\n");
    /* Bad compatibility_level and myhostname also spoil defaults that use
     * them: smtputf8_enable, relay_domains (and through it
     * fast_flush_domains) and mydomain. */
    ck_assert_int_eq(cf_validate(cf, count_report, all), 11);
    assert_error_is(cf, "malformed compatibility level syntax: \"3.x\" (" LABEL
                        ", line 3)");
    ck_assert_msg(strstr(strbuf_str(all), "invalid queue_run_delay: 0 (min "
                                          "1) (" LABEL ", line 1)\n"),
                  "%s", strbuf_str(all));
    ck_assert_msg(strstr(strbuf_str(all),
                         "bad boolean configuration: helpful_warnings = "
                         "maybe ("),
                  "%s", strbuf_str(all));
    ck_assert_msg(strstr(strbuf_str(all), "malformed compatibility level "
                                          "syntax: \"3.x\""),
                  "%s", strbuf_str(all));
    ck_assert_msg(strstr(strbuf_str(all),
                         "file " LABEL ": parameter syslog_facility: "
                         "unrecognized value: nowhere"),
                  "%s", strbuf_str(all));
    ck_assert_msg(strstr(strbuf_str(all),
                         "file " LABEL ": parameter myhostname: bad "
                         "parameter value: bad..name"),
                  "%s", strbuf_str(all));
    ck_assert_msg(strstr(strbuf_str(all), "maillog_file value '/tmp/log' "
                                          "does not match any prefix in "
                                          "maillog_file_prefixes"),
                  "%s", strbuf_str(all));
    strbuf_free(all);
    cf_free(cf);
}
END_TEST

/*
 * Against the installed qmgr/oqmgr: each case is a main.cf fragment; the
 * program either dies with a configuration message or reaches chdir().
 */
static const struct {
    const char *program;
    const char *maincf;
} oracle_cases[] = {
    {QMGR, ""},
    {QMGR, "qmgr_message_active_limit = 0x5\n"},
    {QMGR, "qmgr_message_active_limit = +5\n"},
    {QMGR, "qmgr_message_active_limit = 0\n"},
    {QMGR, "default_delivery_slot_discount = 101\n"},
    {QMGR, "default_delivery_slot_cost = -4\n"},
    {QMGR, "qmgr_fudge_factor = 9\n"},
    {OQMGR, "qmgr_fudge_factor = 9\n"},
    {OQMGR, "qmgr_fudge_factor = 101\n"},
    {QMGR, "default_recipient_refill_delay = 0\n"},
    {OQMGR, "default_recipient_refill_delay = 0\n"},
    {QMGR, "queue_run_delay = 5x\n"},
    {QMGR, "queue_run_delay = 60s # comment\n"},
    {QMGR, "queue_run_delay = 0\n"},
    {QMGR, "maximal_queue_lifetime = 101\n"},
    {QMGR, "maximal_queue_lifetime = 100\n"},
    {QMGR, "bounce_queue_lifetime = 8640001\n"},
    {QMGR, "in_flow_delay = 11\n"},
    {QMGR, "helpful_warnings = YES\n"},
    {QMGR, "helpful_warnings = true\n"},
    {QMGR, "smtputf8_enable = maybe\n"},
    {QMGR, "mail_owner =\n"},
    {QMGR, "default_destination_concurrency_positive_feedback =\n"},
    {QMGR, "compatibility_level = x\n"},
    {QMGR, "syslog_facility = nowhere\n"},
    {QMGR, "myhostname = bad..name\n"},
    {QMGR, "myhostname = 123\n"},
    {QMGR, "mydomain = a_b.example\n"},
    {QMGR, "maillog_file = /tmp/log\n"},
    {QMGR, "hash_queue_depth = 0\n"},
    {QMGR, "delay_logging_resolution_limit = 7\n"},
    {QMGR, "address_verify_pending_request_limit = 0\n"},
    {QMGR, "ipc_ttl = 0\n"},
    {QMGR, "delay_warning_time = x\n"},
    {QMGR, "defer_transports = $$\n"},
    /* Exact expansions, whitespace included, via the message. */
    {QMGR, "x = y\nqmgr_message_active_limit = ${x?{ 5 }}\n"},
    {QMGR, "qmgr_message_active_limit = 5\n  6\n"},
    {QMGR, "x = y\nqmgr_message_active_limit = ${x?{5}:6}x\n"},
    {QMGR, "qmgr_message_active_limit = $$x${{a} < {b}}\n"},
    {QMGR, "qmgr_message_active_limit = ${{$compatibility_level} <level "
           "{3.6} ? {old} : {new}}\n"},
    {QMGR, "compatibility_level = 3.6\nqmgr_message_active_limit = "
           "<$smtputf8_enable>\n"},
    {QMGR, "qmgr_message_active_limit = ${ syslog_name ? {[$syslog_name]} "
           "}\n"},
    {QMGR, "qmgr_message_active_limit = ${{10} < {9} ? {a} : {b}}\n"},
};

#define ORACLE_QUEUE "/nonexistent/pq-test-queue"
#define ORACLE_COUNT (sizeof(oracle_cases) / sizeof(oracle_cases[0]))

/* fatal_text - "<tag>: fatal: <text>" -> text, or "" */

static const char *
fatal_text(const char *output)
{
    const char *cp = strstr(output, ": fatal: ");

    return cp ? cp + strlen(": fatal: ") : "";
}

START_TEST(test_validate_matches_postfix)
{
    FILE *pipes[ORACLE_COUNT];
    char *dirs[ORACLE_COUNT];
    STRBUF *failures;

    if (!have_program(QMGR) || !have_program(OQMGR))
        return;
    failures = strbuf_alloc(100);
    /* Start them all at once: each takes a few seconds to die. */
    for (size_t i = 0; i < ORACLE_COUNT; i++) {
        STRBUF *text = strbuf_alloc(100);
        STRBUF *cmd = strbuf_alloc(100);

        strbuf_addf(text, "queue_directory = %s\n%s", ORACLE_QUEUE,
                    oracle_cases[i].maincf);
        dirs[i] = make_config_dir(strbuf_str(text));
        strbuf_addf(cmd, "MAIL_CONFIG=%s %s -V -S -l -t unix </dev/null 2>&1",
                    dirs[i], oracle_cases[i].program);
        ck_assert_ptr_nonnull(pipes[i] = popen(strbuf_str(cmd), "r"));
        strbuf_free(text);
        strbuf_free(cmd);
    }
    for (size_t i = 0; i < ORACLE_COUNT; i++) {
        STRBUF *out = strbuf_alloc(1000);
        char buf[1000];
        size_t got;
        const char *theirs;
        char *why = NULL;
        CF *cf;
        int errors;

        while ((got = fread(buf, 1, sizeof(buf), pipes[i])) > 0)
            strbuf_addmem(out, buf, got);
        pclose(pipes[i]);
        if ((theirs = strchr(fatal_text(strbuf_str(out)), '\n')) != NULL)
            strbuf_truncate(out, (size_t) (theirs - strbuf_str(out)));
        theirs = fatal_text(strbuf_str(out));
        cf = cf_open(dirs[i], &why);
        ck_assert_msg(cf != NULL, "%s", why);
        if (strcmp(oracle_cases[i].program, OQMGR) == 0)
            ck_assert_int_eq(cf_override(cf, "pqmgr_scheduler=oqmgr"), 0);
        errors = cf_validate(cf, NULL, NULL);
        if (strncmp(theirs, "chdir(", 6) == 0) {
            if (errors != 0)
                strbuf_addf(failures, "\n[%s] postfix accepts, we say: %s",
                            oracle_cases[i].maincf, cf_error(cf));
        } else if (errors == 0) {
            strbuf_addf(failures, "\n[%s] postfix says \"%s\", we accept",
                        oracle_cases[i].maincf, theirs);
        } else if (strncmp(cf_error(cf), theirs, strlen(theirs)) != 0) {
            strbuf_addf(failures, "\n[%s] postfix says \"%s\", we say \"%s\"",
                        oracle_cases[i].maincf, theirs, cf_error(cf));
        }
        cf_free(cf);
        remove_config_dir(dirs[i]);
        strbuf_free(out);
    }
    ck_assert_msg(strbuf_len(failures) == 0, "differences:%s",
                  strbuf_str(failures));
    strbuf_free(failures);
}
END_TEST

/* Every default in the table, as "postconf -d" prints it. */
START_TEST(test_defaults_match_postconf)
{
    char *out;
    STRBUF *failures;
    int compared = 0;

    if (!have_program(POSTCONF))
        return;
    failures = strbuf_alloc(100);
    out = command_output(POSTCONF " -d 2>/dev/null");
    for (size_t i = 0; i < cf_param_count; i++) {
        const CF_PARAM *p = cf_param_table + i;
        STRBUF *key;
        const char *line;
        const char *end;

        if (p->flags & (CF_PQMGR | CF_RUNTIME))
            continue;
        key = strbuf_alloc(100);
        /* "name = value" or "name =" (no row is on the first line). */
        strbuf_addf(key, "\n%s =", p->name);
        line = strstr(out, strbuf_str(key));
        while (line != NULL && line[strbuf_len(key)] != ' ' &&
               line[strbuf_len(key)] != '\n')
            line = strstr(line + 1, strbuf_str(key));
        if (line == NULL) {
            strbuf_addf(failures, "\n%s: unknown to postconf", p->name);
        } else if (p->defval != NULL) {
            line += strbuf_len(key);
            if (*line == ' ')
                line++;
            end = strchr(line, '\n');
            if (end == NULL)
                end = line + strlen(line);
            if (strlen(p->defval) != (size_t) (end - line) ||
                strncmp(p->defval, line, (size_t) (end - line)) != 0)
                strbuf_addf(failures, "\n%s: ours \"%s\", postconf \"%.*s\"",
                            p->name, p->defval, (int) (end - line), line);
            compared++;
        }
        strbuf_free(key);
    }
    ck_assert_int_gt(compared, 80);
    ck_assert_msg(strbuf_len(failures) == 0, "mismatches:%s",
                  strbuf_str(failures));
    strbuf_free(failures);
    xfree(out);
}
END_TEST

/* Debian's main.cf, read as postconf reads it. */
static void
compare_with_postconf(const char *dir)
{
    static const char *names[] = {
        "myhostname",
        "mydomain",
        "myorigin",
        "mydestination",
        "compatibility_level",
        "alias_maps",
        "alias_database",
        "smtpd_banner",
        "smtpd_tls_cert_file",
        "smtpd_tls_key_file",
        "smtpd_relay_restrictions",
        "relayhost",
        "mynetworks",
        "recipient_delimiter",
        "inet_interfaces",
        "inet_protocols",
        "readme_directory",
        "append_dot_mydomain",
        "biff",
        "mailbox_size_limit",
        "smtputf8_enable",
        "syslog_name",
        "queue_directory",
        "config_directory",
    };
    char *why = NULL;
    CF *cf = cf_open(dir, &why);
    STRBUF *failures = strbuf_alloc(100);

    ck_assert_msg(cf != NULL, "%s", why);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char *theirs = postconf_value(dir, "-x", names[i]);
        const char *ours = cf_get_str(cf, names[i]);
        char *theirs_squeezed = squeeze(theirs);
        char *ours_squeezed = squeeze(ours ? ours : "(error)");

        /* Names we don't know and that aren't set: postconf's default. */
        if (cf_param_find(names[i]) == NULL && !cf_is_set(cf, names[i])) {
            if (*ours != 0)
                strbuf_addf(failures, "\n%s: ours \"%s\" (unknown name)",
                            names[i], ours);
        } else if (strcmp(theirs_squeezed, ours_squeezed) != 0) {
            strbuf_addf(failures, "\n%s: ours \"%s\", postconf \"%s\"",
                        names[i], ours ? ours : cf_error(cf), theirs);
        }
        xfree(theirs);
        xfree(theirs_squeezed);
        xfree(ours_squeezed);
    }
    ck_assert_msg(strbuf_len(failures) == 0, "%s:%s", dir,
                  strbuf_str(failures));
    ck_assert_int_eq(cf_validate(cf, NULL, NULL), 0);
    strbuf_free(failures);
    cf_free(cf);
}

START_TEST(test_debian_main_cf_fixture)
{
    char *text = read_whole_file("tests/data/conf/debian-main.cf");
    char *dir = make_config_dir(text);
    char *why = NULL;
    CF *cf;

    if (have_program(POSTCONF))
        compare_with_postconf(dir);
    /* Values that don't depend on postconf. */
    cf = cf_open(dir, &why);
    ck_assert_msg(cf != NULL, "%s", why);
    assert_value(cf, "compatibility_level", "3.6");
    assert_value(cf, "alias_maps", "hash:/etc/aliases");
    assert_value(cf, "recipient_delimiter", "+");
    {
        int value;

        ck_assert_int_eq(cf_get_bool(cf, "smtputf8_enable", &value), 0);
        ck_assert_int_eq(value, 1);
    }
    cf_free(cf);
    remove_config_dir(dir);
    xfree(text);
}
END_TEST

START_TEST(test_live_main_cf)
{
    if (!have_program(POSTCONF) || access("/etc/postfix/main.cf", R_OK) != 0)
        return;
    compare_with_postconf("/etc/postfix");
}
END_TEST

/* docs/configuration.md lists every parameter with its default. */
START_TEST(test_docs_list_every_parameter)
{
    char *doc = read_whole_file("docs/configuration.md");
    STRBUF *row = strbuf_alloc(100);
    STRBUF *missing = strbuf_alloc(100);

    for (size_t i = 0; i < cf_param_count; i++) {
        const CF_PARAM *p = cf_param_table + i;
        const char *line;
        const char *end;

        strbuf_reset(row);
        strbuf_addf(row, "\n| `%s` | ", p->name);
        if ((line = strstr(doc, strbuf_str(row))) == NULL) {
            strbuf_addf(missing, "\n%s: not listed", p->name);
            continue;
        }
        line += strbuf_len(row);
        end = strchr(line, '\n');
        strbuf_reset(row);
        if (p->defval == NULL || *p->defval == 0)
            strbuf_addstr(row, "*(");
        else
            strbuf_addf(row, "`%s`", p->defval);
        if (strncmp(line, strbuf_str(row), strbuf_len(row)) != 0)
            strbuf_addf(missing, "\n%s: default is not %s: %.*s", p->name,
                        strbuf_str(row), (int) (end - line), line);
    }
    ck_assert_msg(strbuf_len(missing) == 0, "docs/configuration.md:%s",
                  strbuf_str(missing));
    strbuf_free(row);
    strbuf_free(missing);
    xfree(doc);
}
END_TEST

/* The raw parser on its own. */

static void
collect_entry(const char *name, const char *value, int lineno, void *context)
{
    strbuf_addf((STRBUF *) context, "%d:%s=%s|", lineno, name, value);
}

START_TEST(test_maincf_parse_raw)
{
    STRBUF *got = strbuf_alloc(100);
    STRBUF *why = strbuf_alloc(100);
    static const char text[] = "a=1\n b\n\0c=2\nd = 3\n";

    ck_assert_int_eq(
        maincf_parse("x", text, sizeof(text) - 1, collect_entry, got, why), 0);
    /* A NUL byte ends the text of its logical line. */
    ck_assert_str_eq(strbuf_str(got), "1:a=1 b|4:d=3|");
    strbuf_free(got);
    strbuf_free(why);
}
END_TEST

static Suite *
conf_suite(void)
{
    Suite *s = suite_create("conf");
    TCase *tc = tcase_create("syntax");
    TCase *te = tcase_create("expand");
    TCase *tv = tcase_create("values");
    TCase *tt = tcase_create("transport");
    TCase *tp = tcase_create("postfix");

    tcase_add_test(tc, test_syntax_logical_lines);
    tcase_add_test(tc, test_syntax_last_entry_wins);
    tcase_add_test(tc, test_syntax_leading_whitespace);
    tcase_add_test(tc, test_syntax_errors);
    tcase_add_test(tc, test_open_directory);
    tcase_add_test(tc, test_override_options);
    tcase_add_test(tc, test_changes_refresh_expansions);
    tcase_add_test(tc, test_maincf_parse_raw);
    suite_add_tcase(s, tc);

    tcase_add_test(te, test_expand_forms);
    tcase_add_test(te, test_expand_errors);
    tcase_add_test(te, test_expand_error_in_parameter);
    tcase_add_test(te, test_expand_depth_limit);
    tcase_add_test(te, test_expand_default_loops);
    tcase_add_test(te, test_expand_size_limits);
    tcase_add_test(te, test_expand_defaults);
    tcase_add_test(te, test_smtputf8_default_follows_compatibility_level);
    tcase_add_test(te, test_hostname_defaults);
    suite_add_tcase(s, te);

    tcase_add_test(tv, test_time_units);
    tcase_add_test(tv, test_time_errors);
    tcase_add_test(tv, test_int_values);
    tcase_add_test(tv, test_bool_values);
    tcase_add_test(tv, test_strings_and_lists);
    tcase_add_test_raise_signal(tv, test_wrong_type_panics, SIGABRT);
    tcase_add_test(tv, test_values_conversions);
    tcase_add_test(tv, test_feedback_syntax);
    tcase_add_test(tv, test_validate);
    suite_add_tcase(s, tv);

    tcase_add_test(tt, test_transport_fallbacks);
    tcase_add_test(tt, test_transport_feedback);
    tcase_add_test_raise_signal(tt, test_transport_unknown_suffix_panics,
                                SIGABRT);
    suite_add_tcase(s, tt);

    tcase_set_timeout(tp, 120);
    tcase_add_test(tp, test_defaults_match_postconf);
    tcase_add_test(tp, test_expand_matches_postconf);
    tcase_add_test(tp, test_debian_main_cf_fixture);
    tcase_add_test(tp, test_live_main_cf);
    tcase_add_test(tp, test_validate_matches_postfix);
    tcase_add_test(tp, test_feedback_no_sqrt_in_postfix);
    tcase_add_test(tp, test_docs_list_every_parameter);
    suite_add_tcase(s, tp);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(conf_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
