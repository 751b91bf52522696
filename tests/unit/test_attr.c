/*
 * test_attr - the attribute codec against Postfix's own bytes.
 *
 * Suites:
 *   print	the encoders, on the byte examples of spec/postfix-ipc.md 1.x
 *   scan	receiver semantics (strict/lenient, order, MORE, EOF, limits,
 *		hashes, nested runs) in all three encodings, and incremental
 *		input (every prefix of a list is "need more")
 *   announce	the protocol announcement check
 *   spec	requests and replies quoted byte for byte in the spec
 *		(3.8, 3.9, 4.5, 5.4): encoded and compared, or decoded
 *   captured	every list in tests/data/attr (captured from the real
 *		daemons by tests/capture-attr-vectors): decoded and checked
 *		against its description, re-encoded and compared
 *   sockbuf	buffered non-blocking I/O over a socket pair
 *   live	a resolve request to a real trivial-rewrite(8) in a sandbox
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attr.h"
#include "attr_impl.h"
#include "sockbuf.h"
#include "strbuf.h"

#define BYTES(lit) (lit), sizeof(lit) - 1

static const ATTR_ENCODING all_encodings[] = {ATTR_ENC_0, ATTR_ENC_64,
                                              ATTR_ENC_PLAIN};

/* hexdump - a printable rendering of bytes, for failure messages */

static const char *
hexdump(const char *data, size_t len)
{
    static char buf[8192];
    size_t n = 0;

    for (size_t i = 0; i < len && n + 8 < sizeof(buf); i++) {
        unsigned char ch = (unsigned char) data[i];

        if (ch >= 0x20 && ch < 0x7f && ch != '\\')
            buf[n++] = (char) ch;
        else
            n += (size_t) snprintf(buf + n, sizeof(buf) - n, "\\x%02x", ch);
    }
    buf[n] = 0;
    return buf;
}

static void
assert_bytes(const STRBUF *got, const char *want, size_t len)
{
    ck_assert_msg(strbuf_len(got) == len && memcmp(got->data, want, len) == 0,
                  "bytes differ:\n got  %zu: %s", strbuf_len(got),
                  hexdump(got->data, strbuf_len(got)));
}

static STRBUF *
print_list(ATTR_ENCODING enc, int flags, const ATTR_LIST *list)
{
    STRBUF *out = strbuf_alloc(100);

    ck_assert_int_eq(attr_print(out, enc, flags, list), 0);
    return out;
}

static void
assert_print(ATTR_ENCODING enc, int flags, const ATTR_LIST *list,
             const char *want, size_t len)
{
    STRBUF *out = print_list(enc, flags, list);

    assert_bytes(out, want, len);
    strbuf_free(out);
}

/* scan - attr_scan over a whole buffer, asserting the status */

static void
scan(ATTR_ENCODING enc, const char *buf, size_t len, int flags,
     const ATTR_SPEC *want, ATTR_SCAN_RESULT *res, int status)
{
    attr_scan(enc, buf, len, flags, want, NULL, res);
    ck_assert_msg(res->status == status, "status %d (want %d): %s on %s",
                  res->status, status, res->why, hexdump(buf, len));
}

static void
assert_why(const ATTR_SCAN_RESULT *res, const char *text)
{
    ck_assert_msg(strstr(res->why, text) != NULL, "why '%s' lacks '%s'",
                  res->why, text);
}

/* ---------------------------------------------------------------- print */

START_TEST(test_print0_spec_example)
{
    ATTR_LIST *list = attr_list_create();

    attr_list_add_int(list, "status", 0);
    attr_list_add_str(list, "reason", "");
    assert_print(ATTR_ENC_0, 0, list,
                 BYTES("status\0"
                       "0\0reason\0\0\0"));
    attr_list_free(list);
}
END_TEST

START_TEST(test_print_announcements)
{
    STRBUF *out = strbuf_alloc(10);

    attr_announce(out, ATTR_ENC_0, ATTR_PROTO_REWRITE);
    ck_assert_uint_eq(strbuf_len(out), 35);
    assert_bytes(out, BYTES("protocol\0trivial_rewrite_protocol\0\0"));
    strbuf_reset(out);
    attr_announce(out, ATTR_ENC_0, ATTR_PROTO_DELIVERY);
    ck_assert_uint_eq(strbuf_len(out), 36);
    strbuf_reset(out);
    attr_announce(out, ATTR_ENC_64, ATTR_PROTO_DELIVERY);
    assert_bytes(out, BYTES("cHJvdG9jb2w=:ZGVsaXZlcnlfcmVxdWVzdF9wcm90b2Nv"
                            "bA==\n\n"));
    strbuf_reset(out);
    attr_announce(out, ATTR_ENC_PLAIN, ATTR_PROTO_ANVIL);
    assert_bytes(out, BYTES("protocol=anvil_protocol\n\n"));
    strbuf_free(out);
}
END_TEST

START_TEST(test_print64_and_plain)
{
    ATTR_LIST *list = attr_list_create();

    attr_list_add_int(list, "status", 0);
    assert_print(ATTR_ENC_64, 0, list, BYTES("c3RhdHVz:MA==\n\n"));
    assert_print(ATTR_ENC_PLAIN, 0, list, BYTES("status=0\n\n"));
    attr_list_add_str(list, "reason", "");
    assert_print(ATTR_ENC_64, 0, list, BYTES("c3RhdHVz:MA==\ncmVhc29u:\n\n"));
    assert_print(ATTR_ENC_PLAIN, 0, list, BYTES("status=0\nreason=\n\n"));
    attr_list_free(list);
}
END_TEST

START_TEST(test_print_unsigned_numbers)
{
    ATTR_LIST *list = attr_list_create();

    attr_list_add_int(list, "status", (unsigned) -1);
    attr_list_add_long(list, "offset", 18446744073709551615UL);
    assert_print(ATTR_ENC_0, 0, list,
                 BYTES("status\0"
                       "4294967295\0offset\0"
                       "18446744073709551615\0\0"));
    assert_print(ATTR_ENC_PLAIN, 0, list,
                 BYTES("status=4294967295\noffset=18446744073709551615\n\n"));
    attr_list_free(list);
}
END_TEST

START_TEST(test_print_more_and_empty)
{
    ATTR_LIST *list = attr_list_create();

    assert_print(ATTR_ENC_0, 0, list, BYTES("\0"));
    assert_print(ATTR_ENC_64, 0, list, BYTES("\n"));
    assert_print(ATTR_ENC_PLAIN, 0, list, BYTES("\n"));
    assert_print(ATTR_ENC_0, ATTR_FLAG_MORE, list, BYTES(""));
    attr_list_add_int(list, "nrequest", 1);
    assert_print(ATTR_ENC_0, ATTR_FLAG_MORE, list,
                 BYTES("nrequest\0"
                       "1\0"));
    attr_list_free(list);
}
END_TEST

START_TEST(test_print_data)
{
    ATTR_LIST *list = attr_list_create();

    attr_list_add_data(list, "time", "\x83\xc0\x02\x00", 4);
    assert_print(ATTR_ENC_0, 0, list, BYTES("time\0g8ACAA==\0\0"));
    assert_print(ATTR_ENC_PLAIN, 0, list, BYTES("time=g8ACAA==\n\n"));
    /* attr64: the value is base64 of the raw bytes, once. */
    assert_print(ATTR_ENC_64, 0, list, BYTES("dGltZQ==:g8ACAA==\n\n"));
    attr_list_free(list);
}
END_TEST

START_TEST(test_print_hash_and_run)
{
    ATTR_LIST *list = attr_list_create();
    ATTR_LIST *hash;
    ATTR_LIST *run;

    attr_list_add_int(list, "a", 1);
    hash = attr_list_add_hash(list);
    attr_list_add_str(hash, "k", "v");
    run = attr_list_add_run(list);
    attr_list_add_str(run, "status", "5.1.1");
    attr_list_add_str(run, "reason", "x");
    attr_list_add_int(list, "status", 0);
    assert_print(ATTR_ENC_0, 0, list,
                 BYTES("a\0"
                       "1\0{\0k\0v\0}\0status\0"
                       "5.1.1\0reason\0x\0status\0"
                       "0\0\0"));
    assert_print(ATTR_ENC_PLAIN, 0, list,
                 BYTES("a=1\n{\nk=v\n}\nstatus=5.1.1\nreason=x\nstatus=0\n\n"));
    assert_print(ATTR_ENC_64, 0, list,
                 BYTES("YQ==:MQ==\new==\naw==:dg==\nfQ==\nc3RhdHVz:NS4xLjE=\n"
                       "cmVhc29u:eA==\nc3RhdHVz:MA==\n\n"));
    attr_list_free(list);
}
END_TEST

START_TEST(test_print_refuses_unrepresentable)
{
    ATTR_LIST *list = attr_list_create();
    ATTR_LIST *hash;
    STRBUF *out = strbuf_alloc(10);

    strbuf_addstr(out, "keep");
    attr_list_add_str(list, "reason", "two\nlines");
    ck_assert_int_eq(attr_print(out, ATTR_ENC_PLAIN, 0, list), -1);
    ck_assert_str_eq(strbuf_str(out), "keep");
    ck_assert_int_eq(attr_print(out, ATTR_ENC_0, 0, list), 0);
    attr_list_reset(list);
    attr_list_add_str(list, "a=b", "x");
    ck_assert_int_eq(attr_print(out, ATTR_ENC_PLAIN, 0, list), -1);
    attr_list_reset(list);
    hash = attr_list_add_hash(list);
    attr_list_add_hash(hash);
    ck_assert_int_eq(attr_print(out, ATTR_ENC_0, 0, list), -1);
    attr_list_free(list);
    strbuf_free(out);
}
END_TEST

/* ---------------------------------------------------------------- scan */

/*
 * A small list in each encoding: "status=0", "reason=ok", "offset=42",
 * "time=<bytes \x01\x02\x03>".
 */
