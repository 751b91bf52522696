/*
 * verp_sender - the envelope sender of one VERP delivery (see the header).
 */
#include <string.h>

#include "strbuf.h"
#include "verp_sender.h"

char *
verp_sender(const char *delims, const char *sender, const char *recipient)
{
    const char *sender_at = strrchr(sender, '@');
    const char *rcpt_at = strrchr(recipient, '@');
    size_t sender_local =
        sender_at ? (size_t) (sender_at - sender) : strlen(sender);
    size_t rcpt_local =
        rcpt_at ? (size_t) (rcpt_at - recipient) : strlen(recipient);
    STRBUF *sb = strbuf_alloc(strlen(sender) + strlen(recipient) + 4);

    strbuf_addmem(sb, sender, sender_local);
    strbuf_addch(sb, delims[0]);
    strbuf_addmem(sb, recipient, rcpt_local);
    if (rcpt_at != NULL) {
        strbuf_addch(sb, delims[1]);
        strbuf_addstr(sb, rcpt_at + 1);
    }
    if (sender_at != NULL)
        strbuf_addstr(sb, sender_at);
    return strbuf_steal(sb);
}
