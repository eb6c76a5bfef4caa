package io.ferry.bench;

import io.ferry.Engine;
import io.ferry.LongOp;
import io.ferry.WaitPolicy;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Calls per second ({@link Mode#Throughput}): one call at a time ({@link #sync}, {@link #virtual} from a
 * virtual thread), one producer keeping
 * {@link CallPath#DEPTH} calls in flight ({@link #pipelined}), and 1, 2, 4 and 8 producer threads making
 * sync calls on one engine at once ({@code producersN}), and 64 virtual threads doing the same
 * ({@link #producers64}). With {@code -prof gc}, {@code gc.alloc.rate.norm}
 * is bytes per call: these trials make the most calls, so JMH's own background allocation weighs least.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx1g"})
public class ThroughputBenchmark {

    @State(Scope.Thread)
    public static class Pipeline extends PathState {
        @Param({"ferry_batch", "ferry_async_pipelined", "jctools_pipelined"})
        public String pipe;

        @Setup(Level.Trial)
        public void setUp() {
            open(pipe);
        }
    }

    /** One call at a time on one thread: calls/s and, with -prof gc, bytes per call of the sync paths. */
    @State(Scope.Thread)
    public static class Sync extends PathState {
        @Param({"ferry_spin", "ferry_default"})
        public String sync;

        @Setup(Level.Trial)
        public void setUp() {
            open(sync);
        }
    }

    /** The same from a virtual thread (JMH's {@code jmh.executor=VIRTUAL}). */
    @State(Scope.Thread)
    public static class VirtualSync extends PathState {
        @Param({"ferry_spin", "ferry_default"})
        public String vsync;

        @Setup(Level.Trial)
        public void setUp() {
            open(vsync);
        }
    }

    /**
     * The spaced paths (a call every {@link CallPath#GAP_US} µs, paying wake-ups), for bytes per call
     * only: SampleTime's own bookkeeping (a boxed value per distinct sample) would weigh on their few
     * calls. The score counts the idle gaps too and means nothing; longer iterations give JMH's own
     * background allocation more calls to spread over.
     */
    @State(Scope.Thread)
    public static class Spaced extends PathState {
        @Param({"ferry_parked", "ferry_nospin", "park_unpark"})
        public String spath;

        @Setup(Level.Trial)
        public void setUp() {
            open(spath);
        }
    }

    @Benchmark
    @Threads(1)
    public void sync(Sync s) {
        s.p.run(1);
    }

    @Benchmark
    @Threads(1)
    @Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx1g", "-Djmh.executor=VIRTUAL"})
    public void virtual(VirtualSync s) {
        s.p.run(1);
    }

    @Benchmark
    @Threads(1)
    @Measurement(iterations = 3, time = 5)
    public void spaced(Spaced s) {
        s.p.idleGap();
        s.p.run(1);
    }

    @Benchmark
    @Threads(1)
    @OperationsPerInvocation(CallPath.DEPTH)
    public void pipelined(Pipeline s) {
        s.p.run(CallPath.DEPTH);
    }

    /** One engine with the default preset, shared by every producer thread of the trial. */
    @State(Scope.Benchmark)
    public static class SharedEngine {
        /** Ring slots: the default (1024), or the fused design's 16384 for comparison. */
        @Param({"1024"})
        public int capacity;
        Engine engine;
        LongOp add;
        final AtomicLong producers = new AtomicLong();

        @Setup(Level.Trial)
        public void setUp() {
            engine = TestOps.builder().name("bench-producers").capacity(capacity).waitPolicy(WaitPolicy.BALANCED)
                    .start();
            add = engine.longOp("add");
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            engine.close();
        }
    }

    @State(Scope.Thread)
    public static class Producer {
        long x;

        @Setup(Level.Trial)
        public void setUp(SharedEngine shared) {
            x = (shared.producers.incrementAndGet()) << 40;
        }
    }

    static long call(SharedEngine s, Producer p) {
        long x = p.x++;
        long r = s.add.call(x, 1);
        if (r != x + 1) {
            throw CallPath.wrong("producers", x, r);
        }
        return r;
    }

    @Benchmark
    @Threads(1)
    public long producers1(SharedEngine s, Producer p) {
        return call(s, p);
    }

    @Benchmark
    @Threads(2)
    public long producers2(SharedEngine s, Producer p) {
        return call(s, p);
    }

    @Benchmark
    @Threads(4)
    public long producers4(SharedEngine s, Producer p) {
        return call(s, p);
    }

    @Benchmark
    @Threads(8)
    public long producers8(SharedEngine s, Producer p) {
        return call(s, p);
    }

    /** 64 virtual threads making sync calls on one engine (JMH's {@code jmh.executor=VIRTUAL}). */
    @Benchmark
    @Threads(64)
    @Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx1g",
            "-Djmh.executor=VIRTUAL"})
    public long producers64(SharedEngine s, Producer p) {
        return call(s, p);
    }
}
