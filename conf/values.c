/*
 * values - parameter text to numbers, booleans and times (see values.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <strings.h>

#include "values.h"

int
cf_convert_int(const char *text, int *value)
{
    char *end;
    long lval;

    errno = 0;
    lval = strtol(text, &end, 10);
    if (*text == 0 || *end != 0 || errno == ERANGE || lval < INT_MIN ||
        lval > INT_MAX)
        return -1;
    *value = (int) lval;
    return 0;
}

int
cf_convert_bool(const char *text, int *value)
{
    if (strcasecmp(text, "yes") == 0)
        *value = 1;
    else if (strcasecmp(text, "no") == 0)
        *value = 0;
    else
        return -1;
    return 0;
}

/* unit_seconds - the length of a time unit, or 0 for an unknown one */

static int
unit_seconds(int unit)
{
    switch (unit) {
        case 's':
            return 1;
        case 'm':
            return 60;
        case 'h':
            return 60 * 60;
        case 'd':
            return 24 * 60 * 60;
        case 'w':
            return 7 * 24 * 60 * 60;
        default:
            return 0;
    }
}

int
cf_convert_time(const char *text, int unit, int *seconds)
{
    char *end;
    long lval;
    int scale;

    errno = 0;
    lval = strtol(text, &end, 10);
    if (*text == 0 || errno == ERANGE || lval < 0 || lval > INT_MAX)
        return -1;
    if ((scale = unit_seconds(*end ? *end : unit)) == 0)
        return -1;
    /* Postfix refuses a value at or above INT_MAX / scale, for scale > 1. */
    if (scale > 1 && lval >= INT_MAX / scale)
        return -1;
    *seconds = (int) lval * scale;
    return 0;
}

/* Compatibility level encoding: major, 10 bits minor, 10 bits patch. */
#define LEVEL_MINOR_SHIFT 10
#define LEVEL_MAJOR_SHIFT 20
#define LEVEL_FIELD_MAX   1023L

/* level_field - one number of a compatibility level */

static int
level_field(const char **cpp, long max, int last, long *value)
{
    char *end;

    errno = 0;
    *value = strtol(*cpp, &end, 10);
    if (end == *cpp || errno == ERANGE || *value < 0 || *value > max)
        return -1;
    if (*end != 0 && (last || *end != '.'))
        return -1;
    *cpp = end;
    return 0;
}

int
cf_convert_level(const char *text, long *level)
{
    const char *cp = text;
    long major, minor = 0, patch = 0;

    if (level_field(&cp, LONG_MAX >> LEVEL_MAJOR_SHIFT, 0, &major) < 0)
        return -1;
    if (*cp == '.') {
        cp++;
        if (level_field(&cp, LEVEL_FIELD_MAX, 0, &minor) < 0)
            return -1;
        if (*cp == '.') {
            cp++;
            if (level_field(&cp, LEVEL_FIELD_MAX, 1, &patch) < 0)
                return -1;
        }
    }
    *level =
        (major << LEVEL_MAJOR_SHIFT) | (minor << LEVEL_MINOR_SHIFT) | patch;
    return 0;
}
