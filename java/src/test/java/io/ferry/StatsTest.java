package io.ferry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/** Engine.stats(): the counters match exactly what the test did. */
class StatsTest {
    private static final byte[] BOOM = "boom".getBytes(StandardCharsets.UTF_8);

    /** Polls stats until the condition holds (10 s deadline), then returns the snapshot that met it. */
    static EngineStats awaitStats(Engine engine, Predicate<EngineStats> condition, String what) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        EngineStats s = engine.stats();
        while (!condition.test(s)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("stats never showed " + what + ":\n" + s);
            }
            Thread.onSpinWait();
            s = engine.stats();
        }
        return s;
    }

    private static void countersMatch(boolean virtual, int threads) throws Exception {
        final int calls = 300, failures = 7, timeouts = 2;
        try (Engine engine = TestEngines.builder().name("stats-" + (virtual ? "v" : "p")).start()) {
            LongOp add = engine.longOp("add");
            LongOp spin = engine.longOp("spin");
            BytesToLongOp fail = engine.bytesToLongOp("fail");
            EngineStats before = engine.stats();
            List<Thread> ts = new ArrayList<>();
            List<Throwable> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
            for (int t = 0; t < threads; t++) {
                Runnable work = () -> {
                    try {
                        for (int i = 0; i < calls; i++) {
                            assertEquals(i + 1, add.call(i, 1));
                        }
                        for (int i = 0; i < failures; i++) {
                            assertThrows(CallFailedException.class, () -> fail.call(9, BOOM));
                        }
                        for (int i = 0; i < timeouts; i++) {
                            // 5 s of engine time, given up after 1 ms: the engine skips it, or the spin sees it given
                            // up and stops (5 s, not less: a caller descheduled for longer than the spin would
                            // find it done and get its result, as a timeout checks only while the call runs)
                            assertThrows(TimeoutException.class, () -> spin.call(5_000_000_000L, 0, Duration.ofMillis(1)));
                        }
                    } catch (Throwable e) {
                        errors.add(e);
                    }
                };
                ts.add(virtual ? Thread.ofVirtual().start(work) : Thread.ofPlatform().start(work));
            }
            for (Thread t : ts) {
                t.join();
            }
            assertEquals(List.of(), errors);
            long all = (long) threads * (calls + failures + timeouts);
            EngineStats s = awaitStats(engine, x -> x.completed() - before.completed() == all, "every call completed");
            assertEquals(all, s.submitted() - before.submitted(), "submitted");
            assertEquals((long) threads * failures, s.failed() - before.failed(), "failed");
            assertEquals((long) threads * timeouts, s.timedOut() - before.timedOut(), "timed out");
            assertEquals(0, s.rejected() - before.rejected(), "rejected");
            assertEquals(0, s.inFlight(), "in flight");
            assertEquals(0, s.queued(), "queued");
            assertEquals((long) threads * calls, s.op("add").calls(), "add calls");
            assertEquals(0, s.op("add").failed(), "add failed");
            assertEquals((long) threads * failures, s.op("fail").calls(), "fail calls");
            assertEquals((long) threads * failures, s.op("fail").failed(), "fail failed");
            long spinRan = s.op("spin") == null ? 0 : s.op("spin").calls();
            assertEquals((long) threads * timeouts, spinRan + s.skipped() - before.skipped(), "spin ran + skipped");
            assertEquals(all - (s.skipped() - before.skipped()), s.run() - before.run(), "run");
        }
    }

    @Test
    void countersMatchWhatEightPlatformThreadsDid() throws Exception {
        countersMatch(false, 8);
    }

    @Test
    void countersMatchWhatAHundredVirtualThreadsDid() throws Exception {
        countersMatch(true, 100);
    }

    @Test
    void ringDepthShowsWhileTheEngineIsBlockedAndRejectedTriesAreCounted() throws Exception {
        final int capacity = 8;
        try (Engine engine = TestEngines.builder().name("stats-depth").capacity(capacity).start()) {
            LongOp spin = engine.longOp("spin");
            LongOp add = engine.longOp("add");
            EngineStats before = engine.stats();
            List<CompletableFuture<Long>> fs = new ArrayList<>();
            fs.add(spin.callAsync(30_000_000_000L, 0)); // blocks the engine (until cancelled)
            awaitStats(engine, x -> x.queued() - before.queued() == 0 && x.inFlight() == 1, "the spin running");
            // The engine freed the running spin's slot when it took it (completion cells): a full ring is
            // capacity calls queued behind it.
            for (int i = 1; i <= capacity; i++) {
                fs.add(add.callAsync(i, 1));
            }
            EngineStats s = awaitStats(engine, x -> x.inFlight() == capacity + 1, "a full ring");
            assertEquals(capacity, s.queued(), "queued behind the blocked engine");
            for (int i = 0; i < 5; i++) {
                assertEquals(-7, add.tryCall(1, 2, -7));
            }
            assertEquals(5, engine.stats().rejected() - before.rejected(), "rejected tries");
            for (int i = fs.size() - 1; i >= 0; i--) { // the queued ones first: the spin's end would let them run
                assertTrue(fs.get(i).cancel(false));
            }
            EngineStats end = awaitStats(engine, x -> x.inFlight() == 0, "an empty ring");
            assertEquals(capacity + 1, end.cancelled() - before.cancelled(), "cancelled");
            assertEquals(capacity, end.skipped() - before.skipped(), "skipped (the queued adds)");
            assertEquals(1, end.op("spin").calls(), "the spin ran, and was stopped");
            assertNotNull(end.toString());
        }
    }

    @Test
    void trackedOpsAreTimedAndStatsSurviveClose() throws Exception {
        Engine engine = TestEngines.builder().name("stats-track").trackOps("spin").start();
        LongOp spin = engine.longOp("spin");
        LongOp add = engine.longOp("add");
        for (int i = 0; i < 10; i++) {
            spin.call(1_000_000L, 0);
            add.call(1, 2);
        }
        EngineStats s = awaitStats(engine, x -> x.engineBusyNanos() > 0, "busy time (a sampled drain run ended)");
        assertEquals(20, s.completed(), "completed, live even inside one long drain run");
        assertEquals(0, s.inFlight(), "in flight");
        assertEquals(10, s.op("spin").timedCalls());
        assertTrue(s.op("spin").meanNanos() >= 1_000_000L, "spin's mean engine time: " + s.op("spin").meanNanos());
        assertEquals(0, s.op("add").timedCalls(), "add is not tracked");
        engine.close();
        EngineStats after = engine.stats();
        assertTrue(after.closed());
        assertEquals(s.submitted(), after.submitted());
        assertEquals(20, after.op("add").calls() + after.op("spin").calls());
    }
}
