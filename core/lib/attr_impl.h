/*
 * attr_impl - the interface between the attribute scanner and the three
 * encodings (internal to attr*.c and their tests).
 *
 * An encoding (attr_enc0.c, attr_enc64.c, attr_encplain.c) is an
 * ATTR_CODEC: three writers that the list walker in attr.c calls, and a
 * tokenizer that the common receiver logic in attr_scan.c drives.
 *
 *	put_pair(out, name, value, len)	one attribute; -1 if the encoding
 *				cannot represent it
 *	put_marker(out, marker)	a group marker, "{" or "}"
 *	put_end(out)		the list terminator
 *
 * Tokens are read from an
 * ATTR_CURSOR over the caller's bytes; every reader returns ATTR_SCAN_DONE
 * (token complete, cursor advanced past it), ATTR_SCAN_AGAIN (the bytes end
 * inside the token; cursor unchanged) or ATTR_SCAN_ERROR (cur->why says
 * why).
 *
 *	get_name(cur, tok)	the next attribute name, or the terminator
 *				(tok->sep == ATTR_SEP_END)
 *	get_value(cur, tok)	the value after a name
 *	skip_value(cur)		step over the value after a name
 *	data_is_text		1 if DATA values travel as base64 text inside
 *				the value (attr0, plain), 0 if the value
 *				itself already decodes to the bytes (attr64)
 *
 * Helpers for the tokenizers:
 *	attr_cursor_find(cur, stop1, stop2, &end)	the first stop byte at
 *				or after cur->pos, searching no further than
 *				string_max bytes
 *	attr_cursor_error(cur, fmt, ...)	record why the input is bad
 *	attr_quote(buf, len, ptr, n)	a printable, shortened copy of input
 *				bytes for error messages
 *	attr_base64_encode(out, data, len)	append base64 text
 *	attr_base64_decode(out, text, len)	replace out with the decoded
 *				bytes; -1 for malformed text
 */
#ifndef PQ_ATTR_IMPL_H
#define PQ_ATTR_IMPL_H

#include <stddef.h>

#include "attr.h"
#include "strbuf.h"

typedef struct ATTR_CURSOR {
    const char *buf;
    size_t len;   /* usable bytes: min(input, list_max) */
    size_t pos;   /* next unread byte */
    int eof;      /* no more input will come */
    int at_limit; /* len was cut to list_max */
    const ATTR_LIMITS *limits;
    STRBUF *name_buf;  /* decoded names (attr64) */
    STRBUF *value_buf; /* decoded values (attr64) */
    char *why;         /* ATTR_WHY_LEN bytes */
} ATTR_CURSOR;

/* What follows a name. */
#define ATTR_SEP_END   0 /* no name: this was the list terminator */
#define ATTR_SEP_VALUE 1 /* a value follows */
#define ATTR_SEP_NONE  2 /* no value follows (line ended) */
#define ATTR_SEP_MAYBE 3 /* attr0: a value follows unless a group marker */

typedef struct ATTR_TOKEN {
    const char *ptr;
    size_t len;
    int sep; /* names only */
} ATTR_TOKEN;

typedef struct ATTR_CODEC {
    const char *name;
    int (*put_pair)(STRBUF *out, const char *name, const char *value,
                    size_t len);
    void (*put_marker)(STRBUF *out, const char *marker);
    void (*put_end)(STRBUF *out);
    int (*get_name)(ATTR_CURSOR *cur, ATTR_TOKEN *tok);
    int (*get_value)(ATTR_CURSOR *cur, ATTR_TOKEN *tok);
    int (*skip_value)(ATTR_CURSOR *cur);
    int data_is_text;
} ATTR_CODEC;

extern const ATTR_CODEC attr_codec0;
extern const ATTR_CODEC attr_codec64;
extern const ATTR_CODEC attr_codec_plain;

const ATTR_CODEC *attr_codec(ATTR_ENCODING enc);

int attr_cursor_find(ATTR_CURSOR *cur, int stop1, int stop2, size_t *end);
void attr_cursor_error(ATTR_CURSOR *cur, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const char *attr_quote(char *buf, size_t size, const char *ptr, size_t len);

void attr_base64_encode(STRBUF *out, const void *data, size_t len);
int attr_base64_decode(STRBUF *out, const char *text, size_t len);

#endif
