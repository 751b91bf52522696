/*
 * fuzz_attr - libFuzzer target for the attribute scanners.
 *
 * Input: byte 0 chooses the encoding (attr0, attr64, plain) and the wish
 * list (the delivery-agent reply with its nested DSN run, the resolve
 * reply, a protocol announcement, the delivery-request header with its
 * DATA attribute, a list that ends in a hash); byte 1 chooses the flags
 * (MISSING, EXTRA, MORE) and tight or default limits; byte 2 a split
 * point; the rest is the input.  Seeds: the .bin files in tests/data/attr,
 * each prefixed with three selector bytes (docs/ipc.md shows how).
 *
 * Besides "no crash, no leak, no out-of-bounds read", each run checks the
 * incremental contract:
 *   - the scan without ATTR_FLAG_EOF agrees with the scan with it, except
 *     that running out of input is AGAIN instead of an error;
 *   - if the whole input gives DONE after n bytes, every shorter prefix
 *     gives AGAIN and every longer one the same DONE;
 *   - DONE never uses more bytes than it was given.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attr.h"
#include "strbuf.h"

static STRBUF *s[8];
static ATTR_LIST *table;
static unsigned num[4];
static unsigned long lnum[2];

static const ATTR_SPEC *dsn_run;

static void
init_buffers(void)
{
    if (table != NULL)
        return;
    for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
        s[i] = strbuf_alloc(16);
    table = attr_list_create();
}

/* choose_wish_list - one of the wish lists the queue manager uses */

static const ATTR_SPEC *
choose_wish_list(unsigned which)
{
    static ATTR_SPEC dsn[8];
    static ATTR_SPEC agent_reply[3];
    static ATTR_SPEC resolve_reply[6];
    static ATTR_SPEC announcement[2];
    static ATTR_SPEC request_head[7];
    static ATTR_SPEC with_hash[4];

    if (dsn_run == NULL) {
        const ATTR_SPEC d[] = {
            ATTR_WANT_STR("status", s[0]),    ATTR_WANT_STR("diag_type", s[1]),
            ATTR_WANT_STR("diag_text", s[2]), ATTR_WANT_STR("mta_type", s[3]),
            ATTR_WANT_STR("mta_mname", s[4]), ATTR_WANT_STR("action", s[5]),
            ATTR_WANT_STR("reason", s[6]),    ATTR_WANT_END,
        };
        const ATTR_SPEC a[] = {ATTR_WANT_RUN(dsn), ATTR_WANT_INT("status", num),
                               ATTR_WANT_END};
        const ATTR_SPEC r[] = {
            ATTR_WANT_INT("flags", num),     ATTR_WANT_STR("transport", s[0]),
            ATTR_WANT_STR("nexthop", s[1]),  ATTR_WANT_STR("recipient", s[2]),
            ATTR_WANT_INT("flags", num + 1), ATTR_WANT_END,
        };
        const ATTR_SPEC p[] = {
            ATTR_WANT_STREQ("protocol", "delivery_request_protocol"),
            ATTR_WANT_END,
        };
        const ATTR_SPEC h[] = {
            ATTR_WANT_INT("flags", num),
            ATTR_WANT_STR("queue_id", s[0]),
            ATTR_WANT_LONG("offset", lnum),
            ATTR_WANT_LONG("size", lnum + 1),
            ATTR_WANT_DATA("time", s[7]),
            ATTR_WANT_INT("smtputf8", num + 2),
            ATTR_WANT_END,
        };
        const ATTR_SPEC t[] = {ATTR_WANT_STR("request", s[0]),
                               ATTR_WANT_HASH(table),
                               ATTR_WANT_INT("after", num + 3), ATTR_WANT_END};

        memcpy(dsn, d, sizeof(d));
        memcpy(agent_reply, a, sizeof(a));
        memcpy(resolve_reply, r, sizeof(r));
        memcpy(announcement, p, sizeof(p));
        memcpy(request_head, h, sizeof(h));
        memcpy(with_hash, t, sizeof(t));
        dsn_run = dsn;
    }
    switch (which % 5) {
        case 0:
            return agent_reply;
        case 1:
            return resolve_reply;
        case 2:
            return announcement;
        case 3:
            return request_head;
        default:
            return with_hash;
    }
}

static void
check(int ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const ATTR_LIMITS tight = {16, 256, 4};
    static const int flag_sets[] = {
        ATTR_FLAG_NONE,   ATTR_FLAG_MISSING, ATTR_FLAG_EXTRA,
        ATTR_FLAG_STRICT, ATTR_FLAG_MORE,    ATTR_FLAG_STRICT | ATTR_FLAG_MORE,
    };
    ATTR_SCAN_RESULT full;
    ATTR_SCAN_RESULT open;
    ATTR_SCAN_RESULT part;
    ATTR_ENCODING enc;
    const ATTR_SPEC *want;
    const ATTR_LIMITS *limits;
    const char *buf;
    size_t len;
    size_t cut;
    int flags;

    if (size < 3)
        return 0;
    init_buffers();
    enc = (ATTR_ENCODING) (data[0] % 3);
    want = choose_wish_list(data[0] / 3);
    flags = flag_sets[data[1] % 6];
    limits = (data[1] & 0x80) ? &tight : NULL;
    buf = (const char *) data + 3;
    len = size - 3;
    cut = len ? data[2] % (len + 1) : 0;

    attr_scan(enc, buf, len, flags | ATTR_FLAG_EOF, want, limits, &full);
    attr_scan(enc, buf, len, flags, want, limits, &open);
    check(full.status != ATTR_SCAN_AGAIN);
    check(full.status != ATTR_SCAN_DONE || full.used <= len);
    if (full.status == ATTR_SCAN_DONE)
        check(open.status == ATTR_SCAN_DONE && open.used == full.used &&
              open.count == full.count);
    else
        check(open.status == ATTR_SCAN_AGAIN || open.status == ATTR_SCAN_ERROR);

    attr_scan(enc, buf, cut, flags, want, limits, &part);
    if (full.status == ATTR_SCAN_DONE && cut < full.used)
        check(part.status == ATTR_SCAN_AGAIN);
    if (full.status == ATTR_SCAN_DONE && cut >= full.used)
        check(part.status == ATTR_SCAN_DONE && part.used == full.used &&
              part.count == full.count);
    return 0;
}
