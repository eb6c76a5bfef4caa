package io.ferry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.child.Proc;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * An interrupted caller gives its call up, as a timeout does, and throws CallInterruptedException with
 * its interrupt status kept; it never busy-waits (park returns at once while the status is set).
 */
class InterruptTest {
    /** The op runs this long unless its caller gives it up. */
    static final long LONG_OP_NS = TimeUnit.SECONDS.toNanos(2);
    /** Far below LONG_OP_NS: a caller that spun through the op would have used about LONG_OP_NS of CPU. */
    static final long MAX_CALLER_CPU_NS = TimeUnit.MILLISECONDS.toNanos(300);

    Engine engine;

    @BeforeEach
    void start() {
        engine = TestEngines.builder().name("interrupts").start();
    }

    @AfterEach
    void stop() {
        engine.close();
    }

    /** Runs call on a new platform thread; returns its outcome and the CPU time that thread used. */
    private Outcome onCaller(boolean interruptFirst, long interruptAfterMs) throws Exception {
        AtomicReference<Object> result = new AtomicReference<>();
        AtomicLong cpu = new AtomicLong();
        AtomicReference<Boolean> stillInterrupted = new AtomicReference<>();
        Thread caller = Thread.ofPlatform().start(() -> {
            long cpu0 = cpuNow();
            if (interruptFirst) {
                Thread.currentThread().interrupt();
            }
            try {
                result.set(engine.longOp("spin").call(LONG_OP_NS));
            } catch (Throwable t) {
                result.set(t);
            }
            stillInterrupted.set(Thread.currentThread().isInterrupted());
            cpu.set(cpuNow() - cpu0);
        });
        if (interruptAfterMs >= 0) {
            Thread.sleep(interruptAfterMs);
            caller.interrupt();
        }
        caller.join();
        return new Outcome(result.get(), cpu.get(), stillInterrupted.get());
    }

    private static long cpuNow() {
        try {
            return Proc.cpuNanosOfThisThread();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    record Outcome(Object result, long cpuNs, boolean stillInterrupted) {
    }

    private void assertGivenUp(Outcome o) {
        assertTrue(o.result() instanceof CallInterruptedException, () -> "the call ended with " + o.result());
        assertTrue(o.stillInterrupted(), "the interrupt status is kept");
        assertTrue(o.cpuNs() < MAX_CALLER_CPU_NS, () -> "the interrupted caller used " + o.cpuNs() / 1_000_000
                + " ms of CPU while a " + LONG_OP_NS / 1_000_000 + " ms op ran: it busy-waited");
        // spin stops once its caller left, so the engine is free again long before the op's 2 s.
        long t0 = System.nanoTime();
        assertEquals(7, engine.longOp("add").call(3, 4));
        assertTrue(System.nanoTime() - t0 < LONG_OP_NS / 2, "the given-up op stopped early");
    }

    @Test
    void aCallerInterruptedBeforeItCallsGivesTheCallUpAtOnce() throws Exception {
        assertGivenUp(onCaller(true, -1));
    }

    @Test
    void aCallerInterruptedWhileItWaitsGivesTheCallUp() throws Exception {
        assertGivenUp(onCaller(false, 100));
    }

    /**
     * A caller interrupted while it spins stops spinning at once, whatever its budget: with a 10 s spin
     * budget it would otherwise spin through the whole 2 s op and return its result.
     */
    @Test
    void aCallerInterruptedWhileItSpinsStopsSpinning() throws Exception {
        try (Engine spinning = TestEngines.builder().name("interrupt-spin")
                .waitPolicy(new WaitPolicy.Spin(Duration.ofSeconds(10), Duration.ofSeconds(10))).start()) {
            LongOp spin = spinning.longOp("spin");
            spin.call(0); // the engine is awake (it spins 10 s when idle): the caller spins, it does not park
            AtomicReference<Object> result = new AtomicReference<>();
            Thread caller = Thread.ofPlatform().start(() -> {
                try {
                    result.set(spin.call(LONG_OP_NS));
                } catch (Throwable t) {
                    result.set(t);
                }
            });
            Thread.sleep(100);
            long t0 = System.nanoTime();
            caller.interrupt();
            caller.join();
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(result.get() instanceof CallInterruptedException, () -> "the call ended with " + result.get());
            assertTrue(ms < LONG_OP_NS / 2_000_000, () -> "the spinning caller took " + ms + " ms to give up");
        }
    }

    /**
     * A caller interrupted while it waits for a free slot it has claimed does not spin for it: with a 10 s
     * spin budget it would otherwise spin until the slot frees (about 2 s here). It finishes the claim once
     * the slot frees, then gives the call up unless it is done by then.
     */
    @Test
    void aCallerInterruptedWhileItWaitsForASlotDoesNotSpin() throws Exception {
        try (Engine tiny = TestEngines.builder().name("interrupt-slot").capacity(1)
                .waitPolicy(new WaitPolicy.Spin(Duration.ofSeconds(10), Duration.ofSeconds(10))).start()) {
            LongOp spin = tiny.longOp("spin");
            var running = spin.callAsync(LONG_OP_NS, 0);
            Thread.sleep(50); // the engine took it: its slot is free again
            var queued = spin.callAsync(1_000, 0); // holds the one slot until the 2 s spin ends
            AtomicReference<Object> result = new AtomicReference<>();
            AtomicLong cpu = new AtomicLong();
            Thread caller = Thread.ofPlatform().start(() -> {
                long cpu0 = cpuNow();
                Thread.currentThread().interrupt();
                try {
                    result.set(tiny.longOp("add").call(3, 4));
                } catch (Throwable t) {
                    result.set(t);
                }
                cpu.set(cpuNow() - cpu0);
            });
            caller.join();
            // Given up, or DONE already when the interrupt was seen (the add runs as soon as it is published).
            assertTrue(result.get() instanceof CallInterruptedException || Long.valueOf(7).equals(result.get()),
                    () -> "the call ended with " + result.get());
            assertTrue(cpu.get() < MAX_CALLER_CPU_NS, () -> "the interrupted caller used " + cpu.get() / 1_000_000
                    + " ms of CPU waiting for a slot: it spun");
            running.join();
            queued.join();
        }
    }

    @Test
    void aVirtualThreadInterruptedWhileItWaitsGivesTheCallUp() throws Exception {
        AtomicReference<Object> result = new AtomicReference<>();
        Thread caller = Thread.ofVirtual().start(() -> {
            try {
                result.set(engine.longOp("spin").call(LONG_OP_NS));
            } catch (Throwable t) {
                result.set(t);
            }
        });
        Thread.sleep(100);
        long t0 = System.nanoTime();
        caller.interrupt();
        caller.join();
        assertTrue(result.get() instanceof CallInterruptedException, () -> "the call ended with " + result.get());
        assertTrue(System.nanoTime() - t0 < LONG_OP_NS / 2, "the virtual thread gave up when interrupted");
    }
}
