package io.ferry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The ring wraps around many times at the smallest and at a large capacity. */
class RingTest {
    @ParameterizedTest(name = "capacity {0}")
    @ValueSource(ints = {1, 2, 64, 65_536})
    void wrapsManyTimesKeepingEveryProducersOrder(int capacity) throws Exception {
        try (Engine engine = TestEngines.builder().name("ring-" + capacity).capacity(capacity).start()) {
            LongOp order = engine.longOp("order");
            // Small rings hand every slot from caller to caller, often through a park: fewer calls suffice.
            int producers = 4, perProducer = (capacity <= 2 ? 5_000 : 50_000) * StressTest.SCALE;
            ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
            List<Thread> threads = new ArrayList<>();
            for (int p = 0; p < producers; p++) {
                int producer = p;
                threads.add(Thread.ofPlatform().start(() -> {
                    try {
                        for (int n = 1; n <= perProducer; n++) {
                            assertEquals(n, order.call(producer, n));
                        }
                    } catch (Throwable t) {
                        failures.add(t);
                    }
                }));
            }
            for (Thread t : threads) {
                assertTrue(t.join(Duration.ofMinutes(2)), "producer finished");
            }
            assertEquals(List.of(), List.copyOf(failures));
            long laps = (long) producers * perProducer / capacity;
            assertTrue(capacity == 65_536 || laps >= 3_000, "wrapped " + laps + " times");
        }
    }
}
