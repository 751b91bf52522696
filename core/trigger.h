/*
 * trigger - decode one batch of queue-manager trigger bytes.
 *
 * A batch is what one read from the trigger endpoint returned.  Every byte
 * is one request; all of them are OR-ed into two request sets, one for the
 * incoming scan and one for the deferred scan, so that duplicates collapse
 * and order does not matter:
 *
 *	'I', 'W'  incoming: SCAN_START
 *	'D'	  deferred: SCAN_START
 *	'A'	  both: SCAN_ALL
 *	'F'	  both: SCAN_FLUSH_ONCE | SCAN_FLUSH_DFXP
 *	other	  ignored (including the NUL that UNIX-socket clients send)
 *
 *	trigger_decode(buf, len, &batch)	fill batch; returns the number
 *						of bytes that were requests
 */
#ifndef PQ_TRIGGER_H
#define PQ_TRIGGER_H

#include <stddef.h>

#define SCAN_START      (1 << 0) /* start a scan (or restart it once) */
#define SCAN_ALL        (1 << 1) /* ignore next-attempt times */
#define SCAN_FLUSH_ONCE (1 << 2) /* revive dead transports and queues now */
#define SCAN_FLUSH_DFXP (1 << 3) /* override defer_transports */

typedef struct TRIGGER_BATCH {
    int incoming;
    int deferred;
} TRIGGER_BATCH;

int trigger_decode(const char *buf, size_t len, TRIGGER_BATCH *batch);

#endif
