package io.ferry.internal;

import io.ferry.EngineClosedException;
import io.ferry.FerryException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The producer's half of a call up to its publish: claim, wait for the slot, write it, publish it, and
 * wake the engine if it sleeps.
 *
 * <p>From the claim to the publish is one guarded span ({@link #publishClaimed}): nothing in it
 * allocates (the waiter was fetched before the claim, the input copied), and if anything throws there
 * all the same (a StackOverflowError, say), an abort record is published once the slot is free, so the
 * engine, which never skips a claimed slot, is not left waiting for one nobody will fill.
 */
final class Submission {
    private final EngineCore core;
    private final Ring ring;
    private final BackPressure backPressure;
    private final MemorySegment handle;
    private final long maxInputBytes;

    Submission(EngineCore core, Ring ring, BackPressure backPressure, MemorySegment handle, long maxInputBytes) {
        this.core = core;
        this.ring = ring;
        this.backPressure = backPressure;
        this.handle = handle;
        this.maxInputBytes = maxInputBytes;
    }

    /**
     * Submits a call whose outcome goes to {@code cell} (without a deadline, or claiming only a free slot
     * until the deadline, so that a timed call never waits after its claim). {@code in} is NULL or the
     * call's input, which the engine owns once published, and which is freed here if the call is not.
     * {@code async}, if not null, is the call the cell serves: the cell is armed PARKED for it before the
     * publish. Returns the sequence, with the sign bit set if this call had to wake the engine (a
     * sequence never uses the sign bit).
     */
    long submit(int op, int flags, long ctx, long a, long b, MemorySegment in, long inLen, long deadline,
            SlotWaiter w, Cell cell, AsyncCall<?> async) throws TimeoutException {
        long seq;
        try {
            seq = deadline == CallWait.NO_DEADLINE ? backPressure.claim(w) : backPressure.claimBefore(deadline, w);
        } catch (RuntimeException | TimeoutException e) {
            FerryNative.ferry_free(in);
            throw e;
        }
        return publishClaimed(seq, w, cell, op, flags, ctx, a, b, in.address(), inLen, async);
    }

    /** {@link #submit} of a primitive call without a deadline. */
    long submit(int op, long ctx, long a, long b, SlotWaiter w, Cell cell) {
        long seq = backPressure.claim(w);
        return publishClaimed(seq, w, cell, op, 0, ctx, a, b, 0, 0, null);
    }

    /** {@link #submit} only if a slot is free now; -1 if none is (an input is then freed). */
    long trySubmit(int op, int flags, long ctx, long a, long b, MemorySegment in, long inLen, SlotWaiter w,
            Cell cell) {
        long seq;
        try {
            seq = backPressure.tryClaim();
        } catch (RuntimeException e) {
            FerryNative.ferry_free(in);
            throw e;
        }
        if (seq < 0) {
            FerryNative.ferry_free(in);
            return -1;
        }
        return publishClaimed(seq, w, cell, op, flags, ctx, a, b, in.address(), inLen, null);
    }

    /** The guarded span from a claim to its publish (see the class comment). */
    private long publishClaimed(long seq, SlotWaiter w, Cell cell, int op, int flags, long ctx, long a, long b,
            long inPtr, long inLen, AsyncCall<?> async) {
        boolean published = false;
        try {
            if (!backPressure.awaitFree(seq, w)) {
                throw new EngineClosedException("engine '" + core.name() + "' stopped before a slot became free");
            }
            if (async != null) {
                // Before the publish (a release), so the engine's wake upcall, which follows the DONE it
                // makes after reading the published slot, finds the call's seq.
                async.seq = seq;
                Ring.armParkedPlain(cell.line, seq);
            }
            cell.startRelease(seq);
            ring.write(seq, op, flags, ctx, a, b, cell.address, inPtr, inLen);
            ring.publishVolatile(seq);
            published = true;
        } finally {
            if (!published) {
                cell.idleRelease();
                abort(seq, w);
                // The engine ignores an abort record's input, so the input is still ours to free.
                if (inPtr != 0) {
                    FerryNative.ferry_free(MemorySegment.ofAddress(inPtr));
                }
            }
        }
        return wakeIfSleeping() ? seq | Long.MIN_VALUE : seq;
    }

    /**
     * Publishes an abort record for a claimed sequence once its slot is free, and wakes the engine so
     * that it frees the slot for the next lap. Nothing to do if the engine was abandoned.
     */
    void abort(long seq, SlotWaiter w) {
        if (backPressure.awaitFree(seq, w)) {
            ring.abortVolatile(seq);
            wakeIfSleeping();
        }
    }

    /** After a publish's StoreLoad: wakes the engine if it announced sleep. Returns whether it did. */
    boolean wakeIfSleeping() {
        if (ring.engineSleepingVolatile()) {
            FerryNative.ferry_engine_wake(handle);
            return true;
        }
        return false;
    }

    /** A native copy of a call's input, made before the claim; the engine frees it once it ran the call. */
    MemorySegment copyIn(byte[] input) {
        if (input.length > maxInputBytes) {
            throw new IllegalArgumentException("input of " + input.length + " bytes exceeds maxInputBytes="
                    + maxInputBytes + " (raise it with Engine.builder().maxInputBytes(...))");
        }
        MemorySegment p = FerryNative.ferry_alloc(input.length);
        if (p.equals(MemorySegment.NULL)) {
            throw new FerryException("cannot allocate " + input.length + " native bytes for a call's input");
        }
        MemorySegment.copy(input, 0, p.reinterpret(input.length), ValueLayout.JAVA_BYTE, 0, input.length);
        return p;
    }
}
