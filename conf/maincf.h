/*
 * maincf - the syntax of Postfix's main.cf, as Postfix 3.7 reads it.
 *
 * Logical lines: a line that starts with whitespace continues the one
 * before it (the newline goes, the leading whitespace stays).  Empty and
 * all-whitespace lines, and lines whose first non-whitespace character is
 * '#', are ignored, also between continuation lines; a '#' elsewhere is
 * data.  A logical line that itself starts with whitespace (nothing before
 * it to continue) is skipped with Postfix's warning "<file>: logical line
 * must not start with whitespace: ...".
 *
 * Each logical line is "name = value": the name ends at whitespace or '=';
 * whitespace around the '=' and at the end of the value is dropped.  A
 * line without a name or without '=' is an error that names the file and
 * the (first) line number, in Postfix's words:
 *	"/etc/postfix/main.cf, line 7: missing '=' after attribute name: "x""
 * Values are passed on raw: $name expansion is the caller's business.
 *
 * Interface:
 *	maincf_parse(label, data, len, fn, context, why)  parse a buffer;
 *		label names it in messages (normally the file's path).  For
 *		each entry, in file order, calls fn(name, value, lineno,
 *		context).  Returns 0, or -1 with the error text in why (which
 *		is reset first).  NUL bytes end a logical line's text.
 *	maincf_read(path, fn, context, why)  the same for a file; an
 *		unreadable file is an error ("open <path>: <reason>").
 *	maincf_split(buf, &name, &value)  split "name = value" in place;
 *		returns NULL, or Postfix's complaint ("missing attribute
 *		name", "missing '=' after attribute name").  Used for the
 *		"-o name=value" daemon option as well.
 */
#ifndef PQ_MAINCF_H
#define PQ_MAINCF_H

#include <stddef.h>

#include "strbuf.h"

typedef void (*MAINCF_ENTRY_FN)(const char *name, const char *value, int lineno,
                                void *context);

int maincf_parse(const char *label, const char *data, size_t len,
                 MAINCF_ENTRY_FN fn, void *context, STRBUF *why);
int maincf_read(const char *path, MAINCF_ENTRY_FN fn, void *context,
                STRBUF *why);
const char *maincf_split(char *buf, char **name, char **value);

#endif
