/*
 * fuzz_record - libFuzzer target: arbitrary bytes as a queue file.
 *
 * The bytes are read the way the queue manager reads a file (qfile_read in
 * recipient batches, the batch size taken from the input length), once from
 * memory and once through a file descriptor (memfd); both must give the same
 * result.  Then the whole file is walked with rec_get() (pointers followed,
 * padding skipped).  Any crash, sanitizer report, hang or disagreement is a
 * finding.  Seed corpus: the files in tests/data/queuefiles.
 *
 * Build: make CC=clang BUILD=build-fuzz \
 *	CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined" \
 *	build-fuzz/fuzz/fuzz_record
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "qfile.h"
#include "record.h"

#define MAX_BATCHES 10000
#define MAX_RECORDS 100000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
ignore_log(void *context, int event, const char *text)
{
    (void) context;
    (void) event;
    (void) text;
}

/* read_all - read every batch; returns a summary of what was read */

static unsigned long
read_all(REC_STREAM *rs, int limit, QFILE_STATUS *status)
{
    QFILE_MSG *msg = qfile_msg_alloc("FUZZ");
    unsigned long summary = 0;
    int batches = 0;

    msg->log_fn = ignore_log;
    do {
        *status = qfile_read(msg, rs, limit);
        for (int i = 0; i < msg->rcpt_count; i++)
            summary = summary * 31 + (unsigned long) msg->rcpt[i].offset +
                      strlen(msg->rcpt[i].address);
    } while (*status == QFILE_OK && msg->rcpt_offset != 0 &&
             ++batches < MAX_BATCHES);
    if (*status == QFILE_OK)
        summary += (unsigned long) msg->data_offset * 7 +
                   (unsigned long) msg->tflags + strlen(msg->sender);
    qfile_msg_free(msg);
    return summary;
}

/* walk - every record with pointers followed, as delivery agents read */

static void
walk(const uint8_t *data, size_t size)
{
    REC_STREAM *rs = rec_stream_mem(data, size, "fuzz");
    STRBUF *buf = strbuf_alloc(100);
    int count = 0;

    while (rec_get(rs, buf) >= 0 && ++count < MAX_RECORDS)
        /* void */;
    rec_stream_free(rs);
    strbuf_free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int limit = (int) (size % 5); /* 0 = no limit */
    QFILE_STATUS mem_status, fd_status;
    unsigned long mem_sum, fd_sum;
    REC_STREAM *rs;
    int fd;

    rs = rec_stream_mem(data, size, "fuzz");
    mem_sum = read_all(rs, limit, &mem_status);
    rec_stream_free(rs);

    if ((fd = memfd_create("fuzz", 0)) >= 0) {
        if (write(fd, data, size) == (ssize_t) size) {
            rs = rec_stream_fd(fd, "fuzz");
            fd_sum = read_all(rs, limit, &fd_status);
            rec_stream_free(rs);
            if (fd_status != mem_status || fd_sum != mem_sum)
                abort();
        }
        close(fd);
    }
    walk(data, size);
    return 0;
}
