package io.ferry;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** Producers waiting for a slot on a full ring: timed and untimed calls take their turns. */
class BackPressureTest {

    @Test
    void timedCallsGetSlotsWhileUntimedProducersKeepTheRingFull() throws Exception {
        try (Engine engine = TestEngines.builder().name("fair-claims").capacity(4).start()) {
            LongOp spin = engine.longOp("spin");
            LongOp add = engine.longOp("add");
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> untimed = new ArrayList<>();
            for (int p = 0; p < 8; p++) {
                untimed.add(Thread.ofPlatform().start(() -> {
                    while (!stop.get()) {
                        spin.call(20_000, 0);
                    }
                }));
            }
            int served = 0;
            List<String> failures = new ArrayList<>();
            try {
                Thread.sleep(100); // the untimed producers fill the ring
                for (int i = 0; i < 40; i++) {
                    try {
                        if (add.call(i, 1, Duration.ofSeconds(2)) == i + 1) {
                            served++;
                        }
                    } catch (TimeoutException e) {
                        failures.add(e.getMessage());
                    }
                }
            } finally {
                stop.set(true);
                for (Thread t : untimed) {
                    t.join();
                }
            }
            // A 2 s deadline is a hundred times what a turn behind 8 + 4 calls of 20 µs takes.
            assertEquals(40, served, "timed calls not served: " + failures);
        }
    }
}