static const char *
sample(ATTR_ENCODING enc, size_t *len)
{
    static const char s0[] = "status\0"
                             "0\0reason\0ok\0offset\0"
                             "42\0time\0AQID\0\0";
    static const char s64[] = "c3RhdHVz:MA==\ncmVhc29u:b2s=\nb2Zmc2V0:NDI=\n"
                              "dGltZQ==:AQID\n\n";
    static const char splain[] =
        "status=0\nreason=ok\noffset=42\ntime=AQID\n\n";

    switch (enc) {
        case ATTR_ENC_0:
            *len = sizeof(s0) - 1;
            return s0;
        case ATTR_ENC_64:
            *len = sizeof(s64) - 1;
            return s64;
        default:
            *len = sizeof(splain) - 1;
            return splain;
    }
}

START_TEST(test_scan_strict_exact)
{
    for (size_t e = 0; e < 3; e++) {
        unsigned status = 9;
        unsigned long offset = 0;
        STRBUF *reason = strbuf_alloc(10);
        STRBUF *time = strbuf_alloc(10);
        ATTR_SPEC want[] = {
            ATTR_WANT_INT("status", &status),
            ATTR_WANT_STR("reason", reason),
            ATTR_WANT_LONG("offset", &offset),
            ATTR_WANT_DATA("time", time),
            ATTR_WANT_END,
        };
        ATTR_SCAN_RESULT res;
        size_t len;
        const char *buf = sample(all_encodings[e], &len);

        scan(all_encodings[e], buf, len, ATTR_FLAG_STRICT, want, &res,
             ATTR_SCAN_DONE);
        ck_assert_int_eq(res.count, 4);
        ck_assert_uint_eq(res.used, len);
        ck_assert_uint_eq(status, 0);
        ck_assert_str_eq(strbuf_str(reason), "ok");
        ck_assert_uint_eq(offset, 42);
        ck_assert_uint_eq(strbuf_len(time), 3);
        ck_assert(memcmp(strbuf_str(time), "\1\2\3", 3) == 0);
        strbuf_free(reason);
        strbuf_free(time);
    }
}
END_TEST

START_TEST(test_scan_extra_attributes)
{
    for (size_t e = 0; e < 3; e++) {
        unsigned long offset = 0;
        ATTR_SPEC want[] = {ATTR_WANT_LONG("offset", &offset), ATTR_WANT_END};
        ATTR_SCAN_RESULT res;
        size_t len;
        const char *buf = sample(all_encodings[e], &len);

        /* Lenient: status, reason before and time after are skipped. */
        scan(all_encodings[e], buf, len, ATTR_FLAG_MISSING, want, &res,
             ATTR_SCAN_DONE);
        ck_assert_int_eq(res.count, 1);
        ck_assert_uint_eq(res.used, len);
        ck_assert_uint_eq(offset, 42);
        /* Strict: the first surplus name is an error. */
        scan(all_encodings[e], buf, len, ATTR_FLAG_STRICT, want, &res,
             ATTR_SCAN_ERROR);
        assert_why(&res, "unexpected attribute status (expecting: offset)");
    }
}
END_TEST

START_TEST(test_scan_surplus_after_last)
{
    ATTR_SPEC want[] = {ATTR_WANT_INT("status", NULL), ATTR_WANT_END};
    ATTR_SCAN_RESULT res;
    size_t len;
    const char *buf = sample(ATTR_ENC_0, &len);

    scan(ATTR_ENC_0, buf, len, ATTR_FLAG_MISSING, want, &res, ATTR_SCAN_DONE);
    ck_assert_uint_eq(res.used, len);
    scan(ATTR_ENC_0, buf, len, ATTR_FLAG_STRICT, want, &res, ATTR_SCAN_ERROR);
    assert_why(&res, "unexpected attribute reason (expecting: list "
                     "terminator)");
}
END_TEST

START_TEST(test_scan_missing_attribute)
{
    ATTR_SPEC want[] = {
        ATTR_WANT_INT("status", NULL),
        ATTR_WANT_STR("nothere", NULL),
        ATTR_WANT_END,
    };
    ATTR_SCAN_RESULT res;
    size_t len;
    const char *buf = sample(ATTR_ENC_PLAIN, &len);

    /* Postfix without MISSING: a short count, the list consumed. */
    scan(ATTR_ENC_PLAIN, buf, len, ATTR_FLAG_NONE, want, &res, ATTR_SCAN_DONE);
    ck_assert_int_eq(res.count, 1);
    ck_assert_uint_eq(res.used, len);
    scan(ATTR_ENC_PLAIN, buf, len, ATTR_FLAG_MISSING, want, &res,
         ATTR_SCAN_ERROR);
    assert_why(&res, "missing attribute nothere");
}
END_TEST

START_TEST(test_scan_order_matters)
{
    /* Scanning only moves forwards: a wanted name seen early is lost. */
    static const char in[] = "b\0"
                             "2\0a\0"
                             "1\0\0";
    unsigned a = 0;
    unsigned b = 0;
    ATTR_SPEC want[] = {
        ATTR_WANT_INT("a", &a),
        ATTR_WANT_INT("b", &b),
        ATTR_WANT_END,
    };
    ATTR_SCAN_RESULT res;

    scan(ATTR_ENC_0, BYTES(in), ATTR_FLAG_NONE, want, &res, ATTR_SCAN_DONE);
    ck_assert_int_eq(res.count, 1);
    ck_assert_uint_eq(a, 1);
    ck_assert_uint_eq(b, 0);
    scan(ATTR_ENC_0, BYTES(in), ATTR_FLAG_STRICT, want, &res, ATTR_SCAN_ERROR);
}
END_TEST

START_TEST(test_scan_duplicate_names_by_position)
{
    /* spec 4.5: the resolve reply (from the broken-map run). */
    static const char in[] = "flags\0"
                             "0\0transport\0local\0nexthop\0host.example.test\0"
                             "recipient\0user@host.example.test\0flags\0"
                             "264\0\0";
    unsigned server_flags = 9;
    unsigned flags = 0;
    ATTR_SPEC want[] = {
        ATTR_WANT_INT("flags", &server_flags), ATTR_WANT_STR("transport", NULL),
        ATTR_WANT_STR("nexthop", NULL),        ATTR_WANT_STR("recipient", NULL),
        ATTR_WANT_INT("flags", &flags),        ATTR_WANT_END,
    };
    ATTR_SCAN_RESULT res;

    scan(ATTR_ENC_0, BYTES(in), ATTR_FLAG_STRICT, want, &res, ATTR_SCAN_DONE);
    ck_assert_int_eq(res.count, 5);
    ck_assert_uint_eq(res.used, 94);
    ck_assert_uint_eq(server_flags, 0);
    ck_assert_uint_eq(flags, 264);
}
END_TEST

START_TEST(test_scan_more)
{
    static const char in[] = "request\0resolve\0sender\0\0address\0u\0\0"
                             "next";
    STRBUF *request = strbuf_alloc(10);
    STRBUF *address = strbuf_alloc(10);
    ATTR_SPEC first[] = {ATTR_WANT_STR("request", request), ATTR_WANT_END};
    ATTR_SPEC rest[] = {
        ATTR_WANT_STR("sender", NULL),
        ATTR_WANT_STR("address", address),
        ATTR_WANT_END,
    };
    ATTR_SCAN_RESULT res;
    size_t used;

    scan(ATTR_ENC_0, BYTES(in), ATTR_FLAG_STRICT | ATTR_FLAG_MORE, first, &res,
         ATTR_SCAN_DONE);
    ck_assert_int_eq(res.count, 1);
    ck_assert_uint_eq(res.used, 16);
    ck_assert_str_eq(strbuf_str(request), "resolve");
    used = res.used;
    scan(ATTR_ENC_0, in + used, sizeof(in) - 1 - used, ATTR_FLAG_STRICT, rest,
         &res, ATTR_SCAN_DONE);
    ck_assert_int_eq(res.count, 2);
    ck_assert_str_eq(strbuf_str(address), "u");
    ck_assert_str_eq(in + used + res.used, "next");
    strbuf_free(request);
    strbuf_free(address);
}
END_TEST

START_TEST(test_scan_eof)
{
    ATTR_SPEC want[] = {ATTR_WANT_INT("status", NULL), ATTR_WANT_END};
    ATTR_SCAN_RESULT res;

    scan(ATTR_ENC_0, "", 0, ATTR_FLAG_STRICT | ATTR_FLAG_EOF, want, &res,
         ATTR_SCAN_EOF);
    scan(ATTR_ENC_0, "", 0, ATTR_FLAG_STRICT, want, &res, ATTR_SCAN_AGAIN);
    scan(ATTR_ENC_0, BYTES("status\0"), ATTR_FLAG_STRICT, want, &res,
         ATTR_SCAN_AGAIN);
    scan(ATTR_ENC_0, BYTES("status\0"), ATTR_FLAG_STRICT | ATTR_FLAG_EOF, want,
         &res, ATTR_SCAN_ERROR);
    assert_why(&res, "premature end of input");
    scan(ATTR_ENC_0,
         BYTES("status\0"
               "0\0"),
         ATTR_FLAG_STRICT | ATTR_FLAG_EOF, want, &res, ATTR_SCAN_ERROR);
}
END_TEST

/* Every proper prefix of a complete list needs more; the whole is DONE. */

static void
assert_incremental(ATTR_ENCODING enc, const char *buf, size_t len,
                   const ATTR_SPEC *want, int count)
{
    ATTR_SCAN_RESULT res;

    for (size_t n = 0; n < len; n++)
        scan(enc, buf, n, ATTR_FLAG_STRICT, want, &res, ATTR_SCAN_AGAIN);
    scan(enc, buf, len, ATTR_FLAG_STRICT, want, &res, ATTR_SCAN_DONE);
    ck_assert_int_eq(res.count, count);
    ck_assert_uint_eq(res.used, len);
}

