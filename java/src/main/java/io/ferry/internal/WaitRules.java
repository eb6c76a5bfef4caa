package io.ferry.internal;

import io.ferry.WaitPolicy;

/**
 * A {@link WaitPolicy} as the numbers and decisions the waiting loops use: {@link CallWait} (a caller
 * waiting for its result), {@link BackPressure} (a producer waiting for its slot) and the engine's idle
 * spin (ferry_idle.c, sent once at start with {@code ferry_engine_set_idle}). Every spin, yield and park
 * constant of Ferry's waits is here, with what it rests on. Built once per engine; the loops read its
 * final fields, so the policy costs no dispatch on the call path.
 */
public final class WaitRules {
    /**
     * A spinning platform caller yields its CPU between polls after this long, so that more spinners than
     * cores still make progress (8 producers on 2 vCPUs: {@code ferry_p8} 0.96x {@code ferry_p1}, 2026-11-21).
     */
    static final long YIELD_AFTER_NS = 5_000;
    /**
     * Adaptive: a caller whose call the engine has not started after this long (plus what the calls
     * ahead take) parks. An awake engine starts a call within a cache-line hand-off, 100 to 400 ns
     * (java_floor, 80 to 622 ns over the 2026-11-21 run): 5 µs is ten times the slowest floor, so the
     * check only fires when the engine is off its core or asleep.
     */
    static final long PICKUP_NS = 5_000;
    /**
     * Adaptive: a poll window (64 polls, ~1 to 3 µs of PAUSEs on the EPYC VMs) that took this long means
     * the waiter was descheduled: the machine has no spare core, so the waiter parks (or the engine
     * sleeps) instead of spinning on, and the thread it waits for gets the core.
     */
    static final long PREEMPTED_NS = 20_000;
    /**
     * Adaptive: an idle engine yields its core between polls once idle this long. With a ping-pong caller
     * an idle spell lasts one caller turnaround (~100 ns), so only spells that already lost the race for
     * a spin-fast call pay the yield's syscall; a woken caller waiting for the engine's core gets it.
     */
    static final long ENGINE_YIELD_AFTER_NS = 5_000;
    /**
     * A producer queued for a slot re-checks it this often: a bound, should a wake be lost all the same,
     * not a wait anyone pays (every free of a slot wakes its waiter, BackPressure's class comment). The
     * test-only system property {@code ferry.test.backPressurePollNs}, read when an engine starts,
     * replaces it (BackPressureTest sets an hour, to show that no waiter depends on the poll).
     */
    static final long BACKPRESSURE_POLL_NS = 1_000_000;
    /**
     * Adaptive: once a waiter saw that the machine has no spare core (a preempted spin, or a call the
     * engine did not pick up), it steps aside for this long: callers park after one poll window and the
     * engine sleeps as soon as it is idle, as an executor's threads do. Spinning under contention costs
     * more than the spin: on Linux's EEVDF scheduler a thread that used more than its share waits for
     * its turn (a time slice, ms), while one that slept is run soon after its wake-up; ContentionBenchmark
     * showed ferry's p99 in ms while it spun, the executor's at ~40 µs (2026-12-04). 20 ms: a probe of
     * spinning 50 times a second costs little when the contention lasts, and spinning comes back soon
     * after it ends.
     */
    static final long STEP_ASIDE_NS = 20_000_000;
    /**
     * What a call is reckoned to take the engine until stats.call_ns is measured (a trivial op, the test ops'
     * add: ~100 ns).
     */
    static final long MIN_CALL_NS = 100;
    /**
     * A virtual thread spins at most this long, then parks, where a platform thread starts yielding its
     * CPU ({@link #YIELD_AFTER_NS}): a virtual thread's yield hands its carrier to other virtual threads,
     * not the core to the engine, and each yield or park copies its stack into a StackChunk (kilobytes;
     * CallTest's allocation check of a spinning virtual thread failed once its yield loop ran to the
     * policy's budget, 2026-12-04).
     */
    static final long VIRTUAL_SPIN_NS = YIELD_AFTER_NS;
    /**
     * A virtual thread parks at once if its own call is expected to take this long (stats.call_ns): by
     * then a park and a wake-up (~5 to 45 µs) cost less than yielding its carrier over and over.
     */
    static final long VIRTUAL_PARK_CALL_NS = 50_000;

