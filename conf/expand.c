/*
 * expand - $name expansion of parameter values (see expand.h).
 *
 * The text is split into literal runs and references, as Postfix's
 * mac_parse(3) does; each reference is then evaluated as Postfix's
 * mac_expand(3) does, with the compatibility-level operators that Postfix
 * 3.6 registers.  Every token (literal or reference) is handled at a
 * nesting depth; a token deeper than EXPAND_MAX_DEPTH is an error, which
 * is where Postfix stops too.  The depth lives in the EXPAND object, so it
 * also covers relational operands and defaults computed by the lookup.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "expand.h"
#include "values.h"
#include "xalloc.h"

/* Whitespace around braces and names. */
#define EXPAND_SPACE " \t\r\n"

/* Relational operators. */
enum relop {
    RELOP_NONE,
    RELOP_EQ,
    RELOP_NE,
    RELOP_LT,
    RELOP_LE,
    RELOP_GE,
    RELOP_GT
};

static const struct {
    const char *text;
    enum relop code;
} relop_table[] = {
    {"==", RELOP_EQ}, {"!=", RELOP_NE}, {"<", RELOP_LT},
    {"<=", RELOP_LE}, {">=", RELOP_GE}, {">", RELOP_GT},
};

/* Characters that make up an operator (more than the valid ones). */
#define RELOP_CHARS "<>!=?+-*/~&|%"

/* The only operator suffix: compatibility levels. */
#define LEVEL_SUFFIX "level"

static int parse_text(EXPAND *ex, STRBUF *result, const char *text);

void
expand_init(EXPAND *ex, EXPAND_LOOKUP_FN lookup, void *context)
{
    ex->lookup = lookup;
    ex->context = context;
    ex->depth = 0;
    ex->tokens = 0;
    ex->why = strbuf_alloc(64);
}

void
expand_release(EXPAND *ex)
{
    strbuf_free(ex->why);
    ex->why = NULL;
}

const char *
expand_error(const EXPAND *ex)
{
    return strbuf_str(ex->why);
}

/* expand_fail - remember the first error, return -1 */

static int __attribute__((format(printf, 2, 3)))
expand_fail(EXPAND *ex, const char *fmt, ...)
{
    va_list ap;

    if (strbuf_len(ex->why) == 0) {
        va_start(ap, fmt);
        strbuf_vaddf(ex->why, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int
is_name_char(int ch)
{
    return isalnum((unsigned char) ch) || ch == '_';
}

/* skip_to_curly - if only whitespace comes before a '{', move to it */

static int
skip_to_curly(char **cpp)
{
    char *cp = *cpp + strspn(*cpp, EXPAND_SPACE);

    if (*cp != '{')
        return 0;
    *cpp = cp;
    return 1;
}

/*
 * extract_curly - *cpp is at a '{'.  Terminate the text up to the matching
 * '}' and return it; move *cpp past the '}' and the whitespace after it.
 */
static char *
extract_curly(EXPAND *ex, char **cpp)
{
    char *cp;
    int level = 1;

    for (cp = *cpp + 1; level > 0; cp++) {
        if (*cp == 0) {
            expand_fail(ex, "unbalanced {} in attribute expression: \"%s\"",
                        *cpp);
            return NULL;
        }
        if (*cp == '{')
            level++;
        else if (*cp == '}')
            level--;
    }
    cp[-1] = 0;
    {
        char *payload = *cpp + 1;

        *cpp = cp + strspn(cp, EXPAND_SPACE);
        return payload;
    }
}

/* take_operand - a {text} operand, or all that is left */

static int
take_operand(EXPAND *ex, char **cpp, char **text)
{
    if (skip_to_curly(cpp)) {
        if ((*text = extract_curly(ex, cpp)) == NULL)
            return -1;
    } else {
        *text = *cpp;
        *cpp += strlen(*cpp);
    }
    return 0;
}

/* all_digits - non-empty and nothing but decimal digits */

static int
all_digits(const char *s)
{
    if (*s == 0)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char) *s))
            return 0;
    return 1;
}

