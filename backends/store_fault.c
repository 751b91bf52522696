/*
 * store_fault - simulated crashes at durable steps (see store_fault.h).
 */
#include <stdlib.h>
#include <unistd.h>

#include "store_fault.h"

static int armed_at = -1; /* -1: not yet read from the environment */
static int passed;
static const char *last_step = "";

static void
arm_from_environment(void)
{
    const char *value = getenv("PQ_FAULT_AT");

    armed_at = value ? atoi(value) : 0;
}

void
store_fault_point(const char *step)
{
    if (armed_at < 0)
        arm_from_environment();
    passed++;
    last_step = step;
    if (armed_at > 0 && passed == armed_at)
        _exit(STORE_FAULT_EXIT);
}

void
store_fault_arm(int k)
{
    armed_at = k;
    passed = 0;
}

int
store_fault_count(void)
{
    return passed;
}

const char *
store_fault_last(void)
{
    return last_step;
}
