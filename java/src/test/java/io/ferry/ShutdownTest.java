package io.ferry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** close() under load, concurrent close, an engine that will not stop, and an idle engine's CPU. */
class ShutdownTest {
    @Test
    void closeWithTenThousandCallsInFlightEndsEveryOneInAResultOrARejection() throws Exception {
        Engine engine = TestEngines.builder().name("shutdown").capacity(1024).start();
        LongOp spin = engine.longOp("spin");
        int callers = 10_000;
        AtomicInteger results = new AtomicInteger(), rejected = new AtomicInteger(), started = new AtomicInteger();
        ConcurrentLinkedQueue<Throwable> wrong = new ConcurrentLinkedQueue<>();
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < callers; i++) {
            threads.add(Thread.ofVirtual().start(() -> {
                try {
                    go.await();
                    started.incrementAndGet();
                    long r = spin.call(1_000, 0);
                    if (r < 1_000) {
                        wrong.add(new AssertionError("spin returned " + r));
                    }
                    results.incrementAndGet();
                } catch (EngineClosedException e) {
                    rejected.incrementAndGet();
                } catch (Throwable t) {
                    wrong.add(t);
                }
            }));
        }
        // Keep the engine busy so that nothing submitted below can complete before close().
        CompletableFuture<Long> busy = spin.callAsync(1_500_000_000L, 0);
        // A batch of async calls in flight too.
        List<CompletableFuture<Long>> futures = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            futures.add(spin.callAsync(1_000, 0));
        }
        go.countDown();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (started.get() < callers && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        long asyncPending = futures.stream().filter(f -> !f.isDone()).count();
        long inFlight = callers - results.get() + asyncPending;
        assertTrue(inFlight >= 10_000, "close happens with " + inFlight + " calls in flight");
        engine.close();
        // Calls submitted after close are rejected, never dropped.
        org.junit.jupiter.api.Assertions.assertThrows(EngineClosedException.class, () -> spin.call(1, 0));
        for (Thread t : threads) {
            assertTrue(t.join(Duration.ofNanos(Math.max(1, deadline - System.nanoTime()))), "a caller hung after close");
        }
        for (CompletableFuture<Long> f : futures) {
            try {
                assertTrue(f.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS) >= 1_000);
            } catch (ExecutionException e) {
                assertTrue(e.getCause() instanceof EngineClosedException, e.toString());
            }
        }
        // close() gives up the call it finds running (the spin op honours cancellation): its caller is told so.
        ExecutionException cancelled = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> busy.get(5, TimeUnit.SECONDS), "the call running at close was cancelled, not waited out");
        assertTrue(cancelled.getCause() instanceof EngineClosedException
                && cancelled.getCause().getMessage().contains("close cancelled it"), cancelled.toString());
        assertEquals(List.of(), List.copyOf(wrong));
        assertEquals(callers, results.get() + rejected.get(), "every call ended in a result or a rejection");
        assertTrue(engine.isClosed());
    }

    @Test
    void closeIsIdempotentAndSafeFromManyThreadsAtOnce() throws Exception {
        Engine engine = TestEngines.builder().name("close-race").start();
        assertEquals(3, engine.longOp("add").call(1, 2));
        List<Thread> closers = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            closers.add((i % 2 == 0 ? Thread.ofPlatform() : Thread.ofVirtual()).start(engine::close));
        }
        for (Thread t : closers) {
            assertTrue(t.join(Duration.ofSeconds(20)));
        }
        engine.close();
        assertTrue(engine.isClosed());
    }

    @Test
    void anEngineStuckInAnOpDoesNotHangCloseOrItsCallers() throws Exception {
        Engine engine = TestEngines.builder().name("stuck").closeTimeout(Duration.ofMillis(300)).start();
        LongOp spin = engine.longOp("spin");
        CompletableFuture<Long> stuck = spin.callAsync(3_000_000_000L, 0);
        AtomicInteger outcome = new AtomicInteger();
        Thread waiter = Thread.ofPlatform().start(() -> {
            try {
                engine.longOp("add").call(1, 2);
                outcome.set(1);
            } catch (EngineClosedException e) {
                outcome.set(2);
            }
        });
        long t0 = System.nanoTime();
        while (!isWaiting(waiter) && System.nanoTime() - t0 < 5_000_000_000L) {
            Thread.sleep(1);
        }
        engine.close();
        assertTrue(System.nanoTime() - t0 < 2_500_000_000L, "close returned within its timeout");
        assertTrue(waiter.join(Duration.ofSeconds(5)), "the caller was released");
        assertEquals(2, outcome.get(), "the queued caller got EngineClosedException");
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> stuck.get(5, TimeUnit.SECONDS));
        assertTrue(e.getCause() instanceof EngineClosedException, e.toString());
    }

    private static boolean isWaiting(Thread t) {
        Thread.State s = t.getState();
        return s == Thread.State.WAITING || s == Thread.State.TIMED_WAITING;
    }

    @Test
    void anIdleEngineUsesNoCpu() throws Exception {
        try (Engine engine = TestEngines.builder().name("idle").start()) {
            LongOp add = engine.longOp("add");
            for (int i = 0; i < 10_000; i++) {
                add.call(i, i);
            }
            Thread.sleep(100); // let the 50 µs idle spin run out
            long before = engine.engineCpuNanos();
            Thread.sleep(500);
            long used = engine.engineCpuNanos() - before;
            assertTrue(before > 0, "engine CPU time is readable");
            assertTrue(used < 5_000_000, "idle engine used " + used + " ns of CPU in 500 ms");
            assertEquals(4, add.call(2, 2), "and wakes up for the next call");
        }
    }
}
