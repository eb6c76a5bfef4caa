package io.ferry.bench;

import io.ferry.internal.CallEvent;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLongArray;
import jdk.jfr.Recording;

/**
 * What a caller pays per sync call for observability, in loops on one thread (issue 13; bench/RESULTS.md,
 * "Observability"): with histograms on, two System.nanoTime reads and one atomic add to a histogram
 * bucket; with a JFR recording that enables io.ferry.Call above a threshold no call reaches, what
 * OpBase does per call (a CallEvent made, begun, ended and checked, nothing written); and the same with
 * no recording (the JIT removes it).
 *
 * <pre>java -cp bench/target/benchmarks.jar io.ferry.bench.ClockCost</pre>
 */
public final class ClockCost {
    private ClockCost() {
    }

    private static long sink;

    public static void main(String[] args) {
        AtomicLongArray h = new AtomicLongArray(624);
        long n = 20_000_000;
        for (int r = 0; r < 3; r++) {
            long t0 = System.nanoTime();
            for (long i = 0; i < n; i++) {
                long x = System.nanoTime();
                long d = System.nanoTime() - x;
                h.getAndIncrement((int) (d & 511));
            }
            long t1 = System.nanoTime();
            System.out.printf("round %d: histograms: two nanoTime + one bucket add: %.1f ns%n", r, (t1 - t0) / (double) n);
        }
        for (int r = 0; r < 3; r++) {
            System.out.printf("round %d: no recording: the per-call event path: %.1f ns%n", r, events(n));
        }
        try (Recording rec = new Recording()) {
            rec.enable("io.ferry.Call").withThreshold(Duration.ofSeconds(1));
            rec.setToDisk(false);
            rec.start();
            for (int r = 0; r < 3; r++) {
                System.out.printf("round %d: io.ferry.Call enabled above 1 s: the per-call event path: %.1f ns%n", r,
                        events(n));
            }
        }
    }

    /** As OpBase.startEvent and OpBase.observe do with histograms off. */
    private static double events(long n) {
        long t0 = System.nanoTime();
        for (long i = 0; i < n; i++) {
            CallEvent ev = new CallEvent();
            if (ev.isEnabled()) {
                ev.begin();
                sink += i; // the call
                ev.end();
                if (ev.shouldCommit()) {
                    ev.outcome = "ok";
                    ev.commit();
                }
            } else {
                sink += i;
            }
        }
        return (System.nanoTime() - t0) / (double) n;
    }
}
