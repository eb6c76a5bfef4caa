package io.ferry.bench;

import java.util.concurrent.TimeUnit;
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
 * One round trip per invocation, sampled by JMH ({@link Mode#SampleTime}): the distribution of a single
 * call's latency (p50 / p99 / p99.9) and, with {@code -prof gc}, the bytes it allocates. Each path runs
 * alone in its fork, its threads always on. These absolute figures move with the host; the ratios to the
 * floor come from {@link PairedBenchmark}.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Threads(1)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx1g"})
public class LatencyBenchmark {

    @State(Scope.Thread)
    public static class One extends PathState {
        @Param({"java_floor", "c_floor", "ffm_direct", "ffm_critical", "ferry_spin", "ferry_default", "ferry_async",
                "executor", "cf_supply", "disruptor_spin", "disruptor_block", "jctools"})
        public String path;

        @Setup(Level.Trial)
        public void setUp() {
            open(path);
        }
    }

    /** The paths whose calls are spaced (CallPath.gapNs): the gap runs before each invocation, untimed. */
    @State(Scope.Thread)
    public static class Spaced extends PathState {
        @Param({"ferry_parked", "park_unpark", "ferry_nospin"})
        public String spath;

        @Setup(Level.Trial)
        public void setUp() {
            open(spath);
        }

        @Setup(Level.Invocation)
        public void gap() {
            p.idleGap();
        }
    }

    @State(Scope.Thread)
    public static class OneVirtual extends PathState {
        @Param({"ferry_spin", "ferry_default"})
        public String vpath;

        @Setup(Level.Trial)
        public void setUp() {
            open(vpath);
        }
    }

    @Benchmark
    public void platform(One s) {
        s.p.run(1);
    }

    @Benchmark
    public void spaced(Spaced s) {
        s.p.run(1);
    }

    @Benchmark
    @Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx1g",
            "-Djmh.executor=VIRTUAL"})
    public void virtual(OneVirtual s) {
        s.p.run(1);
    }
}
