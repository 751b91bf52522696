/*
 * params - the table of parameters the queue manager reads (see params.h).
 *
 * Defaults are those of "postconf -d" of Postfix 3.7.11 on Debian 12;
 * ranges and the CF_QMGR/CF_OQMGR flags were checked against the installed
 * qmgr and oqmgr (which of them refuses to start on a bad value).  The
 * tests compare every default with the installed postconf.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"

#define DAYS_100 8640000 /* maximal_queue_lifetime limit, in seconds */

const CF_PARAM cf_param_table[] = {
    /* Scheduling: the queue manager's own parameters. */
    {"qmgr_message_active_limit", CF_TYPE_INT, "20000", 1, 0, CF_BOTH,
     "maximum number of messages in the active queue"},
    {"qmgr_message_recipient_limit", CF_TYPE_INT, "20000", 1, 0, CF_BOTH,
     "maximum number of in-memory recipients (and dead-destination cache "
     "size)"},
    {"qmgr_message_recipient_minimum", CF_TYPE_INT, "10", 1, 0, CF_QMGR,
     "minimum in-memory recipients of any message (nqmgr)"},
    {"qmgr_fudge_factor", CF_TYPE_INT, "100", 10, 100, CF_OQMGR,
     "recipient batch size as a percentage of the recipient limit (oqmgr)"},
    {"qmgr_clog_warn_time", CF_TYPE_TIME, "300s", 0, 0, CF_BOTH,
     "minimum time between \"clogging\" warnings; 0 disables them"},
    {"qmgr_daemon_timeout", CF_TYPE_TIME, "1000s", 1, 0, CF_BOTH,
     "watchdog limit for one event-loop pass"},
    {"qmgr_ipc_timeout", CF_TYPE_TIME, "60s", 1, 0, CF_BOTH,
     "I/O timeout of the manager's internal client connections"},
    {"default_recipient_limit", CF_TYPE_INT, "20000", 0, 0, CF_QMGR,
     "per-transport in-memory recipient limit (nqmgr)"},
    {"default_extra_recipient_limit", CF_TYPE_INT, "1000", 0, 0, CF_QMGR,
     "extra per-transport in-memory recipients for preemption (nqmgr)"},
    {"default_recipient_refill_limit", CF_TYPE_INT, "100", 1, 0, CF_QMGR,
     "recipients read from a queue file per refill (nqmgr)"},
    {"default_recipient_refill_delay", CF_TYPE_TIME, "5s", 1, 0, CF_QMGR,
     "maximum delay between recipient refills (nqmgr)"},
    {"default_delivery_slot_cost", CF_TYPE_INT, "5", 0, 0, CF_QMGR,
     "delivery slots a job must accumulate to be preempted (nqmgr)"},
    {"default_delivery_slot_loan", CF_TYPE_INT, "3", 0, 0, CF_QMGR,
     "delivery slots lent in advance in the preemption test (nqmgr)"},
    {"default_delivery_slot_discount", CF_TYPE_INT, "50", 0, 100, CF_QMGR,
     "percentage of the required delivery slots waived (nqmgr)"},
    {"default_minimum_delivery_slots", CF_TYPE_INT, "3", 0, 0, CF_QMGR,
     "recipients a message needs before it can be preempted (nqmgr)"},
    {"initial_destination_concurrency", CF_TYPE_INT, "5", 1, 0, CF_BOTH,
     "initial number of parallel deliveries to one destination"},
    {"default_destination_concurrency_limit", CF_TYPE_INT, "20", 0, 0, CF_BOTH,
     "maximum parallel deliveries to one destination; 0: none"},
    {"default_destination_recipient_limit", CF_TYPE_INT, "50", 0, 0, CF_BOTH,
     "maximum recipients per delivery request; 0: none"},
    {"local_destination_concurrency_limit", CF_TYPE_INT, "2", 0, 0, CF_BOTH,
     "the local transport's destination concurrency limit"},
    {"local_destination_recipient_limit", CF_TYPE_INT, "1", 0, 0, CF_BOTH,
     "the local transport's destination recipient limit"},
    {"default_destination_concurrency_failed_cohort_limit", CF_TYPE_INT, "1", 0,
     0, CF_BOTH,
     "failed pseudo-cohorts after which a destination is dead; 0: never"},
    {"default_destination_concurrency_positive_feedback", CF_TYPE_FEEDBACK, "1",
     1, 0, CF_BOTH, "concurrency increase after a delivery that worked"},
    {"default_destination_concurrency_negative_feedback", CF_TYPE_FEEDBACK, "1",
     1, 0, CF_BOTH, "concurrency decrease after a delivery that failed"},
    {"destination_concurrency_feedback_debug", CF_TYPE_BOOL, "no", 0, 0,
     CF_BOTH, "log every concurrency feedback computation"},
    {"default_destination_rate_delay", CF_TYPE_TIME, "0s", 0, 0, CF_BOTH,
     "pause between deliveries to the same destination"},
    {"default_transport_rate_delay", CF_TYPE_TIME, "0s", 0, 0, CF_BOTH,
     "pause between deliveries over the same transport"},
    {"minimal_backoff_time", CF_TYPE_TIME, "300s", 1, 0, CF_BOTH,
     "minimum deferral interval; how long a dead destination stays dead"},
    {"maximal_backoff_time", CF_TYPE_TIME, "4000s", 1, 0, CF_BOTH,
     "maximum deferral interval"},
    {"maximal_queue_lifetime", CF_TYPE_TIME, "5d", 0, DAYS_100, CF_BOTH,
     "age after which undeliverable mail is returned"},
    {"bounce_queue_lifetime", CF_TYPE_TIME, "5d", 0, DAYS_100, CF_BOTH,
     "the same for null-sender mail"},
    {"queue_run_delay", CF_TYPE_TIME, "300s", 1, 0, CF_BOTH,
     "interval between deferred-queue scans"},
    {"transport_retry_time", CF_TYPE_TIME, "60s", 1, 0, CF_BOTH,
     "how long an unreachable transport stays dead"},
    {"defer_transports", CF_TYPE_LIST, "", 0, 0, CF_BOTH,
     "transports whose mail is deferred until a flush"},
    {"default_filter_nexthop", CF_TYPE_STR, "", 0, 0, CF_BOTH,
     "nexthop of a content filter given without one"},
    {"address_verify_pending_request_limit", CF_TYPE_INT, "5000", 1, 0, CF_BOTH,
     "maximum address-verification probes in the active queue"},
    {"confirm_delay_cleared", CF_TYPE_BOOL, "no", 0, 0, CF_BOTH,
     "notify the sender when a delayed message is delivered"},
    {"disable_verp_bounces", CF_TYPE_BOOL, "no", 0, 0, CF_BOTH,
     "one bounce per VERP message instead of one per recipient"},
    {"allow_min_user", CF_TYPE_BOOL, "no", 0, 0, 0,
     "addresses may begin with \"-\" (listed in qmgr(8), read elsewhere)"},

    /* Global parameters the queue manager depends on. */
    {"compatibility_level", CF_TYPE_STR, "0", 0, 0, CF_BOTH,
     "backwards-compatibility level (\"major[.minor[.patch]]\")"},
    {"config_directory", CF_TYPE_STR, "/etc/postfix", 0, 0, CF_HOST,
     "the directory main.cf was read from (informational)"},
    {"queue_directory", CF_TYPE_STR, "/var/spool/postfix", 1, 0, CF_BOTH,
     "the Postfix queue"},
    {"daemon_directory", CF_TYPE_STR, "/usr/lib/postfix/sbin", 1, 0, CF_BOTH,
     "where the Postfix daemons are"},
    {"command_directory", CF_TYPE_STR, "/usr/sbin", 1, 0, CF_BOTH,
     "where the Postfix commands are"},
    {"data_directory", CF_TYPE_STR, "/var/lib/postfix", 1, 0, CF_BOTH,
     "Postfix's writable data (master.lock)"},
    {"process_id_directory", CF_TYPE_STR, "pid", 1, 0, CF_BOTH,
     "lock files, relative to the queue directory"},
    {"mail_owner", CF_TYPE_STR, "postfix", 1, 0, CF_BOTH,
     "the user the queue manager runs as"},
    {"setgid_group", CF_TYPE_STR, "postdrop", 1, 0, CF_BOTH,
     "the group of postdrop and postqueue"},
    {"mail_name", CF_TYPE_STR, "Postfix", 1, 0, CF_BOTH,
     "the mail system's name"},
    {"myhostname", CF_TYPE_STR, NULL, 1, 0, CF_BOTH | CF_HOST,
     "this host's fully-qualified name (default: from gethostname())"},
    {"mydomain", CF_TYPE_STR, NULL, 1, 0, CF_BOTH | CF_HOST,
     "this host's domain (default: $myhostname minus its first label)"},
    {"myorigin", CF_TYPE_STR, "$myhostname", 1, 0, CF_BOTH,
     "domain appended to unqualified sender addresses"},
    {"mydestination", CF_TYPE_LIST,
     "$myhostname, localhost.$mydomain, localhost", 0, 0, CF_BOTH,
     "domains delivered locally"},
    {"hash_queue_names", CF_TYPE_LIST, "deferred, defer", 1, 0, CF_BOTH,
     "queue directories split into hashed subdirectories"},
    {"hash_queue_depth", CF_TYPE_INT, "1", 1, 0, CF_BOTH,
     "levels of hashed subdirectories"},
    {"enable_long_queue_ids", CF_TYPE_BOOL, "no", 0, 0, CF_BOTH,
     "long, non-repeating queue ids"},
    {"syslog_name", CF_TYPE_STR,
     "${multi_instance_name?{$multi_instance_name}:{postfix}}", 1, 0, CF_BOTH,
     "prefix of the log tag"},
    {"syslog_facility", CF_TYPE_STR, "mail", 1, 0, CF_BOTH, "syslog facility"},
    {"multi_instance_name", CF_TYPE_STR, "", 0, 0, CF_BOTH,
     "this instance's name"},
    {"maillog_file", CF_TYPE_STR, "", 0, 0, CF_BOTH,
     "log file written by postlogd(8); empty: syslog"},
    {"maillog_file_prefixes", CF_TYPE_LIST, "/var, /dev/stdout", 1, 0, CF_BOTH,
     "allowed prefixes of maillog_file"},
    {"postlog_service_name", CF_TYPE_STR, "postlog", 1, 0, CF_BOTH,
     "postlogd(8) service name"},
    {"info_log_address_format", CF_TYPE_STR, "external", 1, 0, CF_BOTH,
     "address form in informational logging: external or internal"},
    {"delay_logging_resolution_limit", CF_TYPE_INT, "2", 0, 6, CF_BOTH,
     "decimals in delay= and delays= logging"},
    {"relay_domains", CF_TYPE_LIST,
     "${{$compatibility_level} <level {2} ? {$mydestination} : {}}", 0, 0,
     CF_BOTH,
     "domains this host relays to (the default of fast_flush_domains)"},
    {"fast_flush_domains", CF_TYPE_LIST, "$relay_domains", 0, 0, CF_BOTH,
     "destinations whose deferred mail flush(8) keeps a log for"},
    {"verp_delimiter_filter", CF_TYPE_STR, "-=+", 1, 0, CF_BOTH,
     "characters allowed as VERP delimiters"},
    {"helpful_warnings", CF_TYPE_BOOL, "yes", 0, 0, CF_BOTH,
     "log warnings about problems that don't stop mail (e.g. clogging)"},
    {"double_bounce_sender", CF_TYPE_STR, "double-bounce", 1, 0, CF_BOTH,
     "sender of double bounces; mail to it is discarded"},
    {"owner_request_special", CF_TYPE_BOOL, "yes", 0, 0, CF_BOTH,
     "owner-x and x-request addresses are special"},
    {"recipient_delimiter", CF_TYPE_STR, "", 0, 0, CF_BOTH,
     "address extension delimiters"},
    {"smtputf8_enable", CF_TYPE_BOOL,
     "${{$compatibility_level} <level {1} ? {no} : {yes}}", 0, 0, CF_BOTH,
     "SMTPUTF8 support (adds the SMTPUTF8 flag to delivery requests)"},
    {"dont_remove", CF_TYPE_INT, "0", 0, 0, CF_BOTH,
     "keep queue files instead of removing them (debugging)"},
    {"delay_warning_time", CF_TYPE_TIME, "0h", 0, 0, 0,
     "when cleanup asks for a delay warning; 0: never"},
    {"in_flow_delay", CF_TYPE_TIME, "1s", 0, 10, CF_BOTH,
     "cleanup's pause when no flow-control token is available"},
    {"default_process_limit", CF_TYPE_INT, "100", 1, 0, CF_BOTH,
     "default process limit; also the flow-control token target"},
    {"daemon_timeout", CF_TYPE_TIME, "18000s", 1, 0, CF_BOTH,
     "time limit for a delivery agent to connect and reply"},
    {"ipc_timeout", CF_TYPE_TIME, "3600s", 1, 0, CF_BOTH,
     "I/O timeout of internal connections (see qmgr_ipc_timeout)"},
    {"ipc_idle", CF_TYPE_TIME, "5s", 1, 0, CF_BOTH,
     "idle time after which a client closes an internal connection"},
    {"ipc_ttl", CF_TYPE_TIME, "1000s", 1, 0, CF_BOTH,
     "time after which a client closes an active internal connection"},
    {"trigger_timeout", CF_TYPE_TIME, "10s", 1, 0, CF_BOTH,
     "time limit for sending a trigger"},
    {"max_idle", CF_TYPE_TIME, "100s", 1, 0, CF_BOTH,
     "idle time after which a daemon exits (ignored by the manager)"},
    {"max_use", CF_TYPE_INT, "100", 1, 0, CF_BOTH,
     "requests after which a daemon exits (ignored by the manager)"},
    {"service_throttle_time", CF_TYPE_TIME, "60s", 0, 0, 0,
     "master(8): pause after a service failed to start"},
    {"import_environment", CF_TYPE_LIST,
     "MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ XAUTHORITY DISPLAY LANG=C "
     "POSTLOG_SERVICE POSTLOG_HOSTNAME",
     0, 0, CF_BOTH, "environment master(8) passes to daemons"},
    {"export_environment", CF_TYPE_LIST, "TZ MAIL_CONFIG LANG", 0, 0, CF_BOTH,
     "environment passed to external commands"},

    /* Services the manager talks to. */
    {"queue_service_name", CF_TYPE_STR, "qmgr", 1, 0, CF_BOTH,
     "the queue manager's own service (trigger endpoint)"},
    {"bounce_service_name", CF_TYPE_STR, "bounce", 1, 0, CF_BOTH,
     "bounce(8) service"},
    {"defer_service_name", CF_TYPE_STR, "defer", 1, 0, CF_BOTH,
     "defer(8) service"},
    {"trace_service_name", CF_TYPE_STR, "trace", 1, 0, CF_BOTH,
     "trace(8) service"},
    {"flush_service_name", CF_TYPE_STR, "flush", 1, 0, CF_BOTH,
     "flush(8) service"},
    {"rewrite_service_name", CF_TYPE_STR, "rewrite", 1, 0, CF_BOTH,
     "trivial-rewrite(8) service"},
    {"address_verify_service_name", CF_TYPE_STR, "verify", 1, 0, CF_BOTH,
     "verify(8) service"},
    {"address_verify_negative_cache", CF_TYPE_BOOL, "yes", 0, 0, CF_BOTH,
     "verify(8) caches failed probes"},
    {"error_service_name", CF_TYPE_STR, "error", 1, 0, CF_BOTH,
     "error(8) service (the manager itself uses \"error\" and \"retry\")"},

    /* Set at run time. */
    {"process_id", CF_TYPE_STR, NULL, 0, 0, CF_RUNTIME,
     "the process id (read-only)"},
    {"process_name", CF_TYPE_STR, NULL, 0, 0, CF_RUNTIME,
     "the program name (read-only)"},
    {"service_name", CF_TYPE_STR, NULL, 0, 0, CF_RUNTIME,
     "the master.cf service name (read-only)"},

    /* pqmgr's own. */
    {"pqmgr_scheduler", CF_TYPE_STR, "nqmgr", 1, 0, CF_BOTH | CF_PQMGR,
     "scheduler: nqmgr (as qmgr(8)) or oqmgr (as oqmgr(8))"},
    {"pqmgr_queue_store", CF_TYPE_STR, "spool", 1, 0, CF_BOTH | CF_PQMGR,
     "where queue state lives: spool, lmdb:<dir>, pgsql:<file.cf> or "
     "redis:<file.cf>"},
    {"pqmgr_node_name", CF_TYPE_STR, "$myhostname", 1, 0, CF_BOTH | CF_PQMGR,
     "this host's name in a shared queue (leases, logs)"},
    {"pqmgr_lease_time", CF_TYPE_TIME, "300s", 1, 0, CF_BOTH | CF_PQMGR,
     "lifetime of a claim on a message in a shared queue"},
    {"pqmgr_store_timeout", CF_TYPE_TIME, "10s", 1, 0, CF_BOTH | CF_PQMGR,
     "time limit of one queue-store operation"},
    {"pqmgr_metrics_path", CF_TYPE_STR, "", 0, 0, CF_BOTH | CF_PQMGR,
     "file rewritten with Prometheus text metrics; empty: none"},
    {"pqmgr_agent_protocol", CF_TYPE_STR, "3.7", 1, 0, CF_BOTH | CF_PQMGR,
     "request format of the installed Postfix's agents and bounce(8): 3.7 "
     "(3.7 to 3.9) or 3.10 (3.10 and later: \"sendopts\")"},
};

