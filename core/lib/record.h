/*
 * record - Postfix queue-file records: reading a record stream, writing
 * records.
 *
 * A queue file is a sequence of records: one type byte (0..255), the payload
 * length in base 128 (least significant 7 bits first, 0x80 = "more length
 * bytes follow"), then the payload.  Writers always use the fewest length
 * bytes.  The reader accepts at most REC_LEN_MAX_BYTES length bytes (the
 * rule of Postfix 3.7.22 and later), so payloads are shorter than 2^28.
 *
 * Reading (REC_STREAM):
 *	rec_stream_fd(fd, path)	read from an open file descriptor with pread(2)
 *				through a private buffer; the descriptor's file
 *				offset is not used or changed, and the caller
 *				keeps ownership of fd.  path is used in error
 *				texts only.
 *	rec_stream_mem(data, len, path)  read from memory (not copied; data
 *				must outlive the stream).
 *	rec_stream_free(rs)	release the stream (NULL is accepted).
 *	rec_seek(rs, offset)	set the read position; 0 or -1 (negative
 *				offset).  A position beyond the end is allowed:
 *				the next read reports EOF.
 *	rec_tell(rs)		the read position.
 *	rec_offset(rs)		offset of the type byte of the record last
 *				returned (what done-marking needs).
 *	rec_get_raw(rs, buf, maxsize, flags)
 *				read one record, payload into buf (NUL
 *				terminated, may contain NUL).  maxsize 0 means
 *				no limit.  Returns the type (0..255),
 *				REC_TYPE_EOF (end of input exactly at a record
 *				boundary), or REC_TYPE_ERROR (truncated record,
 *				too many length bytes, length over maxsize, bad
 *				pointer, read error; see rec_error()).  flags:
 *		REC_FLAG_FOLLOW_PTR	follow 'p' records (rec_goto) instead of
 *					returning them
 *		REC_FLAG_SKIP_DTXT	skip 'w' padding records
 *		REC_FLAG_STOP_AT_END	after an 'E' record, report EOF until
 *					the next rec_seek() (heap records after
 *					'E' are reached only through pointers)
 *	rec_get(rs, buf)	rec_get_raw() with all three flags.
 *	rec_goto(rs, payload)	act on a 'p' record's payload: leading white
 *				space skipped, then decimal digits only.  0 is a
 *				dummy (no move); another value moves the read
 *				position there.  More than
 *REC_REVERSE_JUMP_LIMIT jumps to an offset not beyond the previous jump target
 *is an error (pointer loop).  Returns 0 or REC_TYPE_ERROR. rec_jumps(rs,
 *&target, &count), rec_set_jumps(rs, target, count) the pointer-loop state
 *(last jump target, jumps not beyond it), so that a reader that continues a
 *file with a new stream keeps counting. rec_error(rs)		text of the last
 *error, worded as Postfix logs it ("<path>: unexpected EOF in data, record type
 *78 length 20"), or "". rec_io_failed(rs)	non-zero when the last error was
 *a read(2) failure rather than bad data.
 *
 * Writing:
 *	rec_put(sb, type, data, len)	append one record to a buffer.
 *	rec_putf(sb, type, fmt, ...)	the same, payload printf-style.
 *	rec_header(hdr, type, len)	encode type and length into hdr (at
 *					least REC_HDR_MAX bytes); returns the
 *					number of bytes used.
 *	rec_size(len)			total record size for a payload length.
 *	rec_put_type(fd, offset, type)	overwrite the type byte of the record
 *					at offset (pwrite of one byte, the way
 *					delivery agents mark recipients done);
 *					0 or -1 (errno set).
 */
#ifndef PQ_RECORD_H
#define PQ_RECORD_H

#include <stddef.h>
#include <sys/types.h>

#include "strbuf.h"

/* Diagnostic results, not record types. */
#define REC_TYPE_EOF   (-1)
#define REC_TYPE_ERROR (-2)

