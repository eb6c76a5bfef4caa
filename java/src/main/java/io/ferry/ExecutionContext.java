package io.ferry;

import io.ferry.internal.EngineCore;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
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
 *   <li>A context's <b>variables</b> live on the engine thread ({@link #set(String, long)},
 *       {@link #get(String)} and the rest); ops see only the scope of the context their call carries. A child can take a snapshot of named variables of its parent when it is made
 *       ({@link ContextBuilder#freeze}); later changes in the parent do not reach it, and it cannot change them.
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
public final class ExecutionContext extends ContextVariables implements AutoCloseable {
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
     * @return the current context
     * @throws NoContextException if no context is open on this thread, with how to fix it
     */
    public static ExecutionContext current() {
        ContextScope s = ContextScope.innermost();
        if (s == null) {
            throw NoContextException.onThisThread(null);
        }
        return s.context();
    }

    /**
     * The thread's current context, if one is open.
     *
     * @return the current context, or empty if none is open on this thread
     */
    public static Optional<ExecutionContext> currentIfOpen() {
        ContextScope s = ContextScope.innermost();
        return s == null ? Optional.empty() : Optional.of(s.context());
    }

    /** The innermost context of {@code engine} open on this thread, or null. */
    static ExecutionContext currentFor(Engine engine) {
        return ContextScope.innermostOf(engine);
    }

    /**
     * Makes this context the thread's current one until the returned scope is closed; scopes nest, and
     * closing one restores the context that was current before it.
     *
     * @return the scope, to close on this thread
     * @throws IllegalStateException if this context is closed
     */
    public ContextScope open() {
        checkOpen();
        return ContextScope.open(this);
    }

    // ---- deferred work ----------------------------------------------------------------------------

    /**
     * A runnable that runs {@code task} under this context on whatever thread calls it.
     *
     * @param task the work
     * @return the wrapped task
     */
    public Runnable wrap(Runnable task) {
        return ContextExecutorService.wrap(this, task);
    }

    /**
     * A callable that runs {@code task} under this context on whatever thread calls it.
     *
     * @param <T> the task's result type
     * @param task the work
     * @return the wrapped task
     */
    public <T> Callable<T> wrap(Callable<T> task) {
        return ContextExecutorService.wrap(this, task);
    }

    /**
     * A supplier that runs {@code task} under this context, for {@code CompletableFuture.supplyAsync}.
     * (Not an overload of {@code wrap}: a lambda would fit both Supplier and Callable.)
     *
     * @param <T> the supplier's result type
     * @param task the work
     * @return the wrapped supplier
     */
    public <T> Supplier<T> wrapSupplier(Supplier<T> task) {
        return ContextExecutorService.wrapSupplier(this, task);
    }

    /**
     * A function that runs {@code f} under this context on whatever thread calls it.
     *
     * @param <T> the function's argument type
     * @param <R> the function's result type
     * @param f the function
     * @return the wrapped function
     */
    public <T, R> Function<T, R> wrap(Function<T, R> f) {
        return ContextExecutorService.wrap(this, f);
    }

    /**
     * An executor that runs every task under this context.
     *
     * @param executor the executor that runs the tasks
     * @return the wrapping executor
     */
    public Executor wrap(Executor executor) {
        Objects.requireNonNull(executor, "executor");
        return task -> executor.execute(wrap(task));
    }

    /**
     * An executor service that runs every task under this context; shutting it down shuts down the delegate.
     *
     * @param executor the executor service that runs the tasks
     * @return the wrapping executor service
     */
    public ExecutorService wrap(ExecutorService executor) {
        Objects.requireNonNull(executor, "executor");
        return new ContextExecutorService(executor, task -> wrap(task));
    }

    /**
     * An executor service that runs each task under the context that was current on the thread that
     * submitted it (tasks submitted with none open run with none): contexts follow the work.
     *
     * @param executor the executor service that runs the tasks
     * @return the propagating executor service; shutting it down shuts down the delegate
     */
    public static ExecutorService propagate(ExecutorService executor) {
        Objects.requireNonNull(executor, "executor");
        return new ContextExecutorService(executor, task -> {
            ContextScope s = ContextScope.innermost();
            return s == null ? task : s.context().wrap(task);
        });
    }

    // ---- user contexts ----------------------------------------------------------------------------

    /**
     * Starts a new context made from this one (Deephaven's {@code make_user_exec_ctx}).
     *
     * @return a builder of the child context
     * @throws IllegalStateException if this context is closed
     */
    public ContextBuilder child() {
        checkOpen();
        return new ContextBuilder(this);
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

    /**
     * The engine this context belongs to.
     *
     * @return the engine
     */
    public Engine engine() {
        return engine;
    }

    /**
     * The context's name, for messages.
     *
     * @return the name
     */
    public String name() {
        return name;
    }

    /**
     * The id calls carry: generation in the high 32 bits, index in the low.
     *
     * @return the id
     */
    public long id() {
        return id;
    }

    /**
     * Whether this is its engine's systemic context.
     *
     * @return true for the systemic context
     */
    public boolean isSystemic() {
        return id == engine.systemContext().id;
    }

    /**
     * Whether this context refuses ops that change engine state.
     *
     * @return true if read-only
     */
    public boolean isReadOnly() {
        return readOnly;
    }

    /**
     * The ops this context may run.
     *
     * @return their names, or empty if it may run every op
     */
    public Optional<Collection<String>> allowedOps() {
        return Optional.ofNullable(ops);
    }

    /** For ContextBuilder: the ops this context may run, or null for every op. */
    List<String> allowedOpNames() {
        return ops;
    }

    /** For ContextBuilder: the core its children's calls go through. */
    EngineCore core() {
        return core;
    }

    /**
     * Whether this context, or its engine, is closed.
     *
     * @return true once closed
     */
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
            core.counters.context(name, id, false); // jfr: io.ferry.ContextClose
        } catch (EngineClosedException alreadyGone) {
            // The engine closed meanwhile, and closed this context with it.
        }
    }

    // ---- Java tasks in this context -------------------------------------------------------------

    /**
     * {@link Engine#run(Runnable)} in this context: the task's call carries this context's id, so
     * {@link Task#context()} and {@link ContextLocal#get()} inside it are this context's.
     *
     * @param task the work
     */
    public void run(Runnable task) {
        engine.tasks.run(this, task);
    }

    /**
     * {@link Engine#call(Callable)} in this context.
     *
     * @param <T> the result type
     * @param task the work
     * @return what the task returned
     */
    public <T> T call(Callable<T> task) {
        return engine.tasks.call(this, task, Long.MAX_VALUE);
    }

    /**
     * {@link Engine#call(Callable, java.time.Duration)} in this context.
     *
     * @param <T> the result type
     * @param task the work
     * @param timeout how long to wait
     * @return what the task returned
     * @throws java.util.concurrent.TimeoutException if it did not finish in time
     */
    public <T> T call(Callable<T> task, java.time.Duration timeout) throws java.util.concurrent.TimeoutException {
        return engine.tasks.call(this, task, timeout.toNanos());
    }

    /**
     * {@link Engine#callLong} in this context.
     *
     * @param task the work
     * @return what the task returned
     */
    public long callLong(java.util.function.LongSupplier task) {
        return engine.tasks.callLong(this, task);
    }

    /**
     * {@link Engine#callDouble} in this context.
     *
     * @param task the work
     * @return what the task returned
     */
    public double callDouble(java.util.function.DoubleSupplier task) {
        return engine.tasks.callDouble(this, task);
    }

    /**
     * {@link Engine#callAsync} in this context.
     *
     * @param <T> the result type
     * @param task the work
     * @return the task's future
     */
    public <T> java.util.concurrent.CompletableFuture<T> callAsync(Callable<T> task) {
        return engine.tasks.callAsync(this, TaskCell.KIND_CALL, task);
    }

    /**
     * {@link Engine#runAsync} in this context.
     *
     * @param task the work
     * @return the task's future
     */
    public java.util.concurrent.CompletableFuture<Void> runAsync(Runnable task) {
        return engine.tasks.callAsync(this, TaskCell.KIND_RUN, task);
    }

    @Override
    public String toString() {
        return "ExecutionContext[" + name + ", id=0x" + Long.toHexString(id) + (readOnly ? ", read-only" : "")
                + (ops != null ? ", ops=" + ops : "") + (isClosed() ? ", closed" : "") + "]";
    }
}
