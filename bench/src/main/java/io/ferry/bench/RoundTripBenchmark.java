package io.ferry.bench;

import io.ferry.Engine;
import io.ferry.Op;
import io.ferry.WaitPreset;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.runner.IterationType;

/**
 * One caller thread, one sync round trip at a time: what a Ferry call costs next to the least any
 * cross-thread hand-off costs on this machine.
 *
 * <ul>
 *   <li>{@link #ferrySync}: {@code engine.call(add, x, 1)}, result checked, per {@link WaitPreset}.
 *   <li>{@link #floor}: two Java threads ping-pong a value through two padded cells.
 *   <li>{@link #interleaved}: the two above in alternating bursts of {@value #BURST} inside one
 *       invocation, so both see the same machine. The host moves this VM's two vCPUs and the floor jumps
 *       between ~40, ~100 and ~400 ns for seconds at a time, so only this ratio compares like with like.
 *       Its per-iteration figures are printed as {@code ferry_ns floor_ns ratio}, and its totals are the
 *       aux counters {@code ferryNanos/ferryCalls/floorNanos/floorCalls/cycles/logRatioSum} in the JSON
 *       (JMH sums EVENTS counters over iterations, so only sums are stored; ResultsReport derives the rest). Its primary score
 *       (ns per cycle) includes the waits between bursts and means nothing on its own.
 * </ul>
 *
 * <p>Run with {@code -prof gc}: {@code gc.alloc.rate.norm} of {@code ferrySync} must be ~0 B/op.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Threads(1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx1g"})
public class RoundTripBenchmark {
    /** Calls per burst in {@link #interleaved}: ~0.1-0.5 ms, far shorter than the floor's drift. */
    static final int BURST = 1000;
    /** Untimed calls before each timed burst: they pay the wake-up of a thread that was asleep. */
    static final int WARM = 200;

    // ---- (a) Ferry sync round trip ----------------------------------------------------------------

    @State(Scope.Thread)
    public static class FerryState {
        @Param({"LOWEST_LATENCY", "BALANCED"})
        public WaitPreset preset;

        Engine engine;
        Op add;
        long x;

        @Setup(Level.Trial)
        public void start() {
            engine = Engine.builder().name("bench-" + preset).preset(preset).start();
            add = engine.op("add");
        }

        @TearDown(Level.Trial)
        public void stop() {
            engine.close();
        }
    }

    @Benchmark
    public long ferrySync(FerryState s) {
        long x = s.x++;
        long r = s.engine.call(s.add, x, 1);
        if (r != x + 1) {
            throw wrong(x, r);
        }
        return r;
    }

    // ---- (b) Java ping-pong floor -----------------------------------------------------------------

    @State(Scope.Thread)
    public static class FloorState {
        PingPong pingPong;

        @Setup(Level.Trial)
        public void start() {
            pingPong = new PingPong();
        }

        @TearDown(Level.Trial)
        public void stop() {
            pingPong.close();
        }
    }

    @Benchmark
    public long floor(FloorState s) {
        return s.pingPong.roundTrip();
    }

    // ---- (c) interleaved bursts -------------------------------------------------------------------

    @State(Scope.Thread)
    public static class InterleavedState {
        @Param({"LOWEST_LATENCY", "BALANCED"})
        public WaitPreset preset;

        Engine engine;
        Op add;
        PingPong pingPong;
        long x;
        long engineIdleSpinNs;

        @Setup(Level.Trial)
        public void start() {
            engine = Engine.builder().name("bench-" + preset).preset(preset).start();
            add = engine.op("add");
            engineIdleSpinNs = preset.engineIdleSpin().toNanos();
            pingPong = new PingPong();
            pingPong.pause();
        }

        @TearDown(Level.Trial)
        public void stop() {
            pingPong.close();
            engine.close();
        }

        /**
         * Waits until the engine thread has stopped spinning (it spins for the preset's idle budget after
         * its last call, then sleeps), so that the floor burst does not share two vCPUs with a third
         * spinning thread. Judged by the engine's CPU time: under a quarter of a 200 µs window.
         */
        void awaitEngineIdle() {
            LockSupport.parkNanos(engineIdleSpinNs);
            long giveUp = System.nanoTime() + 2_000_000_000L;
            for (;;) {
                long c0 = engine.engineCpuNanos();
                long w0 = System.nanoTime();
                LockSupport.parkNanos(200_000);
                long dc = engine.engineCpuNanos() - c0;
                long w1 = System.nanoTime();
                if (dc * 4 < w1 - w0 || w1 > giveUp) {
                    return;
                }
            }
        }
    }

    /** Totals per iteration; JMH sums EVENTS counters, so the JSON holds totals and ratios are derived. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Counters {
        public long ferryNanos;
        public long ferryCalls;
        public long floorNanos;
        public long floorCalls;
        /** Cycles, and the sum over cycles of ln(ferry burst time / floor burst time): exp(sum / cycles)
         *  is the geometric mean of the per-cycle ratios, each from two adjacent bursts. */
        public long cycles;
        public double logRatioSum;

        @Setup(Level.Iteration)
        public void reset() {
            ferryNanos = ferryCalls = floorNanos = floorCalls = cycles = 0;
            logRatioSum = 0;
        }

        @TearDown(Level.Iteration)
        public void print(IterationParams iteration) {
            if (ferryCalls == 0 || floorCalls == 0) {
                return;
            }
            double ferry = (double) ferryNanos / ferryCalls;
            double floor = (double) floorNanos / floorCalls;
            System.out.printf("  [%s] ferry_ns %.1f  floor_ns %.1f  ratio %.2f  per-cycle ratio (geomean) %.2f"
                    + "  (%d cycles of %d + %d calls)%n", iteration.getType() == IterationType.WARMUP ? "warmup"
                    : "measure", ferry, floor, ferry / floor, Math.exp(logRatioSum / cycles), cycles, BURST, BURST);
        }
    }

    /**
     * One cycle, the two timed bursts back to back: once the engine has gone to sleep, a floor burst
     * (engine idle), then the echo thread is parked and a Ferry burst follows (echo idle). Each side runs
     * with exactly two busy threads, and the bursts are ~0.1 ms apart, so both see the same machine.
     */
    @Benchmark
    public void interleaved(InterleavedState s, Counters c) {
        s.awaitEngineIdle();
        PingPong pp = s.pingPong;
        pp.resume();
        for (int i = 0; i < WARM; i++) {
            pp.roundTrip();
        }
        long t0 = System.nanoTime();
        for (int i = 0; i < BURST; i++) {
            pp.roundTrip();
        }
        long t1 = System.nanoTime();
        pp.pause();

        Engine engine = s.engine;
        Op add = s.add;
        long x = s.x;
        for (int i = 0; i < WARM; i++, x++) {
            check(x, engine.call(add, x, 1));
        }
        long t2 = System.nanoTime();
        for (int i = 0; i < BURST; i++, x++) {
            long r = engine.call(add, x, 1);
            if (r != x + 1) {
                throw wrong(x, r);
            }
        }
        long t3 = System.nanoTime();
        s.x = x;
        c.floorNanos += t1 - t0;
        c.floorCalls += BURST;
        c.ferryNanos += t3 - t2;
        c.ferryCalls += BURST;
        c.cycles++;
        c.logRatioSum += Math.log((double) (t3 - t2) / (t1 - t0));
    }

    private static void check(long x, long r) {
        if (r != x + 1) {
            throw wrong(x, r);
        }
    }

    private static IllegalStateException wrong(long x, long r) {
        return new IllegalStateException("add(" + x + ", 1) returned " + r + ", expected " + (x + 1));
    }
}
