package io.ferry.internal;

import io.ferry.EngineClosedException;
import io.ferry.Op;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * An async call's future. It is published PARKED: when the engine makes it DONE, its wake upcall takes
 * the outcome out of the slot (releasing the slot) and queues the call on {@link Completions}, which
 * completes it on the completion executor; dependent stages never run on the engine thread.
 *
 * <p>A thread that joins ({@link #join}, {@link #get()}, {@link #get(long, TimeUnit)}) does not wait for
 * that: it completes the future itself, on its own thread, from an outcome already taken, or it takes the
 * call over and waits on the slot as a sync caller does ({@link JoinWait}). Dependent stages registered
 * before then run on the joining thread, as CompletableFuture runs them on whichever thread completes it.
 *
 * <p>{@link #cancel}, a timed-out {@link #get(long, TimeUnit)}, {@code orTimeout} and a user's
 * {@link #completeExceptionally} give the call up: the engine skips it if it has not started it.
 *
 * <p>Every failure reaches the future: a failure the engine reported, and anything thrown while the
 * outcome is taken (an OutOfMemoryError decoding a large result, say), which fails the future with it.
 */
public final class AsyncCall<T> extends CompletableFuture<T> {
    public static final int KIND_LONG = 0;
    public static final int KIND_BYTES = 1;
    public static final int KIND_STRING = 2;
    /** A 64-bit result that completes the future as the double its bits are. */
    public static final int KIND_DOUBLE = 3;

    private final EngineCore core;
    private final Completions completions;
    private final Op op;
    private final int kind;
    /** Written before the publish, which releases it to the engine's upcall. */
    long seq;
    /**
     * The outcome once taken out of the slot: the result (boxed) or the failure (a Throwable); null
     * before. Written once by whoever owns the DONE outcome (the upcall, or a joiner that took the call
     * over), read by the completion task and by joiners, on any thread: volatile.
     */
    private volatile Object outcome;
    /** The call pushed before this one on {@link Completions}' stack. */
    AsyncCall<?> next;

    AsyncCall(EngineCore core, Op op, int kind) {
        this.core = core;
        this.completions = core.completions();
        this.op = op;
        this.kind = kind;
    }

    /** On the engine thread, from the wake upcall. Never throws: a failure here fails the future. */
    void onDone(int idx) {
        if (takeOutcome(idx)) {
            completions.push(this);
        }
    }

    /**
     * By the owner of the call's DONE outcome (the upcall, or a joiner): takes it out of the slot (which
     * releases the slot) into {@link #outcome}. False for a late wake meant for an earlier caller of the
     * slot. Anything thrown becomes the outcome.
     */
    boolean takeOutcome(int idx) {
        Object o;
        try {
            o = core.takeOutcome(idx, this, seq, op, kind == KIND_DOUBLE ? KIND_LONG : kind);
        } catch (Throwable t) {
            o = t;
        }
        if (o == null) {
            return false;
        }
        outcome = o;
        return true;
    }

    /** Completes this future from its outcome; on whatever thread calls it, once the outcome is set. */
    @SuppressWarnings("unchecked")
    void finish() {
        Object o = outcome;
        if (o instanceof Throwable t) {
            super.completeExceptionally(t); // the engine's failure: the call is over, nothing to give up
        } else if (o != null) {
            complete((T) (kind == KIND_DOUBLE ? (Object) Double.longBitsToDouble((Long) o) : o));
        }
    }

    /** Before a joiner blocks: completes the future on this thread if its outcome is, or can be, had. */
    private void help(long deadline) {
        if (outcome != null || completions.joinWait.await(this, deadline)) {
            finish();
        }
    }

    @Override
    public T join() {
        if (!isDone()) {
            help(EngineCore.NO_DEADLINE);
        }
        return super.join();
    }

    @Override
    public T get() throws InterruptedException, ExecutionException {
        if (!isDone()) {
            help(EngineCore.NO_DEADLINE);
        }
        return super.get();
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
        long timeoutNs = unit.toNanos(timeout);
        long deadline = EngineCore.deadline(timeoutNs);
        if (!isDone()) {
            help(deadline);
        }
        try {
            return super.get(deadline == EngineCore.NO_DEADLINE ? timeoutNs : Math.max(0, deadline - System.nanoTime()),
                    TimeUnit.NANOSECONDS);
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
