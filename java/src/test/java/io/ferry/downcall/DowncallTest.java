package io.ferry.downcall;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_CHAR;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.Engine;
import io.ferry.EngineClosedException;
import io.ferry.TestEngines;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.lang.invoke.WrongMethodTypeException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Issue 12, item 2: engine-thread downcall handles ({@link Engine#downcallHandle}) against the test
 * plug-in's plain C functions (native/testops, {@code ferry_testops_*}), each compared with the Linker's own
 * handle on the same function: same type, same results, same refusals at the call site.
 */
@SuppressWarnings("restricted")
class DowncallTest {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final String NAME = "downcalls";
    private static Engine engine;
    private static SymbolLookup lib;

    @BeforeAll
    static void start() {
        engine = TestEngines.builder().name(NAME).start();
        lib = SymbolLookup.libraryLookup(TestEngines.library(), Arena.global());
    }

    @AfterAll
    static void stop() {
        engine.close();
    }

    private static MemorySegment addr(String name) {
        return lib.find(name).orElseThrow();
    }

    /** The engine's handle, checked to have the Linker's type. */
    private static MethodHandle onEngine(String name, FunctionDescriptor fd) {
        MethodHandle h = engine.downcallHandle(addr(name), fd);
        assertEquals(LINKER.downcallHandle(addr(name), fd).type(), h.type(), "type of " + name);
        return h;
    }

    private static MethodHandle direct(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(addr(name), fd);
    }

    @Test
    void everyPrimitiveCarrier() throws Throwable {
        MethodHandle not = onEngine("ferry_testops_not", FunctionDescriptor.of(JAVA_BOOLEAN, JAVA_BOOLEAN));
        assertFalse((boolean) not.invokeExact(true));
        assertTrue((boolean) not.invokeExact(false));
        MethodHandle i8 = onEngine("ferry_testops_neg_i8", FunctionDescriptor.of(JAVA_BYTE, JAVA_BYTE));
        assertEquals((byte) -5, (byte) i8.invokeExact((byte) 5));
        assertEquals(Byte.MIN_VALUE, (byte) i8.invokeExact(Byte.MIN_VALUE));
        MethodHandle i16 = onEngine("ferry_testops_neg_i16", FunctionDescriptor.of(JAVA_SHORT, JAVA_SHORT));
        assertEquals((short) -300, (short) i16.invokeExact((short) 300));
        assertEquals((short) 32767, (short) i16.invokeExact((short) -32767));
        MethodHandle u16 = onEngine("ferry_testops_next_u16", FunctionDescriptor.of(JAVA_CHAR, JAVA_CHAR));
        assertEquals('\uffff', (char) u16.invokeExact('\ufffe'));
        assertEquals('\0', (char) u16.invokeExact('\uffff'));
        assertEquals('B', (char) u16.invokeExact('A'));
        MethodHandle i32 = onEngine("ferry_testops_neg_i32", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        assertEquals(-123456789, (int) i32.invokeExact(123456789));
        assertEquals(Integer.MIN_VALUE, (int) i32.invokeExact(Integer.MIN_VALUE));
        MethodHandle i64 = onEngine("ferry_testops_add_i64", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG));
        assertEquals(Long.MIN_VALUE, (long) i64.invokeExact(Long.MAX_VALUE, 1L));
        assertEquals(-2L, (long) i64.invokeExact(-5L, 3L));
        MethodHandle f32 = onEngine("ferry_testops_half_f32", FunctionDescriptor.of(JAVA_FLOAT, JAVA_FLOAT));
        assertEquals(1.5f, (float) f32.invokeExact(3.0f));
        assertEquals(Float.MIN_VALUE / 2, (float) f32.invokeExact(Float.MIN_VALUE));
        assertTrue(Float.isNaN((float) f32.invokeExact(Float.NaN)));
        MethodHandle f64 = onEngine("ferry_testops_half_f64", FunctionDescriptor.of(JAVA_DOUBLE, JAVA_DOUBLE));
        assertEquals(-3.5, (double) f64.invokeExact(-7.0));
        assertEquals(Double.MAX_VALUE / 2, (double) f64.invokeExact(Double.MAX_VALUE));
        MethodHandle noop = onEngine("ferry_testops_noop", FunctionDescriptor.of(JAVA_LONG));
        assertEquals(0L, (long) noop.invokeExact());
    }

    @Test
    void mixedSignaturesAndArgumentsOnTheStackMatchTheLinker() throws Throwable {
        FunctionDescriptor mix = FunctionDescriptor.of(JAVA_DOUBLE, JAVA_BOOLEAN, JAVA_BYTE, JAVA_SHORT, JAVA_CHAR,
                JAVA_INT, JAVA_LONG, JAVA_FLOAT, JAVA_DOUBLE);
        double want = (double) direct("ferry_testops_mix", mix).invokeExact(true, (byte) 2, (short) 3, (char) 4, 5, 6L,
                7.0f, 8.0);
        assertEquals(87654321.0, want);
        assertEquals(want, (double) onEngine("ferry_testops_mix", mix).invokeExact(true, (byte) 2, (short) 3,
                (char) 4, 5, 6L, 7.0f, 8.0));
        FunctionDescriptor sum14 = FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT,
                JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_BYTE);
        MethodHandle e = onEngine("ferry_testops_sum14", sum14), d = direct("ferry_testops_sum14", sum14);
        assertEquals((long) d.invokeExact(1L, -2, 3L, -4, 5L, -6, 7L, -8, 9L, -10, 11L, -12, 13L, (byte) -14),
                (long) e.invokeExact(1L, -2, 3L, -4, 5L, -6, 7L, -8, 9L, -10, 11L, -12, 13L, (byte) -14));
        FunctionDescriptor d10 = FunctionDescriptor.of(JAVA_DOUBLE, JAVA_DOUBLE, JAVA_DOUBLE, JAVA_DOUBLE,
                JAVA_DOUBLE, JAVA_DOUBLE, JAVA_DOUBLE, JAVA_DOUBLE, JAVA_DOUBLE, JAVA_DOUBLE, JAVA_DOUBLE);
        assertEquals((double) direct("ferry_testops_sum_f64x10", d10).invokeExact(.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5,
                7.5, 8.5, 9.5), (double) onEngine("ferry_testops_sum_f64x10", d10).invokeExact(.5, 1.5, 2.5, 3.5,
                4.5, 5.5, 6.5, 7.5, 8.5, 9.5));
    }

    @Test
    void pointersPassTheirAddressAndComeBackLikeTheLinkers() throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment values = arena.allocateFrom(JAVA_LONG, 1, 2, 3, 4, 5, 1000);
            MethodHandle sum = onEngine("ferry_testops_sum_array", FunctionDescriptor.of(JAVA_LONG, ADDRESS, JAVA_INT));
            assertEquals(1015L, (long) sum.invokeExact(values, 6));
            assertEquals(0L, (long) sum.invokeExact(MemorySegment.NULL, 0));

            FunctionDescriptor offset = FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG);
            MemorySegment viaEngine = (MemorySegment) onEngine("ferry_testops_offset", offset).invokeExact(values, 16L);
            MemorySegment viaLinker = (MemorySegment) direct("ferry_testops_offset", offset).invokeExact(values, 16L);
            assertEquals(values.address() + 16, viaEngine.address());
            assertEquals(viaLinker.byteSize(), viaEngine.byteSize());
            assertEquals(0, viaEngine.byteSize(), "a returned address is a zero-length segment");
            // With a target layout, sized to it, as the Linker's.
            FunctionDescriptor sized = FunctionDescriptor.of(ADDRESS.withTargetLayout(JAVA_LONG), ADDRESS, JAVA_LONG);
            MemorySegment cell = (MemorySegment) onEngine("ferry_testops_offset", sized).invokeExact(values, 40L);
            assertEquals(((MemorySegment) direct("ferry_testops_offset", sized).invokeExact(values, 40L)).byteSize(),
                    cell.byteSize());
            assertEquals(1000L, cell.get(JAVA_LONG, 0));
            assertEquals(MemorySegment.NULL,
                    (MemorySegment) onEngine("ferry_testops_offset", offset).invokeExact(MemorySegment.NULL, 0L));
        }
    }

    @Test
    void aStructByPointerIsReadAndWrittenBack() throws Throwable {
        StructLayout point = MemoryLayout.structLayout(JAVA_INT.withName("x"), JAVA_INT.withName("y"),
                JAVA_DOUBLE.withName("scale"));
        VarHandle x = point.varHandle(MemoryLayout.PathElement.groupElement("x"));
        VarHandle y = point.varHandle(MemoryLayout.PathElement.groupElement("y"));
        VarHandle scale = point.varHandle(MemoryLayout.PathElement.groupElement("scale"));
        MethodHandle h = onEngine("ferry_testops_point_scale",
                FunctionDescriptor.of(JAVA_DOUBLE, ADDRESS.withTargetLayout(point)));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocate(point);
            x.set(p, 0L, 3);
            y.set(p, 0L, 4);
            scale.set(p, 0L, 0.5);
            assertEquals(7.0, (double) h.invokeExact(p));
            assertEquals(6, (int) x.get(p, 0L));
            assertEquals(8, (int) y.get(p, 0L));
        }
        // A struct by value is refused when the handle is made, with what to do instead.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> engine.downcallHandle(
                addr("ferry_testops_point_scale"), FunctionDescriptor.of(JAVA_DOUBLE, point)));
        assertTrue(e.getMessage().contains("by pointer"), e::getMessage);
    }

    @Test
    void aVoidFunctionReturnsNothing() throws Throwable {
        MethodHandle store = onEngine("ferry_testops_store", FunctionDescriptor.ofVoid(ADDRESS, JAVA_LONG));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cell = arena.allocate(JAVA_LONG);
            store.invokeExact(cell, -42L);
            assertEquals(-42L, cell.get(JAVA_LONG, 0));
        }
    }

    /** Misuse fails at the call site exactly as it does with the Linker's handle: same exception class. */
    @Test
    void aWrongArgumentCountOrTypeIsRejectedAtTheCallSiteLikeTheLinkers() {
        FunctionDescriptor fd = FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG);
        MethodHandle e = onEngine("ferry_testops_add_i64", fd), d = direct("ferry_testops_add_i64", fd);
        sameFailure(WrongMethodTypeException.class, () -> {
            long r = (long) d.invokeExact(1L);
        }, () -> {
            long r = (long) e.invokeExact(1L);
        });
        sameFailure(WrongMethodTypeException.class, () -> {
            long r = (long) d.invokeExact(1, 2);
        }, () -> {
            long r = (long) e.invokeExact(1, 2);
        });
        sameFailure(WrongMethodTypeException.class, () -> {
            int r = (int) d.invokeExact(1L, 2L);
        }, () -> {
            int r = (int) e.invokeExact(1L, 2L);
        });
        sameFailure(WrongMethodTypeException.class, () -> d.invoke(1L, 2L, 3L), () -> e.invoke(1L, 2L, 3L));
        sameFailure(WrongMethodTypeException.class, () -> d.invoke(1L, "two"), () -> e.invoke(1L, "two"));
        sameFailure(NullPointerException.class, () -> d.invoke(1L, (Long) null), () -> e.invoke(1L, (Long) null));
        sameFailure(ClassCastException.class, () -> d.invokeWithArguments(1L, 2.5), () -> e.invokeWithArguments(1L, 2.5));

        // Segment arguments: a heap segment, a closed one and null are refused as the Linker refuses them.
        FunctionDescriptor store = FunctionDescriptor.ofVoid(ADDRESS, JAVA_LONG);
        MethodHandle es = onEngine("ferry_testops_store", store), ds = direct("ferry_testops_store", store);
        MemorySegment heap = MemorySegment.ofArray(new long[1]);
        sameFailure(IllegalArgumentException.class, () -> {
            ds.invokeExact(heap, 1L);
        }, () -> {
            es.invokeExact(heap, 1L);
        });
        MemorySegment closed;
        try (Arena arena = Arena.ofConfined()) {
            closed = arena.allocate(JAVA_LONG);
        }
        sameFailure(IllegalStateException.class, () -> {
            ds.invokeExact(closed, 1L);
        }, () -> {
            es.invokeExact(closed, 1L);
        });
        sameFailure(NullPointerException.class, () -> {
            ds.invokeExact((MemorySegment) null, 1L);
        },
                () -> {
            es.invokeExact((MemorySegment) null, 1L);
        });
    }

    private static void sameFailure(Class<? extends Throwable> expected, Executable linker, Executable ferry) {
        Throwable l = assertThrows(Throwable.class, linker);
        Throwable f = assertThrows(Throwable.class, ferry);
        assertSame(expected, l.getClass(), () -> "the Linker's handle threw " + l);
        assertSame(l.getClass(), f.getClass(), () -> "the Linker's handle threw " + l + ", the engine's " + f);
    }

    @Test
    void aSymbolThatDoesNotExistIsRejectedAtLookup() {
        FunctionDescriptor fd = FunctionDescriptor.of(JAVA_LONG);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> engine.downcallHandle("ferry_testops_no_such_function", fd));
        assertTrue(e.getMessage().startsWith("unresolved symbol: ferry_testops_no_such_function"), e::getMessage);
        assertTrue(e.getMessage().contains(TestEngines.library().getFileName().toString()), e::getMessage);
        e = assertThrows(IllegalArgumentException.class, () -> engine.downcallHandle(lib, "no_such_function", fd));
        assertTrue(e.getMessage().startsWith("unresolved symbol: no_such_function"), e::getMessage);
        assertThrows(IllegalArgumentException.class, () -> engine.downcallHandle("", fd));
        assertThrows(IllegalArgumentException.class, () -> engine.downcallHandle("a\0b", fd));
        assertThrows(IllegalArgumentException.class, () -> engine.downcallHandle(MemorySegment.NULL, fd));
    }

    @Test
    void bySymbolNameFromTheEngineLibraryTheLibrariesItLinksAndTheGlobalScope() throws Throwable {
        MethodHandle add = engine.downcallHandle("ferry_testops_add_i64",
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG));
        assertEquals(5L, (long) add.invokeExact(2L, 3L));
        // libferry, which the plug-in links against
        MethodHandle key = engine.downcallHandle("ferry_region_size", FunctionDescriptor.of(JAVA_LONG, JAVA_INT));
        assertEquals(512L + 128L * 4, (long) key.invokeExact(4));
        // the C library, from the global scope
        MethodHandle strlen = engine.downcallHandle("strlen", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
        try (Arena arena = Arena.ofConfined()) {
            assertEquals(5L, (long) strlen.invokeExact(arena.allocateFrom("hello")));
        }
        MethodHandle viaLookup = engine.downcallHandle(lib, "ferry_testops_neg_i32",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        assertEquals(-9, (int) viaLookup.invokeExact(9));
    }

    /** pthread_self() recorded by the C function: the engine thread's, from every caller, never the caller's. */
    @Test
    void theCallRunsOnTheEngineThread() throws Throwable {
        FunctionDescriptor fd = FunctionDescriptor.of(JAVA_LONG);
        MethodHandle onEngine = onEngine("ferry_testops_thread_id", fd);
        long here = (long) direct("ferry_testops_thread_id", fd).invokeExact();
        Set<Long> seen = java.util.concurrent.ConcurrentHashMap.newKeySet();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            threads.add(Thread.ofPlatform().start(() -> seen.add(call(onEngine))));
            threads.add(Thread.ofVirtual().start(() -> seen.add(call(onEngine))));
        }
        for (Thread t : threads) {
            t.join();
        }
        seen.add((long) onEngine.invokeExact());
        assertEquals(1, seen.size(), () -> "the calls ran on several threads: " + seen);
        long engineThread = seen.iterator().next();
        assertNotEquals(here, engineThread, "the call ran on the caller's thread");
        // ... and that thread is the engine's: its pthread name is the engine's name.
        MethodHandle name = onEngine("ferry_testops_thread_name", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(64);
            int len = (int) name.invokeExact(buf, 64);
            assertEquals(NAME, buf.getString(0), "pthread name of the thread that ran the call");
            assertEquals(NAME.length(), len);
        }
    }

    private static long call(MethodHandle noArgs) {
        try {
            return (long) noArgs.invokeExact();
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** A jextract-shaped binding class, unchanged: its address and descriptor accessors make the engine's handle. */
    @Test
    void aJextractShapedBindingIsWrappedUnchanged() throws Throwable {
        MethodHandle add = engine.downcallHandle(testops_h.ferry_testops_add_i64$address(),
                testops_h.ferry_testops_add_i64$descriptor());
        assertEquals(testops_h.ferry_testops_add_i64$handle().type(), add.type());
        assertEquals(testops_h.ferry_testops_add_i64(40, 2), (long) add.invokeExact(40L, 2L));
        MethodHandle sum = engine.downcallHandle(testops_h.ferry_testops_sum_array$address(),
                testops_h.ferry_testops_sum_array$descriptor());
        MethodHandle offset = engine.downcallHandle(testops_h.ferry_testops_offset$address(),
                testops_h.ferry_testops_offset$descriptor());
        MethodHandle tid = engine.downcallHandle(testops_h.ferry_testops_thread_id$address(),
                testops_h.ferry_testops_thread_id$descriptor());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocateFrom(JAVA_LONG, 7, 8, 9);
            assertEquals(testops_h.ferry_testops_sum_array(v, 3), (long) sum.invokeExact(v, 3));
            // C_POINTER's unbounded target layout: the returned segment is as large as the Linker's.
            MemorySegment p = (MemorySegment) offset.invokeExact(v, 8L);
            assertEquals(((MemorySegment) testops_h.ferry_testops_offset$handle().invokeExact(v, 8L)).byteSize(),
                    p.byteSize());
            assertEquals(8L, p.get(JAVA_LONG, 0));
        }
        assertNotEquals(testops_h.ferry_testops_thread_id(), (long) tid.invokeExact());
    }

    @Test
    void manyThreadsAtOnceEachGetTheirOwnResults() throws Throwable {
        MethodHandle add = onEngine("ferry_testops_add_i64", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG));
        MethodHandle mix = onEngine("ferry_testops_mix", FunctionDescriptor.of(JAVA_DOUBLE, JAVA_BOOLEAN, JAVA_BYTE,
                JAVA_SHORT, JAVA_CHAR, JAVA_INT, JAVA_LONG, JAVA_FLOAT, JAVA_DOUBLE));
        List<Thread> threads = new ArrayList<>();
        List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int t = 0; t < 8 + 200; t++) {
            final long base = (long) t << 32;
            final boolean platform = t < 8;
            Runnable r = () -> {
                try {
                    for (int i = 0; i < (platform ? 20_000 : 200); i++) {
                        long got = (long) add.invokeExact(base, (long) i);
                        if (got != base + i) {
                            throw new AssertionError("add(" + base + ", " + i + ") = " + got);
                        }
                        if ((i & 63) == 0) {
                            double m = (double) mix.invokeExact(false, (byte) 0, (short) 0, (char) 0, 0, 0L, 0f,
                                    (double) (base >>> 32));
                            if (m != 1e7 * (base >>> 32)) {
                                throw new AssertionError("mix = " + m);
                            }
                        }
                    }
                } catch (Throwable e) {
                    failures.add(e);
                }
            };
            threads.add(platform ? Thread.ofPlatform().start(r) : Thread.ofVirtual().start(r));
        }
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(List.of(), failures);
    }

    @Test
    void asyncHandlesCompleteWithTheBoxedResult() throws Exception {
        MethodHandle add = engine.downcallHandleAsync(addr("ferry_testops_add_i64"),
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG));
        assertEquals(java.lang.invoke.MethodType.methodType(CompletableFuture.class, long.class, long.class), add.type());
        List<CompletableFuture<?>> futures = new ArrayList<>();
        for (long i = 0; i < 1000; i++) {
            try {
                futures.add((CompletableFuture<?>) add.invokeExact(i, 1L));
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
        }
        for (int i = 0; i < 1000; i++) {
            assertEquals((long) i + 1, futures.get(i).get(10, TimeUnit.SECONDS));
        }
        MethodHandle store = engine.downcallHandleAsync(addr("ferry_testops_store"),
                FunctionDescriptor.ofVoid(ADDRESS, JAVA_LONG));
        try (Arena arena = Arena.ofConfined()) { // kept open until the future completed, as documented
            MemorySegment cell = arena.allocate(JAVA_LONG);
            CompletableFuture<?> done;
            try {
                done = (CompletableFuture<?>) store.invokeExact(cell, 77L);
            } catch (Throwable t) {
                throw new AssertionError(t);
            }
            assertNull(done.get(10, TimeUnit.SECONDS));
            assertEquals(77L, cell.get(JAVA_LONG, 0));
        }
        MethodHandle f = engine.downcallHandleAsync(addr("ferry_testops_half_f32"),
                FunctionDescriptor.of(JAVA_FLOAT, JAVA_FLOAT));
        try {
            assertEquals(1.25f, ((CompletableFuture<?>) f.invokeExact(2.5f)).get(10, TimeUnit.SECONDS));
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    @Test
    void aClosedEngineRefusesTheCall() throws Throwable {
        MethodHandle add;
        try (Engine e = TestEngines.builder().name("closing").start()) {
            add = e.downcallHandle(addr("ferry_testops_add_i64"), FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG));
            assertEquals(3L, (long) add.invokeExact(1L, 2L));
        }
        MethodHandle h = add;
        assertThrows(EngineClosedException.class, () -> {
            long r = (long) h.invokeExact(1L, 2L);
        });
    }

    /**
     * The downcall ops are internal, and reaching them through io.ferry.spi.EngineOps (exported, so open to
     * code without native access) gives no way to call an address: ferry.ffi_prepare wants the process's
     * key, ferry.ffi_call a handle's token, and guessing tokens locks the engine's downcalls.
     */
    @Test
    void theDowncallOpsCannotBeUsedWithoutTheKeyOrAToken() throws Throwable {
        try (Engine e = TestEngines.builder().name("forger").start()) {
            MethodHandle add = e.downcallHandle(addr("ferry_testops_add_i64"),
                    FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG));
            assertEquals(3L, (long) add.invokeExact(1L, 2L));
            for (String op : new String[] {"ferry.ffi_prepare", "ferry.ffi_channel", "ferry.ffi_call"}) {
                assertThrows(IllegalArgumentException.class, () -> e.op(op), op);
            }
            byte[] input = new byte[21];
            java.nio.ByteBuffer.wrap(input).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(0x1234).putLong(
                    addr("ferry_testops_add_i64").address());
            io.ferry.CallFailedException refused = assertThrows(io.ferry.CallFailedException.class,
                    () -> io.ferry.spi.EngineOps.internal(e, "ferry.ffi_prepare", io.ferry.BytesToLongOp.class)
                            .call(e.systemContext(), 0, input));
            assertTrue(refused.getMessage().contains("wrong key"), refused::getMessage);
            io.ferry.LongOp call = io.ferry.spi.EngineOps.internal(e, "ferry.ffi_call", io.ferry.LongOp.class);
            for (long guess = 0; guess < 64; guess++) {
                long g = guess;
                refused = assertThrows(io.ferry.CallFailedException.class, () -> call.call(e.systemContext(), g, 0));
                assertTrue(refused.getMessage().contains("not a downcall handle's token"), refused::getMessage);
            }
            // Locked: even the real handle is refused now.
            refused = assertThrows(io.ferry.CallFailedException.class, () -> {
                long r = (long) add.invokeExact(1L, 2L);
            });
            assertTrue(refused.getMessage().contains("forged downcall tokens"), refused::getMessage);
        }
    }

    /**
     * A caller interrupted while its call waits behind a busy engine gets CallInterruptedException; its next
     * call (on a fresh channel: the old one may still be read by the given-up call) gets its own result,
     * and the given-up call, if it ran, ran with its own arguments.
     */
    @Test
    void anInterruptedCallersNextCallGetsItsOwnResult() throws Throwable {
        MethodHandle busy = onEngine("ferry_testops_busy", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG));
        MethodHandle store = onEngine("ferry_testops_store", FunctionDescriptor.ofVoid(ADDRESS, JAVA_LONG));
        MethodHandle add = onEngine("ferry_testops_add_i64", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG));
        try (Arena arena = Arena.ofShared()) {
            MemorySegment cell = arena.allocate(JAVA_LONG);
            Thread blocker = Thread.ofPlatform().start(() -> {
                try {
                    long spent = (long) busy.invokeExact(300_000_000L); // the engine is busy for 300 ms
                } catch (Throwable t) {
                    throw new AssertionError(t);
                }
            });
            Thread.sleep(50); // not a wait for a condition: only makes it likely that busy runs first
            Throwable[] seen = new Throwable[1];
            long[] after = new long[1];
            Thread caller = Thread.ofPlatform().start(() -> {
                try {
                    store.invokeExact(cell, 111L); // queued behind busy
                } catch (Throwable t) {
                    seen[0] = t;
                }
                Thread.interrupted();
                try {
                    after[0] = (long) add.invokeExact(40L, 2L);
                } catch (Throwable t) {
                    throw new AssertionError(t);
                }
            });
            Thread.sleep(20);
            caller.interrupt();
            caller.join();
            blocker.join();
            assertTrue(seen[0] == null || seen[0] instanceof io.ferry.CallInterruptedException, () -> "" + seen[0]);
            assertEquals(42L, after[0]);
            long v = cell.get(JAVA_LONG, 0);
            assertTrue(v == 0 || v == 111, "the given-up call ran with other arguments: " + v);
        }
    }
}
