package io.ferry;

import io.ferry.internal.EngineCore;
import io.ferry.internal.NativeLibrary;
import java.lang.ref.Cleaner;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

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

    /** For {@link EngineBuilder#start()}: the facade over a started core. */
    Engine(EngineCore core, boolean requireContext) {
        this.core = core;
        this.requireContext = requireContext;
        this.systemContext = new ExecutionContext(this, core, io.ferry.internal.Layout.SYSTEM_CONTEXT, "systemic",
                false, null);
        // The action holds the core only, never this facade, so the facade can become unreachable.
        this.forgotten = new Forgotten(core);
        this.cleanable = CLEANER.register(this, forgotten);
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
     * A builder with the defaults: capacity 16384, {@link WaitPolicy#BALANCED}, no engine library (so no
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
     * Slots in the ring: the most calls in flight at once.
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