const size_t cf_param_count =
    sizeof(cf_param_table) / sizeof(cf_param_table[0]);

/* Per-transport parameters: <transport>_<suffix> falls back to these. */
static const struct {
    const char *suffix;
    const char *fallback;
} transport_table[] = {
    {"destination_concurrency_limit", "default_destination_concurrency_limit"},
    {"destination_recipient_limit", "default_destination_recipient_limit"},
    {"initial_destination_concurrency", "initial_destination_concurrency"},
    {"destination_rate_delay", "default_destination_rate_delay"},
    {"transport_rate_delay", "default_transport_rate_delay"},
    {"destination_concurrency_failed_cohort_limit",
     "default_destination_concurrency_failed_cohort_limit"},
    {"destination_concurrency_negative_feedback",
     "default_destination_concurrency_negative_feedback"},
    {"destination_concurrency_positive_feedback",
     "default_destination_concurrency_positive_feedback"},
    {"delivery_slot_cost", "default_delivery_slot_cost"},
    {"delivery_slot_loan", "default_delivery_slot_loan"},
    {"delivery_slot_discount", "default_delivery_slot_discount"},
    {"minimum_delivery_slots", "default_minimum_delivery_slots"},
    {"recipient_limit", "default_recipient_limit"},
    {"extra_recipient_limit", "default_extra_recipient_limit"},
    {"recipient_refill_limit", "default_recipient_refill_limit"},
    {"recipient_refill_delay", "default_recipient_refill_delay"},
};

