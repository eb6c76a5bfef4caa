package io.ferry;

import io.ferry.internal.EngineCore;
import io.ferry.internal.Layout;
import io.ferry.internal.NativeLibrary;
import io.ferry.internal.WaitRules;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;

/**
 * Configures and starts an {@link Engine}; get one with {@link Engine#builder()}. Every setting has a
 * validated default, so {@code Engine.builder().start()} works as it is.
 *
 * <pre>{@code
 * Engine engine = Engine.builder()
 *         .name("my-engine")
 *         .library(Path.of("libmy_engine.so"), "my_engine_init")
 *         .waitPolicy(WaitPolicy.LOWEST_CPU)
 *         .start();
 * }</pre>
 *
 * <p>A builder is not thread-safe; it may start any number of engines, each with the settings it has
 * when {@link #start()} is called.
 */
public final class EngineBuilder {
    private String name = "ferry";
    private int capacity = 1_024;
    private WaitPolicy waitPolicy = WaitPolicy.BALANCED;
    private Path library;
    private String initSymbol;
    private String initArg;
    private long maxInputBytes = 256L << 20;
    private Executor completionExecutor = ForkJoinPool.commonPool();
    private Duration closeTimeout = Duration.ofSeconds(10);
    private boolean requireContext;
    private Integer engineNice;
    private final java.util.List<ContextLocal<?>> contextLocals = new java.util.ArrayList<>();
    private final java.util.List<Runnable> onStart = new java.util.ArrayList<>();
    private final java.util.List<Runnable> onStop = new java.util.ArrayList<>();
    private java.util.List<String> trackOps = java.util.List.of();
    private boolean histograms;
    private boolean jmx;

    EngineBuilder() {
    }

    /**
     * A name for messages, for the engine thread (its Java name, and its pthread name cut to 15 bytes)
     * and for the close thread. Default "ferry".
     *
     * @param name the engine's name
     * @return this builder
     */
    public EngineBuilder name(String name) {
        this.name = Objects.requireNonNull(name, "name");
        return this;
    }

    /**
     * Ring slots, a power of two from 1 to 2^24: the most calls queued at once (not yet taken by the
     * engine). Default 1024 (128 bytes each: a 128 KB ring).
     *
     * <p>The engine frees a call's slot when it takes the call, before it runs it, and writes the
     * outcome into the caller's own completion cell: a running call, or one whose caller has not yet
     * read its result, holds no slot. So the ring needs to hold a burst of queued calls only; a call
     * (or a {@code tryCall}, which is then rejected) waits only when {@code capacity} calls are queued
     * ahead of it.
     *
     * @param capacity the number of slots
     * @return this builder
     * @throws IllegalArgumentException if {@code capacity} is not a power of two in 1..2^24
     */
    public EngineBuilder capacity(int capacity) {
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
    public EngineBuilder waitPolicy(WaitPolicy policy) {
        this.waitPolicy = Objects.requireNonNull(policy, "policy");
        return this;
    }

    /**
     * Your own engine: a shared library whose init function (a {@code ferry_engine_init_fn}, see
     * ferry.h) registers its ops. It is loaded and initialised on the engine thread when the engine
     * starts, after Ferry's own (internal) ops are registered.
     *
     * @param path the shared library
     * @param initSymbol the name of its init function
     * @return this builder
     */
    public EngineBuilder library(Path path, String initSymbol) {
        return library(path, initSymbol, null);
    }

    /**
     * {@link #library(Path, String)} with a configuration string for the engine's init function,
     * which reads it with {@code ferry_registry_arg} (its format is the engine's own).
     *
     * @param path the shared library
     * @param initSymbol the name of its init function
     * @param config the configuration string, or null for none
     * @return this builder
     */
    public EngineBuilder library(Path path, String initSymbol, String config) {
        this.library = Objects.requireNonNull(path, "path").toAbsolutePath();
        this.initSymbol = Objects.requireNonNull(initSymbol, "initSymbol");
        this.initArg = config;
        return this;
    }

    /**
     * The largest input byte array a call may carry; larger ones are refused at submit. Default 256 MiB.
     *
     * @param max the limit in bytes
     * @return this builder
     * @throws IllegalArgumentException if {@code max} is negative
     */
    public EngineBuilder maxInputBytes(long max) {
        if (max < 0) {
            throw new IllegalArgumentException("maxInputBytes=" + max + ": must be >= 0");
        }
        this.maxInputBytes = max;
        return this;
    }

    /**
     * Where async futures nobody is joining are completed (and so where their non-async dependent
     * stages run), many per task. Default: the common pool. A thread blocked in {@code join} or
     * {@code get} completes its own future and runs the stages itself. Completion never runs on the
     * engine thread: a direct executor ({@code Runnable::run}) is replaced by the common pool.
     *
     * @param executor the executor that completes async futures
     * @return this builder
     */
    public EngineBuilder completionExecutor(Executor executor) {
        this.completionExecutor = Objects.requireNonNull(executor, "executor");
        return this;
    }

    /**
     * How long close() waits for the engine thread to stop before it gives up on it. Default 10 s.
     *
     * @param timeout the longest wait
     * @return this builder
     * @throws IllegalArgumentException if {@code timeout} is negative
     */
    public EngineBuilder closeTimeout(Duration timeout) {
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("closeTimeout=" + timeout + ": must not be negative");
        }
        this.closeTimeout = timeout;
        return this;
    }