/* level_parse - a compatibility level as one comparable number */

static int
level_parse(EXPAND *ex, const char *str, long *level)
{
    if (cf_convert_level(str, level) < 0)
        return expand_fail(ex, "malformed compatibility level syntax: \"%s\"",
                           str);
    return 0;
}

/* number_parse - an all-digits operand as a long */

static int
number_parse(EXPAND *ex, const char *str, long *value)
{
    errno = 0;
    *value = strtol(str, NULL, 10);
    if (errno == ERANGE)
        return expand_fail(ex, "mac_exp_eval: bad conversion: %s", str);
    return 0;
}

/* compare - -1, 0 or 1 as left is below, equal to or above right */

static int
compare(EXPAND *ex, const char *left, const char *right, int levels, int *order)
{
    long lval, rval;
    int cmp;

    if (levels) {
        if (level_parse(ex, left, &lval) < 0 ||
            level_parse(ex, right, &rval) < 0)
            return -1;
    } else if (all_digits(left) && all_digits(right)) {
        if (number_parse(ex, left, &lval) < 0 ||
            number_parse(ex, right, &rval) < 0)
            return -1;
    } else {
        cmp = strcmp(left, right);
        *order = (cmp > 0) - (cmp < 0);
        return 0;
    }
    *order = (lval > rval) - (lval < rval);
    return 0;
}

static int
relop_holds(enum relop op, int order)
{
    switch (op) {
        case RELOP_EQ:
            return order == 0;
        case RELOP_NE:
            return order != 0;
        case RELOP_LT:
            return order < 0;
        case RELOP_LE:
            return order <= 0;
        case RELOP_GE:
            return order >= 0;
        case RELOP_GT:
            return order > 0;
        default:
            return 0;
    }
}

static enum relop
relop_lookup(const char *text, size_t len)
{
    for (size_t i = 0; i < sizeof(relop_table) / sizeof(relop_table[0]); i++)
        if (strlen(relop_table[i].text) == len &&
            strncmp(relop_table[i].text, text, len) == 0)
            return relop_table[i].code;
    return RELOP_NONE;
}

/* evaluate - expand both operands, then apply the operator */

static int
evaluate(EXPAND *ex, const char *left, enum relop op, int levels,
         const char *right, int *truth)
{
    STRBUF *lbuf = strbuf_alloc(64);
    STRBUF *rbuf = strbuf_alloc(64);
    int order = 0;
    int status;

    status = parse_text(ex, lbuf, left);
    if (status == 0)
        status = parse_text(ex, rbuf, right);
    if (status == 0)
        status =
            compare(ex, strbuf_str(lbuf), strbuf_str(rbuf), levels, &order);
    *truth = status == 0 && relop_holds(op, order);
    strbuf_free(lbuf);
    strbuf_free(rbuf);
    return status;
}

/*
 * parse_relational - *cpp is at the '{' of "{a} OP {b}".  The result is
 * "true" or "" (never undefined), so that ? and : work on it.
 */
