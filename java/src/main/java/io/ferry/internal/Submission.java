package io.ferry.internal;

import static io.ferry.internal.Layout.CALL_HAS_INPUT;

import io.ferry.FerryException;
import io.ferry.Op;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeoutException;

/**
 * The producer's half of a call up to its publish: copy the input, claim, wait for the slot, write it
 * and publish it, and wake the engine if it sleeps.
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
     * Claims a slot (waiting for it without a deadline, or with tryClaim until the deadline, so that a
     * timed call never waits after its claim), writes and publishes the call. Returns its sequence, with
     * the sign bit set if this call had to wake the engine (a sequence never uses the sign bit).
     */
    long submit(Op op, long ctx, long a, long b, byte[] input, long deadline) throws TimeoutException {
        MemorySegment in = input == null ? MemorySegment.NULL : copyIn(input);
        long seq;
        try {
            seq = deadline == CallWait.NO_DEADLINE ? backPressure.claim(1) : backPressure.claimBefore(deadline);
            if (deadline == CallWait.NO_DEADLINE) {
                backPressure.awaitFree(seq);
            }
        } catch (RuntimeException | TimeoutException e) {
            FerryNative.ferry_free(in);
            throw e;
        }
        boolean woke = publish(seq, op.id(), input == null ? 0 : CALL_HAS_INPUT, ctx, a, b, in.address(),
                input == null ? 0 : input.length, 0);
        return woke ? seq | Long.MIN_VALUE : seq;
    }

    /** Writes and publishes a claimed, free slot; wakes the engine if it sleeps. Returns whether it woke it. */
    boolean publish(long seq, int op, int flags, long ctx, long a, long b, long inPtr, long inLen,
            long stateFlags) {
        boolean published = false;
        try {
            ring.write(seq, op, flags, ctx, a, b, inPtr, inLen);
            ring.publishVolatile(seq, stateFlags);
            published = true;
        } finally {
            if (!published) {
                // The engine, which never skips a claimed slot, must not be left waiting for this one.
                // It ignores an abort record's input, so the input is still ours to free.
                ring.abortVolatile(seq);
                if (inPtr != 0) {
                    FerryNative.ferry_free(MemorySegment.ofAddress(inPtr));
                }
            }
        }
        return wakeIfSleeping();
    }

    /** After a publish's StoreLoad: wakes the engine if it announced sleep. Returns whether it did. */
    boolean wakeIfSleeping() {
        if (ring.engineSleepingVolatile()) {
            FerryNative.ferry_engine_wake(handle);
            return true;
        }
        return false;
    }

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
