package io.ferry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** EngineBuilder.histograms(true): the callers' wait and the engine's time per call. */
class HistogramTest {
    @Test
    void bucketsCoverEveryValueInOrder() {
        long prev = -1;
        for (int i = 0; i < LatencyHistogram.BUCKETS - 1; i++) {
            long lo = LatencyHistogram.lowest(i), hi = LatencyHistogram.highest(i);
            assertEquals(prev + 1, lo, "bucket " + i + " starts where the last ended");
            assertEquals(i, LatencyHistogram.bucket(lo));
            assertEquals(i, LatencyHistogram.bucket(hi));
            assertTrue(hi - lo + 1 <= Math.max(1, lo / 16 + 1), "bucket " + i + " is at most 1/16 of its value wide");
            prev = hi;
        }
        assertEquals(1L << 40, LatencyHistogram.lowest(LatencyHistogram.BUCKETS - 16));
        assertEquals(LatencyHistogram.BUCKETS - 1, LatencyHistogram.bucket(Long.MAX_VALUE));
    }

    @Test
    void waitAndEngineTimeAreRecordedPerCall() throws Exception {
        try (Engine engine = TestEngines.builder().name("hist").histograms(true).start()) {
            LongOp spin = engine.longOp("spin");
            LongOp add = engine.longOp("add");
            LatencyHistogram w0 = engine.waitLatency(), e0 = engine.engineLatency();
            for (int i = 0; i < 200; i++) {
                spin.call(200_000L, 0); // 200 µs on the engine
            }
            LatencyHistogram w = engine.waitLatency().since(w0);
            StatsTest.awaitStats(engine, s -> s.completed() >= 200, "the spins");
            LatencyHistogram e = engine.engineLatency().since(e0);
            assertEquals(200, w.count(), "one wait per sync call");
            assertEquals(200, e.count(), "one engine time per call");
            assertTrue(w.percentile(50) >= 200_000, "the median wait covers the 200 µs spin: " + w);
            assertTrue(e.percentile(50) >= 200_000 && e.percentile(50) < 20_000_000, "engine time: " + e);
            assertTrue(w.percentile(1) >= e.percentile(0) * 15 / 16, "a wait is never shorter than the op: " + w + " / " + e);
            for (int i = 0; i < 300; i++) {
                add.call(i, 1);
            }
            assertEquals(500, engine.waitLatency().since(w0).count());
            engine.longOp("add").callAsync(1, 2).get();
            StatsTest.awaitStats(engine, s -> s.completed() >= 501, "the async add");
            assertEquals(501, engine.engineLatency().since(e0).count(), "async calls have an engine time too");
        }
    }

    @Test
    void offByDefault() {
        try (Engine engine = TestEngines.builder().name("hist-off").start()) {
            IllegalStateException ex = assertThrows(IllegalStateException.class, engine::waitLatency);
            assertTrue(ex.getMessage().contains("histograms(true)"), ex.getMessage());
            engine.longOp("add").call(1, 2);
            assertEquals(0, engine.stats().op("add").timedCalls(), "no engine time taken either");
        }
    }
}
