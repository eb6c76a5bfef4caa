package io.ferry;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** close() gives up the calls in flight instead of waiting them out. */
class CloseCancelsTest {

    @Test
    void closeWhileALongOpRunsCancelsItAndEveryQueuedCall() throws Exception {
        Engine engine = TestEngines.builder().name("close-cancels").closeTimeout(Duration.ofSeconds(120)).start();
        LongOp spin = engine.longOp("spin");
        AtomicReference<Throwable> running = new AtomicReference<>();
        Thread caller = Thread.ofPlatform().start(() -> {
            try {
                spin.call(60_000_000_000L, 0); // a minute, unless cancelled
            } catch (Throwable t) {
                running.set(t);
            }
        });
        LongOp add = engine.longOp("add");
        Thread.sleep(200); // the engine runs the spin
        CompletableFuture<Long> queued = add.callAsync(1, 2); // waits behind it
        Thread.sleep(50);
        long t0 = System.nanoTime();
        engine.close();
        long closeNs = System.nanoTime() - t0;
        caller.join(TimeUnit.SECONDS.toMillis(30));
        // The spin honours cancellation: had close waited it out, close would have taken a minute.
        assertTrue(closeNs < TimeUnit.SECONDS.toNanos(30), "close took " + closeNs / 1_000_000 + " ms");
        assertTrue(engine.isStopped());
        EngineClosedException e = assertInstanceOf(EngineClosedException.class, running.get());
        assertTrue(e.getMessage().contains("close cancelled it"), e.getMessage());
        ExecutionException q = assertThrows(ExecutionException.class, () -> queued.get(10, TimeUnit.SECONDS));
        assertInstanceOf(EngineClosedException.class, q.getCause());
        assertTrue(q.getCause().getMessage().contains("close cancelled it"), q.getCause().getMessage());
    }

    /** An op blocked in native code, which polls nothing: only the engine's cancel hook can stop it. */
    @Test
    void closeStopsAnOpBlockedInNativeCodeThroughTheEnginesCancelHook() throws Exception {
        Engine engine = Engine.builder().name("close-hook").closeTimeout(Duration.ofSeconds(120))
                .library(java.nio.file.Path.of(System.getProperty("ferry.test.example")), "example_engine_init").start();
        LongOp block = engine.longOp("example.block");
        AtomicReference<Throwable> running = new AtomicReference<>();
        Thread caller = Thread.ofPlatform().start(() -> {
            try {
                block.call(60_000_000_000L, 0); // blocks a minute unless its cancel hook fires
            } catch (Throwable t) {
                running.set(t);
            }
        });
        Thread.sleep(200); // the engine is inside the block
        long t0 = System.nanoTime();
        engine.close();
        long closeNs = System.nanoTime() - t0;
        caller.join(TimeUnit.SECONDS.toMillis(30));
        // Without the hook close would wait its 120 s timeout and then abandon a thread still blocked.
        assertTrue(closeNs < TimeUnit.SECONDS.toNanos(30), "close took " + closeNs / 1_000_000 + " ms");
        assertTrue(engine.isStopped(), "the engine thread was joined, not abandoned");
        EngineClosedException e = assertInstanceOf(EngineClosedException.class, running.get());
        assertTrue(e.getMessage().contains("close cancelled it"), e.getMessage());
    }
}
