package io.ferry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.child.Proc;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The ways a call or a context is given up or closed that once went wrong, one test per defect. */
class GiveUpTest {

    @Test
    void cancellingACompletedFutureAfterItsEngineClosedReturnsFalse() throws Exception {
        CompletableFuture<Long> f;
        try (Engine engine = TestEngines.builder().name("cancel-after-close").start()) {
            f = engine.longOp("add").callAsync(1, 2);
            assertEquals(3, f.get(10, TimeUnit.SECONDS));
        }
        // The region is freed: cancel must not read it (it threw IllegalStateException: Already closed).
        assertFalse(f.cancel(true));
        assertFalse(f.isCancelled());
    }

    /** spin stops once its caller left; had the 30 s call kept running, the engine would still be busy. */
    private static void assertSpinGivenUp(Engine engine) {
        long t0 = System.nanoTime();
        assertEquals(0, engine.longOp("noop").call());
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(20), "the spin was given up");
    }

    @Test
    void aFutureThatTimesOutWithOrTimeoutGivesItsCallUp() throws Exception {
        try (Engine engine = TestEngines.builder().name("or-timeout").start()) {
            LongOp spin = engine.longOp("spin");
            CompletableFuture<Long> f = spin.callAsync(30_000_000_000L, 0).orTimeout(50, TimeUnit.MILLISECONDS);
            ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
            assertInstanceOf(TimeoutException.class, e.getCause());
            assertSpinGivenUp(engine);
        }
    }

    @Test
    void aFutureTheUserFailsGivesItsCallUp() throws Exception {
        try (Engine engine = TestEngines.builder().name("user-fails").start()) {
            CompletableFuture<Long> f = engine.longOp("spin").callAsync(30_000_000_000L, 0);
            Thread.sleep(20); // let the engine start it
            assertTrue(f.completeExceptionally(new IllegalStateException("not needed any more")));
            assertSpinGivenUp(engine);
        }
    }

    @Test
    void contextsClosedFromTwoThreadsAtOnceCloseOnceWithoutAnError() throws Exception {
        try (Engine engine = TestEngines.builder().name("ctx-close-race").start()) {
            ExecutionContext sys = engine.systemContext();
            for (int i = 0; i < 2_000; i++) {
                ExecutionContext c = sys.child().name("race" + i).create();
                CountDownLatch go = new CountDownLatch(1);
                AtomicReference<Throwable> failure = new AtomicReference<>();
                Runnable close = () -> {
                    try {
                        go.await();
                        c.close();
                    } catch (Throwable t) {
                        failure.compareAndSet(null, t);
                    }
                };
                Thread a = Thread.ofPlatform().start(close);
                Thread b = Thread.ofPlatform().start(close);
                go.countDown();
                a.join();
                b.join();
                if (failure.get() != null) {
                    throw new AssertionError("pair " + i + ": a racing close() failed", failure.get());
                }
                assertTrue(c.isClosed());
            }
        }
    }

    @Test
    void anOpNameWithANulCharacterIsRefused() {
        try (Engine engine = TestEngines.builder().name("nul-name").start()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> engine.op("add\u0000anything"));
            assertTrue(e.getMessage().contains("NUL"), e.getMessage());
            assertEquals(3, engine.longOp("add").call(1, 2), "the plain name still resolves");
        }
    }

    @Test
    void theEngineThreadCarriesTheEngineNameInJavaAndInTheKernel() throws Exception {
        String name = "ledger-engine-\u00e9tage"; // byte 15 is inside the two-byte "é": the cut must not split it
        try (Engine engine = TestEngines.builder().name(name).start()) {
            engine.longOp("noop").call();
            long javaThreads = Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals(name)).count();
            assertEquals(1, javaThreads, "one Java thread carries the engine's name");
            assertEquals(1, Proc.threadsNamed("ledger-engine-"), "the pthread name is the first 15 bytes");
        }
        assertEquals(0, Proc.threadsNamed("ledger-engine-"), "and it is gone after close");
    }

    @Test
    void aCompletionExecutorThatThrowsStillCompletesTheFuture() throws Exception {
        try (Engine engine = TestEngines.builder().name("bad-executor")
                .completionExecutor(r -> {
                    throw new IllegalStateException("this executor is broken");
                }).start()) {
            CompletableFuture<Long> f = engine.longOp("add").callAsync(2, 3);
            assertEquals(5, f.get(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void aFailureMessageOfAnyLengthArrivesWhole() {
        // 100 KB of two- and three-byte UTF-8 characters: a fixed buffer would cut it, possibly mid-character.
        String message = "d\u00e9j\u00e0 vu \u20ac ".repeat(100_000 / 14);
        try (Engine engine = TestEngines.builder().name("long-message").start()) {
            CallFailedException e = assertThrows(CallFailedException.class,
                    () -> engine.bytesToLongOp("fail").call(9, message.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            assertEquals(9, e.code());
            assertEquals(message, e.engineMessage());
        }
    }
}
