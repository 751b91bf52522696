/*
 * test_record - the queue-file record layer: length encoding, reading from
 * memory and from a file descriptor, EOF and truncation, the length-byte
 * limit, pointer and padding records, writing, type-byte updates.
 *
 * Real files come from tests/data/queuefiles (made by tests/make-queue-files
 * with the installed Postfix); the content of the Milter fixture, which
 * contains pointer and padding records, must read exactly as postcat(1)
 * printed it when the fixture was made.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qfile.h"
#include "record.h"
#include "strbuf.h"
#include "xalloc.h"

#define FIXTURES "tests/data/queuefiles/"

/* load_file - a whole file into a STRBUF */

static STRBUF *
load_file(const char *path)
{
    STRBUF *sb = strbuf_alloc(4096);
    char buf[8192];
    ssize_t got;
    int fd = open(path, O_RDONLY);

    ck_assert_msg(fd >= 0, "open %s", path);
    while ((got = read(fd, buf, sizeof(buf))) > 0)
        strbuf_addmem(sb, buf, (size_t) got);
    close(fd);
    return sb;
}

/* temp_file - write bytes to a new temporary file, return its fd */

static int
temp_file(const void *data, size_t len, char *path, size_t pathlen)
{
    int fd;

    snprintf(path, pathlen, "/tmp/pq-test-record.XXXXXX");
    ck_assert_int_ge(fd = mkstemp(path), 0);
    ck_assert_int_eq(write(fd, data, len), (ssize_t) len);
    return fd;
}

START_TEST(test_length_encoding)
{
    static const struct {
        size_t len;
        const char *bytes;
        size_t nbytes;
    } cases[] = {
        {0, "\x00", 1},
        {15, "\x0f", 1},
        {95, "\x5f", 1},
        {127, "\x7f", 1},
        {128, "\x80\x01", 2},
        {300, "\xac\x02", 2},
        {2048, "\x80\x10", 2},
        {16384, "\x80\x80\x01", 3},
        {(1 << 28) - 1, "\xff\xff\xff\x7f", 4},
    };
    unsigned char hdr[REC_HDR_MAX];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_uint_eq(rec_header(hdr, 'N', cases[i].len),
                          1 + cases[i].nbytes);
        ck_assert_int_eq(hdr[0], 'N');
        ck_assert_msg(memcmp(hdr + 1, cases[i].bytes, cases[i].nbytes) == 0,
                      "length %zu", cases[i].len);
        ck_assert_uint_eq(rec_size(cases[i].len),
                          1 + cases[i].nbytes + cases[i].len);
    }
}
END_TEST

/* A stream of records of many sizes reads back the same from memory and fd. */
START_TEST(test_round_trip_mem_and_fd)
{
    static const size_t sizes[] = {0,    1,    127,  128,   300,   8190,
                                   8191, 8192, 8193, 20000, 100000};
    size_t nsizes = sizeof(sizes) / sizeof(sizes[0]);
    STRBUF *file = strbuf_alloc(1000);
    STRBUF *buf = strbuf_alloc(10);
    off_t offsets[16];
    char path[64];
    int fd;

    for (size_t i = 0; i < nsizes; i++) {
        char *payload = xmalloc(sizes[i] + 1);

        for (size_t j = 0; j < sizes[i]; j++)
            payload[j] = (char) ('a' + (i + j) % 26);
        offsets[i] = (off_t) strbuf_len(file);
        rec_put(file, 'A' + (int) i, payload, sizes[i]);
        xfree(payload);
    }
    rec_putf(file, 'E', "%s", "");
    fd = temp_file(strbuf_str(file), strbuf_len(file), path, sizeof(path));
    for (int pass = 0; pass < 2; pass++) {
        REC_STREAM *rs =
            pass ? rec_stream_fd(fd, path)
                 : rec_stream_mem(strbuf_str(file), strbuf_len(file), "mem");

        for (size_t i = 0; i < nsizes; i++) {
            ck_assert_int_eq(rec_get_raw(rs, buf, 0, REC_FLAG_NONE),
                             'A' + (int) i);
            ck_assert_int_eq(rec_offset(rs), offsets[i]);
            ck_assert_uint_eq(strbuf_len(buf), sizes[i]);
            for (size_t j = 0; j < sizes[i]; j++)
                ck_assert_int_eq(strbuf_str(buf)[j],
                                 (char) ('a' + (i + j) % 26));
            ck_assert_int_eq(strbuf_str(buf)[sizes[i]], 0);
        }
        ck_assert_int_eq(rec_get_raw(rs, buf, 0, REC_FLAG_NONE), 'E');
        ck_assert_int_eq(rec_get_raw(rs, buf, 0, REC_FLAG_NONE), REC_TYPE_EOF);
        ck_assert_str_eq(rec_error(rs), "");
        /* Seek back into the middle, across the buffer boundary. */
        ck_assert_int_eq(rec_seek(rs, offsets[7]), 0);
        ck_assert_int_eq(rec_get_raw(rs, buf, 0, REC_FLAG_NONE), 'A' + 7);
        ck_assert_int_eq(rec_tell(rs), offsets[8]);
        ck_assert_int_eq(rec_seek(rs, -1), -1);
        rec_stream_free(rs);
    }
    close(fd);
    unlink(path);
    strbuf_free(file);
    strbuf_free(buf);
}
END_TEST

