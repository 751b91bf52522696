/*
 * test_queue_id - queue ids: validity, making, decoding, hash directories.
 *
 * The examples are the ones verified against Postfix 3.7.11 in the spec
 * (97C44A74B27, 4jXP8N4vSQz1bcqF, deferred/A/8/...), plus the ids Postfix
 * gave the fixture files in tests/data/queuefiles (INDEX), whose time parts
 * must agree with the arrival times recorded inside those files.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "queue_id.h"
#include "qfile.h"
#include "record.h"

START_TEST(test_validity)
{
    char big[QUEUE_ID_MAX_LEN + 2];

    ck_assert(queue_id_ok("97C44A74B27"));
    ck_assert(queue_id_ok("4jXP8N4vSQz1bcqF"));
    ck_assert(queue_id_ok("example_com")); /* flush log names */
    ck_assert(!queue_id_ok(""));
    ck_assert(!queue_id_ok("123456.7890")); /* temporary names */
    ck_assert(!queue_id_ok("ABC-DEF"));
    ck_assert(!queue_id_ok("ABC/DEF"));
    ck_assert(!queue_id_ok("ABC DEF"));
    ck_assert(!queue_id_ok("caf\xc3\xa9"));
    memset(big, 'A', QUEUE_ID_MAX_LEN);
    big[QUEUE_ID_MAX_LEN] = 0;
    ck_assert(queue_id_ok(big));
    big[QUEUE_ID_MAX_LEN] = 'A';
    big[QUEUE_ID_MAX_LEN + 1] = 0;
    ck_assert(!queue_id_ok(big));
}
END_TEST

START_TEST(test_short_example)
{
    char buf[QUEUE_ID_BUFSIZE];
    QUEUE_ID_INFO info;

    ck_assert_ptr_nonnull(queue_id_short(buf, sizeof(buf), 621636, 0xA74B27));
    ck_assert_str_eq(buf, "97C44A74B27");
    ck_assert_int_eq(queue_id_decode("97C44A74B27", &info), 0);
    ck_assert_int_eq(info.long_form, 0);
    ck_assert_int_eq(info.sec, -1);
    ck_assert_int_eq(info.usec, 621636);
    ck_assert_uint_eq(info.inode, 0xA74B27);
    ck_assert(!queue_id_is_long("97C44A74B27"));
    /* Five digits even for small microsecond values. */
    ck_assert_str_eq(queue_id_short(buf, sizeof(buf), 5, 0x1F), "000051F");
    ck_assert_ptr_null(queue_id_short(buf, 6, 621636, 0xA74B27));
}
END_TEST

START_TEST(test_long_example)
{
    char buf[QUEUE_ID_BUFSIZE];
    QUEUE_ID_INFO info;

    ck_assert_ptr_nonnull(
        queue_id_long(buf, sizeof(buf), 1795340164, 690790, 10962820));
    ck_assert_str_eq(buf, "4jXP8N4vSQz1bcqF");
    ck_assert(queue_id_is_long(buf));
    ck_assert_int_eq(queue_id_decode("4jXP8N4vSQz1bcqF", &info), 0);
    ck_assert_int_eq(info.long_form, 1);
    ck_assert_int_eq(info.sec, 1795340164);
    ck_assert_int_eq(info.usec, 690790);
    ck_assert_uint_eq(info.inode, 10962820);
    /* Padding: small values still give 6 + 4 time digits. */
    ck_assert_str_eq(queue_id_long(buf, sizeof(buf), 1, 2, 3), "0000010002z3");
    ck_assert_int_eq(queue_id_decode("0000010002z3", &info), 0);
    ck_assert_int_eq(info.sec, 1);
    ck_assert_int_eq(info.usec, 2);
    ck_assert_uint_eq(info.inode, 3);
    ck_assert_ptr_null(queue_id_long(buf, 12, 1795340164, 690790, 10962820));
}
END_TEST

