package io.ferry.internal;

import static io.ferry.internal.Layout.WAKE_HELLO;
import static io.ferry.internal.Layout.WAKE_SLOT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.concurrent.locks.LockSupport;

/**
 * The engine thread's upcall (ferry_wake_fn): once with WAKE_HELLO before the engine's init, to learn
 * which thread is the engine's; then with a cell's id, to unpark the caller parked on it or hand an async
 * call to its completion (neither takes the outcome: the engine thread allocates nothing here), or with
 * WAKE_SLOT | a slot's index, to wake a producer waiting for the slot the engine freed. Never throws:
 * an exception escaping an upcall kills the VM.
 */
final class WakeUpcall {
    private static final MethodHandle ON_WAKE;

    static {
        try {
            ON_WAKE = MethodHandles.lookup().findVirtual(WakeUpcall.class, "onWake",
                    MethodType.methodType(void.class, int.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final String name;
    private final Cells cells;
    private final BackPressure backPressure;
    /** The engine thread, set by the hello upcall before the start handshake returns. */
    private volatile Thread engineThread;
    /**
     * Set once the engine's counters are attached, before any call: a wake upcall follows a call published
     * after that (the slot's release and the engine's acquire order it). Null until then.
     */
    CallerCounters counters; // counters

    WakeUpcall(String name, Cells cells, BackPressure backPressure) {
        this.name = name;
        this.cells = cells;
        this.backPressure = backPressure;
    }

    /** The upcall stub to hand ferry_engine_start, alive as long as {@code arena}. */
    @SuppressWarnings("restricted")
    MemorySegment stub(Arena arena) {
        return Linker.nativeLinker().upcallStub(ON_WAKE.bindTo(this), FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT),
                arena);
    }

    Thread engineThread() {
        return engineThread;
    }

    private void onWake(int idx) {
        try {
            if (idx == WAKE_HELLO) {
                Thread self = Thread.currentThread();
                self.setName(name); // the JVM attached the engine pthread as "Thread-N"
                EngineThreadName.set(name);
                engineThread = self;
                return;
            }
            if ((idx & WAKE_SLOT) != 0) {
                backPressure.onSlotFreed(idx & ~WAKE_SLOT);
                return;
            }
            Cell cell = cells.byId(idx);
            Object w = cell == null ? null : cell.waiter;
            if (w instanceof Thread caller) {
                if (counters != null) counters.wakeups.increment(); // counters
                LockSupport.unpark(caller); // it takes its outcome out of its own cell
            } else if (w instanceof AsyncCall<?> call) {
                call.onDone();
            }
        } catch (Throwable t) {
            // No caller is left to hand this to (a waiter's own failures reach its future): the log.
            logFailure(idx, t);
        }
    }

    /** Logs what the upcall caught; never throws, not even when logging fails (out of memory, say). */
    private void logFailure(int idx, Throwable t) {
        try {
            EngineCore.LOG.log(System.Logger.Level.WARNING, "engine '" + name + "': the wake upcall for " + idx
                    + " failed; the call it was meant to complete may never report", t);
        } catch (Throwable logFailed) {
            // Nothing is left to report it with, and the upcall must return.
        }
    }
}
