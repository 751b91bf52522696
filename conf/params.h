/*
 * params - the table of parameters the queue manager reads.
 *
 * One row per parameter that Postfix 3.7's qmgr(8) or oqmgr(8) reads (its
 * own, and the global ones it depends on), plus pqmgr's own parameters.
 * A row gives the name, the type, the default exactly as "postconf -d"
 * prints it (a raw value, expanded on use), the range Postfix enforces and
 * which program enforces it at startup.
 *
 * Types and the meaning of min/max (as in Postfix, 0 means "no limit"):
 *	CF_TYPE_STR	text; min/max bound the length of the expanded value
 *	CF_TYPE_LIST	text of names separated by commas and/or whitespace;
 *			min/max as for CF_TYPE_STR
 *	CF_TYPE_INT	decimal int; min/max bound the value
 *	CF_TYPE_BOOL	"yes" or "no", any case
 *	CF_TYPE_TIME	number with an optional unit s, m, h, d or w; without
 *			a unit the default's unit applies; min/max in seconds
 *	CF_TYPE_FEEDBACK  concurrency feedback: "x", "x/y" or
 *			"x/concurrency"; min/max as for CF_TYPE_STR
 *
 * Flags:
 *	CF_QMGR, CF_OQMGR  Postfix's qmgr / oqmgr reads (and so checks) the
 *			parameter at startup; pqmgr checks the same set for
 *			the scheduler it runs (CF_BOTH = both do)
 *	CF_HOST		the default is computed from the host or the run
 *			time (myhostname, mydomain, config_directory, ...);
 *			defval is what this Debian 12 host's postconf prints
 *			or NULL
 *	CF_RUNTIME	set by the running program, never by main.cf
 *			(process_id, process_name, service_name)
 *	CF_PQMGR	pqmgr's own; unknown to Postfix
 *
 * Interface:
 *	cf_param_table, cf_param_count  the rows, in a stable order
 *	cf_param_find(name)  the row for a name, or NULL
 *	cf_param_default_unit(row)  a time parameter's default unit: the
 *		first letter of its default ('s' when it has none)
 *	cf_transport_fallback(suffix)  for a per-transport suffix such as
 *		"destination_concurrency_limit", the global parameter that
 *		"<transport>_<suffix>" falls back to
 *		("default_destination_concurrency_limit"), or NULL when the
 *		suffix is not a per-transport parameter
 *	cf_type_name(type)  "string", "integer", ... for messages and docs
 */
#ifndef PQ_PARAMS_H
#define PQ_PARAMS_H

#include <stddef.h>

typedef enum CF_TYPE {
    CF_TYPE_STR,
    CF_TYPE_LIST,
    CF_TYPE_INT,
    CF_TYPE_BOOL,
    CF_TYPE_TIME,
    CF_TYPE_FEEDBACK,
} CF_TYPE;

#define CF_QMGR    (1 << 0)
#define CF_OQMGR   (1 << 1)
#define CF_BOTH    (CF_QMGR | CF_OQMGR)
#define CF_HOST    (1 << 2)
#define CF_RUNTIME (1 << 3)
#define CF_PQMGR   (1 << 4)

typedef struct CF_PARAM {
    const char *name;
    CF_TYPE type;
    const char *defval; /* raw, as "postconf -d" prints it */
    int min;            /* 0 = no lower limit */
    int max;            /* 0 = no upper limit */
    int flags;
    const char *doc; /* one line: what it controls */
} CF_PARAM;

extern const CF_PARAM cf_param_table[];
extern const size_t cf_param_count;

const CF_PARAM *cf_param_find(const char *name);
int cf_param_default_unit(const CF_PARAM *param);
const char *cf_transport_fallback(const char *suffix);
const char *cf_type_name(CF_TYPE type);

#endif
