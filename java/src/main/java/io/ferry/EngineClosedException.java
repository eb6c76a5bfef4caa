package io.ferry;

/**
 * A call was submitted after {@link Engine#close()} stopped intake, or its engine stopped before the
 * call could complete. The call did not run.
 */
public class EngineClosedException extends FerryException {
    private static final long serialVersionUID = 1L;

    /**
     * An exception with a message.
     *
     * @param message which engine, and why the call did not run
     */
    public EngineClosedException(String message) {
        super(message);
    }
}
