package io.ferry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Every close() returns only once the engine thread is joined, however many threads close at once. */
class ConcurrentCloseTest {

    @Test
    void everyConcurrentCloseReturnsOnlyOnceTheEngineStopped() throws Exception {
        Engine engine = TestEngines.builder().name("closed-twice").start();
        // An accepted call that keeps the engine busy for 300 ms: close() runs it before it stops.
        CompletableFuture<Long> busy = engine.longOp("spin").callAsync(TimeUnit.MILLISECONDS.toNanos(300), 0);
        Thread.sleep(20);
        int closers = 4;
        CountDownLatch go = new CountDownLatch(1);
        List<Boolean> stoppedWhenReturned = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < closers; i++) {
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
                engine.close();
                stoppedWhenReturned.add(engine.isStopped());
            }));
        }
        go.countDown();
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(closers, stoppedWhenReturned.size());
        assertTrue(stoppedWhenReturned.stream().allMatch(b -> b),
                () -> "close() returned before the engine thread was joined: " + stoppedWhenReturned);
        assertTrue(busy.isDone(), "the accepted call ran before the engine stopped");
    }
}