START_TEST(test_round_trip)
{
    char buf[QUEUE_ID_BUFSIZE];
    QUEUE_ID_INFO info;
    static const long secs[] = {0, 1, 51, 52, 1795340164, 2147483647};
    static const long usecs[] = {0, 1, 51, 52, 690790, 999999};
    static const unsigned long inodes[] = {0,  1,        50,
                                           51, 10962820, 0xFFFFFFFFUL};

    for (int i = 0; i < 6; i++) {
        for (int j = 0; j < 6; j++) {
            queue_id_long(buf, sizeof(buf), secs[i], usecs[j], inodes[j]);
            ck_assert_msg(queue_id_decode(buf, &info) == 0, "decode %s", buf);
            ck_assert_int_eq(info.sec, secs[i]);
            ck_assert_int_eq(info.usec, usecs[j]);
            ck_assert_uint_eq(info.inode, inodes[j]);
            ck_assert_ptr_null(strchr(strrchr(buf, 'z') + 1, 'z'));
            queue_id_short(buf, sizeof(buf), usecs[j], inodes[i]);
            ck_assert_int_eq(queue_id_decode(buf, &info), 0);
            ck_assert_int_eq(info.usec, usecs[j]);
            ck_assert_uint_eq(info.inode, inodes[i]);
        }
    }
}
END_TEST

START_TEST(test_decode_rejects)
{
    QUEUE_ID_INFO info;

    ck_assert_int_eq(queue_id_decode("", &info), -1);
    ck_assert_int_eq(queue_id_decode("97C44", &info), -1);       /* no inode */
    ck_assert_int_eq(queue_id_decode("97c44A74B27", &info), -1); /* case */
    ck_assert_int_eq(queue_id_decode("97C44A74G27", &info), -1); /* not hex */
    ck_assert_int_eq(queue_id_decode("F4240A", &info), -1); /* usec 1000000 */
    ck_assert_int_eq(queue_id_decode("F423FA", &info), 0);  /* usec 999999 */
    ck_assert_int_eq(queue_id_decode("4jXP8N4vSQz1bcqA", &info),
                     -1); /* vowel */
    ck_assert_int_eq(queue_id_decode("4jXP8N4vSQz1b_qF", &info), -1);
    ck_assert_int_eq(queue_id_decode("4jXP8NzzzzzQ", &info), -1); /* usec */
    ck_assert_int_eq(queue_id_decode("4jXP8N4vSQ-1bcqF", &info), -1);
    /* A 'z' with fewer than 10 characters before it is not a separator. */
    ck_assert(!queue_id_is_long("4jXP8N4vSz1bcqF"));
    ck_assert_int_eq(queue_id_decode("4jXP8N4vSz1bcqF", &info), -1);
    /* The last 'z' separates, the inode part is base 51. */
    ck_assert(queue_id_is_long("4jXP8N4vSQzzbcqF"));
}
END_TEST

START_TEST(test_hash)
{
    char buf[64];
    char path[256];
    char id[QUEUE_ID_BUFSIZE];

    ck_assert_str_eq(queue_id_hash(buf, sizeof(buf), "97C44A74B27", 1), "9/");
    ck_assert_str_eq(queue_id_hash(buf, sizeof(buf), "97C44A74B27", 2), "9/7/");
    ck_assert_str_eq(queue_id_hash(buf, sizeof(buf), "97C44A74B27", 0), "");
    ck_assert_str_eq(queue_id_hash(buf, sizeof(buf), "4jXP8N4vSQz1bcqF", 2),
                     "A/8/");
    ck_assert_str_eq(
        queue_id_path(path, sizeof(path), "deferred", "4jXP8N4vSQz1bcqF", 2),
        "deferred/A/8/4jXP8N4vSQz1bcqF");
    ck_assert_str_eq(
        queue_id_path(path, sizeof(path), "deferred", "97C44A74B27", 1),
        "deferred/9/97C44A74B27");
    ck_assert_str_eq(
        queue_id_path(path, sizeof(path), "active", "97C44A74B27", 0),
        "active/97C44A74B27");
    /* Long ids hash beyond the 5 hex digits with '_'. */
    ck_assert_str_eq(queue_id_hash(buf, sizeof(buf), "4jXP8N4vSQz1bcqF", 7),
                     "A/8/A/6/6/_/_/");
    /* Short ids use their own characters, then '_'. */
    ck_assert_str_eq(queue_id_hash(buf, sizeof(buf), "97C44A", 8),
                     "9/7/C/4/4/A/_/_/");
    /* Same microseconds, same hash directory, in both forms. */
    queue_id_short(id, sizeof(id), 690790, 10962820);
    for (int depth = 1; depth <= 5; depth++) {
        char a[32], b[32];

        ck_assert_str_eq(
            queue_id_hash(a, sizeof(a), id, depth),
            queue_id_hash(b, sizeof(b), "4jXP8N4vSQz1bcqF", depth));
    }
    ck_assert_ptr_null(queue_id_hash(buf, 4, "97C44A74B27", 2));
    ck_assert_ptr_null(queue_id_path(path, 10, "deferred", "97C44A74B27", 1));
}
END_TEST

