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
    private final AtomicReferenceArray<Object> waiters;
    private final MemorySegment handle;
    private final long maxInputBytes;

    Submission(EngineCore core, Ring ring, BackPressure backPressure, AtomicReferenceArray<Object> waiters,
            MemorySegment handle, long maxInputBytes) {
        this.core = core;
        this.ring = ring;
        this.backPressure = backPressure;
        this.waiters = waiters;
        this.handle = handle;
        this.maxInputBytes = maxInputBytes;
    }

    /**
     * Submits a call (without a deadline, or claiming only a free slot until the deadline, so that a
     * timed call never waits after its claim). {@code in} is NULL or the call's input, which the engine
     * owns once published, and which is freed here if the call is not. {@code async}, if not null, is
     * registered for the wake upcall before the publish. Returns the sequence, with the sign bit set
     * if this call had to wake the engine (a sequence never uses the sign bit).
     */
    long submit(int op, int flags, long ctx, long a, long b, MemorySegment in, long inLen, long deadline,
            long stateFlags, AsyncCall<?> async) throws TimeoutException {
        SlotWaiter w = SlotWaiter.current(); // before the claim: the span below must not allocate
        long seq;
        try {
            seq = deadline == CallWait.NO_DEADLINE ? backPressure.claim(w) : backPressure.claimBefore(deadline, w);
        } catch (RuntimeException | TimeoutException e) {
            FerryNative.ferry_free(in);
            throw e;
        }
        return publishClaimed(seq, w, op, flags, ctx, a, b, in.address(), inLen, stateFlags, async);
    }

    /** {@link #submit} of a primitive call without a deadline. */
    long submit(int op, long ctx, long a, long b) {
        SlotWaiter w = SlotWaiter.current();
        long seq = backPressure.claim(w);
        return publishClaimed(seq, w, op, 0, ctx, a, b, 0, 0, 0, null);
    }

    /** {@link #submit} of a primitive call only if a slot is free now; -1 if none is. */
    long trySubmit(int op, long ctx, long a, long b) {
        long seq = backPressure.tryClaim();
        return seq < 0 ? -1 : publishClaimed(seq, SlotWaiter.current(), op, 0, ctx, a, b, 0, 0, 0, null);
    }

    /** {@link #submit} with an input, only if a slot is free now; -1 if none is (the input is then freed). */
    long trySubmit(int op, int flags, long ctx, long a, long b, MemorySegment in, long inLen) {
        SlotWaiter w = SlotWaiter.current();
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
        return publishClaimed(seq, w, op, flags, ctx, a, b, in.address(), inLen, 0, null);
    }

    /** The guarded span from a claim to its publish (see the class comment). */
    private long publishClaimed(long seq, SlotWaiter w, int op, int flags, long ctx, long a, long b, long inPtr,
            long inLen, long stateFlags, AsyncCall<?> async) {
        boolean published = false;
        try {
            if (!backPressure.awaitFree(seq, w)) {
                throw new EngineClosedException("engine '" + core.name() + "' stopped before a slot became free");
            }
            if (async != null) {
                // Registered before the publish (a release) so the engine's upcall, which follows the DONE
                // it makes after reading the published slot, finds it (and its seq).
                async.seq = seq;
                waiters.set(ring.index(seq), async);
            }
            ring.write(seq, op, flags, ctx, a, b, inPtr, inLen);
            ring.publishVolatile(seq, stateFlags);
            published = true;
        } finally {
            if (!published) {
                if (async != null) {
                    waiters.compareAndSet(ring.index(seq), async, null);
                }
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
