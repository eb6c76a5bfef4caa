package io.ferry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Async calls from several threads with random joins, gets, timed gets, cancels, orTimeouts, dependent
 * stages and pipelines, mixed with short spins that queue calls behind them. Every result is verified
 * (a checksum of what completed against what those calls should have returned), every future must end
 * within a bounded get (a hung one fails the test), and the engine must still serve calls afterwards.
 */
class AsyncStressTest {
    private static final int SCALE = Integer.getInteger("ferry.stress.scale", 1);
    /** A future that has not ended by then has hung. */
    private static final long BOUND_S = 30;

    /** What one thread saw. */
    private static final class Tally {
        long expectedSum, actualSum, completed, givenUp;
    }

    @Test
    @Timeout(300)
    void randomCancelsTimeoutsAndJoinsFromManyThreadsLoseNoResultAndHangNoFuture() throws Exception {
        run("async-stress", ForkJoinPool.commonPool(), 1 << 14, WaitPolicy.BALANCED);
    }

    @Test
    @Timeout(300)
    void theSameOnASmallRingWithADirectExecutor() throws Exception {
        // 16 slots: producers wait for slots (back-pressure) while joiners and cancels race the engine.
        run("async-stress-direct", Runnable::run, 16, WaitPolicy.BALANCED);
    }

