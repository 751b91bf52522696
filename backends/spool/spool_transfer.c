/*
 * spool_transfer - export and import of whole messages in the neutral form
 * (store_export, store_import in store.h).
 *
 * Export reads the queue file byte for byte, its state from the file's
 * place, mode and mtime, and its defer/bounce/trace logs.  A message in
 * active/ is being delivered and is not exported (STORE_RETRY).
 *
 * Import writes a new file the crash-safe way: the bytes go to a temporary
 * "<pid>.<serial>.pqimport" in incoming/ (a name nobody else reads), which
 * is fsync'ed, given its owner, mode and time stamps, and only then renamed
 * to its final name; the directory is fsync'ed after the rename (and, when
 * the rename had to make hash subdirectories, the directories above them, so
 * that a new subdirectory does not vanish in a power cut with the file in
 * it).  Logs are written the same way before the message appears.  The
 * final name follows Postfix's rule that a short queue id encodes the file's
 * inode: a short id becomes its first five characters plus the new inode in
 * hex (what postsuper would rename it to); a long id is kept.  When that id
 * is taken by another file, a fresh long id is made from the current time
 * and the new inode.  Re-importing a message whose id exists with identical
 * bytes is STORE_EXISTS and changes nothing.  A short id renamed at import
 * is not recognised again: a caller that may import the same message twice
 * must remember the id it got.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "qfile.h"
#include "queue_id.h"
#include "spool.h"
#include "xalloc.h"

static const char *const log_queues[] = {"defer", "bounce", "trace"};

static int
read_whole(const char *path, unsigned char **data, size_t *len)
{
    STRBUF *buf;
    char chunk[8192];
    ssize_t n;
    int fd;

    if ((fd = open(path, O_RDONLY)) < 0)
        return -1;
    buf = strbuf_alloc(8192);
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        strbuf_addmem(buf, chunk, (size_t) n);
    close(fd);
    if (n < 0) {
        strbuf_free(buf);
        return -1;
    }
    *len = strbuf_len(buf);
    *data = (unsigned char *) strbuf_steal(buf);
    return 0;
}

static void
ignore_log(void *context, int event, const char *text)
{
}

/* The arrival time, quietly: a corrupt file is exported as it is. */
static long
arrival_of(const unsigned char *data, size_t len, const char *id)
{
    REC_STREAM *rs = rec_stream_mem(data, len, id);
    QFILE_MSG *msg = qfile_msg_alloc(id);
    long arrival;

    msg->log_fn = ignore_log;
    (void) qfile_read(msg, rs, 1);
    arrival = msg->arrival_sec;
    qfile_msg_free(msg);
    rec_stream_free(rs);
    return arrival;
}

STORE_STATUS
spool_export(STORE *store, const char *id, STORE_EXPORT **msgp)
{
    SPOOL_STORE *sp = (SPOOL_STORE *) store;
    STORE_EXPORT *msg;
    struct stat st;
    int queue;

    if (!queue_id_ok(id))
        return store_set_error(store, STORE_INVALID, "invalid queue id: %s",
                               id);
    if ((queue = spool_locate(sp, id, STORE_Q_ALL, 1)) == 0)
        return store_set_error(store, STORE_GONE, "%s: no such message", id);
    if (queue == STORE_Q_ACTIVE)
        return store_set_error(store, STORE_RETRY,
                               "%s: being delivered, try again later", id);
    spool_path(sp, store_queue_name(queue), id, sp->path_a);
    msg = xcalloc(1, sizeof(*msg));
    if (lstat(strbuf_str(sp->path_a), &st) < 0 ||
        read_whole(strbuf_str(sp->path_a), &msg->file, &msg->file_len) < 0) {
        store_export_free(msg);
        return store_set_error(store,
                               errno == ENOENT ? STORE_GONE : STORE_UNAVAIL,
                               "read %s: %m", strbuf_str(sp->path_a));
    }
    snprintf(msg->id, sizeof(msg->id), "%s", id);
    msg->queue = queue;
    msg->flags = spool_mode_flags(&st);
    msg->next_attempt = st.st_mtime;
    msg->arrival = arrival_of(msg->file, msg->file_len, id);
    for (int i = 0; i < 3; i++) {
        spool_path(sp, log_queues[i], id, sp->path_b);
        if (read_whole(strbuf_str(sp->path_b), &msg->logs[i],
                       &msg->log_len[i]) < 0 &&
            errno != ENOENT) {
            store_export_free(msg);
            return store_set_error(store, STORE_UNAVAIL, "read %s: %m",
                                   strbuf_str(sp->path_b));
        }
    }
    *msgp = msg;
    return STORE_OK;
}

