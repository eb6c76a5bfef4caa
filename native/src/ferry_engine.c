/*
 * ferry_engine.c: the engine's lifecycle, as Java drives it: start (and its handshake with the engine
 * thread), stop, join, destroy, and the engine thread's priority and CPU time.
 */
#include "ferry_internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

int64_t ferry__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void ferry__copy_msg(char *dst, size_t dstlen, const char *src)
{
    if (!dst || dstlen == 0)
        return;
    snprintf(dst, dstlen, "%s", src ? src : "");
}

/* The engine's own state, before its thread starts. NULL when out of memory. */
static ferry_engine *ferry__engine_new(void *region, uint32_t capacity, int64_t idle_spin_ns, const char *plugin_path,
                                       const char *init_symbol, const char *init_arg, ferry_wake_fn wake)
{
    ferry_engine *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->region = region;
    e->capacity = capacity;
    e->mask = capacity - 1;
    atomic_init(&e->idle_spin_ns, idle_spin_ns);
    atomic_init(&e->idle_yield_after_ns, 0);
    atomic_init(&e->idle_preempted_ns, 0);
    atomic_init(&e->idle_step_aside_ns, 0);
    e->wake = wake;
    atomic_init(&e->closed_at, FERRY__NOT_CLOSED);
    atomic_init(&e->joined, 0);
    atomic_init(&e->cancel_running, 0);
    atomic_init(&e->cancellers, 0);
    e->plugin_path = plugin_path ? strdup(plugin_path) : NULL;
    e->init_symbol = init_symbol ? strdup(init_symbol) : NULL;
    e->init_arg = strdup(init_arg ? init_arg : "");
    e->reg.arg = e->init_arg;
    pthread_mutex_init(&e->start_mu, NULL);
    pthread_cond_init(&e->start_cv, NULL);
    return e;
}

/* The region as the engine starts on it: header filled, slot i FREE(i), intake open. */
static void ferry__region_init(ferry_region *r, uint32_t capacity, uint64_t size)
{
    memset(r, 0, (size_t)size);
    r->header.magic = FERRY_MAGIC;
    r->header.version = FERRY_VERSION;
    r->header.capacity = capacity;
    r->header.slot_size = FERRY_SLOT_SIZE;
    r->header.region_size = size;
    for (uint32_t i = 0; i < capacity; i++)
        atomic_init(&r->slots[i].state, (uint64_t)i << FERRY_SEQ_SHIFT);
    atomic_init(&r->tail.tail, 0);
    atomic_init(&r->engine.state, FERRY_ENGINE_STARTING);
}

/* Waits for the engine thread's init result (ferry__main reports it under start_mu). */
static int ferry__await_init(ferry_engine *e)
{
    pthread_mutex_lock(&e->start_mu);
    while (!e->start_done)
        pthread_cond_wait(&e->start_cv, &e->start_mu);
    int rc = e->start_rc;
    pthread_mutex_unlock(&e->start_mu);
    return rc;
}

int ferry_engine_start(void *region_mem, uint32_t capacity, int64_t idle_spin_ns, const char *plugin_path,
                       const char *init_symbol, const char *init_arg, ferry_wake_fn wake, ferry_engine **out,
                       char *err, size_t errlen)
{
    if (out)
        *out = NULL;
    uint64_t size = ferry_region_size(capacity);
    if (!region_mem || !out || size == 0 || ((uintptr_t)region_mem % FERRY_BLOCK) != 0 || idle_spin_ns < 0) {
        ferry__copy_msg(err, errlen, "invalid argument: region must be 128-byte aligned, capacity a power of "
                                     "two in 1..2^24, idle_spin_ns >= 0");
        return FERRY_E_INVALID;
    }
    ferry_engine *e = ferry__engine_new(region_mem, capacity, idle_spin_ns, plugin_path, init_symbol, init_arg, wake);
    if (!e) {
        ferry__copy_msg(err, errlen, "out of memory");
        return FERRY_E_NOMEM;
    }
    ferry__region_init(region_mem, capacity, size);
    int prc = pthread_create(&e->thread, NULL, ferry__main, e);
    if (prc != 0) {
        snprintf(err, errlen, "cannot start the engine thread: %s", strerror(prc));
        ferry_engine_destroy(e);
        return FERRY_E_THREAD;
    }
    int rc = ferry__await_init(e);
    if (rc != 0) {
        ferry__copy_msg(err, errlen, e->start_msg);
        pthread_join(e->thread, NULL);
        atomic_store(&e->joined, 1);
        ferry_engine_destroy(e);
        return rc; /* negative: Ferry's own FERRY_E_*; positive: the init function's own code */
    }
    *out = e;
    return 0;
}

