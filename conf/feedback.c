/*
 * feedback - concurrency feedback values (see feedback.h).
 *
 * The parse follows the pattern "number, optional '/', then one word of at
 * most 30 characters and nothing after it" that Postfix reads with
 * sscanf(); numbers are read with strtod(), as sscanf() reads them.
 */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "feedback.h"

#define FEEDBACK_WORD_MAX 30 /* longest denominator Postfix reads */
#define FEEDBACK_WINDOW   "concurrency"

static int
within(double value, double low, double high)
{
    return value >= low && value <= high;
}

static const char *
skip_space(const char *cp)
{
    while (isspace((unsigned char) *cp))
        cp++;
    return cp;
}

/* parse_denominator - the word after "/": a window name or a number */

static int
parse_denominator(double numerator, const char *word, CF_FEEDBACK *fb)
{
    double denom;
    char *end;

    if (strcmp(word, FEEDBACK_WINDOW) == 0) {
        fb->base = numerator;
        fb->per_concurrency = 1;
        return 0;
    }
    if (!within(numerator, 0, INT_MAX))
        return -1;
    denom = strtod(word, &end);
    if (end == word || *end != 0 || !within(denom, 1.0 / INT_MAX, INT_MAX))
        return -1;
    fb->base = numerator / denom;
    fb->per_concurrency = 0;
    return 0;
}

/* parse_feedback - the syntax; -1 when it does not match */

static int
parse_feedback(const char *text, CF_FEEDBACK *fb)
{
    const char *cp;
    char *end;
    double numerator;
    size_t len;
    char word[FEEDBACK_WORD_MAX + 1];

    numerator = strtod(text, &end);
    if (end == text)
        return -1;
    cp = skip_space(end);
    if (*cp != '/') {
        fb->base = numerator;
        fb->per_concurrency = 0;
        return 0;
    }
    cp = skip_space(cp + 1);
    len = strcspn(cp, " \t\n\v\f\r");
    if (len == 0 || len > FEEDBACK_WORD_MAX || cp[len] != 0)
        return -1;
    memcpy(word, cp, len);
    word[len] = 0;
    return parse_denominator(numerator, word, fb);
}

int
cf_feedback_parse(const char *text, CF_FEEDBACK *fb)
{
    if (parse_feedback(text, fb) == 0 && within(fb->base, 0, 1))
        return 0;
    fb->base = 1;
    fb->per_concurrency = 0;
    return -1;
}

double
cf_feedback_value(const CF_FEEDBACK *fb, int concurrency)
{
    if (fb->per_concurrency && concurrency > 0)
        return fb->base / concurrency;
    return fb->base;
}
