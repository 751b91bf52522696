/*
 * resolve_clnt - the queue manager's synchronous client of trivial-rewrite(8)
 * (spec postfix-ipc.md section 4): resolve a recipient to (transport,
 * nexthop, recipient, flags), and canonicalize an address (rewrite).
 *
 * Like Postfix's qmgr, the client blocks: trivial-rewrite is CPU bound and
 * answers at once.  One connection to the service path (relative to the
 * working directory, the queue directory: "private/rewrite" for
 * $rewrite_service_name = rewrite) is kept open between requests.  Each new
 * connection must announce exactly protocol=trivial_rewrite_protocol.
 *
 *	resolve_clnt_opts_default(opts)	the defaults below
 *	resolve_clnt_create(opts)	a client (opts copied; NULL: defaults);
 *				no connection yet
 *	resolve_clnt_free(rc)		close and release (NULL accepted)
 *	resolve_clnt_resolve(rc, class, sender, addr, now, reply)
 *		request=<class> ("resolve" or "verify"), sender=<sender> (""
 *		for the null sender), address=<addr>, all internal form.
 *		Returns 0 and fills reply (5 attributes read STRICT: server
 *		flags, transport, nexthop, recipient, resolve flags), or -1
 *		when the resolver could not be asked (see FAILURES); reply is
 *		then undefined.  A reply with an empty transport, or an empty
 *		recipient for a non-empty address, counts as a failed try.
 *		A reply with RESOLVE_FLAG_FAIL or _ERROR is a success here:
 *		the caller routes it (spec 4.8).
 *	resolve_clnt_rewrite(rc, rule, addr, now, result)
 *		request=rewrite, rule=<rule> ("local" or "remote"), address=
 *		<addr> in external form; the client quotes addr before sending
 *		and unquotes the answer, so addr and result are internal form
 *		(Postfix's rewrite_clnt_internal).  0 or -1 as above.  An
 *		empty addr gives "" without asking (the server would return
 *		it unchanged).
 *	resolve_clnt_idle(rc, now)	close the connection when it has not
 *		been used for opts.idle_limit seconds or is older than
 *		opts.ttl_limit seconds; the daemon calls it from a timer (each
 *		second or so) so that trivial-rewrite processes can exit.  The
 *		same check is made before each request.
 *	resolve_clnt_connected(rc)	1 while a connection is open (tests)
 *	resolve_reply_init(reply), resolve_reply_free(reply)
 *
 * "now" is the caller's clock (time(NULL) or the event loop's cached time);
 * it drives the cache and the idle/ttl limits.  Time-outs use the real
 * clock.
 *
 * CACHE: one entry, as in Postfix: the last successful resolve (class,
 * sender, address) and its reply, reused for opts.cache_ttl (30) seconds.
 * Never for an empty address, never for a failure, not for rewrite.
 *
 * CONNECTION LIFE: opened on demand; closed after idle_limit ($ipc_idle, 5
 * s) without a request, ttl_limit ($ipc_ttl, 1000 s) after it was opened,
 * when the server sets its "flags" (asks the client to reconnect), and
 * after any error.  A kept connection that the server has closed meanwhile
 * (trivial-rewrite restarts when a table changes) is noticed before the
 * request (poll) and replaced silently; a request that fails on a reused
 * connection is retried once at once on a new one without counting as a
 * try.
 *
 * TIME-OUTS: opts.timeout_ms ($qmgr_ipc_timeout, 60 s) applies to each of:
 * the announcement, writing the request, reading the reply.
 *
 * FAILURES (documented deviation from Postfix): Postfix's client retries
 * forever, sleeping 1 s between tries, and the whole queue manager waits.
 * This client makes at most opts.max_tries tries (default 3) with
 * opts.retry_delay_ms (default 1000) between them, logging each failure as
 * "warning: problem talking to service rewrite: <why>" (or "null transport
 * result for: <addr>"), then "giving up after N tries", and returns -1.
 * The caller routes the recipient to the retry transport with "4.3.0
 * address resolver failure", exactly as for a reply with RESOLVE_FLAG_FAIL.
 */
