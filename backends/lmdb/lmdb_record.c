/*
 * lmdb_record - the bytes of the LMDB index: message records, due keys,
 * directory keys and directory stamps (lmdb_store.h).
 *
 * A message record ("msg" database, key = queue id) is, little-endian:
 *	u8 record version (1), u8 queue index (store_queue_index()),
 *	u16 mode flags, u32 recipients still to do,
 *	i64 next attempt, i64 arrival, i64 content size, u64 inode,
 *	i64 file size, u16 path length, u16 sender length, u32 domain count,
 *	the path (relative to the queue directory), the sender, then per
 *	domain: u16 length, the name, u32 recipients.
 * A due key ("due" database) is the next-attempt time as a big-endian
 * unsigned 64-bit number (times before 1970 count as 0) followed by the queue
 * id, so that the keys sort by time, then id.  A directory key ("dir"
 * database) is the file's directory, ':', the queue id: the entries of one
 * directory are contiguous.  A stamp is 41 bytes: u64 inode, i64 mtime
 * seconds and nanoseconds, i64 ctime seconds and nanoseconds, u8 dirty.
 *
 * Decoding checks every length against the data: a record that does not
 * hold together is damage (the caller rebuilds the index).
 */
#include <stdio.h>
#include <string.h>

#include "lmdb_store.h"
#include "xalloc.h"

#define REC_VERSION 1
#define REC_HEAD    56

void
lmdb_rec_init(LMDB_REC *rec)
{
    memset(rec, 0, sizeof(*rec));
}

void
lmdb_rec_free(LMDB_REC *rec)
{
    xfree(rec->sender);
    for (size_t i = 0; i < rec->domain_count; i++)
        xfree(rec->domains[i].name);
    xfree(rec->domains);
    lmdb_rec_init(rec);
}

void
lmdb_rec_copy(LMDB_REC *to, const LMDB_REC *from)
{
    *to = *from;
    to->sender = from->sender ? xstrdup(from->sender) : NULL;
    to->domains = from->domain_count
                      ? xcalloc(from->domain_count, sizeof(*to->domains))
                      : NULL;
    for (size_t i = 0; i < from->domain_count; i++) {
        to->domains[i].name = xstrdup(from->domains[i].name);
        to->domains[i].rcpts = from->domains[i].rcpts;
    }
}

/* Little-endian writers and readers. */

static void
put_uint(STRBUF *out, uint64_t value, int bytes)
{
    for (int i = 0; i < bytes; i++)
        strbuf_addch(out, (int) ((value >> (8 * i)) & 0xff));
}

static uint64_t
get_uint(const unsigned char *p, int bytes)
{
    uint64_t value = 0;

    for (int i = bytes - 1; i >= 0; i--)
        value = (value << 8) | p[i];
    return value;
}

void
lmdb_rec_encode(const LMDB_REC *rec, STRBUF *out)
{
    const char *sender = rec->sender ? rec->sender : "";
    size_t path_len = strlen(rec->relpath);
    size_t sender_len = strlen(sender);

    if (sender_len > 0xffff)
        sender_len = 0xffff;
    strbuf_reset(out);
    put_uint(out, REC_VERSION, 1);
    put_uint(out, (uint64_t) store_queue_index(rec->queue), 1);
    put_uint(out, (uint64_t) rec->flags, 2);
    put_uint(out, rec->rcpt_count, 4);
    put_uint(out, (uint64_t) rec->next_attempt, 8);
    put_uint(out, (uint64_t) rec->arrival, 8);
    put_uint(out, (uint64_t) rec->size, 8);
    put_uint(out, rec->ino, 8);
    put_uint(out, (uint64_t) rec->file_size, 8);
    put_uint(out, path_len, 2);
    put_uint(out, sender_len, 2);
    put_uint(out, rec->domain_count, 4);
    strbuf_addmem(out, rec->relpath, path_len);
    strbuf_addmem(out, sender, sender_len);
    for (size_t i = 0; i < rec->domain_count; i++) {
        size_t len = strlen(rec->domains[i].name);

        if (len > 0xffff)
            len = 0xffff;
        put_uint(out, len, 2);
        strbuf_addmem(out, rec->domains[i].name, len);
        put_uint(out, rec->domains[i].rcpts, 4);
    }
}

