package io.ferry.downcall;

import io.ferry.TestEngines;
import java.lang.foreign.AddressLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Bindings of a few of the test plug-in's plain C functions (native/testops), written by hand in the
 * shape jextract generates (jextract itself is in no Debian package and not on Maven Central, so it
 * cannot be fetched here): a header class with {@code SYMBOL_LOOKUP}, {@code findOrThrow} and the
 * {@code C_*} layouts, and per function a holder class with {@code DESC}, {@code ADDR} and {@code HANDLE},
 * the accessors {@code name$descriptor()}, {@code name$handle()}, {@code name$address()} and a wrapper
 * that calls {@code invokeExact}. DowncallTest wraps it unchanged with {@code Engine.downcallHandle}.
 */
@SuppressWarnings("restricted")
public class testops_h {
    testops_h() {
    }

    static final Arena LIBRARY_ARENA = Arena.ofAuto();

    static final SymbolLookup SYMBOL_LOOKUP = SymbolLookup.libraryLookup(TestEngines.library(), LIBRARY_ARENA)
            .or(SymbolLookup.loaderLookup())
            .or(Linker.nativeLinker().defaultLookup());

    static MemorySegment findOrThrow(String symbol) {
        return SYMBOL_LOOKUP.find(symbol).orElseThrow(() -> new UnsatisfiedLinkError("unresolved symbol: " + symbol));
    }

    public static final ValueLayout.OfInt C_INT = ValueLayout.JAVA_INT;
    public static final ValueLayout.OfLong C_LONG = ValueLayout.JAVA_LONG;
    public static final ValueLayout.OfDouble C_DOUBLE = ValueLayout.JAVA_DOUBLE;
    public static final AddressLayout C_POINTER = ValueLayout.ADDRESS
            .withTargetLayout(MemoryLayout.sequenceLayout(java.lang.Long.MAX_VALUE, ValueLayout.JAVA_BYTE));

    private static class ferry_testops_add_i64 {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(testops_h.C_LONG, testops_h.C_LONG,
                testops_h.C_LONG);
        public static final MemorySegment ADDR = testops_h.findOrThrow("ferry_testops_add_i64");
        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : int64_t ferry_testops_add_i64(int64_t a, int64_t b) } */
    public static FunctionDescriptor ferry_testops_add_i64$descriptor() {
        return ferry_testops_add_i64.DESC;
    }

    public static MethodHandle ferry_testops_add_i64$handle() {
        return ferry_testops_add_i64.HANDLE;
    }

    public static MemorySegment ferry_testops_add_i64$address() {
        return ferry_testops_add_i64.ADDR;
    }

    public static long ferry_testops_add_i64(long a, long b) {
        var mh$ = ferry_testops_add_i64.HANDLE;
        try {
            return (long) mh$.invokeExact(a, b);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ferry_testops_sum_array {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(testops_h.C_LONG, testops_h.C_POINTER,
                testops_h.C_INT);
        public static final MemorySegment ADDR = testops_h.findOrThrow("ferry_testops_sum_array");
        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : int64_t ferry_testops_sum_array(const int64_t *p, int32_t n) } */
    public static FunctionDescriptor ferry_testops_sum_array$descriptor() {
        return ferry_testops_sum_array.DESC;
    }

    public static MethodHandle ferry_testops_sum_array$handle() {
        return ferry_testops_sum_array.HANDLE;
    }

    public static MemorySegment ferry_testops_sum_array$address() {
        return ferry_testops_sum_array.ADDR;
    }

    public static long ferry_testops_sum_array(MemorySegment p, int n) {
        var mh$ = ferry_testops_sum_array.HANDLE;
        try {
            return (long) mh$.invokeExact(p, n);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static class ferry_testops_offset {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(testops_h.C_POINTER, testops_h.C_POINTER,
                testops_h.C_LONG);
        public static final MemorySegment ADDR = testops_h.findOrThrow("ferry_testops_offset");
        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void *ferry_testops_offset(void *p, int64_t n) } */
    public static FunctionDescriptor ferry_testops_offset$descriptor() {
        return ferry_testops_offset.DESC;
    }

    public static MethodHandle ferry_testops_offset$handle() {
        return ferry_testops_offset.HANDLE;
    }

    public static MemorySegment ferry_testops_offset$address() {
        return ferry_testops_offset.ADDR;
    }

    private static class ferry_testops_thread_id {
        public static final FunctionDescriptor DESC = FunctionDescriptor.of(testops_h.C_LONG);
        public static final MemorySegment ADDR = testops_h.findOrThrow("ferry_testops_thread_id");
        public static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : uint64_t ferry_testops_thread_id(void) } */
    public static FunctionDescriptor ferry_testops_thread_id$descriptor() {
        return ferry_testops_thread_id.DESC;
    }

    public static MethodHandle ferry_testops_thread_id$handle() {
        return ferry_testops_thread_id.HANDLE;
    }

    public static MemorySegment ferry_testops_thread_id$address() {
        return ferry_testops_thread_id.ADDR;
    }

    public static long ferry_testops_thread_id() {
        var mh$ = ferry_testops_thread_id.HANDLE;
        try {
            return (long) mh$.invokeExact();
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
}
