package io.ferry.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RejectedExecutionException;

/**
 * Completes async futures off the engine thread, many per executor task. The engine's wake upcall takes
 * a call's outcome out of its slot and {@link #push pushes} the call onto a multi-producer stack (one
 * CAS); only a push onto an empty stack hands a task to the completion executor, and that task completes
 * every call pushed until it runs. So a burst of completions costs one executor hand-off, not one per
 * call, and the engine thread never waits for a pool thread to wake for each.
 *
 * <p>A direct executor ({@code Runnable::run}) would run the task inline on the engine thread, where a
 * dependent stage must not run (it could block the engine or call it synchronously, which would wait on
 * itself): the task then moves to the common pool. A joiner needs no executor at all: {@link AsyncCall}'s
 * join and get complete their own future on the joining thread (see {@link JoinWait}).
 */
final class Completions implements Runnable {
    private static final VarHandle HEAD;

    static {
        try {
            HEAD = MethodHandles.lookup().findVarHandle(Completions.class, "head", AsyncCall.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final EngineCore core;
    private final Executor executor;
    final JoinWait joinWait;
    /** The last call pushed; each links to the one pushed before it ({@link AsyncCall#next}). */
    @SuppressWarnings("unused") // accessed through HEAD
    private volatile AsyncCall<?> head;

    Completions(EngineCore core, Ring ring, WaitRules rules, Executor executor) {
        this.core = core;
        this.executor = executor;
        this.joinWait = new JoinWait(ring, rules);
    }

    /**
     * On the engine thread: queues a call whose outcome is set for completion. The CAS releases the
     * call's fields (its outcome and link) to the task's getAndSet.
     */
    void push(AsyncCall<?> call) {
        AsyncCall<?> h;
        do {
            h = head;
            call.next = h;
        } while (!HEAD.weakCompareAndSet(this, h, call));
        if (h == null) {
            schedule();
        }
    }

    /** Hands the completion task to the executor; if the executor refuses or throws, to the common pool. */
    private void schedule() {
        try {
            executor.execute(this);
        } catch (RejectedExecutionException e) {
            ForkJoinPool.commonPool().execute(this);
        } catch (RuntimeException | Error e) {
            EngineCore.LOG.log(System.Logger.Level.WARNING, "engine '" + core.name() + "': the completion "
                    + "executor threw; async futures complete on the common pool instead", e);
            ForkJoinPool.commonPool().execute(this);
        }
    }

    /** The completion task: completes every call pushed so far, oldest first. */
    @Override
    public void run() {
        if (Thread.currentThread() == core.engineThread()) {
            // A direct executor ran us inline on the engine thread: move off it.
            ForkJoinPool.commonPool().execute(this);
            return;
        }
        AsyncCall<?> newest = (AsyncCall<?>) HEAD.getAndSet(this, null);
        AsyncCall<?> oldest = null;
        while (newest != null) { // reverse the stack into completion order
            AsyncCall<?> n = newest.next;
            newest.next = oldest;
            oldest = newest;
            newest = n;
        }
        while (oldest != null) {
            AsyncCall<?> n = oldest.next;
            oldest.next = null;
            try {
                oldest.finish();
            } catch (Throwable t) {
                // CompletableFuture catches what a dependent stage throws; this is anything else. The
                // other calls of the batch must still complete.
                logFailure(t);
            }
            oldest = n;
        }
    }

    private void logFailure(Throwable t) {
        try {
            EngineCore.LOG.log(System.Logger.Level.WARNING, "engine '" + core.name() + "': completing an async"
                    + " future failed", t);
        } catch (Throwable logFailed) {
            // Nothing is left to report it with.
        }
    }
}
