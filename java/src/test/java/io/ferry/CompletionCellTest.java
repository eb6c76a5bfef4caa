package io.ferry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Completion cells (ferry.h, "Completion cell"): the engine frees a call's slot when it takes the call and
 * writes the outcome into the caller's own cell, so a call whose outcome nobody has read yet holds no
 * slot, and the engine thread decodes and allocates nothing for a parked caller.
 */
class CompletionCellTest {

    /**
     * On a one-slot ring, a call is accepted while another runs: the engine freed the running call's slot
     * when it took it. With the fused design the running call held the only slot until its caller read
     * the result, and the tryCall was rejected.
     */
    @Test
    void aRunningCallHoldsNoSlot() throws Exception {
        try (Engine engine = TestEngines.builder().name("one-slot").capacity(1).start()) {
            LongOp spin = engine.longOp("spin");
            LongOp add = engine.longOp("add");
            CompletableFuture<Long> running = spin.callAsync(TimeUnit.MILLISECONDS.toNanos(300), 0);
            Thread.sleep(50); // the engine takes a call within microseconds; the spin runs 300 ms
            assertTrue(!running.isDone(), "the 300 ms spin ended early");
            assertEquals(3, add.tryCall(1, 2, -1), "rejected: the running call held the only slot");
            assertTrue(running.get(10, TimeUnit.SECONDS) >= TimeUnit.MILLISECONDS.toNanos(300));
        }
    }

    /**
     * Fifty async calls on a two-slot ring whose completion executor never runs: every call is DONE and
     * its outcome stays unread in its own cell, holding no slot.
     */
    @Test
    void outcomesNobodyHasReadHoldNoSlot() throws Exception {
        ConcurrentLinkedQueue<Runnable> never = new ConcurrentLinkedQueue<>();
        Executor parked = never::add;
        try (Engine engine = TestEngines.builder().name("unread").capacity(2).completionExecutor(parked).start()) {
            LongOp add = engine.longOp("add");
            List<CompletableFuture<Long>> unread = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                unread.add(add.callAsync(i, 1));
            }
            assertEquals(7, add.call(3, 4), "a sync call behind 50 unread outcomes");
            assertEquals(11, add.tryCall(5, 6, -1), "the ring was full of unread outcomes");
            for (int i = 0; i < 50; i++) {
                assertEquals(i + 1, unread.get(i).join(), "unread call " + i); // the joiner takes it itself
            }
        }
    }

    /**
     * 2,000 calls returning 1 KB each, every caller parked at once (LOWEST_CPU): the engine's wake upcall
     * only unparks the caller, which copies its bytes out of its own cell. Before cells the upcall decoded
     * each parked call's result on the engine thread (a 1 KB array per call: 2 MB here).
     */
    @Test
    void theEngineThreadAllocatesNothingToWakeAParkedCaller() throws Exception {
        try (Engine engine = TestEngines.builder().name("cells-engine-alloc").waitPolicy(WaitPolicy.LOWEST_CPU).start()) {
            BytesOp echo = engine.bytesOp("echo_bytes");
            byte[] kb = new byte[1024];
            for (int i = 0; i < kb.length; i++) {
                kb[i] = (byte) i;
            }
            for (int i = 0; i < 200; i++) {
                echo.call(kb); // warm up, and let the engine thread's upcall path settle
            }
            Thread engineThread = Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> t.getName().equals("cells-engine-alloc")).findFirst().orElseThrow();
            com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
            long before = mx.getThreadAllocatedBytes(engineThread.threadId());
            for (int i = 0; i < 2_000; i++) {
                assertArrayEquals(kb, echo.call(kb));
            }
            long allocated = mx.getThreadAllocatedBytes(engineThread.threadId()) - before;
            assertTrue(before >= 0 && allocated < 256 * 1024,
                    "the engine thread allocated " + allocated + " bytes for 2,000 parked 1 KB calls");
        }
    }
}
