/*
 * ferry_idle.c: what the engine does when it finds no call: spin for its budget, run the on-idle hooks
 * once per idle spell, then announce that it sleeps and sleep on a futex until a producer or a stopper
 * wakes it (io_uring's NEED_WAKEUP protocol).
 */
#include "ferry_internal.h"
#include "ferry_counters.h" /* counters */

#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

static long ferry__futex(_Atomic uint32_t *addr, int op, uint32_t val)
{
    return syscall(SYS_futex, (uint32_t *)addr, op, val, NULL, NULL, 0);
}

/* The second load of ferry__sleep's Dekker pair: seq_cst, as an acquire load is not ordered after the
 * seq_cst store of sleeping and could miss a stop whose exchange of sleeping found us not yet asleep. */
static bool ferry__finished(ferry_engine *e, uint64_t head)
{
    uint64_t closed = ferry__load_seq_cst(&e->closed_at);
    return closed != FERRY__NOT_CLOSED && head >= closed;
}

bool ferry__sleep_announce(ferry_engine *e, uint64_t head)
{
    /* Dekker pair: our seq_cst store of sleeping, then seq_cst loads of the slot and closed_at;
     * the producer's volatile publish, then volatile load of sleeping (ferry_engine_stop: seq_cst
     * store of closed_at, then exchange of sleeping). At least one side sees the other, so either
     * we see the work or the producer sees us asleep and wakes us. Nothing weaker than seq_cst
     * orders a store before a later load. */
    ferry__store_seq_cst(&e->region->engine.sleeping, 1u);
    uint64_t st = ferry__load_seq_cst(&e->region->slots[head & e->mask].state);
    return !ferry__ready(head, st) && !ferry__finished(e, head);
}

/* Announce sleep, re-check, sleep: io_uring's NEED_WAKEUP protocol. */
static void ferry__sleep(ferry_engine *e, uint64_t head)
{
    ferry_engine_block *eb = &e->region->engine;
    if (ferry__sleep_announce(e, head)) {
        ferry__counters_sleep(e); /* counters */
        while (ferry__load_seq_cst(&eb->sleeping) == 1u)
            ferry__futex(&eb->sleeping, FUTEX_WAIT_PRIVATE, 1u);
    }
    ferry__store_relaxed(&eb->sleeping, 0u);
}

void ferry_engine_wake(ferry_engine *e)
{
    if (!e)
        return;
    _Atomic uint32_t *sleeping = &e->region->engine.sleeping;
    /* The exchange makes exactly one waker pay for the syscall. */
    if (atomic_exchange_explicit(sleeping, 0u, memory_order_seq_cst) != 0u)
        ferry__futex(sleeping, FUTEX_WAKE_PRIVATE, 1u);
}

void ferry__idle_busy(ferry__idle *idle)
{
    idle->since = 0;
    idle->polls = 0;
    idle->hooked = false;
    idle->yielding = false;
}

/* Lets go of what the engine holds while calls keep coming, once per idle spell. */
static void ferry__idle_hook(ferry_engine *e, ferry__idle *idle)
{
    if (!idle->hooked)
        ferry__registry_run_on_idle(&e->reg);
    idle->hooked = true;
}

static void ferry__idle_sleep(ferry_engine *e, ferry__idle *idle, uint64_t head)
{
    ferry__idle_hook(e, idle);
    ferry__sleep(e, head);
    idle->since = 0;
    idle->polls = 0;
    idle->yielding = false;
}

/* Whether the spin should end now because other threads want this core: a poll window (or one yield)
 * that took preempted_ns or longer means the engine was off its core meanwhile. Spinning on a machine
 * with no spare core takes the time from the threads the engine serves (a caller it has just woken
 * waits for the core until the spin ends), so it sleeps instead, as an executor's worker would. */
static bool ferry__idle_preempted(ferry_engine *e, ferry__idle *idle, int64_t now)
{
    int64_t limit = ferry__load_relaxed(&e->idle_preempted_ns);
    bool preempted = limit > 0 && now - idle->last >= limit;
    idle->last = now;
    /* Producers claimed calls while the engine was off its core: the threads that ran were (at least
     * some of them) its own callers, whose calls are coming. Sleeping now would make each of them pay a
     * wake-up, and park. Spin on. */
    uint64_t tail = ferry__load_relaxed(&e->region->tail.tail);
    bool own = tail != idle->tail_mark;
    idle->tail_mark = tail;
    if (preempted && own)
        return false;
    if (preempted)
        e->idle_calm_until = now + ferry__load_relaxed(&e->idle_step_aside_ns);
    return preempted;
}

/* Past the yield point of the spell: a sched_yield between polls lets a thread that waits for this
 * core run; a yield that took preempted_ns or longer says one did. */
static bool ferry__idle_yield(ferry_engine *e, ferry__idle *idle)
{
    sched_yield();
    return ferry__idle_preempted(e, idle, ferry__now_ns());
}

/* The clock is read only every 64 polls, and first at the 64th, until the spell reaches its yield point:
 * in a busy ping-pong most idle spells end sooner, and a clock read costs ~20 ns in a VM (8% of the
 * engine's time in a profile when it was read at the start of every spell). */
void ferry__idle_poll(ferry_engine *e, ferry__idle *idle, uint64_t head)
{
    int64_t spin = ferry__load_relaxed(&e->idle_spin_ns);
    /* Stepping aside after a preemption: one clock read per idle spell, only while calm_until is set. */
    if (e->idle_calm_until != 0 && idle->polls == 0 && idle->since == 0) {
        if (ferry__now_ns() < e->idle_calm_until)
            spin = 0;
        else
            e->idle_calm_until = 0;
    }
    if (spin == 0) {
        ferry__idle_sleep(e, idle, head);
        return;
    }
    if (idle->yielding) {
        if (ferry__idle_yield(e, idle) || idle->last - idle->since >= spin)
            ferry__idle_sleep(e, idle, head);
        else if (idle->last - idle->since >= FERRY_IDLE_HOOK_NS)
            ferry__idle_hook(e, idle);
        return;
    }
    if ((++idle->polls & 63) == 0) {
        int64_t now = ferry__now_ns();
        int64_t yield_after = ferry__load_relaxed(&e->idle_yield_after_ns);
        if (idle->since == 0) {
            idle->since = idle->last = now;
            idle->tail_mark = ferry__load_relaxed(&e->region->tail.tail);
        } else if (ferry__idle_preempted(e, idle, now) || now - idle->since >= spin) {
            ferry__idle_sleep(e, idle, head);
            return;
        } else if (now - idle->since >= FERRY_IDLE_HOOK_NS) {
            ferry__idle_hook(e, idle);
        }
        idle->yielding = yield_after > 0 && now - idle->since >= yield_after;
    }
    ferry__cpu_relax();
}