int
lmdb_rec_decode(const void *data, size_t len, const char *id, LMDB_REC *rec)
{
    const unsigned char *p = data;
    const unsigned char *end = p + len;
    size_t path_len, sender_len, count;
    int queue_index;

    lmdb_rec_init(rec);
    if (len < REC_HEAD || p[0] != REC_VERSION)
        return -1;
    queue_index = p[1];
    if (queue_index > 5 || strlen(id) >= sizeof(rec->id))
        return -1;
    snprintf(rec->id, sizeof(rec->id), "%s", id);
    rec->queue = 1 << queue_index;
    rec->flags = (int) get_uint(p + 2, 2);
    rec->rcpt_count = (uint32_t) get_uint(p + 4, 4);
    rec->next_attempt = (int64_t) get_uint(p + 8, 8);
    rec->arrival = (int64_t) get_uint(p + 16, 8);
    rec->size = (int64_t) get_uint(p + 24, 8);
    rec->ino = get_uint(p + 32, 8);
    rec->file_size = (int64_t) get_uint(p + 40, 8);
    path_len = (size_t) get_uint(p + 48, 2);
    sender_len = (size_t) get_uint(p + 50, 2);
    count = (size_t) get_uint(p + 52, 4);
    p += REC_HEAD;
    if (path_len >= sizeof(rec->relpath) ||
        (size_t) (end - p) < path_len + sender_len ||
        count > (size_t) (end - p) / 6)
        return -1;
    memcpy(rec->relpath, p, path_len);
    rec->relpath[path_len] = 0;
    p += path_len;
    rec->sender = xstrndup((const char *) p, sender_len);
    p += sender_len;
    rec->domains = count ? xcalloc(count, sizeof(*rec->domains)) : NULL;
    for (size_t i = 0; i < count; i++) {
        size_t name_len;

        if (end - p < 2 || (name_len = (size_t) get_uint(p, 2),
                            (size_t) (end - p) < 2 + name_len + 4)) {
            rec->domain_count = i;
            lmdb_rec_free(rec);
            return -1;
        }
        rec->domains[i].name = xstrndup((const char *) p + 2, name_len);
        rec->domains[i].rcpts = (uint32_t) get_uint(p + 2 + name_len, 4);
        p += 2 + name_len + 4;
        rec->domain_count = i + 1;
    }
    return p == end ? 0 : (lmdb_rec_free(rec), -1);
}

/* Keys. */

size_t
lmdb_due_key(unsigned char *buf, int64_t when, const char *id)
{
    uint64_t t = when < 0 ? 0 : (uint64_t) when;
    size_t len = strlen(id);

    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char) (t >> (8 * (7 - i)));
    memcpy(buf + 8, id, len);
    return 8 + len;
}

int
lmdb_due_key_split(const void *key, size_t len, int64_t *when, char *id,
                   size_t id_len)
{
    const unsigned char *p = key;
    uint64_t t = 0;

    if (len <= 8 || len - 8 >= id_len)
        return -1;
    for (int i = 0; i < 8; i++)
        t = (t << 8) | p[i];
    *when = (int64_t) t;
    memcpy(id, p + 8, len - 8);
    id[len - 8] = 0;
    return 0;
}

/* "deferred/A/<id>" -> "deferred/A:<id>". */
void
lmdb_dir_key(STRBUF *out, const char *relpath)
{
    const char *slash = strrchr(relpath, '/');

    strbuf_reset(out);
    if (slash == NULL) {
        strbuf_addch(out, ':');
        strbuf_addstr(out, relpath);
        return;
    }
    strbuf_addmem(out, relpath, (size_t) (slash - relpath));
    strbuf_addch(out, ':');
    strbuf_addstr(out, slash + 1);
}

/* Stamps. */

void
lmdb_stamp_from_stat(const struct stat *st, LMDB_STAMP *stamp)
{
    memset(stamp, 0, sizeof(*stamp));
    stamp->ino = (uint64_t) st->st_ino;
    stamp->mtime_sec = (int64_t) st->st_mtim.tv_sec;
    stamp->mtime_nsec = (int64_t) st->st_mtim.tv_nsec;
    stamp->ctime_sec = (int64_t) st->st_ctim.tv_sec;
    stamp->ctime_nsec = (int64_t) st->st_ctim.tv_nsec;
}

int
lmdb_stamp_same(const LMDB_STAMP *a, const LMDB_STAMP *b)
{
    return a->ino == b->ino && a->mtime_sec == b->mtime_sec &&
           a->mtime_nsec == b->mtime_nsec && a->ctime_sec == b->ctime_sec &&
           a->ctime_nsec == b->ctime_nsec;
}

static void
put_raw(unsigned char *p, uint64_t value)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char) (value >> (8 * i));
}

void
lmdb_stamp_encode(const LMDB_STAMP *stamp, unsigned char buf[41])
{
    put_raw(buf, stamp->ino);
    put_raw(buf + 8, (uint64_t) stamp->mtime_sec);
    put_raw(buf + 16, (uint64_t) stamp->mtime_nsec);
    put_raw(buf + 24, (uint64_t) stamp->ctime_sec);
    put_raw(buf + 32, (uint64_t) stamp->ctime_nsec);
    buf[40] = stamp->dirty ? 1 : 0;
}

int
lmdb_stamp_decode(const void *data, size_t len, LMDB_STAMP *stamp)
{
    const unsigned char *p = data;

    if (len != 41)
        return -1;
    stamp->ino = get_uint(p, 8);
    stamp->mtime_sec = (int64_t) get_uint(p + 8, 8);
    stamp->mtime_nsec = (int64_t) get_uint(p + 16, 8);
    stamp->ctime_sec = (int64_t) get_uint(p + 24, 8);
    stamp->ctime_nsec = (int64_t) get_uint(p + 32, 8);
    stamp->dirty = p[40] != 0;
    return 0;
}

/* Look up one message: 1 found, 0 not found, < 0 an LMDB error code. */
int
lmdb_rec_get(LMDB_ENV *env, MDB_txn *txn, const char *id, LMDB_REC *rec)
{
    MDB_val key = {strlen(id), (void *) id};
    MDB_val val;
    int rc;

    lmdb_rec_init(rec);
    if (key.mv_size == 0 || key.mv_size >= STORE_ID_MAX)
        return 0;
    if ((rc = mdb_get(txn, env->msg, &key, &val)) == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    if (lmdb_rec_decode(val.mv_data, val.mv_size, id, rec) < 0)
        return MDB_CORRUPTED;
    return 1;
}
