package io.ferry;

import io.ferry.internal.AsyncCall;
import io.ferry.internal.EngineCore;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * An isolated scope of variables and permissions that every call carries to its engine: Ferry's take on
 * Deephaven's {@code ExecutionContext}.
 *
 * <ul>
 *   <li>Every engine has a <b>systemic</b> context ({@link Engine#systemContext()}); <b>user</b> contexts
 *       are made from it or from any other context with {@link #child()}.
 *   <li>A context's <b>variables</b> live on the engine thread; ops see only the scope of the context
 *       their call carries. A child can take a snapshot of named variables of its parent when it is made
 *       ({@link Builder#freeze}); later changes in the parent do not reach it, and it cannot change them.
 *   <li><b>Permissions</b> are checked by the engine, in C, on every call: a read-only context refuses
 *       ops that change engine state, a context limited to a set of ops refuses all others. A child is
 *       never allowed more than its parent.
 *   <li>{@code try (var s = ctx.open()) { ... }} makes the context the thread's current one (Python's
 *       {@code with ctx:}); calls that name no context use it; {@link #current()} returns it.
 *   <li>Work handed to other threads keeps its context: {@link #wrap(Runnable)} and friends, and
 *       {@link #propagate(ExecutorService)} which carries each submitter's current context along.
 * </ul>
 *
 * <p>A context is an immutable handle: share it with any number of threads. {@link #close()} frees its
 * scope on the engine; calls that still carry it fail cleanly; closing the engine closes all of them.
 */
public final class ExecutionContext implements AutoCloseable {
    private static final ThreadLocal<Scope> CURRENT = new ThreadLocal<>();
    private static final int VAR_I64 = 1, VAR_F64 = 2, VAR_STRING = 3, VAR_BYTES = 4;
    private static final int CTX_READ_ONLY = 0x1;
    private static final int NO_OP_SET = -1;
    /** close() claims the one ctx_close with a CAS, so racing closers never send it twice. */
    private static final VarHandle CLOSED;

    static {
        try {
            CLOSED = MethodHandles.lookup().findVarHandle(ExecutionContext.class, "closed", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final Engine engine;
    private final EngineCore core;
    private final long id;
    private final String name;
    private final boolean readOnly;
    private final List<String> ops; // null: every op
    @SuppressWarnings("unused") // written through CLOSED
    private volatile boolean closed;

    ExecutionContext(Engine engine, EngineCore core, long id, String name, boolean readOnly, List<String> ops) {
        this.engine = engine;
        this.core = core;
        this.id = id;
        this.name = name;
        this.readOnly = readOnly;
        this.ops = ops;
    }

    // ---- the current context ----------------------------------------------------------------------

    /**
     * The thread's current context: the innermost one opened with {@link #open()} and not yet closed
     * (Deephaven's {@code get_exec_ctx()}).
     *
     * @throws NoContextException if no context is open on this thread, with how to fix it
     */
    public static ExecutionContext current() {
        Scope s = CURRENT.get();
        if (s == null) {
            throw new NoContextException(missing(null));
        }
        return s.context;
    }

    /** The thread's current context, if one is open. */
    public static Optional<ExecutionContext> currentIfOpen() {
        Scope s = CURRENT.get();
        return s == null ? Optional.empty() : Optional.of(s.context);
    }

    /** The innermost context of {@code engine} open on this thread, or null. */
    static ExecutionContext currentFor(Engine engine) {
        for (Scope s = CURRENT.get(); s != null; s = s.previous) {
            if (s.context.engine == engine) {
                return s.context;
            }
        }
        return null;
    }

    static String missing(Engine engine) {
        return "No ExecutionContext " + (engine == null ? "" : "of engine '" + engine.name() + "' ")
                + "is open on thread '" + Thread.currentThread().getName() + "'. Open one around the work: "
                + "try (var scope = ctx.open()) { ... }; or, for work that runs on other threads, capture it "
                + "with ctx.wrap(task), ctx.wrap(executor) or ExecutionContext.propagate(executor). "
                + "Every engine has one: engine.systemContext()";
    }

    /**
     * Makes this context the thread's current one until the returned scope is closed; scopes nest, and
     * closing one restores the context that was current before it.
     */
    public Scope open() {
        checkOpen();
        Scope s = new Scope(this, CURRENT.get(), Thread.currentThread());
        CURRENT.set(s);
        return s;
    }

    /** A context made current on one thread by {@link #open()}; close it in the reverse order of opening. */
    public static final class Scope implements AutoCloseable {
        private final ExecutionContext context;
        private final Scope previous;
        private final Thread thread;
        private boolean closed;

        private Scope(ExecutionContext context, Scope previous, Thread thread) {
            this.context = context;
            this.previous = previous;
            this.thread = thread;
        }

        public ExecutionContext context() {
            return context;
        }

        /**
         * Restores the context that was current when this scope was opened.
         *
         * @throws IllegalStateException if another scope opened after this one is still open, or this is
         *         not the thread that opened it
         */
        @Override
        public void close() {
            if (closed) {
                return;
            }
            if (Thread.currentThread() != thread) {
                throw new IllegalStateException("scope of context '" + context.name + "' was opened on thread '"
                        + thread.getName() + "' and must be closed there, not on '"
                        + Thread.currentThread().getName() + "'");
            }
            Scope top = CURRENT.get();
            if (top != this) {
                throw new IllegalStateException("scopes closed out of order: closing the scope of context '"
                        + context.name + "' while the scope of context '"
                        + (top == null ? "(none)" : top.context.name) + "', opened after it, is still open; "
                        + "close the innermost scope first (try-with-resources does)");
            }
            closed = true;
            if (previous == null) {
                CURRENT.remove();
            } else {
                CURRENT.set(previous);
            }
        }
    }

    // ---- deferred work ----------------------------------------------------------------------------

    /** A runnable that runs {@code task} under this context on whatever thread calls it. */
    public Runnable wrap(Runnable task) {
        Objects.requireNonNull(task, "task");
        return () -> {
            try (Scope s = open()) {
                task.run();
            }
        };
    }

    /** A callable that runs {@code task} under this context on whatever thread calls it. */
    public <T> Callable<T> wrap(Callable<T> task) {
        Objects.requireNonNull(task, "task");
        return () -> {
            try (Scope s = open()) {
                return task.call();
            }
        };
    }

    /**
     * A supplier that runs {@code task} under this context, for {@code CompletableFuture.supplyAsync}.
     * (Not an overload of {@code wrap}: a lambda would fit both Supplier and Callable.)
     */
    public <T> Supplier<T> wrapSupplier(Supplier<T> task) {
        Objects.requireNonNull(task, "task");
        return () -> {
            try (Scope s = open()) {
                return task.get();
            }
        };
    }

    /** A function that runs {@code f} under this context on whatever thread calls it. */
    public <T, R> Function<T, R> wrap(Function<T, R> f) {
        Objects.requireNonNull(f, "f");
        return t -> {
            try (Scope s = open()) {
                return f.apply(t);
            }
        };
    }

    /** An executor that runs every task under this context. */
    public Executor wrap(Executor executor) {
        Objects.requireNonNull(executor, "executor");
        return task -> executor.execute(wrap(task));
    }

    /** An executor service that runs every task under this context; shutting it down shuts down the delegate. */
    public ExecutorService wrap(ExecutorService executor) {
        Objects.requireNonNull(executor, "executor");
        return new ContextExecutorService(executor, task -> wrap(task));
    }

    /**
     * An executor service that runs each task under the context that was current on the thread that
     * submitted it (tasks submitted with none open run with none): contexts follow the work.
     */
    public static ExecutorService propagate(ExecutorService executor) {
        Objects.requireNonNull(executor, "executor");
        return new ContextExecutorService(executor, task -> {
            Scope s = CURRENT.get();
            return s == null ? task : s.context.wrap(task);
        });
    }

    private static final class ContextExecutorService extends AbstractExecutorService {
        private final ExecutorService delegate;
        private final Function<Runnable, Runnable> wrapper;

        ContextExecutorService(ExecutorService delegate, Function<Runnable, Runnable> wrapper) {
            this.delegate = delegate;
            this.wrapper = wrapper;
        }

        @Override
        public void execute(Runnable command) {
            delegate.execute(wrapper.apply(Objects.requireNonNull(command, "command")));
        }

        @Override
        public void shutdown() {
            delegate.shutdown();
        }

        @Override
        public List<Runnable> shutdownNow() {
            return delegate.shutdownNow();
        }

        @Override
        public boolean isShutdown() {
            return delegate.isShutdown();
        }

        @Override
        public boolean isTerminated() {
            return delegate.isTerminated();
        }

        @Override
        public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
            return delegate.awaitTermination(timeout, unit);
        }
    }

    // ---- user contexts ----------------------------------------------------------------------------

    /** Starts a new context made from this one (Deephaven's {@code make_user_exec_ctx}). */
    public Builder child() {
        checkOpen();
        return new Builder(this);
    }

    /** Configures a child context; {@link #create()} makes it on the engine. */
    public static final class Builder {
        private final ExecutionContext parent;
        private String name;
        private final List<String> freeze = new ArrayList<>();
        private boolean readOnly;
        private List<String> ops;
        private int openFlags;

        private Builder(ExecutionContext parent) {
            this.parent = parent;
        }

        /** A name for messages. Default: "ctx-N". */
        public Builder name(String name) {
            this.name = Objects.requireNonNull(name, "name");
            return this;
        }

        /**
         * Snapshots these variables of the parent into the new context ({@code freeze_vars=[...]}): later
         * changes in the parent are not seen, and the child cannot change them. A name the parent does
         * not have fails {@link #create()} with an exception naming it.
         */
        public Builder freeze(String... names) {
            for (String n : names) {
                freeze.add(Objects.requireNonNull(n, "name"));
            }
            return this;
        }

        /** The new context refuses ops that change engine state (flagged mutating). */
        public Builder readOnly() {
            this.readOnly = true;
            return this;
        }

        /** The new context may run only these ops (and Ferry's own scope and context operations). */
        public Builder allowOps(Op... allowed) {
            this.ops = new ArrayList<>();
            for (Op op : allowed) {
                if (op.engine != parent.engine) {
                    throw new IllegalArgumentException("op '" + op.name() + "' belongs to another engine");
                }
                this.ops.add(op.name());
            }
            return this;
        }

        /** Engine-defined flags passed to the engine's context open hook (ferry.h FERRY_CTX_OPEN_*). */
        public Builder engineFlags(int flags) {
            if ((flags & 0xff) != 0) {
                throw new IllegalArgumentException("engineFlags=0x" + Integer.toHexString(flags)
                        + ": the low 8 bits are Ferry's own");
            }
            this.openFlags = flags;
            return this;
        }

        /**
         * Makes the context on the engine thread.
         *
         * @throws CallFailedException if a frozen name does not exist in the parent (the message names
         *         it) or the engine refused the context
         */
        public ExecutionContext create() {
            String n = name != null ? name : parent.engine.nextContextName();
            byte[] nameBytes = n.getBytes(StandardCharsets.UTF_8);
            List<byte[]> frozen = new ArrayList<>();
            int size = 4 + nameBytes.length + 4 + 4;
            for (String f : freeze) {
                byte[] b = f.getBytes(StandardCharsets.UTF_8);
                frozen.add(b);
                size += 4 + b.length;
            }
            List<Op> allowed = new ArrayList<>();
            if (ops != null) {
                for (String o : ops) {
                    allowed.add(parent.engine.op(o));
                }
                size += 4 * allowed.size();
            }
            ByteBuffer in = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
            in.putInt(nameBytes.length).put(nameBytes).putInt(frozen.size());
            for (byte[] b : frozen) {
                in.putInt(b.length).put(b);
            }
            in.putInt(ops == null ? NO_OP_SET : allowed.size());
            for (Op op : allowed) {
                in.putInt(op.id);
            }
            long newId = parent.call(parent.engine.systemOp("ferry.ctx_create"),
                    (readOnly ? CTX_READ_ONLY : 0) | openFlags, in.array());
            // The engine makes a child of a read-only parent read-only, and narrows its op set to the parent's.
            List<String> effectiveOps = ops;
            if (parent.ops != null) {
                effectiveOps = new ArrayList<>(ops == null ? parent.ops : ops);
                effectiveOps.retainAll(parent.ops);
            }
            return new ExecutionContext(parent.engine, parent.core, newId, n, readOnly || parent.readOnly,
                    effectiveOps == null ? null : List.copyOf(effectiveOps));
        }
    }

    // ---- variables --------------------------------------------------------------------------------

    /** Sets a 64-bit integer variable in this context's scope. */
    public void set(String name, long value) {
        setVar(name, VAR_I64, value, null);
    }

    /** Sets a double variable in this context's scope. */
    public void set(String name, double value) {
        setVar(name, VAR_F64, Double.doubleToRawLongBits(value), null);
    }

    /** Sets a text variable in this context's scope. */
    public void set(String name, String value) {
        setVar(name, VAR_STRING, 0, value.getBytes(StandardCharsets.UTF_8));
    }

    /** Sets a byte-array variable in this context's scope (the bytes are copied). */
    public void set(String name, byte[] value) {
        setVar(name, VAR_BYTES, 0, Objects.requireNonNull(value, "value"));
    }

    private void setVar(String var, int type, long scalar, byte[] value) {
        byte[] n = var.getBytes(StandardCharsets.UTF_8);
        ByteBuffer in = ByteBuffer.allocate(4 + n.length + (value == null ? 0 : value.length))
                .order(ByteOrder.LITTLE_ENDIAN);
        in.putInt(n.length).put(n);
        if (value != null) {
            in.put(value);
        }
        callLongWithInput(engine.systemOp("ferry.var_set"), type, scalar, in.array());
    }

    /** A variable's value: Long, Double, String or byte[]; the engine's code and message if it has none. */
    public Object get(String name) {
        byte[] out = call(engine.systemOp("ferry.var_get"), name.getBytes(StandardCharsets.UTF_8));
        ByteBuffer b = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        int type = b.getInt();
        b.getInt(); // frozen
        return switch (type) {
            case VAR_I64 -> b.getLong();
            case VAR_F64 -> b.getDouble();
            case VAR_STRING -> new String(out, 8, out.length - 8, StandardCharsets.UTF_8);
            case VAR_BYTES -> java.util.Arrays.copyOfRange(out, 8, out.length);
            default -> throw new FerryException("variable '" + name + "' has an unknown type " + type);
        };
    }

    /** Whether a variable was frozen into this context from its parent. */
    public boolean isFrozen(String name) {
        byte[] out = call(engine.systemOp("ferry.var_get"), name.getBytes(StandardCharsets.UTF_8));
        return ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).getInt(4) != 0;
    }

    public long getLong(String name) {
        return typed(name, Long.class);
    }

    public double getDouble(String name) {
        return typed(name, Double.class);
    }

    public String getString(String name) {
        return typed(name, String.class);
    }

    public byte[] getBytes(String name) {
        return typed(name, byte[].class);
    }

    private <T> T typed(String var, Class<T> type) {
        Object v = get(var);
        if (!type.isInstance(v)) {
            throw new IllegalArgumentException("variable '" + var + "' of context '" + name + "' is a "
                    + v.getClass().getSimpleName() + ", not a " + type.getSimpleName());
        }
        return type.cast(v);
    }

    /** Removes a variable; returns whether it existed. A frozen variable cannot be removed. */
    public boolean unset(String name) {
        return callLongWithInput(engine.systemOp("ferry.var_unset"), 0, 0, name.getBytes(StandardCharsets.UTF_8)) != 0;
    }

    // ---- calls in this context --------------------------------------------------------------------

    /** Calls an op that takes no arguments in this context. */
    public long call(Op op) {
        return call(op, 0, 0);
    }

    /** Calls an op with one 64-bit argument in this context. */
    public long call(Op op, long a) {
        return call(op, a, 0);
    }

    /** Calls an op with two 64-bit arguments in this context; allocates nothing. See {@link Engine#call(Op, long, long)}. */
    public long call(Op op, long a, long b) {
        engine.checkShape(op, 0);
        checkOpen();
        return core.callLong(op, id, a, b);
    }

    /** See {@link Engine#call(Op, long, long, Duration)}. */
    public long call(Op op, long a, long b, Duration timeout) throws TimeoutException {
        engine.checkShape(op, 0);
        checkOpen();
        return core.callLong(op, id, a, b, null, timeout.toNanos());
    }

    /** See {@link Engine#tryCall(Op, long, long)}. */
    public long tryCall(Op op, long a, long b) {
        engine.checkShape(op, 0);
        checkOpen();
        return core.tryCallLong(op, id, a, b);
    }

    /** See {@link Engine#callDouble(Op, double, double)}. */
    public double callDouble(Op op, double a, double b) {
        engine.checkShape(op, Op.F64);
        checkOpen();
        return Double.longBitsToDouble(
                core.callLong(op, id, Double.doubleToRawLongBits(a), Double.doubleToRawLongBits(b)));
    }

    /** See {@link Engine#call(Op, byte[])}. */
    public byte[] call(Op op, byte[] input) {
        engine.checkShape(op, Op.IN_BYTES | Op.OUT_BYTES);
        checkOpen();
        try {
            return core.callBytes(op, id, 0, Objects.requireNonNull(input, "input"), EngineCore.NO_DEADLINE);
        } catch (TimeoutException impossible) {
            throw new AssertionError(impossible);
        }
    }

    /** See {@link Engine#call(Op, byte[], Duration)}. */
    public byte[] call(Op op, byte[] input, Duration timeout) throws TimeoutException {
        engine.checkShape(op, Op.IN_BYTES | Op.OUT_BYTES);
        checkOpen();
        return core.callBytes(op, id, 0, Objects.requireNonNull(input, "input"), timeout.toNanos());
    }

    /** See {@link Engine#call(Op, String)}. */
    public String call(Op op, String input) {
        return new String(call(op, input.getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8);
    }

    /** See {@link Engine#call(Op, long, byte[])}. */
    public long call(Op op, long a, byte[] input) {
        engine.checkShape(op, Op.IN_BYTES);
        return callLongWithInput(op, a, 0, input);
    }

    private long callLongWithInput(Op op, long a, long b, byte[] input) {
        checkOpen();
        try {
            return core.callLong(op, id, a, b, Objects.requireNonNull(input, "input"), EngineCore.NO_DEADLINE);
        } catch (TimeoutException impossible) {
            throw new AssertionError(impossible);
        }
    }

    /** See {@link Engine#callBatch(Op, long[], long[], long[])}. */
    public void callBatch(Op op, long[] a, long[] b, long[] results) {
        engine.checkShape(op, 0);
        Objects.requireNonNull(a, "a");
        Objects.requireNonNull(results, "results");
        if (a.length < results.length || (b != null && b.length < results.length)) {
            throw new IllegalArgumentException("callBatch: a.length=" + a.length + ", b.length="
                    + (b == null ? "null" : b.length) + " must be >= results.length=" + results.length);
        }
        checkOpen();
        core.callBatch(op, id, a, b, results);
    }

    /** See {@link Engine#callAsync(Op, long, long)}. */
    public CompletableFuture<Long> callAsync(Op op, long a, long b) {
        engine.checkShape(op, 0);
        checkOpen();
        return core.callAsync(op, id, a, b, null, AsyncCall.KIND_LONG);
    }

    /** See {@link Engine#callAsync(Op, byte[])}. */
    public CompletableFuture<byte[]> callAsync(Op op, byte[] input) {
        engine.checkShape(op, Op.IN_BYTES | Op.OUT_BYTES);
        checkOpen();
        return core.callAsync(op, id, 0, 0, Objects.requireNonNull(input, "input"), AsyncCall.KIND_BYTES);
    }

    /** See {@link Engine#callAsync(Op, String)}. */
    public CompletableFuture<String> callAsync(Op op, String input) {
        engine.checkShape(op, Op.IN_BYTES | Op.OUT_BYTES);
        checkOpen();
        return core.callAsync(op, id, 0, 0, input.getBytes(StandardCharsets.UTF_8), AsyncCall.KIND_STRING);
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("context '" + name + "' is closed");
        }
    }

    // ---- identity and lifetime --------------------------------------------------------------------

    public Engine engine() {
        return engine;
    }

    public String name() {
        return name;
    }

    /** The id calls carry: generation in the high 32 bits, index in the low. */
    public long id() {
        return id;
    }

    public boolean isSystemic() {
        return id == engine.systemContext().id;
    }

    public boolean isReadOnly() {
        return readOnly;
    }

    /** The ops this context may run, or empty if it may run every op. */
    public Optional<Collection<String>> allowedOps() {
        return Optional.ofNullable(ops);
    }

    public boolean isClosed() {
        return closed || engine.isClosed();
    }

    /**
     * Frees this context's scope on the engine; later calls carrying it fail cleanly. Idempotent. The
     * systemic context closes with its engine, not here.
     *
     * @throws IllegalStateException for the systemic context
     */
    @Override
    public void close() {
        if (isSystemic()) {
            throw new IllegalStateException("the systemic context of engine '" + engine.name()
                    + "' closes with its engine");
        }
        if (!CLOSED.compareAndSet(this, false, true) || engine.isClosed()) {
            return; // another close() won, or the engine closed every context with itself
        }
        try {
            core.callLong(engine.systemOp("ferry.ctx_close"), id, 0, 0);
        } catch (EngineClosedException alreadyGone) {
            // The engine closed meanwhile, and closed this context with it.
        }
    }

    @Override
    public String toString() {
        return "ExecutionContext[" + name + ", id=0x" + Long.toHexString(id) + (readOnly ? ", read-only" : "")
                + (ops != null ? ", ops=" + ops : "") + (isClosed() ? ", closed" : "") + "]";
    }
}