/* Import. */

static int
sync_directory_of(const char *path)
{
    char dir[4096];
    char *slash;
    int fd;
    int ret;

    snprintf(dir, sizeof(dir), "%s", path);
    if ((slash = strrchr(dir, '/')) == NULL)
        return 0;
    *slash = 0;
    if ((fd = open(dir, O_RDONLY | O_DIRECTORY)) < 0)
        return -1;
    ret = fsync(fd);
    close(fd);
    return ret;
}

/* Write data to a fresh temporary file; returns its fd or -1. */
static int
write_temporary(SPOOL_STORE *sp, STRBUF *path, const unsigned char *data,
                size_t len, mode_t mode, time_t when)
{
    static unsigned serial;
    struct timeval tv[2];
    size_t done = 0;
    ssize_t n;
    int fd;

    strbuf_reset(path);
    strbuf_addf(path, "%s/incoming/%ld.%u.pqimport", sp->store.env.queue_dir,
                (long) getpid(), serial++);
    if ((fd = open(strbuf_str(path), O_CREAT | O_EXCL | O_RDWR, 0600)) < 0)
        return -1;
    while (done < len) {
        if ((n = write(fd, data + done, len - done)) <= 0)
            goto fail;
        done += (size_t) n;
    }
    if (sp->store.env.owner_uid >= 0 &&
        fchown(fd, (uid_t) sp->store.env.owner_uid,
               (gid_t) sp->store.env.owner_gid) < 0)
        goto fail;
    tv[0].tv_sec = tv[1].tv_sec = when;
    tv[0].tv_usec = tv[1].tv_usec = 0;
    store_fault_point("spool:import:fsync");
    if (fsync(fd) < 0 || fchmod(fd, mode) < 0 || futimes(fd, tv) < 0 ||
        fsync(fd) < 0)
        goto fail;
    return fd;

fail:
    close(fd);
    unlink(strbuf_str(path));
    return -1;
}

/*
 * After a rename that made hash subdirectories: sync every directory from
 * the one above the file's up to the queue directory, so that each new
 * subdirectory's own entry is durable.
 */
static int
sync_new_parents(SPOOL_STORE *sp, const char *final)
{
    size_t top = strlen(sp->store.env.queue_dir);
    char dir[4096];
    char *slash;

    snprintf(dir, sizeof(dir), "%s", final);
    if ((slash = strrchr(dir, '/')) == NULL)
        return 0;
    *slash = 0;
    while ((slash = strrchr(dir, '/')) != NULL &&
           (size_t) (slash - dir) >= top) {
        if (sync_directory_of(dir) < 0)
            return -1;
        *slash = 0;
    }
    return 0;
}

/* Rename a finished temporary into place, then sync the directory. */
static int
install(SPOOL_STORE *sp, const char *temp, const char *final)
{
    int made_dirs = 0;

    store_fault_point("spool:import:rename");
    if (rename(temp, final) < 0) {
        if (errno != ENOENT || spool_make_parents(sp, final) < 0 ||
            rename(temp, final) < 0)
            return -1;
        made_dirs = 1;
    }
    store_fault_point("spool:import:dirsync");
    if (sync_directory_of(final) < 0)
        return -1;
    return made_dirs ? sync_new_parents(sp, final) : 0;
}

static int
same_bytes(const char *path, const unsigned char *data, size_t len)
{
    unsigned char *have;
    size_t have_len;
    int same;

    if (read_whole(path, &have, &have_len) < 0)
        return 0;
    same = have_len == len && memcmp(have, data, len) == 0;
    xfree(have);
    return same;
}

/*
 * The final id: a short id must name the new inode (first five characters
 * kept); a long id is kept.  Either way, an id that another file already
 * uses (a message copied in from elsewhere can have any name) is replaced
 * by a fresh long id made from the current time and the new inode, which
 * no other live file can have.
 */