/* Record types (Postfix rec_type.h). */
#define REC_TYPE_SIZE       'C' /* first record: sizes, count, flags */
#define REC_TYPE_TIME       'T' /* arrival time */
#define REC_TYPE_CTIME      'c' /* create time (normally A create_time) */
#define REC_TYPE_FULL       'F' /* sender full name */
#define REC_TYPE_INSP       'I' /* content inspector transport */
#define REC_TYPE_FILT       'L' /* content filter (envelope) */
#define REC_TYPE_FROM       'S' /* sender */
#define REC_TYPE_DONE       'D' /* done recipient */
#define REC_TYPE_RCPT       'R' /* recipient to do */
#define REC_TYPE_ORCP       'O' /* original recipient */
#define REC_TYPE_DRCP       '/' /* canceled recipient */
#define REC_TYPE_WARN       'W' /* delay warning time */
#define REC_TYPE_ATTR       'A' /* named attribute name=value */
#define REC_TYPE_KILL       'K' /* killed record */
#define REC_TYPE_RDR        '>' /* redirect target */
#define REC_TYPE_FLGS       'f' /* cleanup protocol only */
#define REC_TYPE_DELAY      'd' /* cleanup protocol only */
#define REC_TYPE_MESG       'M' /* start of content */
#define REC_TYPE_CONT       'L' /* line fragment (content) */
#define REC_TYPE_NORM       'N' /* text line (content) */
#define REC_TYPE_DTXT       'w' /* padding */
#define REC_TYPE_XTRA       'X' /* start of extracted segment */
#define REC_TYPE_RRTO       'r' /* return-receipt (legacy) */
#define REC_TYPE_ERTO       'e' /* errors-to (legacy) */
#define REC_TYPE_PRIO       'P' /* priority (legacy) */
#define REC_TYPE_PTR        'p' /* pointer */
#define REC_TYPE_VERP       'V' /* VERP delimiters */
#define REC_TYPE_DSN_RET    '<' /* DSN RET (normally A ret_flags) */
#define REC_TYPE_DSN_ENVID  'i' /* DSN ENVID (normally A envelope_id) */
#define REC_TYPE_DSN_ORCPT  'o' /* DSN ORCPT (normally A dsn_orig_rcpt) */
#define REC_TYPE_DSN_NOTIFY 'n' /* DSN NOTIFY (normally A notify_flags) */
#define REC_TYPE_MILT_COUNT 'm' /* cleanup protocol only */
#define REC_TYPE_END        'E' /* end of message */

/* Record-type sets; the first member ends the segment. */
#define REC_TYPE_ENVELOPE      "MCTcFILSDRO/WVA>K<ion"
#define REC_TYPE_CONTENT       "XLNw"
#define REC_TYPE_EXTRACT       "EDRO/PreAFIL>Kon"
#define REC_TYPE_ENV_RECIPIENT "MDRO/Kon"
#define REC_TYPE_EXT_RECIPIENT "EDRO/Kon"

#define REC_LEN_MAX_BYTES      4
#define REC_HDR_MAX            (1 + REC_LEN_MAX_BYTES)
#define REC_PTR_PAYLOAD        15 /* "%15ld" pointer payload */
#define REC_REVERSE_JUMP_LIMIT 10000

#define REC_FLAG_NONE        0
#define REC_FLAG_FOLLOW_PTR  (1 << 0)
#define REC_FLAG_SKIP_DTXT   (1 << 1)
#define REC_FLAG_STOP_AT_END (1 << 2)
#define REC_FLAG_DEFAULT                                                       \
    (REC_FLAG_FOLLOW_PTR | REC_FLAG_SKIP_DTXT | REC_FLAG_STOP_AT_END)

typedef struct REC_STREAM REC_STREAM;

REC_STREAM *rec_stream_fd(int fd, const char *path);
REC_STREAM *rec_stream_mem(const void *data, size_t len, const char *path);
void rec_stream_free(REC_STREAM *rs);
int rec_seek(REC_STREAM *rs, off_t offset);
off_t rec_tell(const REC_STREAM *rs);
off_t rec_offset(const REC_STREAM *rs);
int rec_get_raw(REC_STREAM *rs, STRBUF *buf, size_t maxsize, int flags);
int rec_get(REC_STREAM *rs, STRBUF *buf);
int rec_goto(REC_STREAM *rs, const char *payload);
void rec_jumps(const REC_STREAM *rs, off_t *target, int *count);
void rec_set_jumps(REC_STREAM *rs, off_t target, int count);
const char *rec_error(const REC_STREAM *rs);
int rec_io_failed(const REC_STREAM *rs);

size_t rec_header(unsigned char *hdr, int type, size_t len);
size_t rec_size(size_t len);
void rec_put(STRBUF *sb, int type, const void *data, size_t len);
void rec_putf(STRBUF *sb, int type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int rec_put_type(int fd, off_t offset, int type);

#endif
