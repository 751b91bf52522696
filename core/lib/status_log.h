/*
 * status_log - read the per-message delivery status logs that bounce(8)
 * keeps in defer/, bounce/ and trace/.
 *
 * An entry is a block of lines separated from the next by an empty line:
 * an optional legacy "<address>: reason" line, then name=value lines
 * (recipient, original_recipient, offset, dsn_orig_rcpt, notify_flags,
 * status, action, diag_type, diag_text, mta_type, mta_mname, reason).  A
 * legacy line supplies recipient and reason when the name=value lines do
 * not.  Unknown names are ignored.  Addresses are kept as written (quoted
 * external form).
 *
 *	status_log_read(path)	the entries of the file, NULL when it does
 *				not exist or cannot be read
 *	status_log_parse(text, len)	the same from memory (never NULL)
 *	status_log_free(log)	NULL is accepted
 */
#ifndef PQ_STATUS_LOG_H
#define PQ_STATUS_LOG_H

#include <stddef.h>

typedef struct STATUS_LOG_ENTRY {
    char *recipient;
    char *orig_rcpt;
    long offset;
    char *status;
    char *action;
    char *reason;
} STATUS_LOG_ENTRY;

typedef struct STATUS_LOG {
    STATUS_LOG_ENTRY *entries;
    size_t count;
} STATUS_LOG;

STATUS_LOG *status_log_read(const char *path);
STATUS_LOG *status_log_parse(const char *text, size_t len);
void status_log_free(STATUS_LOG *log);

#endif
