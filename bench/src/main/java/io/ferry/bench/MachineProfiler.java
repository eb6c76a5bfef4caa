package io.ferry.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.profile.InternalProfiler;
import org.openjdk.jmh.results.AggregationPolicy;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.ScalarResult;

/**
 * How busy the machine was around the benchmark, per iteration: CPUs used by other processes (busy time
 * in /proc/stat minus this JVM's own CPU time) and CPUs stolen by the host (steal). On two vCPUs a
 * third busy thread from anywhere turns a spinning hand-off into a time-slice switch, so a result
 * measured while other processes ran is marked in RESULTS.md.
 *
 * <pre>java -jar benchmarks.jar -prof io.ferry.bench.MachineProfiler ...</pre>
 *
 * <p>As a program, {@code --wait-quiet SECONDS} waits (at most that long) until other processes use
 * less than {@link #QUIET_CPUS} CPUs, so that a run does not start in the middle of someone's build.
 */
public final class MachineProfiler implements InternalProfiler {
    /** Other processes below this many CPUs: quiet enough to start. */
    static final double QUIET_CPUS = 0.15;

    public static void main(String[] args) throws InterruptedException {
        if (args.length != 2 || !args[0].equals("--wait-quiet")) {
            System.err.println("usage: MachineProfiler --wait-quiet SECONDS");
            System.exit(2);
        }
        long deadline = System.nanoTime() + Long.parseLong(args[1]) * 1_000_000_000L;
        boolean told = false;
        double others;
        do {
            long[] c0 = cpuLine();
            long o0 = ownTicks();
            Thread.sleep(1000);
            others = othersCpus(c0, cpuLine(), o0, ownTicks());
            if (Double.isNaN(others) || others < QUIET_CPUS) {
                if (told) {
                    System.out.println("bench: the machine is quiet now; starting");
                }
                return;
            }
            if (!told) {
                System.out.printf("bench: other processes use %.1f CPUs; waiting up to %s s for them to finish%n", others,
                        args[1]);
                told = true;
            }
        } while (System.nanoTime() < deadline);
        System.out.printf("bench: other processes still use %.1f CPUs; starting anyway (RESULTS.md marks the trials "
                + "they disturbed)%n", others);
    }
    private long[] before;
    private long ownBefore;

    @Override
    public String getDescription() {
        return "CPUs used by other processes and stolen by the host during each iteration (Linux /proc)";
    }

    @Override
    public void beforeIteration(BenchmarkParams benchmarkParams, IterationParams iterationParams) {
        before = cpuLine();
        ownBefore = ownTicks();
    }

    @Override
    public Collection<? extends Result> afterIteration(BenchmarkParams benchmarkParams, IterationParams iterationParams,
            IterationResult result) {
        long[] after = cpuLine();
        long own = ownTicks();
        List<Result> out = new ArrayList<>();
        double others = othersCpus(before, after, ownBefore, own);
        if (!Double.isNaN(others)) {
            out.add(new ScalarResult("machine.otherCpus", others, "CPUs", AggregationPolicy.AVG));
            out.add(new ScalarResult("machine.stealCpus", stealCpus(before, after), "CPUs", AggregationPolicy.AVG));
        }
        return out;
    }

    /** CPUs that other processes kept busy between two samples (NaN if unknown). */
    static double othersCpus(long[] before, long[] after, long ownBefore, long ownAfter) {
        if (before == null || after == null || ownBefore < 0 || ownAfter < 0) {
            return Double.NaN;
        }
        // /proc/stat "cpu": user nice system idle iowait irq softirq steal ...
        long busy = 0;
        for (int i = 0; i < Math.min(7, after.length); i++) {
            if (i != 3 && i != 4) {
                busy += after[i] - before[i];
            }
        }
        double wall = wallTicks(before, after);
        return wall <= 0 ? Double.NaN : Math.max(0, (busy - (ownAfter - ownBefore)) / wall);
    }

    static double stealCpus(long[] before, long[] after) {
        double wall = wallTicks(before, after);
        return after.length > 7 && wall > 0 ? (after[7] - before[7]) / wall : 0;
    }

    /** The ticks of every state on every CPU add up to the number of CPUs times the wall time. */
    private static double wallTicks(long[] before, long[] after) {
        long total = 0;
        for (int i = 0; i < Math.min(8, after.length); i++) {
            total += after[i] - before[i];
        }
        return (double) total / Runtime.getRuntime().availableProcessors();
    }

    /** The aggregate "cpu" line of /proc/stat, in clock ticks, or null off Linux. */
    private static long[] cpuLine() {
        try {
            String line = Files.readAllLines(Path.of("/proc/stat")).get(0);
            String[] f = line.trim().split("\\s+");
            long[] v = new long[f.length - 1];
            for (int i = 1; i < f.length; i++) {
                v[i - 1] = Long.parseLong(f[i]);
            }
            return v;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** This process's user + system time in clock ticks (/proc/self/stat fields 14 and 15), or -1. */
    private static long ownTicks() {
        try {
            String s = Files.readString(Path.of("/proc/self/stat"));
            String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
            // f[0] is field 3 (state): utime is field 14 -> f[11], stime field 15 -> f[12]
            return Long.parseLong(f[11]) + Long.parseLong(f[12]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }
}
