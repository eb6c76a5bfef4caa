package io.ferry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeoutException;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingStream;
import org.junit.jupiter.api.Test;

/** Ferry's JFR events, read back with a RecordingStream. */
class JfrEventsTest {
    private static List<RecordedEvent> of(List<RecordedEvent> all, String type) {
        return all.stream().filter(e -> e.getEventType().getName().equals(type)).toList();
    }

    @Test
    void slowCallsAreRecordedWithTheirFieldsAndFastOnesAreNot() throws Exception {
        List<RecordedEvent> events = new CopyOnWriteArrayList<>();
        try (RecordingStream rs = new RecordingStream()) {
            rs.enable("io.ferry.Call").withThreshold(Duration.ofMillis(20));
            rs.enable("io.ferry.EngineStart");
            rs.enable("io.ferry.EngineClose");
            rs.enable("io.ferry.ContextOpen");
            rs.enable("io.ferry.ContextClose");
            rs.enable("io.ferry.EngineStatistics").withPeriod(Duration.ofMillis(50));
            rs.onEvent(events::add);
            rs.startAsync();
            try (Engine engine = TestEngines.builder().name("jfr-calls").trackOps("spin").start()) {
                LongOp add = engine.longOp("add");
                LongOp spin = engine.longOp("spin");
                for (int i = 0; i < 2_000; i++) {
                    add.call(i, 1); // far below 20 ms: no event (unless the machine stalls the call)
                }
                spin.call(50_000_000L, 0); // 50 ms
                spin.call(1_000_000L, 0); // 1 ms: below
                assertThrows(TimeoutException.class, () -> spin.call(500_000_000L, 0, Duration.ofMillis(30)));
                try (ExecutionContext ctx = engine.systemContext().child().name("jfr-ctx").create()) {
                    spin.call(ctx, 30_000_000L, 0);
                }
                long deadline = System.nanoTime() + 10_000_000_000L; // the stream delivers about once a second
                while (events.stream().noneMatch(e -> e.getEventType().getName().equals("io.ferry.EngineStatistics")
                        && e.getString("engine").equals("jfr-calls")) && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
            }
            rs.stop(); // flushes: every event committed so far is delivered
        }
        List<RecordedEvent> all = of(events, "io.ferry.Call");
        assertTrue(all.stream().allMatch(e -> e.getDuration().toMillis() >= 20), "none below the threshold: " + all);
        // A fast call is recorded only if the machine stalled it past 20 ms (a GC, a descheduled thread).
        assertTrue(all.stream().filter(e -> e.getString("op").equals("add")).count() < 20, "fast calls: " + all);
        List<RecordedEvent> calls = all.stream().filter(e -> e.getString("op").equals("spin")).toList();
        assertEquals(3, calls.size(), "spins over the threshold: " + calls);
        assertTrue(calls.stream().allMatch(e -> e.getString("engine").equals("jfr-calls")));
        assertTrue(calls.stream().allMatch(e -> e.getThread() != null));
        RecordedEvent ok = calls.get(0), timedOut = calls.get(1), inCtx = calls.get(2);
        assertEquals("ok", ok.getString("outcome"));
        assertEquals(1L << 32, ok.getLong("context"), "the systemic context's id");
        assertTrue(ok.getDuration().toMillis() >= 50, "wait of the 50 ms spin: " + ok.getDuration());
        assertTrue(ok.getDuration(("engineTime")).toMillis() >= 1, "engine time of tracked spin: " + ok);
        assertEquals("timed out", timedOut.getString("outcome"));
        assertTrue(timedOut.getDuration().toMillis() >= 30);
        assertEquals("ok", inCtx.getString("outcome"));
        assertTrue(inCtx.getLong("context") != 1L << 32, "a user context's id");
        assertFalse(ok.hasField("stackTrace") && ok.getStackTrace() != null, "no stack trace on a hot event");

        assertEquals(1, of(events, "io.ferry.EngineStart").size());
        RecordedEvent close = of(events, "io.ferry.EngineClose").get(0);
        assertEquals("jfr-calls", close.getString("engine"));
        assertFalse(close.getBoolean("abandoned"));
        assertTrue(close.getLong("calls") >= 2_004, "calls: " + close);
        assertEquals("jfr-ctx", of(events, "io.ferry.ContextOpen").get(0).getString("context"));
        assertEquals("jfr-ctx", of(events, "io.ferry.ContextClose").get(0).getString("context"));
        List<RecordedEvent> stats = of(events, "io.ferry.EngineStatistics").stream()
                .filter(e -> e.getString("engine").equals("jfr-calls")).toList();
        assertFalse(stats.isEmpty(), "periodic statistics");
        assertTrue(stats.get(stats.size() - 1).getLong("submitted") >= 2_000, "statistics: " + stats);
    }

    @Test
    void withoutARecordingNoCallIsObserved() throws Exception {
        try (Engine engine = TestEngines.builder().name("jfr-none").start()) {
            assertFalse(io.ferry.internal.Observe.jfr, "no recording runs");
            engine.longOp("add").call(1, 2);
        }
    }
}
