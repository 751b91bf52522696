/*
 * conf - the queue manager's configuration: main.cf, "-o" options and the
 * parameter table, read and looked up exactly as Postfix does.
 *
 * Values are kept raw and expanded ($name, see expand.h) when looked up.
 * A name that is not set expands to its default from the parameter table
 * (params.h), or to nothing when it has none.  myhostname and mydomain
 * default as in Postfix: the system host name (with ".$mydomain", or
 * ".localdomain", appended when it has no dot), and myhostname minus its
 * first label ("localdomain" when it has no dot).  config_directory
 * defaults to the directory that main.cf was read from.
 *
 * Precedence, lowest first: table default, main.cf (the last setting of a
 * name wins; a different earlier value draws Postfix's warning
 * "<file>, line <n>: overriding earlier entry: <name>=<old value>"),
 * "-o name=value" options, cf_set().
 *
 * Errors are returned, never fatal: the caller logs them and exits.  The
 * message says what Postfix would say and where the value was set, e.g.
 *	bad numerical configuration: qmgr_message_active_limit = 2x
 *	    (/etc/postfix/main.cf, line 12)
 *	parameter queue_run_delay: bad time value or unit: 5q (-o option)
 *	bad boolean configuration: helpful_warnings = maybe (...)
 *	invalid qmgr_fudge_factor parameter value 5 < 10 (...)
 *	invalid minimal_backoff_time: 0 (min 1) (...)
 *	bad string length 0 < 1: mail_owner =  (...)
 *
 * LIFETIME
 *	cf_open(dir, &why)	read <dir>/main.cf; dir NULL means
 *				$MAIL_CONFIG, else /etc/postfix.  Returns
 *				NULL with a malloc'd message in *why (free it
 *				with xfree) when the file cannot be read or
 *				has a syntax error.
 *	cf_open_buffer(label, data, len, &why)  the same for main.cf text
 *				in memory; label stands for the file name in
 *				messages and as config_directory
 *	cf_free(cf)		release everything (NULL is accepted)
 *
 * CHANGES
 *	cf_override(cf, "name=value")  a daemon "-o" option; whitespace
 *				around '=' is dropped.  Returns -1 with
 *				cf_error(): invalid "-o x" option value:
 *				missing '=' after attribute name.
 *	cf_set(cf, name, value)	set a value at run time (process_name,
 *				process_id, service_name, ...)
 *	Any change drops the strings that cf_get_str() returned before.
 *
 * LOOKUP
 *	cf_error(cf)		the message of the last failed call
 *	cf_config_dir(cf)	the directory main.cf came from
 *	cf_raw(cf, name)	the raw value: as set, else the default
 *				(computed ones included), else NULL
 *	cf_is_set(cf, name)	set in main.cf, by -o or cf_set()
 *	cf_where(cf, name)	where the value comes from:
 *				"<file>, line <n>", "-o option",
 *				"set at run time" or "default"
 *	cf_expand_text(cf, text, result)  expand any text against the
 *				configuration into result (reset first);
 *				0 or -1 with cf_error()
 *	cf_walk(cf, fn, context)  call fn(name, context) for every name
 *				that is set, in no particular order; fn must
 *				not change the configuration
 *
 * TYPED GETTERS (0 on success; -1 with cf_error() on a bad value)
 *	cf_get_str(cf, name)	the expanded value, or NULL on error.
 *				"" when undefined.  Valid until the next
 *				change or cf_free().  The length limits of
 *				string, list and feedback rows apply.
 *	cf_get_int(cf, name, &value)
 *	cf_get_bool(cf, name, &value)
 *	cf_get_time(cf, name, &seconds)  a number without a unit takes the
 *				parameter's default unit (the letter in its
 *				default: maximal_queue_lifetime = 2 is two
 *				days)
 *	cf_get_list(cf, name, &list)  the words of the value (separated by
 *				commas and/or whitespace); free with
 *				cf_list_free()
 *	cf_get_feedback(cf, name, &fb)  see feedback.h; a malformed value is
 *				a warning (logged here, as Postfix does),
 *				and yields 1
 *	Each checks the range and type of the table row for name.  Asking
 *	for a name whose row has another type is a programming error
 *	(msg_panic).  Names without a row are accepted with no range.
 *
 * PER TRANSPORT
 *	cf_get_transport_int(cf, transport, suffix, &value)
 *	cf_get_transport_time(cf, transport, suffix, &seconds)
 *	cf_get_transport_feedback(cf, transport, suffix, &fb)
 *		look up "<transport>_<suffix>" (e.g. smtp_destination_
 *		concurrency_limit) and fall back to the global parameter for
 *		suffix (default_destination_concurrency_limit); names that
 *		are real parameters (local_destination_concurrency_limit)
 *		use their own default first.  Ranges are those of the
 *		global parameter; times default to seconds.  An unknown
 *		suffix is a programming error (msg_panic).
 *
 * VALIDATION
 *	cf_validate(cf, report, context)  check every parameter that the
 *		configured scheduler reads at startup (pqmgr_scheduler:
 *		nqmgr checks what qmgr(8) checks, oqmgr what oqmgr(8)
 *		checks), plus Postfix's cross-checks (compatibility_level
 *		syntax, syslog_facility, myhostname/mydomain syntax,
 *		maillog_file prefixes).  Calls report(message, context) for
 *		each problem (report may be NULL) and returns their number;
 *		cf_error() holds the first.
 */
#ifndef PQ_CONF_H
#define PQ_CONF_H

#include <stddef.h>

#include "feedback.h"
#include "strbuf.h"

typedef struct CF CF;

typedef struct CF_LIST {
    int argc;
    char **argv; /* argc words, then NULL */
} CF_LIST;

/* Where main.cf is when neither a directory nor $MAIL_CONFIG says. */
#define CF_DEFAULT_CONFIG_DIR "/etc/postfix"

CF *cf_open(const char *config_dir, char **why);
CF *cf_open_buffer(const char *label, const char *data, size_t len, char **why);
void cf_free(CF *cf);

int cf_override(CF *cf, const char *name_value);
void cf_set(CF *cf, const char *name, const char *value);

const char *cf_error(const CF *cf);
const char *cf_config_dir(const CF *cf);
const char *cf_raw(CF *cf, const char *name);
int cf_is_set(CF *cf, const char *name);
const char *cf_where(CF *cf, const char *name);
int cf_expand_text(CF *cf, const char *text, STRBUF *result);
void cf_walk(CF *cf, void (*fn)(const char *name, void *context),
             void *context);

const char *cf_get_str(CF *cf, const char *name);
int cf_get_int(CF *cf, const char *name, int *value);
int cf_get_bool(CF *cf, const char *name, int *value);
int cf_get_time(CF *cf, const char *name, int *seconds);
int cf_get_list(CF *cf, const char *name, CF_LIST **list);
void cf_list_free(CF_LIST *list);
int cf_get_feedback(CF *cf, const char *name, CF_FEEDBACK *fb);

int cf_get_transport_int(CF *cf, const char *transport, const char *suffix,
                         int *value);
int cf_get_transport_time(CF *cf, const char *transport, const char *suffix,
                          int *seconds);
int cf_get_transport_feedback(CF *cf, const char *transport, const char *suffix,
                              CF_FEEDBACK *fb);

int cf_validate(CF *cf, void (*report)(const char *why, void *context),
                void *context);

#endif
