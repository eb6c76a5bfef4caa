package io.ferry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Java tasks on the engine thread (issue 12 item 1): results of every type, exceptions, re-entrancy,
 * context propagation, timeouts and cancel actions (item 4), context locals and lifecycle hooks (item 3).
 */
class TaskTest {
    @Test
    void tasksRunOnTheEngineThreadAndReturnResultsOfEveryType() throws Exception {
        try (Engine engine = Engine.builder().name("tasks").start()) {
            Thread caller = Thread.currentThread();
            AtomicReference<Thread> ran = new AtomicReference<>();
            engine.run(() -> ran.set(Thread.currentThread()));
            assertTrue(ran.get() != caller && ran.get().getName().equals("tasks"), () -> "ran on " + ran.get());
            assertTrue(engine.call(engine::isEngineThread));
            assertEquals("forty-two", engine.call(() -> "forty-two"));
            assertNull(engine.call(() -> null));
            assertEquals(Long.MIN_VALUE, engine.callLong(() -> Long.MIN_VALUE));
            assertEquals(-0.0, engine.callDouble(() -> -0.0));
            assertTrue(Double.isNaN(engine.callDouble(() -> Double.NaN)));
            assertEquals(7, engine.<Integer>callAsync(() -> 7).get(5, TimeUnit.SECONDS));
            assertNull(engine.runAsync(() -> { }).get(5, TimeUnit.SECONDS));
            assertEquals(9L, engine.call(() -> 9L, Duration.ofSeconds(5)));
            // Many, in order, from one thread: each result is its own.
            for (int i = 0; i < 10_000; i++) {
                final int n = i;
                assertEquals(n * 3L, engine.callLong(() -> n * 3L));
            }
        }
    }

    @Test
    void aTasksExceptionReachesItsCallerAndTheEngineGoesOn() {
        try (Engine engine = Engine.builder().start()) {
            IllegalArgumentException iae = new IllegalArgumentException("bad");
            assertSame(iae, assertThrows(IllegalArgumentException.class, () -> engine.run(() -> {
                throw iae;
            })));
            TaskFailedException checked = assertThrows(TaskFailedException.class, () -> engine.call(() -> {
                throw new IOException("disk");
            }));
            assertInstanceOf(IOException.class, checked.getCause());
            StackOverflowError soe = assertThrows(StackOverflowError.class, () -> engine.callLong(TaskTest::recurse));
            assertTrue(soe != null);
            ExecutionException async = assertThrows(ExecutionException.class,
                    () -> engine.callAsync(() -> { throw new IllegalStateException("async"); }).get(5, TimeUnit.SECONDS));
            assertEquals("async", async.getCause().getMessage());
            assertEquals(5, engine.callLong(() -> 5)); // the engine thread survived every one of them
        }
    }

    private static long recurse() {
        return recurse() + 1;
    }

    @Test
    void aTaskThatCallsItsOwnEngineRunsTheInnerTaskInline() throws Exception {
        try (Engine engine = Engine.builder().start()) {
            ExecutionContext child = engine.systemContext().child().name("inner").create();
            String r = engine.call(() -> {
                String outer = Task.context().name();
                String inner = child.call(() -> Task.context().name() + "/" + engine.call(() -> Task.context().name()));
                long l = engine.callLong(() -> 40) + engine.call(() -> 2L);
                CompletableFuture<String> f = engine.callAsync(() -> "async");
                return outer + " " + inner + " " + l + " " + f.getNow("not done") + " " + Task.context().name();
            });
            assertEquals("systemic inner/inner 42 async systemic", r);
            child.close();
        }
    }

    @Test
    void aTaskRunsInItsCallersContext() throws Exception {
        try (Engine engine = Engine.builder().start()) {
            ExecutionContext sys = engine.systemContext();
            try (ExecutionContext a = sys.child().name("a").create(); ExecutionContext b = sys.child().name("b").readOnly().create()) {
                assertEquals("systemic", engine.call(() -> Task.context().name()));
                assertEquals("a", a.call(() -> Task.context().name()));
                try (var scope = b.open()) {
                    assertEquals("b", engine.call(() -> Task.context().name()));
                    assertTrue(engine.call(() -> Task.context().isReadOnly()));
                    assertEquals("b", engine.<String>callAsync(() -> Task.context().name()).get(5, TimeUnit.SECONDS));
                }
                assertEquals(a.id(), a.callLong(() -> Task.context().id()));
            }
            ExecutionContext closed = sys.child().create();
            closed.close();
            assertThrows(IllegalStateException.class, () -> closed.run(() -> { }));
        }
    }

