package io.ferry;

import io.ferry.internal.EngineCore;
import io.ferry.internal.NativeLibrary;
import io.ferry.internal.WaitRules;
import java.lang.ref.Cleaner;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;

/**
 * A native engine that lives on one thread (named after the engine, {@link Builder#name}: in Java, and as
 * its pthread name cut to 15 bytes), and the ring through which any Java thread calls it.
 *
 * <pre>{@code
 * try (Engine engine = Engine.builder().start()) {
 *     LongOp add = engine.longOp("add");           // look up once (the shape is checked here), call by handle
 *     long five = add.call(2, 3);                  // sync: runs on the engine thread, allocates nothing
 *     CompletableFuture<Long> f = add.callAsync(4, 5);
 * }
 * }</pre>
 *
 * <p>Every call ends in exactly one of: a result, an exception that says what went wrong (an op's
 * failure is a {@link CallFailedException} with the engine's code and message), or an explicit
 * rejection ({@link EngineClosedException}; a {@code tryCall} that finds the ring full returns the
 * caller's fallback). Calls from one thread run in the order that thread submitted them. The calls
 * themselves are on the op handles ({@link Op}).
 *
 * <p>{@link #close()} stops intake, gives up every call in flight (queued calls are skipped, the running
 * one is asked to stop through the cancel hook, and each waiting caller gets an
 * {@link EngineClosedException}), then stops and joins the engine thread. An engine that is never closed is closed by a Cleaner once unreachable, and by a shutdown hook
 * when the JVM exits.
 */
