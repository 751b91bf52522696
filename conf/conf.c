/*
 * conf - the configuration object: storage, main.cf and -o input,
 * defaults, expansion (see conf.h; shared internals in conf_impl.h).
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf_impl.h"
#include "maincf.h"
#include "msg.h"
#include "params.h"
#include "xalloc.h"

#define CF_DEFAULT_DOMAIN "localdomain" /* Postfix's DEF_MYDOMAIN */
#define CF_WHERE_OPTION   "-o option"
#define CF_WHERE_RUNTIME  "set at run time"
#define CF_WHERE_DEFAULT  "default"

/* Entries. */

static unsigned
hash_name(const char *name)
{
    unsigned h = 5381;

    while (*name)
        h = h * 33 + (unsigned char) *name++;
    return h % CF_HASH_SIZE;
}

CF_ENTRY *
cf_entry(CF *cf, const char *name, int create)
{
    unsigned slot = hash_name(name);
    CF_ENTRY *e;

    for (e = cf->hash[slot]; e; e = e->next)
        if (strcmp(e->name, name) == 0)
            return e;
    if (!create)
        return NULL;
    e = xcalloc(1, sizeof(*e));
    e->name = xstrdup(name);
    e->next = cf->hash[slot];
    cf->hash[slot] = e;
    return e;
}

static void
entry_free(CF_ENTRY *e)
{
    xfree(e->name);
    xfree(e->value);
    xfree(e->where);
    xfree(e->computed);
    xfree(e->expanded);
    xfree(e);
}

/* forget_expansions - a value changed: cached expansions may be stale */

static void
forget_expansions(CF *cf)
{
    if (cf->cached == 0)
        return;
    cf->cached = 0;
    for (int i = 0; i < CF_HASH_SIZE; i++)
        for (CF_ENTRY *e = cf->hash[i]; e; e = e->next) {
            xfree(e->expanded);
            e->expanded = NULL;
        }
}

static void
store(CF *cf, const char *name, const char *value, const char *where)
{
    CF_ENTRY *e = cf_entry(cf, name, 1);

    xfree(e->value);
    xfree(e->where);
    e->value = xstrdup(value);
    e->where = xstrdup(where);
    forget_expansions(cf);
}

int
cf_fail(CF *cf, const char *fmt, ...)
{
    va_list ap;

    strbuf_reset(cf->why);
    va_start(ap, fmt);
    strbuf_vaddf(cf->why, fmt, ap);
    va_end(ap);
    return -1;
}

/* Life cycle. */

static CF *
cf_create(const char *config_dir, const char *label)
{
    CF *cf = xcalloc(1, sizeof(*cf));

    cf->config_dir = xstrdup(config_dir);
    cf->label = xstrdup(label);
    cf->why = strbuf_alloc(100);
    cf->where = strbuf_alloc(100);
    return cf;
}

void
cf_free(CF *cf)
{
    CF_ENTRY *e;
    CF_ENTRY *next;

    if (cf == NULL)
        return;
    for (int i = 0; i < CF_HASH_SIZE; i++)
        for (e = cf->hash[i]; e; e = next) {
            next = e->next;
            entry_free(e);
        }
    xfree(cf->config_dir);
    xfree(cf->label);
    strbuf_free(cf->why);
    strbuf_free(cf->where);
    xfree(cf);
}

/* store_file_entry - one main.cf entry; the last one wins */

static void
store_file_entry(const char *name, const char *value, int lineno, void *context)
{
    CF *cf = context;
    CF_ENTRY *e = cf_entry(cf, name, 0);
    char where[PATH_MAX + 64];

    if (e != NULL && e->value != NULL && strcmp(e->value, value) != 0)
        msg_warn("%s, line %d: overriding earlier entry: %s=%s", cf->label,
                 lineno, name, e->value);
    snprintf(where, sizeof(where), "%s, line %d", cf->label, lineno);
    store(cf, name, value, where);
}

/* open_result - hand over the object, or the reason why not */

static CF *
open_result(CF *cf, int status, STRBUF *why, char **whyp)
{
    if (status == 0) {
        strbuf_free(why);
        return cf;
    }
    cf_free(cf);
    if (whyp)
        *whyp = strbuf_steal(why);
    else
        strbuf_free(why);
    return NULL;
}

CF *
cf_open(const char *config_dir, char **whyp)
{
    STRBUF *path = strbuf_alloc(100);
    STRBUF *why = strbuf_alloc(100);
    CF *cf;
    int status;

    if (config_dir == NULL && (config_dir = getenv("MAIL_CONFIG")) == NULL)
        config_dir = CF_DEFAULT_CONFIG_DIR;
    strbuf_addf(path, "%s/main.cf", config_dir);
    cf = cf_create(config_dir, strbuf_str(path));
    status = maincf_read(strbuf_str(path), store_file_entry, cf, why);
    strbuf_free(path);
    return open_result(cf, status, why, whyp);
}

CF *
cf_open_buffer(const char *label, const char *data, size_t len, char **whyp)
{
    STRBUF *why = strbuf_alloc(100);
    CF *cf = cf_create(label, label);
    int status;

    status = maincf_parse(label, data, len, store_file_entry, cf, why);
    return open_result(cf, status, why, whyp);
}

/* Changes. */

int
cf_override(CF *cf, const char *name_value)
{
    char *copy = xstrdup(name_value);
    char *name;
    char *value;
    const char *err;

    if ((err = maincf_split(copy, &name, &value)) != NULL) {
        xfree(copy);
        return cf_fail(cf, "invalid \"-o %s\" option value: %s", name_value,
                       err);
    }
    store(cf, name, value, CF_WHERE_OPTION);
    xfree(copy);
    return 0;
}

