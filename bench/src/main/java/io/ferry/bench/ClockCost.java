package io.ferry.bench;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * What a caller pays per sync call with histograms on (issue 13; bench/RESULTS.md, "Observability"): two
 * System.nanoTime reads and one atomic add to a histogram bucket, in a loop on one thread.
 *
 * <pre>java -cp bench/target/benchmarks.jar io.ferry.bench.ClockCost</pre>
 */
public final class ClockCost {
    private ClockCost() {
    }

    public static void main(String[] args) {
        AtomicLongArray h = new AtomicLongArray(624);
        for (int r = 0; r < 5; r++) {
            long n = 20_000_000;
            long t0 = System.nanoTime();
            for (long i = 0; i < n; i++) {
                long x = System.nanoTime();
                long d = System.nanoTime() - x;
                h.getAndIncrement((int) (d & 511));
            }
            long t1 = System.nanoTime();
            System.out.printf("round %d: two nanoTime + one histogram add: %.1f ns%n", r, (t1 - t0) / (double) n);
        }
    }
}