START_TEST(test_scan_incremental)
{
    ATTR_SPEC want[] = {
        ATTR_WANT_INT("status", NULL),
        ATTR_WANT_STR("reason", NULL),
        ATTR_WANT_LONG("offset", NULL),
        ATTR_WANT_DATA("time", NULL),
        ATTR_WANT_END,
    };

    for (size_t e = 0; e < 3; e++) {
        size_t len;
        const char *buf = sample(all_encodings[e], &len);

        assert_incremental(all_encodings[e], buf, len, want, 4);
    }
}
END_TEST

START_TEST(test_scan_numbers)
{
    static const struct {
        const char *text;
        int is_long;
        int ok;
        unsigned long value;
    } cases[] = {
        {"0", 0, 1, 0},
        {"4294967295", 0, 1, 4294967295UL},
        {"4294967296", 0, 0, 0},
        {"4294967296", 1, 1, 4294967296UL},
        {"18446744073709551615", 1, 1, 18446744073709551615UL},
        {"18446744073709551616", 1, 0, 0},
        {"00042", 0, 1, 42},
        {"", 0, 0, 0},
        {"-1", 0, 0, 0},
        {"+1", 0, 0, 0},
        {" 1", 0, 0, 0},
        {"1 ", 0, 0, 0},
        {"1x", 1, 0, 0},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned num = 0;
        unsigned long lnum = 0;
        ATTR_SPEC want_int[] = {ATTR_WANT_INT("n", &num), ATTR_WANT_END};
        ATTR_SPEC want_long[] = {ATTR_WANT_LONG("n", &lnum), ATTR_WANT_END};
        STRBUF *in = strbuf_alloc(40);
        ATTR_SCAN_RESULT res;

        strbuf_addf(in, "n=%s\n\n", cases[i].text);
        scan(ATTR_ENC_PLAIN, in->data, in->len, ATTR_FLAG_STRICT,
             cases[i].is_long ? want_long : want_int, &res,
             cases[i].ok ? ATTR_SCAN_DONE : ATTR_SCAN_ERROR);
        if (cases[i].ok)
            ck_assert_uint_eq(cases[i].is_long ? lnum : num, cases[i].value);
        else
            assert_why(&res, "malformed numerical data for n");
        strbuf_free(in);
    }
}
END_TEST

START_TEST(test_scan_base64)
{
    static const struct {
        const char *text;
        const char *bytes; /* NULL: malformed */
    } cases[] = {
        {"", ""},        {"QQ==", "A"},        {"QUI=", "AB"},
        {"QUJD", "ABC"}, {"QUJDRA==", "ABCD"}, {"QQ=", NULL},
        {"QQ", NULL},    {"Q===", NULL},       {"QQ==QUJD", NULL},
        {"QQ=A", NULL},  {"QU*D", NULL},       {"QUJD\n", NULL},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        STRBUF *data = strbuf_alloc(10);
        ATTR_SPEC want[] = {ATTR_WANT_DATA("d", data), ATTR_WANT_END};
        STRBUF *in = strbuf_alloc(40);
        ATTR_SCAN_RESULT res;

        strbuf_addf(in, "d%c%s%c%c", 0, cases[i].text, 0, 0);
        scan(ATTR_ENC_0, in->data, in->len, ATTR_FLAG_STRICT, want, &res,
             cases[i].bytes ? ATTR_SCAN_DONE : ATTR_SCAN_ERROR);
        if (cases[i].bytes)
            ck_assert_str_eq(strbuf_str(data), cases[i].bytes);
        else
            assert_why(&res, "malformed base64 data for d");
        strbuf_free(data);
        strbuf_free(in);
    }
}
END_TEST

START_TEST(test_scan_streq)
{
    ATTR_SPEC want[] = {ATTR_WANT_STREQ("protocol", "x_protocol"),
                        ATTR_WANT_END};
    ATTR_SCAN_RESULT res;

    scan(ATTR_ENC_0, BYTES("protocol\0x_protocol\0\0"), ATTR_FLAG_STRICT, want,
         &res, ATTR_SCAN_DONE);
    ck_assert_int_eq(res.count, 0);
    scan(ATTR_ENC_0, BYTES("protocol\0y_protocol\0\0"), ATTR_FLAG_STRICT, want,
         &res, ATTR_SCAN_ERROR);
    assert_why(&res, "unexpected protocol y_protocol (expected: x_protocol)");
    scan(ATTR_ENC_0, BYTES("protocol\0x_protocolx\0\0"), ATTR_FLAG_STRICT, want,
         &res, ATTR_SCAN_ERROR);
}
END_TEST

START_TEST(test_scan_string_limit)
{
    ATTR_LIMITS lim = {8, 1000, 10};
    STRBUF *value = strbuf_alloc(10);
    ATTR_SPEC want[] = {ATTR_WANT_STR("name", value), ATTR_WANT_END};
    ATTR_SCAN_RESULT res;

    attr_scan0(BYTES("name\0"
                     "12345678\0\0"),
               ATTR_FLAG_STRICT, want, &lim, &res);
    ck_assert_int_eq(res.status, ATTR_SCAN_DONE);
    ck_assert_str_eq(strbuf_str(value), "12345678");
    /* Too long, even before the value is complete. */
    attr_scan0(BYTES("name\0"
                     "123456789"),
               ATTR_FLAG_STRICT, want, &lim, &res);
    ck_assert_int_eq(res.status, ATTR_SCAN_ERROR);
    assert_why(&res, "string longer than 8 bytes");
    attr_scan(ATTR_ENC_PLAIN, BYTES("longername=1\n\n"), ATTR_FLAG_NONE, want,
              &lim, &res);
    ck_assert_int_eq(res.status, ATTR_SCAN_ERROR);
    /* A skipped value is bounded as well. */
    attr_scan(ATTR_ENC_64, BYTES("eA==:MTIzNDU2Nzg5MA==\n"), ATTR_FLAG_NONE,
              want, &lim, &res);
    ck_assert_int_eq(res.status, ATTR_SCAN_ERROR);
    strbuf_free(value);
}
END_TEST

START_TEST(test_scan_list_limit)
{
    ATTR_LIMITS lim = {100, 20, 10};
    ATTR_SPEC want[] = {ATTR_WANT_STR("z", NULL), ATTR_WANT_END};
    ATTR_SCAN_RESULT res;

    /* 20 bytes of skipped attributes and still no end: refuse. */
    attr_scan0(BYTES("a\0"
                     "1\0b\0"
                     "2\0c\0"
                     "3\0d\0"
                     "4\0e\0"
                     "5\0"),
               ATTR_FLAG_NONE, want, &lim, &res);
    ck_assert_int_eq(res.status, ATTR_SCAN_ERROR);
    assert_why(&res, "attribute list longer than 20 bytes");
    /* 19 bytes: may still complete. */
    attr_scan0(BYTES("a\0"
                     "1\0b\0"
                     "2\0c\0"
                     "3\0d\0"
                     "4\0e\0"
                     "5"),
               ATTR_FLAG_NONE, want, &lim, &res);
    ck_assert_int_eq(res.status, ATTR_SCAN_AGAIN);
    /* A complete list within the limit, followed by more bytes. */
    attr_scan0(BYTES("z\0"
                     "1\0\0more bytes after it"),
               ATTR_FLAG_NONE, want, &lim, &res);
    ck_assert_int_eq(res.status, ATTR_SCAN_DONE);
    ck_assert_uint_eq(res.used, 5);
}
END_TEST

START_TEST(test_scan_hash_grouped)
{
    static const struct {
        ATTR_ENCODING enc;
        const char *in;
        size_t len;
    } cases[] = {
        {ATTR_ENC_0, BYTES("a\0"
                           "1\0{\0k\0v\0j\0w\0}\0z\0"
                           "2\0\0")},
        {ATTR_ENC_PLAIN, BYTES("a=1\n{\nk=v\nj=w\n}\nz=2\n\n")},
        /* 3.7's plain printer writes the markers with a NUL. */
        {ATTR_ENC_PLAIN, BYTES("a=1\n{\0\nk=v\nj=w\n}\0\nz=2\n\n")},
        {ATTR_ENC_64, BYTES("YQ==:MQ==\new==\naw==:dg==\nag==:dw==\nfQ==\n"
                            "eg==:Mg==\n\n")},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ATTR_LIST *table = attr_list_create();
        unsigned z = 0;
        ATTR_SPEC want[] = {
            ATTR_WANT_INT("a", NULL),
            ATTR_WANT_HASH(table),
            ATTR_WANT_INT("z", &z),
            ATTR_WANT_END,
        };
        ATTR_SCAN_RESULT res;

        attr_list_add_str(table, "stale", "entry");
        scan(cases[i].enc, cases[i].in, cases[i].len, ATTR_FLAG_STRICT, want,
             &res, ATTR_SCAN_DONE);
        ck_assert_int_eq(res.count, 4);
        ck_assert_uint_eq(table->count, 2);
        ck_assert_str_eq(attr_list_find(table, "k")->str, "v");
        ck_assert_str_eq(attr_list_find(table, "j")->str, "w");
        ck_assert_uint_eq(z, 2);
        assert_incremental(cases[i].enc, cases[i].in, cases[i].len, want, 4);
        attr_list_free(table);
    }
}
END_TEST

START_TEST(test_scan_hash_ungrouped)
{
    static const char in[] = "a\0"
                             "1\0k\0v\0k\0again\0j\0w\0\0";
    ATTR_LIST *table = attr_list_create();
    ATTR_SPEC want[] = {
        ATTR_WANT_INT("a", NULL),
        ATTR_WANT_HASH(table),
        ATTR_WANT_INT("never", NULL),
        ATTR_WANT_END,
    };
    ATTR_SCAN_RESULT res;

    /* Every remaining pair goes into the table; the first k wins. */
    scan(ATTR_ENC_0, BYTES(in), ATTR_FLAG_MISSING, want, &res, ATTR_SCAN_DONE);
    ck_assert_int_eq(res.count, 3);
    ck_assert_uint_eq(res.used, sizeof(in) - 1);
    ck_assert_str_eq(attr_list_find(table, "k")->str, "v");
    scan(ATTR_ENC_0, BYTES(in), ATTR_FLAG_STRICT, want, &res, ATTR_SCAN_ERROR);
    assert_why(&res, "duplicate attribute k");
    attr_list_free(table);
}
END_TEST

