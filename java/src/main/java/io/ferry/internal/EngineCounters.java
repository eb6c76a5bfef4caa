package io.ferry.internal;

import io.ferry.EngineStats;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * An engine's observability state: the engine-written counters block (ferry.h, "Engine counters"), the
 * callers' {@link CallerCounters}, and the engine's lifecycle as logs and JFR events. Nothing here is on
 * a call's path: the engine counts into the block on its own thread, and this class only reads it.
 *
 * <p>The block is Java memory (an automatic arena) handed to the engine with
 * {@code ferry_engine_attach_counters} before the first call: reachable from here, and so from the core
 * the engine's upcall keeps alive, for as long as the engine thread may write it; after close it stays
 * readable, so a snapshot taken after close still has the final counts.
 */
public final class EngineCounters {
    // Offsets in ferry_counters (ferry.h; ferry_counters.c asserts them).
    static final long MAGIC = 0, OP_COUNT = 8, CONTROL = 12;
    static final long FAILED = 128, SKIPPED = 136, ABORTED = 144, SLEEPS = 152, RUNS = 160, SAMPLED_RUNS = 168,
            SAMPLED_NS = 176, TIMED_CALLS = 184, TIMED_NS = 192, OTHER = 200, SAMPLED_CPU_NS = 208, SAMPLED_CALLS = 216;
    static final long HIST = 256;
    /** FERRY_HIST_BUCKETS. */
    public static final int HIST_BUCKETS = 608;
    static final long OPS = HIST + HIST_BUCKETS * 8L;
    static final long OP_SIZE = 64, OP_CALLS = 0, OP_FAILED = 8, OP_TIMED_CALLS = 16, OP_TIMED_NS = 24,
            OP_TRACK = 32;
    static final long COUNTERS_MAGIC = 0x31544e4359524546L;
    /** FERRY_COUNTERS_TIME_ALL. */
    static final int TIME_ALL = 0x1;

    /** Every offset and constant above by ferry_counters_layout's names, for CountersLayoutTest. */
    public static java.util.Map<String, Long> layoutForTests() {
        java.util.Map<String, Long> m = new java.util.HashMap<>();
        m.put("magic", MAGIC);
        m.put("op_count", OP_COUNT);
        m.put("control", CONTROL);
        m.put("failed", FAILED);
        m.put("skipped", SKIPPED);
        m.put("aborted", ABORTED);
        m.put("sleeps", SLEEPS);
        m.put("runs", RUNS);
        m.put("sampled_runs", SAMPLED_RUNS);
        m.put("sampled_ns", SAMPLED_NS);
        m.put("timed_calls", TIMED_CALLS);
        m.put("timed_ns", TIMED_NS);
        m.put("other", OTHER);
        m.put("sampled_cpu_ns", SAMPLED_CPU_NS);
        m.put("sampled_calls", SAMPLED_CALLS);
        m.put("hist", HIST);
        m.put("ops", OPS);
        m.put("op.calls", OP_CALLS);
        m.put("op.failed", OP_FAILED);
        m.put("op.timed_calls", OP_TIMED_CALLS);
        m.put("op.timed_ns", OP_TIMED_NS);
        m.put("op.track", OP_TRACK);
        m.put("const.magic_low", COUNTERS_MAGIC & 0xffffffffL);
        m.put("const.magic_high", COUNTERS_MAGIC >>> 32);
        m.put("const.time_all", (long) TIME_ALL);
        m.put("const.hist_buckets", (long) HIST_BUCKETS);
        return m;
    }

    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    /** Live engines, for the periodic JFR event and the tests. */
    private static final Set<EngineCounters> LIVE = ConcurrentHashMap.newKeySet();

