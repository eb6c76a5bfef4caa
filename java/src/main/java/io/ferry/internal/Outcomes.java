package io.ferry.internal;

import static io.ferry.internal.Layout.OUT_BYTES;
import static io.ferry.internal.Layout.OUT_ERROR;
import static io.ferry.internal.Layout.OUT_NONE;

import io.ferry.CallFailedException;
import io.ferry.FerryException;
import io.ferry.Op;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * Takes a DONE call's outcome out of its slot and releases the slot. Every method here runs after the
 * acquire load that saw DONE(seq), so its plain loads see the engine's stores; the release store that
 * ends each one hands the slot to the next lap's producer, and wakes it if it waits.
 */
final class Outcomes {
    /** The longest byte array or string a JVM reliably allocates. */
    private static final long MAX_ARRAY = Integer.MAX_VALUE - 8;
    private static final byte[] NO_BYTES = new byte[0];
    private final Ring ring;
    private final BackPressure backPressure;
    /**
     * Test only (AsyncFailureTest sets it by reflection): thrown once by {@link #takeAny} after the take,
     * as an allocation failure decoding a result would be. Plain: set before the call it is meant for.
     */
    Error faultForTest;

    Outcomes(Ring ring, BackPressure backPressure) {
        this.ring = ring;
        this.backPressure = backPressure;
    }

    /** Frees seq's slot for its next lap and wakes a producer waiting for it. */
    void release(long seq) {
        ring.releaseRelease(seq);
        backPressure.onReleased(seq + ring.capacity());
    }

    long takeLong(long seq, Op op) {
        int err = ring.errPlain(seq);
        if (err != 0) {
            throw takeFailure(seq, err, op);
        }
        long result = ring.resultPlain(seq);
        if (ring.outKindPlain(seq) != OUT_NONE) {
            FerryNative.ferry_free(MemorySegment.ofAddress(ring.outPtrPlain(seq)));
        }
        release(seq);
        return result;
    }

    @SuppressWarnings("restricted")
    byte[] takeBytes(long seq, Op op) {
        int err = ring.errPlain(seq);
        if (err != 0) {
            throw takeFailure(seq, err, op);
        }
        if (ring.outKindPlain(seq) != OUT_BYTES) {
            release(seq);
            return new byte[0];
        }
        long ptr = ring.outPtrPlain(seq);
        long len = ring.outLenPlain(seq);
        try {
            if (len > MAX_ARRAY) {
                throw new FerryException("op '" + op.name() + "' returned " + len
                        + " bytes, more than a Java array holds");
            }
            return MemorySegment.ofAddress(ptr).reinterpret(len).toArray(ValueLayout.JAVA_BYTE);
        } finally {
            FerryNative.ferry_free(MemorySegment.ofAddress(ptr));
            release(seq);
        }
    }

    /**
     * A bytes, string or 64-bit outcome by result kind (AsyncCall.KIND_*), a failure as its exception,
     * and anything else thrown while taking it (an OutOfMemoryError decoding a large result, say) as that
     * throwable: it must reach the call's future, and must not escape the wake upcall. The slot is
     * released whatever happens (see {@link #takeFailure} and {@link #takeBytes}).
     */
    Object takeAny(long seq, Op op, int kind) {
        try {
            Object o = kind == AsyncCall.KIND_LONG ? (Object) takeLong(seq, op) : decode(takeBytes(seq, op), kind);
            Error fault = faultForTest;
            if (fault != null) {
                faultForTest = null;
                throw fault;
            }
            return o;
        } catch (Throwable t) {
            return t;
        }
    }

    /** A bytes result as the kind asks: the bytes, or a UTF-8 string. */
    static Object decode(byte[] bytes, int kind) {
        return kind == AsyncCall.KIND_STRING ? new String(bytes, StandardCharsets.UTF_8) : bytes;
    }

    /**
     * A failure's outcome: the whole message (ferry.h, FERRY_OUT_ERROR: message, NUL, then the output the
     * op wrote before it failed) and that output. Frees the buffer and releases the slot whatever happens,
     * even if decoding runs out of memory, so that no failure here can hold the slot for ever.
     */
    @SuppressWarnings("restricted")
    private CallFailedException takeFailure(long seq, int err, Op op) {
        long ptr = ring.outKindPlain(seq) == OUT_ERROR ? ring.outPtrPlain(seq) : 0;
        try {
            String message = "(no message)";
            byte[] output = NO_BYTES;
            if (ptr != 0) {
                long len = ring.outLenPlain(seq);
                long outLen = ring.errOutLenPlain(seq);
                MemorySegment p = MemorySegment.ofAddress(ptr).reinterpret(len + 1 + outLen);
                message = len <= MAX_ARRAY
                        ? new String(p.asSlice(0, len).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8)
                        : "(a message of " + len + " bytes, more than a Java string holds)";
                if (outLen > MAX_ARRAY) {
                    message += " (and " + outLen + " output bytes, more than a Java array holds)";
                } else if (outLen > 0) {
                    output = p.asSlice(len + 1, outLen).toArray(ValueLayout.JAVA_BYTE);
                }
            }
            return new CallFailedException(op.name(), err, message, ring.resultPlain(seq), output);
        } finally {
            if (ptr != 0) {
                FerryNative.ferry_free(MemorySegment.ofAddress(ptr));
            }
            release(seq);
        }
    }
}