    private static void run(String name, Executor executor, int capacity, WaitPolicy policy) throws Exception {
        int threads = 4;
        int perThread = 20_000 * SCALE;
        try (Engine engine = TestEngines.builder().name(name).capacity(capacity).waitPolicy(policy)
                .completionExecutor(executor).start()) {
            LongOp add = engine.longOp("add");
            LongOp spin = engine.longOp("spin");
            ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
            List<Tally> tallies = new ArrayList<>();
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                Tally tally = new Tally();
                tallies.add(tally);
                long seed = 0x5eed + t;
                Runnable body = () -> {
                    try {
                        start.await();
                        SplittableRandom rnd = new SplittableRandom(seed);
                        for (int i = 0; i < perThread; i++) {
                            step(add, spin, rnd, tally);
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                };
                // Half platform, half virtual threads: the joiner's wait differs between the two.
                workers.add((t & 1) == 0 ? Thread.ofPlatform().start(body) : Thread.ofVirtual().start(body));
            }
            start.countDown();
            for (Thread w : workers) {
                w.join(TimeUnit.SECONDS.toMillis(240));
                assertTrue(!w.isAlive(), "a worker hung: " + w);
            }
            if (!failures.isEmpty()) {
                AssertionError e = new AssertionError(failures.size() + " workers failed");
                failures.forEach(e::addSuppressed);
                throw e;
            }
            long completed = 0;
            for (Tally tally : tallies) {
                assertEquals(tally.expectedSum, tally.actualSum, "checksum of the results that completed");
                completed += tally.completed;
            }
            assertTrue(completed > threads * perThread / 4L, "most calls completed: " + completed);
            // Nothing leaked a slot or wedged the ring: a full lap of calls still goes through.
            for (int i = 0; i < 2 * capacity; i++) {
                assertEquals(i + 1, add.callAsync(i, 1).get(BOUND_S, TimeUnit.SECONDS));
            }
        }
    }

    /** One random use of one (or a pipeline of) async calls. */
    private static void step(LongOp add, LongOp spin, SplittableRandom rnd, Tally tally) throws Exception {
        long a = rnd.nextLong(1L << 40), b = rnd.nextLong(1L << 40);
        switch (rnd.nextInt(10)) {
            case 0 -> counted(tally, a + b, add.callAsync(a, b).join());
            case 1 -> counted(tally, a + b, add.callAsync(a, b).get());
            case 2 -> counted(tally, a + b, add.callAsync(a, b).get(BOUND_S, TimeUnit.SECONDS));
            case 3 -> { // cancel at once, or after a few spins: before, while or after the engine runs it
                CompletableFuture<Long> f = add.callAsync(a, b);
                for (int k = rnd.nextInt(200); k > 0; k--) {
                    Thread.onSpinWait();
                }
                boolean cancelled = f.cancel(rnd.nextBoolean());
                ended(tally, a + b, f, cancelled);
            }
            case 4 -> { // orTimeout of 0-50 us
                CompletableFuture<Long> f = add.callAsync(a, b).orTimeout(rnd.nextLong(50_000), TimeUnit.NANOSECONDS);
                ended(tally, a + b, f, false);
            }
            case 5 -> { // a timed get of 1-20 us: times out and gives the call up, or returns the result
                CompletableFuture<Long> f = add.callAsync(a, b);
                try {
                    counted(tally, a + b, f.get(1_000 + rnd.nextLong(19_000), TimeUnit.NANOSECONDS));
                } catch (TimeoutException e) {
                    assertTrue(f.isCancelled(), "a timed-out get cancels its future");
                    tally.givenUp++;
                }
            }
            case 6 -> { // a dependent stage, not joined itself
                CompletableFuture<Long> f = add.callAsync(a, b).thenApply(x -> x * 3);
                assertEquals((a + b) * 3, f.get(BOUND_S, TimeUnit.SECONDS));
                counted(tally, a + b, (a + b));
            }
            case 7 -> { // a pipeline joined in random order, some cancelled
                int n = 1 + rnd.nextInt(32);
                @SuppressWarnings("unchecked")
                CompletableFuture<Long>[] fs = new CompletableFuture[n];
                for (int k = 0; k < n; k++) {
                    fs[k] = add.callAsync(a + k, b);
                }
                for (int k = 0; k < n; k++) {
                    int j = rnd.nextInt(n);
                    if (rnd.nextInt(8) == 0) {
                        fs[j].cancel(false);
                    }
                }
                for (int k = n - 1; k >= 0; k--) {
                    ended(tally, a + k + b, fs[k], false);
                }
            }
            case 8 -> { // a short spin that queues calls behind it, then a call cancelled while it waits
                CompletableFuture<Long> s = spin.callAsync(rnd.nextLong(20_000), 0);
                CompletableFuture<Long> f = add.callAsync(a, b);
                boolean cancelled = rnd.nextBoolean() && f.cancel(false);
                ended(tally, a + b, f, cancelled);
                s.get(BOUND_S, TimeUnit.SECONDS); // its result is the time it spun
            }
            default -> { // two joiners on one future, one of them on another thread
                CompletableFuture<Long> f = add.callAsync(a, b);
                CompletableFuture<Long> other = CompletableFuture.supplyAsync(f::join);
                counted(tally, a + b, f.join());
                assertEquals(a + b, other.get(BOUND_S, TimeUnit.SECONDS));
            }
        }
    }

    private static void counted(Tally tally, long expected, long actual) {
        tally.expectedSum += expected;
        tally.actualSum += actual;
        tally.completed++;
    }

    /**
     * A future that may have been cancelled or timed out: it must end within the bound, with the right
     * result or as given up (cancelled, or failed with a TimeoutException).
     */
    private static void ended(Tally tally, long expected, CompletableFuture<Long> f, boolean mustBeCancelled)
            throws InterruptedException {
        try {
            long r = f.get(BOUND_S, TimeUnit.SECONDS);
            assertTrue(!mustBeCancelled, "a future whose cancel returned true completed");
            counted(tally, expected, r);
        } catch (CancellationException e) {
            tally.givenUp++;
        } catch (ExecutionException e) {
            Throwable c = e.getCause() instanceof CompletionException ce ? ce.getCause() : e.getCause();
            if (!(c instanceof TimeoutException)) {
                throw new AssertionError("unexpected failure", e);
            }
            tally.givenUp++;
        } catch (TimeoutException e) {
            throw new AssertionError("a future did not end within " + BOUND_S + " s: " + f, e);
        }
    }
}
