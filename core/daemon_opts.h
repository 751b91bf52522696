/*
 * daemon_opts - the generic options master(8) passes to a trigger server.
 *
 *	-c		chroot to $queue_directory (NOT a config directory)
 *	-d		not a daemon (allow a terminal on stdin)
 *	-D		debug: run $debugger_command (accepted, ignored)
 *	-i n, -m n	max_idle, max_use (accepted, ignored by a queue manager)
 *	-l		solitary: process limit 1 (required)
 *	-n name		service name (default: basename of argv[0])
 *	-o name=value	main.cf override (also "-o { name = value }")
 *	-s n		number of listen descriptors starting at fd 6
 *	-S		stand-alone: requests on stdin (debugging)
 *	-t type		endpoint type: unix, fifo, pass
 *	-u		drop privileges to $mail_owner
 *	-v		more verbose (repeatable)
 *	-V		also log to standard error
 *	-z		process limit 0
 *
 *	daemon_opts_parse(argc, argv, &opts, err, errlen)
 *		0 on success; -1 with a message in err for an unknown option
 *		or a missing argument.  Overrides are kept in order in
 *		opts.overrides (pointers into argv or into opts' own storage).
 *	daemon_opts_free(&opts)
 */
#ifndef PQ_DAEMON_OPTS_H
#define PQ_DAEMON_OPTS_H

#include <stddef.h>

typedef struct DAEMON_OPTS {
    int chroot;
    int not_daemon;
    int solitary;
    int unprivileged;
    int verbose;
    int log_stderr;
    int stand_alone;
    int socket_count;
    const char *service_name;
    const char *endpoint_type;
    char **overrides; /* "name=value" strings */
    size_t override_count;
} DAEMON_OPTS;

int daemon_opts_parse(int argc, char **argv, DAEMON_OPTS *opts, char *err,
                      size_t errlen);
void daemon_opts_free(DAEMON_OPTS *opts);

#endif