/* fixture_arrival - the arrival seconds recorded in a fixture file */

static long
fixture_arrival(const char *name)
{
    char path[512];
    QFILE_MSG *msg;
    REC_STREAM *rs;
    long sec;
    int fd;

    snprintf(path, sizeof(path), "tests/data/queuefiles/%s", name);
    ck_assert_int_ge(fd = open(path, O_RDONLY), 0);
    rs = rec_stream_fd(fd, path);
    msg = qfile_msg_alloc(name);
    ck_assert_int_eq(qfile_read(msg, rs, 0), QFILE_OK);
    sec = msg->arrival_sec;
    qfile_msg_free(msg);
    rec_stream_free(rs);
    close(fd);
    return sec;
}

START_TEST(test_fixture_ids)
{
    FILE *fp = fopen("tests/data/queuefiles/INDEX", "r");
    char line[1024], name[256], id[256];
    QUEUE_ID_INFO info;
    int longs = 0, shorts = 0;
    long arrival;

    ck_assert_ptr_nonnull(fp);
    while (fgets(line, sizeof(line), fp)) {
        ck_assert_int_eq(sscanf(line, "%255s %255s", name, id), 2);
        ck_assert_msg(queue_id_ok(id), "%s: bad id %s", name, id);
        ck_assert_msg(queue_id_decode(id, &info) == 0, "%s: %s", name, id);
        if (info.long_form) {
            /* The id's time is when cleanup created the file. */
            arrival = fixture_arrival(name);
            ck_assert_msg(info.sec >= arrival - 5 && info.sec <= arrival + 5,
                          "%s: id time %ld, arrival %ld", name, info.sec,
                          arrival);
            longs++;
        } else {
            shorts++;
        }
    }
    fclose(fp);
    ck_assert_int_ge(longs, 1);
    ck_assert_int_ge(shorts, 1);
}
END_TEST

/* A real file: the inode part of a made id is the file's inode. */
START_TEST(test_inode_of_real_file)
{
    char path[] = "/tmp/pq-test-qid.XXXXXX";
    char buf[QUEUE_ID_BUFSIZE];
    QUEUE_ID_INFO info;
    struct stat st;
    int fd = mkstemp(path);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fstat(fd, &st), 0);
    queue_id_long(buf, sizeof(buf), 1795340164, 690790, st.st_ino);
    ck_assert_int_eq(queue_id_decode(buf, &info), 0);
    ck_assert_uint_eq(info.inode, st.st_ino);
    queue_id_short(buf, sizeof(buf), 690790, st.st_ino);
    ck_assert_int_eq(queue_id_decode(buf, &info), 0);
    ck_assert_uint_eq(info.inode, st.st_ino);
    close(fd);
    unlink(path);
}
END_TEST

static Suite *
queue_id_suite(void)
{
    Suite *s = suite_create("queue_id");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_validity);
    tcase_add_test(tc, test_short_example);
    tcase_add_test(tc, test_long_example);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_decode_rejects);
    tcase_add_test(tc, test_hash);
    tcase_add_test(tc, test_fixture_ids);
    tcase_add_test(tc, test_inode_of_real_file);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(queue_id_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
