/*
 * attr_announce - the server-first "protocol=<name>" announcement that every
 * Postfix 3.6+ internal server sends before anything else (see attr.h).
 *
 * Postfix's own clients accept an empty list, another attribute name, or
 * EOF as a valid announcement (spec 2.3).  This check is strict: the list
 * must be exactly protocol=<expected> followed by the terminator.
 */
#include <stdio.h>

#include "attr.h"
#include "msg.h"

void
attr_announce(STRBUF *out, ATTR_ENCODING enc, const char *protocol)
{
    ATTR_LIST *list = attr_list_create();

    attr_list_add_str(list, "protocol", protocol);
    if (attr_print(out, enc, ATTR_FLAG_NONE, list) < 0)
        msg_panic("attr_announce: cannot encode protocol name \"%s\"",
                  protocol);
    attr_list_free(list);
}

int
attr_scan_announcement(ATTR_ENCODING enc, const char *buf, size_t len,
                       int flags, const char *protocol, ATTR_SCAN_RESULT *res)
{
    const ATTR_SPEC want[] = {
        ATTR_WANT_STREQ("protocol", protocol),
        ATTR_WANT_END,
    };

    flags = (flags & ATTR_FLAG_EOF) | ATTR_FLAG_STRICT;
    if (attr_scan(enc, buf, len, flags, want, NULL, res) == ATTR_SCAN_EOF) {
        snprintf(res->why, sizeof(res->why),
                 "end of input instead of the protocol announcement");
        res->status = ATTR_SCAN_ERROR;
    }
    return res->status;
}
