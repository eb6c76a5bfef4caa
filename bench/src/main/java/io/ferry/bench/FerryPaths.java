package io.ferry.bench;

import io.ferry.Engine;
import io.ferry.LongOp;
import io.ferry.WaitPolicy;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/** Ferry's paths: every call is {@code add(x, 1)}, the test ops' plug-in's, and every result is checked. */
final class FerryPaths {
    private FerryPaths() {
    }

    /** A Ferry path owns its engine. */
    abstract static class FerryPath extends CallPath {
        final Engine engine;
        final LongOp add;
        private final long idleSpinNs;

        FerryPath(String name, int burst, int warm, WaitPolicy policy) {
            this(name, burst, warm, policy, 0);
        }

        FerryPath(String name, int burst, int warm, WaitPolicy policy, long gapNs) {
            super(name, burst, warm, gapNs);
            engine = TestOps.builder().name("bench-" + name).waitPolicy(policy).start();
            add = engine.longOp("add");
            idleSpinNs = policy.engineIdleSpin().toNanos();
        }

        /**
         * Waits until the engine thread has stopped spinning (it spins for the preset's idle budget after
         * its last call, then sleeps): judged by its CPU time, under a quarter of a 200 µs window.
         */
        @Override
        void quiesce() {
            LockSupport.parkNanos(idleSpinNs);
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

        @Override
        public void close() {
            engine.close();
        }
    }

    static CallPath sync(String name) {
        return switch (name) {
            case "ferry_spin" -> new Sync(name, 1000, 200, WaitPolicy.LOWEST_LATENCY, 0);
            case "ferry_default" -> new Sync(name, 1000, 200, WaitPolicy.BALANCED, 0);
            // Spaced calls, each paying two wake-ups: short bursts keep a cycle within a few ms.
            case "ferry_parked" -> new Sync(name, 40, 4, WaitPolicy.LOWEST_CPU, CallPath.GAP_US * 1000L);
            case "ferry_nospin" -> new Sync(name, 40, 4, new WaitPolicy.Backoff(Duration.ZERO, Duration.ZERO),
                    CallPath.GAP_US * 1000L);
            default -> throw new IllegalArgumentException(name);
        };
    }

    /** {@code add.call(x, 1)}, one at a time. */
    static final class Sync extends FerryPath {
        private long x = 1;

        Sync(String name, int burst, int warm, WaitPolicy policy, long gapNs) {
            super(name, burst, warm, policy, gapNs);
        }

        @Override
        void run(int n) {
            Engine e = engine;
            LongOp op = add;
            long x = this.x;
            for (int i = 0; i < n; i++, x++) {
                long r = op.call(x, 1);
                if (r != x + 1) {
                    throw wrong(name, x, r);
                }
            }
            this.x = x;
        }
    }

    /** {@code add.callAsync(x, 1).join()}, one at a time. */
    static final class Async extends FerryPath {
        private long x = 1;

        Async(String name) {
            super(name, 40, 4, WaitPolicy.BALANCED);
        }

        @Override
        void run(int n) {
            long x = this.x;
            for (int i = 0; i < n; i++, x++) {
                long r = add.callAsync(x, 1).join();
                if (r != x + 1) {
                    throw wrong(name, x, r);
                }
            }
            this.x = x;
        }
    }

    /** {@code add.callBatch} of {@link #DEPTH} calls at a time. */
    static final class Batch extends FerryPath {
        private final long[] a = new long[DEPTH];
        private final long[] b = new long[DEPTH];
        private final long[] results = new long[DEPTH];
        private long x = 1;

        Batch(String name) {
            // The caller spins as in LOWEST_LATENCY, and the engine spins while the burst lasts, as the
            // JCTools consumer it is measured against does; its 1 ms idle spin (not LOWEST_LATENCY's
            // 100 ms) ends before the next path's burst, which a third spinning thread on 2 vCPUs starved.
            super(name, 4 * DEPTH, DEPTH,
                    new WaitPolicy.Spin(WaitPolicy.LOWEST_LATENCY.callerSpin(), Duration.ofMillis(1)));
            java.util.Arrays.fill(b, 1);
        }