/* read_one - the first record of bytes, from memory and from a file */

static int
read_one(const char *bytes, size_t len, size_t maxsize, char *err,
         size_t errlen)
{
    STRBUF *buf = strbuf_alloc(10);
    REC_STREAM *rs = rec_stream_mem(bytes, len, "active/ABC");
    char path[64];
    int type, fd_type;
    int fd = temp_file(bytes, len, path, sizeof(path));
    REC_STREAM *frs = rec_stream_fd(fd, "active/ABC");

    type = rec_get_raw(rs, buf, maxsize, REC_FLAG_NONE);
    snprintf(err, errlen, "%s", rec_error(rs));
    fd_type = rec_get_raw(frs, buf, maxsize, REC_FLAG_NONE);
    ck_assert_int_eq(fd_type, type);
    ck_assert_str_eq(rec_error(frs), err);
    rec_stream_free(rs);
    rec_stream_free(frs);
    close(fd);
    unlink(path);
    strbuf_free(buf);
    return type;
}

START_TEST(test_eof_and_truncation)
{
    char err[256];

    ck_assert_int_eq(read_one("", 0, 0, err, sizeof(err)), REC_TYPE_EOF);
    ck_assert_str_eq(err, "");
    ck_assert_int_eq(read_one("N", 1, 0, err, sizeof(err)), REC_TYPE_ERROR);
    ck_assert_str_eq(
        err, "active/ABC: unexpected EOF reading length, record type 78");
    ck_assert_int_eq(read_one("N\x85", 2, 0, err, sizeof(err)), REC_TYPE_ERROR);
    ck_assert_str_eq(
        err, "active/ABC: unexpected EOF reading length, record type 78");
    ck_assert_int_eq(read_one("N\x14short", 7, 0, err, sizeof(err)),
                     REC_TYPE_ERROR);
    ck_assert_str_eq(
        err, "active/ABC: unexpected EOF in data, record type 78 length 20");
    ck_assert_int_eq(read_one("N\x05short", 7, 0, err, sizeof(err)), 'N');
    ck_assert_int_eq(read_one("N\x05short", 7, 4, err, sizeof(err)),
                     REC_TYPE_ERROR);
    ck_assert_str_eq(err, "active/ABC: illegal length 5, record type 78");
    /* A type byte 0 is a record like any other at this level. */
    ck_assert_int_eq(read_one("\x00\x00", 2, 0, err, sizeof(err)), 0);
}
END_TEST

START_TEST(test_length_byte_limit)
{
    char err[256];
    STRBUF *big = strbuf_alloc(1 << 20);

    /* Four length bytes are accepted (a length that the data lacks). */
    ck_assert_int_eq(read_one("N\xff\xff\xff\x7f", 5, 0, err, sizeof(err)),
                     REC_TYPE_ERROR);
    ck_assert_str_eq(
        err,
        "active/ABC: unexpected EOF in data, record type 78 length 268435455");
    /* A fifth one is not (Postfix 3.7.22 and later). */
    ck_assert_int_eq(
        read_one("N\xff\xff\xff\xff\x01xyz", 9, 0, err, sizeof(err)),
        REC_TYPE_ERROR);
    ck_assert_str_eq(err, "active/ABC: too many length bits, record type 78");
    ck_assert_int_eq(read_one("N\x80\x80\x80\x80\x00", 6, 0, err, sizeof(err)),
                     REC_TYPE_ERROR);
    ck_assert_str_eq(err, "active/ABC: too many length bits, record type 78");
    /* A real four-byte record. */
    {
        size_t len = (1 << 21) + 5;
        char *payload = xcalloc(1, len);
        STRBUF *buf = strbuf_alloc(10);
        REC_STREAM *rs;

        rec_put(big, 'N', payload, len);
        ck_assert_uint_eq(strbuf_len(big), 1 + 4 + len);
        rs = rec_stream_mem(strbuf_str(big), strbuf_len(big), "big");
        ck_assert_int_eq(rec_get_raw(rs, buf, 0, REC_FLAG_NONE), 'N');
        ck_assert_uint_eq(strbuf_len(buf), len);
        rec_stream_free(rs);
        strbuf_free(buf);
        xfree(payload);
    }
    strbuf_free(big);
}
END_TEST