#ifndef PQ_RESOLVE_CLNT_H
#define PQ_RESOLVE_CLNT_H

#include <time.h>

#include "strbuf.h"

/* Request classes. */
#define RESOLVE_REGULAR "resolve"
#define RESOLVE_VERIFY  "verify"

/* Rewrite rules (contexts). */
#define REWRITE_LOCAL  "local"
#define REWRITE_REMOTE "remote"

/* Resolve flags (the second "flags" of the reply). */
#define RESOLVE_FLAG_FINAL    0x0001 /* never set by 3.7 */
#define RESOLVE_FLAG_ROUTED   0x0002 /* local part has @ ! % */
#define RESOLVE_FLAG_ERROR    0x0004 /* malformed address */
#define RESOLVE_FLAG_FAIL     0x0008 /* table lookup failure */
#define RESOLVE_CLASS_LOCAL   0x0100 /* mydestination, inet_interfaces */
#define RESOLVE_CLASS_ALIAS   0x0200 /* virtual_alias_domains */
#define RESOLVE_CLASS_VIRTUAL 0x0400 /* virtual_mailbox_domains */
#define RESOLVE_CLASS_RELAY   0x0800 /* relay_domains */
#define RESOLVE_CLASS_DEFAULT 0x1000 /* everything else, and ERROR results */
#define RESOLVE_CLASS_FINAL                                                    \
    (RESOLVE_CLASS_LOCAL | RESOLVE_CLASS_ALIAS | RESOLVE_CLASS_VIRTUAL)
#define RESOLVE_CLASS_MASK 0x1f00

typedef struct RESOLVE_REPLY {
    STRBUF *transport;
    STRBUF *nexthop;
    STRBUF *recipient;
    int flags; /* RESOLVE_FLAG_* | RESOLVE_CLASS_* */
} RESOLVE_REPLY;

typedef struct RESOLVE_CLNT_OPTS {
    const char *service_path; /* "private/rewrite" */
    int timeout_ms;           /* per I/O step; $qmgr_ipc_timeout */
    int idle_limit;           /* seconds; $ipc_idle */
    int ttl_limit;            /* seconds; $ipc_ttl */
    int max_tries;            /* >= 1 */
    int retry_delay_ms;       /* between tries */
    int cache_ttl;            /* seconds; 0 disables the cache */
} RESOLVE_CLNT_OPTS;

#define RESOLVE_CLNT_TIMEOUT_MS  60000
#define RESOLVE_CLNT_IDLE        5
#define RESOLVE_CLNT_TTL         1000
#define RESOLVE_CLNT_TRIES       3
#define RESOLVE_CLNT_RETRY_DELAY 1000
#define RESOLVE_CLNT_CACHE_TTL   30

typedef struct RESOLVE_CLNT RESOLVE_CLNT;

void resolve_clnt_opts_default(RESOLVE_CLNT_OPTS *opts);
RESOLVE_CLNT *resolve_clnt_create(const RESOLVE_CLNT_OPTS *opts);
void resolve_clnt_free(RESOLVE_CLNT *rc);
int resolve_clnt_resolve(RESOLVE_CLNT *rc, const char *class,
                         const char *sender, const char *addr, time_t now,
                         RESOLVE_REPLY *reply);
int resolve_clnt_rewrite(RESOLVE_CLNT *rc, const char *rule, const char *addr,
                         time_t now, STRBUF *result);
void resolve_clnt_idle(RESOLVE_CLNT *rc, time_t now);
int resolve_clnt_connected(const RESOLVE_CLNT *rc);

void resolve_reply_init(RESOLVE_REPLY *reply);
void resolve_reply_free(RESOLVE_REPLY *reply);

/* Encoders, exposed for byte-level tests against captured vectors. */
void resolve_clnt_encode_resolve(STRBUF *out, const char *class,
                                 const char *sender, const char *addr);
void resolve_clnt_encode_rewrite(STRBUF *out, const char *rule,
                                 const char *external_addr);

#endif
