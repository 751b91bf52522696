/*
 * spool_list - listings and counts of the spool, as postqueue -p and qshape
 * see the queue (store_list and store_counts in store.h).
 *
 * Each message file is read with the queue manager's own reader (qfile.h):
 * the size shown is the first field of the size record (what showq prints),
 * the recipients are those still to do ('R'), and the reason of each is taken
 * from the message's defer log when there is one.  A file that cannot be read
 * is still listed, with what could be learned from it.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "qfile.h"
#include "queue_id.h"
#include "spool.h"
#include "status_log.h"
#include "xalloc.h"

static void
ignore_log(void *context, int event, const char *text)
{
}

/* Read the envelope of one file; NULL if it cannot be opened. */
static QFILE_MSG *
read_envelope(const char *path, const char *id)
{
    QFILE_MSG *msg;
    REC_STREAM *rs;
    int fd;

    if ((fd = open(path, O_RDONLY)) < 0)
        return NULL;
    msg = qfile_msg_alloc(id);
    msg->log_fn = ignore_log;
    rs = rec_stream_fd(fd, path);
    (void) qfile_read(msg, rs, 0);
    rec_stream_free(rs);
    close(fd);
    return msg;
}

/*
 * Does a log address (quoted external form: "<>" for the null address, a
 * local part with specials in double quotes, backslash escapes) name the
 * same address as a queue file's recipient (internal form)?
 */
static int
same_address(const char *logged, const char *address)
{
    const char *cp = logged;
    int quoted = 0;

    if (strcmp(logged, "<>") == 0)
        return *address == 0;
    for (; *cp; cp++) {
        if (*cp == '"') {
            quoted = !quoted;
            continue;
        }
        if (*cp == '\\' && quoted && cp[1])
            cp++;
        if (*cp != *address++)
            return 0;
    }
    return *address == 0;
}

/* The reason of the latest entry for the address (bounce appends). */
static const char *
reason_for(const STATUS_LOG *log, const char *address)
{
    const char *reason = NULL;

    for (size_t i = 0; log && i < log->count; i++)
        if (log->entries[i].recipient &&
            same_address(log->entries[i].recipient, address))
            reason = log->entries[i].reason;
    return reason;
}

static int
report_one(SPOOL_STORE *sp, int queue, const char *id, const char *path,
           const struct stat *st, STORE_LIST_FN callback, void *context)
{
    QFILE_MSG *msg = read_envelope(path, id);
    STATUS_LOG *log;
    STORE_MSG_INFO info;
    STORE_RCPT_INFO *rcpts = NULL;
    int stop;

    spool_path(sp, "defer", id, sp->path_b);
    log = status_log_read(strbuf_str(sp->path_b));
    memset(&info, 0, sizeof(info));
    info.id = id;
    info.queue = queue;
    info.flags = spool_mode_flags(st);
    info.next_attempt = st->st_mtime;
    info.size = (long) st->st_size;
    info.sender = "";
    if (msg) {
        if (msg->arrival_sec > 0)
            info.arrival = msg->arrival_sec;
        if (msg->data_size > 0)
            info.size = msg->data_size;
        if (msg->sender)
            info.sender = msg->sender;
        info.rcpt_count = (size_t) msg->rcpt_count;
        rcpts = xcalloc(info.rcpt_count + 1, sizeof(*rcpts));
        for (int i = 0; i < msg->rcpt_count; i++) {
            rcpts[i].address = msg->rcpt[i].address;
            rcpts[i].reason = reason_for(log, msg->rcpt[i].address);
        }
        info.rcpts = rcpts;
    }
    stop = callback(&info, context);
    xfree(rcpts);
    status_log_free(log);
    qfile_msg_free(msg);
    return stop;
}

static int
list_queue(SPOOL_STORE *sp, int queue, STORE_LIST_FN callback, void *context)
{
    SPOOL_WALK *walk = spool_walk_open(sp, store_queue_name(queue));
    const char *name;
    struct stat st;
    int stop = 0;

    while (!stop && (name = spool_walk_next(walk, &st)) != NULL) {
        if (!queue_id_ok(name) || !S_ISREG(st.st_mode))
            continue;
        if (queue != STORE_Q_MAILDROP && queue != STORE_Q_CORRUPT &&
            !spool_file_ready(&st))
            continue;
        stop = report_one(sp, queue, name, strbuf_str(walk->entry), &st,
                          callback, context);
    }
    spool_walk_close(walk);
    return stop;
}

STORE_STATUS
spool_list(STORE *store, int queues, STORE_LIST_FN callback, void *context)
{
    SPOOL_STORE *sp = (SPOOL_STORE *) store;
    static const int order[] = {STORE_Q_MAILDROP, STORE_Q_INCOMING,
                                STORE_Q_ACTIVE,   STORE_Q_DEFERRED,
                                STORE_Q_HOLD,     STORE_Q_CORRUPT};

    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        if ((queues & order[i]) && list_queue(sp, order[i], callback, context))
            break;
    return STORE_OK;
}

/* Counts: messages per queue, recipients and messages per domain. */

typedef struct COUNT_STATE {
    STORE_COUNTS *counts;
    size_t alloc;
} COUNT_STATE;

static STORE_DEST_COUNT *
find_domain(COUNT_STATE *cs, const char *domain)
{
    STORE_COUNTS *c = cs->counts;

    for (size_t i = 0; i < c->dest_count; i++)
        if (strcmp(c->dests[i].domain, domain) == 0)
            return &c->dests[i];
    if (c->dest_count == cs->alloc) {
        cs->alloc = cs->alloc ? 2 * cs->alloc : 16;
        c->dests = xrealloc(c->dests, cs->alloc * sizeof(*c->dests));
    }
    memset(&c->dests[c->dest_count], 0, sizeof(*c->dests));
    c->dests[c->dest_count].domain = xstrdup(domain);
    return &c->dests[c->dest_count++];
}

static void
lower_domain(const char *address, char *buf, size_t len)
{
    const char *at = strrchr(address, '@');
    size_t i;

    snprintf(buf, len, "%s", at ? at + 1 : "");
    for (i = 0; buf[i]; i++)
        buf[i] = (char) tolower((unsigned char) buf[i]);
}

/* A message counts once per domain, however its recipients are ordered. */
static int
count_one(const STORE_MSG_INFO *info, void *context)
{
    COUNT_STATE *cs = context;
    char domain[256];
    size_t *seen = xcalloc(info->rcpt_count + 1, sizeof(*seen));
    size_t nseen = 0;

    cs->counts->messages[store_queue_index(info->queue)]++;
    for (size_t i = 0; i < info->rcpt_count; i++) {
        STORE_DEST_COUNT *dc;
        size_t index;
        size_t j;

        lower_domain(info->rcpts[i].address, domain, sizeof(domain));
        dc = find_domain(cs, domain);
        dc->recipients++;
        index = (size_t) (dc - cs->counts->dests);
        for (j = 0; j < nseen && seen[j] != index; j++)
            continue;
        if (j == nseen) {
            seen[nseen++] = index;
            dc->messages++;
        }
    }
    xfree(seen);
    return 0;
}

STORE_STATUS
spool_counts(STORE *store, STORE_COUNTS *counts)
{
    COUNT_STATE cs = {counts, 0};

    return spool_list(store, STORE_Q_ALL, count_one, &cs);
}
