package io.ferry.demo;

import io.ferry.Engine;
import io.ferry.EngineClosedException;
import io.ferry.LongOp;
import io.ferry.TextOp;
import io.ferry.bench.TestOps;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.AbstractHistogram;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.IntCountsHistogram;

/**
 * Ferry's main job, end to end: one engine with the defaults and the test ops' plug-in, driven at once by
 * 8 platform threads and 1,000 virtual threads making sync calls, every result checked, every call's
 * latency recorded; then close(). Exits 1 if any result was wrong, any call failed, or close() did not return cleanly.
 *
 * <pre>java --enable-native-access=ALL-UNNAMED -cp bench/target/benchmarks.jar io.ferry.demo.Demo</pre>
 */
public final class Demo {
    static final int PLATFORM_THREADS = 8;
    static final int PLATFORM_CALLS = 100_000;
    static final int VIRTUAL_THREADS = 1_000;
    static final int VIRTUAL_CALLS = 500;
    /** Each platform thread also sends one echo_string every this many calls. */
    static final int ECHO_EVERY = 10_000;

    private Demo() {
    }

    /** One caller's record: its own histogram (no sharing on the hot path), merged after the run. */
    static final class Caller {
        final AbstractHistogram latency = new IntCountsHistogram(TimeUnit.SECONDS.toNanos(10), 3);
        long calls;
        long mismatches;
        long finishedAt;
    }

    public static void main(String[] args) throws Exception {
        ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        AtomicLong echoCalls = new AtomicLong();
        List<Caller> platform = new ArrayList<>();
        List<Caller> virtual = new ArrayList<>();
        for (int i = 0; i < PLATFORM_THREADS; i++) {
            platform.add(new Caller());
        }
        for (int i = 0; i < VIRTUAL_THREADS; i++) {
            virtual.add(new Caller());
        }

        Engine engine = TestOps.builder().start();
        LongOp add = engine.longOp("add");
        TextOp echo = engine.textOp("echo_string");
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < PLATFORM_THREADS; t++) {
            Caller c = platform.get(t);
            long base = (long) t << 40;
            threads.add(Thread.ofPlatform().name("demo-platform-" + t).start(() -> {
                run(engine, add, c, base, PLATFORM_CALLS, go, failures, () -> {
                    String s = "héllo from " + Thread.currentThread().getName() + " #" + c.calls;
                    if (!s.equals(echo.call(s))) {
                        c.mismatches++;
                    }
                    echoCalls.incrementAndGet();
                });
            }));
        }
        for (int t = 0; t < VIRTUAL_THREADS; t++) {
            Caller c = virtual.get(t);
            long base = (long) (PLATFORM_THREADS + t) << 40;
            threads.add(Thread.ofVirtual().name("demo-virtual-" + t).start(
                    () -> run(engine, add, c, base, VIRTUAL_CALLS, go, failures, null)));
        }

        long t0 = System.nanoTime();
        go.countDown();
        for (Thread t : threads) {
            t.join();
        }
        long wallNs = System.nanoTime() - t0;
        long engineCpuNs = engine.engineCpuNanos();

        long c0 = System.nanoTime();
        Throwable closeFailure = null;
        try {
            engine.close();
        } catch (Throwable t) {
            closeFailure = t;
        }
        double closeMs = (System.nanoTime() - c0) / 1e6;
        boolean rejectsAfterClose;
        try {
            add.call(1, 1);
            rejectsAfterClose = false;
        } catch (EngineClosedException expected) {
            rejectsAfterClose = true;
        }

        Histogram pAll = merge(platform), vAll = merge(virtual);
        Histogram all = pAll.copy();
        all.add(vAll);
        long addCalls = all.getTotalCount();
        long mismatches = mismatches(platform) + mismatches(virtual);
        long calls = addCalls + echoCalls.get();
        boolean ok = mismatches == 0 && failures.isEmpty() && closeFailure == null && engine.isClosed()
                && rejectsAfterClose && addCalls == (long) PLATFORM_THREADS * PLATFORM_CALLS
                        + (long) VIRTUAL_THREADS * VIRTUAL_CALLS;

