/*
 * daemon_opts - parse the generic daemon options (daemon_opts.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon_opts.h"
#include "strbuf.h"
#include "xalloc.h"

static void
add_override(DAEMON_OPTS *opts, const char *text)
{
    opts->overrides =
        xrealloc(opts->overrides, (opts->override_count + 1) * sizeof(char *));
    opts->overrides[opts->override_count++] = xstrdup(text);
}

/* "{ name = value }" -> "name=value"; "name=value" as is. */
static int
parse_override(DAEMON_OPTS *opts, const char *arg)
{
    STRBUF *buf;
    const char *end;
    const char *eq;

    while (isspace((unsigned char) *arg))
        arg++;
    if (*arg != '{') {
        if (strchr(arg, '=') == NULL)
            return -1;
        add_override(opts, arg);
        return 0;
    }
    arg++;
    end = strrchr(arg, '}');
    eq = strchr(arg, '=');
    if (end == NULL || eq == NULL || eq > end)
        return -1;
    buf = strbuf_alloc(64);
    while (arg < eq && isspace((unsigned char) *arg))
        arg++;
    for (const char *cp = arg; cp < eq && !isspace((unsigned char) *cp); cp++)
        strbuf_addch(buf, *cp);
    strbuf_addch(buf, '=');
    for (eq++; eq < end && isspace((unsigned char) *eq); eq++)
        ;
    while (end > eq && isspace((unsigned char) end[-1]))
        end--;
    strbuf_addmem(buf, eq, (size_t) (end - eq));
    add_override(opts, strbuf_str(buf));
    strbuf_free(buf);
    return 0;
}

static int
fail(char *err, size_t errlen, const char *what, int opt)
{
    snprintf(err, errlen, "%s: -%c", what, opt);
    return -1;
}

int
daemon_opts_parse(int argc, char **argv, DAEMON_OPTS *opts, char *err,
                  size_t errlen)
{
    static const char with_arg[] = "imnost";
    int i;

    memset(opts, 0, sizeof(*opts));
    opts->socket_count = 1;
    for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        for (const char *cp = argv[i] + 1; *cp; cp++) {
            const char *value = NULL;

            if (strchr(with_arg, *cp)) {
                if (cp[1])
                    value = cp + 1;
                else if (i + 1 < argc)
                    value = argv[++i];
                else
                    return fail(err, errlen, "option requires an argument",
                                *cp);
            }
            switch (*cp) {
                case 'c':
                    opts->chroot = 1;
                    break;
                case 'd':
                    opts->not_daemon = 1;
                    break;
                case 'D':
                    break;
                case 'i':
                case 'm':
                    break;
                case 'l':
                    opts->solitary = 1;
                    break;
                case 'n':
                    opts->service_name = value;
                    break;
                case 'o':
                    if (parse_override(opts, value) < 0)
                        return fail(err, errlen, "bad -o override", *cp);
                    break;
                case 's':
                    opts->socket_count = atoi(value);
                    break;
                case 'S':
                    opts->stand_alone = 1;
                    break;
                case 't':
                    opts->endpoint_type = value;
                    break;
                case 'u':
                    opts->unprivileged = 1;
                    break;
                case 'v':
                    opts->verbose++;
                    break;
                case 'V':
                    opts->log_stderr = 1;
                    break;
                case 'z':
                    break;
                default:
                    return fail(err, errlen, "invalid option", *cp);
            }
            if (value)
                break;
        }
    }
    if (i < argc) {
        snprintf(err, errlen, "unexpected argument: %s", argv[i]);
        return -1;
    }
    if (opts->socket_count < 1) {
        snprintf(err, errlen, "bad -s value");
        return -1;
    }
    return 0;
}

void
daemon_opts_free(DAEMON_OPTS *opts)
{
    for (size_t i = 0; i < opts->override_count; i++)
        xfree(opts->overrides[i]);
    xfree(opts->overrides);
    opts->overrides = NULL;
    opts->override_count = 0;
}
