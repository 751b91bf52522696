/*
 * conf_check - check the whole configuration at startup, as Postfix's
 * qmgr(8) or oqmgr(8) does before it runs (see cf_validate() in conf.h).
 */
#include <ctype.h>
#include <string.h>

#include "conf_impl.h"
#include "msg.h"
#include "params.h"
#include "values.h"

#define HOSTNAME_MAX 255 /* Postfix's VALID_HOSTNAME_LEN */
#define LABEL_MAX    63  /* Postfix's VALID_LABEL_LEN */

/* A check collects its problems here. */
typedef struct CHECK {
    CF *cf;
    void (*report)(const char *why, void *context);
    void *context;
    int count;
    STRBUF *first;
} CHECK;

static void
problem(CHECK *ck)
{
    if (ck->count++ == 0)
        strbuf_setstr(ck->first, cf_error(ck->cf));
    if (ck->report)
        ck->report(cf_error(ck->cf), ck->context);
}

/* check_param - read one parameter with its type's getter */

static void
check_param(CHECK *ck, const CF_PARAM *param)
{
    int ival;
    int status;

    switch (param->type) {
        case CF_TYPE_INT:
            status = cf_get_int(ck->cf, param->name, &ival);
            break;
        case CF_TYPE_BOOL:
            status = cf_get_bool(ck->cf, param->name, &ival);
            break;
        case CF_TYPE_TIME:
            status = cf_get_time(ck->cf, param->name, &ival);
            break;
        default: /* strings, lists, feedback: Postfix checks the length */
            status = cf_get_str(ck->cf, param->name) ? 0 : -1;
            break;
    }
    if (status < 0)
        problem(ck);
}

/*
 * hostname_problem - why a host or domain name is not valid, as Postfix's
 * valid_hostname() sees it, or NULL.
 */
static const char *
hostname_problem(const char *name)
{
    size_t label = 0;
    int non_numeric = 0;
    const char *cp;

    if (*name == 0)
        return "empty hostname";
    if (strlen(name) > HOSTNAME_MAX)
        return "bad length";
    for (cp = name; *cp; cp++) {
        if (isalnum((unsigned char) *cp) || *cp == '_') {
            if (++label > LABEL_MAX)
                return "bad label length";
            if (!isdigit((unsigned char) *cp))
                non_numeric = 1;
        } else if (*cp == '.') {
            if (label == 0 || cp[1] == 0)
                return "misplaced delimiter";
            label = 0;
        } else if (*cp == '-') {
            if (label == 0 || cp[1] == '.' || cp[1] == 0)
                return "misplaced hyphen";
            label++;
            non_numeric = 1;
        } else {
            return "invalid character";
        }
    }
    return non_numeric ? NULL : "numeric hostname";
}

static void
check_hostname(CHECK *ck, const char *param)
{
    const char *value = cf_get_str(ck->cf, param);
    const char *why;

    if (value == NULL)
        return; /* reported with the parameter */
    if ((why = hostname_problem(value)) != NULL) {
        cf_fail(ck->cf, "file %s: parameter %s: bad parameter value: %s (%s)%s",
                ck->cf->label, param, value, why,
                cf_where_suffix(ck->cf, param));
        problem(ck);
    }
}

static void
check_compatibility_level(CHECK *ck)
{
    const char *value = cf_get_str(ck->cf, "compatibility_level");
    long level;

    if (value != NULL && cf_convert_level(value, &level) < 0) {
        cf_fail(ck->cf, "malformed compatibility level syntax: \"%s\"%s", value,
                cf_where_suffix(ck->cf, "compatibility_level"));
        problem(ck);
    }
}

static void
check_syslog_facility(CHECK *ck)
{
    const char *value = cf_get_str(ck->cf, "syslog_facility");

    if (value != NULL && *value && msg_syslog_facility(value) < 0) {
        cf_fail(ck->cf,
                "file %s: parameter syslog_facility: unrecognized value: %s%s",
                ck->cf->label, value,
                cf_where_suffix(ck->cf, "syslog_facility"));
        problem(ck);
    }
}

static void
check_maillog_file(CHECK *ck)
{
    const char *file = cf_get_str(ck->cf, "maillog_file");
    CF_LIST *prefixes;
    int found = 0;

    if (file == NULL || *file == 0 ||
        cf_get_list(ck->cf, "maillog_file_prefixes", &prefixes) < 0)
        return;
    for (int i = 0; i < prefixes->argc; i++)
        if (strncmp(file, prefixes->argv[i], strlen(prefixes->argv[i])) == 0)
            found = 1;
    cf_list_free(prefixes);
    if (!found) {
        cf_fail(ck->cf,
                "maillog_file value '%s' does not match any prefix in "
                "maillog_file_prefixes%s",
                file, cf_where_suffix(ck->cf, "maillog_file"));
        problem(ck);
    }
}

/* scheduler_flag - CF_QMGR or CF_OQMGR, or 0 for an unknown scheduler */

static int
scheduler_flag(CHECK *ck)
{
    const char *name = cf_get_str(ck->cf, "pqmgr_scheduler");

    if (name == NULL) {
        problem(ck);
        return CF_QMGR;
    }
    if (strcmp(name, "nqmgr") == 0)
        return CF_QMGR;
    if (strcmp(name, "oqmgr") == 0)
        return CF_OQMGR;
    cf_fail(ck->cf,
            "parameter pqmgr_scheduler: unknown scheduler: %s "
            "(expected nqmgr or oqmgr)%s",
            name, cf_where_suffix(ck->cf, "pqmgr_scheduler"));
    problem(ck);
    return CF_QMGR;
}

/* check_agent_protocol - the request format pqmgr speaks to agents */

static void
check_agent_protocol(CHECK *ck)
{
    const char *value = cf_get_str(ck->cf, "pqmgr_agent_protocol");

    if (value == NULL) {
        problem(ck);
        return;
    }
    if (strcmp(value, "3.7") == 0 || strcmp(value, "3.10") == 0)
        return;
    cf_fail(ck->cf,
            "parameter pqmgr_agent_protocol: unknown protocol: %s "
            "(expected 3.7 or 3.10)%s",
            value, cf_where_suffix(ck->cf, "pqmgr_agent_protocol"));
    problem(ck);
}

int
cf_validate(CF *cf, void (*report)(const char *why, void *context),
            void *context)
{
    CHECK ck = {cf, report, context, 0, strbuf_alloc(100)};
    int which = scheduler_flag(&ck);

    /* Postfix's order: these come first, other values may depend on them. */
    check_compatibility_level(&ck);
    check_syslog_facility(&ck);
    check_hostname(&ck, "myhostname");
    check_hostname(&ck, "mydomain");
    for (size_t i = 0; i < cf_param_count; i++)
        if (cf_param_table[i].flags & which)
            check_param(&ck, cf_param_table + i);
    check_maillog_file(&ck);
    check_agent_protocol(&ck);
    if (ck.count > 0)
        cf_fail(cf, "%s", strbuf_str(ck.first));
    strbuf_free(ck.first);
    return ck.count;
}