        System.out.printf("Ferry demo: one engine (defaults: %s), %d platform threads x %,d calls and %,d virtual"
                + " threads x %,d calls of add(x, 1), all at once, plus echo_string every %,d calls per platform"
                + " thread; every result checked.%n", "capacity 1024, BALANCED", PLATFORM_THREADS, PLATFORM_CALLS,
                VIRTUAL_THREADS, VIRTUAL_CALLS, ECHO_EVERY);
        System.out.printf("  calls       %,d (%,d add + %,d echo_string) in %.2f s = %,.0f calls/s; engine thread"
                + " CPU %.2f s (%.0f%% of wall)%n", calls, addCalls, echoCalls.get(), wallNs / 1e9,
                calls / (wallNs / 1e9), engineCpuNs / 1e9, 100.0 * engineCpuNs / wallNs);
        System.out.println("  latency     " + line("all", all));
        System.out.println("              " + line("platform", pAll));
        System.out.println("              " + line("virtual", vAll));
        // Little's law: every virtual thread is always in a call, so their latency is set by the rate at which
        // the whole group gets through, not by one hand-off.
        double vRate = vAll.getTotalCount() / ((lastFinish(virtual) - t0) / 1e9);
        System.out.printf("              (%,d virtual threads on %d carriers, always in a call: by Little's law"
                + " latency = %,d / %,.0f calls/s = %.1f ms)%n", VIRTUAL_THREADS, carriers(), VIRTUAL_THREADS,
                vRate, 1e3 * VIRTUAL_THREADS / vRate);
        System.out.printf("  mismatches  %d%s%n", mismatches, failures.isEmpty() ? ""
                : "; " + failures.size() + " calls threw, first: " + failures.peek());
        System.out.printf("  close()     %s in %.1f ms; a call after close %s%n",
                closeFailure == null ? "returned cleanly" : "threw " + closeFailure, closeMs,
                rejectsAfterClose ? "throws EngineClosedException" : "was NOT rejected");
        System.out.println(ok ? "OK" : "FAILED");
        if (!failures.isEmpty()) {
            failures.peek().printStackTrace();
        }
        System.exit(ok ? 0 : 1);
    }

    private static void run(Engine engine, LongOp add, Caller c, long base, int n, CountDownLatch go,
            ConcurrentLinkedQueue<Throwable> failures, Runnable echo) {
        try {
            go.await();
            AbstractHistogram h = c.latency;
            for (int i = 0; i < n; i++) {
                long x = base + i;
                long t0 = System.nanoTime();
                long r = add.call(x, 1);
                h.recordValue(System.nanoTime() - t0);
                if (r != x + 1) {
                    c.mismatches++;
                }
                c.calls++;
                if (echo != null && (i + 1) % ECHO_EVERY == 0) {
                    echo.run();
                }
            }
            c.finishedAt = System.nanoTime();
        } catch (Throwable t) {
            failures.add(t);
        }
    }

    private static Histogram merge(List<Caller> callers) {
        Histogram h = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
        for (Caller c : callers) {
            h.add(c.latency);
        }
        return h;
    }

    private static long lastFinish(List<Caller> callers) {
        long last = Long.MIN_VALUE;
        for (Caller c : callers) {
            last = Math.max(last, c.finishedAt);
        }
        return last;
    }

    private static int carriers() {
        String p = System.getProperty("jdk.virtualThreadScheduler.parallelism");
        return p != null ? Integer.parseInt(p) : Runtime.getRuntime().availableProcessors();
    }

    private static long mismatches(List<Caller> callers) {
        long s = 0;
        for (Caller c : callers) {
            s += c.mismatches;
        }
        return s;
    }

    private static String line(String who, Histogram h) {
        return String.format("%-9s p50 %7.2f µs  p99 %8.2f µs  p99.9 %8.2f µs  max %9.2f µs  (%,d calls)", who,
                h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(99) / 1e3,
                h.getValueAtPercentile(99.9) / 1e3, h.getMaxValue() / 1e3, h.getTotalCount());
    }
}