START_TEST(test_scan_hash_limit)
{
    ATTR_LIMITS lim = {100, 1000, 2};
    ATTR_LIST *table = attr_list_create();
    ATTR_SPEC want[] = {ATTR_WANT_HASH(table), ATTR_WANT_END};
    ATTR_SCAN_RESULT res;

    attr_scan(ATTR_ENC_PLAIN, BYTES("a=1\nb=2\n\n"), 0, want, &lim, &res);
    ck_assert_int_eq(res.status, ATTR_SCAN_DONE);
    attr_scan(ATTR_ENC_PLAIN, BYTES("a=1\nb=2\nc=3\n\n"), 0, want, &lim, &res);
    ck_assert_int_eq(res.status, ATTR_SCAN_ERROR);
    assert_why(&res, "more than 2 attributes in a hash");
    attr_list_free(table);
}
END_TEST

START_TEST(test_scan_run_counts_one)
{
    /* spec 3.9: the agent reply is a DSN run (7 strings) plus status. */
    static const char in[] = "status\0\0diag_type\0\0diag_text\0\0mta_type\0\0"
                             "mta_mname\0\0action\0\0reason\0\0status\0"
                             "0\0\0";
    STRBUF *reason = strbuf_alloc(10);
    unsigned status = 9;
    const ATTR_SPEC dsn[] = {
        ATTR_WANT_STR("status", NULL),    ATTR_WANT_STR("diag_type", NULL),
        ATTR_WANT_STR("diag_text", NULL), ATTR_WANT_STR("mta_type", NULL),
        ATTR_WANT_STR("mta_mname", NULL), ATTR_WANT_STR("action", NULL),
        ATTR_WANT_STR("reason", reason),  ATTR_WANT_END,
    };
    ATTR_SPEC want[] = {
        ATTR_WANT_RUN(dsn),
        ATTR_WANT_INT("status", &status),
        ATTR_WANT_END,
    };
    ATTR_SCAN_RESULT res;

    ck_assert_uint_eq(sizeof(in) - 1, 77);
    scan(ATTR_ENC_0, BYTES(in), ATTR_FLAG_STRICT, want, &res, ATTR_SCAN_DONE);
    ck_assert_int_eq(res.count, 2);
    ck_assert_uint_eq(status, 0);
    /* A run cut short by the terminator ends the scan. */
    scan(ATTR_ENC_0, BYTES("status\0\0\0"), ATTR_FLAG_NONE, want, &res,
         ATTR_SCAN_DONE);
    ck_assert_int_eq(res.count, 0);
    scan(ATTR_ENC_0, BYTES("status\0\0\0"), ATTR_FLAG_STRICT, want, &res,
         ATTR_SCAN_ERROR);
    assert_why(&res, "missing attribute diag_type");
    strbuf_free(reason);
}
END_TEST

START_TEST(test_scan64_values)
{
    ATTR_SPEC want[] = {ATTR_WANT_STR("a", NULL), ATTR_WANT_END};
    ATTR_SPEC want_data[] = {ATTR_WANT_DATA("a", NULL), ATTR_WANT_END};
    ATTR_SCAN_RESULT res;

    /* "a" without a value. */
    scan(ATTR_ENC_64, BYTES("YQ==\n\n"), 0, want, &res, ATTR_SCAN_ERROR);
    assert_why(&res, "missing value for attribute a");
    scan(ATTR_ENC_64, BYTES("YQ==:eA==:eQ==\n\n"), 0, want, &res,
         ATTR_SCAN_ERROR);
    assert_why(&res, "multiple values");
    scan(ATTR_ENC_64, BYTES("YQ=:eA==\n\n"), 0, want, &res, ATTR_SCAN_ERROR);
    /* A value that decodes to "x\0y": not a string, but data. */
    scan(ATTR_ENC_64, BYTES("YQ==:eAB5\n\n"), 0, want, &res, ATTR_SCAN_ERROR);
    assert_why(&res, "NUL byte");
    scan(ATTR_ENC_64, BYTES("YQ==:eAB5\n\n"), 0, want_data, &res,
         ATTR_SCAN_DONE);
    /* A skipped attribute is skipped to the end of its line. */
    scan(ATTR_ENC_64, BYTES("Yg==:eA==:eQ==\nYQ==:eA==\n\n"), 0, want, &res,
         ATTR_SCAN_DONE);
    ck_assert_int_eq(res.count, 1);
}
END_TEST

START_TEST(test_scan_plain_values)
{
    STRBUF *v = strbuf_alloc(10);
    ATTR_SPEC want[] = {ATTR_WANT_STR("a", v), ATTR_WANT_END};
    ATTR_SCAN_RESULT res;

    scan(ATTR_ENC_PLAIN, BYTES("a=b=c\n\n"), ATTR_FLAG_STRICT, want, &res,
         ATTR_SCAN_DONE);
    ck_assert_str_eq(strbuf_str(v), "b=c");
    scan(ATTR_ENC_PLAIN, BYTES("a\n\n"), ATTR_FLAG_STRICT, want, &res,
         ATTR_SCAN_ERROR);
    assert_why(&res, "missing value for attribute a");
    strbuf_free(v);
}
END_TEST

/* Print each kind of value in each encoding and scan it back. */

START_TEST(test_roundtrip)
{
    for (size_t e = 0; e < 3; e++) {
        ATTR_LIST *list = attr_list_create();
        ATTR_LIST *hash;
        ATTR_LIST *got = attr_list_create();
        unsigned i = 0;
        unsigned long l = 0;
        STRBUF *s = strbuf_alloc(10);
        STRBUF *d = strbuf_alloc(10);
        static const char bytes[] = {0, 1, 2, '\n', 0, (char) 0xff, ':', '='};
        ATTR_SPEC want[] = {
            ATTR_WANT_INT("i", &i), ATTR_WANT_LONG("l", &l),
            ATTR_WANT_STR("s", s),  ATTR_WANT_DATA("d", d),
            ATTR_WANT_HASH(got),    ATTR_WANT_STREQ("end", "yes"),
            ATTR_WANT_END,
        };
        ATTR_SCAN_RESULT res;
        STRBUF *out;

        attr_list_add_int(list, "i", 4000000000U);
        attr_list_add_long(list, "l", 1234567890123UL);
        attr_list_add_str(list, "s", "a string: with = signs");
        attr_list_add_data(list, "d", bytes, sizeof(bytes));
        hash = attr_list_add_hash(list);
        attr_list_add_str(hash, "key", "value");
        attr_list_add_str(hash, "empty", "");
        attr_list_add_str(list, "end", "yes");
        out = print_list(all_encodings[e], 0, list);
        scan(all_encodings[e], out->data, out->len, ATTR_FLAG_STRICT, want,
             &res, ATTR_SCAN_DONE);
        ck_assert_int_eq(res.count, 6);
        ck_assert_uint_eq(res.used, out->len);
        ck_assert_uint_eq(i, 4000000000U);
        ck_assert_uint_eq(l, 1234567890123UL);
        ck_assert_str_eq(strbuf_str(s), "a string: with = signs");
        ck_assert_uint_eq(strbuf_len(d), sizeof(bytes));
        ck_assert(memcmp(strbuf_str(d), bytes, sizeof(bytes)) == 0);
        ck_assert_str_eq(attr_list_find(got, "key")->str, "value");
        ck_assert_str_eq(attr_list_find(got, "empty")->str, "");
        strbuf_free(out);
        strbuf_free(s);
        strbuf_free(d);
        attr_list_free(got);
        attr_list_free(list);
    }
}
END_TEST

/* ---------------------------------------------------------------- announce */

