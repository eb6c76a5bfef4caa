package io.ferry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * A thread that joins an async call completes the future itself: it takes the call over and waits on
 * its slot, or parks until the engine's upcall hands it the outcome, so a joined call needs no hop
 * through the completion executor. Cancel, close and a user's completion wake a parked joiner.
 */
class AsyncJoinTest {
    private static final long LONG_NS = 30_000_000_000L;

    /** Waits (bounded) until t parks. */
    private static void awaitParked(Thread t) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (t.getState() != Thread.State.WAITING && t.getState() != Thread.State.TIMED_WAITING) {
            assertTrue(System.nanoTime() < deadline, "the joiner never parked: " + t.getState());
            Thread.sleep(1);
        }
    }

    @Test
    void aJoinedCallCompletesOnTheJoinerWithoutTheExecutor() throws Exception {
        AtomicInteger executed = new AtomicInteger();
        try (Engine engine = TestEngines.builder().name("join-no-hop").completionExecutor(r -> {
            executed.incrementAndGet();
            r.run();
        }).start()) {
            LongOp spin = engine.longOp("spin");
            for (long ns : new long[] {0, 10_000, 200_000, 20_000_000}) { // in the spin budget, after it, parked
                // A 50 ms call ahead keeps ours queued until this thread joins it (its own future is
                // not joined, so it completes through the executor: once).
                CompletableFuture<Long> ahead = spin.callAsync(50_000_000L, 0);
                CompletableFuture<Long> f = spin.callAsync(ns, 0);
                CompletableFuture<Thread> where = f.thenApply(x -> Thread.currentThread());
                f.join();
                // Before the fix: a common-pool thread (the executor's task, moved off the engine thread).
                assertSame(Thread.currentThread(), where.get(10, TimeUnit.SECONDS),
                        "ns=" + ns + ": the joined call completed on another thread");
                ahead.get(10, TimeUnit.SECONDS);
            }
            assertTrue(executed.get() <= 4, "only the calls nobody joined used the executor: " + executed.get());
        }
    }

    @Test
    void cancelFromAnotherThreadWakesAParkedJoiner() throws Exception {
        try (Engine engine = TestEngines.builder().name("join-cancel").start()) {
            CompletableFuture<Long> f = engine.longOp("spin").callAsync(LONG_NS, 0);
            AtomicReference<Throwable> seen = new AtomicReference<>();
            Thread joiner = Thread.ofPlatform().start(() -> {
                try {
                    f.join();
                } catch (Throwable t) {
                    seen.set(t);
                }
            });
            awaitParked(joiner);
            assertTrue(f.cancel(false));
            joiner.join(TimeUnit.SECONDS.toMillis(10));
            assertTrue(!joiner.isAlive(), "the joiner still waits after cancel");
            assertInstanceOf(CancellationException.class, seen.get());
            assertEquals(0, engine.longOp("noop").call(), "the call was given up");
        }
    }

    @Test
    void closeWakesAParkedJoinerAndAUserCompletionWakesAnother() throws Exception {
        Engine engine = TestEngines.builder().name("join-close").start();
        LongOp spin = engine.longOp("spin");
        CompletableFuture<Long> byUser = spin.callAsync(LONG_NS, 0);
        CompletableFuture<Long> byClose = spin.callAsync(LONG_NS, 0);
        AtomicReference<Object> userSeen = new AtomicReference<>();
        AtomicReference<Object> closeSeen = new AtomicReference<>();
        Thread j1 = Thread.ofPlatform().start(() -> userSeen.set(byUser.join()));
        Thread j2 = Thread.ofVirtual().start(() -> {
            try {
                closeSeen.set(byClose.get());
            } catch (ExecutionException e) {
                closeSeen.set(e.getCause());
            } catch (InterruptedException e) {
                closeSeen.set(e);
            }
        });
        awaitParked(j1);
        awaitParked(j2);
        assertTrue(byUser.complete(42L));
        j1.join(TimeUnit.SECONDS.toMillis(10));
        assertEquals(42L, userSeen.get());
        engine.close(); // gives up the running call (spin honours cancellation) and the queued one
        j2.join(TimeUnit.SECONDS.toMillis(10));
        assertTrue(!j2.isAlive(), "the joiner still waits after close");
        assertInstanceOf(EngineClosedException.class, closeSeen.get());
    }

    @Test
    void anInterruptedGetThrowsAndTheCallStaysAlive() throws Exception {
        try (Engine engine = TestEngines.builder().name("join-interrupt").start()) {
            CompletableFuture<Long> f = engine.longOp("spin").callAsync(300_000_000L, 0);
            AtomicReference<Throwable> seen = new AtomicReference<>();
            Thread joiner = Thread.ofPlatform().start(() -> {
                try {
                    f.get();
                } catch (Throwable t) {
                    seen.set(t);
                }
            });
            awaitParked(joiner);
            joiner.interrupt();
            joiner.join(TimeUnit.SECONDS.toMillis(10));
            assertInstanceOf(InterruptedException.class, seen.get());
            // CompletableFuture.get's interrupt does not cancel: the call still completes for a later joiner.
            assertTrue(f.get(10, TimeUnit.SECONDS) >= 0);
        }
    }
}
