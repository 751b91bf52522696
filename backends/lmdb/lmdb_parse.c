/*
 * lmdb_parse - what the index learns from the spool: a file's place and
 * lstat() results, and its envelope read with the queue manager's own
 * reader (qfile.h): arrival time, content size (the first field of the size
 * record, as postqueue shows it), sender, and the recipients still to do
 * counted per destination domain (lower-cased text after the last '@', ""
 * without one; a message counts once per domain, as qshape does).
 *
 * A file that cannot be read or does not parse is still indexed with what
 * lstat() says (size = file size, sender ""), as the spool's listing does.
 * Every lstat() of a message file made by this backend goes through
 * lmdb_lstat(), which counts it for the tests.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lmdb_store.h"
#include "qfile.h"
#include "xalloc.h"

void
lmdb_relpath(LMDB_STORE *lm, int queue, const char *id, char *buf, size_t len)
{
    size_t skip = strlen(lm->store.env.queue_dir) + 1;

    spool_path(lm->sp, store_queue_name(queue), id, lm->path2);
    snprintf(buf, len, "%s", strbuf_str(lm->path2) + skip);
}

int
lmdb_lstat(LMDB_STORE *lm, const char *relpath, struct stat *st)
{
    strbuf_reset(lm->path);
    strbuf_addf(lm->path, "%s/%s", lm->store.env.queue_dir, relpath);
    lm->counters.file_lstats++;
    return lstat(strbuf_str(lm->path), st);
}

static void
ignore_log(void *context, int event, const char *text)
{
}

static int
compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static char *
lower_domain(const char *address)
{
    const char *at = strrchr(address, '@');
    char *domain = xstrdup(at ? at + 1 : "");

    for (char *cp = domain; *cp; cp++)
        *cp = (char) tolower((unsigned char) *cp);
    return domain;
}

/* Recipients per domain, sorted by domain, into rec. */
void
lmdb_count_domains(const char *const *addresses, size_t n, LMDB_REC *rec)
{
    char **names;

    rec->rcpt_count = (uint32_t) n;
    if (n == 0)
        return;
    names = xcalloc(n, sizeof(*names));
    for (size_t i = 0; i < n; i++)
        names[i] = lower_domain(addresses[i]);
    qsort(names, n, sizeof(*names), compare_strings);
    rec->domains = xcalloc(n, sizeof(*rec->domains));
    for (size_t i = 0; i < n; i++) {
        LMDB_DOMAIN *last =
            rec->domain_count ? &rec->domains[rec->domain_count - 1] : NULL;

        if (last && strcmp(last->name, names[i]) == 0) {
            last->rcpts++;
            xfree(names[i]);
        } else {
            rec->domains[rec->domain_count].name = names[i];
            rec->domains[rec->domain_count++].rcpts = 1;
        }
    }
    xfree(names);
}

static void
count_domains(const QFILE_MSG *msg, LMDB_REC *rec)
{
    size_t n = msg->rcpt_count > 0 ? (size_t) msg->rcpt_count : 0;
    const char **addresses = xcalloc(n + 1, sizeof(*addresses));

    for (size_t i = 0; i < n; i++)
        addresses[i] = msg->rcpt[i].address;
    lmdb_count_domains(addresses, n, rec);
    xfree(addresses);
}

/* Fill in the envelope part of rec from the file at path. */
void
lmdb_parse_file(LMDB_STORE *lm, const char *path, LMDB_REC *rec)
{
    QFILE_MSG *msg;
    REC_STREAM *rs;
    int fd;

    lm->counters.files_parsed++;
    xfree(rec->sender);
    rec->sender = xstrdup("");
    rec->size = rec->file_size;
    if ((fd = open(path, O_RDONLY)) < 0)
        return;
    msg = qfile_msg_alloc(rec->id);
    msg->log_fn = ignore_log;
    rs = rec_stream_fd(fd, path);
    (void) qfile_read(msg, rs, 0);
    if (msg->arrival_sec > 0)
        rec->arrival = msg->arrival_sec;
    if (msg->data_size > 0)
        rec->size = msg->data_size;
    if (msg->sender) {
        xfree(rec->sender);
        rec->sender = xstrdup(msg->sender);
    }
    count_domains(msg, rec);
    rec_stream_free(rs);
    qfile_msg_free(msg);
    close(fd);
}