START_TEST(test_announcement_check)
{
    static const struct {
        const char *in;
        size_t len;
        int flags;
        int status;
        const char *why;
    } cases[] = {
        {BYTES("protocol\0address_verification_prrotocol\0\0"), 0,
         ATTR_SCAN_DONE, ""},
        {BYTES("protocol\0address_verification_protocol\0\0"), 0,
         ATTR_SCAN_ERROR, "unexpected protocol address_verification_protocol"},
        {BYTES("status\0"
               "0\0\0"),
         0, ATTR_SCAN_ERROR, "unexpected attribute status"},
        {BYTES("\0"), 0, ATTR_SCAN_ERROR, "missing attribute protocol"},
        {BYTES(""), ATTR_FLAG_EOF, ATTR_SCAN_ERROR, "end of input"},
        {BYTES("protocol\0address_verification_prr"), 0, ATTR_SCAN_AGAIN, ""},
        {BYTES("protocol\0address_verification_prrotocol\0x\0y\0\0"), 0,
         ATTR_SCAN_ERROR, "unexpected attribute x"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ATTR_SCAN_RESULT res;

        attr_scan_announcement(ATTR_ENC_0, cases[i].in, cases[i].len,
                               cases[i].flags, ATTR_PROTO_VERIFY, &res);
        ck_assert_msg(res.status == cases[i].status, "case %zu: %d %s", i,
                      res.status, res.why);
        assert_why(&res, cases[i].why);
    }
}
END_TEST

/* ---------------------------------------------------------------- spec */

/* spec 3.4/3.8: MSG_STATS of x86-64 Linux, 88 bytes. */

static void
msg_stats(char *buf, long in_sec, long in_usec, long act_sec, long act_usec)
{
    memset(buf, 0, 88);
    memcpy(buf, &in_sec, 8);
    memcpy(buf + 8, &in_usec, 8);
    memcpy(buf + 16, &act_sec, 8);
    memcpy(buf + 24, &act_usec, 8);
}

/* spec 3.8, transcribed from the hex dump (597 bytes). */
static const char spec_deliver_request[] =
    "flags\0"
    "3\0queue_name\0active\0queue_id\0"
    "4D335A7C8AA\0offset\0"
    "421\0size\0"
    "269\0nexthop\0"
    "5.7.1 no mail here\0encoding\0\0smtputf8\0"
    "0\0sender\0s2@example.org\0envelope_id\0\0ret_flags\0"
    "0\0time\0g8ACawAAAADgqwQAAAAAAIPAAmsAAAAAMfMEAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAA==\0log_client_name\0\0log_client_address\0\0log_client_port\0\0"
    "log_protocol_name\0\0log_helo_name\0\0sasl_method\0\0sasl_username\0\0"
    "sasl_sender\0\0log_ident\0\0rewrite_context\0local\0recipient_count\0"
    "1\0\0"
    "original_recipient\0y@errdom.example\0recipient\0y@errdom.example\0"
    "offset\0"
    "317\0dsn_orig_rcpt\0rfc822;y@errdom.example\0notify_flags\0"
    "0\0\0";

START_TEST(test_spec_delivery_request)
{
    ATTR_LIST *header = attr_list_create();
    ATTR_LIST *rcpt = attr_list_create();
    static const char *empty[] = {
        "log_client_name",   "log_client_address", "log_client_port",
        "log_protocol_name", "log_helo_name",      "sasl_method",
        "sasl_username",     "sasl_sender",        "log_ident",
    };
    char stats[88];
    STRBUF *out = strbuf_alloc(600);

    ck_assert_uint_eq(sizeof(spec_deliver_request) - 1, 597);
    msg_stats(stats, 1795342467, 306144, 1795342467, 324401);
    attr_list_add_int(header, "flags", 3);
    attr_list_add_str(header, "queue_name", "active");
    attr_list_add_str(header, "queue_id", "4D335A7C8AA");
    attr_list_add_long(header, "offset", 421);
    attr_list_add_long(header, "size", 269);
    attr_list_add_str(header, "nexthop", "5.7.1 no mail here");
    attr_list_add_str(header, "encoding", "");
    attr_list_add_int(header, "smtputf8", 0);
    attr_list_add_str(header, "sender", "s2@example.org");
    attr_list_add_str(header, "envelope_id", "");
    attr_list_add_int(header, "ret_flags", 0);
    attr_list_add_data(header, "time", stats, sizeof(stats));
    for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++)
        attr_list_add_str(header, empty[i], "");
    attr_list_add_str(header, "rewrite_context", "local");
    attr_list_add_int(header, "recipient_count", 1);
    attr_list_add_str(rcpt, "original_recipient", "y@errdom.example");
    attr_list_add_str(rcpt, "recipient", "y@errdom.example");
    attr_list_add_long(rcpt, "offset", 317);
    attr_list_add_str(rcpt, "dsn_orig_rcpt", "rfc822;y@errdom.example");
    attr_list_add_int(rcpt, "notify_flags", 0);
    ck_assert_int_eq(attr_print0(out, 0, header), 0);
    /* The header list ends at 0x1d3/0x1d4. */
    ck_assert_uint_eq(strbuf_len(out), 0x1d5);
    ck_assert_int_eq(attr_print0(out, 0, rcpt), 0);
    assert_bytes(out, BYTES(spec_deliver_request));
    strbuf_free(out);
    attr_list_free(header);
    attr_list_free(rcpt);
}
END_TEST

START_TEST(test_spec_agent_reply_smtp)
{
    /* spec 3.9: smtp(8), connection refused on the last server. */
    static const char in[] =
        "status\0"
        "4.4.1\0diag_type\0\0diag_text\0\0mta_type\0\0mta_mname\0\0action\0\0"
        "reason\0connect to 127.0.0.1[127.0.0.1]:2525: Connection refused\0"
        "status\0"
        "4294967295\0\0";
    STRBUF *hop = strbuf_alloc(10);
    STRBUF *reason = strbuf_alloc(10);
    unsigned status = 0;
    const ATTR_SPEC dsn[] = {
        ATTR_WANT_STR("status", hop),     ATTR_WANT_STR("diag_type", NULL),
        ATTR_WANT_STR("diag_text", NULL), ATTR_WANT_STR("mta_type", NULL),
        ATTR_WANT_STR("mta_mname", NULL), ATTR_WANT_STR("action", NULL),
        ATTR_WANT_STR("reason", reason),  ATTR_WANT_END,
    };
    ATTR_SPEC want[] = {ATTR_WANT_RUN(dsn), ATTR_WANT_INT("status", &status),
                        ATTR_WANT_END};
    ATTR_SCAN_RESULT res;
    ATTR_LIST *list = attr_list_create();
    ATTR_LIST *run = attr_list_add_run(list);
    static const char *names[] = {"diag_type", "diag_text", "mta_type",
                                  "mta_mname", "action"};

    ck_assert_uint_eq(sizeof(in) - 1, 147);
    scan(ATTR_ENC_0, BYTES(in), ATTR_FLAG_STRICT, want, &res, ATTR_SCAN_DONE);
    ck_assert_int_eq(res.count, 2);
    ck_assert_str_eq(strbuf_str(hop), "4.4.1");
    ck_assert_str_eq(strbuf_str(reason),
                     "connect to 127.0.0.1[127.0.0.1]:2525: Connection "
                     "refused");
    ck_assert_uint_eq(status, (unsigned) -1);
    attr_list_add_str(run, "status", strbuf_str(hop));
    for (size_t i = 0; i < 5; i++)
        attr_list_add_str(run, names[i], "");
    attr_list_add_str(run, "reason", strbuf_str(reason));
    attr_list_add_int(list, "status", (unsigned) -1);
    assert_print(ATTR_ENC_0, 0, list, BYTES(in));
    attr_list_free(list);
    strbuf_free(hop);
    strbuf_free(reason);
}
END_TEST

/* spec 4.5: resolve request and reply, and the probe resolution. */

static void
assert_resolve_request(const char *request, const char *sender,
                       const char *address, const char *want, size_t len)
{
    ATTR_LIST *list = attr_list_create();

    attr_list_add_str(list, "request", request);
    attr_list_add_str(list, "sender", sender);
    attr_list_add_str(list, "address", address);
    assert_print(ATTR_ENC_0, 0, list, want, len);
    attr_list_free(list);
}

START_TEST(test_spec_resolve)
{
    static const char reply[] = "flags\0"
                                "0\0transport\0spy\0nexthop\0spy.example\0"
                                "recipient\0probe@spy.example\0flags\0"
                                "4096\0\0";
    STRBUF *transport = strbuf_alloc(10);
    STRBUF *nexthop = strbuf_alloc(10);
    STRBUF *recipient = strbuf_alloc(10);
    unsigned server_flags = 1;
    unsigned flags = 0;
    ATTR_SPEC want[] = {
        ATTR_WANT_INT("flags", &server_flags),
        ATTR_WANT_STR("transport", transport),
        ATTR_WANT_STR("nexthop", nexthop),
        ATTR_WANT_STR("recipient", recipient),
        ATTR_WANT_INT("flags", &flags),
        ATTR_WANT_END,
    };
    ATTR_SCAN_RESULT res;

    assert_resolve_request("resolve", "", "user@host.example.test",
                           BYTES("request\0resolve\0sender\0\0address\0"
                                 "user@host.example.test\0\0"));
    assert_resolve_request("verify", "double-bounce@host.example.test",
                           "probe@spy.example",
                           BYTES("request\0verify\0sender\0double-bounce@host."
                                 "example.test\0address\0probe@spy.example\0"
                                 "\0"));
    ck_assert_uint_eq(sizeof(reply) - 1, 82);
    scan(ATTR_ENC_0, BYTES(reply), ATTR_FLAG_STRICT, want, &res,
         ATTR_SCAN_DONE);
    ck_assert_int_eq(res.count, 5);
    ck_assert_uint_eq(server_flags, 0);
    ck_assert_str_eq(strbuf_str(transport), "spy");
    ck_assert_str_eq(strbuf_str(nexthop), "spy.example");
    ck_assert_str_eq(strbuf_str(recipient), "probe@spy.example");
    ck_assert_uint_eq(flags, 4096);
    strbuf_free(transport);
    strbuf_free(nexthop);
    strbuf_free(recipient);
}
END_TEST

START_TEST(test_spec_bounce_flush)
{
    /* spec 5.4: FLUSH on bounce (127 bytes) and the 10-byte reply. */
    static const char request[] =
        "nrequest\0"
        "1\0flags\0"
        "0\0queue_name\0active\0queue_id\0"
        "4D335A7C8AA\0encoding\0\0smtputf8\0"
        "0\0sender\0s2@example.org\0envelope_id\0\0ret_flags\0"
        "0\0\0";
    ATTR_LIST *list = attr_list_create();
    unsigned status = 9;
    ATTR_SPEC want[] = {ATTR_WANT_INT("status", &status), ATTR_WANT_END};
    ATTR_SCAN_RESULT res;
    STRBUF *out = strbuf_alloc(10);

    ck_assert_uint_eq(sizeof(request) - 1, 127);
    /* Built like abounce.c: everything with MORE, then the terminator. */
    attr_list_add_int(list, "nrequest", 1);
    attr_list_add_int(list, "flags", 0);
    attr_list_add_str(list, "queue_name", "active");
    attr_list_add_str(list, "queue_id", "4D335A7C8AA");
    attr_list_add_str(list, "encoding", "");
    attr_list_add_int(list, "smtputf8", 0);
    attr_list_add_str(list, "sender", "s2@example.org");
    attr_list_add_str(list, "envelope_id", "");
    attr_list_add_int(list, "ret_flags", 0);
    ck_assert_int_eq(attr_print0(out, ATTR_FLAG_MORE, list), 0);
    attr_list_reset(list);
    ck_assert_int_eq(attr_print0(out, 0, list), 0);
    assert_bytes(out, BYTES(request));
    scan(ATTR_ENC_0,
         BYTES("status\0"
               "0\0\0"),
         ATTR_FLAG_STRICT, want, &res, ATTR_SCAN_DONE);
    ck_assert_uint_eq(res.used, 10);
    ck_assert_uint_eq(status, 0);
    strbuf_free(out);
    attr_list_free(list);
}
END_TEST

