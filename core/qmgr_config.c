/*
 * qmgr_config - the daemon's main.cf parameters (see qmgr.h).
 *
 *	qmgr_config_load(q)	read every parameter the daemon and the
 *				scheduler use into q->set; 0, or -1 after
 *				logging each bad value (the daemon then refuses
 *				to start, as Postfix does)
 *	qmgr_sched_globals(q, g)	the scheduler's global settings; the
 *				number of bad values (logged)
 *	qmgr_transport_params(q, name, p)	a transport's "T_" parameters
 *				(SCHED_OPS.get_transport_params); a bad value
 *				is logged and the default kept
 *	qmgr_config_free(q)
 */
#include <string.h>

#include "msg.h"
#include "qmgr.h"
#include "xalloc.h"

typedef struct LOADER {
    CF *cf;
    int errors;
} LOADER;

static void
load_int(LOADER *ld, const char *name, int *value)
{
    if (cf_get_int(ld->cf, name, value) < 0) {
        msg_warn("%s", cf_error(ld->cf));
        ld->errors++;
    }
}

static void
load_time(LOADER *ld, const char *name, int *value)
{
    if (cf_get_time(ld->cf, name, value) < 0) {
        msg_warn("%s", cf_error(ld->cf));
        ld->errors++;
    }
}

static void
load_bool(LOADER *ld, const char *name, int *value)
{
    if (cf_get_bool(ld->cf, name, value) < 0) {
        msg_warn("%s", cf_error(ld->cf));
        ld->errors++;
    }
}

static char *
load_str(LOADER *ld, const char *name, const char *fallback)
{
    const char *value = cf_get_str(ld->cf, name);

    if (value == NULL) {
        msg_warn("%s", cf_error(ld->cf));
        ld->errors++;
        value = fallback;
    } else if (*value == 0 && fallback) {
        value = fallback;
    }
    return xstrdup(value);
}

int
qmgr_config_load(QMGR *q)
{
    QMGR_SETTINGS *s = &q->set;
    LOADER ld = {q->cf, 0};
    SCHED_GLOBALS g;

    load_time(&ld, "queue_run_delay", &s->queue_run_delay);
    load_time(&ld, "in_flow_delay", &s->in_flow_delay);
    load_int(&ld, "default_process_limit", &s->process_limit);
    load_time(&ld, "qmgr_ipc_timeout", &s->ipc_timeout);
    load_time(&ld, "qmgr_daemon_timeout", &s->watchdog);
    load_time(&ld, "daemon_timeout", &s->agent_timeout);
    load_bool(&ld, "confirm_delay_cleared", &s->confirm_delay_cleared);
    load_bool(&ld, "disable_verp_bounces", &s->disable_verp_bounces);
    load_bool(&ld, "smtputf8_enable", &s->smtputf8_enable);
    load_int(&ld, "address_verify_pending_request_limit",
             &s->verify_pending_limit);
    load_int(&ld, "hash_queue_depth", &s->hash_depth);
    s->myhostname = load_str(&ld, "myhostname", NULL);
    s->double_bounce_sender = load_str(&ld, "double_bounce_sender", NULL);
    s->default_filter_nexthop = load_str(&ld, "default_filter_nexthop", NULL);
    s->verp_filter = load_str(&ld, "verp_delimiter_filter", "-=+");
    s->hash_queues = load_str(&ld, "hash_queue_names", NULL);
    s->rewrite_service = load_str(&ld, "rewrite_service_name", "rewrite");
    s->queue_service = load_str(&ld, "queue_service_name", "qmgr");
    ld.errors += qmgr_sched_globals(q, &g);
    if (cf_validate(q->cf, NULL, NULL) > 0) {
        msg_warn("%s", cf_error(q->cf));
        ld.errors++;
    }
    return ld.errors ? -1 : 0;
}

