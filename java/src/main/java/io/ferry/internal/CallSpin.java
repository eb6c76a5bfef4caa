package io.ferry.internal;

import java.lang.foreign.MemorySegment;

import java.util.concurrent.TimeoutException;

/**
 * A published call's spin on its completion cell, before {@link CallWait} parks it: how long a caller polls, when
 * it yields, and when it stops early, as the engine's {@link WaitRules} say. One rule for platform and
 * virtual threads, with one difference for a virtual thread ({@link WaitRules#virtualParksAtOnce}): it
 * parks at once when calls are queued ahead of its own, or when its own call is long, since its carrier
 * is one of a few that the engine thread competes with for the cores.
 */
final class CallSpin {
    private final CallWait wait;
    private final Ring ring;
    private final WaitRules rules;
    /**
     * Until when (System.nanoTime) this engine's callers step aside ({@link WaitRules#STEP_ASIDE_NS}); 0
     * if they do not. Plain: written only when a caller sees contention, read once per spin, and a stale
     * read costs one spin more or less.
     */
    private long steppingAsideUntil;

    CallSpin(CallWait wait, Ring ring, WaitRules rules) {
        this.wait = wait;
        this.ring = ring;
        this.rules = rules;
    }

    /**
     * Spins on the slot as the engine's {@link WaitRules} say. Returns true once DONE, false when the
     * caller should park. Gives the call up at the deadline.
     *
     * <ul>
     *   <li>An interrupted caller never spins: it parks, and parking gives the call up.
     *   <li>A virtual thread parks at once if calls are queued ahead of its own (stats.started, a hint)
     *       or if its own call is expected to outlast a park and a wake-up (stats.call_ns): its carrier
     *       then runs other virtual threads, or goes idle and leaves the core to the engine thread.
     *   <li>Otherwise the caller spins, polls between yields once it spun {@link WaitRules#YIELD_AFTER_NS},
     *       and parks at the end of the policy's budget (a virtual thread parks where a platform thread
     *       starts yielding, {@link WaitRules#VIRTUAL_SPIN_NS}), or early (adaptive policy only) if the
     *       engine has not picked its call up in time or the spin was descheduled. Either of those makes
     *       every caller of this engine step aside (park after one poll window) for
     *       {@link WaitRules#STEP_ASIDE_NS}.
     * </ul>
     */
    boolean spin(Cell cell, long seq, long deadline, SlotWaiter w) throws TimeoutException {
        if (Ring.isCellDoneAcquire(cell.line, seq)) {
            return true;
        }
        Thread self = Thread.currentThread();
        if (self.isInterrupted()) {
            return false;
        }
        long ahead = seq - ring.startedOpaque(); // started = last started seq + 1
        long callNs = ring.callNsOpaque();
        boolean virtual = self.isVirtual();
        if (virtual && WaitRules.virtualParksAtOnce(ahead, callNs)) {
            return false;
        }
        long pickup = rules.pickupNs(ahead, callNs);
        long aside = steppingAsideUntil;
        long budget = aside == 0 ? rules.callerSpinNs : rules.callerBudgetNs(aside, System.nanoTime());
        return spinThenYield(cell, seq, deadline, virtual ? WaitRules.virtualBudgetNs(budget) : budget, pickup, w);
    }

    /**
     * Whether the threads this caller competes with include the engine's other callers: calls are queued
     * ahead of seq, or were claimed after it. Then the engine has work, a parked caller would cost it a
     * wake-up per call, and the core this caller yields goes to the engine or another caller: it spins on
     * (yielding) instead of stepping aside. A lone caller under another program's load steps aside as
     * before. Read only on the rare preemption or late-pickup sign (the tail's line is the producers').
     * ThroughputBenchmark, 2026-12-04, 2 vCPUs, same JVM build with the rule on and off (bench/RESULTS.md):
     * producers8 / producers1 0.58x and 0.56x against 0.22x and 0.22x on a quiet machine; with two busy
     * processes producers8 1.25 M and 0.34 M calls/s against 0.63 M and 0.20 M, producers1 unchanged.
     */
    private boolean ownLoad(long seq) {
        long tail = ring.tailVolatile() & Long.MAX_VALUE;
        return tail > seq + 1 || ring.startedOpaque() < seq;
    }

    /**
     * Spins, then polls between yields once it spun {@link WaitRules#YIELD_AFTER_NS}, for {@code budgetNs}.
     * Stops early (false: park) if the engine has not started the call after {@code pickupNs} (-1: no
     * such check), or if a poll window shows this thread was descheduled ({@link WaitRules#preempted}).
     */
    private boolean spinThenYield(Cell cell, long seq, long deadline, long budgetNs, long pickupNs, SlotWaiter w)
            throws TimeoutException {
        MemorySegment line = cell.line;
        // The clock is first read after 64 polls: most calls are done by then, and a clock read costs
        // ~20 ns here (a tenth of a spinning round trip in a profile).
        long start = 0;
        long last = 0;
        for (int i = 1; ; i++) {
            if (Ring.isCellDoneAcquire(line, seq)) {
                return true;
            }
            if ((i & 63) == 0) {
                long now = System.nanoTime();
                if (start == 0) {
                    start = last = now;
                }
                if (now >= deadline) {
                    wait.giveUpAtDeadline(cell, seq, w);
                    return true; // returns only if the call was DONE
                }
                long spun = now - start;
                // Interrupted meanwhile: never spin on (LOWEST_LATENCY's budget is 10 ms); parking gives it up.
                if (spun >= budgetNs || Thread.currentThread().isInterrupted()) {
                    return Ring.isCellDoneAcquire(line, seq);
                }
                if ((rules.preempted(now - last) || (pickupNs >= 0 && spun >= pickupNs && ring.startedOpaque() <= seq))
                        && !ownLoad(seq)) {
                    steppingAsideUntil = now + rules.stepAsideNs; // no spare core: spinning does not pay
                    return Ring.isCellDoneAcquire(line, seq);
                }
                last = now;
                wait.checkNotCancelledByClose(cell, seq);
                if (spun >= WaitRules.YIELD_AFTER_NS) {
                    Thread.yield();
                    last = System.nanoTime(); // a yield that ran others is not a preemption of the spin
                    continue;
                }
            }
            Thread.onSpinWait();
        }
    }
}