static void
choose_id(SPOOL_STORE *sp, const char *old_id, ino_t inode, char *id,
          size_t len)
{
    struct timeval now;

    if (queue_id_is_long(old_id))
        snprintf(id, len, "%s", old_id);
    else if (strlen(old_id) > 5)
        snprintf(id, len, "%.5s%lX", old_id, (unsigned long) inode);
    else
        id[0] = 0; /* not a Postfix-made id: make one */
    if (id[0] && spool_locate(sp, id, STORE_Q_ALL, 0) == 0)
        return;
    gettimeofday(&now, NULL);
    queue_id_long(id, len, (long) now.tv_sec, (long) now.tv_usec,
                  (unsigned long) inode);
}

static int
import_logs(SPOOL_STORE *sp, const STORE_EXPORT *msg, const char *id,
            STRBUF *temp)
{
    for (int i = 0; i < 3; i++) {
        int fd;

        if (msg->logs[i] == NULL)
            continue;
        if ((fd = write_temporary(sp, temp, msg->logs[i], msg->log_len[i], 0600,
                                  time(NULL))) < 0)
            return -1;
        close(fd);
        spool_path(sp, log_queues[i], id, sp->path_b);
        if (install(sp, strbuf_str(temp), strbuf_str(sp->path_b)) < 0) {
            unlink(strbuf_str(temp));
            return -1;
        }
    }
    return 0;
}

static mode_t
mode_of(const STORE_EXPORT *msg)
{
    mode_t mode = 0700;

    if (msg->flags & STORE_MSG_UNTHROTTLE)
        mode |= 0040;
    if (msg->flags & STORE_MSG_EXPIRE)
        mode |= 0010;
    return mode;
}

/* Put the temporary queue file and its logs in place under id. */
static STORE_STATUS
install_message(SPOOL_STORE *sp, const STORE_EXPORT *msg, const char *id,
                const char *file_temp)
{
    STRBUF *log_temp = strbuf_alloc(256);
    STORE_STATUS status = STORE_OK;

    if (import_logs(sp, msg, id, log_temp) < 0) {
        status = store_set_error(&sp->store, STORE_UNAVAIL,
                                 "%s: write logs: %m", id);
    } else {
        spool_path(sp, store_queue_name(msg->queue), id, sp->path_a);
        if (install(sp, file_temp, strbuf_str(sp->path_a)) < 0)
            status = store_set_error(&sp->store, STORE_UNAVAIL,
                                     "install %s: %m", strbuf_str(sp->path_a));
    }
    strbuf_free(log_temp);
    return status;
}

STORE_STATUS
spool_import(STORE *store, const STORE_EXPORT *msg, char *new_id,
             size_t new_id_len)
{
    SPOOL_STORE *sp = (SPOOL_STORE *) store;
    STRBUF *temp;
    STORE_STATUS status;
    struct stat st;
    char id[STORE_ID_MAX];
    int existing;
    int fd;

    if (!queue_id_ok(msg->id) ||
        (msg->queue != STORE_Q_INCOMING && msg->queue != STORE_Q_DEFERRED &&
         msg->queue != STORE_Q_HOLD && msg->queue != STORE_Q_CORRUPT))
        return store_set_error(store, STORE_INVALID,
                               "cannot import %s into queue %s", msg->id,
                               store_queue_name(msg->queue));
    if ((existing = spool_locate(sp, msg->id, STORE_Q_ALL, 0)) != 0) {
        spool_path(sp, store_queue_name(existing), msg->id, sp->path_a);
        if (same_bytes(strbuf_str(sp->path_a), msg->file, msg->file_len))
            return store_set_error(store, STORE_EXISTS,
                                   "%s: already in the store", msg->id);
    }
    temp = strbuf_alloc(256);
    fd = write_temporary(sp, temp, msg->file, msg->file_len, mode_of(msg),
                         msg->next_attempt);
    if (fd < 0 || fstat(fd, &st) < 0) {
        status = store_set_error(store, STORE_UNAVAIL, "write %s: %m",
                                 strbuf_str(temp));
    } else {
        choose_id(sp, msg->id, st.st_ino, id, sizeof(id));
        status = install_message(sp, msg, id, strbuf_str(temp));
    }
    if (fd >= 0)
        close(fd);
    if (status != STORE_OK)
        unlink(strbuf_str(temp));
    else
        snprintf(new_id, new_id_len, "%s", id);
    strbuf_free(temp);
    return status;
}