void
cf_set(CF *cf, const char *name, const char *value)
{
    store(cf, name, value, CF_WHERE_RUNTIME);
}

/* Computed defaults. */

/* escape_dollars - text as a raw value that expands to itself */

static char *
escape_dollars(const char *text)
{
    STRBUF *sb = strbuf_alloc(strlen(text) + 8);

    for (; *text; text++) {
        if (*text == '$')
            strbuf_addch(sb, '$');
        strbuf_addch(sb, *text);
    }
    return strbuf_steal(sb);
}

/* default_myhostname - the host name, qualified with $mydomain if need be */

static char *
default_myhostname(CF *cf)
{
    char host[HOST_NAME_MAX + 1];
    char *escaped;
    STRBUF *sb;

    if (gethostname(host, sizeof(host)) < 0)
        strcpy(host, "localhost");
    host[sizeof(host) - 1] = 0;
    escaped = escape_dollars(host);
    if (strchr(host, '.') != NULL)
        return escaped;
    sb = strbuf_alloc(100);
    strbuf_addf(sb, "%s.%s", escaped,
                cf_is_set(cf, "mydomain") ? "$mydomain" : CF_DEFAULT_DOMAIN);
    xfree(escaped);
    return strbuf_steal(sb);
}

/* default_mydomain - $myhostname minus its first label */

static char *
default_mydomain(CF *cf)
{
    STRBUF *host = strbuf_alloc(100);
    const char *dot;
    char *result = NULL;
    int status;

    /* Inside an expansion, share its nesting limit: defaults may loop. */
    if (cf->expand != NULL)
        status = expand_append(cf->expand, host, "$myhostname");
    else
        status = cf_expand_text(cf, "$myhostname", host);
    if (status == 0) {
        dot = strchr(strbuf_str(host), '.');
        result = escape_dollars(dot ? dot + 1 : CF_DEFAULT_DOMAIN);
    }
    strbuf_free(host);
    return result;
}

/* computed_default - defaults that depend on the host or the run time */

static const char *
computed_default(CF *cf, const char *name)
{
    CF_ENTRY *e;
    char *value;
    char pid[32];

    if (strcmp(name, "myhostname") == 0)
        value = default_myhostname(cf);
    else if (strcmp(name, "mydomain") == 0)
        value = default_mydomain(cf);
    else if (strcmp(name, "config_directory") == 0)
        value = escape_dollars(cf->config_dir);
    else if (strcmp(name, "process_id") == 0) {
        snprintf(pid, sizeof(pid), "%ld", (long) getpid());
        value = xstrdup(pid);
    } else
        return NULL;
    if (value == NULL)
        return NULL;
    e = cf_entry(cf, name, 1);
    xfree(e->computed);
    e->computed = value;
    return value;
}

/* Lookup. */

const char *
cf_raw(CF *cf, const char *name)
{
    CF_ENTRY *e = cf_entry(cf, name, 0);
    const CF_PARAM *param;

    if (e != NULL && e->value != NULL)
        return e->value;
    if ((param = cf_param_find(name)) == NULL)
        return NULL;
    if (param->flags & (CF_HOST | CF_RUNTIME))
        return computed_default(cf, name);
    return param->defval;
}

int
cf_is_set(CF *cf, const char *name)
{
    CF_ENTRY *e = cf_entry(cf, name, 0);

    return e != NULL && e->value != NULL;
}

const char *
cf_where(CF *cf, const char *name)
{
    CF_ENTRY *e = cf_entry(cf, name, 0);

    return e != NULL && e->value != NULL ? e->where : CF_WHERE_DEFAULT;
}

const char *
cf_where_suffix(CF *cf, const char *name)
{
    strbuf_reset(cf->where);
    if (cf_is_set(cf, name))
        strbuf_addf(cf->where, " (%s)", cf_where(cf, name));
    return strbuf_str(cf->where);
}

const char *
cf_error(const CF *cf)
{
    return strbuf_str(cf->why);
}

const char *
cf_config_dir(const CF *cf)
{
    return cf->config_dir;
}

void
cf_walk(CF *cf, void (*fn)(const char *name, void *context), void *context)
{
    for (int i = 0; i < CF_HASH_SIZE; i++)
        for (CF_ENTRY *e = cf->hash[i]; e; e = e->next)
            if (e->value != NULL)
                fn(e->name, context);
}

/* Expansion. */

static const char *
expand_lookup(const char *name, void *context)
{
    return cf_raw((CF *) context, name);
}

int
cf_expand_text(CF *cf, const char *text, STRBUF *result)
{
    EXPAND ex;
    EXPAND *saved = cf->expand;
    int status;

    strbuf_reset(result);
    expand_init(&ex, expand_lookup, cf);
    cf->expand = &ex;
    status = expand_append(&ex, result, text);
    cf->expand = saved;
    if (status < 0)
        cf_fail(cf, "%s", expand_error(&ex));
    expand_release(&ex);
    return status;
}

const char *
cf_expand_param(CF *cf, const char *name)
{
    CF_ENTRY *e = cf_entry(cf, name, 0);
    const char *raw;
    STRBUF *result;

    if (e != NULL && e->expanded != NULL)
        return e->expanded;
    result = strbuf_alloc(100);
    if ((raw = cf_raw(cf, name)) != NULL &&
        cf_expand_text(cf, raw, result) < 0) {
        char *detail = xstrdup(cf_error(cf));

        cf_fail(cf, "parameter %s: %s%s", name, detail,
                cf_where_suffix(cf, name));
        xfree(detail);
        strbuf_free(result);
        return NULL;
    }
    e = cf_entry(cf, name, 1);
    if (e->expanded == NULL)
        cf->cached++;
    xfree(e->expanded);
    e->expanded = strbuf_steal(result);
    return e->expanded;
}
