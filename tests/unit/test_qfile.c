/*
 * test_qfile - reading queue files with qmgr's semantics, the corrupt-file
 * rules, recipient batches, in-place updates and the writer.
 *
 * The reference is Postfix itself:
 *  - every fixture in tests/data/queuefiles (real files written by cleanup,
 *    see tests/make-queue-files) is read and compared with what postcat(1)
 *    printed for it (<name>.postcat): size record, times, sender,
 *    recipients with their offsets, DSN information, attributes, and the
 *    record type at every offset postcat names;
 *  - files written by the writer, or changed in place, are given to the
 *    installed postcat, which must accept them and report what our reader
 *    reports;
 *  - damaged copies of the fixtures, made here, must be rejected with the
 *    exact lines qmgr logs.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "qfile.h"
#include "record.h"
#include "strbuf.h"
#include "xalloc.h"

#define FIXTURES    "tests/data/queuefiles/"
#define POSTCAT_CMD "/usr/sbin/postcat"

/*
 * Collecting what the reader logs.
 */
#define MAX_LOGS 64

typedef struct LOGS {
    int n;
    int event[MAX_LOGS];
    char *text[MAX_LOGS];
} LOGS;

static void
collect_log(void *context, int event, const char *text)
{
    LOGS *logs = context;

    if (logs->n < MAX_LOGS) {
        logs->event[logs->n] = event;
        logs->text[logs->n++] = xstrdup(text);
    }
}

static void
logs_free(LOGS *logs)
{
    for (int i = 0; i < logs->n; i++)
        xfree(logs->text[i]);
    logs->n = 0;
}

/* logs_warnings - the warning lines only, joined by "|" */

static void
logs_warnings(const LOGS *logs, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = 0;
    for (int i = 0; i < logs->n; i++) {
        if (logs->event[i] != QFILE_EV_WARN)
            continue;
        used += (size_t) snprintf(buf + used, len - used, "%s%s",
                                  used ? "|" : "", logs->text[i]);
        if (used >= len)
            break;
    }
}

/*
 * Files.
 */
static STRBUF *
load_file(const char *path)
{
    STRBUF *sb = strbuf_alloc(4096);
    char buf[8192];
    ssize_t got;
    int fd = open(path, O_RDONLY);

    ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
    while ((got = read(fd, buf, sizeof(buf))) > 0)
        strbuf_addmem(sb, buf, (size_t) got);
    close(fd);
    return sb;
}

static STRBUF *
load_fixture(const char *name)
{
    char path[512];

    snprintf(path, sizeof(path), FIXTURES "%s", name);
    return load_file(path);
}

/* write_temp - bytes into a new temporary file; returns an O_RDWR fd */

static int
write_temp(const STRBUF *bytes, char *path, size_t len)
{
    int fd;

    snprintf(path, len, "/tmp/pq-test-qfile.XXXXXX");
    ck_assert_int_ge(fd = mkstemp(path), 0);
    ck_assert_int_eq(write(fd, strbuf_str(bytes), strbuf_len(bytes)),
                     (ssize_t) strbuf_len(bytes));
    return fd;
}

/* read_mem - read bytes as a queue file, all recipients or a batch */

static QFILE_MSG *
read_mem(const STRBUF *bytes, const char *id, int limit, LOGS *logs)
{
    QFILE_MSG *msg = qfile_msg_alloc(id);
    REC_STREAM *rs =
        rec_stream_mem(strbuf_str(bytes), strbuf_len(bytes), "active/X");

    msg->log_fn = collect_log;
    msg->log_context = logs;
    qfile_read(msg, rs, limit);
    rec_stream_free(rs);
    return msg;
}

/* read_fd - the same through a file descriptor */

static QFILE_MSG *
read_fd(int fd, const char *id, int limit, LOGS *logs)
{
    QFILE_MSG *msg = qfile_msg_alloc(id);
    REC_STREAM *rs = rec_stream_fd(fd, "active/X");

    msg->log_fn = collect_log;
    msg->log_context = logs;
    qfile_read(msg, rs, limit);
    rec_stream_free(rs);
    return msg;
}

/* record_type_at - the type of the record at offset, raw */

static int
record_type_at(const STRBUF *bytes, long offset)
{
    if (offset < 0 || (size_t) offset >= strbuf_len(bytes))
        return -1;
    return (unsigned char) strbuf_str(bytes)[offset];
}

/* offset_of - offset of the n-th (0-based) raw record of a type, or -1 */

static long
offset_of(const STRBUF *bytes, int type, int nth)
{
    REC_STREAM *rs =
        rec_stream_mem(strbuf_str(bytes), strbuf_len(bytes), "scan");
    STRBUF *buf = strbuf_alloc(100);
    long found = -1;
    int t;

    while ((t = rec_get_raw(rs, buf, 0, REC_FLAG_NONE)) > 0) {
        if (t == type && nth-- == 0) {
            found = (long) rec_offset(rs);
            break;
        }
    }
    rec_stream_free(rs);
    strbuf_free(buf);
    return found;
}

/*
 * postcat(1) output: "%9ld %3d label: value" per record (with -o -d),
 * section markers "*** MESSAGE CONTENTS name ***" etc., content lines as
 * text.  Offsets of records that follow a pointer record are printed as the
 * offset of that pointer record.
 */
#define PC_ENVELOPE  0
#define PC_CONTENT   1
#define PC_EXTRACTED 2
#define PC_END       3

typedef struct PC_REC {
    long offset;
    int type;
    int section;
    char *label; /* "" for content lines and markers */
    char *value; /* text after "label: ", or the content line */
} PC_REC;

typedef struct POSTCAT {
    int n;
    PC_REC rec[4096];
} POSTCAT;

static void
pc_add(POSTCAT *pc, long offset, int type, int section, const char *label,
       const char *value)
{
    PC_REC *rec;

    ck_assert_int_lt(pc->n, 4096);
    rec = pc->rec + pc->n++;
    rec->offset = offset;
    rec->type = type;
    rec->section = section;
    rec->label = xstrdup(label);
    rec->value = xstrdup(value);
}

static void
pc_parse_line(POSTCAT *pc, char *line, int *section)
{
    static const char *markers[] = {
        "*** MESSAGE CONTENTS", "*** HEADER EXTRACTED", "*** MESSAGE FILE END"};
    long offset;
    int type, n;
    char *rest, *colon;

    if (sscanf(line, "%ld %d %n", &offset, &type, &n) < 2)
        return;
    rest = line + n;
    for (int i = 0; i < 3; i++) {
        if (strncmp(rest, markers[i], strlen(markers[i])) == 0) {
            *section = i + 1;
            pc_add(pc, offset, type, *section, markers[i] + 4, "");
            return;
        }
    }
    if (*section == PC_CONTENT) {
        pc_add(pc, offset, type, *section, "", line + 14);
        return;
    }
    ck_assert_msg((colon = strstr(rest, ": ")) != NULL, "postcat: %s", line);
    *colon = 0;
    pc_add(pc, offset, type, *section, rest, colon + 2);
}

static POSTCAT *
pc_parse(const char *text)
{
    POSTCAT *pc = xcalloc(1, sizeof(*pc));
    char *copy = xstrdup(text);
    char *line, *save = NULL;
    int section = PC_ENVELOPE;

    for (line = strtok_r(copy, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save))
        pc_parse_line(pc, line, &section);
    xfree(copy);
    return pc;
}

static void
pc_free(POSTCAT *pc)
{
    for (int i = 0; i < pc->n; i++) {
        xfree(pc->rec[i].label);
        xfree(pc->rec[i].value);
    }
    xfree(pc);
}

/* run_postcat - TZ=UTC postcat -o -d path; returns the exit status */

static int
run_postcat(const char *path, STRBUF *out)
{
    char cmd[1024], buf[4096];
    size_t got;
    FILE *fp;
    int status;

    snprintf(cmd, sizeof(cmd), "TZ=UTC %s -o -d '%s' 2>&1", POSTCAT_CMD, path);
    ck_assert_ptr_nonnull(fp = popen(cmd, "r"));
    strbuf_reset(out);
    while ((got = fread(buf, 1, sizeof(buf), fp)) > 0)
        strbuf_addmem(out, buf, got);
    status = pclose(fp);
    return status;
}

/* postcat_accepts - postcat reads the file to the end without complaint */

static void
postcat_accepts(const char *path, STRBUF *out)
{
    int status = run_postcat(path, out);

    ck_assert_msg(status == 0, "postcat status %d: %s", status,
                  strbuf_str(out));
    ck_assert_msg(strstr(strbuf_str(out), "postcat: ") == NULL, "postcat: %s",
                  strbuf_str(out));
    ck_assert_ptr_nonnull(strstr(strbuf_str(out), "*** MESSAGE FILE END"));
}

/*
 * Comparing our reading with postcat's.
 */

/* norm - postcat escapes 8-bit bytes inconsistently: compare sans escapes */

static char *
norm(const char *s, char *buf, size_t len)
{
    size_t n = 0;

    for (; *s && n + 4 < len; s++) {
        if (*s == '\\')
            continue;
        if ((unsigned char) *s >= 0x80)
            n +=
                (size_t) snprintf(buf + n, len - n, "%03o", (unsigned char) *s);
        else
            buf[n++] = *s;
    }
    buf[n] = 0;
    return buf;
}

#define ck_assert_norm_eq(a, b)                                                \
    do {                                                                       \
        char _na[4096], _nb[4096];                                             \
        ck_assert_str_eq(norm((a), _na, sizeof(_na)),                          \
                         norm((b), _nb, sizeof(_nb)));                         \
    } while (0)

/* time_text - how postcat shows a time (asctime, UTC) */

static const char *
time_text(long when, char *buf)
{
    time_t t = (time_t) when;
    struct tm tm;

    asctime_r(gmtime_r(&t, &tm), buf);
    buf[strcspn(buf, "\n")] = 0;
    return buf;
}

/* What the attributes in postcat's listing add up to, qmgr's way. */
typedef struct EXPECT {
    const char *encoding;
    const char *client[5];
    int have_log_client;
    const char *envid;
    int ret;
    int tflags;
    long tflags_offset;
    const char *log_ident;
    const char *rewrite_context;
    const char *filter;
    const char *verp;
    const char *orig;  /* pending for the next recipient */
    const char *orcpt; /* pending */
    int notify;        /* pending */
} EXPECT;

static void
expect_attribute(EXPECT *ex, const PC_REC *rec)
{
    static const char *log_names[] = {
        "log_client_name=", "log_client_address=", "log_client_port=",
        "log_protocol_name=", "log_helo_name="};
    static const char *legacy[] = {
        "client_name=", "client_address=", "client_port=", "protocol_name=",
        "helo_name="};
    const char *v = rec->value;
    const char *eq = strchr(v, '=') + 1;

    if (strncmp(v, "dsn_orig_rcpt=", 14) == 0)
        ex->orcpt = eq;
    else if (strncmp(v, "notify_flags=", 13) == 0)
        ex->notify = atoi(eq);
    else if (strncmp(v, "encoding=", 9) == 0)
        ex->encoding = eq;
    else if (strncmp(v, "envelope_id=", 12) == 0)
        ex->envid = eq;
    else if (strncmp(v, "ret_flags=", 10) == 0)
        ex->ret = atoi(eq);
    else if (strncmp(v, "log_ident=", 10) == 0 && !ex->log_ident)
        ex->log_ident = eq;
    else if (strncmp(v, "rewrite_context=", 16) == 0 && !ex->rewrite_context)
        ex->rewrite_context = eq;
    else if (strncmp(v, "trace_flags=", 12) == 0 && !ex->tflags) {
        ex->tflags = atoi(eq) & QFILE_TRACE_MASK;
        ex->tflags_offset = ex->tflags == QFILE_TRACE_RECORD ? rec->offset : 0;
    }
    for (int i = 0; i < 5; i++) {
        if (strncmp(v, log_names[i], strlen(log_names[i])) == 0) {
            ex->client[i] = eq;
            ex->have_log_client = 1;
        } else if (strncmp(v, legacy[i], strlen(legacy[i])) == 0 &&
                   !ex->have_log_client && !ex->client[i]) {
            ex->client[i] = eq;
        }
    }
}

