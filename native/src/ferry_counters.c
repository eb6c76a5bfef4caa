/*
 * ferry_counters.c: the engine's counters block (ferry.h, "Engine counters"): its size, its attachment,
 * and the sampling of the engine's busy time. What the engine counts per call is in ferry_counters.h.
 */
#include "ferry_counters.h"

#include <stddef.h>
#include <time.h>

static int64_t ferry__counters_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

_Static_assert(offsetof(ferry_counters, failed) == FERRY_BLOCK, "counters: line 1 starts at 128");
_Static_assert(offsetof(ferry_counters, hist) == 2 * FERRY_BLOCK, "counters: hist starts at 256");
_Static_assert(offsetof(ferry_counters, ops) == 2 * FERRY_BLOCK + FERRY_HIST_BUCKETS * 8, "counters: ops follow hist");
_Static_assert(sizeof(ferry_op_counters) == 64, "counters: an op's entry is 64 bytes");

uint64_t ferry_counters_size(uint32_t op_count)
{
    return sizeof(ferry_counters) + (uint64_t)op_count * sizeof(ferry_op_counters);
}

int32_t ferry_engine_op_count(ferry_engine *e)
{
    return e ? e->reg.count : FERRY_E_INVALID;
}

int ferry_engine_attach_counters(ferry_engine *e, ferry_counters *block, uint64_t size)
{
    if (!e || !block || ((uintptr_t)block % FERRY_BLOCK) != 0 || size != ferry_counters_size((uint32_t)e->reg.count))
        return FERRY_E_INVALID;
    block->magic = FERRY_COUNTERS_MAGIC;
    block->op_count = (uint32_t)e->reg.count;
    ferry_counters *none = NULL;
    /* Release: the header above is visible to the engine's acquire load (ferry__counters). */
    if (!atomic_compare_exchange_strong_explicit(&e->counters, &none, block, memory_order_release,
                                                 memory_order_relaxed))
        return FERRY_E_INVALID;
    return 0;
}

/* One drain run in 64 is timed, by the wall clock and the thread's CPU clock (a system call: ~0.2 us, so
 * only on samples): the clocks are read before each drain while a sample is due (idle polls included,
 * which only costs the idle engine), and again when the drain ran calls. */
uint64_t ferry__counters_drain(ferry_engine *e, uint64_t head)
{
    ferry_counters *k = ferry__counters(e);
    if (!k)
        return ferry__drain(e, head);
    uint64_t runs = ferry__load_relaxed(&k->runs);
    bool sample = (runs & 63) == 0;
    int64_t t0 = sample ? ferry__now_ns() : 0;
    int64_t c0 = sample ? ferry__counters_cpu_ns() : 0;
    uint64_t next = ferry__drain(e, head);
    if (next != head) {
        ferry__store_relaxed(&k->runs, runs + 1);
        if (sample) {
            int64_t d = ferry__now_ns() - t0;
            int64_t c = ferry__counters_cpu_ns() - c0;
            ferry__bump(&k->sampled_runs, 1);
            ferry__bump(&k->sampled_ns, d > 0 ? (uint64_t)d : 0);
            ferry__bump(&k->sampled_cpu_ns, c > 0 ? (uint64_t)c : 0);
        }
    }
    return next;
}
