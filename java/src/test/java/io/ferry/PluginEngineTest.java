package io.ferry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.LongUnaryOperator;
import org.junit.jupiter.api.Test;

/** A user's own engine (native/example/example_engine.c) loaded with Builder.library(path, initSymbol). */
class PluginEngineTest {
    private static final Path EXAMPLE = Path.of(System.getProperty("ferry.test.example"));
    /** What an upcall target returns when it caught something: Java exceptions must not escape an upcall. */
    private static final long SENTINEL = -7_777L;

    private static Engine startExample() {
        assertTrue(Files.isReadable(EXAMPLE), "the example engine is not built: " + EXAMPLE + " (run make native)");
        return Engine.builder().name("example").closeTimeout(Duration.ofSeconds(3))
                .library(EXAMPLE, "example_engine_init").start();
    }

    @Test
    void pluginOpsWorkAndAreTheEnginesOnlyOps() throws Exception {
        try (Engine engine = startExample()) {
            TextOp greet = engine.textOp("example.greet");
            LongOp tally = engine.longOp("example.tally");
            LongOp mul = engine.longOp("example.mul");
            assertTrue(greet.has(Op.IN_BYTES | Op.OUT_BYTES | Op.TEXT), greet::toString);
            assertTrue(tally.has(Op.MUTATES), tally::toString);

            assertEquals("hello, world", greet.call("world"));
            assertEquals("hello, ", greet.call(""));
            assertEquals("hello, wörld", greet.callAsync("wörld").get(5, TimeUnit.SECONDS));
            // The tally is engine state, kept on the engine thread across calls.
            assertEquals(5, tally.call(5));
            assertEquals(12, tally.call(7));
            assertEquals(10, tally.call(-2));
            assertEquals(42, mul.call(6, 7));
            assertEquals(-12, mul.call(-3, 4));
            assertEquals(0, mul.call(Long.MIN_VALUE, 2), "wraps like unsigned 64-bit arithmetic");

            // The plug-in's ops and Ferry's own are all the engine has: Ferry adds no test op to it.
            for (String name : TestEngines.OPS) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> engine.op(name),
                        "the example engine has the test op " + name);
                assertTrue(e.getMessage().contains("unknown op"), e::getMessage);
            }
            assertEquals(15, tally.call(5));
        }
    }

    @Test
    void pluginOpsBelongOnlyToTheEngineThatLoadedTheLibrary() throws Exception {
        try (Engine plain = Engine.builder().start(); Engine testOps = TestEngines.builder().start();
                Engine example = startExample()) {
            for (Engine other : new Engine[] {plain, testOps}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> other.op("example.mul"));
                assertTrue(e.getMessage().contains("example.mul"), e.getMessage());
            }
            // Two plug-ins in one process, each engine with its own ops.
            assertEquals(5, testOps.longOp("add").call(2, 3));
            assertEquals(6, example.longOp("example.mul").call(2, 3));
            assertThrows(IllegalArgumentException.class, () -> example.op("add"));
        }
    }

    @Test
    void anUnknownInitSymbolFailsStartWithAnExceptionNamingTheSymbol() {
        EngineStartException e = assertThrows(EngineStartException.class,
                () -> Engine.builder().library(EXAMPLE, "no_such_engine_init").start());
        System.out.println(e.getMessage());
        assertTrue(e.getMessage().contains("no_such_engine_init"), e.getMessage());
        assertTrue(e.getMessage().contains(EXAMPLE.toAbsolutePath().toString()), e.getMessage());
        assertEquals(-4, e.code(), "FERRY_E_LOAD: " + e.getMessage());
    }

    @Test
    void aFailingInitFailsStartWithItsCodeAndMessage() {
        EngineStartException e = assertThrows(EngineStartException.class,
                () -> Engine.builder().library(EXAMPLE, "example_engine_init_failing").start());
        System.out.println(e.getMessage());
        assertTrue(e.getMessage().contains("example engine refuses to start: configured to fail"), e.getMessage());
        assertEquals(42, e.code(), "the code example_engine_init_failing returned; message: " + e.getMessage());
    }

    @Test
    void aMissingLibraryFailsStartWithAMessageNamingThePath() {
        Path missing = EXAMPLE.resolveSibling("no-such-dir").resolve("libferry_missing.so");
        EngineStartException e = assertThrows(EngineStartException.class,
                () -> Engine.builder().library(missing, "example_engine_init").start());
        System.out.println(e.getMessage());
        assertTrue(e.getMessage().contains(missing.toAbsolutePath().toString()), e.getMessage());
        assertEquals(-4, e.code(), "FERRY_E_LOAD: " + e.getMessage());
    }

    @Test
    void anEngineStartsFineAfterFailedStarts() throws Exception {
        assertThrows(EngineStartException.class, () -> Engine.builder().library(EXAMPLE, "no_such_engine_init").start());
        assertThrows(EngineStartException.class,
                () -> Engine.builder().library(EXAMPLE, "example_engine_init_failing").start());
        try (Engine engine = startExample()) {
            assertEquals(42, engine.longOp("example.mul").call(6, 7));
            assertEquals(1, engine.longOp("example.tally").call(1), "a fresh engine has a fresh tally");
        }
    }

    /** Records what happened inside an upcall; the target never throws. */
    static final class Recorder {
        volatile boolean ran;
        volatile boolean onEngineThread;
        volatile Throwable fromCall;
        volatile Throwable fromTryCall;
        volatile Throwable fromCallAsync;
        volatile Throwable unexpected;
        volatile long callNanos = -1;
        volatile long syncResult = Long.MIN_VALUE;
        private final Engine engine;
        private final LongOp mul;

        Recorder(Engine engine, LongOp mul) {
            this.engine = engine;
            this.mul = mul;
        }

        /** The upcall target: tries to call the engine from its own thread. */
        long reenter(long x) {
            try {
                ran = true;
                onEngineThread = engine.isEngineThread();
                long t0 = System.nanoTime();
                try {
                    syncResult = mul.call(1, 2);
                } catch (Throwable t) {
                    fromCall = t;
                }
                callNanos = System.nanoTime() - t0;
                try {
                    mul.tryCall(1, 2, -1);
                } catch (Throwable t) {
                    fromTryCall = t;
                }
                try {
                    mul.callAsync(1, 2);
                } catch (Throwable t) {
                    fromCallAsync = t;
                }
                return SENTINEL;
            } catch (Throwable t) {
                unexpected = t;
                return SENTINEL;
            }
        }
    }

    @SuppressWarnings("restricted")
    private static MemorySegment upcall(MethodHandle target, Arena arena) {
        return Linker.nativeLinker().upcallStub(target, FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG),
                arena);
    }

    @Test
    void aCallFromInsideAnUpcallOnTheEngineThreadFailsFastAndTheEngineKeepsWorking() throws Exception {
        try (Engine engine = startExample(); Arena arena = Arena.ofShared()) {
            LongOp mul = engine.longOp("example.mul");
            LongOp callback = engine.longOp("example.callback");
            Recorder rec = new Recorder(engine, mul);
            MethodHandle reenter = MethodHandles.lookup().findVirtual(Recorder.class, "reenter",
                    MethodType.methodType(long.class, long.class)).bindTo(rec);
            MemorySegment stub = upcall(reenter, arena);

            assertFalse(engine.isEngineThread(), "the test thread is not the engine thread");
            // Timed, so that a re-entrant call that deadlocks the engine fails this test instead of hanging it.
            long r = callback.call(stub.address(), 9, Duration.ofSeconds(5));

            assertEquals(SENTINEL, r, "the callback's result comes back through example.callback");
            assertTrue(rec.ran, "the upcall ran");
            assertNull(rec.unexpected, () -> "the upcall target threw: " + rec.unexpected);
            assertTrue(rec.onEngineThread, "isEngineThread() is true inside a callback on the engine thread");
            assertInstanceOf(IllegalStateException.class, rec.fromCall,
                    () -> "call() from the engine thread must throw IllegalStateException; result=" + rec.syncResult);
            System.out.println(rec.fromCall.getMessage());
            assertTrue(rec.fromCall.getMessage().contains("engine thread"), rec.fromCall.getMessage());
            assertTrue(rec.callNanos < TimeUnit.SECONDS.toNanos(1), "fails fast, took ns=" + rec.callNanos);
            assertInstanceOf(IllegalStateException.class, rec.fromTryCall, () -> "tryCall: " + rec.fromTryCall);
            assertInstanceOf(IllegalStateException.class, rec.fromCallAsync, () -> "callAsync: " + rec.fromCallAsync);

            // The engine is unharmed: plain calls, plug-in state, and a well-behaved upcall all still work.
            assertEquals(2, mul.call(1, 2));
            assertEquals(4, engine.longOp("example.tally").call(4));
            LongUnaryOperator square = x -> x * x;
            MethodHandle squareMh = MethodHandles.lookup().findVirtual(LongUnaryOperator.class, "applyAsLong",
                    MethodType.methodType(long.class, long.class)).bindTo(square);
            assertEquals(144, callback.call(upcall(squareMh, arena).address(), 12));
            assertEquals("hello, again", engine.textOp("example.greet").call("again"));
            assertNotNull(mul.callAsync(6, 7).get(5, TimeUnit.SECONDS));
        }
    }

    @Test
    void aNullFunctionPointerFailsTheCallbackOpWithTheEnginesCodeAndMessage() {
        try (Engine engine = startExample()) {
            CallFailedException e = assertThrows(CallFailedException.class,
                    () -> engine.longOp("example.callback").call(0, 1));
            assertEquals(22, e.code(), e.getMessage());
            assertEquals("example.callback: null function pointer", e.engineMessage());
            assertEquals(6, engine.longOp("example.mul").call(2, 3));
        }
    }

    @Test
    void anEngineKeepsStatePerContextThroughItsContextHooks() {
        try (Engine engine = Engine.builder().library(EXAMPLE, "example_engine_init").start()) {
            LongOp tally = engine.longOp("example.ctx_tally");
            LongOp open = engine.longOp("example.open_contexts");
            ExecutionContext sys = engine.systemContext();
            assertEquals(1, open.call(), "the systemic context was opened after init");
            assertEquals(5, tally.call(sys, 5));
            try (ExecutionContext a = sys.child().name("a").create();
                    ExecutionContext inherits = sys.child().name("inherits").engineFlags(0x100).create()) {
                assertEquals(3, open.call());
                assertEquals(1, tally.call(a, 1), "a new context starts with its own state");
                assertEquals(7, tally.call(inherits, 2), "the engine saw the parent's state and the creator's flags");
                assertEquals(6, tally.call(sys, 1), "and the parent's own state is untouched");
            }
            assertEquals(1, open.call(), "closing contexts ran the engine's close hook");
        }
    }
}