static void
expect_recipient(EXPECT *ex, const QFILE_MSG *msg, int *ri, const PC_REC *rec)
{
    const QFILE_RCPT *rcpt;

    ck_assert_msg(*ri < msg->rcpt_count, "postcat lists more recipients");
    rcpt = msg->rcpt + (*ri)++;
    ck_assert_int_eq(rcpt->offset, rec->offset);
    ck_assert_norm_eq(rcpt->address, rec->value);
    ck_assert_norm_eq(rcpt->orig_rcpt, ex->orig ? ex->orig : "");
    ck_assert_norm_eq(rcpt->dsn_orcpt, ex->orcpt ? ex->orcpt : "");
    ck_assert_int_eq(rcpt->dsn_notify, ex->notify);
    ex->orig = ex->orcpt = NULL;
    ex->notify = 0;
}

static void
expect_size(const QFILE_MSG *msg, const char *value)
{
    long f[6];

    ck_assert_int_eq(sscanf(value, "%ld %ld %ld %ld %ld %ld", f, f + 1, f + 2,
                            f + 3, f + 4, f + 5),
                     6);
    ck_assert_int_eq(msg->data_size, f[0]);
    ck_assert_int_eq(msg->data_offset, f[1]);
    ck_assert_int_eq(msg->nrcpt, f[2]);
    ck_assert_int_eq(msg->read_flags, f[3]);
    ck_assert_int_eq(msg->cont_length, f[4]);
    ck_assert_int_eq(msg->smtputf8, f[5]);
}

/* expect_record - one postcat record against the message read */

static void
expect_record(EXPECT *ex, const QFILE_MSG *msg, int *ri, const PC_REC *rec)
{
    const char *l = rec->label;
    char tbuf[64];

    if (strcmp(l, "message_size") == 0)
        expect_size(msg, rec->value);
    else if (strcmp(l, "message_arrival_time") == 0)
        ck_assert_str_eq(rec->value, time_text(msg->arrival_sec, tbuf));
    else if (strcmp(l, "create_time") == 0)
        ck_assert_str_eq(rec->value, time_text(msg->create_time, tbuf));
    else if (strcmp(l, "sender") == 0)
        ck_assert_norm_eq(msg->sender, rec->value);
    else if (strcmp(l, "original_recipient") == 0)
        ex->orig = rec->value;
    else if (strcmp(l, "recipient") == 0)
        expect_recipient(ex, msg, ri, rec);
    else if (strcmp(l, "done_recipient") == 0)
        ex->orig = ex->orcpt = NULL, ex->notify = 0;
    else if (strcmp(l, "named_attribute") == 0)
        expect_attribute(ex, rec);
    else if (strcmp(l, "warning_message_time") == 0) {
        ck_assert_str_eq(rec->value, time_text(msg->warn_time, tbuf));
        ck_assert_int_eq(msg->warn_offset, rec->offset);
    } else if (strcmp(l, "content_filter") == 0)
        ex->filter = rec->value;
    else if (strcmp(l, "verp_delimiters") == 0)
        ex->verp = rec->value;
}

static void
expect_str(const char *got, const char *want, const char *dflt)
{
    ck_assert_ptr_nonnull(got);
    ck_assert_norm_eq(got, want ? want : dflt);
}

static void
expect_totals(const EXPECT *ex, const QFILE_MSG *msg)
{
    const char *client[5] = {msg->client_name, msg->client_addr,
                             msg->client_port, msg->client_proto,
                             msg->client_helo};

    expect_str(msg->encoding, ex->encoding, "");
    for (int i = 0; i < 5; i++)
        expect_str(client[i], ex->client[i], "");
    expect_str(msg->dsn_envid, ex->envid, "");
    ck_assert_int_eq(msg->dsn_ret, ex->ret);
    ck_assert_int_eq(msg->tflags, ex->tflags);
    ck_assert_int_eq(msg->tflags_offset, ex->tflags_offset);
    expect_str(msg->log_ident, ex->log_ident, "");
    expect_str(msg->rewrite_context, ex->rewrite_context, "local");
    if (ex->filter)
        expect_str(msg->filter_xport, ex->filter, "");
    else
        ck_assert_ptr_null(msg->filter_xport);
    if (ex->verp)
        expect_str(msg->verp_delims, ex->verp, "");
    else
        ck_assert_ptr_null(msg->verp_delims);
}

/*
 * check_against_postcat - read bytes with our reader and compare with
 * postcat's listing of the same bytes.
 */
static void
check_against_postcat(const char *id, const STRBUF *bytes, const char *listing)
{
    POSTCAT *pc = pc_parse(listing);
    LOGS logs = {0};
    QFILE_MSG *msg = read_mem(bytes, id, 0, &logs);
    EXPECT ex;
    int ri = 0;

    memset(&ex, 0, sizeof(ex));
    ck_assert_msg(msg->status == QFILE_OK, "%s: %s", id,
                  qfile_status_name(msg->status));
    ck_assert_int_eq(logs.n, 1); /* the sender, no warnings */
    ck_assert_int_eq(logs.event[0], QFILE_EV_SENDER);
    ck_assert_str_eq(logs.text[0], msg->sender);
    ck_assert_int_eq(msg->rcpt_offset, 0);
    ck_assert_int_eq(msg->rcpt_unread, 0);
    ck_assert(msg->seen_all_non_rcpt);
    ck_assert_int_gt(pc->n, 5);
    for (int i = 0; i < pc->n; i++) {
        int type = record_type_at(bytes, pc->rec[i].offset);

        /* postcat gives a record after a skipped p or w their offset. */
        ck_assert_msg(type == pc->rec[i].type || type == REC_TYPE_PTR ||
                          type == REC_TYPE_DTXT,
                      "%s: offset %ld: postcat type %d, file has %d", id,
                      pc->rec[i].offset, pc->rec[i].type, type);
        expect_record(&ex, msg, &ri, pc->rec + i);
    }
    ck_assert_int_eq(ri, msg->rcpt_count);
    ck_assert_int_eq(pc->rec[pc->n - 1].section, PC_END);
    ck_assert_int_eq(pc->rec[pc->n - 1].type, REC_TYPE_END);
    expect_totals(&ex, msg);
    qfile_msg_free(msg);
    logs_free(&logs);
    pc_free(pc);
}

/* fixture_id - the queue id Postfix gave a fixture */

static const char *
fixture_id(const char *want)
{
    static char id[256];
    FILE *fp = fopen(FIXTURES "INDEX", "r");
    char line[1024], name[256];

    ck_assert_ptr_nonnull(fp);
    id[0] = 0;
    while (fgets(line, sizeof(line), fp))
        if (sscanf(line, "%255s %255s", name, id) == 2 &&
            strcmp(name, want) == 0)
            break;
    fclose(fp);
    return id;
}

/* for_each_fixture - call fn(name, queue id) for each line of INDEX */

static int
for_each_fixture(void (*fn)(const char *name, const char *id))
{
    FILE *fp = fopen(FIXTURES "INDEX", "r");
    char line[1024], name[256], id[256];
    int count = 0;

    ck_assert_ptr_nonnull(fp);
    while (fgets(line, sizeof(line), fp)) {
        ck_assert_int_eq(sscanf(line, "%255s %255s", name, id), 2);
        fn(name, id);
        count++;
    }
    fclose(fp);
    return count;
}

static void
compare_fixture(const char *name, const char *id)
{
    char path[512];
    STRBUF *bytes = load_fixture(name);
    STRBUF *listing;

    snprintf(path, sizeof(path), FIXTURES "%s.postcat", name);
    listing = load_file(path);
    check_against_postcat(id, bytes, strbuf_str(listing));
    strbuf_free(listing);
    strbuf_free(bytes);
}

START_TEST(test_fixtures_match_postcat)
{
    ck_assert_int_ge(for_each_fixture(compare_fixture), 15);
}
END_TEST

/* The same through a file descriptor, and what the fixtures exercise. */
START_TEST(test_fixture_details)
{
    LOGS logs = {0};
    STRBUF *b = load_fixture("sendmail-plain");
    int fd;
    char path[64];
    QFILE_MSG *msg;

    fd = write_temp(b, path, sizeof(path));
    msg = read_fd(fd, "7E4EEA72162", 0, &logs);
    ck_assert_int_eq(msg->status, QFILE_OK);
    ck_assert_str_eq(msg->sender, "alice@example.org");
    ck_assert_int_eq(msg->rcpt_count, 2);
    ck_assert_str_eq(msg->rcpt[1].address, "carol@example.net");
    ck_assert_str_eq(msg->rcpt[1].dsn_orcpt, "rfc822;carol@example.net");
    ck_assert_int_eq(msg->rcpt[1].dsn_notify, 6);
    ck_assert_int_eq(msg->read_flags, 12);
    ck_assert_int_gt(msg->arrival_usec, 0);
    ck_assert_int_ge(msg->create_time, msg->arrival_sec);
    qfile_msg_free(msg);
    close(fd);
    unlink(path);
    strbuf_free(b);
    logs_free(&logs);

    b = load_fixture("smtp-dsn");
    msg = read_mem(b, "X", 0, &logs);
    ck_assert_str_eq(msg->dsn_envid, "env-id-42");
    ck_assert_int_eq(msg->dsn_ret, QFILE_DSN_RET_HDRS);
    ck_assert_str_eq(msg->client_addr, "127.0.0.1");
    ck_assert_str_eq(msg->client_proto, "ESMTP");
    ck_assert_str_eq(msg->client_helo, "client.example.test");
    ck_assert_str_eq(msg->encoding, "8bit");
    ck_assert_int_eq(msg->rcpt[1].dsn_notify, QFILE_DSN_NOTIFY_NEVER);
    ck_assert_str_eq(msg->rcpt[0].dsn_orcpt, "rfc822;orig1@example.net");
    ck_assert_str_eq(msg->log_ident, fixture_id("smtp-dsn"));
    qfile_msg_free(msg);
    strbuf_free(b);
    logs_free(&logs);

    b = load_fixture("sendmail-content-filter");
    msg = read_mem(b, "X", 0, &logs);
    ck_assert_str_eq(msg->filter_xport, "smtp:[127.0.0.1]:10025");
    qfile_msg_free(msg);
    strbuf_free(b);
    logs_free(&logs);

    b = load_fixture("sendmail-verp");
    msg = read_mem(b, "X", 0, &logs);
    ck_assert_str_eq(msg->verp_delims, "+=");
    qfile_msg_free(msg);
    strbuf_free(b);
    logs_free(&logs);
}
END_TEST

/*
 * The writer.
 */

/* A string pool for the envelope taken apart below. */
typedef struct POOL {
    int n;
    void *p[1024];
} POOL;

static char *
pool_dup(POOL *pool, const char *s)
{
    ck_assert_int_lt(pool->n, 1024);
    return pool->p[pool->n++] = xstrdup(s);
}

static void *
pool_alloc(POOL *pool, size_t len)
{
    ck_assert_int_lt(pool->n, 1024);
    return pool->p[pool->n++] = xcalloc(1, len);
}

static void
pool_free(POOL *pool)
{
    for (int i = 0; i < pool->n; i++)
        xfree(pool->p[i]);
    pool->n = 0;
}

typedef struct TAKE_APART {
    POOL *pool;
    QFILE_ENVELOPE *env;
    const char **pre, **post, **xattrs;
    int npre, npost, nxattrs;
    QFILE_OUT_RCPT *rcpts, *xrcpts;
    QFILE_OUT_RCPT cur;
    int seen_sender, extracted;
    STRBUF *content;
} TAKE_APART;

