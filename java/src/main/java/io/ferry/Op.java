package io.ferry;

/**
 * An operation registered with an engine, looked up once by name with {@link Engine#op(String)} and
 * called by handle. Immutable; share it freely.
 */
public final class Op {
    /** Takes an input byte array. */
    public static final int IN_BYTES = 0x1;
    /** Returns a byte array; otherwise a 64-bit result. */
    public static final int OUT_BYTES = 0x2;
    /** Arguments and result are doubles. */
    public static final int F64 = 0x4;
    /** Changes engine state. */
    public static final int MUTATES = 0x8;
    /** Input and output bytes are UTF-8 text. */
    public static final int TEXT = 0x10;

    final Engine engine;
    final int id;
    final int flags;
    private final String name;

    Op(Engine engine, int id, int flags, String name) {
        this.engine = engine;
        this.id = id;
        this.flags = flags;
        this.name = name;
    }

    public String name() {
        return name;
    }

    /** The engine-assigned id. */
    public int id() {
        return id;
    }

    /** The flags the op was registered with ({@link #IN_BYTES}, {@link #OUT_BYTES}, ...). */
    public int flags() {
        return flags;
    }

    public boolean has(int flag) {
        return (flags & flag) == flag;
    }

    @Override
    public String toString() {
        return "Op[" + name + ", id=" + id + ", flags=0x" + Integer.toHexString(flags) + "]";
    }
}
