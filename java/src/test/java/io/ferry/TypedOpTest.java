package io.ferry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Op handles: the shape is checked once at lookup, and every verb of every shape works. */
class TypedOpTest {
    private static final byte[] HELLO = "hello".getBytes(StandardCharsets.UTF_8);
    private static final long FNV_HELLO = 0xa430d84680aabd0bL;
    /** FERRY_E_DENIED: the op is not permitted in the call's context. */
    private static final int DENIED = -11;

    Engine engine;
    ExecutionContext sys;
    LongOp add;
    DoubleOp addF64;
    BytesOp echoBytes;
    TextOp echoString;
    BytesToLongOp checksum;

    @BeforeEach
    void start() {
        engine = TestEngines.builder().name("typed").capacity(4).start();
        sys = engine.systemContext();
        add = engine.longOp("add");
        addF64 = engine.doubleOp("add_f64");
        echoBytes = engine.bytesOp("echo_bytes");
        echoString = engine.textOp("echo_string");
        checksum = engine.bytesToLongOp("checksum");
    }

    @AfterEach
    void stop() {
        engine.close();
    }

    @Test
    void lookupReturnsTheHandleOfTheOpsShape() {
        assertSame(add, engine.op("add"), "one handle per op");
        assertInstanceOf(LongOp.class, engine.op("noop"));
        assertInstanceOf(DoubleOp.class, engine.op("add_f64"));
        assertInstanceOf(BytesOp.class, engine.op("echo_bytes"));
        assertInstanceOf(TextOp.class, engine.op("echo_string"));
        assertInstanceOf(BytesToLongOp.class, engine.op("checksum"));
        assertInstanceOf(BytesToLongOp.class, engine.op("fail"), "IN_BYTES | TEXT: text in, a 64-bit result");
        assertTrue(echoString.has(Op.TEXT) && echoString.has(Op.IN_BYTES | Op.OUT_BYTES));
        assertEquals("echo_bytes", echoBytes.name());
        assertTrue(echoBytes.toString().startsWith("BytesOp[echo_bytes"), echoBytes.toString());
    }

