package io.ferry;

/**
 * A call needed an execution context and none was open on the calling thread. Thrown on that thread
 * before anything is submitted; the message says how to open or pass one.
 */
public class NoContextException extends FerryException {
    private static final long serialVersionUID = 1L;

    /**
     * An exception with a message.
     *
     * @param message what was missing, and how to open or pass a context
     */
    public NoContextException(String message) {
        super(message);
    }

    /** No context (of {@code engine}, if not null) is open on the calling thread. */
    static NoContextException onThisThread(Engine engine) {
        String of = engine == null ? "" : "of engine '" + engine.name() + "' ";
        return new NoContextException("No ExecutionContext " + of + "is open on thread '" + Thread.currentThread().getName() + "'. Open one around the work: "
                + "try (var scope = ctx.open()) { ... }; or, for work that runs on other threads, capture it "
                + "with ctx.wrap(task), ctx.wrap(executor) or ExecutionContext.propagate(executor). "
                + "Every engine has one: engine.systemContext()");
    }
}