public final class Engine implements AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create(Thread.ofPlatform().daemon().name("ferry-cleaner").factory());

    static {
        io.ferry.internal.InternalOps.install(Engine::internalOp);
    }

    private final EngineCore core;
    private final ConcurrentHashMap<String, Op> ops = new ConcurrentHashMap<>();
    private final Cleaner.Cleanable cleanable;
    private final ExecutionContext systemContext;
    private final boolean requireContext;
    private final java.util.concurrent.atomic.AtomicLong contextNames = new java.util.concurrent.atomic.AtomicLong();

    private Engine(EngineCore core, boolean requireContext) {
        this.core = core;
        this.requireContext = requireContext;
        this.systemContext = new ExecutionContext(this, core, io.ferry.internal.Layout.SYSTEM_CONTEXT, "systemic",
                false, null);
        // The action holds the core only, never this facade, so the facade can become unreachable.
        this.cleanable = CLEANER.register(this, core::close);
    }

    /** A builder with the defaults: capacity 16384, {@link WaitPolicy#BALANCED}, the built-in ops only. */
    public static Builder builder() {
        return new Builder();
    }

    /** Whether libferry could be loaded here; if not, {@link #unavailabilityCause()} says why. */
    public static boolean isAvailable() {
        return NativeLibrary.isAvailable();
    }

    /** Why libferry cannot be used here, or null. */
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

    /** The engine's systemic context: made with the engine, closed with it. */
    public ExecutionContext systemContext() {
        return systemContext;
    }

    /**
     * The context a call that names none runs in: the innermost context of this engine open on the
     * calling thread; if there is none, the systemic context, or, for an engine built with
     * {@link Builder#requireContext(boolean) requireContext(true)}, a {@link NoContextException}.
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
     * Stops intake (later calls throw {@link EngineClosedException}), runs every call already accepted,
     * stops and joins the engine thread and frees its memory. Idempotent and safe from any thread; bounded
     * by the builder's close timeout.
     */
    @Override
    public void close() {
        cleanable.clean(); // runs core.close once, and unregisters it from the Cleaner
        core.close(); // a concurrent close() returns only once the first one joined the engine thread
    }

    public boolean isClosed() {
        return core.isClosed();
    }

    /**
     * Whether the engine thread has been stopped and joined by {@link #close()}; false while the engine
     * runs, and false for good if close gave up on a thread stuck in an op past the close timeout (its
     * memory is then deliberately never freed).
     */
    public boolean isStopped() {
        return core.isStopped();
    }

    /** The engine's name, as given to the builder. */
    public String name() {
        return core.name();
    }

    /** Slots in the ring: the most calls in flight at once. */
    public int capacity() {
        return core.capacity();
    }

    /** Whether the calling thread is the engine thread (true only inside a callback from the engine). */
    public boolean isEngineThread() {
        return Thread.currentThread() == core.engineThread();
    }

    /**
     * The engine thread's nice value (Linux: -20 to 19, lower runs first), as the OS reports it now.
     *
     * @throws EngineClosedException once closed
     * @see Builder#engineNice(int)
     */
    public int engineNice() {
        return core.engineNice();
    }

    /** CPU time the engine thread has used, in nanoseconds; -1 once closed. */
    public long engineCpuNanos() {
        return core.engineCpuNanos();
    }

    @Override
    public String toString() {
        return core.toString();
    }

    /** Configures and starts an engine. */
    public static final class Builder {
        private String name = "ferry";
        private int capacity = 16_384;
        private WaitPolicy waitPolicy = WaitPolicy.BALANCED;
        private Path library;
        private String initSymbol;
        private String initArg;
        private long maxInputBytes = 256L << 20;
        private Executor completionExecutor = ForkJoinPool.commonPool();
        private Duration closeTimeout = Duration.ofSeconds(10);
        private boolean requireContext;
        private Integer engineNice;

        private Builder() {
        }

        /** A name for messages and for the close thread. Default "ferry". */
        public Builder name(String name) {
            this.name = Objects.requireNonNull(name, "name");
            return this;
        }

        /**
         * Ring slots, a power of two from 1 to 2^24: the most calls in flight at once. Default 16384
         * (128 bytes each: a 2 MB ring).
         *
         * <p>A slot is free again once its caller has read the result, so a caller that the OS
         * deschedules while it spins holds its slot until it runs again, and once the ring has gone
         * round, every new call waits behind it. Size the ring to hold the calls of a scheduler time
         * slice (milliseconds): with 8 producers on 2 cores, 1024 slots gave 3.7 M calls/s and 16384
         * gave 9.4 to 9.8 M, as much as one producer.
         */
        public Builder capacity(int capacity) {
            if (capacity < 1 || capacity > (1 << 24) || Integer.bitCount(capacity) != 1) {
                throw new IllegalArgumentException("capacity=" + capacity + ": must be a power of two in 1..2^24");
            }
            this.capacity = capacity;
            return this;
        }

        /**
         * How callers and the engine wait (for a result, a free slot, the next call). Default
         * {@link WaitPolicy#BALANCED}.
         *
         * @param policy a preset such as {@link WaitPolicy#LOWEST_LATENCY}, or a policy with budgets of your own
         * @return this builder
         */
        public Builder waitPolicy(WaitPolicy policy) {
            this.waitPolicy = Objects.requireNonNull(policy, "policy");
            return this;
        }

        /**
         * Your own engine: a shared library whose init function (a {@code ferry_engine_init_fn}, see
         * ferry.h) registers its ops. It is loaded and initialised on the engine thread when the engine
         * starts, after the built-in ops.
         */
        public Builder library(Path path, String initSymbol) {
            return library(path, initSymbol, null);
        }

        /**
         * {@link #library(Path, String)} with a configuration string for the engine's init function,
         * which reads it with {@code ferry_registry_arg} (its format is the engine's own).
         */
        public Builder library(Path path, String initSymbol, String config) {
            this.library = Objects.requireNonNull(path, "path").toAbsolutePath();
            this.initSymbol = Objects.requireNonNull(initSymbol, "initSymbol");
            this.initArg = config;
            return this;
        }

        /** The largest input byte array a call may carry; larger ones are refused at submit. Default 256 MiB. */
        public Builder maxInputBytes(long max) {
            if (max < 0) {
                throw new IllegalArgumentException("maxInputBytes=" + max + ": must be >= 0");
            }
            this.maxInputBytes = max;
            return this;
        }

        /** Where async futures are completed (and so where non-async dependent stages run). Default: common pool. */
        public Builder completionExecutor(Executor executor) {
            this.completionExecutor = Objects.requireNonNull(executor, "executor");
            return this;
        }

        /** How long close() waits for the engine thread to stop before it gives up on it. Default 10 s. */
        public Builder closeTimeout(Duration timeout) {
            this.closeTimeout = nonNegative("closeTimeout", timeout);
            return this;
        }

        /**
         * Whether a call that names no context must find one of this engine open on its thread
         * ({@link ExecutionContext#open()}) and otherwise fails with {@link NoContextException}. Default
         * false: such calls run in the systemic context.
         */
        public Builder requireContext(boolean require) {
            this.requireContext = require;
            return this;
        }

        /**
         * The engine thread's nice value (Linux: -20 to 19, lower runs first). Default: unchanged, the
         * nice value of the thread that starts the engine.
         *
         * <p>The engine thread serves every caller. When the machine has more runnable threads than
         * cores, the scheduler shares the engine's core with them, and every caller waits while the
         * engine is off its core. The typical case is many virtual threads on a small machine: a
         * carrier thread that a wake-up brings back preempts the engine. A lower nice value makes the
         * scheduler favour the engine. On 2 vCPUs, with 64 virtual threads running SQLite point
         * selects, nice -10 took Ferry from 0.88 to 1.46 M selects/s in memory and from 0.66 to
         * 1.06 M on a WAL file, and changed nothing with 1 or 8 platform threads (bench/SQLITE.md,
         * 2026-11-21).
         *
         * <p>A value below the current one needs {@code CAP_SYS_NICE} (root has it) or an
         * {@code RLIMIT_NICE} that allows it ({@code ulimit -e}, limits.conf {@code nice}). Otherwise
         * {@link #start()} fails with an {@link EngineStartException} that says so; Ferry does not
         * fall back silently. The engine idles by spinning for its idle spin first, and a favoured
         * engine takes that time from other threads: keep the idle spin short
         * ({@link WaitPolicy#BALANCED} or {@link WaitPolicy#LOWEST_CPU}).
         */
        public Builder engineNice(int nice) {
            if (nice < -20 || nice > 19) {
                throw new IllegalArgumentException("engineNice=" + nice + ": must be in -20..19");
            }
            this.engineNice = nice;
            return this;
        }

        /**
         * Starts the engine thread and waits for its init.
         *
         * @throws EngineStartException if the native start or the engine's init failed
         * @throws FerryException if libferry cannot be loaded here (the message says why, e.g. missing
         *         {@code --enable-native-access})
         */
        public Engine start() {
            if (!NativeLibrary.isAvailable()) {
                Throwable cause = NativeLibrary.unavailabilityCause();
                throw new FerryException("Ferry cannot run here: " + cause.getMessage(), cause);
            }
            EngineCore core = new EngineCore(name, capacity, WaitRules.of(waitPolicy),
                    library == null ? null : library.toString(), initSymbol, initArg, maxInputBytes, completionExecutor,
                    closeTimeout.toNanos());
            if (engineNice != null) {
                try {
                    core.setEngineNice(engineNice);
                } catch (RuntimeException e) {
                    core.close(); // stopped and joined before the caller hears of the failure
                    throw e;
                }
            }
            return new Engine(core, requireContext);
        }

        private static Duration nonNegative(String what, Duration d) {
            if (d.isNegative()) {
                throw new IllegalArgumentException(what + "=" + d + ": must not be negative");
            }
            return d;
        }
    }
}