/* ---------------------------------------------------------------- captured */

#define MAX_ATTRS 40

/* One captured list and its description. */
typedef struct VECTOR {
    char name[128];
    ATTR_ENCODING enc;
    STRBUF *bytes;
    int count;
    char type[MAX_ATTRS][8];
    char attr[MAX_ATTRS][64];
    STRBUF *value[MAX_ATTRS];
} VECTOR;

static const char *
data_dir(void)
{
    static char dir[1024];
    const char *top = getenv("PQ_TOP");

    snprintf(dir, sizeof(dir), "%s/tests/data/attr", top ? top : ".");
    return dir;
}

static STRBUF *
read_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    STRBUF *sb = strbuf_alloc(1024);
    char buf[4096];
    size_t n;

    ck_assert_msg(fp != NULL, "open %s: %s", path, strerror(errno));
    while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
        strbuf_addmem(sb, buf, n);
    fclose(fp);
    return sb;
}

/* parse_attr_line - "attr TYPE NAME VALUE" (the value may be empty) */

static void
parse_attr_line(VECTOR *v, char *line)
{
    char *type = strtok(line + 5, " ");
    char *name = strtok(NULL, " \n");
    char *value = strtok(NULL, "\n");

    ck_assert_msg(type && name && v->count < MAX_ATTRS, "%s: bad line",
                  v->name);
    snprintf(v->type[v->count], sizeof(v->type[0]), "%s", type);
    snprintf(v->attr[v->count], sizeof(v->attr[0]), "%s", name);
    v->value[v->count] = strbuf_alloc(16);
    strbuf_setstr(v->value[v->count], value ? value : "");
    v->count++;
}

static void
load_vector(VECTOR *v, const char *name)
{
    char path[2048];
    char line[8192];
    FILE *fp;

    memset(v, 0, sizeof(*v));
    snprintf(v->name, sizeof(v->name), "%s", name);
    snprintf(path, sizeof(path), "%s/%s.bin", data_dir(), name);
    v->bytes = read_file(path);
    snprintf(path, sizeof(path), "%s/%s.txt", data_dir(), name);
    ck_assert_msg((fp = fopen(path, "r")) != NULL, "open %s", path);
    while (fgets(line, sizeof(line), fp) != NULL) {
        if (strncmp(line, "encoding ", 9) == 0)
            v->enc = strncmp(line + 9, "plain", 5) == 0 ? ATTR_ENC_PLAIN
                                                        : ATTR_ENC_0;
        else if (strncmp(line, "attr ", 5) == 0)
            parse_attr_line(v, line);
    }
    fclose(fp);
    ck_assert_msg(v->count > 0, "%s: no attributes", name);
}

static void
free_vector(VECTOR *v)
{
    strbuf_free(v->bytes);
    for (int i = 0; i < v->count; i++)
        strbuf_free(v->value[i]);
}

/* check_decoded - scan the bytes with the described wish list, compare */

static void
check_decoded(const VECTOR *v)
{
    ATTR_SPEC want[MAX_ATTRS + 1];
    unsigned num[MAX_ATTRS];
    unsigned long lnum[MAX_ATTRS];
    STRBUF *str[MAX_ATTRS];
    ATTR_SCAN_RESULT res;
    STRBUF *text = strbuf_alloc(100);

    for (int i = 0; i < v->count; i++) {
        const char *t = v->type[i];

        str[i] = strbuf_alloc(16);
        want[i].name = v->attr[i];
        if (strcmp(t, "int") == 0) {
            want[i].type = ATTR_TYPE_INT;
            want[i].to.num = num + i;
        } else if (strcmp(t, "long") == 0) {
            want[i].type = ATTR_TYPE_LONG;
            want[i].to.lnum = lnum + i;
        } else {
            want[i].type =
                strcmp(t, "data") == 0 ? ATTR_TYPE_DATA : ATTR_TYPE_STR;
            want[i].to.str = str[i];
        }
    }
    want[v->count].type = ATTR_TYPE_END;
    attr_scan(v->enc, v->bytes->data, v->bytes->len,
              ATTR_FLAG_STRICT | ATTR_FLAG_EOF, want, NULL, &res);
    ck_assert_msg(res.status == ATTR_SCAN_DONE, "%s: %s", v->name, res.why);
    ck_assert_int_eq(res.count, v->count);
    ck_assert_uint_eq(res.used, v->bytes->len);
    for (int i = 0; i < v->count; i++) {
        strbuf_reset(text);
        if (want[i].type == ATTR_TYPE_INT)
            strbuf_addf(text, "%u", num[i]);
        else if (want[i].type == ATTR_TYPE_LONG)
            strbuf_addf(text, "%lu", lnum[i]);
        else if (want[i].type == ATTR_TYPE_DATA)
            attr_base64_encode(text, str[i]->data, str[i]->len);
        else
            strbuf_setmem(text, str[i]->data, str[i]->len);
        ck_assert_msg(strcmp(strbuf_str(text), strbuf_str(v->value[i])) == 0,
                      "%s: %s is '%s', described as '%s'", v->name, v->attr[i],
                      strbuf_str(text), strbuf_str(v->value[i]));
        strbuf_free(str[i]);
    }
    strbuf_free(text);
}

/* check_reencoded - build the described list, print it, compare bytes */

static void
check_reencoded(const VECTOR *v)
{
    ATTR_LIST *list = attr_list_create();
    STRBUF *data = strbuf_alloc(100);

    for (int i = 0; i < v->count; i++) {
        const char *t = v->type[i];
        const char *val = strbuf_str(v->value[i]);

        if (strcmp(t, "int") == 0) {
            attr_list_add_int(list, v->attr[i],
                              (unsigned) strtoul(val, NULL, 10));
        } else if (strcmp(t, "long") == 0) {
            attr_list_add_long(list, v->attr[i], strtoul(val, NULL, 10));
        } else if (strcmp(t, "data") == 0) {
            ck_assert_int_eq(attr_base64_decode(data, val, strlen(val)), 0);
            attr_list_add_data(list, v->attr[i], data->data, data->len);
        } else {
            attr_list_add_str(list, v->attr[i], val);
        }
    }
    assert_print(v->enc, 0, list, v->bytes->data, v->bytes->len);
    strbuf_free(data);
    attr_list_free(list);
}

START_TEST(test_captured_all)
{
    DIR *dir = opendir(data_dir());
    struct dirent *dp;
    int seen = 0;

    ck_assert_msg(dir != NULL, "%s: %s", data_dir(), strerror(errno));
    while ((dp = readdir(dir)) != NULL) {
        size_t len = strlen(dp->d_name);
        char name[128];
        VECTOR v;

        if (len < 5 || strcmp(dp->d_name + len - 4, ".bin") != 0 ||
            len - 4 >= sizeof(name))
            continue;
        snprintf(name, sizeof(name), "%.*s", (int) (len - 4), dp->d_name);
        load_vector(&v, name);
        check_decoded(&v);
        check_reencoded(&v);
        free_vector(&v);
        seen++;
    }
    closedir(dir);
    ck_assert_int_ge(seen, 40);
}
END_TEST

static STRBUF *
load_bin(const char *name)
{
    char path[2048];

    snprintf(path, sizeof(path), "%s/%s.bin", data_dir(), name);
    return read_file(path);
}

START_TEST(test_captured_announcements)
{
    static const struct {
        const char *file;
        ATTR_ENCODING enc;
        const char *protocol;
    } cases[] = {
        {"rewrite.announce", ATTR_ENC_0, ATTR_PROTO_REWRITE},
        {"discard.announce", ATTR_ENC_0, ATTR_PROTO_DELIVERY},
        {"error.announce", ATTR_ENC_0, ATTR_PROTO_DELIVERY},
        {"bounce.announce", ATTR_ENC_0, ATTR_PROTO_STATUS},
        {"defer.announce", ATTR_ENC_0, ATTR_PROTO_STATUS},
        {"trace.announce", ATTR_ENC_0, ATTR_PROTO_STATUS},
        {"verify.announce", ATTR_ENC_0, ATTR_PROTO_VERIFY},
        {"flush.announce", ATTR_ENC_0, ATTR_PROTO_FLUSH},
        {"anvil.announce", ATTR_ENC_PLAIN, ATTR_PROTO_ANVIL},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        STRBUF *bin = load_bin(cases[i].file);
        STRBUF *mine = strbuf_alloc(40);
        ATTR_SCAN_RESULT res;

        attr_scan_announcement(cases[i].enc, bin->data, bin->len, ATTR_FLAG_EOF,
                               cases[i].protocol, &res);
        ck_assert_msg(res.status == ATTR_SCAN_DONE, "%s: %s", cases[i].file,
                      res.why);
        ck_assert_uint_eq(res.used, bin->len);
        attr_announce(mine, cases[i].enc, cases[i].protocol);
        assert_bytes(mine, bin->data, bin->len);
        strbuf_free(bin);
        strbuf_free(mine);
    }
}
END_TEST

