/*
 * maincf - the syntax of Postfix's main.cf (see maincf.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "maincf.h"
#include "msg.h"
#include "xalloc.h"

/* How much of a bad logical line the whitespace warning shows. */
#define MAINCF_SHOW_LIMIT 30

/* A buffer being cut into physical lines. */
typedef struct MAINCF_INPUT {
    const char *data;
    size_t len;
    size_t pos;
    int lineno;
} MAINCF_INPUT;

/* next_line - the next physical line, without its newline */

static int
next_line(MAINCF_INPUT *in, const char **line, size_t *len)
{
    const char *start;
    const char *nl;

    if (in->pos >= in->len)
        return 0;
    start = in->data + in->pos;
    nl = memchr(start, '\n', in->len - in->pos);
    *line = start;
    *len = nl ? (size_t) (nl - start) : in->len - in->pos;
    in->pos += *len + (nl != NULL);
    in->lineno++;
    return 1;
}

/*
 * is_ignored - an empty, all-whitespace or comment line.  Like Postfix,
 * which looks at lines as C strings, treat a NUL byte as the line's end.
 */
static int
is_ignored(const char *line, size_t len)
{
    size_t i = 0;

    while (i < len && isspace((unsigned char) line[i]))
        i++;
    return i == len || line[i] == '#' || line[i] == 0;
}

const char *
maincf_split(char *buf, char **name, char **value)
{
    char *np;
    char *ep;
    char *cp;
    char *vp;
    char *end;

    for (np = buf; *np && isspace((unsigned char) *np); np++)
        /* void */;
    if (*np == 0 || *np == '=')
        return "missing attribute name";
    for (ep = np; *ep && !isspace((unsigned char) *ep) && *ep != '='; ep++)
        /* void */;
    for (cp = ep; *cp && isspace((unsigned char) *cp); cp++)
        /* void */;
    if (*cp != '=')
        return "missing '=' after attribute name";
    *ep = 0;
    for (vp = cp + 1; *vp && isspace((unsigned char) *vp); vp++)
        /* void */;
    for (end = vp + strlen(vp); end > vp && isspace((unsigned char) end[-1]);
         end--)
        /* void */;
    *end = 0;
    *name = np;
    *value = vp;
    return NULL;
}

/* finish_entry - one complete logical line */

static int
finish_entry(const char *label, STRBUF *logical, int lineno, MAINCF_ENTRY_FN fn,
             void *context, STRBUF *why)
{
    const char *text = strbuf_str(logical);
    char *copy;
    char *name;
    char *value;
    const char *err;

    if (isspace((unsigned char) text[0])) {
        msg_warn("%s: logical line must not start with whitespace: "
                 "\"%.*s%s\"",
                 label, MAINCF_SHOW_LIMIT, text,
                 strlen(text) > MAINCF_SHOW_LIMIT ? "..." : "");
        return 0;
    }
    copy = xstrdup(text);
    if ((err = maincf_split(copy, &name, &value)) != NULL) {
        strbuf_addf(why, "%s, line %d: %s: \"%s\"", label, lineno, err, text);
        xfree(copy);
        return -1;
    }
    fn(name, value, lineno, context);
    xfree(copy);
    return 0;
}

int
maincf_parse(const char *label, const char *data, size_t len,
             MAINCF_ENTRY_FN fn, void *context, STRBUF *why)
{
    MAINCF_INPUT in = {data, len, 0, 0};
    STRBUF *logical = strbuf_alloc(256);
    const char *line;
    size_t line_len;
    int have = 0;
    int first = 0;
    int status = 0;

    strbuf_reset(why);
    while (status == 0 && next_line(&in, &line, &line_len)) {
        if (is_ignored(line, line_len))
            continue;
        if (have && isspace((unsigned char) line[0])) {
            strbuf_addmem(logical, line, line_len);
            continue;
        }
        if (have)
            status = finish_entry(label, logical, first, fn, context, why);
        strbuf_setmem(logical, line, line_len);
        have = 1;
        first = in.lineno;
    }
    if (status == 0 && have)
        status = finish_entry(label, logical, first, fn, context, why);
    strbuf_free(logical);
    return status;
}

/* read_file - the whole of a file */

static int
read_file(const char *path, STRBUF *content, STRBUF *why)
{
    FILE *fp;
    char buf[8192];
    size_t got;
    int status = 0;

    if ((fp = fopen(path, "r")) == NULL) {
        strbuf_addf(why, "open %s: %s", path, strerror(errno));
        return -1;
    }
    while ((got = fread(buf, 1, sizeof(buf), fp)) > 0)
        strbuf_addmem(content, buf, got);
    if (ferror(fp)) {
        strbuf_addf(why, "read %s: %s", path, strerror(errno));
        status = -1;
    }
    fclose(fp);
    return status;
}

int
maincf_read(const char *path, MAINCF_ENTRY_FN fn, void *context, STRBUF *why)
{
    STRBUF *content = strbuf_alloc(8192);
    int status;

    strbuf_reset(why);
    status = read_file(path, content, why);
    if (status == 0)
        status = maincf_parse(path, strbuf_str(content), strbuf_len(content),
                              fn, context, why);
    strbuf_free(content);
    return status;
}