        @Override
        void run(int n) {
            for (int done = 0; done < n; done += DEPTH) {
                for (int i = 0; i < DEPTH; i++) {
                    a[i] = x + i;
                }
                add.callBatch(a, b, results);
                for (int i = 0; i < DEPTH; i++) {
                    if (results[i] != a[i] + 1) {
                        throw wrong(name, a[i], results[i]);
                    }
                }
                x += DEPTH;
            }
        }
    }

    /** {@link #DEPTH} {@code callAsync}s one by one, then joins them in order. */
    static final class AsyncPipelined extends FerryPath {
        @SuppressWarnings("unchecked")
        private final CompletableFuture<Long>[] futures = new CompletableFuture[DEPTH];
        private long x = 1;

        AsyncPipelined(String name) {
            super(name, 4 * DEPTH, DEPTH, WaitPolicy.BALANCED);
        }

        @Override
        void run(int n) {
            for (int done = 0; done < n; done += DEPTH) {
                for (int i = 0; i < DEPTH; i++) {
                    futures[i] = add.callAsync(x + i, 1);
                }
                for (int i = 0; i < DEPTH; i++) {
                    long r = futures[i].join();
                    if (r != x + i + 1) {
                        throw wrong(name, x + i, r);
                    }
                    futures[i] = null;
                }
                x += DEPTH;
            }
        }
    }

    /**
     * {@code add.call} from P platform producer threads at once, default preset. The producers park
     * between runs; a run wakes them all, each makes n / P calls, and the last one to finish wakes the
     * runner. The run's time is from the first producer's first call to the last producer's last call.
     */
    static final class Producers extends FerryPath {
        private final int producers;
        private final Thread[] threads;
        private final long[] start;
        private final long[] end;
        private final AtomicInteger remaining = new AtomicInteger();
        private volatile int epoch;
        private volatile int perProducer;
        private volatile boolean stop;
        private volatile Thread runner;
        private volatile Throwable failure;
        private long lastNanos = -1;

        Producers(String name, int producers) {
            super(name, 1_024, 2_048, WaitPolicy.BALANCED);
            this.producers = producers;
            threads = new Thread[producers];
            start = new long[producers];
            end = new long[producers];
            for (int i = 0; i < producers; i++) {
                int id = i;
                threads[i] = Thread.ofPlatform().daemon().name(name + "-" + i).start(() -> produce(id));
            }
        }

        private void produce(int id) {
            long x = (long) (id + 1) << 40;
            int seen = 0;
            for (;;) {
                int ep;
                while ((ep = epoch) == seen) {
                    if (stop) {
                        return;
                    }
                    LockSupport.park(this);
                }
                seen = ep;
                int k = perProducer; // written before the volatile epoch we just read
                start[id] = System.nanoTime();
                try {
                    for (int i = 0; i < k; i++, x++) {
                        long r = add.call(x, 1);
                        if (r != x + 1) {
                            throw wrong(name, x, r);
                        }
                    }
                } catch (Throwable t) {
                    failure = t;
                }
                end[id] = System.nanoTime();
                // The decrement publishes start/end to the runner, which reads them after seeing 0.
                if (remaining.decrementAndGet() == 0) {
                    LockSupport.unpark(runner);
                }
            }
        }

        @Override
        void run(int n) {
            perProducer = n / producers;
            remaining.set(producers);
            runner = Thread.currentThread();
            epoch = epoch + 1;
            for (Thread t : threads) {
                LockSupport.unpark(t);
            }
            while (remaining.get() != 0) {
                LockSupport.park(this);
            }
            Throwable f = failure;
            if (f != null) {
                throw new IllegalStateException(name + ": a producer failed", f);
            }
            long s = Long.MAX_VALUE, e = Long.MIN_VALUE;
            for (int i = 0; i < producers; i++) {
                s = Math.min(s, start[i]);
                e = Math.max(e, end[i]);
            }
            lastNanos = e - s;
        }

        @Override
        long lastRunNanos() {
            return lastNanos;
        }

        @Override
        public void close() {
            stop = true;
            for (Thread t : threads) {
                LockSupport.unpark(t);
            }
            for (Thread t : threads) {
                try {
                    t.join(5_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            super.close();
        }
    }
}
