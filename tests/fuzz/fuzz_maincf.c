/*
 * fuzz_maincf - libFuzzer target: arbitrary bytes as a main.cf.
 *
 * The bytes are parsed as main.cf (cf_open_buffer).  Lines of the form
 * "#-o name=value" are also applied as daemon -o options, so that option
 * parsing and precedence are fuzzed too.  Then every parameter that the
 * input sets is expanded, the whole configuration is validated as at
 * startup for both schedulers (every table parameter read with its typed
 * getter), and the per-transport getters are asked for the transports
 * "smtp", "local" and one named in the input.  Any crash, sanitizer
 * report, leak or hang is a finding.  Seeds: the .cf files in tests/data/conf.
 *
 * Warnings (overriding entries, malformed feedback) go to syslog, not to
 * stderr, to keep libFuzzer's output readable.
 *
 * Build: make CC=clang BUILD=build-fuzz \
 *	CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined" \
 *	build-fuzz/fuzz/fuzz_maincf
 * Run:   build-fuzz/fuzz/fuzz_maincf -max_total_time=60 tests/data/conf
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "conf.h"
#include "msg.h"
#include "strbuf.h"
#include "xalloc.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OPTION_PREFIX "#-o "

static const char *const int_suffixes[] = {
    "destination_concurrency_limit",
    "destination_recipient_limit",
    "initial_destination_concurrency",
    "destination_concurrency_failed_cohort_limit",
    "delivery_slot_cost",
    "delivery_slot_loan",
    "delivery_slot_discount",
    "minimum_delivery_slots",
    "recipient_limit",
    "extra_recipient_limit",
    "recipient_refill_limit",
};

static const char *const time_suffixes[] = {
    "destination_rate_delay",
    "transport_rate_delay",
    "recipient_refill_delay",
};

static const char *const feedback_suffixes[] = {
    "destination_concurrency_positive_feedback",
    "destination_concurrency_negative_feedback",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    msg_init("fuzz_maincf", "pqmgr-fuzz");
    msg_to_syslog(LOG_LOCAL7);
    return 0;
}

/* apply_options - "#-o name=value" lines of the input as -o options */

static void
apply_options(CF *cf, const char *text)
{
    const char *cp = text;
    const char *end;

    while ((cp = strstr(cp, OPTION_PREFIX)) != NULL) {
        cp += strlen(OPTION_PREFIX);
        end = strchr(cp, '\n');
        {
            char *option =
                end ? xstrndup(cp, (size_t) (end - cp)) : xstrdup(cp);

            (void) cf_override(cf, option);
            xfree(option);
        }
    }
}

/* Names of everything the input set (collected, then looked up). */
typedef struct NAMES {
    char **names;
    int count;
} NAMES;

static void
collect_name(const char *name, void *context)
{
    NAMES *names = context;

    names->names =
        xrealloc(names->names, (size_t) (names->count + 1) * sizeof(char *));
    names->names[names->count++] = xstrdup(name);
}

static void
query_transport(CF *cf, const char *transport)
{
    CF_FEEDBACK fb;
    int value;

    for (size_t i = 0; i < COUNT(int_suffixes); i++)
        (void) cf_get_transport_int(cf, transport, int_suffixes[i], &value);
    for (size_t i = 0; i < COUNT(time_suffixes); i++)
        (void) cf_get_transport_time(cf, transport, time_suffixes[i], &value);
    for (size_t i = 0; i < COUNT(feedback_suffixes); i++)
        (void) cf_get_transport_feedback(cf, transport, feedback_suffixes[i],
                                         &fb);
}

/* input_transport - a transport name taken from the first name set */

static char *
input_transport(NAMES *names)
{
    const char *name;
    size_t len;

    if (names->count == 0)
        return xstrdup("relay");
    name = names->names[0];
    len = strcspn(name, "_");
    return xstrndup(name, len ? len : strlen(name));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = xstrndup((const char *) data, size);
    NAMES names = {NULL, 0};
    char *why = NULL;
    char *transport;
    CF *cf;

    cf = cf_open_buffer("/fuzz/main.cf", (const char *) data, size, &why);
    if (cf == NULL) {
        xfree(why);
        xfree(text);
        return 0;
    }
    apply_options(cf, text);
    cf_walk(cf, collect_name, &names);
    for (int i = 0; i < names.count; i++)
        (void) cf_get_str(cf, names.names[i]);
    (void) cf_validate(cf, NULL, NULL);
    (void) cf_override(cf, "pqmgr_scheduler=oqmgr");
    (void) cf_validate(cf, NULL, NULL);
    query_transport(cf, "smtp");
    query_transport(cf, "local");
    transport = input_transport(&names);
    query_transport(cf, transport);
    xfree(transport);
    for (int i = 0; i < names.count; i++)
        xfree(names.names[i]);
    xfree(names.names);
    cf_free(cf);
    xfree(text);
    return 0;
}