START_TEST(test_pointer_records)
{
    STRBUF *file = strbuf_alloc(100);
    STRBUF *buf = strbuf_alloc(10);
    REC_STREAM *rs;
    size_t ptr_at, back_at, heap_at;

    /* S, p -> heap, [R], X; heap: R, p -> back.  Then E. */
    rec_put(file, 'S', "a@b", 3);
    ptr_at = strbuf_len(file);
    rec_putf(file, 'p', "%15ld", 0L); /* patched below */
    back_at = strbuf_len(file);
    rec_put(file, 'X', "", 0);
    rec_put(file, 'E', "", 0);
    heap_at = strbuf_len(file);
    rec_put(file, 'R', "heap@b", 6);
    rec_putf(file, 'p', "%15ld", (long) back_at);
    {
        char ptr[32];

        snprintf(ptr, sizeof(ptr), "%15ld", (long) heap_at);
        memcpy(strbuf_str(file) + ptr_at + 2, ptr, 15);
    }
    rs = rec_stream_mem(strbuf_str(file), strbuf_len(file), "p");
    ck_assert_int_eq(rec_get(rs, buf), 'S');
    ck_assert_int_eq(rec_get(rs, buf), 'R');
    ck_assert_str_eq(strbuf_str(buf), "heap@b");
    ck_assert_int_eq(rec_offset(rs), (off_t) heap_at);
    ck_assert_int_eq(rec_get(rs, buf), 'X');
    ck_assert_int_eq(rec_offset(rs), (off_t) back_at);
    ck_assert_int_eq(rec_get(rs, buf), 'E');
    /* Heap records are not read sequentially after 'E'. */
    ck_assert_int_eq(rec_get(rs, buf), REC_TYPE_EOF);
    ck_assert_int_eq(rec_seek(rs, (off_t) heap_at), 0);
    ck_assert_int_eq(rec_get(rs, buf), 'R');
    /* Raw reading shows the pointers. */
    rec_seek(rs, 0);
    ck_assert_int_eq(rec_get_raw(rs, buf, 0, REC_FLAG_NONE), 'S');
    ck_assert_int_eq(rec_get_raw(rs, buf, 0, REC_FLAG_NONE), 'p');
    ck_assert_int_eq(rec_offset(rs), (off_t) ptr_at);
    rec_stream_free(rs);
    strbuf_free(file);
    strbuf_free(buf);
}
END_TEST

START_TEST(test_rec_goto)
{
    REC_STREAM *rs = rec_stream_mem("", 0, "active/ABC");
    int i;

    ck_assert_int_eq(rec_goto(rs, "              0"), 0);
    ck_assert_int_eq(rec_tell(rs), 0);
    ck_assert_int_eq(rec_goto(rs, "0"), 0);
    ck_assert_int_eq(rec_goto(rs, ""), 0); /* no digits: a dummy too */
    ck_assert_int_eq(rec_goto(rs, "            123"), 0);
    ck_assert_int_eq(rec_tell(rs), 123);
    ck_assert_int_eq(rec_goto(rs, "  12x"), REC_TYPE_ERROR);
    ck_assert_str_eq(rec_error(rs),
                     "active/ABC: malformed pointer record value: 12x");
    ck_assert_int_eq(rec_goto(rs, "-5"), REC_TYPE_ERROR);
    ck_assert_int_eq(rec_goto(rs, "123 "), REC_TYPE_ERROR);
    ck_assert_int_eq(rec_goto(rs, "99999999999999999999999"), REC_TYPE_ERROR);
    /* Jumps to the same place: 10000 are tolerated, the next one is not. */
    for (i = 0; i < REC_REVERSE_JUMP_LIMIT; i++)
        ck_assert_int_eq(rec_goto(rs, "100"), 0);
    ck_assert_int_eq(rec_goto(rs, "100"), REC_TYPE_ERROR);
    ck_assert_str_eq(rec_error(rs),
                     "active/ABC: too many reverse jump records");
    rec_stream_free(rs);
}
END_TEST