    final long callerSpinNs;
    final boolean adaptive;
    final long engineIdleSpinNs;
    final long engineYieldAfterNs;
    final long enginePreemptedNs;
    final long stepAsideNs;
    final long backPressurePollNs;

    private WaitRules(long callerSpinNs, boolean adaptive, long engineIdleSpinNs, long backPressurePollNs) {
        this.callerSpinNs = callerSpinNs;
        this.adaptive = adaptive;
        this.engineIdleSpinNs = engineIdleSpinNs;
        this.engineYieldAfterNs = adaptive ? ENGINE_YIELD_AFTER_NS : 0;
        this.enginePreemptedNs = adaptive ? PREEMPTED_NS : 0;
        this.stepAsideNs = adaptive ? STEP_ASIDE_NS : 0;
        this.backPressurePollNs = backPressurePollNs;
    }

    /**
     * The rules of a policy.
     *
     * @param policy the engine's wait policy
     * @return its rules
     */
    public static WaitRules of(WaitPolicy policy) {
        boolean adaptive = policy instanceof WaitPolicy.Adaptive;
        return new WaitRules(policy.callerSpin().toNanos(), adaptive, policy.engineIdleSpin().toNanos(),
                Long.getLong("ferry.test.backPressurePollNs", BACKPRESSURE_POLL_NS));
    }

    /**
     * How long a caller may wait for the engine to start its call before it parks: PICKUP_NS plus what
     * the calls ahead take; -1 (never) unless adaptive.
     */
    long pickupNs(long ahead, long callNs) {
        return adaptive ? PICKUP_NS + Math.max(ahead, 0) * Math.max(callNs, MIN_CALL_NS) : -1;
    }

    /**
     * A caller's spin budget: the policy's, or none (one poll window, then park) while the callers of
     * this engine step aside (until {@code steppingAsideUntil}, a System.nanoTime; 0: not stepping aside).
     */
    long callerBudgetNs(long steppingAsideUntil, long now) {
        return steppingAsideUntil != 0 && now - steppingAsideUntil < 0 ? 0 : callerSpinNs;
    }

    /** Whether a poll window of {@code windowNs} shows the waiter was descheduled (adaptive only). */
    boolean preempted(long windowNs) {
        return adaptive && windowNs >= PREEMPTED_NS;
    }

    /**
     * Whether a virtual thread parks at once instead of spinning: when calls are queued ahead of its
     * own ({@code ahead}, the calls between the engine's stats.started and its sequence), or when its
     * own call is expected to take longer than {@link #VIRTUAL_PARK_CALL_NS} (stats.call_ns, 0 until
     * measured). A spinning or yielding carrier keeps a core from the engine the call waits for, and the
     * calls ahead take the engine at least a hand-off each; a parked virtual thread frees its carrier for
     * the other virtual threads, which then submit their calls, and an idle carrier frees the core.
     * ThroughputBenchmark.producers64, 2026-12-04, 2 vCPUs shared with other jobs, same-run pairs: at a
     * load average of 1.6 to 2.2, 1.2 to 2.5 M calls/s (median 2.0 M, five runs) against 0.5 to 1.6 M
     * (median 0.9 M) with the rule before (a virtual thread spun and yielded for what the calls ahead
     * were expected to take); at 5 to 6, 0.65 to 0.73 M against 0.15 to 0.16 M, and 0.27 M with the
     * platform rule alone. Still 0.3x one platform producer (7.3 to 7.8 M) at best: each parked call
     * costs the engine a wake upcall.
     */
    static boolean virtualParksAtOnce(long ahead, long callNs) {
        return ahead > 0 || callNs > VIRTUAL_PARK_CALL_NS;
    }

    /** A virtual thread's spin budget: the platform caller's, at most {@link #VIRTUAL_SPIN_NS}. */
    static long virtualBudgetNs(long budgetNs) {
        return Math.min(budgetNs, VIRTUAL_SPIN_NS);
    }
}
