package io.ferry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Results, errors and every way a single call can end. */
class CallTest {
    Engine engine;

    @BeforeEach
    void start() {
        engine = TestEngines.builder().name("calls").capacity(8).maxInputBytes(64L << 20).start();
    }

    @AfterEach
    void stop() {
        engine.close();
    }

    @Test
    void primitiveAndDoubleOpsReturnTheirResults() {
        assertEquals(0, engine.longOp("noop").call());
        assertEquals(42, engine.longOp("echo").call(42));
        assertEquals(Long.MIN_VALUE, engine.longOp("add").call(Long.MAX_VALUE, 1), "wrapping add");
        assertEquals(3.75, engine.doubleOp("add_f64").call(1.5, 2.25));
    }

    @Test
    void bytesAndStringsOfAnySizeRoundTrip() {
        BytesOp echo = engine.bytesOp("echo_bytes");
        Random random = new Random(7);
        for (int size : new int[] {0, 1, 63, 64, 4096, 1 << 20, 48 << 20}) {
            byte[] in = new byte[size];
            random.nextBytes(in);
            assertArrayEquals(in, echo.call(in), "size " + size);
        }
        String text = "ferry ⛴ ".repeat(100_000);
        assertEquals(text, engine.textOp("echo_string").call(text));
        byte[] data = "hello".getBytes(StandardCharsets.UTF_8);
        assertEquals(0xa430d84680aabd0bL, engine.bytesToLongOp("checksum").call(0, data), "FNV-1a 64 of 'hello'");
    }

    @Test
    void anOpsFailureCarriesTheEnginesCodeAndMessage() {
        CallFailedException e = assertThrows(CallFailedException.class,
                () -> engine.bytesToLongOp("fail").call(7, "boom: disk on fire".getBytes(StandardCharsets.UTF_8)));
        assertEquals(7, e.code());
        assertEquals("boom: disk on fire", e.engineMessage());
        assertEquals("fail", e.op());
        assertTrue(e.getMessage().contains("code=7") && e.getMessage().contains("boom"), e.getMessage());

        CallFailedException bad = assertThrows(CallFailedException.class, () -> engine.longOp("spin").call(-5));
        assertEquals(22, bad.code(), "EINVAL from the op");
        assertTrue(bad.engineMessage().contains("-5"), bad.engineMessage());
        assertEquals(5, engine.longOp("add").call(2, 3), "the engine keeps running");
    }

