package io.ferry;

import io.ferry.internal.EngineCore;
import io.ferry.internal.NativeLibrary;
import java.lang.ref.Cleaner;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import java.util.function.DoubleSupplier;
import java.util.function.LongSupplier;

/**
 * A native engine that lives on one thread (named after the engine, {@link EngineBuilder#name}: in Java,
 * and as its pthread name cut to 15 bytes), and the ring through which any Java thread calls it.
 *
 * <pre>{@code
 * try (Engine engine = Engine.builder().library(Path.of("libmy_engine.so"), "my_engine_init").start()) {
 *     LongOp add = engine.longOp("add");     // a plug-in's op: look up once (its shape is checked here)
 *     long five = add.call(2, 3);            // sync: runs on the engine thread, allocates nothing
 *     CompletableFuture<Long> f = add.callAsync(4, 5);
 * }
 * }</pre>
 *
 * <p>The ops are a plug-in's: an engine has none but Ferry's own internal ones until the library named
 * with {@link EngineBuilder#library} registers some (the SQLite engine, {@link io.ferry.sqlite.Sqlite},
 * is built that way).
 *
 * <p>Every call ends in exactly one of: a result, an exception that says what went wrong (an op's
 * failure is a {@link CallFailedException} with the engine's code and message), or an explicit
 * rejection ({@link EngineClosedException}; a {@code tryCall} that finds the ring full returns the
 * caller's fallback). Calls from one thread run in the order that thread submitted them. The calls
 * themselves are on the op handles ({@link Op}).
 *
 * <p>{@link #close()} stops intake, gives up every call in flight (queued calls are skipped, the running
 * one is asked to stop through the cancel hook, and each waiting caller gets an
 * {@link EngineClosedException}), then stops and joins the engine thread. An engine that is never
 * closed is closed by a Cleaner once unreachable, and by a shutdown hook when the JVM exits.
 */
