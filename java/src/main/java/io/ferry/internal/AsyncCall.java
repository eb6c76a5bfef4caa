package io.ferry.internal;

import io.ferry.EngineClosedException;
import io.ferry.FerryException;
import io.ferry.Op;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * An async call's future. The engine thread reads the outcome out of the slot (in its wake upcall),
 * releases the slot, and hands completion to the completion executor: dependent stages never run on
 * the engine thread. {@link #cancel} and a timed-out {@link #get(long, TimeUnit)} give the call up: the
 * engine skips it if it has not started it.
 */
public final class AsyncCall<T> extends CompletableFuture<T> implements Runnable {
    public static final int KIND_LONG = 0;
    public static final int KIND_BYTES = 1;
    public static final int KIND_STRING = 2;
    /** A 64-bit result that completes the future as the double its bits are. */
    public static final int KIND_DOUBLE = 3;

    private final EngineCore core;
    private final Op op;
    private final int kind;
    long seq;
    private Object outcome;

    AsyncCall(EngineCore core, Op op, int kind) {
        this.core = core;
        this.op = op;
        this.kind = kind;
    }

    /** On the engine thread, from the wake upcall. */
    void onDone(int idx) {
        Object o = core.takeOutcome(idx, this, seq, op, kind == KIND_DOUBLE ? KIND_LONG : kind);
        if (o == null) {
            return; // a late wake meant for an earlier caller of this slot
        }
        outcome = o;
        try {
            core.completionExecutor().execute(this);
        } catch (RejectedExecutionException e) {
            ForkJoinPool.commonPool().execute(this);
        } catch (RuntimeException | Error e) {
            // The user's executor failed: complete on the common pool anyway, and say so.
            EngineCore.LOG.log(System.Logger.Level.WARNING, "the completion executor threw; op '" + op.name()
                    + "' completes its future on the common pool instead", e);
            ForkJoinPool.commonPool().execute(this);
        }
    }

    @Override
    @SuppressWarnings("unchecked")
    public void run() {
        if (Thread.currentThread() == core.engineThread()) {
            // A direct executor ran us inline on the engine thread: move off it.
            ForkJoinPool.commonPool().execute(this);
            return;
        }
        Object o = outcome;
        if (o instanceof FerryException e) {
            completeExceptionally(e);
        } else {
            complete((T) (kind == KIND_DOUBLE ? (Object) Double.longBitsToDouble((Long) o) : o));
        }
    }

    /** close() gave this call up: no upcall will come. */
    void failCancelledByClose(EngineClosedException e) {
        completeExceptionally(e);
    }

    void failClosed(String message) {
        completeExceptionally(new EngineClosedException(message));
    }

    /** Gives the call up (the engine skips it, or discards its result), unless this future is done. */
    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
        if (isDone()) {
            return false;
        }
        core.cancel(seq, this);
        return super.cancel(mayInterruptIfRunning);
    }

    /**
     * A future failed from outside (by the user, or by {@code orTimeout}) gives its call up as
     * {@link #cancel} does; a failure the engine reported finds its call done, and giving up is then a no-op.
     */
    @Override
    public boolean completeExceptionally(Throwable ex) {
        boolean won = super.completeExceptionally(ex);
        if (won) {
            core.cancel(seq, this);
        }
        return won;
    }

    /** Waits at most the timeout; on timeout the call is given up (skipped if not started) and this future cancelled. */
    @Override
    public T get(long timeout, TimeUnit unit) throws InterruptedException, ExecutionException, TimeoutException {
        try {
            return super.get(timeout, unit);
        } catch (TimeoutException e) {
            cancel(false);
            if (isCancelled()) {
                throw new TimeoutException("op '" + op.name() + "' did not complete within " + timeout + " "
                        + unit.toString().toLowerCase() + "; the call was given up");
            }
            return super.get();
        }
    }

    @Override
    public <U> CompletableFuture<U> newIncompleteFuture() {
        return new CompletableFuture<>();
    }
}
