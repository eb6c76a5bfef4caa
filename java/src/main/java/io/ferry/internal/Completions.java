package io.ferry.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RejectedExecutionException;

/**
 * Completes async futures off the engine thread, many per executor task. The engine's wake upcall
 * {@link #push pushes} a DONE call onto a multi-producer stack (one CAS; the task, not the engine thread,
 * takes the outcome out of the call's cell); only a push while no task is scheduled hands a task to the completion executor, and that task
 * completes every call pushed until the stack stays empty. So a burst of completions costs one executor
 * hand-off, not one per call, and the engine thread does not wake a pool thread for each.
 *
 * <p>A direct executor ({@code Runnable::run}) would run the task inline on the engine thread, where a
 * dependent stage must not run (it could block the engine or call it synchronously, which would wait on
 * itself): the task then moves to the common pool. A joiner needs no executor at all: {@link AsyncCall}'s
 * join and get complete their own future on the joining thread (see {@link JoinWait}).
 */
final class Completions implements Runnable {
    private static final VarHandle HEAD;
    private static final VarHandle SCHEDULED;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            HEAD = lookup.findVarHandle(Completions.class, "head", AsyncCall.class);
            SCHEDULED = lookup.findVarHandle(Completions.class, "scheduled", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Batches one task completes before it gives its thread back to the executor (a new task goes on). */
    private static final int MAX_ROUNDS = 16;

    private final EngineCore core;
    private final Executor executor;
    final JoinWait joinWait;
    /** The last call pushed; each links to the one pushed before it ({@link AsyncCall#next}). */
    @SuppressWarnings("unused") // accessed through HEAD
    private volatile AsyncCall<?> head;
    /**
     * Whether a completion task is scheduled or running: while it is, pushes only add to the stack and
     * the task takes them in its next round, so a steady stream of completions wakes one pool thread.
     */
    private volatile boolean scheduled;

    Completions(EngineCore core, Ring ring, WaitRules rules, Executor executor) {
        this.core = core;
        this.executor = executor;
        this.joinWait = new JoinWait(ring, rules);
    }

    /**
     * On the engine thread: queues a DONE call for completion. The CAS releases the call's link to the
     * task's getAndSet.
     */
    void push(AsyncCall<?> call) {
        AsyncCall<?> h;
        do {
            h = head;
            call.next = h;
        } while (!HEAD.weakCompareAndSet(this, h, call));
        // The CAS above is a full fence before this read; the task's volatile store of false comes before
        // its re-read of head: either we see false and schedule, or the task sees our call.
        if (!scheduled && SCHEDULED.compareAndSet(this, false, true)) {
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
            try {
                EngineCore.LOG.log(System.Logger.Level.WARNING, "engine '" + core.name() + "': the completion "
                        + "executor threw; async futures complete on the common pool instead", e);
                ForkJoinPool.commonPool().execute(this);
            } catch (Throwable t) {
                scheduled = false; // nothing runs the task: the next push schedules it again
                logFailure(t);
            }
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
        for (int round = 0; ; round++) {
            if (round == MAX_ROUNDS) {
                schedule(); // still scheduled: hand the executor back its thread and carry on in a new task
                return;
            }
            AsyncCall<?> batch = (AsyncCall<?>) HEAD.getAndSet(this, null);
            if (batch != null) {
                completeAll(batch);
                continue;
            }
            scheduled = false;
            if (head == null || !SCHEDULED.compareAndSet(this, false, true)) {
                return; // empty, or a push scheduled a new task meanwhile
            }
        }
    }

    /** Completes a batch taken off the stack (newest first), oldest first. */
    private void completeAll(AsyncCall<?> newest) {
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
