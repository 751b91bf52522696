/*
 * trigger_server - receive triggers on the queue manager's master endpoint.
 *
 * master(8) hands the service's listen endpoint to the process as fd 6 (and
 * up, with -s).  For "-t unix" each client connects, writes a few request
 * bytes (plus a NUL in a separate write) and waits for us to close; we accept,
 * wait up to TRIGGER_READ_TIMEOUT seconds for data, do one read of at most
 * TRIGGER_BUF_SIZE bytes, hand the bytes to the service routine and close.
 * For "-t fifo" each readable event is one read of at most TRIGGER_BUF_SIZE
 * bytes.  Around each batch the master is told the process is busy and then
 * available again (master_io.h).  Garbage is the service routine's problem:
 * every byte string is acceptable here.
 *
 *	trigger_server_start(base, fd, type, service, context)
 *		type is "unix" or "fifo" (or "pass", treated as unix).
 *		Returns 0, or -1 for an unknown type.
 *	trigger_server_stop()	remove the events (before exit)
 *	trigger_server_watch_master(base)
 *		exit(0) at once when master closes the status channel (fd 5):
 *		that is how postfix reload and master's death reach us.
 */
#ifndef PQ_TRIGGER_SERVER_H
#define PQ_TRIGGER_SERVER_H

#include <stddef.h>

struct event_base;

#define TRIGGER_BUF_SIZE     1024
#define TRIGGER_READ_TIMEOUT 10

typedef void (*TRIGGER_SERVICE_FN)(const char *buf, size_t len, void *context);

int trigger_server_start(struct event_base *base, int fd, const char *type,
                         TRIGGER_SERVICE_FN service, void *context);
void trigger_server_stop(void);
void trigger_server_watch_master(struct event_base *base,
                                 void (*on_disconnect)(void));

#endif