START_TEST(test_captured_resolve_replies)
{
    static const struct {
        const char *file;
        const char *transport;
        const char *nexthop;
        const char *recipient;
        unsigned flags;
    } cases[] = {
        {"resolve-local.reply", "local", "mx.example.test",
         "user@mx.example.test", 256},
        {"resolve-bare.reply", "local", "mx.example.test",
         "user@mx.example.test", 256},
        {"resolve-remote.reply", "smtp", "remote.example",
         "someone@remote.example", 4096},
        {"resolve-error.reply", "error", "5.7.1 no mail here",
         "y@errdom.example", 4096},
        {"resolve-discard.reply", "discard", "discdom.example",
         "y@discdom.example", 4096},
        {"resolve-special.reply", "smtp", "[127.0.0.1]:2525",
         "y@special.example", 4096},
        {"resolve-verify.reply", "smtp", "[127.0.0.1]:2525",
         "y@special.example", 4096},
        {"resolve-badsyntax.reply", "CHANNEL NOT UPDATED",
         "NEXTHOP NOT UPDATED", "bad@[300.1.2.3]", 4100},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        STRBUF *bin = load_bin(cases[i].file);
        STRBUF *transport = strbuf_alloc(10);
        STRBUF *nexthop = strbuf_alloc(10);
        STRBUF *recipient = strbuf_alloc(10);
        unsigned server_flags = 1;
        unsigned flags = 0;
        ATTR_SPEC want[] = {
            ATTR_WANT_INT("flags", &server_flags),
            ATTR_WANT_STR("transport", transport),
            ATTR_WANT_STR("nexthop", nexthop),
            ATTR_WANT_STR("recipient", recipient),
            ATTR_WANT_INT("flags", &flags),
            ATTR_WANT_END,
        };
        ATTR_SCAN_RESULT res;

        scan(ATTR_ENC_0, bin->data, bin->len, ATTR_FLAG_STRICT, want, &res,
             ATTR_SCAN_DONE);
        ck_assert_int_eq(res.count, 5);
        ck_assert_uint_eq(server_flags, 0);
        ck_assert_str_eq(strbuf_str(transport), cases[i].transport);
        ck_assert_str_eq(strbuf_str(nexthop), cases[i].nexthop);
        ck_assert_str_eq(strbuf_str(recipient), cases[i].recipient);
        ck_assert_uint_eq(flags, cases[i].flags);
        assert_incremental(ATTR_ENC_0, bin->data, bin->len, want, 5);
        strbuf_free(bin);
        strbuf_free(transport);
        strbuf_free(nexthop);
        strbuf_free(recipient);
    }
}
END_TEST

START_TEST(test_captured_agent_replies)
{
    static const struct {
        const char *file;
        unsigned status;
    } cases[] = {
        {"deliver-discard.reply", 0},
        {"deliver-error.reply", 0},
        {"deliver-retry.reply", 4294967295U},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        STRBUF *bin = load_bin(cases[i].file);
        STRBUF *hop = strbuf_alloc(10);
        STRBUF *reason = strbuf_alloc(10);
        unsigned status = 7;
        const ATTR_SPEC dsn[] = {
            ATTR_WANT_STR("status", hop),     ATTR_WANT_STR("diag_type", NULL),
            ATTR_WANT_STR("diag_text", NULL), ATTR_WANT_STR("mta_type", NULL),
            ATTR_WANT_STR("mta_mname", NULL), ATTR_WANT_STR("action", NULL),
            ATTR_WANT_STR("reason", reason),  ATTR_WANT_END,
        };
        ATTR_SPEC want[] = {ATTR_WANT_RUN(dsn),
                            ATTR_WANT_INT("status", &status), ATTR_WANT_END};
        ATTR_SCAN_RESULT res;

        scan(ATTR_ENC_0, bin->data, bin->len, ATTR_FLAG_STRICT, want, &res,
             ATTR_SCAN_DONE);
        ck_assert_int_eq(res.count, 2);
        ck_assert_str_eq(strbuf_str(hop), "");
        ck_assert_str_eq(strbuf_str(reason), "");
        ck_assert_uint_eq(status, cases[i].status);
        strbuf_free(bin);
        strbuf_free(hop);
        strbuf_free(reason);
    }
}
END_TEST

START_TEST(test_captured_delivery_request_time)
{
    STRBUF *bin = load_bin("deliver-discard.request");
    STRBUF *time = strbuf_alloc(100);
    unsigned long offset = 0;
    unsigned count = 0;
    ATTR_SPEC want[] = {
        ATTR_WANT_STREQ("queue_name", "active"),
        ATTR_WANT_LONG("offset", &offset),
        ATTR_WANT_DATA("time", time),
        ATTR_WANT_INT("recipient_count", &count),
        ATTR_WANT_END,
    };
    ATTR_SCAN_RESULT res;
    long in_sec;
    long act_sec;
    static const char zero[56];

    /* Lenient: pick four attributes out of 23. */
    scan(ATTR_ENC_0, bin->data, bin->len, ATTR_FLAG_MISSING, want, &res,
         ATTR_SCAN_DONE);
    ck_assert_int_eq(res.count, 3);
    ck_assert_uint_eq(count, 1);
    ck_assert_uint_gt(offset, 97);
    ck_assert_uint_eq(strbuf_len(time), 88);
    memcpy(&in_sec, time->data, 8);
    memcpy(&act_sec, time->data + 16, 8);
    ck_assert_int_gt(in_sec, 1600000000);
    ck_assert_int_ge(act_sec, in_sec);
    ck_assert(memcmp(time->data + 32, zero, sizeof(zero)) == 0);
    strbuf_free(bin);
    strbuf_free(time);
}
END_TEST

/* ---------------------------------------------------------------- sockbuf */

static void
make_pair(SOCKBUF **client, int *server)
{
    int sv[2];

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    *client = sockbuf_create(sv[0], 0);
    *server = sv[1];
}

static void
write_all(int fd, const char *buf, size_t len)
{
    ck_assert_int_eq(write(fd, buf, len), (ssize_t) len);
}

START_TEST(test_sockbuf_nonblocking)
{
    SOCKBUF *sb;
    int server;
    unsigned status = 9;
    ATTR_SPEC want[] = {ATTR_WANT_INT("status", &status), ATTR_WANT_END};
    ATTR_SCAN_RESULT res;

    make_pair(&sb, &server);
    /* Nothing there yet: EAGAIN, and the scan needs more. */
    ck_assert_int_eq(sockbuf_fill(sb), -1);
    ck_assert_int_eq(errno, EAGAIN);
    ck_assert_int_eq(
        sockbuf_scan(sb, ATTR_ENC_0, ATTR_FLAG_STRICT, want, NULL, &res),
        ATTR_SCAN_AGAIN);
    write_all(server, BYTES("protocol\0delivery_status_protocol\0\0stat"));
    ck_assert_int_gt(sockbuf_fill(sb), 0);
    ck_assert_int_eq(
        sockbuf_scan_announcement(sb, ATTR_ENC_0, ATTR_PROTO_STATUS, &res),
        ATTR_SCAN_DONE);
    ck_assert_uint_eq(sockbuf_input_len(sb), 4);
    ck_assert_int_eq(
        sockbuf_scan(sb, ATTR_ENC_0, ATTR_FLAG_STRICT, want, NULL, &res),
        ATTR_SCAN_AGAIN);
    ck_assert_uint_eq(sockbuf_input_len(sb), 4);
    write_all(server, BYTES("us\0"
                            "0\0\0status\0"
                            "1"));
    close(server);
    ck_assert_int_gt(sockbuf_fill(sb), 0);
    ck_assert_int_eq(
        sockbuf_scan(sb, ATTR_ENC_0, ATTR_FLAG_STRICT, want, NULL, &res),
        ATTR_SCAN_DONE);
    ck_assert_uint_eq(status, 0);
    /* The peer closed inside the second list. */
    ck_assert_int_eq(sockbuf_fill(sb), 0);
    ck_assert(sockbuf_eof(sb));
    ck_assert_int_eq(
        sockbuf_scan(sb, ATTR_ENC_0, ATTR_FLAG_STRICT, want, NULL, &res),
        ATTR_SCAN_ERROR);
    assert_why(&res, "premature end of input");
    sockbuf_free(sb);
}
END_TEST

START_TEST(test_sockbuf_eof_between_lists)
{
    SOCKBUF *sb;
    int server;
    ATTR_SPEC want[] = {ATTR_WANT_INT("status", NULL), ATTR_WANT_END};
    ATTR_SCAN_RESULT res;

    make_pair(&sb, &server);
    close(server);
    ck_assert_int_eq(sockbuf_read_wait(sb, ATTR_ENC_0, ATTR_FLAG_STRICT, want,
                                       NULL, &res, 1000),
                     ATTR_SCAN_EOF);
    sockbuf_free(sb);
}
END_TEST

START_TEST(test_sockbuf_slow_peer)
{
    static const char reply[] = "flags\0"
                                "0\0transport\0local\0nexthop\0h\0recipient\0"
                                "u@h\0flags\0"
                                "256\0\0";
    SOCKBUF *sb;
    int server;
    pid_t pid;
    int wstatus;
    unsigned flags = 0;
    ATTR_SPEC want[] = {
        ATTR_WANT_INT("flags", NULL),   ATTR_WANT_STR("transport", NULL),
        ATTR_WANT_STR("nexthop", NULL), ATTR_WANT_STR("recipient", NULL),
        ATTR_WANT_INT("flags", &flags), ATTR_WANT_END,
    };
    ATTR_SCAN_RESULT res;

    make_pair(&sb, &server);
    if ((pid = fork()) == 0) {
        for (size_t i = 0; i < sizeof(reply) - 1; i++) {
            if (write(server, reply + i, 1) != 1)
                _exit(1);
            usleep(2000);
        }
        _exit(0);
    }
    close(server);
    ck_assert_int_eq(sockbuf_read_wait(sb, ATTR_ENC_0, ATTR_FLAG_STRICT, want,
                                       NULL, &res, 10000),
                     ATTR_SCAN_DONE);
    ck_assert_uint_eq(flags, 256);
    ck_assert_int_eq(waitpid(pid, &wstatus, 0), pid);
    ck_assert_int_eq(wstatus, 0);
    sockbuf_free(sb);
}
END_TEST