    @Test
    void unknownOpIsAClearErrorAtLookup() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> engine.op("no_such_op"));
        assertTrue(e.getMessage().contains("no_such_op"), e.getMessage());
    }

    @Test
    void wrongArgumentsAreRefusedBeforeAnythingIsSent() {
        BytesOp echoBytes = engine.bytesOp("echo_bytes");
        assertThrows(NullPointerException.class, () -> echoBytes.call((byte[]) null));
        assertThrows(NullPointerException.class, () -> engine.textOp("echo_string").call((String) null));
        try (Engine other = TestEngines.builder().name("other").start()) {
            ExecutionContext foreignContext = other.systemContext();
            IllegalArgumentException foreign = assertThrows(IllegalArgumentException.class,
                    () -> engine.longOp("add").call(foreignContext, 1, 2));
            assertTrue(foreign.getMessage().contains("belongs to engine 'other'"), foreign.getMessage());
        }
        assertEquals(3, engine.longOp("add").call(1, 2));
    }

    @Test
    void oversizedInputIsRefusedAtSubmitAndTheEngineKeepsRunning() {
        try (Engine small = TestEngines.builder().name("small").maxInputBytes(16).start()) {
            BytesOp echo = small.bytesOp("echo_bytes");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> echo.call(new byte[17]));
            assertTrue(e.getMessage().contains("maxInputBytes=16"), e.getMessage());
            assertArrayEquals(new byte[16], echo.call(new byte[16]));
        }
    }

    @Test
    void tryCallIsRejectedWhenEverySlotIsQueued() throws Exception {
        try (Engine tiny = TestEngines.builder().name("tiny").capacity(2).start()) {
            LongOp spin = tiny.longOp("spin");
            LongOp add = tiny.longOp("add");
            // The engine frees a call's slot when it takes the call: one running and two queued fill it.
            CompletableFuture<Long> a = spin.callAsync(300_000_000L, 0);
            CompletableFuture<Long> b = spin.callAsync(1_000L, 0);
            CompletableFuture<Long> c = spin.callAsync(1_000L, 0);
            assertEquals(-1, add.tryCall(1, 2, -1), "the ring is full: the fallback, nothing sent");
            assertTrue(a.get(10, TimeUnit.SECONDS) >= 300_000_000L);
            assertTrue(b.get(10, TimeUnit.SECONDS) >= 1_000L);
            assertTrue(c.get(10, TimeUnit.SECONDS) >= 1_000L);
            assertEquals(3, add.tryCall(1, 2, -1), "accepted again once slots are free");
        }
    }

    @Test
    void aTimedOutCallTheEngineHadNotReachedIsSkipped() throws Exception {
        LongOp spin = engine.longOp("spin");
        LongOp order = engine.longOp("order");
        CompletableFuture<Long> busy = spin.callAsync(300_000_000L, 0);
        // The engine is busy for 300 ms: this call times out before the engine reaches it...
        TimeoutException queued = assertThrows(TimeoutException.class, () -> order.call(9, 1, Duration.ofMillis(30)));
        assertTrue(queued.getMessage().contains("will skip it"), queued.getMessage());
        busy.get(10, TimeUnit.SECONDS);
        // A call that times out while it runs is told so: the engine had started it (stats.started).
        TimeoutException running = assertThrows(TimeoutException.class,
                () -> spin.call(200_000_000L, 0, Duration.ofMillis(30)));
        assertTrue(running.getMessage().contains("already running"), running.getMessage());
        // ...and was skipped: had it run, producer 9's call #1 would now be out of order.
        assertEquals(1, order.call(9, 1));
        // Its slot was reused: more calls than slots still work.
        for (int i = 2; i < 100; i++) {
            assertEquals(i, order.call(9, i));
        }
    }

    @Test
    void aTimedOutRunningCallIsCancelledAndItsSlotReused() throws Exception {
        LongOp spin = engine.longOp("spin");
        long t0 = System.nanoTime();
        assertThrows(TimeoutException.class, () -> spin.call(5_000_000_000L, 0, Duration.ofMillis(50)));
        // spin checks its cancel flag, so the engine is free again long before 5 s.
        assertEquals(7, engine.longOp("add").call(3, 4));
        assertTrue(System.nanoTime() - t0 < 4_000_000_000L, "spin stopped early once its caller left");
        for (int i = 0; i < 50; i++) {
            assertEquals(i, engine.longOp("echo").call(i));
        }
    }

    @Test
    void asyncFutureGetWithTimeoutGivesTheCallUp() throws Exception {
        LongOp spin = engine.longOp("spin");
        LongOp order = engine.longOp("order");
        CompletableFuture<Long> busy = spin.callAsync(300_000_000L, 0);
        CompletableFuture<Long> late = order.callAsync(11, 1);
        assertThrows(TimeoutException.class, () -> late.get(20, TimeUnit.MILLISECONDS));
        assertTrue(late.isCancelled());
        busy.get(10, TimeUnit.SECONDS);
        assertEquals(1, order.call(11, 1), "the given-up call never ran");
    }

    @Test
    void asyncStagesNeverRunOnTheEngineThread() throws Exception {
        try (Engine direct = TestEngines.builder().name("direct").completionExecutor(Runnable::run).start()) {
            LongOp add = direct.longOp("add");
            for (Engine e : new Engine[] {engine, direct}) {
                LongOp op = e == engine ? engine.longOp("add") : add;
                CompletableFuture<Boolean> onEngine = op.callAsync(1, 2).thenApply(x -> e.isEngineThread());
                assertEquals(false, onEngine.get(10, TimeUnit.SECONDS));
                CompletableFuture<Thread> where = op.callAsync(1, 2).thenApply(x -> Thread.currentThread());
                assertNotSame(null, where.get(10, TimeUnit.SECONDS));
            }
            // Async failures complete exceptionally with the engine's code.
            ExecutionException ex = assertThrows(ExecutionException.class,
                    () -> direct.bytesOp("echo_bytes").callAsync(new byte[0]).thenCompose(
                            x -> direct.longOp("spin").callAsync(-1, 0)).get(10, TimeUnit.SECONDS));
            assertTrue(ex.getCause() instanceof CallFailedException, ex.toString());
        }
    }

    @Test
    void aBatchRunsEveryCallInOrderAcrossChunks() {
        // capacity 8: a batch of 1,000 runs in 125 chunks
        LongOp order = engine.longOp("order");
        int n = 1_000;
        long[] producer = new long[n], seq = new long[n], out = new long[n];
        for (int i = 0; i < n; i++) {
            producer[i] = 21;
            seq[i] = i + 1;
        }
        order.callBatch(producer, seq, out);
        for (int i = 0; i < n; i++) {
            assertEquals(i + 1, out[i]);
        }
        long[] sums = new long[3];
        engine.longOp("add").callBatch(new long[] {1, 2, 3}, null, sums);
        assertArrayEquals(new long[] {1, 2, 3}, sums);
    }

    @Test
    void aFailingCallInABatchThrowsAfterItsChunkCompleted() {
        LongOp order = engine.longOp("order");
        long[] producer = {22, 22, 22, 22}, seq = {1, 2, 9, 3}, out = new long[4];
        CallFailedException e = assertThrows(CallFailedException.class, () -> order.callBatch(producer, seq, out));
        assertTrue(e.engineMessage().contains("call 9 after call 2"), e.engineMessage());
        assertEquals(1, out[0]);
        assertEquals(3, out[3], "the call after the failed one still ran");
        assertEquals(4, order.call(22, 4), "and the ring is in order afterwards");
    }

    @Test
    void callsAfterCloseAreRejectedClearly() {
        LongOp add = engine.longOp("add");
        engine.close();
        EngineClosedException e = assertThrows(EngineClosedException.class, () -> add.call(1, 2));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        assertThrows(EngineClosedException.class, () -> add.callAsync(1, 2));
        assertThrows(EngineClosedException.class, () -> add.tryCall(1, 2, -1));
        assertThrows(EngineClosedException.class, () -> engine.bytesOp("echo_bytes").call(new byte[3]));
        engine.close(); // idempotent
        assertTrue(engine.isClosed());
    }

    /**
     * With no spinning on either side every call parks, and each thread reuses one completion cell for all
     * its parked calls: results, byte results and failures must still reach their own caller, from platform
     * and virtual threads at once, and batches (several chunks of this 8-slot ring) come back in order.
     */
    @Test
    void parkedCallsHandEachOutcomeToItsOwnCaller() throws Exception {
        try (Engine parking = TestEngines.builder().name("parking").capacity(8)
                .waitPolicy(new WaitPolicy.Backoff(Duration.ZERO, Duration.ZERO)).start()) {
            LongOp add = parking.longOp("add");
            BytesToLongOp fail = parking.bytesToLongOp("fail");
            BytesOp echo = parking.bytesOp("echo_bytes");
            int threads = 12, rounds = 300;
            java.util.List<Thread> all = new java.util.ArrayList<>();
            java.util.concurrent.ConcurrentLinkedQueue<Throwable> errors = new java.util.concurrent.ConcurrentLinkedQueue<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                Runnable body = () -> {
                    try {
                        for (int i = 0; i < rounds; i++) {
                            assertEquals(id * 1_000_000L + i + 1, add.call(id * 1_000_000L + i, 1));
                            int code = 1 + id * 1000 + i;
                            CallFailedException e = assertThrows(CallFailedException.class,
                                    () -> fail.call(code, ("t" + id + " r" + code).getBytes(StandardCharsets.UTF_8)));
                            assertEquals(code, e.code());
                            assertEquals("t" + id + " r" + code, e.engineMessage());
                            byte[] in = ("echo " + id + "/" + i).getBytes(StandardCharsets.UTF_8);
                            assertArrayEquals(in, echo.call(in));
                            if (i % 50 == 0) {
                                long[] a = new long[21], out = new long[21];
                                for (int j = 0; j < a.length; j++) {
                                    a[j] = id * 1000L + j;
                                }
                                add.callBatch(a, null, out);
                                assertArrayEquals(a, out, "batch of thread " + id);
                            }
                        }
                    } catch (Throwable e) {
                        errors.add(e);
                    }
                };
                all.add(id % 3 == 0 ? Thread.ofPlatform().start(body) : Thread.ofVirtual().start(body));
            }
            for (Thread t : all) {
                t.join();
            }
            assertTrue(errors.isEmpty(), () -> errors.size() + " failures, first: " + errors.peek());
        }
    }

    /**
     * Batches travel as items, 256 per slot, in groups of slots: sizes around those edges, from several
     * threads at once on this 8-slot ring, each result checked; an op that takes bytes is refused.
     */
    @Test
    void batchesOfEverySizeComeBackInOrderFromManyThreads() throws Exception {
        LongOp add = engine.longOp("add");
        int[] sizes = {0, 1, 255, 256, 257, 2047, 2048, 2049, 5000};
        java.util.concurrent.ConcurrentLinkedQueue<Throwable> errors = new java.util.concurrent.ConcurrentLinkedQueue<>();
        java.util.List<Thread> threads = new java.util.ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int id = t;
            Runnable body = () -> {
                try {
                    for (int round = 0; round < 20; round++) {
                        for (int n : sizes) {
                            long[] a = new long[n], b = new long[n], out = new long[n];
                            for (int i = 0; i < n; i++) {
                                a[i] = ((long) id << 40) + ((long) round << 20) + i;
                                b[i] = n;
                            }
                            add.callBatch(a, b, out);
                            for (int i = 0; i < n; i++) {
                                if (out[i] != a[i] + n) {
                                    throw new AssertionError("thread " + id + " size " + n + " call " + i + ": " + out[i]);
                                }
                            }
                        }
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            };
            threads.add(t % 2 == 0 ? Thread.ofPlatform().start(body) : Thread.ofVirtual().start(body));
        }
        for (Thread t : threads) {
            t.join();
        }
        assertTrue(errors.isEmpty(), () -> errors.size() + " failures, first: " + errors.peek());
        // Too few arguments are refused at submit, before anything is sent.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> add.callBatch(new long[2], null, new long[3]));
        assertTrue(e.getMessage().contains("callBatch"), e.getMessage());
        assertEquals(7, add.call(3, 4), "the engine keeps running");
    }

    /**
     * A call that parks allocates nothing, on any thread: the caller reuses its thread's completion cell and
     * takes its primitive result out of it itself. (An older path allocated a waiter and a boxed Long, ~64 B
     * a call; JMH's gc profiler cannot tell a few bytes from its own background.)
     */
    @Test
    void aParkedCallAllocatesNothing() throws ReflectiveOperationException {
        // By reflection: the tests compile inside the io.ferry module, which does not read jdk.management.
        Object mx = Class.forName("java.lang.management.ManagementFactory").getMethod("getThreadMXBean").invoke(null);
        java.lang.reflect.Method total = Class.forName("com.sun.management.ThreadMXBean")
                .getMethod("getTotalThreadAllocatedBytes");
        try (Engine parking = TestEngines.builder().name("no-alloc")
                .waitPolicy(new WaitPolicy.Backoff(Duration.ZERO, Duration.ZERO)).start()) {
            LongOp add = parking.longOp("add");
            for (int i = 0; i < 20_000; i++) {
                assertEquals(i + 1, add.call(i, 1)); // warm-up: the JIT, this thread's cell
            }
            int n = 50_000;
            long before = (long) total.invoke(mx);
            for (int i = 0; i < n; i++) {
                if (add.call(i, 1) != i + 1) {
                    throw new AssertionError("call " + i);
                }
            }
            long bytes = (long) total.invoke(mx) - before;
            // Every thread of the JVM counts, so allow for background: under 0.5 B a call.
            assertTrue(bytes < n / 2, bytes + " bytes for " + n + " parked calls");
        }
    }

    @Test
    void aSpinningCallFromAVirtualThreadAllocatesNothing() throws Exception {
        Object mx = Class.forName("java.lang.management.ManagementFactory").getMethod("getThreadMXBean").invoke(null);
        java.lang.reflect.Method total = Class.forName("com.sun.management.ThreadMXBean")
                .getMethod("getTotalThreadAllocatedBytes");
        try (Engine spinning = TestEngines.builder().name("no-alloc-vt").waitPolicy(WaitPolicy.LOWEST_LATENCY).start()) {
            LongOp add = spinning.longOp("add");
            int chunk = 20_000;
            long[] least = {Long.MAX_VALUE};
            java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
            Thread vt = Thread.ofVirtual().start(() -> {
                try {
                    for (int i = 0; i < 50_000; i++) {
                        assertEquals(i + 1, add.call(i, 1)); // warm-up: the JIT
                    }
                    // A virtual thread whose call outlasts its short spin yields or parks, and the JDK copies its
                    // stack into a new StackChunk (kilobytes). That happens when the host delays the engine,
                    // in some chunks and not others; a per-call allocation of Ferry's would be in every one.
                    for (int c = 0; c < 10; c++) {
                        long before = (long) total.invoke(mx);
                        for (int i = 0; i < chunk; i++) {
                            if (add.call(i, 1) != i + 1) {
                                throw new AssertionError("call " + i);
                            }
                        }
                        least[0] = Math.min(least[0], (long) total.invoke(mx) - before);
                    }
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            vt.join();
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            // Every thread of the JVM counts, so allow for background: under 0.5 B a call in the best chunk.
            assertTrue(least[0] < chunk / 2, least[0] + " bytes for " + chunk + " spinning calls in the best of 10 chunks");
        }
    }
}
