package io.ferry;

import java.util.Arrays;

/**
 * A snapshot of a latency distribution in ns ({@link Engine#waitLatency()}, {@link Engine#engineLatency()}):
 * log-linear buckets, 16 per power of two (HdrHistogram's layout with 4 sub-bucket bits, so a bucket is at
 * most 1/16 of its value wide, about 6%), from 0 to 2^40 ns; larger values count in the last bucket. The
 * C engine records into the same layout ({@code ferry_hist_index} in ferry.h).
 */
public final class LatencyHistogram {
    /** Buckets (FERRY_HIST_BUCKETS). */
    public static final int BUCKETS = 608;
    private static final int SUB_BITS = 4;
    private static final int SUB = 1 << SUB_BITS;

    private final long[] counts;
    private final long total;

    LatencyHistogram(long[] counts) {
        if (counts.length != BUCKETS) {
            throw new IllegalArgumentException("counts.length=" + counts.length + ": must be " + BUCKETS);
        }
        this.counts = counts.clone();
        long t = 0;
        for (long c : this.counts) {
            t += c;
        }
        this.total = t;
    }

    /**
     * The bucket a value falls in.
     *
     * @param ns a value in ns (negative counts as 0)
     * @return its bucket, 0 .. BUCKETS - 1
     */
    public static int bucket(long ns) {
        if (ns < SUB) {
            return (int) Math.max(0, ns);
        }
        int b = 63 - Long.numberOfLeadingZeros(ns);
        int i = ((b - SUB_BITS + 1) << SUB_BITS) | (int) ((ns >>> (b - SUB_BITS)) & (SUB - 1));
        return Math.min(i, BUCKETS - 1);
    }

    /**
     * The lowest value of a bucket.
     *
     * @param bucket 0 .. BUCKETS - 1
     * @return its lowest value in ns
     */
    public static long lowest(int bucket) {
        int e = bucket >>> SUB_BITS, m = bucket & (SUB - 1);
        return e == 0 ? m : (long) (SUB | m) << (e - 1);
    }

    /**
     * The highest value of a bucket.
     *
     * @param bucket 0 .. BUCKETS - 1
     * @return its highest value in ns
     */
    public static long highest(int bucket) {
        return bucket == BUCKETS - 1 ? Long.MAX_VALUE : lowest(bucket + 1) - 1;
    }

    /**
     * Values recorded.
     *
     * @return the count
     */
    public long count() {
        return total;
    }

    /**
     * The count of one bucket.
     *
     * @param bucket 0 .. BUCKETS - 1
     * @return its count
     */
    public long count(int bucket) {
        return counts[bucket];
    }

    /**
     * The value at a percentile: the highest value of the bucket that holds it (as HdrHistogram reports
     * "equivalent" values), so at most ~6% above the true one.
     *
     * @param percentile 0 .. 100
     * @return ns, or 0 if nothing was recorded
     */
    public long percentile(double percentile) {
        if (total == 0) {
            return 0;
        }
        long rank = Math.max(1, (long) Math.ceil(Math.min(100, Math.max(0, percentile)) / 100 * total));
        long seen = 0;
        for (int i = 0; i < BUCKETS; i++) {
            seen += counts[i];
            if (seen >= rank) {
                return highest(i) == Long.MAX_VALUE ? lowest(i) : highest(i);
            }
        }
        return highest(BUCKETS - 2);
    }

    /**
     * The mean, taking each value at its bucket's middle.
     *
     * @return ns, or 0 if nothing was recorded
     */
    public double mean() {
        if (total == 0) {
            return 0;
        }
        double sum = 0;
        for (int i = 0; i < BUCKETS; i++) {
            if (counts[i] != 0) {
                long hi = i == BUCKETS - 1 ? lowest(i) : highest(i);
                sum += counts[i] * (lowest(i) + hi) / 2.0;
            }
        }
        return sum / total;
    }

    /**
     * The difference from an earlier snapshot of the same histogram: what was recorded in between.
     *
     * @param earlier an earlier snapshot
     * @return this minus earlier, bucket by bucket
     */
    public LatencyHistogram since(LatencyHistogram earlier) {
        long[] d = counts.clone();
        for (int i = 0; i < BUCKETS; i++) {
            d[i] -= earlier.counts[i];
        }
        return new LatencyHistogram(d);
    }

    /**
     * The counts, bucket by bucket.
     *
     * @return a copy of the counts
     */
    public long[] counts() {
        return counts.clone();
    }

    @Override
    public String toString() {
        return String.format("count %d, mean %.0f ns, p50 %d ns, p90 %d ns, p99 %d ns, p99.9 %d ns, max %d ns", total,
                mean(), percentile(50), percentile(90), percentile(99), percentile(99.9), percentile(100));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LatencyHistogram h && Arrays.equals(counts, h.counts);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(counts);
    }
}
