/*
 * ferry_cancel.c: cancelling the call the engine is running (ferry_engine_cancel), from any thread,
 * through the engine's cancel hooks and a per-call cancel window.
 */
#include "ferry_internal.h"

#include <sched.h>

/* Opens seq's cancel window: from here until ferry__cancel_window_close, ferry_engine_cancel(seq)
 * runs the cancel hooks. Release, and before ferry__start_gone's seq_cst store of stats.started: a
 * canceller that read started > seq sees this store (or the close after it), and one that reads seq + 1
 * here sees everything the engine did before the call (a hook may read engine state published before). */
void ferry__cancel_window_open(ferry_engine *e, uint64_t seq)
{
    ferry__store_release(&e->cancel_running, seq + 1);
}

/* Closes the cancel window and waits until no canceller can still run a hook for it. The engine's half
 * of a Dekker pair: seq_cst store of cancel_running = 0, then seq_cst load of cancellers; a canceller
 * (ferry_engine_cancel) makes a seq_cst increment of cancellers, then a seq_cst load of cancel_running.
 * Either the canceller's load sees 0 (no hook runs), or our load sees its increment and we wait for its
 * release decrement, which comes after its hooks: no hook runs once the next call has started. */
void ferry__cancel_window_close(ferry_engine *e)
{
    ferry__store_seq_cst(&e->cancel_running, 0);
    uint32_t spins = 0;
    while (ferry__load_seq_cst(&e->cancellers) != 0) {
        /* A canceller preempted inside its window: let it run rather than spin through its slice. */
        if (++spins < 64)
            ferry__cpu_relax();
        else
            sched_yield();
    }
}

int ferry_engine_cancel(ferry_engine *e, uint64_t seq)
{
    /* cancel_hooked and the hooks are fixed before the start handshake released the starter. */
    if (!e || !e->cancel_hooked)
        return 0;
    /* Our half of ferry__cancel_window_close's Dekker pair: announce, then look. */
    atomic_fetch_add_explicit(&e->cancellers, 1, memory_order_seq_cst);
    /* seq + 1 == 0 would match the window between calls; no call ever has seq 2^64 - 1. */
    bool running = seq + 1 != 0 && ferry__load_seq_cst(&e->cancel_running) == seq + 1;
    if (running) {
        for (int32_t i = 0; i < e->reg.on_cancel_count; i++)
            e->reg.on_cancel[i].fn(e->reg.on_cancel[i].data);
    }
    /* Release: the hooks' effects happen before the engine's seq_cst load that sees the retreat. */
    atomic_fetch_sub_explicit(&e->cancellers, 1, memory_order_release);
    return running ? 1 : 0;
}
