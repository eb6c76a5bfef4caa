package io.ferry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/**
 * Producers waiting for a slot on a full ring: timed and untimed calls take their turns, and every free
 * of a slot, by a caller or by the engine itself, wakes the producer waiting for it. The wake tests start
 * their engine with the test-only {@code ferry.test.backPressurePollNs} set to an hour: a waiter that
 * depended on its poll would wait that long, and the test fails at its deadline instead.
 */
class BackPressureTest {
    private static final String POLL = "ferry.test.backPressurePollNs";

    /** An engine whose queued producers re-check their slot once an hour only. */
    private static Engine hourPollEngine(String name, int capacity) {
        System.setProperty(POLL, String.valueOf(TimeUnit.HOURS.toNanos(1)));
        try {
            return TestEngines.builder().name(name).capacity(capacity).start();
        } finally {
            System.clearProperty(POLL);
        }
    }

    /** Waits (10 s at most) until t is parked in the back-pressure queue. */
    private static void awaitQueuedForASlot(Thread t) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            Object blocker = LockSupport.getBlocker(t);
            if (t.getState() == Thread.State.TIMED_WAITING && blocker != null
                    && blocker.getClass().getSimpleName().equals("BackPressure")) {
                return;
            }
            Thread.sleep(1);
        }
        throw new AssertionError(t + " did not queue for a slot: " + t.getState());
    }

    /**
     * Defect 8: on a one-slot ring, a producer queues for sequence 3 while the slot still serves sequence
     * 1 (queued behind sequence 0, which runs: the engine freed its slot when it took it), and sequence 2
     * is claimed but not yet published, so the producer can only ask for a wake on the free state that
     * sequence 2's publish replaces. Sequence 1 is then given up (cancelled), the engine skips it and
     * frees its slot, sequence 2 runs and is freed: those frees must wake the producer.
     */
    @Test
    void aProducerQueuedBehindAGivenUpCallIsWokenByTheEnginesFreeNotItsPoll() throws Exception {
        try (Engine engine = hourPollEngine("free-wake", 1)) {
            LongOp spin = engine.longOp("spin");
            LongOp add = engine.longOp("add");
            CompletableFuture<Long> first = spin.callAsync(TimeUnit.MILLISECONDS.toNanos(300), 0); // seq 0
            awaitStarted(engine, first);
            CompletableFuture<Long> second = spin.callAsync(TimeUnit.SECONDS.toNanos(60), 0); // seq 1, queued
            AtomicReference<Object> third = new AtomicReference<>();
            Thread caller = Thread.ofPlatform().start(() -> {
                try {
                    third.set(add.call(1, 2)); // seq 2
                } catch (Throwable t) {
                    third.set(t);
                }
            });
            awaitQueuedForASlot(caller);
            assertTrue(second.cancel(true), "the 60 s call was already done");
            first.get(10, TimeUnit.SECONDS);
            caller.join(TimeUnit.SECONDS.toMillis(10));
            assertEquals(3L, third.get(), "the producer queued for the given-up call's slot was not woken");
        }
    }

    /** Waits until the engine has taken the call (its slot then serves the next lap). */
    private static void awaitStarted(Engine engine, CompletableFuture<Long> call) throws InterruptedException {
        Thread.sleep(50); // the engine takes a call within microseconds of its publish; 300 ms is its run
        assertTrue(!call.isDone(), "the 300 ms call ended early");
    }

    /**
     * Many producers on a two-slot ring, some of whose calls time out (the engine frees those slots
     * itself): every call ends although a queued producer re-checks its slot only once an hour.
     */
    @Test
    void everyFreeWakesItsWaiterWithoutThePoll() throws Exception {
        try (Engine engine = hourPollEngine("free-wake-stress", 2)) {
            LongOp spin = engine.longOp("spin");
            LongOp add = engine.longOp("add");
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Thread> producers = new ArrayList<>();
            for (int p = 0; p < 6; p++) {
                long base = (long) p << 32;
                boolean timed = p < 2;
                producers.add(Thread.ofPlatform().start(() -> {
                    try {
                        for (int i = 0; i < 2_000; i++) {
                            if (timed) {
                                try {
                                    spin.call(200_000, 0, Duration.ofNanos(50_000)); // mostly given up
                                } catch (TimeoutException expected) {
                                    // the engine frees the slot of a call given up
                                }
                            } else if (add.call(base + i, 1) != base + i + 1) {
                                throw new AssertionError("call " + i);
                            }
                        }
                    } catch (Throwable t) {
                        failure.compareAndSet(null, t);
                    }
                }));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            for (Thread t : producers) {
                t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
                assertTrue(!t.isAlive(), () -> t + " still waits: a free did not wake it (" + t.getState() + ")");
            }
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
        }
    }

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
