/*
 * conf_get - typed, range-checked parameter lookup, global and per
 * transport (see conf.h).  Messages are Postfix's, followed by where the
 * value was set.
 */
#include <string.h>

#include "conf_impl.h"
#include "msg.h"
#include "params.h"
#include "values.h"
#include "xalloc.h"

#define CF_LIST_SEPARATORS ", \t\r\n"
#define CF_TRANSPORT_UNIT  's' /* per-transport times: seconds */

/* typed_row - the table row for name, which must have one of the types */

static const CF_PARAM *
typed_row(const char *name, CF_TYPE type, CF_TYPE other)
{
    const CF_PARAM *param = cf_param_find(name);

    if (param != NULL && param->type != type && param->type != other)
        msg_panic("parameter %s is of type %s, not %s", name,
                  cf_type_name(param->type), cf_type_name(type));
    return param;
}

/* check_length - Postfix's string length limits */

static int
check_length(CF *cf, const char *name, const char *value, int min, int max)
{
    size_t len = strlen(value);

    if (min && len < (size_t) min)
        return cf_fail(cf, "bad string length %zu < %d: %s = %s%s", len, min,
                       name, value, cf_where_suffix(cf, name));
    if (max && len > (size_t) max)
        return cf_fail(cf, "bad string length %zu > %d: %s = %s%s", len, max,
                       name, value, cf_where_suffix(cf, name));
    return 0;
}

/* get_checked_str - the expanded value, length-checked */

static const char *
get_checked_str(CF *cf, const char *name, int min, int max)
{
    const char *value = cf_expand_param(cf, name);

    if (value == NULL || check_length(cf, name, value, min, max) < 0)
        return NULL;
    return value;
}

static int
get_int(CF *cf, const char *name, int min, int max, int *result)
{
    const char *text;
    int value;

    if ((text = cf_expand_param(cf, name)) == NULL)
        return -1;
    if (cf_convert_int(text, &value) < 0)
        return cf_fail(cf, "bad numerical configuration: %s = %s%s", name, text,
                       cf_where_suffix(cf, name));
    if (min && value < min)
        return cf_fail(cf, "invalid %s parameter value %d < %d%s", name, value,
                       min, cf_where_suffix(cf, name));
    if (max && value > max)
        return cf_fail(cf, "invalid %s parameter value %d > %d%s", name, value,
                       max, cf_where_suffix(cf, name));
    *result = value;
    return 0;
}

static int
get_time(CF *cf, const char *name, int unit, int min, int max, int *result)
{
    const char *text;
    int value;

    if ((text = cf_expand_param(cf, name)) == NULL)
        return -1;
    if (cf_convert_time(text, unit, &value) < 0)
        return cf_fail(cf, "parameter %s: bad time value or unit: %s%s", name,
                       text, cf_where_suffix(cf, name));
    if (min && value < min)
        return cf_fail(cf, "invalid %s: %d (min %d)%s", name, value, min,
                       cf_where_suffix(cf, name));
    if (max && value > max)
        return cf_fail(cf, "invalid %s: %d (max %d)%s", name, value, max,
                       cf_where_suffix(cf, name));
    *result = value;
    return 0;
}

/* get_feedback - a feedback value; bad ones are a warning, as in Postfix */

static int
get_feedback(CF *cf, const char *name, const char *warn_name, int min, int max,
             CF_FEEDBACK *fb)
{
    const char *text;

    if ((text = get_checked_str(cf, name, min, max)) == NULL)
        return -1;
    if (cf_feedback_parse(text, fb) < 0)
        msg_warn("%s: ignoring malformed or unreasonable feedback: %s",
                 warn_name, text);
    return 0;
}

/* has_length_limits - min/max of the row are string length limits */

static int
has_length_limits(const CF_PARAM *param)
{
    return param != NULL &&
           (param->type == CF_TYPE_STR || param->type == CF_TYPE_LIST ||
            param->type == CF_TYPE_FEEDBACK);
}

const char *
cf_get_str(CF *cf, const char *name)
{
    const CF_PARAM *param = cf_param_find(name);

    if (!has_length_limits(param))
        return cf_expand_param(cf, name);
    return get_checked_str(cf, name, param->min, param->max);
}

int
cf_get_int(CF *cf, const char *name, int *value)
{
    const CF_PARAM *param = typed_row(name, CF_TYPE_INT, CF_TYPE_INT);

    return get_int(cf, name, param ? param->min : 0, param ? param->max : 0,
                   value);
}

int
cf_get_bool(CF *cf, const char *name, int *value)
{
    const char *text;

    (void) typed_row(name, CF_TYPE_BOOL, CF_TYPE_BOOL);
    if ((text = cf_expand_param(cf, name)) == NULL)
        return -1;
    if (cf_convert_bool(text, value) < 0)
        return cf_fail(cf, "bad boolean configuration: %s = %s%s", name, text,
                       cf_where_suffix(cf, name));
    return 0;
}