int
lmdb_same_file(const LMDB_REC *rec, const struct stat *st)
{
    return rec->ino == (uint64_t) st->st_ino &&
           rec->file_size == (int64_t) st->st_size &&
           rec->next_attempt == (int64_t) st->st_mtime &&
           rec->flags == spool_mode_flags(st);
}

static int
file_counts(int queue, const struct stat *st)
{
    if (!S_ISREG(st->st_mode))
        return 0;
    return queue == STORE_Q_CORRUPT || spool_file_ready(st);
}

/*
 * The record of message id as it now lies in queue: 0, -1 (lstat failed,
 * errno set) or 1 (not a message: not a regular file, or not ready).  The
 * envelope part is copied from old when old is not NULL and names the same
 * inode with the same size; otherwise the file is read.
 */
int
lmdb_rec_from_file(LMDB_STORE *lm, int queue, const char *id,
                   const LMDB_REC *old, LMDB_REC *rec)
{
    char relpath[LMDB_PATH_MAX];
    struct stat st;

    lmdb_relpath(lm, queue, id, relpath, sizeof(relpath));
    if (lmdb_lstat(lm, relpath, &st) < 0)
        return -1;
    if (!file_counts(queue, &st))
        return 1;
    if (old && old->ino == (uint64_t) st.st_ino &&
        old->file_size == (int64_t) st.st_size)
        lmdb_rec_copy(rec, old);
    else
        lmdb_rec_init(rec);
    snprintf(rec->id, sizeof(rec->id), "%s", id);
    snprintf(rec->relpath, sizeof(rec->relpath), "%s", relpath);
    rec->queue = queue;
    rec->flags = spool_mode_flags(&st);
    rec->next_attempt = (int64_t) st.st_mtime;
    rec->ino = (uint64_t) st.st_ino;
    rec->file_size = (int64_t) st.st_size;
    if (rec->sender == NULL)
        lmdb_parse_file(lm, strbuf_str(lm->path), rec);
    return 0;
}

/*
 * A walk saw message id in queue at path entry with lstat() results st:
 * add what the index must learn to batch (txn, when not NULL, is a read
 * transaction to look the id up in).  Returns 1 when something was added.
 * A file not at the path its id hashes to is not indexed.
 */
int
lmdb_index_seen(LMDB_STORE *lm, MDB_txn *txn, LMDB_BATCH *batch, int queue,
                const char *id, const char *entry, const struct stat *st)
{
    char relpath[LMDB_PATH_MAX];
    LMDB_REC old, rec;
    int found;

    lmdb_relpath(lm, queue, id, relpath, sizeof(relpath));
    if (strcmp(entry + strlen(lm->store.env.queue_dir) + 1, relpath) != 0)
        return 0;
    found = txn ? lmdb_rec_get(lm->env, txn, id, &old) : 0;
    if (found < 0) {
        lmdb_fail(lm, found, "read queue index");
        return 0;
    }
    if (found && old.queue == queue && strcmp(old.relpath, relpath) == 0 &&
        lmdb_same_file(&old, st)) {
        lmdb_rec_free(&old);
        return 0;
    }
    if (found && old.ino == (uint64_t) st->st_ino &&
        old.file_size == (int64_t) st->st_size &&
        old.next_attempt == (int64_t) st->st_mtime)
        lmdb_rec_copy(&rec, &old);
    else
        lmdb_rec_init(&rec);
    snprintf(rec.id, sizeof(rec.id), "%s", id);
    snprintf(rec.relpath, sizeof(rec.relpath), "%s", relpath);
    rec.queue = queue;
    rec.flags = spool_mode_flags(st);
    rec.next_attempt = (int64_t) st->st_mtime;
    rec.ino = (uint64_t) st->st_ino;
    rec.file_size = (int64_t) st->st_size;
    if (rec.sender == NULL)
        lmdb_parse_file(lm, entry, &rec);
    lmdb_batch_put(batch, &rec);
    lmdb_rec_free(&rec);
    lmdb_rec_free(&old);
    return 1;
}