uint64_t ferry_engine_stop(ferry_engine *e)
{
    if (!e)
        return 0;
    uint64_t old = atomic_fetch_or_explicit(&e->region->tail.tail, FERRY_TAIL_CLOSED, memory_order_seq_cst);
    uint64_t closed_at = old & ~FERRY_TAIL_CLOSED;
    if (!(old & FERRY_TAIL_CLOSED)) {
        /* Only the first stopper gets here. seq_cst: see ferry__sleep. */
        ferry__store_seq_cst(&e->closed_at, closed_at);
    } else {
        /* Another stopper won; it stores closed_at right after its fetch_or. Wait those nanoseconds:
         * our own old value may include claims that were rejected after the stop point. */
        uint64_t c;
        while ((c = ferry__load_seq_cst(&e->closed_at)) == FERRY__NOT_CLOSED)
            ferry__cpu_relax();
        closed_at = c;
    }
    ferry_engine_wake(e);
    return closed_at;
}

int ferry_engine_join(ferry_engine *e, int64_t timeout_ns)
{
    if (!e)
        return FERRY_E_INVALID;
    if (atomic_load(&e->joined))
        return 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ns = ts.tv_nsec + (timeout_ns < 0 ? 0 : timeout_ns % 1000000000);
    ts.tv_sec += (timeout_ns < 0 ? 0 : timeout_ns / 1000000000) + ns / 1000000000;
    ts.tv_nsec = ns % 1000000000;
    int rc = pthread_timedjoin_np(e->thread, NULL, &ts);
    if (rc == ETIMEDOUT || rc == EBUSY)
        return FERRY_E_TIMEDOUT;
    if (rc != 0)
        return FERRY_E_INVALID;
    atomic_store(&e->joined, 1);
    return 0;
}

void ferry_engine_destroy(ferry_engine *e)
{
    if (!e)
        return;
    ferry__registry_free(&e->reg);
    if (e->plugin)
        dlclose(e->plugin);
    free(e->plugin_path);
    free(e->init_symbol);
    free(e->init_arg);
    pthread_mutex_destroy(&e->start_mu);
    pthread_cond_destroy(&e->start_cv);
    free(e);
}

int ferry_engine_set_idle(ferry_engine *e, int64_t spin_ns, int64_t yield_after_ns, int64_t preempted_ns,
                          int64_t step_aside_ns)
{
    if (!e || spin_ns < 0 || yield_after_ns < 0 || preempted_ns < 0 || step_aside_ns < 0)
        return FERRY_E_INVALID;
    ferry__store_relaxed(&e->idle_yield_after_ns, yield_after_ns);
    ferry__store_relaxed(&e->idle_preempted_ns, preempted_ns);
    ferry__store_relaxed(&e->idle_step_aside_ns, step_aside_ns);
    ferry__store_relaxed(&e->idle_spin_ns, spin_ns);
    return 0;
}

int ferry_engine_set_nice(ferry_engine *e, int nice, char *err, size_t errlen)
{
    if (!e || nice < -20 || nice > 19) {
        if (err && errlen)
            snprintf(err, errlen, e ? "invalid argument: nice %d must be in -20..19" : "invalid argument: no engine",
                     nice);
        return FERRY_E_INVALID;
    }
    if (atomic_load(&e->joined)) {
        if (err && errlen)
            snprintf(err, errlen, "the engine thread has stopped");
        return FERRY_E_CLOSED;
    }
    /* On Linux, PRIO_PROCESS with a thread id sets that one thread's nice value. */
    if (setpriority(PRIO_PROCESS, (id_t)e->tid, nice) != 0) {
        int errnum = errno;
        if (err && errlen) {
            /* RLIMIT_NICE n lets an unprivileged thread lower its nice value down to 20 - n. */
            struct rlimit lim;
            long floor = getrlimit(RLIMIT_NICE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY
                             ? 20 - (long)lim.rlim_cur : -20;
            char limit[64];
            if (floor >= 20)
                snprintf(limit, sizeof limit, "this process's is 0");
            else
                snprintf(limit, sizeof limit, "this process's allows down to %ld", floor);
            snprintf(err, errlen,
                     "cannot set the engine thread's nice value to %d: %s (a nice value below the current one "
                     "needs CAP_SYS_NICE, or an RLIMIT_NICE (ulimit -e) that allows it: %s)",
                     nice, strerror(errnum), limit);
        }
        return errnum == EPERM || errnum == EACCES ? FERRY_E_PERMISSION : FERRY_E_INVALID;
    }
    return 0;
}

int ferry_engine_get_nice(ferry_engine *e, int *nice)
{
    if (!e || !nice)
        return FERRY_E_INVALID;
    if (atomic_load(&e->joined))
        return FERRY_E_CLOSED;
    errno = 0;
    int v = getpriority(PRIO_PROCESS, (id_t)e->tid); /* -1 is a valid value: errno tells */
    if (errno != 0)
        return FERRY_E_CLOSED;
    *nice = v;
    return 0;
}

int64_t ferry_engine_cpu_ns(ferry_engine *e)
{
    if (!e || !e->cpu_clock_ok || atomic_load(&e->joined))
        return -1;
    struct timespec ts;
    if (clock_gettime(e->cpu_clock, &ts) != 0)
        return -1;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
