/*
 * test_verp_sender - the VERP envelope sender of one delivery request.
 *
 * The expected values are what Postfix 3.7's qmgr put in its delivery
 * requests in the parity scenario "verp" (tests/parity/scen_preempt.py):
 * owner-l1+u1=a.test@c.test for "-XV" and owner-l2-u1=b.test@c.test for
 * "-XV-=", the original recipient when there is one; and the edge cases of
 * an address without a domain on either side.
 */
#include <check.h>
#include <stdlib.h>

#include "verp_sender.h"

static void
expect(const char *delims, const char *sender, const char *rcpt,
       const char *want)
{
    char *got = verp_sender(delims, sender, rcpt);

    ck_assert_str_eq(got, want);
    free(got);
}

START_TEST(test_default_delimiters)
{
    expect("+=", "owner-l1@c.test", "u1@a.test", "owner-l1+u1=a.test@c.test");
}
END_TEST

START_TEST(test_other_delimiters)
{
    expect("-=", "owner-l2@c.test", "u1@b.test", "owner-l2-u1=b.test@c.test");
}
END_TEST

START_TEST(test_last_at_sign_splits)
{
    expect("+=", "\"a@b\"@c.test", "\"x@y\"@d.test",
           "\"a@b\"+\"x@y\"=d.test@c.test");
}
END_TEST

START_TEST(test_no_domains)
{
    expect("+=", "owner", "u1@a.test", "owner+u1=a.test");
    expect("+=", "owner@c.test", "postmaster", "owner+postmaster@c.test");
    expect("+=", "owner", "postmaster", "owner+postmaster");
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("verp_sender");
    TCase *tc = tcase_create("verp_sender");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_default_delimiters);
    tcase_add_test(tc, test_other_delimiters);
    tcase_add_test(tc, test_last_at_sign_splits);
    tcase_add_test(tc, test_no_domains);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
