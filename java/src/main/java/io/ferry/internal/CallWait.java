package io.ferry.internal;

import static io.ferry.internal.Layout.FLAG_GONE;
import static io.ferry.internal.Layout.FLAG_PARKED;

import io.ferry.CallInterruptedException;
import io.ferry.EngineClosedException;
import io.ferry.FerryException;
import io.ferry.Op;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.LockSupport;

/**
 * A published call's wait for its outcome: spin on the slot as {@link CallSpin} says, then announce
 * PARKED and park until the engine's wake upcall hands the outcome over; give the call up (GONE) at its
 * deadline or on an interrupt.
 */
final class CallWait {
    /** A timeout (and deadline) of Long.MAX_VALUE means none. */
    static final long NO_DEADLINE = Long.MAX_VALUE;

    private final EngineCore core;
    private final Ring ring;
    private final Outcomes outcomes;
    /** Per slot: the ParkedCall or AsyncCall whose outcome the wake upcall hands over. */
    private final AtomicReferenceArray<Object> waiters;
    /** Reaches the running call's native code when its caller gives it up. */
    private final CancelHook cancelHook;
    private final CallSpin spinner;

    CallWait(EngineCore core, Ring ring, Outcomes outcomes, AtomicReferenceArray<Object> waiters, WaitRules rules,
            CancelHook cancelHook) {
        this.cancelHook = cancelHook;
        this.core = core;
        this.ring = ring;
        this.outcomes = outcomes;
        this.waiters = waiters;
        this.spinner = new CallSpin(this, ring, rules);
    }

    /** Waits for a published call's 64-bit result; parks at once if the caller had to wake the engine. */
    long awaitLong(long seq, boolean woke, long deadline, Op op) throws TimeoutException {
        try {
            // A caller that had to wake the engine parks at once: the wake-up takes longer than any spin.
            return !woke && spin(seq, deadline) ? outcomes.takeLong(seq, op) : parkLong(seq, deadline, op);
        } catch (IllegalStateException e) {
            throw closedUnder(e);
        }
    }

    /** Like {@link #awaitLong} for a bytes or string result (AsyncCall.KIND_*). */
    Object awaitObject(long seq, boolean woke, long deadline, Op op, int kind) throws TimeoutException {
        try {
            if (!woke && spin(seq, deadline)) {
                return Outcomes.decode(outcomes.takeBytes(seq, op), kind);
            }
            return parkObject(seq, deadline, op, kind);
        } catch (IllegalStateException e) {
            throw closedUnder(e);
        }
    }

    /**
     * A waiting caller's access to the region failed. If close() freed it, close gave the call up: the
     * region is freed only once every slot is free, so the engine released this call's slot itself (a
     * call given up by close), between two of the caller's polls. Otherwise it is not ours to explain.
     */
    private RuntimeException closedUnder(IllegalStateException e) {
        if (ring.freed()) {
            EngineClosedException closed = core.cancelledByClose();
            closed.addSuppressed(e);
            return closed;
        }
        return e;
    }

    /** Spins as {@link CallSpin#spin} says: true once DONE, false when the caller should park. */
    boolean spin(long seq, long deadline) throws TimeoutException {
        return spinner.spin(seq, deadline);
    }

    /** {@link #parkUntilDone} for a 64-bit result: allocates nothing. */
    long parkLong(long seq, long deadline, Op op) throws TimeoutException {
        ParkedCall parked = parkUntilDone(seq, deadline, op, AsyncCall.KIND_LONG);
        if (parked == null) {
            return outcomes.takeLong(seq, op);
        }
        try {
            return parked.longResult();
        } finally {
            parked.clear();
        }
    }

    private Object parkObject(long seq, long deadline, Op op, int kind) throws TimeoutException {
        ParkedCall parked = parkUntilDone(seq, deadline, op, kind);
        if (parked == null) {
            return Outcomes.decode(outcomes.takeBytes(seq, op), kind); // parkUntilDone saw DONE
        }
        try {
            return parked.objectResult();
        } finally {
            parked.clear();
        }
    }

