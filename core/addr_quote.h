/*
 * addr_quote - the two address forms of Postfix: internal (unquoted) and
 * external (RFC 822 quoted local part).
 *
 * Postfix keeps envelope addresses in internal form in queue files and on
 * most wires.  Two places of the queue manager need the external form:
 * info logging with info_log_address_format = external (the default), and
 * trivial-rewrite's "rewrite" request, whose address goes out quoted and
 * comes back quoted (spec postfix-ipc.md 4.3).  The rules are those of
 * Postfix 3.7's quote_822_local() / unquote_822_local():
 *
 *	addr_quote(out, addr)	replace out with addr in external form.  The
 *				local part is everything before the last '@'
 *				(all of addr without one).  It stays as it is
 *				when it is a dot-string: non-empty, no leading,
 *				trailing or doubled '.', no space, control or
 *				8-bit character, none of ()<>@,;:\"[].
 *				Otherwise it is put in double quotes with a
 *				backslash before '"', '\', CR and 8-bit
 *				characters.  The domain is copied unchanged.
 *				Note: an empty addr gives "" (two quote
 *				characters); callers that log an empty address
 *				as <> must test for it first, as Postfix's
 *				info logging does.
 *	addr_unquote(out, addr)	replace out with addr in internal form:
 *				quotes are dropped and a backslash takes the
 *				next character literally, up to the last '@'
 *				that is not inside quotes; the rest is copied
 *				unchanged.
 */
#ifndef PQ_ADDR_QUOTE_H
#define PQ_ADDR_QUOTE_H

#include "strbuf.h"

void addr_quote(STRBUF *out, const char *addr);
void addr_unquote(STRBUF *out, const char *addr);

#endif
