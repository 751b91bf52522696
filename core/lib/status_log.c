/*
 * status_log - read bounce(8)'s per-message status logs (status_log.h).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "status_log.h"
#include "strbuf.h"
#include "xalloc.h"

static void
set_field(char **field, const char *value, size_t len)
{
    xfree(*field);
    *field = xstrndup(value, len);
}

static STATUS_LOG_ENTRY *
new_entry(STATUS_LOG *log)
{
    STATUS_LOG_ENTRY *e;

    log->entries = xrealloc(log->entries, (log->count + 1) * sizeof(*e));
    e = &log->entries[log->count++];
    memset(e, 0, sizeof(*e));
    return e;
}

/* "<address>: reason" (the address may itself contain ": "). */
static void
take_legacy_line(STATUS_LOG_ENTRY *e, const char *line, size_t len)
{
    const char *end = line + len;
    const char *close = NULL;

    for (const char *cp = line + 1; cp + 1 < end; cp++)
        if (cp[0] == '>' && cp[1] == ':')
            close = cp;
    if (close == NULL)
        return;
    if (e->recipient == NULL)
        set_field(&e->recipient, line + 1, (size_t) (close - line - 1));
    if (e->reason == NULL) {
        const char *text = close + 2;

        while (text < end && *text == ' ')
            text++;
        set_field(&e->reason, text, (size_t) (end - text));
    }
}

static int
name_is(const char *line, size_t name_len, const char *name)
{
    return name_len == strlen(name) && strncmp(line, name, name_len) == 0;
}

static void
take_line(STATUS_LOG_ENTRY *e, const char *line, size_t len)
{
    const char *eq = memchr(line, '=', len);
    size_t name_len;
    const char *value;
    size_t value_len;

    if (line[0] == '<' || eq == NULL) {
        if (line[0] == '<')
            take_legacy_line(e, line, len);
        return;
    }
    name_len = (size_t) (eq - line);
    value = eq + 1;
    value_len = len - name_len - 1;
    if (name_is(line, name_len, "recipient"))
        set_field(&e->recipient, value, value_len);
    else if (name_is(line, name_len, "original_recipient"))
        set_field(&e->orig_rcpt, value, value_len);
    else if (name_is(line, name_len, "status"))
        set_field(&e->status, value, value_len);
    else if (name_is(line, name_len, "action"))
        set_field(&e->action, value, value_len);
    else if (name_is(line, name_len, "reason"))
        set_field(&e->reason, value, value_len);
    else if (name_is(line, name_len, "offset"))
        e->offset = strtol(value, NULL, 10);
}

STATUS_LOG *
status_log_parse(const char *text, size_t len)
{
    STATUS_LOG *log = xcalloc(1, sizeof(*log));
    STATUS_LOG_ENTRY *entry = NULL;
    const char *end = text + len;

    while (text < end) {
        const char *nl = memchr(text, '\n', (size_t) (end - text));
        size_t line_len = nl ? (size_t) (nl - text) : (size_t) (end - text);

        if (line_len == 0) {
            entry = NULL;
        } else {
            if (entry == NULL)
                entry = new_entry(log);
            take_line(entry, text, line_len);
        }
        text += line_len + (nl ? 1 : 0);
    }
    return log;
}

STATUS_LOG *
status_log_read(const char *path)
{
    STRBUF *buf;
    STATUS_LOG *log;
    char chunk[4096];
    ssize_t n;
    int fd;

    if ((fd = open(path, O_RDONLY)) < 0)
        return NULL;
    buf = strbuf_alloc(1024);
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        strbuf_addmem(buf, chunk, (size_t) n);
    close(fd);
    log = n < 0 ? NULL : status_log_parse(strbuf_str(buf), strbuf_len(buf));
    strbuf_free(buf);
    return log;
}

void
status_log_free(STATUS_LOG *log)
{
    if (log == NULL)
        return;
    for (size_t i = 0; i < log->count; i++) {
        xfree(log->entries[i].recipient);
        xfree(log->entries[i].orig_rcpt);
        xfree(log->entries[i].status);
        xfree(log->entries[i].action);
        xfree(log->entries[i].reason);
    }
    xfree(log->entries);
    xfree(log);
}