    /**
     * Whether a call that names no context must find one of this engine open on its thread
     * ({@link ExecutionContext#open()}) and otherwise fails with {@link NoContextException}. Default
     * false: such calls run in the systemic context.
     *
     * @param require true to refuse calls made outside any open context
     * @return this builder
     */
    public EngineBuilder requireContext(boolean require) {
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
     *
     * @param nice the nice value, -20 to 19
     * @return this builder
     * @throws IllegalArgumentException if {@code nice} is outside -20..19
     */
    public EngineBuilder engineNice(int nice) {
        if (nice < -20 || nice > 19) {
            throw new IllegalArgumentException("engineNice=" + nice + ": must be in -20..19");
        }
        this.engineNice = nice;
        return this;
    }

    /**
     * Per-context state in Java ({@link ContextLocal}): a value made on the engine thread for the
     * systemic context at start and for every context made later, closed there when its context
     * closes. A local belongs to one engine.
     *
     * @param local the context local
     * @return this builder
     */
    public EngineBuilder contextLocal(ContextLocal<?> local) {
        contextLocals.add(Objects.requireNonNull(local, "local"));
        return this;
    }

    /**
     * Java to run on the engine thread when the engine starts, after its plug-in's init and the
     * systemic context's {@link ContextLocal}s, before {@link #start()} returns. If it throws, the
     * engine is closed and start fails with an {@link EngineStartException} that carries it.
     *
     * @param hook the start hook (hooks run in the order given)
     * @return this builder
     */
    public EngineBuilder onStart(Runnable hook) {
        onStart.add(Objects.requireNonNull(hook, "hook"));
        return this;
    }

    /**
     * Java to run on the engine thread when the engine stops: after the last call, after every
     * context (and its {@link ContextLocal}s) closed and after the plug-in's own close hooks. It runs
     * however the engine is closed ({@link Engine#close()}, the Cleaner, the JVM's exit). It must not
     * call the engine (it is closed).
     *
     * @param hook the stop hook (hooks run last given, first run)
     * @return this builder
     */
    public EngineBuilder onStop(Runnable hook) {
        onStop.add(Objects.requireNonNull(hook, "hook"));
        return this;
    }

    /**
     * Starts the engine thread and waits for its init.
     *
     * @return the running engine
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
        Engine engine = new Engine(core, requireContext);
        try {
            engine.observe(trackOps, histograms, jmx);
        } catch (RuntimeException e) {
            engine.close();
            throw e;
        }
        if (!contextLocals.isEmpty() || !onStart.isEmpty() || !onStop.isEmpty()) {
            try {
                engine.tasks.configure(contextLocals, onStart, onStop);
                engine.tasks.start(); // binds the engine thread: the systemic locals, then the start hooks
            } catch (RuntimeException | Error e) {
                engine.close();
                EngineStartException failed = new EngineStartException(Layout.E_INIT, "engine '" + name
                        + "': a Java start hook or context local failed: " + e);
                failed.initCause(e);
                throw failed;
            }
        }
        return engine;
    }

    // ---- observability ------------------------------------------------------------------------------

    /**
     * Ops whose every call the engine thread times (two clock reads per call, on the engine thread only):
     * their mean engine time appears in {@link Engine#stats()}. Every op's calls and failures are counted
     * whether tracked or not. {@code "*"} tracks every op. Default: none.
     *
     * @param names op names (looked up at start; an unknown one fails {@link #start()})
     * @return this builder
     */
    public EngineBuilder trackOps(String... names) {
        this.trackOps = java.util.List.of(names);
        return this;
    }

    /**
     * Latency distributions ({@link Engine#waitLatency()}, {@link Engine#engineLatency()}): each call's wait (submit to result, measured by its
     * caller) and engine time (measured by the engine thread, which then times every call), as
     * log-linear histograms with HdrHistogram's precision of 4 sub-bucket bits. Off by default: it costs
     * two clock reads on the caller and two on the engine per call (bench/RESULTS.md has the figure).
     *
     * @param on whether to record them
     * @return this builder
     */
    public EngineBuilder histograms(boolean on) {
        this.histograms = on;
        return this;
    }

    /**
     * Registers an {@link EngineMXBean} as {@code io.ferry:type=Engine,name=<name>} on the platform MBean
     * server at start, and unregisters it when the engine closes. Off by default.
     *
     * @param on whether to register it
     * @return this builder
     */
    public EngineBuilder jmx(boolean on) {
        this.jmx = on;
        return this;
    }
}