START_TEST(test_pointer_loop_in_stream)
{
    STRBUF *file = strbuf_alloc(100);
    STRBUF *buf = strbuf_alloc(10);
    REC_STREAM *rs;

    rec_put(file, 'S', "a@b", 3);
    rec_putf(file, 'p', "%15ld", 5L); /* points at itself */
    rs = rec_stream_mem(strbuf_str(file), strbuf_len(file), "loop");
    ck_assert_int_eq(rec_get(rs, buf), 'S');
    ck_assert_int_eq(rec_get(rs, buf), REC_TYPE_ERROR);
    ck_assert_str_eq(rec_error(rs), "loop: too many reverse jump records");
    rec_stream_free(rs);
    strbuf_free(file);
    strbuf_free(buf);
}
END_TEST

START_TEST(test_padding_records)
{
    STRBUF *file = strbuf_alloc(100);
    STRBUF *buf = strbuf_alloc(10);
    REC_STREAM *rs;

    rec_put(file, 'N', "Subject: m", 10);
    rec_put(file, 'w', "  0", 3);
    rec_put(file, 'N', "", 0);
    rs = rec_stream_mem(strbuf_str(file), strbuf_len(file), "w");
    ck_assert_int_eq(rec_get(rs, buf), 'N');
    ck_assert_int_eq(rec_get(rs, buf), 'N');
    ck_assert_int_eq(rec_offset(rs), 17);
    rec_seek(rs, 0);
    ck_assert_int_eq(rec_get_raw(rs, buf, 0, REC_FLAG_FOLLOW_PTR), 'N');
    ck_assert_int_eq(rec_get_raw(rs, buf, 0, REC_FLAG_FOLLOW_PTR), 'w');
    rec_stream_free(rs);
    strbuf_free(file);
    strbuf_free(buf);
}
END_TEST

/*
 * The content of the Milter fixture (pointer and padding records inside)
 * reads as postcat printed it: same lines, same record types.
 */
START_TEST(test_milter_fixture_content)
{
    STRBUF *file = load_file(FIXTURES "sendmail-milter");
    STRBUF *buf = strbuf_alloc(100);
    FILE *fp = fopen(FIXTURES "sendmail-milter.postcat", "r");
    char line[8192];
    long offset;
    int type, n, in_content = 0, lines = 0;
    REC_STREAM *rs;
    QFILE_MSG *msg = qfile_msg_alloc("sendmail-milter");

    ck_assert_ptr_nonnull(fp);
    rs = rec_stream_mem(strbuf_str(file), strbuf_len(file), "milter");
    ck_assert_int_eq(qfile_read(msg, rs, 0), QFILE_OK);
    rec_seek(rs, msg->data_offset);
    while (fgets(line, sizeof(line), fp)) {
        line[strcspn(line, "\n")] = 0;
        if (sscanf(line, "%ld %d %n", &offset, &type, &n) < 2)
            continue;
        if (strstr(line, "*** MESSAGE CONTENTS") != NULL) {
            in_content = 1;
            continue;
        }
        if (strstr(line, "*** HEADER EXTRACTED") != NULL)
            break;
        if (!in_content)
            continue;
        /* postcat prints "%9ld %3d " then the text. */
        ck_assert_int_eq(rec_get(rs, buf), type);
        ck_assert_str_eq(strbuf_str(buf), line + 14);
        lines++;
    }
    ck_assert_int_eq(lines, 9);
    ck_assert_int_eq(rec_get(rs, buf), 'X');
    ck_assert_int_eq(rec_offset(rs), msg->data_offset + msg->data_size);
    fclose(fp);
    qfile_msg_free(msg);
    rec_stream_free(rs);
    strbuf_free(buf);
    strbuf_free(file);
}
END_TEST

