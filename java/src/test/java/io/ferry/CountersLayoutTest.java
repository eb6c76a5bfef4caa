package io.ferry;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.ferry.internal.EngineCounters;
import io.ferry.internal.FerryNative;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The counters block as C lays it out (ferry_counters_layout) and as EngineCounters reads it agree. */
class CountersLayoutTest {
    @Test
    void javaAndCAgreeOnTheCountersBlock() {
        Map<String, Long> c = new TreeMap<>();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            int n = FerryNative.ferry_counters_layout(out);
            MemorySegment table = out.get(ValueLayout.ADDRESS, 0).reinterpret(16L * n);
            for (int i = 0; i < n; i++) {
                String name = table.get(ValueLayout.ADDRESS, 16L * i).reinterpret(256).getString(0);
                c.put(name, Integer.toUnsignedLong(table.get(ValueLayout.JAVA_INT, 16L * i + 8)));
            }
        }
        assertEquals(new TreeMap<>(EngineCounters.layoutForTests()), c);
        assertEquals(EngineCounters.HIST_BUCKETS, LatencyHistogram.BUCKETS);
    }
}