/* The rows sorted by name, built on first use, for binary search. */
static const CF_PARAM **by_name;

static int
compare_rows(const void *a, const void *b)
{
    return strcmp((*(const CF_PARAM *const *) a)->name,
                  (*(const CF_PARAM *const *) b)->name);
}

static int
compare_key(const void *key, const void *row)
{
    return strcmp((const char *) key, (*(const CF_PARAM *const *) row)->name);
}

static void
sort_rows(void)
{
    static const CF_PARAM
        *rows[sizeof(cf_param_table) / sizeof(cf_param_table[0])];

    for (size_t i = 0; i < cf_param_count; i++)
        rows[i] = cf_param_table + i;
    qsort(rows, cf_param_count, sizeof(rows[0]), compare_rows);
    by_name = rows;
}

const CF_PARAM *
cf_param_find(const char *name)
{
    const CF_PARAM **found;

    if (by_name == NULL)
        sort_rows();
    found =
        bsearch(name, by_name, cf_param_count, sizeof(by_name[0]), compare_key);
    return found ? *found : NULL;
}

int
cf_param_default_unit(const CF_PARAM *param)
{
    const char *cp;

    for (cp = param->defval ? param->defval : ""; *cp; cp++)
        if (isalpha((unsigned char) *cp))
            return *cp;
    return 's';
}

const char *
cf_transport_fallback(const char *suffix)
{
    for (size_t i = 0; i < sizeof(transport_table) / sizeof(transport_table[0]);
         i++)
        if (strcmp(transport_table[i].suffix, suffix) == 0)
            return transport_table[i].fallback;
    return NULL;
}

const char *
cf_type_name(CF_TYPE type)
{
    switch (type) {
        case CF_TYPE_STR:
            return "string";
        case CF_TYPE_LIST:
            return "list";
        case CF_TYPE_INT:
            return "integer";
        case CF_TYPE_BOOL:
            return "boolean";
        case CF_TYPE_TIME:
            return "time";
        case CF_TYPE_FEEDBACK:
            return "feedback";
    }
    return "unknown";
}
