/*
 * master_io - the child side of master(8)'s process protocol.
 *
 * Descriptors inherited from master: 3 and 4 are the read and write ends of
 * the flow-control pipe shared by all of master's children, 5 is this
 * service's status channel, 6.. the listen endpoint(s).
 *
 *	master_io_init()	read $GENERATION (octal) for status messages
 *	master_io_taken(), master_io_available()
 *				write one status record {pid, generation,
 *				avail} (native layout, 12 bytes on x86-64) to
 *				fd 5: before and after handling a trigger;
 *				return -1 when master has gone
 *	master_io_tokens()	bytes waiting in the flow-control pipe, or -1
 *	master_io_put_tokens(n)	write n NUL tokens; returns how many went in
 *	master_io_get_tokens(n)	read and discard up to n tokens
 *	master_io_flow_step(fed_incoming, incoming_scan_busy, limit)
 *				the queue manager's per-pass token policy: below
 *				limit, add one token after feeding a message
 *				from incoming, or top up to limit when no
 *				incoming scan runs; above limit, drain excess
 *
 * The descriptor numbers are MASTER_FLOW_READ etc.; tests may redirect them
 * with master_io_set_fds().
 */
#ifndef PQ_MASTER_IO_H
#define PQ_MASTER_IO_H

#define MASTER_FLOW_READ  3
#define MASTER_FLOW_WRITE 4
#define MASTER_STATUS_FD  5
#define MASTER_LISTEN_FD  6

void master_io_init(void);
void master_io_set_fds(int flow_read, int flow_write, int status);
int master_io_taken(void);
int master_io_available(void);
int master_io_tokens(void);
int master_io_put_tokens(int count);
int master_io_get_tokens(int count);
void master_io_flow_step(int fed_incoming, int incoming_scan_busy, int limit);

#endif