    @Test
    void aShapeMismatchAtLookupNamesTheOpItsShapeAndTheAskedOne() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> engine.longOp("echo_bytes"));
        assertTrue(e.getMessage().contains("'echo_bytes'") && e.getMessage().contains("is a BytesOp")
                && e.getMessage().contains("not a LongOp") && e.getMessage().contains("bytesOp(\"echo_bytes\")"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> engine.doubleOp("add"));
        assertTrue(e.getMessage().contains("is a LongOp") && e.getMessage().contains("not a DoubleOp"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> engine.bytesOp("echo_string"));
        assertTrue(e.getMessage().contains("is a TextOp") && e.getMessage().contains("not a BytesOp"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> engine.textOp("checksum"));
        assertTrue(e.getMessage().contains("is a BytesToLongOp") && e.getMessage().contains("not a TextOp"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> engine.bytesToLongOp("add_f64"));
        assertTrue(e.getMessage().contains("is a DoubleOp") && e.getMessage().contains("not a BytesToLongOp"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> engine.longOp("no_such_op"));
        assertTrue(e.getMessage().contains("unknown op") && e.getMessage().contains("no_such_op"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> engine.bytesOp("echo\0bytes"));
        assertTrue(e.getMessage().contains("NUL"), e.getMessage());
    }

    @Test
    void everySyncVerbOfEveryShapeReturnsItsResult() throws Exception {
        Duration t = Duration.ofSeconds(10);
        assertEquals(0, engine.longOp("noop").call());
        assertEquals(42, engine.longOp("echo").call(42));
        assertEquals(42, engine.longOp("echo").call(sys, 42));
        assertEquals(0, engine.longOp("noop").call(sys));
        assertEquals(5, add.call(2, 3));
        assertEquals(5, add.call(sys, 2, 3));
        assertEquals(5, add.call(2, 3, t));
        assertEquals(5, add.call(sys, 2, 3, t));
        assertEquals(3.75, addF64.call(1.5, 2.25));
        assertEquals(3.75, addF64.call(sys, 1.5, 2.25));
        assertEquals(3.75, addF64.call(1.5, 2.25, t));
        assertEquals(3.75, addF64.call(sys, 1.5, 2.25, t));
        assertArrayEquals(HELLO, echoBytes.call(HELLO));
        assertArrayEquals(HELLO, echoBytes.call(sys, HELLO));
        assertArrayEquals(HELLO, echoBytes.call(HELLO, t));
        assertArrayEquals(HELLO, echoBytes.call(sys, HELLO, t));
        assertEquals("ferry ⛴", echoString.call("ferry ⛴"));
        assertEquals("ferry ⛴", echoString.call(sys, "ferry ⛴"));
        assertEquals("ferry ⛴", echoString.call("ferry ⛴", t));
        assertEquals("ferry ⛴", echoString.call(sys, "ferry ⛴", t));
        assertEquals(FNV_HELLO, checksum.call(0, HELLO));
        assertEquals(FNV_HELLO, checksum.call(sys, 0, HELLO));
        assertEquals(FNV_HELLO, checksum.call(0, HELLO, t));
        assertEquals(FNV_HELLO, checksum.call(sys, 0, HELLO, t));
        // tryCall on a ring with free slots calls the op.
        assertEquals(5, add.tryCall(2, 3, -1));
        assertEquals(5, add.tryCall(sys, 2, 3, -1));
        assertEquals(3.75, addF64.tryCall(1.5, 2.25, Double.NaN));
        assertEquals(3.75, addF64.tryCall(sys, 1.5, 2.25, Double.NaN));
        assertArrayEquals(HELLO, echoBytes.tryCall(HELLO, null));
        assertArrayEquals(HELLO, echoBytes.tryCall(sys, HELLO, null));
        assertEquals("ferry", echoString.tryCall("ferry", null));
        assertEquals("ferry", echoString.tryCall(sys, "ferry", null));
        assertEquals(FNV_HELLO, checksum.tryCall(0, HELLO, -1));
        assertEquals(FNV_HELLO, checksum.tryCall(sys, 0, HELLO, -1));
        long[] sums = new long[3];
        add.callBatch(new long[] {1, 2, 3}, new long[] {10, 20, 30}, sums);
        assertArrayEquals(new long[] {11, 22, 33}, sums);
        add.callBatch(sys, new long[] {1, 2, 3}, null, sums);
        assertArrayEquals(new long[] {1, 2, 3}, sums);
    }

    @Test
    void everyAsyncVerbOfEveryShapeCompletesWithItsResult() throws Exception {
        assertEquals(5L, add.callAsync(2, 3).get(10, TimeUnit.SECONDS));
        assertEquals(5L, add.callAsync(sys, 2, 3).get(10, TimeUnit.SECONDS));
        assertEquals(3.75, addF64.callAsync(1.5, 2.25).get(10, TimeUnit.SECONDS));
        assertEquals(3.75, addF64.callAsync(sys, 1.5, 2.25).get(10, TimeUnit.SECONDS));
        assertArrayEquals(HELLO, echoBytes.callAsync(HELLO).get(10, TimeUnit.SECONDS));
        assertArrayEquals(HELLO, echoBytes.callAsync(sys, HELLO).get(10, TimeUnit.SECONDS));
        assertEquals("ferry", echoString.callAsync("ferry").get(10, TimeUnit.SECONDS));
        assertEquals("ferry", echoString.callAsync(sys, "ferry").get(10, TimeUnit.SECONDS));
        assertEquals(FNV_HELLO, checksum.callAsync(0, HELLO).get(10, TimeUnit.SECONDS));
        assertEquals(FNV_HELLO, checksum.callAsync(sys, 0, HELLO).get(10, TimeUnit.SECONDS));
    }

    /** Every verb that names a context runs the call in it: a context allowed only {@code noop} refuses the rest. */
    @Test
    void everyVerbWithAContextCarriesIt() throws Exception {
        try (ExecutionContext onlyNoop = sys.child().name("only-noop").allowOps(engine.longOp("noop")).create()) {
            Duration t = Duration.ofSeconds(10);
            List<Executable> calls = List.of(
                    () -> add.call(onlyNoop, 1, 2), () -> add.call(onlyNoop, 1, 2, t),
                    () -> add.tryCall(onlyNoop, 1, 2, -1), () -> add.callAsync(onlyNoop, 1, 2).join(),
                    () -> add.callBatch(onlyNoop, new long[1], null, new long[1]),
                    () -> addF64.call(onlyNoop, 1, 2), () -> addF64.call(onlyNoop, 1, 2, t),
                    () -> addF64.tryCall(onlyNoop, 1, 2, 0), () -> addF64.callAsync(onlyNoop, 1, 2).join(),
                    () -> echoBytes.call(onlyNoop, HELLO), () -> echoBytes.call(onlyNoop, HELLO, t),
                    () -> echoBytes.tryCall(onlyNoop, HELLO, null), () -> echoBytes.callAsync(onlyNoop, HELLO).join(),
                    () -> echoString.call(onlyNoop, "x"), () -> echoString.call(onlyNoop, "x", t),
                    () -> echoString.tryCall(onlyNoop, "x", null), () -> echoString.callAsync(onlyNoop, "x").join(),
                    () -> checksum.call(onlyNoop, 0, HELLO), () -> checksum.call(onlyNoop, 0, HELLO, t),
                    () -> checksum.tryCall(onlyNoop, 0, HELLO, 0), () -> checksum.callAsync(onlyNoop, 0, HELLO).join());
            for (int i = 0; i < calls.size(); i++) {
                Throwable e = assertThrows(Throwable.class, calls.get(i), "call " + i);
                Throwable cause = e instanceof java.util.concurrent.CompletionException ? e.getCause() : e;
                CallFailedException failed = assertInstanceOf(CallFailedException.class, cause, "call " + i);
                assertEquals(DENIED, failed.code(), "call " + i + ": " + failed.getMessage());
            }
            assertEquals(0, engine.longOp("noop").call(onlyNoop));
            // The current context is the innermost one open on this thread.
            try (var scope = onlyNoop.open()) {
                assertEquals(DENIED, assertThrows(CallFailedException.class, () -> add.call(1, 2)).code());
                assertEquals(DENIED, assertThrows(CallFailedException.class, () -> echoString.call("x")).code());
            }
            assertEquals(3, add.call(1, 2), "the systemic context again once the scope closed");
        }
        ExecutionContext closed = sys.child().create();
        closed.close();
        assertThrows(IllegalStateException.class, () -> add.call(closed, 1, 2));
        try (Engine other = TestEngines.builder().name("other").start()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> echoBytes.call(other.systemContext(), HELLO));
            assertTrue(e.getMessage().contains("belongs to engine 'other'"), e.getMessage());
        }
    }

    /**
     * Fills the 4-slot ring with calls the engine is busy with: one running (the engine freed its slot when
     * it took it) and four queued behind it. The caller cancels them.
     */
    private List<CompletableFuture<Long>> fillRing() {
        LongOp spin = engine.longOp("spin");
        List<CompletableFuture<Long>> busy = new ArrayList<>();
        for (int i = 0; i <= engine.capacity(); i++) {
            busy.add(spin.callAsync(5_000_000_000L, 0)); // spin honours cancellation
        }
        return busy;
    }

    private void drain(List<CompletableFuture<Long>> busy) throws TimeoutException {
        busy.forEach(f -> f.cancel(false));
        // The engine runs calls in order: once this one is done, every cancelled one has been skipped.
        assertEquals(3, add.call(1, 2, Duration.ofSeconds(10)));
    }

    @Test
    void tryCallOnAFullRingReturnsTheFallbackAndSendsNothing() throws Exception {
        List<CompletableFuture<Long>> busy = fillRing();
        try {
            assertEquals(-7, add.tryCall(1, 2, -7));
            assertEquals(-7, add.tryCall(sys, 1, 2, -7));
            assertTrue(Double.isNaN(addF64.tryCall(1, 2, Double.NaN)));
            assertEquals(-0.5, addF64.tryCall(sys, 1, 2, -0.5));
            assertNull(echoBytes.tryCall(HELLO, null));
            byte[] fallback = new byte[0];
            assertSame(fallback, echoBytes.tryCall(sys, HELLO, fallback));
            assertNull(echoString.tryCall("x", null));
            assertEquals("full", echoString.tryCall(sys, "x", "full"));
            assertEquals(-7, checksum.tryCall(0, HELLO, -7));
            assertEquals(-7, checksum.tryCall(sys, 0, HELLO, -7));
        } finally {
            drain(busy);
        }
        assertArrayEquals(HELLO, echoBytes.tryCall(HELLO, null), "accepted again once slots are free");
        assertEquals(FNV_HELLO, checksum.tryCall(0, HELLO, -7));
    }

    @Test
    void aTimedCallOfEveryShapeGivesUpAtItsTimeout() throws Exception {
        // 16 slots: every timed call below gets one, and times out waiting for its result.
        try (Engine roomy = TestEngines.builder().name("timeouts").capacity(16).start()) {
            LongOp add16 = roomy.longOp("add");
            DoubleOp addF6416 = roomy.doubleOp("add_f64");
            BytesOp echoBytes16 = roomy.bytesOp("echo_bytes");
            TextOp echoString16 = roomy.textOp("echo_string");
            BytesToLongOp checksum16 = roomy.bytesToLongOp("checksum");
            ExecutionContext ctx = roomy.systemContext();
            CompletableFuture<Long> busy = roomy.longOp("spin").callAsync(5_000_000_000L, 0);
            Duration t = Duration.ofMillis(30);
            List<Executable> timed = List.of(
                    () -> add16.call(1, 2, t), () -> add16.call(ctx, 1, 2, t),
                    () -> addF6416.call(1, 2, t), () -> addF6416.call(ctx, 1, 2, t),
                    () -> echoBytes16.call(HELLO, t), () -> echoBytes16.call(ctx, HELLO, t),
                    () -> echoString16.call("x", t), () -> echoString16.call(ctx, "x", t),
                    () -> checksum16.call(0, HELLO, t), () -> checksum16.call(ctx, 0, HELLO, t));
            try {
                for (int i = 0; i < timed.size(); i++) {
                    TimeoutException e = assertThrows(TimeoutException.class, timed.get(i), "call " + i);
                    assertTrue(e.getMessage().contains("timed out; the engine will skip it"), e.getMessage());
                }
            } finally {
                busy.cancel(false);
            }
            assertEquals("x", echoString16.call("x", Duration.ofSeconds(10)), "the engine serves calls again");
            assertEquals(3, add16.call(1, 2), "and skipped the given-up calls: their slots are free again");
        }
    }
}
