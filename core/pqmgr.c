/*
 * pqmgr - the queue manager daemon: main() and start-up.
 *
 * Run by Postfix's master(8) in place of qmgr(8), with the generic daemon
 * options (daemon_opts.h).  Start-up follows Postfix's order: logging under
 * the name "qmgr", main.cf and the -o overrides, every parameter checked
 * (a bad value stops the daemon with a clear message), chdir to the queue
 * directory, privileges dropped to $mail_owner (and chroot with -c), the
 * queue store opened and recovered (files left in active/ go back to
 * incoming/), then an incoming scan, the deferred-scan heartbeat, and the
 * event loop.  The loop runs the queue manager's step before every wait for
 * events, as Postfix's does; a watchdog ends a pass that takes longer than
 * $qmgr_daemon_timeout.  The daemon exits when master closes the status
 * channel (postfix reload, master gone).
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon_opts.h"
#include "deliver_clnt.h"
#include "log_status.h"
#include "master_io.h"
#include "msg.h"
#include "qmgr.h"
#include "trigger.h"
#include "trigger_server.h"
#include "xalloc.h"

#define PROCESS_NAME "qmgr"

static QMGR qmgr;

static void
watchdog_alarm(int sig)
{
    msg_fatal("watchdog timeout");
}

static CF *
load_configuration(const DAEMON_OPTS *opts)
{
    char *why = NULL;
    CF *cf = cf_open(NULL, &why);
    char pid[32];

    if (cf == NULL)
        msg_fatal("%s", why);
    for (size_t i = 0; i < opts->override_count; i++)
        if (cf_override(cf, opts->overrides[i]) < 0)
            msg_fatal("%s", cf_error(cf));
    snprintf(pid, sizeof(pid), "%ld", (long) getpid());
    cf_set(cf, "process_name", PROCESS_NAME);
    cf_set(cf, "process_id", pid);
    cf_set(cf, "service_name",
           opts->service_name ? opts->service_name : PROCESS_NAME);
    return cf;
}

static void
setup_logging(CF *cf, const DAEMON_OPTS *opts)
{
    const char *maillog = cf_get_str(cf, "maillog_file");
    const char *postlog = getenv("POSTLOG_SERVICE");
    STRBUF *path = strbuf_alloc(100);
    int facility;

    msg_init(PROCESS_NAME, cf_get_str(cf, "syslog_name"));
    if (maillog && *maillog) {
        if (postlog == NULL) {
            strbuf_addf(path, "%s/public/%s", cf_get_str(cf, "queue_directory"),
                        cf_get_str(cf, "postlog_service_name"));
            postlog = strbuf_str(path);
        }
        if (msg_to_postlog(postlog, cf_get_str(cf, "myhostname")) < 0)
            msg_to_stderr(1);
    } else {
        facility = msg_syslog_facility(cf_get_str(cf, "syslog_facility"));
        msg_to_syslog(facility < 0 ? msg_syslog_facility("mail") : facility);
    }
    if (opts->log_stderr)
        msg_to_stderr(1);
    strbuf_free(path);
}

static void
drop_privileges(CF *cf, const DAEMON_OPTS *opts, const char *queue_dir)
{
    const char *owner = cf_get_str(cf, "mail_owner");
    struct passwd *pw = NULL;

    if (opts->unprivileged) {
        if ((pw = getpwnam(owner)) == NULL)
            msg_fatal("unknown mail_owner user: %s", owner);
        if (setgid(pw->pw_gid) < 0 || initgroups(owner, pw->pw_gid) < 0)
            msg_fatal("set group id %ld: %m", (long) pw->pw_gid);
    }
    if (opts->chroot && (chroot(queue_dir) < 0 || chdir("/") < 0))
        msg_fatal("chroot(%s): %m", queue_dir);
    if (pw && setuid(pw->pw_uid) < 0)
        msg_fatal("set user id %ld: %m", (long) pw->pw_uid);
}

static STORE *
open_store(CF *cf)
{
    STORE_ENV env;
    STORE_STATUS status;
    STORE *store;
    int lease = 300;
    int timeout = 10;
    int dont_remove = 0;
    int long_ids = 0;

    (void) cf_get_time(cf, "pqmgr_lease_time", &lease);
    (void) cf_get_time(cf, "pqmgr_store_timeout", &timeout);
    (void) cf_get_int(cf, "dont_remove", &dont_remove);
    (void) cf_get_bool(cf, "enable_long_queue_ids", &long_ids);
    memset(&env, 0, sizeof(env));
    env.queue_dir = ".";
    env.hash_queues = qmgr.set.hash_queues;
    env.hash_depth = qmgr.set.hash_depth;
    env.long_queue_ids = long_ids;
    env.node_name = cf_get_str(cf, "pqmgr_node_name");
    env.lease_time = lease;
    env.timeout = timeout;
    env.dont_remove = dont_remove;
    env.config_dir = cf_config_dir(cf);
    env.owner_uid = env.owner_gid = -1;
    store = store_open(cf_get_str(cf, "pqmgr_queue_store"), &env, &status);
    if (store == NULL)
        msg_fatal("open queue store %s: %s",
                  cf_get_str(cf, "pqmgr_queue_store"), store_open_error());
    return store;
}

static SCHED *
create_scheduler(void)
{
    const char *policy = cf_get_str(qmgr.cf, "pqmgr_scheduler");
    SCHED_GLOBALS g;
    SCHED_OPS ops;
    SCHED *sched;

    qmgr_sched_globals(&qmgr, &g);
    memset(&ops, 0, sizeof(ops));
    ops.context = &qmgr;
    ops.get_transport_params = qmgr_transport_params;
    ops.set_timer = qmgr_set_timer;
    ops.cancel_timer = qmgr_cancel_timer;
    ops.defer_recipients = qmgr_defer_recipients;
    ops.message_done = qmgr_done_callback;
    ops.message_refill = qmgr_refill_callback;
    if ((sched = sched_create(&g, &ops, policy)) == NULL)
        msg_fatal("unknown pqmgr_scheduler: %s", policy);
    return sched;
}

static void
setup_clients(CF *cf)
{
    RESOLVE_CLNT_OPTS ropts;
    BOUNCE_CLNT_CONF bconf;
    STRBUF *path = strbuf_alloc(64);
    int resolution = 2;

    resolve_clnt_opts_default(&ropts);
    strbuf_addf(path, "private/%s", qmgr.set.rewrite_service);
    ropts.service_path = strbuf_str(path);
    ropts.timeout_ms = qmgr.set.ipc_timeout * 1000;
    qmgr.resolver = resolve_clnt_create(&ropts);
    strbuf_free(path);
    bounce_clnt_conf_default(&bconf);
    bconf.bounce_service = cf_get_str(cf, "bounce_service_name");
    bconf.defer_service = cf_get_str(cf, "defer_service_name");
    bconf.trace_service = cf_get_str(cf, "trace_service_name");
    bconf.flush_service = cf_get_str(cf, "flush_service_name");
    bconf.verify_service = cf_get_str(cf, "address_verify_service_name");
    bconf.fast_flush_domains = cf_get_str(cf, "fast_flush_domains");
    bconf.ipc_timeout_ms = qmgr.set.ipc_timeout * 1000;
    bconf.sendopts =
        strcmp(cf_get_str(cf, "pqmgr_agent_protocol"), "3.10") == 0;
    deliver_clnt_sendopts(bconf.sendopts);
    bounce_clnt_config(&bconf);
    (void) cf_get_int(cf, "delay_logging_resolution_limit", &resolution);
    log_status_config(
        resolution,
        strcmp(cf_get_str(cf, "info_log_address_format"), "internal") != 0);
}

static void
resolver_idle(evutil_socket_t fd, short what, void *arg)
{
    resolve_clnt_idle(qmgr.resolver, time(NULL));
}

static void
start_timers(void)
{
    struct timeval second = {1, 0};

    qmgr_timer_init(&qmgr);
    qmgr.resolver_idle =
        event_new(qmgr.base, -1, EV_PERSIST, resolver_idle, NULL);
    event_add(qmgr.resolver_idle, &second);
    scan_ctl_init(&qmgr.scan[QMGR_INCOMING], qmgr.store, STORE_Q_INCOMING);
    scan_ctl_init(&qmgr.scan[QMGR_DEFERRED], qmgr.store, STORE_Q_DEFERRED);
    qmgr_request_scan(&qmgr, QMGR_INCOMING, SCAN_START);
    qmgr_heartbeat_start(&qmgr);
}

static void
run_forever(void)
{
    signal(SIGALRM, watchdog_alarm);
    for (;;) {
        alarm((unsigned) qmgr.set.watchdog);
        int poll = qmgr_loop_step(&qmgr);

        event_base_loop(qmgr.base, poll ? EVLOOP_NONBLOCK : EVLOOP_ONCE);
    }
}

static void
usage_exit(const char *why)
{
    msg_fatal("%s; usage: pqmgr [generic Postfix daemon options]", why);
}

int
main(int argc, char **argv)
{
    DAEMON_OPTS opts;
    char err[256];
    char *queue_dir;

    msg_init(PROCESS_NAME, NULL);
    if (daemon_opts_parse(argc, argv, &opts, err, sizeof(err)) < 0)
        usage_exit(err);
    if (isatty(0) && !opts.not_daemon && !opts.stand_alone)
        msg_fatal("do not run this command by hand");
    msg_verbose = opts.verbose + (getenv("MAIL_VERBOSE") != NULL);
    qmgr.cf = load_configuration(&opts);
    setup_logging(qmgr.cf, &opts);
    if (opts.endpoint_type == NULL)
        usage_exit("no endpoint type (-t)");
    if (qmgr_config_load(&qmgr) < 0)
        msg_fatal("bad configuration: refusing to start");
    master_io_init();
    queue_dir = xstrdup(cf_get_str(qmgr.cf, "queue_directory"));
    if (chdir(queue_dir) < 0)
        msg_fatal("chdir(\"%s\"): %m", queue_dir);
    drop_privileges(qmgr.cf, &opts, queue_dir);
    xfree(queue_dir);
    qmgr.path = strbuf_alloc(100);
    qmgr.store = open_store(qmgr.cf);
    qmgr.sched = create_scheduler();
    setup_clients(qmgr.cf);
    if (store_recover(qmgr.store) != STORE_OK)
        msg_warn("queue store recovery: %s", store_error(qmgr.store));
    qmgr.base = event_base_new();
    if (trigger_server_start(qmgr.base, MASTER_LISTEN_FD, opts.endpoint_type,
                             qmgr_trigger, &qmgr) < 0)
        usage_exit("unsupported endpoint type");
    trigger_server_watch_master(qmgr.base, NULL);
    start_timers();
    run_forever();
}
