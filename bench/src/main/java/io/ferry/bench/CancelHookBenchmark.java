package io.ferry.bench;

import io.ferry.Engine;
import io.ferry.LongOp;
import io.ferry.WaitPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
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

/**
 * What a registered cancel hook costs every call (issue 12): two engines of the same plug-in
 * (bench/native/cancelhook.c, built by {@code make -C bench native}), one started with a no-op cancel
 * hook, calling the same op in alternating bursts. With a hook the engine opens and closes a cancel
 * window around each call (a release store, a seq_cst store and a seq_cst load: ferry_cancel.c).
 * Ferry's Java tasks register no such hook (their cancel actions run in Java on the giving-up thread),
 * so engines that never use one do not pay it.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Threads(1)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx1g"})
public class CancelHookBenchmark {
    static final int BURST = 500;

    @State(Scope.Benchmark)
    public static class Engines {
        @Param({"LOWEST_LATENCY", "BALANCED"})
        public String policy;
        Engine plain, hooked;
        LongOp plainAdd, hookedAdd;

        @Setup(Level.Trial)
        public void setUp() {
            Path lib = library();
            WaitPolicy p = policy.equals("BALANCED") ? WaitPolicy.BALANCED : WaitPolicy.LOWEST_LATENCY;
            plain = Engine.builder().name("plain").waitPolicy(p).library(lib, "bench_cancelhook_init", "").start();
            hooked = Engine.builder().name("hooked").waitPolicy(p).library(lib, "bench_cancelhook_init", "hook").start();
            plainAdd = plain.longOp("add");
            hookedAdd = hooked.longOp("add");
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            plain.close();
            hooked.close();
        }

        private static Path library() {
            for (String c : new String[] {"bench/target/native/libbench_cancelhook.so", "target/native/libbench_cancelhook.so"}) {
                Path p = Path.of(c).toAbsolutePath();
                if (Files.isReadable(p)) {
                    return p;
                }
            }
            throw new IllegalStateException("libbench_cancelhook.so not found: build it with 'make -C bench native'");
        }
    }

    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Pair {
        public long pairs, plainNanos, hookedNanos;
        /** Sum over burst pairs of ln(hooked / plain). */
        public double logRatio;

        @Setup(Level.Iteration)
        public void clear() {
            pairs = plainNanos = hookedNanos = 0;
            logRatio = 0;
        }
    }

    @Benchmark
    public long paired(Engines e, Pair p) {
        long sink = 0;
        boolean plainFirst = (p.pairs & 1) == 0;
        LongOp first = plainFirst ? e.plainAdd : e.hookedAdd, second = plainFirst ? e.hookedAdd : e.plainAdd;
        long a = System.nanoTime();
        for (int i = 0; i < BURST; i++) {
            sink += first.call(1, 2);
        }
        long b = System.nanoTime();
        for (int i = 0; i < BURST; i++) {
            sink += second.call(1, 2);
        }
        long c = System.nanoTime();
        long plain = plainFirst ? b - a : c - b, hooked = plainFirst ? c - b : b - a;
        p.plainNanos += plain;
        p.hookedNanos += hooked;
        p.logRatio += Math.log((double) hooked / plain);
        p.pairs++;
        return sink;
    }
}
