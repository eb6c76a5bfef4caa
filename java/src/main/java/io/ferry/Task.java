package io.ferry;

/**
 * What a task running on an engine thread ({@link Engine#run}, {@link Engine#call}) can ask about
 * itself. Every method here must be called on the engine thread, inside a task.
 *
 * <p>What must not be done inside a task: block for long (every other caller of the engine waits
 * behind it; long native work should register a {@link #onCancel cancel action}), wait for another
 * caller of the same engine (that caller's call queues behind this task: a deadlock), or make two
 * engines wait for each other (a task of engine A that calls engine B whose task calls engine A).
 * A task that calls its own engine ({@code engine.call} from inside a task) runs the inner task inline,
 * at once. Async stages never run on the engine thread; a task must not join an async future of its
 * own engine for the same reason as above.
 */
public final class Task {
    private Task() {
    }

    /** A cancel action's registration; {@link #close()} withdraws it (no action runs once it returns). */
    public interface CancelRegistration extends AutoCloseable {
        @Override
        void close();
    }

    private static Tasks tasks() {
        Tasks t = Tasks.CURRENT.get();
        if (t == null || t.currentContext == null) {
            throw new IllegalStateException("not inside a task on an engine thread (thread "
                    + Thread.currentThread().getName() + ")");
        }
        return t;
    }

    /**
     * The execution context the running task was called in (the caller's: the one it named, or the
     * one current on its thread).
     *
     * @return the context
     * @throws IllegalStateException outside a task
     */
    public static ExecutionContext context() {
        return tasks().currentContext;
    }

    /**
     * The engine whose thread runs this task.
     *
     * @return the engine
     * @throws IllegalStateException outside a task
     */
    public static Engine engine() {
        return tasks().engine();
    }

    /**
     * A variable of the running task's context's scope ({@link ExecutionContext#set(String, long)} and
     * the rest, frozen ones included), read on the engine thread without a call.
     *
     * @param name the variable's name
     * @return a {@code Long}, {@code Double}, {@code String} or {@code byte[]}, or null if the scope has
     *         no variable of that name
     * @throws IllegalStateException outside a task, or in an inline task of another context
     */
    public static Object variable(String name) {
        return tasks().variable(java.util.Objects.requireNonNull(name, "name"));
    }

    /**
     * Whether the running task's caller gave it up (timeout, interrupt, a cancelled future) or its
     * engine is closing: a long task should stop early.
     *
     * @return true once given up
     * @throws IllegalStateException outside a task
     */
    public static boolean isCancelled() {
        Tasks t = tasks();
        TaskCell c = t.running;
        return (c != null && c.cancelled) || t.engine().isClosed();
    }

    /**
     * Registers what to run when the running task's caller gives it up or the engine closes: the
     * action runs once, on the thread that gives up (not on the engine thread), while the task still
     * runs, and never after it returned or after the registration was closed. So it must be
     * thread-safe, short and non-blocking: an interrupt such as {@code Tcl_CancelEval} or
     * {@code sqlite3_interrupt}. A cancel that came before the registration does not run it: check
     * {@link #isCancelled()} after registering, before the long work starts.
     *
     * <pre>{@code
     * try (var r = Task.onCancel(() -> interrupt(handle))) {
     *     if (Task.isCancelled()) throw new CancellationException();
     *     longNativeWork(handle);
     * }
     * }</pre>
     *
     * <p>A task has one registration at a time: an inline task (a task's own {@code engine.call}) that
     * registers replaces the running task's action until it closes its registration, which leaves none.
     *
     * @param action the interrupt
     * @return the registration; close it when the long work is over
     * @throws IllegalStateException outside a task (an inline task registers on the task running it)
     */
    public static CancelRegistration onCancel(Runnable action) {
        java.util.Objects.requireNonNull(action, "action");
        TaskCell c = tasks().running;
        if (c == null) {
            throw new IllegalStateException("no task from the ring is running (a start hook cannot be cancelled)");
        }
        c.register(action);
        return c;
    }
}
