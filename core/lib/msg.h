/*
 * msg - logging with Postfix's message ladder and line format.
 *
 * Every program logs through these functions, so that its lines look like
 * the ones Postfix's own daemons write: the tag is "<syslog_name>/<process>"
 * (e.g. "postfix/qmgr"), followed by "[pid]: " and, except for info, a
 * severity prefix ("warning: ", "error: ", "fatal: ", "panic: ").  Text is
 * cut at MSG_TEXT_LIMIT bytes, as Postfix does.
 *
 * Destinations (any combination; none selected means standard error):
 *	msg_to_stderr(on)		"<tag>: <prefix><text>\n" on fd 2
 *	msg_to_syslog(facility)		syslog(3), LOG_PID|LOG_NDELAY, levels
 *					info=LOG_INFO warning=LOG_WARNING
 *					error=LOG_ERR fatal,panic=LOG_CRIT
 *	msg_to_postlog(path, host)	one datagram per line to postlogd(8)'s
 *					socket, "Mon dd hh:mm:ss host tag[pid]:
 *..." (host = first label of the name given); the send blocks, as Postfix's,
 *					for at most 2 s when postlogd is behind
 *					(a line is lost only then)
 *
 * Identity:
 *	msg_init(process_name, syslog_name)  process name is a basename of
 *					argv[0]; syslog_name NULL keeps
 *					$MAIL_LOGTAG or "postfix"
 *
 * Severity functions (printf-style):
 *	msg_info, msg_warn	log and return
 *	msg_error		log and return; the 13th error is fatal
 *	msg_fatal		log, run the fatal hook, exit(1)
 *	msg_panic		log, abort()
 *	msg_verbose		count of -v options; callers test it
 *	msg_set_fatal_hook(fn)	called once before a fatal exit
 *	msg_syslog_facility(name) facility number for "mail", "local0", ...,
 *				or -1
 */
#ifndef PQ_MSG_H
#define PQ_MSG_H

#include <stdarg.h>

#define MSG_TEXT_LIMIT  2000
#define MSG_ERROR_LIMIT 13

extern int msg_verbose;

void msg_init(const char *process_name, const char *syslog_name);
const char *msg_tag(void);
void msg_to_stderr(int on);
void msg_to_syslog(int facility);
int msg_to_postlog(const char *socket_path, const char *hostname);
void msg_close(void);
int msg_syslog_facility(const char *name);
void msg_set_fatal_hook(void (*hook)(void));

void msg_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void msg_fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
_Noreturn void msg_panic(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#endif
