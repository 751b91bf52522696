/*
 * sockbuf - buffered, non-blocking I/O of attribute lists on a socket.
 *
 * A SOCKBUF owns a connected socket (set to non-blocking mode), an input
 * buffer of at most max_input bytes and an output buffer.  The event-driven
 * primitives never block; an event loop calls them when poll/libevent says
 * the socket is readable or writable:
 *
 *	sockbuf_connect_unix(path)	a non-blocking connect to a UNIX-domain
 *					stream socket: the fd, or -1 (errno)
 *	sockbuf_create(fd, max_input)	wrap a socket; 0 means ATTR_LIST_MAX
 *	sockbuf_free(sb)		close the socket, release everything
 *	sockbuf_fd(sb)			the socket
 *	sockbuf_fill(sb)		one read(2) into the input buffer: bytes
 *					read, 0 at EOF (remembered), or -1 with
 *					errno (EAGAIN: nothing yet; ENOBUFS:
 *					the input buffer is full)
 *	sockbuf_scan(sb, enc, flags, want, limits, res)
 *					attr_scan() over the buffered input,
 *					with ATTR_FLAG_EOF added once the peer
 *					has closed; DONE consumes res->used
 *					bytes, other results consume nothing
 *	sockbuf_scan_announcement(sb, enc, protocol, res)
 *					the same for attr_scan_announcement()
 *	sockbuf_out(sb)			the output buffer: append encoded lists
 *					(attr_print) to it
 *	sockbuf_flush(sb)		write(2) until done or EAGAIN: 1 when
 *					everything is written, 0 when some is
 *					left, -1 with errno on error
 *	sockbuf_pending(sb)		bytes waiting in the output buffer
 *	sockbuf_input_len(sb)		bytes waiting in the input buffer
 *	sockbuf_eof(sb)			the peer has closed its side
 *
 * Blocking helpers for synchronous clients, tools and tests; each waits at
 * most timeout_ms in total (poll(2)), and sets errno to ETIMEDOUT when the
 * time runs out:
 *	sockbuf_write_wait(sb, timeout_ms)	flush everything: 0 or -1
 *	sockbuf_read_wait(sb, enc, flags, want, limits, res, timeout_ms)
 *		read until sockbuf_scan() is no longer ATTR_SCAN_AGAIN; returns
 *		its status; a read error or time-out is ATTR_SCAN_ERROR with
 *		res->why saying so
 *	sockbuf_announcement_wait(sb, enc, protocol, res, timeout_ms)
 *		the same for the announcement
 */
#ifndef PQ_SOCKBUF_H
#define PQ_SOCKBUF_H

#include <stddef.h>
#include <sys/types.h>

#include "attr.h"
#include "strbuf.h"

typedef struct SOCKBUF SOCKBUF;

int sockbuf_connect_unix(const char *path);
SOCKBUF *sockbuf_create(int fd, size_t max_input);
void sockbuf_free(SOCKBUF *sb);
int sockbuf_fd(const SOCKBUF *sb);
ssize_t sockbuf_fill(SOCKBUF *sb);
int sockbuf_scan(SOCKBUF *sb, ATTR_ENCODING enc, int flags,
                 const ATTR_SPEC *want, const ATTR_LIMITS *limits,
                 ATTR_SCAN_RESULT *res);
int sockbuf_scan_announcement(SOCKBUF *sb, ATTR_ENCODING enc,
                              const char *protocol, ATTR_SCAN_RESULT *res);
STRBUF *sockbuf_out(SOCKBUF *sb);
int sockbuf_flush(SOCKBUF *sb);
size_t sockbuf_pending(const SOCKBUF *sb);
size_t sockbuf_input_len(const SOCKBUF *sb);
int sockbuf_eof(const SOCKBUF *sb);

int sockbuf_write_wait(SOCKBUF *sb, int timeout_ms);
int sockbuf_read_wait(SOCKBUF *sb, ATTR_ENCODING enc, int flags,
                      const ATTR_SPEC *want, const ATTR_LIMITS *limits,
                      ATTR_SCAN_RESULT *res, int timeout_ms);
int sockbuf_announcement_wait(SOCKBUF *sb, ATTR_ENCODING enc,
                              const char *protocol, ATTR_SCAN_RESULT *res,
                              int timeout_ms);

#endif