static int
parse_relational(EXPAND *ex, char **cpp, const char **value)
{
    char *cp = *cpp;
    char *left, *right, *op_pos;
    size_t op_len, sfx_len;
    enum relop op;
    int levels = 0;
    int truth;

    if ((left = extract_curly(ex, &cp)) == NULL)
        return -1;
    op_pos = cp;
    op_len = strspn(cp, RELOP_CHARS);
    if ((op = relop_lookup(cp, op_len)) == RELOP_NONE)
        return expand_fail(ex,
                           "\"==\", \"!=\", \"<\", \"<=\", \">=\" or \">\" "
                           "expected at: \"...%s}>>>%.20s\"",
                           left, cp);
    cp += op_len;
    if (isalnum((unsigned char) *cp)) {
        for (sfx_len = 1; isalnum((unsigned char) cp[sfx_len]); sfx_len++)
            /* void */;
        if (sfx_len != strlen(LEVEL_SUFFIX) ||
            strncmp(cp, LEVEL_SUFFIX, sfx_len) != 0)
            return expand_fail(ex, "bad operator suffix at: \"...%.*s>>>%.*s\"",
                               (int) op_len, op_pos, (int) sfx_len, cp);
        levels = 1;
        cp += sfx_len;
    }
    if (!skip_to_curly(&cp))
        return expand_fail(ex,
                           "\"{expression}\" expected at: "
                           "\"...{%s} %.*s>>>%.20s\"",
                           left, (int) op_len, op_pos, cp);
    if ((right = extract_curly(ex, &cp)) == NULL)
        return -1;
    if (evaluate(ex, left, op, levels, right, &truth) < 0)
        return -1;
    *value = truth ? "true" : "";
    *cpp = cp;
    return 0;
}

/*
 * parse_name - the "name" of "name", "name?..." or "name:...", with
 * optional whitespace around it.  Terminates the name; *op becomes '?',
 * ':' or 0 and *cpp points after it.
 */
static int
parse_name(EXPAND *ex, char *buf, char **cpp, const char **name, int *op)
{
    char *cp = buf + strspn(buf, EXPAND_SPACE);
    size_t space;

    *name = cp;
    for (;; cp++) {
        space = strspn(cp, EXPAND_SPACE);
        if (cp[space] == 0) {
            *cp = 0;
            *op = 0;
            break;
        }
        if (cp[space] == '?' || cp[space] == ':') {
            *op = cp[space];
            *cp = 0;
            cp += space + 1;
            break;
        }
        if (!is_name_char(*cp))
            return expand_fail(ex,
                               "attribute name syntax error at: "
                               "\"...%.*s>>>%.20s\"",
                               (int) (cp - buf), buf, cp);
    }
    *cpp = cp;
    return 0;
}

/* expand_value - append a looked-up value, itself expanded */

static int
expand_value(EXPAND *ex, STRBUF *result, const char *value)
{
    char *copy;
    int status;

    if (value == NULL || *value == 0)
        return 0;
    copy = xstrdup(value); /* the lookup may reuse its storage */
    status = parse_text(ex, result, copy);
    xfree(copy);
    return status;
}

/*
 * expand_conditional - the "?" and ":" forms.  After "?text1" may come
 * ":text2"; after ":text" nothing may follow.
 */
static int
expand_conditional(EXPAND *ex, STRBUF *result, int is_set, int op, char *cp)
{
    char *text;

    if (op == '?') {
        if (take_operand(ex, &cp, &text) < 0)
            return -1;
        if (is_set && parse_text(ex, result, text) < 0)
            return -1;
        if (*cp == 0)
            return 0;
        if (*cp != ':')
            return expand_fail(ex, "\":\" expected at: \"...%s}>>>%.20s\"",
                               text, cp);
        cp++;
    }
    if (take_operand(ex, &cp, &text) < 0)
        return -1;
    if (!is_set && parse_text(ex, result, text) < 0)
        return -1;
    if (*cp != 0)
        return expand_fail(ex, "unexpected input at: \"...%s}>>>%.20s\"", text,
                           cp);
    return 0;
}

/* expand_reference - the text of $name, ${...} or $(...) */

