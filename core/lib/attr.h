/*
 * attr - Postfix's attribute lists: the model, the encoders and the scanners.
 *
 * Every peer of the queue manager speaks in attribute lists: an ordered
 * sequence of (name, value) pairs and a list terminator.  Three encodings
 * exist; the wire carries only strings, the types below only decide how a
 * value is formatted and parsed (facts: spec/postfix-ipc.md section 1).
 *
 *	ATTR_ENC_0	"name\0value\0" ... "\0"	(every qmgr peer)
 *	ATTR_ENC_64	"b64(name):b64(value)\n" ... "\n"
 *	ATTR_ENC_PLAIN	"name=value\n" ... "\n"	(anvil, policy)
 *
 * Building and sending (the model):
 *	attr_list_create(), attr_list_free(list), attr_list_reset(list)
 *	attr_list_add_int(list, name, value)	%u of an unsigned int: pass
 *						-1 and 4294967295 goes out
 *	attr_list_add_long(list, name, value)	%lu of an unsigned long
 *	attr_list_add_str(list, name, value)	a C string, copied
 *	attr_list_add_data(list, name, ptr, len) bytes, sent as base64
 *	attr_list_add_hash(list)		a group "{" pairs "}": returns
 *						the table, to fill with
 *						attr_list_add_str()
 *	attr_list_add_run(list)			a nested run written inline
 *						without markers (Postfix's
 *						ATTR_TYPE_FUNC): returns it
 *	attr_list_find(list, name)		first item with that name
 *	attr_print(out, enc, flags, list)	append the encoded list to out;
 *						ATTR_FLAG_MORE leaves out the
 *						terminator.  0, or -1 (out
 *						unchanged) if a name or value
 *						cannot be represented (empty
 *						name; plain: '=' in a name or a
 *						newline anywhere).
 *	attr_print0(out, flags, list)		the same for ATTR_ENC_0
 *
 * Receiving (the scanners):
 *	attr_scan(enc, buf, len, flags, want, limits, res)
 *	attr_scan0(buf, len, flags, want, limits, res)
 *	    scans one list (or, with ATTR_FLAG_MORE, the start of one) from
 *	    buf[0..len) into the caller's wish list want[] (ATTR_WANT_*,
 *	    ended by ATTR_WANT_END).  It never blocks and never keeps state:
 *	    call it again from the same start with more bytes after
 *	    ATTR_SCAN_AGAIN.  limits NULL means attr_default_limits.  The
 *	    status is returned and stored in res->status:
 *	    ATTR_SCAN_DONE	res->count conversions, res->used bytes used
 *	    ATTR_SCAN_AGAIN	the bytes end before the list does: read more
 *	    ATTR_SCAN_EOF	len == 0 and ATTR_FLAG_EOF: the peer closed
 *				between lists
 *	    ATTR_SCAN_ERROR	malformed or unacceptable input; res->why says
 *				what (a bad number or base64, a STREQ
 *				mismatch, end of input inside a list, a limit
 *				exceeded, or a strictness violation below)
 *	    Destinations hold undefined values unless the status is DONE.
 *
 *	Receiver semantics are Postfix's (spec 1.6), in all encodings: the
 *	wish list is walked in order and the input read forwards; input
 *	attributes that are not wanted next are skipped; after the last
 *	wanted one the rest of the list is skipped up to the terminator.
 *	Counting: INT, LONG, STR, DATA and a RUN count 1, a HASH the entries
 *	it stored, STREQ 0.  Flags:
 *	    ATTR_FLAG_MISSING	the terminator before a wanted attribute is
 *				an error (without it: DONE with a short count)
 *	    ATTR_FLAG_EXTRA	an attribute that is not the next wanted one
 *				(or a duplicate hash key) is an error
 *	    ATTR_FLAG_STRICT	both: exact names, exact order, nothing extra
 *	    ATTR_FLAG_MORE	stop after the last wanted attribute without
 *				reading the terminator; scan the rest later
 *				from buf + res->used
 *	    ATTR_FLAG_EOF	no byte will follow buf[len - 1] (the peer
 *				closed): running out of input is an error
 *	Stricter than Postfix (it only ever sends what we accept): numbers
 *	are 1 or more decimal digits without sign, space or overflow; base64
 *	must be canonical in length and padding; a STR value may not contain
 *	a NUL byte; a RUN that meets the terminator ends the scan like a
 *	missing attribute; a hash with more than limits->hash_max entries is
 *	an error.
 *
 * Announcements (spec section 2, always stricter than Postfix's check):
 *	attr_announce(out, enc, protocol)	append "protocol=<value>" + end
 *	attr_scan_announcement(enc, buf, len, flags, protocol, res)
 *	    DONE only for exactly protocol=<protocol> and the terminator; an
 *	    empty list, another name, another value or EOF is an ERROR.
 *	ATTR_PROTO_*				the names Postfix 3.7 announces
 */