    /** What callers count on their rare paths. */
    public final CallerCounters caller = new CallerCounters();
    private final String name;
    private final int capacity;
    private final MemorySegment region;
    private final MemorySegment engine;
    /** The engine-written block, or null if it could not be attached (then only the ring's figures). */
    private final MemorySegment block;
    private final int opCount;
    private final AtomicReferenceArray<String> opNames;
    private final long startNanos = System.nanoTime();
    private final List<Runnable> onStop = new CopyOnWriteArrayList<>();

    private volatile long closeStartNanos;
    private volatile long stopNanos;
    private volatile boolean stopped;
    /** The ring's figures once the engine thread was joined: tail, head, completed, started, call_ns. */
    private volatile long[] finalRing;
    private volatile long lastCpuNanos = -1;
    /** The callers' wait histogram while histograms are on (set at start, before any op handle is made). */
    private volatile LatencyRecorder latency;

    private EngineCounters(String name, int capacity, MemorySegment region, MemorySegment engine) {
        this.name = name;
        this.capacity = capacity;
        this.region = region;
        this.engine = engine;
        int ops = Math.max(0, FerryNative.ferry_engine_op_count(engine));
        long size = FerryNative.ferry_counters_size(ops);
        MemorySegment b = null;
        if (!Observe.ENABLED) {
            size = -1; // -Dferry.observability=false: no block, the engine counts nothing
        } else if (size == OPS + ops * OP_SIZE) {
            b = Arena.ofAuto().allocate(size, Layout.ALIGNMENT);
            if (FerryNative.ferry_engine_attach_counters(engine, b, size) != 0
                    || (long) LONG.getVolatile(b, MAGIC) != COUNTERS_MAGIC) {
                b = null;
            }
        }
        if (b == null && Observe.ENABLED) {
            EngineCore.LOG.log(System.Logger.Level.WARNING, "engine '" + name + "': libferry refused the counters"
                    + " block (the jar and the library are from different builds?); stats() has the ring's figures only");
        }
        this.block = b;
        this.opCount = b == null ? 0 : ops;
        this.opNames = new AtomicReferenceArray<>(Math.max(1, ops));
    }

    /**
     * Attaches a counters block to a started engine, before its first call. Never throws: an engine
     * runs without counters rather than not at all.
     */
    static EngineCounters attach(String name, int capacity, MemorySegment region, MemorySegment engine) {
        EngineCounters c = new EngineCounters(name, capacity, region, engine);
        LIVE.add(c);
        EngineEvents.started(c);
        EngineCore.LOG.log(System.Logger.Level.DEBUG, () -> "engine '" + name + "' started: capacity " + capacity
                + ", " + c.opCount + " ops");
        return c;
    }

    /** Engines not yet stopped (for the periodic JFR event). */
    static Set<EngineCounters> live() {
        return LIVE;
    }

    public String name() {
        return name;
    }

    public int capacity() {
        return capacity;
    }

    /** Records the name of op id (looked up in Java), for the per-op figures. */
    public void nameOp(int id, String opName) {
        if (id >= 0 && id < opNames.length()) {
            opNames.compareAndSet(id, null, opName);
        }
    }

    /** Times every call of op id on the engine thread from its next call on. */
    public void track(int id) {
        if (block != null && id >= 0 && id < opCount) {
            LONG.setVolatile(block, OPS + id * OP_SIZE + OP_TRACK, 1L);
        }
    }

    /** Histograms on (the callers' wait, the engine's time per call) or off. */
    public void histograms(boolean on) {
        latency = on && Observe.ENABLED ? new LatencyRecorder() : null;
        timeAll(on);
    }

    /** The callers' wait histogram, or null when histograms are off. */
    public LatencyRecorder latency() {
        return latency;
    }

    /**
     * What a call of op id takes the engine, for the per-call JFR event: its timed mean if the op is timed,
     * else the engine's recent time per call (stats.call_ns).
     */
    public long engineTimeOf(int id) {
        if (block != null && id >= 0 && id < opCount) {
            long base = OPS + id * OP_SIZE;
            long n = blockLong(base + OP_TIMED_CALLS);
            if (n > 0) {
                return blockLong(base + OP_TIMED_NS) / n;
            }
        }
        return ringFigures()[4];
    }