    @Test
    void contextLocalsOpenAndCloseOnTheEngineThreadPerContext() throws Exception {
        List<String> log = new ArrayList<>();
        ContextLocal<StringBuilder> local = ContextLocal.of(info -> {
            log.add("open " + info.name() + (info.systemic() ? " systemic" : "") + " on " + Thread.currentThread().getName());
            return new StringBuilder(info.name());
        }, sb -> log.add("close " + sb));
        AtomicInteger stops = new AtomicInteger();
        Engine engine = Engine.builder().name("locals").contextLocal(local)
                .onStart(() -> log.add("start on " + Thread.currentThread().getName()))
                .onStop(() -> log.add("stop " + stops.incrementAndGet() + " on " + Thread.currentThread().getName()))
                .start();
        assertEquals(List.of("open systemic systemic on locals", "start on locals"), log);
        ExecutionContext a = engine.systemContext().child().name("a").create();
        ExecutionContext b = a.child().name("b").create();
        assertEquals("systemic!", engine.call(() -> local.get().append('!').toString()));
        assertEquals("a?", a.call(() -> local.get().append('?').toString()));
        assertEquals("b", b.call(() -> local.get().toString()));
        assertEquals("systemic!", a.call(() -> local.get(engine.systemContext()).toString()));
        a.close();
        assertThrows(IllegalStateException.class, local::get, "read off the engine thread");
        engine.close();
        assertEquals(List.of("open systemic systemic on locals", "start on locals", "open a on locals", "open b on locals",
                "close a?", "close b", "close systemic!", "stop 1 on locals"), log);
    }

    @Test
    void aFailingStartHookFailsTheStartAndClosesTheEngine() {
        AtomicInteger stops = new AtomicInteger();
        EngineStartException e = assertThrows(EngineStartException.class, () -> Engine.builder()
                .onStart(() -> { throw new IllegalStateException("no"); }).onStop(stops::incrementAndGet).start());
        assertEquals("no", e.getCause().getMessage());
        assertEquals(1, stops.get());
    }

    /** A busy task that polls a flag its cancel action sets: each way of giving up stops it at once. */
    private static long busyUntilCancelled(CountDownLatch started) {
        return busyUntilCancelled(started, true);
    }

    /** With poll false, only the cancel action ends it. */
    private static long busyUntilCancelled(CountDownLatch started, boolean poll) {
        AtomicInteger stop = new AtomicInteger();
        try (var r = Task.onCancel(stop::incrementAndGet)) {
            started.countDown();
            long n = 0;
            while (stop.get() == 0 && !(poll && Task.isCancelled())) {
                n++;
                Thread.onSpinWait();
            }
            return n;
        }
    }