    /**
     * The slow path: announce PARKED and park until the engine's wake upcall hands over the outcome.
     * Once PARKED is set the slot is no longer ours: the upcall takes the result out of it and frees it
     * right away, so a parked caller never holds a slot and never stalls the ring behind it.
     *
     * @return the done ParkedCall holding the outcome, or null if the call was DONE before we could
     *     announce PARKED: then the result is still in the slot and still ours to take
     */
    private ParkedCall parkUntilDone(long seq, long deadline, Op op, int kind) throws TimeoutException {
        int idx = ring.index(seq);
        ParkedCall parked = ParkedCall.forCall(seq, op, kind);
        // A volatile store: publishes the ParkedCall's fields to the upcall, which reads this entry.
        waiters.set(idx, parked);
        long old = ring.setFlagUnlessDone(seq, FLAG_PARKED);
        if (old == Ring.DONE_OR_MOVED || (old & FLAG_GONE) != 0) {
            waiters.compareAndSet(idx, parked, null);
            parked.clear();
            checkNotCancelledByClose(seq); // GONE or moved: close() gave the call up before we parked
            return null; // DONE: PARKED is set only by us, and the slot is ours until we release it
        }
        core.counters.caller.parks.increment(); // counters
        boolean ok = false;
        try {
            awaitDone(seq, deadline, parked);
            ok = true;
        } finally {
            if (!ok) {
                parked.clear();
            }
        }
        return parked;
    }

