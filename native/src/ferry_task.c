/*
 * ferry_task.c: the "ferry.task" system op, which runs a Java task on the engine thread through the
 * one upcall Java installed (ferry.h, "Java tasks on the engine thread"), and the context and stop
 * events that upcall hears once a task has run on an engine.
 */
#include "ferry_task.h"

/* The upcall, installed once by Java (release), read by every task (acquire): a task sees the stub's
 * code and everything Java set up before installing it. */
static _Atomic(ferry_task_upcall_fn) ferry__task_upcall;

/* Engine thread only: whether a Java task has run on this thread's engine. Each engine has a pthread of
 * its own, so a thread-local flag is a per-engine flag without a field in ferry_engine. */
static _Thread_local bool ferry__task_bound;

void ferry_task_set_upcall(ferry_task_upcall_fn fn)
{
    ferry__store_release(&ferry__task_upcall, fn);
}

static int op_task(ferry_call *c, void *data)
{
    (void)data;
    ferry_task_upcall_fn fn = ferry__load_acquire(&ferry__task_upcall);
    if (!fn)
        return ferry_call_fail(c, FERRY_E_INVALID, "ferry.task: no Java task upcall is installed");
    ferry__task_bound = true;
    int64_t rc = fn(FERRY_TASK_RUN, (int64_t)ferry_call_context(c), c->arg[0], c->arg[1], (int64_t)(uintptr_t)c);
    if (rc != 0)
        return ferry_call_fail(c, (int)rc, "ferry.task: task cell %lld (stamp %lld) is not waiting to run",
                               (long long)c->arg[0], (long long)c->arg[1]);
    return 0;
}

/* Tells Java of a context or stop event, if a Java task has run on this engine. Engine thread only. */
static void ferry__task_event(int32_t kind, uint64_t ctx, int64_t a, int64_t b, const char *name)
{
    if (!ferry__task_bound)
        return;
    ferry_task_upcall_fn fn = ferry__load_acquire(&ferry__task_upcall);
    if (fn)
        fn(kind, (int64_t)ctx, a, b, (int64_t)(uintptr_t)name);
}

void ferry__task_context_opened(uint64_t id, uint64_t parent, uint32_t flags, const char *name)
{
    ferry__task_event(FERRY_TASK_CTX_OPEN, id, (int64_t)parent, flags, name);
}

void ferry__task_context_closing(uint64_t id)
{
    ferry__task_event(FERRY_TASK_CTX_CLOSE, id, 0, 0, NULL);
}

static void ferry__task_stop(void *data)
{
    (void)data;
    ferry__task_event(FERRY_TASK_STOP, 0, 0, 0, NULL);
    ferry__task_bound = false;
}

int ferry__register_task_ops(ferry_registry *reg, ferry_engine *e)
{
    int32_t rc = ferry__register_op(reg, "ferry.task", op_task, e, FERRY_OP_SYSTEM | FERRY_OP_INTERNAL);
    if (rc < 0)
        return ferry_registry_fail(reg, rc, "cannot register system op ferry.task");
    rc = ferry_registry_on_close(reg, ferry__task_stop, NULL);
    if (rc < 0)
        return ferry_registry_fail(reg, rc, "cannot register the task stop hook");
    return 0;
}
