/*
 * ferry_test_exports.c: TEST-ONLY exports, for the Java jcstress suite (java/jcstress), so that the
 * C side of an ordering test is libferry's own code rather than a Java model of it. Nothing in Ferry
 * calls them; no host should.
 *
 * A test engine is an engine without a thread: Java allocates ferry_test_engine_size() bytes (any
 * alignment malloc would give; 16 is enough) and a region, and ferry_test_engine_init points the one at
 * the other. It has no ops and no contexts, so a call it steps fails with FERRY_E_CONTEXT; the slot
 * protocol around the op (start, GONE, DONE, wake) is the real one.
 */
#include "ferry_internal.h"

#include <string.h>

FERRY_API size_t ferry_test_engine_size(void)
{
    return sizeof(ferry_engine);
}

/* Makes mem a test engine on region (ferry_region_size(capacity) bytes, laid out by the caller: slot i
 * FREE(i), intake open). Plain stores: publish it to other threads with a release or a thread start. */
FERRY_API void ferry_test_engine_init(ferry_engine *mem, void *region, uint32_t capacity)
{
    memset(mem, 0, sizeof(*mem));
    mem->region = region;
    mem->capacity = capacity;
    mem->mask = capacity - 1;
    atomic_init(&mem->closed_at, FERRY__NOT_CLOSED);
    atomic_init(&mem->joined, 0);
    atomic_init(&mem->cancel_running, 0);
    atomic_init(&mem->cancellers, 0);
}

/* Gives a test engine the wake upcall the engine calls for a PARKED caller or a FREE_WAKE waiter
 * (a real engine gets it from ferry_engine_start). Before the engine is published to other threads. */
FERRY_API void ferry_test_engine_set_wake(ferry_engine *e, ferry_wake_fn wake)
{
    e->wake = wake;
}

/* One engine step: runs every call published in order from head (ferry__drain); returns the new head. */
FERRY_API uint64_t ferry_test_step(ferry_engine *e, uint64_t head)
{
    return ferry__drain(e, head);
}

/* The engine's half of the stop-versus-sleep handshake, as ferry__sleep runs it before it blocks:
 * returns 1 if the engine would now sleep, 0 if it saw a call at head or the stop. It never blocks:
 * the caller stands in for the futex wait. */
FERRY_API int ferry_test_sleep_announce(ferry_engine *e, uint64_t head)
{
    return ferry__sleep_announce(e, head) ? 1 : 0;
}

/* NEGATIVE CONTROL: ferry_test_sleep_announce with every access relaxed, so nothing orders the store
 * of sleeping before the loads of the slot and closed_at (on x86 the store waits in the store buffer
 * while the loads run). A stop may then find the engine not yet asleep while the engine finds no stop:
 * the lost stop that the seq_cst accesses of ferry__sleep_announce rule out. */
FERRY_API int ferry_test_sleep_announce_without_fence(ferry_engine *e, uint64_t head)
{
    ferry__store_relaxed(&e->region->engine.sleeping, 1u);
    uint64_t st = ferry__load_relaxed(&e->region->slots[head & e->mask].state);
    uint64_t closed = ferry__load_relaxed(&e->closed_at);
    bool finished = closed != FERRY__NOT_CLOSED && head >= closed;
    return !ferry__ready(head, st) && !finished ? 1 : 0;
}
