package io.ferry.internal;

import static io.ferry.internal.Layout.FLAG_PARKED;

import java.lang.foreign.MemorySegment;

/**
 * A thread that joins an async call waits on its cell as a sync caller does, instead of parking until
 * the engine's wake upcall and a completion task have run on two other threads. An async call is
 * published PARKED (its outcome belongs to the wake upcall); the joiner takes it over by clearing PARKED
 * with a CAS ({@link Ring#clearCellParkedUnlessDone}): the engine's DONE CAS then sees no PARKED and makes
 * no upcall, so the outcome is the joiner's. It spins for the engine's caller spin budget; if the call is
 * not DONE by then it hands the call back (sets PARKED again) and the future completes as usual. It stops
 * early, and hands back, once the call is given up (GONE: cancel, a timeout, close) or the future is
 * completed from outside, so that neither waits on a joiner that stopped caring.
 *
 * <p>Exactly one party owns a DONE call's outcome, decided on the cell's state word: the upcall if PARKED
 * was set when the engine made it DONE, otherwise the joiner that cleared it.
 */
final class JoinWait {
    private final Ring ring;
    private final WaitRules rules;
    private final long platformBudgetNs;
    private final long virtualBudgetNs;

    JoinWait(Ring ring, WaitRules rules) {
        this.ring = ring;
        this.rules = rules;
        this.platformBudgetNs = rules.callerSpinNs;
        this.virtualBudgetNs = Math.min(rules.callerSpinNs, WaitRules.VIRTUAL_SPIN_NS);
    }

    /**
     * Takes the call over, spins on its cell until DONE, and takes its outcome into the call. Returns
     * true if it did (the caller then completes the future), false if the call stays with the upcall,
     * was given up, or was ended by close.
     */
    boolean await(AsyncCall<?> call, long deadline) {
        Thread self = Thread.currentThread();
        long budget = self.isVirtual() ? virtualBudgetNs : platformBudgetNs;
        if (budget <= 0) {
            return false;
        }
        long seq = call.seq;
        MemorySegment line = call.cell.line;
        try {
            if (!Ring.clearCellParkedUnlessDone(line, seq)) {
                return false; // DONE (the upcall has it), given up, or another joiner holds it
            }
            boolean done = spin(call, line, seq, deadline, budget);
            if (!done) {
                if (Ring.setCellFlagUnlessDone(line, seq, FLAG_PARKED) != Ring.DONE_OR_MOVED) {
                    return false; // handed back: the upcall completes the future
                }
                if (!Ring.isCellDoneAcquire(line, seq) || Ring.isGone(Ring.cellStateAcquire(line), seq)) {
                    return false; // given up (GONE): whoever gave it up ends the future
                }
            }
            call.takeOutcome();
            return true;
        } catch (IllegalStateException regionFreed) {
            return false; // close() freed the cells: close ended the call and failed its future
        }
    }

    /**
     * Polls the cell until DONE (true), or false when the call is given up, the future done, the
     * budget spent, or (as a sync caller's spin, adaptive policies only) when the engine has not started
     * the call after {@link WaitRules#pickupNs} or a poll window shows this thread was descheduled: with
     * no spare core, spinning only takes the engine's time.
     */
    private boolean spin(AsyncCall<?> call, MemorySegment line, long seq, long deadline, long budgetNs) {
        long pickup = rules.pickupNs(seq - ring.startedOpaque(), ring.callNsOpaque());
        long start = 0;
        long last = 0;
        for (int i = 1; ; i++) {
            long st = Ring.cellStateAcquire(line);
            if (Ring.isGone(st, seq)) {
                return false;
            }
            if (Ring.isDone(st, seq)) {
                return true;
            }
            if ((i & 63) == 0) {
                long now = System.nanoTime();
                if (start == 0) {
                    start = last = now;
                    continue;
                }
                long spun = now - start;
                if (spun >= budgetNs || now >= deadline || call.isDone() || Thread.currentThread().isInterrupted()
                        || rules.preempted(now - last) || (pickup >= 0 && spun >= pickup && ring.startedOpaque() <= seq)) {
                    return false; // an interrupted get() throws, as CompletableFuture's does
                }
                last = now;
                if (spun >= WaitRules.YIELD_AFTER_NS) {
                    Thread.yield(); // two vCPUs: leave the engine its core
                    last = System.nanoTime(); // a yield that ran others is not a preemption of the spin
                }
            }
            Thread.onSpinWait();
        }
    }
}