#ifndef PQ_ATTR_H
#define PQ_ATTR_H

#include <stddef.h>

#include "strbuf.h"

/* Value types; the numbers are Postfix's ATTR_TYPE_* codes. */
#define ATTR_TYPE_END   0
#define ATTR_TYPE_INT   1
#define ATTR_TYPE_STR   2
#define ATTR_TYPE_HASH  3
#define ATTR_TYPE_LONG  4
#define ATTR_TYPE_DATA  5
#define ATTR_TYPE_RUN   6 /* Postfix's ATTR_TYPE_FUNC */
#define ATTR_TYPE_STREQ 7 /* receive only */

/* Flags; the first four are Postfix's ATTR_FLAG_* values. */
#define ATTR_FLAG_NONE    0
#define ATTR_FLAG_MISSING 1
#define ATTR_FLAG_EXTRA   2
#define ATTR_FLAG_STRICT  (ATTR_FLAG_MISSING | ATTR_FLAG_EXTRA)
#define ATTR_FLAG_MORE    4
#define ATTR_FLAG_EOF     0x100

typedef enum ATTR_ENCODING {
    ATTR_ENC_0,
    ATTR_ENC_64,
    ATTR_ENC_PLAIN,
} ATTR_ENCODING;

/* Scan results. */
#define ATTR_SCAN_DONE  1
#define ATTR_SCAN_AGAIN 0
#define ATTR_SCAN_ERROR (-1)
#define ATTR_SCAN_EOF   (-2)

/* Protocol names announced by Postfix 3.7 servers (verify's is misspelled). */
#define ATTR_PROTO_DELIVERY "delivery_request_protocol"
#define ATTR_PROTO_REWRITE  "trivial_rewrite_protocol"
#define ATTR_PROTO_STATUS   "delivery_status_protocol"
#define ATTR_PROTO_VERIFY   "address_verification_prrotocol"
#define ATTR_PROTO_FLUSH    "queue_flush_protocol"
#define ATTR_PROTO_ANVIL    "anvil_protocol"

/* The model: an ordered list of typed attributes. */
typedef struct ATTR_LIST ATTR_LIST;

typedef struct ATTR {
    int type;          /* ATTR_TYPE_INT .. ATTR_TYPE_RUN */
    char *name;        /* NULL for HASH and RUN */
    unsigned long num; /* INT, LONG */
    char *str;         /* STR (NUL-terminated), DATA */
    size_t len;        /* length of str */
    ATTR_LIST *list;   /* HASH entries, RUN members */
} ATTR;

struct ATTR_LIST {
    ATTR *items;
    size_t count;
    size_t size;
};