/* take_attr - an 'A' record: where cleanup put it */

static void
take_attr(TAKE_APART *ta, const char *p)
{
    if (strncmp(p, "create_time=", 12) == 0)
        ta->env->create_time = atol(p + 12);
    else if (strncmp(p, "notify_flags=", 13) == 0)
        ta->cur.dsn_notify = atoi(p + 13);
    else if (strncmp(p, "dsn_orig_rcpt=", 14) == 0)
        ta->cur.dsn_orcpt = pool_dup(ta->pool, p + 14);
    else if (ta->extracted)
        ta->xattrs[ta->nxattrs++] = pool_dup(ta->pool, p);
    else if (ta->seen_sender)
        ta->post[ta->npost++] = pool_dup(ta->pool, p);
    else
        ta->pre[ta->npre++] = pool_dup(ta->pool, p);
}

static void
take_rcpt(TAKE_APART *ta, const char *p)
{
    QFILE_ENVELOPE *env = ta->env;

    ta->cur.address = pool_dup(ta->pool, p);
    if (ta->extracted)
        ta->xrcpts[env->extracted_rcpt_count++] = ta->cur;
    else
        ta->rcpts[env->rcpt_count++] = ta->cur;
    memset(&ta->cur, 0, sizeof(ta->cur));
}

/* take_content - the text from 'N'/'L' records up to 'X' */

static void
take_content(TAKE_APART *ta, REC_STREAM *rs, STRBUF *buf)
{
    int type;

    while ((type = rec_get_raw(rs, buf, 0, REC_FLAG_NONE)) != REC_TYPE_XTRA) {
        ck_assert(type == REC_TYPE_NORM || type == REC_TYPE_CONT);
        strbuf_addmem(ta->content, strbuf_str(buf), strbuf_len(buf));
        if (type == REC_TYPE_NORM)
            strbuf_addch(ta->content, '\n');
    }
    ta->extracted = 1;
}

/*
 * take_apart - an envelope from a cleanup-made file without pointer records;
 * 0, or -1 for a file with records the writer does not make.
 */
static int
take_apart(const STRBUF *bytes, QFILE_ENVELOPE *env, POOL *pool,
           STRBUF *content)
{
    REC_STREAM *rs =
        rec_stream_mem(strbuf_str(bytes), strbuf_len(bytes), "take");
    STRBUF *buf = strbuf_alloc(100);
    TAKE_APART ta;
    long f[6];
    int type, result = 0;
    const char *p;

    memset(env, 0, sizeof(*env));
    memset(&ta, 0, sizeof(ta));
    ta.pool = pool, ta.env = env, ta.content = content;
    ta.pre = pool_alloc(pool, 64 * sizeof(char *));
    ta.post = pool_alloc(pool, 64 * sizeof(char *));
    ta.xattrs = pool_alloc(pool, 64 * sizeof(char *));
    ta.rcpts = pool_alloc(pool, 64 * sizeof(QFILE_OUT_RCPT));
    ta.xrcpts = pool_alloc(pool, 64 * sizeof(QFILE_OUT_RCPT));
    while (result == 0 &&
           (type = rec_get_raw(rs, buf, 0, REC_FLAG_NONE)) != REC_TYPE_END) {
        p = strbuf_str(buf);
        switch (type) {
            case REC_TYPE_SIZE:
                ck_assert_int_eq(sscanf(p, "%ld %ld %ld %ld %ld %ld", f, f + 1,
                                        f + 2, f + 3, f + 4, f + 5),
                                 6);
                env->smtputf8 = (int) f[5];
                break;
            case REC_TYPE_FILT:
                env->content_filter = pool_dup(pool, p);
                break;
            case REC_TYPE_TIME:
                sscanf(p, "%ld %ld", &env->arrival_sec, &env->arrival_usec);
                break;
            case REC_TYPE_ATTR:
                take_attr(&ta, p);
                break;
            case REC_TYPE_FULL:
                env->fullname = pool_dup(pool, p);
                break;
            case REC_TYPE_FROM:
                env->sender = pool_dup(pool, p);
                ta.seen_sender = 1;
                break;
            case REC_TYPE_VERP:
                env->verp_delims = pool_dup(pool, p);
                break;
            case REC_TYPE_WARN:
                env->warn_time = atol(p);
                break;
            case REC_TYPE_ORCP:
                ta.cur.orig_rcpt = pool_dup(pool, p);
                break;
            case REC_TYPE_RCPT:
                take_rcpt(&ta, p);
                break;
            case REC_TYPE_MESG:
                take_content(&ta, rs, buf);
                break;
            default:
                result = -1;
        }
    }
    env->pre_attrs = ta.pre;
    env->post_attrs = ta.post;
    env->extracted_attrs = ta.xattrs;
    env->rcpts = ta.rcpts;
    env->extracted_rcpts = ta.xrcpts;
    env->content = strbuf_str(content);
    env->content_len = strbuf_len(content);
    rec_stream_free(rs);
    strbuf_free(buf);
    return result;
}

static int rebuilt_files;

static void
rebuild_fixture(const char *name, const char *id)
{
    STRBUF *bytes = load_fixture(name);
    STRBUF *content = strbuf_alloc(1000);
    STRBUF *out = strbuf_alloc(1000);
    QFILE_ENVELOPE env;
    POOL pool = {0};

    if (take_apart(bytes, &env, &pool, content) == 0) {
        qfile_make(&env, out);
        ck_assert_msg(strbuf_len(out) == strbuf_len(bytes) &&
                          memcmp(strbuf_str(out), strbuf_str(bytes),
                                 strbuf_len(bytes)) == 0,
                      "%s: the writer's bytes differ from cleanup's", name);
        rebuilt_files++;
    }
    pool_free(&pool);
    strbuf_free(out);
    strbuf_free(content);
    strbuf_free(bytes);
}

/* Given the same envelope and content, the writer makes cleanup's bytes. */
START_TEST(test_writer_matches_cleanup)
{
    rebuilt_files = 0;
    for_each_fixture(rebuild_fixture);
    /* All but the two Milter files (pointer and padding records). */
    ck_assert_int_ge(rebuilt_files, 13);
}
END_TEST

/* The plain sendmail file, spelled out. */
START_TEST(test_writer_plain_file)
{
    STRBUF *bytes = load_fixture("sendmail-plain");
    STRBUF *out = strbuf_alloc(1000);
    LOGS logs = {0};
    QFILE_MSG *msg = read_mem(bytes, "7E4EEA72162", 0, &logs);
    static const char *pre[] = {"rewrite_context=local", NULL};
    QFILE_OUT_RCPT rcpts[2];
    QFILE_ENVELOPE env;
    REC_STREAM *rs =
        rec_stream_mem(strbuf_str(bytes), strbuf_len(bytes), "plain");
    STRBUF *content = strbuf_alloc(100), *buf = strbuf_alloc(100);
    int type;

    rec_seek(rs, msg->data_offset);
    while ((type = rec_get(rs, buf)) == REC_TYPE_NORM) {
        strbuf_addmem(content, strbuf_str(buf), strbuf_len(buf));
        strbuf_addch(content, '\n');
    }
    ck_assert_int_eq(type, REC_TYPE_XTRA);
    memset(&env, 0, sizeof(env));
    env.arrival_sec = msg->arrival_sec;
    env.arrival_usec = msg->arrival_usec;
    env.create_time = msg->create_time;
    env.pre_attrs = pre;
    env.fullname = "Alice A";
    env.sender = msg->sender;
    for (int i = 0; i < 2; i++) {
        rcpts[i].address = msg->rcpt[i].address;
        rcpts[i].orig_rcpt = msg->rcpt[i].orig_rcpt;
        rcpts[i].dsn_orcpt = msg->rcpt[i].dsn_orcpt;
        rcpts[i].dsn_notify = msg->rcpt[i].dsn_notify;
    }
    env.rcpts = rcpts;
    env.rcpt_count = 2;
    env.content = strbuf_str(content);
    env.content_len = strbuf_len(content);
    qfile_make(&env, out);
    ck_assert_uint_eq(strbuf_len(out), strbuf_len(bytes));
    ck_assert(memcmp(strbuf_str(out), strbuf_str(bytes), strbuf_len(out)) == 0);
    /* The size record is exactly 97 bytes, T starts at 97. */
    ck_assert_int_eq(record_type_at(out, QFILE_SIZE_RECORD_LEN), 'T');
    rec_stream_free(rs);
    strbuf_free(content);
    strbuf_free(buf);
    qfile_msg_free(msg);
    logs_free(&logs);
    strbuf_free(out);
    strbuf_free(bytes);
}
END_TEST

/* A file made by the writer alone: postcat accepts it and agrees with us. */
START_TEST(test_writer_postcat_accepts)
{
    static const char *pre[] = {"log_ident=4jXP8N4vSQz1bcqF",
                                "rewrite_context=remote",
                                "envelope_id=abc+2Bdef", "ret_flags=1", NULL};
    static const char *post[] = {"encoding=7bit",
                                 "log_client_name=client.example.test",
                                 "log_client_address=192.0.2.1",
                                 "log_client_port=4711",
                                 "log_protocol_name=ESMTPSA",
                                 "log_helo_name=helo.example.test",
                                 "sasl_method=PLAIN",
                                 "sasl_username=jane",
                                 "trace_flags=1024",
                                 NULL};
    static const char *xattrs[] = {"encoding=8bit", NULL};
    QFILE_OUT_RCPT rcpts[] = {
        {"a@example.net", "A@Example.NET", "rfc822;A@Example.NET",
         QFILE_DSN_NOTIFY_SUCCESS | QFILE_DSN_NOTIFY_DELAY},
        {"b@example.net", NULL, NULL, 0},
        {"c@example.net", "c@example.net", "utf-8;c@example.net",
         QFILE_DSN_NOTIFY_NEVER},
    };
    QFILE_OUT_RCPT xrcpts[] = {
        {"x1@example.org", "x1@example.org", "rfc822;x1@example.org", 0},
        {"x2@example.org", "x2@example.org", NULL, QFILE_DSN_NOTIFY_FAILURE},
    };
    STRBUF *content = strbuf_alloc(8000), *out = strbuf_alloc(1000);
    STRBUF *listing = strbuf_alloc(1000);
    QFILE_ENVELOPE env;
    LOGS logs = {0};
    QFILE_MSG *msg;
    char path[64];
    int fd;

    strbuf_addstr(content, "Subject: made by qfile_make\nFrom: j@example.org"
                           "\n\nline one\n\n");
    for (int i = 0; i < 5000; i++)
        strbuf_addch(content, 'a' + i % 26);
    strbuf_addstr(content, "\nlast line without newline");
    memset(&env, 0, sizeof(env));
    env.arrival_sec = 1795340164;
    env.arrival_usec = 690790;
    env.create_time = 1795340165;
    env.content_filter = "smtp:[127.0.0.1]:10025";
    env.pre_attrs = pre;
    env.fullname = "Jane Doe";
    env.sender = "j@example.org";
    env.verp_delims = "+=";
    env.post_attrs = post;
    env.warn_time = 1795340164 + 4 * 3600;
    env.rcpts = rcpts;
    env.rcpt_count = 3;
    env.content = strbuf_str(content);
    env.content_len = strbuf_len(content);
    env.extracted_attrs = xattrs;
    env.extracted_rcpts = xrcpts;
    env.extracted_rcpt_count = 2;
    env.smtputf8 = 1;
    qfile_make(&env, out);
    fd = write_temp(out, path, sizeof(path));
    postcat_accepts(path, listing);
    check_against_postcat("4jXP8N4vSQz1bcqF", out, strbuf_str(listing));

    msg = read_mem(out, "4jXP8N4vSQz1bcqF", 0, &logs);
    ck_assert_int_eq(msg->status, QFILE_OK);
    ck_assert_int_eq(msg->nrcpt, 5);
    ck_assert_int_eq(msg->read_flags,
                     QFILE_FLAG_NOTIFY_SUCCESS | QFILE_FLAG_NOTIFY_DELAY |
                         QFILE_FLAG_NOTIFY_NEVER | QFILE_FLAG_NOTIFY_FAILURE);
    ck_assert_int_eq(msg->smtputf8, 1);
    ck_assert_str_eq(msg->encoding, "8bit"); /* extracted segment wins */
    ck_assert_str_eq(msg->sasl_method, "PLAIN");
    ck_assert_str_eq(msg->sasl_username, "jane");
    ck_assert_str_eq(msg->sasl_sender, "");
    ck_assert_str_eq(msg->rewrite_context, "remote");
    ck_assert_int_eq(msg->dsn_ret, QFILE_DSN_RET_FULL);
    ck_assert_int_eq(msg->warn_time, env.warn_time);
    ck_assert_int_eq(msg->tflags, QFILE_TRACE_RECORD);
    ck_assert_int_eq(record_type_at(out, msg->tflags_offset), 'A');
    ck_assert_int_eq(msg->arrival_usec, 690790);
    ck_assert_int_eq(msg->create_time, 1795340165);
    ck_assert_str_eq(msg->rcpt[1].orig_rcpt, "");
    ck_assert_int_eq(msg->rcpt[3].dsn_notify, 0);
    ck_assert_str_eq(msg->rcpt[4].dsn_orcpt, "");
    qfile_msg_free(msg);
    logs_free(&logs);
    close(fd);
    unlink(path);
    strbuf_free(listing);
    strbuf_free(content);
    strbuf_free(out);
}
END_TEST

