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

/* What one read of the thread's CPU clock adds to a CPU interval that it bounds (~370 ns in a VM, where
 * a sampled run of one call takes a few us): the least of a few back-to-back deltas, measured once per
 * process on the first engine's thread (a benign race: any engine measures the same). */
static _Atomic int64_t ferry__cpu_read_ns = -1;

static int64_t ferry__counters_cpu_overhead(void)
{
    int64_t o = atomic_load_explicit(&ferry__cpu_read_ns, memory_order_relaxed);
    if (o >= 0)
        return o;
    o = INT64_MAX;
    for (int i = 0; i < 5; i++) {
        int64_t a = ferry__counters_cpu_ns(), b = ferry__counters_cpu_ns();
        if (b - a < o)
            o = b - a;
    }
    o = o < 0 ? 0 : o;
    atomic_store_explicit(&ferry__cpu_read_ns, o, memory_order_relaxed);
    return o;
}

_Static_assert(offsetof(ferry_counters, failed) == FERRY_BLOCK, "counters: line 1 starts at 128");
_Static_assert(offsetof(ferry_counters, hist) == 2 * FERRY_BLOCK, "counters: hist starts at 256");
_Static_assert(offsetof(ferry_counters, ops) == 2 * FERRY_BLOCK + FERRY_HIST_BUCKETS * 8, "counters: ops follow hist");
_Static_assert(sizeof(ferry_op_counters) == 64, "counters: an op's entry is 64 bytes");

#define FERRY__CFIELD(type, field) { #field, (uint32_t)offsetof(type, field), (uint32_t)sizeof(((type *)0)->field) }

static const ferry_layout_entry ferry__counters_layout[] = {
    FERRY__CFIELD(ferry_counters, magic),
    FERRY__CFIELD(ferry_counters, op_count),
    FERRY__CFIELD(ferry_counters, control),
    FERRY__CFIELD(ferry_counters, failed),
    FERRY__CFIELD(ferry_counters, skipped),
    FERRY__CFIELD(ferry_counters, aborted),
    FERRY__CFIELD(ferry_counters, sleeps),
    FERRY__CFIELD(ferry_counters, runs),
    FERRY__CFIELD(ferry_counters, sampled_runs),
    FERRY__CFIELD(ferry_counters, sampled_ns),
    FERRY__CFIELD(ferry_counters, timed_calls),
    FERRY__CFIELD(ferry_counters, timed_ns),
    FERRY__CFIELD(ferry_counters, other),
    FERRY__CFIELD(ferry_counters, sampled_cpu_ns),
    FERRY__CFIELD(ferry_counters, sampled_calls),
    FERRY__CFIELD(ferry_counters, hist),
    { "ops", (uint32_t)offsetof(ferry_counters, ops), (uint32_t)sizeof(ferry_op_counters) },
    { "op.calls", (uint32_t)offsetof(ferry_op_counters, calls), 8 },
    { "op.failed", (uint32_t)offsetof(ferry_op_counters, failed), 8 },
    { "op.timed_calls", (uint32_t)offsetof(ferry_op_counters, timed_calls), 8 },
    { "op.timed_ns", (uint32_t)offsetof(ferry_op_counters, timed_ns), 8 },
    { "op.track", (uint32_t)offsetof(ferry_op_counters, track), 8 },
    { "const.magic_low", (uint32_t)(FERRY_COUNTERS_MAGIC & 0xffffffffu), 0 },
    { "const.magic_high", (uint32_t)(FERRY_COUNTERS_MAGIC >> 32), 0 },
    { "const.time_all", FERRY_COUNTERS_TIME_ALL, 0 },
    { "const.hist_buckets", FERRY_HIST_BUCKETS, 0 },
};

int32_t ferry_counters_layout(const ferry_layout_entry **entries)
{
    if (entries)
        *entries = ferry__counters_layout;
    return (int32_t)(sizeof(ferry__counters_layout) / sizeof(ferry__counters_layout[0]));
}

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

/* One drain run in 64 is timed, by the wall clock and the thread's CPU clock (a system call: ~0.5 us, so
 * only on samples), with the slots it took: the host estimates the busy time per slot, not per run (a
 * run's length varies with how many calls queued up before it). The clocks are read only once the slot
 * at head is ready: read before every idle poll while a sample was due, they slowed the polls, calls
 * queued up meanwhile, and the sampled runs came out 2.5 times the mean (the demo's busy time read 7 s
 * in 3). */
uint64_t ferry__counters_drain(ferry_engine *e, uint64_t head)
{
    ferry_counters *k = ferry__counters(e);
    if (!k)
        return ferry__drain(e, head);
    uint64_t runs = ferry__load_relaxed(&k->runs);
    bool sample = (runs & 63) == 0 &&
                  ferry__ready(head, ferry__load_acquire(&e->region->slots[head & e->mask].state));
    /* The CPU clock (a system call) outside the wall clock's interval, which it would inflate by ~0.5 us:
     * a run of one parked call takes a few us. */
    int64_t c0 = sample ? ferry__counters_cpu_ns() : 0;
    int64_t t0 = sample ? ferry__now_ns() : 0;
    uint64_t next = ferry__drain(e, head);
    if (next != head) {
        ferry__store_relaxed(&k->runs, runs + 1);
        if (sample) {
            int64_t d = ferry__now_ns() - t0;
            int64_t c = ferry__counters_cpu_ns() - c0 - ferry__counters_cpu_overhead();
            ferry__bump(&k->sampled_runs, 1);
            ferry__bump(&k->sampled_ns, d > 0 ? (uint64_t)d : 0);
            ferry__bump(&k->sampled_cpu_ns, c > 0 ? (uint64_t)c : 0);
            ferry__bump(&k->sampled_calls, next - head);
        }
    }
    return next;
}
