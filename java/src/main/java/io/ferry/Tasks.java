package io.ferry;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.DoubleSupplier;
import java.util.function.LongSupplier;

/**
 * An engine's Java tasks: submission through the internal op {@code ferry.task} (see {@link TaskCell}
 * for the cell protocol), the engine-thread side the upcall runs ({@link TaskUpcall}), the context
 * locals and the start and stop hooks. Fields below "engine thread only" are touched by that thread
 * alone, so they need no ordering.
 */
final class Tasks {
    static final System.Logger LOG = System.getLogger("io.ferry.tasks");
    /** The engine whose thread this is, set on that thread when its first task runs. */
    static final ThreadLocal<Tasks> CURRENT = new ThreadLocal<>();
    /** What the upcall returns to fail a stale ferry.task call (FERRY_E_NOT_FOUND: no such task waits). */
    static final int E_STALE = -12;

    private final Engine engine;
    private volatile LongOp op;

    // Configured before start, read-only afterwards.
    private final List<ContextLocal<?>> locals = new ArrayList<>();
    private final List<Runnable> onStart = new ArrayList<>();
    private final List<Runnable> onStop = new ArrayList<>();

    // ---- engine thread only ----
    private boolean bound;
    /** The cell the engine is running from the ring now (null between tasks). */
    TaskCell running;
    /** The ferry_call of {@link #running}, for ferry_call_var. */
    long runningCall;
    /** The context of the innermost task running now (inline tasks swap it). */
    ExecutionContext currentContext;
    /** Context locals' values by context index (the low 32 bits of its id), with the id they belong to. */
    private Object[][] values = new Object[8][];
    private long[] valueIds = new long[8];

    Tasks(Engine engine) {
        this.engine = engine;
    }

    Engine engine() {
        return engine;
    }

    /** For EngineBuilder, before the first task. */
    void configure(List<ContextLocal<?>> contextLocals, List<Runnable> startHooks, List<Runnable> stopHooks) {
        for (ContextLocal<?> l : contextLocals) {
            l.attach(this, locals.size());
            locals.add(l);
        }
        onStart.addAll(startHooks);
        onStop.addAll(stopHooks);
    }

    /** For EngineBuilder: binds the engine thread, opens the systemic context's locals, runs the start hooks. */
    void start() {
        run(engine.systemContext(), () -> {
            for (Runnable r : onStart) {
                r.run();
            }
        });
    }

    private LongOp op() {
        LongOp o = op;
        if (o == null) {
            TaskUpcall.install();
            o = engine.systemOp("ferry.task", LongOp.class);
            op = o;
        }
        return o;
    }

    // ---- callers --------------------------------------------------------------------------------------

    /** The context a task that names none runs in: the running task's on the engine thread, else the caller's. */
    ExecutionContext defaultContext() {
        if (engine.isEngineThread()) {
            ExecutionContext c = currentContext;
            if (c != null) {
                return c;
            }
        }
        return engine.context();
    }

    // The sync entry points: on the engine thread itself a task runs inline (it would wait on itself).

    void run(ExecutionContext ctx, Runnable task) {
        if (engine.isEngineThread()) {
            inlineUnchecked(ctx, TaskCell.KIND_RUN, task);
            return;
        }
        TaskCell c = submit(ctx, TaskCell.KIND_RUN, task, Long.MAX_VALUE);
        finish(c, c.failure);
    }

    <T> T call(ExecutionContext ctx, Callable<T> task, long timeoutNs) {
        if (engine.isEngineThread()) {
            return inlineUnchecked(ctx, TaskCell.KIND_CALL, task);
        }
        TaskCell c = submit(ctx, TaskCell.KIND_CALL, task, timeoutNs);
        @SuppressWarnings("unchecked")
        T r = (T) c.result;
        finish(c, c.failure);
        return r;
    }

    long callLong(ExecutionContext ctx, LongSupplier task) {
        if (engine.isEngineThread()) {
            return this.<Long>inlineUnchecked(ctx, TaskCell.KIND_LONG, task);
        }
        TaskCell c = submit(ctx, TaskCell.KIND_LONG, task, Long.MAX_VALUE);
        long r = c.longResult;
        finish(c, c.failure);
        return r;
    }