/* The writer's incremental interface: counts, flags, MIXED. */
START_TEST(test_writer_counts_and_flags)
{
    QFILE_WRITER *w = qfile_writer_alloc();
    QFILE_OUT_RCPT r = {"r@example.net", "r@example.net", NULL, 0};
    const STRBUF *bytes;
    STRBUF *copy = strbuf_alloc(100);
    LOGS logs = {0};
    QFILE_MSG *msg;

    qfile_put_time(w, 1795340164, 5);
    qfile_put(w, REC_TYPE_FROM, "s@example.org", 13);
    ck_assert_int_eq(w->flags, 0);
    qfile_put_rcpt(w, &r);
    qfile_put(w, REC_TYPE_DONE, "d@example.net", 13);
    qfile_put(w, REC_TYPE_DRCP, "c@example.net", 13);
    ck_assert_int_eq(w->flags, 0);
    qfile_put_attr(w, "encoding", "8bit"); /* after a recipient */
    ck_assert_int_eq(w->flags, QFILE_FLAG_MIXED_RCPT_OTHER);
    qfile_put_content(w, "Subject: x\n", 11);
    bytes = qfile_writer_finish(w);
    strbuf_setmem(copy, strbuf_str(bytes), strbuf_len(bytes));
    msg = read_mem(copy, "ABCDEF", 0, &logs);
    ck_assert_int_eq(msg->status, QFILE_OK);
    ck_assert_int_eq(msg->nrcpt, 3);
    ck_assert_int_eq(msg->rcpt_count, 1);
    ck_assert_int_eq(msg->read_flags, QFILE_FLAG_MIXED_RCPT_OTHER);
    ck_assert_int_eq(msg->data_size, 12);
    ck_assert_str_eq(msg->encoding, "8bit");
    ck_assert_int_eq(msg->create_time, 1795340164); /* no create_time */
    ck_assert_int_eq(logs.n, 1);
    qfile_msg_free(msg);
    logs_free(&logs);
    qfile_writer_free(w);
    strbuf_free(copy);
}
END_TEST

/*
 * In-place updates.
 */
START_TEST(test_mark_done)
{
    STRBUF *bytes = load_fixture("sendmail-plain");
    STRBUF *listing = strbuf_alloc(1000), *after;
    LOGS logs = {0};
    QFILE_MSG *msg;
    char path[64];
    long first;
    int fd = write_temp(bytes, path, sizeof(path));

    msg = read_fd(fd, "7E4EEA72162", 0, &logs);
    ck_assert_int_eq(msg->rcpt_count, 2);
    first = msg->rcpt[0].offset;
    ck_assert_int_eq(qfile_mark_done(fd, first), 0);
    ck_assert_int_eq(qfile_mark_done(fd, 0), -1);
    qfile_msg_free(msg);
    logs_free(&logs);

    after = load_file(path);
    ck_assert_int_eq(record_type_at(after, first), 'D');
    ck_assert_uint_eq(strbuf_len(after), strbuf_len(bytes));
    for (size_t i = 0; i < strbuf_len(after); i++)
        if ((long) i != first)
            ck_assert_int_eq(strbuf_str(after)[i], strbuf_str(bytes)[i]);

    msg = read_fd(fd, "7E4EEA72162", 0, &logs);
    ck_assert_int_eq(msg->status, QFILE_OK);
    ck_assert_int_eq(msg->rcpt_count, 1);
    ck_assert_str_eq(msg->rcpt[0].address, "carol@example.net");
    ck_assert_int_eq(msg->nrcpt, 2); /* never updated */
    ck_assert_int_eq(logs.n, 1);     /* no count mismatch: D counts */
    /* postcat sees the done recipient where we marked it. */
    postcat_accepts(path, listing);
    {
        char want[128];

        snprintf(want, sizeof(want), "%9ld %3d done_recipient: bob@example.net",
                 first, 'D');
        ck_assert_ptr_nonnull(strstr(strbuf_str(listing), want));
    }
    check_against_postcat("7E4EEA72162", after, strbuf_str(listing));
    qfile_msg_free(msg);
    logs_free(&logs);
    close(fd);
    unlink(path);
    strbuf_free(after);
    strbuf_free(listing);
    strbuf_free(bytes);
}
END_TEST

START_TEST(test_warn_rewrite)
{
    STRBUF *bytes = load_fixture("sendmail-delay-warning");
    STRBUF *after, *listing = strbuf_alloc(1000);
    LOGS logs = {0};
    QFILE_MSG *msg;
    char path[64];
    long at;
    int fd = write_temp(bytes, path, sizeof(path));

    msg = read_fd(fd, "X", 0, &logs);
    ck_assert_int_eq(msg->status, QFILE_OK);
    at = msg->warn_offset;
    ck_assert_int_eq(record_type_at(bytes, at), 'W');
    ck_assert_int_eq(msg->warn_time, msg->arrival_sec + 4 * 3600);
    /* Only a 17-byte W record is rewritten. */
    errno = 0;
    ck_assert_int_eq(qfile_update_warn(fd, msg->rcpt[0].offset, -1), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(qfile_update_warn(fd, 0, -1), -1);
    ck_assert_int_eq(qfile_update_warn(fd, at, -1), 0);
    qfile_msg_free(msg);
    logs_free(&logs);

    after = load_file(path);
    ck_assert(memcmp(strbuf_str(after) + at, "W\x0f             -1", 17) == 0);
    ck_assert(memcmp(strbuf_str(after), strbuf_str(bytes), (size_t) at) == 0);
    ck_assert(memcmp(strbuf_str(after) + at + 17, strbuf_str(bytes) + at + 17,
                     strbuf_len(bytes) - (size_t) at - 17) == 0);
    msg = read_fd(fd, "X", 0, &logs);
    ck_assert_int_eq(msg->status, QFILE_OK);
    ck_assert_int_eq(msg->warn_time, -1);
    ck_assert_int_eq(msg->warn_offset, at);
    postcat_accepts(path, listing);
    qfile_msg_free(msg);
    logs_free(&logs);
    close(fd);
    unlink(path);
    strbuf_free(after);
    strbuf_free(listing);
    strbuf_free(bytes);
}
END_TEST

START_TEST(test_trace_kill)
{
    STRBUF *bytes = load_fixture("sendmail-trace");
    STRBUF *after, *listing = strbuf_alloc(1000);
    LOGS logs = {0};
    QFILE_MSG *msg;
    char path[64];
    long at;
    int fd = write_temp(bytes, path, sizeof(path));

    msg = read_fd(fd, "X", 0, &logs);
    ck_assert_int_eq(msg->tflags, QFILE_TRACE_RECORD);
    at = msg->tflags_offset;
    ck_assert_int_eq(at, offset_of(bytes, 'A', 2)); /* after create_time,
                                                       rewrite_context */
    ck_assert_int_eq(qfile_kill_record(fd, at), 0);
    ck_assert_int_eq(qfile_kill_record(fd, 0), -1);
    qfile_msg_free(msg);
    logs_free(&logs);
    after = load_file(path);
    ck_assert_int_eq(record_type_at(after, at), 'K');
    msg = read_fd(fd, "X", 0, &logs);
    ck_assert_int_eq(msg->status, QFILE_OK);
    ck_assert_int_eq(msg->tflags, 0);
    ck_assert_int_eq(msg->tflags_offset, 0);
    ck_assert_int_eq(logs.n, 1);
    postcat_accepts(path, listing);
    ck_assert_ptr_nonnull(strstr(strbuf_str(listing), "killed_record"));
    qfile_msg_free(msg);
    logs_free(&logs);
    close(fd);
    unlink(path);
    strbuf_free(after);
    strbuf_free(listing);
    strbuf_free(bytes);
}
END_TEST

/*
 * Corrupt files.
 */

/* expect_corrupt - bytes are rejected with these lines (NULL: none) */

static void
expect_corrupt(const STRBUF *bytes, QFILE_STATUS status, const char *record,
               const char *text)
{
    LOGS logs = {0};
    QFILE_MSG *msg = read_mem(bytes, "ABCDEF", 0, &logs);

    ck_assert_msg(msg->status == status, "status %s, expected %s (%s)",
                  qfile_status_name(msg->status), qfile_status_name(status),
                  msg->err_text ? msg->err_text : "");
    if (record)
        ck_assert_str_eq(msg->err_record ? msg->err_record : "(none)", record);
    else
        ck_assert_ptr_null(msg->err_record);
    if (text)
        ck_assert_str_eq(msg->err_text ? msg->err_text : "(none)", text);
    else
        ck_assert_ptr_null(msg->err_text);
    ck_assert_int_eq(msg->rcpt_count, 0);
    ck_assert_int_eq(msg->rcpt_offset, 0);
    qfile_msg_free(msg);
    logs_free(&logs);
}

/* set_size - replace the C record payload (95 bytes, space padded) */

static STRBUF *
with_size(const char *name, const char *payload)
{
    STRBUF *bytes = load_fixture(name);
    char field[96];

    snprintf(field, sizeof(field), "%-95s", payload);
    memcpy(strbuf_str(bytes) + 2, field, 95);
    return bytes;
}

/* plain_sizes - data size and offset of the sendmail-plain fixture */

static void
plain_sizes(long *data_size, long *data_offset)
{
    STRBUF *bytes = load_fixture("sendmail-plain");

    ck_assert_int_eq(
        sscanf(strbuf_str(bytes) + 2, "%ld %ld", data_size, data_offset), 2);
    strbuf_free(bytes);
}

/* plain_size - "<data size + delta> <data offset> <rest>" for sendmail-plain */

static const char *
plain_size(long delta, const char *rest)
{
    static char buf[128];
    long ds, doff;

    plain_sizes(&ds, &doff);
    snprintf(buf, sizeof(buf), "%ld %ld %s", ds + delta, doff, rest);
    return buf;
}

static void
truncate_fixture(const char *name, const char *id)
{
    STRBUF *bytes = load_fixture(name);
    STRBUF *cut = strbuf_alloc(strbuf_len(bytes));

    for (size_t len = 0; len < strbuf_len(bytes); len++) {
        LOGS logs = {0};
        QFILE_MSG *msg;

        strbuf_setmem(cut, strbuf_str(bytes), len);
        msg = read_mem(cut, "ABCDEF", 0, &logs);
        ck_assert_msg(
            msg->status == QFILE_ERR_RECORD || msg->status == QFILE_ERR_NO_END,
            "%s cut at %zu: %s", name, len, qfile_status_name(msg->status));
        ck_assert_str_eq(msg->err_text,
                         "ABCDEF: message rejected: missing end record");
        /* A cut inside a record also gets the record reader's line. */
        ck_assert((msg->status == QFILE_ERR_RECORD) == (msg->err_record != 0));
        ck_assert_int_eq(msg->rcpt_count, 0);
        qfile_msg_free(msg);
        logs_free(&logs);
    }
    strbuf_free(cut);
    strbuf_free(bytes);
}

START_TEST(test_truncated_everywhere)
{
    for_each_fixture(truncate_fixture);
}
END_TEST

/* What qmgr logs for a cut file, in its order. */
START_TEST(test_truncated_log_order)
{
    STRBUF *bytes = load_fixture("sendmail-plain");
    LOGS logs = {0};
    QFILE_MSG *msg;
    char warnings[1024];
    long second = offset_of(bytes, 'R', 1);

    strbuf_truncate(bytes, (size_t) second + 5); /* inside the 2nd R */
    msg = read_mem(bytes, "7E4EEA72162", 0, &logs);
    ck_assert_int_eq(msg->status, QFILE_ERR_RECORD);
    ck_assert_int_eq(logs.event[0], QFILE_EV_SENDER);
    logs_warnings(&logs, warnings, sizeof(warnings));
    ck_assert_str_eq(warnings,
                     "active/X: unexpected EOF in data, record type 82 length "
                     "17|7E4EEA72162: message rejected: missing end record|"
                     "7E4EEA72162: rcpt count mismatch (1)");
    ck_assert_int_eq(msg->rcpt_unread, 0); /* as before the read */
    qfile_msg_free(msg);
    logs_free(&logs);
    strbuf_free(bytes);
}
END_TEST

START_TEST(test_bad_length_bytes)
{
    STRBUF *bytes = load_fixture("sendmail-plain");

    char want[128];
    int len = strbuf_str(bytes)[98];

    /* T's length gets a continuation bit: len + ('1' << 7). */
    ck_assert_int_eq(strbuf_str(bytes)[97], 'T');
    ck_assert_int_eq(strbuf_str(bytes)[99], '1');
    strbuf_str(bytes)[98] = (char) (len | 0x80);
    snprintf(want, sizeof(want),
             "active/X: unexpected EOF in data, record type 84 length %d",
             len + ('1' << 7));
    expect_corrupt(bytes, QFILE_ERR_RECORD, want,
                   "ABCDEF: message rejected: missing end record");
    memset(strbuf_str(bytes) + 98, 0xff, 4);
    expect_corrupt(bytes, QFILE_ERR_RECORD,
                   "active/X: too many length bits, record type 84",
                   "ABCDEF: message rejected: missing end record");
    strbuf_free(bytes);
}
END_TEST

START_TEST(test_bad_size_records)
{
    static const struct {
        const char *payload;
        QFILE_STATUS status;
        const char *text;
    } cases[] = {
        {"0 375 2 12 274 0", QFILE_ERR_INVALID_SIZE, "invalid size record"},
        {"274 0 2 12 274 0", QFILE_ERR_INVALID_SIZE, "invalid size record"},
        {"-1 375 2 12 274 0", QFILE_ERR_INVALID_SIZE, "invalid size record"},
        {"274 375 2 12 -5 0", QFILE_ERR_INVALID_SIZE, "invalid size record"},
        {"274 375 2 32 274 0", QFILE_ERR_SIZE_FLAGS,
         "invalid flags in size record"},
        {"274 375 2 -1 274 0", QFILE_ERR_SIZE_FLAGS,
         "invalid flags in size record"},
        {"274 375", QFILE_ERR_WEIRD_SIZE, NULL},
        {"nonsense", QFILE_ERR_WEIRD_SIZE, NULL},
        {"", QFILE_ERR_WEIRD_SIZE, NULL},
    };
    char want[256], field[96];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        STRBUF *bytes = with_size("sendmail-plain", cases[i].payload);

        snprintf(field, sizeof(field), "%-95s", cases[i].payload);
        if (cases[i].text)
            snprintf(want, sizeof(want), "ABCDEF: %s: %.100s", cases[i].text,
                     field);
        else
            snprintf(want, sizeof(want),
                     "ABCDEF: message rejected: weird size record");
        expect_corrupt(bytes, cases[i].status, NULL, want);
        strbuf_free(bytes);
    }
}
END_TEST