public final class Engine implements AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create(Thread.ofPlatform().daemon().name("ferry-cleaner").factory());

    static {
        io.ferry.internal.InternalOps.install(Engine::internalOp);
    }

    private final EngineCore core;
    private final ConcurrentHashMap<String, Op> ops = new ConcurrentHashMap<>();
    private final Cleaner.Cleanable cleanable;
    private final Forgotten forgotten;
    private final ExecutionContext systemContext;
    private final boolean requireContext;
    private final java.util.concurrent.atomic.AtomicLong contextNames = new java.util.concurrent.atomic.AtomicLong();
    /** Java tasks on the engine thread (issue 12). */
    final Tasks tasks = new Tasks(this);

    /** For {@link EngineBuilder#start()}: the facade over a started core. */
    Engine(EngineCore core, boolean requireContext) {
        this.core = core;
        this.requireContext = requireContext;
        this.systemContext = new ExecutionContext(this, core, io.ferry.internal.Layout.SYSTEM_CONTEXT, "systemic",
                false, null);
        // The action holds the core only, never this facade, so the facade can become unreachable.
        this.forgotten = new Forgotten(core);
        this.cleanable = CLEANER.register(this, forgotten);
        // The call path's classes, initialised on the starting thread rather than by the first calls, where
        // virtual threads that wait for another thread's class loading pin their carriers (StressTest).
        ExecutionContext.currentFor(this);
    }

    /**
     * The Cleaner's action: closes the core, and says so at WARNING when the engine was never closed
     * (the user forgot it: its calls were given up without anyone asking).
     */
    private static final class Forgotten implements Runnable {
        private final EngineCore core;
        volatile boolean closedByUser;

        Forgotten(EngineCore core) {
            this.core = core;
        }

        @Override
        public void run() {
            if (!closedByUser && !core.isClosed()) {
                System.getLogger("io.ferry").log(System.Logger.Level.WARNING, "engine '" + core.name() + "' became"
                        + " unreachable without being closed: the Cleaner closes it now (close engines with"
                        + " try-with-resources or close())");
            }
            core.close();
        }
    }

    /**
     * A builder with the defaults: capacity 1024, {@link WaitPolicy#BALANCED}, no engine library (so no
     * ops but Ferry's own internal ones until {@link EngineBuilder#library} names a plug-in).
     *
     * @return a new builder
     */
    public static EngineBuilder builder() {
        return new EngineBuilder();
    }

    /**
     * Whether libferry could be loaded here; if not, {@link #unavailabilityCause()} says why.
     *
     * @return true if engines can be started in this JVM
     */
    public static boolean isAvailable() {
        return NativeLibrary.isAvailable();
    }

    /**
     * Why libferry cannot be used here.
     *
     * @return the failure that made it unavailable, or null if it is available
     */
    public static Throwable unavailabilityCause() {
        return NativeLibrary.unavailabilityCause();
    }

    /**
     * Looks an op up by name (once; keep the handle). The handle is of the op's shape, as its flags
     * say ({@link LongOp}, {@link DoubleOp}, {@link BytesOp}, {@link TextOp}, {@link BytesToLongOp});
     * the typed lookups ({@link #longOp(String)}, ...) also check that it is the one you expect.
     *
     * @param name the name the op was registered under
     * @return the op's handle
     * @throws IllegalArgumentException if the engine has no op of that name, the name contains a NUL,
     *         the op was registered with flags no handle calls, or the op is internal to its engine
     *         (flagged {@code FERRY_OP_INTERNAL}: Ferry's {@code ferry.*} ops, an engine binding's
     *         plumbing such as {@code sqlite.run})
     */
    public Op op(String name) {
        Op op = internalOp(name);
        if ((op.flags() & io.ferry.internal.Layout.OP_INTERNAL) != 0) {
            throw new IllegalArgumentException("'" + name + "' is internal to its engine: engine '" + core.name()
                    + "' runs it for its own binding only, not as an op callers look up");
        }
        return op;
    }

    /** Any op, internal ones included: for Ferry's own code (through io.ferry.spi.EngineOps). */
    private Op internalOp(String name) {
        Op op = ops.get(Objects.requireNonNull(name, "name"));
        if (op == null) {
            Op made = OpBase.lookup(this, core, name); // a native lookup: not under the map's lock
            core.counters.nameOp(made.id(), name);
            op = ops.putIfAbsent(name, made);
            op = op != null ? op : made;
        }
        return op;
    }

    /**
     * Looks up an op of two 64-bit arguments and a 64-bit result.
     *
     * @param name the name the op was registered under
     * @return the op's handle
     * @throws IllegalArgumentException as {@link #op(String)}, or if the op has another shape (the
     *         message says which)
     */
    public LongOp longOp(String name) {
        return OpBase.as(op(name), LongOp.class);
    }

    /**
     * Looks up an op of double arguments and a double result ({@link Op#F64}).
     *
     * @param name the name the op was registered under
     * @return the op's handle
     * @throws IllegalArgumentException as {@link #op(String)}, or if the op has another shape
     */
    public DoubleOp doubleOp(String name) {
        return OpBase.as(op(name), DoubleOp.class);
    }

    /**
     * Looks up an op that takes bytes and returns bytes.
     *
     * @param name the name the op was registered under
     * @return the op's handle
     * @throws IllegalArgumentException as {@link #op(String)}, or if the op has another shape
     */
    public BytesOp bytesOp(String name) {
        return OpBase.as(op(name), BytesOp.class);
    }

    /**
     * Looks up an op that takes text and returns text ({@link Op#TEXT}).
     *
     * @param name the name the op was registered under
     * @return the op's handle
     * @throws IllegalArgumentException as {@link #op(String)}, or if the op has another shape
     */
    public TextOp textOp(String name) {
        return OpBase.as(op(name), TextOp.class);
    }

    /**
     * Looks up an op that takes a 64-bit argument and bytes and returns a 64-bit result.
     *
     * @param name the name the op was registered under
     * @return the op's handle
     * @throws IllegalArgumentException as {@link #op(String)}, or if the op has another shape
     */
    public BytesToLongOp bytesToLongOp(String name) {
        return OpBase.as(op(name), BytesToLongOp.class);
    }

    /** Ferry's own ops ("ferry.*", internal), for ExecutionContext. */
    Op systemOp(String name) {
        return internalOp(name);
    }

    /** A system op of the expected shape. */
    <T extends Op> T systemOp(String name, Class<T> shape) {
        return OpBase.as(internalOp(name), shape);
    }

    String nextContextName() {
        return "ctx-" + contextNames.incrementAndGet();
    }

    /**
     * The engine's systemic context: made with the engine, closed with it.
     *
     * @return the systemic context
     */
    public ExecutionContext systemContext() {
        return systemContext;
    }

    /**
     * The context a call that names none runs in: the innermost context of this engine open on the
     * calling thread; if there is none, the systemic context, or, for an engine built with
     * {@link EngineBuilder#requireContext(boolean) requireContext(true)}, a {@link NoContextException}.
     *
     * @return the context a call made here now would run in
     * @throws NoContextException if the engine requires a context and none of it is open on this thread
     */
    public ExecutionContext context() {
        ExecutionContext c = ExecutionContext.currentFor(this);
        if (c != null) {
            return c;
        }
        if (requireContext) {
            throw NoContextException.onThisThread(this);
        }
        return systemContext;
    }

    // ---- lifecycle --------------------------------------------------------------------------------

    /**
     * Stops intake (later calls throw {@link EngineClosedException}), gives up every call in flight (the
     * engine skips the queued ones, the running one is asked to stop through the cancel hook, and each
     * waiting caller gets an {@link EngineClosedException}), stops and joins the engine thread and frees
     * its memory. Idempotent and safe from any thread: a concurrent close returns only once the engine
     * thread is joined. Bounded by the builder's close timeout ({@link EngineBuilder#closeTimeout}).
     */
    @Override
    public void close() {
        forgotten.closedByUser = true;
        cleanable.clean(); // runs core.close once, and unregisters it from the Cleaner
        core.close(); // a concurrent close() returns only once the first one joined the engine thread
    }

    /**
     * Whether {@link #close()} has begun (by any thread): calls submitted from now on are refused.
     *
     * @return true once close has begun
     */
    public boolean isClosed() {
        return core.isClosed();
    }

    /**
     * Whether the engine thread has been stopped and joined by {@link #close()}; false while the engine
     * runs, and false for good if close gave up on a thread stuck in an op past the close timeout (its
     * memory is then deliberately never freed).
     *
     * @return true once the engine thread is stopped and joined
     */
    public boolean isStopped() {
        return core.isStopped();
    }

    /**
     * The engine's name, as given to the builder.
     *
     * @return the name
     */
    public String name() {
        return core.name();
    }

    /**
     * Slots in the ring: the most calls queued at once (not yet taken by the engine).
     *
     * @return the ring's capacity
     */
    public int capacity() {
        return core.capacity();
    }

    /**
     * Whether the calling thread is the engine thread (true only inside a callback from the engine).
     *
     * @return true on the engine thread
     */
    public boolean isEngineThread() {
        return Thread.currentThread() == core.engineThread();
    }

    /**
     * The engine thread's nice value (Linux: -20 to 19, lower runs first), as the OS reports it now.
     *
     * @return the nice value
     * @throws EngineClosedException once closed
     * @see EngineBuilder#engineNice(int)
     */
    public int engineNice() {
        return core.engineNice();
    }

    /**
     * CPU time the engine thread has used.
     *
     * @return nanoseconds of CPU time, or -1 once closed
     */
    public long engineCpuNanos() {
        return core.engineCpuNanos();
    }

    // ---- engine-thread downcall handles (issue 12) ------------------------------------------------

    /**
     * A handle on a native function that runs it on the engine thread, whichever thread invokes the handle.
     * It has exactly the type {@code Linker.nativeLinker().downcallHandle(address, function)} has, so it
     * replaces such a handle unchanged (for example in a jextract-shaped binding: pass it the function's
     * {@code name$address()} and {@code name$descriptor()}), and a call with a wrong argument count or type
     * fails at the call site as it would there ({@code WrongMethodTypeException}, {@code ClassCastException}).
     *
     * <p>No Java runs on the engine thread: the engine's C side calls the function through libffi, with
     * the call interface it prepared once, here. Each argument travels as 64 bits through a channel (native
     * memory the engine knows by id), so a call allocates nothing and costs one round trip through the
     * ring, like a call of a C op. Carriers: {@code boolean} (C {@code bool}), {@code byte}, {@code short},
     * {@code char} (an unsigned 16-bit integer), {@code int}, {@code long}, {@code float}, {@code double}
     * and {@code MemorySegment} (an {@code ADDRESS}: the segment's address is passed, so a struct goes by
     * pointer; a returned address is a zero-length segment, or sized to the layout's target layout, as the
     * Linker's). Structs and unions by value, variadic functions and {@code Linker.Option}s are not
     * supported (an {@code IllegalArgumentException} says so).
     *
     * <p>The memory a segment argument points to must stay alive until the call returns: the handle keeps
     * the segment reachable for that time (so an automatic arena cannot free it), but it cannot keep a
     * shared arena from being closed by another thread meanwhile, as the Linker's handle would; closing it
     * then is the caller's bug. The call runs in the engine's systemic context, after the calls queued
     * before it; it is not checked against a context's read-only flag or op set (the function is not an
     * op). A call interrupted while it waits ends in {@link CallInterruptedException} (the engine may
     * still run it), on a closed engine in {@link EngineClosedException}.
     *
     * @param address the function's address (from a {@code SymbolLookup}, or jextract's {@code name$address()})
     * @param function its descriptor, as the Linker takes it
     * @return a method handle of type {@code function.toMethodType()}
     * @throws IllegalArgumentException if the address is NULL or the descriptor has a layout the handle
     *         cannot pass (a struct by value), or one the Linker itself refuses
     * @throws EngineClosedException if the engine is closed
     */
    public java.lang.invoke.MethodHandle downcallHandle(java.lang.foreign.MemorySegment address,
            java.lang.foreign.FunctionDescriptor function) {
        return io.ferry.internal.Downcalls.bind(this, core, Objects.requireNonNull(address, "address"), null, function,
                false);
    }

    /**
     * {@link #downcallHandle(java.lang.foreign.MemorySegment, java.lang.foreign.FunctionDescriptor)} of a
     * symbol the engine looks up, on its own thread: in the engine library ({@link EngineBuilder#library})
     * and the libraries it links, then in the process's global scope (the C library, for example).
     *
     * @param symbol the function's name
     * @param function its descriptor
     * @return a method handle of type {@code function.toMethodType()}
     * @throws IllegalArgumentException if no library has the symbol (the message starts
     *         {@code "unresolved symbol: "} and names where the engine looked), or as the address form
     */
    public java.lang.invoke.MethodHandle downcallHandle(String symbol, java.lang.foreign.FunctionDescriptor function) {
        if (Objects.requireNonNull(symbol, "symbol").isEmpty() || symbol.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("symbol=" + symbol.replace("\0", "\\0")
                    + ": not a C symbol name (empty, or with a NUL character)");
        }
        return io.ferry.internal.Downcalls.bind(this, core, null, symbol, function, false);
    }

    /**
     * {@link #downcallHandle(java.lang.foreign.MemorySegment, java.lang.foreign.FunctionDescriptor)} of a
     * symbol found by {@code lookup} (for example {@code SymbolLookup.libraryLookup(path, arena)}, whose
     * arena must outlive the handle).
     *
     * @param lookup where to find the symbol
     * @param symbol the function's name
     * @param function its descriptor
     * @return a method handle of type {@code function.toMethodType()}
     * @throws IllegalArgumentException if {@code lookup} does not find the symbol ({@code "unresolved
     *         symbol: NAME"}), or as the address form
     */
    public java.lang.invoke.MethodHandle downcallHandle(java.lang.foreign.SymbolLookup lookup, String symbol,
            java.lang.foreign.FunctionDescriptor function) {
        Objects.requireNonNull(lookup, "lookup");
        java.lang.foreign.MemorySegment address = lookup.find(Objects.requireNonNull(symbol, "symbol"))
                .orElseThrow(() -> new IllegalArgumentException("unresolved symbol: " + symbol
                        + " (the SymbolLookup given to engine '" + core.name() + "' does not find it)"));
        return downcallHandle(address, function);
    }

    /**
     * The async form of
     * {@link #downcallHandle(java.lang.foreign.MemorySegment, java.lang.foreign.FunctionDescriptor)}: a
     * handle of the same parameters that returns at once a {@code CompletableFuture} of the boxed return
     * value ({@code Void} for a void function, completing with null), completed off the engine thread.
     *
     * <p>The argument values are copied when the handle is invoked, but what a segment argument points
     * to is read by the function later, on the engine thread: the caller must keep that memory alive,
     * and leave it unchanged if the function reads it, until the future has completed (for example, do
     * not close its arena before then). Cancelling the future does not stop the call.
     *
     * @param address the function's address
     * @param function its descriptor
     * @return a method handle of type {@code function.toMethodType()} with return type {@code CompletableFuture}
     * @throws IllegalArgumentException as the sync form
     */
    public java.lang.invoke.MethodHandle downcallHandleAsync(java.lang.foreign.MemorySegment address,
            java.lang.foreign.FunctionDescriptor function) {
        return io.ferry.internal.Downcalls.bind(this, core, Objects.requireNonNull(address, "address"), null, function,
                true);
    }

    // ---- Java tasks on the engine thread ---------------------------------------------------------

    /**
     * Runs a Java task on the engine thread, in the context a call made here now would run in
     * ({@link #context()}), and waits for it; its exception is rethrown here (unchecked ones as they
     * are). The task runs through the ring like an op ({@code ferry.task}, an upcall into Java), in
     * order with this thread's other calls. Called on the engine thread itself (from a task), it runs
     * the task inline. See {@link Task} for what a task may ask and what it must not do.
     *
     * @param task the work
     * @throws EngineClosedException if the engine is closed or closes while the task waits
     * @throws CallInterruptedException if this thread is interrupted while it waits (the task is given up)
     */
    public void run(Runnable task) {
        tasks.run(tasks.defaultContext(), task);
    }

    /**
     * Runs a Java task on the engine thread (as {@link #run}) and returns its result. A task that throws a
     * checked exception fails with a {@link TaskFailedException} that carries it.
     *
     * @param <T> the result type
     * @param task the work
     * @return what the task returned
     */
    public <T> T call(Callable<T> task) {
        return tasks.call(tasks.defaultContext(), task, Long.MAX_VALUE);
    }

    /**
     * {@link #call(Callable)} that gives up after {@code timeout}: a task that had not started is never
     * run; a running one has its cancel action run ({@link Task#onCancel}) and its result dropped.
     *
     * @param <T> the result type
     * @param task the work
     * @param timeout how long to wait
     * @return what the task returned
     * @throws TimeoutException if it did not finish in time
     */
    public <T> T call(Callable<T> task, Duration timeout) throws TimeoutException {
        return tasks.call(tasks.defaultContext(), task, timeout.toNanos());
    }

    /**
     * Runs a task that returns a {@code long} on the engine thread (as {@link #run}), without boxing.
     *
     * @param task the work
     * @return what the task returned
     */
    public long callLong(LongSupplier task) {
        return tasks.callLong(tasks.defaultContext(), task);
    }

    /**
     * Runs a task that returns a {@code double} on the engine thread (as {@link #run}), without boxing.
     *
     * @param task the work
     * @return what the task returned
     */
    public double callDouble(DoubleSupplier task) {
        return tasks.callDouble(tasks.defaultContext(), task);
    }

    /**
     * Runs a task on the engine thread without waiting. The future completes off the engine thread;
     * cancelling it gives the task up (its cancel action runs on the cancelling thread).
     *
     * @param <T> the result type
     * @param task the work
     * @return the task's future
     */
    public <T> CompletableFuture<T> callAsync(Callable<T> task) {
        return tasks.callAsync(tasks.defaultContext(), TaskCell.KIND_CALL, task);
    }

    /**
     * {@link #callAsync} for a task with no result.
     *
     * @param task the work
     * @return the task's future
     */
    public CompletableFuture<Void> runAsync(Runnable task) {
        return tasks.callAsync(tasks.defaultContext(), TaskCell.KIND_RUN, task);
    }

    // ---- observability ------------------------------------------------------------------------------

    /**
     * What the engine has done since it started: calls submitted, completed, failed, skipped, given up,
     * rejected; the ring's depth; the engine's busy time, CPU time and wake-ups; parked callers; per-op
     * counts (and engine time for tracked ops, {@link EngineBuilder#trackOps}). Reading it costs the
     * callers nothing: the engine keeps its counters where no caller polls. Also after close (the final
     * figures).
     *
     * @return a snapshot
     */
    public EngineStats stats() {
        return core.counters.snapshot();
    }

    /** At start (EngineBuilder): tracked ops, histograms, the MXBean. */
    void observe(java.util.List<String> trackOps, boolean histograms, boolean jmx) {
        core.counters.histograms(histograms); // before any op handle is made: handles read it once
        for (String n : trackOps) {
            if (n.equals("*")) {
                core.counters.trackAll();
            } else {
                track(internalOp(n));
            }
        }
        if (jmx) {
            io.ferry.internal.EngineMXBeanImpl.register(core);
        }
    }

    /**
     * The distribution of the callers' wait, from submit to result, of every sync call made since start
     * (with {@link EngineBuilder#histograms(boolean) histograms(true)}; async, tryCall and batch calls are
     * not in it). Take two snapshots and {@link LatencyHistogram#since} for an interval.
     *
     * @return a snapshot
     * @throws IllegalStateException if histograms are off
     */
    public LatencyHistogram waitLatency() {
        io.ferry.internal.LatencyRecorder r = core.counters.latency();
        if (r == null) {
            throw new IllegalStateException("engine '" + name() + "': histograms are off; start the engine with"
                    + " EngineBuilder.histograms(true)");
        }
        return new LatencyHistogram(r.counts());
    }

    /**
     * The distribution of the engine thread's time per call (every call the engine ran, async and
     * batch slots included), measured by the engine, with {@link EngineBuilder#histograms(boolean)
     * histograms(true)}.
     *
     * @return a snapshot
     * @throws IllegalStateException if histograms are off
     */
    public LatencyHistogram engineLatency() {
        waitLatency(); // the same check
        return new LatencyHistogram(core.counters.engineHistogram());
    }

    /**
     * Times every call of {@code op} on the engine thread from now on (its mean engine time appears in
     * {@link #stats()}); {@link EngineBuilder#trackOps} does this at start.
     *
     * @param op an op of this engine
     */
    public void track(Op op) {
        OpBase b = OpBase.base(op);
        if (b.engine != this) {
            throw new IllegalArgumentException("op '" + op.name() + "' belongs to engine '" + b.engine.name()
                    + "', not to engine '" + name() + "'");
        }
        core.counters.track(op.id());
    }

    @Override
    public String toString() {
        return core.toString();
    }
}