ATTR_LIST *attr_list_create(void);
void attr_list_free(ATTR_LIST *list);
void attr_list_reset(ATTR_LIST *list);
void attr_list_add_int(ATTR_LIST *list, const char *name, unsigned value);
void attr_list_add_long(ATTR_LIST *list, const char *name, unsigned long value);
void attr_list_add_str(ATTR_LIST *list, const char *name, const char *value);
void attr_list_add_data(ATTR_LIST *list, const char *name, const void *data,
                        size_t len);
ATTR_LIST *attr_list_add_hash(ATTR_LIST *list);
ATTR_LIST *attr_list_add_run(ATTR_LIST *list);
const ATTR *attr_list_find(const ATTR_LIST *list, const char *name);

int attr_print(STRBUF *out, ATTR_ENCODING enc, int flags,
               const ATTR_LIST *list);
int attr_print0(STRBUF *out, int flags, const ATTR_LIST *list);

/* The wish list of a scan: one entry per wanted attribute. */
typedef struct ATTR_SPEC {
    int type;
    const char *name; /* NULL for HASH, RUN and END */
    union {
        unsigned *num;               /* INT (NULL: discard) */
        unsigned long *lnum;         /* LONG (NULL: discard) */
        STRBUF *str;                 /* STR, DATA (NULL: discard) */
        const char *expect;          /* STREQ: the required value */
        ATTR_LIST *hash;             /* HASH: emptied, then filled */
        const struct ATTR_SPEC *run; /* RUN: nested wish list */
    } to;
} ATTR_SPEC;

/* clang-format off */
#define ATTR_WANT_INT(n, p)   {ATTR_TYPE_INT, (n), {.num = (p)}}
#define ATTR_WANT_LONG(n, p)  {ATTR_TYPE_LONG, (n), {.lnum = (p)}}
#define ATTR_WANT_STR(n, p)   {ATTR_TYPE_STR, (n), {.str = (p)}}
#define ATTR_WANT_DATA(n, p)  {ATTR_TYPE_DATA, (n), {.str = (p)}}
#define ATTR_WANT_STREQ(n, v) {ATTR_TYPE_STREQ, (n), {.expect = (v)}}
#define ATTR_WANT_HASH(t)     {ATTR_TYPE_HASH, NULL, {.hash = (t)}}
#define ATTR_WANT_RUN(r)      {ATTR_TYPE_RUN, NULL, {.run = (r)}}
#define ATTR_WANT_END         {ATTR_TYPE_END, NULL, {.num = NULL}}
/* clang-format on */

/* Bounds on what a scan accepts (memory stays bounded by these). */
typedef struct ATTR_LIMITS {
    size_t string_max; /* longest encoded name or value, in bytes */
    size_t list_max;   /* longest list, in bytes */
    size_t hash_max;   /* most entries in one hash (Postfix: 1024) */
} ATTR_LIMITS;

#define ATTR_STRING_MAX 65536
#define ATTR_LIST_MAX   (1024 * 1024)
#define ATTR_HASH_MAX   1024

extern const ATTR_LIMITS attr_default_limits;

#define ATTR_WHY_LEN 256

typedef struct ATTR_SCAN_RESULT {
    int status;             /* ATTR_SCAN_* */
    int count;              /* conversions (DONE) */
    size_t used;            /* bytes consumed (DONE) */
    char why[ATTR_WHY_LEN]; /* the problem (ERROR, EOF) */
} ATTR_SCAN_RESULT;

int attr_scan(ATTR_ENCODING enc, const char *buf, size_t len, int flags,
              const ATTR_SPEC *want, const ATTR_LIMITS *limits,
              ATTR_SCAN_RESULT *res);
int attr_scan0(const char *buf, size_t len, int flags, const ATTR_SPEC *want,
               const ATTR_LIMITS *limits, ATTR_SCAN_RESULT *res);

void attr_announce(STRBUF *out, ATTR_ENCODING enc, const char *protocol);
int attr_scan_announcement(ATTR_ENCODING enc, const char *buf, size_t len,
                           int flags, const char *protocol,
                           ATTR_SCAN_RESULT *res);

#endif