/* Short size records of older Postfix versions are fine. */
START_TEST(test_short_size_records)
{
    static const struct {
        const char *rest; /* after data size and offset */
        int flags;
        long cont_length; /* 0: the data size */
        int smtputf8;
    } cases[] = {
        {"2", QFILE_FLAG_MIXED_RCPT_OTHER, 0, 0},
        {"2 12", 12, 0, 0},
        {"2 12 0", 12, 0, 0},
        {"2 12 100", 12, 100, 0},
        {"2 12 100 7", 12, 100, 7},
        {"\t 2  12\t100 7 99", 12, 100, 7},
    };
    long ds, doff;

    plain_sizes(&ds, &doff);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        STRBUF *bytes =
            with_size("sendmail-plain", plain_size(0, cases[i].rest));
        LOGS logs = {0};
        QFILE_MSG *msg = read_mem(bytes, "ABCDEF", 0, &logs);

        ck_assert_msg(msg->status == QFILE_OK, "%s", cases[i].rest);
        ck_assert_int_eq(msg->read_flags, cases[i].flags);
        ck_assert_int_eq(msg->cont_length,
                         cases[i].cont_length ? cases[i].cont_length : ds);
        ck_assert_int_eq(msg->smtputf8, cases[i].smtputf8);
        ck_assert_int_eq(msg->rcpt_count, 2);
        qfile_msg_free(msg);
        logs_free(&logs);
        strbuf_free(bytes);
    }
}
END_TEST

/* A pre-2001 file: the size record holds only the extracted offset. */
START_TEST(test_old_style_file)
{
    STRBUF *bytes = strbuf_alloc(1000);
    LOGS logs = {0};
    QFILE_MSG *msg;
    long xtra = 0, data_offset = 0;

    for (int pass = 0; pass < 2; pass++) {
        strbuf_reset(bytes);
        rec_putf(bytes, 'C', "%15ld", xtra);
        rec_putf(bytes, 'T', "%ld", 900000000L);
        rec_put(bytes, 'S', "old@example.org", 15);
        rec_put(bytes, 'R', "r1@example.net", 14);
        rec_putf(bytes, 'M', "%15ld", xtra);
        data_offset = (long) strbuf_len(bytes);
        rec_put(bytes, 'N', "Subject: old", 12);
        rec_put(bytes, 'N', "", 0);
        rec_put(bytes, 'N', "body", 4);
        xtra = (long) strbuf_len(bytes);
        rec_put(bytes, 'X', "", 0);
        rec_put(bytes, 'R', "r2@example.net", 14);
        rec_put(bytes, 'E', "", 0);
    }
    msg = read_mem(bytes, "OLD", 0, &logs);
    ck_assert_int_eq(msg->status, QFILE_OK);
    ck_assert_int_eq(msg->data_offset, data_offset);
    ck_assert_int_eq(msg->data_size, xtra - data_offset);
    ck_assert_int_eq(msg->nrcpt, 2);
    ck_assert_int_eq(msg->rcpt_count, 2);
    ck_assert_str_eq(msg->rcpt[1].address, "r2@example.net");
    ck_assert_int_eq(msg->arrival_sec, 900000000L);
    ck_assert_int_eq(msg->arrival_usec, 0);
    ck_assert_int_eq(msg->read_flags, QFILE_FLAG_MIXED_RCPT_OTHER);
    qfile_msg_free(msg);
    logs_free(&logs);
    /* New files have an empty M record: there is no extra offset in it. */
    strbuf_free(bytes);
    bytes = with_size("sendmail-plain", "651");
    expect_corrupt(bytes, QFILE_ERR_OLD_LAYOUT, NULL,
                   "bad extra offset  file ABCDEF");
    strbuf_free(bytes);
}
END_TEST

START_TEST(test_wrong_data_size)
{
    STRBUF *bytes = with_size("sendmail-plain", plain_size(-8, "2 12"));
    long ds, doff;
    char want[128];

    plain_sizes(&ds, &doff);
    /* Eight bytes short: the last text record ("Hello.") is there. */
    snprintf(want, sizeof(want), "Unexpected record type 'N' at offset %ld",
             doff + ds - 8);
    expect_corrupt(bytes, QFILE_ERR_UNEXPECTED, NULL, want);
    strbuf_free(bytes);
    /* Two bytes short: "o." read as a record that runs past the end. */
    bytes = with_size("sendmail-plain", plain_size(-2, "2 12"));
    expect_corrupt(bytes, QFILE_ERR_RECORD,
                   "active/X: unexpected EOF in data, record type 111 length "
                   "46",
                   "ABCDEF: message rejected: missing end record");
    strbuf_free(bytes);
    /* One byte long: the 'X' length byte 0 is a type, 'E' a length. */
    bytes = with_size("sendmail-plain", plain_size(1, "2 12"));
    expect_corrupt(bytes, QFILE_ERR_RECORD,
                   "active/X: unexpected EOF in data, record type 0 length 69",
                   "ABCDEF: message rejected: missing end record");
    strbuf_free(bytes);
    /* Far beyond the end of the file. */
    bytes = with_size("sendmail-plain", plain_size(99999999, "2 12"));
    expect_corrupt(bytes, QFILE_ERR_NO_END, NULL,
                   "ABCDEF: message rejected: missing end record");
    strbuf_free(bytes);
    snprintf(want, sizeof(want), "9223372036854775807 %ld 2 12", doff);
    bytes = with_size("sendmail-plain", want);
    expect_corrupt(bytes, QFILE_ERR_NO_END, NULL,
                   "ABCDEF: message rejected: missing end record");
    strbuf_free(bytes);
}
END_TEST

START_TEST(test_missing_end)
{
    STRBUF *bytes = load_fixture("sendmail-plain");

    strbuf_truncate(bytes, strbuf_len(bytes) - 2);
    expect_corrupt(bytes, QFILE_ERR_NO_END, NULL,
                   "ABCDEF: message rejected: missing end record");
    strbuf_free(bytes);
}
END_TEST

/* patch - replace len bytes at the offset of a record's payload */

static STRBUF *
patch_payload(const char *name, int type, int nth, const char *payload)
{
    STRBUF *bytes = load_fixture(name);
    long at = offset_of(bytes, type, nth);

    ck_assert_int_gt(at, 0);
    memcpy(strbuf_str(bytes) + at + 2, payload, strlen(payload));
    return bytes;
}

