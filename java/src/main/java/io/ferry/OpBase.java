package io.ferry;

import io.ferry.internal.CallEvent;
import io.ferry.internal.EngineCore;
import io.ferry.internal.LatencyRecorder;
import io.ferry.internal.Observe;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeoutException;

/** What every op handle shares: its identity, and how a call finds its context. */
abstract class OpBase {
    private static final int SHAPE_BITS = Op.IN_BYTES | Op.OUT_BYTES | Op.F64 | Op.TEXT;

    final Engine engine;
    final EngineCore core;
    private final int id;
    private final int flags;
    private final String name;
    /** The callers' wait histogram, or null: histograms are off (fixed when the handle is made). */
    private final LatencyRecorder latency;

    OpBase(Engine engine, EngineCore core, int id, int flags, String name) {
        this.engine = engine;
        this.core = core;
        this.id = id;
        this.flags = flags;
        this.name = name;
        this.latency = Observe.ENABLED ? core.counters.latency() : null;
    }

    /** Looks an op up on the engine and makes its handle. */
    static Op lookup(Engine engine, EngineCore core, String name) {
        if (name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("op name contains a NUL character at index " + name.indexOf('\0')
                    + ": op names are C strings, so no op can have this name: name=" + name.replace("\0", "\\0"));
        }
        int[] found = core.lookup(name);
        if (found == null) {
            throw new IllegalArgumentException("unknown op: name=" + name + " (engine '" + core.name()
                    + "' has no op of that name; ops are registered by the engine's init function)");
        }
        return of(engine, core, found[0], found[1], name);
    }

    /** The handle of the shape the flags describe. */
    static Op of(Engine engine, EngineCore core, int id, int flags, String name) {
        return switch (flags & SHAPE_BITS) {
            case 0 -> new LongOp(engine, core, id, flags, name);
            case Op.F64 -> new DoubleOp(engine, core, id, flags, name);
            case Op.IN_BYTES | Op.OUT_BYTES -> new BytesOp(engine, core, id, flags, name);
            case Op.IN_BYTES | Op.OUT_BYTES | Op.TEXT -> new TextOp(engine, core, id, flags, name);
            case Op.IN_BYTES, Op.IN_BYTES | Op.TEXT -> new BytesToLongOp(engine, core, id, flags, name);
            default -> throw new IllegalArgumentException("op '" + name + "' of engine '" + engine.name()
                    + "' was registered with flags 0x" + Integer.toHexString(flags) + ", a shape no handle calls"
                    + " (see Op: IN_BYTES, OUT_BYTES, F64 and TEXT combine only as LongOp, DoubleOp, BytesOp,"
                    + " TextOp and BytesToLongOp do)");
        };
    }

    /** What a handle of this class calls, for messages. */
    static String describe(Class<? extends Op> shape) {
        if (shape == LongOp.class) {
            return "a LongOp (64-bit arguments, a 64-bit result)";
        } else if (shape == DoubleOp.class) {
            return "a DoubleOp (double arguments, a double result)";
        } else if (shape == BytesOp.class) {
            return "a BytesOp (bytes in, bytes out)";
        } else if (shape == TextOp.class) {
            return "a TextOp (text in, text out)";
        }
        return "a BytesToLongOp (a 64-bit argument and bytes in, a 64-bit result)";
    }

    /** {@code op} as a handle of {@code shape}, or an exception that says what it is and how to look it up. */
    static <T extends Op> T as(Op op, Class<T> shape) {
        if (!shape.isInstance(op)) {
            String n = op.name();
            throw new IllegalArgumentException("op '" + n + "' of engine '" + base(op).engine.name() + "' is "
                    + describe(op.getClass()) + ", not " + describe(shape) + " (flags 0x"
                    + Integer.toHexString(op.flags()) + "); look it up with op(\"" + n + "\") or "
                    + lookupFor(op) + "(\"" + n + "\")");
        }
        return shape.cast(op);
    }

    private static String lookupFor(Op op) {
        return switch (op) {
            case LongOp l -> "longOp";
            case DoubleOp d -> "doubleOp";
            case BytesOp b -> "bytesOp";
            case TextOp t -> "textOp";
            case BytesToLongOp bl -> "bytesToLongOp";
        };
    }

    static OpBase base(Op op) {
        return (OpBase) Objects.requireNonNull(op, "op"); // sealed: every Op is an OpBase
    }

    /** The id of the calling thread's context for this op's engine (see {@link Engine#context()}). */
    final long current() {
        return engine.context().callId();
    }

    /** The id of {@code ctx}, which must be open and of this op's engine. */
    final long in(ExecutionContext ctx) {
        Objects.requireNonNull(ctx, "ctx");
        if (ctx.engine != engine) {
            throw new IllegalArgumentException("context '" + ctx.name() + "' belongs to engine '"
                    + ctx.engine.name() + "', op '" + name + "' to engine '" + engine.name() + "'");
        }
        return ctx.callId();
    }

