package io.ferry.bench;

import java.util.concurrent.TimeUnit;
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
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.runner.IterationType;

/**
 * Every path next to the floor measured at the same moment. The host moves this VM's two vCPUs and the
 * cache-line floor jumps between ~40, ~100 and ~400 ns for seconds at a time, so a round-trip figure
 * only means something beside a floor taken at the same time.
 *
 * <p>One invocation is one <em>cycle</em>: a burst of the Java ping-pong floor, then a burst of each
 * path in {@code spec} ({@code "a+b+..."}, up to four), each burst after its own untimed warm-up calls
 * and after every other path in the cycle has gone quiet (echo and consumer threads parked, engine
 * threads asleep), so each burst runs with only its own threads on the two vCPUs. Bursts are
 * 0.1-5 ms long and follow each other at once, far within the floor's drift.
 *
 * <p>The JSON holds, per iteration, the aux counters: nanoseconds and calls per path
 * ({@code floor*}, {@code a*}, {@code b*}, {@code c*}, {@code d*} in spec order), the number of
 * cycles, sums over cycles of ln(path / floor) and ln(path / a), and the medians over the iteration's
 * cycles of ns per call and of the per-cycle ratios to the floor and between paths ({@code aMedFloor},
 * {@code cMedB} = c / b, ...), which ResultsReport reports. Spaced paths (calls that pay wake-ups) also get
 * their calls split into fast and slow wake-ups at {@link CallPath#SLOW_WAKE_NS}: the median and the count of
 * each ({@code aFastNs}, {@code aFastCalls}, {@code aSlowNs}, {@code aSlowCalls}, ...). Odd cycles run the
 * paths in reverse order. The primary score (ns per cycle) includes the waits between bursts and means
 * nothing on its own.
 *
 * <p>{@link #virtual} runs the same cycles from a virtual thread (JMH's {@code jmh.executor=VIRTUAL}).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Threads(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 10, time = 1)
@Fork(value = 2, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx1g"})
public class PairedBenchmark {
    static final int MAX_PATHS = 4;

    /** The paths of one cycle, created once per trial. */
    abstract static class CycleState {
        CallPath floor;
        CallPath[] paths;
        CallPath active;
        final long[] nanos = new long[MAX_PATHS + 1];
        final int[] calls = new int[MAX_PATHS + 1];

        void start(String spec) {
            String[] names = spec.split("\\+");
            if (names.length > MAX_PATHS) {
                throw new IllegalArgumentException("spec=" + spec + ": at most " + MAX_PATHS + " paths");
            }
            floor = CallPath.create("java_floor");
            paths = new CallPath[names.length];
            for (int i = 0; i < names.length; i++) {
                paths[i] = CallPath.create(names[i]);
                paths[i].quiesce();
            }
            floor.quiesce();
        }

        void stop() {
            for (CallPath p : paths) {
                p.close();
            }
            floor.close();
        }

        /** One burst of {@code p} with nothing else running; returns its time in ns. */
        long burst(CallPath p) {
            if (active != null && active != p) {
                active.quiesce();
            }
            active = p;
            p.resume();
            if (p.gapNs > 0) {
                p.runSpaced(p.warm);
                return p.runSpaced(p.burst);
            }
            p.run(p.warm);
            long t0 = System.nanoTime();
            p.run(p.burst);
            long t1 = System.nanoTime();
            long own = p.lastRunNanos();
            return own >= 0 ? own : t1 - t0;
        }

        /** Cycles so far; odd ones run the paths in reverse order, so no path always follows another. */
        long count;

        void cycle(Counters c) {
            nanos[0] = burst(floor);
            calls[0] = floor.burst;
            boolean reverse = (count++ & 1) == 1;
            for (int k = 0; k < paths.length; k++) {
                int i = reverse ? paths.length - 1 - k : k;
                nanos[i + 1] = burst(paths[i]);
                calls[i + 1] = paths[i].burst;
                if (paths[i].gapNs > 0) {
                    c.addSpaced(i, paths[i].spacedNanos, paths[i].spacedCalls);
                }
            }
            c.add(nanos, calls, paths.length);
        }
    }

    @State(Scope.Thread)
    public static class Cycle extends CycleState {
        @Param({"c_floor", "ffm_direct+ffm_critical", "ferry_spin+jctools", "ferry_default+executor+cf_supply",
                "ferry_parked+park_unpark+ferry_nospin", "ferry_async+executor+disruptor_block", "disruptor_spin",
                "ferry_batch+jctools_pipelined+ferry_async_pipelined", "ferry_p1+ferry_p2+ferry_p4+ferry_p8"})
        public String spec;

        @Setup(Level.Trial)
        public void setUp() {
            start(spec);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            stop();
        }
    }

    @State(Scope.Thread)
    public static class VirtualCycle extends CycleState {
        @Param({"ferry_spin+ferry_default"})
        public String vspec;

        @Setup(Level.Trial)
        public void setUp() {
            start(vspec);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            stop();
        }
    }

    /**
     * Per iteration (JMH sums EVENTS counters over iterations for its own score; the JSON keeps each
     * iteration's values in rawData, which is what ResultsReport reads): totals, sums of log ratios, and
     * medians over the iteration's cycles, which a cycle disturbed by another process cannot move.
     */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Counters {
        /** Cycles kept for the medians; later cycles of a very long iteration still count in the totals. */
        static final int KEEP = 1 << 16;

        public long cycles;
        public long floorNanos, floorCalls;
        public long aNanos, aCalls, bNanos, bCalls, cNanos, cCalls, dNanos, dCalls;
        /** Sums over cycles of ln(path ns per call / floor ns per call). */
        public double aLogFloor, bLogFloor, cLogFloor, dLogFloor;
        /** Sums over cycles of ln(path ns per call / a's ns per call), for head-to-head ratios. */
        public double bLogA, cLogA, dLogA;
        /** Medians over the iteration's cycles of ns per call, and the floor's 10th and 90th percentiles. */
        public double floorMedNs, floorP10Ns, floorP90Ns, aMedNs, bMedNs, cMedNs, dMedNs;
        /** Medians over the iteration's cycles of the per-cycle ratios: xMedFloor = x / floor, xMedY = x / y. */
        public double aMedFloor, bMedFloor, cMedFloor, dMedFloor, bMedA, cMedA, dMedA, cMedB, dMedB, dMedC;
        /**
         * Spaced paths only (CallPath.gapNs): their single calls split at {@link CallPath#SLOW_WAKE_NS} into
         * fast and slow wake-ups, with the median ns and the number of calls of each kind.
         */
        public double aFastNs, bFastNs, cFastNs, dFastNs, aSlowNs, bSlowNs, cSlowNs, dSlowNs;
        public long aFastCalls, bFastCalls, cFastCalls, dFastCalls, aSlowCalls, bSlowCalls, cSlowCalls, dSlowCalls;

        /** Per cycle: ns per call of the floor (0) and of each path (1..4). */
        private final double[][] perCall = new double[MAX_PATHS + 1][KEEP];
        private int kept;
        private int paths;
        /** Spaced paths: every timed call of the iteration (up to KEEP), per path; made on first use. */
        private final long[][] spaced = new long[MAX_PATHS][];
        private final int[] spacedKept = new int[MAX_PATHS];

        @Setup(Level.Iteration)
        public void reset() {
            cycles = floorNanos = floorCalls = aNanos = aCalls = bNanos = bCalls = cNanos = cCalls = dNanos = dCalls = 0;
            aLogFloor = bLogFloor = cLogFloor = dLogFloor = bLogA = cLogA = dLogA = 0;
            floorMedNs = floorP10Ns = floorP90Ns = aMedNs = bMedNs = cMedNs = dMedNs = 0;
            aMedFloor = bMedFloor = cMedFloor = dMedFloor = bMedA = cMedA = dMedA = cMedB = dMedB = dMedC = 0;
            aFastNs = bFastNs = cFastNs = dFastNs = aSlowNs = bSlowNs = cSlowNs = dSlowNs = 0;
            aFastCalls = bFastCalls = cFastCalls = dFastCalls = aSlowCalls = bSlowCalls = cSlowCalls = dSlowCalls = 0;
            kept = 0;
            java.util.Arrays.fill(spacedKept, 0);
        }

        void addSpaced(int path, long[] nanos, int n) {
            long[] to = spaced[path];
            if (to == null) {
                to = spaced[path] = new long[KEEP];
            }
            int k = Math.min(n, KEEP - spacedKept[path]);
            System.arraycopy(nanos, 0, to, spacedKept[path], k);
            spacedKept[path] += k;
        }

        /** {fast median, fast calls, slow median, slow calls} of a spaced path's calls this iteration. */
        private double[] wakeModes(int path) {
            int n = spacedKept[path];
            long[] v = java.util.Arrays.copyOf(spaced[path], n);
            java.util.Arrays.sort(v);
            int fast = 0;
            while (fast < n && v[fast] < CallPath.SLOW_WAKE_NS) {
                fast++;
            }
            int slow = n - fast;
            return new double[] {fast > 0 ? v[fast / 2] : 0, fast, slow > 0 ? v[fast + slow / 2] : 0, slow};
        }

        void add(long[] nanos, int[] calls, int n) {
            paths = n;
            double f = (double) nanos[0] / calls[0];
            double a = (double) nanos[1] / calls[1];
            if (kept < KEEP) {
                for (int i = 0; i <= n; i++) {
                    perCall[i][kept] = (double) nanos[i] / calls[i];
                }
                kept++;
            }
            cycles++;
            floorNanos += nanos[0];
            floorCalls += calls[0];
            aNanos += nanos[1];
            aCalls += calls[1];
            aLogFloor += Math.log(a / f);
            if (n > 1) {
                double b = (double) nanos[2] / calls[2];
                bNanos += nanos[2];
                bCalls += calls[2];
                bLogFloor += Math.log(b / f);
                bLogA += Math.log(b / a);
            }
            if (n > 2) {
                double c = (double) nanos[3] / calls[3];
                cNanos += nanos[3];
                cCalls += calls[3];
                cLogFloor += Math.log(c / f);
                cLogA += Math.log(c / a);
            }
            if (n > 3) {
                double d = (double) nanos[4] / calls[4];
                dNanos += nanos[4];
                dCalls += calls[4];
                dLogFloor += Math.log(d / f);
                dLogA += Math.log(d / a);
            }
        }

        /** The q-quantile (0..1) of the first {@code kept} values of {@code over}, or of over[i] / by[i]. */
        private double quantile(double[] over, double[] by, double q) {
            double[] v = new double[kept];
            for (int i = 0; i < kept; i++) {
                v[i] = by == null ? over[i] : over[i] / by[i];
            }
            java.util.Arrays.sort(v);
            return v[Math.min(kept - 1, (int) (q * kept))];
        }

        @TearDown(Level.Iteration)
        public void summarize(IterationParams iteration) {
            if (cycles == 0 || kept == 0) {
                return;
            }
            double[][] p = perCall;
            floorMedNs = quantile(p[0], null, 0.5);
            floorP10Ns = quantile(p[0], null, 0.1);
            floorP90Ns = quantile(p[0], null, 0.9);
            aMedNs = quantile(p[1], null, 0.5);
            aMedFloor = quantile(p[1], p[0], 0.5);
            if (paths > 1) {
                bMedNs = quantile(p[2], null, 0.5);
                bMedFloor = quantile(p[2], p[0], 0.5);
                bMedA = quantile(p[2], p[1], 0.5);
            }
            if (paths > 2) {
                cMedNs = quantile(p[3], null, 0.5);
                cMedFloor = quantile(p[3], p[0], 0.5);
                cMedA = quantile(p[3], p[1], 0.5);
                cMedB = quantile(p[3], p[2], 0.5);
            }
            if (paths > 3) {
                dMedNs = quantile(p[4], null, 0.5);
                dMedFloor = quantile(p[4], p[0], 0.5);
                dMedA = quantile(p[4], p[1], 0.5);
                dMedB = quantile(p[4], p[2], 0.5);
                dMedC = quantile(p[4], p[3], 0.5);
            }
            for (int i = 0; i < paths; i++) {
                if (spacedKept[i] == 0) {
                    continue;
                }
                double[] m = wakeModes(i);
                switch (i) {
                    case 0 -> { aFastNs = m[0]; aFastCalls = (long) m[1]; aSlowNs = m[2]; aSlowCalls = (long) m[3]; }
                    case 1 -> { bFastNs = m[0]; bFastCalls = (long) m[1]; bSlowNs = m[2]; bSlowCalls = (long) m[3]; }
                    case 2 -> { cFastNs = m[0]; cFastCalls = (long) m[1]; cSlowNs = m[2]; cSlowCalls = (long) m[3]; }
                    default -> { dFastNs = m[0]; dFastCalls = (long) m[1]; dSlowNs = m[2]; dSlowCalls = (long) m[3]; }
                }
            }
            StringBuilder s = new StringBuilder(String.format("  [%s] %d cycles, floor median %.1f ns (p10 %.1f, p90 %.1f)",
                    iteration.getType() == IterationType.WARMUP ? "warmup" : "measure", cycles, floorMedNs, floorP10Ns,
                    floorP90Ns));
            double[] ns = {aMedNs, bMedNs, cMedNs, dMedNs};
            double[] ratio = {aMedFloor, bMedFloor, cMedFloor, dMedFloor};
            for (int i = 0; i < paths; i++) {
                s.append(String.format(";  %c %.1f ns = %.2fx floor", 'a' + i, ns[i], ratio[i]));
                if (spacedKept[i] > 0) {
                    double[] m = wakeModes(i);
                    s.append(String.format(" (fast wakes %.0f ns x %d, slow %.0f ns x %d)", m[0], (long) m[1], m[2], (long) m[3]));
                }
            }
            System.out.println(s);
        }
    }

    @Benchmark
    public void platform(Cycle s, Counters c) {
        s.cycle(c);
    }

    @Benchmark
    @Fork(value = 2, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx1g",
            "-Djmh.executor=VIRTUAL"})
    public void virtual(VirtualCycle s, Counters c) {
        s.cycle(c);
    }
}