START_TEST(test_sockbuf_timeout)
{
    SOCKBUF *sb;
    int server;
    ATTR_SCAN_RESULT res;

    make_pair(&sb, &server);
    write_all(server, BYTES("protocol\0tri"));
    ck_assert_int_eq(sockbuf_announcement_wait(sb, ATTR_ENC_0,
                                               ATTR_PROTO_REWRITE, &res, 200),
                     ATTR_SCAN_ERROR);
    assert_why(&res, "timed out");
    close(server);
    sockbuf_free(sb);
}
END_TEST

START_TEST(test_sockbuf_large_write)
{
    SOCKBUF *sb;
    int server;
    pid_t pid;
    int wstatus;
    size_t total = 4 * 1024 * 1024;
    char *big = malloc(total);

    make_pair(&sb, &server);
    memset(big, 'x', total);
    strbuf_addmem(sockbuf_out(sb), big, total);
    /* The socket buffer fills up before 4 MB are out. */
    ck_assert_int_eq(sockbuf_flush(sb), 0);
    ck_assert_uint_gt(sockbuf_pending(sb), 0);
    if ((pid = fork()) == 0) {
        char buf[65536];
        size_t got = 0;
        ssize_t n;

        close(sockbuf_fd(sb));
        while ((n = read(server, buf, sizeof(buf))) > 0)
            got += (size_t) n;
        _exit(got == total ? 0 : 1);
    }
    close(server);
    ck_assert_int_eq(sockbuf_write_wait(sb, 10000), 0);
    ck_assert_uint_eq(sockbuf_pending(sb), 0);
    sockbuf_free(sb);
    ck_assert_int_eq(waitpid(pid, &wstatus, 0), pid);
    ck_assert_int_eq(wstatus, 0);
    free(big);
}
END_TEST

/* ---------------------------------------------------------------- live */

static char sandbox_dir[64];
static int sandbox_state; /* 0 none, 1 running, -1 no Postfix, -2 failed */

static int
run_sandbox(const char *verb, const char *extra)
{
    char cmd[8192];
    const char *top = getenv("PQ_TOP");

    snprintf(cmd, sizeof(cmd), "%s/tests/sandbox/pf-sandbox %s %s %s",
             top ? top : ".", verb, sandbox_dir, extra);
    return system(cmd);
}

static void
live_setup(void)
{
    if (access("/usr/sbin/postfix", X_OK) != 0 ||
        access("/usr/lib/postfix/sbin/trivial-rewrite", X_OK) != 0) {
        fprintf(stderr, "test_attr: SKIP live tests: Postfix is not "
                        "installed\n");
        sandbox_state = -1;
        return;
    }
    snprintf(sandbox_dir, sizeof(sandbox_dir), "/tmp/pq-test-attr.XXXXXX");
    if (mkdtemp(sandbox_dir) == NULL) {
        sandbox_state = -2;
        return;
    }
    sandbox_state = 1;
    if (run_sandbox("create", "--no-qmgr") != 0 ||
        run_sandbox("start", "") != 0)
        sandbox_state = -2;
}

static void
live_teardown(void)
{
    if (sandbox_state == 1 || sandbox_state == -2)
        if (sandbox_dir[0] && run_sandbox("destroy", "") != 0)
            fprintf(stderr, "test_attr: could not destroy %s\n", sandbox_dir);
    sandbox_state = 0;
}

/* resolve - one request on an open connection to trivial-rewrite */

static void
resolve(SOCKBUF *sb, const char *sender, const char *address,
        const char *transport, const char *nexthop, const char *recipient,
        unsigned flags)
{
    ATTR_LIST *req = attr_list_create();
    STRBUF *got_transport = strbuf_alloc(10);
    STRBUF *got_nexthop = strbuf_alloc(10);
    STRBUF *got_recipient = strbuf_alloc(10);
    unsigned server_flags = 1;
    unsigned got_flags = 0;
    ATTR_SPEC want[] = {
        ATTR_WANT_INT("flags", &server_flags),
        ATTR_WANT_STR("transport", got_transport),
        ATTR_WANT_STR("nexthop", got_nexthop),
        ATTR_WANT_STR("recipient", got_recipient),
        ATTR_WANT_INT("flags", &got_flags),
        ATTR_WANT_END,
    };
    ATTR_SCAN_RESULT res;

    attr_list_add_str(req, "request", "resolve");
    attr_list_add_str(req, "sender", sender);
    attr_list_add_str(req, "address", address);
    ck_assert_int_eq(attr_print0(sockbuf_out(sb), 0, req), 0);
    ck_assert_int_eq(sockbuf_write_wait(sb, 10000), 0);
    ck_assert_msg(sockbuf_read_wait(sb, ATTR_ENC_0, ATTR_FLAG_STRICT, want,
                                    NULL, &res, 10000) == ATTR_SCAN_DONE,
                  "resolve %s: %s", address, res.why);
    ck_assert_int_eq(res.count, 5);
    ck_assert_uint_eq(server_flags, 0);
    ck_assert_str_eq(strbuf_str(got_transport), transport);
    ck_assert_str_eq(strbuf_str(got_nexthop), nexthop);
    ck_assert_str_eq(strbuf_str(got_recipient), recipient);
    ck_assert_uint_eq(got_flags, flags);
    attr_list_free(req);
    strbuf_free(got_transport);
    strbuf_free(got_nexthop);
    strbuf_free(got_recipient);
}

START_TEST(test_live_resolve)
{
    char path[256];
    SOCKBUF *sb;
    ATTR_SCAN_RESULT res;
    int fd;

    if (sandbox_state == -1)
        return;
    ck_assert_msg(sandbox_state == 1,
                  "could not create and start a Postfix "
                  "sandbox in %s",
                  sandbox_dir);
    snprintf(path, sizeof(path), "%s/spool/private/rewrite", sandbox_dir);
    for (int i = 0; (fd = sockbuf_connect_unix(path)) < 0 && i < 100; i++)
        usleep(100000);
    ck_assert_msg(fd >= 0, "connect %s: %s", path, strerror(errno));
    sb = sockbuf_create(fd, 0);
    ck_assert_msg(sockbuf_announcement_wait(sb, ATTR_ENC_0, ATTR_PROTO_REWRITE,
                                            &res, 10000) == ATTR_SCAN_DONE,
                  "announcement: %s", res.why);
    resolve(sb, "", "user@mx.example.test", "local", "mx.example.test",
            "user@mx.example.test", 256);
    resolve(sb, "sender@example.org", "someone@remote.example", "smtp",
            "remote.example", "someone@remote.example", 4096);
    resolve(sb, "", "postmaster", "local", "mx.example.test",
            "postmaster@mx.example.test", 256);
    sockbuf_free(sb);
}
END_TEST

/* ---------------------------------------------------------------- main */

static Suite *
attr_suite(void)
{
    Suite *s = suite_create("attr");
    TCase *tc;

    tc = tcase_create("print");
    tcase_add_test(tc, test_print0_spec_example);
    tcase_add_test(tc, test_print_announcements);
    tcase_add_test(tc, test_print64_and_plain);
    tcase_add_test(tc, test_print_unsigned_numbers);
    tcase_add_test(tc, test_print_more_and_empty);
    tcase_add_test(tc, test_print_data);
    tcase_add_test(tc, test_print_hash_and_run);
    tcase_add_test(tc, test_print_refuses_unrepresentable);
    suite_add_tcase(s, tc);

    tc = tcase_create("scan");
    tcase_add_test(tc, test_scan_strict_exact);
    tcase_add_test(tc, test_scan_extra_attributes);
    tcase_add_test(tc, test_scan_surplus_after_last);
    tcase_add_test(tc, test_scan_missing_attribute);
    tcase_add_test(tc, test_scan_order_matters);
    tcase_add_test(tc, test_scan_duplicate_names_by_position);
    tcase_add_test(tc, test_scan_more);
    tcase_add_test(tc, test_scan_eof);
    tcase_add_test(tc, test_scan_incremental);
    tcase_add_test(tc, test_scan_numbers);
    tcase_add_test(tc, test_scan_base64);
    tcase_add_test(tc, test_scan_streq);
    tcase_add_test(tc, test_scan_string_limit);
    tcase_add_test(tc, test_scan_list_limit);
    tcase_add_test(tc, test_scan_hash_grouped);
    tcase_add_test(tc, test_scan_hash_ungrouped);
    tcase_add_test(tc, test_scan_hash_limit);
    tcase_add_test(tc, test_scan_run_counts_one);
    tcase_add_test(tc, test_scan64_values);
    tcase_add_test(tc, test_scan_plain_values);
    tcase_add_test(tc, test_roundtrip);
    suite_add_tcase(s, tc);

    tc = tcase_create("announce");
    tcase_add_test(tc, test_announcement_check);
    suite_add_tcase(s, tc);

    tc = tcase_create("spec");
    tcase_add_test(tc, test_spec_delivery_request);
    tcase_add_test(tc, test_spec_agent_reply_smtp);
    tcase_add_test(tc, test_spec_resolve);
    tcase_add_test(tc, test_spec_bounce_flush);
    suite_add_tcase(s, tc);

    tc = tcase_create("captured");
    tcase_add_test(tc, test_captured_all);
    tcase_add_test(tc, test_captured_announcements);
    tcase_add_test(tc, test_captured_resolve_replies);
    tcase_add_test(tc, test_captured_agent_replies);
    tcase_add_test(tc, test_captured_delivery_request_time);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("sockbuf");
    tcase_add_test(tc, test_sockbuf_nonblocking);
    tcase_add_test(tc, test_sockbuf_eof_between_lists);
    tcase_add_test(tc, test_sockbuf_slow_peer);
    tcase_add_test(tc, test_sockbuf_timeout);
    tcase_add_test(tc, test_sockbuf_large_write);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("live");
    tcase_add_unchecked_fixture(tc, live_setup, live_teardown);
    tcase_add_test(tc, test_live_resolve);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(attr_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