int
qmgr_sched_globals(QMGR *q, SCHED_GLOBALS *g)
{
    LOADER ld = {q->cf, 0};

    sched_globals_default(g);
    load_int(&ld, "qmgr_message_active_limit", &g->active_limit);
    load_int(&ld, "qmgr_message_recipient_limit", &g->recipient_limit);
    load_int(&ld, "qmgr_message_recipient_minimum", &g->recipient_minimum);
    load_int(&ld, "qmgr_fudge_factor", &g->fudge_factor);
    load_time(&ld, "minimal_backoff_time", &g->min_backoff_time);
    load_time(&ld, "maximal_backoff_time", &g->max_backoff_time);
    load_time(&ld, "maximal_queue_lifetime", &g->max_queue_lifetime);
    load_time(&ld, "bounce_queue_lifetime", &g->bounce_queue_lifetime);
    load_time(&ld, "transport_retry_time", &g->transport_retry_time);
    load_time(&ld, "qmgr_clog_warn_time", &g->clog_warn_time);
    load_bool(&ld, "helpful_warnings", &g->helpful_warnings);
    load_bool(&ld, "destination_concurrency_feedback_debug",
              &g->feedback_debug);
    load_bool(&ld, "owner_request_special", &g->owner_request_special);
    g->defer_transports = cf_get_str(q->cf, "defer_transports");
    g->double_bounce_sender = q->set.double_bounce_sender;
    g->recipient_delimiter = cf_get_str(q->cf, "recipient_delimiter");
    return ld.errors;
}

static void
transport_int(CF *cf, const char *name, const char *suffix, int *value)
{
    if (cf_get_transport_int(cf, name, suffix, value) < 0)
        msg_warn("%s", cf_error(cf));
}

static void
transport_time(CF *cf, const char *name, const char *suffix, int *value)
{
    if (cf_get_transport_time(cf, name, suffix, value) < 0)
        msg_warn("%s", cf_error(cf));
}

static void
transport_feedback(CF *cf, const char *name, const char *suffix,
                   SCHED_FEEDBACK *fb)
{
    CF_FEEDBACK value;

    if (cf_get_transport_feedback(cf, name, suffix, &value) < 0)
        return;
    fb->numerator = value.base;
    fb->denominator = 1;
    fb->per_concurrency = value.per_concurrency;
}

void
qmgr_transport_params(void *context, const char *name,
                      SCHED_TRANSPORT_PARAMS *p)
{
    QMGR *q = context;
    CF *cf = q->cf;

    transport_int(cf, name, "destination_concurrency_limit",
                  &p->dest_concurrency_limit);
    transport_int(cf, name, "initial_destination_concurrency",
                  &p->init_dest_concurrency);
    transport_int(cf, name, "destination_recipient_limit",
                  &p->dest_recipient_limit);
    transport_time(cf, name, "destination_rate_delay", &p->dest_rate_delay);
    transport_time(cf, name, "transport_rate_delay", &p->transport_rate_delay);
    transport_feedback(cf, name, "destination_concurrency_positive_feedback",
                       &p->pos_feedback);
    transport_feedback(cf, name, "destination_concurrency_negative_feedback",
                       &p->neg_feedback);
    transport_int(cf, name, "destination_concurrency_failed_cohort_limit",
                  &p->fail_cohort_limit);
    transport_int(cf, name, "delivery_slot_cost", &p->delivery_slot_cost);
    transport_int(cf, name, "delivery_slot_loan", &p->delivery_slot_loan);
    transport_int(cf, name, "delivery_slot_discount",
                  &p->delivery_slot_discount);
    transport_int(cf, name, "minimum_delivery_slots",
                  &p->minimum_delivery_slots);
    transport_int(cf, name, "recipient_limit", &p->recipient_limit);
    transport_int(cf, name, "extra_recipient_limit", &p->extra_recipient_limit);
    transport_int(cf, name, "recipient_refill_limit",
                  &p->recipient_refill_limit);
    transport_time(cf, name, "recipient_refill_delay",
                   &p->recipient_refill_delay);
}

void
qmgr_config_free(QMGR *q)
{
    QMGR_SETTINGS *s = &q->set;

    xfree(s->myhostname);
    xfree(s->double_bounce_sender);
    xfree(s->default_filter_nexthop);
    xfree(s->verp_filter);
    xfree(s->hash_queues);
    xfree(s->rewrite_service);
    xfree(s->queue_service);
}
