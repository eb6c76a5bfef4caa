/*
 * A benchmark-only engine plug-in (issue 12): the op "add" (as native/testops has it) and, when started
 * with the configuration "hook", a cancel hook that does nothing. CancelHookBenchmark pairs the two, to
 * measure what a registered cancel hook (ferry_registry_on_cancel) costs every call: the engine then
 * opens and closes a cancel window around each call (ferry_cancel.c).
 */
#include "ferry.h"

#include <string.h>

static int add(ferry_call *c, void *data)
{
    (void)data;
    ferry_call_set_i64(c, ferry_call_arg(c, 0) + ferry_call_arg(c, 1));
    return 0;
}

static void nothing(void *data)
{
    (void)data;
}

FERRY_API int bench_cancelhook_init(ferry_registry *reg)
{
    if (ferry_register_op(reg, "add", add, NULL, 0) < 0)
        return 1;
    if (strcmp(ferry_registry_arg(reg), "hook") == 0 && ferry_registry_on_cancel(reg, nothing, NULL) != 0)
        return 2;
    return 0;
}
