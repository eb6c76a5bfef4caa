package io.ferry.internal;

import static io.ferry.internal.Layout.FLAG_PARKED;

import io.ferry.CallInterruptedException;
import io.ferry.EngineClosedException;
import io.ferry.Op;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;

/**
 * A published call's wait for its outcome in its completion cell: spin as {@link CallSpin} says, then
 * announce PARKED and park until the engine's wake upcall unparks the caller, which then takes its own
 * outcome (the engine thread decodes nothing and allocates nothing for it); give the call up (GONE) at
 * its deadline or on an interrupt.
 */
final class CallWait {
    /** A timeout (and deadline) of Long.MAX_VALUE means none. */
    static final long NO_DEADLINE = Long.MAX_VALUE;

    private final EngineCore core;
    private final Ring ring;
    private final Outcomes outcomes;
    /** Reaches the running call's native code when its caller gives it up. */
    private final CancelHook cancelHook;
    private final CallSpin spinner;

    CallWait(EngineCore core, Ring ring, Outcomes outcomes, WaitRules rules, CancelHook cancelHook) {
        this.cancelHook = cancelHook;
        this.core = core;
        this.ring = ring;
        this.outcomes = outcomes;
        this.spinner = new CallSpin(this, ring, rules);
    }

    /** Waits for a published call's 64-bit result; parks at once if the caller had to wake the engine. */
    long awaitLong(long seq, boolean woke, long deadline, Op op, SlotWaiter w, Cell cell) throws TimeoutException {
        try {
            // A caller that had to wake the engine parks at once: the wake-up takes longer than any spin.
            if (woke || !spinner.spin(cell, seq, deadline, w)) {
                park(cell, seq, deadline, w);
            }
            return takeLong(cell, seq, op);
        } catch (IllegalStateException e) {
            throw closedUnder(e);
        }
    }

    /** Like {@link #awaitLong} for a bytes or string result (AsyncCall.KIND_*). */
    Object awaitObject(long seq, boolean woke, long deadline, Op op, int kind, SlotWaiter w, Cell cell)
            throws TimeoutException {
        try {
            if (woke || !spinner.spin(cell, seq, deadline, w)) {
                park(cell, seq, deadline, w);
            }
            checkNotCancelledByClose(cell, seq);
            try {
                return Outcomes.decode(outcomes.takeBytes(cell.line, op), kind);
            } finally {
                cell.idleRelease();
            }
        } catch (IllegalStateException e) {
            throw closedUnder(e);
        }
    }

    /** Takes a DONE call's 64-bit result out of its cell, which is then idle. */
    long takeLong(Cell cell, long seq, Op op) {
        checkNotCancelledByClose(cell, seq);
        try {
            return outcomes.takeLong(cell.line, op);
        } finally {
            cell.idleRelease();
        }
    }

    /**
     * A waiting caller's access to native memory failed. If close() freed it, close gave the call up:
     * the region and the cells are freed only once no call is in flight on a cell, or after close's
     * bounded wait for one. Otherwise it is not ours to explain.
     */
    private RuntimeException closedUnder(IllegalStateException e) {
        if (ring.freed()) {
            EngineClosedException closed = core.cancelledByClose();
            closed.addSuppressed(e);
            return closed;
        }
        return e;
    }

    /**
     * The slow path: announce PARKED on the cell and park until the call is DONE. The wake upcall only
     * unparks us; the outcome stays in our cell for us to take.
     */
    void park(Cell cell, long seq, long deadline, SlotWaiter w) throws TimeoutException {
        cell.waiter = w.thread; // a volatile store, before the CAS that lets the engine see PARKED
        try {
            if (Ring.setCellFlagUnlessDone(cell.line, seq, FLAG_PARKED) == Ring.DONE_OR_MOVED) {
                return; // DONE already (or given up by close, which the take reports)
            }
            core.counters.caller.parks.increment(); // counters
            awaitDone(cell, seq, deadline, w);
        } finally {
            cell.waiter = null;
        }
    }

