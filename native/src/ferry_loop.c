/*
 * ferry_loop.c: the engine thread. It registers the system ops, loads the plug-in and runs its init
 * (every other op comes from the plug-in), reports to the starter, then loops: drain every published
 * call, else idle; once stopped, it drains every call accepted before the stop, closes the contexts,
 * runs the on-close hooks and stores state STOPPED.
 */
#include "ferry_internal.h"
#include "ferry_counters.h" /* counters */

#include <dlfcn.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void ferry__loop(ferry_engine *e)
{
    uint64_t head = 0;
    bool draining = false;
    ferry__idle idle = { .hooked = true }; /* nothing to let go of before the first call */
    for (;;) {
        uint64_t next = ferry__counters_drain(e, head); /* counters: ferry__drain, busy time sampled */
        if (next != head) {
            head = next;
            ferry__idle_busy(&idle);
            continue;
        }
        uint64_t closed = ferry__load_acquire(&e->closed_at);
        if (closed != FERRY__NOT_CLOSED) {
            if (head >= closed)
                return;
            if (!draining) {
                ferry__store_release(&e->region->engine.state, FERRY_ENGINE_DRAINING);
                draining = true;
            }
        }
        ferry__idle_poll(e, &idle, head);
    }
}

static int ferry__init(ferry_engine *e)
{
    ferry_registry *reg = &e->reg;
    int rc = ferry__register_system_ops(reg, e);
    if (rc < 0)
        return rc;
    if (e->plugin_path) {
        dlerror();
        e->plugin = dlopen(e->plugin_path, RTLD_NOW | RTLD_LOCAL);
        if (!e->plugin)
            return ferry_registry_fail(reg, FERRY_E_LOAD, "cannot load engine library %s: %s", e->plugin_path,
                                       dlerror());
        const char *sym = e->init_symbol ? e->init_symbol : "ferry_engine_init";
        dlerror();
        void *fn = dlsym(e->plugin, sym);
        if (!fn)
            return ferry_registry_fail(reg, FERRY_E_LOAD, "engine library %s has no init function %s: %s",
                                       e->plugin_path, sym, dlerror());
        ferry_engine_init_fn init;
        memcpy(&init, &fn, sizeof(init));
        rc = init(reg);
        if (rc != 0) {
            if (reg->fail_code == 0)
                ferry_registry_fail(reg, rc, "engine init %s in %s failed with code %d", sym, e->plugin_path, rc);
            return reg->fail_code;
        }
    }
    reg->sealed = true;
    e->cancel_hooked = reg->on_cancel_count > 0;
    /* The systemic context, after init so that the engine's context hooks see it too. */
    rc = ferry__contexts_init(e, reg->fail_msg, sizeof(reg->fail_msg));
    if (rc != 0)
        reg->fail_code = rc;
    return rc;
}

void *ferry__main(void *arg)
{
    ferry_engine *e = arg;
    pthread_setname_np(pthread_self(), "ferry-engine");
    e->cpu_clock_ok = pthread_getcpuclockid(pthread_self(), &e->cpu_clock) == 0;
    e->tid = (pid_t)syscall(SYS_gettid); /* published to the starter by the start_mu handshake */
    if (e->wake)
        e->wake(FERRY_WAKE_HELLO);

    int rc = ferry__init(e);
    if (rc != 0) {
        ferry__contexts_close_all(e);
        ferry__registry_run_on_close(&e->reg); /* undo whatever init managed to set up */
        if (e->plugin)
            dlclose(e->plugin);
        e->plugin = NULL;
    }
    ferry__store_release(&e->region->engine.state, rc == 0 ? FERRY_ENGINE_RUNNING : FERRY_ENGINE_STOPPED);

    pthread_mutex_lock(&e->start_mu);
    e->start_rc = rc;
    if (rc != 0)
        ferry__copy_msg(e->start_msg, sizeof(e->start_msg), e->reg.fail_msg);
    e->start_done = 1;
    pthread_cond_signal(&e->start_cv);
    pthread_mutex_unlock(&e->start_mu);
    if (rc != 0)
        return NULL;

    ferry__loop(e);

    ferry__contexts_close_all(e);
    ferry__registry_run_on_close(&e->reg);
    /* Pairs with Java's acquire load of the state word: after STOPPED, the engine makes no more wake
     * calls and touches no slot. */
    ferry__store_release(&e->region->engine.state, FERRY_ENGINE_STOPPED);
    return NULL;
}
