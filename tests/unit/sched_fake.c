/*
 * sched_fake - the fake daemon that drives the scheduling model in the
 * unit tests; see sched_fake.h for the interface.
 *
 * The callbacks record what the model asks for in sched_fake; timers
 * fire only when a test moves the clock with sched_fake_advance().
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "sched_fake.h"

SCHED_FAKE sched_fake;

/* Fake daemon callbacks. */

static void
fake_params(void *ctx, const char *name, SCHED_TRANSPORT_PARAMS *p)
{
    (void) ctx;
    for (int i = 0; i < sched_fake.nparams; i++)
        if (strcmp(sched_fake.params[i].name, name) == 0)
            *p = sched_fake.params[i].params;
}

static void
fake_remove_timer(SCHED_TIMER_KIND kind, void *object)
{
    for (int i = 0; i < sched_fake.ntimers; i++) {
        if (sched_fake.timers[i].kind == kind &&
            sched_fake.timers[i].object == object) {
            sched_fake.timers[i] = sched_fake.timers[--sched_fake.ntimers];
            return;
        }
    }
}

static void
fake_set_timer(void *ctx, SCHED_TIMER_KIND kind, void *object, int seconds)
{
    SCHED_FAKE_TIMER *t;

    (void) ctx;
    fake_remove_timer(kind, object);
    ck_assert_int_lt(sched_fake.ntimers, SCHED_FAKE_MAX_TIMERS);
    t = sched_fake.timers + sched_fake.ntimers++;
    t->kind = kind;
    t->object = object;
    t->due = sched_fake.now + seconds;
}

static void
fake_cancel_timer(void *ctx, SCHED_TIMER_KIND kind, void *object)
{
    (void) ctx;
    fake_remove_timer(kind, object);
}

static int
fake_defer(void *ctx, SCHED_MESSAGE *m, const SCHED_RCPT *rcpts, int count,
           const char *status, const char *reason)
{
    (void) ctx;
    (void) m;
    (void) rcpts;
    sched_fake.sync_defers++;
    sched_fake.sync_defer_rcpts += count;
    snprintf(sched_fake.sync_status, sizeof(sched_fake.sync_status), "%s",
             status);
    snprintf(sched_fake.sync_reason, sizeof(sched_fake.sync_reason), "%s",
             reason);
    return 0;
}

static void
fake_refill(void *ctx, SCHED_MESSAGE *m)
{
    (void) ctx;
    sched_fake.refills++;
    if (sched_fake.refill_hook)
        sched_fake.refill_hook(m);
}

static void
fake_done(void *ctx, SCHED_MESSAGE *m)
{
    (void) ctx;
    sched_fake_done(m);
}

/* Harness. */

void
sched_fake_setup(void)
{
    memset(&sched_fake, 0, sizeof(sched_fake));
    sched_fake.now = 1000000;
}

void
sched_fake_teardown(void)
{
    sched_destroy(sched_fake.s);
    sched_fake.s = NULL;
}

SCHED_TRANSPORT_PARAMS *
sched_fake_xport_params(const char *name)
{
    SCHED_FAKE_PARAMS *fp;

    for (int i = 0; i < sched_fake.nparams; i++)
        if (strcmp(sched_fake.params[i].name, name) == 0)
            return &sched_fake.params[i].params;
    ck_assert_int_lt(sched_fake.nparams, SCHED_FAKE_MAX_PARAMS);
    fp = sched_fake.params + sched_fake.nparams++;
    snprintf(fp->name, sizeof(fp->name), "%s", name);
    sched_transport_params_default(&fp->params);
    return &fp->params;
}

SCHED *
sched_fake_start(const SCHED_GLOBALS *globals, const char *policy)
{
    SCHED_GLOBALS defaults;
    SCHED_OPS ops = {
        .context = NULL,
        .get_transport_params = fake_params,
        .set_timer = fake_set_timer,
        .cancel_timer = fake_cancel_timer,
        .defer_recipients = fake_defer,
        .message_refill = sched_fake.no_refill_callback ? NULL : fake_refill,
        .message_done = fake_done,
    };

    if (globals == NULL) {
        sched_globals_default(&defaults);
        globals = &defaults;
    }
    sched_fake.s = sched_create(globals, &ops, policy);
    ck_assert_ptr_nonnull(sched_fake.s);
    return sched_fake.s;
}

time_t
sched_fake_timer_due(SCHED_TIMER_KIND kind, void *object)
{
    for (int i = 0; i < sched_fake.ntimers; i++)
        if (sched_fake.timers[i].kind == kind &&
            sched_fake.timers[i].object == object)
            return sched_fake.timers[i].due;
    return -1;
}

/* The earliest timer due by end, or -1 when there is none. */
static int
fake_next_timer(time_t end)
{
    int best = -1;

    for (int i = 0; i < sched_fake.ntimers; i++)
        if (sched_fake.timers[i].due <= end &&
            (best < 0 ||
             sched_fake.timers[i].due < sched_fake.timers[best].due))
            best = i;
    return best;
}

void
sched_fake_advance(int seconds)
{
    time_t end = sched_fake.now + seconds;
    int best;

    while ((best = fake_next_timer(end)) >= 0) {
        SCHED_FAKE_TIMER t = sched_fake.timers[best];

        sched_fake.timers[best] = sched_fake.timers[--sched_fake.ntimers];
        if (t.due > sched_fake.now)
            sched_fake.now = t.due;
        sched_timer_expired(sched_fake.s, t.kind, t.object);
    }
    sched_fake.now = end;
}

const char *
sched_fake_domain_of(const char *addr)
{
    const char *at = strrchr(addr, '@');

    return at ? at + 1 : "localhost";
}

SCHED_TRANSPORT *
sched_fake_transport(const char *name)
{
    SCHED_TRANSPORT *t = sched_transport_find(sched_fake.s, name);

    ck_assert_msg(t != NULL, "no transport %s", name);
    return t;
}

SCHED_ENTRY *
sched_fake_choose(const char *xport)
{
    return sched_choose_entry(sched_fake.s, sched_fake_transport(xport),
                              sched_fake.now);
}

void
sched_fake_reply(SCHED_ENTRY *e, int status, int crashed,
                 const char *hop_status, const char *hop_reason)
{
    SCHED_REPLY r = {.status = status,
                     .crashed = crashed,
                     .hop_status = hop_status,
                     .hop_reason = hop_reason};

    sched_delivery_done(sched_fake.s, e, &r, sched_fake.now);
}

void
sched_fake_done(SCHED_MESSAGE *m)
{
    ck_assert_int_lt(sched_fake.ndone, SCHED_FAKE_MAX_DONE);
    sched_fake.done[sched_fake.ndone++] = m;
}