    /**
     * Parks until the cell reads DONE(seq). An interrupt gives the call up as a timeout does and throws
     * {@link CallInterruptedException}; the interrupt status is cleared while parked (park returns at
     * once while it is set) and set again before returning or throwing.
     */
    private void awaitDone(Cell cell, long seq, long deadline, SlotWaiter w) throws TimeoutException {
        boolean interrupted = false;
        try {
            while (!Ring.isCellDoneAcquire(cell.line, seq)) {
                if (Thread.interrupted()) {
                    interrupted = true;
                    if (giveUp(cell, seq, w)) {
                        core.counters.caller.interrupted.increment(); // counters
                        throw new CallInterruptedException("engine '" + core.name() + "': the caller was interrupted,"
                                + " so the call was given up: " + givenUp(seq));
                    }
                    continue; // DONE meanwhile: take it
                }
                checkNotCancelledByClose(cell, seq);
                checkNotAbandoned();
                if (deadline == NO_DEADLINE) {
                    LockSupport.park(this);
                } else {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        if (giveUp(cell, seq, w)) {
                            throw timedOut(seq);
                        }
                        continue; // DONE meanwhile: take it
                    }
                    LockSupport.parkNanos(this, left);
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void checkNotAbandoned() {
        if (core.abandoned()) {
            throw new EngineClosedException("engine '" + core.name() + "' stopped before the call completed");
        }
    }

    /**
     * Gives seq's call up unless it is DONE: GONE on its cell (so the engine discards an outcome of a
     * call it runs), then on its slot (so the engine skips it if it is still queued), then the cancel
     * hooks if it is running. The engine still finishes the call on the cell, so the cell goes to the
     * limbo until it does, and this thread takes another. Returns false if the call was DONE (or close
     * had given it up first), and its outcome is then the caller's to take.
     */
    boolean giveUp(Cell cell, long seq, SlotWaiter w) {
        if (!giveUpOnCell(cell, seq)) {
            return false;
        }
        w.retireCell(seq);
        return true;
    }

    /** {@link #giveUp} without the cell's retirement (an async call retires its own cell). */
    boolean giveUpOnCell(Cell cell, long seq) {
        if (Ring.giveUpCellUnlessDone(cell.line, seq) == Ring.DONE_OR_MOVED) {
            return false;
        }
        cell.idleRelease(); // no longer ours to wait for: close need not give it up again
        ring.giveUpQueued(seq);
        cancelHook.cancelIfRunning(seq);
        return true;
    }

    /** The caller gives a spinning call up at its deadline, and throws the timeout; returns if it was DONE. */
    void giveUpAtDeadline(Cell cell, long seq, SlotWaiter w) throws TimeoutException {
        if (giveUp(cell, seq, w)) {
            throw timedOut(seq);
        }
    }

    /**
     * Only close() gives a call up behind its caller's back (it sets GONE on the cell of every call in
     * flight): then no outcome will come. Throws if that happened to seq.
     */
    void checkNotCancelledByClose(Cell cell, long seq) {
        if (Ring.isGone(Ring.cellStateAcquire(cell.line), seq)) {
            cell.idleRelease();
            throw core.cancelledByClose();
        }
    }

    /**
     * The timeout for a call its caller has just given up (GONE set by CASes, full fences). The engine
     * stores stats.started = seq + 1 and then re-reads the slot before it runs a call (ferry.h, "Starting a
     * call"): if started is still <= seq here, the engine's re-read comes after our GONE and it will
     * skip the call. Otherwise it may have started it, and will discard its result.
     */
    private TimeoutException timedOut(long seq) {
        core.counters.caller.timedOut.increment(); // counters
        return new TimeoutException("engine '" + core.name() + "': call timed out; " + givenUp(seq));
    }

    /** What happens to a call its caller just gave up (see {@link #timedOut}). */
    String givenUp(long seq) {
        boolean skipped = ring.startedVolatile() <= seq;
        return skipped ? "the engine will skip it" : "it was already running and its result will be discarded";
    }
}
