package io.ferry;

import io.ferry.internal.EngineCore;
import io.ferry.internal.NativeLibrary;
import java.lang.ref.Cleaner;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeoutException;

/**
 * A native engine that lives on one thread (named after the engine, {@link Builder#name}: in Java, and as
 * its pthread name cut to 15 bytes), and the ring through which any Java thread calls it.
 *
 * <pre>{@code
 * try (Engine engine = Engine.builder().start()) {
 *     Op add = engine.op("add");                   // look up once, call by handle
 *     long five = engine.call(add, 2, 3);          // sync: runs on the engine thread, allocates nothing
 *     CompletableFuture<Long> f = engine.callAsync(add, 4, 5);
 * }
 * }</pre>
 *
 * <p>Every call ends in exactly one of: a result, an exception that says what went wrong (an op's
 * failure is a {@link CallFailedException} with the engine's code and message), or an explicit
 * rejection ({@link EngineClosedException}, {@link RejectedCallException}). Calls from one thread run in
 * the order that thread submitted them.
 *
 * <p>{@link #close()} stops intake, runs every call already accepted, then stops and joins the engine
 * thread. An engine that is never closed is closed by a Cleaner once unreachable, and by a shutdown hook
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

    /** A builder with the defaults: capacity 16384, {@link WaitPreset#BALANCED}, the built-in ops only. */
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
     * Looks an op up by name (once; keep the handle).
     *
     * @throws IllegalArgumentException if the engine has no op of that name, or if the op is internal to
     *     its engine (flagged {@code FERRY_OP_INTERNAL}: Ferry's {@code ferry.*} ops, an engine binding's
     *     plumbing such as {@code sqlite.run})
     */
    public Op op(String name) {
        Op op = internalOp(name);
        if ((op.flags & io.ferry.internal.Layout.OP_INTERNAL) != 0) {
            throw new IllegalArgumentException("'" + name + "' is internal to its engine: engine '" + core.name()
                    + "' runs it for its own binding only, not as an op callers look up");
        }
        return op;
    }

    /** Any op, internal ones included: for Ferry's own code (through io.ferry.spi.EngineOps). */
    private Op internalOp(String name) {
        Objects.requireNonNull(name, "name");
        if (name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("op name contains a NUL character at index " + name.indexOf('\0')
                    + ": op names are C strings, so no op can have this name: name=" + name.replace("\0", "\\0"));
        }
        Op op = ops.get(name);
        if (op != null) {
            return op;
        }
        int[] found = core.lookup(name);
        if (found == null) {
            throw new IllegalArgumentException("unknown op: name=" + name + " (engine '" + core.name()
                    + "' has no op of that name; ops are registered by the engine's init function)");
        }
        return ops.computeIfAbsent(name, n -> new Op(this, found[0], found[1], n));
    }

    /** Ferry's own ops ("ferry.*", internal), for ExecutionContext. */
    Op systemOp(String name) {
        return internalOp(name);
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
            throw new NoContextException(ExecutionContext.missing(this));
        }
        return systemContext;
    }

    // ---- sync calls (in the context() of the calling thread) --------------------------------------

    /** Calls an op that takes no arguments. */
    public long call(Op op) {
        return call(op, 0, 0);
    }

    /** Calls an op with one 64-bit argument. */
    public long call(Op op, long a) {
        return call(op, a, 0);
    }

    /** Calls an op with two 64-bit arguments and a 64-bit result; allocates nothing. */
    public long call(Op op, long a, long b) {
        return context().call(op, a, b);
    }

    /**
     * Like {@link #call(Op, long, long)}, giving up after the timeout: the engine then skips the call if
     * it had not started it.
     *
     * @throws TimeoutException if no result came in time
     */
    public long call(Op op, long a, long b, Duration timeout) throws TimeoutException {
        return context().call(op, a, b, timeout);
    }

    /**
     * Like {@link #call(Op, long, long)}, but when every slot of the ring is in flight it fails at once
     * instead of waiting for one.
     *
     * @throws RejectedCallException if the ring is full
     */
    public long tryCall(Op op, long a, long b) {
        return context().tryCall(op, a, b);
    }

    /**
     * Calls one op many times with one claim of the ring per {@code capacity} calls: {@code results[i] =
     * op(a[i], b[i])}. Cheaper per call than one-by-one calls when the calls are independent (pipelined):
     * one atomic add and one fence per chunk instead of per call. Calls run in index order. If calls
     * fail, the first failure is thrown after the rest of its chunk completed; later chunks are not sent.
     *
     * @param b the second arguments, or null for zeros
     * @param results receives the results; its length is the number of calls
     */
    public void callBatch(Op op, long[] a, long[] b, long[] results) {
        context().callBatch(op, a, b, results);
    }

    /** Calls an op whose arguments and result are doubles (registered with {@link Op#F64}). */
    public double callDouble(Op op, double a, double b) {
        return context().callDouble(op, a, b);
    }

    /** Calls an op that takes bytes and returns bytes. There is no fixed size limit in either direction. */
    public byte[] call(Op op, byte[] input) {
        return context().call(op, input);
    }

    /** {@link #call(Op, byte[])}, giving up after the timeout (the engine skips the call if not started). */
    public byte[] call(Op op, byte[] input, Duration timeout) throws TimeoutException {
        return context().call(op, input, timeout);
    }

    /** Calls an op that takes text and returns text (UTF-8 on the engine side). */
    public String call(Op op, String input) {
        return context().call(op, input);
    }

    /**
     * Calls an op that takes a 64-bit argument and an input byte array and returns a 64-bit result
     * (for example the built-in {@code checksum} and {@code fail}).
     */
    public long call(Op op, long a, byte[] input) {
        return context().call(op, a, input);
    }

    // ---- async calls ------------------------------------------------------------------------------

    /**
     * Submits a call and returns at once. The future completes on the completion executor, never on the
     * engine thread. Cancelling it, or a {@code get(timeout)} that times out, gives the call up.
     */
    public CompletableFuture<Long> callAsync(Op op, long a, long b) {
        return context().callAsync(op, a, b);
    }

    /** Async {@link #call(Op, byte[])}. */
    public CompletableFuture<byte[]> callAsync(Op op, byte[] input) {
        return context().callAsync(op, input);
    }

    /** Async {@link #call(Op, String)}. */
    public CompletableFuture<String> callAsync(Op op, String input) {
        return context().callAsync(op, input);
    }

    void checkShape(Op op, int shape) {
        Objects.requireNonNull(op, "op");
        if (op.engine != this) {
            throw new IllegalArgumentException("op '" + op.name() + "' belongs to another engine; look it up "
                    + "on this one with op(\"" + op.name() + "\")");
        }
        int relevant = op.flags & (Op.IN_BYTES | Op.OUT_BYTES | Op.F64);
        if (relevant != shape) {
            throw new IllegalArgumentException("op '" + op.name() + "' cannot be called this way: it "
                    + describe(relevant) + ", and this method is for ops that " + describe(shape));
        }
    }

    private static String describe(int shape) {
        if ((shape & Op.F64) != 0) {
            return "take and return doubles (callDouble)";
        }
        String in = (shape & Op.IN_BYTES) != 0 ? "take an input byte array" : "take 64-bit arguments only";
        String out = (shape & Op.OUT_BYTES) != 0 ? "return bytes" : "return a 64-bit result";
        return in + " and " + out;
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
        private Duration callerSpin = WaitPreset.BALANCED.callerSpin();
        private Duration engineIdleSpin = WaitPreset.BALANCED.engineIdleSpin();
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

        /** Sets both spin budgets from a preset. */
        public Builder preset(WaitPreset preset) {
            this.callerSpin = preset.callerSpin();
            this.engineIdleSpin = preset.engineIdleSpin();
            return this;
        }

        /** How long a caller spins on its result before it parks. */
        public Builder callerSpin(Duration spin) {
            this.callerSpin = nonNegative("callerSpin", spin);
            return this;
        }

        /** How long an idle engine spins before it sleeps. */
        public Builder engineIdleSpin(Duration spin) {
            this.engineIdleSpin = nonNegative("engineIdleSpin", spin);
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

        /** How long close() lets accepted calls run before it gives up on the engine thread. Default 10 s. */
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
         * ({@link WaitPreset#BALANCED} or {@link WaitPreset#LOWEST_CPU}).
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
            EngineCore core = new EngineCore(name, capacity, callerSpin.toNanos(), engineIdleSpin.toNanos(),
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
