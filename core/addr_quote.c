/*
 * addr_quote - internal and external address forms (addr_quote.h).
 */
#include <string.h>

#include "addr_quote.h"

/* is_special - a character that forces quoting of a local part */

static int
is_special(int ch)
{
    return strchr("()<>@,;:\\\"[]", ch) != NULL;
}

/* is_dot_string - can the local part [start, end) go out unquoted? */

static int
is_dot_string(const char *start, const char *end)
{
    const char *cp;
    int ch;

    if (start == end || *start == '.' || end[-1] == '.')
        return 0;
    for (cp = start; cp < end; cp++) {
        ch = *(const unsigned char *) cp;
        if (ch == '.' && cp + 1 < end && cp[1] == '.')
            return 0;
        if (ch > 127 || ch <= ' ' || ch == 127 || is_special(ch))
            return 0;
    }
    return 1;
}

/* add_quoted - append [start, end) as a quoted string */

static void
add_quoted(STRBUF *out, const char *start, const char *end)
{
    const char *cp;
    int ch;

    strbuf_addch(out, '"');
    for (cp = start; cp < end; cp++) {
        ch = *(const unsigned char *) cp;
        if (ch > 127 || ch == '"' || ch == '\\' || ch == '\r')
            strbuf_addch(out, '\\');
        strbuf_addch(out, ch);
    }
    strbuf_addch(out, '"');
}

void
addr_quote(STRBUF *out, const char *addr)
{
    const char *end = strrchr(addr, '@');

    if (end == NULL)
        end = addr + strlen(addr);
    strbuf_reset(out);
    if (is_dot_string(addr, end)) {
        strbuf_addstr(out, addr);
        return;
    }
    add_quoted(out, addr, end);
    strbuf_addstr(out, end);
}

void
addr_unquote(STRBUF *out, const char *addr)
{
    const char *cp;
    const char *domain = NULL;
    size_t domain_pos = 0;
    int in_quote = 0;

    strbuf_reset(out);
    for (cp = addr; *cp; cp++) {
        if (*cp == '"') {
            in_quote = !in_quote;
            continue;
        }
        if (*cp == '@' && !in_quote) {
            domain = cp;
            domain_pos = strbuf_len(out);
        } else if (*cp == '\\') {
            if (cp[1] == 0)
                continue; /* a trailing backslash is dropped */
            cp++;
        }
        strbuf_addch(out, *cp);
    }
    if (domain != NULL) {
        strbuf_truncate(out, domain_pos);
        strbuf_addstr(out, domain);
    }
}
