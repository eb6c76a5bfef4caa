package io.ferry.internal;

import io.ferry.EngineClosedException;
import io.ferry.Op;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;

/**
 * An async call's future, with a completion cell of its own (taken from the engine's pool, given back
 * once the outcome is taken). It is published PARKED: when the engine makes it DONE, its wake upcall
 * queues the call on {@link Completions} (it takes and decodes nothing, so the engine thread allocates
 * nothing for it), which takes the outcome out of the cell and completes the future on the completion
 * executor; dependent stages never run on the engine thread.
 *
 * <p>A thread that joins ({@link #join}, {@link #get()}, {@link #get(long, TimeUnit)}) does not wait for
 * that: it completes the future itself, on its own thread, from an outcome already taken, or it takes the
 * call over and waits on its cell as a sync caller does ({@link JoinWait}). Dependent stages registered
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

    private static final VarHandle WAITER;
    private static final VarHandle TAKING;
    /** {@link #waiter} once the upcall has handed the outcome over: whoever reads it completes the future. */
    private static final Object TAKEN = new Object();
    /** {@link #waiter} once a joiner completed the future from an outcome the upcall had not yet handed over. */
    private static final Object JOINED = new Object();

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            WAITER = lookup.findVarHandle(AsyncCall.class, "waiter", Object.class);
            TAKING = lookup.findVarHandle(AsyncCall.class, "taking", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final EngineCore core;
    private final Completions completions;
    private final Op op;
    private final int kind;
    /** The call's completion cell, from the engine's pool. */
    final Cell cell;
    /** Written before the publish, which releases it to the engine's upcall. */
    long seq;
    /** Set by whoever takes the outcome out of the cell: exactly one thread does. */
    @SuppressWarnings("unused") // accessed through TAKING
    private volatile boolean taking;
    /**
     * The outcome once taken out of the slot: the result (boxed) or the failure (a Throwable); null
     * before. Written once by whoever owns the DONE outcome (the upcall, or a joiner that took the call
     * over), read by the completion task and by joiners, on any thread: volatile.
     */
    private volatile Object outcome;
    /** The call pushed before this one on {@link Completions}' stack. */
    AsyncCall<?> next;
    /** Whether submitting the call had to wake the engine: a joiner then parks at once. */
    boolean woke;
    /**
     * A joiner parked for the upcall (its Thread), {@link #TAKEN} once the upcall has handed the outcome
     * over, or null. The upcall's getAndSet and the joiner's CASes decide who completes the future: the
     * parked joiner it unparks, or else the completion task.
     */
    @SuppressWarnings("unused") // accessed through WAITER
    private volatile Object waiter;

    AsyncCall(EngineCore core, Op op, int kind, Cell cell) {
        this.core = core;
        this.completions = core.completions();
        this.op = op;
        this.kind = kind;
        this.cell = cell;
        cell.waiter = this;
    }

    /**
     * On the engine thread, from the wake upcall for DONE(seq): hands the call to a parked joiner or to
     * the completion task. Takes nothing, allocates nothing, never throws.
     */
    void onDone() {
        Object w = WAITER.getAndSet(this, TAKEN);
        if (w instanceof Thread joiner) {
            LockSupport.unpark(joiner); // it completes the future on its own thread: no executor hop
        } else if (w != JOINED) {
            completions.push(this);
        }
    }

    /**
     * Takes the DONE outcome out of the cell into {@link #outcome} and gives the cell back; exactly one
     * thread does (a joiner and the completion task may both get here): the others wait for it, briefly.
     * Anything thrown becomes the outcome.
     */
    void takeOutcome() {
        if (!TAKING.compareAndSet(this, false, true)) {
            while (outcome == null) {
                Thread.onSpinWait(); // the taker is decoding: a copy of the result at most
            }
            return;
        }
        Object o;
        try {
            o = core.asyncCalls().takeOutcome(this, op, kind == KIND_DOUBLE ? KIND_LONG : kind);
        } catch (Throwable t) {
            o = t;
        }
        outcome = o;
    }

    /** Completes this future from its outcome (taking it out of the cell first if nobody has). */
    @SuppressWarnings("unchecked")
    void finish() {
        if (outcome == null) {
            takeOutcome();
        }
        Object o = outcome;
        if (o instanceof Throwable t) {
            super.completeExceptionally(t); // the engine's failure: the call is over, nothing to give up
        } else if (o != null) {
            super.complete((T) (kind == KIND_DOUBLE ? (Object) Double.longBitsToDouble((Long) o) : o));
        }
        unparkJoiner(); // a joiner parked for the upcall while the completion task completed us
    }

    /**
     * Before a joiner blocks in CompletableFuture's own wait: completes the future on this thread if its
     * outcome is, or can be, had, as a sync caller waits: from an outcome already taken; by taking the
     * call over and spinning on its cell ({@link JoinWait}), unless submitting it woke the engine; or
     * parked until the upcall hands the outcome over. Returns early, the future maybe not done, at the
     * deadline, on an interrupt if {@code interruptible} (join is not), or if another joiner is parked.
     */
    private void help(long deadline, boolean interruptible) {
        Thread self = Thread.currentThread();
        if (self == core.engineThread()) {
            return; // never complete, so never run dependent stages, on the engine thread
        }
        if (outcome != null) {
            if (waiter == null) {
                WAITER.compareAndSet(this, null, JOINED); // the upcall, if not past it yet, need not queue us
            }
            finish();
            return;
        }
        // Registered before the call is taken over and handed back, so that an upcall after the hand-back
        // always finds this joiner.
        if (!WAITER.compareAndSet(this, null, self)) {
            if (waiter == TAKEN) {
                finish(); // the upcall handed the outcome over before we could register
            }
            return; // another joiner waits: wait as CompletableFuture does
        }
        if (!woke && completions.joinWait.await(this, deadline)) {
            WAITER.compareAndSet(this, self, null); // the outcome is ours: no upcall will come
            finish();
            return;
        }
        boolean interrupted = false;
        // The CAS above (a full fence) comes before this isDone(); a completer's CAS on the result comes
        // before its read of waiter (unparkJoiner): one of the two sees the other.
        while (waiter == self && !isDone()) {
            if (deadline == EngineCore.NO_DEADLINE) {
                LockSupport.park(this);
            } else {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                LockSupport.parkNanos(this, left);
            }
            if (Thread.interrupted()) {
                interrupted = true;
                if (interruptible) {
                    break;
                }
            }
        }
        if (interrupted) {
            self.interrupt(); // get() throws InterruptedException, join() keeps the status
        }
        if (!WAITER.compareAndSet(this, self, null)) {
            finish(); // TAKEN: the upcall handed the outcome over to us, so we complete the future
        }
    }

    /** Wakes a joiner parked in {@link #help} once the future was completed from outside. */
    private void unparkJoiner() {
        if (waiter instanceof Thread joiner) {
            LockSupport.unpark(joiner);
        }
    }

    @Override
    public T join() {
        if (!isDone()) {
            help(EngineCore.NO_DEADLINE, false);
        }
        return super.join();
    }

    @Override
    public T get() throws InterruptedException, ExecutionException {
        if (!isDone()) {
            help(EngineCore.NO_DEADLINE, true);
        }
        return super.get();
    }

    /** A user's completion: wakes a parked joiner (the call runs on; its outcome is discarded). */
    @Override
    public boolean complete(T value) {
        boolean won = super.complete(value);
        if (won) {
            unparkJoiner();
        }
        return won;
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
        core.asyncCalls().cancel(this);
        boolean cancelled = super.cancel(mayInterruptIfRunning);
        unparkJoiner();
        return cancelled;
    }

    /**
     * A future failed from outside (by the user, or by {@code orTimeout}) gives its call up as
     * {@link #cancel} does; a failure the engine reported finds its call done, and giving up is then a no-op.
     */
    @Override
    public boolean completeExceptionally(Throwable ex) {
        boolean won = super.completeExceptionally(ex);
        if (won) {
            core.asyncCalls().cancel(this);
            unparkJoiner();
        }
        return won;
    }

    /** Waits at most the timeout; on timeout the call is given up (skipped if not started) and this future cancelled. */
    @Override
    public T get(long timeout, TimeUnit unit) throws InterruptedException, ExecutionException, TimeoutException {
        long timeoutNs = unit.toNanos(timeout);
        long deadline = EngineCore.deadline(timeoutNs);
        if (!isDone()) {
            help(deadline, true);
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
