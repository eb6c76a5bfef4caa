package io.ferry.bench;

import io.ferry.ExecutionContext;
import io.ferry.tcl.Tcl;
import io.ferry.tcl.tcl_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Tcl {@code eval "expr {1+1}"} (issue 12): through Ferry's Tcl engine from 1 and 8 threads; through a
 * single-thread executor whose thread owns an interpreter and calls the same Tcl function with a plain
 * FFM downcall ({@code submit(...).get()}, what a user would otherwise write); and that downcall on the
 * caller's own thread and interpreter, with no hand-off (the floor). {@code roundTrip} is one Ferry task
 * round trip on the same engine, for the target "within 1.3x of floor + one round trip". Each eval does
 * the same work: the script's bytes into a native buffer, {@code Tcl_EvalEx}, the result as a String.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx1g"})
public class TclBenchmark {
    static final String SCRIPT = "expr {1+1}";
    private static final LongSupplier TWO = () -> 2;

    /** An interpreter of the calling thread's, called directly: the floor's and the executor's eval. */
    static final class Direct {
        final MemorySegment interp;
        final MemorySegment buffer = Arena.global().allocate(256);

        Direct() {
            tcl_h.Tcl_FindExecutable(MemorySegment.NULL);
            interp = tcl_h.Tcl_CreateInterp();
        }

        String eval(String script) {
            byte[] b = script.getBytes(StandardCharsets.UTF_8);
            MemorySegment.copy(b, 0, buffer, ValueLayout.JAVA_BYTE, 0, b.length);
            int rc = tcl_h.Tcl_EvalEx(interp, buffer, b.length, tcl_h.TCL_EVAL_GLOBAL);
            if (rc != tcl_h.TCL_OK) {
                throw new IllegalStateException("Tcl: " + tcl_h.Tcl_GetStringResult(interp).getString(0));
            }
            return tcl_h.Tcl_GetStringResult(interp).getString(0);
        }
    }

    @State(Scope.Benchmark)
    public static class Ferry {
        /** The Tcl engine's wait policy (BALANCED, Ferry's default, or LOWEST_LATENCY). */
        @Param({"BALANCED"})
        public String policy;
        Tcl tcl;
        ExecutionContext sys;

        @Setup(Level.Trial)
        public void setUp() {
            tcl = Tcl.start(io.ferry.Engine.builder().name("tcl").waitPolicy(policy.equals("LOWEST_LATENCY")
                    ? io.ferry.WaitPolicy.LOWEST_LATENCY : io.ferry.WaitPolicy.BALANCED));
            sys = tcl.engine().systemContext();
            tcl.eval(sys, SCRIPT);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            tcl.close();
        }
    }

    @State(Scope.Benchmark)
    public static class Executor {
        ExecutorService executor;
        Direct direct;

        @Setup(Level.Trial)
        public void setUp() throws Exception {
            executor = Executors.newSingleThreadExecutor();
            direct = executor.submit(Direct::new).get(); // made, and used, on the executor's thread only
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            executor.shutdown();
        }
    }

    @State(Scope.Thread)
    public static class Floor {
        Direct direct;

        @Setup(Level.Trial)
        public void setUp() {
            direct = new Direct(); // JMH runs a Scope.Thread setup on the benchmark thread
        }
    }

    /** Per iteration: ns of each path's bursts within cycles, and per-cycle log ratios. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Cycle {
        public long cycles;
        public long floorNanos, ferryNanos, tripNanos, executorNanos;
        /** Sums over cycles of ln(ferry / (floor + trip)) and ln(executor / ferry). */
        public double logFerryOverFloorPlusTrip, logExecutorOverFerry, logFerryOverFloor;

        @Setup(Level.Iteration)
        public void clear() {
            cycles = floorNanos = ferryNanos = tripNanos = executorNanos = 0;
            logFerryOverFloorPlusTrip = logExecutorOverFerry = logFerryOverFloor = 0;
        }
    }

    static final int BURST = 100;

    /**
     * One cycle: a burst of each one-caller path back to back (the floor, Ferry's eval, a Ferry task round
     * trip, the executor), so their ratios are taken at the same moment.
     */
    @Benchmark
    @Threads(1)
    public int cycle(Ferry f, Executor e, Floor fl, Cycle c) throws Exception {
        int sink = 0;
        long t0 = System.nanoTime();
        for (int i = 0; i < BURST; i++) {
            sink += fl.direct.eval(SCRIPT).length();
        }
        long t1 = System.nanoTime();
        for (int i = 0; i < BURST; i++) {
            sink += f.tcl.eval(f.sys, SCRIPT).length();
        }
        long t2 = System.nanoTime();
        for (int i = 0; i < BURST; i++) {
            sink += (int) f.sys.callLong(TWO);
        }
        long t3 = System.nanoTime();
        Direct d = e.direct;
        for (int i = 0; i < BURST; i++) {
            sink += e.executor.submit(() -> d.eval(SCRIPT)).get().length();
        }
        long t4 = System.nanoTime();
        long floor = t1 - t0, ferry = t2 - t1, trip = t3 - t2, executor = t4 - t3;
        c.floorNanos += floor;
        c.ferryNanos += ferry;
        c.tripNanos += trip;
        c.executorNanos += executor;
        c.logFerryOverFloorPlusTrip += Math.log((double) ferry / (floor + trip));
        c.logExecutorOverFerry += Math.log((double) executor / ferry);
        c.logFerryOverFloor += Math.log((double) ferry / floor);
        c.cycles++;
        return sink;
    }

    @Benchmark
    @Threads(1)
    public String ferry1(Ferry f) {
        return f.tcl.eval(f.sys, SCRIPT);
    }

    @Benchmark
    @Threads(8)
    public String ferry8(Ferry f) {
        return f.tcl.eval(f.sys, SCRIPT);
    }

    @Benchmark
    @Threads(1)
    public long roundTrip(Ferry f) {
        return f.sys.callLong(TWO);
    }

    @Benchmark
    @Threads(1)
    public String executor1(Executor e) throws ExecutionException, InterruptedException {
        Direct d = e.direct;
        return e.executor.submit(() -> d.eval(SCRIPT)).get();
    }

    @Benchmark
    @Threads(1)
    public String floor(Floor f) {
        return f.direct.eval(SCRIPT);
    }
}