    double callDouble(ExecutionContext ctx, DoubleSupplier task) {
        if (engine.isEngineThread()) {
            return this.<Double>inlineUnchecked(ctx, TaskCell.KIND_DOUBLE, task);
        }
        TaskCell c = submit(ctx, TaskCell.KIND_DOUBLE, task, Long.MAX_VALUE);
        double r = c.doubleResult;
        finish(c, c.failure);
        return r;
    }

    /** Releases a DONE cell (its outcome read), then throws the task's failure, if any. */
    private static void finish(TaskCell c, Throwable failure) {
        long s = c.stamp();
        if (c.cas(TaskCell.word(s, TaskCell.DONE), TaskCell.word(s, TaskCell.RELEASING))) {
            c.release(s);
        }
        if (failure != null) {
            throw rethrow(failure);
        }
    }

    /** A task's failure as the caller sees it: unchecked ones as they are, checked ones wrapped. */
    static RuntimeException rethrow(Throwable failure) {
        if (failure instanceof RuntimeException r) {
            throw r;
        }
        if (failure instanceof Error e) {
            throw e;
        }
        throw new TaskFailedException(failure);
    }

    private <T> T inlineUnchecked(ExecutionContext ctx, int kind, Object task) {
        Objects.requireNonNull(task, "task");
        checkEngine(ctx);
        try {
            return inline(this, ctx, kind, task);
        } catch (Exception e) {
            throw rethrow(e);
        }
    }

    private void checkEngine(ExecutionContext ctx) {
        if (ctx.engine != engine) {
            throw new IllegalArgumentException("context '" + ctx.name() + "' belongs to engine '" + ctx.engine.name()
                    + "', not to engine '" + engine.name() + "'");
        }
    }

    /**
     * Sends a task to the engine thread and waits; returns its cell DONE (the outcome in it, for the
     * caller to read and release), or throws what stopped the call, the cell given up.
     */
    private TaskCell submit(ExecutionContext ctx, int kind, Object task, long timeoutNs) {
        Objects.requireNonNull(task, "task");
        checkEngine(ctx);
        LongOp o = op();
        TaskCell c = TaskCell.Pool.pop();
        long s = c.stamp();
        c.owner = this;
        c.context = ctx;
        c.task = task;
        c.kind = kind;
        c.cas(TaskCell.word(s, TaskCell.FREE), TaskCell.word(s, TaskCell.SUBMITTED));
        try {
            if (timeoutNs == Long.MAX_VALUE) {
                o.call(ctx, c.index, s);
            } else {
                o.call(ctx, c.index, s, Duration.ofNanos(timeoutNs));
            }
        } catch (Throwable t) {
            giveUp(c, s);
            throw sneaky(t);
        }
        return c;
    }

    /** Async: the future completes once the task ran; cancelling it gives the task up. */
    <T> CompletableFuture<T> callAsync(ExecutionContext ctx, int kind, Object task) {
        Objects.requireNonNull(task, "task");
        checkEngine(ctx);
        TaskFuture<T> f = new TaskFuture<>();
        if (engine.isEngineThread()) {
            try {
                f.complete(Tasks.<T>inline(this, ctx, kind, task));
            } catch (Throwable t) {
                f.completeExceptionally(t);
            }
            return f;
        }
        LongOp o = op();
        TaskCell c = TaskCell.Pool.pop();
        long s = c.stamp();
        c.owner = this;
        c.context = ctx;
        c.task = task;
        c.kind = kind;
        c.cas(TaskCell.word(s, TaskCell.FREE), TaskCell.word(s, TaskCell.SUBMITTED));
        f.cell = c;
        f.stamp = s;
        CompletableFuture<Long> inner;
        try {
            inner = o.callAsync(ctx, c.index, s);
        } catch (Throwable t) {
            giveUp(c, s);
            throw t;
        }
        f.inner = inner;
        inner.whenComplete((v, ex) -> {
            if (ex == null) {
                try {
                    @SuppressWarnings("unchecked")
                    T r = (T) outcome(c, s);
                    f.complete(r);
                } catch (Throwable t) {
                    f.completeExceptionally(t);
                }
            } else {
                giveUp(c, s);
                f.completeExceptionally(ex instanceof CompletionException && ex.getCause() != null ? ex.getCause() : ex);
            }
        });
        return f;
    }

