package io.ferry.bench;

import io.ferry.Engine;
import io.ferry.LongOp;
import io.ferry.WaitPolicy;
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
 * A Java task on the engine thread ({@code engine.callLong(() -> ...)}, issue 12) against a C op doing
 * the same work on the same engine ({@code add}: two arguments in, their sum out), in the same fork:
 * the task's cost over the op is the upcall and the task cell (pooled: a reused lambda allocates
 * nothing, which {@code -prof gc} shows). Target: the task at most 1.2x the op.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Threads(1)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx1g"})
public class TaskBenchmark {
    /** The task's work, as the op's: a non-capturing lambda, so one instance is reused. */
    private static final LongSupplier ADD = () -> 1 + TaskBenchmark.two();

    private static long two() {
        return 2;
    }

    @State(Scope.Benchmark)
    public static class Target {
        @Param({"LOWEST_LATENCY", "BALANCED"})
        public String policy;
        Engine engine;
        LongOp add;

        @Setup(Level.Trial)
        public void setUp() {
            engine = TestOps.builder().name("bench-tasks").waitPolicy(
                    policy.equals("BALANCED") ? WaitPolicy.BALANCED : WaitPolicy.LOWEST_LATENCY).start();
            add = engine.longOp("add");
            engine.callLong(ADD); // the first task binds the engine thread
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            engine.close();
        }
    }

    /** Per iteration: bursts of each, timed back to back, and the sum of ln(task / op) over burst pairs. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Pair {
        public long pairs;
        public long opNanos, taskNanos;
        /** Sum over burst pairs of ln(task ns / op ns): exp(logRatio / pairs) is the same-moment ratio. */
        public double logRatio;

        @Setup(Level.Iteration)
        public void clear() {
            pairs = 0;
            opNanos = taskNanos = 0;
            logRatio = 0;
        }
    }

    static final int BURST = 200;

    /**
     * One burst of {@code BURST} op calls and one of tasks, in alternating order: the ratio of the two
     * bursts is taken at the same moment, so the host's drift (other tenants, the vCPUs moving) cancels.
     */
    @Benchmark
    public long paired(Target t, Pair p) {
        long sink = 0;
        boolean opFirst = (p.pairs & 1) == 0;
        long a = System.nanoTime();
        for (int i = 0; i < BURST; i++) {
            sink += opFirst ? t.add.call(1, 2) : t.engine.callLong(ADD);
        }
        long b = System.nanoTime();
        for (int i = 0; i < BURST; i++) {
            sink += opFirst ? t.engine.callLong(ADD) : t.add.call(1, 2);
        }
        long c = System.nanoTime();
        long op = opFirst ? b - a : c - b, task = opFirst ? c - b : b - a;
        p.opNanos += op;
        p.taskNanos += task;
        p.logRatio += Math.log((double) task / op);
        p.pairs++;
        return sink;
    }

    @Benchmark
    public long cOp(Target t) {
        return t.add.call(1, 2);
    }

    @Benchmark
    public long task(Target t) {
        return t.engine.callLong(ADD);
    }

    /** A task returning an object: the same path, the result through the cell's Object field. */
    @Benchmark
    public Object taskObject(Target t) {
        return t.engine.call(TaskBenchmark::constant);
    }

    private static final Long THREE = 3L;

    private static Long constant() {
        return THREE;
    }
}
