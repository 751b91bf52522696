/*
 * qfile - a Postfix queue file as the queue manager sees it: reading the
 * envelope with qmgr(8)'s semantics and corrupt-file rules, the in-place
 * updates the queue manager and delivery agents make, and a writer that lays
 * out a complete file the way cleanup(8) does.
 *
 * Reading:
 *	qfile_msg_alloc(queue_id)	a message with nothing read yet.  The
 *				caller may then set verp_filter (default
 *				"-=+", $verp_delimiter_filter) and log_fn /
 *				log_context (default: warnings go to msg_warn(),
 *				the sender event is dropped).
 *	qfile_read(msg, rs, rcpt_limit)
 *				read envelope records from rs the way
 *				qmgr_message_read() does: the first call starts
 *				at offset 0; when a call stopped because
 *				rcpt_limit recipients were taken (rcpt_offset
 *				!= 0), the next call resumes at rcpt_offset
 *				(same or new stream) and replaces the recipient
 *				list; the pointer-loop count carries over, so
 *				a pointer loop through recipients cannot make
 *				batches go on forever.  rcpt_limit <= 0 means no
 *limit (qmgr caps its limit at 5000 per read; that is the caller's business).
 *The content is skipped with one seek; 'X' must sit at data_offset + data_size.
 *Returns QFILE_OK or why the file is corrupt; then the recipient list is empty,
 *				rcpt_offset/rcpt_unread are as before the call,
 *				and err_record (the record reader's line, for
 *				bad records) and err_text (the queue manager's
 *				line) say what qmgr would log.  QFILE_ERR_IO is
 *				a read(2) failure, not corruption.  A call with
 *				rcpt_offset == 0 starts over: everything a
 *				previous read found is forgotten.
 *	qfile_rcpt_reset(msg)	forget the recipients of the current batch.
 *	qfile_msg_free(msg)	release everything (NULL is accepted).
 *	qfile_status_name(s)	a short name for a status (for tests, logs).
 *
 *	While reading, every line qmgr would log goes, in qmgr's order, to
 *	log_fn(log_context, QFILE_EV_WARN, text): warnings such as
 *	"97C44A74B27: rcpt count mismatch (1)" and the lines about a corrupt
 *	file (err_record, err_text), without the "warning: " prefix.  When the
 *	'S' record is read, log_fn(log_context, QFILE_EV_SENDER, sender) is
 *	called: that is where qmgr logs "<id>: from=<sender>,
 *size=<cont_length>, nrcpt=<rcpt_unread>" (even for a file that then turns out
 *corrupt).
 *
 *	After a successful read only filter_xport, inspect_xport,
 *	redirect_addr and verp_delims may be NULL; defaults are qmgr's: "" for
 *	encoding, dsn_envid, client_*, sasl_*, log_ident; "local" for
 *	rewrite_context; create_time = arrival_sec when absent.  What qmgr
 *	does with confirm_delay_cleared (warn_time < 0 adds
 *	QFILE_TRACE_REC_DLY_SENT to the trace flags) is left to the caller.
 *
 * In-place updates (fd open for writing; no fsync, like Postfix):
 *	qfile_mark_done(fd, offset)	overwrite the type byte of the
 *				recipient record at offset with 'D' (offset
 *				> 0; the byte there is not checked, like
 *agents). qfile_kill_record(fd, offset)	overwrite the type byte with 'K'
 *(the trace_flags=1024 record at tflags_offset after the trace report was
 *sent). qfile_update_warn(fd, offset, when)	rewrite the 17-byte 'W' record
 *				at offset with "%15ld" of when (-1 after a delay
 *				warning was sent).  Refuses (EINVAL) unless
 *				the record there is a 'W' with a 15-byte
 *payload. Each returns 0, or -1 with errno set.
 *
 * Writing (to memory, as cleanup lays a file out):
 *	qfile_writer_alloc()	start a file: the 97-byte 'C' record with zeros.
 *	qfile_put(w, type, data, len), qfile_putf(w, type, fmt, ...)
 *				any record in the envelope or, after the
 *				content, the extracted segment.  'R', 'D' and
 *				'/' count as recipients; a non-recipient record
 *				after a recipient sets
 *QFILE_FLAG_MIXED_RCPT_OTHER. qfile_put_attr(w, name, value)	'A' name=value.
 *	qfile_put_time(w, sec, usec)	'T' "sec usec".
 *	qfile_put_warn(w, when)		'W' "%15ld".
 *	qfile_put_rcpt(w, rcpt)	a recipient group: [A notify_flags=n]
 *				[A dsn_orig_rcpt=...] O R; notify flags go into
 *				the 'C' flags as qmgr's NOTIFY bits.
 *	qfile_put_content(w, text, len)	'M', one 'N' per line of text ("\n"
 *				separated; a final newline ends the last line),
 *				lines longer than QFILE_LINE_LIMIT split into
 *				'L' pieces of that size, then 'X'.  Records
 *				after it form the extracted segment.
 *	qfile_writer_finish(w)	append 'E', fill in the 'C' record (data size
 *				and offset, recipient count, flags, content
 *				length, w->smtputf8) and return the bytes; the
 *				buffer stays owned by w.
 *	qfile_writer_free(w)	release it.
 *	qfile_make(env, out)	a whole file from a QFILE_ENVELOPE in cleanup's
 *				order: [L filter] T, A create_time, pre-sender
 *				attributes, [F], S, [V], post-sender
 *				attributes, [W], recipient groups, content,
 *				extracted attributes and recipients, E.  The
 *				bytes replace the content of out.
 */
