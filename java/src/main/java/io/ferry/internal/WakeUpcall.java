package io.ferry.internal;

import static io.ferry.internal.Layout.WAKE_HELLO;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The engine thread's upcall (ferry_wake_fn): once with WAKE_HELLO before the engine's init, to learn
 * which thread is the engine's; then per slot, to wake a parked caller, finish an async call, or wake a
 * producer waiting for a slot the engine freed itself. Never throws: an exception escaping an upcall
 * kills the VM.
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
    private final AtomicReferenceArray<Object> waiters;
    private final BackPressure backPressure;
    /**
     * Set by {@link #attach} once the engine started, before any call: a slot upcall follows a call
     * published after that, so it sees it (the slot's release and acquire order it).
     */
    private CallWait wait;
    /** The engine thread, set by the hello upcall before the start handshake returns. */
    private volatile Thread engineThread;

    WakeUpcall(String name, AtomicReferenceArray<Object> waiters, BackPressure backPressure) {
        this.name = name;
        this.waiters = waiters;
        this.backPressure = backPressure;
    }

    /** The upcall stub to hand ferry_engine_start, alive as long as {@code arena}. */
    @SuppressWarnings("restricted")
    MemorySegment stub(Arena arena) {
        return Linker.nativeLinker().upcallStub(ON_WAKE.bindTo(this), FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT),
                arena);
    }

    void attach(CallWait callWait) {
        this.wait = callWait;
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
            Object w = waiters.get(idx);
            if (w instanceof ParkedCall parked) {
                wait.completeParked(idx, parked);
            } else if (w instanceof AsyncCall<?> call) {
                call.onDone(idx);
            }
            backPressure.onSlotFreed(idx); // or the engine freed the slot itself, and a producer waits for it
        } catch (Throwable t) {
            // No caller is left to hand this to (a waiter's own failures reach its future): the log.
            logFailure(idx, t);
        }
    }

    /** Logs what the upcall caught; never throws, not even when logging fails (out of memory, say). */
    private void logFailure(int idx, Throwable t) {
        try {
            EngineCore.LOG.log(System.Logger.Level.WARNING, "engine '" + name + "': the wake upcall for slot " + idx
                    + " failed; the call it was meant to complete may never report", t);
        } catch (Throwable logFailed) {
            // Nothing is left to report it with, and the upcall must return.
        }
    }
}
