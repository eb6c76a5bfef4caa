/* The engine thread's counting (ferry_counters.c, ferry.h "Engine counters"): the few calls the consumer
 * step and the loop make, inline so that an engine without a counters block pays a load and a branch.
 * Engine thread only: every counter has this one writer, so a bump is a relaxed load and store, no RMW. */
#ifndef FERRY_COUNTERS_H
#define FERRY_COUNTERS_H

#include "ferry_internal.h"

#define ferry__bump(p, v) ferry__store_relaxed((p), ferry__load_relaxed(p) + (v))

/* Pairs with the release store in ferry_engine_attach_counters: the block's header is visible. */
static inline ferry_counters *ferry__counters(ferry_engine *e)
{
    return atomic_load_explicit(&e->counters, memory_order_acquire);
}

/* Before a call runs: its start time if it is to be timed (a tracked op, or TIME_ALL), else 0. */
static inline int64_t ferry__counters_begin(ferry_engine *e, int32_t op)
{
    ferry_counters *k = ferry__counters(e);
    if (!k)
        return 0;
    if ((ferry__load_relaxed(&k->control) & FERRY_COUNTERS_TIME_ALL) ||
        (op >= 0 && (uint32_t)op < k->op_count && ferry__load_relaxed(&k->ops[op].track)))
        return ferry__now_ns();
    return 0;
}

/* After a call ran (t0 from ferry__counters_begin; err the call's error, 0 if it succeeded). */
static inline void ferry__counters_end(ferry_engine *e, int32_t op, int64_t t0, int err)
{
    ferry_counters *k = ferry__counters(e);
    if (!k)
        return;
    ferry_op_counters *oc = op >= 0 && (uint32_t)op < k->op_count ? &k->ops[op] : NULL;
    if (oc)
        ferry__bump(&oc->calls, 1);
    else
        ferry__bump(&k->other, 1);
    if (err != 0) {
        ferry__bump(&k->failed, 1);
        if (oc)
            ferry__bump(&oc->failed, 1);
    }
    if (t0 != 0) {
        int64_t d = ferry__now_ns() - t0;
        uint64_t ns = d > 0 ? (uint64_t)d : 0;
        ferry__bump(&k->timed_calls, 1);
        ferry__bump(&k->timed_ns, ns);
        ferry__bump(&k->hist[ferry_hist_index(ns)], 1);
        if (oc) {
            ferry__bump(&oc->timed_calls, 1);
            ferry__bump(&oc->timed_ns, ns);
        }
    }
}

/* A slot the engine did not run: an abort record, or a call given up before it started. */
static inline void ferry__counters_skip(ferry_engine *e, bool aborted)
{
    ferry_counters *k = ferry__counters(e);
    if (k)
        ferry__bump(aborted ? &k->aborted : &k->skipped, 1);
}

/* The engine is about to sleep on its futex. */
static inline void ferry__counters_sleep(ferry_engine *e)
{
    ferry_counters *k = ferry__counters(e);
    if (k)
        ferry__bump(&k->sleeps, 1);
}

/* ferry__drain, and the engine's busy time sampled on one drain run in 64 (ferry_counters.c). */
uint64_t ferry__counters_drain(ferry_engine *e, uint64_t head);

#endif /* FERRY_COUNTERS_H */
