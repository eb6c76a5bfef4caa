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
 * Takes a DONE call's outcome out of its completion cell. Every method here runs after the acquire load
 * that saw DONE(seq) on the cell, so its plain loads see the engine's stores; each frees the engine's
 * output buffer, if any, whatever happens. The slot was freed by the engine when it took the call.
 */
final class Outcomes {
    /** The longest byte array or string a JVM reliably allocates. */
    private static final long MAX_ARRAY = Integer.MAX_VALUE - 8;
    private static final byte[] NO_BYTES = new byte[0];
    /**
     * Test only (AsyncFailureTest sets it by reflection): thrown once by {@link #takeAny} after the take,
     * as an allocation failure decoding a result would be. Plain: set before the call it is meant for.
     */
    Error faultForTest;

    long takeLong(MemorySegment cell, Op op) {
        int err = Ring.errPlain(cell);
        if (err != 0) {
            throw takeFailure(cell, err, op);
        }
        long result = Ring.resultPlain(cell);
        if (Ring.outKindPlain(cell) != OUT_NONE) {
            FerryNative.ferry_free(MemorySegment.ofAddress(Ring.outPtrPlain(cell)));
            Ring.resetOutcomePlain(cell);
        }
        return result;
    }

    @SuppressWarnings("restricted")
    byte[] takeBytes(MemorySegment cell, Op op) {
        int err = Ring.errPlain(cell);
        if (err != 0) {
            throw takeFailure(cell, err, op);
        }
        if (Ring.outKindPlain(cell) != OUT_BYTES) {
            return new byte[0];
        }
        long ptr = Ring.outPtrPlain(cell);
        long len = Ring.outLenPlain(cell);
        Ring.resetOutcomePlain(cell);
        try {
            if (len > MAX_ARRAY) {
                throw new FerryException("op '" + op.name() + "' returned " + len
                        + " bytes, more than a Java array holds");
            }
            return MemorySegment.ofAddress(ptr).reinterpret(len).toArray(ValueLayout.JAVA_BYTE);
        } finally {
            FerryNative.ferry_free(MemorySegment.ofAddress(ptr));
        }
    }

    /**
     * A bytes, string or 64-bit outcome by result kind (AsyncCall.KIND_*), a failure as its exception,
     * and anything else thrown while taking it (an OutOfMemoryError decoding a large result, say) as that
     * throwable: it must reach the call's future. The output buffer is freed whatever happens (see
     * {@link #takeFailure} and {@link #takeBytes}).
     */
    Object takeAny(MemorySegment cell, Op op, int kind) {
        try {
            Object o = kind == AsyncCall.KIND_LONG ? (Object) takeLong(cell, op) : decode(takeBytes(cell, op), kind);
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
     * op wrote before it failed) and that output. Frees the buffer whatever happens, even if decoding
     * runs out of memory.
     */
    @SuppressWarnings("restricted")
    private CallFailedException takeFailure(MemorySegment cell, int err, Op op) {
        long ptr = Ring.outKindPlain(cell) == OUT_ERROR ? Ring.outPtrPlain(cell) : 0;
        long len = Ring.outLenPlain(cell);
        long outLen = Ring.errOutLenPlain(cell);
        long result = Ring.resultPlain(cell);
        Ring.resetOutcomePlain(cell);
        try {
            String message = "(no message)";
            byte[] output = NO_BYTES;
            if (ptr != 0) {
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
            return new CallFailedException(op.name(), err, message, result, output);
        } finally {
            if (ptr != 0) {
                FerryNative.ferry_free(MemorySegment.ofAddress(ptr));
            }
        }
    }
}