    /** A context opened or closed: a JFR event. */
    public void context(String contextName, long id, boolean open) {
        EngineEvents.context(name, contextName, id, open);
    }

    /** Tracks every op. */
    public void trackAll() {
        for (int id = 0; id < opCount; id++) {
            track(id);
        }
    }

    /** Times every call (the engine-time histogram), or only tracked ops. */
    public void timeAll(boolean all) {
        if (block != null) {
            INT.setVolatile(block, CONTROL, all ? TIME_ALL : 0);
        }
    }

    /** Runs {@code action} once the engine thread is joined or abandoned (unregistering an MXBean, say). */
    public void onStop(Runnable action) {
        onStop.add(action);
        if (stopped) {
            runOnStop();
        }
    }

    private void runOnStop() {
        for (Runnable r : onStop) {
            if (onStop.remove(r)) {
                try {
                    r.run();
                } catch (RuntimeException e) {
                    EngineCore.LOG.log(System.Logger.Level.WARNING, "engine '" + name + "': a close action failed", e);
                }
            }
        }
    }

    // ---- lifecycle hooks (one marked line each in EngineCore and Shutdown) --------------------------

    /** close() has begun. */
    void closing() {
        closeStartNanos = System.nanoTime();
        cpuNanos(); // the engine thread's CPU time as close begins: the last one readable
        EngineCore.LOG.log(System.Logger.Level.DEBUG, () -> "engine '" + name + "' closing: "
                + Math.max(0, ringFigures()[0] - ringFigures()[2]) + " calls in flight");
    }

    /** The engine thread is joined, before the engine is destroyed and the region freed: final figures. */
    void engineJoined() {
        synchronized (this) {
            finalRing = readRing();
            stopped = true;
        }
        stopNanos = System.nanoTime();
        LIVE.remove(this);
        long drain = closeStartNanos == 0 ? 0 : stopNanos - closeStartNanos;
        EngineEvents.closed(this, drain, false);
        EngineCore.LOG.log(System.Logger.Level.DEBUG, () -> String.format("engine '%s' closed: the engine thread"
                + " stopped and joined %.3f ms after close began; %d calls in all", name, drain / 1e6, finalRing[0]));
        runOnStop();
    }

    /** The engine thread did not stop within the close timeout. */
    void abandoned(long timeoutNs) {
        synchronized (this) {
            stopped = true;
        }
        stopNanos = System.nanoTime();
        LIVE.remove(this);
        long drain = closeStartNanos == 0 ? 0 : stopNanos - closeStartNanos;
        EngineEvents.closed(this, drain, true);
        EngineEvents.abandoned(this, timeoutNs);
        EngineCore.LOG.log(System.Logger.Level.WARNING, "engine '" + name + "': the engine thread did not stop"
                + " within the close timeout (" + timeoutNs / 1_000_000 + " ms); it is abandoned, its waiting callers"
                + " are failed and its native memory is leaked (an op that never returns?)");
        runOnStop();
    }

    // ---- reading ----------------------------------------------------------------------------------

    private long[] readRing() {
        long tail = (long) LONG.getVolatile(region, Layout.TAIL) & ~Layout.TAIL_CLOSED;
        long head = (long) LONG.getOpaque(region, Layout.STATS_HEAD);
        long completed = (long) LONG.getOpaque(region, Layout.STATS_COMPLETED);
        long started = (long) LONG.getOpaque(region, Layout.STATS_STARTED);
        long callNs = (long) LONG.getOpaque(region, Layout.STATS_CALL_NS);
        return new long[] {tail, head, completed, started, callNs};
    }

    /** tail, head, completed, started, call_ns: live, or final once the engine stopped. */
    long[] ringFigures() {
        long[] f = finalRing;
        if (f != null) {
            return f;
        }
        try {
            return readRing();
        } catch (IllegalStateException regionFreed) {
            f = finalRing;
            return f != null ? f : new long[5];
        }
    }