    @Test
    void aTimeoutRunsTheTasksCancelActionOnTheCallersThreadAndTheEngineGoesOn() throws Exception {
        try (Engine engine = Engine.builder().start()) {
            AtomicReference<Thread> cancelledOn = new AtomicReference<>();
            CountDownLatch started = new CountDownLatch(1);
            long t0 = System.nanoTime();
            assertThrows(TimeoutException.class, () -> engine.call(() -> {
                try (var r = Task.onCancel(() -> cancelledOn.set(Thread.currentThread()))) {
                    started.countDown();
                    while (cancelledOn.get() == null) {
                        Thread.onSpinWait();
                    }
                }
                return 1;
            }, Duration.ofMillis(50)));
            assertSame(Thread.currentThread(), cancelledOn.get());
            assertEquals(3, engine.callLong(() -> 3));
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5));
        }
    }

    @Test
    void cancellingAnAsyncTaskRunsItsCancelActionAndTheEngineGoesOn() throws Exception {
        try (Engine engine = Engine.builder().start()) {
            CountDownLatch started = new CountDownLatch(1);
            CompletableFuture<Long> f = engine.callAsync(() -> busyUntilCancelled(started));
            assertTrue(started.await(5, TimeUnit.SECONDS));
            assertTrue(f.cancel(true));
            assertThrows(CancellationException.class, f::join);
            assertEquals(4, engine.callLong(() -> 4)); // the busy task ended: the engine serves calls again
        }
    }

    @Test
    void closeRunsTheRunningTasksCancelAction() throws Exception {
        Engine engine = Engine.builder().closeTimeout(Duration.ofSeconds(5)).start();
        CountDownLatch started = new CountDownLatch(1);
        CompletableFuture<Long> f = engine.callAsync(() -> busyUntilCancelled(started, false));
        assertTrue(started.await(5, TimeUnit.SECONDS));
        long t0 = System.nanoTime();
        engine.close();
        assertTrue(engine.isStopped(), "the engine thread was joined: the busy task ended");
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(4), "close waited for its timeout");
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(5, TimeUnit.SECONDS));
        assertInstanceOf(EngineClosedException.class, e.getCause());
    }

    @Test
    void aTaskGivenUpBeforeItStartsNeverRuns() throws Exception {
        try (Engine engine = Engine.builder().start()) {
            CountDownLatch release = new CountDownLatch(1);
            CompletableFuture<Void> blocker = engine.runAsync(() -> {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            AtomicInteger ran = new AtomicInteger();
            assertThrows(TimeoutException.class, () -> engine.call(() -> ran.incrementAndGet(), Duration.ofMillis(20)));
            release.countDown();
            blocker.get(5, TimeUnit.SECONDS);
            assertEquals(0, engine.call(ran::get));
            assertFalse(engine.isClosed());
        }
    }

    @Test
    void tasksGivenUpWhileRunningOrQueuedGiveTheirCellsBack() throws Exception {
        try (Engine engine = Engine.builder().start()) {
            engine.callLong(() -> 1);
            int before = TaskCell.Pool.made();
            for (int i = 0; i < 3000; i++) {
                if (i % 2 == 0) { // running when given up: the engine releases the cell when the task returns
                    CountDownLatch started = new CountDownLatch(1);
                    CompletableFuture<Long> f = engine.callAsync(() -> busyUntilCancelled(started));
                    assertTrue(started.await(5, TimeUnit.SECONDS));
                    f.cancel(true);
                } else { // queued behind a running one when given up: never runs, the caller releases it
                    CountDownLatch started = new CountDownLatch(1);
                    CompletableFuture<Long> busy = engine.callAsync(() -> busyUntilCancelled(started));
                    assertTrue(started.await(5, TimeUnit.SECONDS));
                    AtomicInteger ran = new AtomicInteger();
                    CompletableFuture<Integer> queued = engine.callAsync(ran::incrementAndGet);
                    queued.cancel(true);
                    busy.cancel(true);
                    assertEquals(0, engine.call(ran::get));
                }
            }
            assertEquals(7, engine.callLong(() -> 7));
            // 6000 tasks given up: had any cell leaked, the pool would have grown by chunks of 1024.
            assertTrue(TaskCell.Pool.made() - before <= 1024, () -> "the pool grew to " + TaskCell.Pool.made());
        }
    }

    @Test
    void anInterruptedCallerGivesItsTaskUpAndRunsItsCancelAction() throws Exception {
        try (Engine engine = Engine.builder().start()) {
            CountDownLatch started = new CountDownLatch(1);
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            Thread caller = Thread.ofPlatform().start(() -> {
                try {
                    engine.callLong(() -> busyUntilCancelled(started, false));
                } catch (Throwable t) {
                    thrown.set(t);
                }
            });
            assertTrue(started.await(5, TimeUnit.SECONDS));
            caller.interrupt();
            caller.join(5000);
            assertFalse(caller.isAlive(), "the caller still waits");
            assertInstanceOf(CallInterruptedException.class, thrown.get());
            assertEquals(8, engine.callLong(() -> 8)); // the action stopped the busy task
        }
    }

    @Test
    void manyThreadsRunTasksAtOnceEachResultItsOwn() throws Exception {
        try (Engine engine = Engine.builder().start()) {
            List<Thread> threads = new ArrayList<>();
            AtomicInteger bad = new AtomicInteger();
            long[] counter = new long[1]; // touched on the engine thread only
            for (int t = 0; t < 8; t++) {
                final int id = t;
                threads.add(Thread.ofPlatform().start(() -> work(engine, id, bad, counter)));
            }
            for (int t = 0; t < 200; t++) {
                final int id = 100 + t;
                threads.add(Thread.ofVirtual().start(() -> work(engine, id, bad, counter)));
            }
            for (Thread t : threads) {
                t.join();
            }
            assertEquals(0, bad.get());
            assertEquals(208L * 500, engine.callLong(() -> counter[0]));
        }
    }

    private static void work(Engine engine, int id, AtomicInteger bad, long[] counter) {
        for (int i = 0; i < 500; i++) {
            final long want = (long) id << 32 | i;
            if (i % 3 == 0) {
                if (engine.callLong(() -> { counter[0]++; return want; }) != want) {
                    bad.incrementAndGet();
                }
            } else if (i % 3 == 1) {
                if (!Long.valueOf(want).equals(engine.call(() -> { counter[0]++; return want; }))) {
                    bad.incrementAndGet();
                }
            } else if (engine.<Long>callAsync(() -> { counter[0]++; return want; }).join() != want) {
                bad.incrementAndGet();
            }
        }
    }
}
