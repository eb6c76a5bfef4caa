package io.ferry.bench;

import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_CHAR;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import io.ferry.Engine;
import io.ferry.LongOp;
import io.ferry.WaitPolicy;
import io.ferry.spi.EngineLibraries;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Issue 12, item 2: an engine-thread downcall handle ({@code Engine.downcallHandle}) against a C op doing
 * the same work, in the same JMH run and on the same engine (preset BALANCED, or LOWEST_LATENCY with
 * {@code -Dferry.bench.downcall.policy=spin}; the round trip is the same for both, so the difference is
 * what the downcall adds):
 *
 * <ul>
 *   <li>{@code cOpAdd}: the test op {@code add} (a + b) through {@link LongOp#call(long, long)};
 *   <li>{@code downcallAdd}: {@code int64_t ferry_testops_add_i64(int64_t, int64_t)} through a downcall
 *       handle held in a {@code static final} field, as a jextract-shaped binding holds it;
 *   <li>{@code cOpNoop} / {@code downcallNoop}: no arguments ({@code noop}, {@code ferry_testops_noop});
 *   <li>{@code downcallMix8}: eight arguments of eight kinds ({@code ferry_testops_mix}), for scale;
 *   <li>{@code directAdd}: the Linker's own handle on the caller's thread (no hand-off), the floor.
 * </ul>
 *
 * Run with {@code -prof gc}: both must allocate nothing per call.
 *
 * <p>{@code paired} is the ratio on a busy machine: each invocation is one cycle of {@value #BURST} calls
 * of the C op and {@value #BURST} of the downcall (in alternating order), each burst timed; the trial's
 * teardown prints the median per-call time of each and the median over cycles of their ratio. A ratio
 * within one cycle (a few hundred microseconds) is not moved by other processes the way two separate
 * trials are.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms512m", "-Xmx512m"})
@State(Scope.Thread)
public class DowncallBenchmark {
    /** One engine for the fork, and the handles, constant as a binding's are. */
    static final class Bound {
        static final Engine ENGINE = TestOps.builder().name("bench-downcall")
                .waitPolicy("spin".equals(System.getProperty("ferry.bench.downcall.policy")) ? WaitPolicy.LOWEST_LATENCY
                        : WaitPolicy.BALANCED)
                .start();
        static final LongOp ADD = ENGINE.longOp("add");
        static final LongOp NOOP = ENGINE.longOp("noop");
        static final LongOp ECHO = ENGINE.longOp("echo");
        static final SymbolLookup LIB = lookup();
        static final FunctionDescriptor ADD_DESC = FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG);
        static final MethodHandle ADD_ON_ENGINE = ENGINE.downcallHandle(LIB.find("ferry_testops_add_i64").orElseThrow(),
                ADD_DESC);
        static final MethodHandle ECHO_ON_ENGINE = ENGINE.downcallHandle(
                LIB.find("ferry_testops_echo_i64").orElseThrow(), FunctionDescriptor.of(JAVA_LONG, JAVA_LONG));
        static final MethodHandle NOOP_ON_ENGINE = ENGINE.downcallHandle(LIB.find("ferry_testops_noop").orElseThrow(),
                FunctionDescriptor.of(JAVA_LONG));
        static final MethodHandle MIX_ON_ENGINE = ENGINE.downcallHandle(LIB.find("ferry_testops_mix").orElseThrow(),
                FunctionDescriptor.of(JAVA_DOUBLE, JAVA_BOOLEAN, JAVA_BYTE, JAVA_SHORT, JAVA_CHAR, JAVA_INT, JAVA_LONG,
                        JAVA_FLOAT, JAVA_DOUBLE));
        @SuppressWarnings("restricted")
        static final MethodHandle ADD_DIRECT = Linker.nativeLinker()
                .downcallHandle(LIB.find("ferry_testops_add_i64").orElseThrow(), ADD_DESC);

        @SuppressWarnings("restricted")
        private static SymbolLookup lookup() {
            try {
                return EngineLibraries.lookup(TestOps.class, "libferry_testops.so", TestOps.PROPERTY);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    long x;

    static final int BURST = 256;

    /** The per-cycle burst times of {@code paired}, and what it compares. */
    @State(Scope.Thread)
    public static class Pair {
        private static final int MAX_CYCLES = 1 << 20;
        final long[] opNs = new long[MAX_CYCLES];
        final long[] downNs = new long[MAX_CYCLES];
        int cycles;

        /**
         * What {@code paired} compares: {@code add} (two arguments: a channel), {@code echo} (one, in the
         * slot) or {@code noop} (none).
         */
        @org.openjdk.jmh.annotations.Param({"add", "echo", "noop"})
        public String work;

        @TearDown(org.openjdk.jmh.annotations.Level.Iteration)
        public void tearDown() {
            if (cycles == 0) {
                return;
            }
            double[] ratio = new double[cycles];
            for (int i = 0; i < cycles; i++) {
                ratio[i] = (double) downNs[i] / opNs[i];
            }
            long[] op = java.util.Arrays.copyOf(opNs, cycles), down = java.util.Arrays.copyOf(downNs, cycles);
            java.util.Arrays.sort(op);
            java.util.Arrays.sort(down);
            java.util.Arrays.sort(ratio);
            System.out.printf("%npaired (%s) over %d cycles of %d + %d calls: C op %.1f ns/call, downcall %.1f ns/call,"
                    + " ratio median %.3f (p25 %.3f, p75 %.3f)%n", work, cycles, BURST, BURST,
                    op[cycles / 2] / (double) BURST, down[cycles / 2] / (double) BURST, ratio[cycles / 2],
                    ratio[cycles / 4], ratio[3 * cycles / 4]);
            cycles = 0;
        }
    }

    @Benchmark
    @org.openjdk.jmh.annotations.OperationsPerInvocation(2 * BURST)
    public long paired(Pair p) throws Throwable {
        boolean opFirst = (p.cycles & 1) == 0;
        int w = p.work.equals("noop") ? 0 : p.work.equals("echo") ? 1 : 2;
        long t0 = System.nanoTime();
        long sum = opFirst ? op(w) : down(w);
        long t1 = System.nanoTime();
        sum += opFirst ? down(w) : op(w);
        long t2 = System.nanoTime();
        if (p.cycles < Pair.MAX_CYCLES) {
            p.opNs[p.cycles] = opFirst ? t1 - t0 : t2 - t1;
            p.downNs[p.cycles] = opFirst ? t2 - t1 : t1 - t0;
            p.cycles++;
        }
        return sum;
    }

    private long op(int w) {
        return w == 0 ? opNoop() : w == 1 ? opEcho() : opAdd();
    }

    private long down(int w) throws Throwable {
        return w == 0 ? downNoop() : w == 1 ? downEcho() : downAdd();
    }

    private long opEcho() {
        long sum = 0;
        for (int i = 0; i < BURST; i++) {
            sum += Bound.ECHO.call(x++);
        }
        return sum;
    }

    private long downEcho() throws Throwable {
        long sum = 0;
        for (int i = 0; i < BURST; i++) {
            sum += (long) Bound.ECHO_ON_ENGINE.invokeExact(x++);
        }
        return sum;
    }

    private long opAdd() {
        long sum = 0;
        for (int i = 0; i < BURST; i++) {
            sum += Bound.ADD.call(x++, 1);
        }
        return sum;
    }

    private long downAdd() throws Throwable {
        long sum = 0;
        for (int i = 0; i < BURST; i++) {
            sum += (long) Bound.ADD_ON_ENGINE.invokeExact(x++, 1L);
        }
        return sum;
    }

    private long opNoop() {
        long sum = 0;
        for (int i = 0; i < BURST; i++) {
            sum += Bound.NOOP.call();
        }
        return sum;
    }

    private long downNoop() throws Throwable {
        long sum = 0;
        for (int i = 0; i < BURST; i++) {
            sum += (long) Bound.NOOP_ON_ENGINE.invokeExact();
        }
        return sum;
    }

    @Benchmark
    public long cOpAdd() {
        return Bound.ADD.call(x++, 1);
    }

    @Benchmark
    public long downcallAdd() throws Throwable {
        return (long) Bound.ADD_ON_ENGINE.invokeExact(x++, 1L);
    }

    @Benchmark
    public long cOpEcho() {
        return Bound.ECHO.call(x++);
    }

    @Benchmark
    public long downcallEcho() throws Throwable {
        return (long) Bound.ECHO_ON_ENGINE.invokeExact(x++);
    }

    @Benchmark
    public long cOpNoop() {
        return Bound.NOOP.call();
    }

    @Benchmark
    public long downcallNoop() throws Throwable {
        return (long) Bound.NOOP_ON_ENGINE.invokeExact();
    }

    @Benchmark
    public double downcallMix8() throws Throwable {
        return (double) Bound.MIX_ON_ENGINE.invokeExact(true, (byte) 1, (short) 2, (char) 3, 4, x++, 5f, 6.0);
    }

    @Benchmark
    public long directAdd() throws Throwable {
        return (long) Bound.ADD_DIRECT.invokeExact(x++, 1L);
    }
}
