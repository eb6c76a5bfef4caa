package io.ferry.internal;

import static io.ferry.internal.Layout.FLAG_GONE;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * Closing an engine: stop intake, give up every call in flight, stop and join the engine thread, free
 * the region. Every close() returns only once the first closer has
 * joined the engine thread (or given up on it at its timeout).
 */
final class Shutdown {
    /** How long the first closer waits, after the engine stopped, for callers to take their results. */
    private static final long DRAIN_NS = 1_000_000_000L;
    /** A shared arena's close fails while a thread is inside an access: retried this many times. */
    private static final int ARENA_CLOSE_TRIES = 100;

    private final EngineCore core;
    private final Ring ring;
    private final Arena arena;
    private final MemorySegment handle;
    private final AtomicReferenceArray<Object> waiters;
    private final CancelHook cancelHook;
    /** Counted down once the first closer stopped and joined the engine thread (or abandoned it). */
    private final CountDownLatch finished = new CountDownLatch(1);

    Shutdown(EngineCore core, Ring ring, Arena arena, MemorySegment handle, AtomicReferenceArray<Object> waiters,
            CancelHook cancelHook) {
        this.core = core;
        this.cancelHook = cancelHook;
        this.ring = ring;
        this.arena = arena;
        this.handle = handle;
        this.waiters = waiters;
    }

    boolean finished() {
        return finished.getCount() == 0;
    }

    /** The first closer: stops intake and finishes here, or on a new thread if called on the engine thread. */
    void closeFirst(long timeoutNs) {
        FerryNative.ferry_engine_stop(handle);
        giveUpInFlight();
        if (Thread.currentThread() == core.engineThread()) {
            // A callback on the engine thread: the engine cannot stop while it runs, so finish elsewhere.
            Thread.ofPlatform().daemon().name("ferry-close-" + core.name()).start(() -> finish(timeoutNs));
        } else {
            finish(timeoutNs);
        }
    }

    /**
     * Gives up every published call: the engine skips the queued ones and frees their slots, and the
     * running one ends as soon as its op checks ferry_call_cancelled. Each waiting caller is told that
     * close cancelled its call (a parked one is unparked, an async future fails); a spinning one sees
     * GONE on its slot. Calls claimed but not yet published run as usual once published. Intake has
     * stopped (ferry_engine_stop), so no new call can appear behind this scan.
     */
    void giveUpInFlight() {
        core.markCloseCancels(); // before any GONE: a caller that sees GONE it did not set blames close
        long running = ring.startedVolatile() - 1;
        // The queued calls first: the running call, once given up, ends and the engine moves on to them.
        for (int i = 0; i < ring.capacity(); i++) {
            long seq = ring.publishedSeqAcquire(i);
            if (seq < 0 || seq == running) {
                continue;
            }
            // FREE_WAKE before GONE, as every give-up does: the engine frees the skipped slot itself and
            // then wakes a producer queued for it, which must not wait for its poll.
            ring.setFlagUnlessDone(seq, Layout.FLAG_FREE_WAKE);
            if (ring.setFlagUnlessDone(seq, FLAG_GONE) != Ring.DONE_OR_MOVED) {
                tellCancelled(i, seq);
            }
        }
        if (running >= 0 && giveUpRunningCall(running)) {
            tellCancelled(ring.index(running), running);
        }
        // The engine may have started a queued call during the scan, after reading its slot and before our
        // GONE: that call runs with GONE set and its caller told, but only a hook reaches it if its op is
        // blocked. Every call it starts from here on is skipped (GONE), so the one it runs now is the last.
        long now = ring.startedVolatile() - 1;
        if (now > running) {
            cancelHook.cancelIfRunning(now);
        }
    }

    /**
     * Gives up the call the engine is running (or is about to start): GONE, which an op that honours
     * cancellation polls through ferry_call_cancelled, then the engine's cancel hooks (SQLite's
     * sqlite3_interrupt), which reach an op blocked in native code. GONE comes first, so a hook that lands
     * before the op blocks is backed by the flag the op polls. Returns whether this gave the call up.
     * The same as every other give-up path does (see {@link CancelHook}).
     */
    private boolean giveUpRunningCall(long seq) {
        ring.setFlagUnlessDone(seq, Layout.FLAG_FREE_WAKE);
        boolean gaveUp = ring.setFlagUnlessDone(seq, FLAG_GONE) != Ring.DONE_OR_MOVED;
        // Even when its caller gave it up already (GONE set): that caller runs the hook too, but close
        // must not depend on it. ferry_engine_cancel does nothing unless seq is running.
        cancelHook.cancelIfRunning(seq);
        return gaveUp;
    }

    /** Tells the caller of the call at seq, if it waits, that close gave its call up. */
    private void tellCancelled(int idx, long seq) {
        Object w = waiters.get(idx);
        if (w instanceof ParkedCall parked && parked.seq == seq) {
            parked.cancelledByClose = true;
            LockSupport.unpark(parked.thread);
        } else if (w instanceof AsyncCall<?> call && call.seq == seq) {
            waiters.compareAndSet(idx, call, null);
            call.failCancelledByClose(core.cancelledByClose());
        }
    }

    /** A later closer: returns once the first closer has finished (its close is bounded by its timeout). */
    void awaitFinished() {
        boolean interrupted = false;
        for (;;) {
            try {
                finished.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // keep waiting: close() promises a stopped engine
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private void finish(long timeoutNs) {
        try {
            long deadline = EngineCore.deadline(timeoutNs);
            boolean stopped = awaitCondition(deadline, ring::engineStoppedAcquire);
            if (!stopped || FerryNative.ferry_engine_join(handle, Math.max(0, deadline - System.nanoTime())) != 0) {
                abandonEngine();
                return;
            }
            cancelHook.retire(); // no caller is inside ferry_engine_cancel, and none will enter
            FerryNative.ferry_engine_destroy(handle);
            // Every accepted call is DONE; wait (bounded) for callers to take their results, so freeing
            // the region cannot pull memory from under a caller still reading it. If they do not, the
            // region is leaked rather than freed under a reader.
            if (awaitCondition(EngineCore.deadline(DRAIN_NS), ring::allFreeAcquire)) {
                closeArena();
            }
            core.markClosed();
        } finally {
            finished.countDown();
            Lifecycle.unregister(core);
        }
    }

    private void closeArena() {
        for (int i = 0; i < ARENA_CLOSE_TRIES; i++) {
            try {
                arena.close();
                return;
            } catch (IllegalStateException busy) {
                Thread.onSpinWait();
            }
        }
    }

    /** The engine did not stop in time: fail every waiting caller and leak the region it may still touch. */
    private void abandonEngine() {
        core.markAbandoned();
        for (int i = 0; i < ring.capacity(); i++) {
            Object w = waiters.get(i);
            if (w instanceof ParkedCall parked) {
                LockSupport.unpark(parked.thread);
            } else if (w instanceof AsyncCall<?> call) {
                call.failClosed("engine '" + core.name() + "' did not stop within the close timeout");
            }
        }
    }

    /** Polls the condition with a doubling park (10 µs up to 5 ms) until it holds or the deadline passes. */
    private boolean awaitCondition(long deadline, BooleanSupplier condition) {
        long parkNs = 10_000;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() >= deadline) {
                return false;
            }
            LockSupport.parkNanos(this, parkNs);
            parkNs = Math.min(parkNs * 2, 5_000_000);
        }
        return true;
    }
}