START_TEST(test_bad_attribute)
{
    /* The second A record of sendmail-plain is "rewrite_context=local". */
    STRBUF *bytes =
        patch_payload("sendmail-plain", 'A', 1, "rewrite_context local");

    expect_corrupt(bytes, QFILE_ERR_BAD_ATTR, NULL,
                   "ABCDEF: bad attribute record: missing '=' after attribute "
                   "name: rewrite_context local");
    strbuf_free(bytes);
    bytes = patch_payload("sendmail-plain", 'A', 1, "=ewrite_context=local");
    expect_corrupt(bytes, QFILE_ERR_BAD_ATTR, NULL,
                   "ABCDEF: bad attribute record: missing attribute name: "
                   "=ewrite_context=local");
    strbuf_free(bytes);
    bytes = patch_payload("sendmail-plain", 'A', 1, "                     ");
    expect_corrupt(bytes, QFILE_ERR_BAD_ATTR, NULL,
                   "ABCDEF: bad attribute record: missing attribute name: "
                   "                     ");
    strbuf_free(bytes);
    /* White space around name, '=' and value is fine. */
    bytes = patch_payload("sendmail-plain", 'A', 1, " rewrite_context= rem");
    {
        LOGS logs = {0};
        QFILE_MSG *msg = read_mem(bytes, "ABCDEF", 0, &logs);

        ck_assert_int_eq(msg->status, QFILE_OK);
        ck_assert_str_eq(msg->rewrite_context, "rem");
        qfile_msg_free(msg);
        logs_free(&logs);
    }
    strbuf_free(bytes);
}
END_TEST

/* set_type - change the type byte of the nth record of a type */

static STRBUF *
set_type(const char *name, int type, int nth, int new_type)
{
    STRBUF *bytes = load_fixture(name);
    long at = offset_of(bytes, type, nth);

    ck_assert_int_ge(at, 0);
    strbuf_str(bytes)[at] = (char) new_type;
    return bytes;
}

START_TEST(test_unexpected_record_types)
{
    STRBUF *bytes = set_type("sendmail-plain", 'F', 0, 'Z');
    long at = offset_of(bytes, 'Z', 0);
    char want[128];

    snprintf(want, sizeof(want), "Unexpected record type 'Z' at offset %ld",
             at);
    expect_corrupt(bytes, QFILE_ERR_UNEXPECTED, NULL, want);
    strbuf_free(bytes);
    /* Records of the cleanup protocol only. */
    for (const char *cp = "fdmXNw"; *cp; cp++) {
        bytes = set_type("sendmail-plain", 'F', 0, *cp);
        snprintf(want, sizeof(want),
                 "Unexpected record type '%c' at offset %ld", *cp, at);
        expect_corrupt(bytes, QFILE_ERR_UNEXPECTED, NULL, want);
        strbuf_free(bytes);
    }
    /* A type byte 0 is taken as the end of the file. */
    bytes = set_type("sendmail-plain", 'F', 0, 0);
    expect_corrupt(bytes, QFILE_ERR_NO_END, NULL,
                   "ABCDEF: message rejected: missing end record");
    strbuf_free(bytes);
    /* Legacy types in the extracted set are accepted anywhere. */
    for (const char *cp = "PreKMI>L<"; *cp; cp++) {
        LOGS logs = {0};
        QFILE_MSG *msg;

        bytes = set_type("sendmail-plain", 'F', 0, *cp);
        msg = read_mem(bytes, "ABCDEF", 0, &logs);
        ck_assert_msg(msg->status == QFILE_OK, "type %c", *cp);
        qfile_msg_free(msg);
        logs_free(&logs);
        strbuf_free(bytes);
    }
}
END_TEST

START_TEST(test_pointer_errors)
{
    STRBUF *bytes = load_fixture("sendmail-milter");
    long dummy = offset_of(bytes, 'p', 1); /* after the last recipient */
    char payload[32];

    ck_assert_int_eq(record_type_at(bytes, dummy + 17), 'M');
    snprintf(payload, sizeof(payload), "%15ld", dummy);
    memcpy(strbuf_str(bytes) + dummy + 2, payload, 15);
    expect_corrupt(bytes, QFILE_ERR_RECORD,
                   "active/X: too many reverse jump records", NULL);
    memcpy(strbuf_str(bytes) + dummy + 2, "            12x", 15);
    expect_corrupt(bytes, QFILE_ERR_RECORD,
                   "active/X: malformed pointer record value: 12x", NULL);
    strbuf_free(bytes);
}
END_TEST

START_TEST(test_missing_required_records)
{
    STRBUF *bytes = set_type("sendmail-plain", 'T', 0, 'K');
    STRBUF *made = strbuf_alloc(100);
    char want[128];

    expect_corrupt(bytes, QFILE_ERR_NO_TIME, NULL,
                   "ABCDEF: message rejected: missing arrival time record");
    strbuf_free(bytes);
    bytes = patch_payload("sendmail-plain", 'T', 0, "0000000000");
    expect_corrupt(bytes, QFILE_ERR_NO_TIME, NULL,
                   "ABCDEF: message rejected: missing arrival time record");
    strbuf_free(bytes);
    bytes = set_type("sendmail-plain", 'S', 0, 'K');
    expect_corrupt(bytes, QFILE_ERR_NO_SENDER, NULL,
                   "ABCDEF: message rejected: missing sender record");
    strbuf_free(bytes);
    /* Without a size record the content cannot be skipped... */
    bytes = set_type("sendmail-plain", 'C', 0, 'K');
    snprintf(want, sizeof(want), "Unexpected record type 'N' at offset %ld",
             offset_of(bytes, 'N', 0));
    expect_corrupt(bytes, QFILE_ERR_UNEXPECTED, NULL, want);
    strbuf_free(bytes);
    /* ...so a file without one and without content lacks the size record. */
    rec_put(made, 'T', "1795340164 1", 12);
    rec_put(made, 'S', "s@example.org", 13);
    rec_put(made, 'R', "r@example.net", 13);
    rec_put(made, 'M', "", 0);
    rec_put(made, 'E', "", 0);
    expect_corrupt(made, QFILE_ERR_NO_SIZE, NULL,
                   "ABCDEF: message rejected: missing size record");
    strbuf_free(made);
}
END_TEST

START_TEST(test_read_error)
{
    int fd = open("/dev/null", O_WRONLY);
    LOGS logs = {0};
    QFILE_MSG *msg = read_fd(fd, "ABCDEF", 0, &logs);

    ck_assert_int_eq(msg->status, QFILE_ERR_IO);
    ck_assert_ptr_nonnull(strstr(msg->err_record, "read error"));
    ck_assert_ptr_null(msg->err_text);
    qfile_msg_free(msg);
    logs_free(&logs);
    close(fd);
}
END_TEST

/* The sender event comes before a later problem, as qmgr's from= line. */
START_TEST(test_sender_event_before_error)
{
    STRBUF *bytes = set_type("sendmail-plain", 'O', 0, 'Z');
    LOGS logs = {0};
    QFILE_MSG *msg = read_mem(bytes, "ABCDEF", 0, &logs);

    ck_assert_int_eq(msg->status, QFILE_ERR_UNEXPECTED);
    ck_assert_int_eq(logs.n, 3);
    ck_assert_int_eq(logs.event[0], QFILE_EV_SENDER);
    ck_assert_str_eq(logs.text[0], "alice@example.org");
    ck_assert_int_eq(logs.event[1], QFILE_EV_WARN);
    {
        char want[128];

        snprintf(want, sizeof(want), "Unexpected record type 'Z' at offset %ld",
                 offset_of(bytes, 'Z', 0));
        ck_assert_str_eq(logs.text[1], want);
    }
    ck_assert_str_eq(logs.text[2], "ABCDEF: rcpt count mismatch (2)");
    qfile_msg_free(msg);
    logs_free(&logs);
    strbuf_free(bytes);
}
END_TEST

/*
 * Warnings that do not make a file corrupt, and first/last-wins rules.
 */

/* build - a file from a list of envelope records, content "Subject: x" */

static STRBUF *
build(const char *const *recs, const char *const *xrecs)
{
    QFILE_WRITER *w = qfile_writer_alloc();
    STRBUF *out = strbuf_alloc(1000);
    const STRBUF *bytes;

    for (; *recs; recs++)
        qfile_put(w, (*recs)[0], *recs + 1, strlen(*recs + 1));
    qfile_put_content(w, "Subject: x\n", 11);
    for (; xrecs && *xrecs; xrecs++)
        qfile_put(w, (*xrecs)[0], *xrecs + 1, strlen(*xrecs + 1));
    bytes = qfile_writer_finish(w);
    strbuf_setmem(out, strbuf_str(bytes), strbuf_len(bytes));
    qfile_writer_free(w);
    return out;
}

/* expect_warnings - read records, expect status OK and these warnings */

static QFILE_MSG *
expect_warnings(const char *const *recs, const char *const *xrecs,
                const char *warnings)
{
    STRBUF *bytes = build(recs, xrecs);
    LOGS logs = {0};
    QFILE_MSG *msg = read_mem(bytes, "ABCDEF", 0, &logs);
    char got[4096];

    ck_assert_msg(msg->status == QFILE_OK, "%s",
                  qfile_status_name(msg->status));
    logs_warnings(&logs, got, sizeof(got));
    ck_assert_str_eq(got, warnings);
    logs_free(&logs);
    strbuf_free(bytes);
    return msg;
}

START_TEST(test_rcpt_count_mismatch)
{
    STRBUF *bytes = with_size("sendmail-plain", plain_size(0, "3 12"));
    LOGS logs = {0};
    QFILE_MSG *msg = read_mem(bytes, "ABCDEF", 0, &logs);
    char got[256];

    ck_assert_int_eq(msg->status, QFILE_OK);
    logs_warnings(&logs, got, sizeof(got));
    ck_assert_str_eq(got, "ABCDEF: rcpt count mismatch (1)");
    ck_assert_int_eq(msg->rcpt_unread, 0);
    ck_assert_int_eq(msg->nrcpt, 3);
    qfile_msg_free(msg);
    logs_free(&logs);
    strbuf_free(bytes);
    bytes = with_size("sendmail-plain", plain_size(0, "1 12"));
    msg = read_mem(bytes, "ABCDEF", 0, &logs);
    logs_warnings(&logs, got, sizeof(got));
    ck_assert_str_eq(got, "ABCDEF: rcpt count mismatch (-1)");
    qfile_msg_free(msg);
    logs_free(&logs);
    strbuf_free(bytes);
}
END_TEST

START_TEST(test_dsn_warnings)
{
    const char *recs[] = {"T1795340164 7",
                          "Ss@example.org",
                          "Oorig1",
                          "Oorig2",
                          "Adsn_orig_rcpt=rfc822;one",
                          "Adsn_orig_rcpt=rfc822;two",
                          "Anotify_flags=2",
                          "Anotify_flags=4",
                          "Rr1@example.net",
                          "Anotify_flags=3",
                          "Rr2@example.net",
                          "Anotify_flags=abc",
                          "n1",
                          "o rfc822;native",
                          "Rr3@example.net",
                          "Aret_flags=3",
                          "Oleft-over",
                          "Adsn_orig_rcpt=rfc822;left",
                          NULL};
    QFILE_MSG *msg = expect_warnings(
        recs, NULL,
        "ABCDEF: ignoring out-of-order original recipient <orig1>|"
        "ABCDEF: ignoring out-of-order DSN original recipient address "
        "<rfc822;one>|"
        "ABCDEF: ignoring out-of-order DSN notify flags <2>|"
        "ABCDEF: ignoring malformed DSN notify flags <3>|"
        "ABCDEF: ignoring malformed DSN notify flags <abc>|"
        "ABCDEF: ignoring malformed DSN RET flags in queue file record:3|"
        "ABCDEF: ignoring out-of-order DSN original recipient <rfc822;left>|"
        "ABCDEF: ignoring out-of-order original recipient <left-over>");

    ck_assert_int_eq(msg->rcpt_count, 3);
    ck_assert_str_eq(msg->rcpt[0].orig_rcpt, "orig2");
    ck_assert_str_eq(msg->rcpt[0].dsn_orcpt, "rfc822;two");
    ck_assert_int_eq(msg->rcpt[0].dsn_notify, 4);
    ck_assert_int_eq(msg->rcpt[1].dsn_notify, 0);
    ck_assert_int_eq(msg->rcpt[2].dsn_notify, QFILE_DSN_NOTIFY_NEVER);
    ck_assert_str_eq(msg->rcpt[2].dsn_orcpt, " rfc822;native");
    ck_assert_int_eq(msg->dsn_ret, 0);
    qfile_msg_free(msg);
}
END_TEST