#ifndef PQ_QFILE_H
#define PQ_QFILE_H

#include <stddef.h>

#include "record.h"
#include "strbuf.h"

/* C record field 4 (qmgr_user.h). */
#define QFILE_FLAG_MIXED_RCPT_OTHER (1 << 0)
#define QFILE_FLAG_NOTIFY_NEVER     (1 << 1)
#define QFILE_FLAG_NOTIFY_SUCCESS   (1 << 2)
#define QFILE_FLAG_NOTIFY_FAILURE   (1 << 3)
#define QFILE_FLAG_NOTIFY_DELAY     (1 << 4)
#define QFILE_FLAG_USER             0x1f
#define QFILE_FLAG_DEFAULT          QFILE_FLAG_MIXED_RCPT_OTHER

/* DSN values (dsn_mask.h). */
#define QFILE_DSN_NOTIFY_NEVER   (1 << 0)
#define QFILE_DSN_NOTIFY_SUCCESS (1 << 1)
#define QFILE_DSN_NOTIFY_FAILURE (1 << 2)
#define QFILE_DSN_NOTIFY_DELAY   (1 << 3)
#define QFILE_DSN_NOTIFY_ANY     0x0e
#define QFILE_DSN_RET_FULL       1
#define QFILE_DSN_RET_HDRS       2

/* trace_flags values (deliver_request.h). */
#define QFILE_TRACE_MTA_VRFY     (1 << 8)
#define QFILE_TRACE_USR_VRFY     (1 << 9)
#define QFILE_TRACE_RECORD       (1 << 10)
#define QFILE_TRACE_REC_DLY_SENT (1 << 13)
#define QFILE_TRACE_MASK                                                       \
    (QFILE_TRACE_MTA_VRFY | QFILE_TRACE_USR_VRFY | QFILE_TRACE_RECORD |        \
     QFILE_TRACE_REC_DLY_SENT)

#define QFILE_SIZE_RECORD_LEN 97   /* whole 'C' record as cleanup writes it */
#define QFILE_LINE_LIMIT      2048 /* $line_length_limit default */

typedef enum QFILE_STATUS {
    QFILE_OK = 0,
    QFILE_ERR_RECORD,       /* bad length, EOF inside a record, bad pointer */
    QFILE_ERR_NO_END,       /* EOF before 'E' */
    QFILE_ERR_UNEXPECTED,   /* record type not allowed here */
    QFILE_ERR_BAD_ATTR,     /* malformed 'A' record */
    QFILE_ERR_INVALID_SIZE, /* size record: offset/size/length out of range */
    QFILE_ERR_SIZE_FLAGS,   /* size record: flag bits outside 0x1f */
    QFILE_ERR_WEIRD_SIZE,   /* size record with 2 numbers (or none) */
    QFILE_ERR_OLD_LAYOUT,   /* pre-2001 file that does not hold together */
    QFILE_ERR_NO_TIME,      /* no 'T' (or seconds 0) */
    QFILE_ERR_NO_SENDER,    /* no 'S' */
    QFILE_ERR_NO_SIZE,      /* no 'C' */
    QFILE_ERR_IO,           /* read(2) failed */
} QFILE_STATUS;

typedef struct QFILE_RCPT {
    long offset;     /* type byte of the 'R' record */
    char *address;   /* 'R' payload */
    char *orig_rcpt; /* 'O', "" if none */
    char *dsn_orcpt; /* 'o' / A dsn_orig_rcpt, "" if none */
    int dsn_notify;  /* 'n' / A notify_flags, 0 if none */
} QFILE_RCPT;

#define QFILE_EV_WARN   1
#define QFILE_EV_SENDER 2

typedef void (*QFILE_LOG_FN)(void *context, int event, const char *text);

