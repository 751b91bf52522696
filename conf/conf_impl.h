/*
 * conf_impl - what conf.c, conf_get.c and conf_check.c share; not for
 * users of the configuration (they include conf.h).
 *
 * A CF is a small hash table of entries, one per name that was set or
 * looked up.  An entry holds the raw value as set (NULL when not set),
 * where it was set, the last computed default (myhostname, ...) and the
 * cached expansion that cf_get_str() handed out.
 *
 *	cf_fail(cf, fmt, ...)	set cf_error() and return -1
 *	cf_entry(cf, name, create)  the entry for name, or NULL
 *	cf_expand_param(cf, name)  the expanded value of name ("" when
 *				undefined), cached; NULL with cf_error() on
 *				an expansion error
 *	cf_where_suffix(cf, name)  " (<where>)" for messages, "" for
 *				values that are defaults
 */
#ifndef PQ_CONF_IMPL_H
#define PQ_CONF_IMPL_H

#include "conf.h"
#include "expand.h"
#include "strbuf.h"

#define CF_HASH_SIZE 257

typedef struct CF_ENTRY {
    char *name;
    char *value;    /* raw value as set; NULL when not set */
    char *where;    /* where value was set */
    char *computed; /* last computed default */
    char *expanded; /* cached expansion (cf_get_str) */
    struct CF_ENTRY *next;
} CF_ENTRY;

struct CF {
    char *config_dir; /* where main.cf came from */
    char *label;      /* main.cf's name in messages */
    CF_ENTRY *hash[CF_HASH_SIZE];
    EXPAND *expand; /* the expansion in progress, or NULL */
    int cached;     /* entries with a cached expansion */
    STRBUF *why;    /* cf_error() */
    STRBUF *where;  /* scratch for cf_where_suffix() */
};

int cf_fail(CF *cf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
CF_ENTRY *cf_entry(CF *cf, const char *name, int create);
const char *cf_expand_param(CF *cf, const char *name);
const char *cf_where_suffix(CF *cf, const char *name);

#endif
