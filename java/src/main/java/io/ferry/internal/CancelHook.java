package io.ferry.internal;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The engine's cancel hooks (ferry_engine_cancel), for every path that gives a call up: a timeout, an
 * interrupt, {@code Future.cancel}, a future failed from outside, and close. They reach an op blocked in
 * native code (SQLite's sqlite3_interrupt), which GONE alone does not.
 *
 * <p>ferry_engine_cancel reads the native engine, which close() frees (ferry_engine_destroy) once it
 * joined the engine thread; a caller may give up its call at that very moment. So each caller enters
 * a guard around the downcall, and close {@link #retire retires} it before the destroy: a count of
 * callers inside, which retire swaps for {@link #RETIRED} once it is zero. A caller that finds it
 * retired does nothing: the engine has stopped, so no call is running. Only the give-up paths touch
 * this; the call fast path does not.
 */
final class CancelHook {
    /** Any value below zero means retired; callers that add to it stay below zero. */
    private static final int RETIRED = Integer.MIN_VALUE;
    private static final VarHandle INSIDE;

    static {
        try {
            INSIDE = MethodHandles.lookup().findVarHandle(CancelHook.class, "inside", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final MemorySegment engine;
    private final Ring ring;
    @SuppressWarnings("unused") // accessed through INSIDE
    private volatile int inside;

    CancelHook(MemorySegment engine, Ring ring) {
        this.engine = engine;
        this.ring = ring;
    }

    /**
     * Runs the cancel hooks if the engine is running seq, which its caller has just given up (GONE set
     * by a CAS). A call the engine has not started (stats.started <= seq after that CAS) will be skipped,
     * so it needs no hook; ferry_engine_cancel itself checks that seq is the one running.
     */
    void cancelIfRunning(long seq) {
        try {
            if (ring.startedVolatile() <= seq) {
                return;
            }
        } catch (IllegalStateException regionFreed) {
            return; // close() freed the region: the engine has stopped
        }
        // A full fence each way (getAndAdd), the caller's half of a Dekker pair with retire's CAS.
        if ((int) INSIDE.getAndAdd(this, 1) >= 0) {
            try {
                FerryNative.ferry_engine_cancel(engine, seq);
            } finally {
                INSIDE.getAndAdd(this, -1);
            }
        }
        // Retired: our add is never undone, and need not be: the value stays below zero.
    }

    /**
     * Waits until no caller is inside ferry_engine_cancel and shuts the guard, so ferry_engine_destroy
     * may free the engine. Callers stay inside for one hook run (a flag store), so this waits briefly.
     */
    void retire() {
        int spins = 0;
        while (!INSIDE.compareAndSet(this, 0, RETIRED)) {
            if (++spins < 64) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
    }
}
