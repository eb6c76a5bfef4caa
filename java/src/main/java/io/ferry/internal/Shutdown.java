package io.ferry.internal;


import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CountDownLatch;
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
    private final Cells cells;
    private final CancelHook cancelHook;
    /** Counted down once the first closer stopped and joined the engine thread (or abandoned it). */
    private final CountDownLatch finished = new CountDownLatch(1);

    Shutdown(EngineCore core, Ring ring, Arena arena, MemorySegment handle, Cells cells, CancelHook cancelHook) {
        this.core = core;
        this.cancelHook = cancelHook;
        this.ring = ring;
        this.arena = arena;
        this.handle = handle;
        this.cells = cells;
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
     * Gives up every call in flight on the engine's cells: GONE on the cell (the engine discards the
     * outcome of a call it runs) and on the slot of a queued one (the engine skips it). Each waiting caller
     * is told that close cancelled its call: a parked one is unparked, an async future fails, and a
     * spinning one sees GONE on its cell. A call claimed but whose cell did not yet show it in flight runs
     * as usual once published. Intake has stopped (ferry_engine_stop), so no new call can appear behind
     * this scan.
     */
    void giveUpInFlight() {
        core.markCloseCancels(); // before any GONE: a caller that sees GONE it did not set blames close
        long running = ring.startedVolatile() - 1;
        Cell[] all = cells.all();
        // The queued calls first: the running call, once given up, may end at once, and the engine must
        // find the calls after it given up already.
        for (Cell c : all) {
            long seq = c.seqAcquire();
            if (seq != Cell.IDLE && seq != running) {
                giveUp(c, seq);
            }
        }
        for (Cell c : all) {
            if (running >= 0 && c.seqAcquire() == running) {
                giveUp(c, running);
            }
        }
        // Every call the engine starts from here on reads GONE and is skipped. The one it may be running
        // now started before its GONE (`running`, or a queued call it started during the scan): an op that
        // polls ferry_call_cancelled ends, and the cancel hooks (SQLite's sqlite3_interrupt) reach one
        // blocked in native code, even if its caller gave it up already and runs them too (close must not
        // depend on that). ferry_engine_cancel does nothing unless that call is running.
        cancelHook.cancelIfRunning(ring.startedVolatile() - 1);
    }

    /** Gives up the call seq on cell c unless it is done, and tells its caller, if it waits. */
    private void giveUp(Cell c, long seq) {
        if (Ring.giveUpCellUnlessDone(c.line, seq) == Ring.DONE_OR_MOVED) {
            return;
        }
        ring.giveUpQueued(seq);
        c.idleRelease(); // nobody will take an outcome from it: the drain below need not wait for it
        Object w = c.waiter;
        if (w instanceof Thread caller) {
            LockSupport.unpark(caller);
        } else if (w instanceof AsyncCall<?> call && call.seq == seq) {
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
            core.counters.engineJoined(); // counters
            FerryNative.ferry_engine_destroy(handle);
            // Every accepted call is DONE; wait (bounded) for callers to take their results, so freeing
            // the region and the cells cannot pull memory from under a caller still reading one. If they
            // do not, the memory is leaked rather than freed under a reader.
            if (awaitCondition(EngineCore.deadline(DRAIN_NS), () -> !cells.anyInFlight())) {
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
        core.counters.abandoned(core.closeTimeoutNs()); // counters
        for (Cell c : cells.all()) {
            Object w = c.waiter;
            if (w instanceof Thread caller) {
                LockSupport.unpark(caller);
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