/* Every fixture reads the same through a file descriptor and from memory. */
START_TEST(test_fixtures_fd_equals_mem)
{
    FILE *index = fopen(FIXTURES "INDEX", "r");
    char line[1024], name[256], path[512];
    STRBUF *a = strbuf_alloc(100), *b = strbuf_alloc(100);
    int files = 0;

    ck_assert_ptr_nonnull(index);
    while (fgets(line, sizeof(line), index)) {
        STRBUF *file;
        REC_STREAM *mrs, *frs;
        int fd, ta, tb;

        ck_assert_int_eq(sscanf(line, "%255s", name), 1);
        snprintf(path, sizeof(path), FIXTURES "%s", name);
        file = load_file(path);
        ck_assert_int_ge(fd = open(path, O_RDONLY), 0);
        mrs = rec_stream_mem(strbuf_str(file), strbuf_len(file), path);
        frs = rec_stream_fd(fd, path);
        do {
            ta = rec_get_raw(mrs, a, 0, REC_FLAG_NONE);
            tb = rec_get_raw(frs, b, 0, REC_FLAG_NONE);
            ck_assert_int_eq(ta, tb);
            ck_assert_int_eq(rec_offset(mrs), rec_offset(frs));
            ck_assert_uint_eq(strbuf_len(a), strbuf_len(b));
            ck_assert(memcmp(strbuf_str(a), strbuf_str(b), strbuf_len(a)) == 0);
        } while (ta > 0);
        /* The raw record walk covers the whole file, heap included. */
        ck_assert_int_eq(ta, REC_TYPE_EOF);
        ck_assert_int_eq(rec_offset(mrs), (off_t) strbuf_len(file));
        rec_stream_free(mrs);
        rec_stream_free(frs);
        close(fd);
        strbuf_free(file);
        files++;
    }
    fclose(index);
    ck_assert_int_ge(files, 10);
    strbuf_free(a);
    strbuf_free(b);
}
END_TEST

START_TEST(test_read_error_is_not_eof)
{
    int fd = open("/dev/null", O_WRONLY);
    REC_STREAM *rs = rec_stream_fd(fd, "active/ABC");
    STRBUF *buf = strbuf_alloc(10);

    ck_assert_int_eq(rec_get_raw(rs, buf, 0, REC_FLAG_NONE), REC_TYPE_ERROR);
    ck_assert(rec_io_failed(rs));
    ck_assert_ptr_nonnull(strstr(rec_error(rs), "active/ABC: read error: "));
    rec_stream_free(rs);
    strbuf_free(buf);
    close(fd);
}
END_TEST

START_TEST(test_put_type)
{
    STRBUF *file = strbuf_alloc(100);
    STRBUF *buf = strbuf_alloc(10);
    char path[64];
    int fd;
    REC_STREAM *rs;

    rec_put(file, 'R', "a@b", 3);
    rec_put(file, 'R', "c@d", 3);
    fd = temp_file(strbuf_str(file), strbuf_len(file), path, sizeof(path));
    ck_assert_int_eq(rec_put_type(fd, 5, 'D'), 0);
    ck_assert_int_eq(rec_put_type(fd, -1, 'D'), -1);
    ck_assert_int_eq(rec_put_type(fd, 0, 256), -1);
    rs = rec_stream_fd(fd, path);
    ck_assert_int_eq(rec_get(rs, buf), 'R');
    ck_assert_int_eq(rec_get(rs, buf), 'D');
    ck_assert_str_eq(strbuf_str(buf), "c@d");
    rec_stream_free(rs);
    close(fd);
    ck_assert_int_eq(rec_put_type(fd, 0, 'D'), -1); /* closed */
    unlink(path);
    strbuf_free(file);
    strbuf_free(buf);
}
END_TEST

static Suite *
record_suite(void)
{
    Suite *s = suite_create("record");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_length_encoding);
    tcase_add_test(tc, test_round_trip_mem_and_fd);
    tcase_add_test(tc, test_eof_and_truncation);
    tcase_add_test(tc, test_length_byte_limit);
    tcase_add_test(tc, test_pointer_records);
    tcase_add_test(tc, test_rec_goto);
    tcase_add_test(tc, test_pointer_loop_in_stream);
    tcase_add_test(tc, test_padding_records);
    tcase_add_test(tc, test_milter_fixture_content);
    tcase_add_test(tc, test_fixtures_fd_equals_mem);
    tcase_add_test(tc, test_read_error_is_not_eof);
    tcase_add_test(tc, test_put_type);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(record_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