static int
expand_reference(EXPAND *ex, STRBUF *result, char *buf)
{
    const char *value = NULL;
    const char *name;
    char *cp = buf;
    int op = 0;

    if (skip_to_curly(&cp)) {
        if (parse_relational(ex, &cp, &value) < 0)
            return -1;
        if ((op = *cp) != 0) {
            if (op != '?' && op != ':')
                return expand_fail(ex,
                                   "\"?\" or \":\" expected at: "
                                   "\"...}>>>%.20s\"",
                                   cp);
            cp++;
        }
    } else {
        if (parse_name(ex, buf, &cp, &name, &op) < 0)
            return -1;
        value = ex->lookup(name, ex->context);
        if (strbuf_len(ex->why) > 0) /* a nested expansion failed */
            return -1;
    }
    if (op == 0)
        return expand_value(ex, result, value);
    return expand_conditional(ex, result, value != NULL && *value != 0, op, cp);
}

/* expand_token - one literal run or reference, at the current depth */

static int
expand_token(EXPAND *ex, STRBUF *result, int is_reference, char *text)
{
    int status = 0;

    if (ex->depth > EXPAND_MAX_DEPTH)
        return expand_fail(ex, "unreasonable macro call nesting: \"%s\"", text);
    if (++ex->tokens > EXPAND_MAX_TOKENS)
        return expand_fail(ex,
                           "expansion too large: more than %d literals "
                           "and references",
                           EXPAND_MAX_TOKENS);
    ex->depth++;
    if (is_reference)
        status = expand_reference(ex, result, text);
    else
        strbuf_addstr(result, text);
    ex->depth--;
    if (status == 0 && strbuf_len(result) > EXPAND_MAX_LENGTH)
        return expand_fail(ex, "expansion too large: more than %d bytes",
                           EXPAND_MAX_LENGTH);
    return status;
}

/* scan_bracketed - the text of ${...} or $(...); *vpp is at the bracket */

static int
scan_bracketed(EXPAND *ex, const char *text, const char **vpp, STRBUF *tok)
{
    int open = **vpp;
    int close = open == '{' ? '}' : ')';
    const char *start = *vpp + 1;
    const char *ep;
    int level = 1;

    for (ep = start; level > 0; ep++) {
        if (*ep == 0)
            return expand_fail(ex, "truncated macro reference: \"%s\"", text);
        if (*ep == open)
            level++;
        else if (*ep == close)
            level--;
    }
    strbuf_addmem(tok, start, (size_t) (ep - start - 1));
    *vpp = ep;
    return 0;
}

/* scan_name - the name of a bare $name */

static void
scan_name(const char **vpp, STRBUF *tok)
{
    const char *ep = *vpp;

    while (is_name_char(*ep))
        ep++;
    strbuf_addmem(tok, *vpp, (size_t) (ep - *vpp));
    *vpp = ep;
}

/* parse_text - split text into literal runs and references, expand each */

static int
parse_text(EXPAND *ex, STRBUF *result, const char *text)
{
    STRBUF *tok = strbuf_alloc(64);
    const char *vp = text;
    int status = 0;

    while (*vp && status == 0) {
        if (*vp != '$') {
            strbuf_addch(tok, *vp++);
        } else if (vp[1] == '$') {
            strbuf_addch(tok, '$');
            vp += 2;
        } else {
            if (strbuf_len(tok) > 0)
                status = expand_token(ex, result, 0, strbuf_str(tok));
            strbuf_reset(tok);
            vp++;
            if (status == 0 && (*vp == '{' || *vp == '('))
                status = scan_bracketed(ex, text, &vp, tok);
            else if (status == 0)
                scan_name(&vp, tok);
            if (status == 0 && strbuf_len(tok) == 0)
                status = expand_fail(ex, "empty macro name: \"%s\"", text);
            if (status == 0)
                status = expand_token(ex, result, 1, strbuf_str(tok));
            strbuf_reset(tok);
        }
    }
    if (status == 0 && strbuf_len(tok) > 0)
        status = expand_token(ex, result, 0, strbuf_str(tok));
    strbuf_free(tok);
    return status;
}

int
expand_append(EXPAND *ex, STRBUF *result, const char *pattern)
{
    int depth = ex->depth;
    int status;

    status = parse_text(ex, result, pattern);
    ex->depth = depth;
    return status;
}