int
cf_get_time(CF *cf, const char *name, int *seconds)
{
    const CF_PARAM *param = typed_row(name, CF_TYPE_TIME, CF_TYPE_TIME);

    if (param == NULL)
        return get_time(cf, name, CF_TRANSPORT_UNIT, 0, 0, seconds);
    return get_time(cf, name, cf_param_default_unit(param), param->min,
                    param->max, seconds);
}

int
cf_get_feedback(CF *cf, const char *name, CF_FEEDBACK *fb)
{
    const CF_PARAM *param = typed_row(name, CF_TYPE_FEEDBACK, CF_TYPE_FEEDBACK);

    return get_feedback(cf, name, name, param ? param->min : 1,
                        param ? param->max : 0, fb);
}

/* Lists. */

static CF_LIST *
split_list(const char *text)
{
    CF_LIST *list = xcalloc(1, sizeof(*list));
    const char *cp = text;
    size_t len;

    list->argv = xcalloc(1, sizeof(char *));
    for (;;) {
        cp += strspn(cp, CF_LIST_SEPARATORS);
        if ((len = strcspn(cp, CF_LIST_SEPARATORS)) == 0)
            break;
        list->argv = xrealloc(list->argv, (list->argc + 2) * sizeof(char *));
        list->argv[list->argc++] = xstrndup(cp, len);
        list->argv[list->argc] = NULL;
        cp += len;
    }
    return list;
}

int
cf_get_list(CF *cf, const char *name, CF_LIST **list)
{
    const CF_PARAM *param = typed_row(name, CF_TYPE_LIST, CF_TYPE_STR);
    const char *text;

    text = get_checked_str(cf, name, param ? param->min : 0,
                           param ? param->max : 0);
    if (text == NULL)
        return -1;
    *list = split_list(text);
    return 0;
}

void
cf_list_free(CF_LIST *list)
{
    if (list == NULL)
        return;
    for (int i = 0; i < list->argc; i++)
        xfree(list->argv[i]);
    xfree(list->argv);
    xfree(list);
}

/* Per transport. */

/*
 * transport_param - "<transport>_<suffix>" into name; returns the row of
 * the global parameter it falls back to, which must be of type.
 */
static const CF_PARAM *
transport_param(const char *transport, const char *suffix, CF_TYPE type,
                STRBUF *name)
{
    const char *fallback = cf_transport_fallback(suffix);
    const CF_PARAM *param;

    if (fallback == NULL || (param = cf_param_find(fallback)) == NULL)
        msg_panic("unknown per-transport parameter suffix: %s", suffix);
    if (param->type != type)
        msg_panic("per-transport parameter %s is of type %s, not %s", suffix,
                  cf_type_name(param->type), cf_type_name(type));
    strbuf_reset(name);
    strbuf_addf(name, "%s_%s", transport, suffix);
    return param;
}

/* has_own_value - set, or a real parameter with a default of its own */

static int
has_own_value(CF *cf, const char *name)
{
    return cf_is_set(cf, name) || cf_param_find(name) != NULL;
}

int
cf_get_transport_int(CF *cf, const char *transport, const char *suffix,
                     int *value)
{
    STRBUF *name = strbuf_alloc(100);
    const CF_PARAM *param;
    int status;

    param = transport_param(transport, suffix, CF_TYPE_INT, name);
    if (has_own_value(cf, strbuf_str(name)))
        status = get_int(cf, strbuf_str(name), param->min, param->max, value);
    else
        status = cf_get_int(cf, param->name, value);
    strbuf_free(name);
    return status;
}

int
cf_get_transport_time(CF *cf, const char *transport, const char *suffix,
                      int *seconds)
{
    STRBUF *name = strbuf_alloc(100);
    const CF_PARAM *param;
    int status;

    param = transport_param(transport, suffix, CF_TYPE_TIME, name);
    if (has_own_value(cf, strbuf_str(name)))
        status = get_time(cf, strbuf_str(name), CF_TRANSPORT_UNIT, param->min,
                          param->max, seconds);
    else
        status = cf_get_time(cf, param->name, seconds);
    strbuf_free(name);
    return status;
}

/*
 * The warning about a bad feedback value names the per-transport parameter
 * only when its value differs from the global one, as Postfix does.
 */
int
cf_get_transport_feedback(CF *cf, const char *transport, const char *suffix,
                          CF_FEEDBACK *fb)
{
    STRBUF *name = strbuf_alloc(100);
    const CF_PARAM *param;
    const char *value;
    const char *warn_name;
    char *global;
    int status = -1;

    param = transport_param(transport, suffix, CF_TYPE_FEEDBACK, name);
    if (!has_own_value(cf, strbuf_str(name))) {
        strbuf_free(name);
        return cf_get_feedback(cf, param->name, fb);
    }
    if ((value = cf_expand_param(cf, param->name)) != NULL) {
        global = xstrdup(value);
        value = cf_expand_param(cf, strbuf_str(name));
        warn_name = value && strcmp(value, global) == 0 ? param->name
                                                        : strbuf_str(name);
        status = get_feedback(cf, strbuf_str(name), warn_name, param->min,
                              param->max, fb);
        xfree(global);
    }
    strbuf_free(name);
    return status;
}