typedef struct QFILE_MSG {
    /* Caller settings. */
    char *queue_id;
    const char *verp_filter;
    QFILE_LOG_FN log_fn;
    void *log_context;

    /* The size record. */
    long data_size;   /* field 1 */
    long data_offset; /* field 2 */
    int nrcpt;        /* field 3 as read (logged as nrcpt=) */
    int read_flags;   /* field 4, QFILE_FLAG_* */
    long cont_length; /* field 5, data_size when absent or 0 */
    int smtputf8;     /* field 6, unmasked (as 3.7.11) */
    int rcpt_unread;  /* field 3 counted down per R/D// read */

    /* Times. */
    long arrival_sec;  /* 'T' */
    long arrival_usec; /* 'T' */
    long create_time;  /* 'c' / A create_time */
    long warn_time;    /* 'W', 0 if none, < 0 warning sent */
    long warn_offset;  /* of the 'W' record, 0 if none */

    /* Other envelope information. */
    char *sender;          /* 'S', first wins; "" is the null sender */
    char *encoding;        /* A encoding, last wins */
    char *dsn_envid;       /* 'i' / A envelope_id, last wins */
    int dsn_ret;           /* '<' / A ret_flags, last valid wins */
    char *filter_xport;    /* 'L' content filter, last wins */
    char *inspect_xport;   /* 'I', last wins */
    char *redirect_addr;   /* '>', last wins */
    char *verp_delims;     /* 'V', first wins, if valid */
    char *client_name;     /* log_client_name or legacy client_name */
    char *client_addr;     /* log_client_address or client_address */
    char *client_port;     /* log_client_port or client_port */
    char *client_proto;    /* log_protocol_name or protocol_name */
    char *client_helo;     /* log_helo_name or helo_name */
    char *sasl_method;     /* first wins */
    char *sasl_username;   /* first wins */
    char *sasl_sender;     /* first wins */
    char *log_ident;       /* first wins */
    char *rewrite_context; /* first wins, default "local" */
    int tflags;            /* trace_flags & QFILE_TRACE_MASK, first non-0 */
    long tflags_offset;    /* of the trace_flags record when exactly 1024 */

    /* Recipients of this batch. */
    QFILE_RCPT *rcpt;
    int rcpt_count;
    int rcpt_alloc;
    long rcpt_offset;      /* where the next batch starts, 0 = all read */
    int seen_all_non_rcpt; /* every non-recipient record examined */
    long jump_target;      /* pointer-loop state carried between batches */
    int reverse_jumps;

    /* Result of the last qfile_read(). */
    QFILE_STATUS status;
    char *err_record; /* record reader's line, or NULL */
    char *err_text;   /* queue manager's line, or NULL */
} QFILE_MSG;

QFILE_MSG *qfile_msg_alloc(const char *queue_id);
void qfile_msg_free(QFILE_MSG *msg);
QFILE_STATUS qfile_read(QFILE_MSG *msg, REC_STREAM *rs, int rcpt_limit);
void qfile_rcpt_reset(QFILE_MSG *msg);
const char *qfile_status_name(QFILE_STATUS status);

int qfile_mark_done(int fd, long offset);
int qfile_kill_record(int fd, long offset);
int qfile_update_warn(int fd, long offset, long when);

/* Writer. */
typedef struct QFILE_OUT_RCPT {
    const char *address;   /* R */
    const char *orig_rcpt; /* O; NULL writes an empty O */
    const char *dsn_orcpt; /* A dsn_orig_rcpt=...; NULL or "" = none */
    int dsn_notify;        /* A notify_flags=...; 0 = none */
} QFILE_OUT_RCPT;

typedef struct QFILE_WRITER {
    STRBUF *buf;
    long data_offset; /* 0 until the content is written */
    long xtra_offset; /* of the 'X' record */
    int rcpt_count;
    int flags;        /* QFILE_FLAG_* */
    int smtputf8;     /* C field 6, set by the caller */
    long cont_length; /* C field 5; 0 = data size */
    int in_rcpt;      /* a recipient was written in this segment */
} QFILE_WRITER;

typedef struct QFILE_ENVELOPE {
    long arrival_sec;
    long arrival_usec;
    long create_time;              /* 0: arrival_sec */
    const char *content_filter;    /* 'L' before 'T', or NULL */
    const char *const *pre_attrs;  /* "name=value" before F/S; NULL ends */
    const char *fullname;          /* 'F', or NULL */
    const char *sender;            /* 'S'; "" null sender */
    const char *verp_delims;       /* 'V', or NULL */
    const char *const *post_attrs; /* "name=value" after S; NULL ends */
    long warn_time;                /* > 0: 'W' before the recipients */
    const QFILE_OUT_RCPT *rcpts;
    size_t rcpt_count;
    const char *content; /* message text, "\n" line ends */
    size_t content_len;
    const char *const *extracted_attrs; /* after 'X'; NULL ends */
    const QFILE_OUT_RCPT *extracted_rcpts;
    size_t extracted_rcpt_count;
    int smtputf8;
} QFILE_ENVELOPE;

QFILE_WRITER *qfile_writer_alloc(void);
void qfile_writer_free(QFILE_WRITER *w);
void qfile_put(QFILE_WRITER *w, int type, const void *data, size_t len);
void qfile_putf(QFILE_WRITER *w, int type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void qfile_put_attr(QFILE_WRITER *w, const char *name, const char *value);
void qfile_put_time(QFILE_WRITER *w, long sec, long usec);
void qfile_put_warn(QFILE_WRITER *w, long when);
void qfile_put_rcpt(QFILE_WRITER *w, const QFILE_OUT_RCPT *rcpt);
void qfile_put_content(QFILE_WRITER *w, const char *text, size_t len);
const STRBUF *qfile_writer_finish(QFILE_WRITER *w);
void qfile_make(const QFILE_ENVELOPE *env, STRBUF *out);

#endif