    /** A task future: cancelling it gives the task up (its cancel action runs on the cancelling thread). */
    static final class TaskFuture<T> extends CompletableFuture<T> {
        TaskCell cell;
        long stamp;
        volatile CompletableFuture<Long> inner;

        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            boolean done = super.cancel(mayInterruptIfRunning);
            CompletableFuture<Long> i = inner;
            if (i != null) {
                i.cancel(mayInterruptIfRunning); // gives the ring call up; its handler gives the cell up
            }
            return done;
        }
    }

    /** The outcome of a DONE cell as an object (the async path), releasing the cell. */
    static Object outcome(TaskCell c, long s) throws Throwable {
        Throwable failure = c.failure;
        Object r = switch (c.kind) {
            case TaskCell.KIND_LONG -> c.longResult;
            case TaskCell.KIND_DOUBLE -> c.doubleResult;
            default -> c.result;
        };
        if (c.cas(TaskCell.word(s, TaskCell.DONE), TaskCell.word(s, TaskCell.RELEASING))) {
            c.release(s);
        }
        if (failure != null) {
            throw failure;
        }
        return r;
    }

    /** The caller stopped waiting (timeout, interrupt, cancel, close, or the call was refused). */
    static void giveUp(TaskCell c, long s) {
        for (;;) {
            long st = c.state();
            if (st >>> 3 != s) {
                return; // released already
            }
            switch ((int) (st & 7)) {
                case TaskCell.SUBMITTED -> {
                    if (c.cas(st, TaskCell.word(s, TaskCell.RELEASING))) {
                        c.release(s); // the engine never ran it, and a late upcall finds another stamp
                        return;
                    }
                }
                case TaskCell.RUNNING -> {
                    c.cancelNow();
                    if (c.cas(st, TaskCell.word(s, TaskCell.ABANDONED))) {
                        return; // the engine releases it when the task returns
                    }
                }
                case TaskCell.DONE -> {
                    if (c.cas(st, TaskCell.word(s, TaskCell.RELEASING))) {
                        c.release(s);
                        return;
                    }
                }
                default -> {
                    return; // ABANDONED or RELEASING: someone else owns it
                }
            }
        }
    }

    /** Rethrows any throwable without declaring it (the op calls' checked TimeoutException included). */
    @SuppressWarnings("unchecked")
    static <X extends Throwable> RuntimeException sneaky(Throwable t) throws X {
        throw (X) t;
    }

    /** Runs a task inline on the engine thread (a task that calls its own engine), in ctx. */
    @SuppressWarnings("unchecked")
    static <T> T inline(Tasks t, ExecutionContext ctx, int kind, Object task) throws Exception {
        if (ctx.isClosed()) {
            throw new IllegalStateException("context '" + ctx.name() + "' is closed");
        }
        ExecutionContext prev = t.currentContext;
        t.currentContext = ctx;
        try {
            return switch (kind) {
                case TaskCell.KIND_RUN -> {
                    ((Runnable) task).run();
                    yield null;
                }
                case TaskCell.KIND_LONG -> (T) (Long) ((LongSupplier) task).getAsLong();
                case TaskCell.KIND_DOUBLE -> (T) (Double) ((DoubleSupplier) task).getAsDouble();
                default -> ((Callable<T>) task).call();
            };
        } finally {
            t.currentContext = prev;
        }
    }

    // ---- the engine thread ----------------------------------------------------------------------------

    /** The upcall's RUN: claims the cell, runs its task, leaves the outcome. Never throws. */
    static long run(long index, long stamp, long call) {
        TaskCell c = TaskCell.Pool.get(index);
        if (c == null || !c.cas(TaskCell.word(stamp, TaskCell.SUBMITTED), TaskCell.word(stamp, TaskCell.RUNNING))) {
            return E_STALE; // given up meanwhile: nobody waits for it
        }
        Tasks t = c.owner;
        if (!t.bound) {
            t.bind();
        }
        TaskCell outer = t.running;
        ExecutionContext outerContext = t.currentContext;
        long outerCall = t.runningCall;
        t.running = c;
        t.runningCall = call;
        t.currentContext = c.context;
        try {
            Object task = c.task;
            switch (c.kind) {
                case TaskCell.KIND_RUN -> ((Runnable) task).run();
                case TaskCell.KIND_LONG -> c.longResult = ((LongSupplier) task).getAsLong();
                case TaskCell.KIND_DOUBLE -> c.doubleResult = ((DoubleSupplier) task).getAsDouble();
                default -> c.result = ((Callable<?>) task).call();
            }
        } catch (Throwable e) {
            c.failure = e;
        } finally {
            t.running = outer;
            t.runningCall = outerCall;
            t.currentContext = outerContext;
        }
        c.close(); // no cancel action runs from here on
        if (!c.cas(TaskCell.word(stamp, TaskCell.RUNNING), TaskCell.word(stamp, TaskCell.DONE))) {
            // ABANDONED: its caller is gone, so the cell is ours to release
            c.cas(TaskCell.word(stamp, TaskCell.ABANDONED), TaskCell.word(stamp, TaskCell.RELEASING));
            c.release(stamp);
        }
        return 0;
    }

    /** The first task on this engine: the thread learns its engine; the systemic context's locals open. */
    private void bind() {
        bound = true;
        CURRENT.set(this);
        ExecutionContext sys = engine.systemContext();
        opened(sys.id(), 0, 0, "systemic");
    }

    /** A context opened (C's FERRY_TASK_CTX_OPEN, or the systemic one at bind): its locals open. */
    void opened(long id, long parent, int flags, String name) {
        if (locals.isEmpty()) {
            return;
        }
        ContextInfo info = new ContextInfo(id, parent, name, (flags & 0x1) != 0);
        Object[] v = new Object[locals.size()];
        for (int i = 0; i < v.length; i++) {
            try {
                v[i] = locals.get(i).open(info);
            } catch (Throwable e) {
                v[i] = new ContextLocal.Failed(e);
            }
        }
        int idx = (int) id;
        if (idx >= values.length) {
            int n = Math.max(values.length * 2, idx + 1);
            values = java.util.Arrays.copyOf(values, n);
            valueIds = java.util.Arrays.copyOf(valueIds, n);
        }
        values[idx] = v;
        valueIds[idx] = id;
    }

    /** A context is closing (C's FERRY_TASK_CTX_CLOSE): its locals close, last first. */
    void closing(long id) {
        int idx = (int) id;
        if (idx < 0 || idx >= values.length || valueIds[idx] != id || values[idx] == null) {
            return;
        }
        Object[] v = values[idx];
        values[idx] = null;
        valueIds[idx] = 0;
        for (int i = v.length - 1; i >= 0; i--) {
            try {
                locals.get(i).closeValue(v[i]);
            } catch (Throwable e) {
                LOG.log(System.Logger.Level.WARNING, "engine '" + engine.name() + "': closing a context local of "
                        + "context 0x" + Long.toHexString(id) + " failed", e);
            }
        }
    }

    /** The engine stopped (C's FERRY_TASK_STOP), after every context closed: the stop hooks, last first. */
    void stopped() {
        for (int i = onStop.size() - 1; i >= 0; i--) {
            try {
                onStop.get(i).run();
            } catch (Throwable e) {
                LOG.log(System.Logger.Level.WARNING, "engine '" + engine.name() + "': a stop hook failed", e);
            }
        }
        CURRENT.remove();
        bound = false;
    }

    /** A context local's value in ctx; engine thread only. */
    Object value(int localIndex, ExecutionContext ctx) {
        long id = ctx.id();
        int idx = (int) id;
        if (idx < 0 || idx >= values.length || valueIds[idx] != id || values[idx] == null) {
            throw new IllegalStateException("context '" + ctx.name() + "' has no context locals on engine '"
                    + engine.name() + "' (it is closed, or was made before the engine's first task)");
        }
        return values[idx][localIndex];
    }

    /** A scope variable of the running task's context (ferry_call_var), or null if it has none of that name. */
    Object variable(String name) {
        TaskCell c = running;
        if (c == null || runningCall == 0) {
            throw new IllegalStateException("no task from the ring is running: scope variables are read inside one");
        }
        if (currentContext != c.context) {
            throw new IllegalStateException("an inline task in context '" + currentContext.name() + "' reads scope "
                    + "variables of the task that runs it only (context '" + c.context.name() + "')");
        }
        return TaskUpcall.variable(runningCall, name);
    }

    static String cString(long address) {
        if (address == 0) {
            return "";
        }
        @SuppressWarnings("restricted")
        MemorySegment s = MemorySegment.ofAddress(address).reinterpret(Long.MAX_VALUE);
        return s.getString(0);
    }
}
