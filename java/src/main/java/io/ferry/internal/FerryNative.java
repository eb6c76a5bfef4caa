package io.ferry.internal;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * Hand-written bindings to libferry in the shape jextract generates: one holder class per function with
 * its descriptor and method handle, bound on first use, called with {@code invokeExact}. None of these
 * is on the primitive call path except {@link #ferry_engine_wake}, made only when the engine sleeps.
 */
public final class FerryNative {
    private FerryNative() {
    }

    private static final Linker LINKER = Linker.nativeLinker();

    @SuppressWarnings("restricted")
    private static MethodHandle downcall(String name, FunctionDescriptor desc, Linker.Option... options) {
        MemorySegment address = NativeLibrary.lookup().find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libferry has no symbol " + name));
        return LINKER.downcallHandle(address, desc, options);
    }

    /**
     * Binds the handles that closing an engine and publishing an abort record need, so that neither
     * links nor generates code (about 1 MB of allocation and a few ms on first use): a close may run in
     * a shutdown hook or at the end of a measurement that counts allocation, and an abort record is
     * published by a producer that has just failed.
     */
    static void bindCloseHandles() {
        java.util.Objects.requireNonNull(ferry_engine_stop.HANDLE);
        java.util.Objects.requireNonNull(ferry_engine_join.HANDLE);
        java.util.Objects.requireNonNull(ferry_engine_destroy.HANDLE);
        java.util.Objects.requireNonNull(ferry_free.HANDLE);
        java.util.Objects.requireNonNull(ferry_engine_wake.HANDLE);
    }

    private static AssertionError unexpected(Throwable t) {
        return new AssertionError("unexpected exception from a native call", t);
    }

    // int32_t ferry_layout(const ferry_layout_entry **entries)
    private static final class ferry_layout {
        static final MethodHandle HANDLE = downcall("ferry_layout", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    }

    public static int ferry_layout(MemorySegment entries) {
        try {
            return (int) ferry_layout.HANDLE.invokeExact(entries);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    // uint64_t ferry_region_size(uint32_t capacity)
    private static final class ferry_region_size {
        static final MethodHandle HANDLE = downcall("ferry_region_size", FunctionDescriptor.of(JAVA_LONG, JAVA_INT));
    }

    public static long ferry_region_size(int capacity) {
        try {
            return (long) ferry_region_size.HANDLE.invokeExact(capacity);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    // int ferry_engine_start(void *region, uint32_t capacity, int64_t idle_spin_ns, const char *plugin_path,
    //                        const char *init_symbol, const char *init_arg, ferry_wake_fn wake, ferry_engine **out,
    //                        char *err, size_t errlen)
    private static final class ferry_engine_start {
        static final MethodHandle HANDLE = downcall("ferry_engine_start", FunctionDescriptor.of(JAVA_INT,
                ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG));
    }

    public static int ferry_engine_start(MemorySegment region, int capacity, long idleSpinNs, MemorySegment pluginPath,
            MemorySegment initSymbol, MemorySegment initArg, MemorySegment wake, MemorySegment out, MemorySegment err,
            long errLen) {
        try {
            return (int) ferry_engine_start.HANDLE.invokeExact(region, capacity, idleSpinNs, pluginPath, initSymbol,
                    initArg, wake, out, err, errLen);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    // void ferry_engine_wake(ferry_engine *engine): a futex wake at most, never blocks
    private static final class ferry_engine_wake {
        static final MethodHandle HANDLE = downcall("ferry_engine_wake", FunctionDescriptor.ofVoid(ADDRESS));
    }

    public static void ferry_engine_wake(MemorySegment engine) {
        try {
            ferry_engine_wake.HANDLE.invokeExact(engine);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    // int ferry_engine_cancel(ferry_engine *engine, uint64_t seq)
    private static final class ferry_engine_cancel {
        static final MethodHandle HANDLE = downcall("ferry_engine_cancel",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
    }

    /** Runs the engine's cancel hooks if it is running call seq now; 1 if they ran. */
    public static int ferry_engine_cancel(MemorySegment engine, long seq) {
        try {
            return (int) ferry_engine_cancel.HANDLE.invokeExact(engine, seq);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    // uint64_t ferry_engine_stop(ferry_engine *engine)
    private static final class ferry_engine_stop {
        static final MethodHandle HANDLE = downcall("ferry_engine_stop", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
    }

    public static long ferry_engine_stop(MemorySegment engine) {
        try {
            return (long) ferry_engine_stop.HANDLE.invokeExact(engine);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    // int ferry_engine_join(ferry_engine *engine, int64_t timeout_ns)
    private static final class ferry_engine_join {
        static final MethodHandle HANDLE = downcall("ferry_engine_join",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
    }

    public static int ferry_engine_join(MemorySegment engine, long timeoutNs) {
        try {
            return (int) ferry_engine_join.HANDLE.invokeExact(engine, timeoutNs);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    // void ferry_engine_destroy(ferry_engine *engine)
    private static final class ferry_engine_destroy {
        static final MethodHandle HANDLE = downcall("ferry_engine_destroy", FunctionDescriptor.ofVoid(ADDRESS));
    }

    public static void ferry_engine_destroy(MemorySegment engine) {
        try {
            ferry_engine_destroy.HANDLE.invokeExact(engine);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    // int32_t ferry_op_lookup(ferry_engine *engine, const char *name, uint32_t *flags)
    private static final class ferry_op_lookup {
        static final MethodHandle HANDLE = downcall("ferry_op_lookup",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
    }

    public static int ferry_op_lookup(MemorySegment engine, MemorySegment name, MemorySegment flags) {
        try {
            return (int) ferry_op_lookup.HANDLE.invokeExact(engine, name, flags);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    // int64_t ferry_engine_cpu_ns(ferry_engine *engine)
    private static final class ferry_engine_cpu_ns {
        static final MethodHandle HANDLE = downcall("ferry_engine_cpu_ns", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
    }

    public static long ferry_engine_cpu_ns(MemorySegment engine) {
        try {
            return (long) ferry_engine_cpu_ns.HANDLE.invokeExact(engine);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    // int ferry_engine_set_idle(ferry_engine *engine, int64_t spin_ns, int64_t yield_after_ns, int64_t preempted_ns,
    //                           int64_t step_aside_ns)
    private static final class ferry_engine_set_idle {
        static final MethodHandle HANDLE = downcall("ferry_engine_set_idle",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));
    }

    public static int ferry_engine_set_idle(MemorySegment engine, long spinNs, long yieldAfterNs, long preemptedNs,
            long stepAsideNs) {
        try {
            return (int) ferry_engine_set_idle.HANDLE.invokeExact(engine, spinNs, yieldAfterNs, preemptedNs,
                    stepAsideNs);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    // int ferry_engine_set_nice(ferry_engine *engine, int nice, char *err, size_t errlen)
    private static final class ferry_engine_set_nice {
        static final MethodHandle HANDLE = downcall("ferry_engine_set_nice",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG));
    }

    public static int ferry_engine_set_nice(MemorySegment engine, int nice, MemorySegment err, long errLen) {
        try {
            return (int) ferry_engine_set_nice.HANDLE.invokeExact(engine, nice, err, errLen);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    // int ferry_engine_get_nice(ferry_engine *engine, int *nice)
    private static final class ferry_engine_get_nice {
        static final MethodHandle HANDLE = downcall("ferry_engine_get_nice",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    }

    public static int ferry_engine_get_nice(MemorySegment engine, MemorySegment nice) {
        try {
            return (int) ferry_engine_get_nice.HANDLE.invokeExact(engine, nice);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    // void *ferry_alloc(uint64_t size)
    private static final class ferry_alloc {
        static final MethodHandle HANDLE = downcall("ferry_alloc", FunctionDescriptor.of(ADDRESS, JAVA_LONG));
    }

    public static MemorySegment ferry_alloc(long size) {
        try {
            return (MemorySegment) ferry_alloc.HANDLE.invokeExact(size);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    // void ferry_free(void *ptr)
    private static final class ferry_free {
        static final MethodHandle HANDLE = downcall("ferry_free", FunctionDescriptor.ofVoid(ADDRESS));
    }

    public static void ferry_free(MemorySegment ptr) {
        try {
            ferry_free.HANDLE.invokeExact(ptr);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    // ---- the engine counters block (ferry.h, "Engine counters"; ferry_counters.c) ----------------------

    // int32_t ferry_counters_layout(const ferry_layout_entry **entries)
    private static final class ferry_counters_layout {
        static final MethodHandle HANDLE = downcall("ferry_counters_layout", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    }

    public static int ferry_counters_layout(MemorySegment entries) {
        try {
            return (int) ferry_counters_layout.HANDLE.invokeExact(entries);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    // uint64_t ferry_counters_size(uint32_t op_count)
    private static final class ferry_counters_size {
        static final MethodHandle HANDLE = downcall("ferry_counters_size", FunctionDescriptor.of(JAVA_LONG, JAVA_INT));
    }

    public static long ferry_counters_size(int opCount) {
        try {
            return (long) ferry_counters_size.HANDLE.invokeExact(opCount);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    // int32_t ferry_engine_op_count(ferry_engine *engine)
    private static final class ferry_engine_op_count {
        static final MethodHandle HANDLE = downcall("ferry_engine_op_count", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    }

    public static int ferry_engine_op_count(MemorySegment engine) {
        try {
            return (int) ferry_engine_op_count.HANDLE.invokeExact(engine);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    // int ferry_engine_attach_counters(ferry_engine *engine, ferry_counters *block, uint64_t size)
    private static final class ferry_engine_attach_counters {
        static final MethodHandle HANDLE = downcall("ferry_engine_attach_counters",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG));
    }

    public static int ferry_engine_attach_counters(MemorySegment engine, MemorySegment block, long size) {
        try {
            return (int) ferry_engine_attach_counters.HANDLE.invokeExact(engine, block, size);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }
}