    /** An untimed call with an input and a result of {@code kind} (AsyncCall.KIND_BYTES or KIND_STRING). */
    final Object callObject(long ctx, byte[] input, int kind) {
        try {
            return syncObject(ctx, Objects.requireNonNull(input, "input"), EngineCore.NO_DEADLINE, kind);
        } catch (TimeoutException impossible) {
            throw new AssertionError(impossible);
        }
    }

    /** An untimed call with 64-bit arguments and an input, and a 64-bit result. */
    final long callLong(long ctx, long a, long b, byte[] input) {
        try {
            return syncTimed(ctx, a, b, Objects.requireNonNull(input, "input"), EngineCore.NO_DEADLINE);
        } catch (TimeoutException impossible) {
            throw new AssertionError(impossible);
        }
    }

    // ---- the sync calls, observed or not ---------------------------------------------------------------
    // One check per call: Observe.ENABLED is a static final (false folds the rest away), the latency field
    // is fixed per handle, Observe.jfr is flipped by a recorder listener. Nothing else is added to a call
    // nobody observes.

    private boolean observed() {
        return Observe.ENABLED && (latency != null || Observe.jfr);
    }

    /** A sync call with 64-bit arguments and result (allocates nothing unless a JFR recording takes it). */
    final long sync(long ctx, long a, long b) {
        if (!observed()) {
            return core.callLong((Op) this, ctx, a, b);
        }
        long t0 = latency != null ? System.nanoTime() : 0; // the event keeps its own time
        CallEvent ev = Observe.jfr ? startEvent() : null;
        try {
            long r = core.callLong((Op) this, ctx, a, b);
            observe(ctx, t0, ev, null);
            return r;
        } catch (RuntimeException | Error e) {
            observe(ctx, t0, ev, e);
            throw e;
        }
    }

    /** A sync call with a timeout (NO_DEADLINE for none) and an optional input; 64-bit result. */
    final long syncTimed(long ctx, long a, long b, byte[] input, long timeoutNs) throws TimeoutException {
        if (!observed()) {
            return core.callLong((Op) this, ctx, a, b, input, timeoutNs);
        }
        long t0 = latency != null ? System.nanoTime() : 0; // the event keeps its own time
        CallEvent ev = Observe.jfr ? startEvent() : null;
        try {
            long r = core.callLong((Op) this, ctx, a, b, input, timeoutNs);
            observe(ctx, t0, ev, null);
            return r;
        } catch (RuntimeException | Error | TimeoutException e) {
            observe(ctx, t0, ev, e);
            throw e;
        }
    }

    /** A sync call with an input and a bytes or text result. */
    final Object syncObject(long ctx, byte[] input, long timeoutNs, int kind) throws TimeoutException {
        if (!observed()) {
            return core.callObject((Op) this, ctx, input, timeoutNs, kind);
        }
        long t0 = latency != null ? System.nanoTime() : 0; // the event keeps its own time
        CallEvent ev = Observe.jfr ? startEvent() : null;
        try {
            Object r = core.callObject((Op) this, ctx, input, timeoutNs, kind);
            observe(ctx, t0, ev, null);
            return r;
        } catch (RuntimeException | Error | TimeoutException e) {
            observe(ctx, t0, ev, e);
            throw e;
        }
    }

    /** The per-call event if some recording enables it, begun; else null (nothing allocated). */
    private static CallEvent startEvent() {
        CallEvent ev = new CallEvent();
        if (!ev.isEnabled()) {
            return null;
        }
        ev.begin();
        return ev;
    }

    private void observe(long ctx, long t0, CallEvent ev, Throwable failure) {
        if (latency != null) {
            latency.record(System.nanoTime() - t0);
        }
        if (ev != null) {
            ev.end();
            if (ev.shouldCommit()) {
                ev.engine = engine.name();
                ev.op = name;
                ev.context = ctx;
                ev.engineTime = core.counters.engineTimeOf(id);
                ev.outcome = outcome(failure);
                ev.commit();
            }
        }
    }

    private static String outcome(Throwable failure) {
        return switch (failure) {
            case null -> "ok";
            case CallFailedException f -> "failed";
            case TimeoutException t -> "timed out";
            case CallInterruptedException i -> "interrupted";
            case EngineClosedException c -> "closed";
            default -> "error";
        };
    }

    /** A timeout in ns; a timeout too long for a long means none. */
    static long nanos(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        try {
            return timeout.toNanos();
        } catch (ArithmeticException tooLong) {
            return timeout.isNegative() ? 0 : EngineCore.NO_DEADLINE;
        }
    }

    /**
     * The name the op was registered under.
     *
     * @return the op's name
     */
    public final String name() {
        return name;
    }

    /**
     * The engine-assigned id.
     *
     * @return the id calls carry
     */
    public final int id() {
        return id;
    }

    /**
     * The flags the op was registered with.
     *
     * @return the flags
     */
    public final int flags() {
        return flags;
    }

    @Override
    public final String toString() {
        return getClass().getSimpleName() + "[" + name + ", id=" + id + ", flags=0x" + Integer.toHexString(flags)
                + "]";
    }
}
