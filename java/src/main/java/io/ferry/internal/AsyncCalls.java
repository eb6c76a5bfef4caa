package io.ferry.internal;

import static io.ferry.internal.Layout.CALL_HAS_INPUT;

import io.ferry.Op;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeoutException;

/**
 * The engine side of {@link AsyncCall}s: submitting one with a completion cell of its own from the
 * engine's pool, giving it up, and taking its outcome out of the cell (which goes back to the pool).
 */
final class AsyncCalls {
    private final EngineCore core;
    private final Cells cells;
    private final Submission submission;
    private final Outcomes outcomes;
    private final CallWait wait;

    AsyncCalls(EngineCore core, Cells cells, Submission submission, Outcomes outcomes, CallWait wait) {
        this.core = core;
        this.cells = cells;
        this.submission = submission;
        this.outcomes = outcomes;
        this.wait = wait;
    }

    /** Submits an async call; its cell is armed PARKED, so the engine's wake upcall hands it on. */
    <T> AsyncCall<T> submit(Op op, long ctx, long a, long b, byte[] input, int resultKind) {
        MemorySegment in = input == null ? MemorySegment.NULL : submission.copyIn(input);
        Cell cell;
        try {
            cell = cells.take();
        } catch (IllegalStateException arenaClosed) {
            FerryNative.ferry_free(in);
            throw core.closed();
        } catch (RuntimeException e) {
            FerryNative.ferry_free(in);
            throw e;
        }
        AsyncCall<T> call = new AsyncCall<>(core, op, resultKind, cell);
        boolean sent = false;
        try {
            long submitted = submission.submit(op.id(), input == null ? 0 : CALL_HAS_INPUT, ctx, a, b, in,
                    input == null ? 0 : input.length, CallWait.NO_DEADLINE, SlotWaiter.current(), cell, call);
            call.woke = submitted < 0; // a joiner then parks at once, as a sync caller does
            sent = true;
        } catch (TimeoutException impossible) {
            throw new AssertionError(impossible);
        } finally {
            if (!sent) {
                cells.give(cell); // never published: no engine write can reach it
            }
        }
        return call;
    }

    /** Cancels an async call if it is not done: the engine skips it or discards its result. */
    boolean cancel(AsyncCall<?> call) {
        if (core.closedFully()) {
            return false; // close() ended every call, and the cells may be freed
        }
        try {
            if (!wait.giveUpOnCell(call.cell, call.seq)) {
                return false;
            }
            cells.retire(call.cell, call.seq); // free again once the engine's DONE shows on it
            core.counters.caller.cancelled.increment(); // counters
            return true;
        } catch (IllegalStateException regionFreed) {
            return false; // close() freed the cells meanwhile: the call was ended by it
        }
    }

    /**
     * Takes a DONE async call's outcome out of its cell and gives the cell back: the result, or a
     * failure as its throwable (close's cancellation, if close gave the call up while it ran).
     */
    Object takeOutcome(AsyncCall<?> call, Op op, int kind) {
        Cell cell = call.cell;
        long st = Ring.cellStateAcquire(cell.line);
        Object o = Ring.isGone(st, call.seq) ? core.cancelledByClose() : outcomes.takeAny(cell.line, op, kind);
        cells.give(cell); // DONE: no engine write can reach it any more (a GONE outcome was discarded)
        return o;
    }
}