    /**
     * Parks until the upcall marks {@code parked} done. An interrupt gives the call up as a timeout does
     * and throws {@link CallInterruptedException}; the interrupt status is cleared while parked (park
     * returns at once while it is set) and set again before returning or throwing.
     */
    private void awaitDone(long seq, long deadline, ParkedCall parked) throws TimeoutException {
        boolean interrupted = false;
        try {
            awaitDoneInterruptibly(seq, deadline, parked);
        } catch (InterruptedException e) {
            interrupted = true;
            if (giveUpParked(seq, parked)) {
                core.counters.caller.interrupted.increment(); // counters
                throw new CallInterruptedException("engine '" + core.name() + "': the caller was interrupted, so the"
                        + " call was given up: " + givenUp(seq));
            }
            awaitHandOver(parked); // DONE already: the upcall is handing the outcome over
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Waits, with the interrupt status cleared, for an upcall that already saw DONE. */
    private void awaitHandOver(ParkedCall parked) {
        boolean interrupted = false;
        while (!parked.done) {
            checkNotAbandoned(parked);
            LockSupport.park(this);
            interrupted |= Thread.interrupted();
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private void awaitDoneInterruptibly(long seq, long deadline, ParkedCall parked)
            throws TimeoutException, InterruptedException {
        while (!parked.done) {
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
            checkNotAbandoned(parked);
            if (deadline == NO_DEADLINE) {
                LockSupport.park(this);
            } else {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    if (giveUpParked(seq, parked)) {
                        throw timedOut(seq);
                    }
                    deadline = NO_DEADLINE; // DONE already: the upcall is handing the result over
                    continue;
                }
                LockSupport.parkNanos(this, left);
            }
        }
    }

    private void checkNotAbandoned(ParkedCall parked) {
        if (parked.cancelledByClose) {
            throw core.cancelledByClose();
        }
        if (core.abandoned()) {
            parked.discard(); // a late upcall may still reach it
            throw new EngineClosedException("engine '" + core.name() + "' stopped before the call completed");
        }
    }

    /** Sets GONE on a parked call unless it is DONE; true if it gave the call up. */
    private boolean giveUpParked(long seq, ParkedCall parked) {
        if (setGone(seq) == Ring.DONE_OR_MOVED) {
            return false;
        }
        // GONE: the engine skips the call or discards its result and makes no upcall for it (only the
        // FREE_WAKE one, for the producers queued for the slot, which completeParked ignores).
        waiters.compareAndSet(ring.index(seq), parked, null);
        cancelHook.cancelIfRunning(seq);
        return true;
    }

    /** Gives the call up: GONE and FREE_WAKE unless it is DONE (see {@link Ring#giveUpUnlessDone}). */
    private long setGone(long seq) {
        return ring.giveUpUnlessDone(seq);
    }

    /**
     * The caller gives a spinning call up: sets GONE unless the call is already DONE, and throws the
     * timeout. Returns normally only if the call was DONE (its result is then the caller's to take).
     */
    void giveUp(long seq) throws TimeoutException {
        if (setGone(seq) != Ring.DONE_OR_MOVED) {
            cancelHook.cancelIfRunning(seq);
            throw timedOut(seq);
        }
        checkNotCancelledByClose(seq);
    }

    /**
     * Only close() gives a call up behind its caller's back (it sets GONE on every call in flight): then
     * no outcome will come. Throws if that happened to seq: its slot is GONE or serves another lap.
     */
    void checkNotCancelledByClose(long seq) {
        if (core.closeCancels()) {
            long st;
            try {
                st = ring.stateAcquire(seq);
            } catch (IllegalStateException regionFreed) {
                throw core.cancelledByClose();
            }
            if (!Ring.isDone(st, seq) && ((st >>> Layout.SEQ_SHIFT) != seq || (st & FLAG_GONE) != 0)) {
                throw core.cancelledByClose();
            }
        }
    }

    /**
     * The timeout for a call its caller has just given up (GONE set by a CAS, a full fence). The engine
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

    /** Gives an async call up unless it is done: the engine skips it or discards its result. */
    boolean cancel(long seq, Object waiter) {
        if (setGone(seq) == Ring.DONE_OR_MOVED) {
            return false;
        }
        // GONE: the engine will neither run nor report this call, and releases the slot itself.
        core.counters.caller.cancelled.increment(); // counters
        waiters.compareAndSet(ring.index(seq), waiter, null);
        cancelHook.cancelIfRunning(seq);
        return true;
    }

    /**
     * On the engine thread, from the wake upcall: moves a parked call's outcome out of its slot into the
     * ParkedCall (a 64-bit result stays primitive), frees the slot and unparks the caller.
     */
    void completeParked(int idx, ParkedCall parked) {
        long seq = parked.seq;
        if (!ring.isDoneAcquire(seq)) {
            return; // a late wake meant for an earlier caller of this slot
        }
        waiters.compareAndSet(idx, parked, null);
        try {
            if (parked.kind == AsyncCall.KIND_LONG) {
                parked.value = outcomes.takeLong(seq, parked.op);
            } else {
                parked.outcome = Outcomes.decode(outcomes.takeBytes(seq, parked.op), parked.kind);
            }
        } catch (FerryException e) {
            parked.outcome = e;
        } catch (Throwable t) {
            parked.outcome = new FerryException("internal error while handing over the result of op '"
                    + parked.op.name() + "'", t);
        }
        core.counters.caller.wakeups.increment(); // counters
        Thread caller = parked.thread;
        parked.done = true; // release: the outcome above is visible to the caller that sees done
        LockSupport.unpark(caller);
    }

    /**
     * On the engine thread, from the wake upcall: if the call at seq is done, unregisters its waiter,
     * takes its outcome out of the slot and frees the slot. Null for a late wake meant for an earlier
     * caller of this slot.
     */
    Object takeOutcome(int idx, Object waiter, long seq, Op op, int kind) {
        if (!ring.isDoneAcquire(seq)) {
            return null;
        }
        waiters.compareAndSet(idx, waiter, null);
        return outcomes.takeAny(seq, op, kind);
    }
}
