package io.ferry;

/**
 * A context made current on one thread by {@link ExecutionContext#open()}; close it in the reverse order
 * of opening (try-with-resources does). Each thread's open scopes form a stack, innermost on top: calls
 * that name no context run in the innermost one of their engine.
 */
public final class ContextScope implements AutoCloseable {
    /** The innermost open scope of each thread; each scope links to the one opened before it. */
    private static final ThreadLocal<ContextScope> CURRENT = new ThreadLocal<>();

    private final ExecutionContext context;
    private final ContextScope previous;
    private final Thread thread;
    private boolean closed;

    private ContextScope(ExecutionContext context, ContextScope previous, Thread thread) {
        this.context = context;
        this.previous = previous;
        this.thread = thread;
    }

    /** Pushes a scope of {@code context} on the calling thread's stack. */
    static ContextScope open(ExecutionContext context) {
        ContextScope s = new ContextScope(context, CURRENT.get(), Thread.currentThread());
        CURRENT.set(s);
        return s;
    }

    /** The calling thread's innermost open scope, or null. */
    static ContextScope innermost() {
        return CURRENT.get();
    }

    /** The innermost context of {@code engine} open on the calling thread, or null. */
    static ExecutionContext innermostOf(Engine engine) {
        for (ContextScope s = CURRENT.get(); s != null; s = s.previous) {
            if (s.context.engine == engine) {
                return s.context;
            }
        }
        return null;
    }

    /**
     * The context this scope made current.
     *
     * @return the context
     */
    public ExecutionContext context() {
        return context;
    }

    /**
     * Restores the context that was current when this scope was opened. Idempotent.
     *
     * @throws IllegalStateException if another scope opened after this one is still open, or this is
     *         not the thread that opened it
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        if (Thread.currentThread() != thread) {
            throw new IllegalStateException("scope of context '" + context.name() + "' was opened on thread '"
                    + thread.getName() + "' and must be closed there, not on '"
                    + Thread.currentThread().getName() + "'");
        }
        ContextScope top = CURRENT.get();
        if (top != this) {
            throw new IllegalStateException("scopes closed out of order: closing the scope of context '"
                    + context.name() + "' while the scope of context '"
                    + (top == null ? "(none)" : top.context.name()) + "', opened after it, is still open; "
                    + "close the innermost scope first (try-with-resources does)");
        }
        closed = true;
        if (previous == null) {
            CURRENT.remove();
        } else {
            CURRENT.set(previous);
        }
    }
}