START_TEST(test_verp_warnings)
{
    const char *null_sender[] = {"T1795340164 7", "S", "V+=", "Rr@x", NULL};
    const char *bad[] = {"T1795340164 7", "Ss@x", "Vxy", "V+=", "Rr@x", NULL};
    const char *three[] = {"T1795340164 7", "Ss@x", "V+=-", "Rr@x", NULL};
    const char *first[] = {"T1795340164 7", "Ss@x", "V-=", "V+=", "Rr@x", NULL};
    QFILE_MSG *msg;

    msg = expect_warnings(null_sender, NULL,
                          "ABCDEF: ignoring VERP request for null sender");
    ck_assert_ptr_null(msg->verp_delims);
    ck_assert_str_eq(msg->sender, "");
    qfile_msg_free(msg);
    /* A bad request does not stop a later good one. */
    msg =
        expect_warnings(bad, NULL, "ABCDEF: ignoring bad VERP request: \"xy\"");
    ck_assert_str_eq(msg->verp_delims, "+=");
    qfile_msg_free(msg);
    msg = expect_warnings(three, NULL,
                          "ABCDEF: ignoring bad VERP request: \"+=-\"");
    qfile_msg_free(msg);
    msg = expect_warnings(first, NULL, "");
    ck_assert_str_eq(msg->verp_delims, "-=");
    qfile_msg_free(msg);
}
END_TEST

START_TEST(test_verp_filter_setting)
{
    const char *recs[] = {"T1795340164 7", "Ss@x", "V.%", "Rr@x", NULL};
    STRBUF *bytes = build(recs, NULL);
    LOGS logs = {0};
    QFILE_MSG *msg = qfile_msg_alloc("ABCDEF");
    REC_STREAM *rs = rec_stream_mem(strbuf_str(bytes), strbuf_len(bytes), "v");

    msg->log_fn = collect_log;
    msg->log_context = &logs;
    msg->verp_filter = ".%";
    ck_assert_int_eq(qfile_read(msg, rs, 0), QFILE_OK);
    ck_assert_str_eq(msg->verp_delims, ".%");
    ck_assert_int_eq(logs.n, 1);
    rec_stream_free(rs);
    qfile_msg_free(msg);
    logs_free(&logs);
    strbuf_free(bytes);
}
END_TEST

START_TEST(test_first_and_last_wins)
{
    const char *recs[] = {"T1795340164 7",
                          "T1795340999 8",
                          "Acreate_time=1795340170",
                          "c1795340180",
                          "Ss@example.org",
                          "Sother@example.org",
                          "Alog_ident=first",
                          "Alog_ident=second",
                          "Asasl_method=PLAIN",
                          "Asasl_method=LOGIN",
                          "Asasl_username=u1",
                          "Asasl_username=u2",
                          "Asasl_sender=s1",
                          "Asasl_sender=s2",
                          "Arewrite_context=remote",
                          "Arewrite_context=local",
                          "Aenvelope_id=env1",
                          "ienv2",
                          "Aret_flags=1",
                          "<2",
                          "Ltransport1:hop1",
                          "Ltransport2",
                          "Iinspect1",
                          "Iinspect2",
                          ">redirect1@x",
                          ">redirect2@x",
                          "W            100",
                          "W            200",
                          "Atrace_flags=0",
                          "Atrace_flags=1024",
                          "Atrace_flags=512",
                          "Aencoding=7bit",
                          "Aunknown_attribute=ignored",
                          "Fname",
                          "Rr@example.net",
                          NULL};
    const char *xrecs[] = {"Aencoding=8bit", NULL};
    QFILE_MSG *msg = expect_warnings(
        recs, xrecs,
        "ABCDEF: ignoring multiple log_ident attribute: second|"
        "ABCDEF: ignoring multiple sasl_method attribute: LOGIN|"
        "ABCDEF: ignoring multiple sasl_username attribute: u2|"
        "ABCDEF: ignoring multiple sasl_sender attribute: s2|"
        "ABCDEF: ignoring multiple rewrite_context attribute: local");

    ck_assert_int_eq(msg->arrival_sec, 1795340164);
    ck_assert_int_eq(msg->arrival_usec, 7);
    ck_assert_int_eq(msg->create_time, 1795340170);
    ck_assert_str_eq(msg->sender, "s@example.org");
    ck_assert_str_eq(msg->log_ident, "first");
    ck_assert_str_eq(msg->sasl_method, "PLAIN");
    ck_assert_str_eq(msg->rewrite_context, "remote");
    ck_assert_str_eq(msg->dsn_envid, "env2");
    ck_assert_int_eq(msg->dsn_ret, 2);
    ck_assert_str_eq(msg->filter_xport, "transport2");
    ck_assert_str_eq(msg->inspect_xport, "inspect2");
    ck_assert_str_eq(msg->redirect_addr, "redirect2@x");
    ck_assert_int_eq(msg->warn_time, 100);
    ck_assert_int_eq(msg->tflags, QFILE_TRACE_RECORD);
    ck_assert_int_gt(msg->tflags_offset, 0);
    ck_assert_str_eq(msg->encoding, "8bit");
    qfile_msg_free(msg);
}
END_TEST

START_TEST(test_trace_flags)
{
    const char *probe[] = {"T1795340164 7", "Ss@x", "Atrace_flags=256", "Rr@x",
                           NULL};
    const char *masked[] = {"T1795340164 7", "Ss@x", "Atrace_flags=1025",
                            "Rr@x", NULL};
    QFILE_MSG *msg;

    msg = expect_warnings(probe, NULL, "");
    ck_assert_int_eq(msg->tflags, QFILE_TRACE_MTA_VRFY);
    ck_assert_int_eq(msg->tflags_offset, 0);
    qfile_msg_free(msg);
    /* Only the trace bits count; 1025 & mask is exactly 1024. */
    msg = expect_warnings(masked, NULL, "");
    ck_assert_int_eq(msg->tflags, QFILE_TRACE_RECORD);
    ck_assert_int_gt(msg->tflags_offset, 0);
    qfile_msg_free(msg);
}
END_TEST

START_TEST(test_client_attributes)
{
    const char *legacy[] = {"T1795340164 7",
                            "Ss@x",
                            "Aclient_name=legacy.example",
                            "Aclient_address=192.0.2.9",
                            "Ahelo_name=legacy-helo",
                            "Rr@x",
                            NULL};
    const char *modern[] = {"T1795340164 7",
                            "Ss@x",
                            "Aclient_name=legacy.example",
                            "Alog_client_name=log.example",
                            "Aclient_address=192.0.2.9",
                            "Alog_client_name=log2.example",
                            "Rr@x",
                            NULL};
    QFILE_MSG *msg;

    msg = expect_warnings(legacy, NULL, "");
    ck_assert_str_eq(msg->client_name, "legacy.example");
    ck_assert_str_eq(msg->client_addr, "192.0.2.9");
    ck_assert_str_eq(msg->client_helo, "legacy-helo");
    ck_assert_str_eq(msg->client_port, "");
    qfile_msg_free(msg);
    /* Once a log_* attribute was seen, legacy ones are not used. */
    msg = expect_warnings(modern, NULL, "");
    ck_assert_str_eq(msg->client_name, "log2.example");
    ck_assert_str_eq(msg->client_addr, "");
    qfile_msg_free(msg);
}
END_TEST

START_TEST(test_done_and_canceled_recipients)
{
    const char *recs[] = {
        "T1795340164 7", "Ss@x", "Oorig-d", "Dd@x",  "O", "Rr@x",
        "Oorig-c",       "/c@x", "Kkilled", "Rr2@x", NULL};
    QFILE_MSG *msg = expect_warnings(recs, NULL, "");

    ck_assert_int_eq(msg->rcpt_count, 2);
    ck_assert_int_eq(msg->nrcpt, 4);
    ck_assert_str_eq(msg->rcpt[0].orig_rcpt, "");
    ck_assert_str_eq(msg->rcpt[1].orig_rcpt, ""); /* cleared by '/' */
    qfile_msg_free(msg);
}
END_TEST

/*
 * Recipient batches.
 */

/* read_batches - read all batches of limit, each with a new stream */

static int
read_batches(const STRBUF *bytes, int limit, char addrs[][64], long *offsets,
             int *unread, int max)
{
    LOGS logs = {0};
    QFILE_MSG *msg = qfile_msg_alloc("ABCDEF");
    int n = 0, batches = 0;

    msg->log_fn = collect_log;
    msg->log_context = &logs;
    do {
        REC_STREAM *rs =
            rec_stream_mem(strbuf_str(bytes), strbuf_len(bytes), "b");

        ck_assert_int_eq(qfile_read(msg, rs, limit), QFILE_OK);
        rec_stream_free(rs);
        ck_assert_int_le(msg->rcpt_count, limit);
        for (int i = 0; i < msg->rcpt_count && n < max; i++, n++) {
            snprintf(addrs[n], 64, "%s", msg->rcpt[i].address);
            offsets[n] = msg->rcpt[i].offset;
        }
        unread[batches++] = msg->rcpt_unread;
        ck_assert_int_lt(batches, 100);
    } while (msg->rcpt_offset != 0);
    ck_assert_int_eq(logs.n, 1); /* one sender event, no warnings */
    qfile_msg_free(msg);
    logs_free(&logs);
    return n;
}

START_TEST(test_batches_25)
{
    STRBUF *bytes = load_fixture("sendmail-25-rcpts");
    LOGS logs = {0};
    QFILE_MSG *all = read_mem(bytes, "ABCDEF", 0, &logs);
    char addrs[64][64];
    long offsets[64];
    int unread[100];
    int n;

    ck_assert_int_eq(all->rcpt_count, 25);
    ck_assert_int_eq(all->read_flags & QFILE_FLAG_MIXED_RCPT_OTHER, 0);
    n = read_batches(bytes, 10, addrs, offsets, unread, 64);
    ck_assert_int_eq(n, 25);
    ck_assert_int_eq(unread[0], 15);
    ck_assert_int_eq(unread[1], 5);
    ck_assert_int_eq(unread[2], 0);
    for (int i = 0; i < 25; i++) {
        ck_assert_str_eq(addrs[i], all->rcpt[i].address);
        ck_assert_int_eq(offsets[i], all->rcpt[i].offset);
    }
    /* Limits that divide evenly, one per batch, and more than all. */
    ck_assert_int_eq(read_batches(bytes, 5, addrs, offsets, unread, 64), 25);
    ck_assert_int_eq(read_batches(bytes, 1, addrs, offsets, unread, 64), 25);
    ck_assert_int_eq(unread[24], 0);
    ck_assert_int_eq(read_batches(bytes, 25, addrs, offsets, unread, 64), 25);
    ck_assert_int_eq(read_batches(bytes, 100, addrs, offsets, unread, 64), 25);
    qfile_msg_free(all);
    logs_free(&logs);
    strbuf_free(bytes);
}
END_TEST

START_TEST(test_batches_extracted)
{
    STRBUF *bytes = load_fixture("sendmail-t");
    LOGS logs = {0};
    QFILE_MSG *all = read_mem(bytes, "ABCDEF", 0, &logs);
    char addrs[64][64];
    long offsets[64];
    int unread[100];

    ck_assert_int_eq(all->rcpt_count, 4);
    ck_assert_int_gt(all->rcpt[0].offset, all->data_offset);
    for (int limit = 1; limit <= 4; limit++) {
        ck_assert_int_eq(read_batches(bytes, limit, addrs, offsets, unread, 64),
                         4);
        for (int i = 0; i < 4; i++)
            ck_assert_int_eq(offsets[i], all->rcpt[i].offset);
    }
    qfile_msg_free(all);
    logs_free(&logs);
    strbuf_free(bytes);
}
END_TEST

