package io.ferry.internal;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The callers' wait-time histogram of one engine (EngineBuilder.histograms): striped by thread, so that
 * callers on different threads rarely add to the same line; each add is one atomic increment.
 */
public final class LatencyRecorder {
    private static final int STRIPES = 16;
    private static final int BUCKETS = EngineCounters.HIST_BUCKETS;
    private final AtomicLongArray[] stripes = new AtomicLongArray[STRIPES];

    public LatencyRecorder() {
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new AtomicLongArray(BUCKETS + 16); // +16: the next stripe's counts start on another line
        }
    }

    /** Same layout as ferry_hist_index and io.ferry.LatencyHistogram.bucket. */
    static int bucket(long ns) {
        if (ns < 16) {
            return (int) Math.max(0, ns);
        }
        int b = 63 - Long.numberOfLeadingZeros(ns);
        int i = ((b - 3) << 4) | (int) ((ns >>> (b - 4)) & 15);
        return Math.min(i, BUCKETS - 1);
    }

    public void record(long ns) {
        stripes[(int) Thread.currentThread().threadId() & (STRIPES - 1)].getAndIncrement(bucket(ns));
    }

    /** The sum over the stripes. */
    public long[] counts() {
        long[] c = new long[BUCKETS];
        for (AtomicLongArray s : stripes) {
            for (int i = 0; i < BUCKETS; i++) {
                c[i] += s.get(i);
            }
        }
        return c;
    }
}
