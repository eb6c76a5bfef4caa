package io.ferry.bench;

import io.ferry.Engine;
import io.ferry.LongOp;
import io.ferry.WaitPolicy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
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
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.runner.IterationType;

/**
 * What observability costs a sync call (issue 13; bench/RESULTS.md, "Observability"). Each invocation is
 * one cycle of three bursts, each after its own warm-up and with the other bursts' threads quiet: the Java
 * ping-pong floor, a sync {@code add} on an engine with histograms off ("plain"), and the same on an
 * engine with histograms on ("hist"); odd cycles run them in reverse. Per cycle it takes the ratios
 * plain / floor and hist / plain, and at the end of the trial prints their medians (lines starting
 * {@code OBS}). The benchmark methods differ only in the JVM they run in:
 * <ul>
 *   <li>{@link #off}: observability on, nobody looking (plain is the call as users get it);
 *   <li>{@link #compiledOut}: {@code -Dferry.observability=false}, the op handles' check folded away and no
 *       counters block for the engine (and so no histograms: hist is plain again);
 *   <li>{@link #jfr}: a JFR recording enables io.ferry.Call above 1 s, which no call reaches.
 * </ul>
 * So off / compiledOut is (plain/floor in off) / (plain/floor in compiledOut), each floor taken in the same
 * cycles as its calls. Not in make bench's pattern: run it as
 *
 * <pre>java -jar bench/target/benchmarks.jar ObservabilityCost -prof gc</pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 6, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx1g"})
@State(Scope.Thread)
public class ObservabilityCost {
    static final int WARM = 300, BURST = 3000;
    /** -Dobs.policy=spin: LOWEST_LATENCY (the shortest round trip; on a machine with no spare core both spinning threads starve). */
    static final WaitPolicy POLICY = "spin".equals(System.getProperty("obs.policy")) ? WaitPolicy.LOWEST_LATENCY
            : WaitPolicy.BALANCED;

    private PingPong floor;
    private Engine plainEngine, histEngine;
    private LongOp plain, hist;
    private Recording recording;
    private boolean measuring;
    private long cycle;
    private final List<Double> plainOverFloor = new ArrayList<>(), histOverPlain = new ArrayList<>();
    private final List<Double> floorNs = new ArrayList<>(), plainNs = new ArrayList<>(), histNs = new ArrayList<>();
    private String mode;

    @Setup(Level.Trial)
    public void start(BenchmarkParams params) {
        String b = params.getBenchmark();
        mode = b.substring(b.lastIndexOf('.') + 1);
        if (mode.equals("jfr")) {
            recording = new Recording();
            recording.enable("io.ferry.Call").withThreshold(Duration.ofSeconds(1));
            recording.setToDisk(false);
            recording.start();
        }
        floor = new PingPong();
        floor.pause();
        plainEngine = TestOps.builder().name("obs-plain").waitPolicy(POLICY).start();
        histEngine = TestOps.builder().name("obs-hist").waitPolicy(POLICY)
                .histograms(!Boolean.getBoolean("obs.nohist") && !"false".equals(System.getProperty("ferry.observability")))
                .start();
        plain = plainEngine.longOp("add");
        hist = histEngine.longOp("add");
    }

    @Setup(Level.Iteration)
    public void iteration(IterationParams params) {
        measuring = params.getType() == IterationType.MEASUREMENT;
    }

    @TearDown(Level.Trial)
    public void stop() {
        plainEngine.close();
        histEngine.close();
        floor.close();
        if (recording != null) {
            recording.close();
        }
        System.out.printf(Locale.ROOT, "%nOBS mode=%s cycles=%d floor=%.1fns plain=%.1fns hist=%.1fns "
                + "plain/floor=%.4f hist/plain=%.4f (medians over cycles)%n", mode, plainOverFloor.size(),
                median(floorNs), median(plainNs), median(histNs), median(plainOverFloor), median(histOverPlain));
    }

    private static double median(List<Double> v) {
        if (v.isEmpty()) {
            return Double.NaN;
        }
        List<Double> s = new ArrayList<>(v);
        Collections.sort(s);
        return s.get(s.size() / 2);
    }

    private double floorBurst() {
        floor.resume();
        for (int i = 0; i < WARM; i++) {
            floor.roundTrip();
        }
        long t0 = System.nanoTime();
        for (int i = 0; i < BURST; i++) {
            floor.roundTrip();
        }
        double ns = (System.nanoTime() - t0) / (double) BURST;
        floor.pause();
        return ns;
    }

    /**
     * Lets the engine of the burst before go to sleep (its idle spin would take a vCPU from this burst:
     * without this pause the middle burst paid ~2 us a call against ~0.2 us for the others): a 1 ms park,
     * past the idle spin of either preset's engine... except LOWEST_LATENCY's 10 ms, which -Dobs.policy=spin
     * accepts. Allocates nothing (polling Engine.stats() here allocated ~60 KB a cycle).
     */
    private static void quiet() {
        java.util.concurrent.locks.LockSupport.parkNanos(1_000_000L);
    }

    private static double callBurst(LongOp op) {
        long sum = 0;
        for (int i = 0; i < WARM; i++) {
            sum += op.call(i, 1);
        }
        long t0 = System.nanoTime();
        for (int i = 0; i < BURST; i++) {
            sum += op.call(i, 1);
        }
        double ns = (System.nanoTime() - t0) / (double) BURST;
        if (sum == 42) {
            System.out.print(""); // keeps the sum alive
        }
        return ns;
    }

    private long cycle() {
        double f, p, h;
        if ((cycle++ & 1) == 0) {
            quiet();
            f = floorBurst();
            p = callBurst(plain);
            quiet();
            h = callBurst(hist);
        } else {
            quiet();
            h = callBurst(hist);
            quiet();
            p = callBurst(plain);
            quiet();
            f = floorBurst();
        }
        if (measuring) {
            floorNs.add(f);
            plainNs.add(p);
            histNs.add(h);
            plainOverFloor.add(p / f);
            histOverPlain.add(h / p);
        }
        return cycle;
    }

    @Benchmark
    public long off() {
        return cycle();
    }

    @Benchmark
    @Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx1g",
        "-Dferry.observability=false"})
    public long compiledOut() {
        return cycle();
    }

    @Benchmark
    public long jfr() {
        return cycle();
    }
}