/*
 * With MIXED clear, qmgr trusts that no non-recipient record follows the
 * recipients of the initial envelope: after a full batch it jumps to the
 * content and reads only the extracted segment.  With MIXED set it reads
 * every record.
 */
START_TEST(test_batches_pure_recipient_optimization)
{
    const char *recs[] = {"T1795340164 7",  "Ss@x",  "Rr1@x", "Rr2@x",
                          "Aencoding=8bit", "Rr3@x", NULL};
    const char *xrecs[] = {"Rx1@x", NULL};
    STRBUF *bytes = build(recs, xrecs);
    char addrs[64][64];
    long offsets[64];
    int unread[100];
    LOGS logs = {0};
    QFILE_MSG *msg;
    REC_STREAM *rs;

    /* The writer saw the attribute after a recipient: MIXED is set. */
    msg = read_mem(bytes, "ABCDEF", 1, &logs);
    ck_assert_int_eq(msg->read_flags, QFILE_FLAG_MIXED_RCPT_OTHER);
    ck_assert_str_eq(msg->encoding, "8bit");
    ck_assert(msg->seen_all_non_rcpt);
    ck_assert_int_eq(msg->rcpt_count, 1);
    qfile_msg_free(msg);
    logs_free(&logs);
    ck_assert_int_eq(read_batches(bytes, 1, addrs, offsets, unread, 64), 4);
    ck_assert_str_eq(addrs[3], "x1@x");

    /* Claim "not mixed": the attribute is never examined. */
    memcpy(strbuf_str(bytes) + 2 + 3 * 16, "              0", 15);
    msg = qfile_msg_alloc("ABCDEF");
    msg->log_fn = collect_log;
    msg->log_context = &logs;
    rs = rec_stream_mem(strbuf_str(bytes), strbuf_len(bytes), "p");
    ck_assert_int_eq(qfile_read(msg, rs, 1), QFILE_OK);
    ck_assert_int_eq(msg->read_flags, 0);
    ck_assert_str_eq(msg->rcpt[0].address, "r1@x");
    ck_assert(msg->seen_all_non_rcpt); /* via the extracted segment's E */
    ck_assert_str_eq(msg->encoding, "");
    ck_assert_int_ne(msg->rcpt_offset, 0);
    for (int i = 0; i < 3; i++) {
        static const char *next[] = {"r2@x", "r3@x", "x1@x"};

        ck_assert_int_eq(qfile_read(msg, rs, 1), QFILE_OK);
        ck_assert_int_eq(msg->rcpt_count, 1);
        ck_assert_str_eq(msg->rcpt[0].address, next[i]);
    }
    /* The limit was reached on the last one: one more, empty, read. */
    ck_assert_int_ne(msg->rcpt_offset, 0);
    ck_assert_int_eq(qfile_read(msg, rs, 1), QFILE_OK);
    ck_assert_int_eq(msg->rcpt_count, 0);
    ck_assert_int_eq(msg->rcpt_offset, 0);
    ck_assert_str_eq(msg->encoding, "");
    ck_assert_int_eq(msg->rcpt_unread, 0);
    rec_stream_free(rs);
    qfile_msg_free(msg);
    logs_free(&logs);
    ck_assert_int_eq(read_batches(bytes, 1, addrs, offsets, unread, 64), 4);
    strbuf_free(bytes);
}
END_TEST

/* A batch that fails leaves the resume point as it was. */
START_TEST(test_batch_then_corrupt)
{
    STRBUF *bytes = load_fixture("sendmail-25-rcpts");
    STRBUF *cut = strbuf_alloc(100);
    LOGS logs = {0};
    QFILE_MSG *msg = read_mem(bytes, "ABCDEF", 10, &logs);
    REC_STREAM *rs;
    long resume = msg->rcpt_offset;

    ck_assert_int_ne(resume, 0);
    ck_assert_int_eq(msg->rcpt_unread, 15);
    strbuf_setmem(cut, strbuf_str(bytes), (size_t) offset_of(bytes, 'R', 12));
    rs = rec_stream_mem(strbuf_str(cut), strbuf_len(cut), "cut");
    ck_assert_int_eq(qfile_read(msg, rs, 10), QFILE_ERR_NO_END);
    ck_assert_int_eq(msg->rcpt_offset, resume);
    ck_assert_int_eq(msg->rcpt_unread, 15);
    ck_assert_int_eq(msg->rcpt_count, 0);
    rec_stream_free(rs);
    /* The intact file still resumes from there. */
    rs = rec_stream_mem(strbuf_str(bytes), strbuf_len(bytes), "ok");
    ck_assert_int_eq(qfile_read(msg, rs, 10), QFILE_OK);
    ck_assert_str_eq(msg->rcpt[0].address, "user11@example.net");
    rec_stream_free(rs);
    qfile_msg_free(msg);
    logs_free(&logs);
    strbuf_free(cut);
    strbuf_free(bytes);
}
END_TEST

/*
 * A file whose recipient list was extended in place through the heap (what
 * cleanup does for a Milter that adds a recipient): postcat and we agree.
 */
START_TEST(test_heap_recipient)
{
    STRBUF *bytes = load_fixture("sendmail-milter");
    STRBUF *listing = strbuf_alloc(1000);
    long dummy = offset_of(bytes, 'p', 1);
    long heap = (long) strbuf_len(bytes);
    LOGS logs = {0};
    QFILE_MSG *msg;
    char ptr[32], path[64];
    int fd;

    ck_assert_int_eq(record_type_at(bytes, dummy + 17), 'M');
    rec_put(bytes, 'A', "dsn_orig_rcpt=rfc822;heap@example.net", 37);
    rec_put(bytes, 'O', "heap@example.net", 16);
    rec_put(bytes, 'R', "heap@example.net", 16);
    rec_putf(bytes, 'p', "%15ld", dummy + 17);
    snprintf(ptr, sizeof(ptr), "%15ld", heap);
    memcpy(strbuf_str(bytes) + dummy + 2, ptr, 15);
    memcpy(strbuf_str(bytes) + 2 + 2 * 16, "              3", 15);
    msg = read_mem(bytes, "ABCDEF", 0, &logs);
    ck_assert_int_eq(msg->status, QFILE_OK);
    ck_assert_int_eq(msg->rcpt_count, 3);
    ck_assert_str_eq(msg->rcpt[2].address, "heap@example.net");
    ck_assert_int_gt(msg->rcpt[2].offset, heap);
    ck_assert_str_eq(msg->rcpt[2].dsn_orcpt, "rfc822;heap@example.net");
    fd = write_temp(bytes, path, sizeof(path));
    postcat_accepts(path, listing);
    check_against_postcat("ABCDEF", bytes, strbuf_str(listing));
    /* Marking the heap recipient done works like any other. */
    ck_assert_int_eq(qfile_mark_done(fd, msg->rcpt[2].offset), 0);
    qfile_msg_free(msg);
    logs_free(&logs);
    msg = read_fd(fd, "ABCDEF", 0, &logs);
    ck_assert_int_eq(msg->rcpt_count, 2);
    ck_assert_int_eq(logs.n, 1);
    qfile_msg_free(msg);
    logs_free(&logs);
    close(fd);
    unlink(path);
    strbuf_free(listing);
    strbuf_free(bytes);
}
END_TEST

/* Random damage never crashes the reader and always gets an answer. */
START_TEST(test_random_damage)
{
    static const char *names[] = {"sendmail-plain", "smtp-dsn",
                                  "sendmail-milter", "sendmail-t"};
    unsigned seed = 12345;

    for (int f = 0; f < 4; f++) {
        STRBUF *orig = load_fixture(names[f]);
        STRBUF *bytes = strbuf_alloc(strbuf_len(orig));

        for (int round = 0; round < 500; round++) {
            LOGS logs = {0};
            QFILE_MSG *msg;

            strbuf_setmem(bytes, strbuf_str(orig), strbuf_len(orig));
            for (int k = 0; k < 1 + round % 4; k++) {
                seed = seed * 1103515245 + 12345;
                strbuf_str(bytes)[(seed >> 8) % strbuf_len(bytes)] =
                    (char) (seed >> 20);
            }
            msg = read_mem(bytes, "ABCDEF", 1 + round % 3, &logs);
            while (msg->status == QFILE_OK && msg->rcpt_offset != 0) {
                REC_STREAM *rs =
                    rec_stream_mem(strbuf_str(bytes), strbuf_len(bytes), "r");

                qfile_read(msg, rs, 1 + round % 3);
                rec_stream_free(rs);
            }
            ck_assert(msg->status == QFILE_OK || msg->err_text != NULL ||
                      msg->err_record != NULL);
            qfile_msg_free(msg);
            logs_free(&logs);
        }
        strbuf_free(bytes);
        strbuf_free(orig);
    }
}
END_TEST

static Suite *
qfile_suite(void)
{
    Suite *s = suite_create("qfile");
    TCase *tc = tcase_create("postcat");
    TCase *tw = tcase_create("writer");
    TCase *tu = tcase_create("updates");
    TCase *tcor = tcase_create("corrupt");
    TCase *tcw = tcase_create("warnings");
    TCase *tb = tcase_create("batches");

    tcase_add_test(tc, test_fixtures_match_postcat);
    tcase_add_test(tc, test_fixture_details);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tcase_add_test(tw, test_writer_matches_cleanup);
    tcase_add_test(tw, test_writer_plain_file);
    tcase_add_test(tw, test_writer_postcat_accepts);
    tcase_add_test(tw, test_writer_counts_and_flags);
    tcase_set_timeout(tw, 30);
    suite_add_tcase(s, tw);

    tcase_add_test(tu, test_mark_done);
    tcase_add_test(tu, test_warn_rewrite);
    tcase_add_test(tu, test_trace_kill);
    tcase_add_test(tu, test_heap_recipient);
    tcase_set_timeout(tu, 30);
    suite_add_tcase(s, tu);

    tcase_add_test(tcor, test_truncated_everywhere);
    tcase_add_test(tcor, test_truncated_log_order);
    tcase_add_test(tcor, test_bad_length_bytes);
    tcase_add_test(tcor, test_bad_size_records);
    tcase_add_test(tcor, test_short_size_records);
    tcase_add_test(tcor, test_old_style_file);
    tcase_add_test(tcor, test_wrong_data_size);
    tcase_add_test(tcor, test_missing_end);
    tcase_add_test(tcor, test_bad_attribute);
    tcase_add_test(tcor, test_unexpected_record_types);
    tcase_add_test(tcor, test_pointer_errors);
    tcase_add_test(tcor, test_missing_required_records);
    tcase_add_test(tcor, test_read_error);
    tcase_add_test(tcor, test_sender_event_before_error);
    tcase_add_test(tcor, test_random_damage);
    tcase_set_timeout(tcor, 120);
    suite_add_tcase(s, tcor);

    tcase_add_test(tcw, test_rcpt_count_mismatch);
    tcase_add_test(tcw, test_dsn_warnings);
    tcase_add_test(tcw, test_verp_warnings);
    tcase_add_test(tcw, test_verp_filter_setting);
    tcase_add_test(tcw, test_first_and_last_wins);
    tcase_add_test(tcw, test_trace_flags);
    tcase_add_test(tcw, test_client_attributes);
    tcase_add_test(tcw, test_done_and_canceled_recipients);
    suite_add_tcase(s, tcw);

    tcase_add_test(tb, test_batches_25);
    tcase_add_test(tb, test_batches_extracted);
    tcase_add_test(tb, test_batches_pure_recipient_optimization);
    tcase_add_test(tb, test_batch_then_corrupt);
    suite_add_tcase(s, tb);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(qfile_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
