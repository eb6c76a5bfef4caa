package io.ferry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Every way of giving a call up (a timeout, spinning or parked; an interrupt; {@code Future.cancel}; a
 * future the user fails or {@code orTimeout} fails) reaches the running op's native code through the
 * engine's cancel hook, not only close. The op is the example engine's {@code example.block}, which
 * polls nothing and only its cancel hook stops: given up without the hook, it runs its whole
 * {@link #BLOCK_NS}, and the next call, bounded by {@link #NEXT_CALL}, times out behind it.
 */
class CancelHookTest {
    /** How long example.block runs unless its cancel hook stops it. */
    static final long BLOCK_NS = TimeUnit.SECONDS.toNanos(60);
    /** The bound on the call after the given-up one: far below BLOCK_NS, far above a call's time. */
    static final Duration NEXT_CALL = Duration.ofSeconds(15);
    /** How long the block runs before it is given up. */
    static final Duration GIVE_UP_AFTER = Duration.ofMillis(200);

    private Engine engine;

    private Engine start(String name, Duration callerSpin) {
        EngineBuilder b = Engine.builder().name(name).closeTimeout(Duration.ofSeconds(120))
                .library(Path.of(System.getProperty("ferry.test.example")), "example_engine_init");
        if (callerSpin != null) {
            b.waitPolicy(new WaitPolicy.Backoff(callerSpin, WaitPolicy.BALANCED.engineIdleSpin()));
        }
        engine = b.start();
        return engine;
    }

    @AfterEach
    void close() {
        if (engine != null) {
            engine.close();
        }
    }

    /** The engine thread is free again: a short call completes well within NEXT_CALL. */
    private void assertEngineFree() throws TimeoutException {
        LongOp mul = engine.longOp("example.mul");
        assertEquals(42, mul.call(6, 7, NEXT_CALL));
    }

    @Test
    void aParkedCallThatTimesOutStopsTheBlockedOp() throws Exception {
        start("hook-timeout-parked", null);
        LongOp block = engine.longOp("example.block");
        assertThrows(TimeoutException.class, () -> block.call(BLOCK_NS, 0, GIVE_UP_AFTER));
        assertEngineFree();
    }

    @Test
    void aSpinningCallThatTimesOutStopsTheBlockedOp() throws Exception {
        start("hook-timeout-spin", Duration.ofSeconds(30)); // the caller spins through its whole timeout
        LongOp block = engine.longOp("example.block");
        assertThrows(TimeoutException.class, () -> block.call(BLOCK_NS, 0, GIVE_UP_AFTER));
        assertEngineFree();
    }

    @Test
    void anInterruptedCallerStopsTheBlockedOp() throws Exception {
        start("hook-interrupt", null);
        LongOp block = engine.longOp("example.block");
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread caller = Thread.ofPlatform().start(() -> {
            try {
                block.call(BLOCK_NS, 0);
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        Thread.sleep(GIVE_UP_AFTER.toMillis());
        caller.interrupt();
        caller.join(NEXT_CALL.toMillis());
        assertFalse(caller.isAlive(), "the interrupted caller did not return");
        assertInstanceOf(CallInterruptedException.class, failure.get());
        assertEngineFree();
    }

    @Test
    void aCancelledFutureStopsTheBlockedOp() throws Exception {
        start("hook-cancel", null);
        CompletableFuture<Long> f = engine.longOp("example.block").callAsync(BLOCK_NS, 0);
        Thread.sleep(GIVE_UP_AFTER.toMillis());
        assertTrue(f.cancel(true));
        assertThrows(CancellationException.class, f::join);
        assertEngineFree();
    }

    @Test
    void aFutureThatTimesOutThroughOrTimeoutStopsTheBlockedOp() throws Exception {
        start("hook-or-timeout", null);
        CompletableFuture<Long> f = engine.longOp("example.block").callAsync(BLOCK_NS, 0)
                .orTimeout(GIVE_UP_AFTER.toMillis(), TimeUnit.MILLISECONDS);
        CompletionException e = assertThrows(CompletionException.class, f::join);
        assertInstanceOf(TimeoutException.class, e.getCause());
        assertEngineFree();
    }

    @Test
    void aFutureTheUserFailsStopsTheBlockedOp() throws Exception {
        start("hook-complete-exceptionally", null);
        CompletableFuture<Long> f = engine.longOp("example.block").callAsync(BLOCK_NS, 0);
        Thread.sleep(GIVE_UP_AFTER.toMillis());
        assertTrue(f.completeExceptionally(new IllegalStateException("the user gave up")));
        assertEngineFree();
    }

    @Test
    void aTimedGetThatTimesOutStopsTheBlockedOp() throws Exception {
        start("hook-get-timeout", null);
        CompletableFuture<Long> f = engine.longOp("example.block").callAsync(BLOCK_NS, 0);
        assertThrows(TimeoutException.class, () -> f.get(GIVE_UP_AFTER.toMillis(), TimeUnit.MILLISECONDS));
        assertEngineFree();
    }

    /**
     * Callers give up blocked calls (by timeout, so each runs the hook) while another thread closes the
     * engine: a hook run must never meet an engine close() has freed. No crash, no hang, and every
     * caller ends with a timeout or a closed engine.
     */
    @Test
    void callersGivingUpWhileTheEngineClosesNeitherCrashNorHang() throws Exception {
        for (int round = 0; round < 50; round++) {
            Engine e = start("hook-stress-" + round, null);
            LongOp block = e.longOp("example.block");
            int callers = 8;
            CountDownLatch started = new CountDownLatch(callers);
            AtomicReference<Throwable> unexpected = new AtomicReference<>();
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < callers; i++) {
                long timeoutUs = 50 + 37L * i + round;
                threads.add(Thread.ofPlatform().start(() -> {
                    started.countDown();
                    try {
                        for (;;) {
                            try {
                                block.call(BLOCK_NS, 0, Duration.ofNanos(timeoutUs * 1000));
                            } catch (TimeoutException expected) {
                                // given up: the hook ran if the call was running
                            }
                        }
                    } catch (EngineClosedException closed) {
                        // the end of the round
                    } catch (Throwable t) {
                        unexpected.compareAndSet(null, t);
                    }
                }));
            }
            started.await();
            Thread.sleep(5 + round % 7);
            long closing = System.nanoTime();
            e.close();
            // close cancels the running op through the hook: it must not wait out the 60 s block (a call
            // the engine started while close scanned the ring was once missed that way).
            long closeMs = (System.nanoTime() - closing) / 1_000_000;
            assertTrue(closeMs < NEXT_CALL.toMillis(), "round " + round + ": close took " + closeMs + " ms");
            for (Thread t : threads) {
                t.join(NEXT_CALL.toMillis());
                assertFalse(t.isAlive(), "a caller hung after close");
            }
            if (unexpected.get() != null) {
                throw new AssertionError("a caller failed", unexpected.get());
            }
            assertTrue(e.isStopped(), "the engine thread was not joined");
            engine = null;
        }
    }
}
