package io.ferry.internal;

import io.ferry.EngineClosedException;
import io.ferry.EngineStartException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The native engine behind an {@link EngineCore}: its start and its undoing, and what is asked of it
 * outside the call protocol (op lookup, the engine thread's nice value and CPU time). The caller checks
 * that the engine is open first; the call protocol itself is {@link Ring}'s.
 */
final class EngineHandle {
    /** The engine, as ferry_engine_start returned it. */
    final MemorySegment segment;
    private final String name;

    private EngineHandle(MemorySegment segment, String name) {
        this.segment = segment;
        this.name = name;
    }

    /**
     * Starts the engine thread on the region, with {@code wake} as its wake upcall, and waits for its
     * init (the plug-in's, if any).
     *
     * @throws EngineStartException if the native start or the engine's init failed
     */
    static EngineHandle start(String name, Arena arena, MemorySegment region, int capacity, WaitRules rules,
            String pluginPath, String initSymbol, String initArg, MemorySegment wake) {
        MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
        MemorySegment err = arena.allocate(1024);
        MemorySegment path = pluginPath == null ? MemorySegment.NULL : arena.allocateFrom(pluginPath);
        MemorySegment sym = initSymbol == null ? MemorySegment.NULL : arena.allocateFrom(initSymbol);
        MemorySegment arg = initArg == null ? MemorySegment.NULL : arena.allocateFrom(initArg);
        int rc = FerryNative.ferry_engine_start(region, capacity, rules.engineIdleSpinNs, path, sym, arg, wake, out,
                err, err.byteSize());
        if (rc != 0) {
            throw new EngineStartException(rc, "engine '" + name + "' failed to start: " + err.getString(0));
        }
        MemorySegment engine = out.get(ValueLayout.ADDRESS, 0);
        // The engine's adaptive idle (yield, step aside when preempted); its first idle spell may still see
        // none of it, which only matters for that spell.
        FerryNative.ferry_engine_set_idle(engine, rules.engineIdleSpinNs, rules.engineYieldAfterNs,
                rules.enginePreemptedNs, rules.stepAsideNs);
        return new EngineHandle(engine, name);
    }

    /**
     * Undoes a start whose region the engine thread has already begun to serve: stops and joins the
     * thread (bounded by {@code timeoutNs}) and frees the engine. Returns whether it joined: if not, the
     * thread may still touch the region, which must then not be freed.
     */
    boolean stopJoinDestroy(long timeoutNs) {
        FerryNative.ferry_engine_stop(segment);
        if (FerryNative.ferry_engine_join(segment, timeoutNs) != 0) {
            return false;
        }
        FerryNative.ferry_engine_destroy(segment);
        return true;
    }

    /** Looks an op up by name; returns {id, flags} or null. */
    int[] lookup(String opName) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment flags = a.allocate(ValueLayout.JAVA_INT);
            int id = FerryNative.ferry_op_lookup(segment, a.allocateFrom(opName), flags);
            return id < 0 ? null : new int[] {id, flags.get(ValueLayout.JAVA_INT, 0)};
        }
    }

    /**
     * Sets the engine thread's nice value (ferry_engine_set_nice).
     *
     * @throws EngineStartException with FERRY_E_PERMISSION or FERRY_E_INVALID and the OS's reason
     */
    void setNice(int nice) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment err = a.allocate(512);
            int rc = FerryNative.ferry_engine_set_nice(segment, nice, err, err.byteSize());
            if (rc != 0) {
                throw new EngineStartException(rc, "engine '" + name + "': " + err.getString(0));
            }
        }
    }

    /** The engine thread's nice value as the OS reports it. */
    int nice() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.JAVA_INT);
            int rc = FerryNative.ferry_engine_get_nice(segment, out);
            if (rc != 0) {
                throw new EngineClosedException("engine '" + name + "' has stopped");
            }
            return out.get(ValueLayout.JAVA_INT, 0);
        }
    }

    /** CPU time the engine thread has used so far, in ns. */
    long cpuNanos() {
        return FerryNative.ferry_engine_cpu_ns(segment);
    }
}
