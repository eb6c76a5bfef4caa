package io.ferry.jcstress;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/**
 * libferry's own engine code for the tests whose engine side is C, not a Java model of it: downcalls to
 * libferry's test-only exports ({@code native/src/ferry_test_exports.c}) and to {@code ferry_engine_stop}.
 *
 * <p>The library is the one the system property {@code ferry.jcstress.lib} names (run.sh passes
 * {@code build/native/libferry.so}), loaded on its own, not through {@code io.ferry.internal}. A test
 * engine has no thread: an actor runs one step of the engine's code per call.
 */
final class TestEngine {
    private TestEngine() {
    }

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIB = SymbolLookup.libraryLookup(libraryPath(), Arena.global());

    private static final MethodHandle ENGINE_SIZE = downcall("ferry_test_engine_size",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG));
    private static final MethodHandle ENGINE_INIT = downcall("ferry_test_engine_init",
            FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle SLEEP_ANNOUNCE = downcall("ferry_test_sleep_announce",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
    private static final MethodHandle SLEEP_ANNOUNCE_WITHOUT_FENCE = downcall("ferry_test_sleep_announce_without_fence",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
    private static final MethodHandle STOP = downcall("ferry_engine_stop",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.ADDRESS));
    private static final MethodHandle STEP = downcall("ferry_test_step",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
    private static final MethodHandle SET_WAKE = downcall("ferry_test_engine_set_wake",
            FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS));
    private static final MethodHandle FREE = downcall("ferry_free",
            FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));

    /**
     * The wake upcall every test engine gets: the engine calls it on the thread that runs its step (the
     * engine actor), so a per-thread count tells that actor whether its step woke a caller.
     */
    private static final ThreadLocal<int[]> WAKES = ThreadLocal.withInitial(() -> new int[1]);
    private static final MemorySegment WAKE_STUB;

    private static final long ENGINE_BYTES;

    static {
        try {
            ENGINE_BYTES = (long) ENGINE_SIZE.invokeExact();
            MethodHandle onWake = java.lang.invoke.MethodHandles.lookup().findStatic(TestEngine.class, "onWake",
                    java.lang.invoke.MethodType.methodType(void.class, int.class));
            WAKE_STUB = LINKER.upcallStub(onWake, FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT), Arena.global());
        } catch (Throwable t) {
            throw new ExceptionInInitializerError(t);
        }
    }

    private static Path libraryPath() {
        String path = System.getProperty("ferry.jcstress.lib");
        if (path == null || path.isEmpty()) {
            throw new IllegalStateException("set -Dferry.jcstress.lib to libferry.so (run.sh does)");
        }
        return Path.of(path);
    }

    @SuppressWarnings("restricted")
    private static MethodHandle downcall(String name, FunctionDescriptor fd) {
        MemorySegment symbol = LIB.find(name).orElseThrow(() -> new IllegalStateException(
                "libferry has no " + name + ": rebuild it (make native)"));
        return LINKER.downcallHandle(symbol, fd);
    }

    /** A test engine on {@code region} (Regions.CAPACITY slots), in memory the GC frees with the state. */
    static MemorySegment newEngine(MemorySegment region) {
        MemorySegment engine = Arena.ofAuto().allocate(ENGINE_BYTES, 16);
        try {
            ENGINE_INIT.invokeExact(engine, region, Regions.CAPACITY);
            SET_WAKE.invokeExact(engine, WAKE_STUB);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        return engine;
    }

    private static void onWake(int code) {
        WAKES.get()[0]++;
    }

    /**
     * One engine step from head (ferry__drain: runs every published call in order, frees given-up ones,
     * wakes parked callers): returns the new head and how many wake upcalls it made, as
     * {@code head << 8 | wakes}. A test engine has no contexts, so every call it runs fails with
     * FERRY_E_CONTEXT ({@code Layout.E_CONTEXT}), its message naming the context id it read.
     */
    static long step(MemorySegment engine, long head) {
        int[] wakes = WAKES.get();
        int before = wakes[0];
        try {
            long next = (long) STEP.invokeExact(engine, head);
            return next << 8 | (wakes[0] - before);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** The error message the engine wrote into a cell (its out_ptr, out_len), or "" if none. */
    @SuppressWarnings("restricted")
    static String message(MemorySegment cell) {
        long ptr = io.ferry.internal.Ring.outPtrPlain(cell);
        long len = io.ferry.internal.Ring.outLenPlain(cell);
        if (ptr == 0 || io.ferry.internal.Ring.outKindPlain(cell) != io.ferry.internal.Layout.OUT_ERROR) {
            return "";
        }
        return new String(MemorySegment.ofAddress(ptr).reinterpret(len).toArray(ValueLayout.JAVA_BYTE),
                java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Frees what the engine allocated for an outcome (an error message), as the caller would. */
    static void free(long address) {
        try {
            FREE.invokeExact(MemorySegment.ofAddress(address));
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** The engine's half of the sleep handshake (ferry__sleep_announce): 1 if it would now sleep. */
    static int sleepAnnounce(MemorySegment engine, long head) {
        try {
            return (int) SLEEP_ANNOUNCE.invokeExact(engine, head);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Negative control: {@link #sleepAnnounce} with relaxed accesses only (no StoreLoad barrier). */
    static int sleepAnnounceWithoutFence(MemorySegment engine, long head) {
        try {
            return (int) SLEEP_ANNOUNCE_WITHOUT_FENCE.invokeExact(engine, head);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** ferry_engine_stop: closes intake, stores closed_at, and wakes the engine if it announced sleep. */
    static long stop(MemorySegment engine) {
        try {
            return (long) STOP.invokeExact(engine);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }
}
