/*
 * e2e_support - throwaway Postfix instances with pqmgr as their queue
 * manager, a scripted SMTP sink, mail injection and log inspection, for
 * the end-to-end tests (test_e2e.c).
 *
 * A box is one directory /tmp/pq-e2e.XXXXXX holding everything of one test
 * case: the Postfix instance made by tests/sandbox/pf-sandbox (pf/), a copy
 * of the pqmgr binary (so that a rebuild during the run does not pull the
 * daemon from under the instance; $E2E_QMGR names another program, e.g. a
 * valgrind wrapper), the sink's rules file and delivery log.
 *
 *	e2e_box_create(box, opts)	make, configure and start everything;
 *		0, or -1 with box->why filled in.  The transport map routes
 *		sink.test and other.test to the sink; opts adds main.cf
 *		settings, transport-map lines, master.cf lines and an extra
 *		program in the instance's daemon directory.
 *	e2e_box_destroy(box)	stop the sink, destroy the instance, remove
 *		the directory; safe on a box that failed half-way or was
 *		never made.  With $E2E_KEEP set the instance is only stopped
 *		and the directory kept for a post-mortem (remove it with
 *		pf-sandbox destroy DIR/pf, then rm -r DIR).
 *	e2e_rules(box, text)	replace the sink's rules file
 *	e2e_sh(fmt, ...)	run a shell command; its exit status or -1
 *	e2e_sendmail(box, sender, rcpts, tag)	inject one message with
 *		sendmail(1); rcpts is space separated; 0 or -1
 *	e2e_smtp_open(port) / e2e_smtp_close(s)	an SMTP session
 *	e2e_smtp_send(s, sender, rcpts, tag, qid, qid_len)	one message
 *		in a session; the queue id from smtpd's "queued as" reply in
 *		qid; 0 or -1
 *	e2e_count(path, ere)	lines of a file that match a POSIX ERE
 *	e2e_wait_count(path, ere, min, seconds)	poll (every 50 ms) until
 *		at least min lines match or seconds pass; the last count
 *	e2e_first_match(path, ere, out, len)	the first sub-match (group
 *		1) of the first matching line; 0 or -1
 *	e2e_qmgr_pid(box)	pid of the instance's queue manager (master's
 *		child named qmgr), or 0
 *	e2e_wait_qmgr(box, seconds, not_pid)	wait for a queue manager
 *		other than not_pid; its pid or 0
 *	e2e_find_queue_file(box, id, queue, path, len)	the queue holding
 *		id (incoming, active, deferred, hold, corrupt, maildrop;
 *		hashed subdirectories included) and its path; 0 or -1
 *	e2e_queue_files(box, queue)	number of files in a queue
 *	e2e_queued_total(box)	files in incoming, active, deferred, hold,
 *		maildrop together
 *	e2e_create_time(path)	the create time of a queue file (A
 *		create_time, else the T record); -1 when unreadable
 *	e2e_trigger(box, bytes, len)	connect to public/qmgr, write, close
 *	e2e_trigger_connect(box)	a connection to public/qmgr, or -1
 *	e2e_pflogsumm(box, totals)	run pflogsumm on the instance's log;
 *		0 or -1
 *	e2e_now()	time of day in seconds, as a double
 */
#ifndef PQ_E2E_SUPPORT_H
#define PQ_E2E_SUPPORT_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#define E2E_PATH_MAX 256
#define E2E_MAX_SETS 16

typedef struct E2E_OPTS {
    int smtpd;                      /* run smtpd on a loopback port */
    const char *sets[E2E_MAX_SETS]; /* NAME=VALUE for main.cf, NULL ends */
    const char *transport;          /* extra transport-map lines */
    const char *master_cf;          /* extra master.cf lines */
    const char *program_name;       /* extra file in the daemon dir */
    const char *program_text;       /* its content (made executable) */
} E2E_OPTS;

typedef struct E2E_BOX {
    char base[E2E_PATH_MAX];    /* /tmp/pq-e2e.XXXXXX */
    char dir[E2E_PATH_MAX];     /* base/pf: the Postfix instance */
    char etc[E2E_PATH_MAX];     /* dir/etc */
    char spool[E2E_PATH_MAX];   /* dir/spool */
    char maillog[E2E_PATH_MAX]; /* dir/maillog */
    char mailbox[E2E_PATH_MAX]; /* dir/mail/postfix */
    char rules[E2E_PATH_MAX];   /* sink rules */
    char sinklog[E2E_PATH_MAX]; /* sink deliveries */
    int smtpd_port;
    int sink_port;
    pid_t sink_pid;
    int made; /* the instance exists (destroy it) */
    int ok;   /* everything started */
    char why[512];
} E2E_BOX;

typedef struct E2E_TOTALS {
    int received;
    int delivered;
    int deferred;  /* messages */
    int deferrals; /* status=deferred lines */
    int bounced;
} E2E_TOTALS;

typedef struct E2E_SMTP E2E_SMTP;

/* The queue store of the instances made from now on: "spool" or "lmdb". */
extern const char *e2e_store_kind;

int e2e_box_create(E2E_BOX *box, const E2E_OPTS *opts);
void e2e_box_destroy(E2E_BOX *box);
int e2e_rules(const E2E_BOX *box, const char *text);

int e2e_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int e2e_sendmail(const E2E_BOX *box, const char *sender, const char *rcpts,
                 const char *tag);
E2E_SMTP *e2e_smtp_open(int port);
int e2e_smtp_send(E2E_SMTP *s, const char *sender, const char *rcpts,
                  const char *tag, char *qid, size_t qid_len);
void e2e_smtp_close(E2E_SMTP *s);

int e2e_count(const char *path, const char *ere);
int e2e_wait_count(const char *path, const char *ere, int min, double seconds);
int e2e_first_match(const char *path, const char *ere, char *out, size_t len);

pid_t e2e_qmgr_pid(const E2E_BOX *box);
pid_t e2e_wait_qmgr(const E2E_BOX *box, double seconds, pid_t not_pid);

int e2e_find_queue_file(const E2E_BOX *box, const char *id, const char **queue,
                        char *path, size_t len);
int e2e_queue_files(const E2E_BOX *box, const char *queue);
int e2e_queued_total(const E2E_BOX *box);
time_t e2e_create_time(const char *path);

int e2e_trigger(const E2E_BOX *box, const void *bytes, size_t len);
int e2e_trigger_connect(const E2E_BOX *box);
int e2e_pflogsumm(const E2E_BOX *box, E2E_TOTALS *totals);
double e2e_now(void);

#endif
