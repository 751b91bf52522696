/*
 * log_status - the per-recipient status line that Postfix's status
 * library writes to the mail log (log_adhoc), for the recipients the queue
 * manager settles itself (spec postfix-spool-and-master.md 6.3).
 *
 *   <id>: to=<rcpt>[, orig_to=<orig>], relay=<relay>[, conn_use=<n>],
 *   delay=<d>, delays=<a>/<b>/<c>/<d>, dsn=<x.y.z>, status=<word> (<reason>)
 *
 * Addresses are written per info_log_address_format (external: the local
 * part quoted as in addr_quote.h; internal: as is); an empty address stays
 * empty ("to=<>").  orig_to appears when the original recipient is
 * non-empty and differs from the recipient ignoring ASCII case.  conn_use
 * (reuse_count + 1) appears when reuse_count > 0.
 *
 * Times: "now" is deliver_done when set, else the time given.
 *	delay	now - incoming_arrival
 *	a	active_arrival - incoming_arrival (now - incoming_arrival when
 *		there is no active_arrival, and then b, c, d are 0)
 *	b	agent_handoff - active_arrival, or now - active_arrival when
 *		there was no agent (every line the queue manager writes)
 *	c	conn_setup_done - agent_handoff, 0 without conn_setup_done
 *	d	now - conn_setup_done, or now - agent_handoff; 0 without agent
 * A time stamp is "set" when its seconds are > 0; a negative difference
 * (clock jumped back) counts as 0.  Each value is formatted by
 * log_status_delay() with 2 significant digits and at most
 * $delay_logging_resolution_limit digits after the point.
 *
 *	log_status_config(resolution_limit, external_form)
 *		$delay_logging_resolution_limit (0..6, clamped; default 2)
 *		and info_log_address_format (1 = external, the default; 0 =
 *		internal).  Process-wide.
 *	log_status_delay(out, sec, usec, sig_digits, max_digits)
 *		append a time like Postfix's format_tv(): at most sig_digits
 *		significant digits for values below 10^sig_digits seconds
 *		(larger ones are rounded to whole seconds), never more than
 *		max_digits decimals, rounded half up, no trailing zeros:
 *		"0", "0.01", "0.5", "1.3", "41", "100".  Arguments out of
 *		range (negative time, usec > 999999, digits outside 1..6 and
 *		0..6) are clamped instead of aborting.
 *	log_status_format(out, ls, now)
 *		replace out with the line for ls (no trailing newline).
 *	log_status(ls)	format with the current time and msg_info() it.
 */
#ifndef PQ_LOG_STATUS_H
#define PQ_LOG_STATUS_H

#include <sys/time.h>

#include "strbuf.h"

/* The delivery time stamps of Postfix's MSG_STATS (0 = not set). */
typedef struct LOG_STATUS_STATS {
    struct timeval incoming_arrival; /* the 'T' record */
    struct timeval active_arrival;   /* when the message was activated */
    struct timeval agent_handoff;    /* 0 for queue manager lines */
    struct timeval conn_setup_done;  /* 0 for queue manager lines */
    struct timeval deliver_done;     /* 0: use the current time */
    int reuse_count;                 /* 0 for queue manager lines */
} LOG_STATUS_STATS;

typedef struct LOG_STATUS {
    const char *queue_id;
    const char *recipient; /* internal form; "" allowed */
    const char *orig_rcpt; /* internal form; NULL or "" for none */
    const char *relay;     /* "none" for the queue manager */
    const LOG_STATUS_STATS *stats;
    const char *dsn_status; /* "4.3.0" */
    const char *status;     /* "sent", "deferred", "bounced", an action */
    const char *reason;
} LOG_STATUS;

#define LOG_STATUS_SIG_DIGITS     2
#define LOG_STATUS_DEFAULT_MAXRES 2

void log_status_config(int resolution_limit, int external_form);
void log_status_delay(STRBUF *out, long sec, long usec, int sig_digits,
                      int max_digits);
void log_status_format(STRBUF *out, const LOG_STATUS *ls,
                       const struct timeval *now);
void log_status(const LOG_STATUS *ls);

#endif
