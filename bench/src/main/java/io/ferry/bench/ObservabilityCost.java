package io.ferry.bench;

import io.ferry.Engine;
import io.ferry.LongOp;
import io.ferry.WaitPolicy;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import jdk.jfr.Recording;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What observability costs a sync call (issue 13's cost targets; bench/RESULTS.md, "Observability"): the
 * spinning round trip of {@code add} with observability on and nobody looking ({@link #off}), against the
 * same call with it compiled out ({@code -Dferry.observability=false}: the op handles' check folds away and
 * the engine gets no counters block, {@link #compiledOut}), with a JFR recording that enables the per-call
 * event above a threshold no call reaches ({@link #jfrAboveThreshold}), and with histograms on
 * ({@link #histograms}). Not in make bench's pattern (its name does not end in Benchmark): run it as
 *
 * <pre>java -jar bench/target/benchmarks.jar ObservabilityCost -f 1 -wi 2 -w 1s -i 3 -r 1s -prof gc</pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx1g"})
@State(Scope.Thread)
public class ObservabilityCost {
    /** An engine with the spinning preset, so that the round trip is as short as it gets (the most sensitive). */
    @State(Scope.Benchmark)
    public static class Plain {
        Engine engine;
        LongOp add;

        boolean histograms() {
            return false;
        }

        @Setup(Level.Trial)
        public void start() {
            engine = TestOps.builder().name("obs-cost").waitPolicy(WaitPolicy.LOWEST_LATENCY).histograms(histograms())
                    .start();
            add = engine.longOp("add");
        }

        @TearDown(Level.Trial)
        public void stop() {
            engine.close();
        }
    }

    /** Histograms on. */
    @State(Scope.Benchmark)
    public static class Histograms extends Plain {
        @Override
        boolean histograms() {
            return true;
        }
    }

    /** A recording that enables io.ferry.Call above 1 s: every call checks, none is written. */
    @State(Scope.Benchmark)
    public static class Jfr extends Plain {
        Recording recording;

        @Override
        @Setup(Level.Trial)
        public void start() {
            recording = new Recording();
            recording.enable("io.ferry.Call").withThreshold(Duration.ofSeconds(1));
            recording.setToDisk(false);
            recording.start();
            super.start();
        }

        @Override
        @TearDown(Level.Trial)
        public void stop() {
            super.stop();
            recording.stop();
            recording.close();
        }
    }

    private long i;

    @Benchmark
    public long off(Plain s) {
        return s.add.call(i++, 1);
    }

    @Benchmark
    @Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx1g",
        "-Dferry.observability=false"})
    public long compiledOut(Plain s) {
        return s.add.call(i++, 1);
    }

    @Benchmark
    public long jfrAboveThreshold(Jfr s) {
        return s.add.call(i++, 1);
    }

    @Benchmark
    public long histograms(Histograms s) {
        return s.add.call(i++, 1);
    }
}
