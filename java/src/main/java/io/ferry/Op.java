package io.ferry;

/**
 * An operation registered with an engine, looked up once by name and called by handle. The engine's
 * registry says what an op takes and returns (its flags); the lookup turns that into the handle of
 * the op's shape, whose methods are the only ways to call it:
 *
 * <ul>
 *   <li>{@link LongOp}: 64-bit arguments, a 64-bit result (no flags);
 *   <li>{@link DoubleOp}: double arguments, a double result ({@link #F64});
 *   <li>{@link BytesOp}: a byte array in, a byte array out ({@link #IN_BYTES} | {@link #OUT_BYTES});
 *   <li>{@link TextOp}: text in, text out ({@link #IN_BYTES} | {@link #OUT_BYTES} | {@link #TEXT});
 *   <li>{@link BytesToLongOp}: a 64-bit argument and a byte array in, a 64-bit result
 *       ({@link #IN_BYTES}, with or without {@link #TEXT}).
 * </ul>
 *
 * <p>Every handle has the same verbs for its shape: {@code call} (in the calling thread's
 * {@link Engine#context() context} or in a given one, with or without a timeout), {@code tryCall}
 * (never waits for a slot) and {@code callAsync}. Handles are immutable; share them freely.
 */
public sealed interface Op permits LongOp, DoubleOp, BytesOp, TextOp, BytesToLongOp {
    /** Takes an input byte array. */
    int IN_BYTES = 0x1;
    /** Returns a byte array; otherwise a 64-bit result. */
    int OUT_BYTES = 0x2;
    /** Arguments and result are doubles. */
    int F64 = 0x4;
    /** Changes engine state. */
    int MUTATES = 0x8;
    /** Input and output bytes are UTF-8 text. */
    int TEXT = 0x10;

    /**
     * The name the op was registered under.
     *
     * @return the op's name
     */
    String name();

    /**
     * The engine-assigned id.
     *
     * @return the id calls carry
     */
    int id();

    /**
     * The flags the op was registered with ({@link #IN_BYTES}, {@link #OUT_BYTES}, ...).
     *
     * @return the flags
     */
    int flags();

    /**
     * Whether the op was registered with every bit of {@code flag}.
     *
     * @param flag one or more of the flag constants
     * @return whether all of them are set
     */
    default boolean has(int flag) {
        return (flags() & flag) == flag;
    }
}
