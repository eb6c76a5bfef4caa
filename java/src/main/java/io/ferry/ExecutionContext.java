package io.ferry;

import io.ferry.internal.EngineCore;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
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
    private static final int CTX_READ_ONLY = 0x1;
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
            throw NoContextException.onThisThread(null);
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
        return ContextExecutorService.wrap(this, task);
    }

    /** A callable that runs {@code task} under this context on whatever thread calls it. */
    public <T> Callable<T> wrap(Callable<T> task) {
        return ContextExecutorService.wrap(this, task);
    }

    /**
     * A supplier that runs {@code task} under this context, for {@code CompletableFuture.supplyAsync}.
     * (Not an overload of {@code wrap}: a lambda would fit both Supplier and Callable.)
     */
    public <T> Supplier<T> wrapSupplier(Supplier<T> task) {
        return ContextExecutorService.wrapSupplier(this, task);
    }

    /** A function that runs {@code f} under this context on whatever thread calls it. */
    public <T, R> Function<T, R> wrap(Function<T, R> f) {
        return ContextExecutorService.wrap(this, f);
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
        private List<Op> ops; // null: every op
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
            for (Op op : allowed) {
                if (OpBase.base(op).engine != parent.engine) {
                    throw new IllegalArgumentException("op '" + op.name() + "' belongs to another engine");
                }
            }
            this.ops = List.of(allowed);
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
            long newId = parent.engine.systemOp("ferry.ctx_create", BytesToLongOp.class).call(parent,
                    (readOnly ? CTX_READ_ONLY : 0) | openFlags, ContextWire.createRequest(n, freeze, ops));
            // The engine makes a child of a read-only parent read-only, and narrows its op set to the parent's.
            List<String> names = ContextWire.narrow(ops, parent.ops);
            return new ExecutionContext(parent.engine, parent.core, newId, n, readOnly || parent.readOnly, names);
        }
    }

    // ---- variables --------------------------------------------------------------------------------

    /** Sets a 64-bit integer variable in this context's scope. */
    public void set(String name, long value) {
        setVar(name, ContextWire.VAR_I64, value, null);
    }

    /** Sets a double variable in this context's scope. */
    public void set(String name, double value) {
        setVar(name, ContextWire.VAR_F64, Double.doubleToRawLongBits(value), null);
    }

    /** Sets a text variable in this context's scope. */
    public void set(String name, String value) {
        setVar(name, ContextWire.VAR_STRING, 0, value.getBytes(StandardCharsets.UTF_8));
    }

    /** Sets a byte-array variable in this context's scope (the bytes are copied). */
    public void set(String name, byte[] value) {
        setVar(name, ContextWire.VAR_BYTES, 0, Objects.requireNonNull(value, "value"));
    }

    private void setVar(String var, int type, long scalar, byte[] value) {
        OpBase.base(engine.systemOp("ferry.var_set")).callLong(callId(), type, scalar, ContextWire.varSetRequest(var, value));
    }

    /** A variable's value: Long, Double, String or byte[]; the engine's code and message if it has none. */
    public Object get(String name) {
        return ContextWire.value(name, engine.systemOp("ferry.var_get", BytesOp.class).call(this, name.getBytes(StandardCharsets.UTF_8)));
    }

    /** Whether a variable was frozen into this context from its parent. */
    public boolean isFrozen(String name) {
        byte[] out = engine.systemOp("ferry.var_get", BytesOp.class).call(this, name.getBytes(StandardCharsets.UTF_8));
        return ContextWire.frozen(out);
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
        return engine.systemOp("ferry.var_unset", BytesToLongOp.class).call(this, 0, name.getBytes(StandardCharsets.UTF_8)) != 0;
    }

    /** The id a call in this context carries; checks the context is open. */
    long callId() {
        checkOpen();
        return id;
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