    private long blockLong(long offset) {
        return block == null ? 0 : (long) LONG.getOpaque(block, offset);
    }

    private long cpuNanos() {
        synchronized (this) {
            if (!stopped) {
                long c = FerryNative.ferry_engine_cpu_ns(engine);
                if (c >= 0) {
                    lastCpuNanos = c;
                }
                return c;
            }
        }
        return -1;
    }

    /** An estimate of on-core busy time never above the thread's whole CPU time (when known). */
    private long cpuCap(long busyCpu, long knownCpu) {
        long cpu = knownCpu >= 0 ? knownCpu : lastCpuNanos;
        return cpu > 0 ? Math.min(busyCpu, cpu) : busyCpu;
    }

    /** The engine's time per timed call (histograms on, or tracked ops), by bucket (ferry_hist_index). */
    public long[] engineHistogram() {
        long[] h = new long[HIST_BUCKETS];
        for (int i = 0; block != null && i < HIST_BUCKETS; i++) {
            h[i] = (long) LONG.getOpaque(block, HIST + i * 8L);
        }
        return h;
    }

    /** The statistics snapshot (see {@link EngineStats}). */
    public EngineStats snapshot() {
        boolean closed = stopped;
        long failed = blockLong(FAILED), skipped = blockLong(SKIPPED), aborted = blockLong(ABORTED);
        long sampledNs = blockLong(SAMPLED_NS);
        // stats.completed is stored once per drain, so it lags a long run of calls back to back; the
        // engine's own per-call counts do not: every slot it took is an op's call, an out-of-range op,
        // a skipped call or an abort record. They are read first, the ring's figures after them.
        long taken = skipped + aborted + blockLong(OTHER);
        long now = closed && stopNanos != 0 ? stopNanos : System.nanoTime();
        long uptime = Math.max(1, now - startNanos);
        long sampledCalls = blockLong(SAMPLED_CALLS);
        List<EngineStats.OpStats> ops = new ArrayList<>();
        for (int id = 0; id < opCount; id++) {
            long base = OPS + id * OP_SIZE;
            long calls = blockLong(base + OP_CALLS);
            taken += calls;
            if (calls != 0) {
                String n = opNames.get(id);
                ops.add(new EngineStats.OpStats(n == null ? "op#" + id : n, id, calls, blockLong(base + OP_FAILED),
                        blockLong(base + OP_TIMED_CALLS), blockLong(base + OP_TIMED_NS)));
            }
        }
        // The ring's figures after the engine's counters: a call counted above was claimed and started
        // before these reads, so a quiet engine reads in flight 0 and queued 0 (never a torn -1 or +1).
        long[] ring = ringFigures();
        long tail = ring[0], started = ring[3];
        long completed = block == null ? ring[2] : taken; // no max: the stats line may be newer than the counts
        // Busy time per slot taken, from the sampled runs (ferry_counters.c), times the slots taken.
        long busy = sampledCalls == 0 ? 0 : (long) ((double) sampledNs / sampledCalls * taken);
        long busyCpu = sampledCalls == 0 ? 0 : (long) ((double) blockLong(SAMPLED_CPU_NS) / sampledCalls * taken);
        return new EngineStats(name, uptime, tail, completed, Math.max(0, completed - skipped - aborted), failed,
                skipped, aborted, caller.rejected.sum(), caller.timedOut.sum(), caller.cancelled.sum(),
                caller.interrupted.sum(), Math.max(0, tail - completed), Math.max(0, tail - started), busy,
                Math.min(1.0, (double) busy / uptime), Math.min(busy, cpuCap(busyCpu, closed ? lastCpuNanos : -1)),
                closed ? lastCpuNanos : cpuNanos(),
                ring[4], blockLong(SLEEPS),
                caller.parks.sum(), caller.wakeups.sum(), ops, closed);
    }
}
