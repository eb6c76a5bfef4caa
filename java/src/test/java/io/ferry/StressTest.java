package io.ferry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;

/**
 * Many producers, every result verified: per-producer FIFO is checked on the engine thread by the
 * built-in {@code order} op (it fails a call that runs out of its producer's order), and every {@code add}
 * result is checked by its caller. The run is recorded with JFR and must show no pinned virtual thread.
 */
class StressTest {
    static final int SCALE = Integer.getInteger("ferry.stress.scale", 1);

    @Test
    void millionCallsFromPlatformAndVirtualThreadsKeepOrderAndNeverPin() throws Exception {
        int platform = 8, virtual = 1_000;
        int perPlatform = 62_500 * SCALE, perVirtual = 500 * SCALE;
        long expectedCalls = (long) platform * perPlatform + (long) virtual * perVirtual;
        assertTrue(expectedCalls >= 1_000_000);

        Path jfr = Files.createTempFile("ferry-stress", ".jfr");
        try (Recording recording = new Recording();
                Engine engine = TestEngines.builder().name("stress").start()) {
            recording.enable("jdk.VirtualThreadPinned").withThreshold(Duration.ZERO).withStackTrace();
            recording.start();

            LongOp order = engine.longOp("order");
            LongOp add = engine.longOp("add");
            AtomicLong calls = new AtomicLong();
            ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> threads = new ArrayList<>();
            for (int p = 0; p < platform + virtual; p++) {
                int producer = p;
                int n = p < platform ? perPlatform : perVirtual;
                Runnable body = () -> {
                    try {
                        start.await();
                        long sum = 0;
                        for (int i = 1; i <= n; i++) {
                            // Alternate: an order check, then an add whose result we verify here.
                            if ((i & 1) == 1) {
                                assertEquals((i + 1) / 2, order.call(producer, (i + 1) / 2));
                            } else {
                                long r = add.call(producer, i);
                                assertEquals(producer + i, r);
                                sum += r;
                            }
                        }
                        calls.addAndGet(n);
                        assertTrue(sum > 0);
                    } catch (Throwable t) {
                        failures.add(t);
                    }
                };
                threads.add(p < platform
                        ? Thread.ofPlatform().name("producer-" + p).unstarted(body)
                        : Thread.ofVirtual().name("vproducer-" + p).unstarted(body));
            }
            threads.forEach(Thread::start);
            start.countDown();
            for (Thread t : threads) {
                t.join(Duration.ofMinutes(3));
                assertTrue(!t.isAlive(), t.getName() + " did not finish in 3 minutes");
            }
            if (!failures.isEmpty()) {
                AssertionError e = new AssertionError(failures.size() + " producers failed; first: " + failures.peek());
                failures.forEach(e::addSuppressed);
                throw e;
            }
            assertEquals(expectedCalls, calls.get());

            recording.stop();
            recording.dump(jfr);
            List<RecordedEvent> pinned = RecordingFile.readAllEvents(jfr).stream()
                    .filter(e -> e.getEventType().getName().equals("jdk.VirtualThreadPinned")).toList();
            assertEquals(List.of(), pinned, "virtual threads pinned their carrier");
        } finally {
            Files.deleteIfExists(jfr);
        }
    }
}
